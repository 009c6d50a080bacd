//! A tower-sessions store over sea-orm: one connection pool for everything, works on SQLite and
//! PostgreSQL, and lets several server instances share sessions through the database.

use app::entity::tower_session;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, sea_query::OnConflict,
};
use time::OffsetDateTime;
use tower_sessions::{
    ExpiredDeletion, SessionStore,
    session::{Id, Record},
    session_store::{Error, Result},
};

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: DatabaseConnection,
}

impl DbSessionStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn backend(e: impl std::fmt::Display) -> Error {
    Error::Backend(e.to_string())
}

fn to_chrono(at: OffsetDateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(at.unix_timestamp(), at.nanosecond()).unwrap_or_default()
}

fn row(record: &Record) -> Result<tower_session::ActiveModel> {
    Ok(tower_session::ActiveModel {
        id: Set(record.id.to_string()),
        data: Set(serde_json::to_string(record).map_err(|e| Error::Encode(e.to_string()))?),
        expiry_date: Set(to_chrono(record.expiry_date)),
    })
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // A colliding random id is astronomically unlikely; still, never overwrite a session.
        loop {
            let inserted = tower_session::Entity::insert(row(record)?)
                .on_conflict(
                    OnConflict::column(tower_session::Column::Id)
                        .do_nothing()
                        .to_owned(),
                )
                .exec_without_returning(&self.db)
                .await
                .map_err(backend)?;
            if inserted == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        tower_session::Entity::insert(row(record)?)
            .on_conflict(
                OnConflict::column(tower_session::Column::Id)
                    .update_columns([
                        tower_session::Column::Data,
                        tower_session::Column::ExpiryDate,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let found = tower_session::Entity::find_by_id(id.to_string())
            .filter(tower_session::Column::ExpiryDate.gt(Utc::now()))
            .one(&self.db)
            .await
            .map_err(backend)?;
        found
            .map(|row| serde_json::from_str(&row.data).map_err(|e| Error::Decode(e.to_string())))
            .transpose()
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        tower_session::Entity::delete_by_id(id.to_string())
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> Result<()> {
        tower_session::Entity::delete_many()
            .filter(tower_session::Column::ExpiryDate.lte(Utc::now()))
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

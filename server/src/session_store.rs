//! A tower-sessions store over sea-orm: one connection pool for everything, works on SQLite and
//! PostgreSQL, and lets several server instances share sessions through the database. Each row
//! carries its user, so all of a user's sessions can be ended at once, and a deleted session
//! stays deleted: saving only ever updates an existing row. A request that only reads its
//! session never calls `load`: it reads the row together with its user's viewer, in one
//! statement (`app::service::auth::session_viewer`, same expiry rule); `load` serves the
//! requests that change their session (sign-in, switching account, the once-a-minute touch).

use app::{api::ctx::session_user_id, entity::tower_session};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, OnConflict},
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

    /// Housekeeping beside expired sessions: drops rate limiters that have fully drained.
    pub async fn prune_rate_limits(&self) -> std::result::Result<u64, app::error::AppError> {
        app::service::rate_limit::prune(&self.db, Utc::now()).await
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
        user_id: Set(session_user_id(&record.data)),
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

    /// Updates the record if it still exists. A request that loaded the session before it was
    /// deleted (sign-out, "sign out everywhere", a password change) must not bring it back, so
    /// this is never an upsert: a vanished row stays vanished.
    async fn save(&self, record: &Record) -> Result<()> {
        let data = serde_json::to_string(record).map_err(|e| Error::Encode(e.to_string()))?;
        tower_session::Entity::update_many()
            .col_expr(tower_session::Column::Data, Expr::value(data))
            .col_expr(
                tower_session::Column::ExpiryDate,
                Expr::value(to_chrono(record.expiry_date)),
            )
            .col_expr(
                tower_session::Column::UserId,
                Expr::value(session_user_id(&record.data)),
            )
            .filter(tower_session::Column::Id.eq(record.id.to_string()))
            .exec(&self.db)
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

//! `outbox_message`: a mail waiting for (or handed to) the transport; every mail Herald sends.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_message")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The address it goes to (normalised).
    pub recipient: String,
    pub subject: String,
    /// Plain text; may hold single-use links, so it is shown to admins only.
    pub body: String,
    /// A `MailKind` code.
    pub kind: String,
    pub created_at: DateTimeUtc,
    /// When a transport took it; `None` while it waits.
    pub sent_at: Option<DateTimeUtc>,
    /// The last transport failure, if any (it is then retried).
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

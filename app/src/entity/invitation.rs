//! `invitation`: a single-use link to join an ad account with a role (only its token's hash).

use crate::model::AccountRole;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitation")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    /// Normalised; only a user with this email may accept.
    pub email: String,
    pub role: AccountRole,
    /// Hex SHA-256 of the link's token. The token itself is shown once and never stored.
    #[sea_orm(unique)]
    pub token_sha256: String,
    /// Hex SHA-256 of the second token, the one only the invitation mail holds: using it proves
    /// the address (the owner never sees it). `None` for invitations made before mail.
    #[sea_orm(unique)]
    pub mail_token_sha256: Option<String>,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub accepted_at: Option<DateTimeUtc>,
    pub accepted_by: Option<i64>,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::ad_account::Entity",
        from = "Column::AccountId",
        to = "super::ad_account::Column::Id"
    )]
    Account,
}

impl Related<super::ad_account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

//! `review_decision_reason`: the policy reasons a decline cites.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "review_decision_reason")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub decision_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub policy_reason_id: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::policy_reason::Entity",
        from = "Column::PolicyReasonId",
        to = "super::policy_reason::Column::Id"
    )]
    PolicyReason,
}

impl Related<super::policy_reason::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PolicyReason.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

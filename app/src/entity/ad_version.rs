//! `ad_version`: one version of an ad's copy. Only a draft version may be amended; every other
//! status is frozen, and an edit makes a new version.

use crate::model::{AdCopy, AdVersionStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ad_version")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub ad_id: i64,
    /// 1, 2, 3… per ad.
    pub number: i32,
    pub text: String,
    pub button_label: String,
    pub destination_url: String,
    pub status: AdVersionStatus,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
    pub submitted_at: Option<DateTimeUtc>,
    pub decided_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::ad::Entity",
        from = "Column::AdId",
        to = "super::ad::Column::Id"
    )]
    Ad,
}

impl Related<super::ad::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Ad.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The version's copy, as the pre-checks, previews and diffs read it.
    pub fn copy(&self) -> AdCopy {
        AdCopy {
            text: self.text.clone(),
            button_label: self.button_label.clone(),
            destination_url: self.destination_url.clone(),
        }
    }
}

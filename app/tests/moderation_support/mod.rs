//! Shared by the moderation test files: moderators, the queue as ids, decisions, and an ad
//! sent for review.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the helpers"
)]

use crate::campaign_support::*;
use app::{
    entity::staff_role,
    model::{AdId, CampaignId, DecisionInput, PlatformRole, QueueFilter, ReviewTaskId},
    service::{
        Actor, ads,
        campaigns::write,
        moderation::{self, Claim},
    },
};
use chrono::Utc;
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set};

/// A signed-up user who is also a platform moderator.
pub async fn moderator(db: &DatabaseConnection, email: &str) -> Actor {
    let mut actor = owner(db, email).await;
    staff_role::ActiveModel {
        user_id: Set(actor.user_id.0),
        role: Set(PlatformRole::Moderator),
        granted_by: Set(None),
        granted_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .expect("grant");
    actor.staff_roles.push(PlatformRole::Moderator);
    actor
}

pub async fn queue(db: &DatabaseConnection, m: &Actor, appeals: bool) -> Vec<ReviewTaskId> {
    moderation::queue(
        db,
        m,
        &QueueFilter {
            appeals,
            ..Default::default()
        },
    )
    .await
    .expect("queue")
    .rows
    .into_iter()
    .map(|r| r.id)
    .collect()
}

pub fn approve() -> DecisionInput {
    DecisionInput {
        approve: true,
        ..Default::default()
    }
}

pub fn decline(codes: &[&str], note: &str) -> DecisionInput {
    DecisionInput {
        approve: false,
        reasons: codes.iter().map(|c| (*c).to_owned()).collect(),
        field: "text".into(),
        note: note.into(),
    }
}

/// An advertiser with a draft campaign whose one ad has been sent for review.
pub async fn submitted(db: &DatabaseConnection, email: &str) -> (Actor, CampaignId, AdId) {
    let me = owner(db, email).await;
    let id = save(db, &me, None, asap("Winter")).await.expect("save");
    let ad = ads::save(db, &me, id, None, ad_input("Fresh beans every Monday"))
        .await
        .expect("ad");
    write::submit(db, &me, id).await.expect("submit");
    (me, id, ad)
}

pub async fn claim_now(db: &DatabaseConnection, m: &Actor, task: ReviewTaskId) -> Claim {
    moderation::claim(db, m, task, Utc::now())
        .await
        .expect("claim")
}

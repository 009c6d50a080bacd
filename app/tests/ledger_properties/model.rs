//! The model: what the services must have done.

use app::{
    model::{AdId, CampaignId, Micros},
    service::{
        Actor,
        delivery::{Decided, DeliveryEngine},
    },
};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::DatabaseConnection;
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Sent for review, nothing approved yet.
    Draft,
    Running,
    Paused,
}

#[derive(Clone, Debug)]
pub struct AdModel {
    pub id: AdId,
    pub live: Option<i64>,
    pub paused: bool,
}

#[derive(Clone, Debug)]
pub struct CampaignModel {
    pub id: CampaignId,
    pub account: usize,
    pub status: Status,
    pub bid: Micros,
    pub total: Micros,
    pub daily: Option<Micros>,
    pub ads: Vec<AdModel>,
    /// How many decisions (of any campaign) existed at this campaign's last budget edit: a
    /// budget lowered below what is committed stops new decisions, so none of this campaign's
    /// may come after it while it is over.
    pub edited_at: usize,
}

impl CampaignModel {
    pub fn serves(&self, floor: Micros) -> bool {
        self.status == Status::Running
            && self.bid >= floor
            && self.ads.iter().any(|a| a.live.is_some() && !a.paused)
    }
}

#[derive(Clone, Debug)]
pub struct DecisionModel {
    pub id: i64,
    pub campaign: usize,
    pub channel: usize,
    pub price: Micros,
    pub held: i64,
    pub posted: i64,
    pub released: i64,
    pub views: i64,
    pub clicks: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub settled: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventModel {
    pub decision_id: i64,
    pub views: i64,
    pub clicks: i64,
    pub at: DateTime<Utc>,
    pub posted: i64,
}

pub struct AccountModel {
    pub actor: Actor,
    pub tz: Tz,
    pub top_ups: HashMap<String, i64>,
    /// Refunds carried out: reference → (the top-up's reference, amount).
    pub refunds: HashMap<String, (String, i64)>,
}

impl AccountModel {
    /// What is left to refund of the top-up `reference`.
    pub fn refundable(&self, reference: &str) -> Option<i64> {
        let refunded: i64 = self
            .refunds
            .values()
            .filter(|(top_up, _)| top_up == reference)
            .map(|(_, amount)| amount)
            .sum();
        self.top_ups
            .get(reference)
            .map(|credited| credited - refunded)
    }
}

pub struct ChannelModel {
    pub handle: String,
    pub avg_views: i64,
    pub english: bool,
}

pub struct Run {
    pub db: DatabaseConnection,
    pub engine: DeliveryEngine,
    pub key: i64,
    pub now: DateTime<Utc>,
    pub accounts: Vec<AccountModel>,
    /// Finance staff, who refund.
    pub finance: Actor,
    pub channels: Vec<ChannelModel>,
    pub campaigns: Vec<CampaignModel>,
    /// Slot id → (channel, the answer).
    pub slots: HashMap<String, (usize, Decided)>,
    pub decisions: Vec<DecisionModel>,
    pub events: HashMap<String, EventModel>,
    /// Accepted event ids, oldest first.
    pub accepted: Vec<String>,
    pub share_bp: i64,
    pub floor: Micros,
    pub ttl_minutes: i64,
    pub slots_per_day: i64,
    pub texts: u32,
    pub step: String,
}

impl Run {
    pub fn actor_of(&self, campaign: usize) -> Actor {
        self.accounts[self.campaigns[campaign].account]
            .actor
            .clone()
    }

    pub fn text(&mut self) -> String {
        self.texts += 1;
        format!("Fresh beans every Monday, roast number {}", self.texts)
    }
}

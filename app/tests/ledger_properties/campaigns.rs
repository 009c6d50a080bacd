//! Campaign and ad steps: budget and bid edits, pauses, new and edited ads and their review.

use crate::{
    MIN_TOTAL,
    delivery_support::*,
    model::{AdModel, Run, Status},
};
use app::{
    error::AppError,
    model::{AdId, CampaignAction, Micros},
    service::{Actor, ads, campaigns::write},
};

impl Run {
    pub async fn edit(&mut self, c: usize, bid: Micros, total: Micros, daily: Option<Micros>) {
        let posted: i64 = self
            .decisions
            .iter()
            .filter(|d| d.campaign == c)
            .map(|d| d.posted)
            .sum();
        let mut refused = Vec::new();
        if bid < self.floor {
            refused.push("bid");
        }
        if total < MIN_TOTAL || total.0 < posted {
            refused.push("total_budget");
        }
        if daily.is_some_and(|d| d > total) {
            refused.push("daily_budget");
        }
        let actor = self.actor_of(c);
        let form = campaign_form(&format!("Campaign {c}"), bid, total, daily);
        match save_campaign(&self.db, &actor, Some(self.campaigns[c].id), form).await {
            Ok(_) => {
                assert!(
                    refused.is_empty(),
                    "{}: saved despite {refused:?}",
                    self.step
                );
                let edited_at = self.decisions.len();
                let m = &mut self.campaigns[c];
                (m.bid, m.total, m.daily, m.edited_at) = (bid, total, daily, edited_at);
            }
            Err(AppError::Invalid(fields)) => {
                let mut got: Vec<&str> = fields.0.keys().map(String::as_str).collect();
                got.sort_unstable();
                refused.sort_unstable();
                assert_eq!(got, refused, "{}: refused fields", self.step);
            }
            Err(other) => panic!("{}: save failed: {other:?}", self.step),
        }
    }

    pub async fn act(&mut self, c: usize, action: CampaignAction) {
        let actor = self.actor_of(c);
        let got = write::act(&self.db, &actor, self.campaigns[c].id, action).await;
        let status = self.campaigns[c].status;
        let to = match (status, action) {
            (Status::Running, CampaignAction::Pause) => Some(Status::Paused),
            (Status::Paused, CampaignAction::Resume) => Some(Status::Running),
            _ => None,
        };
        match (to, got) {
            (Some(to), Ok(_)) => self.campaigns[c].status = to,
            (None, Err(AppError::Conflict(_))) => {}
            (to, got) => panic!(
                "{}: {action:?} from {status:?}: expected {to:?}, got {got:?}",
                self.step
            ),
        }
    }

    pub async fn new_ad(&mut self, c: usize, approved: bool) {
        if self.campaigns[c].status == Status::Draft || self.campaigns[c].ads.len() >= 3 {
            return;
        }
        let actor = self.actor_of(c);
        let text = self.text();
        let ad = ads::save(
            &self.db,
            &actor,
            self.campaigns[c].id,
            None,
            ad_input(&text),
        )
        .await
        .expect("save a new ad");
        let live = self.review(&actor, ad, approved).await;
        self.campaigns[c].ads.push(AdModel {
            id: ad,
            live,
            paused: false,
        });
    }

    pub async fn edit_ad(&mut self, c: usize, a: usize, approved: bool) {
        if self.campaigns[c].status == Status::Draft {
            return;
        }
        let a = a % self.campaigns[c].ads.len();
        let actor = self.actor_of(c);
        let ad = self.campaigns[c].ads[a].id;
        let text = self.text();
        ads::save(
            &self.db,
            &actor,
            self.campaigns[c].id,
            Some(ad),
            ad_input(&text),
        )
        .await
        .expect("edit an ad");
        if let Some(live) = self.review(&actor, ad, approved).await {
            self.campaigns[c].ads[a].live = Some(live);
        }
    }

    /// Sends the ad's newest version to review and decides it; the approved version's id.
    pub async fn review(&self, actor: &Actor, ad: AdId, approved: bool) -> Option<i64> {
        ads::submit(&self.db, actor, ad)
            .await
            .expect("submit the ad");
        let version = latest_version(&self.db, ad).await;
        let verdict = if approved {
            app::model::Verdict::Approved
        } else {
            app::model::Verdict::Declined
        };
        ads::apply_review(&self.db, version, verdict, self.now)
            .await
            .expect("review");
        approved.then_some(version.0)
    }
}

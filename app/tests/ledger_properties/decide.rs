//! A decision step: a slot asked for on a channel, and everything its answer must respect.

use crate::{
    delivery_support::*,
    model::{DecisionModel, Run},
};
use app::{
    entity::delivery_decision,
    error::AppError,
    service::delivery::{self, Decided},
};
use chrono::Duration;
use sea_orm::EntityTrait;

impl Run {
    pub async fn decide(&mut self, ch: usize, slot: String) {
        let handle = self.channels[ch].handle.clone();
        let got =
            delivery::decide(&self.db, &self.engine, self.key, &handle, &slot, self.now).await;
        if let Some((first_channel, first)) = self.slots.get(&slot) {
            if *first_channel == ch {
                assert_eq!(
                    got.as_ref().ok(),
                    Some(first),
                    "{}: a repeated slot answers as the first time",
                    self.step
                );
            } else {
                assert!(
                    matches!(got, Err(AppError::Conflict(_))),
                    "{}: a slot id reused on another channel gave {got:?}",
                    self.step
                );
            }
            return;
        }
        let decided = got.unwrap_or_else(|e| panic!("{}: decide failed: {e:?}", self.step));
        self.slots.insert(slot, (ch, decided.clone()));
        let Decided::Ad(answer) = decided else {
            return;
        };
        let row = delivery_decision::Entity::find_by_id(answer.decision_id)
            .one(&self.db)
            .await
            .expect("query")
            .expect("the decision was written");
        let step = &self.step;
        assert!(
            self.channels[ch].english,
            "{step}: an unmatched channel got an ad"
        );
        let c = self
            .campaigns
            .iter()
            .position(|m| m.id.0 == row.campaign_id)
            .unwrap_or_else(|| panic!("{step}: decision for unknown campaign {}", row.campaign_id));
        let campaign = &self.campaigns[c];
        assert!(
            campaign.serves(self.floor),
            "{step}: campaign {c} won while it may not serve: {campaign:?}"
        );
        let ad = campaign
            .ads
            .iter()
            .find(|a| a.id.0 == row.ad_id)
            .unwrap_or_else(|| panic!("{step}: the ad is not the campaign's"));
        assert!(
            ad.live == Some(answer.ad_version_id)
                && !ad.paused
                && row.ad_version_id == ad.live.unwrap_or(0),
            "{step}: served version {} of {ad:?}",
            answer.ad_version_id
        );
        let rival = self
            .campaigns
            .iter()
            .enumerate()
            .filter(|(i, m)| *i != c && m.serves(self.floor))
            .map(|(_, m)| m.bid)
            .max()
            .unwrap_or(self.floor)
            .max(self.floor);
        assert!(
            answer.price_cpm >= self.floor
                && answer.price_cpm <= campaign.bid
                && answer.price_cpm <= rival,
            "{step}: price {:?} with floor {:?}, bid {:?}, best rival {rival:?}",
            answer.price_cpm,
            self.floor,
            campaign.bid
        );
        let held = answer
            .price_cpm
            .cpm_cost(self.channels[ch].avg_views)
            .expect("cost");
        assert!(
            held.0 > 0 && answer.held == held && row.held == held.0,
            "{step}: held"
        );
        let expires_at = self.now + Duration::minutes(self.ttl_minutes.max(1));
        assert_eq!(
            (row.created_at, row.expires_at, answer.expires_at),
            (self.now, expires_at, expires_at),
            "{step}: times"
        );
        let tz = self.accounts[campaign.account].tz;
        assert_eq!(
            row.local_day,
            self.now.with_timezone(&tz).date_naive(),
            "{step}: the decision's local day"
        );
        let channel_day = self
            .decisions
            .iter()
            .filter(|d| d.channel == ch && d.created_at.date_naive() == self.now.date_naive())
            .count() as i64;
        assert!(
            channel_day < self.slots_per_day,
            "{step}: channel {ch} already had {channel_day} slots today"
        );
        let (total, daily) = (campaign.total, campaign.daily);
        self.decisions.push(DecisionModel {
            id: row.id,
            campaign: c,
            channel: ch,
            price: answer.price_cpm,
            held: held.0,
            posted: 0,
            released: 0,
            views: 0,
            clicks: 0,
            created_at: self.now,
            expires_at,
            settled: false,
        });
        // The caps in force when the decision was made.
        let books = audit_books(&self.db, &self.step).await;
        let (_, committed) = books.spend.get(&row.campaign_id).copied().unwrap_or((0, 0));
        assert!(
            committed <= total.0,
            "{}: committed {committed} over the total budget {total:?}",
            self.step
        );
        if let Some(daily) = daily {
            let today = books
                .day_committed
                .get(&(row.campaign_id, row.local_day))
                .copied()
                .unwrap_or(0);
            assert!(
                today <= daily.0,
                "{}: committed {today} on {} over the daily budget {daily:?}",
                self.step,
                row.local_day
            );
        }
    }
}

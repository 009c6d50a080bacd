//! Running a case: each step applied through the real services, then the books verified; and
//! the steps that move money outside decisions and events (top-ups and sweeps).

use crate::{
    delivery_support::*,
    model::{Run, Status},
    steps::Op,
};
use app::{
    entity::account_top_up,
    error::AppError,
    model::{CampaignAction, FinanceRequestStatus, Micros, RefundInput},
    service::{ads, delivery::sweep, finance},
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

impl Run {
    pub async fn apply(&mut self, op: &Op) {
        self.step = format!("{op:?} at {}", self.now);
        match op {
            Op::TopUp {
                account,
                reference,
                units,
            } => {
                self.top_up(*account, &format!("ref-{reference}"), *units)
                    .await
            }
            Op::Refund {
                account,
                top_up,
                other,
                reference,
                units,
                again,
            } => {
                let mut refund = (
                    match top_up {
                        4 => "initial".to_owned(),
                        n => format!("ref-{n}"),
                    },
                    *other,
                    format!("RF-{reference}"),
                    Micros::units(*units),
                );
                let earlier = self.accounts[*account].refunds.iter().min();
                if let (true, Some((reference, (top_up, amount)))) = (again, earlier) {
                    refund = (top_up.clone(), false, reference.clone(), Micros(*amount));
                }
                let (top_up, other, reference, amount) = refund;
                self.refund(*account, &top_up, other, &reference, amount)
                    .await
            }
            Op::Decide { channel, slot } => {
                self.decide(channel % self.channels.len(), format!("s{slot}"))
                    .await
            }
            Op::Events(batch) => self.events(batch).await,
            Op::Edit {
                campaign,
                bid_cents,
                total_units,
                daily_units,
            } => {
                self.edit(
                    campaign % self.campaigns.len(),
                    Micros(bid_cents * 10_000),
                    Micros::units(*total_units),
                    daily_units.map(Micros::units),
                )
                .await
            }
            Op::Pause { campaign } => {
                self.act(campaign % self.campaigns.len(), CampaignAction::Pause)
                    .await
            }
            Op::Resume { campaign } => {
                self.act(campaign % self.campaigns.len(), CampaignAction::Resume)
                    .await
            }
            Op::PauseAd {
                campaign,
                ad,
                paused,
            } => {
                let c = campaign % self.campaigns.len();
                let a = ad % self.campaigns[c].ads.len();
                let actor = self.actor_of(c);
                ads::set_paused(&self.db, &actor, self.campaigns[c].ads[a].id, *paused)
                    .await
                    .expect("pause or resume an ad");
                self.campaigns[c].ads[a].paused = *paused;
            }
            Op::NewAd { campaign, approve } => {
                self.new_ad(campaign % self.campaigns.len(), *approve).await
            }
            Op::EditAd {
                campaign,
                ad,
                approve,
            } => {
                self.edit_ad(campaign % self.campaigns.len(), *ad, *approve)
                    .await
            }
            Op::Approve { campaign } => {
                let c = campaign % self.campaigns.len();
                if self.campaigns[c].status == Status::Draft {
                    let ad = self.campaigns[c].ads[0].id;
                    let version = latest_version(&self.db, ad).await;
                    approve(&self.db, version, self.now).await;
                    self.campaigns[c].status = Status::Running;
                    self.campaigns[c].ads[0].live = Some(version.0);
                }
            }
            Op::Share(bp) => {
                set_setting(&self.db, "publisher_share_bp", *bp).await;
                self.share_bp = *bp;
            }
            Op::MinCpm(micros) => {
                set_setting(&self.db, "min_cpm_micros", *micros).await;
                self.floor = Micros(*micros);
            }
            Op::HoldTtl(minutes) => {
                set_setting(&self.db, "hold_ttl_minutes", *minutes).await;
                self.ttl_minutes = *minutes;
            }
            Op::Sweep { limit } => self.sweep(*limit).await,
            Op::Advance { seconds } => self.now += Duration::seconds(*seconds),
        }
        self.verify().await;
    }

    pub async fn top_up(&mut self, account: usize, reference: &str, units: i64) {
        let amount = Micros::units(units);
        let a = &self.accounts[account];
        let got = credit(&self.db, &a.actor, amount, reference, self.now).await;
        match a.top_ups.get(reference) {
            None => {
                let r = got.expect("a new reference is credited");
                assert!(!r.already_credited, "{}", self.step);
                self.accounts[account]
                    .top_ups
                    .insert(reference.to_owned(), amount.0);
                assert_eq!(r.available.0, self.available(account), "{}", self.step);
            }
            Some(&first) if first == amount.0 => {
                let r = got.expect("the same credit again is answered");
                assert!(r.already_credited, "{}: credited twice", self.step);
                assert_eq!(r.available.0, self.available(account), "{}", self.step);
            }
            Some(_) => match got {
                Err(AppError::Invalid(fields)) => {
                    assert!(fields.get("reference").is_some(), "{}", self.step)
                }
                other => panic!(
                    "{}: a reused reference with another amount gave {other:?}",
                    self.step
                ),
            },
        }
    }

    /// Finance refunds `units` of `account`'s top-up `top_up` (of the other account's, if
    /// `other`): carried out at once (far below the approval threshold), answered again for
    /// the same reference, or refused on the field the model says.
    pub async fn refund(
        &mut self,
        account: usize,
        top_up: &str,
        other: bool,
        reference: &str,
        amount: Micros,
    ) {
        let owner = crate::delivery_support::account(&self.accounts[account].actor);
        let source = &self.accounts[if other { 1 - account } else { account }];
        // An unknown top-up is named by an id no top-up has.
        let top_up_id = account_top_up::Entity::find()
            .filter(
                account_top_up::Column::AccountId
                    .eq(crate::delivery_support::account(&source.actor).0),
            )
            .filter(account_top_up::Column::ExternalReference.eq(top_up))
            .one(&self.db)
            .await
            .expect("read top-ups")
            .map_or(-1, |t| t.id);
        let a = &self.accounts[account];
        let expected = match a.refunds.get(reference) {
            Some((first, first_amount)) => {
                if *first_amount == amount.0 && first == top_up && !other {
                    Ok(true)
                } else {
                    Err("reference")
                }
            }
            None => match (other, a.refundable(top_up)) {
                (true, _) | (false, None) => Err("top_up"),
                (false, Some(left)) if left <= 0 => Err("top_up"),
                (false, Some(left)) if amount.0 > left || amount.0 > self.available(account) => {
                    Err("amount")
                }
                (false, Some(_)) => Ok(false),
            },
        };
        let input = RefundInput {
            account: owner,
            top_up: top_up_id.to_string(),
            amount: amount.to_decimal(),
            reference: reference.to_owned(),
            reason: "property test".to_owned(),
        };
        let got = finance::requests::refund(&self.db, &self.finance, input, self.now).await;
        match (expected, got) {
            (Ok(repeated), Ok(r)) => {
                assert_eq!(r.repeated, repeated, "{}: {r:?}", self.step);
                assert_eq!(r.status, FinanceRequestStatus::Done, "{}", self.step);
                if !repeated {
                    self.accounts[account]
                        .refunds
                        .insert(reference.to_owned(), (top_up.to_owned(), amount.0));
                }
                assert_eq!(r.available.0, self.available(account), "{}", self.step);
            }
            (Err(field), Err(AppError::Invalid(fields))) => {
                assert!(
                    fields.get(field).is_some(),
                    "{}: expected an error on {field}, got {fields:?}",
                    self.step
                );
            }
            (expected, got) => panic!("{}: expected {expected:?}, got {got:?}", self.step),
        }
    }

    pub async fn sweep(&mut self, limit: u64) {
        let mut due: Vec<(DateTime<Utc>, i64)> = self
            .decisions
            .iter()
            .filter(|d| !d.settled && d.expires_at + sweep::SETTLE_AFTER <= self.now)
            .map(|d| (d.expires_at, d.id))
            .collect();
        due.sort();
        let done = sweep::release_expired(&self.db, self.now, limit)
            .await
            .unwrap_or_else(|e| panic!("{}: sweep failed: {e:?}", self.step));
        let books = audit_books(&self.db, &self.step).await;
        let settled: Vec<(DateTime<Utc>, i64)> = due
            .iter()
            .copied()
            .filter(|(_, id)| books.decisions[id].settled_at.is_some())
            .collect();
        let expected = (limit as usize).min(due.len());
        assert_eq!(
            (done.decisions as usize, settled.len()),
            (expected, expected),
            "{}: settled of {due:?}",
            self.step
        );
        let newest_settled = settled.iter().map(|(t, _)| *t).max();
        let oldest_open = due
            .iter()
            .filter(|d| !settled.contains(d))
            .map(|(t, _)| *t)
            .min();
        if let (Some(newest), Some(oldest)) = (newest_settled, oldest_open) {
            assert!(newest <= oldest, "{}: the oldest holds go first", self.step);
        }
        let mut amount = 0;
        for (_, id) in settled {
            let row = &books.decisions[&id];
            let d = self
                .decisions
                .iter_mut()
                .find(|d| d.id == id)
                .expect("a modelled decision");
            assert_eq!(row.settled_at, Some(self.now), "{}", self.step);
            d.settled = true;
            d.released = d.held - d.posted;
            amount += d.released;
        }
        assert_eq!(done.amount, Micros(amount), "{}: released", self.step);
    }
}

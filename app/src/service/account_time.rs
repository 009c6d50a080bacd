//! An ad account's wall clock: its currency and IANA time zone, and conversions between the
//! UTC instants Herald stores and the local times advertisers type and read.

use crate::{entity::ad_account, error::AppError, model::AccountId};
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, EntityTrait};

/// The account facts every campaign page needs.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountClock {
    pub id: AccountId,
    pub currency: String,
    pub time_zone: String,
    pub tz: Tz,
}

impl AccountClock {
    /// Loads the account (which the caller has already scoped to the session).
    pub async fn load(db: &impl ConnectionTrait, id: AccountId) -> Result<Self, AppError> {
        let account = ad_account::Entity::find_by_id(id.0)
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(Self::of_account(&account))
    }

    /// The clock of an account row already read.
    pub fn of_account(account: &ad_account::Model) -> Self {
        Self::new(
            AccountId(account.id),
            account.currency.clone(),
            account.time_zone.clone(),
        )
    }

    /// The clock of `account` as the actor's viewer read it, or loaded when it was not (an
    /// actor made without a viewer, or working in another account).
    pub async fn of(
        db: &impl ConnectionTrait,
        actor: &crate::service::Actor,
        account: AccountId,
    ) -> Result<Self, AppError> {
        match &actor.clock {
            Some(clock) if clock.id == account => Ok(clock.clone()),
            _ => Self::load(db, account).await,
        }
    }

    /// The clock of an account whose currency and time zone were read with something else.
    pub fn new(id: AccountId, currency: String, time_zone: String) -> Self {
        // Zones come from a fixed list at sign-up; an unknown one would be a data error.
        let tz: Tz = time_zone.parse().unwrap_or(Tz::UTC);
        Self {
            id,
            currency,
            time_zone,
            tz,
        }
    }

    /// The account's wall-clock time at `at`.
    pub fn local(&self, at: DateTime<Utc>) -> NaiveDateTime {
        at.with_timezone(&self.tz).naive_local()
    }

    /// The instant a local time means. In a daylight-saving gap (a local time that never
    /// happens) the hour after the gap is taken; in an overlap, the earlier instant.
    pub fn utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let resolve = |l: NaiveDateTime| self.tz.from_local_datetime(&l).earliest();
        resolve(local)
            .or_else(|| resolve(local + Duration::hours(1)))
            .map_or_else(|| local.and_utc(), |at| at.with_timezone(&Utc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn clock(zone: &str) -> AccountClock {
        AccountClock {
            id: AccountId(1),
            currency: "EUR".into(),
            time_zone: zone.into(),
            tz: zone.parse().unwrap_or(Tz::UTC),
        }
    }

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(h, min, 0))
            .unwrap_or_default()
    }

    #[test]
    fn local_times_round_trip_through_utc() {
        let berlin = clock("Europe/Berlin");
        let winter = local(2026, 12, 1, 8, 0);
        assert_eq!(berlin.utc(winter).to_rfc3339(), "2026-12-01T07:00:00+00:00");
        assert_eq!(berlin.local(berlin.utc(winter)), winter);
        let summer = local(2026, 7, 1, 8, 0);
        assert_eq!(berlin.utc(summer).to_rfc3339(), "2026-07-01T06:00:00+00:00");
    }

    #[test]
    fn daylight_saving_gaps_and_overlaps_resolve() {
        let berlin = clock("Europe/Berlin");
        // 02:30 on 2026-03-29 does not exist in Berlin: the clocks jump from 02:00 to 03:00.
        let gap = berlin.utc(local(2026, 3, 29, 2, 30));
        assert_eq!(gap.to_rfc3339(), "2026-03-29T01:30:00+00:00");
        // 02:30 on 2026-10-25 happens twice: the first one is taken.
        let overlap = berlin.utc(local(2026, 10, 25, 2, 30));
        assert_eq!(overlap.to_rfc3339(), "2026-10-25T00:30:00+00:00");
    }
}

//! A channel's sponsored messages per day, as a batch of decisions takes them: read in the
//! batch's transaction, counted in memory as slots are won, and written back only while each
//! row stays within the day's limit.

use crate::{error::AppError, service::sql::Sql};
use chrono::NaiveDate;
use sea_orm::ConnectionTrait;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The channels' sponsored messages per UTC day (the forecast's capacity model): as read in
/// the batch's transaction, and what the batch added.
#[derive(Debug, Default)]
pub struct ChannelSlots {
    used: HashMap<(i64, NaiveDate), (i64, i64)>,
}

impl ChannelSlots {
    /// Reads the used slots of each (channel, day).
    pub async fn load(
        db: &impl ConnectionTrait,
        wanted: &HashSet<(i64, NaiveDate)>,
    ) -> Result<Self, AppError> {
        let mut out = Self::default();
        if wanted.is_empty() {
            return Ok(out);
        }
        let backend = db.get_database_backend();
        let mut sql = Sql::new();
        let pairs: Vec<String> = wanted
            .iter()
            .map(|(channel, day)| {
                format!(
                    "(channel_id = {} AND day = {})",
                    sql.bind(*channel),
                    sql.bind(*day)
                )
            })
            .collect();
        sql.text = format!(
            "SELECT channel_id, day, used FROM channel_day_slots WHERE {}",
            pairs.join(" OR ")
        );
        for row in db.query_all_raw(sql.build(backend)).await? {
            let key = (row.try_get_by_index(0)?, row.try_get_by_index(1)?);
            let used: i32 = row.try_get_by_index(2)?;
            out.used.insert(key, (i64::from(used), 0));
        }
        Ok(out)
    }

    /// Whether fewer than `limit` of the channel's slots of `day` are used.
    pub fn has_room(&self, channel: i64, day: NaiveDate, limit: i64) -> bool {
        let (read, added) = self.used.get(&(channel, day)).copied().unwrap_or((0, 0));
        read + added < limit
    }

    /// Takes one of the channel's slots of `day` (after [`Self::has_room`]).
    pub fn take(&mut self, channel: i64, day: NaiveDate) {
        self.used.entry((channel, day)).or_insert((0, 0)).1 += 1;
    }

    /// Writes the slots taken, each row only while it stays within `limit` (the most any
    /// request of the batch allowed). `false` when a row moved past it meanwhile.
    pub async fn write(&self, db: &impl ConnectionTrait, limit: i64) -> Result<bool, AppError> {
        let taken: BTreeMap<(i64, NaiveDate), i64> = self
            .used
            .iter()
            .filter(|(_, (_, added))| *added > 0)
            .map(|(key, (_, added))| (*key, *added))
            .collect();
        if taken.is_empty() {
            return Ok(true);
        }
        let backend = db.get_database_backend();
        let mut sql = Sql::new();
        let rows: Vec<String> = taken
            .iter()
            .map(|((channel, day), added)| {
                format!(
                    "({}, {}, {})",
                    sql.bind(*channel),
                    sql.bind(*day),
                    sql.bind(*added)
                )
            })
            .collect();
        let limit = sql.bind(limit);
        sql.text = format!(
            "INSERT INTO channel_day_slots (channel_id, day, used) VALUES {} \
             ON CONFLICT (channel_id, day) DO UPDATE \
             SET used = channel_day_slots.used + excluded.used \
             WHERE channel_day_slots.used + excluded.used <= {limit}",
            rows.join(", ")
        );
        Ok(db.execute_raw(sql.build(backend)).await?.rows_affected() == taken.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_has_room_until_its_slots_are_taken() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).expect("a day");
        let mut slots = ChannelSlots::default();
        slots.used.insert((5, day), (2, 0));
        assert!(slots.has_room(5, day, 3));
        slots.take(5, day);
        assert!(
            !slots.has_room(5, day, 3),
            "two read and one taken of three"
        );
        assert!(
            slots.has_room(6, day, 1),
            "a channel without a row has all its slots"
        );
    }
}

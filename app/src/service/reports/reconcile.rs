//! Reconciliation: for every campaign, what the ledger charged (post transfers out of its
//! holds), what the accepted delivery events posted, what the reporting rollups say (with and
//! without channels), and the spend counters delivery keeps, compared to the micro-unit; and
//! views and clicks of the events against both rollups. Reports are only as true as this: any
//! difference is listed.

use crate::{error::AppError, model::Micros};
use sea_orm::{ConnectionTrait, Statement};
use std::collections::BTreeMap;

/// One campaign's figures from each source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CampaignFigures {
    pub account_id: i64,
    /// Σ post transfers out of the campaign's holds.
    pub ledger_posted: i64,
    /// Σ `posted` of its accepted events.
    pub events_posted: i64,
    /// Σ `spend_micros` of its rollup rows.
    pub rollup_spend: i64,
    /// Σ `spend_micros` of its rows in the rollup without channels (`delivery_rollup_day`).
    pub daily_spend: i64,
    /// Its spend counter (`campaign_spend.posted`).
    pub counter_posted: i64,
    /// Σ `posted` of its decisions.
    pub decisions_posted: i64,
    pub events_views: i64,
    pub rollup_views: i64,
    pub daily_views: i64,
    pub events_clicks: i64,
    pub rollup_clicks: i64,
    pub daily_clicks: i64,
    /// Σ `reversed_micros` (finance's reversals) of its rows in each rollup.
    pub rollup_reversed: i64,
    pub daily_reversed: i64,
}

impl CampaignFigures {
    /// Whether every source agrees.
    pub fn agrees(&self) -> bool {
        let spend = [
            self.events_posted,
            self.rollup_spend,
            self.daily_spend,
            self.counter_posted,
            self.decisions_posted,
        ];
        spend.iter().all(|s| *s == self.ledger_posted)
            && self.events_views == self.rollup_views
            && self.events_views == self.daily_views
            && self.events_clicks == self.rollup_clicks
            && self.events_clicks == self.daily_clicks
            && self.rollup_reversed == self.daily_reversed
    }
}

/// The outcome: every campaign with delivery, the overall totals, and the campaigns whose
/// sources disagree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reconciliation {
    pub campaigns: BTreeMap<i64, CampaignFigures>,
    pub overall: CampaignFigures,
    pub differences: Vec<(i64, CampaignFigures)>,
}

impl Reconciliation {
    /// Charged in all, by the ledger.
    pub fn ledger_total(&self) -> Micros {
        Micros(self.overall.ledger_posted)
    }
}

async fn per_campaign(
    db: &impl ConnectionTrait,
    sql: &str,
) -> Result<Vec<(i64, i64, i64, i64)>, AppError> {
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    rows.iter()
        .map(|r| Ok(r.try_get_many_by_index()?))
        .collect()
}

/// Reconciles everything (a full read of the money tables: for the command line, tests and
/// finance, not for pages on every request).
pub async fn reconcile(db: &impl ConnectionTrait) -> Result<Reconciliation, AppError> {
    let mut campaigns: BTreeMap<i64, CampaignFigures> = BTreeMap::new();
    for (campaign, account, ..) in per_campaign(
        db,
        "SELECT id, account_id, CAST(0 AS BIGINT), CAST(0 AS BIGINT) FROM campaign",
    )
    .await?
    {
        campaigns.entry(campaign).or_default().account_id = account;
    }
    for (campaign, posted, ..) in per_campaign(
        db,
        "SELECT a.owner_id, CAST(SUM(t.amount) AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT) FROM ledger_transfer t \
         JOIN ledger_account a ON a.id = t.debit_account_id \
         WHERE t.kind = 'post' AND a.kind = 'campaign_holds' GROUP BY a.owner_id",
    )
    .await?
    {
        campaigns.entry(campaign).or_default().ledger_posted = posted;
    }
    for (campaign, posted, views, clicks) in per_campaign(
        db,
        "SELECT d.campaign_id, CAST(SUM(e.posted) AS BIGINT), CAST(SUM(e.views) AS BIGINT), \
         CAST(SUM(e.clicks) AS BIGINT) FROM delivery_event e \
         JOIN delivery_decision d ON d.id = e.decision_id GROUP BY d.campaign_id",
    )
    .await?
    {
        let c = campaigns.entry(campaign).or_default();
        (c.events_posted, c.events_views, c.events_clicks) = (posted, views, clicks);
    }
    for (campaign, spend, views, clicks) in per_campaign(
        db,
        "SELECT campaign_id, CAST(SUM(spend_micros) AS BIGINT), CAST(SUM(views) AS BIGINT), \
         CAST(SUM(clicks) AS BIGINT) FROM delivery_rollup GROUP BY campaign_id",
    )
    .await?
    {
        let c = campaigns.entry(campaign).or_default();
        (c.rollup_spend, c.rollup_views, c.rollup_clicks) = (spend, views, clicks);
    }
    for (table, daily) in [("delivery_rollup", false), ("delivery_rollup_day", true)] {
        let sql = format!(
            "SELECT campaign_id, CAST(SUM(reversed_micros) AS BIGINT), CAST(0 AS BIGINT), \
             CAST(0 AS BIGINT) FROM {table} GROUP BY campaign_id"
        );
        for (campaign, reversed, ..) in per_campaign(db, &sql).await? {
            let c = campaigns.entry(campaign).or_default();
            *(if daily {
                &mut c.daily_reversed
            } else {
                &mut c.rollup_reversed
            }) = reversed;
        }
    }
    for (campaign, spend, views, clicks) in per_campaign(
        db,
        "SELECT campaign_id, CAST(SUM(spend_micros) AS BIGINT), CAST(SUM(views) AS BIGINT), \
         CAST(SUM(clicks) AS BIGINT) FROM delivery_rollup_day GROUP BY campaign_id",
    )
    .await?
    {
        let c = campaigns.entry(campaign).or_default();
        (c.daily_spend, c.daily_views, c.daily_clicks) = (spend, views, clicks);
    }
    for (campaign, posted, ..) in per_campaign(
        db,
        "SELECT campaign_id, posted, CAST(0 AS BIGINT), CAST(0 AS BIGINT) FROM campaign_spend",
    )
    .await?
    {
        campaigns.entry(campaign).or_default().counter_posted = posted;
    }
    for (campaign, posted, ..) in per_campaign(
        db,
        "SELECT campaign_id, CAST(SUM(posted) AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT) FROM delivery_decision \
         GROUP BY campaign_id",
    )
    .await?
    {
        campaigns.entry(campaign).or_default().decisions_posted = posted;
    }
    campaigns.retain(|_, c| {
        *c != CampaignFigures {
            account_id: c.account_id,
            ..Default::default()
        }
    });
    let mut overall = CampaignFigures::default();
    for c in campaigns.values() {
        overall.ledger_posted += c.ledger_posted;
        overall.events_posted += c.events_posted;
        overall.rollup_spend += c.rollup_spend;
        overall.daily_spend += c.daily_spend;
        overall.counter_posted += c.counter_posted;
        overall.decisions_posted += c.decisions_posted;
        overall.events_views += c.events_views;
        overall.rollup_views += c.rollup_views;
        overall.daily_views += c.daily_views;
        overall.events_clicks += c.events_clicks;
        overall.rollup_clicks += c.rollup_clicks;
        overall.daily_clicks += c.daily_clicks;
        overall.rollup_reversed += c.rollup_reversed;
        overall.daily_reversed += c.daily_reversed;
    }
    let differences = campaigns
        .iter()
        .filter(|(_, c)| !c.agrees())
        .map(|(id, c)| (*id, *c))
        .collect();
    Ok(Reconciliation {
        campaigns,
        overall,
        differences,
    })
}

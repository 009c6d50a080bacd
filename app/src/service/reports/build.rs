//! Assembles a report from the rollup reads: totals against the previous period, budget left
//! and today's pacing, the chart series, and the rows of the chosen breakdown (one page).

use super::{
    fold::fold_channels,
    query::{self, ChannelFacts, Key, OTHER_CHANNELS, Sums},
    scope::Subject,
};
use crate::{
    entity::{ad, campaign},
    error::AppError,
    model::{
        AdId, Breakdown, CampaignId, CampaignStatus, ChartPoint, Figures, Micros, Pacing, Report,
        ReportQuery, ReportRow, language_name,
    },
    service::{delivery, settings},
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use std::collections::{BTreeMap, HashMap};

/// Rows per page of a report's table.
pub const PAGE_SIZE: u64 = 100;
/// Bars in the top-channels chart.
const TOP_CHANNELS: usize = 10;

fn figures(s: Sums) -> Figures {
    Figures::of(s.views, s.clicks, s.spend)
}

/// What every breakdown and chart of one report is made of, read once.
pub struct Inputs {
    pub min_views: i64,
    pub days: Vec<(NaiveDate, Sums)>,
    /// Per channel, before the privacy fold (topic and language sums are exact).
    pub channels: Vec<(i64, Sums)>,
    pub facts: HashMap<i64, ChannelFacts>,
    /// Per channel after the fold, largest first, "Other channels" last.
    pub folded: Vec<(i64, Sums)>,
    pub folded_count: u64,
    pub campaigns: Vec<(CampaignId, String)>,
}

impl Inputs {
    pub async fn load(db: &impl ConnectionTrait, subject: &Subject) -> Result<Self, AppError> {
        let (scope, period) = (&subject.scope, &subject.period);
        // Independent reads, at once (as far as the pool has connections free).
        let (min_views, days, (channels, facts), campaigns) = tokio::try_join!(
            settings::report_min_channel_views(db),
            query::by_day(db, scope, period.from, period.to),
            query::channels(db, scope, period.from, period.to),
            account_campaigns(db, scope.account),
        )?;
        let (folded, folded_count) = fold_channels(channels.clone(), min_views);
        Ok(Self {
            min_views,
            days,
            channels,
            facts,
            folded,
            folded_count,
            campaigns,
        })
    }
}

/// The rows of `breakdown`: one page (`Some(page)`) or all of them (`None`; not for the
/// day-and-channel breakdown, which is streamed), with the number of rows in all pages.
pub async fn rows(
    db: &impl ConnectionTrait,
    subject: &Subject,
    breakdown: Breakdown,
    inputs: &Inputs,
    page: Option<u64>,
) -> Result<(Vec<ReportRow>, u64), AppError> {
    let (scope, period) = (&subject.scope, &subject.period);
    let Inputs {
        days,
        channels,
        facts,
        folded,
        campaigns,
        min_views,
        ..
    } = inputs;
    let (facts, min_views) = (facts, *min_views);
    let paged = |all: Vec<ReportRow>| paged(all, page);
    Ok(match breakdown {
        Breakdown::Day => {
            let by_day: HashMap<NaiveDate, Sums> = days.iter().copied().collect();
            let all: Vec<ReportRow> = each_day(period.from, period.to)
                .rev()
                .map(|day| ReportRow {
                    label: day.format("%Y-%m-%d").to_string(),
                    detail: None,
                    link: None,
                    figures: figures(by_day.get(&day).copied().unwrap_or_default()),
                })
                .collect();
            paged(all)
        }
        Breakdown::Campaign | Breakdown::Ad => {
            let key = if breakdown == Breakdown::Campaign {
                Key::Campaign
            } else {
                Key::Ad
            };
            let mut grouped = query::grouped(db, scope, period.from, period.to, key).await?;
            grouped.sort_by(|a, b| (b.1.spend, b.1.views, a.0).cmp(&(a.1.spend, a.1.views, b.0)));
            let names: HashMap<i64, String> = if key == Key::Campaign {
                campaigns.iter().map(|(id, n)| (id.0, n.clone())).collect()
            } else {
                ad_names(db, scope.account, grouped.iter().map(|(id, _)| *id)).await?
            };
            let all = grouped
                .into_iter()
                .map(|(id, sums)| ReportRow {
                    label: names.get(&id).cloned().unwrap_or_else(|| format!("#{id}")),
                    detail: None,
                    link: Some(if key == Key::Campaign {
                        format!("/reports?campaign={id}")
                    } else {
                        format!("/reports?ad={id}")
                    }),
                    figures: figures(sums),
                })
                .collect();
            paged(all)
        }
        Breakdown::Channel => {
            let all = folded
                .iter()
                .map(|(id, sums)| ReportRow {
                    label: channel_label(*id, facts),
                    detail: None,
                    link: None,
                    figures: figures(*sums),
                })
                .collect();
            paged(all)
        }
        Breakdown::Topic | Breakdown::Language => {
            let by = |f: &ChannelFacts| {
                if breakdown == Breakdown::Topic {
                    f.topic.clone()
                } else {
                    language_label(&f.language)
                }
            };
            let all = regroup(channels, facts, min_views, by)
                .into_iter()
                .map(|(label, sums)| ReportRow {
                    label,
                    detail: None,
                    link: None,
                    figures: figures(sums),
                })
                .collect();
            paged(all)
        }
        Breakdown::DayChannel => {
            let page = page.unwrap_or(0);
            let total =
                query::day_channel_count(db, scope, period.from, period.to, min_views).await?;
            let rows = query::day_channel_page(
                db,
                scope,
                period.from,
                period.to,
                min_views,
                PAGE_SIZE,
                page * PAGE_SIZE,
            )
            .await?;
            let rows = rows
                .into_iter()
                .map(|(day, channel, sums)| ReportRow {
                    label: day.format("%Y-%m-%d").to_string(),
                    detail: Some(channel_label(channel, facts)),
                    link: None,
                    figures: figures(sums),
                })
                .collect();
            (rows, total)
        }
    })
}

/// The report of `subject`, broken down by `query.by`, page `query.page`.
pub async fn report(
    db: &impl ConnectionTrait,
    subject: &Subject,
    query: &ReportQuery,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Report, AppError> {
    let (scope, period) = (&subject.scope, &subject.period);
    let breakdown = query
        .by
        .as_deref()
        .and_then(Breakdown::from_code)
        .unwrap_or_default();
    let page = query
        .page
        .as_deref()
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(0)
        .min(100_000);
    // Independent reads, at once (as far as the pool has connections free): measured by
    // `server bench reports`, a report waits for its longest read instead of their sum.
    let (previous, inputs, ads, (budget_left, pacing)) = tokio::try_join!(
        query::totals(db, scope, period.previous_from, period.previous_to),
        Inputs::load(db, subject),
        async {
            match subject.campaign.as_ref() {
                Some(c) => campaign_ads(db, c.id).await,
                None => Ok(Vec::new()),
            }
        },
        budget_and_pacing(db, subject, now),
    )?;
    // The period's totals are its days' sums.
    let mut totals = Sums::default();
    for (_, day) in &inputs.days {
        totals.add(*day);
    }
    let (rows, rows_total) = rows(db, subject, breakdown, &inputs, Some(page)).await?;
    let Inputs {
        min_views,
        days,
        channels,
        facts,
        folded,
        folded_count,
        campaigns,
    } = inputs;
    let currency = subject.clock.currency.clone();
    let money = |m: Micros| m.display(&currency);

    let by_day: HashMap<NaiveDate, Sums> = days.iter().copied().collect();
    let series = |f: &dyn Fn(Sums) -> (i64, String)| -> Vec<ChartPoint> {
        each_day(period.from, period.to)
            .map(|day| {
                let (value, shown) = f(by_day.get(&day).copied().unwrap_or_default());
                ChartPoint {
                    label: day.format("%b %-d").to_string(),
                    value,
                    shown,
                }
            })
            .collect()
    };
    let spend_per_day = series(&|s| (s.spend.0, money(s.spend)));
    let views_per_day = if subject.money_only {
        Vec::new()
    } else {
        series(&|s| {
            (
                s.views,
                crate::model::group_thousands(s.views.max(0) as u64),
            )
        })
    };
    let spend_bars = |by: &dyn Fn(&ChannelFacts) -> String| -> Vec<ChartPoint> {
        let mut groups = regroup(&channels, &facts, min_views, by);
        groups.retain(|(_, s)| s.spend.0 > 0);
        // Largest first, "Other channels" last.
        groups.sort_by(|a, b| {
            (a.0 == "Other channels", b.1.spend, &a.0).cmp(&(
                b.0 == "Other channels",
                a.1.spend,
                &b.0,
            ))
        });
        groups
            .into_iter()
            .map(|(label, s)| ChartPoint {
                label,
                value: s.spend.0,
                shown: money(s.spend),
            })
            .collect()
    };
    let spend_by_topic = spend_bars(&|f| f.topic.clone());
    let spend_by_language = spend_bars(&|f| language_label(&f.language));
    let top_channels = folded
        .iter()
        .filter(|(id, s)| *id != OTHER_CHANNELS && s.spend.0 > 0)
        .take(TOP_CHANNELS)
        .map(|(id, s)| ChartPoint {
            label: channel_label(*id, &facts),
            value: s.spend.0,
            shown: money(s.spend),
        })
        .collect();

    let title = match (&subject.campaign, &subject.ad) {
        (Some(c), Some(a)) => format!("Ad “{}” of {}", a.title, c.name),
        (Some(c), None) => format!("Campaign {}", c.name),
        _ => format!("Account {}", subject.account_name),
    };
    let mut normalised = query.clone();
    normalised.range = Some(period.preset.code().to_owned());
    normalised.by = Some(breakdown.code().to_owned());
    normalised.from = Some(period.from.to_string());
    normalised.to = Some(period.to.to_string());
    normalised.page = None;
    normalised.campaign = subject.campaign.as_ref().map(|c| c.id.to_string());
    normalised.ad = subject.ad.as_ref().map(|a| a.id.to_string());
    let mut report = Report {
        title,
        account_name: subject.account_name.clone(),
        currency: currency.clone(),
        time_zone: subject.clock.time_zone.clone(),
        campaign: subject
            .campaign
            .as_ref()
            .map(|c| (CampaignId(c.id), c.name.clone())),
        ad: subject.ad.as_ref().map(|a| AdId(a.id)),
        preset: period.preset,
        breakdown,
        from: period.from,
        to: period.to,
        previous_from: period.previous_from,
        previous_to: period.previous_to,
        totals: figures(totals),
        previous: figures(previous),
        budget_left,
        pacing,
        money_only: subject.money_only,
        rows,
        rows_total,
        page,
        page_size: PAGE_SIZE,
        folded_channels: folded_count,
        min_channel_views: min_views,
        spend_per_day,
        views_per_day,
        spend_by_topic,
        spend_by_language,
        top_channels,
        campaigns,
        ads,
        query: normalised,
    };
    if report.money_only {
        strip_counts(&mut report);
    }
    Ok(report)
}

/// Billing members see money only.
fn strip_counts(report: &mut Report) {
    let money = |f: &mut Figures| *f = Figures::of(0, 0, f.spend);
    money(&mut report.totals);
    money(&mut report.previous);
    for row in &mut report.rows {
        money(&mut row.figures);
    }
}

fn paged(all: Vec<ReportRow>, page: Option<u64>) -> (Vec<ReportRow>, u64) {
    let total = all.len() as u64;
    let Some(page) = page else {
        return (all, total);
    };
    let rows = all
        .into_iter()
        .skip((page * PAGE_SIZE) as usize)
        .take(PAGE_SIZE as usize)
        .collect();
    (rows, total)
}

/// Every day of `from..=to`.
pub fn each_day(from: NaiveDate, to: NaiveDate) -> impl DoubleEndedIterator<Item = NaiveDate> {
    let days = (to - from).num_days().max(-1) + 1;
    (0..days).map(move |i| from + Duration::days(i))
}

/// `@handle`, or "Other channels".
pub fn channel_label(id: i64, facts: &HashMap<i64, ChannelFacts>) -> String {
    if id == OTHER_CHANNELS {
        return "Other channels".to_owned();
    }
    facts
        .get(&id)
        .map_or_else(|| format!("channel {id}"), |f| format!("@{}", f.handle))
}

fn language_label(code: &str) -> String {
    language_name(code).map_or_else(|| code.to_owned(), str::to_owned)
}

/// Channel sums regrouped by a fact of the channel (topic, language), largest spend first.
/// A channel below `min_views` is counted in "Other channels", as in the channel breakdown:
/// counted in its topic's group, it could be told apart by subtracting the channels that
/// group shows on their own. A group with fewer views than `min_views` — which could be one
/// channel — is counted there too.
fn regroup(
    channels: &[(i64, Sums)],
    facts: &HashMap<i64, ChannelFacts>,
    min_views: i64,
    by: impl Fn(&ChannelFacts) -> String,
) -> Vec<(String, Sums)> {
    let mut groups: BTreeMap<String, Sums> = BTreeMap::new();
    let mut other = Sums::default();
    for (id, sums) in channels {
        if sums.views < min_views {
            other.add(*sums);
            continue;
        }
        let key = facts.get(id).map_or_else(|| "Unknown".to_owned(), &by);
        groups.entry(key).or_default().add(*sums);
    }
    let mut out: Vec<(String, Sums)> = Vec::with_capacity(groups.len());
    for (label, sums) in groups {
        if sums.views < min_views {
            other.add(sums);
        } else {
            out.push((label, sums));
        }
    }
    out.sort_by(|a, b| {
        (b.1.spend, b.1.views)
            .cmp(&(a.1.spend, a.1.views))
            .then(a.0.cmp(&b.0))
    });
    if other != Sums::default() {
        out.push(("Other channels".to_owned(), other));
    }
    out
}

/// The account's campaigns for the level menu, newest first (archived ones too: their
/// history is still reportable).
async fn account_campaigns(
    db: &impl ConnectionTrait,
    account: i64,
) -> Result<Vec<(CampaignId, String)>, AppError> {
    Ok(campaign::Entity::find()
        .filter(campaign::Column::AccountId.eq(account))
        .order_by_desc(campaign::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|c| (CampaignId(c.id), c.name))
        .collect())
}

async fn campaign_ads(
    db: &impl ConnectionTrait,
    campaign: i64,
) -> Result<Vec<(AdId, String)>, AppError> {
    Ok(ad::Entity::find()
        .filter(ad::Column::CampaignId.eq(campaign))
        .order_by_asc(ad::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|a| (AdId(a.id), a.title))
        .collect())
}

async fn ad_names(
    db: &impl ConnectionTrait,
    account: i64,
    ids: impl Iterator<Item = i64>,
) -> Result<HashMap<i64, String>, AppError> {
    let ids: Vec<i64> = ids.collect();
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        for a in ad::Entity::find()
            .filter(ad::Column::AccountId.eq(account))
            .filter(ad::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            out.insert(a.id, a.title);
        }
    }
    Ok(out)
}

/// Budget left and today's pacing of what the report covers — one campaign, or the account's
/// live campaigns (scheduled, running, paused) — as the campaign page counts them
/// ([`delivery::state::for_campaigns`], one definition for both): budget left is the total
/// budgets less what is committed (posted and held for won slots); today's pacing is what the
/// campaigns committed on decisions of the account's local day (as the daily budget caps it)
/// against their daily budgets, for the one campaign or the running ones (the allowance is
/// `None` when one of those has no daily budget).
async fn budget_and_pacing(
    db: &impl ConnectionTrait,
    subject: &Subject,
    now: DateTime<Utc>,
) -> Result<(Micros, Pacing), AppError> {
    let campaigns: Vec<campaign::Model> = match &subject.campaign {
        Some(c) => vec![c.clone()],
        None => {
            campaign::Entity::find()
                .filter(campaign::Column::AccountId.eq(subject.scope.account))
                .filter(campaign::Column::Status.is_in([
                    CampaignStatus::Scheduled,
                    CampaignStatus::Running,
                    CampaignStatus::Paused,
                ]))
                .all(db)
                .await?
        }
    };
    let clock = &subject.clock;
    let figures =
        delivery::state::for_campaigns(db, &campaigns, &clock.currency, clock.tz, now).await?;
    let of = |c: &campaign::Model| figures.get(&c.id);
    let paced: Vec<&campaign::Model> = campaigns
        .iter()
        .filter(|c| c.status == CampaignStatus::Running || subject.campaign.is_some())
        .collect();
    let left = campaigns
        .iter()
        .filter_map(of)
        .map(|d| d.budget_left.0)
        .sum();
    let allowance = paced.iter().try_fold(0i64, |sum, c| {
        c.daily_budget_micros.map(|daily| sum + daily)
    });
    Ok((
        Micros(left),
        Pacing {
            spent_today: Micros(paced.iter().filter_map(|c| of(c)).map(|d| d.today.0).sum()),
            allowance: allowance.map(Micros),
        },
    ))
}

//! Report wire types: what a report asks for (level, period, breakdown — all of it a URL
//! query), and what it answers (totals against the previous period, rows, chart series).

use crate::model::{AdId, CampaignId, Micros};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A report's period, as the URL names it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RangePreset {
    Today,
    #[default]
    Last7,
    Last30,
    ThisMonth,
    Custom,
}

impl RangePreset {
    pub const ALL: [Self; 5] = [
        Self::Today,
        Self::Last7,
        Self::Last30,
        Self::ThisMonth,
        Self::Custom,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Today => "today",
            Self::Last7 => "7d",
            Self::Last30 => "30d",
            Self::ThisMonth => "month",
            Self::Custom => "custom",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Today => "Today",
            Self::Last7 => "Last 7 days",
            Self::Last30 => "Last 30 days",
            Self::ThisMonth => "This month",
            Self::Custom => "Custom",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.code() == code)
    }
}

/// How a report's rows are broken down.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Breakdown {
    #[default]
    Day,
    Campaign,
    Ad,
    Channel,
    Topic,
    Language,
    /// One row per day and channel (small channels folded per day).
    DayChannel,
}

impl Breakdown {
    pub const ALL: [Self; 7] = [
        Self::Day,
        Self::Campaign,
        Self::Ad,
        Self::Channel,
        Self::Topic,
        Self::Language,
        Self::DayChannel,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Campaign => "campaign",
            Self::Ad => "ad",
            Self::Channel => "channel",
            Self::Topic => "topic",
            Self::Language => "language",
            Self::DayChannel => "day_channel",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Day => "Day",
            Self::Campaign => "Campaign",
            Self::Ad => "Ad",
            Self::Channel => "Channel",
            Self::Topic => "Topic",
            Self::Language => "Language",
            Self::DayChannel => "Day and channel",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.code() == code)
    }
}

/// A report request exactly as the URL's query carries it (so every view is a link); the
/// server parses and checks it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportQuery {
    /// A campaign of the current account (none: the whole account).
    pub campaign: Option<String>,
    /// An ad of that campaign.
    pub ad: Option<String>,
    /// A [`RangePreset`] code.
    pub range: Option<String>,
    /// `YYYY-MM-DD`, with `range=custom`.
    pub from: Option<String>,
    pub to: Option<String>,
    /// A [`Breakdown`] code.
    pub by: Option<String>,
    /// Zero-based page of the rows.
    pub page: Option<String>,
}

impl ReportQuery {
    /// The query string of this request (`?campaign=3&range=7d…`), empty parts left out.
    pub fn to_query_string(&self) -> String {
        let parts: Vec<String> = [
            ("campaign", &self.campaign),
            ("ad", &self.ad),
            ("range", &self.range),
            ("from", &self.from),
            ("to", &self.to),
            ("by", &self.by),
            ("page", &self.page),
        ]
        .into_iter()
        .filter_map(|(k, v)| {
            v.as_deref()
                .filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}", urlencoding(v)))
        })
        .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }
}

/// Percent-encodes what a query value may not carry as is.
fn urlencoding(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Views, clicks and spend of a row or a period, with what derives from them (computed by the
/// server: a page never computes money).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub views: i64,
    pub clicks: i64,
    pub spend: Micros,
    /// Clicks per 10,000 views (basis points); `None` without views.
    pub ctr_bp: Option<i64>,
    /// Spend per thousand views; `None` without views.
    pub ecpm: Option<Micros>,
}

impl Figures {
    /// The figures of these sums.
    pub fn of(views: i64, clicks: i64, spend: Micros) -> Self {
        let per_view =
            |n: i128| (views > 0).then(|| i64::try_from(n / i128::from(views)).unwrap_or(i64::MAX));
        Self {
            views,
            clicks,
            spend,
            ctr_bp: per_view(i128::from(clicks) * 10_000),
            ecpm: per_view(i128::from(spend.0) * 1_000).map(Micros),
        }
    }

    /// The CTR as text: `1.25 %`, or `–`.
    pub fn ctr_text(&self) -> String {
        self.ctr_bp.map_or_else(
            || "–".to_owned(),
            |bp| format!("{}.{:02} %", bp / 100, bp % 100),
        )
    }
}

/// One row of a report's table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRow {
    /// What the row is: a day, a campaign's name, `@handle`, a topic, a language.
    pub label: String,
    /// A second label column (the channel of a day-and-channel row).
    pub detail: Option<String>,
    /// The drill-down report of this row, when there is one.
    pub link: Option<String>,
    pub figures: Figures,
}

/// A bar or point of a chart: a label and its value, with the value as shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartPoint {
    pub label: String,
    pub value: i64,
    pub shown: String,
}

/// Today's spend against today's allowance (the daily budgets of what is running).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pacing {
    /// What today's decisions committed (charged, or held for slots won and not yet charged):
    /// what the daily budget caps.
    pub spent_today: Micros,
    /// `None` when something running has no daily budget.
    pub allowance: Option<Micros>,
}

/// A report as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// "Account Acme", "Campaign Spring sale", "Ad 12 of Spring sale".
    pub title: String,
    pub account_name: String,
    pub currency: String,
    pub time_zone: String,
    pub campaign: Option<(CampaignId, String)>,
    pub ad: Option<AdId>,
    pub preset: RangePreset,
    pub breakdown: Breakdown,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub previous_from: NaiveDate,
    pub previous_to: NaiveDate,
    pub totals: Figures,
    pub previous: Figures,
    /// Budget left of what the report covers (total budgets less what is posted).
    pub budget_left: Micros,
    pub pacing: Pacing,
    /// Billing members see money only: views, clicks, CTR and effective CPM are left out.
    pub money_only: bool,
    pub rows: Vec<ReportRow>,
    /// Rows in all pages.
    pub rows_total: u64,
    pub page: u64,
    pub page_size: u64,
    /// Channels folded into "Other channels" for the privacy threshold.
    pub folded_channels: u64,
    pub min_channel_views: i64,
    pub spend_per_day: Vec<ChartPoint>,
    pub views_per_day: Vec<ChartPoint>,
    pub spend_by_topic: Vec<ChartPoint>,
    pub spend_by_language: Vec<ChartPoint>,
    pub top_channels: Vec<ChartPoint>,
    /// The campaigns and ads the level menus offer.
    pub campaigns: Vec<(CampaignId, String)>,
    pub ads: Vec<(AdId, String)>,
    /// The query that produced it, normalised (for the export link and the menus).
    pub query: ReportQuery,
}

/// A share link as its list shows it (the token itself is shown once, at creation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareLinkView {
    pub id: i64,
    pub label: String,
    pub prefix: String,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
}

/// A new share link: its URL with the token, shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewShareLink {
    pub id: i64,
    pub url: String,
    pub expires_at: String,
}

/// What creating a share link needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareLinkInput {
    pub campaign: CampaignId,
    /// Who it is for (1–80 characters).
    pub label: String,
    /// Days until it expires (1–365).
    pub days: String,
}

/// The change from the previous period to this one, as shown beside a figure: `+12.5 %`,
/// `−3.0 %`, `new` (nothing before), or empty (nothing either time).
pub fn change_text(now: i64, before: i64) -> String {
    if before == 0 {
        return if now == 0 {
            String::new()
        } else {
            "new".to_owned()
        };
    }
    // Tenths of a percent, rounded half away from zero.
    let diff = i128::from(now) - i128::from(before);
    let twice = diff * 2_000 / i128::from(before);
    let tenths = (twice + twice.signum()) / 2;
    let sign = if tenths > 0 {
        "+"
    } else if tenths < 0 {
        "−"
    } else {
        "±"
    };
    let abs = tenths.abs();
    format!("{sign}{}.{} %", abs / 10, abs % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_as_people_expect() {
        assert_eq!(change_text(110, 100), "+10.0 %");
        assert_eq!(change_text(90, 100), "−10.0 %");
        assert_eq!(change_text(100, 100), "±0.0 %");
        assert_eq!(change_text(1, 3), "−66.7 %");
        assert_eq!(change_text(5, 0), "new");
        assert_eq!(change_text(0, 0), "");
    }

    #[test]
    fn figures_derive_ctr_and_effective_cpm() {
        let f = Figures::of(2_000, 25, Micros(3_000_000));
        assert_eq!((f.ctr_bp, f.ecpm), (Some(125), Some(Micros(1_500_000))));
        assert_eq!(f.ctr_text(), "1.25 %");
        assert_eq!(Figures::of(0, 0, Micros(0)).ctr_text(), "–");
    }

    #[test]
    fn a_query_is_its_own_link() {
        let q = ReportQuery {
            campaign: Some("3".into()),
            range: Some("custom".into()),
            from: Some("2026-01-01".into()),
            by: Some("day_channel".into()),
            ..Default::default()
        };
        assert_eq!(
            q.to_query_string(),
            "?campaign=3&range=custom&from=2026-01-01&by=day_channel"
        );
        assert_eq!(ReportQuery::default().to_query_string(), "");
    }
}

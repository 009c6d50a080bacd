//! The forecast panel: what a targeting buys per day (channels, subscribers, views, spend,
//! share of the catalog) and one sortable page of the matching channels, each excludable.

use crate::model::{
    ChannelId, ChannelRow, ChannelSort, FORECAST_PAGE_SIZE, Forecast, Micros, group_thousands,
};
use leptos::{ev::MouseEvent, prelude::*};

/// `1234567` → `1,234,567` (negative numbers keep their sign).
pub fn count(n: i64) -> String {
    let digits = group_thousands(n.unsigned_abs());
    if n < 0 { format!("-{digits}") } else { digits }
}

/// A short form for large figures: `980`, `12.4k`, `3.1M`.
pub fn compact(n: i64) -> String {
    let abs = n.unsigned_abs() as f64;
    let sign = if n < 0 { "-" } else { "" };
    if abs >= 1e9 {
        format!("{sign}{:.1}B", abs / 1e9)
    } else if abs >= 1e6 {
        format!("{sign}{:.1}M", abs / 1e6)
    } else if abs >= 1e4 {
        format!("{sign}{:.1}k", abs / 1e3)
    } else {
        count(n)
    }
}

/// What the panel's buttons ask for. Every button is also a plain submit button of the
/// surrounding form (name/value), so the panel works before the wasm has loaded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ForecastCommand {
    Sort(ChannelSort),
    Page(u64),
    Exclude(ChannelId),
}

/// The forecast numbers and the matching channels. `stale` dims the figures while a newer
/// answer is on its way or the form has an error.
#[component]
pub fn ForecastPanel(
    forecast: Forecast,
    #[prop(into)] stale: Signal<bool>,
    /// Called (in the browser) instead of submitting the form.
    on_command: Callback<(ForecastCommand, ChannelRow), ()>,
    /// Whether rows offer an "Exclude" button.
    #[prop(default = true)]
    excludable: bool,
) -> impl IntoView {
    let currency = forecast.currency.clone();
    let share = forecast.share_percent();
    let pages = forecast.pages();
    let page = forecast.top.page;
    let sort_now = forecast.sort;
    let stat = |label: &'static str, value: String, title: String, test: &'static str| {
        view! {
            <div class="stat" title=title>
                <span class="stat-label">{label}</span>
                <span class="stat-value" data-test=test>{value}</span>
            </div>
        }
    };
    let spend_note = if forecast.budget_limited {
        "Limited by your daily budget."
    } else {
        "At most: your bid for the slots it is expected to win. A won slot is charged the next-highest bid (or the minimum price), so often less."
    };
    let win_percent = format!("{:.0}%", forecast.win_rate * 100.0);
    let win_note = match forecast.competitors {
        0 => "No running campaign competes for these channels now.".to_owned(),
        n => format!(
            "Against up to {} running campaign{} bidding on these channels.",
            count(i64::from(n)),
            if n == 1 { "" } else { "s" }
        ),
    };
    let bid_text = |bid: Option<Micros>| {
        bid.map_or_else(|| "Out of reach".to_owned(), |b| b.display(&currency))
    };
    let half = bid_text(forecast.bid_for_half);
    let most = bid_text(forecast.bid_for_most);
    let recent = forecast.recent_cpm.map_or_else(
        || "No delivery yet".to_owned(),
        |p| p.round_to_cent().display(&currency),
    );
    let fire = move |command: ForecastCommand, row: Option<ChannelRow>| {
        move |ev: MouseEvent| {
            ev.prevent_default();
            on_command.run((command, row.clone().unwrap_or_else(placeholder_row)));
        }
    };
    let rows = forecast.top.rows.clone();
    let empty = rows.is_empty();
    view! {
        <section class="forecast" class:stale=move || stale.get() aria-live="polite" aria-label="Forecast">
            <div class="stats">
                {stat("Matching channels", count(forecast.channels as i64), format!("of {} eligible channels", count(forecast.eligible_channels as i64)), "channels")}
                {stat("Subscribers", compact(forecast.subscribers), count(forecast.subscribers), "subscribers")}
                {stat("Daily view capacity", compact(forecast.daily_capacity), format!("{} views a day", count(forecast.daily_capacity)), "capacity")}
                {stat("Share of catalog", format!("{share:.1}%"), "of all eligible daily views".to_owned(), "share")}
                {stat("Est. daily views", compact(forecast.daily_views), count(forecast.daily_views), "views")}
                {stat("Est. daily spend", forecast.daily_spend.round_to_cent().display(&currency), spend_note.to_owned(), "spend")}
                {stat("Slots won at your bid", win_percent, win_note.clone(), "win-rate")}
                {stat("Bid to win about half", half, "The lowest CPM bid expected to win about half of the matching slots.".to_owned(), "bid-half")}
                {stat("Bid to win about 90%", most, "The lowest CPM bid expected to win about nine in ten of the matching slots.".to_owned(), "bid-most")}
                {stat("Recently paid (CPM)", recent, "Average price per thousand views on these channels in the last 7 days.".to_owned(), "recent-cpm")}
            </div>
            <p class="hint model-note">
                {format!(
                    "Capacity = average views × ad slots per channel per day (at most {}, fewer when a channel posts less). Eligible: active channels with at least {} subscribers. Slots won: what the running campaigns bidding more than you do not take, by their budgets. {} {}",
                    forecast.slots_per_day,
                    count(forecast.min_subscribers),
                    win_note,
                    spend_note,
                )}
            </p>
            <div class="forecast-list-head">
                <h2>"Matching channels"</h2>
                <div class="sort" role="group" aria-label="Sort by">
                    {ChannelSort::ALL.into_iter().map(|s| view! {
                        <button
                            type="submit"
                            name="sort"
                            value=s.code()
                            class="chip"
                            aria-pressed=if s == sort_now { "true" } else { "false" }
                            on:click=fire(ForecastCommand::Sort(s), None)
                        >
                            {s.label()}
                        </button>
                    }).collect_view()}
                </div>
            </div>
            <div class="table-wrap" tabindex="0">
                <table class="channels compact">
                    <thead>
                        <tr>
                            <th scope="col">"Channel"</th>
                            <th scope="col" class="num">"Subscribers"</th>
                            <th scope="col" class="num">"Avg views"</th>
                            <th scope="col" class="num">"Posts/day"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {rows.into_iter().map(|row| {
                            let id = row.id;
                            view! {
                                <tr>
                                    // "Exclude" under the channel's name rather than in a column of
                                    // its own: the table then fits beside the targeting form.
                                    <td>
                                        <span class="handle">{format!("@{}", row.handle)}</span>
                                        <span class="sub">{format!("{} · {} · {}", row.title, row.topic_name, row.language)}</span>
                                        {excludable.then(|| view! {
                                            <button
                                                type="submit"
                                                name="add_exc"
                                                value=id.to_string()
                                                class="link-button small"
                                                title=format!("Exclude @{}", row.handle)
                                                aria-label=format!("Exclude @{}", row.handle)
                                                on:click=fire(ForecastCommand::Exclude(id), Some(row.clone()))
                                            >
                                                "Exclude"
                                            </button>
                                        })}
                                    </td>
                                    <td class="num">{count(row.subscribers)}</td>
                                    <td class="num">{count(row.avg_views)}</td>
                                    <td class="num">{format!("{:.1}", row.posts_per_day)}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            {empty.then(|| view! { <p class="muted">"No eligible channel matches this targeting."</p> })}
            {(pages > 1).then(|| view! {
                <nav class="pager" aria-label="Matching channels pages">
                    <button type="submit" name="page" value=(page.saturating_sub(1)).to_string() class="secondary"
                        disabled={page == 0} on:click=fire(ForecastCommand::Page(page.saturating_sub(1)), None)>
                        "Previous"
                    </button>
                    <span>{format!("Page {} of {} · {} per page", page + 1, count(pages as i64), FORECAST_PAGE_SIZE)}</span>
                    <button type="submit" name="page" value=(page + 1).to_string() class="secondary"
                        disabled={page + 1 >= pages} on:click=fire(ForecastCommand::Page(page + 1), None)>
                        "Next"
                    </button>
                </nav>
            })}
        </section>
    }
    .into_any()
}

fn placeholder_row() -> ChannelRow {
    ChannelRow {
        id: ChannelId(0),
        handle: String::new(),
        title: String::new(),
        topic_slug: String::new(),
        topic_name: String::new(),
        language: String::new(),
        subscribers: 0,
        avg_views: 0,
        posts_per_day: 0.0,
        active: false,
        eligible: false,
    }
}

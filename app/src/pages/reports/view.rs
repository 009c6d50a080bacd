//! A report as both the signed-in page and a share link show it: the period form (a GET form,
//! so every view is a URL and works before the wasm loads), the headline figures against the
//! previous period, the charts, and the table with its pages.

use crate::{
    components::{BarChart, LineChart, Pager},
    model::{Breakdown, Micros, RangePreset, Report, ReportQuery, change_text, group_thousands},
};
use leptos::prelude::*;
use leptos_router::components::Form;

fn count(n: i64) -> String {
    group_thousands(n.max(0) as u64)
}

/// A headline figure with its change against the previous period.
#[component]
fn Headline(
    label: &'static str,
    value: String,
    change: String,
    test: &'static str,
) -> impl IntoView {
    let class = if change.starts_with('+') {
        "change up"
    } else if change.starts_with('−') {
        "change down"
    } else {
        "change"
    };
    view! {
        <div class="stat" data-test=test>
            <span class="stat-label">{label}</span>
            <strong class="stat-value">{value}</strong>
            {(!change.is_empty()).then(|| view! { <span class=class title="Against the previous period">{change}</span> })}
        </div>
    }
    .into_any()
}

/// The period and breakdown form. `levels`: the campaign and ad menus (not on a share link).
#[component]
fn PeriodForm(report: Report, action: String, levels: bool) -> impl IntoView {
    let q = report.query.clone();
    let custom = report.preset == RangePreset::Custom;
    let selected_campaign = report.campaign.as_ref().map(|(id, _)| id.0);
    let selected_ad = report.ad.map(|a| a.0);
    let breakdowns: Vec<Breakdown> = Breakdown::ALL
        .into_iter()
        .filter(|b| match b {
            Breakdown::Campaign => levels && report.campaign.is_none(),
            Breakdown::Ad => report.campaign.is_some() && report.ad.is_none(),
            _ => true,
        })
        .collect();
    view! {
        <Form method="GET" action=action attr:class="toolbar filters report-form">
            {levels.then(|| view! {
                <div class="field">
                    <label for="rp-campaign">"Campaign"</label>
                    <select id="rp-campaign" name="campaign">
                        <option value="" selected=selected_campaign.is_none()>"All campaigns"</option>
                        {report.campaigns.iter().map(|(id, name)| view! {
                            <option value=id.0.to_string() selected=selected_campaign == Some(id.0)>{name.clone()}</option>
                        }).collect_view()}
                    </select>
                </div>
                {(!report.ads.is_empty()).then(|| view! {
                    <div class="field">
                        <label for="rp-ad">"Ad"</label>
                        <select id="rp-ad" name="ad">
                            <option value="" selected=selected_ad.is_none()>"All ads"</option>
                            {report.ads.iter().map(|(id, title)| view! {
                                <option value=id.0.to_string() selected=selected_ad == Some(id.0)>{title.clone()}</option>
                            }).collect_view()}
                        </select>
                    </div>
                })}
            })}
            <div class="field">
                <label for="rp-range">"Period"</label>
                <select id="rp-range" name="range">
                    {RangePreset::ALL.into_iter().map(|p| view! {
                        <option value=p.code() selected=report.preset == p>{p.label()}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="rp-from">"From"</label>
                <input id="rp-from" type="date" name="from" value=q.from.clone().unwrap_or_default() aria-describedby="rp-dates-hint"/>
            </div>
            <div class="field">
                <label for="rp-to">"To"</label>
                <input id="rp-to" type="date" name="to" value=q.to.clone().unwrap_or_default() aria-describedby="rp-dates-hint"/>
            </div>
            <div class="field">
                <label for="rp-by">"Break down by"</label>
                <select id="rp-by" name="by">
                    {breakdowns.into_iter().map(|b| view! {
                        <option value=b.code() selected=report.breakdown == b>{b.label()}</option>
                    }).collect_view()}
                </select>
            </div>
            <button type="submit">"Show report"</button>
            <p class="hint form-wide" id="rp-dates-hint">
                {if custom { "Custom dates, " } else { "Dates are used with the Custom period; " }}
                {format!("days in the account's time zone ({}).", report.time_zone)}
            </p>
        </Form>
    }
    .into_any()
}

/// The whole report. `action`: where the period form goes; `export`: the CSV link, if any.
#[component]
pub fn ReportView(
    report: Report,
    action: String,
    levels: bool,
    export: Option<String>,
) -> impl IntoView {
    let currency = report.currency.clone();
    let money = move |m: Micros| m.display(&currency);
    let t = report.totals;
    let p = report.previous;
    let money_only = report.money_only;
    let period = format!(
        "{} – {} (compared with {} – {})",
        report.from, report.to, report.previous_from, report.previous_to
    );
    let pacing = match report.pacing.allowance {
        Some(allowance) if allowance.0 > 0 => format!(
            "{} of {} used today",
            money(report.pacing.spent_today),
            money(allowance)
        ),
        Some(_) => format!("{} used today", money(report.pacing.spent_today)),
        None => format!(
            "{} used today (no daily cap)",
            money(report.pacing.spent_today)
        ),
    };
    let ecpm = t.ecpm.map_or_else(|| "–".to_owned(), &money);
    let ecpm_change = match (t.ecpm, p.ecpm) {
        (Some(a), Some(b)) => change_text(a.0, b.0),
        _ => String::new(),
    };
    let fold_note = (report.folded_channels > 0).then(|| {
        format!(
            "{} channel(s) with fewer than {} views in this period are counted in “Other channels”, so no report singles out a small audience. Totals include them.",
            report.folded_channels, report.min_channel_views
        )
    });
    let pages = report.rows_total.div_ceil(report.page_size).max(1);
    let page_base = report.query.clone();
    let page_action = action.clone();
    let href = move |page: u64| {
        let q = ReportQuery {
            page: (page > 0).then(|| page.to_string()),
            ..page_base.clone()
        };
        format!("{page_action}{}", q.to_query_string())
    };
    let y_money = format!("Spend ({})", report.currency);
    let two_labels = report.breakdown == Breakdown::DayChannel;
    let first_column = if two_labels {
        "Day"
    } else {
        report.breakdown.label()
    };
    let empty = report.rows.is_empty();
    let form =
        view! { <PeriodForm report=report.clone() action=action.clone() levels/> }.into_any();
    let stats = view! {
        <div class="stats report-stats">
            <Headline label="Spend" value=money(t.spend) change=change_text(t.spend.0, p.spend.0) test="report-spend"/>
            {(!money_only).then(|| view! {
                <Headline label="Views" value=count(t.views) change=change_text(t.views, p.views) test="report-views"/>
                <Headline label="Clicks" value=count(t.clicks) change=change_text(t.clicks, p.clicks) test="report-clicks"/>
                <Headline label="CTR" value=t.ctr_text() change=String::new() test="report-ctr"/>
                <Headline label="Effective CPM" value=ecpm change=ecpm_change test="report-ecpm"/>
            })}
            <Headline label="Budget left" value=money(report.budget_left) change=String::new() test="report-budget-left"/>
            <Headline label="Pacing" value=pacing change=String::new() test="report-pacing"/>
        </div>
        <p class="hint">
            "Spend is net of corrections: charges that finance reversed (e.g. for invalid traffic) come off on the day they were reversed. "
            "A campaign's page shows what was charged against its budget, which a correction does not give back."
        </p>
    }
    .into_any();
    let charts = view! {
        <div class="charts">
            <LineChart title="Spend per day".to_owned() y_label=y_money points=report.spend_per_day.clone()/>
            {(!money_only).then(|| view! {
                <LineChart title="Views per day".to_owned() y_label="Views".to_owned() points=report.views_per_day.clone()/>
            })}
            <BarChart title="Spend by topic".to_owned() column="Topic".to_owned() points=report.spend_by_topic.clone()/>
            <BarChart title="Spend by language".to_owned() column="Language".to_owned() points=report.spend_by_language.clone()/>
            <BarChart title="Top channels by spend".to_owned() column="Channel".to_owned() points=report.top_channels.clone()/>
        </div>
    }
    .into_any();
    let table = view! {
        <div class="page-head">
            <h2>{format!("By {}", report.breakdown.label().to_lowercase())}</h2>
            {export.map(|href| view! { <a class="button" href=href rel="external" data-test="export-csv">"Download CSV"</a> })}
        </div>
        {fold_note.map(|n| view! { <p class="hint" data-test="fold-note">{n}</p> })}
        {if empty {
            view! { <p class="muted" data-test="report-empty">"No delivery in this period yet."</p> }.into_any()
        } else {
            let currency = report.currency.clone();
            view! {
                <div class="table-wrap" tabindex="0">
                    <table class="data" aria-label="Report rows" data-test="report-table">
                        <thead>
                            <tr>
                                <th scope="col">{first_column}</th>
                                {two_labels.then(|| view! { <th scope="col">"Channel"</th> })}
                                {(!money_only).then(|| view! {
                                    <th scope="col" class="num">"Views"</th>
                                    <th scope="col" class="num">"Clicks"</th>
                                    <th scope="col" class="num">"CTR"</th>
                                })}
                                <th scope="col" class="num">"Spend"</th>
                                {(!money_only).then(|| view! { <th scope="col" class="num">"Effective CPM"</th> })}
                            </tr>
                        </thead>
                        <tbody>
                            {report.rows.into_iter().map(|r| {
                                let currency = currency.clone();
                                let f = r.figures;
                                let label = match r.link {
                                    Some(link) => view! { <a href=link>{r.label}</a> }.into_any(),
                                    None => view! { <span>{r.label}</span> }.into_any(),
                                };
                                view! {
                                    <tr data-test="report-row">
                                        <td>{label}</td>
                                        {r.detail.map(|d| view! { <td>{d}</td> })}
                                        {(!money_only).then(|| view! {
                                            <td class="num">{count(f.views)}</td>
                                            <td class="num">{count(f.clicks)}</td>
                                            <td class="num">{f.ctr_text()}</td>
                                        })}
                                        <td class="num">{f.spend.display(&currency)}</td>
                                        {(!money_only).then(|| view! {
                                            <td class="num">{f.ecpm.map_or_else(|| "–".to_owned(), |e| e.display(&currency))}</td>
                                        })}
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
                <Pager page=report.page pages total=report.rows_total href/>
            }.into_any()
        }}
    }
    .into_any();
    view! {
        <p class="muted" data-test="report-period">{period}</p>
        {form}
        {stats}
        {charts}
        {table}
    }
    .into_any()
}

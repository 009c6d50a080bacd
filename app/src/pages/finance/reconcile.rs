//! `/finance/reconciliation`: for a period, ledger = accepted events = reports' rollups, per
//! ad account and overall, to the micro-unit, with every difference listed and linked.

use crate::{
    api::finance_console::finance_reconcile,
    components::{Pager, count},
    error::AppError,
    model::{RECONCILE_PAGE_ROWS, ReconcileRow, TransferKind},
    pages::suspend_once,
};
use chrono::NaiveDate;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn FinanceReconcilePage() -> impl IntoView {
    let query = use_query_map();
    let args = Memo::new(move |_| {
        let q = query.read();
        (
            q.get("from").unwrap_or_default(),
            q.get("to").unwrap_or_default(),
            q.get("page").and_then(|p| p.parse().ok()),
        )
    });
    let data = Resource::new(
        move || args.get(),
        |(from, to, page)| finance_reconcile(from, to, page),
    );
    view! {
        <Title text="Reconciliation"/>
        <h1>"Reconciliation"</h1>
        <p class="lead">
            "For each ad account and period (its own time zone's days): what the ledger charged equals what accepted delivery events posted; "
            "those events' spend, views and clicks equal what reports show, both by channel and by day; reversals in the ledger equal the corrections recorded and what reports took off. "
            "Every cached ledger balance is also replayed from its transfers."
        </p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || suspend_once(async move {
                let (from, to, _) = args.get();
                match data.await {
                    Ok(r) => {
                        let problems = r.differences_total as usize + r.balance_differences.len();
                        let summary = if problems == 0 {
                            view! { <p class="banner success reconcile-ok" role="status" data-test="reconcile-summary">
                                {format!("0 differences: {} account(s) reconcile to the micro-unit from {} to {}.", r.accounts, r.from, r.to)}
                            </p> }.into_any()
                        } else {
                            view! { <p class="banner error" role="alert" data-test="reconcile-summary">
                                {format!("{problems} difference(s) found from {} to {}.", r.from, r.to)}
                            </p> }.into_any()
                        };
                        view! {
                            <Filter from=r.from.to_string() to=r.to.to_string()/>
                            {summary}
                            {(!r.differences.is_empty()).then(|| view! {
                                <h2>"Differences"</h2>
                                <ul data-test="reconcile-differences">
                                    {r.differences.iter().map(|d| {
                                        let account = d.account_id;
                                        view! {
                                            <li>
                                                <a href=format!("/finance/accounts/{account}")>{d.account_name.clone()}</a>
                                                <ul>
                                                    {d.differences_by_kind().into_iter().map(|(text, kind)| view! {
                                                        <li>
                                                            {text} " — "
                                                            <a href=history_link(account, kind, r.from, r.to)>
                                                                {if kind == TransferKind::Reversal { "its ledger's reversals" } else { "its ledger's charges" }}
                                                            </a>
                                                            {(kind == TransferKind::Reversal).then(|| view! {
                                                                ", " <a href="/finance/corrections">"corrections"</a>
                                                            })}
                                                        </li>
                                                    }).collect_view()}
                                                </ul>
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                                {(r.differences_total > r.differences.len() as u64).then(|| view! {
                                    <p class="muted" data-test="reconcile-differences-more">
                                        {format!("The first {} of {} accounts with differences are listed.", r.differences.len(), r.differences_total)}
                                    </p>
                                })}
                            })}
                            {(!r.balance_differences.is_empty()).then(|| view! {
                                <h2>"Ledger balances"</h2>
                                <ul>{r.balance_differences.iter().map(|p| view! { <li>{p.clone()}</li> }).collect_view()}</ul>
                            })}
                            <h2>"Totals"</h2>
                            <Figures rows=r.totals link=false/>
                            <h2>"Per account"</h2>
                            {if r.rows.is_empty() {
                                view! { <p class="muted">"No money moved in this period."</p> }.into_any()
                            } else {
                                let pages = r.accounts.div_ceil(RECONCILE_PAGE_ROWS).max(1);
                                let (from, to) = (r.from, r.to);
                                view! {
                                    <Figures rows=r.rows link=true/>
                                    <Pager page=r.page pages total=r.accounts
                                        href=move |p| format!("/finance/reconciliation?from={from}&to={to}&page={p}")/>
                                }.into_any()
                            }}
                        }
                        .into_any()
                    }
                    Err(AppError::Invalid(fields)) => view! {
                        <Filter from to/>
                        <p class="banner error" role="alert">{fields.0.values().cloned().collect::<Vec<_>>().join(" ")}</p>
                    }
                    .into_any(),
                    Err(e) => view! { <p class="banner error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The account's ledger history showing the transfers of `kind` behind a difference. The
/// history filters by UTC days and the period is in the account's own days, so it opens one
/// day wider on each side.
fn history_link(account: i64, kind: TransferKind, from: NaiveDate, to: NaiveDate) -> String {
    let day = chrono::Duration::days(1);
    format!(
        "/finance/accounts/{account}?kind={}&from={}&to={}",
        kind.code(),
        from - day,
        to + day
    )
}

/// `a = b` when the sources agree, `a ≠ b` (marked) when not.
fn pair(values: &[String]) -> (String, bool) {
    let same = values.windows(2).all(|w| w[0] == w[1]);
    (values.join(if same { " = " } else { " ≠ " }), same)
}

#[component]
fn Figures(rows: Vec<ReconcileRow>, link: bool) -> impl IntoView {
    view! {
        <div class="table-wrap" tabindex="0">
            <table class="data reconcile cards-on-phone" aria-label=if link { "Reconciliation per account" } else { "Reconciliation totals" }>
                <thead><tr>
                    <th>"Account"</th>
                    <th>"Agrees"</th>
                    <th class="num">"Charged: ledger = events"</th>
                    <th class="num">"Spend: events = reports by channel = by day"</th>
                    <th class="num">"Reversed: ledger = corrections = reports by channel = by day"</th>
                    <th class="num">"Views: events = reports by channel = by day"</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|r| {
                        let ok = r.differences().is_empty();
                        let m = |x: crate::model::Micros| x.display(&r.currency);
                        let [daily_spend, daily_reversed, daily_views, _] = r.daily_rollup;
                        let (daily_spend, daily_reversed) = (crate::model::Micros(daily_spend), crate::model::Micros(daily_reversed));
                        let labels = [
                            "Charged: ledger = events",
                            "Spend: events = reports by channel = by day",
                            "Reversed: ledger = corrections = reports by channel = by day",
                            "Views: events = reports by channel = by day",
                        ];
                        let cells = [
                            pair(&[m(r.ledger_charged), m(r.events_charged)]),
                            pair(&[m(r.events_spend), m(r.rollup_spend), m(daily_spend)]),
                            pair(&[m(r.ledger_reversed), m(r.corrections_reversed), m(r.rollup_reversed), m(daily_reversed)]),
                            pair(&[r.events_views, r.rollup_views, daily_views].map(count)),
                        ];
                        let name = if link {
                            view! { <a href=format!("/finance/accounts/{}", r.account_id)>{r.account_name.clone()}</a> }.into_any()
                        } else {
                            r.account_name.clone().into_any()
                        };
                        view! {
                            <tr data-test="reconcile-row">
                                <td>{name}</td>
                                // The verdict first: the figures behind it may need scrolling.
                                <td data-label="Agrees" class:negative=!ok>{if ok { "Yes" } else { "No" }}</td>
                                {cells.into_iter().zip(labels).map(|((text, same), label)| view! {
                                    <td class="num" data-label=label class:negative=!same>{text}</td>
                                }).collect_view()}
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn Filter(from: String, to: String) -> impl IntoView {
    view! {
        <form method="get" action="/finance/reconciliation" class="toolbar filters">
            <div class="field">
                <label for="reconcile-from">"From"</label>
                <input id="reconcile-from" name="from" type="date" value=from/>
            </div>
            <div class="field">
                <label for="reconcile-to">"To"</label>
                <input id="reconcile-to" name="to" type="date" value=to/>
            </div>
            <button type="submit">"Check"</button>
        </form>
    }
}

//! `/finance/spend`: what the ledger charged each ad account per UTC day or month, what
//! corrections gave back, the net, totals per currency, and the same as CSV.

use crate::{
    api::finance_console::finance_spend, error::AppError, model::SpendPeriod, pages::suspend_once,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn FinanceSpendPage() -> impl IntoView {
    let query = use_query_map();
    let args = Memo::new(move |_| {
        let q = query.read();
        (
            q.get("from").unwrap_or_default(),
            q.get("to").unwrap_or_default(),
            q.get("period").unwrap_or_default(),
        )
    });
    let data = Resource::new(
        move || args.get(),
        |(from, to, period)| finance_spend(from, to, period),
    );
    view! {
        <Title text="Spend"/>
        <h1>"Spend"</h1>
        <p class="lead">"What the ledger charged each ad account, per UTC day or month, less what corrections gave back."</p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || suspend_once(async move {
                let (from, to, period) = args.get();
                match data.await {
                    Ok(r) => {
                        let (from, to) = (r.from.to_string(), r.to.to_string());
                        let csv = format!("/finance/spend.csv?from={from}&to={to}&period={}", r.period.code());
                        let empty = r.rows.is_empty().then(|| view! { <p class="muted">"No spend in this period."</p> });
                        let truncated = r.truncated.then(|| view! {
                            <p class="banner warn" role="status">"Only the first 500 lines are shown: download the CSV for all of them."</p>
                        });
                        view! {
                            <Filter from=from.clone() to=to.clone() period=r.period.code().to_owned()/>
                            <p><a class="button" href=csv rel="external" data-test="spend-csv">"Download CSV"</a></p>
                            <dl class="finance-sums" data-test="spend-totals">
                                {r.totals.iter().map(|t| view! {
                                    <div><dt>{format!("Charged ({})", t.currency)}</dt><dd>{t.charged.display(&t.currency)}</dd></div>
                                    <div><dt>{format!("Reversed ({})", t.currency)}</dt><dd>{t.reversed.display(&t.currency)}</dd></div>
                                    <div><dt>{format!("Net spend ({})", t.currency)}</dt><dd>{t.net.display(&t.currency)}</dd></div>
                                }).collect_view()}
                            </dl>
                            {truncated}
                            {empty}
                            {(!r.rows.is_empty()).then(|| view! {
                                <div class="table-wrap" tabindex="0">
                                    <table class="data" aria-label="Spend by account and period">
                                        <thead><tr>
                                            <th>{if r.period == SpendPeriod::Month { "Month (UTC)" } else { "Day (UTC)" }}</th>
                                            <th>"Account"</th><th class="num">"Charged"</th><th class="num">"Reversed"</th><th class="num">"Net"</th>
                                        </tr></thead>
                                        <tbody>
                                            {r.rows.into_iter().map(|row| view! {
                                                <tr data-test="spend-row">
                                                    <td>{row.period}</td>
                                                    <td><a href=format!("/finance/accounts/{}", row.account_id)>{row.account_name}</a></td>
                                                    <td class="num">{row.charged.display(&row.currency)}</td>
                                                    <td class="num">{row.reversed.display(&row.currency)}</td>
                                                    <td class="num">{row.net.display(&row.currency)}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            })}
                        }
                        .into_any()
                    }
                    Err(AppError::Invalid(fields)) => view! {
                        <Filter from to period/>
                        <p class="banner error" role="alert">{fields.0.values().cloned().collect::<Vec<_>>().join(" ")}</p>
                    }
                    .into_any(),
                    Err(e) => view! { <p class="banner error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The GET form choosing the period (every view is a URL).
#[component]
fn Filter(from: String, to: String, period: String) -> impl IntoView {
    view! {
        <form method="get" action="/finance/spend" class="toolbar filters">
            <div class="field">
                <label for="spend-from">"From (UTC)"</label>
                <input id="spend-from" name="from" type="date" value=from/>
            </div>
            <div class="field">
                <label for="spend-to">"To (UTC)"</label>
                <input id="spend-to" name="to" type="date" value=to/>
            </div>
            <div class="field">
                <label for="spend-period">"Group by"</label>
                <select id="spend-period" name="period">
                    <option value="day" selected=period != "month">"Day"</option>
                    <option value="month" selected=period == "month">"Month"</option>
                </select>
            </div>
            <button type="submit">"Show"</button>
        </form>
    }
}

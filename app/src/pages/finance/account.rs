//! `/finance/accounts/:id`: one ad account's money for finance — available, held, spent,
//! credited — and its full ledger history, paged and filtered by kind and days.

use crate::{
    api::finance::finance_account_history,
    error::AppError,
    model::{AccountId, TransferKind},
    pages::{
        balance::{BalanceStats, HistoryTable},
        suspend_once,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn FinanceAccountPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let args = Memo::new(move |_| {
        let q = query.read();
        (
            params
                .read()
                .get("id")
                .and_then(|id| id.parse::<i64>().ok())
                .unwrap_or(0),
            q.get("kind").unwrap_or_default(),
            q.get("from").unwrap_or_default(),
            q.get("to").unwrap_or_default(),
            q.get("page")
                .and_then(|p| p.parse::<u64>().ok())
                .unwrap_or(0),
        )
    });
    let data = Resource::new(
        move || args.get(),
        |(id, kind, from, to, page)| finance_account_history(AccountId(id), kind, from, to, page),
    );
    let link = move |page: u64| {
        let (id, kind, from, to, _) = args.get();
        format!("/finance/accounts/{id}?kind={kind}&from={from}&to={to}&page={page}")
    };
    view! {
        <Title text="Account ledger"/>
        <p><a href="/finance">"← Credit balances"</a></p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || suspend_once(async move {
                let (id, kind, from, to, _) = args.get();
                match data.await {
                    Ok(b) => {
                        let history = if b.entries.is_empty() {
                            view! { <p class="muted">"Nothing matches."</p> }.into_any()
                        } else {
                            view! { <HistoryTable entries=b.entries currency=b.balance.currency.clone() with_held=true/> }.into_any()
                        };
                        view! {
                            <h1>{format!("Ledger of {}", b.account_name)}</h1>
                            <p class="lead">"Payment reference "<span class="payment-reference" data-test="payment-reference">{b.funding.reference.clone()}</span></p>
                            <p><a href=format!("/finance/accounts/{id}/statement") data-test="statement-link">"Statement"</a></p>
                            <BalanceStats balance=b.balance.clone()/>
                            <Filter id kind from to/>
                            {history}
                            <nav class="pager" aria-label="History pages">
                                {(b.page > 0).then(|| view! { <a href=link(b.page - 1) rel="prev">"← Newer"</a> })}
                                <span class="pager-status">{format!("Page {}", b.page + 1)}</span>
                                {b.has_more.then(|| view! { <a href=link(b.page + 1) rel="next">"Older →"</a> })}
                            </nav>
                        }
                        .into_any()
                    }
                    Err(AppError::Invalid(fields)) => view! {
                        <h1>"Account ledger"</h1>
                        <Filter id kind from to/>
                        <p class="banner error" role="alert">
                            {fields.0.values().cloned().collect::<Vec<_>>().join(" ")}
                        </p>
                    }
                    .into_any(),
                    Err(e) => view! { <p class="banner error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The GET form that narrows the history (every filter is a URL).
#[component]
fn Filter(id: i64, kind: String, from: String, to: String) -> impl IntoView {
    view! {
        <form method="get" action=format!("/finance/accounts/{id}") class="toolbar filters" role="search">
            <div class="field">
                <label for="history-kind">"Kind"</label>
                <select id="history-kind" name="kind">
                    <option value="" selected=kind.is_empty()>"All"</option>
                    {TransferKind::ALL.into_iter().map(|k| view! {
                        <option value=k.code() selected=kind == k.code()>{k.label()}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="history-from">"From (UTC)"</label>
                <input id="history-from" name="from" type="date" value=from/>
            </div>
            <div class="field">
                <label for="history-to">"To (UTC)"</label>
                <input id="history-to" name="to" type="date" value=to/>
            </div>
            <button type="submit">"Show"</button>
        </form>
    }
}

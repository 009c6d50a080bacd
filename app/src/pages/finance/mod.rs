//! Finance console pages: ad accounts with their balances, and crediting one (a bank transfer
//! arrived). The full console (spend, reconciliation, refunds, statements) comes later.

use crate::{
    api::finance::{CreditBalance, list_finance_accounts},
    components::{FormError, Pager, field_error, form_error},
    model::{AccountId, FinanceAccountRow},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// `/finance`: every ad account (searchable by name) with available, held, spent and credited
/// money, and a credit form per account.
#[component]
pub fn FinancePage() -> impl IntoView {
    let query = use_query_map();
    let params = Memo::new(move |_| {
        let q = query.read();
        (
            q.get("q").unwrap_or_default(),
            q.get("page")
                .and_then(|p| p.parse::<u64>().ok())
                .unwrap_or(0),
        )
    });
    let accounts = Resource::new(
        move || params.get(),
        |(q, page)| list_finance_accounts(q, page),
    );
    let credit = ServerAction::<CreditBalance>::new();
    // A credit changes the balances listed: read them again.
    Effect::new(move |_| {
        if matches!(credit.value().get(), Some(Ok(_))) {
            accounts.refetch();
        }
    });
    view! {
        <Title text="Credit balances"/>
        <h1>"Credit balances"</h1>
        <p class="lead">
            "When an advertiser's bank transfer arrives, credit their prepaid balance with the transfer's reference. "
            "The same reference for the same account is credited once, however often it is entered."
        </p>
        <form method="get" action="/finance" class="search-row" role="search">
            <label for="finance-q" class="visually-hidden">"Account name"</label>
            <input id="finance-q" name="q" type="search" placeholder="Search accounts by name"
                value=move || params.get().0/>
            <button type="submit">"Search"</button>
        </form>
        <CreditResultBanner credit/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match accounts.await {
                    Ok(list) => {
                        let pages = list.total.div_ceil(25).max(1);
                        let q = list.query.clone();
                        let empty = list.rows.is_empty().then(|| view! { <p class="muted">"No account matches."</p> });
                        view! {
                            {empty}
                            <div class="finance-accounts">
                                {list.rows.into_iter().map(|row| view! { <AccountCard row credit/> }).collect_view()}
                            </div>
                            <Pager page=list.page pages total=list.total
                                href=move |p| format!("/finance?q={}&page={p}", urlencode(&q))/>
                        }
                        .into_any()
                    }
                    Err(e) => view! { <p class="banner error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
fn CreditResultBanner(credit: ServerAction<CreditBalance>) -> impl IntoView {
    move || {
        match credit.value().get() {
        Some(Ok(r)) if r.already_credited => Some(view! {
            <div class="banner warn" role="status" data-test="credit-result">
                {format!(
                    "This reference was already credited to {}: nothing was added. Available: {}.",
                    r.account_name,
                    r.available.display(&r.currency)
                )}
            </div>
        }.into_any()),
        Some(Ok(r)) => Some(view! {
            <div class="banner success" role="status" data-test="credit-result">
                {format!(
                    "Credited {} to {}. Available now: {}.",
                    r.amount.display(&r.currency),
                    r.account_name,
                    r.available.display(&r.currency)
                )}
            </div>
        }.into_any()),
        _ => None,
    }
    }
}

#[component]
fn AccountCard(row: FinanceAccountRow, credit: ServerAction<CreditBalance>) -> impl IntoView {
    let AccountId(id) = row.id;
    let currency = row.currency.clone();
    let money = move |m: crate::model::Micros| m.display(&currency);
    let result: Signal<_> = credit.value().into();
    // Errors belong beside the form that sent them.
    let mine = Signal::derive(move || {
        let sent_here = credit.input().get().map(|i| i.input.account == row.id);
        match (sent_here, result.get()) {
            (Some(false), _) => None,
            (_, r @ Some(Err(_))) => r,
            _ => None,
        }
    });
    let heading = format!("account-{id}");
    let labelled_by = heading.clone();
    let field = move |name: &'static str| field_error(mine, name);
    view! {
        <article class="card finance-account" aria-labelledby=labelled_by data-test="finance-account">
            <h2 id=heading>{row.name.clone()}</h2>
            <dl class="facts">
                <dt>"Available"</dt><dd data-test="available">{money(row.available)}</dd>
                <dt>"Held"</dt><dd>{money(row.held)}</dd>
                <dt>"Spent"</dt><dd>{money(row.spent)}</dd>
                <dt>"Credited"</dt><dd>{money(row.credited)}</dd>
            </dl>
            <details>
                <summary>{format!("Credit {}", row.name)}</summary>
                <ActionForm action=credit attr:class="stack narrow" attr:novalidate=true>
                    <FormError error=form_error(mine)/>
                    <input type="hidden" name="input[account]" value=id.to_string()/>
                    <CreditField id=format!("credit-amount-{id}") name="input[amount]"
                        label=format!("Amount ({})", row.currency)
                        hint="As received, e.g. 250.00." error=field("amount")/>
                    <CreditField id=format!("credit-reference-{id}") name="input[reference]"
                        label="Bank transfer reference".to_owned()
                        hint="Exactly as on the bank statement; each reference is credited once." error=field("reference")/>
                    <CreditField id=format!("credit-note-{id}") name="input[note]"
                        label="Note (optional)".to_owned() hint="" error=field("note")/>
                    <button type="submit" class="primary" disabled=move || credit.pending().get()>
                        "Credit balance"
                    </button>
                </ActionForm>
            </details>
        </article>
    }
}

/// A labelled input of a credit form; ids carry the account's id, so several forms can share a
/// page.
#[component]
fn CreditField(
    id: String,
    name: &'static str,
    label: String,
    hint: &'static str,
    error: Signal<Option<String>>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = if hint.is_empty() {
        error_id.clone()
    } else {
        format!("{hint_id} {error_id}")
    };
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <input id=id name=name type="text"
                aria-invalid=move || error.get().is_some().then_some("true")
                aria-describedby=described/>
            {(!hint.is_empty()).then(|| view! { <p class="hint" id=hint_id>{hint}</p> })}
            <p class="field-error" id=error_id role="alert">{move || error.get()}</p>
        </div>
    }
}

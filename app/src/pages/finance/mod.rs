//! Finance console pages: ad accounts with their balances, crediting one (a bank transfer
//! arrived) or refunding part of its balance, and the two-person rule for large amounts
//! ([`requests`]); spend, publisher payables, corrections and reconciliation have a page each.

mod account;
mod corrections;
mod payables;
mod reconcile;
mod requests;
mod spend;

pub use account::FinanceAccountPage;
pub use corrections::FinanceCorrectionsPage;
pub use payables::FinancePayablesPage;
pub use reconcile::FinanceReconcilePage;
pub use spend::FinanceSpendPage;

use crate::{
    api::finance::{
        CancelFinanceRequest, CreditBalance, DecideFinanceRequest, RefundBalance,
        list_finance_accounts, list_finance_requests,
    },
    components::{Disclosure, FormError, Pager, field_error, form_error},
    model::{AccountId, FinanceAccountRow},
    pages::{RowAction, suspend_once},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use requests::{RefundResultBanner, RequestsPanel};

/// `/finance`: every ad account (searchable by name or payment reference) with available, held,
/// spent and credited money, and a credit form per account.
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
            q.get("sort").unwrap_or_default(),
        )
    });
    let accounts = Resource::new(
        move || params.get(),
        |(q, page, sort)| list_finance_accounts(q, sort, page),
    );
    let credit = ServerAction::<CreditBalance>::new();
    let refund = ServerAction::<RefundBalance>::new();
    // Which account's card sent the last credit and the last refund, so that an error shows
    // beside that card's form only.
    let credits = RowAction::new(credit, |sent: &CreditBalance| sent.input.account);
    let refunds = RowAction::new(refund, |sent: &RefundBalance| sent.input.account);
    let decide = ServerAction::<DecideFinanceRequest>::new();
    // Which waiting request's form sent the last decision, so its error shows beside it.
    let decisions = RowAction::new(decide, |sent: &DecideFinanceRequest| sent.input.request);
    let cancel = ServerAction::<CancelFinanceRequest>::new();
    let requests = Resource::new(
        move || {
            (
                credit.version().get(),
                refund.version().get(),
                decide.version().get(),
                cancel.version().get(),
            )
        },
        |_| list_finance_requests(),
    );
    // A credit, refund, decision or cancel (a cancelled refund gives its part of a top-up
    // back) changes the balances and top-ups listed: read them again. One effect per action,
    // each following its own answer only: a refused refund after an earlier approval must not
    // reload the list, which would close the form being corrected.
    Effect::new(move |_| {
        if matches!(credit.value().get(), Some(Ok(_))) {
            accounts.refetch();
        }
    });
    Effect::new(move |_| {
        if matches!(refund.value().get(), Some(Ok(_))) {
            accounts.refetch();
        }
    });
    Effect::new(move |_| {
        if matches!(decide.value().get(), Some(Ok(_))) {
            accounts.refetch();
        }
    });
    Effect::new(move |_| {
        if matches!(cancel.value().get(), Some(Ok(_))) {
            accounts.refetch();
        }
    });
    view! {
        <Title text="Credit balances"/>
        <h1>"Credit balances"</h1>
        <p class="lead">
            "When an advertiser's bank transfer arrives, find their account by the payment reference on it (RF…) or by name, and credit their prepaid balance with the transfer's own reference. "
            "The same reference for the same account is credited once, however often it is entered. "
            "Refunds return part of a top-up to whoever paid it in, within what is available (never money held for running slots)."
        </p>
        <Transition fallback=|| ()>
            {move || suspend_once(async move {
                requests.await.ok().map(|r| view! { <RequestsPanel requests=r decisions cancel/> })
            })}
        </Transition>
        <form method="get" action="/finance" class="search-row" role="search">
            <label for="finance-q" class="visually-hidden">"Account name or payment reference"</label>
            <input id="finance-q" name="q" type="search" placeholder="Account name or payment reference"
                value=move || params.get().0/>
            <label for="finance-sort">"Sort by"</label>
            <select id="finance-sort" name="sort">
                {[("name", "Name"), ("available", "Available (largest first)"), ("held", "Held (largest first)"), ("last_credit", "Last credit (newest first)")]
                    .into_iter()
                    .map(|(code, label)| view! {
                        <option value=code selected=move || params.get().2 == code>{label}</option>
                    })
                    .collect_view()}
            </select>
            <button type="submit">"Search"</button>
        </form>
        <CreditResultBanner credit/>
        <RefundResultBanner refund/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || suspend_once(async move {
                match accounts.await {
                    Ok(list) => {
                        let pages = list.total.div_ceil(25).max(1);
                        let q = list.query.clone();
                        let sort = list.sort.clone();
                        let empty = list.rows.is_empty().then(|| view! { <p class="muted">"No account matches."</p> });
                        view! {
                            {empty}
                            <div class="finance-accounts">
                                {list.rows.into_iter().map(|row| view! { <AccountCard row credits refunds/> }).collect_view()}
                            </div>
                            <Pager page=list.page pages total=list.total
                                href=move |p| format!("/finance?q={}&sort={sort}&page={p}", urlencode(&q))/>
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
        Some(Ok(r)) if r.pending_request.is_some() => Some(view! {
            <div class="banner warn" role="status" data-test="credit-result">
                {format!(
                    "Credit of {} to {} is waiting for a second finance person's approval (request #{}). Nothing is credited until then.",
                    r.amount.display(&r.currency),
                    r.account_name,
                    r.pending_request.unwrap_or_default()
                )}
            </div>
        }.into_any()),
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
fn AccountCard(
    row: FinanceAccountRow,
    /// The credit and refund actions, and which card sent each one's last request.
    credits: RowAction<CreditBalance, AccountId>,
    refunds: RowAction<RefundBalance, AccountId>,
) -> impl IntoView {
    let (credit, refund) = (credits.action, refunds.action);
    let AccountId(id) = row.id;
    let currency = row.currency.clone();
    let money = move |m: crate::model::Micros| m.display(&currency);
    // Errors belong beside the form that sent them.
    let credited = credits.answer_for(row.id);
    let mine = Signal::derive(move || credited.get().filter(Result::is_err));
    let refunded = refunds.answer_for(row.id);
    let refund_here = Signal::derive(move || refunded.get().filter(Result::is_err));
    let refund_field = move |name: &'static str| field_error(refund_here, name);
    let amount_label = format!("Credit amount ({})", row.currency);
    let refund_label = format!("Refund amount ({})", row.currency);
    // The refund form is built each time its disclosure opens (see `Disclosure`).
    let refundable = row.refundable.clone();
    let heading = format!("account-{id}");
    let labelled_by = heading.clone();
    let field = move |name: &'static str| field_error(mine, name);
    // Admins read finance's pages; only finance staff move money — and not their own
    // account's (the service refuses it; here the forms are not even offered).
    let viewer = use_context::<crate::model::Viewer>();
    let finance = viewer
        .as_ref()
        .is_some_and(|v| v.has_staff_role(crate::model::PlatformRole::Finance));
    let own = viewer.is_some_and(|v| v.is_member_of(row.id));
    let can_move = finance && !own;
    view! {
        <article class="card finance-account" aria-labelledby=labelled_by data-test="finance-account">
            <h2 id=heading>{row.name.clone()}</h2>
            <dl class="facts">
                <dt>"Payment reference"</dt><dd class="payment-reference">{row.payment_reference.clone()}</dd>
                <dt>"Available"</dt><dd data-test="available">{money(row.available)}</dd>
                <dt>"Held"</dt><dd>{money(row.held)}</dd>
                <dt>"Spent this month (net of corrections)"</dt><dd data-test="spent-this-month">{money(row.spent_this_month)}</dd>
                <dt>"Charged in all"</dt><dd>{money(row.spent)}</dd>
                <dt>"Credited"</dt><dd>{money(row.credited)}</dd>
                <dt>"Last credit"</dt>
                <dd>{row.last_top_up.map_or_else(|| "—".to_owned(), |t| t.format("%Y-%m-%d").to_string())}</dd>
                <dt>"Lasts"</dt>
                <dd>{match row.days_left {
                    Some(1) => "1 day at last week's spend".to_owned(),
                    Some(d) => format!("{d} days at last week's spend"),
                    None => "No recent spend".to_owned(),
                }}</dd>
            </dl>
            <a href=format!("/finance/accounts/{id}")>{format!("Ledger history of {}", row.name)}</a>
            <a href=format!("/finance/accounts/{id}/statement")
                aria-label=format!("Monthly statement of {}", row.name)>"Monthly statement"</a>
            {(finance && own).then(|| view! {
                <p class="hint" data-test="own-account">
                    "You are a member of this account: another finance person credits and refunds it."
                </p>
            })}
            {can_move.then(|| view! {
            <Disclosure id=format!("credit-form-{id}") summary={let text = format!("Credit {}", row.name); move || text}>
                {let amount_label = amount_label.clone(); view! {
                <ActionForm action=credit attr:class="stack narrow" attr:novalidate=true>
                    <FormError error=form_error(mine)/>
                    <input type="hidden" name="input[account]" value=id.to_string()/>
                    <CreditField id=format!("credit-amount-{id}") name="input[amount]"
                        label=amount_label
                        hint="As received, e.g. 250.00." error=field("amount")/>
                    <CreditField id=format!("credit-reference-{id}") name="input[reference]"
                        label="Bank transfer reference".to_owned()
                        hint="The bank's own id for this transfer, as on the statement (not the RF… payment reference, which every transfer of the account carries); each id is credited once, however it is written (TX-123 and tx 123 are one)." error=field("reference")/>
                    <CreditField id=format!("credit-note-{id}") name="input[note]"
                        label="Note (optional)".to_owned() hint="" error=field("note")/>
                    <button type="submit" class="primary" disabled=move || credit.pending().get()>
                        "Credit balance"
                    </button>
                </ActionForm>
                }}
            </Disclosure>
            <Disclosure id=format!("refund-form-{id}") summary={let text = format!("Refund {}", row.name); move || text}>
                {if refundable.is_empty() {
                    view! {
                        <p class="hint" data-test="nothing-to-refund">
                            "Nothing to refund: a refund returns part of a top-up, and none of this account's has money left."
                        </p>
                    }.into_any()
                } else {
                    let top_up_id = format!("refund-top-up-{id}");
                    let top_up_error = format!("{top_up_id}-error");
                    let top_up_hint = format!("{top_up_id}-hint");
                    let top_up_described = format!("{top_up_hint} {top_up_error}");
                    let top_up_invalid = refund_field("top_up");
                    let refund_label = refund_label.clone();
                    let options = refundable.iter().map(|t| {
                        let text = format!(
                            "{} · {} left of {} · {}",
                            t.reference,
                            money(t.left),
                            money(t.amount),
                            t.credited_at.format("%Y-%m-%d")
                        );
                        view! { <option value=t.id.to_string()>{text}</option> }
                    }).collect_view();
                    view! {
                <ActionForm action=refund attr:class="stack narrow" attr:novalidate=true>
                    <FormError error=form_error(refund_here)/>
                    <input type="hidden" name="input[account]" value=id.to_string()/>
                    <div class="field" class:invalid=move || top_up_invalid.get().is_some()>
                        <label for=top_up_id.clone()>"Top-up it returns"</label>
                        <select id=top_up_id name="input[top_up]"
                            aria-invalid=move || top_up_invalid.get().is_some().then_some("true")
                            aria-describedby=top_up_described>
                            <option value="" selected disabled>"Choose a top-up"</option>
                            {options}
                        </select>
                        <p class="hint" id=top_up_hint>
                            "Money goes back against the transfer that brought it in, to whoever sent it: the latest top-ups with money left are listed."
                        </p>
                        <p class="field-error" id=top_up_error role="alert">{move || top_up_invalid.get()}</p>
                    </div>
                    <CreditField id=format!("refund-amount-{id}") name="input[amount]"
                        label=refund_label
                        hint="At most what is left of that top-up and what is available." error=refund_field("amount")/>
                    <CreditField id=format!("refund-reference-{id}") name="input[reference]"
                        label="Outgoing transfer reference".to_owned()
                        hint="Each reference is refunded once, however it is written (capitals, spaces and punctuation do not count)." error=refund_field("reference")/>
                    <CreditField id=format!("refund-reason-{id}") name="input[reason]"
                        label="Reason for the refund".to_owned() hint="" error=refund_field("reason")/>
                    <button type="submit" disabled=move || refund.pending().get()>
                        "Refund balance"
                    </button>
                </ActionForm>
                    }.into_any()
                }}
            </Disclosure>
            })}
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

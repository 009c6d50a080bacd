//! `/balance`: the current ad account's money — available, held for won slots, spent and
//! credited — how to add funds (its payment reference and where to send it), its history, and
//! (for owners) the "balance low" warning threshold.

use crate::{
    api::finance::{SetLowBalance, balance},
    components::{CopyButton, Field, FormError, field_error, form_error},
    model::{BalancePage, FundingInstructions, Micros},
    pages::{scroll_here_when_linked, suspend_once, utc},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn BalancePage() -> impl IntoView {
    let query = use_query_map();
    let page = Memo::new(move |_| {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or(0)
    });
    let data = Resource::new(move || page.get(), balance);
    view! {
        <Title text="Balance & billing"/>
        <h1>"Balance & billing"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || suspend_once(async move {
                match data.await {
                    Ok(b) => view! { <BalanceView b/> }.into_any(),
                    Err(e) => view! { <p class="banner error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn BalanceView(b: BalancePage) -> impl IntoView {
    let out = b.balance.out_of_funds.then(|| {
        view! {
            <p class="banner error" role="alert">
                "Out of funds: campaigns cannot take new slots until the balance is topped up. "
                "They resume on their own after a credit."
            </p>
        }
    });
    let history = if b.entries.is_empty() {
        view! { <p class="muted">"No money has moved yet. Finance credits the balance when your bank transfer arrives (see “Add funds”)."</p> }.into_any()
    } else {
        view! {
            <HistoryTable entries=b.entries currency=b.balance.currency.clone()/>
            <nav class="pager" aria-label="History pages">
                {(b.page > 0).then(|| view! { <a href=format!("/balance?page={}", b.page - 1) rel="prev">"← Newer"</a> })}
                <span class="pager-status">{format!("Page {}", b.page + 1)}</span>
                {b.has_more.then(|| view! { <a href=format!("/balance?page={}", b.page + 1) rel="next">"Older →"</a> })}
            </nav>
        }
        .into_any()
    };
    view! {
        <p class="lead">{format!("{} · amounts in {}", b.account_name, b.balance.currency)}</p>
        <p><a href="/billing/statement" data-test="statements-link">"Monthly statements"</a></p>
        {out}
        <BalanceStats balance=b.balance.clone()/>
        <p class="hint">
            "When a campaign wins a slot, the slot's expected cost (the channel's average views at the price) is held from the available balance. "
            "Views are charged from the hold as they are reported; what a slot did not use returns to the balance when its hold expires."
        </p>
        <AddFunds funding=b.funding.clone() currency=b.balance.currency.clone() account_name=b.account_name.clone()/>
        {b.can_set_threshold.then(|| view! { <Threshold current=b.balance.low_balance/> })}
        <h2>"History"</h2>
        {history}
    }
}

/// How to add money: the account's payment reference and the bank details to send it to.
#[component]
fn AddFunds(funding: FundingInstructions, currency: String, account_name: String) -> impl IntoView {
    // "Add funds" links (the dashboard, balance notifications) point here.
    scroll_here_when_linked("add-funds");
    let to = match funding.bank_details {
        Some(details) => view! {
            <h3>"Pay to"</h3>
            <p class="bank-details" data-test="bank-details">{details}</p>
        }
        .into_any(),
        None => view! {
            <p class="banner warning" data-test="bank-details-missing">
                "Herald's bank details are not published yet: ask the platform's team where to send the transfer, and quote the reference above."
            </p>
        }
        .into_any(),
    };
    view! {
        <section class="card" id="add-funds" aria-labelledby="add-funds-title">
            <h2 id="add-funds-title">"Add funds"</h2>
            <p>{format!(
                "Campaigns spend from this prepaid balance. To add to it, send a bank transfer in {currency} with this payment reference, so that finance credits it to {account_name}:"
            )}</p>
            <p class="copyable">
                <span class="payment-reference big" data-test="payment-reference">{funding.reference.clone()}</span>
                // Copied as banks' forms take it: without the spaces grouping it for reading.
                <CopyButton text=funding.reference.replace(' ', "") what="payment reference"/>
            </p>
            {to}
            <p class="hint">
                "Finance credits the balance once the transfer arrives (a bank transfer can take a few business days); the credit then shows in the history below. "
                "A transfer without the reference takes longer to match."
            </p>
        </section>
    }
}

#[component]
fn Threshold(current: Option<Micros>) -> impl IntoView {
    let save = ServerAction::<SetLowBalance>::new();
    let result: Signal<_> = save.value().into();
    let saved = move || matches!(save.value().get(), Some(Ok(())));
    let account = use_context::<crate::model::Viewer>()
        .and_then(|v| v.current_account)
        .map(|a| a.0.to_string())
        .unwrap_or_default();
    view! {
        <section class="card">
            <h2>"Low-balance warning"</h2>
            <ActionForm action=save attr:class="stack narrow" attr:novalidate=true>
                <FormError error=form_error(result)/>
                <Show when=saved>
                    <div class="banner success" role="status">"Threshold saved."</div>
                </Show>
                <input type="hidden" name="account" value=account/>
                <Field
                    id="low-balance"
                    name="amount"
                    label="Warn me when the available balance falls below"
                    value=current.map(|m| m.to_decimal()).unwrap_or_default()
                    hint="Owners, managers and billing members get a notification. Leave empty for no warning."
                    error=field_error(result, "low_balance")
                />
                <button type="submit" class="primary" disabled=move || save.pending().get()>
                    "Save threshold"
                </button>
            </ActionForm>
        </section>
    }
}

/// An account's money figures: available, held, spent and credited, and what was refunded or
/// given back by corrections when there was any, so that the figures add up to what is
/// available.
#[component]
pub fn BalanceStats(balance: crate::model::Balance) -> impl IntoView {
    let b = balance;
    let money = move |m: Micros| m.display(&b.currency);
    let stat = |label: &'static str, value: String, test: &'static str| {
        view! {
            <div class="stat"><span class="stat-label">{label}</span><strong class="stat-value" data-test=test>{value}</strong></div>
        }
    };
    let sum = format!(
        "Available = credited{} − spent{} − held.",
        if b.refunded.0 != 0 {
            " − refunded"
        } else {
            ""
        },
        if b.given_back.0 != 0 {
            " + given back by corrections"
        } else {
            ""
        }
    );
    view! {
        <div class="stats money-stats" data-test="balance">
            {stat("Available", money(b.available), "available")}
            {stat("Held for won slots", money(b.held), "held")}
            {stat("Spent", money(b.spent), "spent")}
            {stat("Credited", money(b.credited), "credited")}
            {(b.refunded.0 != 0).then(|| stat("Refunded", money(b.refunded), "refunded"))}
            {(b.given_back.0 != 0).then(|| stat("Given back by corrections", money(b.given_back), "given-back"))}
        </div>
        <p class="hint">{sum}</p>
    }
}

/// A balance's history lines: when, what, about what, and the signed amount; with `with_held`
/// (finance's whole ledger of the account) the change to what the campaigns hold beside the
/// change to the available balance.
#[component]
pub fn HistoryTable(
    entries: Vec<crate::model::BalanceEntry>,
    currency: String,
    #[prop(optional)] with_held: bool,
) -> impl IntoView {
    // Admins read finance's ledger; only finance staff reverse charges.
    let can_reverse = use_context::<crate::model::Viewer>()
        .is_some_and(|v| v.has_staff_role(crate::model::PlatformRole::Finance));
    let signed = move |m: crate::model::Micros| {
        let sign = if m.0 > 0 { "+" } else { "" };
        format!("{sign}{}", m.display(&currency))
    };
    view! {
        <div class="table-wrap" tabindex="0">
            <table class="data rows-on-phone" aria-label="Balance history">
                <thead><tr>
                    <th scope="col">"When"</th><th scope="col">"What"</th><th scope="col">"About"</th>
                    {if with_held {
                        view! { <th scope="col" class="num">"Available"</th><th scope="col" class="num">"Held"</th> }.into_any()
                    } else {
                        view! { <th scope="col" class="num">"Amount"</th> }.into_any()
                    }}
                </tr></thead>
                <tbody>
                    {entries.into_iter().map(|e| view! {
                        <tr>
                            <td class="when">{utc(e.at)}</td>
                            <td class="what">{e.kind.label()}</td>
                            <td class="about">
                                {e.about}
                                {e.decision.map(|d| view! {
                                    <span class="muted">{format!(" · decision {d}")}</span>
                                    {(can_reverse && e.kind == crate::model::TransferKind::Post).then(|| view! {
                                        " " <a href=format!("/finance/corrections?decision={d}")
                                            aria-label=format!("Reverse the charges of decision {d}")>"Reverse…"</a>
                                    })}
                                })}
                            </td>
                            <td class="num amount" class:negative=e.amount.0 < 0
                                data-label=with_held.then_some("Available")>{signed(e.amount)}</td>
                            {with_held.then(|| view! {
                                <td class="num held" class:negative=e.held.0 < 0 data-label="Held">{signed(e.held)}</td>
                            })}
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

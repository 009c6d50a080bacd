//! `/finance/payables`: each channel's publisher share for a UTC month (less corrections), what
//! is owed in all, the payout CSV, and marking an ended month paid per channel.

use super::requests::{WaitingItem, WaitingWords};
use crate::{
    api::finance_console::{CancelPayout, DecidePayout, MarkPayoutPaid, finance_payables},
    components::{FormError, form_error},
    error::AppError,
    model::{FinanceRequestStatus, PayableRow, PayoutRequestRow, PayoutRequests},
    pages::{RowAction, scroll_here_when_linked, suspend_once},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn FinancePayablesPage() -> impl IntoView {
    let query = use_query_map();
    let month = Memo::new(move |_| query.read().get("month").unwrap_or_default());
    let pay = ServerAction::<MarkPayoutPaid>::new();
    let decide = ServerAction::<DecidePayout>::new();
    // Which waiting payout's form sent the last decision, so its error shows beside it.
    let decisions = RowAction::new(decide, |sent: &DecidePayout| sent.input.request);
    let cancel = ServerAction::<CancelPayout>::new();
    let data = Resource::new(
        move || {
            (
                month.get(),
                pay.version().get(),
                decide.version().get(),
                cancel.version().get(),
            )
        },
        |(m, ..)| finance_payables(m),
    );
    // A payout refused names its reason whichever field it is about (the reference, or the
    // month while its slots are still open): the row's form has no other place to show it.
    let refused = Signal::derive(move || {
        pay.value().with(|r| match r {
            Some(Err(AppError::Invalid(fields))) => {
                Some(fields.0.values().cloned().collect::<Vec<_>>().join(" "))
            }
            Some(Err(other)) => Some(other.to_string()),
            _ => None,
        })
    });
    view! {
        <Title text="Publisher payables"/>
        <h1>"Publisher payables"</h1>
        <p class="lead">
            "Each channel's share of the charges for the slots it carried in a month (UTC), less what corrections gave back — a slot's later charges and reversals stay in its month. "
            "Download the CSV for the payout run, then mark each channel's month paid once its money has left: "
            "that moves it out of the payable in the ledger. The page opens on the latest month that can be paid."
        </p>
        <FormError error=refused/>
        {move || pay.value().get().and_then(Result::ok).map(|p| {
            let amount = p.amount.display(&p.currency);
            match p.waiting {
                Some(request) => view! {
                    <p class="banner warn" role="status" data-test="payout-result">
                        {format!(
                            "Payout of {amount} to @{} for {} is waiting for a second finance person's approval (payout request #{request}).",
                            p.channel, p.month
                        )}
                    </p>
                }.into_any(),
                None => view! {
                    <p class="banner success" role="status" data-test="payout-result">
                        {format!("Marked paid: {amount} to @{} for {}.", p.channel, p.month)}
                    </p>
                }.into_any(),
            }
        })}
        <DecisionResult decide cancel/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || suspend_once(async move {
                match data.await {
                    Ok(p) => {
                        let csv = format!("/finance/payables.csv?month={}", p.month);
                        let ended = p.ended;
                        let can_pay = p.can_pay && ended;
                        let month = p.month.clone();
                        let requests = p.requests.clone();
                        view! {
                            <form method="get" action="/finance/payables" class="toolbar filters">
                                <div class="field">
                                    <label for="payables-month">"Month (UTC)"</label>
                                    <input id="payables-month" name="month" type="month" value=p.month.clone()/>
                                </div>
                                <button type="submit">"Show"</button>
                            </form>
                            <p><a class="button" href=csv rel="external" data-test="payables-csv">"Download payout CSV"</a></p>
                            <dl class="finance-sums" data-test="payables-totals">
                                {p.unpaid.iter().map(|(c, m)| view! {
                                    <div><dt>{format!("Owed for {} and unpaid ({c})", p.month)}</dt><dd>{m.display(c)}</dd></div>
                                }).collect_view()}
                                {p.owed_now.iter().map(|(c, m)| view! {
                                    <div><dt>{format!("Owed to publishers now, all months ({c})")}</dt><dd>{m.display(c)}</dd></div>
                                }).collect_view()}
                            </dl>
                            {(!ended).then(|| view! { <p class="muted">"This month's payouts can be marked paid from 00:05 UTC on the 1st of next month."</p> })}
                            {p.truncated.then(|| view! {
                                <p class="muted" data-test="payables-truncated">
                                    {format!("Showing the {} channels owed the most; the payout CSV lists every one.", p.rows.len())}
                                </p>
                            })}
                            {if p.rows.is_empty() {
                                view! { <p class="muted">"No publisher earned anything this month."</p> }.into_any()
                            } else {
                                view! {
                                    <div class="table-wrap" tabindex="0">
                                        <table class="data cards-on-phone" aria-label="Payables per channel">
                                            <thead><tr><th>"Channel"</th><th class="num">"Accrued"</th><th class="num">"Reversed"</th>
                                                <th class="num">"Owed for the month"</th><th class="num">"Payable balance"</th><th>"Payout"</th></tr></thead>
                                            <tbody>
                                                {p.rows.into_iter().map(|row| view! { <Row row pay can_pay month=month.clone()/> }).collect_view()}
                                            </tbody>
                                        </table>
                                    </div>
                                }.into_any()
                            }}
                            <WaitingPayouts requests decisions cancel/>
                        }
                        .into_any()
                    }
                    Err(e) => view! { <p class="banner error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Row(
    row: PayableRow,
    pay: ServerAction<MarkPayoutPaid>,
    can_pay: bool,
    month: String,
) -> impl IntoView {
    let c = row.currency.clone();
    let m = move |x: crate::model::Micros| x.display(&c);
    let label_id = format!("payout-ref-{}-{}", row.channel_id, row.currency);
    let reference_label = format!("Payment reference for @{}", row.handle);
    let ask_label = format!(" of the payout to @{}", row.handle);
    let payout = match (&row.paid, can_pay && row.owed.0 > 0) {
        (Some((at, reference)), _) => view! {
            <span class="badge ok">{format!("Paid {} · {reference}", at.format("%Y-%m-%d"))}</span>
        }.into_any(),
        (None, _) if row.waiting.is_some() => view! {
            <a class="badge warn" href="#waiting-payouts">
                {row.waiting.as_ref().map(|(id, reference)| format!("Waiting for approval (#{id}) · {reference}"))}
            </a>
        }.into_any(),
        (None, true) => view! {
            <ActionForm action=pay attr:class="inline">
                <input type="hidden" name="input[channel]" value=row.channel_id/>
                <input type="hidden" name="input[currency]" value=row.currency.clone()/>
                <input type="hidden" name="input[month]" value=month/>
                <label for=label_id.clone() class="visually-hidden">{reference_label}</label>
                <input id=label_id name="input[reference]" placeholder="Payment reference" required=true maxlength="100"/>
                <label class="choice small">
                    <input type="checkbox" name="input[ask_approval]" value="true"/>
                    "Ask for approval"
                    <span class="visually-hidden">{ask_label}</span>
                </label>
                <button type="submit" class="small">"Mark paid"</button>
            </ActionForm>
        }.into_any(),
        (None, false) => view! { <span class="muted">"Not paid"</span> }.into_any(),
    };
    view! {
        <tr data-test="payable-row">
            <td><strong>{format!("@{}", row.handle)}</strong><br/><span class="muted small">{row.title.clone()}</span></td>
            <td class="num" data-label="Accrued">{m(row.accrued)}</td>
            <td class="num" data-label="Reversed">{m(row.reversed)}</td>
            <td class="num" data-label="Owed for the month">{m(row.owed)}</td>
            <td class="num" data-label="Payable balance">{m(row.balance)}</td>
            <td data-label="Payout">{payout}</td>
        </tr>
    }
}

/// What the last approval or rejection of a payout did, or why it or a cancel was refused.
#[component]
fn DecisionResult(
    decide: ServerAction<DecidePayout>,
    cancel: ServerAction<CancelPayout>,
) -> impl IntoView {
    let decided: Signal<_> = decide.value().into();
    let cancelled: Signal<_> = cancel.value().into();
    // Only the latest answer of the two is shown: an approval refused earlier is not still
    // there after a cancel succeeded. (None: an answer to a plain form post, before the wasm.)
    let latest = RwSignal::new(None::<bool>);
    Effect::new(move |_| {
        if decide.version().get() > 0 {
            latest.set(Some(true));
        }
    });
    Effect::new(move |_| {
        if cancel.version().get() > 0 {
            latest.set(Some(false));
        }
    });
    let message = Signal::derive(move || match latest.get() {
        Some(true) => form_error(decided).get(),
        Some(false) => form_error(cancelled).get(),
        None => form_error(decided)
            .get()
            .or_else(|| form_error(cancelled).get()),
    });
    let done = move || {
        if latest.get() == Some(false) {
            return None;
        }
        let Some(Ok(d)) = decided.get() else {
            return None;
        };
        let p = d.payout;
        let amount = p.amount.display(&p.currency);
        let text = if d.status == FinanceRequestStatus::Done {
            format!(
                "Approved payout #{}: {amount} paid to @{} for {}.",
                d.request, p.channel, p.month
            )
        } else {
            format!(
                "Rejected payout #{} ({amount} to @{} for {}): nothing was paid.",
                d.request, p.channel, p.month
            )
        };
        Some(
            view! { <p class="banner success" role="status" data-test="payout-decided">{text}</p> },
        )
    };
    view! {
        {done}
        <FormError error=message/>
    }
}

/// Payouts marked paid above the threshold, waiting for a second finance person, and the
/// latest decided.
#[component]
fn WaitingPayouts(
    requests: PayoutRequests,
    decisions: RowAction<DecidePayout, i64>,
    cancel: ServerAction<CancelPayout>,
) -> impl IntoView {
    // The dashboard's "Payouts waiting for your approval" count points here.
    scroll_here_when_linked("waiting-payouts");
    let more = (requests.waiting_total > requests.waiting.len() as u64).then(|| view! {
        <p class="banner info" role="status">
            {format!(
                "Showing the oldest {} of {} waiting payouts: decide these and the next appear.",
                requests.waiting.len(),
                crate::model::group_thousands(requests.waiting_total)
            )}
        </p>
    });
    let empty = requests.waiting.is_empty().then(|| {
        view! {
            <p class="muted">"No payout is waiting for approval."</p>
        }
    });
    let recent = (!requests.recent.is_empty()).then(|| {
        let rows = requests.recent.clone();
        view! {
            <details class="finance-recent">
                <summary>"Recent payout approvals"</summary>
                <div class="table-scroll">
                    <table>
                        <thead><tr>
                            <th scope="col">"#"</th><th scope="col">"Channel"</th><th scope="col">"Month"</th>
                            <th scope="col" class="num">"Amount"</th><th scope="col">"Status"</th>
                            <th scope="col">"Marked by"</th><th scope="col">"Decided by"</th>
                        </tr></thead>
                        <tbody>
                            {rows.into_iter().map(|r| view! {
                                <tr>
                                    <td>{r.id}</td>
                                    <td>{format!("@{}", r.handle)}</td>
                                    <td>{r.month.clone()}</td>
                                    <td class="num">{r.amount.display(&r.currency)}</td>
                                    <td>{if r.rejection.is_empty() {
                                        r.status.label().to_owned()
                                    } else {
                                        format!("{}: {}", r.status.label(), r.rejection)
                                    }}</td>
                                    <td>{r.requested_by.clone()}</td>
                                    <td>{r.decided_by.clone().unwrap_or_default()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </details>
        }
    });
    view! {
        <section class="card finance-requests" id="waiting-payouts" aria-labelledby="waiting-payouts-heading">
            <h2 id="waiting-payouts-heading">"Payouts waiting for approval"</h2>
            <p class="hint">
                {format!(
                    "A payout above {} (in its currency), or one marked paid with \"Ask for approval\" ticked, is only marked paid once a second finance person approves it, \
                     after checking the bank shows the money left for that channel. You cannot approve or reject your own; you can cancel it.",
                    crate::model::group_thousands(requests.threshold_units.max(0) as u64)
                )}
            </p>
            {empty}
            {more}
            <ul class="request-list">
                {requests.waiting.into_iter().map(|r| view! { <WaitingPayout r decisions cancel/> }).collect_view()}
            </ul>
            {recent}
        </section>
    }
}

#[component]
fn WaitingPayout(
    r: PayoutRequestRow,
    decisions: RowAction<DecidePayout, i64>,
    cancel: ServerAction<CancelPayout>,
) -> impl IntoView {
    let summary = format!(
        "{} to @{} for {}",
        r.amount.display(&r.currency),
        r.handle,
        r.month
    );
    let asked = format!(
        "Payment reference {} · marked paid by {} on {}",
        r.reference,
        r.requested_by,
        r.requested_at.format("%Y-%m-%d %H:%M UTC")
    );
    view! { <WaitingItem id=r.id summary asked mine=r.mine words=&PAYOUT decisions cancel/> }
}

static PAYOUT: WaitingWords = WaitingWords {
    test: "waiting-payout",
    reject_field: "reject-payout",
    mine: "You marked this paid: another finance person approves or rejects it.",
    approve: |id| format!("Approve payout #{id}"),
    approve_class: "primary",
    reject: |id| format!("Reject payout #{id}"),
    cancel: |id| format!("Cancel payout #{id}"),
};

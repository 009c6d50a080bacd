//! Finance's two-person rule on the page: top-ups and refunds waiting for a second finance
//! person (approve, reject with a reason, or — for one's own — cancel), and the latest
//! decided.

use crate::{
    api::finance::{CancelFinanceRequest, DecideFinanceRequest, RefundBalance},
    components::{FormError, field_error, form_error},
    model::{FinanceRequestKind, FinanceRequestRow, FinanceRequestStatus, FinanceRequests},
    pages::{RowAction, scroll_here_when_linked},
};
use leptos::prelude::*;

/// The waiting requests, each with what the viewer may do, then the latest decided.
#[component]
pub fn RequestsPanel(
    requests: FinanceRequests,
    decisions: RowAction<DecideFinanceRequest, i64>,
    cancel: ServerAction<CancelFinanceRequest>,
) -> impl IntoView {
    let decide = decisions.action;
    let empty = requests.pending.is_empty().then(|| {
        view! { <p class="muted">"Nothing is waiting for approval."</p> }
    });
    let more = (requests.pending_total > requests.pending.len() as u64).then(|| {
        view! {
            <p class="banner info" role="status" data-test="more-waiting">
                {format!(
                    "Showing the oldest {} of {} waiting requests: decide these and the next appear.",
                    requests.pending.len(),
                    crate::model::group_thousands(requests.pending_total),
                )}
            </p>
        }
    });
    let recent = requests.recent.clone();
    // The dashboard's "Waiting for your approval" count points here.
    scroll_here_when_linked("waiting-requests");
    view! {
        <section class="card finance-requests" id="waiting-requests" aria-labelledby="waiting-heading">
            <h2 id="waiting-heading">"Waiting for approval"</h2>
            <p class="hint">
                {format!(
                    "Credits and refunds above {} (in the account's currency) wait until a second finance person approves them, \
                     and so does one that would take what was credited to, or refunded from, one account without a second person in 24 hours past it. \
                     You cannot approve or reject your own; you can cancel it.",
                    crate::model::group_thousands(requests.threshold_units.max(0) as u64)
                )}
                " Corrections above it wait on the "<a href="/finance/corrections#waiting-corrections">"Corrections"</a>" page."
            </p>
            <DecisionError decide cancel/>
            {empty}
            {more}
            <ul class="request-list">
                {requests.pending.into_iter().map(|r| view! { <PendingRequest r decisions cancel/> }).collect_view()}
            </ul>
        </section>
        <details class="card finance-recent">
            <summary>"Recent credits and refunds"</summary>
            <div class="table-scroll">
                <table>
                    <thead>
                        <tr>
                            <th scope="col">"#"</th>
                            <th scope="col">"What"</th>
                            <th scope="col">"Account"</th>
                            <th scope="col" class="num">"Amount"</th>
                            <th scope="col">"Reference"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Asked by"</th>
                            <th scope="col">"Decided by"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {recent.into_iter().map(|r| {
                            let status = match (&r.status, r.reason.is_empty()) {
                                (FinanceRequestStatus::Rejected, false) => format!("Rejected: {}", r.reason),
                                (s, _) => s.label().to_owned(),
                            };
                            view! {
                                <tr>
                                    <td>{r.id}</td>
                                    <td>{r.kind.label()}</td>
                                    <td>{r.account_name.clone()}</td>
                                    <td class="num">{r.amount.display(&r.currency)}</td>
                                    <td>
                                        {r.reference.clone()}
                                        {r.top_up_reference.clone().map(|t| view! {
                                            <span class="hint">{format!(" (returns top-up {t})")}</span>
                                        })}
                                    </td>
                                    <td>{status}</td>
                                    <td>{r.requested_by.clone()}</td>
                                    <td>{r.decided_by.clone().unwrap_or_else(|| "—".to_owned())}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </details>
    }
}

/// What the last approve or reject did, or what went wrong with it or with a cancel (a
/// conflict has no field).
#[component]
fn DecisionError(
    decide: ServerAction<DecideFinanceRequest>,
    cancel: ServerAction<CancelFinanceRequest>,
) -> impl IntoView {
    let decided: Signal<_> = decide.value().into();
    let cancelled: Signal<_> = cancel.value().into();
    let message = Signal::derive(move || {
        form_error(decided)
            .get()
            .or_else(|| field_error(decided, "amount").get())
            .or_else(|| form_error(cancelled).get())
    });
    let done = move || {
        let Some(Ok(r)) = decided.get() else {
            return None;
        };
        let amount = r.amount.display(&r.currency);
        let text = match (r.status, r.kind) {
            (FinanceRequestStatus::Done, FinanceRequestKind::TopUp) => format!(
                "Approved request #{}: {amount} credited to {}. Available now: {}.",
                r.request,
                r.account_name,
                r.available.display(&r.currency)
            ),
            (FinanceRequestStatus::Done, FinanceRequestKind::Refund) => format!(
                "Approved request #{}: {amount} refunded from {}. Available now: {}.",
                r.request,
                r.account_name,
                r.available.display(&r.currency)
            ),
            (FinanceRequestStatus::Rejected, _) => format!(
                "Rejected request #{} ({amount} for {}): nothing was moved.",
                r.request, r.account_name
            ),
            _ => return None,
        };
        Some(view! { <p class="banner success" role="status" data-test="decided">{text}</p> })
    };
    view! {
        {done}
        <FormError error=message/>
    }
}

#[component]
fn PendingRequest(
    r: FinanceRequestRow,
    decisions: RowAction<DecideFinanceRequest, i64>,
    cancel: ServerAction<CancelFinanceRequest>,
) -> impl IntoView {
    let id = r.id;
    let decide = decisions.action;
    let summary = format!(
        "{} of {} for {}",
        r.kind.label(),
        r.amount.display(&r.currency),
        r.account_name
    );
    let asked = format!(
        "Reference {}{} · asked by {} on {}{}",
        r.reference,
        r.top_up_reference
            .as_ref()
            .map_or_else(String::new, |t| format!(" · returns top-up {t}")),
        r.requested_by,
        r.requested_at.format("%Y-%m-%d %H:%M UTC"),
        if r.note.is_empty() {
            String::new()
        } else {
            format!(" · “{}”", r.note)
        }
    );
    // Beside the form that sent it (an action forgets its input once answered).
    let reason_error = field_error(decisions.answer_for(id), "reason");
    // Admins read finance's pages; only finance staff decide.
    let can_decide = use_context::<crate::model::Viewer>()
        .is_some_and(|v| v.has_staff_role(crate::model::PlatformRole::Finance));
    let actions = if !can_decide {
        view! { <p class="hint">"A finance person approves or rejects this."</p> }.into_any()
    } else if r.mine {
        view! {
            <p class="hint">"You asked for this: another finance person approves or rejects it."</p>
            <ActionForm action=cancel attr:class="inline-form">
                <input type="hidden" name="request" value=id.to_string()/>
                <button type="submit" disabled=move || cancel.pending().get()>"Cancel request"</button>
            </ActionForm>
        }
        .into_any()
    } else {
        view! {
            <ActionForm action=decide attr:class="inline-form">
                <Decision request=id approve=true/>
                <button type="submit" class="primary" disabled=move || decide.pending().get()>
                    {format!("Approve request #{id}")}
                </button>
            </ActionForm>
            <ActionForm action=decide attr:class="stack narrow">
                <Decision request=id approve=false/>
                <RejectReason id=format!("reject-reason-{id}") error=reason_error/>
                <button type="submit" disabled=move || decide.pending().get()>
                    {format!("Reject request #{id}")}
                </button>
            </ActionForm>
        }
        .into_any()
    };
    view! {
        <li class="request" data-test="pending-request">
            <p><strong>{format!("#{id} ")}{summary}</strong></p>
            <p class="muted">{asked}</p>
            {actions}
        </li>
    }
}

/// The hidden fields of an approval or a rejection of `request` (the reason of a rejection is
/// typed in [`RejectReason`]).
#[component]
pub(super) fn Decision(request: i64, approve: bool) -> impl IntoView {
    view! {
        <input type="hidden" name="input[request]" value=request.to_string()/>
        <input type="hidden" name="input[approve]" value=approve.to_string()/>
        {approve.then(|| view! { <input type="hidden" name="input[reason]" value=""/> })}
    }
}

/// The reason a rejection needs, with its error beside it.
#[component]
pub(super) fn RejectReason(id: String, error: Signal<Option<String>>) -> impl IntoView {
    let error_id = format!("{id}-error");
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id.clone()>"Reason to reject"</label>
            <input id=id name="input[reason]" type="text"
                aria-invalid=move || error.get().is_some().then_some("true")
                aria-describedby=error_id.clone()/>
            <p class="field-error" id=error_id role="alert">{move || error.get()}</p>
        </div>
    }
}

/// What the last refund did.
#[component]
pub fn RefundResultBanner(refund: ServerAction<RefundBalance>) -> impl IntoView {
    move || {
        match refund.value().get() {
        Some(Ok(r)) if r.status == FinanceRequestStatus::Pending => Some(view! {
            <div class="banner warn" role="status" data-test="refund-result">
                {format!(
                    "Refund of {} for {} is waiting for a second finance person's approval (request #{}).",
                    r.amount.display(&r.currency),
                    r.account_name,
                    r.request
                )}
            </div>
        }.into_any()),
        Some(Ok(r)) => Some(view! {
            <div class="banner success" role="status" data-test="refund-result">
                {format!(
                    "{} {} to {}. Available now: {}.",
                    if r.repeated { "Already refunded" } else { "Refunded" },
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

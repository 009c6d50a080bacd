//! Finance's two-person rule on the page: top-ups and refunds waiting for a second finance
//! person (approve, reject with a reason, or — for one's own — cancel), and the latest
//! decided.

use crate::{
    api::finance::{CancelFinanceRequest, DecideFinanceRequest, RefundBalance},
    components::{FormError, field_error, form_error},
    error::AppError,
    model::{FinanceRequestKind, FinanceRequestRow, FinanceRequestStatus, FinanceRequests},
    pages::{RowAction, scroll_here_when_linked},
};
use leptos::{
    prelude::*,
    server_fn::{
        Http, ServerFn,
        client::Client,
        codec::{Json, PostUrl},
        request::ClientReq,
    },
};
use serde::de::DeserializeOwned;

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
                     and so does one that would take what was credited to (or refunded from) one account, or what one person credited (or refunded) over all accounts, without a second person in 24 hours past it. \
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
    // The money of an account the viewer belongs to: another finance person decides it.
    let own_account =
        use_context::<crate::model::Viewer>().is_some_and(|v| v.is_member_of(r.account));
    view! {
        <WaitingItem id=r.id summary asked mine=r.mine own_account words=&REQUEST decisions cancel/>
    }
}

static REQUEST: WaitingWords = WaitingWords {
    test: "pending-request",
    reject_field: "reject-reason",
    mine: "You asked for this: another finance person approves or rejects it.",
    approve: |id| format!("Approve request #{id}"),
    approve_class: "primary",
    reject: |id| format!("Reject request #{id}"),
    cancel: |_| "Cancel request".to_owned(),
};

/// What one kind of waiting item (a credit or refund, a correction, a payout) is called on
/// its buttons and in its hints.
pub(super) struct WaitingWords {
    /// The item's `data-test` name.
    pub test: &'static str,
    /// The reject reason's field id, before `-{id}`.
    pub reject_field: &'static str,
    /// Said to its requester, who cannot decide it.
    pub mine: &'static str,
    pub approve: fn(i64) -> String,
    /// The approve button's class (`danger` where approving takes money back).
    pub approve_class: &'static str,
    pub reject: fn(i64) -> String,
    pub cancel: fn(i64) -> String,
}

/// One item waiting for a second finance person: what was asked, and what the viewer may do
/// about it — approve it or reject it with a reason (another finance person), cancel it (its
/// requester), or only read it (an admin).
#[component]
pub(super) fn WaitingItem<D, C>(
    id: i64,
    summary: String,
    asked: String,
    /// The viewer asked for it.
    mine: bool,
    /// It moves the money of an ad account the viewer belongs to (the service refuses their
    /// decision).
    #[prop(optional)]
    own_account: bool,
    words: &'static WaitingWords,
    decisions: RowAction<D, i64>,
    cancel: ServerAction<C>,
) -> impl IntoView
where
    D: ServerFn<Protocol = Http<PostUrl, Json>, Error = AppError>
        + DeserializeOwned
        + Clone
        + Send
        + Sync
        + 'static,
    D::Output: Clone + Send + Sync + 'static,
    D::Client: Client<AppError>,
    <<D::Client as Client<AppError>>::Request as ClientReq<AppError>>::FormData:
        From<leptos::web_sys::FormData>,
    C: ServerFn<Protocol = Http<PostUrl, Json>, Error = AppError>
        + DeserializeOwned
        + Clone
        + Send
        + Sync
        + 'static,
    C::Output: Clone + Send + Sync + 'static,
    C::Client: Client<AppError>,
    <<C::Client as Client<AppError>>::Request as ClientReq<AppError>>::FormData:
        From<leptos::web_sys::FormData>,
{
    let decide = decisions.action;
    // Beside the form that sent it (an action forgets its input once answered).
    let reason_error = field_error(decisions.answer_for(id), "reason");
    // Admins read finance's pages; only finance staff decide.
    let can_decide = use_context::<crate::model::Viewer>()
        .is_some_and(|v| v.has_staff_role(crate::model::PlatformRole::Finance));
    let actions = if !can_decide {
        view! { <p class="hint">"A finance person approves or rejects this."</p> }.into_any()
    } else if mine {
        view! {
            <p class="hint">{words.mine}</p>
            <ActionForm action=cancel attr:class="inline-form">
                <input type="hidden" name="request" value=id.to_string()/>
                <button type="submit" disabled=move || cancel.pending().get()>{(words.cancel)(id)}</button>
            </ActionForm>
        }
        .into_any()
    } else if own_account {
        view! {
            <p class="hint" data-test="own-account">
                "You are a member of this account: another finance person approves or rejects it."
            </p>
        }
        .into_any()
    } else {
        view! {
            <ActionForm action=decide attr:class="inline-form">
                <Decision request=id approve=true/>
                <button type="submit" class=words.approve_class disabled=move || decide.pending().get()>
                    {(words.approve)(id)}
                </button>
            </ActionForm>
            <ActionForm action=decide attr:class="stack narrow">
                <Decision request=id approve=false/>
                <RejectReason id=format!("{}-{id}", words.reject_field) error=reason_error/>
                <button type="submit" disabled=move || decide.pending().get()>
                    {(words.reject)(id)}
                </button>
            </ActionForm>
        }
        .into_any()
    };
    view! {
        <li class="request" data-test=words.test>
            <p><strong>{format!("#{id} ")}{summary}</strong></p>
            <p class="muted">{asked}</p>
            {actions}
        </li>
    }
}

/// The hidden fields of an approval or a rejection of `request` (the reason of a rejection is
/// typed in [`RejectReason`]).
#[component]
fn Decision(request: i64, approve: bool) -> impl IntoView {
    view! {
        <input type="hidden" name="input[request]" value=request.to_string()/>
        <input type="hidden" name="input[approve]" value=approve.to_string()/>
        {approve.then(|| view! { <input type="hidden" name="input[reason]" value=""/> })}
    }
}

/// The reason a rejection needs, with its error beside it.
#[component]
fn RejectReason(id: String, error: Signal<Option<String>>) -> impl IntoView {
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

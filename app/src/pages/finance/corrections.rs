//! `/finance/corrections`: reverse posted charges — one decision, or a channel over a period —
//! after a preview of what would go back, and the corrections made so far.

use super::requests::{WaitingItem, WaitingWords};
use crate::{
    api::finance_console::{
        CancelCorrection, DecideCorrection, ReverseCharges, list_correction_requests,
        list_corrections,
    },
    components::{Field, FormError, field_error, form_error},
    model::{
        CorrectionRequestRow, CorrectionRequests, CorrectionResult, CorrectionTotal,
        FinanceRequestStatus, PlatformRole, Viewer, group_thousands,
    },
    pages::{RowAction, scroll_here_when_linked, suspend_once, utc},
};
use leptos::prelude::*;
use leptos_meta::Title;

fn totals_text(totals: &[CorrectionTotal]) -> String {
    if totals.is_empty() {
        return "nothing".to_owned();
    }
    totals
        .iter()
        .map(|t| {
            format!(
                "{} ({} from the publisher, {} from platform revenue)",
                t.amount.display(&t.currency),
                t.publisher.display(&t.currency),
                t.platform.display(&t.currency)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn result_text(r: &CorrectionResult) -> String {
    match (r.preview, r.id, r.decisions) {
        (_, _, 0) => {
            "Nothing left to reverse: these charges were never made or were reversed before."
                .to_owned()
        }
        (true, ..) => format!(
            "Preview: reversing would give back {} over {} decision(s) to {} account(s).{} Nothing was changed.",
            totals_text(&r.totals),
            r.decisions,
            r.accounts,
            if r.needs_approval {
                " A second finance person will have to approve it (it is above the approval threshold, or you asked for one)."
            } else {
                ""
            }
        ),
        (false, None, _) if r.waiting.is_some() => format!(
            "{} #{}: giving back {} over {} decision(s) waits for a second finance person's approval. Nothing was reversed yet.",
            if r.already_waiting {
                "Already waiting as request"
            } else {
                "Asked as request"
            },
            r.waiting.unwrap_or_default(),
            totals_text(&r.totals),
            r.decisions
        ),
        (false, id, _) => format!(
            "Correction #{} gave back {} over {} decision(s) to {} account(s).",
            id.unwrap_or_default(),
            totals_text(&r.totals),
            r.decisions,
            r.accounts
        ),
    }
}

#[component]
pub fn FinanceCorrectionsPage() -> impl IntoView {
    let can_correct =
        use_context::<Viewer>().is_some_and(|v| v.has_staff_role(PlatformRole::Finance));
    let reverse = ServerAction::<ReverseCharges>::new();
    // "Reverse…" beside a charge in an account's ledger links here with its decision.
    let decision = leptos_router::hooks::use_query_map()
        .read_untracked()
        .get("decision")
        .filter(|d| d.len() <= 20 && d.bytes().all(|c| c.is_ascii_digit()))
        .unwrap_or_default();
    let decide = ServerAction::<DecideCorrection>::new();
    // Which waiting correction's form sent the last decision, so its error shows beside it.
    let decisions = RowAction::new(decide, |sent: &DecideCorrection| sent.input.request);
    let cancel = ServerAction::<CancelCorrection>::new();
    let changes = move || {
        (
            reverse.version().get(),
            decide.version().get(),
            cancel.version().get(),
        )
    };
    let list = Resource::new(changes, |_| list_corrections(0));
    let waiting = Resource::new(changes, |_| list_correction_requests());
    let result: Signal<_> = reverse.value().into();
    let field = move |name: &'static str| field_error(result, name);
    let banner = move || match reverse.value().get() {
        Some(Ok(r)) => Some(view! {
            <div class=if r.preview || r.decisions == 0 || r.waiting.is_some() { "banner warn" } else { "banner success" }
                role="status" data-test="correction-result">{result_text(&r)}</div>
        }),
        _ => None,
    };
    view! {
        <Title text="Corrections"/>
        <h1>"Corrections"</h1>
        <p class="lead">
            "Reverse charges found invalid later: the spend goes back to the advertiser's available balance, "
            "out of the publisher's payable and platform revenue in the proportions it was charged. "
            "The original charges stay in reports; the reversal shows on the day it is made. "
            "A reversal does not re-open the campaign's budget."
        </p>
        {can_correct.then(|| view! {
            <ActionForm action=reverse attr:class="stack narrow card" attr:novalidate=true>
                <fieldset class="choices">
                    <legend>"What to reverse"</legend>
                    <label class="choice"><input type="radio" name="input[scope]" value="decision" checked=true/>"One decision"</label>
                    <label class="choice"><input type="radio" name="input[scope]" value="channel"/>"A channel over a period"</label>
                    <p class="field-error" role="alert">{move || field("scope").get()}</p>
                </fieldset>
                <Field id="correction-decision" name="input[decision]" label="Decision number"
                    value=decision
                    hint="For one decision: its number, shown beside each hold and charge in the account's ledger (Credit balances → the account), or in the delivery API's answer."
                    error=field("decision")/>
                <Field id="correction-channel" name="input[channel]" label="Channel handle"
                    hint="For a channel: its handle, e.g. @tech_daily." error=field("channel")/>
                <div class="field-row">
                    <Field id="correction-from" name="input[from]" label="From (UTC day)" kind="date" error=field("from")/>
                    <Field id="correction-to" name="input[to]" label="To (UTC day)" kind="date" error=field("to")/>
                </div>
                <Field id="correction-reason" name="input[reason]" label="Reason" required=true
                    hint="Kept with the correction and in the audit log." error=field("reason")/>
                <label class="choice">
                    <input type="checkbox" name="input[ask_approval]" value="true"/>
                    "Ask a second finance person to approve it, whatever the amount"
                </label>
                <FormError error=form_error(result)/>
                <div class="actions">
                    <button type="submit" name="input[preview]" value="true" class="ghost">"Preview"</button>
                    <button type="submit" name="input[preview]" value="false" class="danger">"Reverse charges"</button>
                </div>
            </ActionForm>
        })}
        {banner}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || suspend_once(async move {
                match waiting.await {
                    Ok(requests) => view! { <WaitingCorrections requests decisions cancel/> }.into_any(),
                    Err(e) => view! { <p class="banner error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
        <h2>"Corrections made"</h2>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || suspend_once(async move {
                match list.await {
                    Ok(rows) if rows.is_empty() => view! { <p class="muted">"No corrections yet."</p> }.into_any(),
                    Ok(rows) => view! {
                        <div class="table-wrap" tabindex="0">
                            <table class="data cards-on-phone" aria-label="Corrections made">
                                <thead><tr><th>"Correction"</th><th>"When"</th><th>"What"</th><th>"Reason"</th>
                                    <th class="num">"Decisions"</th><th>"Given back"</th><th>"By"</th><th>"Approved by"</th></tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|r| view! {
                                        <tr data-test="correction-row">
                                            <td>{format!("#{}", r.id)}</td>
                                            <td data-label="When">{utc(r.at)}</td>
                                            <td data-label="What">{r.what}</td>
                                            <td data-label="Reason">{r.reason}</td>
                                            <td class="num" data-label="Decisions">{r.decisions}</td>
                                            <td data-label="Given back">{totals_text(&r.totals)}</td>
                                            <td data-label="By">{r.by}</td>
                                            <td data-label="Approved by">{r.approved_by.unwrap_or_else(|| "—".to_owned())}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                    Err(e) => view! { <p class="banner error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Corrections above the threshold waiting for a second finance person (approve, reject with a
/// reason, or — for one's own — cancel), and the latest decided.
#[component]
fn WaitingCorrections(
    requests: CorrectionRequests,
    decisions: RowAction<DecideCorrection, i64>,
    cancel: ServerAction<CancelCorrection>,
) -> impl IntoView {
    let decide = decisions.action;
    let decided: Signal<_> = decide.value().into();
    let cancelled: Signal<_> = cancel.value().into();
    let error = Signal::derive(move || {
        form_error(decided)
            .get()
            .or_else(|| form_error(cancelled).get())
    });
    let approved = move || match decide.value().get() {
        Some(Ok(r)) if r.id.is_some() => Some(view! {
            <div class="banner success" role="status" data-test="correction-approved">{result_text(&r)}</div>
        }),
        _ => None,
    };
    let empty = requests
        .waiting
        .is_empty()
        .then(|| view! { <p class="muted">"No correction is waiting for approval."</p> });
    let recent = requests.recent.clone();
    // The dashboard's "Corrections waiting for your approval" count points here.
    scroll_here_when_linked("waiting-corrections");
    view! {
        <section class="card finance-requests" id="waiting-corrections" aria-labelledby="waiting-corrections-heading">
            <h2 id="waiting-corrections-heading">"Corrections waiting for approval"</h2>
            <p class="hint">
                {format!(
                    "A correction that gives back more than {} in a currency — counting what the same person reversed alone in the 24 hours before it — or whose requester asked for a second person waits until a second finance person approves it. \
                     It is carried out on approval only if its charges are still exactly those asked for. You cannot approve or reject your own; you can cancel it.",
                    group_thousands(requests.threshold_units.max(0) as u64)
                )}
            </p>
            <FormError error/>
            {approved}
            {empty}
            <ul class="request-list">
                {requests.waiting.into_iter().map(|r| view! { <WaitingCorrection r decisions cancel/> }).collect_view()}
            </ul>
            {(!recent.is_empty()).then(|| view! {
                <details>
                    <summary>"Recently decided"</summary>
                    <div class="table-wrap" tabindex="0">
                        <table class="data cards-on-phone" aria-label="Recently decided corrections">
                            <thead><tr><th>"Correction"</th><th>"What"</th><th>"Given back"</th><th>"Status"</th>
                                <th>"Asked by"</th><th>"Decided by"</th></tr></thead>
                            <tbody>
                                {recent.into_iter().map(|r| {
                                    let status = match (r.status, r.correction) {
                                        (FinanceRequestStatus::Rejected, _) => format!("Rejected: {}", r.rejection),
                                        (FinanceRequestStatus::Done, Some(c)) => format!("Done: correction #{c}"),
                                        (s, _) => s.label().to_owned(),
                                    };
                                    view! {
                                        <tr>
                                            <td>{format!("#{}", r.id)}</td>
                                            <td data-label="What">{r.what}</td>
                                            <td data-label="Given back">{totals_text(&r.totals)}</td>
                                            <td data-label="Status">{status}</td>
                                            <td data-label="Asked by">{r.requested_by}</td>
                                            <td data-label="Decided by">{r.decided_by.unwrap_or_else(|| "—".to_owned())}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                </details>
            })}
        </section>
    }
}

#[component]
fn WaitingCorrection(
    r: CorrectionRequestRow,
    decisions: RowAction<DecideCorrection, i64>,
    cancel: ServerAction<CancelCorrection>,
) -> impl IntoView {
    let summary = format!("{}: give back {}", r.what, totals_text(&r.totals));
    let asked = format!(
        "{} decision(s) · “{}” · asked by {} on {}",
        r.decisions,
        r.reason,
        r.requested_by,
        r.requested_at.format("%Y-%m-%d %H:%M UTC")
    );
    view! { <WaitingItem id=r.id summary asked mine=r.mine words=&CORRECTION decisions cancel/> }
}

static CORRECTION: WaitingWords = WaitingWords {
    test: "waiting-correction",
    reject_field: "reject-correction",
    mine: "You asked for this: another finance person approves or rejects it.",
    approve: |id| format!("Approve and reverse #{id}"),
    approve_class: "danger",
    reject: |id| format!("Reject correction #{id}"),
    cancel: |_| "Cancel correction request".to_owned(),
};

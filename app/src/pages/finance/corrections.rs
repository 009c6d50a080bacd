//! `/finance/corrections`: reverse posted charges — one decision, or a channel over a period —
//! after a preview of what would go back, and the corrections made so far.

use crate::{
    api::finance_console::{ReverseCharges, list_corrections},
    components::{Field, FormError, field_error, form_error},
    model::{CorrectionResult, CorrectionTotal, PlatformRole, Viewer},
    pages::{suspend_once, utc},
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
            "Preview: reversing would give back {} over {} decision(s) to {} account(s). Nothing was changed.",
            totals_text(&r.totals),
            r.decisions,
            r.accounts
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
    let list = Resource::new(move || reverse.version().get(), |_| list_corrections(0));
    let result: Signal<_> = reverse.value().into();
    let field = move |name: &'static str| field_error(result, name);
    let banner = move || match reverse.value().get() {
        Some(Ok(r)) => Some(view! {
            <div class=if r.preview || r.decisions == 0 { "banner warn" } else { "banner success" }
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
                <FormError error=form_error(result)/>
                <div class="actions">
                    <button type="submit" name="input[preview]" value="true" class="ghost">"Preview"</button>
                    <button type="submit" name="input[preview]" value="false" class="danger">"Reverse charges"</button>
                </div>
            </ActionForm>
        })}
        {banner}
        <h2>"Corrections made"</h2>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || suspend_once(async move {
                match list.await {
                    Ok(rows) if rows.is_empty() => view! { <p class="muted">"No corrections yet."</p> }.into_any(),
                    Ok(rows) => view! {
                        <div class="table-wrap" tabindex="0">
                            <table class="data" aria-label="Corrections made">
                                <thead><tr><th>"#"</th><th>"When"</th><th>"What"</th><th>"Reason"</th>
                                    <th class="num">"Decisions"</th><th>"Given back"</th><th>"By"</th></tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|r| view! {
                                        <tr data-test="correction-row">
                                            <td>{r.id}</td>
                                            <td>{utc(r.at)}</td>
                                            <td>{r.what}</td>
                                            <td>{r.reason}</td>
                                            <td class="num">{r.decisions}</td>
                                            <td>{totals_text(&r.totals)}</td>
                                            <td>{r.by}</td>
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

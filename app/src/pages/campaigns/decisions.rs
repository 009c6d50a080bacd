//! Moderators' decisions on an ad or a campaign's targeting, as the advertiser reads them,
//! with the one-time appeal form under a decline that can still be appealed.

use crate::{
    api::moderation::AppealDecision,
    components::{DecisionCard, FormError, field_error, form_error},
    model::{AppealState, DecisionView, NOTE_MAX},
    pages::RowAction,
};
use leptos::prelude::*;

#[component]
pub fn Decisions(
    decisions: Vec<DecisionView>,
    /// Whether the viewer may appeal (owners and managers).
    can_appeal: bool,
    appeal: ServerAction<AppealDecision>,
    #[prop(default = "Review decisions")] heading: &'static str,
) -> impl IntoView {
    if decisions.is_empty() {
        return ().into_any();
    }
    let result: Signal<_> = appeal.value().into();
    // One action serves every decision's form: its answer belongs to the form last sent.
    let appeals = RowAction::new(appeal, |sent: &AppealDecision| sent.decision);
    view! {
        <section class="card decisions" aria-labelledby="decisions-heading" id="decisions">
            <h2 id="decisions-heading">{heading}</h2>
            {move || matches!(result.get(), Some(Ok(()))).then(|| view! {
                <p class="banner success" role="status" data-test="appealed">"Appeal sent: a different moderator will review it."</p>
            })}
            {decisions.into_iter().map(|d| {
                let open = can_appeal && d.appeal == AppealState::Open;
                let id = d.id;
                let result = appeals.answer_for(id);
                view! {
                    <DecisionCard decision=d>
                        {open.then(|| view! {
                            <details class="appeal">
                                <summary>"Appeal this decision"</summary>
                                <ActionForm action=appeal attr:class="stack" attr:novalidate=true>
                                    <FormError error=form_error(result)/>
                                    <input type="hidden" name="decision" value=id.to_string()/>
                                    <div class="field" class:invalid=move || field_error(result, "message").get().is_some()>
                                        <label for=format!("appeal-{id}")>"Your appeal: why should it be approved?"</label>
                                        <textarea id=format!("appeal-{id}") name="input[message]" rows="3"
                                            maxlength=NOTE_MAX.to_string() aria-describedby=format!("appeal-{id}-error")></textarea>
                                        <p class="field-error" id=format!("appeal-{id}-error") role="alert">{move || field_error(result, "message").get()}</p>
                                    </div>
                                    <p class="hint">"You can appeal a decline once. A moderator who did not make this decision reviews it."</p>
                                    <div class="actions">
                                        <button type="submit" class="primary" data-test="send-appeal" disabled=move || appeal.pending().get()>"Send appeal"</button>
                                    </div>
                                </ActionForm>
                            </details>
                        })}
                    </DecisionCard>
                }
            }).collect_view()}
        </section>
    }
    .into_any()
}

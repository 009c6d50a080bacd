//! Admin: the policy reasons moderators cite and the guidelines page publishes. Titles and
//! texts can change; codes are permanent (decisions and links refer to them); retiring a
//! reason keeps it on old decisions.

use crate::{
    api::moderation::{SavePolicyReason, policy_reasons},
    components::{Field, FormError, field_error, form_error},
    model::{GUIDELINE_MAX, PolicyReason},
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn PolicyReasonsPage() -> impl IntoView {
    let save = ServerAction::<SavePolicyReason>::new();
    let reasons = Resource::new(
        move || {
            save.value()
                .with(|v| matches!(v, Some(Ok(_))).then(|| save.version().get()))
        },
        |_| policy_reasons(),
    );
    let result: Signal<_> = save.value().into();
    view! {
        <Title text="Policy reasons"/>
        <div class="page-head">
            <h1>"Policy reasons"</h1>
            <a class="button ghost" href="/guidelines">"View the public guidelines"</a>
        </div>
        <p class="lead">"Moderators cite these when they decline; each links to its section of the public guidelines. Edits are audited."</p>
        <FormError error=form_error(result)/>
        {move || matches!(result.get(), Some(Ok(_))).then(|| view! { <p class="banner success" role="status">"Saved."</p> })}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match reasons.await {
                    Ok(list) => list.into_iter().map(|r| view! { <ReasonForm reason=r save/> }).collect_view().into_any(),
                    Err(e) => view! { <p class="banner error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
        <section class="card">
            <h2>"Add a reason"</h2>
            <ActionForm action=save attr:class="stack narrow" attr:novalidate=true>
                <Field id="new-code" name="input[code]" label="Code" hint="Lowercase letters, digits and hyphens; it becomes the guideline's anchor and never changes." error=field_error(result, "code")/>
                <Field id="new-title" name="input[title]" label="Title" error=field_error(result, "title")/>
                <div class="field" class:invalid=move || field_error(result, "guideline").get().is_some()>
                    <label for="new-guideline">"Guideline"</label>
                    <textarea id="new-guideline" name="input[guideline]" rows="4" maxlength=GUIDELINE_MAX.to_string()></textarea>
                    <p class="field-error" role="alert">{move || field_error(result, "guideline").get()}</p>
                </div>
                <input type="hidden" name="input[active]" value="true"/>
                <button type="submit" class="primary" disabled=move || save.pending().get()>"Add reason"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn ReasonForm(reason: PolicyReason, save: ServerAction<SavePolicyReason>) -> impl IntoView {
    let id = reason.id;
    view! {
        <details class="card policy-reason" data-test="policy-reason">
            <summary>
                <strong>{reason.title.clone()}</strong>
                <code class="muted">{reason.code.clone()}</code>
                {(!reason.active).then(|| view! { <span class="badge muted">"Retired"</span> })}
            </summary>
            <ActionForm action=save attr:class="stack narrow" attr:novalidate=true>
                <input type="hidden" name="input[id]" value=id.to_string()/>
                <input type="hidden" name="input[code]" value=reason.code.clone()/>
                <div class="field">
                    <label for=format!("title-{id}")>"Title"</label>
                    <input id=format!("title-{id}") name="input[title]" maxlength="120" value=reason.title.clone()/>
                </div>
                <div class="field">
                    <label for=format!("guideline-{id}")>"Guideline"</label>
                    <textarea id=format!("guideline-{id}") name="input[guideline]" rows="4" maxlength=GUIDELINE_MAX.to_string()>{reason.guideline.clone()}</textarea>
                </div>
                <label class="check">
                    <input type="checkbox" name="input[active]" value="true" checked=reason.active/>
                    " Moderators can cite it"
                </label>
                <button type="submit" disabled=move || save.pending().get()>"Save"</button>
            </ActionForm>
        </details>
    }
}

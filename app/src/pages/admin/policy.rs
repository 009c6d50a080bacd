//! Admin: the policy reasons moderators cite and the guidelines page publishes. Titles and
//! texts can change; codes are permanent (decisions and links refer to them); retiring a
//! reason keeps it on old decisions.

use crate::{
    api::moderation::{SavePolicyReason, policy_reasons},
    components::{Disclosure, Field, FormError, field_error, form_error},
    model::{GUIDELINE_MAX, PolicyReason},
    pages::suspend_once,
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn PolicyReasonsPage() -> impl IntoView {
    let save = ServerAction::<SavePolicyReason>::new();
    // Every successful save (here or in a reason's own form) reloads the list.
    let saved = RwSignal::new(0u32);
    Effect::new(move |_| {
        if matches!(save.value().get(), Some(Ok(_))) {
            saved.update(|n| *n += 1);
        }
    });
    let reasons = Resource::new(move || saved.get(), |_| policy_reasons());
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
            {move || suspend_once(async move {
                match reasons.await {
                    Ok(list) => list.into_iter().map(|r| view! { <ReasonForm reason=r saved/> }).collect_view().into_any(),
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
fn ReasonForm(reason: PolicyReason, saved: RwSignal<u32>) -> impl IntoView {
    let id = reason.id;
    // Each reason has its own action, so its errors show beside its own fields.
    let save = ServerAction::<SavePolicyReason>::new();
    let result: Signal<_> = save.value().into();
    Effect::new(move |_| {
        if matches!(save.value().get(), Some(Ok(_))) {
            saved.update(|n| *n += 1);
        }
    });
    let (title, code, active) = (reason.title.clone(), reason.code.clone(), reason.active);
    let element_id = format!("policy-{code}");
    view! {
        // Its form exists only while it is open (see `Disclosure`): the add form's Title and
        // Guideline are then the only ones on the page.
        <Disclosure id=element_id class="card policy-reason" summary=move || view! {
            <strong>{title}</strong>
            <code class="muted">{code}</code>
            {(!active).then(|| view! { <span class="badge muted">"Retired"</span> })}
        }>
            {let reason = reason.clone(); view! {
            <ActionForm action=save attr:class="stack narrow" attr:novalidate=true>
                <FormError error=form_error(result)/>
                <input type="hidden" name="input[id]" value=id.to_string()/>
                <input type="hidden" name="input[code]" value=reason.code.clone()/>
                <div class="field" class:invalid=move || field_error(result, "title").get().is_some()>
                    <label for=format!("title-{id}")>"Title"</label>
                    <input id=format!("title-{id}") name="input[title]" maxlength="120" value=reason.title.clone()/>
                    <p class="field-error" role="alert">{move || field_error(result, "title").get()}</p>
                </div>
                <div class="field" class:invalid=move || field_error(result, "guideline").get().is_some()>
                    <label for=format!("guideline-{id}")>"Guideline"</label>
                    <textarea id=format!("guideline-{id}") name="input[guideline]" rows="4" maxlength=GUIDELINE_MAX.to_string()>{reason.guideline.clone()}</textarea>
                    <p class="field-error" role="alert">{move || field_error(result, "guideline").get()}</p>
                </div>
                <label class="check">
                    <input type="checkbox" name="input[active]" value="true" checked=reason.active/>
                    " Moderators can cite it"
                </label>
                <button type="submit" disabled=move || save.pending().get()>"Save"</button>
            </ActionForm>
            }}
        </Disclosure>
    }
}

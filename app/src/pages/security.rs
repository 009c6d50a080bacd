//! The signed-in user's own security, on the account page: change the password (the current
//! one required; other sessions end) and sign out everywhere else.

use crate::{
    api::auth::{ChangePassword, SignOutEverywhere},
    components::{Field, FormError, field_error, form_error},
};
use leptos::prelude::*;

/// "Sign-in & security": the password form and the "sign out everywhere" button. Both work as
/// plain forms before the wasm has loaded.
#[component]
pub fn SecuritySection(
    /// On a page of its own the page title names it, so the section drops its heading.
    #[prop(optional)]
    standalone: bool,
) -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let everywhere = ServerAction::<SignOutEverywhere>::new();
    let changed: Signal<_> = change.value().into();
    let ended: Signal<_> = everywhere.value().into();
    let password_saved = move || matches!(change.value().get(), Some(Ok(())));
    let sessions_ended = move || match everywhere.value().get() {
        Some(Ok(0)) => Some("No other session was open.".to_owned()),
        Some(Ok(1)) => Some("1 other session ended.".to_owned()),
        Some(Ok(n)) => Some(format!("{n} other sessions ended.")),
        _ => None,
    };
    view! {
        <section class="card security" aria-label="Sign-in & security">
            {(!standalone).then(|| view! { <h2>"Sign-in & security"</h2> })}
            <h3>"Change password"</h3>
            <ActionForm action=change attr:class="stack narrow" attr:novalidate=true>
                <FormError error=form_error(changed)/>
                <Show when=password_saved>
                    <div class="banner success" role="status">
                        "Password changed. Your other sessions were signed out."
                    </div>
                </Show>
                <Field
                    id="current-password"
                    name="input[current]"
                    label="Current password"
                    kind="password"
                    autocomplete="current-password"
                    required=true
                    error=field_error(changed, "current")
                />
                <Field
                    id="new-password"
                    name="input[new]"
                    label="New password"
                    kind="password"
                    autocomplete="new-password"
                    hint="10 to 128 characters; not a common password."
                    required=true
                    error=field_error(changed, "new")
                />
                <button type="submit" class="primary" disabled=move || change.pending().get()>
                    "Change password"
                </button>
            </ActionForm>
            <h3>"Sessions"</h3>
            <p class="muted small">
                "Signed in on another device, or on one you no longer have? End every session but this one."
            </p>
            <ActionForm action=everywhere attr:class="stack narrow">
                <FormError error=form_error(ended)/>
                <Show when=move || sessions_ended().is_some()>
                    <div class="banner success" role="status">{sessions_ended}</div>
                </Show>
                <button type="submit" disabled=move || everywhere.pending().get()>
                    "Sign out everywhere else"
                </button>
            </ActionForm>
        </section>
    }
}

/// `/security`: the same section on a page of its own, for every signed-in user (staff without
/// an ad account too).
#[component]
pub fn SecurityPage() -> impl IntoView {
    view! {
        <leptos_meta::Title text="Sign-in & security"/>
        <h1>"Sign-in & security"</h1>
        <SecuritySection standalone=true/>
    }
}

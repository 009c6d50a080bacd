//! The mailed link's page (`/verify/:token`): one click confirms the address for the user it
//! belongs to; anyone else holding it (the address's owner) sets a new password instead. And
//! `ConfirmBanner`, the dashboard's reminder to confirm, with "send the link again".

use crate::{
    api::verification::{ResendConfirmation, get_email_link},
    components::{Field, FormError, field_error, form_error},
    error::AppError,
    model::{EmailLinkPreview, EmailLinkState, Viewer},
    pages::{auth::use_auth, suspend_once},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};

#[component]
pub fn VerifyPage() -> impl IntoView {
    let params = use_params_map();
    let token = Memo::new(move |_| params.read().get("token").unwrap_or_default());
    let link = Resource::new(move || token.get(), get_email_link);
    view! {
        <Title text="Confirm your email address"/>
        <main class="auth-page">
            <div class="auth-card">
                <a class="brand" href="/">"Herald"</a>
                <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || suspend_once(async move {
                        match link.await {
                            Ok(preview) => view! { <LinkForm token=token.get_untracked() preview/> }
                                .into_any(),
                            Err(AppError::NotFound) => view! {
                                <h1>"Link not found"</h1>
                                <p class="banner error" role="alert">
                                    "This link is not valid. Copy the whole link from the email, or sign in and ask for a new one."
                                </p>
                                <p class="muted"><A href="/sign-in">"Sign in"</A></p>
                            }
                            .into_any(),
                            Err(e) => view! { <p class="banner error">{e.to_string()}</p> }.into_any(),
                        }
                    })}
                </Suspense>
            </div>
        </main>
    }
}

#[component]
fn LinkForm(token: String, preview: EmailLinkPreview) -> impl IntoView {
    let email = preview.email.clone();
    match (preview.state, preview.yours) {
        (EmailLinkState::Open, true) => view! {
            <h1>"Confirm your email address"</h1>
            <p>"Confirm that " <strong>{email}</strong> " is your address."</p>
            <ConfirmForm token/>
        }
        .into_any(),
        (EmailLinkState::Open, false) => view! {
            <h1>"Choose a password"</h1>
            <p>
                "Set a new password for the Herald login of " <strong>{email}</strong>
                ". This confirms the address and signs out everyone else using the login."
            </p>
            <NewPasswordForm token/>
            <p class="muted">
                "Know the password? " <A href="/sign-in">"Sign in"</A>
                ", then open this link again to confirm without changing it."
            </p>
        }
        .into_any(),
        (state, _) => view! {
            <h1>"Link no longer valid"</h1>
            <p class="banner error" role="alert">{state.explain()}</p>
            <p class="muted"><A href="/">"Go to Herald"</A></p>
        }
        .into_any(),
    }
}

#[component]
fn ConfirmForm(token: String) -> impl IntoView {
    let action = use_auth().confirm_email;
    view! {
        <ActionForm action=action attr:class="stack">
            <FormError error=form_error(action.value().into())/>
            <input type="hidden" name="token" value=token/>
            <button type="submit" class="primary" id="confirm-email" disabled=move || action.pending().get()>
                "Confirm my address"
            </button>
        </ActionForm>
    }
}

#[component]
fn NewPasswordForm(token: String) -> impl IntoView {
    let action = use_auth().set_password_by_email;
    let result: Signal<_> = action.value().into();
    view! {
        <FormError error=form_error(result)/>
        <ActionForm action=action attr:class="stack" attr:novalidate=true>
            <input type="hidden" name="input[token]" value=token/>
            <Field
                id="new-password"
                name="input[password]"
                label="New password"
                kind="password"
                autocomplete="new-password"
                hint="10 to 128 characters. Common passwords are refused."
                required=true
                error=field_error(result, "password")
            />
            <button type="submit" class="primary" id="set-password" disabled=move || action.pending().get()>
                "Set password and sign in"
            </button>
        </ActionForm>
    }
}

/// For a signed-in user who has not confirmed their address: what it is needed for, and a
/// button that mails a new link. Nothing for everyone else.
#[component]
pub fn ConfirmBanner() -> impl IntoView {
    let viewer = use_context::<Viewer>().filter(|v| !v.email_verified);
    viewer.map(|viewer| {
        let resend = ServerAction::<ResendConfirmation>::new();
        let result: Signal<_> = resend.value().into();
        let sent = move || matches!(result.get(), Some(Ok(())));
        view! {
            <section class="banner info" data-test="confirm-banner" aria-labelledby="confirm-heading">
                <h2 id="confirm-heading">"Confirm your email address"</h2>
                <p>
                    "We emailed a link to " <strong>{viewer.email}</strong>
                    ". You can advertise meanwhile; joining other ad accounts by invitation and staff roles need a confirmed address."
                </p>
                <FormError error=form_error(result)/>
                <Show
                    when=sent
                    fallback=move || view! {
                        <ActionForm action=resend attr:class="inline">
                            <button type="submit" class="small" id="resend-confirmation" disabled=move || resend.pending().get()>
                                "Send the link again"
                            </button>
                        </ActionForm>
                    }
                >
                    <p role="status">"Sent. Check your inbox."</p>
                </Show>
            </section>
        }
    })
}

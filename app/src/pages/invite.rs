//! The invitation page (`/invite/:token`): what the link is for and the way in — join, sign in
//! or sign up with the invited email — and `InviteNote`, the reminder on those auth pages.

use crate::{
    api::members::get_invitation,
    components::{FormError, form_error},
    error::AppError,
    model::{InvitationPreview, InvitationStatus, UNKNOWN_INVITATION, Viewer, urlencode},
    pages::{auth::use_auth, suspend_once, utc},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};

#[component]
pub fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = Memo::new(move |_| params.read().get("token").unwrap_or_default());
    let preview = Resource::new(move || token.get(), get_invitation);
    let auth = use_auth();
    view! {
        <Title text="Invitation"/>
        <main class="auth-page">
            <div class="auth-card invite-card">
                <a class="brand" href="/">"Herald"</a>
                <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || suspend_once(async move {
                        let viewer = auth.viewer.await.ok().flatten();
                        match preview.await {
                            Ok(preview) => {
                                view! { <Invitation token=token.get_untracked() preview viewer/> }
                                    .into_any()
                            }
                            Err(AppError::NotFound) => view! {
                                <h1>"Invitation not found"</h1>
                                <p class="banner error" role="alert">{UNKNOWN_INVITATION}</p>
                                <p class="muted"><A href="/">"Go to Herald"</A></p>
                            }
                            .into_any(),
                            Err(e) => view! { <p class="banner error">{e.to_string()}</p> }.into_any(),
                        }
                    })}
                </Suspense>
            </div>
        </main>
    }
    .into_any()
}

#[component]
fn Invitation(token: String, preview: InvitationPreview, viewer: Option<Viewer>) -> impl IntoView {
    let facts = view! {
        <dl class="facts">
            <dt>"Account"</dt><dd data-test="invite-account">{preview.account_name.clone()}</dd>
            <dt>"Role"</dt><dd data-test="invite-role">{preview.role.label()}</dd>
            <dt>"For"</dt><dd data-test="invite-email">{preview.email.clone()}</dd>
            <dt>"Valid until"</dt><dd>{utc(preview.expires_at)}</dd>
        </dl>
    };
    let next = if preview.status != InvitationStatus::Open {
        view! {
            <p class="banner error" role="alert">{preview.status.explain()}</p>
            <p class="muted"><A href="/">"Go to Herald"</A></p>
        }
        .into_any()
    } else {
        match viewer {
            Some(viewer) if viewer.email == preview.email => {
                view! { <JoinForm token account=preview.account_name.clone()/> }.into_any()
            }
            Some(viewer) => {
                view! { <WrongUser token viewer invited=preview.email.clone()/> }.into_any()
            }
            None => {
                let q = urlencode(&token);
                view! {
                    <p>"Sign in or create a login with " <strong>{preview.email.clone()}</strong> " to join."</p>
                    <div class="actions">
                        <a class="button primary" href=format!("/sign-up?invite={q}")>"Create a login"</a>
                        <a class="button" href=format!("/sign-in?invite={q}")>"Sign in"</a>
                    </div>
                }
                .into_any()
            }
        }
    };
    view! {
        <h1>"Join " {preview.account_name.clone()} " on Herald"</h1>
        <p class="muted">"You have been invited to work in this ad account."</p>
        {facts}
        {next}
    }
    .into_any()
}

#[component]
fn JoinForm(token: String, account: String) -> impl IntoView {
    // The viewer (memberships, current account) reloads when it completes.
    let accept = use_auth().accept_invitation;
    view! {
        <ActionForm action=accept attr:class="stack">
            <FormError error=form_error(accept.value().into())/>
            <input type="hidden" name="token" value=token/>
            <button type="submit" class="primary" id="join" disabled=move || accept.pending().get()>
                "Join " {account}
            </button>
        </ActionForm>
    }
}

#[component]
fn WrongUser(token: String, viewer: Viewer, invited: String) -> impl IntoView {
    let sign_out = use_auth().sign_out;
    view! {
        <p class="banner error" role="alert">
            "You are signed in as " {viewer.email} ", but this invitation is for " {invited}
            ". Sign out, then sign in or sign up with that address."
        </p>
        <ActionForm action=sign_out>
            <input type="hidden" name="invite" value=token/>
            <button type="submit" id="invite-sign-out">"Sign out"</button>
        </ActionForm>
    }
}

/// On the sign-in and sign-up pages reached from an invitation: which account it joins.
#[component]
pub fn InviteNote(token: String) -> impl IntoView {
    let preview = Resource::new(move || token.clone(), get_invitation);
    view! {
        <Suspense>
            {move || suspend_once(async move {
                match preview.await {
                    Ok(p) if p.status == InvitationStatus::Open => view! {
                        <p class="banner info" data-test="invite-note">
                            "You are joining " <strong>{p.account_name}</strong> " as "
                            {p.role.label()} ". Use " <strong>{p.email}</strong> "."
                        </p>
                    }
                    .into_any(),
                    Ok(p) => view! { <p class="banner error" role="alert">{p.status.explain()}</p> }
                        .into_any(),
                    Err(_) => view! { <p class="banner error" role="alert">{UNKNOWN_INVITATION}</p> }
                        .into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

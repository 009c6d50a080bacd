//! Sign-in, sign-up and "Forgot your password?" pages, and `Auth`: the viewer and the actions
//! that change it.

use crate::{
    api::{
        auth::{SignIn, SignOut, SignUp, SwitchAccount, get_viewer},
        members::{AcceptInvitation, LeaveAccount},
        verification::{ConfirmEmail, ForgotPassword, SetPasswordByEmail},
    },
    components::{Field, FormError, SelectField, field_error, form_error},
    error::AppError,
    model::{RESET_SENT, TIME_ZONES, Viewer, invitation_path, urlencode},
    pages::{invite::InviteNote, suspend_once},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{A, Redirect},
    hooks::use_query_map,
};

/// Who is signed in, refetched whenever one of the actions that changes it completes.
#[derive(Clone, Copy)]
pub struct Auth {
    pub viewer: Resource<Result<Option<Viewer>, AppError>>,
    pub sign_in: ServerAction<SignIn>,
    pub sign_up: ServerAction<SignUp>,
    pub sign_out: ServerAction<SignOut>,
    pub switch_account: ServerAction<SwitchAccount>,
    pub accept_invitation: ServerAction<AcceptInvitation>,
    pub leave_account: ServerAction<LeaveAccount>,
    pub confirm_email: ServerAction<ConfirmEmail>,
    pub set_password_by_email: ServerAction<SetPasswordByEmail>,
}

/// Creates the auth actions and the viewer resource and provides them to the whole app.
pub fn provide_auth() {
    let sign_in = ServerAction::<SignIn>::new();
    let sign_up = ServerAction::<SignUp>::new();
    let sign_out = ServerAction::<SignOut>::new();
    let switch_account = ServerAction::<SwitchAccount>::new();
    let accept_invitation = ServerAction::<AcceptInvitation>::new();
    let leave_account = ServerAction::<LeaveAccount>::new();
    let confirm_email = ServerAction::<ConfirmEmail>::new();
    let set_password_by_email = ServerAction::<SetPasswordByEmail>::new();
    let viewer = Resource::new(
        move || {
            (
                sign_in.version().get(),
                sign_up.version().get(),
                sign_out.version().get(),
                switch_account.version().get(),
                accept_invitation.version().get() + leave_account.version().get(),
                confirm_email.version().get() + set_password_by_email.version().get(),
            )
        },
        |_| get_viewer(),
    );
    provide_context(Auth {
        viewer,
        sign_in,
        sign_up,
        sign_out,
        switch_account,
        accept_invitation,
        leave_account,
        confirm_email,
        set_password_by_email,
    });
}

pub fn use_auth() -> Auth {
    expect_context::<Auth>()
}

/// Sends a signed-in visitor of the sign-in/up pages to the dashboard, or back to the
/// invitation they came from.
#[component]
fn RedirectIfSignedIn(invite: Option<String>) -> impl IntoView {
    let auth = use_auth();
    let path = invite.map_or_else(|| "/".to_owned(), |t| invitation_path(&t));
    view! {
        <Suspense>
            {move || {
                let path = path.clone();
                suspend_once(async move {
                    // Only for a visitor who opened the page signed in: after this page's own
                    // sign-in or sign-up, the server's answer says where to go (the page may
                    // still show while the next page's code loads; two redirects would race).
                    let own_action = auth.sign_in.version().get_untracked() > 0
                        || auth.sign_up.version().get_untracked() > 0;
                    (matches!(auth.viewer.await, Ok(Some(_))) && !own_action)
                        .then(|| view! { <Redirect path/> })
                })
            }}
        </Suspense>
    }
}

/// The `invite` token of the page's query, if it came from an invitation link.
fn invite_token() -> Option<String> {
    use_query_map()
        .read_untracked()
        .get("invite")
        .filter(|t| !t.is_empty())
}

/// The hidden form field that carries the invitation token, and the note saying what it joins.
fn invite_parts(invite: &Option<String>) -> (impl IntoView + use<>, impl IntoView + use<>) {
    let hidden = invite
        .clone()
        .map(|t| view! { <input type="hidden" name="invite" value=t/> });
    let note = invite.clone().map(|token| view! { <InviteNote token/> });
    (hidden, note)
}

/// `path`, carrying the invitation token along when there is one.
fn with_invite(path: &str, invite: &Option<String>) -> String {
    match invite {
        Some(t) => format!("{path}?invite={}", urlencode(t)),
        None => path.to_owned(),
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let action = use_auth().sign_in;
    let result: Signal<_> = action.value().into();
    let show_password = RwSignal::new(false);
    let invite = invite_token();
    let (hidden, note) = invite_parts(&invite);
    view! {
        <Title text="Sign in"/>
        <RedirectIfSignedIn invite=invite.clone()/>
        <main class="auth-page">
            <div class="auth-card">
                <a class="brand" href="/">"Herald"</a>
                <h1>"Sign in"</h1>
                {note}
                <FormError error=form_error(result)/>
                <ActionForm action=action attr:class="stack" attr:novalidate=true>
                    {hidden}
                    <Field
                        id="sign-in-email"
                        name="input[email]"
                        label="Email"
                        kind="email"
                        autocomplete="username"
                        required=true
                        error=field_error(result, "email")
                    />
                    <div class="field" class:invalid=move || field_error(result, "password").get().is_some()>
                        <label for="sign-in-password">"Password"</label>
                        <div class="password-row">
                            <input
                                id="sign-in-password"
                                name="input[password]"
                                type=move || if show_password.get() { "text" } else { "password" }
                                autocomplete="current-password"
                                required
                            />
                            <button
                                type="button"
                                class="ghost small"
                                id="toggle-password"
                                aria-pressed=move || show_password.get().to_string()
                                on:click=move |_| show_password.update(|s| *s = !*s)
                            >
                                {move || if show_password.get() { "Hide" } else { "Show" }}
                            </button>
                        </div>
                        <p class="field-error" role="alert">
                            {move || field_error(result, "password").get()}
                        </p>
                    </div>
                    <button type="submit" class="primary" disabled=move || action.pending().get()>
                        {move || if action.pending().get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </ActionForm>
                <p class="muted">
                    <A href="/forgot-password">"Forgot your password?"</A>
                </p>
                <p class="muted">
                    "New to Herald? " <A href=with_invite("/sign-up", &invite)>"Create an account"</A>
                </p>
            </div>
        </main>
    }
}

/// `/forgot-password`: asks for the login's address and mails it a link to choose a new
/// password; the answer never says whether a login uses the address.
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<ForgotPassword>::new();
    let result: Signal<_> = action.value().into();
    let sent = move || matches!(action.value().get(), Some(Ok(())));
    view! {
        <Title text="Forgot your password?"/>
        <RedirectIfSignedIn invite=None/>
        <main class="auth-page">
            <div class="auth-card">
                <a class="brand" href="/">"Herald"</a>
                <h1>"Forgot your password?"</h1>
                <p class="muted">"Enter your login's email address and we will email you a link to choose a new password."</p>
                <FormError error=form_error(result)/>
                <Show when=sent>
                    <div class="banner success" role="status" data-test="reset-sent">{RESET_SENT}</div>
                </Show>
                <ActionForm action=action attr:class="stack" attr:novalidate=true>
                    <Field
                        id="forgot-email"
                        name="input[email]"
                        label="Email"
                        kind="email"
                        autocomplete="username"
                        required=true
                        error=field_error(result, "email")
                    />
                    <button type="submit" class="primary" disabled=move || action.pending().get()>
                        {move || if action.pending().get() { "Sending…" } else { "Email me a link" }}
                    </button>
                </ActionForm>
                <p class="muted"><A href="/sign-in">"Back to sign in"</A></p>
            </div>
        </main>
    }
}

#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = use_auth().sign_up;
    let result: Signal<_> = action.value().into();
    let invite = invite_token();
    let (hidden, note) = invite_parts(&invite);
    // Someone joining an account by invitation gets no account of their own.
    let account_fields = invite.is_none().then(|| {
        view! {
            <Field
                id="sign-up-account"
                name="input[account_name]"
                label="Company or ad account name"
                autocomplete="organization"
                required=true
                error=field_error(result, "account_name")
            />
            <SelectField
                id="sign-up-tz"
                name="input[time_zone]"
                label="Time zone"
                options=TIME_ZONES
                selected="Europe/Berlin"
                error=field_error(result, "time_zone")
            />
        }
    });
    let joining = invite.is_some();
    let (title, lead) = if joining {
        (
            "Create your login",
            "Choose a password for the address you were invited with.",
        )
    } else {
        (
            "Create your ad account",
            "Target public channels by topic, language and size — never people.",
        )
    };
    view! {
        <Title text="Create an account"/>
        <RedirectIfSignedIn invite=invite.clone()/>
        <main class="auth-page">
            <div class="auth-card">
                <a class="brand" href="/">"Herald"</a>
                <h1>{title}</h1>
                <p class="muted">{lead}</p>
                {note}
                <FormError error=form_error(result)/>
                <ActionForm action=action attr:class="stack" attr:novalidate=true>
                    {hidden}
                    <Field
                        id="sign-up-email"
                        name="input[email]"
                        label="Work email"
                        kind="email"
                        autocomplete="email"
                        required=true
                        error=field_error(result, "email")
                    />
                    <Field
                        id="sign-up-password"
                        name="input[password]"
                        label="Password"
                        kind="password"
                        autocomplete="new-password"
                        hint="10 to 128 characters. Common passwords are refused."
                        required=true
                        error=field_error(result, "password")
                    />
                    {account_fields}
                    <button type="submit" class="primary" disabled=move || action.pending().get()>
                        {move || match (action.pending().get(), joining) {
                            (true, _) => "Creating…",
                            (false, true) => "Create login and join",
                            (false, false) => "Create account",
                        }}
                    </button>
                </ActionForm>
                <p class="muted">
                    "Already have an account? " <A href=with_invite("/sign-in", &invite)>"Sign in"</A>
                </p>
            </div>
        </main>
    }
}

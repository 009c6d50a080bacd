//! Sign-in and sign-up pages, and `Auth`: the viewer and the actions that change it.

use crate::{
    api::auth::{SignIn, SignOut, SignUp, SwitchAccount, get_viewer},
    components::{Field, FormError, SelectField, field_error, form_error},
    error::AppError,
    model::{TIME_ZONES, Viewer},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Redirect};

/// Who is signed in, refetched whenever one of the actions that changes it completes.
#[derive(Clone, Copy)]
pub struct Auth {
    pub viewer: Resource<Result<Option<Viewer>, AppError>>,
    pub sign_in: ServerAction<SignIn>,
    pub sign_up: ServerAction<SignUp>,
    pub sign_out: ServerAction<SignOut>,
    pub switch_account: ServerAction<SwitchAccount>,
}

/// Creates the auth actions and the viewer resource and provides them to the whole app.
pub fn provide_auth() {
    let sign_in = ServerAction::<SignIn>::new();
    let sign_up = ServerAction::<SignUp>::new();
    let sign_out = ServerAction::<SignOut>::new();
    let switch_account = ServerAction::<SwitchAccount>::new();
    let viewer = Resource::new(
        move || {
            (
                sign_in.version().get(),
                sign_up.version().get(),
                sign_out.version().get(),
                switch_account.version().get(),
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
    });
}

pub fn use_auth() -> Auth {
    expect_context::<Auth>()
}

/// Sends a signed-in visitor of the sign-in/up pages to the dashboard.
#[component]
fn RedirectIfSignedIn() -> impl IntoView {
    let auth = use_auth();
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                matches!(auth.viewer.await, Ok(Some(_))).then(|| view! { <Redirect path="/"/> })
            })}
        </Suspense>
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let action = use_auth().sign_in;
    let result: Signal<_> = action.value().into();
    let show_password = RwSignal::new(false);
    view! {
        <Title text="Sign in"/>
        <RedirectIfSignedIn/>
        <main class="auth-page">
            <div class="auth-card">
                <a class="brand" href="/">"Herald"</a>
                <h1>"Sign in"</h1>
                <FormError error=form_error(result)/>
                <ActionForm action=action attr:class="stack" attr:novalidate=true>
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
                <p class="muted">"New to Herald? " <A href="/sign-up">"Create an account"</A></p>
            </div>
        </main>
    }
}

#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = use_auth().sign_up;
    let result: Signal<_> = action.value().into();
    view! {
        <Title text="Create an account"/>
        <RedirectIfSignedIn/>
        <main class="auth-page">
            <div class="auth-card">
                <a class="brand" href="/">"Herald"</a>
                <h1>"Create your ad account"</h1>
                <p class="muted">
                    "Target public channels by topic, language and size — never people."
                </p>
                <FormError error=form_error(result)/>
                <ActionForm action=action attr:class="stack" attr:novalidate=true>
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
                    <button type="submit" class="primary" disabled=move || action.pending().get()>
                        {move || if action.pending().get() { "Creating…" } else { "Create account" }}
                    </button>
                </ActionForm>
                <p class="muted">"Already have an account? " <A href="/sign-in">"Sign in"</A></p>
            </div>
        </main>
    }
}

//! The dashboard: the current ad account at a glance and what the viewer's roles allow.

use crate::{
    api::accounts::get_account,
    model::{AccountDetails, Viewer},
    pages::{utc, verify::ConfirmBanner},
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let viewer = expect_context::<Viewer>();
    let account = Resource::new(
        move || viewer.current_account,
        move |id| async move {
            match id {
                Some(_) => get_account().await.map(Some),
                None => Ok(None),
            }
        },
    );
    let email = expect_context::<Viewer>().email;
    view! {
        <Title text="Dashboard"/>
        <h1>"Dashboard"</h1>
        <p class="lead">{format!("Signed in as {email}.")}</p>
        <ConfirmBanner/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let viewer = expect_context::<Viewer>();
                match account.await {
                    Ok(details) => view! { <Cards viewer details/> }.into_any(),
                    Err(e) => view! { <p class="banner error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Cards(viewer: Viewer, details: Option<AccountDetails>) -> impl IntoView {
    let staff: Vec<_> = viewer.staff_roles.iter().map(|r| r.label()).collect();
    let nothing = details.is_none() && staff.is_empty();
    view! {
        <div class="cards">
            {details.map(|a| view! {
                <section class="card" aria-labelledby="account-card">
                    <h2 id="account-card">"Ad account"</h2>
                    <dl class="facts">
                        <dt>"Name"</dt><dd class="account-title">{a.name}</dd>
                        <dt>"Your role"</dt><dd>{a.my_role.label()}</dd>
                        <dt>"Currency"</dt><dd>{a.currency}</dd>
                        <dt>"Time zone"</dt><dd>{a.time_zone}</dd>
                        <dt>"Members"</dt><dd>{a.members.len()}</dd>
                        <dt>"Since"</dt><dd>{utc(a.created_at)}</dd>
                    </dl>
                    <a class="button" href="/account">"Account & members"</a>
                </section>
            })}
            {(!staff.is_empty()).then(|| view! {
                <section class="card" aria-labelledby="staff-card">
                    <h2 id="staff-card">"Platform staff"</h2>
                    <p>"Your platform roles: " <strong>{staff.join(", ")}</strong></p>
                    <p class="muted small">
                        "Every staff action is recorded in the audit trail, which is never edited or deleted."
                    </p>
                </section>
            })}
            {nothing.then(|| view! {
                <section class="card">
                    <h2>"No ad account"</h2>
                    <p>"You are not a member of any ad account. Ask an account owner to invite you."</p>
                </section>
            })}
        </div>
    }
}

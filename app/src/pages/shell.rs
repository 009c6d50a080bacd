//! The signed-in app shell: header (brand, account switcher, user menu), role-based
//! navigation and the routed content. Visitors are sent to the sign-in page.

use crate::{
    api::moderation::unread_notifications,
    components::SideNav,
    model::Viewer,
    pages::{auth::use_auth, suspend_once},
};
use leptos::prelude::*;
use leptos_router::{
    components::{Outlet, Redirect},
    hooks::use_location,
};

#[component]
pub fn AppShell() -> impl IntoView {
    let auth = use_auth();
    view! {
        <Suspense fallback=|| view! { <div class="loading">"Loading…"</div> }>
            {move || suspend_once(async move {
                match auth.viewer.await {
                    Ok(Some(viewer)) => view! { <SignedIn viewer/> }.into_any(),
                    Ok(None) | Err(_) => view! { <Redirect path="/sign-in"/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The header's count of unread notifications (the notifications page clears it).
#[derive(Clone, Copy, Debug)]
pub struct UnreadCount(pub RwSignal<u64>);

#[component]
fn SignedIn(viewer: Viewer) -> impl IntoView {
    provide_context(viewer.clone());
    let unread = RwSignal::new(viewer.unread_notifications);
    provide_context(UnreadCount(unread));
    // In the browser, the count is asked again on every navigation (decisions arrive while
    // the advertiser works).
    if viewer.current_account.is_some() {
        let location = use_location();
        let fresh = LocalResource::new(move || {
            location.pathname.track();
            unread_notifications()
        });
        Effect::new(move |_| {
            if let Some(Ok(n)) = fresh.get() {
                unread.try_set(n);
            }
        });
    }
    view! {
        <div class="app">
            <Header viewer=viewer.clone()/>
            <div class="app-body">
                <SideNav viewer/>
                <main class="content" id="content">
                    <Outlet/>
                </main>
            </div>
        </div>
    }
    .into_any()
}

#[component]
fn Header(viewer: Viewer) -> impl IntoView {
    let auth = use_auth();
    let staff = viewer
        .staff_roles
        .iter()
        .map(|r| r.label())
        .collect::<Vec<_>>()
        .join(", ");
    let memberships = viewer.memberships.clone();
    let current = viewer.current_account;
    let switcher = (memberships.len() > 1).then(move || {
        view! {
            <ActionForm action=auth.switch_account attr:class="account-switcher">
                <label for="account-switch" class="visually-hidden">"Ad account"</label>
                <select id="account-switch" name="account_id">
                    {memberships
                        .iter()
                        .map(|m| {
                            view! {
                                <option value=m.account_id.0 selected=Some(m.account_id) == current>
                                    {m.account_name.clone()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
                <button type="submit" class="ghost small">"Switch"</button>
            </ActionForm>
        }
    });
    let single = (viewer.memberships.len() == 1)
        .then(|| viewer.current_membership().map(|m| m.account_name.clone()))
        .flatten()
        .map(|name| view! { <span class="account-name">{name}</span> });
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Herald"</a>
            {switcher}
            {single}
            <div class="spacer"></div>
            {viewer.balance.clone().map(|(available, currency)| view! {
                // To the cent at a glance; exactly on hover and on the balance page.
                <a class="balance-link" href="/balance" id="header-balance"
                    title=format!("Available balance: {} exactly. Open balance and history.", available.display(&currency))>
                    <span class="muted small">"Balance "</span>
                    <strong data-test="header-balance">{available.display_cents(&currency)}</strong>
                </a>
            })}
            {viewer.current_account.is_some().then(|| {
                let count = use_context::<UnreadCount>().map(|c| c.0);
                let n = move || count.map(|c| c.get()).unwrap_or(0);
                view! {
                    <a class="notif-link" href="/notifications" id="notifications-link"
                        aria-label=move || format!("Notifications: {} unread", n())>
                        <svg class="bell" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
                            <path d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z" fill="currentColor"/>
                        </svg>
                        <span class="notif-count" class:zero=move || n() == 0 data-test="unread-count">{move || n().to_string()}</span>
                    </a>
                }
            })}
            // A popover: a tap outside or Escape closes it.
            <div class="user-menu">
                // At phone width only the avatar letter shows: the label names the menu.
                <button type="button" class="user-menu-button" popovertarget="user-menu-panel"
                    aria-label=format!("Account menu of {}", viewer.email)>
                    <span class="avatar" aria-hidden="true">
                        {viewer.email.chars().next().map(|c| c.to_ascii_uppercase())}
                    </span>
                    <span class="user-email">{viewer.email.clone()}</span>
                </button>
                <div class="menu" id="user-menu-panel" popover="auto">
                    <p class="muted small">{viewer.email.clone()}</p>
                    {(!staff.is_empty()).then(|| view! { <p class="small">"Staff: " {staff}</p> })}
                    <ActionForm action=auth.sign_out>
                        <button type="submit" class="ghost" id="sign-out">"Sign out"</button>
                    </ActionForm>
                </div>
            </div>
        </header>
    }
    .into_any()
}

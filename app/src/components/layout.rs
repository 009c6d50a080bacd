//! The left navigation, drawn from what the viewer's roles allow and nothing else. On a phone
//! its links fold behind a "Menu" button that opens them as a popover (the browser's own: it
//! works before the wasm has loaded, and a tap outside or Escape closes it); on a wider screen
//! they are always shown (`style/main.css`).

use crate::model::{AccountPermission, PlatformRole, Viewer};
use leptos::prelude::*;
use leptos_router::hooks::use_location;

/// Links whose pages sit under another link's path (`/finance/spend` under `/finance`).
const NESTED: [&str; 4] = [
    "/finance/spend",
    "/finance/payables",
    "/finance/corrections",
    "/finance/reconciliation",
];

/// Navigation links for `viewer`; the current page is marked with `aria-current`.
#[component]
pub fn SideNav(viewer: Viewer) -> impl IntoView {
    let location = use_location();
    let pathname = location.pathname;
    // On a phone the links sit in a popover: following one closes it (the shell stays mounted
    // from page to page, so nothing else would), even a link to the page already shown; so
    // does any other change of page, such as going back.
    let menu = NodeRef::<leptos::html::Div>::new();
    let close = move || {
        if let Some(menu) = menu.get_untracked()
            && menu.matches(":popover-open").unwrap_or(false)
        {
            let _ = menu.hide_popover();
        }
    };
    Effect::new(move |_| {
        pathname.track();
        close();
    });
    // A phone turned sideways, a window widened: past the phone width the links are shown in
    // the sidebar, so an open menu closes rather than stay over the page.
    #[cfg(feature = "hydrate")]
    {
        let resized = window_event_listener(leptos::ev::resize, move |_| {
            let wide = window()
                .inner_width()
                .ok()
                .and_then(|w| w.as_f64())
                .is_some_and(|w| w > 760.0);
            if wide {
                close();
            }
        });
        on_cleanup(move || resized.remove());
    }
    let link = move |href: &'static str, label: &'static str| {
        let current = move || {
            let path = location.pathname.get();
            let on = if href == "/" {
                path == "/"
            } else {
                // A section's page is current below it too, unless a nested link is.
                path.starts_with(href)
                    && !NESTED
                        .iter()
                        .any(|n| n.len() > href.len() && n.starts_with(href) && path.starts_with(n))
            };
            on.then_some("page")
        };
        view! {
            <li>
                <a href=href aria-current=current on:click=move |_| close()>{label}</a>
            </li>
        }
    };
    let member = viewer.current_membership().map(|m| m.role);
    let account_links = member.map(|role| {
        view! {
            <p class="nav-heading">"Advertising"</p>
            <ul>
                {link("/", "Dashboard")}
                {role.allows(AccountPermission::ViewCampaigns).then(|| link("/campaigns", "Campaigns"))}
                {(role.allows(AccountPermission::ViewCampaigns) || role.allows(AccountPermission::ViewBilling)).then(|| link("/reports", "Reports"))}
                {link("/targeting", "Targeting & forecast")}
                {link("/channels", "Channels")}
                {role.allows(AccountPermission::ViewBilling).then(|| link("/balance", "Balance & billing"))}
                {role.allows(AccountPermission::ViewAccount).then(|| link("/account", "Account & members"))}
            </ul>
        }
    });
    let moderation = viewer.has_staff_role(PlatformRole::Moderator).then(|| {
        view! {
            <p class="nav-heading">"Moderation"</p>
            <ul>
                {link("/moderation", "Review queue")}
            </ul>
        }
    });
    let finance_reader =
        viewer.has_staff_role(PlatformRole::Finance) || viewer.has_staff_role(PlatformRole::Admin);
    let finance = finance_reader.then(|| {
        view! {
            <p class="nav-heading">"Finance"</p>
            <ul>
                {link("/finance", "Credit balances")}
                {link("/finance/spend", "Spend")}
                {link("/finance/payables", "Publisher payables")}
                {link("/finance/corrections", "Corrections")}
                {link("/finance/reconciliation", "Reconciliation")}
            </ul>
        }
    });
    let admin = viewer.has_staff_role(PlatformRole::Admin).then(|| {
        view! {
            <p class="nav-heading">"Administration"</p>
            <ul>
                {link("/admin/users", "Users & roles")}
                {link("/admin/audit", "Audit log")}
                {link("/admin/catalog-import", "Import channels")}
                {link("/admin/topics", "Topics")}
                {link("/admin/policy", "Policy reasons")}
                {link("/admin/settings", "Platform settings")}
                {link("/admin/delivery-keys", "Delivery API keys")}
                {link("/admin/mail", "Mail outbox")}
            </ul>
        }
    });
    view! {
        <nav class="side-nav" aria-label="Main">
            <button type="button" class="nav-menu-button" popovertarget="nav-links">
                <span class="nav-menu-icon" aria-hidden="true">"☰"</span>
                "Menu"
            </button>
            <div id="nav-links" class="nav-links" popover="auto" node_ref=menu>
                {account_links}
                {member.is_none().then(|| view! {
                    <ul>
                        {link("/", "Dashboard")}
                        {link("/channels", "Channels")}
                    </ul>
                })}
                {moderation}
                {finance}
                {admin}
                <ul>
                    {link("/security", "Sign-in & security")}
                </ul>
                <ul class="nav-public">
                    {link("/guidelines", "Ad guidelines")}
                    {link("/review-times", "Review times")}
                    {link("/developers/delivery-api", "Delivery API")}
                </ul>
            </div>
        </nav>
    }
    .into_any()
}

/// A page for staff holding `role` (and, with `or_admin`, for admins, who read finance's
/// pages): anyone else sees the permission message instead of its forms (the server functions
/// behind it refuse them anyway; this keeps the page honest).
#[component]
pub fn StaffOnly(
    role: PlatformRole,
    #[prop(optional)] or_admin: bool,
    children: ChildrenFn,
) -> impl IntoView {
    let allowed = use_context::<Viewer>().is_some_and(|v| {
        v.has_staff_role(role) || (or_admin && v.has_staff_role(PlatformRole::Admin))
    });
    if allowed {
        children().into_any()
    } else {
        view! {
            <p class="banner error" role="alert">
                {crate::error::AppError::Forbidden.to_string()}
            </p>
        }
        .into_any()
    }
}

//! The HTML shell, `<App/>` and the route table.

use crate::pages::{
    account::AccountPage,
    admin::{
        audit::AuditPage, catalog_import::CatalogImportPage, channel::ChannelEditPage,
        delivery_keys::DeliveryKeysPage, mail::MailOutboxPage, policy::PolicyReasonsPage,
        settings::SettingsPage, users::AdminUsersPage,
    },
    auth::{SignInPage, SignUpPage, provide_auth},
    balance::BalancePage,
    campaigns::{ad_edit::AdEditorPage, edit::CampaignBuilderPage, list::CampaignsPage},
    channels::ChannelsPage,
    dashboard::DashboardPage,
    developers::DeliveryApiGuidePage,
    finance::{
        FinanceAccountPage, FinanceCorrectionsPage, FinancePage, FinancePayablesPage,
        FinanceReconcilePage, FinanceSpendPage,
    },
    invite::InvitePage,
    moderation::{queue::ReviewQueuePage, review::ReviewPage},
    not_found::NotFoundPage,
    notifications::NotificationsPage,
    public::{GuidelinesPage, ReviewTimesPage},
    reports::{ReportsPage, SharedReportPage},
    security::SecurityPage,
    shell::AppShell,
    statement::{FinanceStatementPage, StatementPage},
    targeting::TargetingPage,
    verify::VerifyPage,
};
use crate::{components::StaffOnly, model::PlatformRole};
use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{ParentRoute, Route, Router, Routes},
    path,
};

/// The document around every page. On the server it attaches the response's CSP nonce so the
/// inline hydration script may run under a strict Content-Security-Policy.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        let nonce = use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<crate::api::ctx::CspNonce>().cloned());
        if let Some(nonce) = nonce {
            provide_context(leptos::nonce::Nonce::from_value(nonce.0));
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.ico"/>
                <link rel="stylesheet" href="/pkg/herald.css"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_auth();
    // Effects run only in the browser, after hydration: the mark lets tests (and curious
    // humans) see that the wasm has taken over the server-rendered page.
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "");
        }
    });
    view! {
        <Title formatter=|page: String| format!("{page} · Herald")/>
        <Router>
            // Async rendering: a page's data (and the sign-in check) resolves before the status
            // line is sent, so a visitor gets a real 302 and a missing object a real status.
            <Routes fallback=NotFoundPage>
                <Route path=path!("/sign-in") view=SignInPage ssr=SsrMode::Async/>
                <Route path=path!("/sign-up") view=SignUpPage ssr=SsrMode::Async/>
                <Route path=path!("/invite/:token") view=InvitePage ssr=SsrMode::Async/>
                <Route path=path!("/verify/:token") view=VerifyPage ssr=SsrMode::Async/>
                <Route path=path!("/guidelines") view=GuidelinesPage ssr=SsrMode::Async/>
                <Route path=path!("/review-times") view=ReviewTimesPage ssr=SsrMode::Async/>
                <Route path=path!("/developers/delivery-api") view=DeliveryApiGuidePage ssr=SsrMode::Async/>
                <Route path=path!("/shared/:token") view=SharedReportPage ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=AppShell>
                    <Route path=path!("") view=DashboardPage ssr=SsrMode::Async/>
                    <Route path=path!("account") view=AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("targeting") view=TargetingPage ssr=SsrMode::Async/>
                    <Route path=path!("campaigns") view=CampaignsPage ssr=SsrMode::Async/>
                    <Route path=path!("campaigns/new") view=CampaignBuilderPage ssr=SsrMode::Async/>
                    <Route path=path!("campaigns/:id") view=CampaignBuilderPage ssr=SsrMode::Async/>
                    <Route path=path!("campaigns/:id/ads/new") view=AdEditorPage ssr=SsrMode::Async/>
                    <Route path=path!("campaigns/:id/ads/:ad") view=AdEditorPage ssr=SsrMode::Async/>
                    <Route path=path!("channels") view=ChannelsPage ssr=SsrMode::Async/>
                    <Route path=path!("notifications") view=NotificationsPage ssr=SsrMode::Async/>
                    <Route path=path!("balance") view=BalancePage ssr=SsrMode::Async/>
                    <Route path=path!("billing/statement") view=StatementPage ssr=SsrMode::Async/>
                    <Route path=path!("reports") view=ReportsPage ssr=SsrMode::Async/>
                    <Route path=path!("finance") view=|| view! { <StaffOnly role=PlatformRole::Finance or_admin=true><FinancePage/></StaffOnly> } ssr=SsrMode::Async/>
                    <Route path=path!("finance/accounts/:id") view=|| view! { <StaffOnly role=PlatformRole::Finance or_admin=true><FinanceAccountPage/></StaffOnly> } ssr=SsrMode::Async/>
                    <Route path=path!("finance/accounts/:id/statement") view=|| view! { <StaffOnly role=PlatformRole::Finance or_admin=true><FinanceStatementPage/></StaffOnly> } ssr=SsrMode::Async/>
                    <Route path=path!("finance/spend") view=|| view! { <StaffOnly role=PlatformRole::Finance or_admin=true><FinanceSpendPage/></StaffOnly> } ssr=SsrMode::Async/>
                    <Route path=path!("finance/payables") view=|| view! { <StaffOnly role=PlatformRole::Finance or_admin=true><FinancePayablesPage/></StaffOnly> } ssr=SsrMode::Async/>
                    <Route path=path!("finance/corrections") view=|| view! { <StaffOnly role=PlatformRole::Finance or_admin=true><FinanceCorrectionsPage/></StaffOnly> } ssr=SsrMode::Async/>
                    <Route path=path!("finance/reconciliation") view=|| view! { <StaffOnly role=PlatformRole::Finance or_admin=true><FinanceReconcilePage/></StaffOnly> } ssr=SsrMode::Async/>
                    <Route path=path!("security") view=SecurityPage ssr=SsrMode::Async/>
                    <Route path=path!("moderation") view=|| view! { <StaffOnly role=PlatformRole::Moderator><ReviewQueuePage/></StaffOnly> } ssr=SsrMode::Async/>
                    <Route path=path!("moderation/:task") view=|| view! { <StaffOnly role=PlatformRole::Moderator><ReviewPage/></StaffOnly> } ssr=SsrMode::Async/>
                    <Route path=path!("admin/policy") view=|| view! { <StaffOnly role=PlatformRole::Admin><PolicyReasonsPage/></StaffOnly> } ssr=SsrMode::Async/>
                    <Route path=path!("admin/channels/:id") view=|| view! { <StaffOnly role=PlatformRole::Admin><ChannelEditPage/></StaffOnly> } ssr=SsrMode::Async/>
                    <Route path=path!("admin/users") view=|| view! { <StaffOnly role=PlatformRole::Admin><AdminUsersPage/></StaffOnly> } ssr=SsrMode::Async/>
                    <Route path=path!("admin/audit") view=|| view! { <StaffOnly role=PlatformRole::Admin><AuditPage/></StaffOnly> } ssr=SsrMode::Async/>
                    <Route path=path!("admin/catalog-import") view=|| view! { <StaffOnly role=PlatformRole::Admin><CatalogImportPage/></StaffOnly> } ssr=SsrMode::Async/>
                    <Route path=path!("admin/settings") view=|| view! { <StaffOnly role=PlatformRole::Admin><SettingsPage/></StaffOnly> } ssr=SsrMode::Async/>
                    <Route path=path!("admin/mail") view=|| view! { <StaffOnly role=PlatformRole::Admin><MailOutboxPage/></StaffOnly> } ssr=SsrMode::Async/>
                    <Route path=path!("admin/delivery-keys") view=|| view! { <StaffOnly role=PlatformRole::Admin><DeliveryKeysPage/></StaffOnly> } ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

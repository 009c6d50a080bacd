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
    Lazy, LazyRoute, SsrMode,
    components::{ParentRoute, Route, Router, Routes},
    lazy_route, path,
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
    #[cfg(feature = "ssr")]
    let stylesheet = crate::bundle::stylesheet_href(&options);
    #[cfg(not(feature = "ssr"))]
    let stylesheet = String::new();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.ico"/>
                <link rel="stylesheet" href=stylesheet/>
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
                <Route path=path!("/sign-in") view={Lazy::<SignInRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/sign-up") view={Lazy::<SignUpRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/invite/:token") view={Lazy::<InviteRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/verify/:token") view={Lazy::<VerifyRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/guidelines") view={Lazy::<GuidelinesRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/review-times") view={Lazy::<ReviewTimesRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/developers/delivery-api") view={Lazy::<DeliveryApiGuideRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/shared/:token") view={Lazy::<SharedReportRoute>::new()} ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=AppShell>
                    <Route path=path!("") view={Lazy::<DashboardRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("account") view={Lazy::<AccountRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("targeting") view={Lazy::<TargetingRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("campaigns") view={Lazy::<CampaignsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("campaigns/new") view={Lazy::<CampaignBuilderRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("campaigns/:id") view={Lazy::<CampaignBuilderRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("campaigns/:id/ads/new") view={Lazy::<AdEditorRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("campaigns/:id/ads/:ad") view={Lazy::<AdEditorRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("channels") view={Lazy::<ChannelsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("notifications") view={Lazy::<NotificationsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("balance") view={Lazy::<BalanceRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("billing/statement") view={Lazy::<StatementRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("reports") view={Lazy::<ReportsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("finance") view={Lazy::<FinanceRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("finance/accounts/:id") view={Lazy::<FinanceAccountRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("finance/accounts/:id/statement") view={Lazy::<FinanceStatementRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("finance/spend") view={Lazy::<FinanceSpendRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("finance/payables") view={Lazy::<FinancePayablesRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("finance/corrections") view={Lazy::<FinanceCorrectionsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("finance/reconciliation") view={Lazy::<FinanceReconcileRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("security") view={Lazy::<SecurityRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("moderation") view={Lazy::<ReviewQueueRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("moderation/:task") view={Lazy::<ReviewRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("admin/policy") view={Lazy::<PolicyReasonsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("admin/channels/:id") view={Lazy::<ChannelEditRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("admin/users") view={Lazy::<AdminUsersRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("admin/audit") view={Lazy::<AuditRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("admin/catalog-import") view={Lazy::<CatalogImportRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("admin/settings") view={Lazy::<SettingsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("admin/mail") view={Lazy::<MailOutboxRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("admin/delivery-keys") view={Lazy::<DeliveryKeysRoute>::new()} ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// Declares a lazily loaded route: with `cargo leptos build --split` the page's code becomes a
/// separate wasm chunk that the browser fetches only when it opens that page (the server names
/// the chunks a page needs in `<link rel="preload">`, so the first visit fetches them in
/// parallel with the main bundle). The router, the shell and the navigation stay in the main
/// bundle; staff pages are chunks no advertiser ever downloads.
macro_rules! lazy_pages {
    ($($route:ident => $body:tt;)*) => {$(
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(this: Self) -> AnyView {
                let _ = this;
                view! $body.into_any()
            }
        }
    )*};
}

lazy_pages! {
    SignInRoute => { <SignInPage/> };
    SignUpRoute => { <SignUpPage/> };
    InviteRoute => { <InvitePage/> };
    VerifyRoute => { <VerifyPage/> };
    GuidelinesRoute => { <GuidelinesPage/> };
    ReviewTimesRoute => { <ReviewTimesPage/> };
    DeliveryApiGuideRoute => { <DeliveryApiGuidePage/> };
    SharedReportRoute => { <SharedReportPage/> };
    DashboardRoute => { <DashboardPage/> };
    AccountRoute => { <AccountPage/> };
    TargetingRoute => { <TargetingPage/> };
    CampaignsRoute => { <CampaignsPage/> };
    CampaignBuilderRoute => { <CampaignBuilderPage/> };
    AdEditorRoute => { <AdEditorPage/> };
    ChannelsRoute => { <ChannelsPage/> };
    NotificationsRoute => { <NotificationsPage/> };
    BalanceRoute => { <BalancePage/> };
    StatementRoute => { <StatementPage/> };
    ReportsRoute => { <ReportsPage/> };
    FinanceRoute => { <StaffOnly role=PlatformRole::Finance or_admin=true><FinancePage/></StaffOnly> };
    FinanceAccountRoute => { <StaffOnly role=PlatformRole::Finance or_admin=true><FinanceAccountPage/></StaffOnly> };
    FinanceStatementRoute => { <StaffOnly role=PlatformRole::Finance or_admin=true><FinanceStatementPage/></StaffOnly> };
    FinanceSpendRoute => { <StaffOnly role=PlatformRole::Finance or_admin=true><FinanceSpendPage/></StaffOnly> };
    FinancePayablesRoute => { <StaffOnly role=PlatformRole::Finance or_admin=true><FinancePayablesPage/></StaffOnly> };
    FinanceCorrectionsRoute => { <StaffOnly role=PlatformRole::Finance or_admin=true><FinanceCorrectionsPage/></StaffOnly> };
    FinanceReconcileRoute => { <StaffOnly role=PlatformRole::Finance or_admin=true><FinanceReconcilePage/></StaffOnly> };
    SecurityRoute => { <SecurityPage/> };
    ReviewQueueRoute => { <StaffOnly role=PlatformRole::Moderator><ReviewQueuePage/></StaffOnly> };
    ReviewRoute => { <StaffOnly role=PlatformRole::Moderator><ReviewPage/></StaffOnly> };
    PolicyReasonsRoute => { <StaffOnly role=PlatformRole::Admin><PolicyReasonsPage/></StaffOnly> };
    ChannelEditRoute => { <StaffOnly role=PlatformRole::Admin><ChannelEditPage/></StaffOnly> };
    AdminUsersRoute => { <StaffOnly role=PlatformRole::Admin><AdminUsersPage/></StaffOnly> };
    AuditRoute => { <StaffOnly role=PlatformRole::Admin><AuditPage/></StaffOnly> };
    CatalogImportRoute => { <StaffOnly role=PlatformRole::Admin><CatalogImportPage/></StaffOnly> };
    SettingsRoute => { <StaffOnly role=PlatformRole::Admin><SettingsPage/></StaffOnly> };
    MailOutboxRoute => { <StaffOnly role=PlatformRole::Admin><MailOutboxPage/></StaffOnly> };
    DeliveryKeysRoute => { <StaffOnly role=PlatformRole::Admin><DeliveryKeysPage/></StaffOnly> };
}

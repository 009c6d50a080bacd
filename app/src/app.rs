//! The HTML shell, `<App/>` and the route table.

use crate::pages::{
    account::AccountPage,
    admin::{
        audit::AuditPage, catalog_import::CatalogImportPage, channel::ChannelEditPage,
        delivery_keys::DeliveryKeysPage, mail::MailOutboxPage, policy::PolicyReasonsPage,
        settings::SettingsPage, topics::TopicsPage, users::AdminUsersPage,
    },
    auth::{ForgotPasswordPage, SignInPage, SignUpPage, provide_auth},
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
use leptos::{lazy, prelude::*};
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::{
    Lazy, LazyRoute, SsrMode,
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
    #[cfg(feature = "ssr")]
    let (stylesheet, script) = (
        crate::bundle::stylesheet_href(&options),
        crate::bundle::loader_script(&options),
    );
    #[cfg(not(feature = "ssr"))]
    let (stylesheet, script) = {
        let _ = options;
        (String::new(), String::new())
    };
    let nonce = leptos::nonce::use_nonce();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.ico"/>
                <link rel="stylesheet" href=stylesheet/>
                // Loads the bundle after the first paint (see `bundle::loader_script`).
                <script type="module" nonce=nonce>{script}</script>
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
    view! {
        <Title formatter=|page: String| format!("{page} · Herald")/>
        <Router>
            // Async rendering: a page's data (and the sign-in check) resolves before the status
            // line is sent, so a visitor gets a real 302 and a missing object a real status.
            <Routes fallback=|| {
                mark_hydrated();
                view! { <NotFoundPage/> }
            }>
                <Route path=path!("/sign-in") view={Lazy::<SignInRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/sign-up") view={Lazy::<SignUpRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/forgot-password") view={Lazy::<ForgotPasswordRoute>::new()} ssr=SsrMode::Async/>
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
                    <Route path=path!("admin/topics") view={Lazy::<TopicsRoute>::new()} ssr=SsrMode::Async/>
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

/// Marks `<body data-hydrated>` once the page has hydrated, so tests (and curious humans) see
/// that the wasm has taken over the server-rendered page. Effects run only in the browser,
/// after the view that made them has hydrated: here, the page's own view, whose code may have
/// arrived after the shell's.
fn mark_hydrated() {
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "");
        }
    });
}

/// Declares the lazily loaded pages, in areas. The build (`.ci/bundle`) splits each area's
/// code into wasm chunks that the browser fetches only when it opens a page of that area
/// (the server names them in the page's `herald-chunks` meta tag, so a first visit fetches them
/// alongside the main bundle). Areas rather than single pages: one chunk per page split the app
/// into ~900 files (a page preloaded 100–340 of them, and the build ran wasm-opt 900 times), while
/// a few areas keep the requests few and the staff areas out of every advertiser's download.
/// Finer areas make lighter pages but many more files (ten areas: 294, up to 162 per page), and
/// instantiating them blocked the main thread two to four times as long (README, "The browser
/// bundle").
/// The router, the shell and the navigation stay in the main bundle.
macro_rules! lazy_areas {
    ($($(#[doc = $doc:literal])* $area:ident, $preload:ident {
        $($route:ident => $body:tt;)*
    })*) => {$(
        $(#[doc = $doc])*
        #[lazy]
        fn $area(page: &'static str) -> AnyView {
            mark_hydrated();
            match page {
                $(stringify!($route) => view! $body.into_any(),)*
                _ => ().into_any(),
            }
        }

        $(
            struct $route;

            impl LazyRoute for $route {
                fn data() -> Self {
                    #[cfg(feature = "ssr")]
                    crate::bundle::name_area_chunks(stringify!($area));
                    Self
                }

                async fn view(_: Self) -> AnyView {
                    $area(stringify!($route)).await
                }

                async fn preload() {
                    #[cfg(feature = "hydrate")]
                    $preload().await;
                }
            }
        )*
    )*};
}

lazy_areas! {
    /// Pages anyone may open: signing in and up, invitations, address confirmation and the public
    /// documents.
    public_pages, __preload_public_pages {
        SignInRoute => { <SignInPage/> };
        SignUpRoute => { <SignUpPage/> };
        ForgotPasswordRoute => { <ForgotPasswordPage/> };
        InviteRoute => { <InvitePage/> };
        VerifyRoute => { <VerifyPage/> };
        GuidelinesRoute => { <GuidelinesPage/> };
        ReviewTimesRoute => { <ReviewTimesPage/> };
        DeliveryApiGuideRoute => { <DeliveryApiGuidePage/> };
    }
    /// An advertiser's home: the dashboard, notifications, the account and its members, money and
    /// security.
    account_pages, __preload_account_pages {
        DashboardRoute => { <DashboardPage/> };
        AccountRoute => { <AccountPage/> };
        NotificationsRoute => { <NotificationsPage/> };
        BalanceRoute => { <BalancePage/> };
        StatementRoute => { <StatementPage/> };
        SecurityRoute => { <SecurityPage/> };
    }
    /// Building campaigns: targeting and the forecast, the catalog, campaigns and their ads.
    campaign_pages, __preload_campaign_pages {
        TargetingRoute => { <TargetingPage/> };
        CampaignsRoute => { <CampaignsPage/> };
        CampaignBuilderRoute => { <CampaignBuilderPage/> };
        AdEditorRoute => { <AdEditorPage/> };
        ChannelsRoute => { <ChannelsPage/> };
    }
    /// Reports, and the read-only report behind a share link.
    report_pages, __preload_report_pages {
        ReportsRoute => { <ReportsPage/> };
        SharedReportRoute => { <SharedReportPage/> };
    }
    /// Moderators' review queue and review page.
    moderation_pages, __preload_moderation_pages {
        ReviewQueueRoute => { <StaffOnly role=PlatformRole::Moderator><ReviewQueuePage/></StaffOnly> };
        ReviewRoute => { <StaffOnly role=PlatformRole::Moderator><ReviewPage/></StaffOnly> };
    }
    /// The finance console.
    finance_pages, __preload_finance_pages {
        FinanceRoute => { <StaffOnly role=PlatformRole::Finance or_admin=true><FinancePage/></StaffOnly> };
        FinanceAccountRoute => { <StaffOnly role=PlatformRole::Finance or_admin=true><FinanceAccountPage/></StaffOnly> };
        FinanceStatementRoute => { <StaffOnly role=PlatformRole::Finance or_admin=true><FinanceStatementPage/></StaffOnly> };
        FinanceSpendRoute => { <StaffOnly role=PlatformRole::Finance or_admin=true><FinanceSpendPage/></StaffOnly> };
        FinancePayablesRoute => { <StaffOnly role=PlatformRole::Finance or_admin=true><FinancePayablesPage/></StaffOnly> };
        FinanceCorrectionsRoute => { <StaffOnly role=PlatformRole::Finance or_admin=true><FinanceCorrectionsPage/></StaffOnly> };
        FinanceReconcileRoute => { <StaffOnly role=PlatformRole::Finance or_admin=true><FinanceReconcilePage/></StaffOnly> };
    }
    /// Administration.
    admin_pages, __preload_admin_pages {
        PolicyReasonsRoute => { <StaffOnly role=PlatformRole::Admin><PolicyReasonsPage/></StaffOnly> };
        TopicsRoute => { <StaffOnly role=PlatformRole::Admin><TopicsPage/></StaffOnly> };
        ChannelEditRoute => { <StaffOnly role=PlatformRole::Admin><ChannelEditPage/></StaffOnly> };
        AdminUsersRoute => { <StaffOnly role=PlatformRole::Admin><AdminUsersPage/></StaffOnly> };
        AuditRoute => { <StaffOnly role=PlatformRole::Admin><AuditPage/></StaffOnly> };
        CatalogImportRoute => { <StaffOnly role=PlatformRole::Admin><CatalogImportPage/></StaffOnly> };
        SettingsRoute => { <StaffOnly role=PlatformRole::Admin><SettingsPage/></StaffOnly> };
        MailOutboxRoute => { <StaffOnly role=PlatformRole::Admin><MailOutboxPage/></StaffOnly> };
        DeliveryKeysRoute => { <StaffOnly role=PlatformRole::Admin><DeliveryKeysPage/></StaffOnly> };
    }
}

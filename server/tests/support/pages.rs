//! Every page of the route table, with the person who opens it: the bundle budget and the
//! accessibility check visit all of them, so a new page is measured and checked by adding it
//! here (`bundle.rs` checks that every route of the table has a page in this list).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    Visitor,
    Advertiser,
    Moderator,
    Finance,
    Admin,
}

/// Every page of the route table, as the person who opens it (parameters filled with ids
/// that exist in this test's data, or that answer "not found", which loads the same code).
pub const PAGES: &[(&str, Who)] = &[
    ("/sign-in", Who::Visitor),
    ("/sign-up", Who::Visitor),
    ("/invite/00", Who::Visitor),
    ("/verify/00", Who::Visitor),
    ("/guidelines", Who::Visitor),
    ("/review-times", Who::Visitor),
    ("/developers/delivery-api", Who::Visitor),
    ("/shared/00", Who::Visitor),
    ("/", Who::Advertiser),
    ("/account", Who::Advertiser),
    ("/targeting", Who::Advertiser),
    ("/campaigns", Who::Advertiser),
    ("/campaigns/new", Who::Advertiser),
    ("/campaigns/1", Who::Advertiser),
    ("/campaigns/1/ads/new", Who::Advertiser),
    ("/campaigns/1/ads/1", Who::Advertiser),
    ("/channels", Who::Advertiser),
    ("/notifications", Who::Advertiser),
    ("/balance", Who::Advertiser),
    ("/billing/statement", Who::Advertiser),
    ("/reports", Who::Advertiser),
    ("/security", Who::Advertiser),
    ("/finance", Who::Finance),
    ("/finance/accounts/1", Who::Finance),
    ("/finance/accounts/1/statement", Who::Finance),
    ("/finance/spend", Who::Finance),
    ("/finance/payables", Who::Finance),
    ("/finance/corrections", Who::Finance),
    ("/finance/reconciliation", Who::Finance),
    ("/moderation", Who::Moderator),
    ("/moderation/1", Who::Moderator),
    ("/admin/policy", Who::Admin),
    ("/admin/channels/1", Who::Admin),
    ("/admin/users", Who::Admin),
    ("/admin/audit", Who::Admin),
    ("/admin/catalog-import", Who::Admin),
    ("/admin/settings", Who::Admin),
    ("/admin/mail", Who::Admin),
    ("/admin/delivery-keys", Who::Admin),
];

/// Whether `page` (a concrete path) is an address of `route` (a pattern of the route table,
/// `/campaigns/{id}` or `/campaigns/:id`).
pub fn matches(route: &str, page: &str) -> bool {
    let route: Vec<&str> = route.trim_end_matches('/').split('/').collect();
    let page: Vec<&str> = page.trim_end_matches('/').split('/').collect();
    route.len() == page.len()
        && route
            .iter()
            .zip(&page)
            .all(|(r, p)| r == p || r.starts_with(':') || r.starts_with('{'))
}

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
    ("/forgot-password", Who::Visitor),
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
    ("/admin/topics", Who::Admin),
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

/// The answers a page's resources sent along with its HTML (`__RESOLVED_RESOURCES[n] = "…"`,
/// which the browser hydrates from), as serialized.
pub fn resolved_resources(html: &str) -> Vec<&str> {
    const MARK: &str = "__RESOLVED_RESOURCES[";
    html.match_indices(MARK)
        .filter_map(|(at, _)| {
            let rest = &html[at + MARK.len()..];
            let value = &rest[rest.find("] = \"")? + 5..];
            // The value is a JSON string literal: it ends at the first quote not escaped.
            let bytes = value.as_bytes();
            let mut end = 0;
            while end < bytes.len() && bytes[end] != b'"' {
                end += if bytes[end] == b'\\' { 2 } else { 1 };
            }
            Some(&value[..end.min(value.len())])
        })
        .collect()
}

/// Answers the page sent more than once. A page whose view the server built twice (leptos's
/// `<Suspense>` walks its children before rendering them; `app::pages::suspend_once`) created its
/// resources twice, loaded their data twice and sends them twice. Short answers (an empty list,
/// `null`) can be equal by chance and are not counted.
pub fn repeated_resources(html: &str) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    resolved_resources(html)
        .into_iter()
        .filter(|answer| answer.len() > 40 && !seen.insert(*answer))
        .map(|answer| answer.chars().take(80).collect())
        .collect()
}

//! Security middleware: CSRF refusal of cross-site state changes, and security headers (a
//! per-response CSP nonce for the inline hydration script, nosniff, referrer policy, HSTS).

use app::api::ctx::CspNonce;
use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// What the security layer needs to know.
#[derive(Clone, Copy, Debug)]
pub struct SecurityConfig {
    /// HTTPS deployment: send HSTS.
    pub hsts: bool,
}

/// Whether a state-changing request comes from our own pages. Browsers send `Sec-Fetch-Site`
/// (all current ones) and `Origin` on every POST; a request with neither is not from a page
/// of ours and is refused too.
pub fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    let (Some(origin), Some(host)) = (headers.get(header::ORIGIN), headers.get(header::HOST))
    else {
        return false;
    };
    let (Ok(origin), Ok(host)) = (origin.to_str(), host.to_str()) else {
        return false;
    };
    origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .is_some_and(|authority| authority.eq_ignore_ascii_case(host))
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The middleware: refuse cross-site writes, then decorate every response.
pub async fn layer(
    State(config): State<SecurityConfig>,
    mut request: Request,
    next: Next,
) -> Response {
    if !is_safe(request.method()) && !same_origin(request.headers()) {
        tracing::warn!(path = %request.uri().path(), "refused cross-site request");
        let mut response = (StatusCode::FORBIDDEN, "Cross-site request refused.").into_response();
        decorate(response.headers_mut(), None, config);
        return response;
    }
    if let Some(clean) = forged_action_error(&request) {
        let mut response =
            (StatusCode::SEE_OTHER, [(header::LOCATION, clean.as_str())]).into_response();
        decorate(response.headers_mut(), None, config);
        return response;
    }
    let nonce = format!("{:032x}", rand::random::<u128>());
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut response: Response<Body> = next.run(request).await;
    decorate(response.headers_mut(), Some(&nonce), config);
    response
}

/// A form that fails without the wasm comes back to its page with the error in the query
/// (`?__path=…&__err=<encoded AppError>`), which the page then shows. Only our own redirect
/// may do that: a link from elsewhere carrying `__err` would put words of the sender's choosing
/// in our page ("your account is locked, call …"). Such a request is sent to the same URL
/// without those parameters (and a campaign builder's address without its own, below).
fn forged_action_error(request: &Request) -> Option<String> {
    let query = request.uri().query()?;
    if !is_safe(request.method()) {
        return None;
    }
    // Names are compared decoded, as the router reads them (`%5F%5Ferr` is `__err` too).
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
    // The campaign builder's plain form comes back the same way: with the form it carried
    // (`form`), a check to show (`check`) and what its save did (`created`, `saved`, `sent`,
    // `unsent`). From elsewhere those would pre-fill a campaign with a stranger's values, one
    // Save away, or claim a save that never happened. On Users & roles, `grant` opens a role
    // grant's password step for the user and role it names: from elsewhere, an admin would
    // land one typed password away from granting a stranger's choice. It means nothing on any
    // other page, so it goes wherever it comes from elsewhere (the router also serves Users &
    // roles at `/admin/users/`, and a path compared exactly would miss it).
    let path = request.uri().path();
    let own: &[&str] = if path.starts_with("/campaigns/") {
        &["form", "check", "created", "saved", "sent", "unsent"]
    } else {
        &[]
    };
    let everywhere = |name: &str| name == "__err" || name == "grant";
    let action_param = |name: &str| everywhere(name) || name == "__path" || own.contains(&name);
    let forgeable = |name: &str| everywhere(name) || own.contains(&name);
    if !pairs.iter().any(|(name, _)| forgeable(name)) {
        return None;
    }
    let ours = request
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|site| site.as_bytes() == b"same-origin");
    if ours {
        return None;
    }
    let kept: Vec<&(String, String)> = pairs.iter().filter(|(n, _)| !action_param(n)).collect();
    Some(match serde_urlencoded::to_string(&kept) {
        Ok(rest) if !rest.is_empty() => format!("{path}?{rest}"),
        _ => path.to_owned(),
    })
}

fn decorate(headers: &mut HeaderMap, nonce: Option<&str>, config: SecurityConfig) {
    let script = nonce.map_or_else(String::new, |n| format!(" 'nonce-{n}'"));
    let csp = format!(
        "default-src 'self'; script-src 'self'{script} 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(header::CONTENT_SECURITY_POLICY, &csp);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "strict-origin-when-cross-origin");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        header::HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    );
    if config.hsts {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    // Pages and server-function answers carry one user's data (and a one-time CSP nonce): no
    // browser or shared cache may keep them. Static assets keep their own caching.
    let dynamic = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html") || t.starts_with("application/json"));
    // The few assets outside `/pkg` keep their names across releases (the favicon, which
    // browsers ask for by that name): a day, then revalidated. `/pkg` sets its own (a year).
    let image = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("image/"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        if dynamic {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        } else if image {
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    fn get(uri: &str, site: Option<&'static str>) -> Request {
        let mut builder = Request::builder().uri(uri);
        if let Some(site) = site {
            builder = builder.header("sec-fetch-site", site);
        }
        builder.body(Body::empty()).expect("request")
    }

    #[test]
    fn only_our_own_redirect_may_carry_an_action_error() {
        let uri = "/account?__path=/api/x&__err=SGVsbG8&tab=2";
        assert_eq!(forged_action_error(&get(uri, Some("same-origin"))), None);
        assert_eq!(
            forged_action_error(&get(uri, Some("cross-site"))).as_deref(),
            Some("/account?tab=2")
        );
        assert_eq!(
            forged_action_error(&get("/a?__err=x", None)).as_deref(),
            Some("/a")
        );
        assert_eq!(forged_action_error(&get("/a?err=x", Some("none"))), None);
        // Encoded names are the same names.
        assert_eq!(
            forged_action_error(&get("/a?%5F%5Ferr=x&%5f_path=y&b=1", None)).as_deref(),
            Some("/a?b=1")
        );
    }

    #[test]
    fn only_our_own_redirect_may_fill_a_campaign_builder() {
        let uri = "/campaigns/7?form=1&name=Evil&total_budget=9999&check=1&find=news";
        assert_eq!(forged_action_error(&get(uri, Some("same-origin"))), None);
        assert_eq!(
            forged_action_error(&get(uri, Some("cross-site"))).as_deref(),
            Some("/campaigns/7?name=Evil&total_budget=9999&find=news")
        );
        assert_eq!(
            forged_action_error(&get("/campaigns/7?sent=3", None)).as_deref(),
            Some("/campaigns/7")
        );
        assert_eq!(
            forged_action_error(&get(
                "/campaigns/new?created=1&saved=1&unsent=1",
                Some("none")
            ))
            .as_deref(),
            Some("/campaigns/new")
        );
        // Elsewhere these names mean nothing of the kind.
        assert_eq!(
            forged_action_error(&get("/targeting?form=1&saved=1", None)),
            None
        );
        assert_eq!(forged_action_error(&get("/campaigns/7?name=x", None)), None);
    }

    #[test]
    fn only_our_own_pages_may_open_a_role_grant() {
        let uri = "/admin/users?q=me%40evil.example&grant=42.Admin";
        assert_eq!(forged_action_error(&get(uri, Some("same-origin"))), None);
        for site in [Some("cross-site"), Some("same-site"), Some("none"), None] {
            assert_eq!(
                forged_action_error(&get(uri, site)).as_deref(),
                Some("/admin/users?q=me%40evil.example"),
                "{site:?}"
            );
        }
        // The same page with a trailing slash, and any other page.
        assert_eq!(
            forged_action_error(&get("/admin/users/?grant=42.admin", None)).as_deref(),
            Some("/admin/users/")
        );
        assert_eq!(
            forged_action_error(&get("/admin/audit?grant=1&page=2", None)).as_deref(),
            Some("/admin/audit?page=2")
        );
        // The search alone is harmless from anywhere.
        assert_eq!(
            forged_action_error(&get("/admin/users?q=me%40evil.example", None)),
            None
        );
    }

    #[test]
    fn same_origin_rules() {
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(same_origin(&headers(&[
            ("origin", "http://127.0.0.1:3000"),
            ("host", "127.0.0.1:3000")
        ])));
        assert!(!same_origin(&headers(&[
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:3000")
        ])));
        assert!(!same_origin(&headers(&[
            ("origin", "null"),
            ("host", "127.0.0.1:3000")
        ])));
        assert!(!same_origin(&headers(&[("host", "127.0.0.1:3000")])));
        // Sec-Fetch-Site wins over a forged-looking Origin match.
        assert!(!same_origin(&headers(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://127.0.0.1:3000"),
            ("host", "127.0.0.1:3000"),
        ])));
    }
}

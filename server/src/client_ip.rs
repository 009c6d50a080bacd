//! The client's address. TLS ends at a proxy in production, so the socket peer is the proxy:
//! behind proxies the operator lists (`HERALD_TRUSTED_PROXIES`), the address is the first hop of
//! `X-Forwarded-For` that is not one of them, read from the right. Nothing else is trusted: a
//! request that does not come from a trusted proxy is its own socket peer, whatever it says.

use app::api::ctx::ClientIp;
use axum::{
    extract::{ConnectInfo, Request, State},
    http::HeaderMap,
    middleware::Next,
    response::Response,
};
use ipnet::IpNet;
use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

/// The proxies whose `X-Forwarded-For` entries are believed (empty: none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Arc<Vec<IpNet>>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(Arc::new(networks))
    }

    /// Parses a comma-separated list of CIDRs or single addresses (`10.0.0.0/8, ::1`).
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut networks = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let network = item
                .parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("not a CIDR or IP address: {item:?}"))?;
            networks.push(network);
        }
        Ok(Self::new(networks))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client address of a request from `peer` with these headers.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        // Every X-Forwarded-For header, in order, as one list; the right end was appended by
        // the proxy nearest to us.
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        for hop in hops.iter().rev() {
            // A hop that is not an address was written by someone we do not trust: stop at the
            // last address a trusted proxy vouched for.
            let Some(ip) = parse_hop(hop) else { break };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    hop.parse::<SocketAddr>().ok().map(|s| canonical(s.ip()))
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) are the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The middleware: puts the [`ClientIp`] in the request's extensions.
pub async fn layer(
    State(trusted): State<TrustedProxies>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(peer) = peer {
        let client = trusted.client(peer, request.headers());
        request.extensions_mut().insert(ClientIp(client));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn xff(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", HeaderValue::from_static(v));
        }
        headers
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("10.0.0.1"), &xff(&["1.2.3.4"])),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn an_untrusted_peer_cannot_claim_an_address() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").expect("parse");
        assert_eq!(
            trusted.client(ip("203.0.113.9"), &xff(&["1.2.3.4"])),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn reads_right_to_left_skipping_trusted_hops_only() {
        let trusted = TrustedProxies::parse("10.0.0.0/8, 192.168.1.1").expect("parse");
        // The client forged "6.6.6.6"; the edge proxy appended the real client 198.51.100.7;
        // an inner trusted proxy appended the edge proxy.
        let headers = xff(&["6.6.6.6, 198.51.100.7", "192.168.1.1"]);
        assert_eq!(trusted.client(ip("10.1.2.3"), &headers), ip("198.51.100.7"));
        // Only trusted hops: the leftmost one is the best we know.
        assert_eq!(
            trusted.client(ip("10.1.2.3"), &xff(&["10.0.0.5"])),
            ip("10.0.0.5")
        );
        // No header at all: the proxy itself.
        assert_eq!(
            trusted.client(ip("10.1.2.3"), &HeaderMap::new()),
            ip("10.1.2.3")
        );
    }

    #[test]
    fn garbage_stops_the_walk_at_the_last_vouched_address() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").expect("parse");
        let headers = xff(&["not-an-ip, 10.0.0.7"]);
        assert_eq!(trusted.client(ip("10.1.2.3"), &headers), ip("10.0.0.7"));
        let headers = xff(&["unknown, [2001:db8::1]:443"]);
        assert_eq!(trusted.client(ip("10.1.2.3"), &headers), ip("2001:db8::1"));
    }

    #[test]
    fn mapped_ipv4_is_ipv4() {
        let trusted = TrustedProxies::parse("127.0.0.1").expect("parse");
        assert_eq!(
            trusted.client(ip("::ffff:127.0.0.1"), &xff(&["::ffff:1.2.3.4"])),
            ip("1.2.3.4")
        );
    }

    #[test]
    fn bad_lists_are_refused() {
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.local").is_err());
        assert_eq!(
            TrustedProxies::parse(" ").expect("empty"),
            TrustedProxies::default()
        );
    }
}

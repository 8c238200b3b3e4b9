//! Who is calling and which address they used: forwarded headers count only from a configured trusted proxy, and the scheme and host are checked before they name a URL.

use crate::errors::ApiError;
use actix_web::http::header;
use actix_web::{web, HttpRequest};
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr};

/// The proxies whose `Forwarded` / `X-Forwarded-*` headers are believed (`server.trusted_proxies`);
/// registered as app data by [`crate::app`]. Empty: only the connection itself counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&address))
    }

    fn of(req: &HttpRequest) -> Option<&Self> {
        req.app_data::<web::Data<Self>>().map(|data| data.get_ref())
    }
}

/// Whether the connection comes from a trusted proxy, so that its forwarded headers count.
fn behind_trusted_proxy(req: &HttpRequest) -> bool {
    match (TrustedProxies::of(req), req.peer_addr()) {
        (Some(proxies), Some(peer)) => proxies.trusts(peer.ip()),
        _ => false,
    }
}

/// The client's address, as rate limits and socket caps count it: the connection's, or — behind
/// trusted proxies — the nearest address in `X-Forwarded-For` that is not itself a trusted
/// proxy. `0.0.0.0` for a request with no connection (tests).
pub fn client_address(req: &HttpRequest) -> IpAddr {
    let Some(peer) = req.peer_addr().map(|peer| peer.ip()) else {
        return IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    };
    let Some(proxies) = TrustedProxies::of(req).filter(|p| p.trusts(peer)) else {
        return peer;
    };
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    // Each proxy appends the address it was called from: read from the right.
    let mut client = peer;
    for hop in forwarded.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(address) if proxies.trusts(client) => client = address,
            _ => break,
        }
    }
    client
}

/// `scheme://host[:port]` the client called, to build URLs that point back here. Forwarded
/// headers count only from a trusted proxy; the scheme must be `http` or `https` and the host a
/// host name or an IP address, or the request is refused (400).
pub fn request_base(req: &HttpRequest) -> Result<String, ApiError> {
    let (scheme, host) = if behind_trusted_proxy(req) {
        let info = req.connection_info();
        (info.scheme().to_owned(), info.host().to_owned())
    } else {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| req.app_config().host().to_owned());
        let scheme = if req.app_config().secure() {
            "https"
        } else {
            "http"
        };
        (scheme.to_owned(), host)
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(ApiError::InvalidHeader(
            "the forwarded scheme must be http or https",
        ));
    }
    if !is_host_and_port(&host) {
        return Err(ApiError::InvalidHeader("the host is not a host name"));
    }
    Ok(format!("{scheme}://{host}"))
}

/// A DNS name, an IPv4 address or a bracketed IPv6 address, with an optional port.
fn is_host_and_port(value: &str) -> bool {
    let (host, port) = split_port(value);
    let port_ok = port.is_none_or(|port| port.parse::<u16>().is_ok());
    port_ok && (is_bracketed_ipv6(host) || is_dns_name(host))
}

fn split_port(value: &str) -> (&str, Option<&str>) {
    match value.rfind(':') {
        Some(at) if !value[at..].contains(']') => (&value[..at], Some(&value[at + 1..])),
        _ => (value, None),
    }
}

fn is_bracketed_ipv6(host: &str) -> bool {
    host.strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .is_some_and(|inner| inner.parse::<std::net::Ipv6Addr>().is_ok())
}

/// The longest DNS name, in bytes, without its trailing dot.
const MAX_DNS_NAME_LEN: usize = 253;

/// RFC 1123 labels (letters, digits, hyphens; 1-63 each, no hyphen at either end), 253 at most;
/// IPv4 addresses pass as such names.
fn is_dns_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.len() <= MAX_DNS_NAME_LEN
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use std::net::SocketAddr;

    fn request(peer: &str, headers: &[(&str, &str)], trusted: &[&str]) -> HttpRequest {
        let proxies = TrustedProxies(trusted.iter().map(|net| net.parse().unwrap()).collect());
        let mut request = TestRequest::default()
            .peer_addr(peer.parse::<SocketAddr>().unwrap())
            .app_data(web::Data::new(proxies));
        for header in headers {
            request = request.insert_header(*header);
        }
        request.to_http_request()
    }

    const FORWARDED: [(&str, &str); 3] = [
        ("host", "switchboard.internal"),
        ("x-forwarded-proto", "javascript"),
        ("x-forwarded-host", "evil.example"),
    ];

    #[test]
    fn forwarded_headers_from_an_untrusted_peer_are_ignored() {
        let req = request("203.0.113.9:4000", &FORWARDED, &[]);
        assert_eq!(request_base(&req).unwrap(), "http://switchboard.internal");
    }

    #[test]
    fn a_trusted_proxy_is_believed_but_only_for_http_and_https() {
        let req = request("10.0.0.2:4000", &FORWARDED, &["10.0.0.0/8"]);
        assert!(request_base(&req).is_err());
        let headers = [
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "bots.example.com"),
        ];
        let req = request("10.0.0.2:4000", &headers, &["10.0.0.0/8"]);
        assert_eq!(request_base(&req).unwrap(), "https://bots.example.com");
    }

    #[test]
    fn hosts_that_are_not_host_names_are_refused() {
        for host in [
            "evil.example/x",
            "a b",
            "evil.example@x",
            "-a.example",
            "a..b",
            "",
        ] {
            let req = request("203.0.113.9:4000", &[("host", host)], &[]);
            assert!(request_base(&req).is_err(), "{host:?}");
        }
        for host in [
            "bots.example.com:8443",
            "127.0.0.1:8080",
            "[::1]:8080",
            "localhost",
        ] {
            let req = request("203.0.113.9:4000", &[("host", host)], &[]);
            assert_eq!(request_base(&req).unwrap(), format!("http://{host}"));
        }
    }

    #[test]
    fn the_client_address_is_the_peer_unless_a_trusted_proxy_forwarded_it() {
        let headers = [("x-forwarded-for", "198.51.100.7, 10.0.0.3")];
        let untrusted = request("203.0.113.9:4000", &headers, &[]);
        assert_eq!(client_address(&untrusted).to_string(), "203.0.113.9");
        let trusted = request("10.0.0.2:4000", &headers, &["10.0.0.0/8"]);
        assert_eq!(client_address(&trusted).to_string(), "198.51.100.7");
    }

    #[test]
    fn a_forged_leftmost_address_does_not_hide_the_client() {
        // The client sent `X-Forwarded-For: 1.2.3.4` itself; the proxy appended the real one.
        let headers = [("x-forwarded-for", "1.2.3.4, 198.51.100.7")];
        let req = request("10.0.0.2:4000", &headers, &["10.0.0.0/8"]);
        assert_eq!(client_address(&req).to_string(), "198.51.100.7");
    }
}

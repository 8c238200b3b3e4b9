//! A web origin (RFC 6454): scheme, host and port, kept in one canonical form so that two
//! spellings of the same origin compare equal and nothing else does.

use std::fmt;
use std::net::Ipv6Addr;

/// The longest origin accepted, in bytes.
pub const MAX_ORIGIN_LEN: usize = 256;

/// An `http` or `https` origin, serialized as a browser does: scheme and host in lower case,
/// an IPv6 host in its compressed form, the port left out when it is the scheme's default.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin(String);

impl Origin {
    /// Parses `scheme://host[:port]` (no path, no trailing slash, no user info); `None` for
    /// anything else, including `null` and a list of several origins.
    pub fn parse(value: &str) -> Option<Self> {
        if value.len() > MAX_ORIGIN_LEN {
            return None;
        }
        let (scheme, rest) = value.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let (host, port) = split_port(rest)?;
        let host = canonical_host(host)?;
        Some(Self(match port {
            Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
            _ => format!("{scheme}://{host}"),
        }))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `host` and its port, if one is written (`[::1]:8080`, `example.com:8080`).
fn split_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = match authority.rfind(':') {
        Some(at) if !authority[at..].contains(']') => {
            (&authority[..at], Some(&authority[at + 1..]))
        }
        _ => (authority, None),
    };
    let port = match port {
        None => None,
        Some(digits)
            if (1..=5).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some(digits.parse().ok()?)
        }
        Some(_) => return None,
    };
    Some((host, port))
}

/// The host in lower case (a bracketed IPv6 address compressed), or `None` if it is not a
/// host name or an IP address.
fn canonical_host(host: &str) -> Option<String> {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().ok().map(|ip| format!("[{ip}]"));
    }
    let label = |label: &str| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    // A trailing dot names another origin to a browser: kept, not stripped.
    let labels = host.strip_suffix('.').unwrap_or(host);
    labels
        .split('.')
        .all(label)
        .then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(value: &str) -> Option<String> {
        Origin::parse(value).map(|o| o.to_string())
    }

    #[test]
    fn scheme_and_host_are_case_insensitive_and_default_ports_implicit() {
        for same in [
            "https://shop.example",
            "HTTPS://Shop.Example",
            "https://shop.example:443",
            "https://SHOP.example:00443",
        ] {
            assert_eq!(
                canonical(same).as_deref(),
                Some("https://shop.example"),
                "{same}"
            );
        }
        assert_eq!(
            canonical("http://a.example:80").as_deref(),
            Some("http://a.example")
        );
        assert_eq!(
            canonical("http://localhost:3000").as_deref(),
            Some("http://localhost:3000")
        );
        assert_eq!(
            canonical("https://a.example:80").as_deref(),
            Some("https://a.example:80"),
            "80 is not https's default"
        );
        assert_eq!(
            canonical("http://[0:0:0:0:0:0:0:1]:8080").as_deref(),
            Some("http://[::1]:8080")
        );
        assert_eq!(canonical("http://[::1]").as_deref(), Some("http://[::1]"));
        assert_eq!(
            canonical("https://shop.example.").as_deref(),
            Some("https://shop.example."),
            "a trailing dot is another origin"
        );
    }

    #[test]
    fn anything_but_one_http_origin_is_refused() {
        for bad in [
            "",
            "null",
            "shop.example",
            "https://",
            "https://shop.example/",
            "https://shop.example/path",
            "https://user@shop.example",
            "ftp://shop.example",
            "https://a b",
            "https://a.example https://b.example",
            "https://a..example",
            "https://shop.example:",
            "https://shop.example:65536",
            "https://shop.example:123456",
            "https://shop.example:-1",
            "https://[::1",
            "https://[not-ip]",
            "https://exa_mple.com",
            "https://shop.example?x",
            "https://shop.example#x",
            "https://ex\u{e4}mple.com",
        ] {
            assert_eq!(canonical(bad), None, "{bad}");
        }
        let long = format!("https://{}.example", "a".repeat(MAX_ORIGIN_LEN));
        assert_eq!(canonical(&long), None);
    }
}

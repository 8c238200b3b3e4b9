//! The client's address, as rate limits and socket caps count it: the one place that decides
//! whom a request comes from.

use actix_web::HttpRequest;
use std::net::{IpAddr, Ipv4Addr};

/// The address of the connection's peer (`0.0.0.0` when there is none, as in a test request).
pub fn client_address(req: &HttpRequest) -> IpAddr {
    req.peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |peer| peer.ip())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_peer_address_is_the_clients() {
        let req = TestRequest::default()
            .peer_addr("192.0.2.9:4000".parse().unwrap())
            .insert_header(("x-forwarded-for", "198.51.100.1"))
            .to_http_request();
        assert_eq!(client_address(&req), "192.0.2.9".parse::<IpAddr>().unwrap());
        let without = TestRequest::default().to_http_request();
        assert_eq!(client_address(&without), IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    }
}

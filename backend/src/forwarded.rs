//! The client's address when Charter runs behind proxies it is told to trust: their
//! `X-Forwarded-For` is believed, nobody else's. Rate limits (sign-up, log-in, tokens)
//! count by this address, so a client cannot choose it by sending the header itself.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use crate::extract::ClientIp;

/// Reads `CHARTER_TRUSTED_PROXIES`: addresses or networks (`10.0.0.5`, `10.0.0.0/8`,
/// `::1`), separated by commas or spaces.
pub fn parse_trusted(text: &str) -> Result<Vec<IpNet>, String> {
    text.split([',', ' '])
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("`{entry}` is not an IP address or network"))
        })
        .collect()
}

/// The client behind `peer`: when `peer` is a trusted proxy, the nearest address in
/// `X-Forwarded-For` (read from the right, as each proxy appends what it saw) that is
/// not itself a trusted proxy. An entry that is not an address ends the walk there.
pub fn client_of(peer: IpAddr, forwarded: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer;
    if !is_trusted(&client) {
        return client;
    }
    let hops = forwarded.iter().rev().flat_map(|header| header.rsplit(',')).map(|hop| hop.trim().parse::<IpAddr>());
    for hop in hops {
        match hop {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// Records the request's [`ClientIp`] for every layer and handler after it.
pub async fn client_address(State(trusted): State<Arc<[IpNet]>>, mut request: Request, next: Next) -> Response {
    let peer = ClientIp::of(request.extensions()).0;
    let client = if trusted.is_empty() {
        peer
    } else {
        let headers = request.headers().get_all("x-forwarded-for");
        let forwarded: Vec<&str> = headers.iter().filter_map(|value| value.to_str().ok()).collect();
        client_of(peer, &forwarded, &trusted)
    };
    request.extensions_mut().insert(ClientIp(client));
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn only_a_trusted_proxy_is_believed() {
        let trusted = parse_trusted("10.0.0.0/8, 192.0.2.7").unwrap();
        // Straight from the client: its own header says nothing.
        assert_eq!(client_of(ip("203.0.113.9"), &["198.51.100.1"], &trusted), ip("203.0.113.9"));
        // Through one proxy: the address it saw.
        assert_eq!(client_of(ip("10.1.2.3"), &["203.0.113.9"], &trusted), ip("203.0.113.9"));
        // What the client wrote itself stays to the left of what the proxy saw.
        assert_eq!(client_of(ip("10.1.2.3"), &["1.2.3.4, 203.0.113.9"], &trusted), ip("203.0.113.9"));
        // Through two proxies, in one header or in two.
        assert_eq!(client_of(ip("10.1.2.3"), &["203.0.113.9, 192.0.2.7"], &trusted), ip("203.0.113.9"));
        assert_eq!(client_of(ip("10.1.2.3"), &["203.0.113.9", "192.0.2.7"], &trusted), ip("203.0.113.9"));
        // Nothing forwarded, or only proxies: the last one known.
        assert_eq!(client_of(ip("10.1.2.3"), &[], &trusted), ip("10.1.2.3"));
        assert_eq!(client_of(ip("10.1.2.3"), &["10.9.9.9"], &trusted), ip("10.9.9.9"));
        // Garbage ends the walk at the last address believed.
        assert_eq!(client_of(ip("10.1.2.3"), &["203.0.113.9, nonsense"], &trusted), ip("10.1.2.3"));
        // No proxies configured: the peer, always.
        assert_eq!(client_of(ip("10.1.2.3"), &["203.0.113.9"], &[]), ip("10.1.2.3"));
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        assert_eq!(parse_trusted("").unwrap(), Vec::<IpNet>::new());
        assert_eq!(parse_trusted("::1 10.0.0.0/8").unwrap().len(), 2);
        assert_eq!(parse_trusted("10.0.0.0/8,proxy").unwrap_err(), "`proxy` is not an IP address or network");
    }
}

//! The client's address when Charter runs behind proxies it is told to trust: their
//! `X-Forwarded-For` is believed, nobody else's. Rate limits (sign-up, log-in, tokens)
//! count by this address, so a client cannot choose it by sending the header itself.

use std::net::{IpAddr, SocketAddr};
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
/// not itself a trusted proxy. An entry that is not an address (with or without a port)
/// ends the walk there. IPv4 addresses written as IPv6 (`::ffff:10.0.0.5`) are IPv4.
pub fn client_of(peer: IpAddr, forwarded: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(&client) {
        return client;
    }
    for hop in forwarded.iter().rev().flat_map(|header| header.rsplit(',')).map(|hop| address(hop.trim())) {
        let Some(ip) = hop else { break };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// An entry of `X-Forwarded-For`: an address, or an address and port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`), as proxies write them.
fn address(entry: &str) -> Option<IpAddr> {
    let ip = entry.parse::<IpAddr>().ok().or_else(|| entry.parse::<SocketAddr>().ok().map(|at| at.ip()))?;
    Some(ip.to_canonical())
}

/// Records the request's [`ClientIp`] for every layer and handler after it, and in the
/// request's log span.
pub async fn client_address(State(trusted): State<Arc<[IpNet]>>, mut request: Request, next: Next) -> Response {
    let peer = ClientIp::of(request.extensions()).0;
    let client = if trusted.is_empty() {
        peer
    } else {
        // Read as bytes: a client's stray non-ASCII byte must not hide the proxy's entry.
        let headers = request.headers().get_all("x-forwarded-for");
        let forwarded: Vec<String> =
            headers.iter().map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned()).collect();
        let forwarded: Vec<&str> = forwarded.iter().map(String::as_str).collect();
        client_of(peer, &forwarded, &trusted)
    };
    request.extensions_mut().insert(ClientIp(client));
    tracing::Span::current().record("client", tracing::field::display(client));
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
        // Ports, as some proxies write them, and IPv4 written as IPv6.
        assert_eq!(client_of(ip("10.1.2.3"), &["203.0.113.9:5678"], &trusted), ip("203.0.113.9"));
        assert_eq!(client_of(ip("10.1.2.3"), &["[2001:db8::1]:443"], &trusted), ip("2001:db8::1"));
        assert_eq!(client_of(ip("::ffff:10.1.2.3"), &["203.0.113.9"], &trusted), ip("203.0.113.9"));
        assert_eq!(client_of(ip("10.1.2.3"), &["::ffff:203.0.113.9"], &trusted), ip("203.0.113.9"));
    }

    #[test]
    fn an_ipv6_network_counts_as_one_client() {
        let key = |text: &str| ClientIp(ip(text)).limit_key();
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:bbbb::9"));
        assert_eq!(key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("203.0.113.9"), "203.0.113.9");
        assert_eq!(key("::ffff:203.0.113.9"), "203.0.113.9");
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        assert_eq!(parse_trusted("").unwrap(), Vec::<IpNet>::new());
        assert_eq!(parse_trusted("::1 10.0.0.0/8").unwrap().len(), 2);
        assert_eq!(parse_trusted("10.0.0.0/8,proxy").unwrap_err(), "`proxy` is not an IP address or network");
    }
}

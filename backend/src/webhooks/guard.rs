//! Where a webhook may point: `http` or `https` on a public address only, so that a
//! project's owners cannot make the server call into its own network. Checked when a
//! webhook is registered and again at every delivery, which then connects to the
//! address checked (not to whatever the name resolves to a moment later).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use url::{Host, Url};

use crate::error::{Error, Result};

/// The longest address taken.
pub const MAX_URL: usize = 2000;
/// How long resolving a host may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// A checked address: the URL and the socket address its host resolved to.
#[derive(Clone, Debug)]
pub struct Target {
    pub url: Url,
    /// The host name to pin to `addr`; none when the URL names an address itself.
    pub domain: Option<String>,
    pub addr: SocketAddr,
}

/// Reads `url` and resolves its host; refuses (422, saying why) an address of the wrong
/// form, or one whose host has any address that is not public, unless `allow_private`.
pub async fn check(url: &str, allow_private: bool) -> Result<Target> {
    let url = parse(url)?;
    let port = url.port_or_known_default().ok_or_else(|| refused("it has no port"))?;
    let (domain, addrs) = match url.host() {
        Some(Host::Ipv4(ip)) => (None, vec![IpAddr::V4(ip)]),
        Some(Host::Ipv6(ip)) => (None, vec![IpAddr::V6(ip)]),
        Some(Host::Domain(domain)) => (Some(domain.to_owned()), resolve(domain, port).await?),
        None => return Err(refused("it has no host")),
    };
    if !allow_private {
        if let Some((ip, kind)) = addrs.iter().find_map(|ip| not_public(*ip).map(|kind| (ip, kind))) {
            return Err(refused(&format!("{} is {kind}: webhooks may only call public addresses", ip)));
        }
    }
    let addr = SocketAddr::new(addrs[0], port);
    Ok(Target { url, domain, addr })
}

/// The address's form alone: scheme, no credentials, length.
fn parse(text: &str) -> Result<Url> {
    let text = text.trim();
    // A cheap bound on what is parsed at all; what is stored is measured after.
    if text.chars().count() > MAX_URL {
        return Err(refused(&format!("it is longer than {MAX_URL} characters")));
    }
    let url = Url::parse(text).map_err(|err| refused(&format!("it is not an absolute URL ({err})")))?;
    // Percent-encoding and punycode lengthen it: the stored form is what must fit.
    if url.as_str().chars().count() > MAX_URL {
        return Err(refused(&format!("it is longer than {MAX_URL} characters once normalised")));
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refused(&format!("its scheme is `{}`; only http and https are sent to", url.scheme())));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused("it carries a user name or password; put a token in the path or query instead"));
    }
    Ok(url)
}

async fn resolve(domain: &str, port: u16) -> Result<Vec<IpAddr>> {
    let found = tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((domain, port)))
        .await
        .map_err(|_| refused(&format!("looking up {domain} took too long")))?
        .map_err(|err| refused(&format!("{domain} cannot be resolved ({err})")))?;
    let addrs: Vec<IpAddr> = found.map(|addr| addr.ip()).collect();
    match addrs.is_empty() {
        true => Err(refused(&format!("{domain} has no address"))),
        false => Ok(addrs),
    }
}

fn refused(why: &str) -> Error {
    Error::Invalid(format!("the webhook's URL is refused: {why}"))
}

/// What kind of non-public address `ip` is, if it is one.
fn not_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(ip) => not_public_v4(ip),
        IpAddr::V6(ip) => not_public_v6(ip),
    }
}

fn not_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, ..) => "unspecified",
        (127, ..) => "a loopback address",
        (10, ..) | (172, 16..=31, _) | (192, 168, _) => "a private address",
        (169, 254, _) => "a link-local address",
        (100, 64..=127, _) => "a shared (CGNAT) address",
        (192, 0, 0) => "an IETF protocol address",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "a documentation address",
        (198, 18..=19, _) => "a benchmarking address",
        (224..=239, ..) => "a multicast address",
        _ if ip.is_broadcast() => "the broadcast address",
        (240..=255, ..) => "a reserved address",
        _ => return None,
    })
}

fn not_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    let v4 = |high: u16, low: u16| Ipv4Addr::from(((high as u32) << 16) | low as u32);
    // An IPv4 address in IPv6 clothing (mapped, compatible, 6to4, or behind NAT64) is what
    // it wraps. A local-use NAT64 prefix is read as a /96, like the well-known one.
    let embedded = match segments {
        [0, 0, 0, 0, 0, 0xffff, ..]
        | [0, 0, 0, 0, 0, 0, ..]
        | [0x64, 0xff9b, 0, 0, 0, 0, ..]
        | [0x64, 0xff9b, 1, ..] => Some(v4(segments[6], segments[7])),
        [0x2002, ..] => Some(v4(segments[1], segments[2])),
        _ => None,
    };
    Some(match segments[0] {
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_loopback() => "a loopback address",
        _ if embedded.is_some() => return embedded.and_then(not_public_v4),
        // Only a translator hands these out, to reach an IPv4 host on its side.
        0 if segments[..6] == [0, 0, 0, 0, 0xffff, 0] => "an IPv4-translated address",
        0xfc00..=0xfdff => "a unique local address",
        0xfe80..=0xfebf => "a link-local address",
        0xfec0..=0xfeff => "a site-local address",
        0xff00..=0xffff => "a multicast address",
        0x2001 if segments[1] == 0x0db8 => "a documentation address",
        // Tunnelled to an IPv4 host it names only obfuscated: refused whole.
        0x2001 if segments[1] == 0 => "a Teredo address",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(ip: &str) -> Option<&'static str> {
        not_public(ip.parse().unwrap())
    }

    #[test]
    fn webhook_addresses_inside_the_network_are_named_and_public_ones_pass() {
        for (ip, expected) in [
            ("127.0.0.1", "a loopback address"),
            ("10.1.2.3", "a private address"),
            ("172.31.255.255", "a private address"),
            ("192.168.0.10", "a private address"),
            ("169.254.169.254", "a link-local address"),
            ("100.100.100.200", "a shared (CGNAT) address"),
            ("0.0.0.0", "unspecified"),
            ("255.255.255.255", "the broadcast address"),
            ("239.1.1.1", "a multicast address"),
            ("203.0.113.7", "a documentation address"),
            ("::1", "a loopback address"),
            ("::", "unspecified"),
            ("fd12:3456::1", "a unique local address"),
            ("fe80::1", "a link-local address"),
            ("ff02::1", "a multicast address"),
            ("2001:db8::1", "a documentation address"),
            ("::ffff:127.0.0.1", "a loopback address"),
            ("::ffff:10.0.0.1", "a private address"),
            ("64:ff9b::a9fe:a9fe", "a link-local address"),
            ("192.0.0.8", "an IETF protocol address"),
            ("198.18.0.1", "a benchmarking address"),
            ("198.19.255.255", "a benchmarking address"),
            ("240.0.0.1", "a reserved address"),
            ("254.255.255.255", "a reserved address"),
            ("2002:7f00:1::", "a loopback address"),
            ("2002:a9fe:a9fe::1", "a link-local address"),
            ("64:ff9b::10.0.0.1", "a private address"),
            ("64:ff9b:1::127.0.0.1", "a loopback address"),
            ("64:ff9b:1:abcd::192.168.0.1", "a private address"),
            ("fec0::1", "a site-local address"),
            ("feff::1", "a site-local address"),
            ("2001::1", "a Teredo address"),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "a Teredo address"),
            ("::ffff:0:8.8.8.8", "an IPv4-translated address"),
            ("::ffff:0:10.0.0.1", "an IPv4-translated address"),
        ] {
            assert_eq!(kind(ip), Some(expected), "{ip}");
        }
        for ip in [
            "93.184.215.14",
            "172.32.0.1",
            "100.128.0.1",
            "192.0.1.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "2002:5db8:d70e::1",
            "64:ff9b::8.8.8.8",
            "64:ff9b:1::8.8.8.8",
            "2001:1::1",
            "2001:4860::8888",
            "fe7f::1",
        ] {
            assert_eq!(kind(ip), None, "{ip}");
        }
    }

    #[test]
    fn a_webhook_url_is_measured_as_it_is_stored() {
        let plain = format!("https://example.com/{}", "a".repeat(1970));
        assert_eq!(plain.chars().count(), 1990);
        assert_eq!(parse(&plain).unwrap().as_str(), plain);
        // Ten characters percent-encoded take six each: 1,990 as given, 2,040 as stored.
        let encoded = format!("https://example.com/{}{}", "a".repeat(1960), "é".repeat(10));
        assert_eq!(encoded.chars().count(), 1990);
        let err = parse(&encoded).unwrap_err().to_string();
        assert!(err.contains("longer than 2000 characters once normalised"), "{err}");
        // A name in another script becomes punycode: each `ü.` here becomes `xn--tda.`.
        let named = format!("https://{}example/{}", "ü.".repeat(30), "a".repeat(1914));
        assert_eq!(named.chars().count(), 1990);
        assert!(parse(&named).unwrap_err().to_string().contains("once normalised"));
    }

    #[tokio::test]
    async fn a_webhook_url_of_the_wrong_form_is_refused_with_why() {
        for (url, why) in [
            ("ftp://example.com/hook", "scheme is `ftp`"),
            ("https://user:pw@example.com/hook", "user name or password"),
            ("example.com/hook", "not an absolute URL"),
            ("http://127.0.0.1:9/hook", "127.0.0.1 is a loopback address"),
            ("http://[::ffff:192.168.1.1]/", "::ffff:192.168.1.1 is a private address"),
        ] {
            let err = check(url, false).await.unwrap_err();
            assert!(matches!(&err, Error::Invalid(message) if message.contains(why)), "{url}: {err}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL));
        assert!(check(&long, false).await.unwrap_err().to_string().contains("longer than 2000"));
        let allowed = check("http://127.0.0.1:9/hook", true).await.unwrap();
        assert_eq!((allowed.domain, allowed.addr), (None, "127.0.0.1:9".parse().unwrap()));
    }
}

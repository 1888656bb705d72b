//! HMAC-SHA256 signatures as the signing tools send them: hex in a header, over the raw
//! body (or a timestamp and the body), compared in constant time.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::HookError;

/// How far a signed timestamp may be from our clock, either way.
pub const WINDOW_SECONDS: i64 = 5 * 60;
/// More candidates than any rotation needs; a longer list is refused, not tried.
const MAX_CANDIDATES: usize = 8;
/// Why a well-formed signature was refused.
pub const MISMATCH: &str = "signature does not match: is the signing secret the tool's current one?";

/// A header's text, or `None` when the request has none.
pub fn optional_header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, HookError> {
    headers
        .get(name)
        .map(|value| {
            value.to_str().map(str::trim).map_err(|_| HookError::Signature(format!("the {name} header is not text")))
        })
        .transpose()
}

/// A header the signature check needs.
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, HookError> {
    optional_header(headers, name)?.ok_or_else(|| HookError::Signature(format!("missing {name} header")))
}

/// Accepts when any of `candidates` (hex) is the HMAC of the concatenated `parts`.
pub fn verify_hex<'a>(
    secret: &[u8],
    parts: &[&[u8]],
    candidates: impl IntoIterator<Item = &'a str>,
) -> Result<(), HookError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .map_err(|_| HookError::Signature("the signing secret cannot be used for HMAC".into()))?;
    for part in parts {
        mac.update(part);
    }
    let mut decoded = Vec::new();
    for candidate in candidates {
        if decoded.len() == MAX_CANDIDATES {
            return Err(HookError::Signature(format!("more than {MAX_CANDIDATES} signatures were sent")));
        }
        decoded.push(hex::decode(candidate).map_err(|_| HookError::Signature("signature is not hex".into()))?);
    }
    if decoded.is_empty() {
        return Err(HookError::Signature("no signature was sent".into()));
    }
    // Every candidate is compared, so the time taken says nothing about which one matched.
    let matched = decoded.iter().fold(false, |matched, bytes| mac.clone().verify_slice(bytes).is_ok() | matched);
    if matched {
        Ok(())
    } else {
        Err(HookError::Signature(MISMATCH.into()))
    }
}

/// Refuses a unix-seconds timestamp more than five minutes from `now`: a captured
/// delivery cannot be replayed later.
pub fn check_fresh(timestamp: &str, header_name: &str, now: DateTime<Utc>) -> Result<(), HookError> {
    let seconds: i64 = timestamp
        .parse()
        .map_err(|_| HookError::Signature(format!("the {header_name} header is not a unix time in seconds")))?;
    let skew = now.timestamp().saturating_sub(seconds).saturating_abs();
    if skew > WINDOW_SECONDS {
        return Err(HookError::Signature(format!(
            "stale timestamp: {header_name} is {skew} seconds from this server's clock (at most {WINDOW_SECONDS} allowed)"
        )));
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The hex HMAC-SHA256 of `message`, as the tools compute it.
    pub(in crate::incidents::hooks) fn sign(secret: &[u8], message: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(message);
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn known_vector() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn accepts_any_matching_candidate_and_names_failures() {
        let good = sign(b"secret", b"12:body");
        assert_eq!(verify_hex(b"secret", &[b"12", b":", b"body"], [good.as_str()]), Ok(()));
        assert_eq!(verify_hex(b"secret", &[b"12:body"], ["00".repeat(32).as_str(), good.as_str()]), Ok(()));
        assert_eq!(verify_hex(b"other", &[b"12:body"], [good.as_str()]), Err(HookError::Signature(MISMATCH.into())));
        assert_eq!(verify_hex(b"secret", &[b"body"], ["zz"]), Err(HookError::Signature("signature is not hex".into())));
        assert_eq!(verify_hex(b"secret", &[b"body"], []), Err(HookError::Signature("no signature was sent".into())));
        let many = vec![good.as_str(); 9];
        assert!(matches!(verify_hex(b"secret", &[b"12:body"], many), Err(HookError::Signature(m)) if m.contains("8")));
    }

    #[test]
    fn headers_are_required_by_name() {
        let mut headers = HeaderMap::new();
        assert_eq!(header(&headers, "X-Sig"), Err(HookError::Signature("missing X-Sig header".into())));
        headers.insert("x-sig", " abc ".parse().unwrap());
        assert_eq!(header(&headers, "X-Sig"), Ok("abc"));
        assert_eq!(optional_header(&headers, "X-Other"), Ok(None));
    }

    #[test]
    fn timestamps_must_be_fresh() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert_eq!(check_fresh("1700000000", "T", now), Ok(()));
        assert_eq!(check_fresh("1699999700", "T", now), Ok(()));
        assert_eq!(check_fresh("1700000300", "T", now), Ok(()));
        assert_eq!(
            check_fresh("1699999699", "T", now),
            Err(HookError::Signature(
                "stale timestamp: T is 301 seconds from this server's clock (at most 300 allowed)".into()
            ))
        );
        assert!(check_fresh("1700000301", "T", now).is_err());
        assert!(check_fresh(&i64::MIN.to_string(), "T", now).is_err());
        assert_eq!(
            check_fresh("2023-11-14T22:13:20Z", "T", now),
            Err(HookError::Signature("the T header is not a unix time in seconds".into()))
        );
    }
}

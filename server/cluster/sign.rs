//! Signing what one node forwards to another, so that a node trusts what a request says of
//! its origin (the client's address, for rate limits; that it was placed here on purpose)
//! only when it comes from a node holding the cluster secret.
//!
//! The signature is an HMAC-SHA-256, under the secret, of the sending node, the client's
//! address, the time and the request line. The secret itself never travels, and nothing of
//! the request's tokens is logged.

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The node that signed the request.
pub const FROM: &str = "x-plugboard-node";
/// The address of the client the request came from at the first node.
pub const CLIENT: &str = "x-plugboard-client";
/// When it was signed, ms since the epoch.
pub const TIME: &str = "x-plugboard-time";
/// The signature, in hex.
pub const SIGNATURE: &str = "x-plugboard-signature";

/// How far a signature's time may be from the receiver's clock: nodes' clocks differ a
/// little, and a forwarded request is signed just before it is sent.
const MAX_SKEW_MS: u64 = 60_000;

type HmacSha256 = Hmac<Sha256>;

/// What a checked signature vouches for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forwarded {
    /// The node that forwarded the request.
    pub from: u16,
    /// The client the request came from.
    pub client: IpAddr,
}

/// Why a request claiming to come from a node is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignError {
    #[error("a request between cluster nodes lacks {0}")]
    Missing(&'static str),
    #[error("a request between cluster nodes has a malformed {0}")]
    Malformed(&'static str),
    #[error("a request between cluster nodes was signed too long ago or in the future")]
    Stale,
    #[error("a request between cluster nodes has a wrong signature")]
    Wrong,
}

fn mac(
    secret: &[u8],
    from: u16,
    client: IpAddr,
    time_ms: u64,
    method: &Method,
    uri: &Uri,
) -> HmacSha256 {
    // HMAC takes a key of any length.
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    mac.update(format!("{from}\n{client}\n{time_ms}\n{method}\n{path}").as_bytes());
    mac
}

/// Put the headers of a request forwarded by node `from` for `client` into `headers`.
pub fn sign(
    headers: &mut HeaderMap,
    secret: &[u8],
    from: u16,
    client: IpAddr,
    time_ms: u64,
    method: &Method,
    uri: &Uri,
) {
    let tag = mac(secret, from, client, time_ms, method, uri)
        .finalize()
        .into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    for (name, value) in [
        (FROM, from.to_string()),
        (CLIENT, client.to_string()),
        (TIME, time_ms.to_string()),
        (SIGNATURE, hex),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
}

/// Whether the request carries any of the signing headers (then it must be checked).
pub fn claims_node(headers: &HeaderMap) -> bool {
    [FROM, CLIENT, TIME, SIGNATURE]
        .iter()
        .any(|h| headers.contains_key(*h))
}

/// Check the signature of a request that claims to come from a node, at `now_ms`.
pub fn verify(
    headers: &HeaderMap,
    secret: &[u8],
    now_ms: u64,
    method: &Method,
    uri: &Uri,
) -> Result<Forwarded, SignError> {
    let get = |name: &'static str| {
        headers
            .get(name)
            .ok_or(SignError::Missing(name))?
            .to_str()
            .map_err(|_| SignError::Malformed(name))
    };
    let from: u16 = get(FROM)?.parse().map_err(|_| SignError::Malformed(FROM))?;
    let client: IpAddr = get(CLIENT)?
        .parse()
        .map_err(|_| SignError::Malformed(CLIENT))?;
    let time_ms: u64 = get(TIME)?.parse().map_err(|_| SignError::Malformed(TIME))?;
    let hex = get(SIGNATURE)?;
    if now_ms.abs_diff(time_ms) > MAX_SKEW_MS {
        return Err(SignError::Stale);
    }
    let tag = decode_hex(hex).ok_or(SignError::Malformed(SIGNATURE))?;
    // verify_slice compares in constant time.
    mac(secret, from, client, time_ms, method, uri)
        .verify_slice(&tag)
        .map_err(|_| SignError::Wrong)?;
    Ok(Forwarded { from, client })
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() != 64 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a cluster secret of some length";

    fn signed(uri: &str) -> (HeaderMap, Uri) {
        let uri: Uri = uri.parse().unwrap();
        let mut headers = HeaderMap::new();
        sign(
            &mut headers,
            SECRET,
            7,
            "192.0.2.1".parse().unwrap(),
            1_000_000,
            &Method::POST,
            &uri,
        );
        (headers, uri)
    }

    #[test]
    fn a_signed_request_is_accepted_and_says_who_sent_it() {
        let (headers, uri) = signed("/api/sessions/0001000000000000/calls?wait_ms=5");
        let got = verify(&headers, SECRET, 1_000_500, &Method::POST, &uri).unwrap();
        assert_eq!(got.from, 7);
        assert_eq!(got.client, "192.0.2.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn anything_changed_is_refused() {
        let (headers, uri) = signed("/api/sessions/0001000000000000/calls");
        // Another secret, method, path, sender, client or time.
        assert_eq!(
            verify(
                &headers,
                b"another secret entirely",
                1_000_000,
                &Method::POST,
                &uri
            ),
            Err(SignError::Wrong)
        );
        assert_eq!(
            verify(&headers, SECRET, 1_000_000, &Method::DELETE, &uri),
            Err(SignError::Wrong)
        );
        let other: Uri = "/api/sessions/0002000000000000/calls".parse().unwrap();
        assert_eq!(
            verify(&headers, SECRET, 1_000_000, &Method::POST, &other),
            Err(SignError::Wrong)
        );
        for (name, value) in [(FROM, "8"), (CLIENT, "192.0.2.2"), (TIME, "1000001")] {
            let mut h = headers.clone();
            h.insert(name, HeaderValue::from_static(value));
            assert_eq!(
                verify(&h, SECRET, 1_000_000, &Method::POST, &uri),
                Err(SignError::Wrong),
                "{name}"
            );
        }
    }

    #[test]
    fn old_missing_or_malformed_signatures_are_refused() {
        let (headers, uri) = signed("/api/sessions");
        assert_eq!(
            verify(
                &headers,
                SECRET,
                1_000_000 + MAX_SKEW_MS + 1,
                &Method::POST,
                &uri
            ),
            Err(SignError::Stale)
        );
        let mut h = headers.clone();
        h.remove(SIGNATURE);
        assert!(claims_node(&h));
        assert_eq!(
            verify(&h, SECRET, 1_000_000, &Method::POST, &uri),
            Err(SignError::Missing(SIGNATURE))
        );
        h.insert(SIGNATURE, HeaderValue::from_static("zz"));
        assert_eq!(
            verify(&h, SECRET, 1_000_000, &Method::POST, &uri),
            Err(SignError::Malformed(SIGNATURE))
        );
        assert!(!claims_node(&HeaderMap::new()));
    }
}

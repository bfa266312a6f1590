//! Session tokens and client rate limits.
//!
//! A session has two tokens: the owner's (calls, hosts, ending) and the viewer's (reading
//! only). Only their SHA-256 hashes are kept, in memory for live sessions and in the database.
//! Rate limits are token buckets per client address, in a bounded table.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::error::{ApiError, Message};
use crate::sandbox::bucket::TokenBucket;

/// Random bytes in a token.
const TOKEN_BYTES: usize = 24;
/// Client addresses tracked at once by a limiter; the stalest are forgotten beyond this.
const MAX_TRACKED_CLIENTS: usize = 10_000;

/// What a request's token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The owner: everything.
    Owner,
    /// A viewer: read only.
    Viewer,
}

/// A new random token with its prefix (`pbo_` owner, `pbv_` viewer).
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    // Without the OS random source no safe token can be made; the server cannot run sessions.
    getrandom::fill(&mut bytes).ok(/* checked below: an all-zero token is refused */);
    if bytes.iter().all(|b| *b == 0) {
        tracing::error!("the OS random source gave no randomness");
    }
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// SHA-256 of a token.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Compare two hashes without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The bearer token of a request, from the Authorization header or, when allowed, `?token=`.
pub fn bearer(headers: &HeaderMap, query_token: Option<&str>) -> Option<String> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_owned())
        .or_else(|| query_token.map(str::to_owned))
}

/// Check `token` against a session's hashes.
pub fn check(token: Option<&str>, owner: &[u8], viewer: &[u8]) -> Result<Access, ApiError> {
    let Some(token) = token else {
        return Err(ApiError::Unauthorized(Message::new(
            "this needs the session's token: send Authorization: Bearer <token>",
            "这需要会话的令牌：请发送 Authorization: Bearer <token>",
        )));
    };
    let hash = hash_token(token);
    if same(&hash, owner) {
        Ok(Access::Owner)
    } else if same(&hash, viewer) {
        Ok(Access::Viewer)
    } else {
        Err(ApiError::Unauthorized(Message::new(
            "the token does not belong to this session",
            "这个令牌不属于本会话",
        )))
    }
}

/// Require owner access.
pub fn owner_only(access: Access) -> Result<(), ApiError> {
    match access {
        Access::Owner => Ok(()),
        Access::Viewer => Err(ApiError::Forbidden(Message::new(
            "the viewer token only watches; calls and changes need the session's token",
            "观看令牌只能观看；调用和修改需要会话的令牌",
        ))),
    }
}

/// Token buckets per client address.
#[derive(Debug)]
pub struct RateLimiter {
    /// Tokens added per second.
    rate: f64,
    /// Most tokens a client can save up.
    burst: f64,
    /// Each client's bucket.
    clients: Mutex<HashMap<IpAddr, TokenBucket>>,
}

impl RateLimiter {
    /// A limiter allowing `burst` at once and `rate` per second after.
    pub fn new(rate: f64, burst: f64) -> RateLimiter {
        RateLimiter {
            rate,
            burst,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Take one token for `client`, or say how many seconds until one is there.
    pub fn take(&self, client: IpAddr) -> Result<(), ApiError> {
        let now = Instant::now();
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if clients.len() >= MAX_TRACKED_CLIENTS && !clients.contains_key(&client) {
            // Forget clients whose buckets are full again: they lose nothing.
            clients.retain(|_, bucket| !bucket.is_full(now));
            if clients.len() >= MAX_TRACKED_CLIENTS {
                return Err(ApiError::RateLimited { retry_after: 1 });
            }
        }
        let (rate, burst) = (self.rate, self.burst);
        let bucket = clients
            .entry(client)
            .or_insert_with(|| TokenBucket::full(rate, burst, now));
        bucket.take(now).map_err(|wait| ApiError::RateLimited {
            retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_check_against_their_hashes() {
        let owner = new_token("pbo_");
        let viewer = new_token("pbv_");
        assert_ne!(owner, viewer);
        let (ho, hv) = (hash_token(&owner), hash_token(&viewer));
        assert_eq!(check(Some(&owner), &ho, &hv).unwrap(), Access::Owner);
        assert_eq!(check(Some(&viewer), &ho, &hv).unwrap(), Access::Viewer);
        assert!(check(Some("pbo_wrong"), &ho, &hv).is_err());
        assert!(check(None, &ho, &hv).is_err());
    }

    #[test]
    fn limiter_refuses_past_the_burst() {
        let l = RateLimiter::new(1.0, 2.0);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(l.take(ip).is_ok());
        assert!(l.take(ip).is_ok());
        assert!(matches!(
            l.take(ip),
            Err(ApiError::RateLimited { retry_after: 1 })
        ));
        assert!(l.take("192.0.2.2".parse().unwrap()).is_ok());
    }
}

//! The WebSocket endpoint's `after` and token: the query string through the server's query
//! extractor (`WsQuery`, server/http/ws.rs), the token from the Authorization header or
//! `?token=` (`auth::bearer`) and its check against a session's hashes (`auth::check`).
//! Input: the query string, a newline, the Authorization header's value.
//! Properties: no panic; every rejection is a 4xx; only the exact tokens are let in.

#![no_main]

use axum::extract::FromRequestParts;
use axum::http::{HeaderValue, Request, Uri, header};
use libfuzzer_sys::fuzz_target;
use plugboard::http::auth::{self, Access};
use plugboard::http::error::Query;
use plugboard::http::ws::WsQuery;
use plugboard_fuzz::{assert_client_error, ready};

const OWNER: &str = "pbo_owner-token";
const VIEWER: &str = "pbv_viewer-token";

fuzz_target!(|input: &[u8]| {
    let (query, authorization) = match input.iter().position(|b| *b == b'\n') {
        Some(at) => (&input[..at], Some(&input[at + 1..])),
        None => (input, None),
    };
    // A target the HTTP layer would not parse never reaches the handler.
    let Ok(query) = std::str::from_utf8(query) else {
        return;
    };
    let Ok(uri) = format!("/api/sessions/s/ws?{query}").parse::<Uri>() else {
        return;
    };
    let mut request = Request::builder().uri(uri);
    if let Some(value) = authorization.and_then(|v| HeaderValue::from_bytes(v).ok()) {
        request = request.header(header::AUTHORIZATION, value);
    }
    let (mut parts, ()) = request
        .body(())
        .expect("a parsed uri is valid")
        .into_parts();
    let query = match ready(Query::<WsQuery>::from_request_parts(&mut parts, &())) {
        Ok(Query(query)) => query,
        Err(e) => return assert_client_error(e),
    };
    let _after: u64 = query.after;
    let token = auth::bearer(&parts.headers, query.token.as_deref());
    let (owner, viewer) = (auth::hash_token(OWNER), auth::hash_token(VIEWER));
    match auth::check(token.as_deref(), &owner, &viewer) {
        Ok(Access::Owner) => assert_eq!(token.as_deref(), Some(OWNER)),
        Ok(Access::Viewer) => assert_eq!(token.as_deref(), Some(VIEWER)),
        Err(e) => assert_client_error(e),
    }
});

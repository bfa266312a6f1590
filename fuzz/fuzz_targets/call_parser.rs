//! The call parser: an HTTP call body, through the server's JSON extractor and
//! `CallRequest::try_from` (server/http/wire/call_request.rs), to the sandbox's `Call`.
//! Property: no panic, and every rejection is a 4xx.

#![no_main]

use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::{Request, header};
use libfuzzer_sys::fuzz_target;
use plugboard::http::error::Json;
use plugboard::http::wire::CallRequest;
use plugboard_fuzz::{assert_client_error, ready};
use serde_json::Value;

fuzz_target!(|body: &[u8]| {
    let request = Request::builder()
        .method("POST")
        .uri("/api/sessions/s/calls")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_vec()))
        .expect("a fixed request is valid");
    let value = match ready(Json::<Value>::from_request(request, &())) {
        Ok(Json(value)) => value,
        Err(e) => return assert_client_error(e),
    };
    match CallRequest::try_from(value) {
        Ok(parsed) => {
            // What the handler reads next must be usable as is.
            let _ = format!("{:?}", parsed.call);
        }
        Err(e) => assert_client_error(e),
    }
});

//! What the fuzz targets share: running the server's extractors without a runtime, and the
//! rule every rejection must keep ("nothing is ever a 500 for user input").

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use axum::response::IntoResponse;
use plugboard::http::error::ApiError;

/// Polls before a future that only parses in-memory input is deemed stuck.
const MAX_POLLS: usize = 64;

/// Run a future that needs no I/O (an extractor over an in-memory request) to completion.
pub fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..MAX_POLLS {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("an in-memory extractor never finished");
}

/// Render a rejection as the client would get it; it must be a 4xx.
pub fn assert_client_error(error: ApiError) {
    let shown = error.to_string();
    let response = error.into_response();
    assert!(
        response.status().is_client_error(),
        "user input answered {}: {shown}",
        response.status()
    );
}

//! `GET /api/sessions/{id}/capture.pcapng`: a session's packets as a file for Wireshark. The
//! handler finds the session (live, or ended and read from the store), gathers its log and
//! hands it to [`crate::sandbox::pcapng`], which knows nothing of HTTP.
//!
//! The work is bounded by the session's limits: its log holds at most `max_events` events and
//! its capture at most `max_packets` packets of at most the snap length; the store is read in
//! pages of [`MAX_EVENTS_PAGE`].

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::access::{Found, SessionAccess};
use super::error::{ApiError, ErrorBody};
use crate::config::DEFAULT_CAPTURE_SNAPLEN;
use crate::sandbox::IsolationMode;
use crate::sandbox::pcapng::write_pcapng;
use crate::store::StoredSession;

/// The media type of the file: pcapng has no registered one; this is Wireshark's.
pub const PCAPNG_CONTENT_TYPE: &str = "application/x-pcapng";
/// Response header saying the session has no capture at all (loopback mode, or a server
/// run with `--capture false`).
pub const CAPTURE_HEADER: &str = "x-plugboard-capture";
/// Its value then.
pub const CAPTURE_UNAVAILABLE: &str = "unavailable";

/// A pcapng file, as the OpenAPI document describes the answer's body.
#[derive(Debug, utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct PcapngFile(pub Vec<u8>);

/// `GET /api/sessions/{id}/capture.pcapng`: the session's packets as pcapng.
#[utoipa::path(
    get,
    path = "/api/sessions/{id}/capture.pcapng",
    tag = "events",
    params(("id" = String, Path, description = "Session id")),
    security(("token" = [])),
    responses(
        (status = 200, description = "The session's packets (netns mode) as a pcapng file, live \
            or ended alike: one interface per host link (`A:sw0`, `B:eth0`, `A:lo`), one packet \
            block per `packet` event in seq order with the kernel's timestamp, and a comment \
            naming its event and the call that caused it (`#16 connect(3, 10.0.0.2:8080) on A, \
            call 5`). The viewer token may download it. A loopback-mode session has no capture: \
            the answer is still 200, a valid file holding only the section header, with \
            `X-Plugboard-Capture: unavailable`.",
            content_type = "application/x-pcapng", body = inline(PcapngFile),
            headers(
                ("Content-Disposition" = String, description = "`attachment; filename=\"plugboard-<id>.pcapng\"`"),
                ("X-Plugboard-Capture" = String, description = "`unavailable` when the session has no capture (loopback mode, or a server run with `--capture false`) and so no packets; absent otherwise."),
            )
        ),
        (status = 401, description = "No or a wrong token.", body = ErrorBody),
        (status = 404, description = "No such session.", body = ErrorBody),
    )
)]
pub async fn capture_pcapng(
    State(state): State<AppState>,
    access: SessionAccess,
) -> Result<Response, ApiError> {
    let found = access.session;
    let (id, captured, file) = match &found {
        Found::Live(handle) => {
            let info = handle.info();
            let captured = info.isolation == IsolationMode::Netns && info.limits.capture;
            let events = super::log::all(&state, &found).await?;
            let file = write_pcapng(&events, info.limits.capture_snaplen);
            (info.id, captured, file)
        }
        Found::Stored(stored) => {
            let captured = stored_mode(stored) == IsolationMode::Netns
                && stored.limits["capture"].as_bool().unwrap_or(true);
            let events = if captured {
                super::log::all(&state, &found).await?
            } else {
                // Nothing was captured: no need to read the log.
                Vec::new()
            };
            let file = write_pcapng(&events, stored_snaplen(stored));
            (stored.id, captured, file)
        }
    };
    let file = file.map_err(|e| ApiError::Internal(format!("writing pcapng: {e}")))?;
    let mut response = (
        [
            (header::CONTENT_TYPE, PCAPNG_CONTENT_TYPE.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"plugboard-{id}.pcapng\""),
            ),
        ],
        file,
    )
        .into_response();
    if !captured {
        response.headers_mut().insert(
            HeaderName::from_static(CAPTURE_HEADER),
            HeaderValue::from_static(CAPTURE_UNAVAILABLE),
        );
    }
    Ok(response)
}

/// The isolation mode a stored session ran in, as the store spells it.
fn stored_mode(stored: &StoredSession) -> IsolationMode {
    if stored.isolation == IsolationMode::Netns.to_string() {
        IsolationMode::Netns
    } else {
        IsolationMode::Loopback
    }
}

/// The snap length a stored session captured with (the default for a record without one).
fn stored_snaplen(stored: &StoredSession) -> u32 {
    stored.limits["capture_snaplen"]
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(DEFAULT_CAPTURE_SNAPLEN)
}

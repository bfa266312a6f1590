//! A session as `GET /api/sessions/{id}` and the stream's snapshot message show it: a live
//! session's snapshot, or an ended one's (from memory, or as the store rebuilds it) without
//! sockets.

use serde::Serialize;

use super::access::Found;
use super::error::ApiError;
use crate::sandbox::{SessionError, Snapshot};

/// A session as `GET /api/sessions/{id}` shows it: a snapshot, with `live` saying whether
/// the session still runs (an ended session has no sockets, no usage and says why it ended).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    /// Whether the session is still running.
    pub live: bool,
    /// The snapshot.
    #[serde(flatten)]
    pub session: Snapshot,
}

/// The view of a session for its snapshot message and `GET /api/sessions/{id}`.
pub async fn session_view(found: &Found) -> Result<SessionView, ApiError> {
    let handle = match found {
        Found::Live(handle) => handle,
        Found::Stored(stored) => {
            return Ok(SessionView {
                live: false,
                session: stored.snapshot(),
            });
        }
    };
    let view = match handle.snapshot().await {
        Ok(snapshot) => SessionView {
            live: true,
            session: snapshot,
        },
        // Ended between lookup and snapshot: its log is still in memory.
        Err(_) => SessionView {
            live: false,
            session: Snapshot::ended(
                handle.info().clone(),
                handle.last_seq(),
                handle.info().expires_ms,
                handle.ended(),
                handle.hosts(),
            ),
        },
    };
    // Its last seq is one a client is given: shown once stored, like every event.
    handle
        .wait_shown(view.session.last_seq)
        .await
        .map_err(SessionError::from)?;
    Ok(view)
}

//! A session as `GET /api/sessions/{id}` and the stream's snapshot message show it: a live
//! session's snapshot, or an ended one's record (from memory or the database) as a snapshot
//! without sockets.
//!
//! The conversion of a stored session belongs with the store; it sits at the HTTP edge until
//! the store module takes it.

use std::sync::Arc;

use serde::Serialize;

use super::access::Found;
use super::error::ApiError;
use crate::config::SandboxLimits;
use crate::sandbox::{
    CaptureStats, Credentials, HostInfo, HostSnapshot, IsolationMode, SessionError, SessionInfo,
    Snapshot, Usage,
};
use crate::store::StoredSession;

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

/// An ended session's snapshot: its hosts without sockets, nothing pending, nothing in use.
fn ended_snapshot(
    info: Arc<SessionInfo>,
    last_seq: u64,
    idle_expires_ms: u64,
    ended: Option<String>,
    hosts: Vec<HostInfo>,
) -> SessionView {
    let capture = CaptureStats::after_end(info.isolation, info.limits.capture);
    let hosts: Vec<HostSnapshot> = hosts
        .into_iter()
        .map(|HostInfo { name, addrs }| HostSnapshot {
            name,
            addrs,
            sockets: Vec::new(),
            kernel_sockets: Vec::new(),
        })
        .collect();
    let usage = Usage {
        sockets: 0,
        pending_calls: 0,
        bytes_sent: 0,
        events: last_seq as usize,
        hosts: hosts.len(),
    };
    SessionView {
        live: false,
        session: Snapshot {
            info,
            last_seq,
            idle_expires_ms,
            ended,
            hosts,
            pending: Vec::new(),
            capture,
            usage,
        },
    }
}

impl From<&StoredSession> for SessionView {
    fn from(s: &StoredSession) -> SessionView {
        let isolation = match s.isolation.as_str() {
            "netns" => IsolationMode::Netns,
            _ => IsolationMode::Loopback,
        };
        let limits: SandboxLimits = serde_json::from_value(s.limits.clone()).unwrap_or_default();
        let info = Arc::new(SessionInfo {
            id: s.id,
            created_ms: s.created_ms,
            expires_ms: s.expires_ms,
            isolation,
            exercise: s.exercise.clone(),
            limits,
            credentials: Credentials::default(),
        });
        let ended = s.end_reason.clone().unwrap_or_else(|| "ended".to_owned());
        ended_snapshot(
            info,
            s.last_seq,
            s.ended_ms.unwrap_or(s.expires_ms),
            Some(ended),
            s.hosts.clone(),
        )
    }
}

/// The view of a session for its snapshot message and `GET /api/sessions/{id}`.
pub async fn session_view(found: &Found) -> Result<SessionView, ApiError> {
    let handle = match found {
        Found::Live(handle) => handle,
        Found::Stored(stored) => return Ok(SessionView::from(&**stored)),
    };
    let view = match handle.snapshot().await {
        Ok(snapshot) => SessionView {
            live: true,
            session: snapshot,
        },
        // Ended between lookup and snapshot: its log is still in memory.
        Err(_) => ended_snapshot(
            handle.info().clone(),
            handle.last_seq(),
            handle.info().expires_ms,
            handle.ended(),
            handle.hosts(),
        ),
    };
    // Its last seq is one a client is given: shown once stored, like every event.
    handle
        .wait_shown(view.session.last_seq)
        .await
        .map_err(SessionError::from)?;
    Ok(view)
}

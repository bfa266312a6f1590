//! Health and metrics: what an operator and a container runtime ask of the server.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;

use super::AppState;
use super::error::Json;
use crate::sandbox::IsolationMode;
use crate::sandbox::isolation::loopback::CAPTURE_UNAVAILABLE;

/// The answer of `GET /healthz`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// "ok", or "degraded" when the database does not answer.
    pub status: &'static str,
    /// The server's version.
    pub version: &'static str,
    /// The isolation mode in use.
    pub isolation: IsolationMode,
    /// Whether sessions show packets on the wire.
    pub capture: CaptureAvailability,
    /// "ok" or "error".
    pub database: &'static str,
    /// Sessions live now.
    pub live_sessions: usize,
    /// Sessions this node takes at once: `max_sessions`, or fewer when its descriptors allow
    /// fewer.
    pub capacity: usize,
    /// Sessions that can still start now: `capacity` less `live_sessions`.
    pub room: usize,
    /// Seconds since start.
    pub uptime_secs: u64,
    /// True once the server is stopping: it takes no new sessions and waits for its live
    /// ones to end.
    pub draining: bool,
    /// This node and the live nodes it knows, when it is a node of a cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterHealth>,
}

/// What a node of a cluster knows of it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClusterHealth {
    /// This node's id (the first four hex digits of the ids of the sessions it runs).
    pub node: u16,
    /// The nodes whose lease runs, as last read (this one included).
    pub nodes: Vec<NodeHealth>,
}

/// A node as its last lease renewal described it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NodeHealth {
    /// The node's id.
    pub id: u16,
    /// Its internal address.
    pub addr: String,
    /// Its live sessions.
    pub live_sessions: u64,
    /// Sessions it can still take.
    pub room: u64,
    /// Whether it is stopping.
    pub draining: bool,
}

/// Whether this server's sessions capture packets, and why not when they do not.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaptureAvailability {
    /// True in netns mode with the capture on.
    pub available: bool,
    /// Why not, and how to get them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

impl CaptureAvailability {
    /// What a server in `mode` with the capture on or off (`--capture`) shows.
    pub fn of(mode: IsolationMode, capture_on: bool) -> CaptureAvailability {
        let reason = match (mode, capture_on) {
            // For operators and their tools: English, whatever the request's language.
            (IsolationMode::Loopback, _) => Some(CAPTURE_UNAVAILABLE.en),
            (IsolationMode::Netns, false) => Some(crate::sandbox::CAPTURE_TURNED_OFF.en),
            (IsolationMode::Netns, true) => None,
        };
        CaptureAvailability {
            available: reason.is_none(),
            reason,
        }
    }
}

/// `GET /healthz`: 200 when everything answers, 503 otherwise.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses(
        (status = 200, description = "Up: the database answers.", body = Health),
        (status = 503, description = "Degraded: the database does not answer.", body = Health),
    )
)]
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let database_ok = state.store().ping().await;
    let health = Health {
        status: if database_ok { "ok" } else { "degraded" },
        version: env!("CARGO_PKG_VERSION"),
        isolation: state.sandbox().isolation_mode(),
        capture: CaptureAvailability::of(
            state.sandbox().isolation_mode(),
            state.sandbox().limits().capture,
        ),
        database: if database_ok { "ok" } else { "error" },
        live_sessions: state.sandbox().live_sessions(),
        capacity: state.sandbox().capacity(),
        room: state.sandbox().room(),
        uptime_secs: state.uptime().as_secs(),
        draining: state.draining(),
        cluster: state.cluster().map(|c| ClusterHealth {
            node: c.node(),
            nodes: c
                .members()
                .into_iter()
                .map(|n| NodeHealth {
                    id: n.id,
                    addr: n.addr,
                    live_sessions: n.live_sessions,
                    room: n.room,
                    draining: n.draining,
                })
                .collect(),
        }),
    };
    let status = if database_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(health))
}

/// `GET /metrics`: the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition.", content_type = "text/plain", body = String))
)]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics().render(),
    )
}

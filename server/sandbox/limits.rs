//! Limits of a session: the [`SandboxLimits`] every session is held to, their defaults as
//! named constants, and [`Limit`], which of them a refused request hit. The configuration
//! builds a [`SandboxLimits`] from flags; the sandbox only reads it.

use std::time::Duration;

/// Live sessions at once, over all clients.
pub const DEFAULT_MAX_SESSIONS: usize = 200;
/// Hosts in one session (A, B, … up to this many).
pub const DEFAULT_MAX_HOSTS: usize = 6;
/// Open sockets in one session, all hosts together.
pub const DEFAULT_MAX_SOCKETS: usize = 64;
/// Blocking calls waiting at once in one session.
pub const DEFAULT_MAX_PENDING_CALLS: usize = 16;
/// Bytes in one send/sendto payload, and the most one recv may ask for.
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// Bytes sent by one session over its whole life.
pub const DEFAULT_MAX_SESSION_BYTES: u64 = 16 * 1024 * 1024;
/// Calls per second one session may make (a token bucket with this rate and burst).
pub const DEFAULT_MAX_CALLS_PER_SECOND: u32 = 50;
/// Events one session may log; the log of a session is kept whole, so it is bounded.
pub const DEFAULT_MAX_EVENTS: usize = 20_000;
/// Packets one session's capture keeps (netns mode); later ones are counted, not kept.
pub const DEFAULT_MAX_PACKETS: usize = 5_000;
/// Captured bytes one session's capture keeps (netns mode).
pub const DEFAULT_MAX_CAPTURE_BYTES: u64 = 2 * 1024 * 1024;
/// Bytes of each frame the capture keeps: every header, and the start of the payload.
pub const DEFAULT_CAPTURE_SNAPLEN: u32 = 256;
/// A session untouched for this long ends.
pub const DEFAULT_IDLE_TTL_SECS: u64 = 30 * 60;
/// A session ends this long after its creation, however busy.
pub const DEFAULT_MAX_LIFETIME_SECS: u64 = 4 * 60 * 60;
/// Events a live subscriber (a WebSocket) may fall behind before it is sent a fresh snapshot.
pub const DEFAULT_SUBSCRIBER_LAG: usize = 256;
/// How long a blocking call waits before it is reported pending, unless the call says.
pub const DEFAULT_WAIT_MS: u64 = 1_000;
/// The longest wait a call may ask for.
pub const DEFAULT_MAX_WAIT_MS: u64 = 10_000;

/// Which limit a request hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    Sessions,
    Hosts,
    Sockets,
    PendingCalls,
    Payload,
    SessionBytes,
    CallRate,
    Events,
    Wait,
}

impl Limit {
    /// The limit's name in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            Limit::Sessions => "max_sessions",
            Limit::Hosts => "max_hosts",
            Limit::Sockets => "max_sockets",
            Limit::PendingCalls => "max_pending_calls",
            Limit::Payload => "max_payload_bytes",
            Limit::SessionBytes => "max_session_bytes",
            Limit::CallRate => "max_calls_per_second",
            Limit::Events => "max_events",
            Limit::Wait => "max_wait_ms",
        }
    }
}

/// Limits of one session, enforced by the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
// Sessions stored before a limit existed read it as its default.
#[serde(default)]
pub struct SandboxLimits {
    /// Live sessions at once.
    pub max_sessions: usize,
    /// Hosts per session.
    pub max_hosts: usize,
    /// Open sockets per session.
    pub max_sockets: usize,
    /// Pending blocking calls per session.
    pub max_pending_calls: usize,
    /// Bytes per send payload and per recv.
    pub max_payload_bytes: usize,
    /// Bytes sent per session over its life.
    pub max_session_bytes: u64,
    /// Calls per second per session.
    pub max_calls_per_second: u32,
    /// Events per session.
    pub max_events: usize,
    /// Packets a session's capture keeps.
    pub max_packets: usize,
    /// Captured bytes a session's capture keeps.
    pub max_capture_bytes: u64,
    /// Bytes of each captured frame kept.
    pub capture_snaplen: u32,
    /// Events a live subscriber may fall behind before it gets a fresh snapshot.
    pub subscriber_lag: usize,
    /// Seconds of inactivity before a session ends.
    pub idle_ttl_secs: u64,
    /// Seconds after creation before a session ends.
    pub max_lifetime_secs: u64,
    /// Default wait of a blocking call, in milliseconds.
    pub wait_ms: u64,
    /// Longest wait a call may ask for, in milliseconds.
    pub max_wait_ms: u64,
    /// Whether ports below 1024 may be bound.
    pub allow_privileged_ports: bool,
    /// Whether packets are captured (netns mode).
    pub capture: bool,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        SandboxLimits {
            max_sessions: DEFAULT_MAX_SESSIONS,
            max_hosts: DEFAULT_MAX_HOSTS,
            max_sockets: DEFAULT_MAX_SOCKETS,
            max_pending_calls: DEFAULT_MAX_PENDING_CALLS,
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
            max_session_bytes: DEFAULT_MAX_SESSION_BYTES,
            max_calls_per_second: DEFAULT_MAX_CALLS_PER_SECOND,
            max_events: DEFAULT_MAX_EVENTS,
            max_packets: DEFAULT_MAX_PACKETS,
            max_capture_bytes: DEFAULT_MAX_CAPTURE_BYTES,
            capture_snaplen: DEFAULT_CAPTURE_SNAPLEN,
            subscriber_lag: DEFAULT_SUBSCRIBER_LAG,
            idle_ttl_secs: DEFAULT_IDLE_TTL_SECS,
            max_lifetime_secs: DEFAULT_MAX_LIFETIME_SECS,
            wait_ms: DEFAULT_WAIT_MS,
            max_wait_ms: DEFAULT_MAX_WAIT_MS,
            allow_privileged_ports: false,
            capture: true,
        }
    }
}

impl SandboxLimits {
    /// The idle time-to-live as a duration.
    pub fn idle_ttl(&self) -> Duration {
        Duration::from_secs(self.idle_ttl_secs)
    }
    /// The maximum lifetime as a duration.
    pub fn max_lifetime(&self) -> Duration {
        Duration::from_secs(self.max_lifetime_secs)
    }
}

//! Counters and gauges of the whole server, rendered in the Prometheus text format.
//!
//! The store and the HTTP layer bump their own figures here; the sandbox does not know this
//! module: [`Metrics`] implements the sandbox's [`SandboxObserver`] hooks. The counters a
//! session touches on every call are plain atomics in fixed arrays, so counting costs no lock
//! and no allocation.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

pub use crate::sandbox::CallResultLabel;
use crate::sandbox::{EventKind, SandboxObserver};

/// Call kinds counted, in the order of [`CALL_KINDS`].
const CALL_KINDS: [EventKind; 16] = [
    EventKind::Socket,
    EventKind::Bind,
    EventKind::Listen,
    EventKind::Connect,
    EventKind::Accept,
    EventKind::Send,
    EventKind::Recv,
    EventKind::Sendto,
    EventKind::Recvfrom,
    EventKind::Shutdown,
    EventKind::Close,
    EventKind::Setsockopt,
    EventKind::Getsockopt,
    EventKind::Getsockname,
    EventKind::Getpeername,
    EventKind::Nonblocking,
];

/// Every figure the server exports.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Sessions now live.
    pub live_sessions: AtomicI64,
    /// Sockets now open, all sessions together.
    pub open_sockets: AtomicI64,
    /// Sessions created since start.
    pub sessions_created: AtomicU64,
    /// Calls by kind (index into CALL_KINDS) and outcome.
    calls: [[AtomicU64; CallResultLabel::ALL.len()]; CALL_KINDS.len()],
    /// Events logged by sessions.
    pub events_logged: AtomicU64,
    /// Events written to the database.
    pub events_written: AtomicU64,
    /// Batches written to the database.
    pub store_batches: AtomicU64,
    /// WebSocket subscribers now connected.
    pub ws_subscribers: AtomicI64,
    /// HTTP responses by matched route and status.
    http: Mutex<BTreeMap<(String, u16), u64>>,
}

impl Metrics {
    /// Count one call of `kind` that ended as `outcome`.
    pub fn count_call(&self, kind: EventKind, outcome: CallResultLabel) {
        if let Some(i) = CALL_KINDS.iter().position(|k| *k == kind) {
            self.calls[i][outcome as usize].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Calls of `kind` counted with `outcome` so far.
    pub fn calls(&self, kind: EventKind, outcome: CallResultLabel) -> u64 {
        CALL_KINDS.iter().position(|k| *k == kind).map_or(0, |i| {
            self.calls[i][outcome as usize].load(Ordering::Relaxed)
        })
    }

    /// Count one HTTP response.
    pub fn count_http(&self, route: &str, status: u16) {
        let mut http = self.http.lock().unwrap_or_else(|e| e.into_inner());
        *http.entry((route.to_owned(), status)).or_default() += 1;
    }

    /// The Prometheus text exposition of every figure.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let gauge = |out: &mut String, name: &str, help: &str, v: i64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        gauge(
            &mut out,
            "plugboard_live_sessions",
            "Sessions now live.",
            self.live_sessions.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "plugboard_open_sockets",
            "Kernel sockets now open in sessions.",
            self.open_sockets.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "plugboard_sessions_created_total",
            "Sessions created since start.",
            self.sessions_created.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP plugboard_calls_total Socket calls by kind and outcome.\n\
             # TYPE plugboard_calls_total counter"
        );
        for (i, kind) in CALL_KINDS.iter().enumerate() {
            let kind = serde_json::to_string(kind).unwrap_or_default();
            let kind = kind.trim_matches('"');
            for outcome in CallResultLabel::ALL {
                let _ = writeln!(
                    out,
                    "plugboard_calls_total{{kind=\"{kind}\",outcome=\"{}\"}} {}",
                    outcome.name(),
                    self.calls[i][outcome as usize].load(Ordering::Relaxed)
                );
            }
        }
        counter(
            &mut out,
            "plugboard_events_logged_total",
            "Events logged by sessions.",
            self.events_logged.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "plugboard_events_written_total",
            "Events written to the database.",
            self.events_written.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "plugboard_store_batches_total",
            "Transactions the event writer committed.",
            self.store_batches.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "plugboard_websocket_subscribers",
            "WebSocket subscribers now connected.",
            self.ws_subscribers.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP plugboard_http_requests_total HTTP responses by route and status.\n\
             # TYPE plugboard_http_requests_total counter"
        );
        let http = self.http.lock().unwrap_or_else(|e| e.into_inner());
        for ((route, status), n) in http.iter() {
            let route = route.replace('\\', "\\\\").replace('"', "\\\"");
            let _ = writeln!(
                out,
                "plugboard_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out
    }
}

/// The sandbox's figures: its sessions, their sockets, calls and events.
impl SandboxObserver for Metrics {
    fn session_started(&self) {
        self.live_sessions.fetch_add(1, Ordering::Relaxed);
        self.sessions_created.fetch_add(1, Ordering::Relaxed);
    }

    fn session_ended(&self) {
        self.live_sessions.fetch_sub(1, Ordering::Relaxed);
    }

    fn sockets_opened(&self, count: usize) {
        self.open_sockets.fetch_add(count as i64, Ordering::Relaxed);
    }

    fn sockets_closed(&self, count: usize) {
        self.open_sockets.fetch_sub(count as i64, Ordering::Relaxed);
    }

    fn call_counted(&self, kind: EventKind, result: CallResultLabel) {
        self.count_call(kind, result);
    }

    fn event_logged(&self) {
        self.events_logged.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counted_figures() {
        let m = Metrics::default();
        m.count_call(EventKind::Bind, CallResultLabel::Error);
        m.count_http("/healthz", 200);
        let text = m.render();
        assert!(text.contains("plugboard_calls_total{kind=\"bind\",outcome=\"error\"} 1"));
        assert!(
            text.contains("plugboard_http_requests_total{route=\"/healthz\",status=\"200\"} 1")
        );
    }
}

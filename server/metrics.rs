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
use serde::Deserialize;

use crate::sandbox::{Call, EventKind, SandboxObserver};

/// Slots for call counters, indexed by the call's event kind: more than there are kinds, so
/// a kind added later still has one (a test checks every call fits).
const KIND_SLOTS: usize = 64;

/// Counters of calls by kind and outcome.
#[derive(Debug)]
struct CallCounters([[AtomicU64; CallResultLabel::ALL.len()]; KIND_SLOTS]);

impl Default for CallCounters {
    fn default() -> Self {
        CallCounters(std::array::from_fn(|_| Default::default()))
    }
}

/// The event kind a call's name records, as the event's JSON names it.
fn kind_of(name: &str) -> Option<EventKind> {
    use serde::de::IntoDeserializer;
    let name: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
        name.into_deserializer();
    EventKind::deserialize(name).ok()
}

/// Every figure the server exports.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Sessions now live.
    pub live_sessions: AtomicI64,
    /// Sessions the sandbox takes at once (its capacity).
    pub session_capacity: AtomicI64,
    /// Sockets now open, all sessions together.
    pub open_sockets: AtomicI64,
    /// Sessions created since start.
    pub sessions_created: AtomicU64,
    /// Calls by kind (indexed by the kind's discriminant) and outcome.
    calls: CallCounters,
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
        if let Some(counts) = self.calls.0.get(kind as usize) {
            counts[outcome as usize].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Calls of `kind` counted with `outcome` so far.
    pub fn calls(&self, kind: EventKind, outcome: CallResultLabel) -> u64 {
        self.calls
            .0
            .get(kind as usize)
            .map_or(0, |counts| counts[outcome as usize].load(Ordering::Relaxed))
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
        let capacity = self.session_capacity.load(Ordering::Relaxed);
        gauge(
            &mut out,
            "plugboard_session_capacity",
            "Sessions this node takes at once: max_sessions, or fewer when its descriptors allow fewer.",
            capacity,
        );
        gauge(
            &mut out,
            "plugboard_session_room",
            "Sessions that can still start now: capacity less live sessions.",
            (capacity - self.live_sessions.load(Ordering::Relaxed)).max(0),
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
        for &name in Call::names() {
            let Some(kind) = kind_of(name) else { continue };
            for outcome in CallResultLabel::ALL {
                let _ = writeln!(
                    out,
                    "plugboard_calls_total{{kind=\"{name}\",outcome=\"{}\"}} {}",
                    outcome.name(),
                    self.calls(kind, outcome)
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
    fn session_capacity(&self, sessions: usize) {
        self.session_capacity.store(
            i64::try_from(sessions).unwrap_or(i64::MAX),
            Ordering::Relaxed,
        );
    }

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
    fn every_call_has_a_counter_under_its_own_name() {
        assert!(!Call::names().is_empty());
        for &name in Call::names() {
            let kind = kind_of(name).unwrap_or_else(|| panic!("no event kind for `{name}`"));
            assert!(kind.is_call(), "{name}");
            assert!((kind as usize) < KIND_SLOTS, "{name} has no counter slot");
        }
    }

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

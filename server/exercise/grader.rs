//! The grader: every check of an exercise evaluated over a session's event log, with a hint
//! for each check that fails. Pure: the same log always gives the same report.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::{Exercise, Filter, Rule};
use crate::sandbox::{Event, EventKind, HostId, HostInfo, Status};

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckResult {
    /// The check's id.
    pub id: String,
    /// What must be true.
    pub text: String,
    /// Whether it is.
    pub passed: bool,
    /// What to do, for a check that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// A grading report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Report {
    /// The exercise.
    pub exercise: String,
    /// Its version.
    pub version: u32,
    /// Whether every check passed.
    pub passed: bool,
    /// Checks passed.
    pub passed_checks: usize,
    /// Checks in all.
    pub total_checks: usize,
    /// Events graded (the log up to this seq).
    pub last_seq: u64,
    /// Every check in the exercise's order.
    pub checks: Vec<CheckResult>,
}

/// Grade `events` of a session with `hosts` against `exercise`.
pub fn grade(exercise: &Exercise, events: &[Event], hosts: &[HostInfo]) -> Report {
    let ctx = Context { events, hosts };
    let checks: Vec<CheckResult> = exercise
        .checks
        .iter()
        .map(|check| {
            let passed = ctx.holds(&check.rule);
            CheckResult {
                id: check.id.clone(),
                text: check.text.clone(),
                passed,
                hint: (!passed).then(|| check.hint.clone()),
            }
        })
        .collect();
    let passed_checks = checks.iter().filter(|c| c.passed).count();
    Report {
        exercise: exercise.id.clone(),
        version: exercise.version,
        passed: passed_checks == checks.len(),
        passed_checks,
        total_checks: checks.len(),
        last_seq: events.last().map_or(0, |e| e.seq),
        checks,
    }
}

/// Bytes one host moved, as the log shows them.
struct Stream {
    /// Bytes in all (from the calls' results).
    total: u64,
    /// The bytes the previews hold, in order.
    bytes: Vec<u8>,
    /// Whether the previews hold every byte.
    exact: bool,
}

struct Context<'a> {
    events: &'a [Event],
    hosts: &'a [HostInfo],
}

fn host_id(name: &str) -> Option<HostId> {
    name.parse().ok()
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Ok => "ok",
        Status::Error => "error",
        Status::Pending => "pending",
        Status::Observed => "observed",
    }
}

/// The same address, seen through IPv4-mapped IPv6.
fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    let canon = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    canon(a) == canon(b)
}

impl Context<'_> {
    fn addrs_of(&self, name: &str) -> &[IpAddr] {
        host_id(name)
            .and_then(|id| self.hosts.iter().find(|h| h.name == id))
            .map_or(&[], |h| h.addrs.as_slice())
    }

    fn belongs(&self, addr: Option<SocketAddr>, host: &str) -> bool {
        addr.is_some_and(|a| self.addrs_of(host).iter().any(|ip| same_ip(*ip, a.ip())))
    }

    fn matches(&self, f: &Filter, e: &Event) -> bool {
        let tuple = e.tuple.as_ref();
        f.kind.is_none_or(|k| e.kind == k)
            && f.host.as_deref().is_none_or(|h| e.host == host_id(h))
            && f.status
                .as_deref()
                .is_none_or(|s| status_name(e.status) == s)
            && f.errno
                .as_deref()
                .is_none_or(|n| e.errno.is_some_and(|x| x.name == n))
            && f.fd.is_none_or(|fd| e.fd == Some(fd))
            && f.local_port.is_none_or(|p| {
                // A bind that failed has no local address yet: the address it asked for counts.
                let asked = (e.kind == EventKind::Bind).then_some(e.addr).flatten();
                tuple
                    .and_then(|t| t.local)
                    .or(asked)
                    .is_some_and(|a| a.port() == p)
            })
            && f.remote_port.is_none_or(|p| {
                let remote = tuple.and_then(|t| t.remote).or(e.addr).or(e.peer);
                remote.is_some_and(|a| a.port() == p)
            })
            && f.peer_host.as_deref().is_none_or(|h| {
                self.belongs(e.peer, h)
                    || self.belongs(tuple.and_then(|t| t.remote), h)
                    || (matches!(e.kind, EventKind::Connect | EventKind::Sendto)
                        && self.belongs(e.addr, h))
            })
            && f.family
                .is_none_or(|fam| tuple.is_some_and(|t| t.family == fam))
            && f.proto.is_none_or(|p| tuple.is_some_and(|t| t.proto == p))
            && f.to.is_none_or(|s| e.to == Some(s))
            && f.from.is_none_or(|s| e.from == Some(s))
            && f.data
                .as_deref()
                .is_none_or(|d| e.data.as_ref().and_then(|p| p.text.as_deref()) == Some(d))
            && f.option.is_none_or(|o| e.option == Some(o))
            && f.value.is_none_or(|v| e.value == Some(v))
            && f.how.is_none_or(|h| e.how == Some(h))
            && f.nonblocking.is_none_or(|n| e.nonblocking == Some(n))
            && f.min_queue.is_none_or(|q| e.queue.is_some_and(|n| n >= q))
    }

    fn position(&self, f: &Filter) -> Option<usize> {
        self.events.iter().position(|e| self.matches(f, e))
    }

    fn count(&self, f: &Filter) -> usize {
        self.events.iter().filter(|e| self.matches(f, e)).count()
    }

    /// What a host moved with the given call kinds, in order: the byte count, and the bytes
    /// as far as the events' previews hold them (`exact` when no payload was longer than its
    /// preview).
    fn stream(&self, host: &str, kinds: [EventKind; 2]) -> Stream {
        let id = host_id(host);
        let mut stream = Stream {
            total: 0,
            bytes: Vec::new(),
            exact: true,
        };
        for e in self.events.iter().filter(|e| {
            e.host == id && kinds.contains(&e.kind) && e.status == Status::Ok && !e.peek
        }) {
            stream.total += e.bytes.unwrap_or(0);
            if let Some(p) = &e.data {
                let bytes = match (&p.text, &p.hex) {
                    (Some(text), _) => text.as_bytes().to_vec(),
                    (None, Some(hex)) => crate::sandbox::call::from_hex(hex).unwrap_or_default(),
                    (None, None) => Vec::new(),
                };
                stream.exact &= !p.truncated;
                stream.bytes.extend(bytes);
            }
        }
        stream
    }

    fn holds(&self, rule: &Rule) -> bool {
        match rule {
            Rule::Event(f) => self.position(f).is_some(),
            Rule::None(f) => self.position(f).is_none(),
            Rule::Count { filter, min, max } => {
                let n = self.count(filter);
                min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m)
            }
            Rule::Order { first, then } => match self.position(first) {
                Some(i) => self.events[i + 1..].iter().any(|e| self.matches(then, e)),
                None => false,
            },
            Rule::TcpState { host, to, from } => self.events.iter().any(|e| {
                e.kind == EventKind::TcpState
                    && e.host == host_id(host)
                    && e.to == Some(*to)
                    && from.is_none_or(|f| e.from == Some(f))
            }),
            Rule::ReceivedEqualsSent {
                receiver,
                sender,
                text,
            } => {
                let got = self.stream(receiver, [EventKind::Recv, EventKind::Recvfrom]);
                let sent = self.stream(sender, [EventKind::Send, EventKind::Sendto]);
                // Byte counts always; the bytes themselves as far as the previews are whole
                // (every payload up to 64 bytes), else their first bytes.
                let same_bytes = if got.exact && sent.exact {
                    got.bytes == sent.bytes
                } else {
                    let n = got
                        .bytes
                        .len()
                        .min(sent.bytes.len())
                        .min(crate::sandbox::event::PREVIEW_BYTES);
                    got.bytes[..n] == sent.bytes[..n]
                };
                got.total > 0
                    && got.total == sent.total
                    && same_bytes
                    && text
                        .as_deref()
                        .is_none_or(|t| got.exact && got.bytes == t.as_bytes())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercise::{Check, Setup};
    use crate::sandbox::Preview;

    fn io(seq: u64, host: HostId, kind: EventKind, bytes: &[u8]) -> Event {
        let mut e = Event::new(kind, Status::Ok);
        e.seq = seq;
        e.host = Some(host);
        e.bytes = Some(bytes.len() as u64);
        e.data = Some(Preview::of(bytes));
        e
    }

    fn echoed(events: &[Event]) -> bool {
        let exercise = Exercise {
            id: "t".into(),
            version: 1,
            title: "t".into(),
            summary: "t".into(),
            teaches: vec![],
            text: "t".into(),
            setup: Setup::default(),
            checks: vec![Check {
                id: "echo".into(),
                text: "echo".into(),
                hint: "h".into(),
                rule: Rule::ReceivedEqualsSent {
                    receiver: "A".into(),
                    sender: "A".into(),
                    text: None,
                },
            }],
        };
        grade(&exercise, events, &[]).passed
    }

    #[test]
    fn received_equals_sent_counts_every_byte() {
        let long: Vec<u8> = (0..100u8).collect();
        let send = io(1, HostId::A, EventKind::Send, &long);
        // Read back in two pieces: passes, though one preview could not hold the send.
        let two = [
            send.clone(),
            io(2, HostId::A, EventKind::Recv, &long[..50]),
            io(3, HostId::A, EventKind::Recv, &long[50..]),
        ];
        assert!(echoed(&two));
        // Read only the first 64 bytes: the previews agree, the counts do not.
        let short = [send.clone(), io(2, HostId::A, EventKind::Recv, &long[..64])];
        assert!(!echoed(&short));
        // Binary payloads count too.
        let bin = [
            io(1, HostId::A, EventKind::Send, &[0xff, 0]),
            io(2, HostId::A, EventKind::Recv, &[0xff, 0]),
        ];
        assert!(echoed(&bin));
        let wrong = [
            io(1, HostId::A, EventKind::Send, b"ab"),
            io(2, HostId::A, EventKind::Recv, b"ba"),
        ];
        assert!(!echoed(&wrong));
        assert!(!echoed(&[]), "nothing read is not an echo");
    }
}

//! The grader: every check of an exercise evaluated over a session's event log, with a hint
//! for each check that fails. Pure: the same log always gives the same report.
//!
//! Packets, sockets without a descriptor and raw and ICMP sockets are in the log only in netns
//! isolation. The grader is not told the session's mode: a log without a single packet event
//! is what a rule that reads them fails on, with [`NO_PACKETS`] before the check's own hint.
//!
//! A host's ephemeral port range comes from the hosts the grader is given and, where those do
//! not say it (a session read back from the store), from the hosts the log's
//! `session_started` and `host_added` events list.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::{Distinct, Exercise, Filter, PacketFilter, Rule, TcpFlag};
use crate::i18n::{Lang, Text};
use crate::sandbox::net::Addr;
use crate::sandbox::packet::{Packet, TcpSegment};
use crate::sandbox::{Event, EventKind, HostId, HostInfo, Proto, SockType, Status};

/// What a check that reads packets (or sockets without a descriptor, or raw and ICMP sockets)
/// says on a log without a single packet.
pub const NO_PACKETS: &str = NO_PACKETS_TEXT.en;

/// [`NO_PACKETS`] in every language.
pub const NO_PACKETS_TEXT: Text = Text {
    en: "This session captured no packets: packets on the wire, raw and \
    ICMP sockets and sockets without a descriptor need netns isolation (a server running as \
    root, or in Docker with the SYS_ADMIN and NET_ADMIN capabilities). In loopback isolation \
    this check cannot pass. In netns isolation:",
    zh: "本会话没有抓到任何数据包：线路上的数据包、原始套接字和 ICMP 套接字，以及没有描述符的\
    套接字，都需要 netns 隔离（服务器以 root 运行，或在 Docker 中带 SYS_ADMIN 和 NET_ADMIN \
    权限运行）。在 loopback 隔离下这一项检查无法通过。在 netns 隔离下：",
};

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

/// Grade `events` of a session with `hosts` against `exercise`, in English.
pub fn grade(exercise: &Exercise, events: &[Event], hosts: &[HostInfo]) -> Report {
    grade_in(exercise, events, hosts, Lang::En)
}

/// Grade `events` of a session with `hosts` against `exercise`, the checks' texts and hints
/// in `lang` (English where not translated).
pub fn grade_in(exercise: &Exercise, events: &[Event], hosts: &[HostInfo], lang: Lang) -> Report {
    let exercise = &exercise.localized(lang);
    let no_packets = NO_PACKETS_TEXT.get(lang);
    let ctx = Context::new(events, hosts);
    let captured = events.iter().any(|e| e.kind == EventKind::Packet);
    let checks: Vec<CheckResult> = exercise
        .checks
        .iter()
        .map(|check| {
            let (passed, hint) = if check.rule.netns_only() && !captured {
                (false, Some(format!("{no_packets} {}", check.hint)))
            } else {
                let passed = ctx.holds(&check.rule);
                (passed, (!passed).then(|| check.hint.clone()))
            };
            CheckResult {
                id: check.id.clone(),
                text: check.text.clone(),
                passed,
                hint,
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
    /// The kind of every call, by `call_id`: what a packet's `caused_by` is checked against.
    calls: HashMap<u64, EventKind>,
    /// Each host's ephemeral port range, where known: what `ephemeral` is checked against.
    ephemeral: HashMap<HostId, (u16, u16)>,
}

/// One captured TCP segment: its packet, its header and its ends (source, destination).
struct Segment<'a> {
    packet: &'a Packet,
    tcp: &'a TcpSegment,
    ends: (SocketAddr, SocketAddr),
}

impl Segment<'_> {
    fn has(&self, flag: TcpFlag) -> bool {
        self.tcp.has(flag.name())
    }

    /// The connection it belongs to, the same from either end.
    fn connection(&self) -> (SocketAddr, SocketAddr) {
        let (a, b) = self.ends;
        (a.min(b), a.max(b))
    }
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

/// The other end of an event: its socket's remote address, else the address the call named
/// (connect, sendto), else its peer (accept, recvfrom).
fn remote_of(e: &Event) -> Option<Addr> {
    e.tuple.and_then(|t| t.remote).or(e.addr).or(e.peer)
}

/// The socket's own address: its tuple's local one, else, for a bind (which may have failed
/// and left none), the address it asked for.
fn local_of(e: &Event) -> Option<Addr> {
    let asked = (e.kind == EventKind::Bind).then_some(e.addr).flatten();
    e.tuple.and_then(|t| t.local).or(asked)
}

/// The socket's type; recordings made before the tuple kept it have stream for TCP and dgram
/// for UDP.
fn sock_type_of(e: &Event) -> Option<SockType> {
    let t = e.tuple?;
    t.ty.or(match t.proto {
        Proto::Tcp => Some(SockType::Stream),
        Proto::Udp => Some(SockType::Dgram),
        Proto::Icmp | Proto::Icmpv6 | Proto::Unix => None,
    })
}

/// Whether `addr` is the Unix-domain name `path` (`@name` for an abstract one).
fn is_path(addr: Option<Addr>, path: &str) -> bool {
    addr.and_then(Addr::unix)
        .is_some_and(|name| name.to_string() == path)
}

/// The same address, seen through IPv4-mapped IPv6.
fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    let canon = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    canon(a) == canon(b)
}

impl<'a> Context<'a> {
    fn new(events: &'a [Event], hosts: &'a [HostInfo]) -> Context<'a> {
        let calls = events
            .iter()
            .filter(|e| e.kind.is_call())
            .filter_map(|e| Some((e.call_id?, e.kind)))
            .collect();
        // The hosts given first, then those the log lists where the given ones do not say.
        let listed = events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::SessionStarted | EventKind::HostAdded))
            .flat_map(|e| e.hosts.iter().flatten());
        let mut ephemeral = HashMap::new();
        for h in hosts.iter().chain(listed) {
            if let Some(range) = h.ephemeral_ports {
                ephemeral.entry(h.name).or_insert(range);
            }
        }
        Context {
            events,
            hosts,
            calls,
            ephemeral,
        }
    }

    fn addrs_of(&self, name: &str) -> &[IpAddr] {
        host_id(name)
            .and_then(|id| self.hosts.iter().find(|h| h.name == id))
            .map_or(&[], |h| h.addrs.as_slice())
    }

    fn belongs(&self, addr: Option<Addr>, host: &str) -> bool {
        addr.and_then(Addr::inet)
            .is_some_and(|a| self.addrs_of(host).iter().any(|ip| same_ip(*ip, a.ip())))
    }

    /// Whether the local port of `e`'s socket lies in its host's ephemeral range (None when
    /// the socket has no port or the range is not known).
    fn in_ephemeral_range(&self, e: &Event) -> Option<bool> {
        let port = e.tuple.and_then(|t| t.local).and_then(Addr::port)?;
        let (lo, hi) = *self.ephemeral.get(&e.host?)?;
        Some((lo..=hi).contains(&port))
    }

    /// The value of `field` in `e`, as text, when `e` has one.
    fn distinct_value(field: Distinct, e: &Event) -> Option<String> {
        let port = |a: Option<Addr>| a.and_then(Addr::port).map(|p| p.to_string());
        match field {
            Distinct::Fd => e.fd.map(|fd| fd.to_string()),
            Distinct::LocalPort => port(e.tuple.and_then(|t| t.local)),
            Distinct::RemotePort => port(remote_of(e)),
            Distinct::Data => e.data.as_ref().and_then(|p| p.text.clone()),
        }
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
            // A bind that failed has no local address yet: the address it asked for counts.
            && f.local_port
                .is_none_or(|p| local_of(e).is_some_and(|a| a.port() == Some(p)))
            && f.remote_port
                .is_none_or(|p| remote_of(e).is_some_and(|a| a.port() == Some(p)))
            && f.local_path
                .as_deref()
                .is_none_or(|p| is_path(local_of(e), p))
            && f.remote_path
                .as_deref()
                .is_none_or(|p| is_path(remote_of(e), p))
            && f.path.as_deref().is_none_or(|p| {
                [
                    e.addr,
                    e.peer,
                    tuple.and_then(|t| t.local),
                    tuple.and_then(|t| t.remote),
                ]
                .into_iter()
                .any(|a| is_path(a, p))
            })
            && f.ephemeral
                .is_none_or(|want| self.in_ephemeral_range(e) == Some(want))
            && f.peer_host.as_deref().is_none_or(|h| {
                self.belongs(e.peer, h)
                    || self.belongs(tuple.and_then(|t| t.remote), h)
                    || (matches!(e.kind, EventKind::Connect | EventKind::Sendto)
                        && self.belongs(e.addr, h))
            })
            && f.family
                .is_none_or(|fam| tuple.is_some_and(|t| t.family == fam))
            && f.proto.is_none_or(|p| tuple.is_some_and(|t| t.proto == p))
            && f.sock_type.is_none_or(|t| sock_type_of(e) == Some(t))
            && f.to.is_none_or(|s| e.to == Some(s))
            && f.from.is_none_or(|s| e.from == Some(s))
            && f.data
                .as_deref()
                .is_none_or(|d| e.data.as_ref().and_then(|p| p.text.as_deref()) == Some(d))
            && f.bytes.is_none_or(|n| e.bytes == Some(n))
            && f.option.is_none_or(|o| e.option == Some(o))
            && f.value.is_none_or(|v| e.value == Some(v))
            && f.how.is_none_or(|h| e.how == Some(h))
            && f.nonblocking.is_none_or(|n| e.nonblocking == Some(n))
            && f.min_queue.is_none_or(|q| e.queue.is_some_and(|n| n >= q))
            && f.packet.as_ref().is_none_or(|p| self.matches_packet(p, e))
    }

    fn matches_packet(&self, f: &PacketFilter, e: &Event) -> bool {
        let Some(p) = e.packet.as_deref() else {
            return false;
        };
        let tcp = p.tcp.as_ref();
        let ports = tcp
            .map(|t| (t.src_port, t.dst_port))
            .or(p.udp.as_ref().map(|u| (u.src_port, u.dst_port)));
        let has = |flag: &TcpFlag| tcp.is_some_and(|t| t.has(flag.name()));
        f.from.as_deref().is_none_or(|h| host_id(h) == Some(p.from))
            && f.to
                .as_deref()
                .is_none_or(|h| p.to.is_some_and(|to| host_id(h) == Some(to)))
            && f.proto.is_none_or(|x| p.proto == x)
            && (f.flags.is_empty() || tcp.is_some() && f.flags.iter().all(has))
            && (f.no_flags.is_empty() || tcp.is_some() && !f.no_flags.iter().any(has))
            && f.src_port
                .is_none_or(|x| ports.is_some_and(|(src, _)| src == x))
            && f.dst_port
                .is_none_or(|x| ports.is_some_and(|(_, dst)| dst == x))
            && f.min_payload.is_none_or(|n| p.payload_len >= n)
            && f.data
                .as_deref()
                .is_none_or(|d| p.data.as_ref().and_then(|x| x.text.as_deref()) == Some(d))
            && f.caused_by
                .is_none_or(|k| e.call_id.and_then(|id| self.calls.get(&id)) == Some(&k))
            && f.iface.as_deref().is_none_or(|i| p.iface == i)
            && f.icmp_type
                .is_none_or(|t| p.icmp.as_ref().is_some_and(|m| m.icmp_type == t))
    }

    /// Every captured TCP segment, in log order.
    fn segments(&self) -> Vec<Segment<'a>> {
        self.events
            .iter()
            .filter_map(|e| {
                let packet = e.packet.as_deref()?;
                Some(Segment {
                    packet,
                    tcp: packet.tcp.as_ref()?,
                    ends: packet.endpoints()?,
                })
            })
            .collect()
    }

    /// SYN (J), SYN+ACK (K, J+1), ACK (J+1, K+1) from `client` to `server`, in that order.
    fn handshake(&self, client: &str, server: &str, port: Option<u16>) -> bool {
        let (client, server) = (host_id(client), host_id(server));
        let segments = self.segments();
        segments.iter().enumerate().any(|(i, syn)| {
            let (j, (near, far)) = (syn.tcp.seq, syn.ends);
            let opens = Some(syn.packet.from) == client
                && syn.packet.to == server
                && syn.has(TcpFlag::Syn)
                && !syn.has(TcpFlag::Ack)
                && port.is_none_or(|p| far.port() == p);
            opens
                && segments[i + 1..].iter().enumerate().any(|(k, syn_ack)| {
                    syn_ack.ends == (far, near)
                        && syn_ack.has(TcpFlag::Syn)
                        && syn_ack.has(TcpFlag::Ack)
                        && syn_ack.tcp.ack == j.wrapping_add(1)
                        && segments[i + 1 + k + 1..].iter().any(|ack| {
                            ack.ends == (near, far)
                                && ack.has(TcpFlag::Ack)
                                && !ack.has(TcpFlag::Syn)
                                && !ack.has(TcpFlag::Rst)
                                && ack.tcp.seq == j.wrapping_add(1)
                                && ack.tcp.ack == syn_ack.tcp.seq.wrapping_add(1)
                        })
                })
        })
    }

    /// No segment from `host` carried payload before its connection's handshake completed:
    /// before the segment acknowledging the SYN+ACK (that segment itself may carry data).
    fn no_data_before_handshake(&self, host: &str) -> bool {
        let host = host_id(host);
        // SYN+ACKs seen: the ends of the segment that will acknowledge one, and its ack.
        let mut syn_acks: Vec<((SocketAddr, SocketAddr), u32)> = Vec::new();
        let mut established = BTreeSet::new();
        for seg in self.segments() {
            if seg.has(TcpFlag::Syn) && seg.has(TcpFlag::Ack) {
                syn_acks.push(((seg.ends.1, seg.ends.0), seg.tcp.seq.wrapping_add(1)));
            }
            let completes = seg.has(TcpFlag::Ack)
                && !seg.has(TcpFlag::Syn)
                && !seg.has(TcpFlag::Rst)
                && syn_acks.contains(&(seg.ends, seg.tcp.ack));
            if completes {
                established.insert(seg.connection());
            }
            if Some(seg.packet.from) == host
                && seg.packet.payload_len > 0
                && !established.contains(&seg.connection())
            {
                return false;
            }
        }
        true
    }

    fn position(&self, f: &Filter) -> Option<usize> {
        self.events.iter().position(|e| self.matches(f, e))
    }

    fn count(&self, f: &Filter) -> usize {
        self.events.iter().filter(|e| self.matches(f, e)).count()
    }

    /// Different values of `field` among the events that match `f`.
    fn count_distinct(&self, f: &Filter, field: Distinct) -> usize {
        self.events
            .iter()
            .filter(|e| self.matches(f, e))
            .filter_map(|e| Context::distinct_value(field, e))
            .collect::<BTreeSet<_>>()
            .len()
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
                    (None, Some(hex)) => crate::sandbox::hex::from_hex(hex).unwrap_or_default(),
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
            Rule::Count {
                filter,
                min,
                max,
                distinct,
            } => {
                let n = match distinct {
                    None => self.count(filter),
                    Some(field) => self.count_distinct(filter, *field),
                };
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
            Rule::Packet(f) => self.events.iter().any(|e| self.matches_packet(f, e)),
            Rule::Handshake {
                client,
                server,
                port,
            } => self.handshake(client, server, *port),
            Rule::NoDataBeforeHandshake { host } => self.no_data_before_handshake(host),
        }
    }
}

#[cfg(test)]
mod tests;

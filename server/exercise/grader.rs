//! The grader: every check of an exercise evaluated over a session's event log, with a hint
//! for each check that fails. Pure: the same log always gives the same report.
//!
//! Packets and sockets without a descriptor are in the log only in netns isolation. The grader
//! is not told the session's mode: a log without a single packet event is what a rule that
//! reads them fails on, with [`NO_PACKETS`] before the check's own hint.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::{Exercise, Filter, PacketFilter, Rule, TcpFlag};
use crate::sandbox::packet::{Packet, TcpSegment};
use crate::sandbox::{Event, EventKind, HostId, HostInfo, Status};

/// What a check that reads packets (or sockets without a descriptor) says on a log without a
/// single packet.
pub const NO_PACKETS: &str = "This session captured no packets: packets on the wire and \
    sockets without a descriptor need netns isolation (a server running as root, or in Docker \
    with the SYS_ADMIN and NET_ADMIN capabilities). In loopback isolation this check cannot \
    pass. In netns isolation:";

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
    let ctx = Context::new(events, hosts);
    let captured = events.iter().any(|e| e.kind == EventKind::Packet);
    let checks: Vec<CheckResult> = exercise
        .checks
        .iter()
        .map(|check| {
            let (passed, hint) = if check.rule.netns_only() && !captured {
                (false, Some(format!("{NO_PACKETS} {}", check.hint)))
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
        Context {
            events,
            hosts,
            calls,
        }
    }

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
mod tests {
    use super::*;
    use crate::exercise::{Check, Setup};
    use crate::sandbox::Preview;
    use crate::sandbox::packet::{PacketProto, TcpOptions};

    fn io(seq: u64, host: HostId, kind: EventKind, bytes: &[u8]) -> Event {
        let mut e = Event::new(kind, Status::Ok);
        e.seq = seq;
        e.host = Some(host);
        e.bytes = Some(bytes.len() as u64);
        e.data = Some(Preview::of(bytes));
        e
    }

    /// The result of one check with `rule` (its hint "h") over `events`.
    fn graded(rule: Rule, events: &[Event]) -> CheckResult {
        let exercise = Exercise {
            id: "t".into(),
            version: 1,
            title: "t".into(),
            summary: "t".into(),
            teaches: vec![],
            text: "t".into(),
            setup: Setup::default(),
            checks: vec![Check {
                id: "c".into(),
                text: "c".into(),
                hint: "h".into(),
                rule,
            }],
        };
        let mut report = grade(&exercise, events, &[]);
        report.checks.remove(0)
    }

    fn holds(rule: Rule, events: &[Event]) -> bool {
        graded(rule, events).passed
    }

    fn echoed(events: &[Event]) -> bool {
        holds(
            Rule::ReceivedEqualsSent {
                receiver: "A".into(),
                sender: "A".into(),
                text: None,
            },
            events,
        )
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

    /// Host A's client port and B's server port in the segments below.
    const PORTS: (u16, u16) = (40000, 8080);

    /// A TCP segment `from` one host to the other: client port to server port when A sends,
    /// back when B does; `numbers` are (seq, ack) as on the wire.
    fn segment(
        seq: u64,
        from: HostId,
        flags: &[&str],
        numbers: (u32, u32),
        payload: &[u8],
    ) -> Event {
        let to = if from == HostId::A {
            HostId::B
        } else {
            HostId::A
        };
        let ip = |h: HostId| IpAddr::from([10, 0, 0, h.index() as u8 + 1]);
        let (src_port, dst_port) = if from == HostId::A {
            PORTS
        } else {
            (PORTS.1, PORTS.0)
        };
        let mut e = Event::new(EventKind::Packet, Status::Observed);
        e.seq = seq;
        e.host = Some(from);
        e.packet = Some(Box::new(Packet {
            from,
            to: Some(to),
            iface: "eth0".into(),
            ts_ns: 0,
            len: 66 + payload.len() as u32,
            proto: PacketProto::Tcp,
            control: false,
            src: Some(ip(from)),
            dst: Some(ip(to)),
            ttl: Some(64),
            tcp: Some(TcpSegment {
                src_port,
                dst_port,
                flags: flags.iter().map(|f| (*f).to_owned()).collect(),
                seq: numbers.0,
                ack: numbers.1,
                rel_seq: None,
                rel_ack: None,
                window: 64,
                options: TcpOptions::default(),
            }),
            udp: None,
            icmp: None,
            arp: None,
            payload_len: payload.len() as u32,
            data: (!payload.is_empty()).then(|| Preview::of(payload)),
            summary: String::new(),
            frame: String::new(),
            cut: false,
        }));
        e
    }

    /// The client's and the server's initial sequence numbers: J wraps to 0 at J+1.
    const J: u32 = u32::MAX;
    const K: u32 = 4_000_000_000;

    /// A handshake from A to B, as captured.
    fn handshake() -> Vec<Event> {
        vec![
            segment(1, HostId::A, &["SYN"], (J, 0), b""),
            segment(2, HostId::B, &["SYN", "ACK"], (K, J.wrapping_add(1)), b""),
            segment(3, HostId::A, &["ACK"], (0, K + 1), b""),
        ]
    }

    fn handshake_rule(client: &str, server: &str, port: Option<u16>) -> Rule {
        Rule::Handshake {
            client: client.into(),
            server: server.into(),
            port,
        }
    }

    #[test]
    fn a_handshake_is_three_segments_whose_numbers_add_up() {
        let ok = handshake();
        assert!(holds(handshake_rule("A", "B", None), &ok));
        assert!(holds(handshake_rule("A", "B", Some(8080)), &ok));
        assert!(
            !holds(handshake_rule("A", "B", Some(9)), &ok),
            "another port"
        );
        assert!(
            !holds(handshake_rule("B", "A", None), &ok),
            "B did not connect"
        );

        // The SYN+ACK acknowledges J, not J+1 (the relative numbers would not show it).
        let mut wrong_ack = handshake();
        wrong_ack[1] = segment(2, HostId::B, &["SYN", "ACK"], (K, J), b"");
        assert!(!holds(handshake_rule("A", "B", None), &wrong_ack));
        // The last ACK acknowledges K, not K+1.
        let mut wrong_last = handshake();
        wrong_last[2] = segment(3, HostId::A, &["ACK"], (0, K), b"");
        assert!(!holds(handshake_rule("A", "B", None), &wrong_last));
        // Out of order: the ACK before the SYN+ACK.
        let mut swapped = handshake();
        swapped.swap(1, 2);
        assert!(!holds(handshake_rule("A", "B", None), &swapped));
        // Refused: SYN, then RST+ACK.
        let refused = [
            segment(1, HostId::A, &["SYN"], (J, 0), b""),
            segment(2, HostId::B, &["RST", "ACK"], (0, 0), b""),
        ];
        assert!(!holds(handshake_rule("A", "B", None), &refused));
    }

    /// A refused connect: the call (id 5) and the RST that answered its SYN.
    fn refused() -> Vec<Event> {
        let mut connect = Event::new(EventKind::Connect, Status::Error);
        connect.seq = 4;
        connect.host = Some(HostId::A);
        connect.call_id = Some(5);
        let mut syn = segment(1, HostId::A, &["SYN"], (J, 0), b"");
        let mut rst = segment(2, HostId::B, &["RST", "ACK"], (0, 0), b"");
        syn.call_id = Some(5);
        rst.call_id = Some(5);
        vec![syn, rst, connect]
    }

    fn rst_from_b() -> PacketFilter {
        PacketFilter {
            from: Some("B".into()),
            to: Some("A".into()),
            flags: vec![TcpFlag::Rst],
            caused_by: Some(EventKind::Connect),
            ..PacketFilter::default()
        }
    }

    #[test]
    fn a_packet_filter_checks_every_condition_given() {
        let log = refused();
        let yes = |f: PacketFilter| holds(Rule::Packet(f), &log);
        assert!(yes(rst_from_b()));
        assert!(yes(PacketFilter {
            proto: Some(PacketProto::Tcp),
            src_port: Some(8080),
            dst_port: Some(40000),
            iface: Some("eth0".into()),
            no_flags: vec![TcpFlag::Syn],
            ..rst_from_b()
        }));
        for wrong in [
            PacketFilter {
                caused_by: Some(EventKind::Close),
                ..rst_from_b()
            },
            PacketFilter {
                from: Some("A".into()),
                ..rst_from_b()
            },
            PacketFilter {
                no_flags: vec![TcpFlag::Ack],
                ..rst_from_b()
            },
            PacketFilter {
                proto: Some(PacketProto::Udp),
                ..rst_from_b()
            },
            PacketFilter {
                src_port: Some(40000),
                ..rst_from_b()
            },
            PacketFilter {
                min_payload: Some(1),
                ..rst_from_b()
            },
            PacketFilter {
                iface: Some("lo".into()),
                ..rst_from_b()
            },
        ] {
            assert!(!yes(wrong.clone()), "{wrong:?}");
        }
        // The same conditions in a filter: none, count, order.
        let syn_ack = PacketFilter {
            from: Some("B".into()),
            flags: vec![TcpFlag::Syn, TcpFlag::Ack],
            ..PacketFilter::default()
        };
        let in_filter = |p: PacketFilter| Filter {
            packet: Some(Box::new(p)),
            ..Filter::default()
        };
        assert!(holds(Rule::None(in_filter(syn_ack.clone())), &log));
        assert!(!holds(Rule::None(in_filter(syn_ack)), &handshake()));
        let from_a = PacketFilter {
            from: Some("A".into()),
            ..PacketFilter::default()
        };
        let count = |min| Rule::Count {
            filter: in_filter(from_a.clone()),
            min: Some(min),
            max: None,
        };
        assert!(holds(count(2), &handshake()));
        assert!(!holds(count(3), &handshake()));
        let order = Rule::Order {
            first: in_filter(rst_from_b()),
            then: Filter {
                kind: Some(EventKind::Connect),
                ..Filter::default()
            },
        };
        assert!(
            holds(order, &log),
            "the RST comes before the connect's result"
        );
        // Data: the payload preview.
        let data = [segment(1, HostId::A, &["PSH", "ACK"], (1, 1), b"hello")];
        let text = |d: &str| PacketFilter {
            data: Some(d.into()),
            min_payload: Some(5),
            ..PacketFilter::default()
        };
        assert!(holds(Rule::Packet(text("hello")), &data));
        assert!(!holds(Rule::Packet(text("hell")), &data));
    }

    fn no_early_data(host: &str) -> Rule {
        Rule::NoDataBeforeHandshake { host: host.into() }
    }

    #[test]
    fn data_waits_for_the_handshake() {
        let mut log = handshake();
        log.push(segment(4, HostId::A, &["PSH", "ACK"], (0, K + 1), b"hi"));
        log.push(segment(5, HostId::B, &["PSH", "ACK"], (K + 1, 2), b"hi"));
        assert!(holds(no_early_data("A"), &log));
        assert!(holds(no_early_data("B"), &log));

        // The first data may ride on the ACK that completes the handshake.
        let mut riding = handshake();
        riding[2] = segment(3, HostId::A, &["PSH", "ACK"], (0, K + 1), b"hi");
        assert!(holds(no_early_data("A"), &riding));

        // Data in the SYN (as TCP Fast Open sends it) comes before the handshake.
        let mut in_syn = handshake();
        in_syn[0] = segment(1, HostId::A, &["SYN"], (J, 0), b"hi");
        assert!(!holds(no_early_data("A"), &in_syn));
        assert!(holds(no_early_data("B"), &in_syn));

        // Data between the SYN+ACK and the ACK that completes the handshake.
        let mut early = handshake();
        early.insert(2, segment(2, HostId::A, &["PSH"], (0, 0), b"hi"));
        assert!(!holds(no_early_data("A"), &early));
    }

    #[test]
    fn netns_only_rules_on_a_log_without_packets_say_they_need_netns() {
        // A loopback session: the calls are there, the packets are not.
        let log: Vec<Event> = refused()
            .into_iter()
            .filter(|e| e.kind != EventKind::Packet)
            .collect();
        let none_syn_ack = Rule::None(Filter {
            packet: Some(Box::new(PacketFilter {
                flags: vec![TcpFlag::Syn, TcpFlag::Ack],
                ..PacketFilter::default()
            })),
            ..Filter::default()
        });
        let packet_kind = Rule::None(Filter {
            kind: Some(EventKind::Packet),
            ..Filter::default()
        });
        let time_wait = Rule::Event(Filter {
            kind: Some(EventKind::KernelSocket),
            to: Some(crate::sandbox::TcpState::TimeWait),
            ..Filter::default()
        });
        for rule in [
            Rule::Packet(rst_from_b()),
            handshake_rule("A", "B", None),
            no_early_data("A"),
            none_syn_ack,
            packet_kind,
            time_wait,
        ] {
            let result = graded(rule.clone(), &log);
            assert!(!result.passed, "{rule:?}");
            let hint = result.hint.unwrap();
            assert!(
                hint.starts_with(NO_PACKETS) && hint.ends_with(" h"),
                "{hint}"
            );
        }
        // A rule that reads no packets keeps its own hint.
        let accepted = Rule::Event(Filter {
            kind: Some(EventKind::Accept),
            ..Filter::default()
        });
        assert_eq!(graded(accepted, &log).hint.as_deref(), Some("h"));
    }
}

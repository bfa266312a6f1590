//! The grader against hand-made event logs: each rule passing and failing for its reason.

use super::*;
use crate::exercise::{Check, Distinct, Setup};
use crate::sandbox::packet::{IcmpMessage, PacketProto, TcpOptions};
use crate::sandbox::{Errno, Family, Preview, Tuple};

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
    graded_with(rule, events, &[])
}

/// The same, for a session with `hosts`.
fn graded_with(rule: Rule, events: &[Event], hosts: &[HostInfo]) -> CheckResult {
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
        zh: None,
    };
    let mut report = grade(&exercise, events, hosts);
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
fn segment(seq: u64, from: HostId, flags: &[&str], numbers: (u32, u32), payload: &[u8]) -> Event {
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
        distinct: None,
    };
    assert!(holds(count(2), &handshake()));
    assert!(!holds(count(3), &handshake()));
    let order = Rule::Order {
        first: Box::new(in_filter(rst_from_b())),
        then: Box::new(Filter {
            kind: Some(EventKind::Connect),
            ..Filter::default()
        }),
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

/// A call event of host A on `fd` with the socket's tuple.
fn on_socket(seq: u64, kind: EventKind, fd: i32, tuple: Tuple) -> Event {
    let mut e = Event::new(kind, Status::Ok);
    e.seq = seq;
    e.host = Some(HostId::A);
    e.fd = Some(fd);
    e.tuple = Some(tuple);
    e
}

fn addr(text: &str) -> Addr {
    text.parse().unwrap()
}

/// A Unix-domain socket's tuple.
fn unix(ty: SockType, local: Option<&str>, remote: Option<&str>) -> Tuple {
    Tuple {
        proto: Proto::Unix,
        family: Family::Unix,
        ty: Some(ty),
        local: local.map(addr),
        remote: remote.map(addr),
    }
}

/// An IPv4 socket's tuple.
fn inet(proto: Proto, ty: Option<SockType>, local: Option<&str>, remote: Option<&str>) -> Tuple {
    Tuple {
        proto,
        family: Family::Inet,
        ty,
        local: local.map(addr),
        remote: remote.map(addr),
    }
}

fn filter(f: Filter) -> Rule {
    Rule::Event(f)
}

#[test]
fn unix_paths_are_matched_where_the_event_has_them() {
    // A client connected to the server's path: its own socket has no name.
    let mut connect = on_socket(
        1,
        EventKind::Connect,
        4,
        unix(SockType::Stream, None, Some("/tmp/echo.sock")),
    );
    connect.addr = Some(addr("/tmp/echo.sock"));
    // The server's accepted socket: named after the listener, its peer unnamed.
    let served = on_socket(
        2,
        EventKind::Recv,
        5,
        unix(SockType::Stream, Some("/tmp/echo.sock"), None),
    );
    // A bind that failed has no local name yet: the name it asked for counts.
    let mut refused = Event::new(EventKind::Bind, Status::Error);
    refused.seq = 3;
    refused.host = Some(HostId::A);
    refused.addr = Some(addr("@echo"));
    refused.errno = Some(Errno::from_code(libc::EADDRINUSE));
    let mut unlink = Event::new(EventKind::Unlink, Status::Ok);
    unlink.seq = 4;
    unlink.host = Some(HostId::A);
    unlink.addr = Some(addr("/tmp/old.sock"));
    let log = [connect, served, refused, unlink];
    let kind = |k, f: Filter| filter(Filter { kind: Some(k), ..f });
    let remote = |p: &str| Filter {
        remote_path: Some(p.into()),
        ..Filter::default()
    };
    let local = |p: &str| Filter {
        local_path: Some(p.into()),
        ..Filter::default()
    };
    let any = |p: &str| Filter {
        path: Some(p.into()),
        ..Filter::default()
    };
    assert!(holds(
        kind(EventKind::Connect, remote("/tmp/echo.sock")),
        &log
    ));
    assert!(!holds(
        kind(EventKind::Connect, local("/tmp/echo.sock")),
        &log
    ));
    assert!(holds(kind(EventKind::Recv, local("/tmp/echo.sock")), &log));
    assert!(
        !holds(kind(EventKind::Recv, remote("/tmp/echo.sock")), &log),
        "the server's peer is unnamed"
    );
    assert!(holds(kind(EventKind::Bind, local("@echo")), &log));
    assert!(
        !holds(kind(EventKind::Bind, local("echo")), &log),
        "an abstract name is written with its @"
    );
    assert!(holds(kind(EventKind::Unlink, any("/tmp/old.sock")), &log));
    assert!(holds(kind(EventKind::Connect, any("/tmp/echo.sock")), &log));
    assert!(!holds(filter(any("/tmp/other.sock")), &log));
    // An IP address is no path.
    let tcp = [on_socket(
        1,
        EventKind::Connect,
        3,
        inet(Proto::Tcp, None, None, Some("10.0.0.2:80")),
    )];
    assert!(!holds(filter(any("10.0.0.2:80")), &tcp));
}

#[test]
fn sock_type_reads_the_tuple_and_knows_old_recordings() {
    let seqpacket = on_socket(
        1,
        EventKind::Socketpair,
        3,
        unix(SockType::Seqpacket, None, None),
    );
    let old_tcp = on_socket(2, EventKind::Socket, 5, inet(Proto::Tcp, None, None, None));
    let old_udp = on_socket(3, EventKind::Socket, 6, inet(Proto::Udp, None, None, None));
    let ty = |t| {
        filter(Filter {
            sock_type: Some(t),
            ..Filter::default()
        })
    };
    assert!(holds(
        ty(SockType::Seqpacket),
        std::slice::from_ref(&seqpacket)
    ));
    assert!(!holds(ty(SockType::Stream), &[seqpacket]));
    assert!(holds(ty(SockType::Stream), std::slice::from_ref(&old_tcp)));
    assert!(holds(ty(SockType::Dgram), &[old_udp]));
    assert!(!holds(ty(SockType::Raw), &[old_tcp]));
}

/// A session whose host A takes ephemeral ports from 40000-40009.
fn host_a(range: Option<(u16, u16)>) -> HostInfo {
    HostInfo {
        name: HostId::A,
        addrs: vec![IpAddr::from([10, 0, 0, 1])],
        ephemeral_ports: range,
    }
}

fn connected_from(seq: u64, fd: i32, port: u16) -> Event {
    on_socket(
        seq,
        EventKind::Connect,
        fd,
        inet(
            Proto::Tcp,
            Some(SockType::Stream),
            Some(&format!("10.0.0.1:{port}")),
            Some("10.0.0.2:7007"),
        ),
    )
}

fn two_ephemeral() -> Rule {
    Rule::Count {
        filter: Filter {
            kind: Some(EventKind::Connect),
            ephemeral: Some(true),
            ..Filter::default()
        },
        min: Some(2),
        max: None,
        distinct: Some(Distinct::LocalPort),
    }
}

#[test]
fn ephemeral_ports_are_read_against_the_hosts_range() {
    let range = Some((40000, 40009));
    let two = [connected_from(1, 3, 40001), connected_from(2, 4, 40009)];
    assert!(graded_with(two_ephemeral(), &two, &[host_a(range)]).passed);
    // The same port twice (two hosts' sockets, or one read twice) is one port.
    let same = [connected_from(1, 3, 40001), connected_from(2, 3, 40001)];
    assert!(!graded_with(two_ephemeral(), &same, &[host_a(range)]).passed);
    // One port outside the range: bound by hand.
    let bound = [connected_from(1, 3, 40001), connected_from(2, 4, 39999)];
    assert!(!graded_with(two_ephemeral(), &bound, &[host_a(range)]).passed);
    let outside = filter(Filter {
        ephemeral: Some(false),
        ..Filter::default()
    });
    assert!(graded_with(outside.clone(), &bound, &[host_a(range)]).passed);
    // A range nobody reported: neither inside nor outside.
    assert!(!graded_with(two_ephemeral(), &two, &[host_a(None)]).passed);
    assert!(!graded_with(outside, &bound, &[]).passed);
    // A stored session's hosts lack the range: the log's session_started lists it.
    let mut started = Event::new(EventKind::SessionStarted, Status::Observed);
    started.hosts = Some(vec![host_a(range)]);
    let mut logged = vec![started];
    logged.extend(two);
    assert!(graded_with(two_ephemeral(), &logged, &[host_a(None)]).passed);
}

#[test]
fn count_distinct_counts_values_not_events() {
    let send = |seq, fd, text: &str| {
        let mut e = io(seq, HostId::A, EventKind::Send, text.as_bytes());
        e.fd = Some(fd);
        e
    };
    let log = [send(1, 3, "a"), send(2, 3, "b"), send(3, 4, "b")];
    let count = |distinct, min, max| Rule::Count {
        filter: Filter {
            kind: Some(EventKind::Send),
            ..Filter::default()
        },
        min: Some(min),
        max: Some(max),
        distinct,
    };
    assert!(holds(count(None, 3, 3), &log));
    assert!(holds(count(Some(Distinct::Fd), 2, 2), &log));
    assert!(holds(count(Some(Distinct::Data), 2, 2), &log));
    // Events without the field do not count: these have no tuple, so no ports.
    assert!(holds(count(Some(Distinct::LocalPort), 0, 0), &log));
    assert!(holds(count(Some(Distinct::RemotePort), 0, 0), &log));
}

#[test]
fn bytes_tells_end_of_stream_from_data() {
    let eof = io(2, HostId::A, EventKind::Recv, b"");
    let data = io(1, HostId::A, EventKind::Recv, b"hi");
    let zero = filter(Filter {
        bytes: Some(0),
        ..Filter::default()
    });
    assert!(holds(zero.clone(), &[data.clone(), eof]));
    assert!(!holds(zero, &[data]));
}

/// An ICMP message of `icmp_type` from one host to the other.
fn icmp(seq: u64, from: HostId, icmp_type: u8) -> Event {
    let mut e = segment(seq, from, &[], (0, 0), b"");
    let p = e.packet.as_deref_mut().unwrap();
    p.proto = PacketProto::Icmp;
    p.tcp = None;
    p.icmp = Some(IcmpMessage {
        icmp_type,
        code: 0,
        name: String::new(),
    });
    e
}

#[test]
fn icmp_type_matches_icmp_messages_only() {
    let log = [icmp(1, HostId::A, 8), icmp(2, HostId::B, 0)];
    let of = |from: &str, t| {
        Rule::Packet(PacketFilter {
            from: Some(from.into()),
            icmp_type: Some(t),
            ..PacketFilter::default()
        })
    };
    assert!(holds(of("A", 8), &log));
    assert!(holds(of("B", 0), &log));
    assert!(!holds(of("B", 8), &log));
    assert!(
        !holds(of("A", 8), &handshake()),
        "a TCP segment has no ICMP type"
    );
    // One reply for two requests: the count that tells a dropped request.
    let replies = |max| Rule::Count {
        filter: Filter {
            packet: Some(Box::new(PacketFilter {
                from: Some("B".into()),
                icmp_type: Some(0),
                ..PacketFilter::default()
            })),
            ..Filter::default()
        },
        min: None,
        max: Some(max),
        distinct: None,
    };
    let mut both = log.to_vec();
    both.push(icmp(3, HostId::A, 8));
    assert!(holds(replies(1), &both));
    both.push(icmp(4, HostId::B, 0));
    assert!(!holds(replies(1), &both));
}

#[test]
fn raw_and_icmp_socket_rules_on_a_log_without_packets_say_they_need_netns() {
    // Loopback isolation: the raw socket was refused, no packet was captured.
    let mut refused = Event::new(EventKind::Socket, Status::Error);
    refused.host = Some(HostId::A);
    refused.errno = Some(Errno::from_code(libc::EPERM));
    let log = [refused];
    for rule in [
        filter(Filter {
            kind: Some(EventKind::Socket),
            sock_type: Some(SockType::Raw),
            ..Filter::default()
        }),
        filter(Filter {
            kind: Some(EventKind::Recvfrom),
            proto: Some(Proto::Icmp),
            ..Filter::default()
        }),
        Rule::None(Filter {
            proto: Some(Proto::Icmpv6),
            ..Filter::default()
        }),
    ] {
        let result = graded(rule.clone(), &log);
        assert!(!result.passed, "{rule:?}");
        assert!(result.hint.unwrap().starts_with(NO_PACKETS), "{rule:?}");
    }
    // Seqpacket and Unix sockets work in every mode: their rules keep their own hint.
    let seqpacket = filter(Filter {
        sock_type: Some(SockType::Seqpacket),
        ..Filter::default()
    });
    assert_eq!(graded(seqpacket, &log).hint.as_deref(), Some("h"));
}

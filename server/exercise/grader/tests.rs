//! The grader against hand-made event logs: each rule passing and failing for its reason.

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

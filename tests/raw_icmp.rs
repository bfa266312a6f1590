//! Raw and ICMP sockets (netns mode): host A pings host B by building an echo request and
//! reading the echo reply, with a raw socket (IPv4 and IPv6) and with a ping socket. Every
//! assertion is about what the kernel did: the reply read with its IPv4 header, a wrong
//! checksum answered by nothing, the captured packets tied to the call that sent them, nothing
//! outside the session reachable. Netns tests are skipped, with the reason printed, where
//! namespaces cannot be made (failed instead when PLUGBOARD_REQUIRE_NETNS is set); loopback
//! mode's refusals are tested everywhere.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::app::netns_app;
use common::*;
use plugboard::sandbox::packet::icmp::{DecodedIcmp, IcmpHeader};
use plugboard::sandbox::{
    Addr, Call, CallOutcome, CallValue, EventKind, Family, HostId, Proto, SessionError, SockType,
};
use serde_json::json;

/// A raw ICMP socket of `host` (ICMPv6 for inet6).
async fn raw(s: &S, host: HostId, family: Family) -> i32 {
    icmp_socket(s, host, family, SockType::Raw).await
}

async fn icmp_socket(s: &S, host: HostId, family: Family, ty: SockType) -> i32 {
    let protocol = Some(match family {
        Family::Inet6 => Proto::Icmpv6,
        _ => Proto::Icmp,
    });
    s.ok(
        host,
        Call::Socket {
            family,
            ty,
            protocol,
        },
    )
    .await
    .fd
    .unwrap()
}

fn echo(icmp_type: u8, id: u16, seq: u16, checksum: Option<u16>) -> IcmpHeader {
    IcmpHeader {
        icmp_type,
        code: 0,
        id,
        seq,
        checksum,
    }
}

/// `payload` sent from `fd` of `host` to `to` behind `header`.
async fn ping(
    s: &S,
    host: HostId,
    fd: i32,
    to: &str,
    header: IcmpHeader,
    payload: &[u8],
) -> (u64, CallValue) {
    let reply = s
        .call(
            host,
            Call::Sendto {
                fd,
                data: payload.to_vec(),
                addr: to.parse().unwrap(),
                icmp: Some(header),
            },
        )
        .await;
    match reply.outcome {
        CallOutcome::Ok(v) => (reply.call_id, v),
        other => panic!("sendto to {to}: {other:?}"),
    }
}

/// The next message of type `icmp_type` that `fd` of `host` reads, skipping others (a raw
/// ICMPv6 socket also reads neighbour discovery).
async fn read_type(s: &S, host: HostId, fd: i32, icmp_type: u8) -> (CallValue, DecodedIcmp) {
    for _ in 0..16 {
        let call = Call::Recvfrom {
            fd,
            max: 4096,
            peek: false,
        };
        match s.call_wait(host, call, 3000).await.outcome {
            CallOutcome::Ok(v) => {
                let icmp = *v.icmp.clone().expect("an ICMP socket's read is decoded");
                if icmp.icmp_type == icmp_type {
                    return (v, icmp);
                }
            }
            other => panic!("recvfrom on {host} fd {fd}: {other:?}"),
        }
    }
    panic!("no ICMP type {icmp_type} read on {host}");
}

/// Nothing is waiting on non-blocking `fd` of `host`, a moment after the last send.
async fn nothing_arrives(s: &S, host: HostId, fd: i32) {
    s.ok(host, Call::Nonblocking { fd, on: true }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let call = Call::Recvfrom {
        fd,
        max: 4096,
        peek: false,
    };
    s.fails(host, call, "EAGAIN").await;
}

fn packet_icmp_type(e: &plugboard::sandbox::Event) -> Option<u8> {
    e.packet.as_ref()?.icmp.as_ref().map(|i| i.icmp_type)
}

#[tokio::test]
async fn ping_b_from_a_with_a_raw_socket_and_read_the_reply_with_its_ipv4_header() {
    let Some(sb) = netns_sandbox() else { return };
    let s = session(&sb).await;
    let a = raw(&s, A, Family::Inet).await;
    let b = raw(&s, B, Family::Inet).await;
    let (call_id, sent) = ping(&s, A, a, "10.0.0.2", echo(8, 7, 1, None), b"hi").await;
    assert_eq!(sent.bytes, Some(10), "8-byte header and 2-byte payload");
    assert!(
        sent.note
            .as_ref()
            .unwrap()
            .en()
            .contains("computed the checksum"),
        "{sent:?}"
    );
    assert_eq!(sent.hint, None);
    let out = sent.icmp.unwrap();
    assert_eq!(
        (out.icmp_type, out.id, out.seq, out.checksum_ok),
        (8, Some(7), Some(1), Some(true))
    );

    // The reply, as a raw IPv4 socket reads it: the IPv4 header, then the message.
    let (got, reply) = read_type(&s, A, a, 0).await;
    assert_eq!(got.peer, Some(Addr::Host("10.0.0.2".parse().unwrap())));
    let bytes = got.data.unwrap();
    assert_eq!(bytes.len(), 20 + 8 + 2);
    assert_eq!(bytes[0], 0x45, "IPv4, 20-byte header");
    assert_eq!(&bytes[28..], b"hi", "the echo carries the payload back");
    let ip = reply.ip.as_ref().unwrap();
    assert_eq!((ip.version, ip.header_len, ip.protocol), (4, 20, 1));
    assert_eq!(
        (ip.src.to_string(), ip.dst.to_string()),
        ("10.0.0.2".into(), "10.0.0.1".into())
    );
    assert!(ip.ttl > 0);
    assert_eq!(
        (reply.id, reply.seq, reply.checksum_ok),
        (Some(7), Some(1), Some(true))
    );
    assert_eq!((reply.name.as_str(), reply.payload_len), ("echo reply", 2));
    // B's raw socket saw the request come in.
    let (_, request) = read_type(&s, B, b, 8).await;
    assert_eq!(request.ip.unwrap().src.to_string(), "10.0.0.1");

    // The log: the sendto and recvfrom events carry the message, A's socket saw data, the
    // request packet is the sendto's, the reply packet the kernel's.
    let sendto = s.of_kind(A, EventKind::Sendto).pop().unwrap();
    assert_eq!(sendto.icmp.as_ref().unwrap().icmp_type, 8);
    let recvfrom = s.of_kind(A, EventKind::Recvfrom).pop().unwrap();
    assert_eq!(
        recvfrom
            .icmp
            .as_ref()
            .unwrap()
            .ip
            .as_ref()
            .unwrap()
            .protocol,
        1
    );
    let data = s
        .wait_event("A's raw socket sees the reply", |e| {
            e.kind == EventKind::Data && e.host == Some(A) && e.icmp.is_some()
        })
        .await;
    assert_eq!(data.icmp.as_ref().unwrap().icmp_type, 0);
    let request = s
        .wait_event("the echo request on the wire", |e| {
            packet_icmp_type(e) == Some(8)
        })
        .await;
    assert_eq!(
        (request.call_id, request.fd, request.host),
        (Some(call_id), Some(a), Some(A))
    );
    assert!(
        request.seq < sendto.seq,
        "the packet comes before the call's result"
    );
    let answer = s
        .wait_event("the echo reply on the wire", |e| {
            packet_icmp_type(e) == Some(0)
        })
        .await;
    assert_eq!(answer.host, Some(B));
    assert_eq!(
        answer.call_id, None,
        "B's kernel answered: no call of anyone's"
    );
}

#[tokio::test]
async fn a_wrong_checksum_gets_no_reply_and_a_hint() {
    let Some(sb) = netns_sandbox() else { return };
    let s = session(&sb).await;
    let a = raw(&s, A, Family::Inet).await;
    let b = raw(&s, B, Family::Inet).await;
    let (call_id, sent) = ping(&s, A, a, "10.0.0.2", echo(8, 7, 1, Some(0x1234)), b"hi").await;
    // It went to the kernel, which sent it as given.
    assert_eq!(sent.bytes, Some(10));
    let note = sent.note.unwrap().en().to_owned();
    assert!(
        note.contains("0x1234, is wrong") && note.contains("0x8f8e"),
        "{note}"
    );
    let hint = sent.hint.unwrap().en().to_owned();
    assert!(hint.contains("no echo reply will come"), "{hint}");
    let event = s.of_kind(A, EventKind::Sendto).pop().unwrap();
    assert_eq!(event.hint.as_ref().map(|h| h.en()), Some(hint.as_str()));
    assert_eq!(event.icmp.as_ref().unwrap().expected_checksum, Some(0x8f8e));
    let wire = s
        .wait_event("the bad request on the wire", |e| {
            packet_icmp_type(e) == Some(8)
        })
        .await;
    assert_eq!(wire.call_id, Some(call_id));
    // B's raw socket gets it all the same (before the kernel checks it), with the checksum
    // judged; B's kernel drops it and A reads nothing.
    let (_, seen) = read_type(&s, B, b, 8).await;
    assert_eq!(
        (seen.checksum, seen.checksum_ok, seen.expected_checksum),
        (0x1234, Some(false), Some(0x8f8e))
    );
    nothing_arrives(&s, A, a).await;
    assert!(
        !s.events().iter().any(|e| packet_icmp_type(e) == Some(0)),
        "B's kernel sent no reply"
    );

    // The same message written by hand in `data`, without `icmp`: judged alike.
    let mut message = echo(8, 7, 2, None).message(Family::Inet, b"hi");
    message[2] ^= 0xff;
    let reply = s
        .call(
            A,
            Call::Sendto {
                fd: a,
                data: message,
                addr: "10.0.0.2".parse().unwrap(),
                icmp: None,
            },
        )
        .await;
    let CallOutcome::Ok(v) = reply.outcome else {
        panic!("{reply:?}");
    };
    assert!(
        v.note
            .unwrap()
            .en()
            .to_owned()
            .contains("the checksum in data")
    );
    assert!(v.hint.is_some());
}

#[tokio::test]
async fn icmpv6_echo_over_inet6_has_the_kernels_checksum() {
    let Some(sb) = netns_sandbox() else { return };
    let s = session(&sb).await;
    let a = raw(&s, A, Family::Inet6).await;
    let (call_id, sent) = ping(&s, A, a, "fd00::2", echo(128, 3, 9, Some(0x1234)), b"v6").await;
    let note = sent.note.unwrap().en().to_owned();
    assert!(
        note.contains("IPV6_CHECKSUM") && note.contains("0x1234 given"),
        "{note}"
    );
    assert_eq!(sent.hint, None, "the kernel's checksum is right");
    let (got, reply) = read_type(&s, A, a, 129).await;
    assert_eq!(got.peer, Some(Addr::Host("fd00::2".parse().unwrap())));
    assert_eq!(reply.ip, None, "a raw IPv6 socket reads no IPv6 header");
    assert_eq!(
        (reply.id, reply.seq, reply.payload_len),
        (Some(3), Some(9), 2)
    );
    assert_eq!(reply.name, "echo reply");
    let request = s
        .wait_event("the ICMPv6 echo request", |e| {
            packet_icmp_type(e) == Some(128)
        })
        .await;
    assert_eq!(request.call_id, Some(call_id));
    let frame = &request.packet.as_ref().unwrap().frame;
    // Ethernet (14) + IPv6 (40): type, code, then the kernel's checksum in place of 0x1234.
    assert_eq!(&frame[108..112], "8000");
    assert_ne!(&frame[112..116], "1234");
}

#[tokio::test]
async fn a_ping_socket_round_trip() {
    let Some(sb) = netns_sandbox() else { return };
    let s = session(&sb).await;
    let p = icmp_socket(&s, A, Family::Inet, SockType::Dgram).await;
    let (_, sent) = ping(&s, A, p, "10.0.0.2", echo(8, 1, 5, Some(0x1111)), b"pp").await;
    let note = sent.note.unwrap().en().to_owned();
    assert!(
        note.contains("ping socket") && note.contains("0x1111 given"),
        "{note}"
    );
    let (got, reply) = read_type(&s, A, p, 0).await;
    assert_eq!(
        got.data.as_ref().unwrap().len(),
        10,
        "the message alone, no IP header"
    );
    assert_eq!(reply.ip, None);
    let id = reply.id.unwrap();
    assert!(
        note.contains(&format!("identifier to {id}")),
        "the kernel's id is the socket's port: {note}"
    );
    assert_eq!((reply.seq, reply.checksum_ok), (Some(5), Some(true)));
    // A ping socket sends echo requests only: the kernel refuses anything else.
    let ts = IcmpHeader {
        icmp_type: 13,
        ..echo(13, 1, 1, None)
    };
    let call = Call::Sendto {
        fd: p,
        data: Vec::new(),
        addr: "10.0.0.2".parse().unwrap(),
        icmp: Some(ts),
    };
    let f = s.fails(A, call, "EINVAL").await;
    assert!(!f.sandbox);
    // ICMPv6 ping sockets too.
    let p6 = icmp_socket(&s, A, Family::Inet6, SockType::Dgram).await;
    ping(&s, A, p6, "fd00::2", echo(128, 0, 1, None), b"").await;
    let (_, reply6) = read_type(&s, A, p6, 129).await;
    assert_eq!(reply6.seq, Some(1));
}

/// The address this machine (the server) would use to reach the outside, if it has a route.
fn server_address() -> Option<IpAddr> {
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    probe.connect("192.0.2.1:9").ok()?;
    Some(probe.local_addr().ok()?.ip())
}

#[tokio::test]
async fn a_raw_socket_reaches_nothing_outside_its_session() {
    let Some(sb) = netns_sandbox() else { return };
    let s = session(&sb).await;
    let a = raw(&s, A, Family::Inet).await;
    // No route out of the host's namespace: the kernel says so.
    let mut outside = vec!["8.8.8.8".to_owned(), "192.0.2.1".to_owned()];
    outside.extend(server_address().map(|ip| ip.to_string()));
    for to in outside {
        let call = Call::Sendto {
            fd: a,
            data: Vec::new(),
            addr: to.parse().unwrap(),
            icmp: Some(echo(8, 1, 1, None)),
        };
        let f = s.fails(A, call, "ENETUNREACH").await;
        assert!(!f.sandbox, "the kernel refused {to}, not the sandbox");
    }
    // 127.0.0.1 is A's own loopback: A's raw socket reads its request, then its own kernel's
    // reply, both on A's lo.
    ping(&s, A, a, "127.0.0.1", echo(8, 2, 1, None), b"lo").await;
    let (got, reply) = read_type(&s, A, a, 0).await;
    assert_eq!(got.peer, Some(Addr::Host("127.0.0.1".parse().unwrap())));
    assert_eq!(reply.ip.unwrap().src.to_string(), "127.0.0.1");
    let on_lo: Vec<_> = s
        .events()
        .into_iter()
        .filter(|e| matches!(packet_icmp_type(e), Some(0 | 8)))
        .collect();
    assert!(on_lo.len() >= 2, "the request and the reply: {on_lo:#?}");
    assert!(
        on_lo
            .iter()
            .all(|e| e.packet.as_ref().unwrap().iface == "lo"),
        "{on_lo:#?}"
    );
    let (requests, replies): (Vec<_>, Vec<_>) =
        on_lo.iter().partition(|e| packet_icmp_type(e) == Some(8));
    assert!(requests.iter().all(|e| e.call_id.is_some()));
    assert!(
        replies.iter().all(|e| e.call_id.is_none()),
        "the kernel's reply is nobody's call"
    );
}

#[tokio::test]
async fn a_raw_socket_sees_none_of_another_sessions_icmp() {
    let Some(sb) = netns_sandbox() else { return };
    let (mine, theirs) = (session(&sb).await, session(&sb).await);
    // The same addresses in both sessions; each has its own kernel network.
    let watch_a = raw(&theirs, A, Family::Inet).await;
    let watch_b = raw(&theirs, B, Family::Inet).await;
    let a = raw(&mine, A, Family::Inet).await;
    ping(&mine, A, a, "10.0.0.2", echo(8, 1, 1, None), b"x").await;
    read_type(&mine, A, a, 0).await;
    nothing_arrives(&theirs, A, watch_a).await;
    nothing_arrives(&theirs, B, watch_b).await;
    // Its own hosts keep their link alive (neighbour discovery, MLD): nothing else.
    let seen: Vec<_> = theirs
        .events()
        .into_iter()
        .filter(|e| {
            e.kind == EventKind::Data
                || matches!(packet_icmp_type(e), Some(0 | 8))
                || e.packet.as_ref().is_some_and(|p| !p.control)
        })
        .collect();
    assert!(seen.is_empty(), "the other session saw {seen:#?}");
}

#[tokio::test]
async fn loopback_mode_refuses_raw_and_ping_sockets() {
    let sb = sandbox();
    let s = session(&sb).await;
    for (ty, errno) in [(SockType::Raw, "EPERM"), (SockType::Dgram, "EACCES")] {
        let call = Call::Socket {
            family: Family::Inet,
            ty,
            protocol: Some(Proto::Icmp),
        };
        let f = s.fails(A, call, errno).await;
        assert!(f.sandbox, "{ty:?}: the sandbox refused");
        assert!(f.hint().contains("netns mode"), "{ty:?}: {}", f.hint());
    }
}

#[tokio::test]
async fn an_icmp_header_on_another_socket_never_reaches_the_kernel() {
    let sb = sandbox();
    let s = session(&sb).await;
    let udp = s.socket(A, Proto::Udp).await;
    let call = Call::Sendto {
        fd: udp,
        data: Vec::new(),
        addr: s.addr(B, 9).into(),
        icmp: Some(echo(8, 1, 1, None)),
    };
    match timeout(s.0.call(A, call, None)).await {
        Err(SessionError::Invalid { field, message }) => {
            assert_eq!(field, "icmp");
            assert!(message.en().contains("a UDP socket"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        s.of_kind(A, EventKind::Sendto).is_empty(),
        "no call was made"
    );
}

#[tokio::test]
async fn the_json_contract_pings_through_the_api() {
    let Some(app) = netns_app().await else { return };
    let s = app.session().await;
    let fd = s
        .ok(json!({"host":"A","call":"socket","domain":"inet","type":"raw","protocol":"icmp"}))
        .await["fd"]
        .clone();
    let sent = s
        .ok(
            json!({"host":"A","call":"sendto","fd":fd,"addr":"10.0.0.2","data":"hi",
            "icmp":{"type":8,"code":0,"id":1,"seq":1,"checksum":null}}),
        )
        .await;
    assert_eq!(sent["bytes"], 10);
    assert_eq!(sent["icmp"]["checksum_ok"], true);
    let got = s
        .ok(json!({"host":"A","call":"recvfrom","fd":fd,"encoding":"hex","wait_ms":3000}))
        .await;
    assert_eq!(got["peer"], "10.0.0.2");
    assert_eq!(got["icmp"]["type"], 0);
    assert_eq!(got["icmp"]["ip"]["src"], "10.0.0.2");
    assert_eq!(got["icmp"]["ip"]["header_len"], 20);
    assert!(got["data"].as_str().unwrap().starts_with("45"), "{got}");
    // A wrong checksum: sent, with a note, and the hint on the result and the event.
    let bad = s
        .ok(json!({"host":"A","call":"sendto","fd":fd,"addr":"10.0.0.2",
            "icmp":{"type":8,"id":1,"seq":2,"checksum":4660}}))
        .await;
    assert!(bad["note"].as_str().unwrap().contains("is wrong"), "{bad}");
    assert!(
        bad["hint"].as_str().unwrap().contains("no echo reply"),
        "{bad}"
    );
    // A bad header and a header on a UDP socket are 400s naming `icmp`.
    let (status, err) = s
        .call(json!({"host":"A","call":"sendto","fd":fd,"addr":"10.0.0.2","icmp":{"code":0}}))
        .await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["field"], "icmp", "{err}");
    let udp = s.socket("A", "udp").await;
    let (status, err) = s
        .call(json!({"host":"A","call":"sendto","fd":udp,"addr":"10.0.0.2:9","icmp":{"type":8}}))
        .await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["field"], "icmp", "{err}");
}

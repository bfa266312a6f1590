//! Packets on the wire (netns mode): the kernel's own segments, captured at their sender,
//! logged in causal order with the calls that caused them. Every assertion is about real
//! packets; nothing here is drawn from a script. Skipped, with the reason printed, where
//! namespaces cannot be made (failed instead when PLUGBOARD_REQUIRE_NETNS is set).

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use plugboard::config::SandboxLimits;
use plugboard::sandbox::packet::Packet;
use plugboard::sandbox::{Call, Event, EventKind, Family, HostId, Proto, TcpState};

/// Packet events of the session's own traffic (no ARP or neighbour discovery).
fn packets(s: &S) -> Vec<Arc<Event>> {
    s.events()
        .into_iter()
        .filter(|e| e.kind == EventKind::Packet && !e.packet.as_ref().unwrap().control)
        .collect()
}

fn pkt(e: &Event) -> &Packet {
    e.packet.as_deref().unwrap()
}

fn flags(e: &Event) -> Vec<String> {
    pkt(e)
        .tcp
        .as_ref()
        .map(|t| t.flags.clone())
        .unwrap_or_default()
}

fn is(e: &Event, want: &[&str]) -> bool {
    let f = flags(e);
    f.len() == want.len() && want.iter().all(|w| f.iter().any(|x| x == w))
}

fn seq_of(s: &S, kind: EventKind, host: HostId) -> u64 {
    s.of_kind(host, kind)
        .into_iter()
        .find(|e| e.status != plugboard::sandbox::Status::Pending)
        .unwrap_or_else(|| panic!("no {kind:?} on {host}"))
        .seq
}

/// The three-way handshake over `family`: SYN J; SYN+ACK K, J+1; ACK K+1 — in that order,
/// tied to the connect, before its result, with the listener's accept after.
async fn handshake(family: Family) {
    let Some(sb) = netns_sandbox() else { return };
    let s = session(&sb).await;
    let (server, to) = match family {
        Family::Inet => (s.addr(B, 8080), s.addr(B, 8080)),
        Family::Inet6 => (s.addr6(B, 8080), s.addr6(B, 8080)),
        Family::Unix => unreachable!("the handshake is TCP"),
    };
    let lfd = s.listener_at(B, server, 4).await;
    let cfd = s.socket_f(A, family, Proto::Tcp).await;
    let connect = s
        .call(
            A,
            Call::Connect {
                fd: cfd,
                addr: to.into(),
            },
        )
        .await;
    let accept = s.ok(B, Call::Accept { fd: lfd }).await;
    assert!(accept.fd.is_some());

    let all = packets(&s);
    let tcp: Vec<_> = all.iter().filter(|e| pkt(e).tcp.is_some()).collect();
    assert!(tcp.len() >= 3, "three segments at least: {all:#?}");
    let (syn, synack, ack) = (tcp[0], tcp[1], tcp[2]);
    assert!(is(syn, &["SYN"]), "first is the SYN: {syn:#?}");
    assert!(
        is(synack, &["SYN", "ACK"]),
        "second is SYN+ACK: {synack:#?}"
    );
    assert!(is(ack, &["ACK"]), "third is the ACK: {ack:#?}");
    let (s1, s2, s3) = (
        pkt(syn).tcp.as_ref().unwrap(),
        pkt(synack).tcp.as_ref().unwrap(),
        pkt(ack).tcp.as_ref().unwrap(),
    );
    let (j, k) = (s1.seq, s2.seq);
    assert_eq!(s2.ack, j.wrapping_add(1), "SYN+ACK acknowledges J+1");
    assert_eq!(s3.seq, j.wrapping_add(1), "the ACK carries J+1");
    assert_eq!(s3.ack, k.wrapping_add(1), "the ACK acknowledges K+1");
    assert_eq!(
        (s1.rel_seq, s2.rel_seq, s2.rel_ack),
        (Some(0), Some(0), Some(1))
    );
    assert_eq!((s3.rel_seq, s3.rel_ack), (Some(1), Some(1)));
    assert!(s1.options.mss.is_some(), "a SYN carries MSS: {s1:?}");
    // Who sent what to whom, on which link.
    assert_eq!((pkt(syn).from, pkt(syn).to), (A, Some(B)));
    assert_eq!((pkt(synack).from, pkt(synack).to), (B, Some(A)));
    assert_eq!(pkt(syn).iface, "sw0");
    assert_eq!(pkt(synack).iface, "eth0");
    // Tied to the connect: its id and descriptor, and before its result.
    for e in [syn, synack, ack] {
        assert_eq!(e.call_id, Some(connect.call_id), "{e:#?}");
        assert!(e.seq < connect.seq, "packets before the connect's result");
    }
    assert_eq!(syn.fd, Some(cfd));
    assert_eq!(syn.host, Some(A));
    assert!(seq_of(&s, EventKind::Accept, B) > ack.seq);
    // SYN_SENT is read from the SYN, and labelled as such.
    let syn_sent = s
        .of_kind(A, EventKind::TcpState)
        .into_iter()
        .find(|e| e.to == Some(TcpState::SynSent))
        .expect("SYN_SENT read from the packet");
    assert!(syn_sent.inferred);
    assert_eq!(syn_sent.packet_seq, Some(syn.seq));
    let t = pkt(syn).tuple().unwrap();
    assert_eq!(t.remote, Some(to.into()));
}

#[tokio::test]
async fn handshake_ipv4_is_three_segments_before_connect_returns() {
    handshake(Family::Inet).await;
}

#[tokio::test]
async fn handshake_ipv6_is_three_segments_before_connect_returns() {
    handshake(Family::Inet6).await;
}

#[tokio::test]
async fn a_refused_connect_points_at_the_rst() {
    let Some(sb) = netns_sandbox() else { return };
    let s = session(&sb).await;
    let fd = s.socket(A, Proto::Tcp).await;
    let reply = s
        .call(
            A,
            Call::Connect {
                fd,
                addr: (s.addr(B, 9)).into(),
            },
        )
        .await;
    let events = s.events();
    let result = events.iter().find(|e| e.seq == reply.seq).unwrap();
    assert_eq!(result.errno.as_ref().unwrap().name, "ECONNREFUSED");
    let rst_seq = result.packet_seq.expect("the result points at its RST");
    let rst = events.iter().find(|e| e.seq == rst_seq).unwrap();
    assert!(flags(rst).iter().any(|f| f == "RST"), "{rst:#?}");
    assert_eq!(pkt(rst).from, B);
    assert_eq!(rst.call_id, Some(reply.call_id));
    assert!(rst.seq < result.seq);
    assert!(
        !events.iter().any(|e| e.kind == EventKind::Eof),
        "a RST is not a FIN: {events:#?}"
    );
}

#[tokio::test]
async fn linger_zero_close_sends_rst_and_the_peer_sees_econnreset() {
    let Some(sb) = netns_sandbox() else { return };
    let s = session(&sb).await;
    let lfd = s.listener(B, 8080, 4).await;
    let cfd = s.client(A, s.addr(B, 8080)).await;
    let sfd = s.accept(B, lfd).await;
    s.ok(
        A,
        Call::Setsockopt {
            fd: cfd,
            option: plugboard::sandbox::SockOpt::SoLinger,
            value: plugboard::sandbox::OptValue::Linger {
                onoff: true,
                seconds: 0,
            },
        },
    )
    .await;
    let close = s.call(A, Call::Close { fd: cfd }).await;
    let rst = s
        .wait_event("RST from A", |e| {
            e.kind == EventKind::Packet && e.host == Some(A) && is(e, &["RST", "ACK"])
                || e.kind == EventKind::Packet && e.host == Some(A) && is(e, &["RST"])
        })
        .await;
    assert_eq!(rst.call_id, Some(close.call_id), "the close caused the RST");
    assert!(rst.seq < close.seq);
    let reply = s
        .call(
            B,
            Call::Recv {
                fd: sfd,
                max: 10,
                peek: false,
            },
        )
        .await;
    let events = s.events();
    let result = events.iter().find(|e| e.seq == reply.seq).unwrap();
    assert_eq!(result.errno.as_ref().unwrap().name, "ECONNRESET");
    let reset = s.of_kind(B, EventKind::Reset);
    assert!(
        reset
            .iter()
            .chain(std::iter::once(result))
            .any(|e| e.packet_seq == Some(rst.seq)),
        "the reset points at the RST: {reset:#?} {result:#?}"
    );
}

#[tokio::test]
async fn teardown_is_fin_ack_both_ways() {
    let Some(sb) = netns_sandbox() else { return };
    let s = session(&sb).await;
    let lfd = s.listener(B, 8080, 4).await;
    let cfd = s.client(A, s.addr(B, 8080)).await;
    let sfd = s.accept(B, lfd).await;
    let close_a = s.call(A, Call::Close { fd: cfd }).await;
    s.wait_event("B's EOF", |e| e.kind == EventKind::Eof && e.host == Some(B))
        .await;
    let close_b = s.call(B, Call::Close { fd: sfd }).await;
    let b_fin = s
        .wait_event("B's FIN", |e| {
            e.kind == EventKind::Packet && e.host == Some(B) && flags(e).iter().any(|f| f == "FIN")
        })
        .await;
    // A's kernel acknowledges it on its own: A's socket has no descriptor any more.
    let last_ack = s
        .wait_event("the last ACK", |e| {
            e.kind == EventKind::Packet && e.host == Some(A) && is(e, &["ACK"]) && e.seq > b_fin.seq
        })
        .await;
    assert_eq!(
        pkt(&last_ack).tcp.as_ref().unwrap().ack,
        pkt(&b_fin).tcp.as_ref().unwrap().seq.wrapping_add(1)
    );
    let fins: Vec<_> = packets(&s)
        .into_iter()
        .filter(|e| flags(e).iter().any(|f| f == "FIN"))
        .collect();
    assert_eq!(fins.len(), 2, "one FIN each way: {fins:#?}");
    assert_eq!(pkt(&fins[0]).from, A);
    assert_eq!(fins[0].call_id, Some(close_a.call_id));
    assert_eq!(pkt(&fins[1]).from, B);
    assert_eq!(fins[1].call_id, Some(close_b.call_id));
    // Each FIN belongs to the descriptor closed, not to the listener on the same port.
    assert_eq!(fins[0].fd, Some(cfd));
    assert_eq!(fins[1].fd, Some(sfd));
    let a_fin = pkt(&fins[0]).tcp.clone().unwrap();
    let b_fin = pkt(&fins[1]).tcp.clone().unwrap();
    assert_eq!(
        b_fin.ack,
        a_fin.seq.wrapping_add(1),
        "B's FIN acknowledges A's FIN"
    );
}

#[tokio::test]
async fn udp_datagrams_are_one_packet_each() {
    let Some(sb) = netns_sandbox() else { return };
    let s = session(&sb).await;
    s.udp_bound(B, 5353).await;
    let a = s.socket(A, Proto::Udp).await;
    let mut sends = Vec::new();
    for msg in ["one", "two!", "three"] {
        sends.push(
            s.call(
                A,
                Call::Sendto {
                    fd: a,
                    data: msg.as_bytes().to_vec(),
                    addr: (s.addr(B, 5353)).into(),
                    icmp: None,
                },
            )
            .await,
        );
    }
    let udp: Vec<_> = packets(&s)
        .into_iter()
        .filter(|e| pkt(e).udp.is_some())
        .collect();
    assert_eq!(udp.len(), 3, "{udp:#?}");
    for ((e, msg), send) in udp.iter().zip(["one", "two!", "three"]).zip(&sends) {
        assert_eq!(pkt(e).payload_len as usize, msg.len());
        assert_eq!(pkt(e).data.as_ref().unwrap().text.as_deref(), Some(msg));
        assert_eq!(e.call_id, Some(send.call_id));
        assert_eq!(e.fd, Some(a));
        assert!(e.seq < send.seq);
    }
}

#[tokio::test]
async fn lo_traffic_is_seen_once() {
    let Some(sb) = netns_sandbox() else { return };
    let s = session(&sb).await;
    let local: SocketAddr = "127.0.0.1:7000".parse().unwrap();
    let b = s.socket(A, Proto::Udp).await;
    s.bind(A, b, local).await;
    let a = s.socket(A, Proto::Udp).await;
    s.sendto(A, a, b"ping", local).await;
    let udp: Vec<_> = packets(&s)
        .into_iter()
        .filter(|e| pkt(e).udp.is_some())
        .collect();
    assert_eq!(udp.len(), 1, "once, not twice: {udp:#?}");
    assert_eq!(pkt(&udp[0]).iface, "lo");
    assert_eq!(pkt(&udp[0]).to, Some(A));
}

#[tokio::test]
async fn capture_limits_are_kept_and_counted() {
    let Some(sb) = netns_sandbox_with(SandboxLimits {
        max_packets: 5,
        ..SandboxLimits::default()
    }) else {
        return;
    };
    let s = session(&sb).await;
    s.udp_bound(B, 5353).await;
    let a = s.socket(A, Proto::Udp).await;
    for _ in 0..20 {
        s.sendto(A, a, &[b'x'; 1000], s.addr(B, 5353)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let snap = s.0.snapshot().await.unwrap();
    let all = s.of_kind(A, EventKind::Packet).len() + s.of_kind(B, EventKind::Packet).len();
    assert!(all <= 5, "at most the limit kept: {all}");
    assert_eq!(snap.capture.packets as usize, all);
    assert!(snap.capture.dropped >= 15, "{:?}", snap.capture);
    assert!(snap.capture.enabled);
    // Each frame is cut at the snap length and says so.
    let cut = s
        .events()
        .into_iter()
        .filter(|e| e.packet.as_ref().is_some_and(|p| p.cut))
        .count();
    assert!(cut >= 1 || all < 5);
}

#[tokio::test]
async fn loopback_sessions_say_why_they_have_no_packets() {
    let sb = sandbox();
    let s = session(&sb).await;
    let lfd = s.listener(B, 8080, 4).await;
    s.client(A, s.addr(B, 8080)).await;
    s.ok(B, Call::Accept { fd: lfd }).await;
    let snap = s.0.snapshot().await.unwrap();
    assert!(!snap.capture.enabled);
    assert!(snap.capture.reason.unwrap().en.contains("netns"));
    assert!(s.events().iter().all(|e| e.kind != EventKind::Packet));
}

#[tokio::test]
async fn a_queued_connection_is_a_kernel_socket_until_accepted() {
    let Some(sb) = netns_sandbox() else { return };
    let s = session(&sb).await;
    let lfd = s.listener(B, 8080, 4).await;
    s.client(A, s.addr(B, 8080)).await;
    let queued = s
        .wait_event("B's queued connection", |e| {
            e.kind == EventKind::KernelSocket && e.host == Some(B)
        })
        .await;
    assert_eq!(queued.to, Some(TcpState::Established));
    assert!(
        queued
            .note
            .as_ref()
            .map(|n| n.en())
            .unwrap()
            .contains("accept queue"),
        "{queued:?}"
    );
    let snap = s.0.snapshot().await.unwrap();
    assert_eq!(snap.hosts[1].kernel_sockets.len(), 1, "{:?}", snap.hosts[1]);
    s.ok(B, Call::Accept { fd: lfd }).await;
    // Ask again (a packet that changes sockets triggers it; a snapshot after a short wait).
    s.call(
        A,
        Call::Socket {
            family: Family::Inet,
            ty: plugboard::sandbox::SockType::Stream,
            protocol: None,
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let snap = s.0.snapshot().await.unwrap();
    assert!(
        snap.hosts[1].kernel_sockets.is_empty(),
        "{:?}",
        snap.hosts[1]
    );
    assert!(
        !s.events().iter().any(|e| e.kind == EventKind::KernelSocket
            && e.host == Some(B)
            && e.to == Some(TcpState::Close)),
        "an accepted connection is not reported gone"
    );
}

/// The active closer's socket goes to TIME_WAIT without a descriptor, sock_diag shows it
/// with its countdown, and after the kernel's 60 s it is gone.
#[tokio::test]
async fn time_wait_is_seen_then_gone() {
    let Some(sb) = netns_sandbox() else { return };
    let s = session(&sb).await;
    let lfd = s.listener(B, 8080, 4).await;
    let cfd = s.client(A, s.addr(B, 8080)).await;
    let sfd = s.accept(B, lfd).await;
    s.close(A, cfd).await;
    s.wait_event("B's EOF", |e| e.kind == EventKind::Eof && e.host == Some(B))
        .await;
    s.close(B, sfd).await;
    let tw = s
        .wait_event("TIME_WAIT on A", |e| {
            e.kind == EventKind::KernelSocket
                && e.host == Some(A)
                && e.to == Some(TcpState::TimeWait)
        })
        .await;
    let timer = tw.timer_ms.expect("a countdown");
    assert!(timer > 50_000 && timer <= 60_000, "{timer}");
    let t = tw.tuple.unwrap();
    assert_eq!(t.remote, Some(s.addr(B, 8080).into()));
    let snap = s.0.snapshot().await.unwrap();
    let k = &snap.hosts[0].kernel_sockets;
    assert_eq!(k.len(), 1, "{k:?}");
    assert_eq!(k[0].state, TcpState::TimeWait);
    assert!(k[0].expires_ms.unwrap() > plugboard::sandbox::now_ms());
    // The passive closer keeps nothing.
    assert!(snap.hosts[1].kernel_sockets.is_empty());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(75);
    loop {
        if s.events().iter().any(|e| {
            e.kind == EventKind::KernelSocket && e.host == Some(A) && e.to == Some(TcpState::Close)
        }) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "TIME_WAIT never ended"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let snap = s.0.snapshot().await.unwrap();
    assert!(snap.hosts[0].kernel_sockets.is_empty());
}

#[tokio::test]
async fn a_handshake_belongs_to_the_connect_even_while_an_accept_waits() {
    let Some(sb) = netns_sandbox() else { return };
    let s = session(&sb).await;
    let lfd = s.listener(B, 8080, 4).await;
    let accept = s.call_wait(B, Call::Accept { fd: lfd }, 0).await;
    assert!(matches!(
        accept.outcome,
        plugboard::sandbox::CallOutcome::Pending
    ));
    let cfd = s.socket(A, Proto::Tcp).await;
    let connect = s
        .call(
            A,
            Call::Connect {
                fd: cfd,
                addr: (s.addr(B, 8080)).into(),
            },
        )
        .await;
    let done = s
        .wait_event("the accept's completion", |e| {
            e.kind == EventKind::Accept
                && e.call_id == Some(accept.call_id)
                && e.status == plugboard::sandbox::Status::Ok
        })
        .await;
    let tcp: Vec<_> = packets(&s)
        .into_iter()
        .filter(|e| pkt(e).tcp.is_some())
        .take(3)
        .collect();
    assert_eq!(tcp.len(), 3);
    for e in &tcp {
        assert_eq!(e.call_id, Some(connect.call_id), "{e:#?}");
        assert!(e.seq < done.seq);
    }
}

/// A connect to a listener whose accept queue is full stays pending; the kernel retransmits
/// its SYN on its own, and the retransmissions carry the connect's call id.
#[tokio::test]
async fn a_pending_connect_points_at_its_syn_retransmissions() {
    let Some(sb) = netns_sandbox() else { return };
    let s = session(&sb).await;
    s.listener(B, 8080, 0).await;
    // Linux queues backlog + 1 connections: with backlog 0, one.
    s.client(A, s.addr(B, 8080)).await;
    let fd = s.socket(A, Proto::Tcp).await;
    let pending = s
        .call_wait(
            A,
            Call::Connect {
                fd,
                addr: (s.addr(B, 8080)).into(),
            },
            200,
        )
        .await;
    assert!(
        matches!(pending.outcome, plugboard::sandbox::CallOutcome::Pending),
        "{pending:?}"
    );
    let events = s.events();
    let pending_event = events.iter().find(|e| e.seq == pending.seq).unwrap();
    let first_syn = pending_event.packet_seq.expect("points at its SYN");
    let syn = events.iter().find(|e| e.seq == first_syn).unwrap();
    assert!(is(syn, &["SYN"]));
    assert_eq!(syn.call_id, Some(pending.call_id));
    // The kernel retransmits after about a second.
    let again = s
        .wait_event("a retransmitted SYN", |e| {
            e.kind == EventKind::Packet && e.seq > first_syn && is(e, &["SYN"])
        })
        .await;
    assert_eq!(again.call_id, Some(pending.call_id));
    assert_eq!(
        pkt(&again).tcp.as_ref().unwrap().seq,
        pkt(syn).tcp.as_ref().unwrap().seq,
        "the same SYN again"
    );
}

/// Every host has its own 127.0.0.1: the same four-tuple on two hosts' `lo` are two
/// connections, each with its own numbers.
#[tokio::test]
async fn the_same_lo_tuple_on_two_hosts_keeps_its_own_numbers() {
    let Some(sb) = netns_sandbox() else { return };
    let s = session(&sb).await;
    let server: SocketAddr = "127.0.0.1:8080".parse().unwrap();
    let client: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let mut clients = Vec::new();
    for host in [A, B] {
        s.listener_at(host, server, 4).await;
        let c = s.socket(host, Proto::Tcp).await;
        s.bind(host, c, client).await;
        s.ok(
            host,
            Call::Connect {
                fd: c,
                addr: server.into(),
            },
        )
        .await;
        clients.push(c);
    }
    let send = s
        .call(
            A,
            Call::Send {
                fd: clients[0],
                data: b"abc".to_vec(),
                icmp: None,
            },
        )
        .await;
    let data = packets(&s)
        .into_iter()
        .find(|e| e.call_id == Some(send.call_id) && pkt(e).payload_len == 3)
        .expect("A's data segment");
    let t = pkt(&data).tcp.clone().unwrap();
    assert_eq!((t.rel_seq, t.rel_ack), (Some(1), Some(1)), "{t:?}");
    assert_eq!(data.host, Some(A));
}

/// A call on one host is never the cause of another host's packets, even on the same port:
/// a non-blocking connect's retransmitted SYNs stay its own while an accept waits on a
/// wildcard listener of the same port.
#[tokio::test]
async fn a_listener_does_not_claim_another_hosts_packets() {
    let Some(sb) = netns_sandbox() else { return };
    let s = session(&sb).await;
    // B's accept queue is full (backlog 0 holds one), so A's next SYN goes unanswered.
    s.listener(B, 8080, 0).await;
    s.client(A, s.addr(B, 8080)).await;
    let wild = s.listener_at(A, "0.0.0.0:8080".parse().unwrap(), 4).await;
    let accept = s.call_wait(A, Call::Accept { fd: wild }, 0).await;
    let c = s.socket(A, Proto::Tcp).await;
    s.ok(A, Call::Nonblocking { fd: c, on: true }).await;
    let connect = s
        .call(
            A,
            Call::Connect {
                fd: c,
                addr: (s.addr(B, 8080)).into(),
            },
        )
        .await;
    let first = s
        .wait_event("the SYN", |e| {
            e.kind == EventKind::Packet && e.call_id == Some(connect.call_id) && is(e, &["SYN"])
        })
        .await;
    let again = s
        .wait_event("the retransmitted SYN", |e| {
            e.kind == EventKind::Packet && e.seq > first.seq && is(e, &["SYN"]) && e.host == Some(A)
        })
        .await;
    assert_eq!(again.call_id, Some(connect.call_id), "{again:#?}");
    assert_ne!(again.call_id, Some(accept.call_id));
}

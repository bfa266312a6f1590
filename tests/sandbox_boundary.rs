//! The session boundary in loopback mode, tested by trying to cross it, and every limit.

mod common;

use std::time::Duration;

use common::*;
use plugboard::config::SandboxLimits;
use plugboard::sandbox::{
    Call, CallOutcome, EventKind, Limit, NewSession, Proto, SessionError, Status,
};

#[tokio::test]
async fn destinations_outside_the_session_are_unreachable() {
    let sb = sandbox();
    let s = session(&sb).await;
    let other = session(&sb).await;
    // Another session's host listens; this session cannot reach it.
    let theirs = other.listener(B, 8080, 4).await;
    let _ = theirs;
    let fd = s.socket(A, Proto::Tcp).await;
    for target in [
        other.addr(B, 8080),
        "8.8.8.8:53".parse().unwrap(),
        "169.254.169.254:80".parse().unwrap(),
        "10.0.0.2:8080".parse().unwrap(),
        "127.0.0.53:53".parse().unwrap(),
    ] {
        let f = s
            .fails(
                A,
                Call::Connect {
                    fd,
                    addr: target.into(),
                },
                "ENETUNREACH",
            )
            .await;
        assert!(f.sandbox, "{target}");
        assert!(
            f.hint
                .unwrap()
                .en()
                .to_owned()
                .contains("outside this session")
        );
    }
    let udp = s.socket(A, Proto::Udp).await;
    let f = s
        .fails(
            A,
            Call::Sendto {
                fd: udp,
                data: b"x".to_vec(),
                addr: (other.addr(B, 8080)).into(),
                icmp: None,
            },
            "ENETUNREACH",
        )
        .await;
    assert!(f.sandbox);
    let ev = s.of_kind(A, EventKind::Sendto).pop().unwrap();
    assert!(ev.sandbox);
    assert_eq!(ev.errno.unwrap().name, "ENETUNREACH");
    // The other session saw nothing.
    assert!(other.of_kind(B, EventKind::Incoming).is_empty());
}

#[tokio::test]
async fn loopback_means_the_host_itself_not_the_machine() {
    // A service of the machine on 127.0.0.1 (as the server's own port would be).
    let machine = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = machine.local_addr().unwrap().port();
    machine.set_nonblocking(true).unwrap();
    let sb = sandbox();
    let s = session(&sb).await;
    let fd = s.socket(A, Proto::Tcp).await;
    let f = s
        .fails(
            A,
            Call::Connect {
                fd,
                addr: format!("127.0.0.1:{port}").parse().unwrap(),
            },
            "ECONNREFUSED",
        )
        .await;
    // 127.0.0.1 is host A itself, where nothing of the session listens.
    assert!(
        f.hint
            .unwrap()
            .en()
            .to_owned()
            .contains("No socket of this session")
    );
    assert!(
        machine.accept().is_err(),
        "the machine's service got no connection"
    );
    let ev = s.of_kind(A, EventKind::Connect).pop().unwrap();
    assert_eq!(
        ev.requested_addr.unwrap().to_string(),
        format!("127.0.0.1:{port}")
    );
    assert_eq!(ev.addr.unwrap().inet().unwrap().ip(), s.addr(A, 0).ip());
}

#[tokio::test]
async fn binds_stay_on_the_hosts_own_address() {
    let sb = sandbox();
    let s = session(&sb).await;
    let fd = s.socket(B, Proto::Tcp).await;
    let f = s
        .fails(
            B,
            Call::Bind {
                fd,
                addr: (s.addr(A, 8080)).into(),
            },
            "EADDRNOTAVAIL",
        )
        .await;
    assert!(f.sandbox);
    let f = s
        .fails(
            B,
            Call::Bind {
                fd,
                addr: (s.addr(B, 80)).into(),
            },
            "EACCES",
        )
        .await;
    assert!(f.sandbox);
    assert!(f.hint.unwrap().en().to_owned().contains("1024"));
    let v = s.bind(B, fd, "0.0.0.0:8080".parse().unwrap()).await;
    assert_eq!(v.addr, Some((s.addr(B, 8080)).into()));
    let ev = s.of_kind(B, EventKind::Bind).pop().unwrap();
    assert_eq!(ev.requested_addr, Some("0.0.0.0:8080".parse().unwrap()));
    assert!(ev.note.as_ref().map(|n| n.en()).unwrap().contains("mapped"));
    // A socket that listens without bind gets the host's address, not the kernel's wildcard.
    let lfd = s.socket(B, Proto::Tcp).await;
    let listened = s.listen(B, lfd, 1).await;
    assert!(
        listened
            .note
            .unwrap()
            .en()
            .to_owned()
            .contains("implicitly")
    );
    let name = s
        .ok(B, Call::Getsockname { fd: lfd })
        .await
        .addr
        .unwrap()
        .inet()
        .unwrap();
    assert_eq!(name.ip(), s.addr(B, 0).ip());
}

#[tokio::test]
async fn privileged_ports_can_be_allowed() {
    let sb = sandbox_with(SandboxLimits {
        allow_privileged_ports: true,
        ..SandboxLimits::default()
    });
    let s = session(&sb).await;
    let fd = s.socket(B, Proto::Tcp).await;
    // The sandbox no longer refuses; the kernel decides, as for the server's own user.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        s.bind(B, fd, s.addr(B, 80)).await;
    } else {
        let f = s
            .fails(
                B,
                Call::Bind {
                    fd,
                    addr: (s.addr(B, 80)).into(),
                },
                "EACCES",
            )
            .await;
        assert!(!f.sandbox);
    }
}

#[tokio::test]
async fn connections_and_datagrams_from_outside_are_refused() {
    let sb = sandbox();
    let s = session(&sb).await;
    let lfd = s.listener(B, 8090, 4).await;
    // Something outside the session connects to B's listener directly.
    let intruder = std::net::TcpStream::connect(s.addr(B, 8090)).unwrap();
    let r = s.call_wait(B, Call::Accept { fd: lfd }, 100).await;
    assert_eq!(
        r.outcome,
        CallOutcome::Pending,
        "the outsider is not handed to the program"
    );
    let refused = s
        .wait_event("isolation", |e| e.kind == EventKind::Isolation)
        .await;
    assert!(refused.sandbox);
    assert_eq!(
        refused.peer.unwrap().inet().unwrap().ip().to_string(),
        "127.0.0.1"
    );
    // The outsider's connection was closed.
    intruder
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 1];
    let n = std::io::Read::read(&mut &intruder, &mut buf);
    assert!(matches!(n, Ok(0) | Err(_)), "closed: {n:?}");
    // A host of the session still gets through.
    s.client(A, s.addr(B, 8090)).await;
    s.wait_event("accept done", |e| {
        e.call_id == Some(r.call_id) && e.status == Status::Ok
    })
    .await;

    let udp = s.udp_bound(B, 8091).await;
    let outside = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    outside.send_to(b"spoof", s.addr(B, 8091)).unwrap();
    s.ok(B, Call::Nonblocking { fd: udp, on: true }).await;
    // Its arrival is reported as the sandbox's, never as data with a preview.
    let arrived = s
        .wait_event("outsider datagram", |e| {
            e.kind == EventKind::Isolation && e.fd == Some(udp)
        })
        .await;
    assert!(arrived.data.is_none());
    assert!(
        s.events()
            .iter()
            .all(|e| e.kind != EventKind::Data || e.fd != Some(udp))
    );
    s.fails(
        B,
        Call::Recvfrom {
            fd: udp,
            max: 10,
            peek: false,
        },
        "EAGAIN",
    )
    .await;
    let dropped = s
        .wait_event("dropped datagram", |e| {
            e.kind == EventKind::Isolation && e.fd == Some(udp)
        })
        .await;
    assert!(
        dropped
            .note
            .as_ref()
            .map(|n| n.en())
            .unwrap()
            .contains("datagram")
    );
}

#[tokio::test]
async fn a_machine_service_on_the_wildcard_is_out_of_reach() {
    // Services of the machine bound to every address, as a database or the server itself in a
    // container would be: they answer on the session's loopback addresses too.
    let tcp = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    tcp.set_nonblocking(true).unwrap();
    let udp = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    udp.set_nonblocking(true).unwrap();
    let (tcp_port, udp_port) = (
        tcp.local_addr().unwrap().port(),
        udp.local_addr().unwrap().port(),
    );
    let sb = sandbox();
    let s = session(&sb).await;
    for host in [A, B] {
        let fd = s.socket(host, Proto::Tcp).await;
        let f = s
            .fails(
                host,
                Call::Connect {
                    fd,
                    addr: (s.addr(host, tcp_port)).into(),
                },
                "ECONNREFUSED",
            )
            .await;
        assert!(f.sandbox);
        let fd = s.socket(host, Proto::Udp).await;
        let to = s.addr(if host == A { B } else { A }, udp_port);
        let f = s
            .fails(
                host,
                Call::Sendto {
                    fd,
                    data: b"x".to_vec(),
                    addr: to.into(),
                    icmp: None,
                },
                "ECONNREFUSED",
            )
            .await;
        assert!(f.sandbox);
        // A UDP connect only sets the destination; the datagram is what gets refused.
        s.ok(
            host,
            Call::Connect {
                fd,
                addr: to.into(),
            },
        )
        .await;
        let f = s
            .fails(
                host,
                Call::Send {
                    fd,
                    data: b"x".to_vec(),
                    icmp: None,
                },
                "ECONNREFUSED",
            )
            .await;
        assert!(f.sandbox);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        tcp.accept().is_err(),
        "the machine's TCP service saw no connection"
    );
    let mut buf = [0u8; 8];
    assert!(
        udp.recv_from(&mut buf).is_err(),
        "the machine's UDP service got no datagram"
    );
    // Once the session itself listens there, the same call goes through.
    drop(tcp);
    let lfd = s.listener(B, tcp_port, 1).await;
    let _ = lfd;
    s.client(A, s.addr(B, tcp_port)).await;
}

#[tokio::test]
async fn a_privileged_port_hint_suggests_another_port() {
    let sb = sandbox();
    let s = session(&sb).await;
    let fd = s.socket(B, Proto::Tcp).await;
    let f = s
        .fails(
            B,
            Call::Bind {
                fd,
                addr: (s.addr(B, 80)).into(),
            },
            "EACCES",
        )
        .await;
    let hint = f.hint.unwrap().en().to_owned();
    assert!(hint.contains("bind port 8080"), "{hint}");
    assert!(
        !hint.contains("port 80 "),
        "the hint repeats the refused port: {hint}"
    );
}

/// Loopback mode checks a connected UDP socket's datagrams, not its connect: like the
/// kernel, connect to a port where nothing is bound succeeds; unlike the kernel (whose
/// datagram would leave and come back as an ICMP error), the send is refused at once.
#[tokio::test]
async fn udp_connect_sets_the_destination_and_send_is_checked() {
    let sb = sandbox();
    let s = session(&sb).await;
    let fd = s.socket(A, Proto::Udp).await;
    let to = s.addr(B, 9100);
    let connected = s
        .ok(
            A,
            Call::Connect {
                fd,
                addr: to.into(),
            },
        )
        .await;
    assert_eq!(connected.addr, Some((to).into()));
    let send = || Call::Send {
        fd,
        data: b"ping".to_vec(),
        icmp: None,
    };
    let f = s.fails(A, send(), "ECONNREFUSED").await;
    assert!(f.sandbox);
    assert!(
        f.hint
            .unwrap()
            .en()
            .contains("No socket of this session is bound")
    );
    let refused = s.of_kind(A, EventKind::Send).pop().unwrap();
    assert_eq!(refused.errno.unwrap().name, "ECONNREFUSED");
    assert!(refused.sandbox);
    // Once B binds there, the same socket's datagrams go through.
    let rfd = s.socket(B, Proto::Udp).await;
    s.bind(B, rfd, to).await;
    assert_eq!(s.ok(A, send()).await.bytes, Some(4));
    let got = s
        .ok(
            B,
            Call::Recvfrom {
                fd: rfd,
                max: 16,
                peek: false,
            },
        )
        .await;
    assert_eq!(got.data.as_deref(), Some(&b"ping"[..]));
}

fn limits() -> SandboxLimits {
    SandboxLimits::default()
}

async fn expect_limit<T: std::fmt::Debug>(r: Result<T, SessionError>, limit: Limit) {
    match r {
        Err(SessionError::Limit { limit: l, .. }) if l == limit => {}
        other => panic!("expected limit {limit:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn every_limit_is_enforced_and_reported() {
    // Sockets.
    let sb = sandbox_with(SandboxLimits {
        max_sockets: 2,
        ..limits()
    });
    let s = session(&sb).await;
    s.socket(A, Proto::Tcp).await;
    s.socket(B, Proto::Udp).await;
    let r =
        s.0.call(
            A,
            Call::Socket {
                family: plugboard::sandbox::Family::Inet,
                ty: plugboard::sandbox::SockType::Stream,
                protocol: None,
            },
            None,
        )
        .await;
    expect_limit(r, Limit::Sockets).await;

    // Sessions and hosts.
    let sb = sandbox_with(SandboxLimits {
        max_sessions: 1,
        max_hosts: 2,
        ..limits()
    });
    let s = session(&sb).await;
    expect_limit(
        timeout(sb.create_session(NewSession::default())).await,
        Limit::Sessions,
    )
    .await;
    expect_limit(timeout(s.0.add_host()).await, Limit::Hosts).await;
    s.0.end("test").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let three = NewSession {
        hosts: 3,
        ..NewSession::default()
    };
    expect_limit(timeout(sb.create_session(three)).await, Limit::Hosts).await;

    // Pending calls.
    let sb = sandbox_with(SandboxLimits {
        max_pending_calls: 1,
        ..limits()
    });
    let s = session(&sb).await;
    let lfd = s.listener(B, 8092, 1).await;
    assert_eq!(
        s.call_wait(B, Call::Accept { fd: lfd }, 0).await.outcome,
        CallOutcome::Pending
    );
    let r =
        s.0.call(B, Call::Accept { fd: lfd }, Some(Duration::ZERO))
            .await;
    expect_limit(r, Limit::PendingCalls).await;

    // Payload and bytes per session.
    let sb = sandbox_with(SandboxLimits {
        max_payload_bytes: 8,
        max_session_bytes: 12,
        ..limits()
    });
    let s = session(&sb).await;
    s.udp_bound(B, 9999).await;
    let udp = s.socket(A, Proto::Udp).await;
    let to = s.addr(B, 9999);
    let r =
        s.0.call(
            A,
            Call::Sendto {
                fd: udp,
                data: vec![0; 9],
                addr: to.into(),
                icmp: None,
            },
            None,
        )
        .await;
    expect_limit(r, Limit::Payload).await;
    let r =
        s.0.call(
            A,
            Call::Recv {
                fd: udp,
                max: 9,
                peek: false,
            },
            None,
        )
        .await;
    expect_limit(r, Limit::Payload).await;
    s.sendto(A, udp, &[0; 8], to).await;
    let r =
        s.0.call(
            A,
            Call::Sendto {
                fd: udp,
                data: vec![0; 8],
                addr: to.into(),
                icmp: None,
            },
            None,
        )
        .await;
    expect_limit(r, Limit::SessionBytes).await;

    // Call rate: a burst of the limit passes, then calls are refused until tokens refill
    // (counted rather than timed, so a slow machine cannot make it flaky).
    let sb = sandbox_with(SandboxLimits {
        max_calls_per_second: 3,
        ..limits()
    });
    let s = session(&sb).await;
    let mut passed = 0;
    let refused = loop {
        match s.0.call(A, Call::Close { fd: 99 }, None).await {
            Ok(_) => passed += 1,
            Err(e) => break e,
        }
        assert!(passed < 50, "the rate limit never refused a call");
    };
    assert!(passed >= 3, "the burst of 3 passed");
    expect_limit(Err::<(), _>(refused), Limit::CallRate).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    s.fails(A, Call::Close { fd: 99 }, "EBADF").await;

    // Events.
    let sb = sandbox_with(SandboxLimits {
        max_events: 10,
        ..limits()
    });
    let s = session(&sb).await;
    for _ in 0..9 {
        s.fails(A, Call::Close { fd: 99 }, "EBADF").await;
    }
    expect_limit(
        s.0.call(A, Call::Close { fd: 99 }, None).await,
        Limit::Events,
    )
    .await;

    // Waits longer than allowed.
    let sb = sandbox_with(SandboxLimits {
        max_wait_ms: 100,
        ..limits()
    });
    let s = session(&sb).await;
    let r =
        s.0.call(A, Call::Close { fd: 3 }, Some(Duration::from_millis(101)))
            .await;
    expect_limit(r, Limit::Wait).await;
}

#[tokio::test]
async fn idle_sessions_and_old_sessions_end() {
    let sb = sandbox_with(SandboxLimits {
        idle_ttl_secs: 1,
        ..limits()
    });
    let s = session(&sb).await;
    let fd = s.listener(B, 8093, 1).await;
    let _ = fd;
    let ended = s
        .wait_event("ended", |e| e.kind == EventKind::SessionEnded)
        .await;
    assert_eq!(
        ended.reason.as_ref().map(|r| r.en()),
        Some("the session was idle too long")
    );
    assert!(sb.get(s.0.id()).is_none());
    assert!(matches!(
        s.0.call(A, Call::Close { fd: 3 }, None).await,
        Err(SessionError::Ended)
    ));

    let sb = sandbox_with(SandboxLimits {
        max_lifetime_secs: 1,
        ..limits()
    });
    let s = session(&sb).await;
    let ended = s
        .wait_event("ended", |e| e.kind == EventKind::SessionEnded)
        .await;
    assert_eq!(
        ended.reason.as_ref().map(|r| r.en()),
        Some("the session reached its maximum lifetime")
    );
}

#[tokio::test]
async fn ending_a_session_cancels_pending_calls() {
    let sb = sandbox();
    let s = session(&sb).await;
    let lfd = s.listener(B, 8094, 1).await;
    let r = s.call_wait(B, Call::Accept { fd: lfd }, 0).await;
    assert_eq!(r.outcome, CallOutcome::Pending);
    timeout(s.0.end("done")).await.unwrap();
    let cancelled = s
        .wait_event("cancelled", |e| {
            e.call_id == Some(r.call_id) && e.status == Status::Error
        })
        .await;
    assert_eq!(cancelled.errno.unwrap().name, "ECANCELED");
    let last = s.events().pop().unwrap();
    assert_eq!(last.kind, EventKind::SessionEnded);
    assert_eq!(last.reason.as_ref().map(|r| r.en()), Some("done"));
}

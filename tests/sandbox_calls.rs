//! Socket calls on real kernel sockets through the sandbox: UDP, errors in the kernel's own
//! words, non-blocking mode, the accept queue, resets, IPv6. Each test checks the events as
//! well as the results.

mod common;

use std::time::Duration;

use common::*;
use plugboard::sandbox::{
    Call, CallOutcome, EventKind, Family, OptValue, Proto, SockOpt, Status, TcpState,
};

#[tokio::test]
async fn udp_flow_keeps_datagram_boundaries() {
    let sb = sandbox();
    let s = session(&sb).await;
    let rx = s.udp_bound(B, 9000).await;
    let tx = s.socket(A, Proto::Udp).await;
    for word in ["one", "two"] {
        let sent = s.sendto(A, tx, word.as_bytes(), s.addr(B, 9000)).await;
        assert_eq!(sent.bytes, Some(3));
    }
    let data = s
        .wait_event("datagram waiting on B", |e| {
            e.kind == EventKind::Data && e.host == Some(B)
        })
        .await;
    assert_eq!(data.bytes, Some(3), "the size of the next datagram");
    let first = s
        .ok(
            B,
            Call::Recvfrom {
                fd: rx,
                max: 1024,
                peek: false,
            },
        )
        .await;
    assert_eq!(
        first.data.as_deref(),
        Some(&b"one"[..]),
        "one datagram per receive"
    );
    let sender = first.peer.unwrap().inet().unwrap();
    assert_eq!(sender.ip(), s.addr(A, 0).ip(), "sent from host A's address");
    let second = s
        .ok(
            B,
            Call::Recvfrom {
                fd: rx,
                max: 1024,
                peek: false,
            },
        )
        .await;
    assert_eq!(second.data.as_deref(), Some(&b"two"[..]));
    // A datagram longer than the buffer is cut, the rest is lost, as the kernel does.
    s.sendto(A, tx, b"abcdef", s.addr(B, 9000)).await;
    let cut = s.recv(B, rx, 2).await;
    assert_eq!(cut.data.as_deref(), Some(&b"ab"[..]));
    // And back.
    s.sendto(B, rx, b"pong", sender).await;
    let back = s
        .ok(
            A,
            Call::Recvfrom {
                fd: tx,
                max: 64,
                peek: false,
            },
        )
        .await;
    assert_eq!(back.data.as_deref(), Some(&b"pong"[..]));
    assert_eq!(back.peer, Some((s.addr(B, 9000)).into()));
    let ev = s.of_kind(A, EventKind::Recvfrom).pop().unwrap();
    assert_eq!(ev.peer, Some((s.addr(B, 9000)).into()));
    assert_eq!(ev.tuple.unwrap().proto, Proto::Udp);
}

#[tokio::test]
async fn eaddrinuse_then_so_reuseaddr_after_close() {
    let sb = sandbox();
    let s = session(&sb).await;
    let port = 8081;
    // The textbook server sets SO_REUSEADDR before bind; its connections inherit it, and
    // Linux lets a new bind share the port with TIME_WAIT only when both sides set it.
    let lfd = s.socket(B, Proto::Tcp).await;
    s.ok(
        B,
        Call::Setsockopt {
            fd: lfd,
            option: SockOpt::SoReuseaddr,
            value: OptValue::Bool(true),
        },
    )
    .await;
    s.bind(B, lfd, s.addr(B, port)).await;
    s.listen(B, lfd, 4).await;
    let cfd = s.client(A, s.addr(B, port)).await;
    let afd = s.accept(B, lfd).await;
    // A second socket cannot take the port while the listener holds it.
    let other = s.socket(B, Proto::Tcp).await;
    let f = s
        .fails(
            B,
            Call::Bind {
                fd: other,
                addr: (s.addr(B, port)).into(),
            },
            "EADDRINUSE",
        )
        .await;
    assert!(!f.sandbox, "the kernel refused, not the sandbox");
    // The server closes first (active close), so its side of the connection waits in
    // TIME_WAIT and keeps the port.
    s.close(B, afd).await;
    s.close(A, cfd).await;
    s.close(B, lfd).await;
    s.fails(
        B,
        Call::Bind {
            fd: other,
            addr: (s.addr(B, port)).into(),
        },
        "EADDRINUSE",
    )
    .await;
    s.ok(
        B,
        Call::Setsockopt {
            fd: other,
            option: SockOpt::SoReuseaddr,
            value: OptValue::Bool(true),
        },
    )
    .await;
    s.bind(B, other, s.addr(B, port)).await;
    s.listen(B, other, 4).await;
    let v = s.getsockopt(B, other, SockOpt::SoReuseaddr).await;
    assert_eq!(v.value, Some(OptValue::Bool(true)));
    let errors: Vec<_> = s
        .of_kind(B, EventKind::Bind)
        .into_iter()
        .filter(|e| e.status == Status::Error)
        .map(|e| e.errno.unwrap().name)
        .collect();
    assert_eq!(errors, vec!["EADDRINUSE", "EADDRINUSE"]);
}

#[tokio::test]
async fn calls_out_of_order_get_the_kernels_errno() {
    let sb = sandbox();
    let s = session(&sb).await;
    let fd = s.socket(A, Proto::Tcp).await;
    s.fails(
        A,
        Call::Recv {
            fd,
            max: 10,
            peek: false,
        },
        "ENOTCONN",
    )
    .await;
    s.fails(A, Call::Getpeername { fd }, "ENOTCONN").await;
    s.fails(
        A,
        Call::Shutdown {
            fd,
            how: plugboard::sandbox::ShutdownHow::Both,
        },
        "ENOTCONN",
    )
    .await;
    s.fails(
        A,
        Call::Send {
            fd,
            data: b"x".to_vec(),
            icmp: None,
        },
        "EPIPE",
    )
    .await;
    s.fails(A, Call::Accept { fd }, "EINVAL").await;
    s.bind(A, fd, s.addr(A, 5000)).await;
    s.fails(
        A,
        Call::Bind {
            fd,
            addr: (s.addr(A, 5001)).into(),
        },
        "EINVAL",
    )
    .await;
    let udp = s.socket(A, Proto::Udp).await;
    s.fails(
        A,
        Call::Listen {
            fd: udp,
            backlog: 1,
        },
        "EOPNOTSUPP",
    )
    .await;
    s.fails(
        A,
        Call::Setsockopt {
            fd: udp,
            option: SockOpt::TcpNodelay,
            value: OptValue::Bool(true),
        },
        "ENOPROTOOPT",
    )
    .await;
    // Descriptors that are not open: EBADF, also after close.
    s.fails(A, Call::Close { fd: 42 }, "EBADF").await;
    s.close(A, fd).await;
    let f = s
        .fails(
            A,
            Call::Recv {
                fd,
                max: 1,
                peek: false,
            },
            "EBADF",
        )
        .await;
    assert!(!f.errno.hint.en.is_empty());
    let ev = s
        .events()
        .into_iter()
        .rfind(|e| e.kind == EventKind::Recv)
        .unwrap();
    assert_eq!(ev.errno.unwrap().name, "EBADF");
    assert_eq!(ev.fd, Some(fd));
}

#[tokio::test]
async fn non_blocking_calls_answer_at_once() {
    let sb = sandbox();
    let s = session(&sb).await;
    let lfd = s.listener(B, 8082, 4).await;
    s.ok(B, Call::Nonblocking { fd: lfd, on: true }).await;
    let f = s.fails(B, Call::Accept { fd: lfd }, "EAGAIN").await;
    assert_eq!(f.errno.code, libc_eagain());
    let cfd = s.socket(A, Proto::Tcp).await;
    s.ok(A, Call::Nonblocking { fd: cfd, on: true }).await;
    // A non-blocking connect is started and finishes in the background.
    match s
        .call(
            A,
            Call::Connect {
                fd: cfd,
                addr: (s.addr(B, 8082)).into(),
            },
        )
        .await
        .outcome
    {
        CallOutcome::Ok(_) => {}
        CallOutcome::Err(f) => assert_eq!(f.errno.name, "EINPROGRESS"),
        CallOutcome::Pending => panic!("a non-blocking call never waits"),
    }
    s.wait_event("established", |e| {
        e.host == Some(A) && e.to == Some(TcpState::Established)
    })
    .await;
    // The kernel reports the finished handshake to the next connect, then EISCONN.
    s.ok(
        A,
        Call::Connect {
            fd: cfd,
            addr: (s.addr(B, 8082)).into(),
        },
    )
    .await;
    s.fails(
        A,
        Call::Connect {
            fd: cfd,
            addr: (s.addr(B, 8082)).into(),
        },
        "EISCONN",
    )
    .await;
    let afd = s.accept(B, lfd).await;
    s.ok(B, Call::Nonblocking { fd: afd, on: true }).await;
    s.fails(
        B,
        Call::Recv {
            fd: afd,
            max: 10,
            peek: false,
        },
        "EAGAIN",
    )
    .await;
    s.send(A, cfd, b"hi").await;
    s.wait_event("data", |e| e.kind == EventKind::Data && e.fd == Some(afd))
        .await;
    // Peeking leaves the bytes for the next recv.
    let peeked = s
        .ok(
            B,
            Call::Recv {
                fd: afd,
                max: 10,
                peek: true,
            },
        )
        .await;
    assert_eq!(peeked.data.as_deref(), Some(&b"hi"[..]));
    let read = s.recv(B, afd, 10).await;
    assert_eq!(read.data.as_deref(), Some(&b"hi"[..]));
}

fn libc_eagain() -> i32 {
    11
}

#[tokio::test]
async fn backlog_fills_the_accept_queue() {
    let sb = sandbox();
    let s = session(&sb).await;
    let backlog = 2;
    let lfd = s.listener(B, 8083, backlog).await;
    // Linux queues backlog + 1 finished handshakes; later SYNs are dropped, so the client
    // waits in SYN_SENT, retrying.
    let mut clients = Vec::new();
    for _ in 0..(backlog + 1) {
        clients.push(s.client(A, s.addr(B, 8083)).await);
    }
    let queued: Vec<u32> = s
        .of_kind(B, EventKind::Incoming)
        .iter()
        .map(|e| {
            assert_eq!(e.backlog, Some(backlog as u32));
            e.queue.unwrap()
        })
        .collect();
    assert_eq!(queued, vec![1, 2, 3]);
    let late = s.socket(A, Proto::Tcp).await;
    let r = s
        .call_wait(
            A,
            Call::Connect {
                fd: late,
                addr: (s.addr(B, 8083)).into(),
            },
            200,
        )
        .await;
    assert_eq!(
        r.outcome,
        CallOutcome::Pending,
        "the queue is full: the connect waits"
    );
    s.wait_event("SYN_SENT", |e| {
        e.fd == Some(late) && e.to == Some(TcpState::SynSent)
    })
    .await;
    let snap = timeout(s.0.snapshot()).await.unwrap();
    let listener = snap.hosts[1].sockets.iter().find(|k| k.fd == lfd).unwrap();
    assert_eq!(listener.accept_queue, Some(3));
    assert_eq!(listener.accept_backlog, Some(backlog as u32));
    // Accepting one makes room; the client's next SYN retry gets through.
    s.ok(B, Call::Accept { fd: lfd }).await;
    let done = s
        .wait_event("late connect completes", |e| {
            e.call_id == Some(r.call_id) && e.status != Status::Pending
        })
        .await;
    assert_eq!(done.status, Status::Ok);
}

#[tokio::test]
async fn linger_zero_close_resets_the_peer() {
    let sb = sandbox();
    let s = session(&sb).await;
    let lfd = s.listener(B, 8084, 1).await;
    let cfd = s.client(A, s.addr(B, 8084)).await;
    let afd = s.accept(B, lfd).await;
    s.ok(
        A,
        Call::Setsockopt {
            fd: cfd,
            option: SockOpt::SoLinger,
            value: OptValue::Linger {
                onoff: true,
                seconds: 0,
            },
        },
    )
    .await;
    s.close(A, cfd).await;
    let reset = s
        .wait_event("reset on B", |e| {
            e.kind == EventKind::Reset && e.fd == Some(afd)
        })
        .await;
    assert!(reset.note.as_ref().unwrap().en().contains("RST"));
    s.fails(
        B,
        Call::Recv {
            fd: afd,
            max: 10,
            peek: false,
        },
        "ECONNRESET",
    )
    .await;
    // The state went straight from ESTABLISHED to CLOSE: no FIN handshake.
    s.wait_event("CLOSE", |e| {
        e.fd == Some(afd) && e.host == Some(B) && e.to == Some(TcpState::Close)
    })
    .await;
    assert!(
        s.events()
            .iter()
            .all(|e| !(e.host == Some(B) && e.to == Some(TcpState::CloseWait)))
    );
}

/// Loopback mode gives IPv6 sockets the IPv4-mapped form of the host's address (`lo` has one
/// IPv6 address, `::1`, which sessions cannot share): binds, names and peers all use it.
#[tokio::test]
async fn ipv6_sockets_use_the_hosts_mapped_address() {
    let sb = sandbox();
    let s = session(&sb).await;
    let std::net::IpAddr::V4(v4) = s.addr(B, 0).ip() else {
        panic!("a loopback host has an IPv4 address first");
    };
    let mapped = std::net::IpAddr::V6(v4.to_ipv6_mapped());
    assert_eq!(s.addr6(B, 0).ip(), mapped);
    let fd = s.socket_f(B, Family::Inet6, Proto::Udp).await;
    let bound = s.bind(B, fd, "[::]:8097".parse().unwrap()).await;
    assert_eq!(
        bound.addr,
        Some((std::net::SocketAddr::new(mapped, 8097)).into())
    );
    let name = s
        .ok(B, Call::Getsockname { fd })
        .await
        .addr
        .unwrap()
        .inet()
        .unwrap();
    assert_eq!(name.ip(), mapped, "the kernel holds the mapped address");
}

#[tokio::test]
async fn ipv6_sockets_connect_and_talk() {
    let sb = sandbox();
    let s = session(&sb).await;
    let lfd = s.socket_f(B, Family::Inet6, Proto::Tcp).await;
    let bound = s.bind(B, lfd, "[::]:8086".parse().unwrap()).await;
    assert_eq!(
        bound.addr,
        Some((s.addr6(B, 8086)).into()),
        "the wildcard maps to B's own address"
    );
    assert!(bound.note.unwrap().en().contains("wildcard"));
    s.listen(B, lfd, 2).await;
    let cfd = s.socket_f(A, Family::Inet6, Proto::Tcp).await;
    s.ok(
        A,
        Call::Connect {
            fd: cfd,
            addr: (s.addr6(B, 8086)).into(),
        },
    )
    .await;
    let accepted = s.ok(B, Call::Accept { fd: lfd }).await;
    assert_eq!(
        accepted.peer.unwrap().inet().unwrap().ip(),
        s.addr6(A, 0).ip()
    );
    s.send(A, cfd, b"v6").await;
    let got = s.recv(B, accepted.fd.unwrap(), 8).await;
    assert_eq!(got.data.as_deref(), Some(&b"v6"[..]));
    let ev = s.of_kind(B, EventKind::Accept).pop().unwrap();
    assert_eq!(ev.tuple.unwrap().family, Family::Inet6);
    let v6only = s.getsockopt(B, lfd, SockOpt::Ipv6V6only).await;
    assert_eq!(v6only.value, Some(OptValue::Bool(false)));
}

#[tokio::test]
async fn snapshot_shows_sockets_with_kernel_figures() {
    let sb = sandbox();
    let s = session(&sb).await;
    let lfd = s.listener(B, 8087, 3).await;
    let cfd = s.client(A, s.addr(B, 8087)).await;
    s.send(A, cfd, b"12345").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let snap = timeout(s.0.snapshot()).await.unwrap();
    assert_eq!(snap.hosts.len(), 2);
    let l = &snap.hosts[1].sockets[0];
    assert_eq!(l.fd, lfd);
    assert_eq!(l.tcp_state, Some(TcpState::Listen));
    assert_eq!(l.accept_queue, Some(1));
    assert_eq!(l.backlog, Some(3));
    let c = &snap.hosts[0].sockets[0];
    assert_eq!(c.tcp_state, Some(TcpState::Established));
    assert_eq!(c.tuple.remote, Some((s.addr(B, 8087)).into()));
    assert!(c.options.iter().any(|o| o.option == SockOpt::TcpNodelay));
    assert_eq!(snap.usage.sockets, 2);
    let json = serde_json::to_value(&snap).unwrap();
    assert_eq!(json["hosts"][1]["sockets"][0]["tcp_state"], "LISTEN");
}

#[tokio::test]
async fn ports_the_kernel_chooses_come_from_the_hosts_ephemeral_range() {
    let sb = sandbox();
    let s = session(&sb).await;
    let (lo, hi) = s.0.hosts()[0].ephemeral_ports.expect("the host's range");
    assert!(lo < hi, "{lo}–{hi}");
    let lfd = s.listener(B, 8090, 4).await;
    let _ = lfd;
    // Two clients that never bind get two ports the kernel chose.
    let mut chosen = Vec::new();
    for _ in 0..2 {
        let fd = s.client(A, s.addr(B, 8090)).await;
        let event = s
            .events()
            .into_iter()
            .rfind(|e| e.kind == EventKind::Connect && e.fd == Some(fd))
            .unwrap();
        let port = event.ephemeral_port.expect("connect chose a port");
        assert!((lo..=hi).contains(&port), "{port} outside {lo}–{hi}");
        assert!(
            event
                .note
                .as_ref()
                .unwrap()
                .en()
                .contains("ephemeral range")
        );
        chosen.push(port);
    }
    assert_ne!(chosen[0], chosen[1]);
    // A port named in bind is not chosen; port 0 is.
    let named = s.udp_bound(B, 8091).await;
    let bind = s.of_kind(B, EventKind::Bind).pop().unwrap();
    assert_eq!((bind.fd, bind.ephemeral_port), (Some(named), None));
    let any = s.socket(B, Proto::Udp).await;
    let bound = s.bind(B, any, s.addr(B, 0)).await;
    let port = bound.addr.unwrap().port().unwrap();
    assert!(
        (lo..=hi).contains(&port),
        "bind to port 0 answers the chosen port"
    );
    let bind = s.of_kind(B, EventKind::Bind).pop().unwrap();
    assert_eq!(bind.ephemeral_port, Some(port));
}

/// Raw sockets carry ICMP only, in both modes; a TCP or UDP address written without a port is
/// port 0, and the reply shows the port the kernel chose.
async fn raw_is_icmp_only_and_bare_ips_get_a_port(sb: plugboard::sandbox::Sandbox) {
    let s = session(&sb).await;
    for protocol in [Proto::Tcp, Proto::Udp] {
        let f = s
            .fails(
                A,
                Call::Socket {
                    family: plugboard::sandbox::Family::Inet,
                    ty: plugboard::sandbox::SockType::Raw,
                    protocol: Some(protocol),
                },
                "EPROTONOSUPPORT",
            )
            .await;
        assert!(f.sandbox && f.hint.unwrap().en().to_owned().contains("ICMP"));
    }
    let fd = s.socket(A, Proto::Tcp).await;
    let ip = s.addr(A, 0).ip();
    let bound = s
        .ok(
            A,
            Call::Bind {
                fd,
                addr: plugboard::sandbox::Addr::Host(ip),
            },
        )
        .await;
    let port = bound.addr.unwrap().port().unwrap();
    assert_ne!(port, 0, "the reply names the chosen port");
}

#[tokio::test]
async fn raw_is_icmp_only_and_bare_ips_get_a_port_loopback() {
    raw_is_icmp_only_and_bare_ips_get_a_port(sandbox()).await;
}

#[tokio::test]
async fn raw_is_icmp_only_and_bare_ips_get_a_port_netns() {
    if let Some(sb) = netns_sandbox() {
        raw_is_icmp_only_and_bare_ips_get_a_port(sb).await;
    }
}

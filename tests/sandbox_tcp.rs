//! The TCP lifecycle on real kernel sockets, through the sandbox library, asserting the
//! results and the events.

mod common;

use common::*;
use plugboard::sandbox::{Call, CallOutcome, EventKind, ShutdownHow, Status, TcpState};

#[tokio::test]
async fn textbook_tcp_flow() {
    let sb = sandbox();
    let s = session(&sb).await;
    let server_addr = s.addr(B, 8080);

    // Server: socket, bind, listen.
    let lfd = s.socket(B, plugboard::sandbox::Proto::Tcp).await;
    assert_eq!(lfd, 3);
    s.bind(B, lfd, server_addr).await;
    s.listen(B, lfd, 4).await;

    // Client: socket, connect.
    let cfd = s.client(A, server_addr).await;
    assert_eq!(cfd, 3, "host A has its own descriptor table");

    // The connection waits in the accept queue before accept: an `incoming` event says so.
    let incoming = s
        .wait_event("incoming", |e| {
            e.kind == EventKind::Incoming && e.host == Some(B)
        })
        .await;
    assert_eq!(incoming.queue, Some(1));
    assert_eq!(incoming.backlog, Some(4));

    let accepted = s.ok(B, Call::Accept { fd: lfd }).await;
    let afd = accepted.fd.unwrap();
    assert_eq!(afd, 4);
    let client_local = s.ok(A, Call::Getsockname { fd: cfd }).await.addr.unwrap();
    assert_eq!(
        accepted.peer,
        Some(client_local),
        "accept reports the client's address"
    );
    assert_eq!(
        client_local.inet().unwrap().ip(),
        s.addr(A, 0).ip(),
        "the client speaks from host A's address"
    );

    // Client sends, server's socket gets a `data` event before recv, then receives.
    let sent = s.send(A, cfd, b"hello").await;
    assert_eq!(sent.bytes, Some(5));
    let data = s
        .wait_event("data on B", |e| {
            e.kind == EventKind::Data && e.host == Some(B) && e.fd == Some(afd)
        })
        .await;
    assert_eq!(data.bytes, Some(5));
    assert_eq!(data.data.as_ref().unwrap().text.as_deref(), Some("hello"));
    let got = s.recv(B, afd, 1024).await;
    assert_eq!(got.data.as_deref(), Some(&b"hello"[..]));

    // Server answers, client receives.
    s.send(B, afd, b"world").await;
    let back = s.recv(A, cfd, 1024).await;
    assert_eq!(back.data.as_deref(), Some(&b"world"[..]));

    // Client closes: the server sees EOF and CLOSE_WAIT; its recv returns 0.
    s.close(A, cfd).await;
    s.wait_event("eof", |e| {
        e.kind == EventKind::Eof && e.host == Some(B) && e.fd == Some(afd)
    })
    .await;
    s.wait_event("CLOSE_WAIT", |e| {
        e.kind == EventKind::TcpState && e.fd == Some(afd) && e.to == Some(TcpState::CloseWait)
    })
    .await;
    let eof = s.recv(B, afd, 1024).await;
    assert_eq!(eof.bytes, Some(0));
    s.close(B, afd).await;
    s.close(B, lfd).await;

    // The calls appear in order, each with its tuple.
    let calls: Vec<_> = s
        .events()
        .into_iter()
        .filter(|e| e.kind.is_call())
        .map(|e| (e.host.unwrap().letter(), e.kind))
        .collect();
    use EventKind as K;
    assert_eq!(
        calls,
        vec![
            ('B', K::Socket),
            ('B', K::Bind),
            ('B', K::Listen),
            ('A', K::Socket),
            ('A', K::Connect),
            ('B', K::Accept),
            ('A', K::Getsockname),
            ('A', K::Send),
            ('B', K::Recv),
            ('B', K::Send),
            ('A', K::Recv),
            ('A', K::Close),
            ('B', K::Recv),
            ('B', K::Close),
            ('B', K::Close),
        ]
    );
    let accept = s.of_kind(B, K::Accept).pop().unwrap();
    let tuple = accept.tuple.unwrap();
    assert_eq!(tuple.local, Some((server_addr).into()));
    let seqs: Vec<u64> = s.events().iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "seq has no gaps"
    );
}

#[tokio::test]
async fn connection_refused() {
    let sb = sandbox();
    let s = session(&sb).await;
    let fd = s.socket(A, plugboard::sandbox::Proto::Tcp).await;
    let f = s
        .fails(
            A,
            Call::Connect {
                fd,
                addr: (s.addr(B, 9999)).into(),
            },
            "ECONNREFUSED",
        )
        .await;
    // In loopback mode nothing of the session listens there, so the sandbox answers first,
    // with the errno the kernel would give (tests/netns.rs sees the kernel's own).
    assert!(f.sandbox);
    assert_eq!(f.errno.code, 111);
    let ev = s.of_kind(A, EventKind::Connect).pop().unwrap();
    assert_eq!(ev.status, Status::Error);
    assert_eq!(ev.errno.unwrap().name, "ECONNREFUSED");
}

#[tokio::test]
async fn half_close_and_states() {
    let sb = sandbox();
    let s = session(&sb).await;
    let lfd = s.listener(B, 7000, 1).await;
    let cfd = s.client(A, s.addr(B, 7000)).await;
    let afd = s.accept(B, lfd).await;
    s.ok(
        A,
        Call::Shutdown {
            fd: cfd,
            how: ShutdownHow::Write,
        },
    )
    .await;
    s.wait_event("FIN_WAIT2", |e| {
        e.host == Some(A) && e.to == Some(TcpState::FinWait2)
    })
    .await;
    s.wait_event("eof on B", |e| {
        e.host == Some(B) && e.kind == EventKind::Eof
    })
    .await;
    s.wait_event("CLOSE_WAIT", |e| {
        e.host == Some(B) && e.to == Some(TcpState::CloseWait)
    })
    .await;
    assert_eq!(s.recv(B, afd, 10).await.bytes, Some(0));
    // The half-closed side still reads what the other side sends.
    s.send(B, afd, b"still here").await;
    let got = s.recv(A, cfd, 100).await;
    assert_eq!(got.data.as_deref(), Some(&b"still here"[..]));
    // And writing after shutdown(write) is EPIPE.
    s.fails(
        A,
        Call::Send {
            fd: cfd,
            data: b"x".to_vec(),
            icmp: None,
        },
        "EPIPE",
    )
    .await;
}

#[tokio::test]
async fn blocking_accept_goes_pending_then_completes() {
    let sb = sandbox();
    let s = session(&sb).await;
    let lfd = s.listener(B, 7001, 2).await;
    let r = s.call_wait(B, Call::Accept { fd: lfd }, 50).await;
    assert_eq!(r.outcome, CallOutcome::Pending);
    let call_id = r.call_id;
    s.client(A, s.addr(B, 7001)).await;
    let done = s
        .wait_event("accept completion", |e| {
            e.call_id == Some(call_id) && e.status == Status::Ok
        })
        .await;
    assert_eq!(done.new_fd, Some(4));
    match timeout(s.0.call_status(call_id)).await.unwrap() {
        plugboard::sandbox::CallStatus::Done(reply) => {
            assert!(matches!(reply.outcome, CallOutcome::Ok(_)))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn close_ends_a_blocked_call() {
    let sb = sandbox();
    let s = session(&sb).await;
    let lfd = s.listener(B, 7002, 2).await;
    let r = s.call_wait(B, Call::Accept { fd: lfd }, 10).await;
    assert_eq!(r.outcome, CallOutcome::Pending);
    s.close(B, lfd).await;
    let ended = s
        .wait_event("accept ended", |e| {
            e.call_id == Some(r.call_id) && e.status == Status::Error
        })
        .await;
    assert_eq!(ended.errno.unwrap().name, "EBADF");
}

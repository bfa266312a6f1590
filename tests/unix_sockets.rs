//! Unix-domain sockets, in both isolation modes: the calls and the kernel's own errors, message
//! boundaries, socketpair, and the boundary of each host's private files — tested by trying to
//! cross it (`..`, over-long names, another host's or session's paths, the server's real
//! directory, an abstract name of a process outside the sandbox).

mod common;

use std::time::Duration;

use common::*;
use plugboard::sandbox::{
    Addr, Call, CallFailure, CallValue, EventKind, Family, HostId, Sandbox, SockType,
};

/// Run `scenario` on a loopback sandbox and, where this process may, on a netns one.
macro_rules! both_modes {
    ($scenario:ident, $loopback:ident, $netns:ident) => {
        #[tokio::test]
        async fn $loopback() {
            $scenario(sandbox()).await;
        }

        #[tokio::test]
        async fn $netns() {
            if let Some(sb) = netns_sandbox() {
                $scenario(sb).await;
            }
        }
    };
}

fn addr(text: &str) -> Addr {
    text.parse().unwrap()
}

async fn unix_socket(s: &S, host: HostId, ty: SockType) -> i32 {
    s.ok(
        host,
        Call::Socket {
            family: Family::Unix,
            ty,
            protocol: None,
        },
    )
    .await
    .fd
    .unwrap()
}

async fn bind(s: &S, host: HostId, fd: i32, path: &str) -> CallValue {
    s.ok(
        host,
        Call::Bind {
            fd,
            addr: addr(path),
        },
    )
    .await
}

async fn bind_fails(s: &S, host: HostId, fd: i32, path: &str, errno: &str) -> CallFailure {
    s.fails(
        host,
        Call::Bind {
            fd,
            addr: addr(path),
        },
        errno,
    )
    .await
}

async fn connect(s: &S, host: HostId, fd: i32, path: &str) -> CallValue {
    s.ok(
        host,
        Call::Connect {
            fd,
            addr: addr(path),
        },
    )
    .await
}

async fn connect_fails(s: &S, host: HostId, fd: i32, path: &str, errno: &str) -> CallFailure {
    s.fails(
        host,
        Call::Connect {
            fd,
            addr: addr(path),
        },
        errno,
    )
    .await
}

/// Socket `fd` of `host` in a fresh snapshot.
async fn socket_of(s: &S, host: HostId, fd: i32) -> plugboard::sandbox::SocketSnapshot {
    s.0.snapshot().await.unwrap().hosts[host.index()]
        .sockets
        .iter()
        .find(|k| k.fd == fd)
        .cloned()
        .unwrap()
}

/// A stream listener of `host` on `path`, its descriptor.
async fn listener(s: &S, host: HostId, path: &str) -> i32 {
    listener_of(s, host, SockType::Stream, path).await
}

/// A listener of type `ty` of `host` on `path`, its descriptor.
async fn listener_of(s: &S, host: HostId, ty: SockType, path: &str) -> i32 {
    let fd = unix_socket(s, host, ty).await;
    bind(s, host, fd, path).await;
    s.listen(host, fd, 4).await;
    fd
}

both_modes!(
    stream_echo,
    a_stream_server_and_client_meet_at_a_path_loopback,
    a_stream_server_and_client_meet_at_a_path_netns
);
async fn stream_echo(sb: Sandbox) {
    let s = session(&sb).await;
    let lfd = listener(&s, A, "/tmp/echo.sock").await;
    let cfd = unix_socket(&s, A, SockType::Stream).await;
    let connected = connect(&s, A, cfd, "/tmp/echo.sock").await;
    assert_eq!(connected.addr, Some(addr("/tmp/echo.sock")));
    // The connection waits in the listener's queue, as unix_diag counts it.
    let incoming = s
        .wait_event("incoming on the listener", |e| {
            e.kind == EventKind::Incoming && e.fd == Some(lfd)
        })
        .await;
    assert_eq!((incoming.queue, incoming.backlog), (Some(1), Some(4)));
    let queued = socket_of(&s, A, lfd).await;
    assert_eq!(
        (queued.accept_queue, queued.accept_backlog),
        (Some(1), Some(4))
    );
    let accepted = s.ok(A, Call::Accept { fd: lfd }).await;
    assert_eq!(accepted.peer, None, "an unbound client has no name");
    let afd = accepted.fd.unwrap();
    assert_eq!(
        accepted.peer_fd,
        Some(cfd),
        "the kernel pairs the accepted socket"
    );
    assert_eq!(socket_of(&s, A, cfd).await.peer_fd, Some(afd));
    assert_eq!(socket_of(&s, A, afd).await.peer_fd, Some(cfd));
    s.send(A, cfd, b"hello").await;
    s.wait_event("data on the accepted socket", |e| {
        e.kind == EventKind::Data && e.fd == Some(afd)
    })
    .await;
    assert_eq!(
        s.recv(A, afd, 64).await.data.as_deref(),
        Some(&b"hello"[..])
    );
    // Names as the host sees them: no trace of the server's directory.
    let name = s.ok(A, Call::Getsockname { fd: lfd }).await.addr;
    assert_eq!(name, Some(addr("/tmp/echo.sock")));
    let peer = s.ok(A, Call::Getpeername { fd: cfd }).await.peer;
    assert_eq!(peer, Some(addr("/tmp/echo.sock")));
    let tuple = s.0.snapshot().await.unwrap().hosts[0]
        .sockets
        .iter()
        .find(|k| k.fd == cfd)
        .unwrap()
        .tuple;
    assert_eq!(tuple.family, Family::Unix);
    assert_eq!(tuple.ty, Some(SockType::Stream));
    assert_eq!(tuple.remote, Some(addr("/tmp/echo.sock")));
    assert_eq!(tuple.local, None);
    // The client closes: the server's side reads end of file.
    s.close(A, cfd).await;
    s.wait_event("eof on the accepted socket", |e| {
        e.kind == EventKind::Eof && e.fd == Some(afd)
    })
    .await;
    assert_eq!(s.recv(A, afd, 64).await.bytes, Some(0));
    // The file outlives its socket: binding the path again needs an unlink first.
    s.close(A, lfd).await;
    let again = unix_socket(&s, A, SockType::Stream).await;
    bind_fails(&s, A, again, "/tmp/echo.sock", "EADDRINUSE").await;
    s.ok(
        A,
        Call::Unlink {
            path: "/tmp/echo.sock".parse::<Addr>().unwrap().unix().unwrap(),
        },
    )
    .await;
    bind(&s, A, again, "/tmp/echo.sock").await;
}

both_modes!(
    kernel_errors,
    missing_paths_refusals_and_type_mismatches_are_the_kernels_loopback,
    missing_paths_refusals_and_type_mismatches_are_the_kernels_netns
);
async fn kernel_errors(sb: Sandbox) {
    let s = session(&sb).await;
    let fd = unix_socket(&s, A, SockType::Stream).await;
    let missing = connect_fails(&s, A, fd, "/tmp/nobody.sock", "ENOENT").await;
    assert!(!missing.sandbox, "a missing file is the kernel's answer");
    connect_fails(&s, A, fd, "/no/such/dir/x.sock", "ENOENT").await;
    // A file whose socket is gone: nobody listens.
    let gone = unix_socket(&s, A, SockType::Stream).await;
    bind(&s, A, gone, "/tmp/gone.sock").await;
    s.close(A, gone).await;
    connect_fails(&s, A, fd, "/tmp/gone.sock", "ECONNREFUSED").await;
    // A bound socket that does not listen refuses too.
    let quiet = unix_socket(&s, A, SockType::Stream).await;
    bind(&s, A, quiet, "/run/quiet.sock").await;
    connect_fails(&s, A, fd, "/run/quiet.sock", "ECONNREFUSED").await;
    // A stream socket cannot connect to a datagram one.
    let dgram = unix_socket(&s, A, SockType::Dgram).await;
    bind(&s, A, dgram, "/tmp/dgram.sock").await;
    connect_fails(&s, A, fd, "/tmp/dgram.sock", "EPROTOTYPE").await;
    // An IP address on a Unix socket, and a path on an IP socket, are the kernel's to refuse.
    connect_fails(&s, A, fd, "10.0.0.2:80", "EINVAL").await;
    let tcp = s.socket(A, plugboard::sandbox::Proto::Tcp).await;
    let wrong = s
        .call(
            A,
            Call::Connect {
                fd: tcp,
                addr: addr("/tmp/dgram.sock"),
            },
        )
        .await;
    assert!(
        matches!(&wrong.outcome, plugboard::sandbox::CallOutcome::Err(f) if !f.sandbox),
        "{wrong:?}"
    );
    // socketpair exists only in the Unix domain.
    s.fails(
        A,
        Call::Socketpair {
            family: Family::Inet,
            ty: SockType::Stream,
        },
        "EOPNOTSUPP",
    )
    .await;
}

both_modes!(
    boundaries,
    message_boundaries_hold_on_dgram_and_seqpacket_not_on_stream_loopback,
    message_boundaries_hold_on_dgram_and_seqpacket_not_on_stream_netns
);
async fn boundaries(sb: Sandbox) {
    let s = session(&sb).await;
    for (ty, whole) in [(SockType::Seqpacket, true), (SockType::Stream, false)] {
        let path = format!("/tmp/{ty:?}.sock");
        let lfd = listener_of(&s, B, ty, &path).await;
        let cfd = unix_socket(&s, B, ty).await;
        connect(&s, B, cfd, &path).await;
        let afd = s.accept(B, lfd).await;
        s.send(B, cfd, b"one").await;
        s.send(B, cfd, b"two").await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let first = s.recv(B, afd, 64).await.data.unwrap();
        if whole {
            assert_eq!(first, b"one", "seqpacket: one message per recv");
            assert_eq!(s.recv(B, afd, 64).await.data.unwrap(), b"two");
        } else {
            assert_eq!(first, b"onetwo", "stream: the bytes run together");
        }
    }
    // Datagrams: each whole, with its sender's name.
    let a = unix_socket(&s, B, SockType::Dgram).await;
    let b = unix_socket(&s, B, SockType::Dgram).await;
    bind(&s, B, a, "/tmp/a.sock").await;
    bind(&s, B, b, "@b").await;
    for data in [&b"first"[..], b"second"] {
        s.ok(
            B,
            Call::Sendto {
                fd: a,
                data: data.to_vec(),
                addr: addr("@b"),
                icmp: None,
            },
        )
        .await;
    }
    for data in [&b"first"[..], b"second"] {
        let got = s
            .ok(
                B,
                Call::Recvfrom {
                    fd: b,
                    max: 64,
                    peek: false,
                },
            )
            .await;
        assert_eq!(got.data.as_deref(), Some(data));
        assert_eq!(got.peer, Some(addr("/tmp/a.sock")));
    }
    assert_eq!(
        s.ok(B, Call::Getsockname { fd: b }).await.addr,
        Some(addr("@b")),
        "an abstract name reads back as it was given"
    );
}

both_modes!(
    pair,
    socketpair_gives_two_connected_descriptors_loopback,
    socketpair_gives_two_connected_descriptors_netns
);
async fn pair(sb: Sandbox) {
    let s = session(&sb).await;
    let v = s
        .ok(
            A,
            Call::Socketpair {
                family: Family::Unix,
                ty: SockType::Seqpacket,
            },
        )
        .await;
    let [x, y] = v.fds.unwrap();
    assert_eq!((v.fd, x, y), (Some(3), 3, 4));
    s.send(A, x, b"ping").await;
    assert_eq!(s.recv(A, y, 64).await.data.as_deref(), Some(&b"ping"[..]));
    s.send(A, y, b"pong").await;
    assert_eq!(s.recv(A, x, 64).await.data.as_deref(), Some(&b"pong"[..]));
    assert_eq!(socket_of(&s, A, x).await.peer_fd, Some(y));
    assert_eq!(socket_of(&s, A, y).await.peer_fd, Some(x));
    let event = s.of_kind(A, EventKind::Socketpair).pop().unwrap();
    assert_eq!(event.fds, Some([3, 4]));
    let tuple = event.tuple.unwrap();
    assert_eq!(
        (tuple.family, tuple.ty, tuple.local, tuple.remote),
        (Family::Unix, Some(SockType::Seqpacket), None, None)
    );
}

both_modes!(
    private_files,
    hosts_and_sessions_never_share_names_loopback,
    hosts_and_sessions_never_share_names_netns
);
async fn private_files(sb: Sandbox) {
    let s = session(&sb).await;
    let other = session(&sb).await;
    listener(&s, A, "/tmp/x.sock").await;
    listener(&s, A, "@x").await;
    // Host B has files of its own: A's path does not exist there.
    let fd = unix_socket(&s, B, SockType::Stream).await;
    connect_fails(&s, B, fd, "/tmp/x.sock", "ENOENT").await;
    // Another session sees neither the path nor the abstract name.
    let theirs = unix_socket(&other, A, SockType::Stream).await;
    connect_fails(&other, A, theirs, "/tmp/x.sock", "ENOENT").await;
    connect_fails(&other, A, theirs, "@x", "ECONNREFUSED").await;
    // The other session binds the same names without trouble.
    listener(&other, A, "/tmp/x.sock").await;
    listener(&other, A, "@x").await;
}

both_modes!(
    escapes,
    paths_cannot_leave_the_hosts_files_loopback,
    paths_cannot_leave_the_hosts_files_netns
);
async fn escapes(sb: Sandbox) {
    let s = session(&sb).await;
    let fd = unix_socket(&s, A, SockType::Stream).await;
    for path in ["/tmp/../../etc/x.sock", "/../x.sock", "/tmp/a/../b.sock"] {
        let f = bind_fails(&s, A, fd, path, "EACCES").await;
        assert!(f.sandbox, "{path}");
        assert!(f.hint.unwrap().en().to_owned().contains(".."), "{path}");
        let f = connect_fails(&s, A, fd, path, "EACCES").await;
        assert!(f.sandbox, "{path}");
    }
    // A name that fits sun_path but not with the host's directory in front.
    let long = format!("/tmp/{}", "x".repeat(90));
    let f = bind_fails(&s, A, fd, &long, "ENAMETOOLONG").await;
    assert!(f.sandbox && f.hint.unwrap().en().to_owned().contains("sun_path"));
    // The machine's own sockets and the server's real directory are not in the host's files.
    for path in [
        "/run/systemd/journal/socket",
        "/var/run/docker.sock",
        "/run/dbus/system_bus_socket",
    ] {
        connect_fails(&s, A, fd, path, "ENOENT").await;
    }
    let real = server_dir();
    let other = session(&sb).await;
    // The loopback and netns runs share this process's directory and run at the same time:
    // each looks for a name of its own.
    static RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("target-{run}.sock");
    listener(&other, A, &format!("/tmp/{name}")).await;
    let mut found = Vec::new();
    find_named(&real, &name, &mut found);
    assert_eq!(found.len(), 1, "the other session's socket file: {found:?}");
    let real_path = found[0].to_str().unwrap();
    assert!(real_path.len() <= 107, "{real_path}");
    connect_fails(&s, A, fd, real_path, "ENOENT").await;
    // An abstract name of a program outside the sandbox cannot be reached by name.
    let outside = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).unwrap();
    let name = format!("plugboard-test-outside-{}-{run}", std::process::id());
    outside
        .bind(&socket2::SockAddr::unix(format!("\0{name}")).unwrap())
        .unwrap();
    outside.listen(1).unwrap();
    connect_fails(&s, A, fd, &format!("@{name}"), "ECONNREFUSED").await;
}

/// This process's directory of session directories (`plugboard-<pid>-<random>` in the temp
/// directory).
fn server_dir() -> std::path::PathBuf {
    let prefix = format!("plugboard-{}-", std::process::id());
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .expect("the server's directory")
        .path()
}

fn find_named(dir: &std::path::Path, name: &str, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            find_named(&path, name, out);
        } else if entry.file_name() == name {
            out.push(path);
        }
    }
}

both_modes!(
    cleanup,
    a_sessions_files_go_with_it_loopback,
    a_sessions_files_go_with_it_netns
);
async fn cleanup(sb: Sandbox) {
    let s = session(&sb).await;
    let unique = format!("bye-{}.sock", rand_tag());
    listener(&s, B, &format!("/tmp/{unique}")).await;
    let real = server_dir();
    let mut found = Vec::new();
    find_named(&real, &unique, &mut found);
    assert_eq!(found.len(), 1);
    s.0.end("test").await.unwrap();
    let mut left = Vec::new();
    find_named(&real, &unique, &mut left);
    assert!(left.is_empty(), "{left:?}");
    let session_dir = found[0]
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap();
    assert!(!session_dir.exists(), "{session_dir:?}");
}

fn rand_tag() -> u32 {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).unwrap();
    u32::from_le_bytes(b)
}

both_modes!(
    kernel_words,
    odd_paths_get_the_kernels_answers_loopback,
    odd_paths_get_the_kernels_answers_netns
);
async fn kernel_words(sb: Sandbox) {
    let s = session(&sb).await;
    let fd = unix_socket(&s, A, SockType::Stream).await;
    // "/" is a directory: in use for bind, no socket to connect to, not unlinkable.
    bind_fails(&s, A, fd, "/", "EADDRINUSE").await;
    connect_fails(&s, A, fd, "/", "ECONNREFUSED").await;
    connect_fails(&s, A, fd, "/tmp", "ECONNREFUSED").await;
    let unlink = |path: &str| Call::Unlink {
        path: path.parse::<Addr>().unwrap().unix().unwrap(),
    };
    s.fails(A, unlink("/"), "EISDIR").await;
    s.fails(A, unlink("/tmp"), "EISDIR").await;
    // A trailing slash names a directory, which the socket's file is not.
    bind_fails(&s, A, fd, "/tmp/x.sock/", "ENOENT").await;
    // A "raw" Unix-domain socket is a datagram socket to the kernel.
    let raw = s
        .ok(
            A,
            Call::Socket {
                family: Family::Unix,
                ty: SockType::Raw,
                protocol: None,
            },
        )
        .await
        .fd
        .unwrap();
    assert_eq!(socket_of(&s, A, raw).await.tuple.ty, Some(SockType::Dgram));
}

both_modes!(
    unix_kernel_events,
    datagrams_and_waiting_connections_are_events_loopback,
    datagrams_and_waiting_connections_are_events_netns
);
async fn unix_kernel_events(sb: Sandbox) {
    let s = session(&sb).await;
    // A datagram arriving at a Unix socket is news, though its memory is the sender's.
    let rx = unix_socket(&s, A, SockType::Dgram).await;
    bind(&s, A, rx, "/tmp/rx.sock").await;
    let tx = unix_socket(&s, A, SockType::Dgram).await;
    s.ok(
        A,
        Call::Sendto {
            fd: tx,
            data: b"hi".to_vec(),
            addr: addr("/tmp/rx.sock"),
            icmp: None,
        },
    )
    .await;
    let data = s
        .wait_event("data on the Unix datagram socket", |e| {
            e.kind == EventKind::Data && e.fd == Some(rx)
        })
        .await;
    assert_eq!(data.bytes, Some(2));
    // Each connection waiting for accept is counted, the second one too.
    let lfd = listener(&s, A, "/tmp/l.sock").await;
    for n in 1..=2u32 {
        let c = unix_socket(&s, A, SockType::Stream).await;
        connect(&s, A, c, "/tmp/l.sock").await;
        let e = s
            .wait_event("incoming with its queue", |e| {
                e.kind == EventKind::Incoming && e.fd == Some(lfd) && e.queue == Some(n)
            })
            .await;
        assert_eq!(e.backlog, Some(4));
    }
}

#[tokio::test]
async fn socket_files_are_bounded_per_host() {
    let sb = sandbox_with(plugboard::config::SandboxLimits {
        max_calls_per_second: 1_000_000,
        ..Default::default()
    });
    let s = session(&sb).await;
    let fd = unix_socket(&s, A, SockType::Dgram).await;
    for n in 0..plugboard::sandbox::isolation::unix_names::MAX_HOST_FILES {
        let path = format!("/tmp/f{n}.sock");
        bind(&s, A, fd, &path).await;
        s.close(A, fd).await;
        assert_eq!(unix_socket(&s, A, SockType::Dgram).await, fd);
    }
    let full = bind_fails(&s, A, fd, "/tmp/one-more.sock", "ENOSPC").await;
    assert!(full.sandbox && full.hint.unwrap().en().to_owned().contains("unlink"));
    // Abstract names make no file, and an unlink makes room.
    bind(&s, A, fd, "@no-file").await;
    s.ok(
        A,
        Call::Unlink {
            path: "/tmp/f0.sock".parse::<Addr>().unwrap().unix().unwrap(),
        },
    )
    .await;
    let other = unix_socket(&s, A, SockType::Dgram).await;
    bind(&s, A, other, "/tmp/one-more.sock").await;
}

/// A process outside the sandbox that found a host's abstract name (every socket is listed in
/// /proc/net/unix) connects to it: in loopback mode, where the name is a file in a directory
/// only the server's user may enter, such a process runs as root or as that user, and the
/// sandbox closes the connection at accept.
#[tokio::test]
async fn an_outsider_connecting_to_an_abstract_name_is_refused_loopback() {
    let sb = sandbox();
    let s = session(&sb).await;
    let name = format!("outsider-{}", rand_tag());
    let lfd = listener(&s, A, &format!("@{name}")).await;
    let table = std::fs::read_to_string("/proc/net/unix").unwrap();
    let kernel_name = table
        .lines()
        .filter_map(|l| l.split_whitespace().nth(7))
        .find(|n| n.ends_with(&format!("/A@/s={name}")))
        .expect("the listener in /proc/net/unix")
        .to_owned();
    assert!(
        !table.contains(&format!("@{name}")),
        "no abstract name of the machine's is the host's"
    );
    let script = format!(
        "import socket,time\ns=socket.socket(socket.AF_UNIX)\ns.connect({kernel_name:?})\ns.send(b'x')\ntime.sleep(5)"
    );
    let mut outsider = match std::process::Command::new("python3")
        .args(["-c", &script])
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            report_skip(&format!("python3 is needed to play the outsider: {e}"));
            return;
        }
    };
    s.wait_event("the outsider waiting", |e| {
        e.kind == EventKind::Incoming && e.fd == Some(lfd)
    })
    .await;
    s.ok(A, Call::Nonblocking { fd: lfd, on: true }).await;
    s.fails(A, Call::Accept { fd: lfd }, "EAGAIN").await;
    let refused = s
        .wait_event("the isolation event", |e| e.kind == EventKind::Isolation)
        .await;
    assert!(refused.sandbox, "{refused:?}");
    outsider.kill().ok(/* it may have ended */);
    outsider.wait().ok(/* reaped either way */);
    // The session's own clients still get through.
    let c = unix_socket(&s, A, SockType::Stream).await;
    connect(&s, A, c, &format!("@{name}")).await;
    s.ok(A, Call::Accept { fd: lfd }).await;
}

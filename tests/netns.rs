//! Network-namespace isolation: every host its own kernel network stack. Each test tries to
//! cross the boundary and checks the kernel's own answer. Skipped, with the reason printed,
//! where namespaces cannot be made (and failed instead when PLUGBOARD_REQUIRE_NETNS is set).

mod common;

use std::time::Duration;

use common::app::{Isolation, TestApp};
use common::*;
use plugboard::sandbox::{Call, CallOutcome, EventKind, Family, Proto, Status};

#[tokio::test]
async fn hosts_have_textbook_addresses_and_their_own_loopback() {
    let Some(sb) = netns_sandbox() else { return };
    let s = session(&sb).await;
    assert_eq!(s.addr(A, 0).ip().to_string(), "10.0.0.1");
    assert_eq!(s.addr(B, 0).ip().to_string(), "10.0.0.2");
    assert_eq!(s.addr6(B, 0).ip().to_string(), "fd00::2");
    // The textbook flow on 10.0.0.2:8080.
    let lfd = s.listener(B, 8080, 4).await;
    let cfd = s.client(A, "10.0.0.2:8080".parse().unwrap()).await;
    let accepted = s.ok(B, Call::Accept { fd: lfd }).await;
    assert_eq!(
        accepted.peer.unwrap().inet().unwrap().ip().to_string(),
        "10.0.0.1"
    );
    s.send(A, cfd, b"hello").await;
    let got = s.recv(B, accepted.fd.unwrap(), 16).await;
    assert_eq!(got.data.as_deref(), Some(&b"hello"[..]));
    // Each host has its own 127.0.0.1: B listens there, A's 127.0.0.1 is A itself.
    s.listener_at(B, "127.0.0.1:9000".parse().unwrap(), 1).await;
    let probe = s.socket(A, Proto::Tcp).await;
    let f = s
        .fails(
            A,
            Call::Connect {
                fd: probe,
                addr: "127.0.0.1:9000".parse().unwrap(),
            },
            "ECONNREFUSED",
        )
        .await;
    assert!(!f.sandbox, "the kernel refused, not the sandbox");
    let b_self = s.socket(B, Proto::Tcp).await;
    s.ok(
        B,
        Call::Connect {
            fd: b_self,
            addr: "127.0.0.1:9000".parse().unwrap(),
        },
    )
    .await;
    // No wildcard mapping here: binding another host's address is the kernel's EADDRNOTAVAIL.
    let other = s.socket(B, Proto::Tcp).await;
    let f = s
        .fails(
            B,
            Call::Bind {
                fd: other,
                addr: "10.0.0.1:8080".parse().unwrap(),
            },
            "EADDRNOTAVAIL",
        )
        .await;
    assert!(!f.sandbox);
    // IPv6 between hosts.
    let l6 = s.listener_at(B, "[::]:8086".parse().unwrap(), 1).await;
    let c6 = s.socket_f(A, Family::Inet6, Proto::Tcp).await;
    s.ok(
        A,
        Call::Connect {
            fd: c6,
            addr: "[fd00::2]:8086".parse().unwrap(),
        },
    )
    .await;
    let a6 = s.ok(B, Call::Accept { fd: l6 }).await;
    assert_eq!(a6.peer.unwrap().inet().unwrap().ip().to_string(), "fd00::1");
}

#[tokio::test]
async fn two_sessions_use_the_same_address_and_port() {
    let Some(sb) = netns_sandbox() else { return };
    let one = session(&sb).await;
    let two = session(&sb).await;
    let l1 = one.listener(B, 8080, 4).await;
    let l2 = two.listener(B, 8080, 4).await;
    one.client(A, "10.0.0.2:8080".parse().unwrap()).await;
    one.wait_event("incoming", |e| e.kind == EventKind::Incoming)
        .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        two.of_kind(B, EventKind::Incoming).is_empty(),
        "session two got nothing"
    );
    let a1 = one.ok(B, Call::Accept { fd: l1 }).await;
    assert!(a1.fd.is_some());
    two.ok(B, Call::Nonblocking { fd: l2, on: true }).await;
    two.fails(B, Call::Accept { fd: l2 }, "EAGAIN").await;
    two.client(A, "10.0.0.2:8080".parse().unwrap()).await;
    two.ok(B, Call::Accept { fd: l2 }).await;
}

#[tokio::test]
async fn nothing_outside_the_session_is_reachable() {
    let Some(sb) = netns_sandbox() else { return };
    // A service of the machine, like the server's own HTTP port.
    let machine = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    machine.set_nonblocking(true).unwrap();
    let port = machine.local_addr().unwrap().port();
    let s = session(&sb).await;
    let other = session(&sb).await;
    other.listener(B, 8080, 4).await;
    let fd = s.socket(A, Proto::Tcp).await;
    s.fails(
        A,
        Call::Connect {
            fd,
            addr: format!("127.0.0.1:{port}").parse().unwrap(),
        },
        "ECONNREFUSED",
    )
    .await;
    assert!(
        machine.accept().is_err(),
        "the machine's service saw nothing"
    );
    let udp = s.socket(A, Proto::Udp).await;
    for target in [
        "8.8.8.8:53",
        "169.254.169.254:80",
        "10.1.0.2:8080",
        "192.168.1.1:80",
        "[2001:db8::1]:80",
    ] {
        let fam = if target.starts_with('[') {
            Family::Inet6
        } else {
            Family::Inet
        };
        let sock = if fam == Family::Inet {
            udp
        } else {
            s.socket_f(A, fam, Proto::Udp).await
        };
        let f = s
            .fails(
                A,
                Call::Sendto {
                    fd: sock,
                    data: b"x".to_vec(),
                    addr: target.parse().unwrap(),
                    icmp: None,
                },
                "ENETUNREACH",
            )
            .await;
        assert!(
            !f.sandbox,
            "{target}: the kernel has no route, the sandbox did not need to refuse"
        );
        let t = s.socket(A, Proto::Tcp).await;
        if fam == Family::Inet {
            s.fails(
                A,
                Call::Connect {
                    fd: t,
                    addr: target.parse().unwrap(),
                },
                "ENETUNREACH",
            )
            .await;
        }
    }
    // Another session's listener on 10.0.0.2:8080 is not reachable: 10.0.0.2 here is our own B,
    // where nothing listens.
    let t = s.socket(A, Proto::Tcp).await;
    s.fails(
        A,
        Call::Connect {
            fd: t,
            addr: "10.0.0.2:8080".parse().unwrap(),
        },
        "ECONNREFUSED",
    )
    .await;
    assert!(other.of_kind(B, EventKind::Incoming).is_empty());
    // A session address that belongs to no host gets no answer: the connect blocks (ARP
    // finds nobody) and ends as the kernel decides.
    let t = s.socket(A, Proto::Tcp).await;
    let r = s
        .call_wait(
            A,
            Call::Connect {
                fd: t,
                addr: "10.0.0.9:80".parse().unwrap(),
            },
            50,
        )
        .await;
    assert_eq!(r.outcome, CallOutcome::Pending);
    let done = s
        .wait_event("EHOSTUNREACH", |e| {
            e.call_id == Some(r.call_id) && e.status == Status::Error
        })
        .await;
    assert_eq!(done.errno.unwrap().name, "EHOSTUNREACH");
}

#[tokio::test]
async fn privileged_ports_follow_the_same_rule() {
    let Some(sb) = netns_sandbox() else { return };
    let s = session(&sb).await;
    let fd = s.socket(B, Proto::Tcp).await;
    let f = s
        .fails(
            B,
            Call::Bind {
                fd,
                addr: "10.0.0.2:80".parse().unwrap(),
            },
            "EACCES",
        )
        .await;
    assert!(f.sandbox);
}

#[tokio::test]
async fn more_hosts_share_the_session_network() {
    let Some(sb) = netns_sandbox() else { return };
    let s = session(&sb).await;
    let c = timeout(s.0.add_host()).await.unwrap();
    assert_eq!(c.addrs[0].to_string(), "10.0.0.3");
    let host_c = plugboard::sandbox::HostId::from_index(2).unwrap();
    let lfd = s.listener(host_c, 7000, 2).await;
    s.client(B, "10.0.0.3:7000".parse().unwrap()).await;
    s.client(A, "10.0.0.3:7000".parse().unwrap()).await;
    let first = s
        .ok(host_c, Call::Accept { fd: lfd })
        .await
        .peer
        .unwrap()
        .inet()
        .unwrap();
    let second = s
        .ok(host_c, Call::Accept { fd: lfd })
        .await
        .peer
        .unwrap()
        .inet()
        .unwrap();
    let mut peers = vec![first.ip().to_string(), second.ip().to_string()];
    peers.sort();
    assert_eq!(peers, vec!["10.0.0.1", "10.0.0.2"]);
}

#[tokio::test]
async fn nothing_links_a_session_to_the_servers_own_network() {
    let Some(sb) = netns_sandbox() else { return };
    let links = || {
        let mut names: Vec<String> = std::fs::read_dir("/sys/class/net")
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = links();
    let s = session(&sb).await;
    s.listener(B, 8080, 1).await;
    // The server's namespace gained no interface: the session's links live entirely inside
    // its own namespaces, so no route leads in or out.
    assert_eq!(links(), before);
}

#[tokio::test]
async fn auto_mode_picks_netns_and_says_so() {
    if netns_sandbox().is_none() {
        return;
    }
    let mut app = TestApp::builder().isolation(Isolation::Auto).start().await;
    let (_, health) = app.get("/healthz", None).await;
    assert_eq!(health["isolation"], "netns");
    let s = app.session().await;
    assert_eq!(s.body["isolation"], "netns");
    assert_eq!(s.addr("B", 8080), "10.0.0.2:8080");
    let (_, refused) = s
        .call(serde_json::json!({"host":"A","call":"socket","domain":"inet","type":"stream"}))
        .await;
    assert_eq!(refused["fd"], 3);
    let (_, out) = s
        .call(serde_json::json!({"host":"A","call":"connect","fd":3,"addr":"8.8.8.8:53"}))
        .await;
    assert_eq!(out["errno"], "ENETUNREACH");
    assert!(
        out.get("sandbox").is_none(),
        "the kernel itself has no route"
    );
    app.stop().await;
}

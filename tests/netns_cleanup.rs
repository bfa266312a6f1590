//! Ending netns sessions gives back every namespace, link and descriptor: 500 sessions ended
//! explicitly, by expiry, by a crash of their task and by shutdown leave the process with the
//! descriptors it had (namespaces live only while their descriptor or a socket in them is
//! open, and veth links and bridges die with their namespace). Every host captures its packets
//! (its capture socket is also what keeps its namespace) and opens sock_diag sockets as it
//! needs them, so this also shows that capture costs nothing once a session has ended. Alone in
//! its binary so no other test opens descriptors meanwhile.

mod common;

use std::time::Duration;

use common::*;
use plugboard::config::SandboxLimits;
use plugboard::sandbox::{Call, EventKind};

async fn use_it(s: &S, i: u32) {
    let lfd = s.listener(B, 8080, 4).await;
    let cfd = s.client(A, "10.0.0.2:8080".parse().unwrap()).await;
    let afd = s.accept(B, lfd).await;
    s.send(A, cfd, b"x").await;
    if i % 2 == 0 {
        s.call_wait(
            A,
            Call::Recv {
                fd: cfd,
                max: 1,
                peek: false,
            },
            0,
        )
        .await;
    }
    let _ = afd;
    if i == 0 {
        let snap = s.0.snapshot().await.unwrap();
        assert!(
            snap.capture.packets > 0,
            "sessions capture: {:?}",
            snap.capture
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_sessions_leave_no_namespace_behind() {
    let limits = SandboxLimits {
        idle_ttl_secs: 1,
        max_sessions: 1000,
        ..SandboxLimits::default()
    };
    let Some(sb) = netns_sandbox_with(limits) else {
        return;
    };
    let warm = session(&sb).await;
    timeout(warm.0.end("warm-up")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = Descriptors::count();
    // The sandbox keeps one namespace of its own, which hosts are made from.
    assert!(
        before.namespaces <= 1,
        "{} namespace descriptors before any session",
        before.namespaces
    );

    let mut expiring = Vec::new();
    let mut survivors = Vec::new();
    for i in 0..500u32 {
        let s = session(&sb).await;
        use_it(&s, i).await;
        match i % 4 {
            0 => timeout(s.0.end("explicit")).await.unwrap(),
            1 => expiring.push(s),
            2 => {
                assert!(sb.kill(s.0.id()));
                let ended = s
                    .wait_event("crash end", |e| e.kind == EventKind::SessionEnded)
                    .await;
                assert_eq!(
                    ended.reason.as_ref().map(|r| r.en()),
                    Some("the session's task stopped unexpectedly")
                );
            }
            _ => survivors.push(s),
        }
    }
    for s in &expiring {
        let ended = s
            .wait_event("idle end", |e| e.kind == EventKind::SessionEnded)
            .await;
        assert_eq!(
            ended.reason.as_ref().map(|r| r.en()),
            Some("the session was idle too long")
        );
    }
    // The rest end at shutdown (some may have expired meanwhile: they are idle too).
    timeout(sb.shutdown()).await;
    for s in &survivors {
        s.wait_event("end", |e| e.kind == EventKind::SessionEnded)
            .await;
    }
    drop((expiring, survivors));
    // Sockets with SO_LINGER or in the middle of a close are released by the kernel shortly.
    let now = Descriptors::settle_to(before).await;
    assert_eq!(now, before, "descriptors before {before:?}, after {now:?}");
    assert_eq!(sb.live_sessions(), 0);
}

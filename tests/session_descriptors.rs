//! What an idle netns session costs the server in descriptors, counted in `/proc/self/fd`:
//! the figure a node's session capacity is computed from
//! ([`plugboard::sandbox::capacity`]).
//!
//! What is counted: a two-host session with packet capture on, in which host B listens, host
//! A connects and B accepts — three user sockets (the listener, the accepted connection, the
//! client) — once every call has returned and the session is idle. Everything else the server
//! holds for the session (its readiness watcher, what keeps each host's namespace, captures,
//! sock_diag sockets) is overhead: three descriptors at most, and never more than the figure
//! capacity is computed from.
//! Alone in its binary so that no other test opens descriptors meanwhile.

mod common;

use std::time::Duration;

use common::*;
use plugboard::config::SandboxLimits;
use plugboard::sandbox::capacity;

/// Sessions made, so that a descriptor shared by several sessions, or one opened late, shows
/// up as a fraction rather than hiding in the noise of one.
const SESSIONS: usize = 40;
/// User sockets of each session: B's listener, the connection it accepted, A's client.
const USER_SOCKETS: usize = 3;
/// Descriptors such a session may cost: its three sockets and three more.
const TARGET: f64 = 6.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_netns_session_with_a_connected_pair_holds_at_most_six_descriptors() {
    let limits = SandboxLimits {
        max_sessions: SESSIONS + 10,
        ..SandboxLimits::default()
    };
    let Some(sb) = netns_sandbox_with(limits) else {
        return;
    };
    assert!(sb.limits().capture, "the count is with capture on");
    // A first session made and ended, so that what the process opens once (the namespace
    // hosts are made from, thread stacks, the runtime's own) is there before counting.
    let warm = session(&sb).await;
    timeout(warm.0.end("warm-up")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = Descriptors::count();

    let mut sessions = Vec::with_capacity(SESSIONS);
    for _ in 0..SESSIONS {
        let s = session(&sb).await;
        let listener = s.listener(B, 8080, 4).await;
        let _client = s.client(A, s.addr(B, 8080)).await;
        let _accepted = s.accept(B, listener).await;
        sessions.push(s);
    }
    // Every session has seen its packets: the capture is part of what is counted.
    for s in &sessions {
        let snap = timeout(s.0.snapshot()).await.unwrap();
        assert!(
            snap.capture.enabled && snap.capture.packets > 0,
            "{:?}",
            snap.capture
        );
    }
    // Idle: the probes that follow calls have run out.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = Descriptors::count();

    let per_session = (after.all - before.all) as f64 / SESSIONS as f64;
    let overhead = per_session - USER_SOCKETS as f64;
    eprintln!(
        "descriptors per idle netns session with a connected pair: {per_session:.2} \
         ({USER_SOCKETS} user sockets + {overhead:.2} overhead); namespace descriptors {} -> {}",
        before.namespaces, after.namespaces
    );
    // The capacity a node announces is computed from this figure: it must not hold more.
    assert!(
        per_session <= capacity::NETNS_SESSION_DESCRIPTORS as f64,
        "{per_session:.2} descriptors per session; capacity counts {}",
        capacity::NETNS_SESSION_DESCRIPTORS
    );
    assert!(
        per_session <= TARGET,
        "{per_session:.2} descriptors per session, at most {TARGET} wanted"
    );
    // No session lost its capture or its hosts on the way.
    for s in &sessions {
        let snap = timeout(s.0.snapshot()).await.unwrap();
        assert_eq!(snap.hosts.len(), 2);
        assert!(snap.capture.enabled, "{:?}", snap.capture);
    }
    timeout(sb.shutdown()).await;
    drop(sessions);
    let now = Descriptors::settle_to(before).await;
    assert_eq!(now, before, "every descriptor is given back at the end");
}

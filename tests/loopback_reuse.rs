//! Loopback addresses are not reused too soon: a session made after a restart gets no address
//! whose ports are still held by a `TIME_WAIT` of a session from before, and two servers
//! sharing one pool hand out different addresses. Both run the real binary, so that a restart
//! is a process that died (kill -9) and a new one.

mod common;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use common::binary::Binary;
use plugboard::config::Ipv4Cidr;
use plugboard::sandbox::TcpState;
use plugboard::sandbox::isolation::diag::SockDiag;
use serde_json::json;

/// The port host A listens on, before the restart and after.
const PORT: u16 = 8080;
/// Sessions each server makes, so that a collision shows whatever the starting offsets.
const SESSIONS: usize = 3;
/// Longest a blocking call may wait in these tests.
const WAIT_MS: u64 = 2_000;
/// Pause between two looks while waiting for the server or the kernel.
const POLL: Duration = Duration::from_millis(20);

/// The binary in loopback mode on `pool` with the database file `db`; returns once it
/// answers.
async fn start(pool: &str, db: &std::path::Path) -> Binary {
    Binary::builder()
        .address_pool(pool)
        .database(db)
        .start()
        .await
}

/// Addresses of `pool` with a socket in `TIME_WAIT` on them, as the kernel lists them.
fn time_wait_addresses(pool: &str) -> BTreeSet<Ipv4Addr> {
    let cidr: Ipv4Cidr = pool.parse().unwrap();
    let in_pool =
        |v4: Ipv4Addr| u64::from(u32::from(v4).wrapping_sub(u32::from(cidr.network))) < cidr.size();
    SockDiag::open()
        .expect("sock_diag needs no privilege for the own namespace")
        .tcp_sockets()
        .expect("a sock_diag dump")
        .into_iter()
        .filter(|s| s.state == TcpState::TimeWait)
        .filter_map(|s| match s.local.ip() {
            IpAddr::V4(v4) if in_pool(v4) => Some(v4),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn after_a_restart_no_session_gets_an_address_held_by_time_wait() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("plugboard.db");
    // A small pool (14 addresses), so that a random start alone would often collide: what
    // keeps the addresses apart must be the kernel's view and the claims.
    let pool = common::private_pool().replace("/24", "/28");
    let mut before = start(&pool, &db).await;

    // A listens, B connects, A closes first: A's address keeps PORT in TIME_WAIT.
    let s = before.session().await;
    let a_port = s.addr("A", PORT);
    for call in [
        json!({"host":"A","call":"socket","domain":"inet","type":"stream"}),
        json!({"host":"A","call":"bind","fd":3,"addr": a_port}),
        json!({"host":"A","call":"listen","fd":3}),
        json!({"host":"B","call":"socket","domain":"inet","type":"stream"}),
        json!({"host":"B","call":"connect","fd":3,"addr": a_port}),
    ] {
        s.ok(call).await;
    }
    let accepted = s.ok(json!({"host":"A","call":"accept","fd":3})).await;
    assert_eq!(accepted["fd"], 4);
    s.ok(json!({"host":"A","call":"close","fd":4})).await;
    let eof = s
        .ok(json!({"host":"B","call":"recv","fd":3,"max":16,"wait_ms":WAIT_MS}))
        .await;
    assert_eq!(eof["bytes"], 0, "A's close reads as EOF on B: {eof}");
    s.ok(json!({"host":"B","call":"close","fd":3})).await;
    s.end().await;

    let deadline = Instant::now() + common::STEP;
    let held = loop {
        let held = time_wait_addresses(&pool);
        if held.contains(&s.ipv4("A")) {
            break held;
        }
        assert!(Instant::now() < deadline, "no TIME_WAIT on {}", s.ipv4("A"));
        tokio::time::sleep(POLL).await;
    };
    before.kill();

    // The restart: a new process on the same pool and database.
    let after = start(&pool, &db).await;
    let sessions = {
        let mut sessions = Vec::with_capacity(SESSIONS);
        for _ in 0..SESSIONS {
            sessions.push(after.session().await);
        }
        sessions
    };
    for new in &sessions {
        for addr in [new.ipv4("A"), new.ipv4("B")] {
            assert!(
                !held.contains(&addr),
                "session {} got {addr}, whose ports are in TIME_WAIT ({held:?})",
                new.id
            );
        }
    }
    let new = &sessions[0];
    new.ok(json!({"host":"A","call":"socket","domain":"inet","type":"stream"}))
        .await;
    new.ok(json!({"host":"A","call":"bind","fd":3,"addr": new.addr("A", PORT)}))
        .await;
}

#[tokio::test]
async fn two_servers_sharing_a_pool_hand_out_different_addresses() {
    let dir = tempfile::tempdir().unwrap();
    // A small pool (14 addresses), so that a random start alone would often collide: what
    // keeps the addresses apart must be the kernel's view and the claims.
    let pool = common::private_pool().replace("/24", "/28");
    let first = start(&pool, &dir.path().join("first.db")).await;
    let second = start(&pool, &dir.path().join("second.db")).await;

    // Sessions without a socket yet, made in turns.
    let mut handed_out: [Vec<Ipv4Addr>; 2] = Default::default();
    for _ in 0..SESSIONS {
        for (server, addrs) in [&first, &second].into_iter().zip(handed_out.iter_mut()) {
            let s = server.session().await;
            addrs.extend([s.ipv4("A"), s.ipv4("B")]);
        }
    }
    let [by_first, by_second] = handed_out.map(BTreeSet::from_iter);
    assert_eq!(by_first.len(), 2 * SESSIONS, "{by_first:?}");
    assert_eq!(by_second.len(), 2 * SESSIONS, "{by_second:?}");
    let both: Vec<_> = by_first.intersection(&by_second).collect();
    assert!(
        both.is_empty(),
        "both servers handed out {both:?}: first {by_first:?}, second {by_second:?}"
    );
}

//! The store on each backend (a SQLite file, a PostgreSQL database): what the writer stores
//! reads back whole, with its progress reported; exercises and attempts; leftover sessions
//! ended node by node; and the cluster's node registry seen from two handles (two nodes),
//! reaping exclusive when several nodes reap at once.

mod common;

use std::net::IpAddr;
use std::sync::Arc;

use common::database::{Backend, TestDatabase};
use common::timeout;
use plugboard::exercise::catalog::Catalog;
use plugboard::metrics::Metrics;
use plugboard::sandbox::{
    Event, EventKind, HostId, HostInfo, IsolationMode, Record, SessionId, SessionInfo, Status,
    StoreProgress,
};
use plugboard::store::{INSERT_ROWS, Store, StoreError};
use sqlx::{ConnectOptions, Connection, Executor};
use tokio::sync::mpsc;

test_on_each_backend!(
    what_the_writer_stores_reads_back_whole,
    exercises_and_attempts_are_stored,
    leftover_sessions_are_ended_for_one_node_only,
    nodes_see_each_other_and_their_leases,
    a_dead_node_is_reaped_once_however_many_reap,
    node_ids_run_out_with_an_error_that_says_so,
);

/// A session id owned by `node`.
fn session_of(node: u16) -> SessionId {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    let low = u64::from_le_bytes(b) & ((1 << 48) - 1);
    format!("{node:04x}{low:012x}").parse().unwrap()
}

fn info(id: SessionId) -> Arc<SessionInfo> {
    Arc::new(SessionInfo {
        id,
        created_ms: 1_000,
        expires_ms: 2_000,
        isolation: IsolationMode::Loopback,
        exercise: None,
        limits: Default::default(),
        credentials: plugboard::sandbox::Credentials {
            owner: vec![1; 32],
            viewer: vec![2; 32],
        },
    })
}

/// Event `seq` of a session; its first names the hosts.
fn event(seq: u64) -> Arc<Event> {
    let mut e = if seq == 1 {
        let mut e = Event::new(EventKind::SessionStarted, Status::Ok);
        e.hosts = Some(vec![
            HostInfo {
                name: HostId::A,
                addrs: vec!["10.0.0.1".parse::<IpAddr>().unwrap()],
                ephemeral_ports: None,
            },
            HostInfo {
                name: HostId::B,
                addrs: vec!["10.0.0.2".parse::<IpAddr>().unwrap()],
                ephemeral_ports: None,
            },
        ]);
        e
    } else {
        let mut e = Event::new(EventKind::Send, Status::Ok);
        e.host = Some(HostId::A);
        e.fd = Some(3);
        e.bytes = Some(5);
        e
    };
    e.seq = seq;
    Arc::new(e)
}

/// Store `sessions` through the store's writer, each with `events` events, the first `ended`
/// of them ended; returns their progress once the writer has finished.
async fn write_sessions(
    store: &Store,
    sessions: &[SessionId],
    events: u64,
    ended: usize,
) -> Vec<StoreProgress> {
    let metrics = Arc::new(Metrics::default());
    let (tx, rx) = mpsc::channel(plugboard::store::RECORD_QUEUE);
    let writer = store.spawn_writer(rx, metrics.clone()).await.unwrap();
    let mut progress = Vec::new();
    for &id in sessions {
        let p = StoreProgress::new();
        tx.send(Record::SessionStarted(info(id), p.clone()))
            .await
            .unwrap();
        progress.push(p);
    }
    // Interleaved, as live sessions log.
    for seq in 1..=events {
        for &id in sessions {
            tx.send(Record::Event(id, event(seq))).await.unwrap();
        }
    }
    for &id in &sessions[..ended] {
        tx.send(Record::SessionEnded {
            id,
            at_ms: 1_500,
            reason: plugboard::i18n::Message::new("ended by the test", "测试结束了它"),
        })
        .await
        .unwrap();
    }
    drop(tx);
    timeout(writer.finish()).await;
    assert_eq!(
        metrics
            .events_written
            .load(std::sync::atomic::Ordering::Relaxed),
        events * sessions.len() as u64
    );
    progress
}

async fn what_the_writer_stores_reads_back_whole(db: TestDatabase) {
    let store = Store::connect(&db.url).await.unwrap();
    assert!(store.ping().await);
    // More events than one multi-row insert takes, from sessions logging at once.
    let events = 3 * INSERT_ROWS as u64 + 7;
    let sessions = [session_of(0), session_of(0), session_of(0)];
    let progress = write_sessions(&store, &sessions, events, 1).await;
    for (i, p) in progress.iter().enumerate() {
        assert_eq!(
            p.stored(),
            events,
            "session {i}: progress reports every event"
        );
        assert_eq!(
            p.finished(),
            i == 0,
            "session {i}: finished once its end is stored"
        );
    }
    let ended = store.session(sessions[0]).await.unwrap().unwrap();
    // The reason keeps both its languages in the column.
    let reason = ended.end_reason.as_ref().expect("a reason");
    assert_eq!(reason.en(), "ended by the test");
    assert_eq!(reason.get(plugboard::i18n::Lang::Zh), "测试结束了它");
    assert_eq!(ended.ended_ms, Some(1_500));
    assert_eq!(ended.last_seq, events);
    assert_eq!((ended.created_ms, ended.expires_ms), (1_000, 2_000));
    assert_eq!(ended.owner_token_hash, vec![1; 32]);
    assert_eq!(ended.viewer_token_hash, vec![2; 32]);
    assert_eq!(ended.isolation, "loopback");
    let hosts: Vec<_> = ended.hosts.iter().map(|h| h.name).collect();
    assert_eq!(hosts, [HostId::A, HostId::B]);
    assert_eq!(
        ended.hosts[1].addrs,
        ["10.0.0.2".parse::<IpAddr>().unwrap()]
    );
    let live = store.session(sessions[1]).await.unwrap().unwrap();
    assert_eq!(live.ended_ms, None);
    assert!(store.session(session_of(0)).await.unwrap().is_none());
    // Read back in pages, in order, without gaps.
    let mut seqs = Vec::new();
    let mut after = 0;
    loop {
        let page = store.events(sessions[2], after, 100).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        seqs.extend(page.iter().map(|e| e.seq));
    }
    assert_eq!(seqs, (1..=events).collect::<Vec<_>>());
    let bodies = store
        .events_after(sessions[2], events - 1, 10)
        .await
        .unwrap();
    assert_eq!(bodies.len(), 1);
    assert!(bodies[0].contains("\"kind\":\"send\""), "{}", bodies[0]);
}

async fn exercises_and_attempts_are_stored(db: TestDatabase) {
    let store = Store::connect(&db.url).await.unwrap();
    let catalog = Catalog::embedded().unwrap();
    let loaded = store.load_exercises(catalog.all()).await.unwrap();
    assert_eq!(loaded, catalog.len() as u64);
    // The same catalog again changes nothing.
    assert_eq!(store.load_exercises(catalog.all()).await.unwrap(), 0);
    let exercise = catalog.all().next().unwrap();
    assert_eq!(
        store.exercise_version(&exercise.id).await.unwrap(),
        Some(exercise.version)
    );
    assert_eq!(
        store.exercise_version("no-such-exercise").await.unwrap(),
        None
    );
    let report = plugboard::exercise::grader::grade(exercise, &[], &[]);
    let session = session_of(0);
    let first = store.insert_attempt(session, &report).await.unwrap();
    let second = store.insert_attempt(session, &report).await.unwrap();
    assert!(second > first);
    let attempts = store.attempts(&exercise.id, 10).await.unwrap();
    let ids: Vec<i64> = attempts.iter().map(|a| a.id).collect();
    assert_eq!(ids, [second, first], "newest first");
    assert_eq!(attempts[0].session_id, session.to_string());
    assert_eq!(attempts[0].passed, report.passed);
    assert_eq!(attempts[0].exercise_version, exercise.version);
    assert_eq!(attempts[0].report.total_checks, report.total_checks);
    assert_eq!(store.attempts(&exercise.id, 1).await.unwrap().len(), 1);
}

async fn leftover_sessions_are_ended_for_one_node_only(db: TestDatabase) {
    let store = Store::connect(&db.url).await.unwrap();
    let (mine, theirs) = (session_of(0), session_of(7));
    write_sessions(&store, &[mine, theirs], 2, 0).await;
    let ended = store
        .end_leftover_sessions(0, &"the server restarted".into())
        .await
        .unwrap();
    assert_eq!(ended, 1);
    let mine = store.session(mine).await.unwrap().unwrap();
    assert_eq!(
        mine.end_reason.as_ref().map(|r| r.en()),
        Some("the server restarted")
    );
    let theirs = store.session(theirs).await.unwrap().unwrap();
    assert_eq!(theirs.ended_ms, None, "node 7's session is node 7's to end");
    assert_eq!(
        store
            .end_leftover_sessions(7, &"gone".into())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .end_leftover_sessions(7, &"gone".into())
            .await
            .unwrap(),
        0
    );
}

async fn nodes_see_each_other_and_their_leases(db: TestDatabase) {
    // Two handles on one database, as two nodes have.
    let first = Store::connect(&db.url).await.unwrap();
    let second = Store::connect(&db.url).await.unwrap();
    let a = first.register_node("10.1.0.1:7000", 10_000).await.unwrap();
    let b = second.register_node("10.1.0.2:7000", 20_000).await.unwrap();
    assert!(a >= 1 && b >= 1 && a != b, "{a} {b}");
    for store in [&first, &second] {
        let nodes = store.nodes().await.unwrap();
        let seen: Vec<(u16, &str)> = nodes.iter().map(|n| (n.id, n.addr.as_str())).collect();
        assert_eq!(seen, [(a, "10.1.0.1:7000"), (b, "10.1.0.2:7000")]);
    }
    assert!(first.renew_lease(a, 30_000, 5, 95, false).await.unwrap());
    assert!(first.renew_lease(b, 31_000, 1, 9, true).await.unwrap());
    let b_row = second.node(b).await.unwrap().unwrap();
    assert_eq!(
        (
            b_row.lease_until_ms,
            b_row.live_sessions,
            b_row.room,
            b_row.draining,
            b_row.reaped
        ),
        (31_000, 1, 9, true, false)
    );
    assert!(b_row.started_ms > 0);
    // A clean exit: gone from the list, still known, its lease no longer renewable.
    second.deregister_node(b, 32_000).await.unwrap();
    let ids: Vec<u16> = first.nodes().await.unwrap().iter().map(|n| n.id).collect();
    assert_eq!(ids, [a]);
    assert!(first.node(b).await.unwrap().unwrap().reaped);
    assert!(!second.renew_lease(b, 40_000, 0, 0, false).await.unwrap());
    assert!(
        !second
            .renew_lease(u16::MAX, 40_000, 0, 0, false)
            .await
            .unwrap()
    );
    assert!(first.node(u16::MAX).await.unwrap().is_none());
    // A new node never gets an id used before.
    let c = second.register_node("10.1.0.2:7000", 50_000).await.unwrap();
    assert!(c != a && c != b);
}

async fn a_dead_node_is_reaped_once_however_many_reap(db: TestDatabase) {
    const REAPERS: usize = 4;
    let mut stores = Vec::new();
    for _ in 0..REAPERS {
        stores.push(Store::connect(&db.url).await.unwrap());
    }
    let now = 100_000;
    let alive = stores[0]
        .register_node("alive", now + 10_000)
        .await
        .unwrap();
    let dead = stores[1].register_node("dead", now - 1).await.unwrap();
    let also_dead = stores[2]
        .register_node("also dead", now - 5_000)
        .await
        .unwrap();
    let (on_dead, on_also_dead, on_alive) = (
        [session_of(dead), session_of(dead), session_of(dead)],
        session_of(also_dead),
        session_of(alive),
    );
    let mut sessions = on_dead.to_vec();
    sessions.extend([on_also_dead, on_alive]);
    // One of them ended before its node died: it keeps its reason.
    write_sessions(&stores[0], &sessions, 2, 1).await;
    // Every node reaps at once.
    let reaping: Vec<_> = stores
        .iter()
        .map(|store| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .reap_dead_nodes(now, |node| {
                        format!("node {node} stopped renewing its lease").into()
                    })
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut reaped = Vec::new();
    for r in reaping {
        reaped.extend(timeout(r).await.unwrap());
    }
    reaped.sort_unstable();
    let mut expected = vec![(dead, 2), (also_dead, 1)];
    expected.sort_unstable();
    assert_eq!(
        reaped, expected,
        "each dead node reaped by exactly one reaper"
    );
    let store = &stores[3];
    let reason = |id| async move { store.session(id).await.unwrap().unwrap().end_reason };
    assert_eq!(
        reason(on_dead[0]).await.as_ref().map(|r| r.en()),
        Some("ended by the test")
    );
    for id in &on_dead[1..] {
        assert_eq!(
            reason(*id).await,
            Some(format!("node {dead} stopped renewing its lease").into())
        );
        assert_eq!(
            store.session(*id).await.unwrap().unwrap().ended_ms,
            Some(now)
        );
    }
    assert!(reason(on_also_dead).await.is_some());
    assert_eq!(reason(on_alive).await, None);
    let ids: Vec<u16> = store.nodes().await.unwrap().iter().map(|n| n.id).collect();
    assert_eq!(ids, [alive]);
    // The dead node, if it comes back, learns it was declared dead.
    assert!(
        !stores[1]
            .renew_lease(dead, now + 10_000, 0, 0, false)
            .await
            .unwrap()
    );
    assert!(
        stores[0]
            .renew_lease(alive, now + 20_000, 1, 0, false)
            .await
            .unwrap()
    );
    // Nothing left to reap.
    assert!(
        store
            .reap_dead_nodes(now, |_| String::new().into())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn node_ids_run_out_with_an_error_that_says_so(db: TestDatabase) {
    let store = Store::connect(&db.url).await.unwrap();
    let first = store.register_node("first", 1_000).await.unwrap();
    assert_eq!(first, 1);
    // Move the database's id counter to the last id a node can have.
    let last_id = match db.backend {
        Backend::Sqlite => "UPDATE sqlite_sequence SET seq = 65534 WHERE name = 'nodes'",
        Backend::Postgres => "SELECT setval('nodes_id_seq', 65534)",
    };
    raw_execute(&db, last_id).await;
    assert_eq!(store.register_node("last", 1_000).await.unwrap(), u16::MAX);
    let failed = store.register_node("one too many", 1_000).await;
    let Err(e @ StoreError::NodeIdsExhausted) = failed else {
        panic!("expected NodeIdsExhausted, got {failed:?}");
    };
    assert!(e.to_string().contains("65535"), "{e}");
    // Nothing of the refused node stays behind.
    let ids: Vec<u16> = store.nodes().await.unwrap().iter().map(|n| n.id).collect();
    assert_eq!(ids, [first, u16::MAX]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writer_reconnects_when_postgres_drops_its_connection() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let store = Store::connect(&db.url).await.unwrap();
    let metrics = Arc::new(Metrics::default());
    let (tx, rx) = mpsc::channel(16);
    let writer = store.spawn_writer(rx, metrics).await.unwrap();
    let id = session_of(0);
    let progress = StoreProgress::new();
    tx.send(Record::SessionStarted(info(id), progress.clone()))
        .await
        .unwrap();
    tx.send(Record::Event(id, event(1))).await.unwrap();
    let wait_for = |seq| {
        let progress = progress.clone();
        timeout(async move {
            while progress.stored() < seq {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        })
    };
    wait_for(1).await;
    // As when the database server restarts: every connection to the database is cut.
    raw_execute(
        &db,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .await;
    tx.send(Record::Event(id, event(2))).await.unwrap();
    wait_for(2).await;
    drop(tx);
    timeout(writer.finish()).await;
    assert_eq!(store.events(id, 0, 10).await.unwrap().len(), 2);
}

/// Run `sql` on the test database outside the store.
async fn raw_execute(db: &TestDatabase, sql: &str) {
    match db.backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            c.execute(sql).await.unwrap();
            c.close().await.unwrap();
        }
        Backend::Postgres => {
            use std::str::FromStr;
            let mut c = sqlx::postgres::PgConnectOptions::from_str(&db.url)
                .unwrap()
                .connect()
                .await
                .unwrap();
            c.execute(sql).await.unwrap();
            c.close().await.unwrap();
        }
    }
}

//! Acknowledged means durable: many clients make calls while the server is killed with
//! SIGKILL at a random moment; after a restart on the same database every seq any client was
//! answered with is stored, and what is stored is a prefix of each log (no gap). Repeated, so
//! the kill lands at different points of the writer's batches; on SQLite and on PostgreSQL.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::app::TestApp;
use common::binary::Binary;
use common::database::TestDatabase;
use serde_json::json;

const ROUNDS: usize = 6;
const SESSIONS: usize = 6;
const CLIENTS_PER_SESSION: usize = 3;

fn random_below(n: u64) -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    u64::from_le_bytes(b) % n
}

async fn start(db: &TestDatabase, pool: &str) -> Binary {
    Binary::builder()
        .address_pool(pool)
        .database_url(&db.url)
        .unthrottled()
        .max_events(1_000_000)
        .start()
        .await
}

test_on_each_backend!(every_acknowledged_seq_survives_kill_9);

async fn every_acknowledged_seq_survives_kill_9(db: TestDatabase) {
    let pool = common::private_pool();
    let mut all_sessions = Vec::new();
    let mut acknowledged_total = 0;
    for round in 0..ROUNDS {
        let mut server = start(&db, &pool).await;
        let mut sessions = Vec::new();
        for _ in 0..SESSIONS {
            sessions.push(server.session().await);
        }
        // (session index, seq) of every answered call.
        let acked = Arc::new(Mutex::new(Vec::new()));
        let mut clients = Vec::new();
        for (i, s) in sessions.iter().enumerate() {
            for _ in 0..CLIENTS_PER_SESSION {
                let (s, acked) = (s.clone(), acked.clone());
                clients.push(tokio::spawn(async move {
                    let body = json!({"host":"A","call":"close","fd":9});
                    while let Some((_, reply)) = s.try_call(body.clone()).await {
                        let seq = reply["seq"].as_u64().expect("an answered call has a seq");
                        acked.lock().unwrap().push((i, seq));
                    }
                }));
            }
        }
        // Once calls flow, kill at a moment the writer cannot expect.
        for _ in 0..500 {
            if acked.lock().unwrap().len() >= 50 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(random_below(1000))).await;
        server.kill();
        for c in clients {
            c.await.unwrap();
        }
        let acked = std::mem::take(&mut *acked.lock().unwrap());
        assert!(!acked.is_empty(), "round {round}: no call was answered");
        acknowledged_total += acked.len();
        all_sessions.push((sessions, acked));
    }
    // Restart once more and read every log back.
    let mut app = TestApp::builder().database_url(&db.url).start().await;
    let mut stored_total = 0;
    for (round, (sessions, acked)) in all_sessions.iter().enumerate() {
        for (i, s) in sessions.iter().enumerate() {
            let mut seqs = BTreeSet::new();
            let mut after = 0;
            loop {
                let (_, page) = app
                    .get(
                        &s.path(&format!("/events?after={after}&limit=5000")),
                        Some(&s.token),
                    )
                    .await;
                let events = page["events"].as_array().unwrap();
                if events.is_empty() {
                    break;
                }
                for e in events {
                    seqs.insert(e["seq"].as_u64().unwrap());
                }
                after = page["next_after"].as_u64().unwrap();
            }
            stored_total += seqs.len();
            let newest = seqs.last().copied().unwrap_or(0);
            assert_eq!(
                seqs.len() as u64,
                newest,
                "round {round}, session {i}: the stored log is a prefix, without gaps"
            );
            for (_, seq) in acked.iter().filter(|(s, _)| *s == i) {
                assert!(
                    seqs.contains(seq),
                    "round {round}, session {i}: seq {seq} was acknowledged but is not stored (newest stored {newest})"
                );
            }
        }
    }
    eprintln!(
        "{ROUNDS} kills: {acknowledged_total} acknowledged calls, all stored ({stored_total} events stored)"
    );
    app.stop().await;
}

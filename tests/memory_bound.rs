//! Memory is bounded per session: one session driven to its event limit leaves the server's
//! resident memory within a stated bound, because a live session keeps only the newest
//! events in memory (`--log-tail`) and the rest in the database.

mod common;

use std::time::Duration;

use common::app::ApiSession;
use common::binary::Binary;
use serde_json::json;

/// Events the session may log.
const MAX_EVENTS: usize = 20_000;
/// How much the server's resident memory may grow over the whole log. Kept whole in memory
/// the log grows it by about 13 MB (about 650 bytes an event, measured with a tail as long as
/// the log); the bound leaves room for SQLite's page caches and the allocator, not for the log.
const BOUND: u64 = 6 << 20;

fn resident(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_at_its_event_limit_keeps_memory_bounded() {
    let tail = std::env::var("MEMORY_TEST_LOG_TAIL").map_or(1000, |t| t.parse().unwrap());
    let server = Binary::builder()
        .log_tail(tail)
        .unthrottled()
        .max_events(MAX_EVENTS)
        .start()
        .await;
    let s = server.session().await;
    // Calls until `n` are made or one is refused (the event limit).
    let call = |s: ApiSession, n: usize| async move {
        let body = json!({"host":"A","call":"close","fd":9});
        for _ in 0..n {
            match s.try_call(body.clone()).await {
                Some((status, _)) if status.is_success() => {}
                _ => return,
            }
        }
    };
    // Warm up (allocator arenas, connections, SQLite caches) before the baseline.
    call(s.clone(), 2_000).await;
    let baseline = resident(server.pid());
    let mut peak = baseline;
    let callers: Vec<_> = (0..4)
        .map(|_| tokio::spawn(call(s.clone(), MAX_EVENTS)))
        .collect();
    while !callers.iter().all(|c| c.is_finished()) {
        peak = peak.max(resident(server.pid()));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    peak = peak.max(resident(server.pid()));
    let logged = s.json().await["last_seq"].as_u64().unwrap();
    assert!(
        logged as usize >= MAX_EVENTS,
        "the session reached its event limit: {logged}"
    );
    let grew = peak.saturating_sub(baseline);
    eprintln!(
        "{logged} events with a tail of {tail}: resident memory grew {} KiB (baseline {} KiB)",
        grew / 1024,
        baseline / 1024
    );
    assert!(grew < BOUND, "resident memory grew {} MiB", grew >> 20);
    // The whole log is still readable, from the database.
    assert_eq!(s.events().await[0]["seq"], 1);
}

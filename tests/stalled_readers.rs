//! Readers that stop reading cost little kernel memory: 100 stalled WebSocket readers over
//! 4 sessions under about 800 calls/s hold under 50 MB of kernel TCP memory in total, and a
//! live reader beside them sees every event in order. Alone in its binary, because it reads
//! the namespace-wide figure in `/proc/net/sockstat`.

mod common;

use std::time::{Duration, Instant};

use common::app::TestApp;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// Kernel memory of TCP sockets now, in bytes (`mem` of the TCP line is in pages).
fn tcp_memory() -> u64 {
    let text = std::fs::read_to_string("/proc/net/sockstat").unwrap();
    let line = text.lines().find(|l| l.starts_with("TCP:")).unwrap();
    let mut words = line.split_whitespace();
    let pages: u64 = loop {
        match words.next() {
            Some("mem") => break words.next().unwrap().parse().unwrap(),
            Some(_) => {}
            None => panic!("no mem in {line}"),
        }
    };
    pages * 4096
}

const SESSIONS: usize = 4;
const STALLED_PER_SESSION: usize = 25;
const CALLS_PER_SESSION: usize = 1_000;
/// Calls per second over all sessions.
const RATE: u64 = 800;

#[tokio::test]
async fn stalled_readers_hold_little_kernel_memory_and_a_live_reader_misses_nothing() {
    let mut app = TestApp::builder().unthrottled().start().await;
    let baseline = tcp_memory();
    let mut sessions = Vec::new();
    let mut stalled = Vec::new();
    for _ in 0..SESSIONS {
        let s = app.session().await;
        // Datagrams from A to B: each call is a sendto whose event carries a 64-byte preview.
        s.udp_bound("B", 9000).await;
        s.ok(json!({"host":"A","call":"socket","domain":"inet","type":"dgram"}))
            .await;
        for _ in 0..STALLED_PER_SESSION {
            // A reader that completes the handshake, then never reads again.
            stalled.push(s.websocket(0, &s.token).await);
        }
        sessions.push(s);
    }
    // One live reader on the first session, reading as fast as it can.
    let watched = &sessions[0];
    let mut live = watched.websocket(0, &watched.token).await;
    let reader = tokio::spawn(async move {
        let mut seqs = Vec::new();
        while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_secs(10), live.next()).await
        {
            if let Message::Text(t) = m {
                let v: Value = serde_json::from_str(&t).unwrap();
                match v["type"].as_str() {
                    Some("event") => seqs.push(v["event"]["seq"].as_u64().unwrap()),
                    Some("resync") => panic!("the live reader was resynced"),
                    _ => {}
                }
                if v["event"]["kind"] == "close" && v["event"]["fd"] == 99 {
                    break;
                }
            }
        }
        seqs
    });
    // About RATE calls/s in all, one caller per session; each call is a logged event.
    let started = Instant::now();
    let callers: Vec<_> = sessions
        .iter()
        .map(|s| {
            let client = app.client.clone();
            let url = app.url(&s.path("/calls"));
            let token = s.token.clone();
            let to = s.addr("B", 9000);
            tokio::spawn(async move {
                let every = Duration::from_micros(1_000_000 * SESSIONS as u64 / RATE);
                let mut ticker = tokio::time::interval(every);
                for i in 0..CALLS_PER_SESSION {
                    ticker.tick().await;
                    let body = if i + 1 == CALLS_PER_SESSION {
                        json!({"host":"A","call":"close","fd":99})
                    } else {
                        json!({"host":"A","call":"sendto","fd":3,"data":"x".repeat(64),"addr":to})
                    };
                    let r = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await;
                    assert!(r.unwrap().status().is_success());
                }
            })
        })
        .collect();
    let mut peak = 0;
    while !callers.iter().all(|c| c.is_finished()) {
        peak = peak.max(tcp_memory());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for caller in callers {
        caller.await.unwrap();
    }
    peak = peak.max(tcp_memory());
    let elapsed = started.elapsed();
    let seqs = reader.await.unwrap();
    let held = peak.saturating_sub(baseline);
    eprintln!(
        "{} stalled readers, {} calls in {elapsed:?}: kernel TCP memory peaked {} KiB above the baseline",
        stalled.len(),
        CALLS_PER_SESSION * SESSIONS,
        held / 1024
    );
    assert!(held < 50 << 20, "stalled readers hold {} MiB", held >> 20);
    // The live reader saw the snapshot's events and every call's, in order, none twice.
    assert!(seqs.len() >= CALLS_PER_SESSION, "saw {} events", seqs.len());
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "in order, no gap, no repeat"
    );
    drop(stalled);
    app.stop().await;
}

//! API benchmark: what the HTTP layer and the store cost.
//!
//! Reports
//! 1. requests per second of a simple call (`close` on a descriptor that is not open: the
//!    kernel path is trivial) against `GET /healthz` (which pings the database) and a bare
//!    404 (routing and middleware only) on the same server, one client and four; the ratios
//!    are the API's overhead above HTTP itself;
//! 2. latency from a call's HTTP response to its event arriving on a WebSocket, p50 and p99;
//! 3. events persisted per second by the store's writer (SQLite, WAL).
//!
//! Run: `cargo bench --bench api`.

#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use plugboard::config::Cli;
use plugboard::metrics::Metrics;
use plugboard::sandbox::{Event, EventKind, Record, SessionId, SessionInfo, Status};
use plugboard::store::Store;
use serde_json::{Value, json};
use tokio::sync::mpsc;

async fn rate(
    clients: usize,
    per_client: usize,
    make: impl Fn() -> reqwest::RequestBuilder + Clone + Send + 'static,
) -> f64 {
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let make = make.clone();
            tokio::spawn(async move {
                for _ in 0..per_client {
                    let response = make().send().await.expect("request");
                    assert!(response.status().as_u16() < 500, "{}", response.status());
                    response.bytes().await.expect("body");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    (clients * per_client) as f64 / start.elapsed().as_secs_f64()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn store_rate(events: u64) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::connect(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await
    .expect("store");
    let metrics = Arc::new(Metrics::default());
    let (tx, rx) = mpsc::channel(plugboard::store::RECORD_QUEUE);
    let writer = store.spawn_writer(rx, metrics.clone(), Box::new(|_| {}));
    let id = SessionId::random();
    tx.send(Record::SessionStarted(
        Arc::new(SessionInfo {
            id,
            created_ms: 0,
            expires_ms: 0,
            isolation: plugboard::sandbox::IsolationMode::Loopback,
            exercise: None,
            limits: Default::default(),
            credentials: Default::default(),
        }),
        plugboard::sandbox::StoreProgress::new(),
    ))
    .await
    .expect("send");
    let start = Instant::now();
    for seq in 1..=events {
        let mut e = Event::new(EventKind::Send, Status::Ok);
        e.seq = seq;
        e.host = Some(plugboard::sandbox::HostId::A);
        e.fd = Some(3);
        e.bytes = Some(5);
        e.data = Some(plugboard::sandbox::Preview::of(b"hello"));
        tx.send(Record::Event(id, Arc::new(e))).await.expect("send");
    }
    drop(tx);
    writer.finish().await;
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(metrics.events_written.load(Ordering::Relaxed), events);
    println!(
        "  ({} batches)",
        metrics.store_batches.load(Ordering::Relaxed)
    );
    events as f64 / secs
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        use clap::Parser;
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("plugboard.db").display());
        let config = Cli::try_parse_from([
            "plugboard", "--listen", "127.0.0.1:0", "--isolation", "loopback",
            "--address-pool", "127.205.0.0/24", "--database-url", &url,
            "--max-calls-per-second", "10000000", "--client-calls-per-second", "10000000",
            "--max-events", "10000000",
        ])
        .expect("flags")
        .into_config()
        .expect("config");
        let server = plugboard::start(config).await.expect("server");
        let base = format!("http://{}", server.addr);
        let client = reqwest::Client::new();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let created: Value = client.post(format!("{base}/api/sessions")).send().await.unwrap().json().await.unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        let token = created["token"].as_str().unwrap().to_owned();
        let health = {
            let (client, url) = (client.clone(), format!("{base}/healthz"));
            move || client.get(&url)
        };
        let call = {
            let (client, url, token) = (client.clone(), format!("{base}/api/sessions/{id}/calls"), token.clone());
            move || client.post(&url).bearer_auth(&token).json(&json!({"host":"A","call":"close","fd":99}))
        };
        // A route nothing serves: routing, middleware and a JSON body, no database, no session.
        let bare = {
            let (client, url) = (client.clone(), format!("{base}/nope"));
            move || client.get(&url)
        };
        rate(1, 500, health.clone()).await;
        rate(1, 500, call.clone()).await;
        rate(1, 500, bare.clone()).await;
        println!("HTTP ({} requests per figure)", 4000);
        for clients in [1usize, 4] {
            let h = rate(clients, 4000 / clients, health.clone()).await;
            let b = rate(clients, 4000 / clients, bare.clone()).await;
            let c = rate(clients, 4000 / clients, call.clone()).await;
            println!(
                "  {clients} client(s): /healthz {h:>7.0} req/s (database ping)   bare 404 {b:>7.0} req/s   \
                 call {c:>7.0} calls/s   healthz/call {:.2}   bare/call {:.2}",
                h / c,
                b / c
            );
        }

        let ws_url = format!("ws://{}/api/sessions/{id}/ws?token={token}", server.addr);
        let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.expect("ws");
        // Skip the snapshot and the backlog.
        let (_, view) = (0, client.get(format!("{base}/api/sessions/{id}")).bearer_auth(&token).send().await.unwrap().json::<Value>().await.unwrap());
        let mut backlog = view["last_seq"].as_u64().unwrap();
        while backlog > 0 {
            if let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) = ws.next().await {
                let m: Value = serde_json::from_str(&t).unwrap();
                if m["event"]["seq"].as_u64() == Some(view["last_seq"].as_u64().unwrap()) {
                    backlog = 0;
                }
            }
        }
        let samples = 1000;
        let mut latencies = Vec::with_capacity(samples);
        let mut early = 0;
        for _ in 0..samples {
            let answer: Value = call().send().await.unwrap().json().await.unwrap();
            let answered = Instant::now();
            let seq = answer["seq"].as_u64().unwrap();
            loop {
                let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) = ws.next().await else { continue };
                let m: Value = serde_json::from_str(&t).unwrap();
                if m["event"]["seq"].as_u64() == Some(seq) {
                    let waited = answered.elapsed();
                    if waited < Duration::from_micros(1) {
                        early += 1;
                    }
                    latencies.push(waited);
                    break;
                }
            }
        }
        latencies.sort();
        println!("Call response -> its event on a WebSocket ({samples} calls)");
        println!(
            "  p50 {:>8.1} us   p99 {:>8.1} us   ({early} already waiting when the response arrived)",
            percentile(&latencies, 0.5).as_secs_f64() * 1e6,
            percentile(&latencies, 0.99).as_secs_f64() * 1e6
        );
        server.stop().await.expect("stop");

        println!("Store writer (SQLite, WAL, batches of up to {})", plugboard::store::MAX_BATCH);
        let persisted = store_rate(200_000).await;
        println!("  {persisted:>10.0} events persisted/s");
    });
}

//! API benchmark: what the HTTP layer and the store cost.
//!
//! With `PLUGBOARD_BENCH_POSTGRES_URL` (or `PLUGBOARD_TEST_POSTGRES_URL`) set to a PostgreSQL
//! server's admin URL, the store's figures (1, and the calls of 2) are given for PostgreSQL
//! beside SQLite's, each run on a database created for it and dropped after.
//!
//! Reports
//! 1. events persisted per second by the store's writer (SQLite, WAL; PostgreSQL), with
//!    multi-row inserts and with one row per statement;
//! 2. requests per second of a simple call (`close` on a descriptor that is not open: the
//!    kernel path is trivial) against `GET /healthz` (which pings the database) and a bare
//!    404 (routing and middleware only) on the same server, one client and four; the ratios
//!    are the API's overhead above HTTP itself. Side by side, the same calls on a second
//!    server that answers before its events are stored (`--ack-when-stored false`): the
//!    ratio is what durable acknowledgements cost;
//! 3. call latency, p50 and p99, with 200 sessions each making 10 calls a second, on both;
//! 4. latency from a call's HTTP response to its event arriving on a WebSocket, p50 and p99.
//!
//! Run: `cargo bench --bench api` (`-- store` for the store writer alone).

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

/// A database for one figure: a SQLite file in a fresh directory, or a PostgreSQL database
/// created on the server at `admin` and dropped with this value.
struct BenchDatabase {
    url: String,
    _dir: Option<tempfile::TempDir>,
    /// The admin URL and the database's name.
    created: Option<(String, String)>,
}

impl BenchDatabase {
    async fn new(postgres_admin: Option<&str>) -> BenchDatabase {
        use sqlx::{ConnectOptions, Connection, Executor};
        let Some(admin) = postgres_admin else {
            let dir = tempfile::tempdir().expect("tempdir");
            return BenchDatabase {
                url: format!("sqlite://{}", dir.path().join("bench.db").display()),
                _dir: Some(dir),
                created: None,
            };
        };
        let name = format!("plugboard_bench_{}", SessionId::random());
        let options: sqlx::postgres::PgConnectOptions = admin.parse().expect("postgres url");
        let mut c = options.connect().await.expect("postgres");
        c.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create database");
        c.close().await.ok(/* the database exists either way */);
        BenchDatabase {
            url: with_database(admin, &name),
            _dir: None,
            created: Some((admin.to_owned(), name)),
        }
    }

    /// Drop the PostgreSQL database (its connections already closed).
    async fn drop_database(self) {
        use sqlx::{ConnectOptions, Connection, Executor};
        if let Some((admin, name)) = &self.created {
            let options: sqlx::postgres::PgConnectOptions = admin.parse().expect("postgres url");
            let mut c = options.connect().await.expect("postgres");
            c.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await.ok(/* a leftover only costs disk */);
            c.close().await.ok(/* done either way */);
        }
    }
}

/// `url` with its database (the path) replaced by `name`, its parameters kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority..].find('/') {
        Some(slash) => &base[..authority + slash],
        None => base,
    };
    format!("{server}/{name}{query}")
}

/// The PostgreSQL server to measure beside SQLite, if any.
fn postgres_admin_url() -> Option<String> {
    [
        "PLUGBOARD_BENCH_POSTGRES_URL",
        "PLUGBOARD_TEST_POSTGRES_URL",
    ]
    .iter()
    .find_map(|var| std::env::var(var).ok().filter(|u| !u.is_empty()))
}

async fn store_rate(postgres: Option<&str>, events: u64, insert_rows: usize) -> f64 {
    let db = BenchDatabase::new(postgres).await;
    let store = Store::connect(&db.url)
        .await
        .expect("store")
        .with_insert_rows(insert_rows);
    let metrics = Arc::new(Metrics::default());
    let (tx, rx) = mpsc::channel(plugboard::store::RECORD_QUEUE);
    let writer = store
        .spawn_writer(rx, metrics.clone())
        .await
        .expect("writer");
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
    drop(store);
    db.drop_database().await;
    events as f64 / secs
}

async fn start(ack_when_stored: bool, pool: &str, db: &BenchDatabase) -> plugboard::Running {
    use clap::Parser;
    let url = db.url.clone();
    let ack = ack_when_stored.to_string();
    let config = Cli::try_parse_from([
        "plugboard",
        "--listen",
        "127.0.0.1:0",
        "--isolation",
        "loopback",
        "--address-pool",
        pool,
        "--database-url",
        &url,
        "--max-calls-per-second",
        "10000000",
        "--client-calls-per-second",
        "10000000",
        "--max-events",
        "10000000",
        "--max-sessions",
        "1000",
        "--sessions-per-minute",
        "100000",
        "--ack-when-stored",
        &ack,
    ])
    .expect("flags")
    .into_config()
    .expect("config");
    let server = plugboard::start(config).await.expect("server");
    tokio::time::sleep(Duration::from_millis(100)).await;
    server
}

/// Calls per second acknowledged when stored, on a server whose database is `db`, with
/// `clients` clients making `total` calls between them.
async fn stored_call_rate(db: &BenchDatabase, pool: &str, clients: usize, total: usize) -> f64 {
    let server = start(true, pool, db).await;
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    let (id, token) = new_session(&client, &base).await;
    let call = {
        let url = format!("{base}/api/sessions/{id}/calls");
        move || {
            client
                .post(&url)
                .bearer_auth(&token)
                .json(&json!({"host":"A","call":"close","fd":99}))
        }
    };
    rate(1, 200, call.clone()).await;
    let calls = rate(clients, total / clients, call).await;
    server.stop().await.expect("stop");
    calls
}

async fn new_session(client: &reqwest::Client, base: &str) -> (String, String) {
    let created: Value = client
        .post(format!("{base}/api/sessions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        created["id"].as_str().unwrap().to_owned(),
        created["token"].as_str().unwrap().to_owned(),
    )
}

/// Call latencies with `sessions` sessions each making `per_second` calls a second for
/// `seconds`: p50 and p99.
async fn paced_latency(
    client: &reqwest::Client,
    base: &str,
    sessions: usize,
    per_second: u64,
    seconds: u64,
) -> (Duration, Duration, usize) {
    let mut made = Vec::new();
    for _ in 0..sessions {
        made.push(new_session(client, base).await);
    }
    let tasks: Vec<_> = made
        .into_iter()
        .enumerate()
        .map(|(i, (id, token))| {
            let client = client.clone();
            let url = format!("{base}/api/sessions/{id}/calls");
            tokio::spawn(async move {
                // Spread the sessions' ticks over the period.
                let every = Duration::from_micros(1_000_000 / per_second);
                tokio::time::sleep(every * i as u32 / sessions as u32).await;
                let mut ticker = tokio::time::interval(every);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut latencies = Vec::new();
                for _ in 0..per_second * seconds {
                    ticker.tick().await;
                    let started = Instant::now();
                    let r = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({"host":"A","call":"close","fd":99}))
                        .send()
                        .await
                        .expect("call");
                    assert!(r.status().is_success(), "{}", r.status());
                    r.bytes().await.expect("body");
                    latencies.push(started.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    all.sort();
    (percentile(&all, 0.5), percentile(&all, 0.99), all.len())
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let postgres = postgres_admin_url();
        let mut backends = vec![("SQLite, WAL", None)];
        match &postgres {
            Some(admin) => backends.push(("PostgreSQL, synchronous_commit on", Some(admin.as_str()))),
            None => println!("(PostgreSQL: skipped; set PLUGBOARD_BENCH_POSTGRES_URL to an admin URL to measure it)"),
        }
        for (name, admin) in &backends {
            println!("Store writer ({name}, batches of up to {})", plugboard::store::MAX_BATCH);
            for rows in [plugboard::store::INSERT_ROWS, 16, 1] {
                let persisted = store_rate(*admin, 200_000, rows).await;
                println!("  {persisted:>10.0} events persisted/s with {rows} rows per insert");
            }
        }
        if backends.len() > 1 {
            println!("Calls acknowledged when stored, by backend (4000 calls per figure)");
            for clients in [1usize, 16] {
                let mut line = format!("  {clients:>2} client(s):");
                for (name, admin) in &backends {
                    let db = BenchDatabase::new(*admin).await;
                    let c = stored_call_rate(&db, "127.207.0.0/16", clients, 4000).await;
                    db.drop_database().await;
                    line.push_str(&format!("   {name}: {c:>7.0} calls/s"));
                }
                println!("{line}");
            }
        }
        if std::env::args().any(|a| a == "store") {
            return;
        }

        let db = BenchDatabase::new(None).await;
        let eager_db = BenchDatabase::new(None).await;
        let server = start(true, "127.205.0.0/16", &db).await;
        let eager = start(false, "127.206.0.0/16", &eager_db).await;
        let base = format!("http://{}", server.addr);
        let eager_base = format!("http://{}", eager.addr);
        let client = reqwest::Client::new();
        let (id, token) = new_session(&client, &base).await;
        let (eager_id, eager_token) = new_session(&client, &eager_base).await;
        let health = {
            let (client, url) = (client.clone(), format!("{base}/healthz"));
            move || client.get(&url)
        };
        let call = {
            let (client, url, token) = (client.clone(), format!("{base}/api/sessions/{id}/calls"), token.clone());
            move || client.post(&url).bearer_auth(&token).json(&json!({"host":"A","call":"close","fd":99}))
        };
        let eager_call = {
            let (client, url, token) = (client.clone(), format!("{eager_base}/api/sessions/{eager_id}/calls"), eager_token.clone());
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
        rate(1, 500, eager_call.clone()).await;
        println!("HTTP ({} requests per figure)", 4000);
        for clients in [1usize, 4, 16] {
            let h = rate(clients, 4000 / clients, health.clone()).await;
            let b = rate(clients, 4000 / clients, bare.clone()).await;
            let c = rate(clients, 4000 / clients, call.clone()).await;
            let e = rate(clients, 4000 / clients, eager_call.clone()).await;
            println!(
                "  {clients} client(s): /healthz {h:>7.0} req/s (database ping)   bare 404 {b:>7.0} req/s   \
                 call {c:>7.0} calls/s   healthz/call {:.2}   bare/call {:.2}",
                h / c,
                b / c
            );
            println!(
                "               acknowledged when stored {c:>7.0} calls/s   at once {e:>7.0} calls/s   stored/at once {:.2}",
                c / e
            );
        }
        println!("Call latency, 200 sessions x 10 calls/s for 10 s");
        for (name, at) in [("acknowledged when stored", &base), ("acknowledged at once", &eager_base)] {
            let (p50, p99, n) = paced_latency(&client, at, 200, 10, 10).await;
            println!(
                "  {name:<25} p50 {:>7.2} ms   p99 {:>7.2} ms   ({n} calls)",
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3
            );
        }
        eager.stop().await.expect("stop");

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
    });
}

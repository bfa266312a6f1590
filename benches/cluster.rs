//! Cluster benchmark: what forwarding between nodes costs, and what three nodes serve
//! together. Three `plugboard` processes (this build's binary) on loopback ports share one
//! PostgreSQL database created for the run.
//!
//! Reports, side by side in one run:
//! 1. a call to the node that owns its session ÷ the same call through another node, which
//!    forwards it (one client, calls in alternating rounds so both see the same machine);
//! 2. calls per second over all nodes with 16 clients, each with a session of its own: all on
//!    one node, and spread over three with each request sent to the next node in turn (as a
//!    round-robin balancer does: two requests in three are forwarded).
//!
//! Needs `PLUGBOARD_BENCH_POSTGRES_URL` or `PLUGBOARD_TEST_POSTGRES_URL` (an admin URL).
//! Run: `cargo bench --bench cluster`.

#![allow(clippy::print_stdout)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};

/// The call measured: `close` on a descriptor that is not open (a trivial kernel path), so
/// the figures are the HTTP path's, forwarding included.
fn call() -> Value {
    json!({"host": "A", "call": "close", "fd": 9})
}

/// Calls per round of the ratio; rounds alternate direct and forwarded.
const ROUND: usize = 200;
const ROUNDS: usize = 10;
/// Clients of the throughput figure, and how long each figure is measured.
const CLIENTS: usize = 16;
const MEASURE: Duration = Duration::from_secs(5);

struct Node {
    child: Child,
    base: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.child.kill().ok(/* gone */);
        self.child.wait().ok(/* reaped */);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a port")
        .local_addr()
        .expect("its address")
        .port()
}

async fn start_node(db: &str, pool: &str) -> Node {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--advertise-url", &base, "--database-url", db])
        .args(["--cluster-secret", "the secret of the cluster benchmark"])
        .args(["--isolation", "loopback", "--address-pool", pool])
        .args(["--sessions-per-minute", "100000"])
        .args(["--client-calls-per-second", "10000000"])
        .args(["--max-calls-per-second", "1000000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the plugboard binary");
    let node = Node { child, base };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while client
        .get(format!("{}/healthz", node.base))
        .send()
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "a node did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    node
}

async fn new_session(client: &reqwest::Client, base: &str) -> (String, String) {
    let response = client
        .post(format!("{base}/api/sessions"))
        .json(&json!({}))
        .send()
        .await
        .expect("create");
    assert_eq!(response.status().as_u16(), 201);
    let body: Value = response.json().await.expect("json");
    (
        body["id"].as_str().expect("id").to_owned(),
        body["token"].as_str().expect("token").to_owned(),
    )
}

async fn calls(client: &reqwest::Client, base: &str, id: &str, token: &str, n: usize) {
    let url = format!("{base}/api/sessions/{id}/calls");
    for _ in 0..n {
        let response = client
            .post(&url)
            .bearer_auth(token)
            .json(&call())
            .send()
            .await
            .expect("call");
        assert_eq!(response.status().as_u16(), 200);
        response.bytes().await.expect("body");
    }
}

/// Calls per second of `CLIENTS` clients for `MEASURE`, client `i` with session `sessions[i]`
/// and its requests sent to the nodes of `bases` in turn.
async fn throughput(bases: &[String], sessions: &[(String, String)]) -> f64 {
    let deadline = Instant::now() + MEASURE;
    let tasks: Vec<_> = sessions
        .iter()
        .enumerate()
        .map(|(i, (id, token))| {
            let bases = bases.to_vec();
            let (id, token) = (id.clone(), token.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut done = 0u64;
                let mut next = i;
                while Instant::now() < deadline {
                    calls(&client, &bases[next % bases.len()], &id, &token, 1).await;
                    next += 1;
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("client");
    }
    total as f64 / MEASURE.as_secs_f64()
}

async fn run(admin: String) {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).expect("random");
    let name = format!(
        "plugboard_bench_cluster_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let mut connection = PgConnection::connect(&admin).await.expect("PostgreSQL");
    connection
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create database");
    let url = format!(
        "{}/{name}",
        admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b)
    );
    let mut nodes = Vec::new();
    for (i, pool) in ["127.151.0.0/16", "127.152.0.0/16", "127.153.0.0/16"]
        .iter()
        .enumerate()
    {
        nodes.push(start_node(&url, pool).await);
        println!("node {} at {}", i + 1, nodes[i].base);
    }
    // Each node sees the others once it has read the table after their start.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let client = reqwest::Client::new();

    // 1. Direct ÷ forwarded, in alternating rounds.
    let (id, token) = new_session(&client, &bases[0]).await;
    calls(&client, &bases[0], &id, &token, ROUND).await;
    calls(&client, &bases[1], &id, &token, ROUND).await;
    let (mut direct, mut forwarded) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..ROUNDS {
        let t = Instant::now();
        calls(&client, &bases[0], &id, &token, ROUND).await;
        direct += t.elapsed();
        let t = Instant::now();
        calls(&client, &bases[1], &id, &token, ROUND).await;
        forwarded += t.elapsed();
    }
    let n = (ROUND * ROUNDS) as f64;
    let (direct_rate, forwarded_rate) = (n / direct.as_secs_f64(), n / forwarded.as_secs_f64());
    println!(
        "1. one client: call to the owner {direct_rate:.0}/s ({:.0} µs), through another node \
         {forwarded_rate:.0}/s ({:.0} µs); forwarded ÷ direct = {:.2} (target ≥ 0.7)",
        direct.as_micros() as f64 / n,
        forwarded.as_micros() as f64 / n,
        forwarded_rate / direct_rate
    );

    // 2. One node against three.
    let mut on_one = Vec::new();
    for _ in 0..CLIENTS {
        on_one.push(new_session(&client, &bases[0]).await);
    }
    let one = throughput(&bases[..1], &on_one).await;
    let mut spread = Vec::new();
    for i in 0..CLIENTS {
        spread.push(new_session(&client, &bases[i % 3]).await);
    }
    let three = throughput(&bases, &spread).await;
    println!(
        "2. {CLIENTS} clients: 1 node {one:.0} calls/s; 3 nodes, round-robin (2 in 3 forwarded) \
         {three:.0} calls/s; ratio {:.2} ({} cores on this machine, shared by the three nodes, \
         PostgreSQL and the clients)",
        three / one,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    drop(nodes);
    connection
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
        .ok(/* left behind: harmless */);
}

fn main() {
    let Some(admin) = std::env::var("PLUGBOARD_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("PLUGBOARD_TEST_POSTGRES_URL"))
        .ok()
    else {
        println!(
            "cluster bench skipped: set PLUGBOARD_BENCH_POSTGRES_URL (or \
             PLUGBOARD_TEST_POSTGRES_URL) to a PostgreSQL admin URL"
        );
        return;
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(run(admin));
}

//! Three `plugboard` processes on loopback ports sharing one real PostgreSQL database: a
//! session is served by every node, a killed node's sessions are reported ended by the others
//! within the lease, and SIGTERM drains a node.
//!
//! Needs `PLUGBOARD_TEST_POSTGRES_URL` (an admin URL: each test makes a database of its own);
//! without it the tests say they are skipped, or fail when `PLUGBOARD_REQUIRE_POSTGRES` is
//! set (CI).

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::STEP;
use common::app::ApiSession;
use common::binary::free_port;
use common::database::TestDatabase;
use common::ws::{self, next};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The lease the nodes are started with: short, so a dead node is found quickly.
const LEASE_SECS: u64 = 2;
const SECRET: &str = "the secret of this test's cluster";

/// A node: a server process.
struct Node {
    child: Child,
    base: String,
    /// Its log, shown when a test fails.
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Node {
    /// Start a node on `db`, with `more` flags, and wait until it answers.
    async fn start(db: &TestDatabase, drain_secs: u64, more: &[&str]) -> Node {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("node.log");
        let child = Command::new(env!("CARGO_BIN_EXE_plugboard"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--advertise-url", &base])
            .args(["--database-url", &db.url])
            .args(["--cluster-secret", SECRET])
            .args(["--lease-secs", &LEASE_SECS.to_string()])
            .args(["--drain-timeout-secs", &drain_secs.to_string()])
            .args(["--isolation", "loopback"])
            .args(["--address-pool", &common::private_pool()])
            .args(["--sessions-per-minute", "100000"])
            .args(["--client-calls-per-second", "1000000"])
            .args(more)
            // Debug logs, so that the check that no token is logged has teeth.
            .env("RUST_LOG", "plugboard=debug,tower_http=debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let node = Node {
            child,
            base,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + STEP;
        while node.health().await.is_none() {
            assert!(
                Instant::now() < deadline,
                "a node did not come up:\n{}",
                node.logged()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        node
    }

    fn logged(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn health(&self) -> Option<Value> {
        let response = client().get(format!("{}/healthz", self.base)).send().await;
        response.ok()?.json().await.ok()
    }

    /// This node's id.
    async fn id(&self) -> u16 {
        let health = self.health().await.unwrap();
        health["cluster"]["node"].as_u64().unwrap() as u16
    }

    /// Create a session through this node; its answer.
    async fn create(&self) -> ApiSession {
        let response = client()
            .post(format!("{}/api/sessions", self.base))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{}", self.logged());
        ApiSession::created(client(), &self.base, response.json().await.unwrap())
    }

    fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on the pid of a child this test started and has not reaped.
        assert_eq!(
            unsafe { libc::kill(self.child.id() as libc::pid_t, signal) },
            0
        );
    }

    /// Wait for the process to exit; its exit status.
    async fn exited(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the node did not exit:\n{}",
                self.logged()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.child.kill().ok(/* already gone */);
        self.child.wait().ok(/* already reaped */);
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(STEP).build().unwrap()
}

/// The node a session id names.
fn owner(session: &ApiSession) -> u16 {
    u16::from_str_radix(&session.id[..4], 16).unwrap()
}

/// Three nodes on a fresh database, each knowing the other two.
async fn cluster(drain_secs: u64) -> Option<(TestDatabase, Vec<Node>)> {
    cluster_with(drain_secs, &[]).await
}

/// Three nodes started with `more` flags on a fresh database, each knowing the other two.
async fn cluster_with(drain_secs: u64, more: &[&str]) -> Option<(TestDatabase, Vec<Node>)> {
    let db = TestDatabase::postgres().await?;
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(Node::start(&db, drain_secs, more).await);
    }
    let deadline = Instant::now() + STEP;
    for node in &nodes {
        loop {
            let health = node.health().await.unwrap();
            if health["cluster"]["nodes"].as_array().map_or(0, Vec::len) == 3 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "nodes do not see each other: {health}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Some((db, nodes))
}

#[tokio::test]
async fn a_session_is_served_alike_by_every_node() {
    let Some((db, nodes)) = cluster(0).await else {
        return;
    };
    // Created through node 1, which has room: the session is node 1's.
    let s = nodes[0].create().await;
    assert_eq!(owner(&s), nodes[0].id().await);
    // Calls through node 2.
    let via2 = s.via(&nodes[1].base);
    let listener = via2.tcp_listener("B", 8080).await;
    let connected = via2.tcp_client("A", &s.addr("B", 8080)).await;
    let accepted = via2
        .ok(json!({"host": "B", "call": "accept", "fd": listener}))
        .await;
    assert!(accepted["fd"].as_i64().is_some(), "{accepted}");
    // Followed on a WebSocket through node 3 while calls keep coming through node 2.
    let via3 = s.via(&nodes[2].base);
    let caller = via2.spawn_calls(
        json!({"host": "A", "call": "send", "fd": connected, "data": "hi"}),
        100,
    );
    let mut socket = ws::connect(&via3.websocket_url(0, &s.viewer)).await;
    assert_eq!(next(&mut socket).await.unwrap()["type"], "snapshot");
    caller.await.unwrap();
    let last = via2.events().await.last().unwrap()["seq"].as_u64().unwrap();
    let mut seqs = Vec::new();
    while seqs.last().copied().unwrap_or(0) < last {
        let m = next(&mut socket).await.unwrap();
        assert_eq!(m["type"], "event", "{m}");
        seqs.push(m["event"]["seq"].as_u64().unwrap());
    }
    assert_eq!(
        seqs,
        (1..=last).collect::<Vec<_>>(),
        "every event through node 3, once, in order"
    );
    // Every node answers every read alike.
    let reads = [
        s.path(""),
        s.path("/events?after=0&limit=5"),
        s.path("/capture.pcapng"),
        s.path("/checks"),
    ];
    for path in reads {
        let mut answers = Vec::new();
        for node in &nodes {
            let response = client_get(&node.base, &path, &s.token).await;
            answers.push(response.0);
        }
        assert!(
            answers.iter().all(|a| *a == answers[0]),
            "{path}: {answers:?}"
        );
    }
    // The session's programs are the same whichever node writes them.
    let mut exports = Vec::new();
    for node in &nodes {
        let (status, body) = client_get(&node.base, &s.path("/export?lang=c"), &s.token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        exports.push(body);
    }
    assert!(
        !exports[0]["files"].as_array().unwrap().is_empty()
            && exports.iter().all(|e| *e == exports[0]),
        "{exports:?}"
    );
    // A request that claims to come from a node without the secret is refused.
    let forged = client()
        .get(format!("{}{}", nodes[0].base, s.path("")))
        .bearer_auth(&s.token)
        .header("x-plugboard-node", "2")
        .header("x-plugboard-client", "192.0.2.1")
        .header("x-plugboard-time", "0")
        .header("x-plugboard-signature", "00".repeat(32))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    // Ended through node 3; every node then reads it from the database.
    s.via(&nodes[2].base).end().await;
    for node in &nodes {
        let (status, body) = client_get(&node.base, &s.path(""), &s.token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["live"], false, "{body}");
    }
    // The owner token never reaches a node's log.
    for node in &nodes {
        assert!(
            !node.logged().contains(&s.token),
            "a node logged the owner token"
        );
    }
    // The nodes go first, then their database.
    drop(nodes);
    drop(db);
}

/// GET `path` on `base` as the owner; status and body.
async fn client_get(base: &str, path: &str, token: &str) -> (StatusCode, Value) {
    let response = client()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| json!({ "bytes": bytes.len() }));
    (status, body)
}

#[tokio::test]
async fn a_killed_node_s_sessions_are_reported_ended_by_the_others() {
    let Some((db, mut nodes)) = cluster(0).await else {
        return;
    };
    let doomed = nodes[0].create().await;
    let survivor = nodes[1].create().await;
    assert_ne!(owner(&doomed), owner(&survivor));
    let dead_id = nodes[0].id().await;
    nodes[0].signal(libc::SIGKILL);
    nodes[0].exited(STEP).await;
    let killed = Instant::now();
    // Within the lease (and a renewal of the others), every other node says it ended, and
    // why.
    let deadline = killed + Duration::from_secs(LEASE_SECS * 2) + STEP;
    for node in &nodes[1..] {
        loop {
            let (status, body) = client_get(&node.base, &doomed.path(""), &doomed.token).await;
            if status == StatusCode::OK && body["live"] == false {
                let reason = body["ended"].as_str().unwrap_or_default();
                assert!(
                    reason.contains(&format!("node {dead_id}"))
                        && reason.contains("stopped answering"),
                    "{body}"
                );
                break;
            }
            assert!(Instant::now() < deadline, "{status} {body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let took = killed.elapsed();
    assert!(
        took < Duration::from_secs(LEASE_SECS) + Duration::from_secs(LEASE_SECS),
        "reported ended after {took:?}, lease {LEASE_SECS} s"
    );
    // The other nodes' sessions go on, through any node.
    let via3 = survivor.via(&nodes[2].base);
    via3.udp_bound("A", 9000).await;
    let (status, body) = client_get(&nodes[2].base, &survivor.path(""), &survivor.token).await;
    assert_eq!(
        (status, body["live"].clone()),
        (StatusCode::OK, json!(true))
    );
    // And the dead node is no longer a member.
    let health = nodes[1].health().await.unwrap();
    let members: Vec<u64> = health["cluster"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_u64().unwrap())
        .collect();
    assert!(!members.contains(&u64::from(dead_id)), "{health}");
    // The nodes go first, then their database.
    drop(nodes);
    drop(db);
}

#[tokio::test]
async fn sigterm_drains_a_node() {
    let Some((db, mut nodes)) = cluster(30).await else {
        return;
    };
    let kept = nodes[2].create().await;
    let draining_id = nodes[2].id().await;
    nodes[2].signal(libc::SIGTERM);
    // Draining: it says so, and the others learn it.
    let deadline = Instant::now() + STEP;
    loop {
        let health = nodes[0].health().await.unwrap();
        let drains = health["cluster"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["id"] == draining_id && n["draining"] == true);
        if drains && nodes[2].health().await.unwrap()["draining"] == true {
            break;
        }
        assert!(Instant::now() < deadline, "{health}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // It takes no new session: one asked of it starts on another node.
    for _ in 0..3 {
        let placed = nodes[2].create().await;
        assert_ne!(owner(&placed), draining_id);
    }
    // Its live session is still served, through it and through the others.
    kept.via(&nodes[0].base).udp_bound("A", 9000).await;
    kept.udp_bound("B", 9000).await;
    assert!(
        nodes[2].child.try_wait().unwrap().is_none(),
        "stopped while a session was live"
    );
    // Once its last session ends, it stops on its own, cleanly.
    kept.via(&nodes[1].base).end().await;
    let status = nodes[2].exited(STEP).await;
    assert!(status.success(), "{status}\n{}", nodes[2].logged());
    // The session stays readable through the others, from the database.
    let (status, body) = client_get(&nodes[0].base, &kept.path(""), &kept.token).await;
    assert_eq!(
        (status, body["live"].clone()),
        (StatusCode::OK, json!(false))
    );
    // The nodes go first, then their database.
    drop(nodes);
    drop(db);
}

#[tokio::test]
async fn new_sessions_fill_every_node_then_the_cluster_says_it_is_full() {
    let Some((db, nodes)) = cluster_with(0, &["--max-sessions", "1"]).await else {
        return;
    };
    let mut owners = Vec::new();
    for _ in 0..3 {
        // Asked of node 1 each time: it starts the first itself, then places the others
        // where there is room, as the nodes' last renewals say.
        owners.push(owner(&nodes[0].create().await));
        let deadline = Instant::now() + STEP;
        loop {
            let health = nodes[0].health().await.unwrap();
            let live: u64 = health["cluster"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["live_sessions"].as_u64().unwrap())
                .sum();
            if live == owners.len() as u64 {
                break;
            }
            assert!(Instant::now() < deadline, "{health}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    owners.sort_unstable();
    owners.dedup();
    assert_eq!(owners.len(), 3, "one session on each node");
    // No node has room: any node answers 503 with Retry-After, in the one error shape.
    for node in &nodes {
        let response = client()
            .post(format!("{}/api/sessions", node.base))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key("retry-after"));
        let body: Value = response.json().await.unwrap();
        // From the node asked, or from the node it forwarded to if its figures were older.
        assert_eq!(body["type"], "server_full", "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("room") || message.contains("full"),
            "{body}"
        );
    }
    // The nodes go first, then their database.
    drop(nodes);
    drop(db);
}

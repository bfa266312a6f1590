//! Exported programs really reproduce their session. Each test records a session through the
//! real server, exports it through `GET …/export`, builds the programs, runs one per host —
//! each in a network namespace of its own with its host's address when this process may make
//! namespaces, else on the session's loopback addresses — and checks every step's printed
//! outcome against the session's log, read independently of the exporter.
//!
//! A language is one [`Toolchain`]: how a file becomes a command to run.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::app::{ApiSession, Isolation, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Longest a build may take.
const BUILD_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest the programs of one session may run.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);
/// Seconds ahead of now the programs' shared timeline starts.
const START_DELAY_SECS: u64 = 3;
/// How long a call waits before the server answers "pending", for calls meant to block.
const PENDING_WAIT_MS: u64 = 50;

/// How the test builds and runs an exported file of one language.
struct Toolchain {
    /// `?lang=`.
    lang: &'static str,
    /// Build `file` (written in `dir`) and return the command that runs it.
    build: fn(dir: &Path, file: &Path) -> Vec<String>,
}

const C: Toolchain = Toolchain {
    lang: "c",
    build: build_c,
};

fn build_c(dir: &Path, file: &Path) -> Vec<String> {
    let exe = dir.join(file.file_stem().unwrap());
    let out = std::process::Command::new("cc")
        .args(["-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&exe)
        .arg(file)
        .output()
        .expect("cc runs");
    assert!(
        out.status.success(),
        "cc failed on {}:\n{}\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(file).unwrap()
    );
    vec![exe.to_string_lossy().into_owned()]
}

const PYTHON: Toolchain = Toolchain {
    lang: "python",
    build: run_python,
};

fn run_python(_: &Path, file: &Path) -> Vec<String> {
    let out = std::process::Command::new("python3")
        .args(["-m", "py_compile"])
        .arg(file)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{} does not compile:\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    vec!["python3".to_owned(), file.to_string_lossy().into_owned()]
}

const RUST: Toolchain = Toolchain {
    lang: "rust",
    build: build_rust,
};

/// One Rust build at a time: the builds share a target directory (socket2 is compiled once)
/// and each copies its binary out before the next build may overwrite it.
static RUST_BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn build_rust(dir: &Path, file: &Path) -> Vec<String> {
    let stem = file.file_stem().unwrap().to_str().unwrap();
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("export-rust");
    let _one = RUST_BUILD.lock().unwrap_or_else(|e| e.into_inner());
    // Every export is the same package at another path, and Cargo tells sources apart by
    // their path relative to the package and their time: mark this one newer than the last
    // build, or Cargo would take another session's binary for this one's.
    for name in [file.file_name().unwrap(), "Cargo.toml".as_ref()] {
        std::fs::File::options()
            .append(true)
            .open(dir.join(name))
            .and_then(|f| f.set_modified(std::time::SystemTime::now()))
            .unwrap();
    }
    // Clippy first, as a learner's editor would: a textbook example draws no lint either.
    for args in [
        &[
            "clippy",
            "--offline",
            "--quiet",
            "--bin",
            stem,
            "--",
            "-D",
            "warnings",
        ][..],
        &["build", "--offline", "--quiet", "--bin", stem][..],
    ] {
        let out = std::process::Command::new("cargo")
            .args(args)
            .env("CARGO_TARGET_DIR", &target)
            .env("RUSTFLAGS", "-D warnings")
            .current_dir(dir)
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "cargo {} failed on {}:\n{}\n{}",
            args[0],
            file.display(),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(file).unwrap()
        );
    }
    let exe = dir.join(stem);
    std::fs::copy(target.join("debug").join(stem), &exe).unwrap();
    vec![exe.to_string_lossy().into_owned()]
}

/// A server to record on: netns isolation where this process may make namespaces (the
/// programs then run in namespaces of their own), else loopback.
async fn app() -> (TestApp, bool) {
    if common::netns_available() {
        let app = TestApp::builder().isolation(Isolation::Netns).start().await;
        (app, true)
    } else {
        (TestApp::start().await, false)
    }
}

/// One step as the session's log tells it: the call and its outcome as programs print it.
fn logged_steps(events: &[Value]) -> BTreeMap<u32, (String, String)> {
    // call id -> (first seq, call, last event)
    let mut calls: BTreeMap<u64, (u64, String, Value)> = BTreeMap::new();
    for e in events {
        let (Some(id), Some(_host)) = (e["call_id"].as_u64(), e["host"].as_str()) else {
            continue;
        };
        if e["kind"] == "packet" {
            continue;
        }
        let seq = e["seq"].as_u64().unwrap();
        calls.entry(id).and_modify(|c| c.2 = e.clone()).or_insert((
            seq,
            e["kind"].as_str().unwrap().to_owned(),
            e.clone(),
        ));
    }
    let mut ordered: Vec<_> = calls.into_values().collect();
    ordered.sort_by_key(|c| c.0);
    let mut steps = BTreeMap::new();
    for ((_, call, last), n) in ordered.into_iter().zip(1..) {
        let outcome = match last["status"].as_str().unwrap() {
            "error" => last["errno"]["name"].as_str().unwrap().to_owned(),
            "pending" => "skipped".to_owned(),
            _ if ["send", "recv", "sendto", "recvfrom"].contains(&call.as_str()) => {
                last["bytes"].as_u64().unwrap_or(0).to_string()
            }
            _ => "ok".to_owned(),
        };
        steps.insert(n, (call, outcome));
    }
    steps
}

/// The steps a program printed: `step <n> <call> -> <outcome>`.
fn printed_steps(output: &str) -> BTreeMap<u32, (String, String)> {
    let mut steps = BTreeMap::new();
    for line in output.lines() {
        let Some(rest) = line.strip_prefix("step ") else {
            continue;
        };
        let (head, outcome) = rest.split_once(" -> ").expect(line);
        let (n, call) = head.split_once(' ').expect(line);
        let previous = steps.insert(
            n.parse().expect(line),
            (call.to_owned(), outcome.to_owned()),
        );
        assert!(previous.is_none(), "step {n} printed twice");
    }
    steps
}

/// Network namespaces for the programs, one per host, joined by a bridge-less star of veth
/// pairs around the first; deleted when dropped.
struct Namespaces {
    names: Vec<String>,
}

impl Namespaces {
    /// A namespace per `(host, addresses)`: its IPv4 address in a /24, its IPv6 one in a /64.
    fn new(hosts: &[(String, Vec<String>)]) -> Namespaces {
        let mut tag = [0u8; 3];
        getrandom::fill(&mut tag).unwrap();
        let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        let ip = |args: &[&str]| {
            let out = std::process::Command::new("ip")
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "ip {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let mut names = Namespaces { names: Vec::new() };
        for (host, _) in hosts {
            let name = format!("pbexport-{tag}-{host}");
            ip(&["netns", "add", &name]);
            names.names.push(name.clone());
            ip(&["-n", &name, "link", "set", "lo", "up"]);
        }
        // Two hosts: one veth pair between them.
        assert_eq!(hosts.len(), 2, "the recorded sessions have two hosts");
        let (a, b) = (format!("pbx{tag}a"), format!("pbx{tag}b"));
        ip(&[
            "link",
            "add",
            &a,
            "netns",
            &names.names[0],
            "type",
            "veth",
            "peer",
            "name",
            &b,
            "netns",
            &names.names[1],
        ]);
        for (i, dev) in [&a, &b].into_iter().enumerate() {
            let ns = &names.names[i];
            for addr in &hosts[i].1 {
                if addr.contains(':') {
                    let addr = format!("{addr}/64");
                    ip(&["-n", ns, "addr", "add", &addr, "dev", dev, "nodad"]);
                } else {
                    let addr = format!("{addr}/24");
                    ip(&["-n", ns, "addr", "add", &addr, "dev", dev]);
                }
            }
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        names
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for name in &self.names {
            std::process::Command::new("ip")
                .args(["netns", "del", name])
                .status()
                .ok(/* already gone: nothing to clean */);
        }
    }
}

/// Export `s` in `toolchain`'s language, run its programs and check each step against the log.
async fn replay(
    app: &TestApp,
    s: &ApiSession,
    netns: bool,
    toolchain: &Toolchain,
    accept_language: &str,
) -> Value {
    let events = s.events().await;
    let mut expected = logged_steps(&events);
    let path = s.path(&format!("/export?lang={}", toolchain.lang));
    let response = app
        .client
        .get(app.url(&path))
        .bearer_auth(&s.viewer)
        .header("accept-language", accept_language)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let export: Value = response.json().await.unwrap();
    // Calls the programs cannot make print `skipped`; which ones they are is checked by the
    // tests that record them.
    for skipped in export["skipped"].as_array().unwrap() {
        let step = u32::try_from(skipped["step"].as_u64().unwrap()).unwrap();
        expected.get_mut(&step).unwrap().1 = "skipped".to_owned();
    }
    assert_eq!(export["lang"], toolchain.lang);
    let dir = tempfile::tempdir().unwrap();
    let files = export["files"].as_array().unwrap();
    for file in files {
        let name = file["name"].as_str().unwrap();
        std::fs::write(dir.path().join(name), file["content"].as_str().unwrap()).unwrap();
    }
    let mut commands = Vec::new();
    for file in files.iter().filter(|f| f["host"].is_string()) {
        let source = dir.path().join(file["name"].as_str().unwrap());
        let build = toolchain.build;
        let (dir_path, src) = (dir.path().to_owned(), source.clone());
        let command = tokio::time::timeout(
            BUILD_TIMEOUT,
            tokio::task::spawn_blocking(move || build(&dir_path, &src)),
        )
        .await
        .expect("build timed out")
        .unwrap();
        commands.push((file["host"].as_str().unwrap().to_owned(), command));
    }
    // Every program gets every host's session addresses.
    let hosts: Vec<(String, Vec<String>)> = s.body["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let addrs = h["addrs"].as_array().unwrap();
            let addrs = addrs.iter().map(|a| a.as_str().unwrap().to_owned());
            (h["name"].as_str().unwrap().to_owned(), addrs.collect())
        })
        .collect();
    let namespaces = netns.then(|| Namespaces::new(&hosts));
    // One timeline for all programs, a little ahead so that each has started by then.
    let start_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + START_DELAY_SECS;
    let mut children = Vec::new();
    for (host, command) in &commands {
        // coreutils' timeout ends a program that hangs (a step that never returns).
        let mut argv: Vec<String> =
            vec!["timeout".to_owned(), format!("{}s", RUN_TIMEOUT.as_secs())];
        if let Some(ns) = &namespaces {
            let index = hosts.iter().position(|(h, _)| h == host).unwrap();
            argv.extend(["ip", "netns", "exec", &ns.names[index]].map(str::to_owned));
        }
        argv.push("env".to_owned());
        for (h, addrs) in &hosts {
            for a in addrs {
                let v6 = if a.contains(':') { "_V6" } else { "" };
                argv.push(format!("HOST_{h}{v6}={a}"));
            }
        }
        argv.push(format!("START_AT={start_at}"));
        argv.extend(command.iter().cloned());
        let child = std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        children.push((host.clone(), child));
    }
    let mut printed = BTreeMap::new();
    let mut report = String::new();
    for (host, child) in children {
        let out = tokio::time::timeout(
            RUN_TIMEOUT + Duration::from_secs(5),
            tokio::task::spawn_blocking(move || child.wait_with_output()),
        )
        .await
        .unwrap_or_else(|_| panic!("host {host}'s program did not finish"))
        .unwrap()
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        report.push_str(&format!(
            "--- host {host} ({}):\n{stdout}{}\n",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
        for (n, step) in printed_steps(&stdout) {
            assert!(
                printed.insert(n, step).is_none(),
                "{}: step {n} on two hosts\n{report}",
                toolchain.lang
            );
        }
        if !out.status.success() {
            printed.insert(0, ("exit".to_owned(), out.status.to_string()));
        }
    }
    assert_eq!(
        printed,
        expected,
        "the programs' steps differ from the session's log\n{report}\nexport:\n{}",
        files
            .iter()
            .map(|f| f["content"].as_str().unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    );
    drop(namespaces);
    export
}

/// The recorded sessions: each a script of calls on a fresh session.
async fn record_textbook_tcp(s: &ApiSession) {
    let b = s.addr("B", 8080);
    let lfd = s.socket("B", "stream").await;
    s.bind("B", lfd, &b).await;
    s.ok(json!({"host": "B", "call": "listen", "fd": lfd, "backlog": 4}))
        .await;
    // accept blocks: nobody has connected yet.
    let (status, pending) = s
        .call(json!({"host": "B", "call": "accept", "fd": lfd, "wait_ms": PENDING_WAIT_MS}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{pending}");
    let cfd = s.tcp_client("A", &b).await;
    let accept_id = pending["call_id"].as_u64().unwrap();
    let done = s
        .wait_event("accept done", |e| {
            e["call_id"] == accept_id && e["status"] == "ok"
        })
        .await;
    let conn = done["new_fd"].as_i64().unwrap();
    // recv blocks until A sends.
    let (status, _) = s
        .call(json!({"host": "B", "call": "recv", "fd": conn, "wait_ms": PENDING_WAIT_MS}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    s.ok(json!({"host": "A", "call": "send", "fd": cfd, "data": "hello"}))
        .await;
    s.wait_event("recv done", |e| e["kind"] == "recv" && e["status"] == "ok")
        .await;
    s.ok(json!({"host": "B", "call": "send", "fd": conn, "data": "hello"}))
        .await;
    s.ok(json!({"host": "A", "call": "recv", "fd": cfd})).await;
    s.ok(json!({"host": "A", "call": "close", "fd": cfd})).await;
    let eof = s.ok(json!({"host": "B", "call": "recv", "fd": conn})).await;
    assert_eq!(eof["bytes"], 0, "{eof}");
    s.ok(json!({"host": "B", "call": "close", "fd": conn}))
        .await;
    s.ok(json!({"host": "B", "call": "close", "fd": lfd})).await;
}

async fn record_udp(s: &ApiSession) {
    let bfd = s.udp_bound("B", 9000).await;
    let afd = s.udp_bound("A", 9001).await;
    s.ok(json!({"host": "A", "call": "sendto", "fd": afd, "data": "ping", "addr": s.addr("B", 9000)}))
        .await;
    s.ok(json!({"host": "B", "call": "recvfrom", "fd": bfd}))
        .await;
    s.ok(json!({"host": "B", "call": "sendto", "fd": bfd, "data": "pong", "addr": s.addr("A", 9001)}))
        .await;
    s.ok(json!({"host": "A", "call": "recvfrom", "fd": afd}))
        .await;
    s.ok(json!({"host": "A", "call": "close", "fd": afd})).await;
    s.ok(json!({"host": "B", "call": "close", "fd": bfd})).await;
}

async fn record_refused(s: &ApiSession) {
    let b = s.addr("B", 8080);
    let early = s.socket("A", "stream").await;
    let (_, refused) = s
        .call(json!({"host": "A", "call": "connect", "fd": early, "addr": b}))
        .await;
    assert_eq!(refused["errno"], "ECONNREFUSED", "{refused}");
    s.ok(json!({"host": "A", "call": "close", "fd": early}))
        .await;
    // Now B listens, and the same connect succeeds.
    let lfd = s.tcp_listener("B", 8080).await;
    let cfd = s.tcp_client("A", &b).await;
    let conn = s
        .ok(json!({"host": "B", "call": "accept", "fd": lfd}))
        .await;
    s.ok(json!({"host": "A", "call": "close", "fd": cfd})).await;
    s.ok(json!({"host": "B", "call": "close", "fd": conn["fd"]}))
        .await;
    s.ok(json!({"host": "B", "call": "close", "fd": lfd})).await;
}

/// B listens on 8080 and accepted A's connection; (listener, A's fd, B's connection).
async fn connected(s: &ApiSession) -> (i64, i64, i64) {
    let lfd = s.tcp_listener("B", 8080).await;
    let cfd = s.tcp_client("A", &s.addr("B", 8080)).await;
    let conn = s
        .ok(json!({"host": "B", "call": "accept", "fd": lfd}))
        .await;
    (lfd, cfd, conn["fd"].as_i64().unwrap())
}

async fn record_half_close(s: &ApiSession) {
    let (lfd, cfd, conn) = connected(s).await;
    s.ok(json!({"host": "A", "call": "shutdown", "fd": cfd, "how": "write"}))
        .await;
    s.ok(json!({"host": "B", "call": "recv", "fd": conn})).await;
    s.ok(json!({"host": "B", "call": "send", "fd": conn, "data": "bye"}))
        .await;
    s.ok(json!({"host": "A", "call": "recv", "fd": cfd})).await;
    s.ok(json!({"host": "B", "call": "close", "fd": conn}))
        .await;
    s.ok(json!({"host": "A", "call": "recv", "fd": cfd})).await;
    s.ok(json!({"host": "A", "call": "close", "fd": cfd})).await;
    s.ok(json!({"host": "B", "call": "close", "fd": lfd})).await;
}

async fn record_linger_reset(s: &ApiSession) {
    let (lfd, cfd, conn) = connected(s).await;
    s.ok(
        json!({"host": "A", "call": "setsockopt", "fd": cfd, "option": "SO_LINGER",
        "value": {"onoff": true, "seconds": 0}}),
    )
    .await;
    s.ok(json!({"host": "A", "call": "close", "fd": cfd})).await;
    let (_, reset) = s
        .call(json!({"host": "B", "call": "recv", "fd": conn}))
        .await;
    assert_eq!(reset["errno"], "ECONNRESET", "{reset}");
    s.ok(json!({"host": "B", "call": "close", "fd": conn}))
        .await;
    s.ok(json!({"host": "B", "call": "close", "fd": lfd})).await;
}

async fn record_reuseaddr(s: &ApiSession) {
    // Linux lets a bind share a port with a connection in TIME_WAIT only when both sockets
    // set SO_REUSEADDR (the accepted one inherits it from its listener).
    let lfd = s.socket("B", "stream").await;
    s.ok(json!({"host": "B", "call": "setsockopt", "fd": lfd, "option": "SO_REUSEADDR", "value": true}))
        .await;
    s.bind("B", lfd, &s.addr("B", 8080)).await;
    s.ok(json!({"host": "B", "call": "listen", "fd": lfd}))
        .await;
    let cfd = s.tcp_client("A", &s.addr("B", 8080)).await;
    let conn = s
        .ok(json!({"host": "B", "call": "accept", "fd": lfd}))
        .await;
    let conn = conn["fd"].as_i64().unwrap();
    // B closes first: its side of the connection waits in TIME_WAIT on port 8080.
    s.ok(json!({"host": "B", "call": "close", "fd": conn}))
        .await;
    s.ok(json!({"host": "A", "call": "recv", "fd": cfd})).await;
    s.ok(json!({"host": "A", "call": "close", "fd": cfd})).await;
    s.ok(json!({"host": "B", "call": "close", "fd": lfd})).await;
    let again = s.socket("B", "stream").await;
    let (_, in_use) = s
        .call(json!({"host": "B", "call": "bind", "fd": again, "addr": s.addr("B", 8080)}))
        .await;
    assert_eq!(in_use["errno"], "EADDRINUSE", "{in_use}");
    s.ok(json!({"host": "B", "call": "setsockopt", "fd": again, "option": "SO_REUSEADDR", "value": true}))
        .await;
    s.bind("B", again, &s.addr("B", 8080)).await;
    s.ok(json!({"host": "B", "call": "listen", "fd": again}))
        .await;
    s.ok(json!({"host": "B", "call": "close", "fd": again}))
        .await;
}

async fn record_nonblocking_accept(s: &ApiSession) {
    let lfd = s.tcp_listener("B", 8080).await;
    s.ok(json!({"host": "B", "call": "nonblocking", "fd": lfd, "on": true}))
        .await;
    let (_, again) = s
        .call(json!({"host": "B", "call": "accept", "fd": lfd}))
        .await;
    assert_eq!(again["errno"], "EAGAIN", "{again}");
    let cfd = s.tcp_client("A", &s.addr("B", 8080)).await;
    let conn = s
        .ok(json!({"host": "B", "call": "accept", "fd": lfd}))
        .await;
    s.ok(json!({"host": "A", "call": "close", "fd": cfd})).await;
    s.ok(json!({"host": "B", "call": "close", "fd": conn["fd"]}))
        .await;
    s.ok(json!({"host": "B", "call": "close", "fd": lfd})).await;
}

/// The textbook flow and a datagram over IPv6 (netns mode: hosts have IPv6 addresses there).
async fn record_ipv6(s: &ApiSession) {
    let addr6 = |host: &str, port: u16| {
        let host = s.body["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == host)
            .unwrap();
        let ip = host["addrs"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|a| a.as_str().filter(|a| a.contains(':')))
            .unwrap();
        format!("[{ip}]:{port}")
    };
    let socket = |host: &'static str, ty: &'static str| async move {
        let made = s
            .ok(json!({"host": host, "call": "socket", "domain": "inet6", "type": ty}))
            .await;
        made["fd"].as_i64().unwrap()
    };
    let lfd = socket("B", "stream").await;
    s.bind("B", lfd, &addr6("B", 8080)).await;
    s.ok(json!({"host": "B", "call": "listen", "fd": lfd, "backlog": 2}))
        .await;
    let cfd = socket("A", "stream").await;
    s.ok(json!({"host": "A", "call": "connect", "fd": cfd, "addr": addr6("B", 8080)}))
        .await;
    let conn = s
        .ok(json!({"host": "B", "call": "accept", "fd": lfd}))
        .await;
    s.ok(json!({"host": "A", "call": "send", "fd": cfd, "data": "hello"}))
        .await;
    s.ok(json!({"host": "B", "call": "recv", "fd": conn["fd"]}))
        .await;
    let bu = socket("B", "dgram").await;
    s.bind("B", bu, &addr6("B", 9000)).await;
    let au = socket("A", "dgram").await;
    s.ok(
        json!({"host": "A", "call": "sendto", "fd": au, "data": "ping", "addr": addr6("B", 9000)}),
    )
    .await;
    s.ok(json!({"host": "B", "call": "recvfrom", "fd": bu}))
        .await;
}

/// Record a session with `script`, end it unless `live`, and replay it in every language.
async fn check(script: impl AsyncFnOnce(&ApiSession), live: bool) {
    let (app, netns) = app().await;
    let s = app.session().await;
    common::timeout(script(&s)).await;
    if !live {
        s.end().await;
    }
    for toolchain in [&C, &PYTHON, &RUST] {
        let export = replay(&app, &s, netns, toolchain, "en").await;
        assert_eq!(export["skipped"], json!([]), "every call is TCP or UDP");
    }
}

#[tokio::test]
async fn textbook_tcp_replays_while_the_session_is_live() {
    check(record_textbook_tcp, true).await;
}

#[tokio::test]
async fn tcp_and_udp_over_ipv6_replay() {
    if !common::netns_available() {
        return; // Loopback hosts have no IPv6 addresses of their own.
    }
    check(record_ipv6, false).await;
}

#[tokio::test]
async fn udp_replays() {
    check(record_udp, false).await;
}

#[tokio::test]
async fn connection_refused_then_accepted_replays() {
    check(record_refused, false).await;
}

#[tokio::test]
async fn half_close_replays() {
    check(record_half_close, false).await;
}

#[tokio::test]
async fn reset_by_linger_zero_replays() {
    check(record_linger_reset, false).await;
}

#[tokio::test]
async fn eaddrinuse_then_so_reuseaddr_replays() {
    check(record_reuseaddr, false).await;
}

#[tokio::test]
async fn nonblocking_accept_replays() {
    check(record_nonblocking_accept, false).await;
}

/// A Unix-domain socket's calls are left out, said so in the export, and the rest replays;
/// comments come in the request's language.
#[tokio::test]
async fn unix_calls_are_skipped_and_comments_speak_chinese() {
    let (app, netns) = app().await;
    let s = app.session().await;
    common::timeout(async {
        let made = s
            .ok(json!({"host": "A", "call": "socket", "domain": "unix", "type": "stream"}))
            .await;
        let ufd = made["fd"].as_i64().unwrap();
        s.ok(json!({"host": "A", "call": "bind", "fd": ufd, "addr": "/tmp/lesson.sock"}))
            .await;
        s.ok(json!({"host": "A", "call": "close", "fd": ufd})).await;
        record_udp(&s).await;
    })
    .await;
    s.end().await;
    for toolchain in [&C, &PYTHON, &RUST] {
        let export = replay(&app, &s, netns, toolchain, "zh-CN,zh;q=0.9").await;
        let skipped: Vec<(u64, &str)> = export["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| (k["step"].as_u64().unwrap(), k["reason"].as_str().unwrap()))
            .collect();
        assert_eq!(
            skipped,
            [(1, "unsupported"), (2, "unsupported"), (3, "unsupported")],
            "{export}"
        );
        let program = export["files"][0]["content"].as_str().unwrap();
        assert!(program.contains("套接字"), "{program}");
        assert!(
            export["readme"].as_str().unwrap().contains("运行"),
            "{export}"
        );
    }
}

#[tokio::test]
async fn a_language_not_exported_is_a_clear_400() {
    let app = TestApp::start().await;
    let s = app.session().await;
    let (status, body) = app.get(&s.path("/export?lang=cobol"), Some(&s.token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "lang", "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("cobol"),
        "{body}"
    );
    let (status, _) = app.get(&s.path("/export"), Some(&s.token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app.get(&s.path("/export?lang=c"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// In loopback isolation the sandbox, not the kernel, refuses a connect nobody of the session
/// listens for; it refuses as a kernel would, so the programs expect and meet the same
/// ECONNREFUSED on a machine of their own. Recorded in loopback mode whatever this process
/// may do; the programs run on the session's loopback addresses.
#[tokio::test]
async fn a_loopback_sessions_refused_connect_replays_too() {
    let app = TestApp::start().await;
    let s = app.session().await;
    common::timeout(record_refused(&s)).await;
    s.end().await;
    for toolchain in [&C, &PYTHON] {
        let export = replay(&app, &s, false, toolchain, "en").await;
        assert_eq!(
            export["skipped"],
            json!([]),
            "the refusal is the kernel's too"
        );
    }
}

//! Exercises through the REST API: for every exercise a solution that passes every check and a
//! wrong attempt that fails the check it should, with its hint; the catalog endpoints; grading
//! and attempts.
//!
//! Exercises that read packets on the wire are solved on a server in netns isolation (skipped,
//! with the reason printed, where namespaces cannot be made; failed instead when
//! PLUGBOARD_REQUIRE_NETNS is set), and shown to fail with the netns hint in loopback isolation.

mod common;

use std::time::Duration;

use common::app::{ApiSession, TestApp, netns_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A session set up for `exercise`.
async fn exercise(app: &TestApp, exercise: &str) -> ApiSession {
    let s = app.session_with(json!({"exercise": exercise})).await;
    assert_eq!(s.body["exercise"], exercise);
    s
}

/// Make a call and return the answer, whatever its status.
async fn call(s: &ApiSession, body: Value) -> Value {
    let (status, answer) = s.call(body.clone()).await;
    assert!(status.is_success(), "{body} -> {status} {answer}");
    answer
}

/// Wait until a built-in program on `host` has bound `port`.
async fn program_ready(s: &ApiSession, host: &str, kind: &str, port: u16) {
    s.wait_event("the program is ready", |e| {
        e["host"] == host
            && e["kind"] == kind
            && e["status"] == "ok"
            && e["tuple"]["local"]
                .as_str()
                .is_some_and(|a| a.ends_with(&format!(":{port}")))
    })
    .await;
}

/// Grade; the stored report.
async fn grade(app: &TestApp, s: &ApiSession) -> Value {
    let (status, report) = app.post(&s.path("/grade"), Some(&s.token), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert!(report["attempt"].as_i64().unwrap() > 0);
    report
}

fn assert_passes(report: &Value) {
    let failed: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] != true)
        .collect();
    assert!(
        failed.is_empty() && report["passed"] == true,
        "failed checks: {failed:#?}"
    );
}

/// The check `id` failed and came with its hint.
fn assert_fails(report: &Value, id: &str) {
    assert_eq!(report["passed"], false);
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}"));
    assert_eq!(check["passed"], false, "check {id} should fail: {report:#}");
    assert!(
        !check["hint"].as_str().unwrap_or("").is_empty(),
        "a failed check has a hint"
    );
}

/// Every check in `packet_checks` failed because the session captured no packets, with the
/// hint that says so; every other check passed.
fn assert_needs_netns(report: &Value, packet_checks: &[&str]) {
    for check in report["checks"].as_array().unwrap() {
        let id = check["id"].as_str().unwrap();
        if packet_checks.contains(&id) {
            let hint = check["hint"].as_str().unwrap_or("");
            assert_eq!(check["passed"], false, "{id} reads packets: {report:#}");
            assert!(hint.contains("need netns isolation"), "{id}: {hint}");
        } else {
            assert_eq!(check["passed"], true, "{id} reads no packets: {report:#}");
        }
    }
}

/// Whether the session captures packets.
fn captures(s: &ApiSession) -> bool {
    s.body["isolation"] == "netns"
}

fn tcp() -> Value {
    json!({"domain":"inet","type":"stream"})
}

fn with(mut base: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

#[tokio::test]
async fn tcp_server_lifecycle() {
    let mut app = TestApp::start().await;
    let s = exercise(&app, "tcp-server-lifecycle").await;
    let b = s.addr("B", 8080);
    call(&s, with(tcp(), json!({"host":"B","call":"socket"}))).await;
    call(&s, json!({"host":"B","call":"bind","fd":3,"addr": b})).await;
    call(&s, json!({"host":"B","call":"listen","fd":3,"backlog":4})).await;
    let accepted = call(
        &s,
        json!({"host":"B","call":"accept","fd":3,"wait_ms":5000}),
    )
    .await;
    assert_eq!(accepted["fd"], 4, "{accepted}");
    let got = call(
        &s,
        json!({"host":"B","call":"recv","fd":4,"max":100,"wait_ms":5000}),
    )
    .await;
    assert_eq!(got["data"], "hello");
    call(&s, json!({"host":"B","call":"send","fd":4,"data":"hello"})).await;
    call(&s, json!({"host":"B","call":"close","fd":4})).await;
    call(&s, json!({"host":"B","call":"close","fd":3})).await;
    assert_passes(&grade(&app, &s).await);

    // Forgetting listen: the client never connects, accept fails.
    let s = exercise(&app, "tcp-server-lifecycle").await;
    call(&s, with(tcp(), json!({"host":"B","call":"socket"}))).await;
    call(
        &s,
        json!({"host":"B","call":"bind","fd":3,"addr": s.addr("B", 8080)}),
    )
    .await;
    let (_, refused) = s.call(json!({"host":"B","call":"accept","fd":3})).await;
    assert_eq!(refused["errno"], "EINVAL");
    let report = grade(&app, &s).await;
    assert_fails(&report, "listening");
    assert_fails(&report, "accepted");
    app.stop().await;
}

#[tokio::test]
async fn tcp_client_echo() {
    let mut app = TestApp::start().await;
    let s = exercise(&app, "tcp-client-echo").await;
    program_ready(&s, "B", "listen", 7007).await;
    call(&s, with(tcp(), json!({"host":"A","call":"socket"}))).await;
    let c = call(
        &s,
        json!({"host":"A","call":"connect","fd":3,"addr": s.addr("B", 7007)}),
    )
    .await;
    assert_eq!(c["status"], "ok", "{c}");
    call(
        &s,
        json!({"host":"A","call":"send","fd":3,"data":"hello echo"}),
    )
    .await;
    let back = call(
        &s,
        json!({"host":"A","call":"recv","fd":3,"max":100,"wait_ms":5000}),
    )
    .await;
    assert_eq!(back["data"], "hello echo");
    call(&s, json!({"host":"A","call":"close","fd":3})).await;
    assert_passes(&grade(&app, &s).await);

    let s = exercise(&app, "tcp-client-echo").await;
    program_ready(&s, "B", "listen", 7007).await;
    call(&s, with(tcp(), json!({"host":"A","call":"socket"}))).await;
    let refused = call(
        &s,
        json!({"host":"A","call":"connect","fd":3,"addr": s.addr("B", 7008)}),
    )
    .await;
    assert_eq!(refused["errno"], "ECONNREFUSED");
    let report = grade(&app, &s).await;
    assert_fails(&report, "connected");
    assert_fails(&report, "echoed");
    app.stop().await;
}

#[tokio::test]
async fn udp_datagrams() {
    let mut app = TestApp::start().await;
    for (messages, solved) in [(vec!["one", "two"], true), (vec!["onetwo"], false)] {
        let s = exercise(&app, "udp-datagrams").await;
        call(
            &s,
            json!({"host":"B","call":"socket","domain":"inet","type":"dgram"}),
        )
        .await;
        call(
            &s,
            json!({"host":"B","call":"bind","fd":3,"addr": s.addr("B", 9000)}),
        )
        .await;
        call(
            &s,
            json!({"host":"A","call":"socket","domain":"inet","type":"dgram"}),
        )
        .await;
        for m in &messages {
            call(
                &s,
                json!({"host":"A","call":"sendto","fd":3,"data": m,"addr": s.addr("B", 9000)}),
            )
            .await;
        }
        for m in &messages {
            let got = call(&s, json!({"host":"B","call":"recvfrom","fd":3,"max":100})).await;
            assert_eq!(got["data"], *m);
        }
        let report = grade(&app, &s).await;
        if solved {
            assert_passes(&report);
        } else {
            assert_fails(&report, "two-sent");
            assert_fails(&report, "first");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn udp_echo() {
    let mut app = TestApp::start().await;
    for (port, solved) in [(9007, true), (9008, false)] {
        let s = exercise(&app, "udp-echo").await;
        program_ready(&s, "B", "bind", 9007).await;
        call(
            &s,
            json!({"host":"A","call":"socket","domain":"inet","type":"dgram"}),
        )
        .await;
        call(
            &s,
            json!({"host":"A","call":"sendto","fd":3,"data":"ping","addr": s.addr("B", port)}),
        )
        .await;
        let back = call(&s, json!({"host":"A","call":"recvfrom","fd":3,"max":100,"wait_ms": if solved { 5000 } else { 200 }})).await;
        let report = grade(&app, &s).await;
        if solved {
            assert_eq!(back["data"], "ping");
            assert_passes(&report);
        } else {
            assert_eq!(back["status"], "pending", "nothing answers on 9008");
            assert_fails(&report, "sent");
            assert_fails(&report, "answered");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn connection_refused() {
    let mut app = TestApp::start().await;
    for solved in [true, false] {
        let s = exercise(&app, "connection-refused").await;
        program_ready(&s, "B", "listen", 9009).await;
        call(&s, with(tcp(), json!({"host":"A","call":"socket"}))).await;
        let ok = call(
            &s,
            json!({"host":"A","call":"connect","fd":3,"addr": s.addr("B", 9009)}),
        )
        .await;
        assert_eq!(ok["status"], "ok");
        if solved {
            call(&s, with(tcp(), json!({"host":"A","call":"socket"}))).await;
            let refused = call(
                &s,
                json!({"host":"A","call":"connect","fd":4,"addr": s.addr("B", 8080)}),
            )
            .await;
            assert_eq!(refused["errno"], "ECONNREFUSED");
            assert_passes(&grade(&app, &s).await);
        } else {
            assert_fails(&grade(&app, &s).await, "refused");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn port_in_use() {
    let mut app = TestApp::start().await;
    let s = exercise(&app, "port-in-use").await;
    let b = s.addr("B", 8080);
    let reuse = |fd: i32| json!({"host":"B","call":"setsockopt","fd":fd,"option":"SO_REUSEADDR","value":true});
    call(&s, with(tcp(), json!({"host":"B","call":"socket"}))).await;
    call(&s, reuse(3)).await;
    call(&s, json!({"host":"B","call":"bind","fd":3,"addr": b})).await;
    call(&s, json!({"host":"B","call":"listen","fd":3})).await;
    call(&s, with(tcp(), json!({"host":"A","call":"socket"}))).await;
    call(&s, json!({"host":"A","call":"connect","fd":3,"addr": b})).await;
    call(&s, json!({"host":"B","call":"accept","fd":3})).await;
    call(&s, json!({"host":"B","call":"close","fd":4})).await;
    call(&s, json!({"host":"A","call":"close","fd":3})).await;
    call(&s, json!({"host":"B","call":"close","fd":3})).await;
    call(&s, with(tcp(), json!({"host":"B","call":"socket"}))).await;
    let in_use = call(&s, json!({"host":"B","call":"bind","fd":3,"addr": b})).await;
    assert_eq!(in_use["errno"], "EADDRINUSE");
    call(&s, reuse(3)).await;
    let bound = call(&s, json!({"host":"B","call":"bind","fd":3,"addr": b})).await;
    assert_eq!(bound["status"], "ok", "{bound}");
    assert_passes(&grade(&app, &s).await);

    let s = exercise(&app, "port-in-use").await;
    call(&s, with(tcp(), json!({"host":"B","call":"socket"}))).await;
    call(
        &s,
        json!({"host":"B","call":"bind","fd":3,"addr": s.addr("B", 8080)}),
    )
    .await;
    let report = grade(&app, &s).await;
    assert_fails(&report, "in-use");
    assert_fails(&report, "bound-again");
    app.stop().await;
}

#[tokio::test]
async fn listen_backlog() {
    let mut app = TestApp::start().await;
    let s = exercise(&app, "listen-backlog").await;
    let b = s.addr("B", 8080);
    call(&s, with(tcp(), json!({"host":"B","call":"socket"}))).await;
    call(&s, json!({"host":"B","call":"bind","fd":3,"addr": b})).await;
    call(&s, json!({"host":"B","call":"listen","fd":3,"backlog":1})).await;
    for fd in 3..=5 {
        call(&s, with(tcp(), json!({"host":"A","call":"socket"}))).await;
        let c = call(
            &s,
            json!({"host":"A","call":"connect","fd":fd,"addr": b,"wait_ms":300}),
        )
        .await;
        assert_eq!(c["status"], if fd < 5 { "ok" } else { "pending" }, "{c}");
    }
    call(&s, json!({"host":"B","call":"accept","fd":3})).await;
    assert_passes(&grade(&app, &s).await);

    let s = exercise(&app, "listen-backlog").await;
    call(&s, with(tcp(), json!({"host":"B","call":"socket"}))).await;
    call(
        &s,
        json!({"host":"B","call":"bind","fd":3,"addr": s.addr("B", 8080)}),
    )
    .await;
    call(&s, json!({"host":"B","call":"listen","fd":3,"backlog":8})).await;
    call(&s, with(tcp(), json!({"host":"A","call":"socket"}))).await;
    call(
        &s,
        json!({"host":"A","call":"connect","fd":3,"addr": s.addr("B", 8080)}),
    )
    .await;
    let report = grade(&app, &s).await;
    assert_fails(&report, "queue-filled");
    assert_fails(&report, "blocked");
    app.stop().await;
}

/// A and B connected: B listens on 8080 (fd 3), A's socket is fd 3, B's accepted one fd 4.
async fn connected(s: &ApiSession) {
    let b = s.addr("B", 8080);
    call(s, with(tcp(), json!({"host":"B","call":"socket"}))).await;
    call(s, json!({"host":"B","call":"bind","fd":3,"addr": b})).await;
    call(s, json!({"host":"B","call":"listen","fd":3})).await;
    call(s, with(tcp(), json!({"host":"A","call":"socket"}))).await;
    call(s, json!({"host":"A","call":"connect","fd":3,"addr": b})).await;
    let a = call(s, json!({"host":"B","call":"accept","fd":3})).await;
    assert_eq!(a["fd"], 4);
}

#[tokio::test]
async fn half_close() {
    let mut app = TestApp::start().await;
    let s = exercise(&app, "half-close").await;
    connected(&s).await;
    call(
        &s,
        json!({"host":"A","call":"shutdown","fd":3,"how":"write"}),
    )
    .await;
    let eof = call(
        &s,
        json!({"host":"B","call":"recv","fd":4,"max":10,"wait_ms":2000}),
    )
    .await;
    assert_eq!(eof["bytes"], 0);
    call(&s, json!({"host":"B","call":"send","fd":4,"data":"bye"})).await;
    let bye = call(
        &s,
        json!({"host":"A","call":"recv","fd":3,"max":10,"wait_ms":2000}),
    )
    .await;
    assert_eq!(bye["data"], "bye");
    s.wait_event("FIN_WAIT2", |e| e["to"] == "FIN_WAIT2").await;
    assert_passes(&grade(&app, &s).await);

    let s = exercise(&app, "half-close").await;
    connected(&s).await;
    call(&s, json!({"host":"A","call":"close","fd":3})).await;
    let report = grade(&app, &s).await;
    assert_fails(&report, "shutdown");
    assert_fails(&report, "read-answer");
    app.stop().await;
}

#[tokio::test]
async fn reset_linger() {
    let mut app = TestApp::start().await;
    for solved in [true, false] {
        let s = exercise(&app, "reset-linger").await;
        connected(&s).await;
        if solved {
            call(&s, json!({"host":"A","call":"setsockopt","fd":3,"option":"SO_LINGER","value":{"onoff":true,"seconds":0}})).await;
        }
        call(&s, json!({"host":"A","call":"close","fd":3})).await;
        let r = call(
            &s,
            json!({"host":"B","call":"recv","fd":4,"max":10,"wait_ms":2000}),
        )
        .await;
        let report = grade(&app, &s).await;
        if solved {
            assert_eq!(r["errno"], "ECONNRESET", "{r}");
            assert_passes(&report);
        } else {
            assert_eq!(r["bytes"], 0, "a plain close is a FIN: EOF, no reset");
            assert_fails(&report, "reset");
            assert_fails(&report, "econnreset");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn nonblocking_accept() {
    let mut app = TestApp::start().await;
    for solved in [true, false] {
        let s = exercise(&app, "nonblocking-accept").await;
        let b = s.addr("B", 8080);
        call(&s, with(tcp(), json!({"host":"B","call":"socket"}))).await;
        call(&s, json!({"host":"B","call":"bind","fd":3,"addr": b})).await;
        call(&s, json!({"host":"B","call":"listen","fd":3})).await;
        if solved {
            call(
                &s,
                json!({"host":"B","call":"nonblocking","fd":3,"on":true}),
            )
            .await;
        }
        let first = call(&s, json!({"host":"B","call":"accept","fd":3,"wait_ms":100})).await;
        assert_eq!(first["status"], if solved { "error" } else { "pending" });
        call(&s, with(tcp(), json!({"host":"A","call":"socket"}))).await;
        call(&s, json!({"host":"A","call":"connect","fd":3,"addr": b})).await;
        if solved {
            let second = call(&s, json!({"host":"B","call":"accept","fd":3})).await;
            assert_eq!(second["status"], "ok");
            assert_passes(&grade(&app, &s).await);
        } else {
            s.wait_event("accept done", |e| {
                e["kind"] == "accept" && e["status"] == "ok"
            })
            .await;
            let report = grade(&app, &s).await;
            assert_fails(&report, "nonblocking");
            assert_fails(&report, "eagain");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn ipv6() {
    let mut app = TestApp::start().await;
    for (domain, solved) in [("inet6", true), ("inet", false)] {
        let s = exercise(&app, "ipv6").await;
        let (wild, target) = if solved {
            let b6 = s.body["hosts"][1]["addrs"][1].as_str().unwrap().to_owned();
            ("[::]:8086".to_owned(), format!("[{b6}]:8086"))
        } else {
            ("0.0.0.0:8086".to_owned(), s.addr("B", 8086))
        };
        call(
            &s,
            json!({"host":"B","call":"socket","domain":domain,"type":"stream"}),
        )
        .await;
        call(&s, json!({"host":"B","call":"bind","fd":3,"addr": wild})).await;
        call(&s, json!({"host":"B","call":"listen","fd":3})).await;
        call(
            &s,
            json!({"host":"A","call":"socket","domain":domain,"type":"stream"}),
        )
        .await;
        let c = call(
            &s,
            json!({"host":"A","call":"connect","fd":3,"addr": target}),
        )
        .await;
        assert_eq!(c["status"], "ok", "{c}");
        call(&s, json!({"host":"B","call":"accept","fd":3})).await;
        call(&s, json!({"host":"A","call":"send","fd":3,"data":"hi6"})).await;
        call(
            &s,
            json!({"host":"B","call":"recv","fd":4,"max":10,"wait_ms":2000}),
        )
        .await;
        let report = grade(&app, &s).await;
        if solved {
            assert_passes(&report);
        } else {
            assert_fails(&report, "server");
            assert_fails(&report, "accepted");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn many_clients() {
    let mut app = TestApp::start().await;
    for clients in [3, 1] {
        let s = exercise(&app, "many-clients").await;
        let b = s.addr("B", 8080);
        call(&s, with(tcp(), json!({"host":"B","call":"socket"}))).await;
        call(&s, json!({"host":"B","call":"bind","fd":3,"addr": b})).await;
        call(&s, json!({"host":"B","call":"listen","fd":3,"backlog":8})).await;
        for i in 0..clients {
            call(&s, with(tcp(), json!({"host":"A","call":"socket"}))).await;
            call(
                &s,
                json!({"host":"A","call":"connect","fd":3 + i,"addr": b}),
            )
            .await;
            call(
                &s,
                json!({"host":"A","call":"send","fd":3 + i,"data": format!("c{i}")}),
            )
            .await;
        }
        for i in 0..clients {
            let a = call(&s, json!({"host":"B","call":"accept","fd":3})).await;
            assert_eq!(a["fd"], 4 + i);
            call(
                &s,
                json!({"host":"B","call":"recv","fd":4 + i,"max":10,"wait_ms":2000}),
            )
            .await;
        }
        let report = grade(&app, &s).await;
        if clients == 3 {
            assert_passes(&report);
        } else {
            assert_fails(&report, "three-accepted");
        }
    }
    app.stop().await;
}

/// handshake-numbers: connect to the echo server, send, read the echo, close.
async fn solve_handshake_numbers(s: &ApiSession) {
    program_ready(s, "B", "listen", 7007).await;
    call(s, with(tcp(), json!({"host":"A","call":"socket"}))).await;
    let c = call(
        s,
        json!({"host":"A","call":"connect","fd":3,"addr": s.addr("B", 7007),"wait_ms":5000}),
    )
    .await;
    assert_eq!(c["status"], "ok", "{c}");
    call(s, json!({"host":"A","call":"send","fd":3,"data":"hello"})).await;
    let back = call(
        s,
        json!({"host":"A","call":"recv","fd":3,"max":100,"wait_ms":5000}),
    )
    .await;
    assert_eq!(back["data"], "hello");
    call(s, json!({"host":"A","call":"close","fd":3})).await;
}

#[tokio::test]
async fn handshake_numbers() {
    let Some(mut app) = netns_app().await else {
        return;
    };
    let s = exercise(&app, "handshake-numbers").await;
    solve_handshake_numbers(&s).await;
    assert_passes(&grade(&app, &s).await);

    // A port where nothing listens: the SYN leaves, a RST answers it.
    let s = exercise(&app, "handshake-numbers").await;
    program_ready(&s, "B", "listen", 7007).await;
    call(&s, with(tcp(), json!({"host":"A","call":"socket"}))).await;
    let refused = call(
        &s,
        json!({"host":"A","call":"connect","fd":3,"addr": s.addr("B", 7008),"wait_ms":5000}),
    )
    .await;
    assert_eq!(refused["errno"], "ECONNREFUSED");
    let report = grade(&app, &s).await;
    assert_fails(&report, "syn-ack");
    assert_fails(&report, "handshake");
    app.stop().await;
}

/// refused-rst: connect to B:8080, where nothing listens.
async fn solve_refused_rst(s: &ApiSession) {
    call(s, with(tcp(), json!({"host":"A","call":"socket"}))).await;
    let refused = call(
        s,
        json!({"host":"A","call":"connect","fd":3,"addr": s.addr("B", 8080),"wait_ms":5000}),
    )
    .await;
    assert_eq!(refused["errno"], "ECONNREFUSED", "{refused}");
}

#[tokio::test]
async fn refused_rst() {
    let Some(mut app) = netns_app().await else {
        return;
    };
    let s = exercise(&app, "refused-rst").await;
    solve_refused_rst(&s).await;
    assert_passes(&grade(&app, &s).await);

    // A listener on B: its kernel answers the SYN with SYN+ACK, and nothing is refused.
    let s = exercise(&app, "refused-rst").await;
    let b = s.addr("B", 8080);
    call(&s, with(tcp(), json!({"host":"B","call":"socket"}))).await;
    call(&s, json!({"host":"B","call":"bind","fd":3,"addr": b})).await;
    call(&s, json!({"host":"B","call":"listen","fd":3})).await;
    call(&s, with(tcp(), json!({"host":"A","call":"socket"}))).await;
    let ok = call(&s, json!({"host":"A","call":"connect","fd":3,"addr": b})).await;
    assert_eq!(ok["status"], "ok");
    let report = grade(&app, &s).await;
    assert_fails(&report, "refused");
    assert_fails(&report, "rst");
    assert_fails(&report, "no-syn-ack");
    app.stop().await;
}

/// A pure ACK from `host` acknowledging the peer's FIN (the peer sent no data: relative ack 2).
fn acks_fin(e: &Value, host: &str) -> bool {
    e["kind"] == "packet"
        && e["host"] == host
        && e["packet"]["tcp"]["flags"] == json!(["ACK"])
        && e["packet"]["tcp"]["rel_ack"] == 2
}

/// four-way-close: A shuts down its write side first, B reads EOF and closes, A closes.
async fn solve_four_way_close(s: &ApiSession) {
    connected(s).await;
    call(
        s,
        json!({"host":"A","call":"shutdown","fd":3,"how":"write"}),
    )
    .await;
    s.wait_event("A in FIN_WAIT2", |e| {
        e["host"] == "A" && e["to"] == "FIN_WAIT2"
    })
    .await;
    let eof = call(
        s,
        json!({"host":"B","call":"recv","fd":4,"max":10,"wait_ms":2000}),
    )
    .await;
    assert_eq!(eof["bytes"], 0, "{eof}");
    call(s, json!({"host":"B","call":"close","fd":4})).await;
    if captures(s) {
        s.wait_event("A's ACK of B's FIN", |e| acks_fin(e, "A"))
            .await;
        s.wait_event("A's TIME_WAIT", |e| {
            e["kind"] == "kernel_socket" && e["host"] == "A" && e["to"] == "TIME_WAIT"
        })
        .await;
    }
    call(s, json!({"host":"A","call":"close","fd":3})).await;
}

#[tokio::test]
async fn four_way_close() {
    let Some(mut app) = netns_app().await else {
        return;
    };
    let s = exercise(&app, "four-way-close").await;
    solve_four_way_close(&s).await;
    assert_passes(&grade(&app, &s).await);

    // B closes first: A is the passive side and never sees FIN_WAIT2.
    let s = exercise(&app, "four-way-close").await;
    connected(&s).await;
    call(&s, json!({"host":"B","call":"close","fd":4})).await;
    let eof = call(
        &s,
        json!({"host":"A","call":"recv","fd":3,"max":10,"wait_ms":2000}),
    )
    .await;
    assert_eq!(eof["bytes"], 0, "{eof}");
    call(&s, json!({"host":"A","call":"close","fd":3})).await;
    s.wait_event("B's ACK of A's FIN", |e| acks_fin(e, "B"))
        .await;
    let report = grade(&app, &s).await;
    assert_fails(&report, "a-first");
    assert_fails(&report, "fin-wait2");
    app.stop().await;
}

/// udp-boundaries-on-the-wire: three sendto to the echo server, three echoes read back.
async fn solve_udp_boundaries(s: &ApiSession) {
    program_ready(s, "B", "bind", 9007).await;
    call(
        s,
        json!({"host":"A","call":"socket","domain":"inet","type":"dgram"}),
    )
    .await;
    let messages = ["one", "two", "three"];
    for m in messages {
        call(
            s,
            json!({"host":"A","call":"sendto","fd":3,"data": m,"addr": s.addr("B", 9007)}),
        )
        .await;
    }
    for m in messages {
        let got = call(
            s,
            json!({"host":"A","call":"recvfrom","fd":3,"max":100,"wait_ms":5000}),
        )
        .await;
        assert_eq!(got["data"], m);
    }
}

#[tokio::test]
async fn udp_boundaries_on_the_wire() {
    let Some(mut app) = netns_app().await else {
        return;
    };
    let s = exercise(&app, "udp-boundaries-on-the-wire").await;
    solve_udp_boundaries(&s).await;
    assert_passes(&grade(&app, &s).await);

    // One sendto with all three words: one datagram, one packet.
    let s = exercise(&app, "udp-boundaries-on-the-wire").await;
    program_ready(&s, "B", "bind", 9007).await;
    call(
        &s,
        json!({"host":"A","call":"socket","domain":"inet","type":"dgram"}),
    )
    .await;
    call(
        &s,
        json!({"host":"A","call":"sendto","fd":3,"data":"onetwothree","addr": s.addr("B", 9007)}),
    )
    .await;
    let back = call(
        &s,
        json!({"host":"A","call":"recvfrom","fd":3,"max":100,"wait_ms":5000}),
    )
    .await;
    assert_eq!(back["data"], "onetwothree");
    let report = grade(&app, &s).await;
    assert_fails(&report, "three-packets");
    assert_fails(&report, "one");
    assert_fails(&report, "echoed");
    app.stop().await;
}

/// Wait until the built-in Unix-domain server on `host` listens on `path`.
async fn unix_program_ready(s: &ApiSession, host: &str, path: &str) {
    s.wait_event("the Unix echo server listens", |e| {
        e["host"] == host
            && e["kind"] == "listen"
            && e["status"] == "ok"
            && e["tuple"]["local"] == path
    })
    .await;
}

fn unix(ty: &str) -> Value {
    json!({"domain":"unix","type": ty})
}

/// unix-echo: connect to the echo server's path, echo "hello", close, then meet ENOENT.
async fn solve_unix_echo(s: &ApiSession, path: &str) {
    unix_program_ready(s, "A", "/tmp/echo.sock").await;
    let fd = call(s, with(unix("stream"), json!({"host":"A","call":"socket"}))).await["fd"].clone();
    let c = call(
        s,
        json!({"host":"A","call":"connect","fd": fd,"addr": path}),
    )
    .await;
    if c["status"] != "ok" {
        return;
    }
    call(s, json!({"host":"A","call":"send","fd": fd,"data":"hello"})).await;
    let back = call(
        s,
        json!({"host":"A","call":"recv","fd": fd,"max":100,"wait_ms":5000}),
    )
    .await;
    assert_eq!(back["data"], "hello", "{back}");
    call(s, json!({"host":"A","call":"close","fd": fd})).await;
}

#[tokio::test]
async fn unix_echo() {
    let mut app = TestApp::start().await;
    let s = exercise(&app, "unix-echo").await;
    solve_unix_echo(&s, "/tmp/echo.sock").await;
    let fd = call(
        &s,
        with(unix("stream"), json!({"host":"A","call":"socket"})),
    )
    .await["fd"]
        .clone();
    let missing = call(
        &s,
        json!({"host":"A","call":"connect","fd": fd,"addr":"/tmp/nobody.sock"}),
    )
    .await;
    assert_eq!(missing["errno"], "ENOENT", "{missing}");
    assert_passes(&grade(&app, &s).await);

    // A typo in the path: ENOENT, and nothing reached the server. The server's own recv and
    // send of someone else's "hello" would not count either: its sockets are named
    // /tmp/echo.sock at their local end, not at the remote one.
    let s = exercise(&app, "unix-echo").await;
    solve_unix_echo(&s, "/tmp/echo").await;
    let report = grade(&app, &s).await;
    assert_fails(&report, "connected");
    assert_fails(&report, "echoed");
    assert_fails(&report, "closed");
    let passed = |id: &str| {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id && c["passed"] == true)
    };
    assert!(passed("no-such-file"), "{report:#}");
    app.stop().await;
}

/// A socketpair on A; its two descriptors.
async fn pair(s: &ApiSession, ty: &str) -> (Value, Value) {
    let made = call(s, with(unix(ty), json!({"host":"A","call":"socketpair"}))).await;
    assert_eq!(made["status"], "ok", "{made}");
    (made["fds"][0].clone(), made["fds"][1].clone())
}

async fn recv(s: &ApiSession, fd: &Value) -> Value {
    call(
        s,
        json!({"host":"A","call":"recv","fd": fd,"max":100,"wait_ms":2000}),
    )
    .await
}

#[tokio::test]
async fn socketpair() {
    let mut app = TestApp::start().await;
    let s = exercise(&app, "socketpair").await;
    let (one, two) = pair(&s, "stream").await;
    call(
        &s,
        json!({"host":"A","call":"send","fd": one,"data":"ping"}),
    )
    .await;
    assert_eq!(recv(&s, &two).await["data"], "ping");
    call(
        &s,
        json!({"host":"A","call":"send","fd": two,"data":"pong"}),
    )
    .await;
    assert_eq!(recv(&s, &one).await["data"], "pong");
    call(&s, json!({"host":"A","call":"close","fd": one})).await;
    assert_eq!(recv(&s, &two).await["bytes"], 0);
    assert_passes(&grade(&app, &s).await);

    // One direction only, both words from the same end, and no end of stream.
    let s = exercise(&app, "socketpair").await;
    let (one, two) = pair(&s, "stream").await;
    call(
        &s,
        json!({"host":"A","call":"send","fd": one,"data":"ping"}),
    )
    .await;
    assert_eq!(recv(&s, &two).await["data"], "ping");
    call(
        &s,
        json!({"host":"A","call":"send","fd": one,"data":"pong"}),
    )
    .await;
    assert_eq!(recv(&s, &two).await["data"], "pong");
    let report = grade(&app, &s).await;
    assert_fails(&report, "both-ways");
    assert_fails(&report, "end-of-stream");
    app.stop().await;
}

/// Send "one" and "two" on a new pair of type `ty`; what the first recv returned.
async fn two_sends_one_recv(s: &ApiSession, ty: &str) -> (Value, Value) {
    let (one, two) = pair(s, ty).await;
    for word in ["one", "two"] {
        call(s, json!({"host":"A","call":"send","fd": one,"data": word})).await;
    }
    (recv(s, &two).await["data"].clone(), two)
}

#[tokio::test]
async fn seqpacket_boundaries() {
    let mut app = TestApp::start().await;
    let s = exercise(&app, "seqpacket-boundaries").await;
    let (first, two) = two_sends_one_recv(&s, "seqpacket").await;
    assert_eq!(first, "one");
    assert_eq!(recv(&s, &two).await["data"], "two");
    let (merged, _) = two_sends_one_recv(&s, "stream").await;
    assert_eq!(merged, "onetwo");
    assert_passes(&grade(&app, &s).await);

    // Seqpacket with both words in one send: one message, read whole.
    let s = exercise(&app, "seqpacket-boundaries").await;
    let (one, two) = pair(&s, "seqpacket").await;
    call(
        &s,
        json!({"host":"A","call":"send","fd": one,"data":"onetwo"}),
    )
    .await;
    assert_eq!(recv(&s, &two).await["data"], "onetwo");
    let report = grade(&app, &s).await;
    assert_fails(&report, "one");
    assert_fails(&report, "two");
    assert_fails(&report, "stream-merged");
    app.stop().await;
}

/// Host `name`'s ephemeral port range, as the session reports it.
async fn ephemeral_range(s: &ApiSession, name: &str) -> (u16, u16) {
    let snapshot = s.json().await;
    let host = snapshot["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == name)
        .unwrap_or_else(|| panic!("no host {name}: {snapshot}"))
        .clone();
    let range = &host["ephemeral_ports"];
    let port = |i: usize| u16::try_from(range[i].as_u64().unwrap()).unwrap();
    (port(0), port(1))
}

/// Connect a new socket on A to B:7007 (bound first to `local`, when given); its local port.
async fn client_port(s: &ApiSession, local: Option<u16>) -> u16 {
    let fd = call(s, with(tcp(), json!({"host":"A","call":"socket"}))).await["fd"].clone();
    if let Some(port) = local {
        let bound = call(
            s,
            json!({"host":"A","call":"bind","fd": fd,"addr": s.addr("A", port)}),
        )
        .await;
        assert_eq!(bound["status"], "ok", "{bound}");
    }
    let c = call(
        s,
        json!({"host":"A","call":"connect","fd": fd,"addr": s.addr("B", 7007),"wait_ms":5000}),
    )
    .await;
    assert_eq!(c["status"], "ok", "{c}");
    let name = call(s, json!({"host":"A","call":"getsockname","fd": fd})).await;
    let addr: std::net::SocketAddr = name["addr"].as_str().unwrap().parse().unwrap();
    addr.port()
}

#[tokio::test]
async fn ephemeral_ports() {
    let mut app = TestApp::start().await;
    let s = exercise(&app, "ephemeral-ports").await;
    program_ready(&s, "B", "listen", 7007).await;
    let (lo, hi) = ephemeral_range(&s, "A").await;
    let ports = [client_port(&s, None).await, client_port(&s, None).await];
    assert_ne!(ports[0], ports[1]);
    assert!(
        ports.iter().all(|p| (lo..=hi).contains(p)),
        "{ports:?} {lo}-{hi}"
    );
    assert_passes(&grade(&app, &s).await);

    // Two ports chosen by hand, just below the range: two connections, but not ephemeral.
    let s = exercise(&app, "ephemeral-ports").await;
    program_ready(&s, "B", "listen", 7007).await;
    let (lo, _) = ephemeral_range(&s, "A").await;
    client_port(&s, Some(lo - 2)).await;
    client_port(&s, Some(lo - 1)).await;
    let report = grade(&app, &s).await;
    assert_fails(&report, "ephemeral");
    assert_fails(&report, "no-bind");
    let two = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "two-connections")
        .unwrap();
    assert_eq!(two["passed"], true, "{report:#}");
    app.stop().await;
}

/// The ICMP checksum (RFC 1071) of `message`.
fn icmp_checksum(message: &[u8]) -> u16 {
    let mut sum: u32 = message
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request as a raw ICMP socket writes it, in hex: type 8, code 0, the checksum
/// (computed, or `wrong`), id 7, `seq`, then "hi".
fn echo_request(seq: u16, wrong: Option<u16>) -> String {
    let mut message = vec![8, 0, 0, 0, 0, 7];
    message.extend(seq.to_be_bytes());
    message.extend(b"hi");
    let checksum = wrong.unwrap_or_else(|| icmp_checksum(&message));
    message[2..4].copy_from_slice(&checksum.to_be_bytes());
    message.iter().map(|b| format!("{b:02x}")).collect()
}

/// ping-raw-icmp with the message written byte by byte: a good request and its reply, then a
/// request with a wrong checksum (`wrong`), or a second good one, and what came back.
async fn solve_ping(s: &ApiSession, wrong: Option<u16>) -> Value {
    let fd = call(
        s,
        json!({"host":"A","call":"socket","domain":"inet","type":"raw","protocol":"icmp"}),
    )
    .await;
    assert_eq!(fd["status"], "ok", "{fd}");
    let fd = fd["fd"].clone();
    let b = s.ipv4("B").to_string();
    let send = |seq, wrong| json!({"host":"A","call":"sendto","fd": fd,"addr": b,"encoding":"hex","data": echo_request(seq, wrong)});
    call(s, send(1, None)).await;
    let reply = call(
        s,
        json!({"host":"A","call":"recvfrom","fd": fd,"max":200,"wait_ms":5000}),
    )
    .await;
    assert_eq!(reply["status"], "ok", "{reply}");
    call(s, send(2, wrong)).await;
    let second = call(
        s,
        json!({"host":"A","call":"recvfrom","fd": fd,"max":200,"wait_ms":1000}),
    )
    .await;
    if second["status"] == "pending" {
        call(s, json!({"host":"A","call":"close","fd": fd})).await;
    }
    second
}

#[tokio::test]
async fn ping_raw_icmp() {
    let Some(mut app) = netns_app().await else {
        return;
    };
    let s = exercise(&app, "ping-raw-icmp").await;
    let second = solve_ping(&s, Some(1234)).await;
    assert_eq!(
        second["status"], "pending",
        "no reply to a bad checksum: {second}"
    );
    assert_passes(&grade(&app, &s).await);

    // Two good requests: two replies, so nothing shows a checksum being checked.
    let s = exercise(&app, "ping-raw-icmp").await;
    let second = solve_ping(&s, None).await;
    assert_eq!(second["status"], "ok", "{second}");
    assert_fails(&grade(&app, &s).await, "bad-checksum-dropped");
    app.stop().await;
}

/// ping-raw-icmp as the exercise text tells it, with the `icmp` object of sendto.
#[tokio::test]
async fn ping_raw_icmp_with_the_icmp_object() {
    let Some(mut app) = netns_app().await else {
        return;
    };
    let s = exercise(&app, "ping-raw-icmp").await;
    let fd = call(
        &s,
        json!({"host":"A","call":"socket","domain":"inet","type":"raw","protocol":"icmp"}),
    )
    .await["fd"]
        .clone();
    let b = s.ipv4("B").to_string();
    let good = call(
        &s,
        json!({"host":"A","call":"sendto","fd": fd,"addr": b,"data":"hi",
               "icmp":{"type":8,"code":0,"id":7,"seq":1}}),
    )
    .await;
    assert_eq!(good["status"], "ok", "{good}");
    let reply = call(
        &s,
        json!({"host":"A","call":"recvfrom","fd": fd,"max":200,"wait_ms":5000}),
    )
    .await;
    assert_eq!(reply["status"], "ok", "{reply}");
    call(
        &s,
        json!({"host":"A","call":"sendto","fd": fd,"addr": b,"data":"hi",
               "icmp":{"type":8,"code":0,"id":7,"seq":2,"checksum":1234}}),
    )
    .await;
    let none = call(
        &s,
        json!({"host":"A","call":"recvfrom","fd": fd,"max":200,"wait_ms":1000}),
    )
    .await;
    assert_eq!(none["status"], "pending", "{none}");
    call(&s, json!({"host":"A","call":"close","fd": fd})).await;
    assert_passes(&grade(&app, &s).await);
    app.stop().await;
}

/// The same solutions in loopback isolation: what the calls show passes, what the packets
/// would show fails, with the hint that packets need netns isolation.
#[tokio::test]
async fn packet_exercises_in_loopback_say_they_need_netns() {
    let mut app = TestApp::start().await;
    let s = exercise(&app, "handshake-numbers").await;
    solve_handshake_numbers(&s).await;
    assert_needs_netns(
        &grade(&app, &s).await,
        &[
            "syn",
            "syn-ack",
            "handshake",
            "sent",
            "data-after-handshake",
        ],
    );

    let s = exercise(&app, "refused-rst").await;
    solve_refused_rst(&s).await;
    assert_needs_netns(
        &grade(&app, &s).await,
        &["syn", "rst", "rst-before-error", "no-syn-ack"],
    );

    let s = exercise(&app, "four-way-close").await;
    solve_four_way_close(&s).await;
    assert_needs_netns(
        &grade(&app, &s).await,
        &[
            "fin-a",
            "fin-a-acked",
            "a-first",
            "fin-b",
            "last-ack",
            "time-wait",
        ],
    );

    let s = exercise(&app, "udp-boundaries-on-the-wire").await;
    solve_udp_boundaries(&s).await;
    assert_needs_netns(
        &grade(&app, &s).await,
        &["three-packets", "one", "two", "three", "echoed"],
    );

    // Raw sockets: refused as for an unprivileged program, and every check says why.
    let s = exercise(&app, "ping-raw-icmp").await;
    let (_, refused) = s
        .call(json!({"host":"A","call":"socket","domain":"inet","type":"raw","protocol":"icmp"}))
        .await;
    assert_eq!(refused["errno"], "EPERM", "{refused}");
    assert_needs_netns(
        &grade(&app, &s).await,
        &[
            "raw-socket",
            "request",
            "reply",
            "received",
            "second-request",
            "bad-checksum-dropped",
        ],
    );
    app.stop().await;
}

#[tokio::test]
async fn catalog_grading_and_attempts() {
    let mut app = TestApp::builder()
        .admin_token("teacher-secret")
        .start()
        .await;
    let (status, list) = app.get("/api/exercises", None).await;
    assert_eq!(status, StatusCode::OK);
    let list = list.as_array().unwrap();
    assert!(list.len() >= 10);
    assert!(
        list.iter()
            .all(|e| e["title"].is_string() && e["checks"].as_u64().unwrap() > 0)
    );
    let (status, one) = app.get("/api/exercises/half-close", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(one["text"].as_str().unwrap().contains("shutdown"));
    assert!(
        one["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["hint"].is_string())
    );
    let (status, body) = app.get("/api/exercises/nope", None).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, body) = app
        .post("/api/sessions", None, json!({"exercise":"nope"}))
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("exercise"))
    );

    // A plain session cannot be graded.
    let plain = app.session().await;
    let (status, _) = app
        .post(&plain.path("/grade"), Some(&plain.token), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // The live checklist is not stored; grading is, and only the owner grades.
    let s = exercise(&app, "connection-refused").await;
    let (status, checks) = app.get(&s.path("/checks"), Some(&s.viewer)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(checks["attempt"].is_null());
    assert_eq!(checks["passed"], false);
    let (status, _) = app
        .post(&s.path("/grade"), Some(&s.viewer), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let first = grade(&app, &s).await;
    let second = grade(&app, &s).await;
    assert!(second["attempt"].as_i64() > first["attempt"].as_i64());

    let path = "/api/exercises/connection-refused/attempts";
    let (status, _) = app.get(path, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.get(path, Some("wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, attempts) = app.get(path, Some("teacher-secret")).await;
    assert_eq!(status, StatusCode::OK);
    let attempts = attempts.as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["session_id"], s.id);
    assert_eq!(attempts[0]["exercise_version"], 1);
    assert_eq!(attempts[0]["report"]["passed"], false);
    // An ended session can still be graded from the stored log.
    s.end().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = grade(&app, &s).await;
    assert_eq!(after["total_checks"], first["total_checks"]);
    app.stop().await;

    let mut closed = TestApp::start().await;
    let (status, _) = closed.get(path, Some("teacher-secret")).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "no admin token configured: attempts are off"
    );
    closed.stop().await;
}

//! The server as an operator sees it: health, metrics, errors, and a shutdown that loses
//! nothing.

mod common;

use common::app::TestApp;
use common::database::TestDatabase;
use plugboard::sandbox::SessionId;
use plugboard::store::Store;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn healthz_reports_version_isolation_and_database() {
    let mut app = TestApp::start().await;
    let (status, body) = app.get("/healthz", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["isolation"], "loopback");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    app.stop().await;
}

/// A wildcard listener would hold its port on every address of the loopback pool, so no
/// session could bind the server's own port (8080 in the container image, and in the
/// README's walk-through): the server serves each interface address instead.
#[tokio::test]
async fn a_wildcard_listener_leaves_its_port_to_loopback_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestApp::builder().config(dir.path());
    config.listen = "0.0.0.0:0".parse().unwrap();
    let mut app = TestApp::start_config(config).await;
    let port = app.addr().port();
    app.base = format!("http://127.0.0.1:{port}");
    let (status, body) = app.get("/healthz", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["isolation"], "loopback");

    let s = app.session().await;
    let server = s.addr("B", port);
    s.ok(json!({"host":"B","call":"socket","domain":"inet","type":"stream"}))
        .await;
    s.ok(json!({"host":"B","call":"bind","fd":3,"addr": server}))
        .await;
    s.ok(json!({"host":"B","call":"listen","fd":3,"backlog":4}))
        .await;
    s.ok(json!({"host":"A","call":"socket","domain":"inet","type":"stream"}))
        .await;
    s.ok(json!({"host":"A","call":"connect","fd":3,"addr": server}))
        .await;
    let accepted = s.ok(json!({"host":"B","call":"accept","fd":3})).await;
    assert_eq!(accepted["fd"], 4, "{accepted}");
    app.stop().await;
}

#[tokio::test]
async fn metrics_count_sessions_calls_and_requests() {
    let mut app = TestApp::start().await;
    let s = app.session().await;
    s.ok(json!({"host":"A","call":"socket","domain":"inet","type":"stream"}))
        .await;
    let (_, refused) = s
        .call(json!({"host":"A","call":"connect","fd":3,"addr": s.addr("B", 9)}))
        .await;
    assert_eq!(refused["errno"], "ECONNREFUSED");
    let text = app.metrics().await;
    assert!(text.contains("plugboard_live_sessions 1"), "{text}");
    assert!(text.contains("plugboard_open_sockets 1"), "{text}");
    assert!(
        text.contains(r#"plugboard_calls_total{kind="socket",outcome="ok"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"plugboard_calls_total{kind="connect",outcome="error"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"plugboard_http_requests_total{route="/api/sessions/{id}/calls",status="200"} 2"#
        ),
        "{text}"
    );
    assert!(text.contains("plugboard_events_logged_total"), "{text}");
    app.stop().await;
}

#[tokio::test]
async fn a_full_server_answers_503_with_retry_after_and_reports_its_room() {
    let mut app = TestApp::builder().max_sessions(2).start().await;
    let (_, health) = app.get("/healthz", None).await;
    assert_eq!(
        (
            &health["live_sessions"],
            &health["capacity"],
            &health["room"]
        ),
        (&json!(0), &json!(2), &json!(2)),
        "{health}"
    );
    let first = app.session().await;
    app.session().await;
    let (_, health) = app.get("/healthz", None).await;
    assert_eq!(
        (
            &health["live_sessions"],
            &health["capacity"],
            &health["room"]
        ),
        (&json!(2), &json!(2), &json!(0)),
        "{health}"
    );
    let text = app.metrics().await;
    assert!(text.contains("plugboard_session_capacity 2"), "{text}");
    assert!(text.contains("plugboard_session_room 0"), "{text}");

    let full = app
        .client
        .post(app.url("/api/sessions"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(full.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retry_after = full.headers()[reqwest::header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse::<u64>()
        .unwrap();
    assert!(retry_after > 0);
    let body: serde_json::Value = full.json().await.unwrap();
    assert_eq!(
        (&body["type"], &body["limit"], &body["max"]),
        (&json!("server_full"), &json!("max_sessions"), &json!(2)),
        "{body}"
    );
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("full") && message.contains(&format!("{retry_after} s")),
        "{message}"
    );

    // A session that ends makes room for the next.
    first.end().await;
    let deadline = tokio::time::Instant::now() + common::STEP;
    loop {
        let (_, health) = app.get("/healthz", None).await;
        if health["room"] == json!(1) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{health}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    app.session().await;
    app.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_shape() {
    let mut app = TestApp::start().await;
    let (status, body) = app.get("/nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["type"], "not_found");
    assert!(body["message"].as_str().unwrap().contains("/nope"));
    let (status, body) = app
        .send(reqwest::Method::PUT, "/api/sessions", None, None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["type"], "invalid_request");
    // A session id that is not UTF-8 once decoded names no session; it is not a fault.
    for path in [
        "/api/sessions/%FF",
        "/api/sessions/%FF/events",
        "/api/sessions/%C3%28/calls/1",
    ] {
        let (status, body) = app.get(path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {status} {body}");
        assert_eq!(body["type"], "not_found", "{path}");
    }
    app.stop().await;
}

test_on_each_backend!(shutdown_ends_sessions_and_flushes_every_event);

async fn shutdown_ends_sessions_and_flushes_every_event(db: TestDatabase) {
    let mut app = TestApp::builder().database_url(&db.url).start().await;
    let s = app.session().await;
    let b = s.addr("B", 8080);
    s.ok(json!({"host":"B","call":"socket","domain":"inet","type":"stream"}))
        .await;
    s.ok(json!({"host":"B","call":"bind","fd":3,"addr": b}))
        .await;
    s.ok(json!({"host":"B","call":"listen","fd":3,"backlog":64}))
        .await;
    for _ in 0..20 {
        s.ok(json!({"host":"A","call":"socket","domain":"inet","type":"stream"}))
            .await;
    }
    for fd in 3..23 {
        s.ok(json!({"host":"A","call":"connect","fd":fd,"addr": b}))
            .await;
    }
    let (_, live) = app.get(&s.path(""), Some(&s.token)).await;
    let seen = live["last_seq"].as_u64().unwrap();
    assert!(seen > 40);

    app.stop().await;

    let store = Store::connect(&db.url).await.unwrap();
    let id: SessionId = s.id.parse().unwrap();
    let stored = store.session(id).await.unwrap().unwrap();
    assert_eq!(
        stored.end_reason.as_ref().map(|r| r.en()),
        Some("the server shut down")
    );
    let events = store.events(id, 0, 100_000).await.unwrap();
    assert!(
        events.len() as u64 > seen,
        "every event, then the end: {} vs {seen}",
        events.len()
    );
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>());
    assert_eq!(
        events.last().unwrap().kind,
        plugboard::sandbox::EventKind::SessionEnded
    );
    assert_eq!(stored.last_seq, events.len() as u64);
}

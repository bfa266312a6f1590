//! A restart with the same database (a SQLite file, or PostgreSQL): sessions that were live
//! when the server died are marked ended with the reason, and their logs stay readable over
//! REST and WebSocket.

mod common;

use std::time::Duration;

use common::app::TestApp;
use common::binary::Binary;
use common::database::TestDatabase;
use common::ws;
use reqwest::StatusCode;
use serde_json::json;

test_on_each_backend!(sessions_live_at_a_crash_are_ended_at_restart_and_stay_readable);

async fn sessions_live_at_a_crash_are_ended_at_restart_and_stay_readable(db: TestDatabase) {
    let mut server = Binary::builder().database_url(&db.url).start().await;
    let s = server.session().await;
    let (id, token) = (s.id.clone(), s.token.clone());
    for call in [
        json!({"host":"B","call":"socket","domain":"inet","type":"stream"}),
        json!({"host":"B","call":"listen","fd":3}),
        json!({"host":"A","call":"close","fd":7}),
    ] {
        s.call(call).await;
    }
    let logged = s.json().await["last_seq"].as_u64().unwrap();
    // Wait until the writer has stored every event, then die without any chance to clean up.
    for _ in 0..200 {
        let metrics = server.metrics().await;
        if metrics.contains(&format!("plugboard_events_written_total {logged}")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill();

    // Restart on the same database.
    let mut app = TestApp::builder().database_url(&db.url).start().await;
    let (status, view) = app.get(&format!("/api/sessions/{id}"), Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["live"], false);
    assert_eq!(
        view["ended"],
        "the server restarted while the session was live"
    );
    assert_eq!(view["last_seq"].as_u64(), Some(logged));
    let (_, page) = app
        .get(&format!("/api/sessions/{id}/events"), Some(&token))
        .await;
    let kinds: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"session_started"));
    assert!(kinds.contains(&"listen"));
    assert_eq!(kinds.len() as u64, logged);
    // Calls on it are refused; the WebSocket replays it.
    let s = app.session_of(&id, &token);
    let (status, _) = s.call(json!({"host":"A","call":"close","fd":3})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let mut ws = s.websocket(0, &token).await;
    let mut events = 0;
    while let Some(m) = ws::next(&mut ws).await {
        if m["type"] == "event" {
            events += 1;
        }
        if m["type"] == "ended" {
            assert_eq!(
                m["reason"],
                "the server restarted while the session was live"
            );
            break;
        }
    }
    assert_eq!(events, logged);
    app.stop().await;
}

//! A restart with the same database file: sessions that were live when the server died are
//! marked ended with the reason, and their logs stay readable over REST and WebSocket.

mod common;

use std::time::Duration;

use common::app::{TestApp, test_config};
use common::binary::Binary;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn sessions_live_at_a_crash_are_ended_at_restart_and_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("plugboard.db");
    let url = format!("sqlite://{}", db.display());
    let pool = common::private_pool();
    let mut server = Binary::start(&[
        "--isolation",
        "loopback",
        "--address-pool",
        &pool,
        "--database-url",
        &url,
    ])
    .await;
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let created = server.session().await;
    let id = created["id"].as_str().unwrap().to_owned();
    let token = created["token"].as_str().unwrap().to_owned();
    for call in [
        json!({"host":"B","call":"socket","domain":"inet","type":"stream"}),
        json!({"host":"B","call":"listen","fd":3}),
        json!({"host":"A","call":"close","fd":7}),
    ] {
        client
            .post(format!("{base}/api/sessions/{id}/calls"))
            .bearer_auth(&token)
            .json(&call)
            .send()
            .await
            .unwrap();
    }
    let live: Value = client
        .get(format!("{base}/api/sessions/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let logged = live["last_seq"].as_u64().unwrap();
    // Wait until the writer has stored every event, then die without any chance to clean up.
    for _ in 0..200 {
        let metrics = client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains(&format!("plugboard_events_written_total {logged}")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill();

    // Restart on the same database.
    let mut config = test_config(dir.path(), &[]);
    config.database_url = url.clone();
    let mut app = TestApp::start_config(config).await;
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
    let (status, _) = app
        .call(
            &common::app::ApiSession {
                id: id.clone(),
                token: token.clone(),
                viewer: String::new(),
                body: Value::Null,
            },
            json!({"host":"A","call":"close","fd":3}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let ws_url = format!(
        "ws://{}/api/sessions/{id}/ws?token={token}",
        app.server.as_ref().unwrap().addr
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    let mut events = 0;
    while let Some(Ok(message)) = common::timeout(ws.next()).await {
        if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
            let m: Value = serde_json::from_str(&text).unwrap();
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
    }
    assert_eq!(events, logged);
    app.stop().await;
}

//! The WebSocket stream against a real server: snapshot first, then the log after `after`,
//! then live events with no gap and no repeat across the hand-over; a slow reader gets a
//! resync; an ended session replays from the database; shutdown closes cleanly.

mod common;

use std::time::Duration;

use common::app::{ApiSession, TestApp};
use common::timeout;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(app: &TestApp, s: &ApiSession, after: u64, token: &str) -> Ws {
    let url = format!(
        "ws://{}/api/sessions/{}/ws?after={after}&token={token}",
        app.server.as_ref().unwrap().addr,
        s.id
    );
    timeout(tokio_tungstenite::connect_async(url))
        .await
        .unwrap()
        .0
}

/// The next JSON message (pings and pongs skipped); None once closed.
async fn next<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>) -> Option<Value>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match timeout(ws.next()).await? {
            Ok(Message::Text(t)) => return Some(serde_json::from_str(&t).unwrap()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

#[tokio::test]
async fn snapshot_then_log_then_live_without_gap_or_repeat() {
    let mut app = TestApp::start_with(&[
        "--max-calls-per-second",
        "100000",
        "--client-calls-per-second",
        "100000",
    ])
    .await;
    let s = app.session().await;
    for _ in 0..10 {
        app.call(&s, json!({"host":"A","call":"close","fd":9}))
            .await;
    }
    // Subscribe in the middle of the log while calls keep coming from another task.
    let caller = {
        let client = app.client.clone();
        let url = app.url(&format!("/api/sessions/{}/calls", s.id));
        let token = s.token.clone();
        tokio::spawn(async move {
            for _ in 0..200 {
                client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"host":"B","call":"close","fd":9}))
                    .send()
                    .await
                    .unwrap();
            }
        })
    };
    let mut ws = connect(&app, &s, 5, &s.viewer).await;
    let first = next(&mut ws).await.unwrap();
    assert_eq!(first["type"], "snapshot");
    assert_eq!(first["snapshot"]["live"], true);
    assert!(first["snapshot"]["hosts"].is_array());
    caller.await.unwrap();
    let mut seqs = Vec::new();
    while seqs.last().copied().unwrap_or(0) < 211 {
        let m = next(&mut ws).await.unwrap();
        assert_eq!(m["type"], "event", "{m}");
        seqs.push(m["event"]["seq"].as_u64().unwrap());
    }
    assert_eq!(
        seqs,
        (6..=211).collect::<Vec<u64>>(),
        "every event after 5, once, in order"
    );
    ws.send(Message::Close(None)).await.ok();
    app.stop().await;
}

#[tokio::test]
async fn a_slow_reader_gets_a_resync_not_an_endless_queue() {
    let mut app = TestApp::start_with(&[
        "--subscriber-lag",
        "16",
        "--max-events",
        "100000",
        "--max-calls-per-second",
        "100000",
        "--client-calls-per-second",
        "100000",
        // The lag is what is tested here, not packets.
        "--capture",
        "false",
    ])
    .await;
    let s = app.session().await;
    // A client socket with a tiny receive buffer, so the server's writes back up quickly.
    let addr = app.server.as_ref().unwrap().addr;
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(2048).unwrap();
    socket.connect(&addr.into()).unwrap();
    socket.set_nonblocking(true).unwrap();
    let stream = tokio::net::TcpStream::from_std(socket.into()).unwrap();
    let url = format!("ws://{addr}/api/sessions/{}/ws?token={}", s.id, s.token);
    let (mut ws, _) = timeout(tokio_tungstenite::client_async(url, stream))
        .await
        .unwrap();
    assert_eq!(next(&mut ws).await.unwrap()["type"], "snapshot");
    // Not reading while about 500 events happen: each datagram is a sendto and a data
    // event. The server's send buffer for a WebSocket is small and fixed, so a few dozen
    // unread events fill it, and the subscriber falls behind.
    app.ok(
        &s,
        json!({"host":"B","call":"socket","domain":"inet","type":"dgram"}),
    )
    .await;
    app.ok(
        &s,
        json!({"host":"B","call":"bind","fd":3,"addr": s.addr("B", 9000)}),
    )
    .await;
    app.ok(
        &s,
        json!({"host":"A","call":"socket","domain":"inet","type":"dgram"}),
    )
    .await;
    let to = s.addr("B", 9000);
    let senders: Vec<_> = (0..4)
        .map(|_| {
            let client = app.client.clone();
            let url = app.url(&format!("/api/sessions/{}/calls", s.id));
            let token = s.token.clone();
            let body = json!({"host":"A","call":"sendto","fd":3,"data":"x","addr": to});
            tokio::spawn(async move {
                for _ in 0..60 {
                    client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for sender in senders {
        // Hundreds of calls: more time than one step, bounded all the same (and within the
        // server's write deadline, after which it would drop this reader).
        tokio::time::timeout(Duration::from_secs(60), sender)
            .await
            .unwrap()
            .unwrap();
    }
    let (_, view) = app
        .get(&format!("/api/sessions/{}", s.id), Some(&s.token))
        .await;
    let total = view["last_seq"].as_u64().unwrap();
    let mut resynced = None;
    let mut last = 0;
    let mut after_resync = Vec::new();
    while last < total {
        let m = next(&mut ws).await.expect("stream open");
        match m["type"].as_str() {
            Some("event") => {
                let seq = m["event"]["seq"].as_u64().unwrap();
                assert!(seq > last, "in order, no repeat: {seq} after {last}");
                if resynced.is_some() {
                    after_resync.push(seq);
                } else {
                    assert_eq!(seq, last + 1, "no gap before the resync");
                }
                last = seq;
            }
            Some("resync") => {
                let resume = m["snapshot"]["last_seq"].as_u64().unwrap();
                assert!(resume >= last);
                resynced = Some(resume);
                last = resume;
            }
            other => panic!("unexpected {other:?}: {m}"),
        }
    }
    let resume = resynced.expect("the slow reader was resynced");
    if let Some(first) = after_resync.first() {
        assert_eq!(
            *first,
            resume + 1,
            "events continue right after the snapshot"
        );
    }
    app.stop().await;
}

/// WebSocket subscribers the server counts now.
async fn subscribers(app: &TestApp) -> i64 {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("plugboard_websocket_subscribers "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the gauge is exported")
}

#[tokio::test]
async fn a_reader_that_stops_reading_is_dropped_within_seconds() {
    let mut app = TestApp::start_with(&[
        "--max-calls-per-second",
        "100000",
        "--client-calls-per-second",
        "100000",
    ])
    .await;
    let s = app.session().await;
    let addr = app.server.as_ref().unwrap().addr;
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(2048).unwrap();
    socket.connect(&addr.into()).unwrap();
    socket.set_nonblocking(true).unwrap();
    let stream = tokio::net::TcpStream::from_std(socket.into()).unwrap();
    let url = format!("ws://{addr}/api/sessions/{}/ws?token={}", s.id, s.token);
    let (mut ws, _) = timeout(tokio_tungstenite::client_async(url, stream))
        .await
        .unwrap();
    assert_eq!(next(&mut ws).await.unwrap()["type"], "snapshot");
    assert_eq!(subscribers(&app).await, 1);
    // Events keep coming and this reader reads none of them: once the server's small send
    // buffer and this socket's receive buffer are full, one send waits past the deadline.
    let started = std::time::Instant::now();
    let mut calls = 0;
    while subscribers(&app).await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "still subscribed after {calls} unread events"
        );
        for _ in 0..20 {
            app.call(&s, json!({"host":"A","call":"close","fd":9}))
                .await;
            calls += 1;
        }
    }
    // The deadline is 5 s from the send that blocked; filling the buffers takes well under
    // a second of calls.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "dropped after {:?}",
        started.elapsed()
    );
    // What the kernel held is still readable, then the stream ends without an `ended`.
    let mut ended = false;
    while let Some(m) = next(&mut ws).await {
        ended |= m["type"] == "ended";
    }
    assert!(!ended, "the session did not end; the reader was dropped");
    app.stop().await;
}

#[tokio::test]
async fn an_ended_session_replays_from_the_log_and_closes() {
    let mut app = TestApp::start().await;
    let s = app.session().await;
    app.call(
        &s,
        json!({"host":"A","call":"socket","domain":"inet","type":"stream"}),
    )
    .await;
    let mut live = connect(&app, &s, 0, &s.token).await;
    assert_eq!(next(&mut live).await.unwrap()["type"], "snapshot");
    app.send(
        reqwest::Method::DELETE,
        &format!("/api/sessions/{}", s.id),
        Some(&s.token),
        None,
    )
    .await;
    // The live subscriber sees the end, then the server closes.
    let mut kinds = Vec::new();
    while let Some(m) = next(&mut live).await {
        if m["type"] == "ended" {
            assert_eq!(m["reason"], "ended by its owner");
            break;
        }
        kinds.push(m["event"]["kind"].as_str().unwrap().to_owned());
    }
    assert_eq!(kinds.last().map(String::as_str), Some("session_ended"));
    assert!(next(&mut live).await.is_none(), "closed after the end");
    tokio::time::sleep(Duration::from_millis(100)).await;
    // A later subscriber replays the stored log.
    let mut replay = connect(&app, &s, 1, &s.viewer).await;
    let snap = next(&mut replay).await.unwrap();
    assert_eq!(
        (snap["type"].as_str(), snap["snapshot"]["live"].as_bool()),
        (Some("snapshot"), Some(false))
    );
    let mut seqs = Vec::new();
    while let Some(m) = next(&mut replay).await {
        if m["type"] == "ended" {
            break;
        }
        seqs.push(m["event"]["seq"].as_u64().unwrap());
    }
    let (_, view) = app
        .get(&format!("/api/sessions/{}", s.id), Some(&s.token))
        .await;
    let total = view["last_seq"].as_u64().unwrap();
    assert!(total >= 3);
    assert_eq!(seqs, (2..=total).collect::<Vec<u64>>());
    app.stop().await;
}

#[tokio::test]
async fn tokens_are_checked_and_shutdown_closes_the_stream() {
    let mut app = TestApp::start().await;
    let s = app.session().await;
    let url = format!(
        "ws://{}/api/sessions/{}/ws?token=pbv_wrong",
        app.server.as_ref().unwrap().addr,
        s.id
    );
    let refused = tokio_tungstenite::connect_async(url).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401)
        }
        other => panic!("expected 401, got {other:?}"),
    }
    let mut ws = connect(&app, &s, 0, &s.token).await;
    assert_eq!(next(&mut ws).await.unwrap()["type"], "snapshot");
    let server = app.server.take().unwrap();
    let stopping = tokio::spawn(server.stop());
    // The session's end arrives, then the close.
    let mut saw_end = false;
    while let Some(m) = next(&mut ws).await {
        if m["event"]["kind"] == "session_ended" {
            assert_eq!(m["event"]["reason"], "the server shut down");
            saw_end = true;
        }
    }
    assert!(
        saw_end,
        "the subscriber saw the session end before the close"
    );
    timeout(stopping).await.unwrap().unwrap();
}

#[tokio::test]
async fn subscribing_after_the_end_says_ended_at_once() {
    let mut app = TestApp::start().await;
    let s = app.session().await;
    app.send(
        reqwest::Method::DELETE,
        &format!("/api/sessions/{}", s.id),
        Some(&s.token),
        None,
    )
    .await;
    // Right away (the session may still be in memory) and far past the last seq.
    let mut ws = connect(&app, &s, 1_000_000, &s.token).await;
    assert_eq!(next(&mut ws).await.unwrap()["type"], "snapshot");
    let m = next(&mut ws).await.unwrap();
    assert_eq!(
        (m["type"].as_str(), m["reason"].as_str()),
        (Some("ended"), Some("ended by its owner"))
    );
    assert!(next(&mut ws).await.is_none());
    app.stop().await;
}

#[tokio::test]
async fn subscribers_per_session_are_bounded() {
    let mut app = TestApp::start().await;
    let s = app.session().await;
    let mut open = Vec::new();
    for _ in 0..plugboard::http::ws::MAX_SUBSCRIBERS {
        let mut ws = connect(&app, &s, 0, &s.viewer).await;
        assert_eq!(next(&mut ws).await.unwrap()["type"], "snapshot");
        open.push(ws);
    }
    let url = format!(
        "ws://{}/api/sessions/{}/ws?token={}",
        app.server.as_ref().unwrap().addr,
        s.id,
        s.viewer
    );
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429)
        }
        other => panic!("expected 429, got {other:?}"),
    }
    drop(open);
    app.stop().await;
}

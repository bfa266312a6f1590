//! The WebSocket stream against a real server: snapshot first, then the log after `after`,
//! then live events with no gap and no repeat across the hand-over; a slow reader gets a
//! resync; an ended session replays from the database; shutdown closes cleanly.

mod common;

use std::time::Duration;

use common::app::TestApp;
use common::timeout;
use common::ws::{self, next};
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn snapshot_then_log_then_live_without_gap_or_repeat() {
    let mut app = TestApp::builder().unthrottled().start().await;
    let s = app.session().await;
    for _ in 0..10 {
        s.call(json!({"host":"A","call":"close","fd":9})).await;
    }
    // Subscribe in the middle of the log while calls keep coming from another task.
    let caller = s.spawn_calls(json!({"host":"B","call":"close","fd":9}), 200);
    let mut ws = s.websocket(5, &s.viewer).await;
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
    let mut app = TestApp::builder()
        .subscriber_lag(16)
        .max_events(100_000)
        .unthrottled()
        // The lag is what is tested here, not packets.
        .capture(false)
        .start()
        .await;
    let s = app.session().await;
    // A client with a tiny receive buffer, so the server's writes back up quickly.
    let mut ws = ws::connect_slow_reader(app.addr(), &s.websocket_url(0, &s.token)).await;
    assert_eq!(next(&mut ws).await.unwrap()["type"], "snapshot");
    // Not reading while about 500 events happen: each datagram is a sendto and a data
    // event. The server's send buffer for a WebSocket is small and fixed, so a few dozen
    // unread events fill it, and the subscriber falls behind.
    s.udp_bound("B", 9000).await;
    let fd = s.socket("A", "dgram").await;
    let sendto = json!({"host":"A","call":"sendto","fd":fd,"data":"x","addr": s.addr("B", 9000)});
    let senders: Vec<_> = (0..4).map(|_| s.spawn_calls(sendto.clone(), 60)).collect();
    for sender in senders {
        // Hundreds of calls: more time than one step, bounded all the same (and within the
        // server's write deadline, after which it would drop this reader).
        tokio::time::timeout(Duration::from_secs(60), sender)
            .await
            .unwrap()
            .unwrap();
    }
    let total = s.json().await["last_seq"].as_u64().unwrap();
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
async fn subscribers(app: &TestApp) -> f64 {
    app.metric("plugboard_websocket_subscribers").await
}

#[tokio::test]
async fn a_reader_that_stops_reading_is_dropped_within_seconds() {
    let mut app = TestApp::builder().unthrottled().start().await;
    let s = app.session().await;
    let mut ws = ws::connect_slow_reader(app.addr(), &s.websocket_url(0, &s.token)).await;
    assert_eq!(next(&mut ws).await.unwrap()["type"], "snapshot");
    assert_eq!(subscribers(&app).await, 1.0);
    // Events keep coming and this reader reads none of them: once the server's small send
    // buffer and this socket's receive buffer are full, one send waits past the deadline.
    let started = std::time::Instant::now();
    let mut calls = 0;
    while subscribers(&app).await > 0.0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "still subscribed after {calls} unread events"
        );
        for _ in 0..20 {
            s.call(json!({"host":"A","call":"close","fd":9})).await;
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
    s.call(json!({"host":"A","call":"socket","domain":"inet","type":"stream"}))
        .await;
    let mut live = s.websocket(0, &s.token).await;
    assert_eq!(next(&mut live).await.unwrap()["type"], "snapshot");
    s.end().await;
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
    let mut replay = s.websocket(1, &s.viewer).await;
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
    let total = s.json().await["last_seq"].as_u64().unwrap();
    assert!(total >= 3);
    assert_eq!(seqs, (2..=total).collect::<Vec<u64>>());
    app.stop().await;
}

#[tokio::test]
async fn tokens_are_checked_and_shutdown_closes_the_stream() {
    let mut app = TestApp::start().await;
    let s = app.session().await;
    assert_eq!(ws::refused(&s.websocket_url(0, "pbv_wrong")).await, 401);
    let mut ws = s.websocket(0, &s.token).await;
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
    s.end().await;
    // Right away (the session may still be in memory) and far past the last seq.
    let mut ws = s.websocket(1_000_000, &s.token).await;
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
        let mut ws = s.websocket(0, &s.viewer).await;
        assert_eq!(next(&mut ws).await.unwrap()["type"], "snapshot");
        open.push(ws);
    }
    assert_eq!(ws::refused(&s.websocket_url(0, &s.viewer)).await, 429);
    drop(open);
    app.stop().await;
}

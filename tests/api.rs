//! The REST API against a real server on a random port with a fresh database: every endpoint's
//! success and failure paths, tokens, limits, rate limits and bad input.

mod common;

use std::time::Duration;

use common::app::{ApiSession, TestApp};
use plugboard::http::api::EventsPage;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let mut app = TestApp::start().await;
    let (status, doc) = app.get("/api/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for (method, path) in plugboard::http::routes() {
        let op = &doc["paths"][*path][method.to_lowercase()];
        assert!(
            op.is_object(),
            "{method} {path} is not in the OpenAPI document"
        );
        assert!(
            op["responses"].is_object(),
            "{method} {path} has no responses"
        );
    }
    for schema in [
        "CallRequest",
        "CallResponse",
        "ErrorBody",
        "Event",
        "Snapshot",
        "SessionCreated",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema} missing"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn session_lifecycle_and_tokens() {
    let mut app = TestApp::start().await;
    let s = app.session().await;
    assert!(s.token.starts_with("pbo_") && s.viewer.starts_with("pbv_"));
    assert_eq!(s.body["hosts"].as_array().unwrap().len(), 2);
    assert_eq!(s.body["isolation"], "loopback");
    assert_eq!(s.body["links"]["page"], format!("/s/{}", s.id));
    assert!(s.body["limits"]["max_sockets"].as_u64().unwrap() > 0);
    assert!(s.body["expires_ms"].as_u64().unwrap() > s.body["created_ms"].as_u64().unwrap());
    let path = format!("/api/sessions/{}", s.id);

    let (status, body) = app.get(&path, None).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    let (status, _) = app.get(&path, Some("pbo_not-the-token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, view) = app.get(&path, Some(&s.viewer)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["live"], true);
    assert!(view.get("token").is_none(), "tokens are shown once");

    // The viewer reads but does not act.
    let (status, body) = app
        .post(
            &format!("{path}/calls"),
            Some(&s.viewer),
            json!({"host":"A","call":"close","fd":3}),
        )
        .await;
    assert_eq!(
        (status, body["type"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (status, _) = app.send(Method::DELETE, &path, Some(&s.viewer), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Hosts.
    let (status, host) = app
        .post(&format!("{path}/hosts"), Some(&s.token), json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(host["name"], "C");

    // Unknown sessions.
    let (status, body) = app
        .get("/api/sessions/0000000000000000", Some(&s.token))
        .await;
    assert_eq!(
        (status, body["type"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, _) = app.get("/api/sessions/not-an-id", Some(&s.token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Ending: calls are refused after, the log stays readable.
    s.ok(json!({"host":"A","call":"socket","domain":"inet","type":"stream"}))
        .await;
    let (status, ended) = app.send(Method::DELETE, &path, Some(&s.token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ended["ended"], "ended by its owner");
    let (status, body) = s.call(json!({"host":"A","call":"close","fd":3})).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (StatusCode::CONFLICT, Some("session_ended"))
    );
    let (status, view) = app.get(&path, Some(&s.token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["live"], false);
    assert_eq!(view["ended"], "ended by its owner");
    let (_, page) = app.get(&format!("{path}/events"), Some(&s.viewer)).await;
    let page: EventsPage = serde_json::from_value(page).unwrap();
    assert_eq!(
        page.events.last().unwrap().kind,
        plugboard::sandbox::EventKind::SessionEnded
    );
    app.stop().await;
}

#[tokio::test]
async fn calls_read_like_the_design() {
    let mut app = TestApp::start().await;
    let s = app.session().await;
    let b = s.addr("B", 8080);
    let r = s
        .ok(json!({"host":"B","call":"socket","domain":"inet","type":"stream"}))
        .await;
    assert_eq!(r["fd"], 3);
    s.ok(json!({"host":"B","call":"bind","fd":3,"addr": b}))
        .await;
    s.ok(json!({"host":"B","call":"listen","fd":3,"backlog":4}))
        .await;
    s.ok(json!({"host":"A","call":"socket","domain":"inet","type":"stream"}))
        .await;
    s.ok(json!({"host":"A","call":"connect","fd":3,"addr": b}))
        .await;
    let accepted = s.ok(json!({"host":"B","call":"accept","fd":3})).await;
    assert_eq!(accepted["fd"], 4);
    assert!(
        accepted["peer"]
            .as_str()
            .unwrap()
            .starts_with(s.addr("A", 0).trim_end_matches(":0"))
    );
    let sent = s
        .ok(json!({"host":"A","call":"send","fd":3,"data":"hello"}))
        .await;
    assert_eq!(sent["bytes"], 5);
    let got = s
        .ok(json!({"host":"B","call":"recv","fd":4,"max":1024}))
        .await;
    assert_eq!(
        (got["data"].as_str(), got["bytes"].as_u64()),
        (Some("hello"), Some(5))
    );
    // Bytes that are not text come back in base64; hex on request.
    s.ok(json!({"host":"A","call":"send","fd":3,"data":"ff00","encoding":"hex"}))
        .await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let bin = s
        .ok(json!({"host":"B","call":"recv","fd":4,"max":2,"peek":true}))
        .await;
    assert_eq!(
        (bin["data"].as_str(), bin["encoding"].as_str()),
        (Some("/wA="), Some("base64"))
    );
    let hex = s
        .ok(json!({"host":"B","call":"recv","fd":4,"max":2,"encoding":"hex"}))
        .await;
    assert_eq!(hex["data"], "ff00");
    // A kernel refusal is a result: 200 with the errno, its number, message and a hint.
    s.ok(json!({"host":"A","call":"socket","domain":"inet","type":"stream"}))
        .await;
    let (status, refused) = s
        .call(json!({"host":"A","call":"connect","fd":4,"addr": s.addr("B", 9)}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(refused["status"], "error");
    assert_eq!(
        (refused["errno"].as_str(), refused["code"].as_i64()),
        (Some("ECONNREFUSED"), Some(111))
    );
    assert!(!refused["message"].as_str().unwrap().is_empty());
    assert!(!refused["hint"].as_str().unwrap().is_empty());
    // Not open: EBADF, also a result.
    let (_, badf) = s.call(json!({"host":"A","call":"close","fd":99})).await;
    assert_eq!(badf["errno"], "EBADF");
    // Options.
    s.ok(json!({"host":"A","call":"setsockopt","fd":4,"option":"SO_LINGER","value":{"onoff":true,"seconds":0}})).await;
    let linger = s
        .ok(json!({"host":"A","call":"getsockopt","fd":4,"option":"SO_LINGER"}))
        .await;
    assert_eq!(linger["value"], json!({"onoff": true, "seconds": 0}));
    app.stop().await;
}

#[tokio::test]
async fn blocking_calls_go_pending_and_can_be_polled() {
    let mut app = TestApp::start().await;
    let s = app.session().await;
    let b = s.addr("B", 8081);
    s.ok(json!({"host":"B","call":"socket","domain":"inet","type":"stream"}))
        .await;
    s.ok(json!({"host":"B","call":"bind","fd":3,"addr": b}))
        .await;
    s.ok(json!({"host":"B","call":"listen","fd":3})).await;
    let (status, pending) = s
        .call(json!({"host":"B","call":"accept","fd":3,"wait_ms":20}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(pending["status"], "pending");
    let call = format!("/api/sessions/{}/calls/{}", s.id, pending["call_id"]);
    let (status, still) = app.get(&call, Some(&s.token)).await;
    assert_eq!(
        (status, still["status"].as_str(), still["call"].as_str()),
        (StatusCode::ACCEPTED, Some("pending"), Some("accept"))
    );
    s.ok(json!({"host":"A","call":"socket","domain":"inet","type":"stream"}))
        .await;
    s.ok(json!({"host":"A","call":"connect","fd":3,"addr": b}))
        .await;
    let mut done = Value::Null;
    for _ in 0..200 {
        let (status, body) = app.get(&call, Some(&s.token)).await;
        if status == StatusCode::OK {
            done = body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        (done["status"].as_str(), done["fd"].as_i64()),
        (Some("ok"), Some(4))
    );
    let (status, _) = app.get(&s.path("/calls/999"), Some(&s.token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = s
        .call(json!({"host":"B","call":"accept","fd":3,"wait_ms":999999}))
        .await;
    // A wait no session allows can never be served: a bad request naming the bound.
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("wait_ms"))
    );
    assert!(
        body["message"].as_str().unwrap().contains("10000"),
        "{body}"
    );
    app.stop().await;
}

/// A malformed request: content type, body, expected status, expected field.
type BadCase = (
    Option<&'static str>,
    Vec<u8>,
    StatusCode,
    Option<&'static str>,
);

/// Send raw bytes as a call body.
async fn raw(
    app: &TestApp,
    s: &ApiSession,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .post(app.url(&s.path("/calls")))
        .bearer_auth(&s.token)
        .body(body);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (
        status,
        serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn bad_input_gets_a_precise_4xx_in_one_shape() {
    let mut app = TestApp::builder().max_body_bytes(2048).start().await;
    let s = app.session().await;
    let json = Some("application/json");
    let cases: Vec<BadCase> = vec![
        (json, b"{".to_vec(), StatusCode::BAD_REQUEST, None),
        (json, b"[1,2]".to_vec(), StatusCode::BAD_REQUEST, None),
        (json, b"null".to_vec(), StatusCode::BAD_REQUEST, None),
        (
            json,
            br#"{"host":"A","call":"teleport"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            Some("call"),
        ),
        (
            json,
            br#"{"host":"A","call":"bind","fd":"three","addr":"1.2.3.4:5"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            Some("fd"),
        ),
        (
            json,
            br#"{"host":"A","call":"bind","fd":3}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            Some("addr"),
        ),
        (
            json,
            br#"{"host":"Q","call":"close","fd":3}"#.to_vec(),
            StatusCode::CONFLICT,
            Some("host"),
        ),
        (
            json,
            br#"{"host":"AB","call":"close","fd":3}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            Some("host"),
        ),
        (
            json,
            br#"{"host":"A","call":"close","fd":-1}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            Some("fd"),
        ),
        (
            json,
            br#"{"host":"A","call":"close","fd":3,"wait_ms":-5}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            Some("wait_ms"),
        ),
        (
            json,
            br#"{"host":"A","call":"recv","fd":3,"max":1e99}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            Some("max"),
        ),
        (
            None,
            br#"{"host":"A","call":"close","fd":3}"#.to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
        ),
        (
            Some("text/plain"),
            br#"{}"#.to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
        ),
        (
            json,
            format!(
                r#"{{"host":"A","call":"send","fd":3,"data":"{}"}}"#,
                "x".repeat(4096)
            )
            .into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
        ),
        (json, vec![0xff, 0xfe, 0x00], StatusCode::BAD_REQUEST, None),
    ];
    for (ct, body, status, field) in cases {
        let shown = String::from_utf8_lossy(&body)
            .chars()
            .take(60)
            .collect::<String>();
        let (got, answer) = raw(&app, &s, ct, body).await;
        assert_eq!(got, status, "{shown} -> {answer}");
        assert!(
            answer["type"].is_string() && answer["message"].is_string(),
            "{shown} -> {answer}"
        );
        assert_eq!(answer["field"].as_str(), field, "{shown} -> {answer}");
    }
    // Unknown host of a well-formed name: the session has no such host (yet), 409 naming it.
    let (status, body) = s.call(json!({"host":"Z","call":"close","fd":3})).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::CONFLICT, Some("host"))
    );
    // Query strings too.
    let (status, body) = app.get(&s.path("/events?after=x"), Some(&s.token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = app.get(&s.path("/events?limit=0"), Some(&s.token)).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("limit"))
    );
    let (status, body) = app.get(&s.path("/events?bogus=1"), Some(&s.token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // Session creation input.
    let (status, body) = app.post("/api/sessions", None, json!({"hosts": 1})).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("hosts"))
    );
    let (status, body) = app
        .post("/api/sessions", None, json!({"color": "red"}))
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("color"))
    );
    // More hosts than any session may have: a bad request naming the maximum, not a limit.
    let (status, body) = app.post("/api/sessions", None, json!({"hosts": 99})).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("hosts"))
    );
    app.stop().await;
}

#[tokio::test]
async fn garbage_never_makes_a_500() {
    let mut app = TestApp::start().await;
    let s = app.session().await;
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let values = [
        json!(null),
        json!(true),
        json!(-1),
        json!(0),
        json!(3),
        json!(2147483648u64),
        json!(1.5),
        json!("A"),
        json!(""),
        json!("10.0.0.1:80"),
        json!("[::1]:0"),
        json!([]),
        json!({}),
        json!("inet6"),
        json!("dgram"),
        json!("SO_LINGER"),
        json!({"onoff":true,"seconds":4294967295u64}),
    ];
    let keys = [
        "host", "call", "fd", "addr", "domain", "type", "data", "max", "peek", "how", "option",
        "value", "on", "backlog", "wait_ms", "encoding",
    ];
    let calls = plugboard::http::wire::call_names();
    for _ in 0..400 {
        let mut body = serde_json::Map::new();
        body.insert("host".into(), json!(["A", "B", "C"][(next() % 3) as usize]));
        body.insert(
            "call".into(),
            json!(calls[(next() % calls.len() as u64) as usize]),
        );
        for _ in 0..(next() % 5) {
            let key = keys[(next() % keys.len() as u64) as usize];
            let value = values[(next() % values.len() as u64) as usize].clone();
            body.insert(key.into(), value);
        }
        if next() % 2 == 0 {
            body.insert("wait_ms".into(), json!(0));
        }
        let (status, answer) = s.call(Value::Object(body.clone())).await;
        assert!(
            status.is_success() || status.is_client_error(),
            "{} -> {status} {answer}",
            Value::Object(body)
        );
        assert!(answer.is_object(), "every answer is JSON");
    }
    app.stop().await;
}

#[tokio::test]
async fn limits_answer_429_with_the_limit_named() {
    let mut app = TestApp::builder().max_sockets(1).start().await;
    let s = app.session().await;
    s.ok(json!({"host":"A","call":"socket","domain":"inet","type":"dgram"}))
        .await;
    let (status, body) = s
        .call(json!({"host":"A","call":"socket","domain":"inet","type":"dgram"}))
        .await;
    assert_eq!(
        (
            status,
            body["type"].as_str(),
            body["limit"].as_str(),
            body["max"].as_u64()
        ),
        (
            StatusCode::TOO_MANY_REQUESTS,
            Some("limit_reached"),
            Some("max_sockets"),
            Some(1)
        )
    );
    app.stop().await;
}

#[tokio::test]
async fn clients_are_rate_limited_with_retry_after() {
    let mut app = TestApp::builder()
        .sessions_per_minute(2)
        .client_calls_per_second(3)
        .start()
        .await;
    let s = app.session().await;
    app.session().await;
    let response = app
        .client
        .post(app.url("/api/sessions"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "rate_limited");
    // The burst passes, then the client is refused until its bucket refills (counted, not
    // timed, so a slow machine cannot make this flaky).
    let mut passed = 0;
    let response = loop {
        let response = app
            .client
            .post(app.url(&s.path("/calls")))
            .bearer_auth(&s.token)
            .json(&json!({"host":"A","call":"close","fd":9}))
            .send()
            .await
            .unwrap();
        if response.status() != StatusCode::OK {
            break response;
        }
        passed += 1;
        assert!(passed < 50, "the client rate limit never refused a call");
    };
    assert!(passed >= 3);
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "1");
    app.stop().await;
}

#[tokio::test]
async fn the_event_log_pages_live_and_after_the_end() {
    let mut app = TestApp::start().await;
    let s = app.session().await;
    for _ in 0..30 {
        s.call(json!({"host":"A","call":"close","fd":9})).await;
    }
    let path = format!("/api/sessions/{}/events", s.id);
    let mut after = 0;
    let mut seqs = Vec::new();
    loop {
        let (status, page) = app
            .get(&format!("{path}?after={after}&limit=7"), Some(&s.viewer))
            .await;
        assert_eq!(status, StatusCode::OK);
        let page: EventsPage = serde_json::from_value(page).unwrap();
        assert!(page.live);
        if page.events.is_empty() {
            break;
        }
        assert!(page.events.len() <= 7);
        seqs.extend(page.events.iter().map(|e| e.seq));
        after = page.next_after;
    }
    assert_eq!(seqs, (1..=31).collect::<Vec<u64>>());
    s.end().await;
    // Once ended the log comes from the database (the writer may take a moment).
    let mut stored = Vec::new();
    for _ in 0..100 {
        let (_, page) = app.get(&format!("{path}?limit=5000"), Some(&s.token)).await;
        let page: EventsPage = serde_json::from_value(page).unwrap();
        if page.events.len() == 32 {
            stored = page.events;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(stored.len(), 32);
    assert_eq!(stored[31].kind, plugboard::sandbox::EventKind::SessionEnded);
    app.stop().await;
}

#[tokio::test]
async fn an_ended_session_is_whole_right_away() {
    let mut app = TestApp::start().await;
    for _ in 0..20 {
        let s = app.session().await;
        for _ in 0..20 {
            s.call(json!({"host":"A","call":"close","fd":9})).await;
        }
        let path = format!("/api/sessions/{}", s.id);
        let (_, ended) = app.send(Method::DELETE, &path, Some(&s.token), None).await;
        let last = ended["last_seq"].as_u64().unwrap();
        // Read at once, before the writer may have stored anything: never missing, never short.
        let (status, view) = app.get(&path, Some(&s.token)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            (view["live"].as_bool(), view["last_seq"].as_u64()),
            (Some(false), Some(last))
        );
        let (_, page) = app
            .get(&format!("{path}/events?limit=5000"), Some(&s.token))
            .await;
        assert_eq!(page["events"].as_array().unwrap().len() as u64, last);
    }
    app.stop().await;
}

#[tokio::test]
async fn edge_values_are_answered_not_crashed_on() {
    let mut app = TestApp::start().await;
    let s = app.session().await;
    s.ok(json!({"host":"A","call":"socket","domain":"inet","type":"stream"}))
        .await;
    // A linger that would hold a close (and a server thread) for ages is refused up front.
    let (status, body) = s.call(json!({"host":"A","call":"setsockopt","fd":3,"option":"SO_LINGER","value":{"onoff":true,"seconds":3600}}))
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("value"))
    );
    s.end().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    for after in ["18446744073709551615", "9223372036854775807", "0"] {
        let (status, page) = app
            .get(&s.path(&format!("/events?after={after}")), Some(&s.token))
            .await;
        assert_eq!(status, StatusCode::OK, "{after}: {page}");
        if after != "0" {
            assert!(page["events"].as_array().unwrap().is_empty());
        }
    }
    app.stop().await;
}

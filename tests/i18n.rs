//! Languages: every text a learner reads on the server's side exists in Simplified Chinese
//! (a test lists what does not), and the API answers in the language the request asks for —
//! by the language switch's cookie or `Accept-Language` — with its JSON codes unchanged.

mod common;

use common::app::{ApiSession, TestApp};
use common::{timeout, ws};
use plugboard::exercise::catalog::Catalog;
use plugboard::exercise::grader::NO_PACKETS_TEXT;
use plugboard::i18n::{Lang, Text};
use plugboard::sandbox::Errno;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Every server-side text with no Chinese translation, one line each, named so it can be
/// found: the errno table's hints, fixed texts, and each exercise's fields and checks.
fn untranslated() -> Vec<String> {
    let mut missing = Vec::new();
    let mut text = |name: String, t: Text| {
        if t.zh.trim().is_empty() {
            missing.push(name);
        }
    };
    for errno in Errno::all() {
        text(format!("errno {}: hint", errno.name), errno.hint);
    }
    text("errno (unknown): hint".into(), Errno::unknown_hint());
    text("grader: NO_PACKETS".into(), NO_PACKETS_TEXT);
    let catalog = Catalog::embedded().expect("the catalog loads");
    for exercise in catalog.all() {
        for field in exercise.untranslated(Lang::Zh) {
            missing.push(format!("exercises/{}.toml: [zh-CN] {field}", exercise.id));
        }
    }
    missing
}

#[test]
fn every_learner_text_is_translated() {
    let missing = untranslated();
    for line in &missing {
        eprintln!("untranslated: {line}");
    }
    assert!(
        missing.is_empty(),
        "{} texts have no Simplified Chinese translation:\n{}",
        missing.len(),
        missing.join("\n")
    );
}

/// How a request asks for a language.
#[derive(Debug, Clone, Copy)]
enum Asks {
    /// Nothing: English.
    Nothing,
    /// `Accept-Language`.
    Header(&'static str),
    /// The language switch's cookie.
    Cookie(&'static str),
}

/// Every way of asking, with the language it gets.
const ASKS: [(Asks, Lang); 5] = [
    (Asks::Nothing, Lang::En),
    (Asks::Header("en"), Lang::En),
    (Asks::Header("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh),
    (Asks::Cookie("zh-CN"), Lang::Zh),
    (Asks::Cookie("en"), Lang::En),
];

/// Send a request asking for a language; status, headers and JSON body.
async fn send(
    app: &TestApp,
    asks: Asks,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = app.client.request(method, app.url(path));
    request = match asks {
        Asks::Nothing => request,
        Asks::Header(value) => request.header("Accept-Language", value),
        // The cookie wins over a header asking otherwise.
        Asks::Cookie(value) => request
            .header("Cookie", format!("theme=dark; plugboard_lang={value}"))
            .header(
                "Accept-Language",
                if value == "en" { "zh-CN" } else { "en" },
            ),
    };
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = timeout(request.send()).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

/// Whether `text` is written in Chinese (has a CJK ideograph).
fn chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// The text in the language asked for, and none of the other.
fn assert_in(lang: Lang, text: &Value, context: &str) {
    let text = text
        .as_str()
        .unwrap_or_else(|| panic!("{context}: no text"));
    assert_eq!(chinese(text), lang == Lang::Zh, "{context}: {text}");
}

#[tokio::test]
async fn errno_hints_are_in_the_language_asked_for_and_the_rest_is_unchanged() {
    let app = TestApp::start().await;
    let s = app.session().await;
    let ebadf = Errno::from_name("EBADF").unwrap();
    for (asks, lang) in ASKS {
        let call = json!({"host": "A", "call": "close", "fd": 99});
        let (status, headers, answer) = send(
            &app,
            asks,
            Method::POST,
            &s.path("/calls"),
            Some(&s.token),
            Some(call),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{asks:?}: {answer}");
        let error = &answer;
        assert_eq!(error["errno"], "EBADF", "{asks:?}: {answer}");
        assert_eq!(error["code"], libc::EBADF);
        assert_eq!(error["message"], "Bad file descriptor");
        assert_eq!(error["hint"], ebadf.hint.get(lang), "{asks:?}");
        assert_eq!(headers["content-language"], lang.tag(), "{asks:?}");
        let vary = headers.get_all("vary").iter();
        let vary: Vec<&str> = vary.filter_map(|v| v.to_str().ok()).collect();
        assert!(
            vary.join(", ").contains("Accept-Language, Cookie"),
            "{vary:?}"
        );

        // The same hint in the event log.
        let (_, _, page) = send(
            &app,
            asks,
            Method::GET,
            &s.path("/events"),
            Some(&s.token),
            None,
        )
        .await;
        let failed = page["events"]
            .as_array()
            .unwrap()
            .iter()
            .rfind(|e| e["errno"]["name"] == "EBADF")
            .expect("the failed close is logged");
        assert_eq!(failed["errno"]["hint"], ebadf.hint.get(lang), "{asks:?}");
        assert_eq!(failed["errno"]["code"], libc::EBADF);
    }

    // An ended session's log comes from the store, written in English: it is still read in
    // the language asked for.
    s.end().await;
    for (asks, lang) in ASKS {
        let (_, _, page) = send(
            &app,
            asks,
            Method::GET,
            &s.path("/events"),
            Some(&s.token),
            None,
        )
        .await;
        let failed = page["events"].as_array().unwrap().iter();
        let failed: Vec<&Value> = failed.filter(|e| e["errno"]["name"] == "EBADF").collect();
        assert_eq!(failed.len(), ASKS.len(), "{page}");
        for event in failed {
            assert_eq!(event["errno"]["hint"], ebadf.hint.get(lang), "{asks:?}");
        }
    }
}

/// The first errno in a WebSocket's messages whose name is `name`.
fn find_errno<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map)
            if map.get("name").is_some_and(|n| n == name) && map.contains_key("hint") =>
        {
            Some(value)
        }
        Value::Object(map) => map.values().find_map(|v| find_errno(v, name)),
        Value::Array(items) => items.iter().find_map(|v| find_errno(v, name)),
        _ => None,
    }
}

#[tokio::test]
async fn a_websocket_keeps_the_language_of_its_upgrade() {
    let app = TestApp::start().await;
    let s = app.session().await;
    let ebadf = Errno::from_name("EBADF").unwrap();
    for (cookie, lang) in [("zh-CN", Lang::Zh), ("en", Lang::En)] {
        let mut request = s.websocket_url(0, &s.token).into_client_request().unwrap();
        let cookie = format!("plugboard_lang={cookie}").parse().unwrap();
        request.headers_mut().insert("cookie", cookie);
        let (mut socket, _) = timeout(tokio_tungstenite::connect_async(request))
            .await
            .unwrap();
        failing_close(&s).await;
        let hint = loop {
            let message = ws::next(&mut socket).await.expect("the stream goes on");
            if let Some(errno) = find_errno(&message, "EBADF") {
                break errno["hint"].clone();
            }
        };
        assert_eq!(hint, ebadf.hint.get(lang), "{lang:?}");
    }
}

/// A call that fails with EBADF.
async fn failing_close(s: &ApiSession) {
    let (status, answer) = s
        .call(json!({"host": "A", "call": "close", "fd": 99}))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

#[tokio::test]
async fn error_messages_are_in_the_language_asked_for_with_the_same_codes() {
    let app = TestApp::start().await;
    let s = app.session().await;
    for (asks, lang) in ASKS {
        // A session that does not exist.
        let (status, headers, body) = send(
            &app,
            asks,
            Method::GET,
            "/api/sessions/0123456789abcdef",
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["type"], "not_found");
        assert_in(lang, &body["message"], "no session");
        assert_eq!(headers["content-language"], lang.tag());

        // A call naming a host that is not a host name: the field and type stay.
        let call = json!({"host": "a", "call": "socket", "domain": "inet", "type": "stream"});
        let (status, _, body) = send(
            &app,
            asks,
            Method::POST,
            &s.path("/calls"),
            Some(&s.token),
            Some(call),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["type"], "invalid_request");
        assert_eq!(body["field"], "host");
        assert_in(lang, &body["message"], "bad host");

        // A host the session does not have.
        let call = json!({"host": "Z", "call": "socket", "domain": "inet", "type": "stream"});
        let (status, _, body) = send(
            &app,
            asks,
            Method::POST,
            &s.path("/calls"),
            Some(&s.token),
            Some(call),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["type"], "unknown_host");
        assert_eq!(body["field"], "host");
        assert_in(lang, &body["message"], "unknown host");

        // No token.
        let (status, _, body) = send(&app, asks, Method::GET, &s.path(""), None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["type"], "unauthorized");
        assert_in(lang, &body["message"], "no token");
    }
}

#[tokio::test]
async fn exercises_and_their_grading_are_in_the_language_asked_for() {
    let app = TestApp::start().await;
    let catalog = Catalog::embedded().unwrap();
    let english = catalog.get("connection-refused").unwrap();
    let s = app
        .session_with(json!({"exercise": "connection-refused"}))
        .await;
    for (asks, lang) in ASKS {
        let (status, headers, list) =
            send(&app, asks, Method::GET, "/api/exercises", None, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-language"], lang.tag());
        for summary in list.as_array().unwrap() {
            assert_in(lang, &summary["title"], "title");
            assert_in(lang, &summary["summary"], "summary");
        }

        let (status, _, exercise) = send(
            &app,
            asks,
            Method::GET,
            "/api/exercises/connection-refused",
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(exercise["id"], "connection-refused");
        assert_in(lang, &exercise["text"], "text");
        assert!(exercise.get("zh-CN").is_none(), "translations stay inside");
        let local = english.localized(lang);
        assert_eq!(exercise["title"], local.title.as_str());
        assert_eq!(exercise["teaches"][0], "ECONNREFUSED", "identifiers stay");
        for (check, want) in exercise["checks"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&local.checks)
        {
            assert_eq!(check["id"], want.id.as_str());
            assert_eq!(check["text"], want.text.as_str());
            assert_eq!(check["rule"]["type"], "event", "rules are not texts");
        }

        // Nothing done yet: every check fails, with its hint.
        let (status, _, report) = send(
            &app,
            asks,
            Method::GET,
            &s.path("/checks"),
            Some(&s.token),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["passed"], false);
        for check in report["checks"].as_array().unwrap() {
            assert_eq!(check["passed"], false);
            assert_in(lang, &check["text"], "check text");
            assert_in(lang, &check["hint"], "check hint");
        }
        let (status, _, graded) = send(
            &app,
            asks,
            Method::POST,
            &s.path("/grade"),
            Some(&s.token),
            Some(json!({})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{graded}");
        assert!(graded["attempt"].as_i64().unwrap() > 0);
        assert_in(lang, &graded["checks"][0]["hint"], "graded hint");
    }
}

#[tokio::test]
async fn the_sandboxs_own_hints_are_in_the_language_asked_for() {
    let app = TestApp::start().await;
    let s = app.session().await;
    let fd = s.socket("B", "stream").await;
    for (asks, lang) in ASKS {
        // A port below 1024: the sandbox explains why, and which port to use instead.
        let bind = json!({"host": "B", "call": "bind", "fd": fd, "addr": s.addr("B", 80)});
        let (status, _, answer) = send(
            &app,
            asks,
            Method::POST,
            &s.path("/calls"),
            Some(&s.token),
            Some(bind),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["errno"], "EACCES", "{answer}");
        assert_eq!(answer["sandbox"], true, "{answer}");
        assert_in(lang, &answer["hint"], "sandbox hint");
        assert!(
            answer["hint"].as_str().unwrap().contains("8080"),
            "{answer}"
        );

        let (_, _, page) = send(
            &app,
            asks,
            Method::GET,
            &s.path("/events"),
            Some(&s.token),
            None,
        )
        .await;
        let mut refused = page["events"].as_array().unwrap().iter();
        let refused = refused.rfind(|e| e["kind"] == "bind").unwrap();
        assert_eq!(refused["hint"], answer["hint"], "{asks:?}");
    }
}

/// Every `note` of the session's log as `asks` reads it: each in the language asked for.
/// Returns them, in log order.
async fn notes_in(app: &TestApp, s: &ApiSession, asks: Asks, lang: Lang) -> Vec<Value> {
    let (status, _, page) = send(
        app,
        asks,
        Method::GET,
        &s.path("/events?limit=1000"),
        Some(&s.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let notes: Vec<Value> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e["note"].is_null())
        .map(|e| e["note"].clone())
        .collect();
    for note in &notes {
        assert_in(lang, note, &format!("note, asked {asks:?} in {page}"));
    }
    notes
}

#[tokio::test]
async fn event_notes_and_end_reasons_are_in_the_language_asked_for_live_and_once_stored() {
    let app = TestApp::start().await;
    let s = app.session().await;
    // Loopback mode explains what the sandbox did: the wildcard address mapped to B's own,
    // A's unbound socket bound on the way, the port the kernel chose; the kernel's events
    // say what they mean: a connection in the accept queue, the peer's FIN.
    let listener = s.socket("B", "stream").await;
    s.ok(json!({"host": "B", "call": "bind", "fd": listener, "addr": "0.0.0.0:7070"}))
        .await;
    s.ok(json!({"host": "B", "call": "listen", "fd": listener, "backlog": 4}))
        .await;
    let client = s.socket("A", "stream").await;
    s.ok(json!({"host": "A", "call": "connect", "fd": client, "addr": s.addr("B", 7070)}))
        .await;
    let accepted = s
        .ok(json!({"host": "B", "call": "accept", "fd": listener}))
        .await;
    s.ok(json!({"host": "A", "call": "close", "fd": client}))
        .await;
    let conn = accepted["fd"].as_i64().unwrap();
    s.ok(json!({"host": "B", "call": "recv", "fd": conn, "max": 16}))
        .await;

    let mut live = Vec::new();
    for (asks, lang) in ASKS {
        live.push(notes_in(&app, &s, asks, lang).await);
        // And why a loopback session has no packets.
        let (_, _, session) =
            send(&app, asks, Method::GET, &s.path(""), Some(&s.token), None).await;
        assert_in(lang, &session["capture"]["reason"], "capture reason");
    }
    let english = &live[0];
    assert!(
        english.len() >= 4,
        "notes on the mapping, the implicit bind, the queue and the FIN: {english:?}"
    );
    assert!(
        english.iter().any(|n| n.as_str().unwrap().contains("FIN")),
        "{english:?}"
    );

    // Ended, the log is read back from the store: the same notes in the same languages.
    let last_seq = s.end().await["last_seq"].as_u64().unwrap();
    for ((asks, lang), notes) in ASKS.into_iter().zip(&live) {
        let mut stored = Vec::new();
        for _ in 0..100 {
            let (status, _, page) = send(
                &app,
                asks,
                Method::GET,
                &s.path("/events?limit=1000"),
                Some(&s.token),
                None,
            )
            .await;
            if status == StatusCode::OK && page["last_seq"].as_u64() >= Some(last_seq) {
                stored = notes_in(&app, &s, asks, lang).await;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        // The end adds notes of its own (sockets closing); those before it are unchanged.
        assert!(
            stored.len() >= notes.len() && stored[..notes.len()] == notes[..],
            "{asks:?}: live {notes:?}, stored {stored:?}"
        );
        // Why it ended, in the ended session and in its last event alike.
        let (status, _, session) =
            send(&app, asks, Method::GET, &s.path(""), Some(&s.token), None).await;
        assert_eq!(status, StatusCode::OK, "{session}");
        assert_in(lang, &session["ended"], "end reason");
        assert_in(lang, &session["capture"]["reason"], "capture reason, ended");
        let (_, _, page) = send(
            &app,
            asks,
            Method::GET,
            &s.path(&format!("/events?after={}", last_seq - 1)),
            Some(&s.token),
            None,
        )
        .await;
        let last = &page["events"][0];
        assert_eq!(last["kind"], "session_ended", "{page}");
        assert_eq!(last["reason"], session["ended"], "{page}");
    }
}

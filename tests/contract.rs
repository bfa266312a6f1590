//! The REST API keeps the contract its OpenAPI document states: real answers validate against
//! the document's schemas, what the document allows is served, what it forbids is refused with
//! a declared status, and every call id handed out stays readable. `.ci/contract` runs a
//! property-based tester against the same document; these tests pin what it found.

mod common;

use common::app::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The document as the server serves it.
async fn document(app: &TestApp) -> Value {
    let (status, doc) = app.get("/api/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    doc
}

/// Why `value` does not validate against `schema`, if it does not. Covers the JSON Schema the
/// document uses: `$ref`, `type` (with null), `properties`, `required`,
/// `additionalProperties: false`, `items`, `oneOf`, `anyOf`, `allOf`, `enum`, `const` and
/// numeric bounds.
fn violation(doc: &Value, schema: &Value, value: &Value, at: &str) -> Option<String> {
    if let Some(name) = schema["$ref"].as_str() {
        let name = name.trim_start_matches("#/components/schemas/");
        return violation(doc, &doc["components"]["schemas"][name], value, at);
    }
    let fail = |why: String| Some(format!("{at}: {why} in {value}"));
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
            other => other.as_str().into_iter().collect(),
        };
        let fits = types.iter().any(|t| match *t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => true,
        });
        if !fits {
            return fail(format!("not of type {types:?}"));
        }
    }
    if let Some(options) = schema["enum"].as_array() {
        if !options.contains(value) {
            return fail(format!("not one of {options:?}"));
        }
    }
    if let Some(constant) = schema.get("const") {
        if constant != value {
            return fail(format!("not {constant}"));
        }
    }
    if let (Some(n), Some(min)) = (value.as_f64(), schema["minimum"].as_f64()) {
        if n < min {
            return fail(format!("below {min}"));
        }
    }
    if let (Some(n), Some(max)) = (value.as_f64(), schema["maximum"].as_f64()) {
        if n > max {
            return fail(format!("above {max}"));
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema["properties"].as_object();
        for name in schema["required"].as_array().into_iter().flatten() {
            if !object.contains_key(name.as_str().unwrap_or_default()) {
                return fail(format!("missing {name}"));
            }
        }
        for (key, field) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(sub) => {
                    if let Some(why) = violation(doc, sub, field, &format!("{at}.{key}")) {
                        return Some(why);
                    }
                }
                None if schema["additionalProperties"] == Value::Bool(false) => {
                    return fail(format!("field `{key}` is not allowed"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), value.as_array()) {
        for (i, item) in list.iter().enumerate() {
            if let Some(why) = violation(doc, items, item, &format!("{at}[{i}]")) {
                return Some(why);
            }
        }
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        if let Some(why) = violation(doc, part, value, at) {
            return Some(why);
        }
    }
    if let Some(options) = schema["anyOf"].as_array() {
        if options
            .iter()
            .all(|o| violation(doc, o, value, at).is_some())
        {
            return fail("matches no anyOf branch".to_owned());
        }
    }
    if let Some(options) = schema["oneOf"].as_array() {
        let why: Vec<Option<String>> = options
            .iter()
            .map(|o| violation(doc, o, value, at))
            .collect();
        let matching = why.iter().filter(|w| w.is_none()).count();
        if matching != 1 {
            return fail(format!("matches {matching} oneOf branches: {why:?}"));
        }
    }
    None
}

/// Assert that `value` validates against the schema `name` of the document.
fn assert_valid(doc: &Value, name: &str, value: &Value) {
    let schema = json!({"$ref": format!("#/components/schemas/{name}")});
    if let Some(why) = violation(doc, &schema, value, name) {
        panic!("{why}");
    }
}

/// Assert that the document declares `status` for `method path`.
fn assert_declared(doc: &Value, method: &str, path: &str, status: StatusCode) {
    let responses = &doc["paths"][path][method]["responses"];
    assert!(
        responses[status.as_str()].is_object(),
        "{method} {path} does not declare {status}: {responses}"
    );
}

/// The schema of query or header parameter `name` of `GET path`.
fn parameter<'a>(doc: &'a Value, path: &str, name: &str) -> &'a Value {
    doc["paths"][path]["get"]["parameters"]
        .as_array()
        .and_then(|params| params.iter().find(|p| p["name"] == name))
        .map(|p| &p["schema"])
        .unwrap_or_else(|| panic!("GET {path} has no parameter {name}"))
}

/// The CallRequest variant of call `name`.
fn call_variant<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["components"]["schemas"]["CallRequest"]["oneOf"]
        .as_array()
        .and_then(|v| {
            v.iter()
                .find(|v| v["properties"]["call"]["enum"][0] == name)
        })
        .unwrap_or_else(|| panic!("no CallRequest variant for {name}"))
}

#[tokio::test]
async fn every_exercise_validates_against_its_schema() {
    let mut app = TestApp::start().await;
    let doc = document(&app).await;
    let (_, list) = app.get("/api/exercises", None).await;
    let list = list.as_array().unwrap();
    assert!(!list.is_empty());
    for summary in list {
        assert_valid(&doc, "ExerciseSummary", summary);
        let id = summary["id"].as_str().unwrap();
        let (status, exercise) = app.get(&format!("/api/exercises/{id}"), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_valid(&doc, "Exercise", &exercise);
    }
    app.stop().await;
}

#[tokio::test]
async fn answers_validate_against_the_document() {
    let mut app = TestApp::start().await;
    let doc = document(&app).await;
    let (status, created) = app.post("/api/sessions", None, json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_valid(&doc, "SessionCreated", &created);
    let s = app.session().await;
    let socket = s
        .ok(json!({"host":"A","call":"socket","domain":"inet","type":"stream"}))
        .await;
    assert_valid(&doc, "CallResponse", &socket);
    let (_, refused) = s.call(json!({"host":"A","call":"close","fd":9})).await;
    assert_valid(&doc, "CallResponse", &refused);
    let (_, page) = app.get(&s.path("/events"), Some(&s.token)).await;
    assert_valid(&doc, "EventsPage", &page);
    let (_, view) = app.get(&s.path(""), Some(&s.token)).await;
    assert_valid(&doc, "SessionView", &view);
    let (_, error) = app.get("/api/sessions/nope", Some(&s.token)).await;
    assert_valid(&doc, "ErrorBody", &error);
    app.stop().await;
}

#[tokio::test]
async fn what_the_document_forbids_it_says_and_what_it_allows_is_served() {
    let mut app = TestApp::start().await;
    let doc = document(&app).await;
    let s = app.session().await;
    let events = "/api/sessions/{id}/events";

    // limit=0 is out of the stated range, and refused as such.
    let limit = parameter(&doc, events, "limit");
    assert_eq!(
        (limit["minimum"].as_u64(), limit["maximum"].as_u64()),
        (Some(1), Some(5000))
    );
    let (status, body) = app.get(&s.path("/events?limit=0"), Some(&s.token)).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("limit"))
    );
    // `after` is read as u64: the document does not stop at int64.
    assert_eq!(parameter(&doc, events, "after")["maximum"], json!(u64::MAX));

    // Session bodies: hosts within the server's bounds, exercises of the catalog.
    let props = &doc["components"]["schemas"]["CreateSession"]["properties"];
    assert_eq!(
        (
            props["hosts"]["minimum"].as_u64(),
            props["hosts"]["maximum"].as_u64()
        ),
        (Some(2), Some(6))
    );
    assert!(
        props["exercise"]["enum"]
            .as_array()
            .unwrap()
            .contains(&json!("udp-echo"))
    );
    assert!(
        !props["exercise"]["enum"]
            .as_array()
            .unwrap()
            .contains(&json!(""))
    );
    let (status, _) = app
        .post("/api/sessions", None, json!({"exercise": "", "hosts": 0}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A whole number written as a float is an integer to JSON Schema, so to the server too.
    let (status, created) = app.post("/api/sessions", None, json!({"hosts": 3.0})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    // A null stands for an absent known field, not for any field.
    let (status, body) = app.post("/api/sessions", None, json!({"": null})).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some(""))
    );

    // Addresses have a format of their own; an empty one is not of it.
    let sendto = call_variant(&doc, "sendto");
    assert_eq!(sendto["properties"]["addr"]["format"], "socket-address");
    assert_eq!(sendto["additionalProperties"], false);
    s.ok(json!({"host":"A","call":"socket","domain":"inet","type":"dgram"}))
        .await;
    let (status, body) = s
        .call(json!({"host":"A","call":"sendto","fd":3.0,"data":"x","addr":""}))
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("addr"))
    );

    // A session without an exercise has nothing to grade: a conflict with its state, declared.
    for (method, path) in [
        ("get", "/api/sessions/{id}/checks"),
        ("post", "/api/sessions/{id}/grade"),
    ] {
        assert_declared(&doc, method, path, StatusCode::CONFLICT);
        let url = path.replace("{id}", &s.id);
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let (status, body) = app.send(method, &url, Some(&s.token), None).await;
        assert_eq!(
            (status, body["type"].as_str()),
            (StatusCode::CONFLICT, Some("conflict")),
            "{url}"
        );
    }

    // A GET of the stream without a handshake: 400 in the common shape, naming the header,
    // with the handshake headers declared.
    let ws = "/api/sessions/{id}/ws";
    assert_declared(&doc, "get", ws, StatusCode::BAD_REQUEST);
    assert_eq!(
        parameter(&doc, ws, "Upgrade")["pattern"],
        "^[Ww][Ee][Bb][Ss][Oo][Cc][Kk][Ee][Tt]$"
    );
    let (status, body) = app.get(&s.path("/ws"), Some(&s.token)).await;
    assert_eq!(
        (status, body["type"].as_str(), body["field"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("invalid_request"),
            Some("Connection")
        )
    );

    // A host of the right form the session does not have (yet): a conflict, not a bad request.
    let (status, body) = s.call(json!({"host":"Z","call":"close","fd":3})).await;
    assert_eq!(
        (status, body["type"].as_str(), body["field"].as_str()),
        (StatusCode::CONFLICT, Some("unknown_host"), Some("host"))
    );
    assert_declared(
        &doc,
        "post",
        "/api/sessions/{id}/calls",
        StatusCode::CONFLICT,
    );
    app.stop().await;
}

#[tokio::test]
async fn statuses_are_the_declared_ones() {
    let mut app = TestApp::start().await;
    let doc = document(&app).await;
    let s = app.session().await;

    // An unknown query parameter is a 400 wherever a query is read, and declared there.
    for (path, url) in [
        (
            "/api/sessions/{id}/events",
            format!("/api/sessions/{}/events?bogus=1", s.id),
        ),
        (
            "/api/exercises/{id}/attempts",
            "/api/exercises/udp-echo/attempts?bogus=1".to_owned(),
        ),
    ] {
        assert_declared(&doc, "get", path, StatusCode::BAD_REQUEST);
        let (status, _) = app.get(&url, Some(&s.token)).await;
        assert!(
            matches!(
                status,
                StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
            ),
            "{url}: {status}"
        );
    }
    let (status, _) = app.get(&s.path("/events?bogus=1"), Some(&s.token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // No credentials is 401, whether or not the server has an admin token.
    let (status, body) = app.get("/api/exercises/udp-echo/attempts", None).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    let (status, _) = app.get("/api/exercises/udp-echo/attempts", Some("x")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A session body over max_body_bytes: 413 in the common shape, declared.
    assert_declared(&doc, "post", "/api/sessions", StatusCode::PAYLOAD_TOO_LARGE);
    let huge = json!({"exercise": "x".repeat(app.config.max_body_bytes + 1)});
    let (status, body) = app.post("/api/sessions", None, huge).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
    );
    // Any request may be cut at request_timeout_secs (a middleware): every operation says so.
    for (method, path) in plugboard::http::routes() {
        assert_declared(
            &doc,
            &method.to_lowercase(),
            path,
            StatusCode::REQUEST_TIMEOUT,
        );
    }

    // More hosts than any session may have is a bad request naming the maximum, not a 429.
    let (status, body) = app.post("/api/sessions", None, json!({"hosts": 7})).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("hosts"))
    );
    assert!(body["message"].as_str().unwrap().contains('6'), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn every_call_id_handed_out_stays_readable() {
    let mut app = TestApp::start().await;
    let doc = document(&app).await;
    let s = app.session().await;
    let socket = s
        .ok(json!({"host":"A","call":"socket","domain":"inet","type":"stream"}))
        .await;
    let (_, failed) = s.call(json!({"host":"B","call":"close","fd":7})).await;
    let call = |id: &Value| format!("/api/sessions/{}/calls/{id}", s.id);
    // Calls that never went pending.
    let (status, read) = app.get(&call(&socket["call_id"]), Some(&s.token)).await;
    assert_eq!(
        (status, read["status"].as_str(), read["fd"].as_i64()),
        (StatusCode::OK, Some("ok"), Some(3)),
        "{read}"
    );
    assert_eq!(read["seq"], socket["seq"]);
    assert_valid(&doc, "CallResponse", &read);
    let (status, read) = app.get(&call(&failed["call_id"]), Some(&s.viewer)).await;
    assert_eq!(
        (status, read["errno"].as_str()),
        (StatusCode::OK, Some("EBADF")),
        "{read}"
    );
    // Still readable once the session has ended, as long as its log is.
    s.end().await;
    let (status, read) = app.get(&call(&socket["call_id"]), Some(&s.token)).await;
    assert_eq!(
        (status, read["fd"].as_i64()),
        (StatusCode::OK, Some(3)),
        "{read}"
    );
    // An id never handed out is not found.
    let (status, _) = app.get(&call(&json!(999_999)), Some(&s.token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn a_long_read_back_from_the_log_says_it_is_cut() {
    let mut app = TestApp::start().await;
    let s = app.session().await;
    let b = s.addr("B", 8090);
    for call in [
        json!({"host":"B","call":"socket","domain":"inet","type":"dgram"}),
        json!({"host":"B","call":"bind","fd":3,"addr": b}),
        json!({"host":"A","call":"socket","domain":"inet","type":"dgram"}),
        json!({"host":"A","call":"sendto","fd":3,"data":"x".repeat(100),"addr": b}),
    ] {
        s.ok(call).await;
    }
    let got = s.ok(json!({"host":"B","call":"recvfrom","fd":3})).await;
    // A call that never went pending is not among the session's remembered replies: it is
    // read back from the log, where received data is a preview.
    let (status, read) = app
        .get(
            &format!("/api/sessions/{}/calls/{}", s.id, got["call_id"]),
            Some(&s.token),
        )
        .await;
    assert_eq!(
        (status, read["bytes"].as_u64()),
        (StatusCode::OK, Some(100)),
        "{read}"
    );
    assert!(
        read["note"]
            .as_str()
            .unwrap_or_default()
            .contains("first 64"),
        "{read}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_call_parser_is_as_strict_as_the_document() {
    let mut app = TestApp::start().await;
    let doc = document(&app).await;
    let s = app.session().await;
    s.ok(json!({"host":"A","call":"socket","domain":"inet","type":"stream"}))
        .await;
    let refused = [
        (json!({"host":"a","call":"close","fd":3}), "host", ""),
        (
            json!({"host":"A","call":"setsockopt","fd":3,"option":"IP_TTL","value":true}),
            "value",
            "IP_TTL takes an integer",
        ),
        (
            json!({"host":"A","call":"setsockopt","fd":3,"option":"SO_RCVBUF","value":-1}),
            "value",
            "between 0 and 2147483647",
        ),
        (
            json!({"host":"A","call":"setsockopt","fd":3,"option":"SO_REUSEADDR","value":1}),
            "value",
            "true or false",
        ),
        (
            json!({"host":"A","call":"setsockopt","fd":3,"option":"so_reuseaddr","value":true}),
            "option",
            "",
        ),
        (
            json!({"host":"A","call":"setsockopt","fd":3,"option":"SO_LINGER","value":{"onoff":true,"seconds":6}}),
            "value",
            "0 to 5",
        ),
        (
            json!({"host":"A","call":"recv","fd":3,"max":4_294_967_295_u64}),
            "max",
            "between 0 and 2147483647",
        ),
        (
            json!({"host":"A","call":"recv","fd":3,"wait_ms":10_001}),
            "wait_ms",
            "between 0 and 10000",
        ),
        (
            json!({"host":"A","call":"send","fd":3,"data":"zz","encoding":"hex"}),
            "data",
            "",
        ),
    ];
    for (call, field, says) in refused {
        let (status, body) = s.call(call.clone()).await;
        assert_eq!(
            (status, body["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some(field)),
            "{call} -> {body}"
        );
        assert!(
            body["message"].as_str().unwrap().contains(says),
            "{call} -> {body}"
        );
    }
    // The bounds the messages quote are the document's.
    let recv = &call_variant(&doc, "recv")["properties"];
    assert_eq!(recv["max"]["maximum"], 2_147_483_647);
    assert_eq!(recv["wait_ms"]["maximum"], 10_000);
    let shapes = call_variant(&doc, "setsockopt")["oneOf"]
        .as_array()
        .unwrap();
    let shape_of = |option: &str| {
        shapes
            .iter()
            .find(|s| {
                s["properties"]["option"]["enum"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(option))
            })
            .map(|s| s["properties"]["value"].clone())
            .unwrap()
    };
    assert_eq!(
        shape_of("IP_TTL"),
        json!({"type":"integer","minimum":-1,"maximum":255})
    );
    assert_eq!(shape_of("SO_RCVBUF")["minimum"], 0);
    assert_eq!(shape_of("SO_LINGER")["properties"]["seconds"]["maximum"], 5);
    // What the document allows goes through: the longest linger, a TTL, a whole float.
    s.ok(json!({"host":"A","call":"setsockopt","fd":3,"option":"SO_LINGER","value":{"onoff":true,"seconds":5}})).await;
    s.ok(json!({"host":"A","call":"setsockopt","fd":3.0,"option":"IP_TTL","value":64}))
        .await;
    s.ok(json!({"host":"A","call":"setsockopt","fd":3,"option":"SO_RCVBUF","value":4096.0}))
        .await;
    app.stop().await;
}

#[tokio::test]
async fn links_lead_from_a_new_session_to_its_calls() {
    let mut app = TestApp::start().await;
    let doc = document(&app).await;
    let links = &doc["paths"]["/api/sessions"]["post"]["responses"]["201"]["links"];
    assert_eq!(links["MakeCall"]["operationId"], "make_call");
    assert_eq!(links["MakeCall"]["parameters"]["id"], "$response.body#/id");
    let status = &doc["paths"]["/api/sessions/{id}/calls"]["post"]["responses"]["200"]["links"]["CallStatus"];
    assert_eq!(status["operationId"], "get_call");
    assert_eq!(status["parameters"]["call_id"], "$response.body#/call_id");
    let ids: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|p| p.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    assert!(
        ids.contains(&"make_call") && ids.contains(&"get_call"),
        "{ids:?}"
    );
    app.stop().await;
}

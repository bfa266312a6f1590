//! The OpenAPI 3 document, served at `/api/openapi.json`.
//!
//! It is generated from the routes' annotations (the router of [`super::api_routes`]) and the
//! types' schemas (the call body's from the sandbox's `Call`), then completed by [`document`]
//! with what the generator cannot say and only the running server knows: this server's limits
//! and exercise ids, the call fields whose form depends on another field (`data` on
//! `encoding`, a setsockopt `value` on its option), closed objects where a derived schema
//! combines closed parts with `allOf`, and the links a client follows from a new session to
//! its calls. A contract test (`.ci/contract`) holds the server to it.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::AppState;
use super::api::MIN_HOSTS;
use super::wire::call_request::{
    ENCODINGS, Encoding, HOST_PATTERN, MAX_LINGER_SECS, int_option_range,
};
use crate::config::Config;
use crate::exercise::catalog::Catalog;
use crate::sandbox::SockOpt;
use crate::sandbox::net::OptShape;

/// The API's description; its paths come from the routes of [`super::api_routes`].
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Plugboard",
        description = "A socket playground on real kernel sockets. Create a session, make socket \
            calls on its hosts one at a time, and read every call, result and kernel event from \
            its log or live over a WebSocket. A call the kernel refuses is a result (200, \
            `status: error` with the errno); 4xx answers are for requests that never reached a \
            socket, all with the same error body. Texts for people (errno and sandbox hints, \
            events' `note`s, error `message`s, exercises, grading reports and exported \
            programs' comments) are in English or Simplified Chinese, as \
            the `plugboard_lang` cookie (`en`, `zh-CN`) or else `Accept-Language` asks; no other \
            value changes with the language.",
    ),
    components(schemas(
        super::wire::CallRequest,
        crate::sandbox::Event,
        crate::sandbox::Snapshot,
    )),
    modifiers(&BearerToken),
    tags(
        (name = "sessions", description = "Sandboxes with hosts A, B, …"),
        (name = "calls", description = "Socket calls on a host"),
        (name = "events", description = "The event log and its live stream"),
        (name = "exercises", description = "The catalog, grading and attempts"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

/// Declares the bearer token: the session's token, or its viewer token for reading.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The session's token (calls and changes) or its viewer token (reading). \
                         The WebSocket also takes it as `?token=`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "admin",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The server's admin token (--admin-token)."))
                    .build(),
            ),
        );
    }
}

/// `GET /api/openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI 3 document.", content_type = "application/json"))
)]
pub async fn openapi_json(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi().to_owned(),
    )
}

/// Canonical base64 with padding, as the call parser decodes it (`data` with
/// `encoding: base64`).
pub const BASE64_PATTERN: &str =
    "^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=|[A-Za-z0-9+/][AQgw]==)?$";
/// An even run of hex digits (`data` with `encoding: hex`).
pub const HEX_PATTERN: &str = "^([0-9A-Fa-f]{2})*$";

/// The document this server serves: the generated one completed with this server's limits
/// and catalog, the call body as the parser takes it, closed objects and links.
pub fn document(config: &Config, catalog: &Catalog) -> Value {
    let mut doc = serde_json::to_value(super::api_routes().into_openapi()).unwrap_or_default();
    close_merged_objects(&mut doc);
    complete_call_body(&mut doc, config.limits.max_wait_ms);
    complete_session_body(&mut doc, config.limits.max_hosts, catalog);
    complete_websocket(&mut doc);
    widen_unsigned_parameters(&mut doc);
    declare_request_timeout(&mut doc);
    add_links(&mut doc);
    doc
}

/// Every request is cut at request_timeout_secs with a 408 in the common shape (a middleware,
/// so no handler's annotation says it).
fn declare_request_timeout(doc: &mut Value) {
    let answer = json!({
        "description": "The request took longer than this server allows (request_timeout_secs).",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    });
    for operations in doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|p| p.values_mut())
    {
        for operation in operations
            .as_object_mut()
            .into_iter()
            .flat_map(|o| o.values_mut())
        {
            operation["responses"]["408"] = answer.clone();
        }
    }
}

/// Parameters the server reads as u64 (`after`, `call_id`) take values past int64: the
/// generator writes them as `int64` with minimum 0, which would call 2^63 invalid.
fn widen_unsigned_parameters(doc: &mut Value) {
    for (path, name) in [
        ("/api/sessions/{id}/events", "after"),
        ("/api/sessions/{id}/ws", "after"),
        ("/api/sessions/{id}/calls/{call_id}", "call_id"),
    ] {
        let params = &mut doc["paths"][path]["get"]["parameters"];
        for param in params.as_array_mut().into_iter().flatten() {
            if param["name"] == name {
                let schema = &mut param["schema"];
                if let Some(schema) = schema.as_object_mut() {
                    schema.remove("format");
                }
                schema["minimum"] = json!(0);
                schema["maximum"] = json!(u64::MAX);
            }
        }
    }
}

/// The schema `#/components/schemas/{name}`, for editing.
fn schema_mut<'a>(doc: &'a mut Value, name: &str) -> &'a mut Value {
    &mut doc["components"]["schemas"][name]
}

/// The object schema `schema` stands for once `$ref`s are followed and an `allOf` of objects
/// is merged: properties and required fields joined, closed when any part is closed (or when
/// `close` asks). None when a part is not a plain object schema (a `oneOf`, say).
fn merged_object(schema: &Value, schemas: &Map<String, Value>, close: bool) -> Option<Value> {
    if let Some(name) = schema["$ref"].as_str() {
        let target = schemas.get(name.trim_start_matches("#/components/schemas/"))?;
        return merged_object(target, schemas, close);
    }
    let parts: Vec<&Value> = match schema["allOf"].as_array() {
        Some(parts) => parts.iter().collect(),
        None if schema.get("oneOf").is_some() || schema.get("anyOf").is_some() => return None,
        None => vec![schema],
    };
    let mut properties = Map::new();
    let mut required: Vec<Value> = Vec::new();
    let mut closed = close;
    for part in parts {
        let part = if part.get("allOf").is_some() || part.get("$ref").is_some() {
            merged_object(part, schemas, false)?
        } else if part.get("oneOf").is_some() || part.get("anyOf").is_some() {
            return None;
        } else {
            part.clone()
        };
        if let Some(p) = part["properties"].as_object() {
            properties.extend(p.clone());
        }
        for r in part["required"].as_array().into_iter().flatten() {
            if !required.contains(r) {
                required.push(r.clone());
            }
        }
        closed |= part["additionalProperties"] == Value::Bool(false);
    }
    let mut object = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        object["required"] = Value::Array(required);
    }
    if closed {
        object["additionalProperties"] = Value::Bool(false);
    }
    if let Some(description) = schema.get("description") {
        object["description"] = description.clone();
    }
    Some(object)
}

/// Replace every `allOf` that joins a closed object (`additionalProperties: false`) with the
/// one merged object it means: as an `allOf`, each closed part would reject the other parts'
/// fields (a rule's `type` beside its filter's fields), and no real body would validate.
fn close_merged_objects(doc: &mut Value) {
    let schemas = doc["components"]["schemas"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    fn walk(node: &mut Value, schemas: &Map<String, Value>) {
        if let Some(parts) = node.get("allOf").and_then(Value::as_array) {
            let has_closed_part = parts.iter().any(|p| {
                merged_object(p, schemas, false)
                    .is_some_and(|o| o["additionalProperties"] == Value::Bool(false))
            });
            if has_closed_part {
                if let Some(merged) = merged_object(node, schemas, false) {
                    *node = merged;
                }
            }
        }
        match node {
            Value::Object(map) => map.values_mut().for_each(|v| walk(v, schemas)),
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, schemas)),
            _ => {}
        }
    }
    walk(&mut doc["components"], &schemas);
    walk(&mut doc["paths"], &schemas);
}

/// The call body as `CallRequest` parses it, completed with what only this server knows or
/// what depends on another field: `wait_ms` up to this server's max_wait_ms, `data` matching
/// its `encoding`, and a setsockopt `value` of the shape its option takes.
fn complete_call_body(doc: &mut Value, max_wait_ms: u64) {
    let texts: Vec<Value> = ENCODINGS
        .iter()
        .filter(|(_, e)| *e == Encoding::Utf8)
        .map(|(name, _)| json!(name))
        .chain([Value::Null])
        .collect();
    let variants = schema_mut(doc, "CallRequest")["oneOf"].as_array_mut();
    for variant in variants.into_iter().flatten() {
        let call = variant["properties"]["call"]["enum"][0]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let props = &mut variant["properties"];
        props["host"]["pattern"] = json!(HOST_PATTERN);
        props["wait_ms"]["maximum"] = json!(max_wait_ms);
        match call.as_str() {
            "send" | "sendto" => {
                variant["oneOf"] = json!([
                    {"properties": {"encoding": {"enum": texts}}},
                    {"required": ["encoding"], "properties": {
                        "encoding": {"const": "base64"},
                        "data": {"pattern": BASE64_PATTERN}}},
                    {"required": ["encoding"], "properties": {
                        "encoding": {"const": "hex"},
                        "data": {"pattern": HEX_PATTERN}}},
                ]);
            }
            "setsockopt" => {
                props["value"] = json!({"description": "Of the shape the option takes."});
                variant["oneOf"] = Value::Array(option_value_shapes());
            }
            _ => {}
        }
    }
}

/// One schema per kind of setsockopt value: the options of that kind and the values they take.
fn option_value_shapes() -> Vec<Value> {
    let mut groups: Vec<(Value, Vec<&str>)> = Vec::new();
    for option in SockOpt::ALL {
        let (_, _, shape) = option.raw();
        let value = match shape {
            OptShape::Bool => json!({"type": "boolean"}),
            OptShape::Int => {
                let (min, max) = int_option_range(option);
                json!({"type": "integer", "minimum": min, "maximum": max})
            }
            OptShape::Linger => json!({
                "type": "object",
                "required": ["onoff", "seconds"],
                "properties": {
                    "onoff": {"type": "boolean"},
                    "seconds": {"type": "integer", "minimum": 0, "maximum": MAX_LINGER_SECS},
                },
                "additionalProperties": false,
            }),
        };
        match groups.iter_mut().find(|(v, _)| *v == value) {
            Some((_, names)) => names.push(option.name()),
            None => groups.push((value, vec![option.name()])),
        }
    }
    groups
        .into_iter()
        .map(|(value, names)| json!({"properties": {"option": {"enum": names}, "value": value}}))
        .collect()
}

/// `POST /api/sessions`: an optional body (not `null`), hosts within this server's bounds,
/// an exercise of its catalog.
fn complete_session_body(doc: &mut Value, max_hosts: usize, catalog: &Catalog) {
    let body = &mut doc["paths"]["/api/sessions"]["post"]["requestBody"];
    body["required"] = json!(false);
    body["content"]["application/json"]["schema"] =
        json!({"$ref": "#/components/schemas/CreateSession"});
    let mut ids: Vec<&str> = catalog.all().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    let props = &mut schema_mut(doc, "CreateSession")["properties"];
    props["hosts"]["minimum"] = json!(MIN_HOSTS);
    props["hosts"]["maximum"] = json!(max_hosts);
    props["exercise"]["enum"] = json!(
        ids.into_iter()
            .map(Value::from)
            .chain([Value::Null])
            .collect::<Vec<_>>()
    );
}

/// The WebSocket handshake headers: a version the server speaks.
fn complete_websocket(doc: &mut Value) {
    let params = &mut doc["paths"]["/api/sessions/{id}/ws"]["get"]["parameters"];
    for param in params.as_array_mut().into_iter().flatten() {
        if param["in"] == "header" {
            param["required"] = json!(true);
            if param["name"] == "Sec-WebSocket-Version" {
                param["schema"]["enum"] = json!(["13"]);
            }
        }
    }
}

/// Links from a new session to what can be done with it, and from a call to its status.
fn add_links(doc: &mut Value) {
    let session = |operation: &str| json!({"operationId": operation, "parameters": {"id": "$response.body#/id"}});
    doc["paths"]["/api/sessions"]["post"]["responses"]["201"]["links"] = json!({
        "MakeCall": session("make_call"),
        "GetSession": session("get_session"),
        "ListEvents": session("list_events"),
        "AddHost": session("add_host"),
        "EndSession": session("end_session"),
    });
    let status = json!({"CallStatus": {
        "operationId": "get_call",
        "parameters": {"id": "$request.path.id", "call_id": "$response.body#/call_id"},
    }});
    for code in ["200", "202"] {
        doc["paths"]["/api/sessions/{id}/calls"]["post"]["responses"][code]["links"] =
            status.clone();
    }
}

#[cfg(test)]
mod tests {
    /// The query bounds written in the handlers' annotations are the handlers' constants.
    #[test]
    fn query_bounds_are_the_constants() {
        let doc = serde_json::to_value(crate::http::api_routes().into_openapi()).unwrap();
        let limit = |path: &str| {
            doc["paths"][path]["get"]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "limit")
                .map(|p| p["schema"]["maximum"].as_u64())
                .unwrap()
        };
        assert_eq!(
            limit("/api/sessions/{id}/events"),
            Some(u64::from(crate::http::api::MAX_EVENTS_PAGE))
        );
        assert_eq!(
            limit("/api/exercises/{id}/attempts"),
            Some(u64::from(crate::http::exercises::MAX_ATTEMPTS_PAGE))
        );
    }
}

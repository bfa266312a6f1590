//! The OpenAPI 3 document, generated from the handlers' annotations and the types' schemas,
//! served at `/api/openapi.json`.

use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::error::Json;
use super::{api, capture, exercises, health, ws};

/// The API's description.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Plugboard",
        description = "A socket playground on real kernel sockets. Create a session, make socket \
            calls on its hosts one at a time, and read every call, result and kernel event from \
            its log or live over a WebSocket. A call the kernel refuses is a result (200, \
            `status: error` with the errno); 4xx answers are for requests that never reached a \
            socket, all with the same error body.",
    ),
    paths(
        health::healthz,
        health::metrics,
        api::create_session,
        api::get_session,
        api::end_session,
        api::add_host,
        api::make_call,
        api::get_call,
        api::list_events,
        capture::capture_pcapng,
        ws::websocket,
        exercises::list_exercises,
        exercises::get_exercise,
        exercises::grade_session,
        exercises::session_checks,
        exercises::list_attempts,
        openapi_json,
    ),
    components(schemas(
        super::wire::CallBody,
        super::wire::CallCommon,
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
pub async fn openapi_json() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::wire::{CALL_NAMES, allowed_fields};

    #[test]
    fn the_call_union_matches_the_parser() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let body = &doc["components"]["schemas"]["CallBody"];
        let variants = body["oneOf"].as_array().expect("CallBody is a oneOf");
        let mut seen = Vec::new();
        for variant in variants {
            let text = variant.to_string();
            let call = variant["allOf"]
                .as_array()
                .and_then(|parts| {
                    parts
                        .iter()
                        .find_map(|p| p["properties"]["call"]["enum"][0].as_str())
                })
                .or_else(|| variant["properties"]["call"]["enum"][0].as_str())
                .unwrap_or_else(|| panic!("no call name in {text}"))
                .to_owned();
            for field in allowed_fields(&call) {
                assert!(
                    text.contains(&format!("\"{field}\"")),
                    "{call} lacks {field}: {text}"
                );
            }
            seen.push(call);
        }
        seen.sort();
        let mut names: Vec<String> = CALL_NAMES.iter().map(|s| (*s).to_owned()).collect();
        names.sort();
        assert_eq!(seen, names);
    }
}

//! REST handlers under `/api`: sessions, calls and the event log. Each handler checks the
//! request, hands a domain call to the sandbox and turns the answer into its wire form.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::auth::{self, Access};
use super::error::{ApiError, Json, Query};
use super::wire::{CallRequest, CallResponse};
use crate::sandbox::{
    CallStatus, Credentials, HostInfo, NewSession, SessionHandle, SessionId, Snapshot,
};
use crate::store::StoredSession;

/// Events one page of `GET …/events` holds unless asked for fewer.
pub const DEFAULT_EVENTS_PAGE: u32 = 500;
/// Most events one page may hold.
pub const MAX_EVENTS_PAGE: u32 = 5_000;

/// The client's address, for rate limits; unknown clients share one bucket.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip()),
        ))
    }
}

/// What `POST /api/sessions` takes (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// Hosts to start with (2 when absent).
    pub hosts: Option<usize>,
    /// An exercise to set the session up for.
    pub exercise: Option<String>,
}

/// What `POST /api/sessions` answers.
#[derive(Debug, Serialize)]
pub struct SessionCreated {
    /// The owner's token: calls, hosts, ending. Shown once.
    pub token: String,
    /// The viewer's token: read-only. Shown once.
    pub viewer_token: String,
    /// The session as a snapshot.
    #[serde(flatten)]
    pub session: Snapshot,
    /// Where to go next.
    pub links: Links,
}

/// URLs of a session's resources.
#[derive(Debug, Serialize)]
pub struct Links {
    pub session: String,
    pub calls: String,
    pub events: String,
    pub websocket: String,
    pub page: String,
}

impl Links {
    fn of(id: SessionId) -> Links {
        Links {
            session: format!("/api/sessions/{id}"),
            calls: format!("/api/sessions/{id}/calls"),
            events: format!("/api/sessions/{id}/events"),
            websocket: format!("/api/sessions/{id}/ws"),
            page: format!("/s/{id}"),
        }
    }
}

/// A session, live or from the database, with the access the request has.
#[derive(Debug)]
pub enum Found {
    Live(SessionHandle),
    Stored(Box<StoredSession>),
}

fn parse_id(id: &str) -> Result<SessionId, ApiError> {
    id.parse()
        .map_err(|()| ApiError::NotFound(format!("no session `{id}`")))
}

/// Find a session and check the request's token against it.
pub async fn find(
    state: &AppState,
    id: &str,
    token: Option<&str>,
) -> Result<(Found, Access), ApiError> {
    let id = parse_id(id)?;
    if let Some(handle) = state.sandbox().get(id) {
        let creds = &handle.info().credentials;
        let access = auth::check(token, &creds.owner, &creds.viewer)?;
        return Ok((Found::Live(handle), access));
    }
    let stored = state
        .store()
        .session(id)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .ok_or_else(|| ApiError::NotFound(format!("no session `{id}`")))?;
    let access = auth::check(token, &stored.owner_token_hash, &stored.viewer_token_hash)?;
    Ok((Found::Stored(Box::new(stored)), access))
}

/// A live session the owner may change.
async fn live_as_owner(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
) -> Result<SessionHandle, ApiError> {
    let token = auth::bearer(headers, None);
    match find(state, id, token.as_deref()).await? {
        (Found::Live(handle), access) => {
            auth::owner_only(access)?;
            Ok(handle)
        }
        (Found::Stored(_), access) => {
            auth::owner_only(access)?;
            Err(ApiError::SessionEnded)
        }
    }
}

/// `POST /api/sessions`: start a session.
pub async fn create_session(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: CreateSession = if body.iter().all(u8::is_ascii_whitespace) {
        CreateSession::default()
    } else {
        let is_json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as JSON with Content-Type: application/json".to_owned(),
            ));
        }
        serde_json::from_slice(&body).map_err(|e| {
            let message = e.to_string();
            let field = ["hosts", "exercise"]
                .into_iter()
                .find(|f| message.contains(&format!("`{f}`")))
                .map(str::to_owned)
                .or_else(|| {
                    message
                        .split('`')
                        .nth(1)
                        .filter(|_| message.starts_with("unknown field"))
                        .map(str::to_owned)
                });
            ApiError::BadRequest { message, field }
        })?
    };
    state.session_limiter().take(client)?;
    if let Some(exercise) = &request.exercise {
        return Err(ApiError::field(
            "exercise",
            format!("no exercise `{exercise}`: exercises are not available yet"),
        ));
    }
    let hosts = request.hosts.unwrap_or(crate::sandbox::DEFAULT_HOSTS);
    if hosts < 2 {
        return Err(ApiError::field("hosts", "a session has at least 2 hosts"));
    }
    let token = auth::new_token("pbo_");
    let viewer_token = auth::new_token("pbv_");
    let handle = state
        .sandbox()
        .create_session(NewSession {
            hosts,
            exercise: request.exercise,
            credentials: Credentials {
                owner: auth::hash_token(&token),
                viewer: auth::hash_token(&viewer_token),
            },
        })
        .await?;
    let session = handle.snapshot().await?;
    let id = handle.id();
    let created = SessionCreated {
        token,
        viewer_token,
        session,
        links: Links::of(id),
    };
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/sessions/{id}"))],
        Json(created),
    )
        .into_response())
}

/// A stored session in the shape of a snapshot.
fn stored_view(s: &StoredSession) -> Value {
    let hosts: Vec<Value> = s
        .hosts
        .iter()
        .map(|HostInfo { name, addrs }| json!({"name": name, "addrs": addrs, "sockets": []}))
        .collect();
    json!({
        "live": false,
        "id": s.id,
        "created_ms": s.created_ms,
        "expires_ms": s.expires_ms,
        "isolation": s.isolation,
        "exercise": s.exercise,
        "limits": s.limits,
        "last_seq": s.last_seq,
        "ended": s.end_reason.clone().or_else(|| Some("ended".to_owned())),
        "ended_ms": s.ended_ms,
        "hosts": hosts,
        "pending": [],
        "usage": null,
    })
}

/// A live snapshot with `live: true`.
fn live_view(snapshot: &Snapshot) -> Result<Value, ApiError> {
    let mut value =
        serde_json::to_value(snapshot).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Value::Object(map) = &mut value {
        map.insert("live".to_owned(), Value::Bool(true));
    }
    Ok(value)
}

/// The view of a session for its snapshot message and `GET /api/sessions/{id}`.
pub async fn session_view(found: &Found) -> Result<Value, ApiError> {
    match found {
        Found::Live(handle) => match handle.snapshot().await {
            Ok(snapshot) => live_view(&snapshot),
            Err(_) => Ok(
                json!({"live": false, "id": handle.id(), "ended": handle.ended(),
                "last_seq": handle.last_seq(), "hosts": handle.hosts()}),
            ),
        },
        Found::Stored(stored) => Ok(stored_view(stored)),
    }
}

/// `GET /api/sessions/{id}`: the snapshot (live) or the stored record (ended).
pub async fn get_session(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let token = auth::bearer(&headers, None);
    let (found, _) = find(&state, &id, token.as_deref()).await?;
    Ok(Json(session_view(&found).await?))
}

/// `DELETE /api/sessions/{id}`: end the session.
pub async fn end_session(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let handle = live_as_owner(&state, &id, &headers).await?;
    let reason = "ended by its owner";
    handle.end(reason).await?;
    Ok(Json(
        json!({"id": handle.id(), "ended": reason, "last_seq": handle.last_seq()}),
    ))
}

/// `POST /api/sessions/{id}/hosts`: add a host.
pub async fn add_host(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<HostInfo>), ApiError> {
    let handle = live_as_owner(&state, &id, &headers).await?;
    let host = handle.add_host().await?;
    Ok((StatusCode::CREATED, Json(host)))
}

/// `POST /api/sessions/{id}/calls`: make one call.
pub async fn make_call(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let handle = live_as_owner(&state, &id, &headers).await?;
    let request = CallRequest::try_from(body)?;
    state.call_limiter().take(client)?;
    let CallRequest {
        host,
        call,
        wait_ms,
        encoding,
    } = request;
    let reply = handle
        .call(host, call, wait_ms.map(Duration::from_millis))
        .await?;
    let response = CallResponse::from_reply(reply, encoding);
    let status = if response.status == "pending" {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(response)).into_response())
}

/// `GET /api/sessions/{id}/calls/{call_id}`: where a call stands.
pub async fn get_call(
    State(state): State<AppState>,
    Path((id, call_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = auth::bearer(&headers, None);
    let (found, _) = find(&state, &id, token.as_deref()).await?;
    let call_id: u64 = call_id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no call `{call_id}`")))?;
    let Found::Live(handle) = found else {
        return Err(ApiError::NotFound(format!(
            "call {call_id} is not pending: the session has ended; read its events"
        )));
    };
    match handle.call_status(call_id).await? {
        CallStatus::Pending { host, kind, fd } => Ok((
            StatusCode::ACCEPTED,
            Json(json!({"status": "pending", "call_id": call_id, "host": host, "call": kind, "fd": fd})),
        )
            .into_response()),
        CallStatus::Done(reply) => Ok(Json(CallResponse::from_reply(reply, None)).into_response()),
    }
}

/// Query of `GET …/events`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Events with seq above this (0 = from the start).
    #[serde(default)]
    pub after: u64,
    /// Most events to return.
    pub limit: Option<u32>,
}

/// `GET /api/sessions/{id}/events?after=SEQ&limit=N`: a page of the event log.
pub async fn list_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<EventsQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_EVENTS_PAGE);
    if limit == 0 || limit > MAX_EVENTS_PAGE {
        return Err(ApiError::field(
            "limit",
            format!("limit must be between 1 and {MAX_EVENTS_PAGE}"),
        ));
    }
    let token = auth::bearer(&headers, None);
    let (found, _) = find(&state, &id, token.as_deref()).await?;
    // Events are already JSON; the page is assembled as text to avoid parsing them again.
    let (bodies, last_seq, live): (Vec<String>, u64, bool) = match &found {
        Found::Live(handle) => {
            let events = handle.events_after(query.after, limit as usize);
            let bodies = events
                .iter()
                .map(|e| serde_json::to_string(&**e).map_err(|e| ApiError::Internal(e.to_string())))
                .collect::<Result<_, _>>()?;
            (bodies, handle.last_seq(), handle.ended().is_none())
        }
        Found::Stored(stored) => {
            let bodies = state
                .store()
                .events_after(stored.id, query.after, limit)
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            (bodies, stored.last_seq, false)
        }
    };
    let next_after = query.after + bodies.len() as u64;
    let mut page = String::with_capacity(bodies.iter().map(String::len).sum::<usize>() + 128);
    page.push_str("{\"events\":[");
    page.push_str(&bodies.join(","));
    page.push_str(&format!(
        "],\"next_after\":{next_after},\"last_seq\":{last_seq},\"live\":{live}}}"
    ));
    Ok(([(header::CONTENT_TYPE, "application/json")], page).into_response())
}

//! REST handlers under `/api`: sessions, calls and the event log. Each handler checks the
//! request, hands a domain call to the sandbox and turns the answer into its wire form.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AppState;
use super::access::{Found, LiveOwner, PathParams, SessionAccess};
use super::auth;
use super::error::{ApiError, ErrorBody, Json, Message, Query};
use super::peer::Peer;
use super::session_view::{SessionView, session_view};
use super::wire::{CallRequest, CallResponse};
use crate::sandbox::{
    CallStatus, Credentials, Event, EventKind, HostInfo, NewSession, SessionId, Snapshot,
};

/// Events one page of `GET …/events` holds unless asked for fewer.
pub const DEFAULT_EVENTS_PAGE: u32 = 500;
/// Most events one page may hold (the document states it: a test checks).
pub const MAX_EVENTS_PAGE: u32 = 5_000;
/// Fewest hosts a session has: a socket playground needs two ends.
pub const MIN_HOSTS: usize = 2;

/// The client's address, for rate limits; unknown clients share one bucket.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        // A request another node forwarded names its client in a signed header.
        if let Some(forwarded) = parts.extensions.get::<crate::cluster::sign::Forwarded>() {
            return Ok(ClientIp(forwarded.client));
        }
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<Peer>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.addr.ip()),
        ))
    }
}

/// What `POST /api/sessions` takes (all optional).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// Hosts to start with (2 when absent).
    pub hosts: Option<usize>,
    /// An exercise to set the session up for.
    pub exercise: Option<String>,
}

impl TryFrom<Value> for CreateSession {
    type Error = ApiError;

    fn try_from(value: Value) -> Result<Self, ApiError> {
        let Value::Object(map) = value else {
            return Err(ApiError::bad(Message::new(
                "the body must be a JSON object",
                "请求体必须是一个 JSON 对象",
            )));
        };
        let mut request = CreateSession::default();
        for (key, value) in map {
            match (key.as_str(), value) {
                // A null stands for an absent field, as the document allows; only for known ones.
                ("hosts" | "exercise", Value::Null) => {}
                ("hosts", v) => {
                    let n = crate::sandbox::call::form::whole_unsigned(v, "hosts")
                        .ok()
                        .flatten()
                        .ok_or_else(|| {
                            ApiError::field(
                                "hosts",
                                Message::new(
                                    "`hosts` must be a whole number",
                                    "`hosts` 必须是整数",
                                ),
                            )
                        })?;
                    request.hosts = Some(usize::try_from(n).unwrap_or(usize::MAX));
                }
                ("exercise", Value::String(id)) => request.exercise = Some(id),
                ("exercise", _) => {
                    return Err(ApiError::field(
                        "exercise",
                        Message::new("`exercise` must be a string", "`exercise` 必须是字符串"),
                    ));
                }
                (other, _) => {
                    return Err(ApiError::field(
                        other,
                        Message::new(
                            format!(
                                "unknown field `{other}`; a session takes `hosts` and `exercise`"
                            ),
                            format!("未知字段 `{other}`；会话只接受 `hosts` 和 `exercise`"),
                        ),
                    ));
                }
            }
        }
        Ok(request)
    }
}

/// What `POST /api/sessions` answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Serialize, utoipa::ToSchema)]
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

/// The answer of `DELETE /api/sessions/{id}`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionEnded {
    /// The session.
    #[schema(value_type = String)]
    pub id: SessionId,
    /// Why it ended, in the request's language.
    #[schema(value_type = String)]
    pub ended: Message,
    /// Seq of its last event.
    pub last_seq: u64,
}

/// A call still blocked (`GET …/calls/{call_id}`).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PendingCall {
    /// Always `pending`.
    pub status: String,
    pub call_id: u64,
    #[schema(value_type = String)]
    pub host: crate::sandbox::HostId,
    /// The call's name.
    pub call: EventKind,
    pub fd: Option<i32>,
}

/// One page of a session's event log.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventsPage {
    /// Events in seq order.
    pub events: Vec<Event>,
    /// Pass as `after` for the next page.
    pub next_after: u64,
    /// Seq of the newest event now.
    pub last_seq: u64,
    /// Whether the session still runs (more events may come).
    pub live: bool,
}

/// `POST /api/sessions`: start a session.
#[utoipa::path(
    post,
    path = "/api/sessions",
    tag = "sessions",
    request_body(content = Option<CreateSession>, description = "Optional; an empty body makes a session with hosts A and B."),
    responses(
        (status = 201, description = "The session, its tokens (shown once) and its links.", body = SessionCreated),
        (status = 400, description = "Invalid body: a field out of the stated bounds (`hosts` beyond this server's max_hosts, an exercise not in the catalog) or unknown.", body = ErrorBody),
        (status = 413, description = "Body too large (max_body_bytes).", body = ErrorBody),
        (status = 415, description = "A body that is not JSON.", body = ErrorBody),
        (status = 429, description = "This client started too many sessions (its rate); `Retry-After` says when to try again.", body = ErrorBody),
        (status = 503, description = "The server is full (`type` server_full: as many live sessions as its capacity, `max` in the body, `Retry-After` in seconds), the sandbox could not set up the session's network, the server is stopping, or the database could not store the session's start.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "When full: seconds to wait before trying again."))),
    )
)]
pub async fn create_session(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| super::error::bytes_rejection(&e))?;
    let request: CreateSession = if body.iter().all(u8::is_ascii_whitespace) {
        CreateSession::default()
    } else {
        let is_json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(Message::new(
                "send the body as JSON with Content-Type: application/json",
                "请以 JSON 发送请求体，并带上 Content-Type: application/json",
            )));
        }
        let value: Value = serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad(Message::new(
                format!("the body is not valid JSON: {e}"),
                format!("请求体不是有效的 JSON：{e}"),
            ))
        })?;
        CreateSession::try_from(value)?
    };
    if state.draining() {
        return Err(ApiError::NoRoom {
            message: Message::new(
                "this server is stopping: it takes no new sessions",
                "本服务器正在停止：不再接受新的会话",
            ),
            retry_after: 1,
        });
    }
    if state.cluster().is_some_and(|c| c.fenced()) {
        return Err(ApiError::NoRoom {
            message: Message::new(
                "this node cannot renew its place in the cluster (its database does not \
                 answer): it starts no session until it can",
                "本节点无法续期它在集群中的位置（它的数据库没有应答）：在恢复之前它不启动任何会话",
            ),
            retry_after: 5,
        });
    }
    state.session_limiter().take(client)?;
    let exercise = match &request.exercise {
        Some(id) => Some(state.catalog().get(id).cloned().ok_or_else(|| {
            ApiError::field(
                "exercise",
                Message::new(
                    format!("no exercise `{id}`; see GET /api/exercises"),
                    format!("没有练习 `{id}`；请查看 GET /api/exercises"),
                ),
            )
        })?),
        None => None,
    };
    // A count no session can have is a bad request, not a limit to wait out.
    let max_hosts = state.config().limits.max_hosts;
    if let Some(n) = request.hosts {
        if !(MIN_HOSTS..=max_hosts).contains(&n) {
            return Err(ApiError::field(
                "hosts",
                Message::new(
                    format!("a session has between {MIN_HOSTS} and {max_hosts} hosts"),
                    format!("一个会话有 {MIN_HOSTS} 到 {max_hosts} 台主机"),
                ),
            ));
        }
    }
    let setup_hosts = exercise.as_ref().map_or(0, |e| e.setup.hosts);
    let hosts = request
        .hosts
        .unwrap_or(crate::sandbox::DEFAULT_HOSTS)
        .max(setup_hosts);
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
    if let Some(exercise) = &exercise {
        for program in &exercise.setup.programs {
            crate::exercise::program::start(program, handle.clone());
        }
    }
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

/// `GET /api/sessions/{id}`: the snapshot (live) or the stored record (ended).
#[utoipa::path(
    get,
    path = "/api/sessions/{id}",
    tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    security(("token" = [])),
    responses(
        (status = 200, description = "A live snapshot (`live: true`) or an ended session's record (`live: false`, sockets empty).", body = SessionView),
        (status = 401, description = "No or a wrong token.", body = ErrorBody),
        (status = 404, description = "No such session.", body = ErrorBody),
        (status = 503, description = "It happened, but the database could not store its events (an acknowledgement waits for them to be stored).", body = ErrorBody),
    )
)]
pub async fn get_session(access: SessionAccess) -> Result<Json<SessionView>, ApiError> {
    Ok(Json(session_view(&access.session).await?))
}

/// `DELETE /api/sessions/{id}`: end the session.
#[utoipa::path(
    delete,
    path = "/api/sessions/{id}",
    tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    security(("token" = [])),
    responses(
        (status = 200, description = "Ended: every socket closed, every pending call cancelled.", body = SessionEnded),
        (status = 401, body = ErrorBody), (status = 403, description = "A viewer token.", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "Already ended.", body = ErrorBody),
        (status = 503, description = "It happened, but the database could not store its events (an acknowledgement waits for them to be stored).", body = ErrorBody),
    )
)]
pub async fn end_session(LiveOwner(handle): LiveOwner) -> Result<Json<SessionEnded>, ApiError> {
    let reason = Message::new("ended by its owner", "被所有者结束");
    handle.end(reason.clone()).await?;
    Ok(Json(SessionEnded {
        id: handle.id(),
        ended: reason,
        last_seq: handle.last_seq(),
    }))
}

/// `POST /api/sessions/{id}/hosts`: add a host.
#[utoipa::path(
    post,
    path = "/api/sessions/{id}/hosts",
    tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    security(("token" = [])),
    responses(
        (status = 201, description = "The new host (the next letter) and its addresses.", body = HostInfo),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 429, description = "Host limit.", body = ErrorBody),
        (status = 503, description = "The sandbox could not set up the host's network.", body = ErrorBody),
    )
)]
pub async fn add_host(
    LiveOwner(handle): LiveOwner,
) -> Result<(StatusCode, Json<HostInfo>), ApiError> {
    let host = handle.add_host().await?;
    Ok((StatusCode::CREATED, Json(host)))
}

/// `POST /api/sessions/{id}/calls`: make one call.
#[utoipa::path(
    post,
    path = "/api/sessions/{id}/calls",
    tag = "calls",
    params(("id" = String, Path, description = "Session id")),
    security(("token" = [])),
    request_body(content = CallRequest, description = "One socket call; `call` picks the fields."),
    responses(
        (status = 200, description = "The call ran: `status` is `ok` with its results, or `error` with the kernel's errno, message and a hint.", body = CallResponse),
        (status = 202, description = "The call blocked longer than `wait_ms`: `status: pending`; its end comes as an event with the same `call_id` and at `GET …/calls/{call_id}`.", body = CallResponse),
        (status = 400, description = "A call that cannot be expressed (unknown call, missing or wrong field); `field` names it.", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The session has ended (`session_ended`), or has no host of that name (`unknown_host`; hosts can be added).", body = ErrorBody),
        (status = 413, description = "Body too large.", body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 429, description = "A session limit or this client's call rate; Retry-After when waiting helps.", body = ErrorBody),
        (status = 503, description = "It happened, but the database could not store its events (an acknowledgement waits for them to be stored).", body = ErrorBody),
    )
)]
pub async fn make_call(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    owner: Result<LiveOwner, ApiError>,
    body: Result<Json<Value>, ApiError>,
) -> Result<Response, ApiError> {
    // A body that is not JSON is refused before the token is looked at.
    let Json(body) = body?;
    let LiveOwner(handle) = owner?;
    let request = CallRequest::try_from(body)?;
    state.call_limiter().take(client)?;
    let CallRequest {
        host,
        call,
        wait_ms,
        encoding,
    } = request;
    // A wait longer than the session allows can never be served: a bad request naming the
    // bound, as the document states it.
    let max_wait_ms = handle.info().limits.max_wait_ms;
    if wait_ms.is_some_and(|w| w > max_wait_ms) {
        return Err(ApiError::field(
            "wait_ms",
            Message::new(
                format!("`wait_ms` must be between 0 and {max_wait_ms} (max_wait_ms)"),
                format!("`wait_ms` 必须在 0 到 {max_wait_ms} 之间（max_wait_ms）"),
            ),
        ));
    }
    let reply = handle
        .call(host, call, wait_ms.map(Duration::from_millis))
        .await?;
    let response = CallResponse::from_reply(reply, encoding);
    let status = if response.is_pending() {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(response)).into_response())
}

/// `GET /api/sessions/{id}/calls/{call_id}`: where a call stands.
#[utoipa::path(
    get,
    path = "/api/sessions/{id}/calls/{call_id}",
    tag = "calls",
    params(("id" = String, Path, description = "Session id"), ("call_id" = u64, Path, description = "The call's id, as `POST …/calls` answered it")),
    security(("token" = [])),
    responses(
        (status = 200, description = "The call has ended; its result as the call answered it. A call \
            the session no longer holds in memory is read back from the log, where received data is \
            a preview (`note` says when it was cut).", body = CallResponse),
        (status = 202, description = "Still blocked.", body = PendingCall),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such session, or no call with this id in its log.", body = ErrorBody),
        (status = 503, description = "It happened, but the database could not store its events (an acknowledgement waits for them to be stored).", body = ErrorBody),
    )
)]
pub async fn get_call(
    State(state): State<AppState>,
    PathParams((_, call_id)): PathParams<(String, String)>,
    SessionAccess { session: found, .. }: SessionAccess,
) -> Result<Response, ApiError> {
    let no_call = || {
        ApiError::NotFound(Message::new(
            format!("no call `{call_id}` in this session"),
            format!("本会话中没有调用 `{call_id}`"),
        ))
    };
    let call_id: u64 = call_id.parse().map_err(|_| no_call())?;
    if let Found::Live(handle) = &found {
        // The session answers for its pending calls and its recent replies (with all the
        // data received); anything older is in the log.
        match handle.call_status(call_id).await {
            Ok(CallStatus::Pending { host, kind, fd }) => {
                return Ok((
                    StatusCode::ACCEPTED,
                    Json(PendingCall {
                        status: "pending".to_owned(),
                        call_id,
                        host,
                        call: kind,
                        fd,
                    }),
                )
                    .into_response());
            }
            Ok(CallStatus::Done(reply)) => {
                return Ok(Json(CallResponse::from_reply(reply, None)).into_response());
            }
            Err(
                crate::sandbox::SessionError::NoSuchCall(_) | crate::sandbox::SessionError::Ended,
            ) => {}
            Err(other) => return Err(other.into()),
        }
    }
    let last = last_event_of_call(&state, &found, call_id)
        .await?
        .ok_or_else(no_call)?;
    // Only a server that stopped mid-call leaves a call whose last event is still pending.
    let response = CallResponse::from_event(&last).ok_or_else(|| {
        ApiError::NotFound(Message::new(
            format!(
                "call {call_id} was still blocked when its session ended without it; it has no result"
            ),
            format!("会话结束时调用 {call_id} 仍在阻塞，它没有结果"),
        ))
    })?;
    Ok(Json(response).into_response())
}

/// The last event of call `call_id` in a session's log: its completion, once it has one.
async fn last_event_of_call(
    state: &AppState,
    found: &Found,
    call_id: u64,
) -> Result<Option<Event>, ApiError> {
    Ok(
        super::log::newest(state, found, |e| e.call_id == Some(call_id))
            .await?
            .map(|e| (*e).clone()),
    )
}

/// Query of `GET …/events`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Events with seq above this (0 = from the start).
    #[serde(default)]
    #[param(minimum = 0)]
    pub after: u64,
    /// Most events to return (500 when absent).
    #[param(minimum = 1, maximum = 5000)]
    pub limit: Option<u32>,
}

/// `GET /api/sessions/{id}/events?after=SEQ&limit=N`: a page of the event log.
#[utoipa::path(
    get,
    path = "/api/sessions/{id}/events",
    tag = "events",
    params(("id" = String, Path, description = "Session id"), EventsQuery),
    security(("token" = [])),
    responses(
        (status = 200, description = "Events in seq order; `next_after` continues the paging.", body = EventsPage),
        (status = 400, description = "A query parameter out of range, malformed or unknown.", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, description = "It happened, but the database could not store its events (an acknowledgement waits for them to be stored).", body = ErrorBody),
    )
)]
pub async fn list_events(
    State(state): State<AppState>,
    query: Result<Query<EventsQuery>, ApiError>,
    access: Result<SessionAccess, ApiError>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(DEFAULT_EVENTS_PAGE);
    // Seqs fit in i64 (the database's integer); anything above is past the end.
    let query = EventsQuery {
        after: query.after.min(i64::MAX as u64),
        limit: query.limit,
    };
    if limit == 0 || limit > MAX_EVENTS_PAGE {
        return Err(ApiError::field(
            "limit",
            Message::new(
                format!("limit must be between 1 and {MAX_EVENTS_PAGE}"),
                format!("limit 必须在 1 到 {MAX_EVENTS_PAGE} 之间"),
            ),
        ));
    }
    let found = access?.session;
    // Events are already JSON; the page is assembled as text to avoid parsing them again.
    let bodies = super::log::page_json(&state, &found, query.after, limit).await?;
    let (last_seq, live) = match &found {
        Found::Live(handle) => (handle.shown_seq(), handle.ended().is_none()),
        Found::Stored(stored) => (stored.last_seq, false),
    };
    let next_after = query.after.saturating_add(bodies.len() as u64);
    let mut page = String::with_capacity(bodies.iter().map(String::len).sum::<usize>() + 128);
    page.push_str("{\"events\":[");
    page.push_str(&bodies.join(","));
    page.push_str(&format!(
        "],\"next_after\":{next_after},\"last_seq\":{last_seq},\"live\":{live}}}"
    ));
    Ok(([(header::CONTENT_TYPE, "application/json")], page).into_response())
}

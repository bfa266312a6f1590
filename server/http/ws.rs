//! The live event stream: `GET /api/sessions/{id}/ws?after=SEQ`.
//!
//! The server sends `{"type":"snapshot"}` first, then `{"type":"event"}` for every event after
//! `after` (from the log), then live events, in seq order without gap or repeat. A client that
//! falls more than the broadcast's capacity behind gets `{"type":"resync"}` with a fresh
//! snapshot and the stream continues after it. When the session ends the server sends
//! `{"type":"ended"}` and closes. Each connection is one task: an event loop over the
//! session's broadcast, the client's messages, a ping timer and the server's shutdown.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;

use super::AppState;
use super::access::{Found, SessionAccess, StreamAccess};
use super::error::{self, ApiError, ErrorBody, Query};
use super::lang::RequestLang;
use super::peer::{Peer, WS_SEND_BUFFER};
use super::session_view::{SessionView, session_view};
use crate::sandbox::{Event, EventKind, SessionHandle, Subscription};

/// How often the server pings an idle client.
const PING_EVERY: Duration = Duration::from_secs(20);
/// How long one send to the client may take before the client is dropped as stuck: with a
/// send buffer of [`WS_SEND_BUFFER`], a send that waits this long means the reader stopped.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Stored events read per query when replaying an ended session.
const REPLAY_PAGE: u32 = 1_000;
/// Close code when the server shuts down ("going away").
const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code after the session's end was sent ("normal closure").
const CLOSE_NORMAL: u16 = 1000;

/// The close frame after `{"type":"ended"}`.
fn ended_frame() -> CloseFrame {
    CloseFrame {
        code: CLOSE_NORMAL,
        reason: Utf8Bytes::from_static("session ended"),
    }
}
/// Live subscribers one session may have at once.
pub const MAX_SUBSCRIBERS: usize = 32;

/// Query of the WebSocket endpoint.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WsQuery {
    /// Events after this seq are sent (0 = all).
    #[serde(default)]
    pub after: u64,
    /// The token, for browsers that cannot set headers on a WebSocket.
    pub token: Option<String>,
}

/// `GET /api/sessions/{id}/ws`: upgrade to a WebSocket carrying text messages
/// `{"type":"snapshot","snapshot":…}`, then `{"type":"event","event":…}` in seq order,
/// `{"type":"resync","snapshot":…}` after falling behind, `{"type":"ended","reason":…}`.
#[utoipa::path(
    get,
    path = "/api/sessions/{id}/ws",
    tag = "events",
    params(
        ("id" = String, Path, description = "Session id"),
        WsQuery,
        ("Connection" = String, Header, description = "Names `Upgrade` (case-insensitive).", pattern = "[Uu][Pp][Gg][Rr][Aa][Dd][Ee]"),
        ("Upgrade" = String, Header, description = "`websocket` (case-insensitive).", pattern = "^[Ww][Ee][Bb][Ss][Oo][Cc][Kk][Ee][Tt]$"),
        ("Sec-WebSocket-Version" = String, Header, description = "The WebSocket version: 13."),
        ("Sec-WebSocket-Key" = String, Header, description = "The client's handshake nonce (RFC 6455)."),
    ),
    security(("token" = [])),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol."),
        (status = 400, description = "Not a WebSocket handshake (a header above missing or wrong), or a query parameter malformed or unknown.", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, description = "The session has max_subscribers watchers already.", body = ErrorBody),
    )
)]
pub async fn websocket(
    State(state): State<AppState>,
    Query(query): Query<WsQuery>,
    headers: HeaderMap,
    RequestLang(lang): RequestLang,
    access: Result<StreamAccess, ApiError>,
    peer: Option<Peer>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    check_handshake(&headers)?;
    // Anything the header checks above let through and axum still refuses (the connection
    // cannot be upgraded) is as much the client's fault; same shape.
    let upgrade = upgrade.map_err(|rejection| ApiError::bad(rejection.body_text()))?;
    let StreamAccess(SessionAccess { session: found, .. }) = access?;
    let id = found.id();
    if let Found::Live(handle) = &found {
        if handle.subscribers() >= MAX_SUBSCRIBERS {
            return Err(ApiError::Limit {
                name: "max_subscribers",
                max: MAX_SUBSCRIBERS as u64,
                retry_after: None,
            });
        }
    }
    if let Some(peer) = peer {
        // SAFETY: in this request's handler, before it returns.
        if let Err(e) = unsafe { peer.fix_send_buffer(WS_SEND_BUFFER) } {
            tracing::warn!(error = %e, "could not size a WebSocket's send buffer");
        }
    }
    // The stream runs in a task of its own, outside the request: it keeps the upgrade
    // request's language for every frame it sends.
    Ok(upgrade.on_upgrade(move |socket| {
        lang.scope(async move {
            let metrics = state.metrics().clone();
            metrics
                .ws_subscribers
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let result = stream(socket, &state, found, query.after).await;
            metrics
                .ws_subscribers
                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            if let Err(reason) = result {
                tracing::debug!(session = %id, reason, "websocket closed");
            }
        })
    }))
}

/// The WebSocket version this server speaks (RFC 6455).
const WEBSOCKET_VERSION: &str = "13";

/// Check the handshake headers as the document declares them, so a request that is not a
/// WebSocket handshake gets a 400 naming the header at fault, in the common error shape.
fn check_handshake(headers: &HeaderMap) -> Result<(), ApiError> {
    let value = |name: header::HeaderName| headers.get(name).map(|v| v.as_bytes());
    let connection_upgrades = value(header::CONNECTION).is_some_and(|v| {
        v.windows(b"upgrade".len())
            .any(|w| w.eq_ignore_ascii_case(b"upgrade"))
    });
    if !connection_upgrades {
        return Err(ApiError::field(
            "Connection",
            error::Message::new(
                "not a WebSocket handshake: the Connection header must name Upgrade",
                "这不是 WebSocket 握手：Connection 首部必须包含 Upgrade",
            ),
        ));
    }
    if !value(header::UPGRADE).is_some_and(|v| v.eq_ignore_ascii_case(b"websocket")) {
        return Err(ApiError::field(
            "Upgrade",
            error::Message::new(
                "not a WebSocket handshake: the Upgrade header must be websocket",
                "这不是 WebSocket 握手：Upgrade 首部必须是 websocket",
            ),
        ));
    }
    if value(header::SEC_WEBSOCKET_VERSION) != Some(WEBSOCKET_VERSION.as_bytes()) {
        return Err(ApiError::field(
            "Sec-WebSocket-Version",
            error::Message::new(
                format!("the Sec-WebSocket-Version header must be {WEBSOCKET_VERSION}"),
                format!("Sec-WebSocket-Version 首部必须是 {WEBSOCKET_VERSION}"),
            ),
        ));
    }
    if value(header::SEC_WEBSOCKET_KEY).is_none() {
        return Err(ApiError::field(
            "Sec-WebSocket-Key",
            error::Message::new(
                "not a WebSocket handshake: the Sec-WebSocket-Key header is missing",
                "这不是 WebSocket 握手：缺少 Sec-WebSocket-Key 首部",
            ),
        ));
    }
    Ok(())
}

/// Why the loop woke up.
enum Wake {
    Event(Result<std::sync::Arc<Event>, RecvError>),
    Client(Option<Result<Message, axum::Error>>),
    Ping,
    Stop,
}

/// One message of the stream, tagged by `type`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StreamMessage<'a> {
    /// The session as it stands, first of all.
    Snapshot { snapshot: &'a SessionView },
    /// One event of the log, in seq order.
    Event { event: &'a Event },
    /// The client fell behind: events after `skipped_after` up to the snapshot's last seq
    /// were skipped; the stream continues after the snapshot.
    Resync {
        skipped_after: u64,
        snapshot: &'a SessionView,
    },
    /// The session has ended; the server closes the stream after this.
    Ended {
        reason: Option<&'a crate::i18n::Message>,
    },
}

async fn send(socket: &mut WebSocket, message: &StreamMessage<'_>) -> Result<(), &'static str> {
    let text = serde_json::to_string(message).map_err(|_| "a message could not be written")?;
    let text = Utf8Bytes::from(text);
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err("client gone"),
        Err(_) => Err("client stopped reading"),
    }
}

async fn send_event(socket: &mut WebSocket, event: &Event) -> Result<(), &'static str> {
    send(socket, &StreamMessage::Event { event }).await
}

async fn stream(
    mut socket: WebSocket,
    state: &AppState,
    found: Found,
    after: u64,
) -> Result<(), &'static str> {
    // The view waits until its last seq is stored, as every seq shown does.
    let snapshot = session_view(&found).await.map_err(|_| "snapshot failed")?;
    send(
        &mut socket,
        &StreamMessage::Snapshot {
            snapshot: &snapshot,
        },
    )
    .await?;
    match found {
        Found::Stored(stored) => {
            let mut after = after;
            loop {
                let events = state
                    .store()
                    .events(stored.id, after, REPLAY_PAGE)
                    .await
                    .map_err(|_| "reading the log failed")?;
                let Some(last) = events.last() else { break };
                after = last.seq;
                for event in &events {
                    send_event(&mut socket, event).await?;
                }
            }
            finish_with(socket, stored.end_reason.clone()).await
        }
        Found::Live(handle) => live(socket, state, handle, after).await,
    }
}

/// Wait until `seq` may be shown: a seq a client sees survives a crash.
async fn shown(handle: &SessionHandle, seq: u64) -> Result<(), &'static str> {
    handle
        .wait_shown(seq)
        .await
        .map_err(|_| "the session's events could not be stored")
}

async fn live(
    mut socket: WebSocket,
    state: &AppState,
    handle: SessionHandle,
    after: u64,
) -> Result<(), &'static str> {
    // A seq past the newest asks for nothing that exists: what comes next follows it.
    let after = after.min(handle.last_seq());
    let mut subscription = handle.subscribe(after);
    let mut last_sent = after;
    if let Some(end) = send_start(
        &mut socket,
        state,
        &handle,
        &mut subscription,
        &mut last_sent,
    )
    .await?
    {
        return end_stream(socket, end).await;
    }
    let mut stopping = state.stopping();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.reset();
    loop {
        let wake = tokio::select! {
            event = subscription.live.recv() => Wake::Event(event),
            message = socket.recv() => Wake::Client(message),
            _ = ping.tick() => Wake::Ping,
            _ = stopping.wait_for(|stop| *stop) => Wake::Stop,
        };
        match wake {
            Wake::Event(Ok(event)) => {
                if event.seq <= last_sent {
                    continue;
                }
                shown(&handle, event.seq).await?;
                last_sent = event.seq;
                send_event(&mut socket, &event).await?;
                if event.kind == EventKind::SessionEnded {
                    return finish(socket, &event).await;
                }
            }
            Wake::Event(Err(RecvError::Lagged(_))) => {
                // Catch up with a fresh snapshot, then follow on from it.
                let snapshot = session_view(&Found::Live(handle.clone()))
                    .await
                    .map_err(|_| "snapshot failed")?;
                let resume = snapshot.session.last_seq;
                subscription = handle.subscribe(resume);
                send(
                    &mut socket,
                    &StreamMessage::Resync {
                        skipped_after: last_sent,
                        snapshot: &snapshot,
                    },
                )
                .await?;
                last_sent = resume;
                if let Some(end) = send_start(
                    &mut socket,
                    state,
                    &handle,
                    &mut subscription,
                    &mut last_sent,
                )
                .await?
                {
                    return end_stream(socket, end).await;
                }
            }
            Wake::Event(Err(RecvError::Closed)) => return Err("session gone"),
            Wake::Client(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return Ok(()),
            Wake::Client(Some(Ok(_))) => {}
            Wake::Ping => {
                tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Ping(Default::default())))
                    .await
                    .map_err(|_| "client stopped reading")?
                    .map_err(|_| "client gone")?;
            }
            Wake::Stop => {
                // Sessions end before the server says stop: what they logged, their end
                // included, goes out before the close.
                if let Some(ended) = rest(&mut socket, state, &handle, last_sent).await? {
                    return finish(socket, &ended).await;
                }
                let frame = CloseFrame {
                    code: CLOSE_GOING_AWAY,
                    reason: Utf8Bytes::from_static("server shutting down"),
                };
                socket.send(Message::Close(Some(frame))).await.ok(/* client gone */);
                return Ok(());
            }
        }
    }
}

/// How a stream ends: on the session's end event, or with its reason alone.
enum End {
    Event(Arc<Event>),
    Reason(Option<crate::i18n::Message>),
}

async fn end_stream(socket: WebSocket, end: End) -> Result<(), &'static str> {
    match end {
        End::Event(ended) => finish(socket, &ended).await,
        End::Reason(reason) => finish_with(socket, reason).await,
    }
}

/// Send a subscription's start: the events that left memory (from the store), then its
/// backlog, then, if the session has ended meanwhile, the rest of its log. Returns how the
/// stream ends if it does.
async fn send_start(
    socket: &mut WebSocket,
    state: &AppState,
    handle: &SessionHandle,
    subscription: &mut Subscription,
    last_sent: &mut u64,
) -> Result<Option<End>, &'static str> {
    *last_sent = catch_up(socket, state, handle, *last_sent, subscription.first).await?;
    for event in std::mem::take(&mut subscription.backlog) {
        if event.seq <= *last_sent {
            continue;
        }
        shown(handle, event.seq).await?;
        *last_sent = event.seq;
        send_event(socket, &event).await?;
        if event.kind == EventKind::SessionEnded {
            return Ok(Some(End::Event(event)));
        }
    }
    if handle.ended().is_some() {
        // It ended while the start went out (or before): the rest is in the log.
        return Ok(Some(
            match rest(socket, state, handle, *last_sent).await? {
                Some(ended) => End::Event(ended),
                None => End::Reason(handle.ended()),
            },
        ));
    }
    Ok(None)
}

/// Send everything logged after `last_sent`, read from the log (memory or store) once it is
/// all stored; returns the session's end if it was among it. For a session that has ended or
/// a server that stops: the live feed may have lagged, the log has it all.
async fn rest(
    socket: &mut WebSocket,
    state: &AppState,
    handle: &SessionHandle,
    mut last_sent: u64,
) -> Result<Option<Arc<Event>>, &'static str> {
    shown(handle, handle.last_seq()).await?;
    let found = Found::Live(handle.clone());
    loop {
        let events = super::log::page(state, &found, last_sent, REPLAY_PAGE)
            .await
            .map_err(|_| "reading the log failed")?;
        if events.is_empty() {
            return Ok(None);
        }
        for event in events {
            last_sent = event.seq;
            send_event(socket, &event).await?;
            if event.kind == EventKind::SessionEnded {
                return Ok(Some(event));
            }
        }
    }
}

/// Send the events after `after` that left memory before `first` (where a subscription's
/// backlog starts) from the store, which holds them once it says so. Returns the last seq sent.
async fn catch_up(
    socket: &mut WebSocket,
    state: &AppState,
    handle: &SessionHandle,
    after: u64,
    first: u64,
) -> Result<u64, &'static str> {
    let mut last_sent = after;
    if first <= after.saturating_add(1) {
        return Ok(last_sent);
    }
    handle
        .wait_stored(first - 1)
        .await
        .map_err(|_| "the session's events could not be stored")?;
    while last_sent + 1 < first {
        let rows = (first - 1 - last_sent).min(u64::from(REPLAY_PAGE)) as u32;
        let events = state
            .store()
            .events(handle.id(), last_sent, rows)
            .await
            .map_err(|_| "reading the log failed")?;
        let Some(last) = events.last() else {
            return Err("the store is missing events it said it had");
        };
        for event in events.iter().take_while(|e| e.seq < first) {
            send_event(socket, event).await?;
        }
        last_sent = last.seq.min(first - 1);
    }
    Ok(last_sent)
}

async fn finish(socket: WebSocket, ended: &Event) -> Result<(), &'static str> {
    finish_with(socket, ended.reason.clone()).await
}

async fn finish_with(
    mut socket: WebSocket,
    reason: Option<crate::i18n::Message>,
) -> Result<(), &'static str> {
    send(
        &mut socket,
        &StreamMessage::Ended {
            reason: reason.as_ref(),
        },
    )
    .await?;
    socket.send(Message::Close(Some(ended_frame()))).await.ok(/* client gone */);
    Ok(())
}

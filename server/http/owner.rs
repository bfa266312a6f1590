//! Which node answers a request, in a cluster: a request about a session another live node
//! owns is forwarded to it, a new session goes where [`Cluster::placement`] says, and a
//! request a node forwarded is checked and answered here, never forwarded again. Outside a
//! cluster every request passes through untouched.

use std::net::{IpAddr, Ipv4Addr};

use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::{ApiError, Message};
use super::peer::Peer;
use crate::cluster::sign::{self, Forwarded};
use crate::cluster::{Cluster, Owner, Placement};
use crate::sandbox::{SessionId, now_ms};

/// Route the request to the node that answers it.
pub async fn route(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let Some(cluster) = state.cluster().cloned() else {
        return next.run(request).await;
    };
    if sign::claims_node(request.headers()) {
        let checked = sign::verify(
            request.headers(),
            cluster.secret(),
            now_ms(),
            request.method(),
            request.uri(),
        );
        return match checked {
            Ok(forwarded) => {
                request.extensions_mut().insert(forwarded);
                next.run(request).await
            }
            Err(e) => {
                tracing::warn!(error = %e, "refused a request that claims to come from a node");
                ApiError::Unauthorized(e.to_string().into()).into_response()
            }
        };
    }
    let path = request.uri().path();
    if request.method() == Method::POST && path == "/api/sessions" {
        return match cluster.placement(state.sandbox().room()) {
            Placement::Here => next.run(request).await,
            Placement::There { node, addr } => {
                forward(&state, &cluster, request, next, node, &addr).await
            }
            Placement::Full => full(&cluster).into_response(),
        };
    }
    let Some(segment) = path
        .strip_prefix("/api/sessions/")
        .and_then(|rest| rest.split('/').next())
    else {
        return next.run(request).await;
    };
    let Ok(id) = segment.parse::<SessionId>() else {
        // An id written with %-escapes would pass here unrouted and be decoded by the router:
        // an id has only hex digits, so such a segment names no session.
        if segment.contains('%') {
            return ApiError::NotFound(Message::new(
                format!("no session `{segment}`"),
                format!("没有会话 `{segment}`"),
            ))
            .into_response();
        }
        return next.run(request).await;
    };
    match cluster.owner_of(id).await {
        Ok(Owner::Here | Owner::Gone) => next.run(request).await,
        Ok(Owner::There { node, addr }) => {
            forward(&state, &cluster, request, next, node, &addr).await
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Forward `request` to `node` at `addr`, signed. The body is read first (the API's bodies
/// are small and bounded): should the node turn out to have left, the request is still whole
/// and answered here, from the database.
async fn forward(
    state: &AppState,
    cluster: &Cluster,
    request: Request,
    next: Next,
    node: u16,
    addr: &str,
) -> Response {
    let client = client_ip(&request);
    if request.headers().contains_key(axum::http::header::UPGRADE) {
        if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<Peer>>() {
            // The owner fixes the send buffer of its connection to this node; the client's
            // connection is this one, and a reader that stops reading must fall behind here
            // as it would there, rather than pin megabytes of kernel memory.
            // SAFETY: called while answering a request that arrived on this connection, which
            // the server keeps open until the answer is given.
            if let Err(e) = unsafe { peer.fix_send_buffer(super::peer::WS_SEND_BUFFER) } {
                tracing::debug!(error = %e, "could not fix a forwarded WebSocket's send buffer");
            }
        }
    }
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, state.config().max_body_bytes).await {
        Ok(body) => body,
        Err(_) => return ApiError::PayloadTooLarge.into_response(),
    };
    let me = cluster.node();
    let secret = cluster.secret();
    let sent = cluster
        .forwarder()
        .forward(&parts, body.clone(), addr, |headers| {
            sign::sign(
                headers,
                secret,
                me,
                client,
                now_ms(),
                &parts.method,
                &parts.uri,
            );
        })
        .await;
    let error = match sent {
        Ok(response) => return response,
        Err(e) => e,
    };
    // The path only: a WebSocket's query holds a token.
    tracing::warn!(node, path = parts.uri.path(), error = %error, "forwarding to a node failed");
    match cluster.recheck(node).await {
        // It left (or its lease ran out and it was reaped just now): the database answers.
        Ok(false) => next.run(Request::from_parts(parts, body.into())).await,
        Ok(true) => ApiError::Unavailable(Message::new(
            format!(
                "the node that runs this session (node {node}) does not answer; if it is gone, \
                 the cluster reports its sessions ended within {} s",
                cluster.lease().as_secs()
            ),
            format!(
                "运行这个会话的节点（节点 {node}）没有应答；如果它已离开，集群会在 {} 秒内把它的会话报告为已结束",
                cluster.lease().as_secs()
            ),
        ))
        .into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The answer when no node has room.
fn full(cluster: &Cluster) -> ApiError {
    ApiError::NoRoom {
        message: Message::new(
            "every node of this cluster is full or stopping: no room for a new session",
            "本集群的每个节点都已满或正在停止：没有空间容纳新的会话",
        ),
        retry_after: (cluster.lease().as_secs() / 3).max(1),
    }
}

/// The client's address: the one a node vouched for, or the connection's.
pub fn client_ip(request: &Request) -> IpAddr {
    if let Some(forwarded) = request.extensions().get::<Forwarded>() {
        return forwarded.client;
    }
    request
        .extensions()
        .get::<ConnectInfo<Peer>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.addr.ip())
}

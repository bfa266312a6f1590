//! Forwarding a request to another node, as it came: method, path, headers and body, and a
//! WebSocket upgrade spliced through byte for byte, so a client that reaches the wrong node
//! cannot tell. Connections to each node are kept alive in a pool.

use std::time::Duration;

use axum::body::Body;
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// How long connecting to a node may take: nodes are near each other, and a node that does
/// not answer this fast is as good as gone for the request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long an idle connection to a node is kept.
const POOL_IDLE: Duration = Duration::from_secs(30);
/// Idle connections kept per node.
const POOL_PER_NODE: usize = 64;

/// Headers that belong to one connection, not to the request (RFC 9110, 7.6.1).
const HOP_BY_HOP: [header::HeaderName; 6] = [
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHORIZATION,
];

/// Why a request could not be forwarded.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("the node's address does not make a URL: {0}")]
    Address(String),
    #[error("{0}")]
    Unreachable(String),
}

/// The client nodes forward with.
#[derive(Debug, Clone)]
pub struct Forwarder {
    client: Client<HttpConnector, Body>,
}

impl Default for Forwarder {
    fn default() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .pool_max_idle_per_host(POOL_PER_NODE)
            .build(connector);
        Forwarder { client }
    }
}

impl Forwarder {
    /// Send the request of `parts` and `body` to the node at `base` (`http://host:port`)
    /// after `sign` has added the headers that vouch for it, and hand back the node's answer.
    /// A WebSocket upgrade the node accepts is joined to the client's connection in a task of
    /// its own. The request is borrowed, so that the caller can still answer it otherwise when
    /// the node cannot be reached.
    pub async fn forward(
        &self,
        parts: &Parts,
        body: Bytes,
        base: &str,
        sign: impl FnOnce(&mut HeaderMap),
    ) -> Result<Response, ForwardError> {
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let uri: Uri = format!("{base}{path}")
            .parse()
            .map_err(|e: axum::http::uri::InvalidUri| ForwardError::Address(e.to_string()))?;
        let mut request = Request::new(Body::from(body));
        *request.method_mut() = parts.method.clone();
        *request.uri_mut() = uri;
        let mut headers = parts.headers.clone();
        let upgrade = wants_upgrade(&headers);
        let client_side = parts.extensions.get::<hyper::upgrade::OnUpgrade>().cloned();
        let upgrade_to = headers.get(header::UPGRADE).cloned();
        for name in HOP_BY_HOP {
            headers.remove(name);
        }
        // The client's Host names the address it reached; the node is reached at another.
        headers.remove(header::HOST);
        if let (true, Some(protocol)) = (upgrade, upgrade_to) {
            headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            headers.insert(header::UPGRADE, protocol);
        }
        sign(&mut headers);
        *request.headers_mut() = headers;
        let mut response = self
            .client
            .request(request)
            .await
            .map_err(|e| ForwardError::Unreachable(error_chain(&e)))?;
        if response.status() == StatusCode::SWITCHING_PROTOCOLS {
            let node_side = hyper::upgrade::on(&mut response);
            match client_side {
                Some(client_side) => {
                    tokio::spawn(async move {
                        let (client, node) = tokio::join!(client_side, node_side);
                        match (client, node) {
                            (Ok(client), Ok(node)) => {
                                let mut client = TokioIo::new(client);
                                let mut node = TokioIo::new(node);
                                // Ends when either side closes; an error is a closed side.
                                let _ = tokio::io::copy_bidirectional(&mut client, &mut node).await;
                            }
                            (client, node) => tracing::debug!(
                                client = client.is_ok(),
                                node = node.is_ok(),
                                "a forwarded upgrade did not complete"
                            ),
                        }
                    });
                }
                None => tracing::warn!("a node upgraded a request whose client cannot upgrade"),
            }
        }
        Ok(response.map(Body::new))
    }
}

/// Whether the request asks to switch protocols (a WebSocket).
fn wants_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
}

/// An error and its causes on one line (the client's errors say little at the top).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

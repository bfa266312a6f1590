//! A session's WebSocket from the test's side: open it, read its next JSON message.

use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use super::timeout;

/// A WebSocket client over plain TCP.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Open the WebSocket at `url` (`ws://…`).
pub async fn connect(url: &str) -> Ws {
    timeout(tokio_tungstenite::connect_async(url))
        .await
        .unwrap()
        .0
}

/// The next JSON message (pings and pongs skipped); `None` once closed.
pub async fn next<S>(ws: &mut tokio_tungstenite::WebSocketStream<S>) -> Option<Value>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match timeout(ws.next()).await? {
            Ok(Message::Text(t)) => return Some(serde_json::from_str(&t).unwrap()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Open the WebSocket at `url` on the server at `addr` over a socket with a tiny receive
/// buffer, so the server's writes back up after a few unread messages.
pub async fn connect_slow_reader(addr: std::net::SocketAddr, url: &str) -> Ws {
    /// Bytes the kernel may buffer for this reader.
    const RECV_BUFFER: usize = 2048;
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(RECV_BUFFER).unwrap();
    socket.connect(&addr.into()).unwrap();
    socket.set_nonblocking(true).unwrap();
    let stream = tokio::net::TcpStream::from_std(socket.into()).unwrap();
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    timeout(tokio_tungstenite::client_async(url, stream))
        .await
        .unwrap()
        .0
}

/// The HTTP status the server refuses the WebSocket at `url` with; panics if it accepts.
pub async fn refused(url: &str) -> u16 {
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        other => panic!("expected the handshake refused, got {other:?}"),
    }
}

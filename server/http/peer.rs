//! The connection a request came on: the client's address (for rate limits) and the socket
//! itself, so a WebSocket can be given a small, fixed kernel send buffer.

use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use axum::extract::OptionalFromRequestParts;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::http::request::Parts;
use axum::serve::IncomingStream;

use crate::listen::Listeners;

/// Kernel send buffer asked for a WebSocket connection (the kernel doubles it for its own
/// bookkeeping). Small and fixed, so a reader that stops reading pins little kernel memory
/// and falls behind, into a resync, after a few dozen events instead of megabytes.
pub const WS_SEND_BUFFER: usize = 16 * 1024;

/// What the server knows of a connection when a request arrives on it.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    /// The client's address.
    pub addr: SocketAddr,
    /// The connection's socket, open for as long as a request on it is being answered.
    fd: RawFd,
}

impl Connected<IncomingStream<'_, Listeners>> for Peer {
    fn connect_info(stream: IncomingStream<'_, Listeners>) -> Self {
        Peer {
            addr: *stream.remote_addr(),
            fd: stream.io().as_raw_fd(),
        }
    }
}

/// `Option<Peer>` in a handler: the connection, when the server was started with it (a router
/// driven without a listener, as in some tests, has none).
impl<S: Send + Sync> OptionalFromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Peer>, Self::Rejection> {
        Ok(parts.extensions.get::<ConnectInfo<Peer>>().map(|c| c.0))
    }
}

impl Peer {
    /// Fix the connection's kernel send buffer at `bytes` (this turns off the kernel's
    /// auto-tuning, which would grow it to megabytes for a reader that does not read).
    ///
    /// # Safety
    /// Call it only from the handler of a request that arrived on this connection, before
    /// the handler returns: the server keeps the connection (and so the descriptor) open
    /// until then. Anywhere else the number may name another file. (Sound for HTTP/1, the
    /// only protocol this server speaks: one connection serves one request at a time.)
    pub unsafe fn fix_send_buffer(&self, bytes: usize) -> std::io::Result<()> {
        // SAFETY: the caller upholds the contract above: the descriptor is open and is this
        // connection's.
        let fd = unsafe { BorrowedFd::borrow_raw(self.fd) };
        socket2::SockRef::from(&fd).set_send_buffer_size(bytes)
    }
}

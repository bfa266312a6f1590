//! One TCP socket as an inet_diag reply describes it ([`DiagSocket`]), read from the
//! message layout of `netlink-packet-sock-diag`, and the kernel timers it may run. The one
//! field that crate drops (the `TIME_WAIT` timer's expiry) is read here where the crate's own
//! buffer type says it lies.

use std::mem::size_of;
use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use netlink_packet_core::{DecodeError, parse_u32};
use netlink_packet_sock_diag::inet::{
    InetResponseBuffer, InetResponseHeader, SocketId, SocketIdBuffer, Timer,
};

use crate::sandbox::probe::TcpState;

/// No timer is running.
pub const TIMER_NONE: u8 = 0;
/// The retransmit timer (also the loss probe and SYN-ACK timers).
pub const TIMER_RETRANSMIT: u8 = 1;
/// The keepalive timer (also a closing socket's `FIN_WAIT2` timer).
pub const TIMER_KEEPALIVE: u8 = 2;
/// The `TIME_WAIT` timer of a socket no descriptor holds any more.
pub const TIMER_TIME_WAIT: u8 = 3;
/// The zero-window probe timer.
pub const TIMER_ZERO_WINDOW_PROBE: u8 = 4;

/// Where `idiag_expires` lies in `struct inet_diag_msg` (`linux/inet_diag.h`): after the four
/// one-byte fields family, state, timer and retransmits, and the socket id. The crate parses
/// this field for every timer but `TIME_WAIT`'s, for which it keeps no value.
const EXPIRES_OFFSET: usize = 4 + size_of::<SocketIdBuffer>();

// The crate's own layout of the message must agree: five `u32` (expires, the two queues, uid,
// inode) follow the socket id.
const _: () = assert!(size_of::<InetResponseBuffer>() == EXPIRES_OFFSET + 5 * size_of::<u32>());

/// One TCP socket as sock_diag reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagSocket {
    /// Local address; an `AF_INET` socket's is V4, an `AF_INET6` socket's V6 (IPv4-mapped
    /// addresses stay V6).
    pub local: SocketAddr,
    /// Peer address; the unspecified address and port 0 for a listener.
    pub remote: SocketAddr,
    /// TCP state; a `TIME_WAIT` socket still waiting for the peer's FIN shows `FIN_WAIT2`.
    pub state: TcpState,
    /// Inode of the socket's file; 0 when no descriptor holds it (TIME_WAIT, accept queue).
    pub inode: u32,
    /// The kernel timer running (0 none, 1 retransmit, 2 keepalive, 3 TIME_WAIT, 4 zero-window
    /// probe); see [`TIMER_NONE`] and the constants after it.
    pub timer: u8,
    /// Milliseconds until that timer fires.
    pub expires_ms: u32,
    /// Bytes not yet read; for a listener, connections waiting in its accept queue.
    pub recv_queue: u32,
    /// Bytes not yet acknowledged; for a listener, its backlog.
    pub send_queue: u32,
}

impl DiagSocket {
    /// The socket one inet_diag reply describes, or `None` when its state is one this build
    /// does not know. `payload` is the reply's raw bytes, read only for the timer expiry the
    /// crate drops.
    pub(super) fn from_reply(
        header: InetResponseHeader,
        payload: &[u8],
    ) -> Result<Option<Self>, DecodeError> {
        let InetResponseHeader {
            family: _, // the addresses' variant already says it
            state,
            timer,
            socket_id,
            recv_queue,
            send_queue,
            uid: _,
            inode,
        } = header;
        let SocketId {
            source_port,
            destination_port,
            source_address,
            destination_address,
            interface_id,
            cookie: _,
        } = socket_id;
        let Some(state) = TcpState::from_raw(state) else {
            return Ok(None);
        };
        let (timer, expires_ms) = match timer {
            None => (TIMER_NONE, 0),
            Some(Timer::Retransmit(left, _retransmits)) => (TIMER_RETRANSMIT, millis(left)),
            Some(Timer::KeepAlive(left)) => (TIMER_KEEPALIVE, millis(left)),
            Some(Timer::TimeWait) => (TIMER_TIME_WAIT, time_wait_expires_ms(payload)?),
            Some(Timer::Probe(left)) => (TIMER_ZERO_WINDOW_PROBE, millis(left)),
        };
        Ok(Some(DiagSocket {
            local: socket_addr(source_address, source_port, interface_id),
            remote: socket_addr(destination_address, destination_port, interface_id),
            state,
            inode,
            timer,
            expires_ms,
            recv_queue,
            send_queue,
        }))
    }
}

/// The `TIME_WAIT` timer's milliseconds left, read from an inet_diag reply's raw bytes.
fn time_wait_expires_ms(payload: &[u8]) -> Result<u32, DecodeError> {
    let field = payload
        .get(EXPIRES_OFFSET..EXPIRES_OFFSET + size_of::<u32>())
        .ok_or_else(|| DecodeError::buffer_too_small(payload.len(), EXPIRES_OFFSET + 4))?;
    parse_u32(field)
}

/// A timer's time left in whole milliseconds (the kernel reports it as a `u32` of them).
fn millis(left: Duration) -> u32 {
    u32::try_from(left.as_millis()).unwrap_or(u32::MAX)
}

/// A socket address as `getsockname` gives it: a link-local IPv6 address carries the socket's
/// interface as its scope.
fn socket_addr(ip: IpAddr, port: u16, interface: u32) -> SocketAddr {
    match ip {
        IpAddr::V4(v4) => SocketAddr::from((v4, port)),
        IpAddr::V6(v6) => {
            let scope = if v6.is_unicast_link_local() {
                interface
            } else {
                0
            };
            SocketAddr::V6(SocketAddrV6::new(v6, port, 0, scope))
        }
    }
}

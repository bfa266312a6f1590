//! Kernel probes: what the kernel knows of a socket, read without consuming anything.
//!
//! A probe reads `TCP_INFO` (TCP state; for a listener the accept queue length and backlog),
//! `SIOCINQ`/`SIOCOUTQ` (bytes in the receive and send queues) and a zero-timeout `poll`
//! (pending error, peer's FIN). None of these take data or clear an error, so watching a socket
//! never changes what the user's next call returns.

use std::os::fd::{AsRawFd, RawFd};

use serde::{Deserialize, Serialize};

/// A TCP state as the kernel names it (`include/net/tcp_states.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TcpState {
    Established,
    SynSent,
    SynRecv,
    FinWait1,
    FinWait2,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Listen,
    Closing,
    NewSynRecv,
}

impl TcpState {
    /// The state with the kernel's number, if known.
    pub fn from_raw(raw: u8) -> Option<TcpState> {
        Some(match raw {
            1 => TcpState::Established,
            2 => TcpState::SynSent,
            3 => TcpState::SynRecv,
            4 => TcpState::FinWait1,
            5 => TcpState::FinWait2,
            6 => TcpState::TimeWait,
            7 => TcpState::Close,
            8 => TcpState::CloseWait,
            9 => TcpState::LastAck,
            10 => TcpState::Listen,
            11 => TcpState::Closing,
            12 => TcpState::NewSynRecv,
            _ => return None,
        })
    }

    /// Whether the state is a connection that was alive (a RST here is a reset).
    pub fn is_connected(self) -> bool {
        matches!(
            self,
            TcpState::Established
                | TcpState::SynRecv
                | TcpState::FinWait1
                | TcpState::CloseWait
                | TcpState::Closing
        )
    }

    /// Whether the kernel is in the middle of a handshake or a teardown, where the state moves
    /// on without any readiness the user would see.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            TcpState::SynSent
                | TcpState::SynRecv
                | TcpState::FinWait1
                | TcpState::Closing
                | TcpState::LastAck
                | TcpState::NewSynRecv
        )
    }
}

/// The prefix of `struct tcp_info` that probes read; the kernel copies as many bytes as asked.
#[repr(C)]
#[derive(Default)]
struct TcpInfoHead {
    state: u8,
    ca_state: u8,
    retransmits: u8,
    probes: u8,
    backoff: u8,
    options: u8,
    wscale: u8,
    app_limited: u8,
    rto: u32,
    ato: u32,
    snd_mss: u32,
    rcv_mss: u32,
    /// For a listener: connections waiting in the accept queue.
    unacked: u32,
    /// For a listener: the accept queue's limit (the backlog as the kernel took it).
    sacked: u32,
}

/// What the kernel said of one socket at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    /// TCP state; none for UDP.
    pub tcp_state: Option<TcpState>,
    /// Bytes waiting to be read (for UDP: the size of the next datagram).
    pub recv_queue: Option<u32>,
    /// Bytes sent but not yet acknowledged, or not yet sent.
    pub send_queue: Option<u32>,
    /// Listener: connections in the accept queue.
    pub accept_queue: Option<u32>,
    /// Listener: the accept queue's limit.
    pub backlog: Option<u32>,
    /// An error is pending on the socket (POLLERR): a reset or a refused connect.
    pub error_pending: bool,
    /// The peer shut its write side down (POLLRDHUP).
    pub peer_closed: bool,
    /// Something waits to be read (POLLIN): for a Unix listener, a connection to accept.
    pub readable: bool,
}

/// Read the figures of `fd`; `tcp` says whether it is a TCP socket.
pub fn probe(fd: &impl AsRawFd, tcp: bool) -> Figures {
    let fd = fd.as_raw_fd();
    let mut figures = Figures::default();
    if tcp {
        if let Some(info) = tcp_info(fd) {
            figures.tcp_state = TcpState::from_raw(info.state);
            if figures.tcp_state == Some(TcpState::Listen) {
                figures.accept_queue = Some(info.unacked);
                figures.backlog = Some(info.sacked);
            }
        }
    }
    if figures.tcp_state != Some(TcpState::Listen) {
        figures.recv_queue = ioctl_int(fd, libc::FIONREAD);
        figures.send_queue = ioctl_int(fd, libc::TIOCOUTQ);
    }
    let revents = poll_now(fd);
    figures.error_pending = revents & libc::POLLERR != 0;
    figures.peer_closed = revents & libc::POLLRDHUP != 0;
    figures.readable = revents & libc::POLLIN != 0;
    figures
}

/// TCP state of `fd`, if it is a TCP socket.
pub fn tcp_state(fd: &impl AsRawFd) -> Option<TcpState> {
    tcp_info(fd.as_raw_fd()).and_then(|info| TcpState::from_raw(info.state))
}

fn tcp_info(fd: RawFd) -> Option<TcpInfoHead> {
    let mut info = TcpInfoHead::default();
    let mut len = std::mem::size_of::<TcpInfoHead>() as libc::socklen_t;
    // SAFETY: `info` is a plain repr(C) struct of `len` bytes; the kernel writes at most `len`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&raw mut info).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some(info)
}

fn ioctl_int(fd: RawFd, request: libc::Ioctl) -> Option<u32> {
    let mut value: libc::c_int = 0;
    // SAFETY: FIONREAD and TIOCOUTQ write one int through the pointer.
    let rc = unsafe { libc::ioctl(fd, request, &mut value) };
    (rc == 0).then(|| u32::try_from(value).unwrap_or(0))
}

fn poll_now(fd: RawFd) -> libc::c_short {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN | libc::POLLOUT | libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout: the call only reports readiness.
    let rc = unsafe { libc::poll(&mut pfd, 1, 0) };
    if rc < 0 { 0 } else { pfd.revents }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn listener_queue_and_states() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let f = probe(&listener, true);
        assert_eq!(f.tcp_state, Some(TcpState::Listen));
        assert_eq!(f.accept_queue, Some(0));
        let client = TcpStream::connect(addr).unwrap();
        let f = probe(&listener, true);
        assert_eq!(f.accept_queue, Some(1));
        assert_eq!(probe(&client, true).tcp_state, Some(TcpState::Established));
        let (server, _) = listener.accept().unwrap();
        drop(client);
        // The FIN travels through loopback synchronously with close().
        let f = probe(&server, true);
        assert_eq!(f.tcp_state, Some(TcpState::CloseWait));
        assert!(f.peer_closed);
    }
}

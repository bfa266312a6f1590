//! Calls: the socket API calls a user makes on a host, and what each returns.
//!
//! These are domain types: the HTTP layer parses its JSON into them and renders replies from
//! them. Every call names its descriptor as the host's program would see it.

use std::net::SocketAddr;

use super::errno::Errno;
use super::event::{EventKind, Seq};
use super::host::HostId;
use super::net::{Family, OptValue, Proto, ShutdownHow, SockOpt};

/// One socket API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// socket(domain, type, 0).
    Socket { family: Family, proto: Proto },
    /// bind(fd, addr).
    Bind { fd: i32, addr: SocketAddr },
    /// listen(fd, backlog).
    Listen { fd: i32, backlog: i32 },
    /// connect(fd, addr).
    Connect { fd: i32, addr: SocketAddr },
    /// accept(fd) → a new descriptor and the peer's address.
    Accept { fd: i32 },
    /// send(fd, data).
    Send { fd: i32, data: Vec<u8> },
    /// recv(fd, max, MSG_PEEK if peek).
    Recv { fd: i32, max: usize, peek: bool },
    /// sendto(fd, data, addr).
    Sendto {
        fd: i32,
        data: Vec<u8>,
        addr: SocketAddr,
    },
    /// recvfrom(fd, max, MSG_PEEK if peek) → data and source.
    Recvfrom { fd: i32, max: usize, peek: bool },
    /// shutdown(fd, how).
    Shutdown { fd: i32, how: ShutdownHow },
    /// close(fd).
    Close { fd: i32 },
    /// setsockopt(fd, option, value).
    Setsockopt {
        fd: i32,
        option: SockOpt,
        value: OptValue,
    },
    /// getsockopt(fd, option).
    Getsockopt { fd: i32, option: SockOpt },
    /// getsockname(fd).
    Getsockname { fd: i32 },
    /// getpeername(fd).
    Getpeername { fd: i32 },
    /// fcntl(fd, F_SETFL, O_NONBLOCK on or off).
    Nonblocking { fd: i32, on: bool },
}

impl Call {
    /// The event kind that records this call.
    pub fn kind(&self) -> EventKind {
        match self {
            Call::Socket { .. } => EventKind::Socket,
            Call::Bind { .. } => EventKind::Bind,
            Call::Listen { .. } => EventKind::Listen,
            Call::Connect { .. } => EventKind::Connect,
            Call::Accept { .. } => EventKind::Accept,
            Call::Send { .. } => EventKind::Send,
            Call::Recv { .. } => EventKind::Recv,
            Call::Sendto { .. } => EventKind::Sendto,
            Call::Recvfrom { .. } => EventKind::Recvfrom,
            Call::Shutdown { .. } => EventKind::Shutdown,
            Call::Close { .. } => EventKind::Close,
            Call::Setsockopt { .. } => EventKind::Setsockopt,
            Call::Getsockopt { .. } => EventKind::Getsockopt,
            Call::Getsockname { .. } => EventKind::Getsockname,
            Call::Getpeername { .. } => EventKind::Getpeername,
            Call::Nonblocking { .. } => EventKind::Nonblocking,
        }
    }

    /// The descriptor the call acts on; `socket` has none.
    pub fn fd(&self) -> Option<i32> {
        match *self {
            Call::Socket { .. } => None,
            Call::Bind { fd, .. }
            | Call::Listen { fd, .. }
            | Call::Connect { fd, .. }
            | Call::Accept { fd }
            | Call::Send { fd, .. }
            | Call::Recv { fd, .. }
            | Call::Sendto { fd, .. }
            | Call::Recvfrom { fd, .. }
            | Call::Shutdown { fd, .. }
            | Call::Close { fd }
            | Call::Setsockopt { fd, .. }
            | Call::Getsockopt { fd, .. }
            | Call::Getsockname { fd }
            | Call::Getpeername { fd }
            | Call::Nonblocking { fd, .. } => Some(fd),
        }
    }
}

/// What a successful call returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallValue {
    /// New descriptor (socket, accept).
    pub fd: Option<i32>,
    /// Peer address (accept, recvfrom, getpeername).
    pub peer: Option<SocketAddr>,
    /// Local address (getsockname), or the address used (bind, connect, sendto).
    pub addr: Option<SocketAddr>,
    /// Bytes sent or received.
    pub bytes: Option<usize>,
    /// Bytes received.
    pub data: Option<Vec<u8>>,
    /// Option value read (getsockopt).
    pub value: Option<OptValue>,
    /// What the sandbox did on the way (an address it mapped, a refused peer it closed).
    pub note: Option<String>,
}

/// Why a call failed: the kernel's errno, or the sandbox refusing at the boundary with the
/// errno the kernel would give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFailure {
    /// The error.
    pub errno: Errno,
    /// Whether the sandbox refused it (rather than the kernel).
    pub sandbox: bool,
    /// A hint more precise than the errno's own, when there is one.
    pub hint: Option<String>,
}

impl CallFailure {
    /// A failure the kernel reported.
    pub fn kernel(err: &std::io::Error) -> CallFailure {
        CallFailure {
            errno: Errno::from_io(err),
            sandbox: false,
            hint: None,
        }
    }

    /// A failure with a raw errno number, as the kernel would give it.
    pub fn code(code: i32) -> CallFailure {
        CallFailure {
            errno: Errno::from_code(code),
            sandbox: false,
            hint: None,
        }
    }

    /// The sandbox refusing something at the session boundary.
    pub fn sandbox(code: i32, hint: String) -> CallFailure {
        CallFailure {
            errno: Errno::from_code(code),
            sandbox: true,
            hint: Some(hint),
        }
    }

    /// The hint to show: the precise one, else the errno's.
    pub fn hint(&self) -> &str {
        self.hint.as_deref().unwrap_or(self.errno.hint)
    }
}

/// How a call ended, as far as its caller can see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    /// It ran and succeeded.
    Ok(CallValue),
    /// It ran and failed.
    Err(CallFailure),
    /// It is still blocked; its completion comes as an event with the same call id.
    Pending,
}

/// The answer to one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallReply {
    /// The call's id in its session.
    pub call_id: u64,
    /// The host it ran on.
    pub host: HostId,
    /// The event that recorded this outcome.
    pub seq: Seq,
    /// The outcome.
    pub outcome: CallOutcome,
}

//! Calls: the socket API calls a user makes on a host, and what each returns.
//!
//! These are domain types: the HTTP layer parses its JSON into them and renders replies from
//! them. Every call names its descriptor as the host's program would see it.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::errno::Errno;
use super::event::{EventKind, Family, Proto, Seq};
use super::host::HostId;

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

/// Which direction `shutdown` closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShutdownHow {
    /// SHUT_RD.
    Read,
    /// SHUT_WR: sends FIN.
    Write,
    /// SHUT_RDWR.
    Both,
}

impl From<ShutdownHow> for std::net::Shutdown {
    fn from(how: ShutdownHow) -> Self {
        match how {
            ShutdownHow::Read => std::net::Shutdown::Read,
            ShutdownHow::Write => std::net::Shutdown::Write,
            ShutdownHow::Both => std::net::Shutdown::Both,
        }
    }
}

/// How an option's value is passed to the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptShape {
    /// An int used as a flag.
    Bool,
    /// An int.
    Int,
    /// A `struct linger`.
    Linger,
}

/// Socket options a user may set or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum SockOpt {
    #[serde(rename = "SO_REUSEADDR")]
    SoReuseaddr,
    #[serde(rename = "SO_REUSEPORT")]
    SoReuseport,
    #[serde(rename = "SO_LINGER")]
    SoLinger,
    #[serde(rename = "SO_RCVBUF")]
    SoRcvbuf,
    #[serde(rename = "SO_SNDBUF")]
    SoSndbuf,
    #[serde(rename = "SO_BROADCAST")]
    SoBroadcast,
    #[serde(rename = "SO_KEEPALIVE")]
    SoKeepalive,
    #[serde(rename = "SO_ERROR")]
    SoError,
    #[serde(rename = "SO_TYPE")]
    SoType,
    #[serde(rename = "TCP_NODELAY")]
    TcpNodelay,
    #[serde(rename = "IPV6_V6ONLY")]
    Ipv6V6only,
    #[serde(rename = "IP_TTL")]
    IpTtl,
}

impl SockOpt {
    /// Every option, in the order a form would list them.
    pub const ALL: [SockOpt; 12] = [
        SockOpt::SoReuseaddr,
        SockOpt::SoReuseport,
        SockOpt::SoLinger,
        SockOpt::SoRcvbuf,
        SockOpt::SoSndbuf,
        SockOpt::SoBroadcast,
        SockOpt::SoKeepalive,
        SockOpt::SoError,
        SockOpt::SoType,
        SockOpt::TcpNodelay,
        SockOpt::Ipv6V6only,
        SockOpt::IpTtl,
    ];

    /// (level, optname, shape) as setsockopt(2) takes them.
    pub fn raw(self) -> (libc::c_int, libc::c_int, OptShape) {
        use OptShape::*;
        match self {
            SockOpt::SoReuseaddr => (libc::SOL_SOCKET, libc::SO_REUSEADDR, Bool),
            SockOpt::SoReuseport => (libc::SOL_SOCKET, libc::SO_REUSEPORT, Bool),
            SockOpt::SoLinger => (libc::SOL_SOCKET, libc::SO_LINGER, Linger),
            SockOpt::SoRcvbuf => (libc::SOL_SOCKET, libc::SO_RCVBUF, Int),
            SockOpt::SoSndbuf => (libc::SOL_SOCKET, libc::SO_SNDBUF, Int),
            SockOpt::SoBroadcast => (libc::SOL_SOCKET, libc::SO_BROADCAST, Bool),
            SockOpt::SoKeepalive => (libc::SOL_SOCKET, libc::SO_KEEPALIVE, Bool),
            SockOpt::SoError => (libc::SOL_SOCKET, libc::SO_ERROR, Int),
            SockOpt::SoType => (libc::SOL_SOCKET, libc::SO_TYPE, Int),
            SockOpt::TcpNodelay => (libc::IPPROTO_TCP, libc::TCP_NODELAY, Bool),
            SockOpt::Ipv6V6only => (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, Bool),
            SockOpt::IpTtl => (libc::IPPROTO_IP, libc::IP_TTL, Int),
        }
    }

    /// The option's C name.
    pub fn name(self) -> &'static str {
        match self {
            SockOpt::SoReuseaddr => "SO_REUSEADDR",
            SockOpt::SoReuseport => "SO_REUSEPORT",
            SockOpt::SoLinger => "SO_LINGER",
            SockOpt::SoRcvbuf => "SO_RCVBUF",
            SockOpt::SoSndbuf => "SO_SNDBUF",
            SockOpt::SoBroadcast => "SO_BROADCAST",
            SockOpt::SoKeepalive => "SO_KEEPALIVE",
            SockOpt::SoError => "SO_ERROR",
            SockOpt::SoType => "SO_TYPE",
            SockOpt::TcpNodelay => "TCP_NODELAY",
            SockOpt::Ipv6V6only => "IPV6_V6ONLY",
            SockOpt::IpTtl => "IP_TTL",
        }
    }
}

/// A socket option's value: a flag, a number, or a linger setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum OptValue {
    /// SO_REUSEADDR, TCP_NODELAY, …
    Bool(bool),
    /// SO_RCVBUF, SO_SNDBUF, IP_TTL, SO_ERROR, …
    Int(i64),
    /// SO_LINGER: on/off and seconds; on with 0 seconds makes close send RST.
    Linger { onoff: bool, seconds: u32 },
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

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Bytes from hex (either case); none if the text is not an even run of hex digits.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if digits.len() % 2 != 0 {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| {
            let hi = char::from(pair[0]).to_digit(16)?;
            let lo = char::from(pair[1]).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        assert_eq!(to_hex(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(from_hex("00ABff"), Some(vec![0, 0xab, 0xff]));
        assert_eq!(from_hex("0"), None);
        assert_eq!(from_hex("zz"), None);
    }

    #[test]
    fn option_names_match_serde() {
        for opt in SockOpt::ALL {
            let json = serde_json::to_string(&opt).unwrap();
            assert_eq!(json, format!("\"{}\"", opt.name()));
        }
    }

    #[test]
    fn opt_values_parse_untagged() {
        let v: OptValue = serde_json::from_str("true").unwrap();
        assert_eq!(v, OptValue::Bool(true));
        let v: OptValue = serde_json::from_str("4096").unwrap();
        assert_eq!(v, OptValue::Int(4096));
        let v: OptValue = serde_json::from_str(r#"{"onoff":true,"seconds":0}"#).unwrap();
        assert_eq!(
            v,
            OptValue::Linger {
                onoff: true,
                seconds: 0
            }
        );
    }
}

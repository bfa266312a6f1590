//! Isolation backends: how a session's hosts get their addresses and sockets, and where the
//! session's boundary is enforced.
//!
//! The session code talks to one [`SessionNetwork`] per session through this seam and never
//! asks which backend it has. [`loopback`] gives each host an address of a pool inside
//! 127.0.0.0/8 and enforces the boundary itself; [`netns`] makes each host its own network
//! namespace and lets the kernel enforce it.

mod cidr;
pub mod diag;
pub mod loopback;
mod netlink;
pub mod netns;
pub mod unix_names;

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};
use socket2::Socket;

use super::call::CallFailure;
use super::capture::Capture;
use super::host::HostId;
use super::net::{Family, Proto, SockType};

pub use cidr::Ipv4Cidr;

/// What socket(2) is asked for: domain, type and protocol (none for the type's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketSpec {
    pub family: Family,
    pub ty: SockType,
    pub protocol: Option<Proto>,
}

impl SocketSpec {
    fn raw(self) -> (socket2::Domain, socket2::Type, Option<socket2::Protocol>) {
        use socket2::{Domain, Protocol, Type};
        let domain = match self.family {
            Family::Inet => Domain::IPV4,
            Family::Inet6 => Domain::IPV6,
            Family::Unix => Domain::UNIX,
        };
        let ty = match self.ty {
            SockType::Stream => Type::STREAM,
            SockType::Dgram => Type::DGRAM,
            SockType::Seqpacket => Type::SEQPACKET,
            SockType::Raw => Type::RAW,
        };
        let protocol = self.protocol.and_then(Proto::number).map(Protocol::from);
        (domain, ty, protocol)
    }
}

/// A new non-blocking, close-on-exec socket in the calling thread's network namespace: the
/// kernel decides whether the domain, type and protocol go together, and says so by errno.
pub fn new_socket(spec: SocketSpec) -> io::Result<Socket> {
    let (domain, ty, protocol) = spec.raw();
    Socket::new(domain, ty.nonblocking(), protocol)
}

/// Two connected non-blocking, close-on-exec sockets (socketpair(2)).
pub fn new_pair(spec: SocketSpec) -> io::Result<(Socket, Socket)> {
    let (domain, ty, protocol) = spec.raw();
    Socket::pair(domain, ty.nonblocking(), protocol)
}

/// The ephemeral port range of the calling thread's network namespace
/// (`net.ipv4.ip_local_port_range`, which IPv6 shares).
pub fn ephemeral_ports() -> io::Result<(u16, u16)> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")?;
    let mut parts = text.split_whitespace().map(str::parse::<u16>);
    match (parts.next(), parts.next()) {
        (Some(Ok(lo)), Some(Ok(hi))) => Ok((lo, hi)),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "ip_local_port_range is not two ports",
        )),
    }
}

/// The isolation mode a server runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IsolationMode {
    /// Each host is its own network namespace.
    Netns,
    /// Each host is an address of the loopback pool.
    Loopback,
}

impl fmt::Display for IsolationMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IsolationMode::Netns => "netns",
            IsolationMode::Loopback => "loopback",
        })
    }
}

/// A backend that builds session networks.
pub trait Isolation: Send + Sync + fmt::Debug + 'static {
    /// Which mode this backend is.
    fn mode(&self) -> IsolationMode;
    /// A new, empty network for one session; hosts are added to it.
    fn new_network(&self) -> Result<Box<dyn SessionNetwork>, IsolationError>;
}

/// The backend could not give a session what it needs (address pool exhausted, a namespace
/// could not be made). Not the user's fault.
#[derive(Debug, thiserror::Error)]
pub enum IsolationError {
    /// The address pool has no free address left.
    #[error("the address pool is exhausted")]
    PoolExhausted,
    /// The operating system refused to build the network.
    #[error("could not set up the session network: {0}")]
    Os(#[from] io::Error),
}

/// An address a call asked for, after the backend decided where it really goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// The address the kernel call uses.
    pub addr: SocketAddr,
    /// What the sandbox changed and why, when it changed anything.
    pub note: Option<crate::i18n::Message>,
}

impl Mapped {
    /// The address as asked, unchanged.
    pub fn same(addr: SocketAddr) -> Mapped {
        Mapped { addr, note: None }
    }
}

/// One session's network: its hosts' addresses and the rules of its boundary. Dropping it
/// releases everything it holds (addresses, namespaces).
pub trait SessionNetwork: Send + fmt::Debug {
    /// Give `host` its addresses and return them, IPv4 first.
    fn add_host(&mut self, host: HostId) -> Result<Vec<IpAddr>, IsolationError>;
    /// Open a non-blocking, close-on-exec socket on `host`.
    fn open_socket(&self, host: HostId, spec: SocketSpec) -> io::Result<Socket>;
    /// Open a connected pair of sockets on `host` (socketpair).
    fn open_pair(&self, host: HostId, spec: SocketSpec) -> io::Result<(Socket, Socket)>;
    /// The range the kernel of `host` takes ephemeral ports from.
    fn ephemeral_ports(&self, host: HostId) -> io::Result<(u16, u16)>;
    /// Where a bind by `host` to `addr` goes, or why the sandbox refuses it.
    fn bind_target(&self, host: HostId, addr: SocketAddr) -> Result<Mapped, CallFailure>;
    /// Where a connect or sendto by `host` to `addr` goes, or why the sandbox refuses it.
    fn destination(&self, host: HostId, addr: SocketAddr) -> Result<Mapped, CallFailure>;
    /// The address an unbound socket of `host` must be bound to before it connects, listens or
    /// sends, when the kernel's own choice would leave the session's addresses.
    fn implicit_bind(&self, host: HostId, family: Family) -> Option<SocketAddr>;
    /// Whether a peer (an accepted connection, a datagram's source) has an address of the
    /// session.
    fn peer_allowed(&self, peer: SocketAddr) -> bool;
    /// Whether the session shares the server's network stack. Then an address of the session
    /// is not enough: a service of the machine bound to the wildcard answers on it too, so a
    /// destination or a peer must be one of the session's own sockets.
    fn shares_kernel(&self) -> bool;
    /// A capture of every frame `host` sends, cut at `snaplen` bytes, when this backend can
    /// capture (netns mode); `None` when it cannot. The backend may keep the capture's socket
    /// open after the capture is dropped (as what keeps the host's namespace): a dropped
    /// capture stops queueing frames either way.
    fn open_capture(&mut self, _host: HostId, _snaplen: u32) -> io::Result<Option<Capture>> {
        Ok(None)
    }
    /// A sock_diag socket in `host`'s namespace, when the backend has namespaces of its own.
    fn open_diag(&self, _host: HostId) -> io::Result<Option<diag::SockDiag>> {
        Ok(None)
    }
    /// Why this backend has no capture, for whoever asks for packets.
    fn capture_unavailable(&self) -> Option<crate::i18n::Text> {
        None
    }
}

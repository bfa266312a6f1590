//! The socket vocabulary that calls, events and snapshots share: family, type and protocol,
//! addresses of every family, the tuple, `shutdown`'s direction and socket options with their
//! values. It depends on nothing else in the sandbox, so calls and events can both use it
//! without needing each other.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What carries a socket's data: the transport protocol of an IP socket, ICMP for raw and ping
/// sockets, or the Unix domain, which has no protocol of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Proto {
    Tcp,
    Udp,
    /// ICMP over IPv4 (raw or ping sockets).
    Icmp,
    /// ICMPv6 (raw or ping sockets).
    Icmpv6,
    /// A Unix-domain socket: no network, no protocol number.
    Unix,
}

impl Proto {
    /// The protocol number socket(2) takes, for the IP protocols.
    pub fn number(self) -> Option<i32> {
        match self {
            Proto::Tcp => Some(libc::IPPROTO_TCP),
            Proto::Udp => Some(libc::IPPROTO_UDP),
            Proto::Icmp => Some(libc::IPPROTO_ICMP),
            Proto::Icmpv6 => Some(libc::IPPROTO_ICMPV6),
            Proto::Unix => None,
        }
    }

    /// Whether this is ICMP of either IP version.
    pub fn is_icmp(self) -> bool {
        matches!(self, Proto::Icmp | Proto::Icmpv6)
    }
}

/// Address family of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Inet,
    Inet6,
    /// AF_LOCAL, also called AF_UNIX.
    Unix,
}

/// A socket's type, as socket(2) takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SockType {
    /// SOCK_STREAM: a byte stream over a connection.
    Stream,
    /// SOCK_DGRAM: datagrams, each read whole.
    Dgram,
    /// SOCK_SEQPACKET: a connection that keeps message boundaries.
    Seqpacket,
    /// SOCK_RAW: the network layer itself.
    Raw,
}

impl SockType {
    /// The C name.
    pub fn c_name(self) -> &'static str {
        match self {
            SockType::Stream => "SOCK_STREAM",
            SockType::Dgram => "SOCK_DGRAM",
            SockType::Seqpacket => "SOCK_SEQPACKET",
            SockType::Raw => "SOCK_RAW",
        }
    }

    /// Whether the type has connections (and so accept, listen, EOF).
    pub fn is_connected(self) -> bool {
        matches!(self, SockType::Stream | SockType::Seqpacket)
    }
}

/// Most bytes of a Unix-domain name: `sun_path` holds 108, and a path needs its terminating
/// NUL (an abstract name's leading NUL takes the same byte).
pub const UNIX_NAME_MAX: usize = 107;

/// A Unix-domain socket's name: a filesystem path, or a name in the abstract namespace
/// (written with a leading `@`, as `ss` and `netstat` show them). Kept inline so that an
/// address stays `Copy` like an IP one.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnixName {
    /// Whether the name is abstract (no file).
    pub is_abstract: bool,
    len: u8,
    bytes: [u8; UNIX_NAME_MAX],
}

impl UnixName {
    /// A name of `bytes` (without the `@` or NUL of an abstract name); None when too long.
    pub fn new(is_abstract: bool, bytes: &[u8]) -> Option<UnixName> {
        if bytes.len() > UNIX_NAME_MAX {
            return None;
        }
        let mut name = UnixName {
            is_abstract,
            len: bytes.len() as u8,
            bytes: [0; UNIX_NAME_MAX],
        };
        name.bytes[..bytes.len()].copy_from_slice(bytes);
        Some(name)
    }

    /// The name's bytes: the path, or the abstract name without its leading NUL.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl fmt::Debug for UnixName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for UnixName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_abstract {
            f.write_str("@")?;
        }
        f.write_str(&String::from_utf8_lossy(self.bytes()))
    }
}

/// A socket address of any family the sandbox has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Addr {
    /// An IP address and port: `10.0.0.2:8080`, `[fd00::2]:8080`.
    Ip(SocketAddr),
    /// An IP address with no port, as ICMP has none: `10.0.0.2`.
    Host(IpAddr),
    /// A Unix-domain name: `/tmp/echo.sock`, `@echo`.
    Unix(UnixName),
}

impl Addr {
    /// The IP address and port, for an IP address (a bare host has port 0, as the kernel
    /// takes it).
    pub fn inet(self) -> Option<SocketAddr> {
        match self {
            Addr::Ip(a) => Some(a),
            Addr::Host(ip) => Some(SocketAddr::new(ip, 0)),
            Addr::Unix(_) => None,
        }
    }

    /// The Unix-domain name, for one.
    pub fn unix(self) -> Option<UnixName> {
        match self {
            Addr::Unix(name) => Some(name),
            Addr::Ip(_) | Addr::Host(_) => None,
        }
    }

    /// The port, for an IP address with one.
    pub fn port(self) -> Option<u16> {
        match self {
            Addr::Ip(a) => Some(a.port()),
            Addr::Host(_) | Addr::Unix(_) => None,
        }
    }
}

impl From<SocketAddr> for Addr {
    fn from(addr: SocketAddr) -> Addr {
        Addr::Ip(addr)
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Ip(a) => write!(f, "{a}"),
            Addr::Host(ip) => write!(f, "{ip}"),
            Addr::Unix(name) => write!(f, "{name}"),
        }
    }
}

/// Why a text is not an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrError {
    /// Neither an IP address (with or without a port) nor a Unix-domain name.
    Malformed,
    /// A Unix-domain name longer than `sun_path` holds.
    TooLong,
    /// A relative path: each host's working directory is `/`, so only absolute paths name
    /// a file unambiguously.
    Relative,
}

impl FromStr for Addr {
    type Err = AddrError;

    /// `ip:port`, `[ip6]:port`, a bare IP, `/a/path` or `@abstract`.
    fn from_str(text: &str) -> Result<Addr, AddrError> {
        if let Some(name) = text.strip_prefix('@') {
            return UnixName::new(true, name.as_bytes())
                .map(Addr::Unix)
                .ok_or(AddrError::TooLong);
        }
        if text.starts_with('/') {
            return UnixName::new(false, text.as_bytes())
                .map(Addr::Unix)
                .ok_or(AddrError::TooLong);
        }
        if let Ok(a) = text.parse::<SocketAddr>() {
            return Ok(Addr::Ip(a));
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(Addr::Host(ip));
        }
        let pathlike = !text.is_empty()
            && !text.contains(':')
            && text.chars().any(|c| c.is_ascii_alphabetic())
            && (text.contains('/') || text.contains(".sock") || !text.contains('.'));
        Err(if pathlike {
            AddrError::Relative
        } else {
            AddrError::Malformed
        })
    }
}

impl Serialize for Addr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Addr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Addr, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse()
            .map_err(|_| serde::de::Error::custom(format!("`{text}` is not an address")))
    }
}

/// A socket's identity at one moment: family, type, protocol and both ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tuple {
    /// tcp, udp, icmp, icmpv6 or unix.
    pub proto: Proto,
    /// inet, inet6 or unix.
    pub family: Family,
    /// stream, dgram, seqpacket or raw (absent in recordings made before it was kept: then
    /// stream for tcp, dgram for udp).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub ty: Option<SockType>,
    /// Local address once bound: `ip:port`, an IP for ICMP, a path or `@name` for a Unix
    /// socket (none while a Unix socket is unnamed).
    #[schema(value_type = Option<String>, example = "10.0.0.2:8080")]
    pub local: Option<Addr>,
    /// Remote address once connected, in the same forms.
    #[schema(value_type = Option<String>, example = "10.0.0.1:49152")]
    pub remote: Option<Addr>,
}

impl Tuple {
    /// The two ends as IP addresses, for IP sockets.
    pub fn ip_ends(&self) -> (Option<SocketAddr>, Option<SocketAddr>) {
        (
            self.local.and_then(Addr::inet),
            self.remote.and_then(Addr::inet),
        )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_of_every_family_parse_and_print_back() {
        for text in [
            "10.0.0.2:8080",
            "[fd00::2]:8080",
            "10.0.0.2",
            "fd00::2",
            "/tmp/echo.sock",
            "@echo",
        ] {
            let addr: Addr = text.parse().unwrap();
            assert_eq!(addr.to_string(), text);
            let json = serde_json::to_string(&addr).unwrap();
            assert_eq!(serde_json::from_str::<Addr>(&json).unwrap(), addr);
        }
        assert_eq!("echo.sock".parse::<Addr>(), Err(AddrError::Relative));
        assert_eq!("tmp/echo".parse::<Addr>(), Err(AddrError::Relative));
        assert_eq!("10.0.0.2:99999".parse::<Addr>(), Err(AddrError::Malformed));
        let long = format!("/{}", "x".repeat(UNIX_NAME_MAX));
        assert_eq!(long.parse::<Addr>(), Err(AddrError::TooLong));
        assert!(
            format!("/{}", "x".repeat(UNIX_NAME_MAX - 1))
                .parse::<Addr>()
                .is_ok()
        );
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

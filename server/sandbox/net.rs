//! The socket vocabulary that calls, events and snapshots share: protocol, family, the
//! tuple, `shutdown`'s direction and socket options with their values. It depends on nothing
//! else in the sandbox, so calls and events can both use it without needing each other.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// Transport protocol of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Proto {
    Tcp,
    Udp,
}

/// Address family of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Inet,
    Inet6,
}

/// A socket's identity on the wire at one moment: protocol and both ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tuple {
    /// tcp or udp.
    pub proto: Proto,
    /// inet or inet6.
    pub family: Family,
    /// Local address and port, once bound.
    #[schema(value_type = Option<String>, example = "10.0.0.2:8080")]
    pub local: Option<SocketAddr>,
    /// Remote address and port, once connected.
    #[schema(value_type = Option<String>, example = "10.0.0.1:49152")]
    pub remote: Option<SocketAddr>,
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

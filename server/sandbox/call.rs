//! Calls: the socket API calls a user makes on a host, and what each returns.
//!
//! These are domain types: the HTTP layer parses its JSON into them and renders replies from
//! them. Every call names its descriptor as the host's program would see it.

use crate::i18n::Message;
use serde::Deserialize;

use super::errno::Errno;
use super::event::{EventKind, Seq};
use super::host::HostId;
use super::net::{Addr, Family, OptValue, Proto, ShutdownHow, SockOpt, SockType, UnixName};
use super::packet::icmp::{DecodedIcmp, IcmpHeader};

/// One socket API call, with its JSON form declared beside each field: the field names and
/// forms a request uses (`domain`, `type`, addresses as text, whole numbers written as floats,
/// defaults), and the schema each field has in the API's document. The derived `Deserialize`
/// is externally tagged (`{"bind": {"fd": 3, …}}`); the HTTP edge moves the `call` name of a
/// request into that tag, so a mistake is reported with the path of the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Call {
    /// socket(domain, type, protocol): a new descriptor.
    Socket {
        /// inet, inet6 or unix.
        #[serde(rename = "domain", deserialize_with = "form::family")]
        #[schema(schema_with = form::family_schema)]
        family: Family,
        /// stream, dgram, seqpacket or raw.
        #[serde(rename = "type", deserialize_with = "form::sock_type")]
        #[schema(schema_with = form::type_schema)]
        ty: SockType,
        /// tcp, udp, icmp or icmpv6; absent is 0, the type's usual protocol.
        #[serde(default, deserialize_with = "form::protocol")]
        #[schema(schema_with = form::protocol_schema)]
        protocol: Option<Proto>,
    },
    /// socketpair(domain, type): two connected descriptors, no names needed.
    Socketpair {
        /// unix (the only domain with pairs).
        #[serde(rename = "domain", deserialize_with = "form::family")]
        #[schema(schema_with = form::family_schema)]
        family: Family,
        /// stream, dgram or seqpacket.
        #[serde(rename = "type", deserialize_with = "form::sock_type")]
        #[schema(schema_with = form::type_schema)]
        ty: SockType,
    },
    /// bind(fd, addr).
    Bind {
        #[serde(deserialize_with = "form::fd")]
        #[schema(minimum = 0)]
        fd: i32,
        #[serde(deserialize_with = "form::addr")]
        #[schema(schema_with = form::addr_schema)]
        addr: Addr,
    },
    /// listen(fd, backlog).
    Listen {
        #[serde(deserialize_with = "form::fd")]
        #[schema(minimum = 0)]
        fd: i32,
        /// Accept queue length (default 16).
        #[serde(default = "form::default_backlog", deserialize_with = "form::backlog")]
        #[schema(nullable, minimum = 0, maximum = 65535, default = 16)]
        backlog: i32,
    },
    /// connect(fd, addr).
    Connect {
        #[serde(deserialize_with = "form::fd")]
        #[schema(minimum = 0)]
        fd: i32,
        #[serde(deserialize_with = "form::addr")]
        #[schema(schema_with = form::addr_schema)]
        addr: Addr,
    },
    /// accept(fd): a new descriptor and the peer.
    Accept {
        #[serde(deserialize_with = "form::fd")]
        #[schema(minimum = 0)]
        fd: i32,
    },
    /// send(fd, data).
    Send {
        #[serde(deserialize_with = "form::fd")]
        #[schema(minimum = 0)]
        fd: i32,
        /// The bytes, written as `encoding` says (text by default); with `icmp`, the echo's
        /// payload after the header.
        #[serde(default, deserialize_with = "form::text")]
        #[schema(value_type = String, default = "")]
        data: Vec<u8>,
        /// On an ICMP socket: the header the sandbox puts before `data`.
        #[serde(default, deserialize_with = "form::icmp")]
        #[schema(schema_with = form::icmp_schema)]
        icmp: Option<IcmpHeader>,
    },
    /// recv(fd, max, peek).
    Recv {
        #[serde(deserialize_with = "form::fd")]
        #[schema(minimum = 0)]
        fd: i32,
        /// Most bytes to read (default 4096).
        #[serde(
            default = "form::default_recv_max",
            deserialize_with = "form::recv_max"
        )]
        #[schema(nullable, minimum = 0, maximum = 2147483647, default = 4096)]
        max: usize,
        /// MSG_PEEK: leave the bytes queued.
        #[serde(default, deserialize_with = "form::peek")]
        #[schema(nullable)]
        peek: bool,
    },
    /// sendto(fd, data, addr).
    Sendto {
        #[serde(deserialize_with = "form::fd")]
        #[schema(minimum = 0)]
        fd: i32,
        /// The bytes, written as `encoding` says (text by default); with `icmp`, the echo's
        /// payload after the header.
        #[serde(default, deserialize_with = "form::text")]
        #[schema(value_type = String, default = "")]
        data: Vec<u8>,
        #[serde(deserialize_with = "form::addr")]
        #[schema(schema_with = form::addr_schema)]
        addr: Addr,
        /// On an ICMP socket: the header the sandbox puts before `data`.
        #[serde(default, deserialize_with = "form::icmp")]
        #[schema(schema_with = form::icmp_schema)]
        icmp: Option<IcmpHeader>,
    },
    /// recvfrom(fd, max, peek): data and its source.
    Recvfrom {
        #[serde(deserialize_with = "form::fd")]
        #[schema(minimum = 0)]
        fd: i32,
        /// Most bytes to read (default 4096).
        #[serde(
            default = "form::default_recv_max",
            deserialize_with = "form::recv_max"
        )]
        #[schema(nullable, minimum = 0, maximum = 2147483647, default = 4096)]
        max: usize,
        /// MSG_PEEK: leave the bytes queued.
        #[serde(default, deserialize_with = "form::peek")]
        #[schema(nullable)]
        peek: bool,
    },
    /// shutdown(fd, how).
    Shutdown {
        #[serde(deserialize_with = "form::fd")]
        #[schema(minimum = 0)]
        fd: i32,
        /// Which direction to close: read, write or both.
        #[serde(deserialize_with = "form::how")]
        #[schema(schema_with = form::how_schema)]
        how: ShutdownHow,
    },
    /// close(fd).
    Close {
        #[serde(deserialize_with = "form::fd")]
        #[schema(minimum = 0)]
        fd: i32,
    },
    /// setsockopt(fd, option, value).
    Setsockopt {
        #[serde(deserialize_with = "form::fd")]
        #[schema(minimum = 0)]
        fd: i32,
        #[serde(deserialize_with = "form::option")]
        option: SockOpt,
        /// Of the shape the option takes.
        #[serde(deserialize_with = "form::opt_value")]
        value: OptValue,
    },
    /// getsockopt(fd, option).
    Getsockopt {
        #[serde(deserialize_with = "form::fd")]
        #[schema(minimum = 0)]
        fd: i32,
        #[serde(deserialize_with = "form::option")]
        option: SockOpt,
    },
    /// getsockname(fd).
    Getsockname {
        #[serde(deserialize_with = "form::fd")]
        #[schema(minimum = 0)]
        fd: i32,
    },
    /// getpeername(fd).
    Getpeername {
        #[serde(deserialize_with = "form::fd")]
        #[schema(minimum = 0)]
        fd: i32,
    },
    /// unlink(path): remove a socket's file, so that its path can be bound again.
    Unlink {
        /// A Unix-domain path, like /tmp/echo.sock.
        #[serde(deserialize_with = "form::unix_path")]
        #[schema(schema_with = form::unix_path_schema)]
        path: UnixName,
    },
    /// Non-blocking mode on or off (fcntl O_NONBLOCK).
    Nonblocking {
        #[serde(deserialize_with = "form::fd")]
        #[schema(minimum = 0)]
        fd: i32,
        #[serde(deserialize_with = "form::on")]
        on: bool,
    },
}

impl Call {
    /// The names of the calls, in declaration order, as the derived `Deserialize` knows them:
    /// the list the API, its document and the figures all take the calls from.
    pub fn names() -> &'static [&'static str] {
        <Call as Deserialize>::deserialize(names::VariantNames)
            .map_or_else(|names| names.0, |_| &[])
    }

    /// The event kind that records this call.
    pub fn kind(&self) -> EventKind {
        match self {
            Call::Socket { .. } => EventKind::Socket,
            Call::Socketpair { .. } => EventKind::Socketpair,
            Call::Unlink { .. } => EventKind::Unlink,
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

    /// The bytes a call sends, for a caller that reads them in another encoding than text.
    pub fn data_mut(&mut self) -> Option<&mut Vec<u8>> {
        match self {
            Call::Send { data, .. } | Call::Sendto { data, .. } => Some(data),
            _ => None,
        }
    }

    /// The ICMP type of the message a send or sendto hands the kernel: its `icmp` header's,
    /// else the first byte of its data (which only an ICMP socket reads as a type).
    pub fn sent_icmp_type(&self) -> Option<u8> {
        match self {
            Call::Send { data, icmp, .. } | Call::Sendto { data, icmp, .. } => {
                icmp.map(|h| h.icmp_type).or_else(|| data.first().copied())
            }
            _ => None,
        }
    }

    /// The descriptor the call acts on; `socket` has none.
    pub fn fd(&self) -> Option<i32> {
        match *self {
            Call::Socket { .. } | Call::Socketpair { .. } | Call::Unlink { .. } => None,
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
    /// New descriptor (socket, accept; socketpair's first).
    pub fd: Option<i32>,
    /// Both descriptors of a socketpair.
    pub fds: Option<[i32; 2]>,
    /// The descriptor of the same host at the other end (accept of a Unix connection).
    pub peer_fd: Option<i32>,
    /// Peer address (accept, recvfrom, getpeername).
    pub peer: Option<Addr>,
    /// Local address (getsockname), or the address used (bind, connect, sendto).
    pub addr: Option<Addr>,
    /// Bytes sent or received.
    pub bytes: Option<usize>,
    /// Bytes received.
    pub data: Option<Vec<u8>>,
    /// Option value read (getsockopt).
    pub value: Option<OptValue>,
    /// What the sandbox did on the way (an address it mapped, a refused peer it closed).
    pub note: Option<Message>,
    /// A hint for a call that succeeded but will not do what it may seem to (an ICMP message
    /// sent with a wrong checksum gets no answer).
    pub hint: Option<Message>,
    /// The ICMP message sent or read, decoded (ICMP sockets).
    pub icmp: Option<Box<DecodedIcmp>>,
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
    pub hint: Option<Message>,
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
    pub fn sandbox(code: i32, hint: impl Into<Message>) -> CallFailure {
        CallFailure {
            errno: Errno::from_code(code),
            sandbox: true,
            hint: Some(hint.into()),
        }
    }

    /// The hint to show: the precise one, else the errno's (in English).
    pub fn hint(&self) -> &str {
        self.hint_in(crate::i18n::Lang::En)
    }

    /// The hint to show in `lang`: the precise one, else the errno's.
    pub fn hint_in(&self, lang: crate::i18n::Lang) -> &str {
        match &self.hint {
            Some(hint) => hint.get(lang),
            None => self.errno.hint.get(lang),
        }
    }
}

/// How a call ended, as far as its caller can see.
// A Unix-domain name is kept inline (addresses stay `Copy`), which makes the success larger
// than the failure; an outcome lives for one call, where boxing would cost an allocation.
#[allow(clippy::large_enum_variant)]
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

/// The JSON form of calls' fields: what each accepts, with a message naming the field when a
/// value does not fit, and the schema the document gives it.
/// Learning an enum's variant names from its derived `Deserialize`.
mod names {
    use std::fmt;

    /// A deserializer that only asks for an enum: it fails with the enum's variant names.
    pub(super) struct VariantNames;

    /// The failure that carries the names (empty when asked for anything but an enum).
    #[derive(Debug)]
    pub(super) struct Names(pub &'static [&'static str]);

    impl fmt::Display for Names {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(&self.0.join(", "))
        }
    }

    impl std::error::Error for Names {}

    impl serde::de::Error for Names {
        fn custom<T: fmt::Display>(_: T) -> Self {
            Names(&[])
        }
    }

    impl<'de> serde::Deserializer<'de> for VariantNames {
        type Error = Names;

        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Names> {
            Err(Names(&[]))
        }

        fn deserialize_enum<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            variants: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Names> {
            Err(Names(variants))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
            struct identifier ignored_any
        }
    }
}

pub mod form {
    use serde::de::{self, Deserialize, Deserializer, Unexpected, Visitor};
    use utoipa::openapi::schema::{
        AdditionalProperties, ObjectBuilder, SchemaFormat, SchemaType, Type,
    };

    use crate::sandbox::net::{
        Addr, AddrError, Family, OptValue, Proto, ShutdownHow, SockOpt, SockType, UNIX_NAME_MAX,
        UnixName,
    };
    use crate::sandbox::packet::icmp::IcmpHeader;

    /// Backlog when a listen call gives none.
    pub const DEFAULT_BACKLOG: i32 = 16;
    /// Bytes a receive asks for when a call gives no `max`.
    pub const DEFAULT_RECV_MAX: usize = 4096;
    /// Largest backlog a call passes on (the kernel caps it at somaxconn anyway).
    pub const MAX_BACKLOG: i64 = 65_535;
    /// Largest `max` a receive may ask for: the kernel's `int` length (the document's int32).
    pub const MAX_RECV_MAX: i64 = i32::MAX as i64;
    /// Names `domain` takes in a socket call.
    pub const DOMAINS: [(&str, Family); 10] = [
        ("inet", Family::Inet),
        ("AF_INET", Family::Inet),
        ("ipv4", Family::Inet),
        ("inet6", Family::Inet6),
        ("AF_INET6", Family::Inet6),
        ("ipv6", Family::Inet6),
        ("unix", Family::Unix),
        ("AF_UNIX", Family::Unix),
        ("AF_LOCAL", Family::Unix),
        ("local", Family::Unix),
    ];
    /// Names `type` takes in a socket call (`tcp` and `udp` stand for the type that carries
    /// them, as earlier versions of the API took them).
    pub const TYPES: [(&str, SockType); 10] = [
        ("stream", SockType::Stream),
        ("SOCK_STREAM", SockType::Stream),
        ("tcp", SockType::Stream),
        ("dgram", SockType::Dgram),
        ("SOCK_DGRAM", SockType::Dgram),
        ("udp", SockType::Dgram),
        ("seqpacket", SockType::Seqpacket),
        ("SOCK_SEQPACKET", SockType::Seqpacket),
        ("raw", SockType::Raw),
        ("SOCK_RAW", SockType::Raw),
    ];
    /// Names `protocol` takes in a socket call.
    pub const PROTOCOLS: [(&str, Proto); 8] = [
        ("tcp", Proto::Tcp),
        ("IPPROTO_TCP", Proto::Tcp),
        ("udp", Proto::Udp),
        ("IPPROTO_UDP", Proto::Udp),
        ("icmp", Proto::Icmp),
        ("IPPROTO_ICMP", Proto::Icmp),
        ("icmpv6", Proto::Icmpv6),
        ("IPPROTO_ICMPV6", Proto::Icmpv6),
    ];
    /// Names `how` takes in a shutdown call.
    pub const DIRECTIONS: [(&str, ShutdownHow); 6] = [
        ("read", ShutdownHow::Read),
        ("SHUT_RD", ShutdownHow::Read),
        ("write", ShutdownHow::Write),
        ("SHUT_WR", ShutdownHow::Write),
        ("both", ShutdownHow::Both),
        ("SHUT_RDWR", ShutdownHow::Both),
    ];
    /// The format the document gives a socket address (`ip:port`, `[ipv6]:port`), as Rust's
    /// `SocketAddr` parses it: described rather than written as a pattern.
    pub const SOCKET_ADDRESS_FORMAT: &str = "socket-address";
    /// The format the document gives a Unix-domain path (absolute, at most 107 bytes), as
    /// `unlink` takes it.
    pub const UNIX_PATH_FORMAT: &str = "unix-path";

    /// A JSON number that is a whole number, as JSON Schema's `integer` counts them: `4` and
    /// `4.0` alike (clients that only have floats write the latter). None for null.
    struct Whole(Option<i128>);

    impl<'de> Deserialize<'de> for Whole {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct WholeVisitor;
            impl Visitor<'_> for WholeVisitor {
                type Value = Whole;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an integer")
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<Whole, E> {
                    Ok(Whole(Some(i128::from(v))))
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<Whole, E> {
                    Ok(Whole(Some(i128::from(v))))
                }
                fn visit_f64<E: de::Error>(self, v: f64) -> Result<Whole, E> {
                    // Beyond ±2^63 a float no longer converts exactly; such values are out of
                    // any range here.
                    if v.fract() == 0.0 && v.abs() < 9.2e18 {
                        Ok(Whole(Some(v as i128)))
                    } else {
                        Err(E::invalid_type(Unexpected::Float(v), &self))
                    }
                }
                fn visit_unit<E: de::Error>(self) -> Result<Whole, E> {
                    Ok(Whole(None))
                }
                fn visit_none<E: de::Error>(self) -> Result<Whole, E> {
                    Ok(Whole(None))
                }
            }
            d.deserialize_any(WholeVisitor)
        }
    }

    /// A whole number in `min..=max` for field `name`; None when null.
    fn ranged<'de, D: Deserializer<'de>>(
        d: D,
        name: &str,
        min: i64,
        max: i64,
    ) -> Result<Option<i64>, D::Error> {
        let Whole(n) = Whole::deserialize(d)
            .map_err(|_| de::Error::custom(format!("`{name}` must be an integer")))?;
        match n {
            None => Ok(None),
            Some(n) if (i128::from(min)..=i128::from(max)).contains(&n) => Ok(Some(n as i64)),
            Some(_) => Err(de::Error::custom(format!(
                "`{name}` must be between {min} and {max}"
            ))),
        }
    }

    /// A whole number that is not negative, up to u64, for field `name` (null is absent).
    pub fn whole_unsigned<'de, D: Deserializer<'de>>(
        d: D,
        name: &str,
    ) -> Result<Option<u64>, D::Error> {
        let Whole(n) = Whole::deserialize(d)?;
        n.map(|n| {
            u64::try_from(n)
                .map_err(|_| de::Error::custom(format!("`{name}` must be a whole number")))
        })
        .transpose()
    }

    /// A descriptor: required, 0 up to the kernel's int.
    pub fn fd<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
        ranged(d, "fd", 0, i64::from(i32::MAX))?
            .map(|n| n as i32)
            .ok_or_else(|| de::Error::missing_field("fd"))
    }

    /// A listen backlog; null is the default.
    pub fn backlog<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
        Ok(ranged(d, "backlog", 0, MAX_BACKLOG)?.map_or(DEFAULT_BACKLOG, |n| n as i32))
    }

    /// The backlog of a listen call that gives none.
    pub fn default_backlog() -> i32 {
        DEFAULT_BACKLOG
    }

    /// Most bytes a receive reads; null is the default.
    pub fn recv_max<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
        Ok(ranged(d, "max", 0, MAX_RECV_MAX)?.map_or(DEFAULT_RECV_MAX, |n| n as usize))
    }

    /// The `max` of a receive that gives none.
    pub fn default_recv_max() -> usize {
        DEFAULT_RECV_MAX
    }

    /// True or false for field `name`; None when null.
    fn boolean<'de, D: Deserializer<'de>>(d: D, name: &str) -> Result<Option<bool>, D::Error> {
        Option::<bool>::deserialize(d)
            .map_err(|_| de::Error::custom(format!("`{name}` must be true or false")))
    }

    /// MSG_PEEK: off when absent or null.
    pub fn peek<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(boolean(d, "peek")?.unwrap_or(false))
    }

    /// Non-blocking mode on or off: required.
    pub fn on<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        boolean(d, "on")?.ok_or_else(|| de::Error::missing_field("on"))
    }

    /// A socket option by its C name.
    pub fn option<'de, D: Deserializer<'de>>(d: D) -> Result<SockOpt, D::Error> {
        let text = String::deserialize(d)?;
        SockOpt::ALL
            .into_iter()
            .find(|o| o.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = SockOpt::ALL.iter().map(|o| o.name()).collect();
                de::Error::custom(format!(
                    "unknown option `{text}`; options are {}",
                    names.join(", ")
                ))
            })
    }

    /// Text, as its UTF-8 bytes (a caller decodes another encoding from them).
    pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        Ok(String::deserialize(d)?.into_bytes())
    }

    /// An address: an IP with a port (a bare IP for ICMP), or a Unix-domain name.
    pub fn addr<'de, D: Deserializer<'de>>(d: D) -> Result<Addr, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|e| {
            de::Error::custom(match e {
                AddrError::Malformed => format!(
                    "`{text}` is not an address: use ip:port like 10.0.0.2:8080 or \
                     [fd00::2]:8080, an IP alone for ICMP, or a Unix-domain path like \
                     /tmp/echo.sock or abstract name like @echo"
                ),
                AddrError::TooLong => format!(
                    "`{text}` is longer than the {UNIX_NAME_MAX} bytes a Unix-domain name \
                     can have (sun_path)"
                ),
                AddrError::Relative => format!(
                    "`{text}` looks like a relative path: write Unix-domain paths from the \
                     root, like /tmp/{text} (each host's working directory is /)"
                ),
            })
        })
    }

    /// A Unix-domain path (not an abstract name: those are no files).
    pub fn unix_path<'de, D: Deserializer<'de>>(d: D) -> Result<UnixName, D::Error> {
        match addr(d)? {
            Addr::Unix(name) if !name.is_abstract => Ok(name),
            other => Err(de::Error::custom(format!(
                "`{other}` is not a path: unlink takes a Unix-domain path like /tmp/echo.sock"
            ))),
        }
    }

    /// The value of `text` in a table of accepted names, or a message listing them.
    fn named<'de, D: Deserializer<'de>, T: Copy>(
        d: D,
        table: &[(&str, T)],
        field: &str,
    ) -> Result<T, D::Error> {
        let text = String::deserialize(d)?;
        table
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, value)| *value)
            .ok_or_else(|| {
                let names: Vec<&str> = table.iter().map(|(name, _)| *name).collect();
                de::Error::custom(format!(
                    "unknown {field} `{text}`: use {}",
                    names.join(", ")
                ))
            })
    }

    /// A socket's domain, by any name of [`DOMAINS`].
    pub fn family<'de, D: Deserializer<'de>>(d: D) -> Result<Family, D::Error> {
        named(d, &DOMAINS, "domain")
    }

    /// A socket's type, by any name of [`TYPES`].
    pub fn sock_type<'de, D: Deserializer<'de>>(d: D) -> Result<SockType, D::Error> {
        named(d, &TYPES, "type")
    }

    /// A socket's protocol, by any name of [`PROTOCOLS`]; null is the type's own (as the
    /// document has it, names only: a number would be one more way to say the same).
    pub fn protocol<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Proto>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) => named(
                de::value::StrDeserializer::<D::Error>::new(&text),
                &PROTOCOLS,
                "protocol",
            )
            .map(Some),
        }
    }

    /// A shutdown direction, by any name of [`DIRECTIONS`].
    pub fn how<'de, D: Deserializer<'de>>(d: D) -> Result<ShutdownHow, D::Error> {
        named(d, &DIRECTIONS, "how")
    }

    /// A socket option's value of any shape: true or false, a whole number, or
    /// `{"onoff", "seconds"}`. Which shape an option takes is checked against the option.
    pub fn opt_value<'de, D: Deserializer<'de>>(d: D) -> Result<OptValue, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Linger {
            onoff: bool,
            seconds: Whole,
        }
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Any {
            Bool(bool),
            Int(Whole),
            Linger(Linger),
        }
        let wrong = || {
            de::Error::custom(
                "`value` must be true or false, an integer, or {\"onoff\": true or false, \"seconds\": an integer}",
            )
        };
        match Any::deserialize(d).map_err(|_| wrong())? {
            Any::Bool(b) => Ok(OptValue::Bool(b)),
            Any::Int(Whole(Some(n))) => i64::try_from(n).map(OptValue::Int).map_err(|_| wrong()),
            Any::Linger(Linger {
                onoff,
                seconds: Whole(Some(seconds)),
            }) => u32::try_from(seconds)
                .map(|seconds| OptValue::Linger { onoff, seconds })
                .map_err(|_| wrong()),
            Any::Int(Whole(None)) | Any::Linger(_) => Err(wrong()),
        }
    }

    /// A string enum of the names in a table.
    fn names_schema<T>(table: &[(&str, T)], description: &str) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(table.iter().map(|(name, _)| *name)))
            .description(Some(description))
    }

    /// `domain`'s schema: the names of [`DOMAINS`].
    pub fn family_schema() -> ObjectBuilder {
        names_schema(&DOMAINS, "inet, inet6 or unix.")
    }

    /// `type`'s schema: the names of [`TYPES`].
    pub fn type_schema() -> ObjectBuilder {
        names_schema(
            &TYPES,
            "stream (TCP, or a Unix stream), dgram (UDP, or Unix datagrams), seqpacket (Unix) or raw (ICMP).",
        )
    }

    /// `protocol`'s schema: the names of [`PROTOCOLS`], or null for the type's own.
    pub fn protocol_schema() -> ObjectBuilder {
        names_schema(
            &PROTOCOLS,
            "tcp, udp, icmp or icmpv6; absent for the type's usual protocol (raw sockets need one).",
        )
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::String,
            Type::Null,
        ]))
    }

    /// `how`'s schema: the names of [`DIRECTIONS`].
    pub fn how_schema() -> ObjectBuilder {
        names_schema(
            &DIRECTIONS,
            "Which direction to close: read, write or both.",
        )
    }

    /// The members an `icmp` header takes, with the largest value each holds and whether it
    /// must be given: type, code, identifier, sequence number and checksum.
    pub const ICMP_MEMBERS: [(&str, u16, bool, &str); 5] = [
        (
            "type",
            255,
            true,
            "Message type: 8 echo request, 0 echo reply; on an inet6 socket ICMPv6's numbers, \
             128 echo request, 129 echo reply.",
        ),
        ("code", 255, false, "Code (0 for echoes)."),
        (
            "id",
            65_535,
            false,
            "Identifier (a ping socket's kernel sets its own).",
        ),
        ("seq", 65_535, false, "Sequence number."),
        (
            "checksum",
            65_535,
            false,
            "Absent or null: computed (ICMPv4 by the sandbox; ICMPv6 and ping sockets by the \
             kernel). A number is sent as given on a raw IPv4 socket, right or wrong.",
        ),
    ];

    /// An ICMP header to build (`{"type": 8, "code": 0, "id": 1, "seq": 1, "checksum": null}`,
    /// only `type` required); null or absent is none. Every mistake names `icmp`.
    pub fn icmp<'de, D: Deserializer<'de>>(d: D) -> Result<Option<IcmpHeader>, D::Error> {
        /// A member's value as written: a whole number (or null), or anything else.
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Member {
            Number(Whole),
            Other(de::IgnoredAny),
        }
        let wrong = |why: String| {
            de::Error::custom(format!(
                "`icmp` {why}: write it like {{\"type\": 8, \"code\": 0, \"id\": 1, \"seq\": 1}} \
                 (checksum absent or null to have it computed)"
            ))
        };
        let members = Option::<std::collections::BTreeMap<String, Member>>::deserialize(d)
            .map_err(|_| wrong("must be an object".to_owned()))?;
        let Some(members) = members else {
            return Ok(None);
        };
        let mut values = [None; ICMP_MEMBERS.len()];
        for (name, member) in members {
            let Some(i) = ICMP_MEMBERS.iter().position(|(n, ..)| *n == name) else {
                let names: Vec<&str> = ICMP_MEMBERS.iter().map(|(n, ..)| *n).collect();
                return Err(wrong(format!(
                    "has no member `{name}` (it takes {})",
                    names.join(", ")
                )));
            };
            let (_, max, ..) = ICMP_MEMBERS[i];
            values[i] = match member {
                Member::Number(Whole(None)) => None,
                Member::Number(Whole(Some(n))) if (0..=i128::from(max)).contains(&n) => {
                    Some(n as u16)
                }
                _ => {
                    return Err(wrong(format!(
                        "member `{name}` must be an integer from 0 to {max}"
                    )));
                }
            };
        }
        let [icmp_type, code, id, seq, checksum] = values;
        let icmp_type = icmp_type.ok_or_else(|| wrong("needs a `type`".to_owned()))?;
        Ok(Some(IcmpHeader {
            icmp_type: icmp_type as u8,
            code: code.unwrap_or(0) as u8,
            id: id.unwrap_or(0),
            seq: seq.unwrap_or(0),
            checksum,
        }))
    }

    /// `icmp`'s schema: an object of [`ICMP_MEMBERS`], or null.
    pub fn icmp_schema() -> ObjectBuilder {
        let mut object = ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .description(Some(
                "On an ICMP socket (raw or ping), the header the sandbox builds in front of \
                 `data` (then the echo's payload, empty by default). Not for other sockets.",
            ))
            .examples([serde_json::json!({"type": 8, "code": 0, "id": 1, "seq": 1})]);
        for (name, max, required, description) in ICMP_MEMBERS {
            let mut member = ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
                .maximum(Some(max))
                .description(Some(description));
            // Null stands for absent, as in every call's fields: the default, or for the
            // checksum the one the sandbox computes.
            if !required {
                member = member.schema_type(SchemaType::from_iter([Type::Integer, Type::Null]));
            }
            if !required && name != "checksum" {
                member = member.default(Some(serde_json::json!(0)));
            }
            object = object.property(name, member);
            if required {
                object = object.required(name);
            }
        }
        object
    }

    /// A Unix-domain path's schema: a string of its own format.
    pub fn unix_path_schema() -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom(UNIX_PATH_FORMAT.to_owned())))
            .description(Some(
                "An absolute Unix-domain path, at most 107 bytes: /tmp/echo.sock.",
            ))
            .examples(["/tmp/echo.sock"])
    }

    /// An address's schema: a string of its own format.
    pub fn addr_schema() -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom(SOCKET_ADDRESS_FORMAT.to_owned())))
            .description(Some(
                "ip:port (10.0.0.2:8080, [fd00::2]:8080); an IP alone for ICMP (10.0.0.2); a \
                 Unix-domain path (/tmp/echo.sock) or abstract name (@echo).",
            ))
            .examples(["10.0.0.2:8080"])
    }
}

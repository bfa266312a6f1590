//! Wire types of the REST API and their conversions to and from the sandbox's domain types.
//!
//! A call arrives as one flat JSON object that reads like the call itself
//! (`{"host":"B","call":"bind","fd":3,"addr":"10.0.0.2:8080"}`); it is parsed field by field
//! so that every mistake names the field at fault.

use std::net::SocketAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::ApiError;
use crate::sandbox::event::PREVIEW_BYTES;
use crate::sandbox::hex::{from_hex, to_hex};
use crate::sandbox::net::OptShape;
use crate::sandbox::{
    Call, CallFailure, CallOutcome, CallReply, CallValue, Family, HostId, OptValue, Proto,
    ShutdownHow, SockOpt,
};
use crate::sandbox::{Event, EventKind, Preview, Status};

/// Every call name the API takes.
pub const CALL_NAMES: [&str; 16] = [
    "socket",
    "bind",
    "listen",
    "connect",
    "accept",
    "send",
    "recv",
    "sendto",
    "recvfrom",
    "shutdown",
    "close",
    "setsockopt",
    "getsockopt",
    "getsockname",
    "getpeername",
    "nonblocking",
];

/// Backlog when a listen call gives none.
pub const DEFAULT_BACKLOG: i32 = 16;
/// Bytes a receive asks for when a call gives no `max`.
pub const DEFAULT_RECV_MAX: usize = 4096;
/// Largest backlog the API passes on (the kernel caps it at somaxconn anyway).
pub const MAX_BACKLOG: i64 = 65_535;
/// Largest `max` a receive may ask for: the kernel's `int` length (the document's int32).
pub const MAX_RECV_MAX: i64 = i32::MAX as i64;
/// Longest SO_LINGER a socket may be given. The sandbox refuses longer ones (a close would
/// hold a server thread that long); the parser and the document state the same bound, and a
/// test in tests/api.rs checks that they agree.
pub const MAX_LINGER_SECS: i64 = 5;
/// Values an integer socket option takes, by option: what its C type holds and the kernel
/// reads as a meaningful request (buffer sizes are not negative; IP_TTL is -1 for the default
/// or a hop count up to 255). The kernel still judges the value (e.g. IP_TTL 0 is EINVAL).
pub fn int_option_range(option: SockOpt) -> (i64, i64) {
    match option {
        SockOpt::SoRcvbuf | SockOpt::SoSndbuf => (0, i64::from(i32::MAX)),
        SockOpt::IpTtl => (-1, 255),
        _ => (i64::from(i32::MIN), i64::from(i32::MAX)),
    }
}
/// Names `encoding` takes, each with the encoding it means.
pub const ENCODINGS: [(&str, Encoding); 5] = [
    ("utf8", Encoding::Utf8),
    ("utf-8", Encoding::Utf8),
    ("text", Encoding::Utf8),
    ("base64", Encoding::Base64),
    ("hex", Encoding::Hex),
];
/// Names `domain` takes in a socket call.
pub const DOMAINS: [(&str, Family); 6] = [
    ("inet", Family::Inet),
    ("AF_INET", Family::Inet),
    ("ipv4", Family::Inet),
    ("inet6", Family::Inet6),
    ("AF_INET6", Family::Inet6),
    ("ipv6", Family::Inet6),
];
/// Names `type` takes in a socket call.
pub const TYPES: [(&str, Proto); 6] = [
    ("stream", Proto::Tcp),
    ("SOCK_STREAM", Proto::Tcp),
    ("tcp", Proto::Tcp),
    ("dgram", Proto::Udp),
    ("SOCK_DGRAM", Proto::Udp),
    ("udp", Proto::Udp),
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
/// A host name in a call: one capital letter, as the session names its hosts.
pub const HOST_PATTERN: &str = "^[A-Z]$";

/// The value of `name` in a table of accepted names, or a message listing them.
fn named<T: Copy>(table: &[(&str, T)], field: &str, text: &str) -> Result<T, ApiError> {
    table
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let names: Vec<&str> = table.iter().map(|(name, _)| *name).collect();
            ApiError::field(
                field,
                format!("unknown {field} `{text}`: use {}", names.join(", ")),
            )
        })
}

/// How payload bytes are written in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Base64,
    Hex,
}

impl Encoding {
    fn parse(value: Option<&Value>) -> Result<Option<Encoding>, ApiError> {
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => named(&ENCODINGS, "encoding", s).map(Some),
            Some(_) => Err(ApiError::field("encoding", "encoding must be a string")),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf8",
            Encoding::Base64 => "base64",
            Encoding::Hex => "hex",
        }
    }
}

/// A parsed call request: where, what, how long to wait, and how to show received bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRequest {
    /// The host it runs on.
    pub host: HostId,
    /// The call.
    pub call: Call,
    /// How long a blocking call may wait before it is reported pending.
    pub wait_ms: Option<u64>,
    /// How received data is to be encoded in the answer (default: text when UTF-8).
    pub encoding: Option<Encoding>,
}

/// Fields each call takes besides host, call, wait_ms and encoding.
pub fn allowed_fields(call: &str) -> &'static [&'static str] {
    match call {
        "socket" => &["domain", "type"],
        "bind" | "connect" => &["fd", "addr"],
        "listen" => &["fd", "backlog"],
        "send" => &["fd", "data"],
        "sendto" => &["fd", "data", "addr"],
        "recv" | "recvfrom" => &["fd", "max", "peek"],
        "shutdown" => &["fd", "how"],
        "setsockopt" => &["fd", "option", "value"],
        "getsockopt" => &["fd", "option"],
        "nonblocking" => &["fd", "on"],
        _ => &["fd"],
    }
}

/// A JSON number that is a whole number, as JSON Schema's `integer` counts them: `4` and
/// `4.0` alike (clients that only have floats write the latter).
pub fn whole_number(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| {
        let f = value.as_f64()?;
        // Beyond ±2^63 a float no longer converts exactly; such values are out of any range here.
        (f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64)
    })
}

/// A whole number that is not negative, up to u64 (see [`whole_number`]).
pub fn whole_unsigned(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| whole_number(value).and_then(|n| u64::try_from(n).ok()))
}

struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    fn required(&self, name: &str) -> Result<&Value, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError::field(name, format!("missing field `{name}`")))
    }

    fn string(&self, name: &str) -> Result<&str, ApiError> {
        self.required(name)?
            .as_str()
            .ok_or_else(|| ApiError::field(name, format!("`{name}` must be a string")))
    }

    fn int(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => {
                let n = whole_number(v)
                    .ok_or_else(|| ApiError::field(name, format!("`{name}` must be an integer")))?;
                if n < min || n > max {
                    return Err(ApiError::field(
                        name,
                        format!("`{name}` must be between {min} and {max}"),
                    ));
                }
                Ok(Some(n))
            }
        }
    }

    fn fd(&self) -> Result<i32, ApiError> {
        self.int("fd", 0, i64::from(i32::MAX))?
            .map(|n| n as i32)
            .ok_or_else(|| ApiError::field("fd", "missing field `fd`"))
    }

    fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ApiError::field(
                name,
                format!("`{name}` must be true or false"),
            )),
        }
    }

    fn addr(&self) -> Result<SocketAddr, ApiError> {
        let text = self.string("addr")?;
        text.parse().map_err(|_| {
            ApiError::field(
                "addr",
                format!(
                    "`{text}` is not an address with a port, like 10.0.0.2:8080 or [fd00::2]:8080"
                ),
            )
        })
    }

    fn data(&self, encoding: Option<Encoding>) -> Result<Vec<u8>, ApiError> {
        let text = self.string("data")?;
        match encoding.unwrap_or(Encoding::Utf8) {
            Encoding::Utf8 => Ok(text.as_bytes().to_vec()),
            Encoding::Base64 => BASE64
                .decode(text)
                .map_err(|e| ApiError::field("data", format!("`data` is not valid base64: {e}"))),
            Encoding::Hex => from_hex(text)
                .ok_or_else(|| ApiError::field("data", "`data` is not an even run of hex digits")),
        }
    }
}

impl TryFrom<Value> for CallRequest {
    type Error = ApiError;

    fn try_from(body: Value) -> Result<Self, ApiError> {
        let Value::Object(map) = body else {
            return Err(ApiError::bad(
                "the body must be a JSON object describing one call",
            ));
        };
        let f = Fields(&map);
        let host_text = f.string("host")?;
        // Hosts are named by capital letters only: "a" is not host A.
        let host: HostId = Some(host_text)
            .filter(|t| matches!(t.as_bytes(), [b'A'..=b'Z']))
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| {
                ApiError::field(
                    "host",
                    format!("`{host_text}` is not a host name: one capital letter like \"A\""),
                )
            })?;
        let name = f.string("call")?;
        if !CALL_NAMES.contains(&name) {
            return Err(ApiError::field(
                "call",
                format!("unknown call `{name}`; calls are {}", CALL_NAMES.join(", ")),
            ));
        }
        let allowed = allowed_fields(name);
        for key in map.keys() {
            let common = ["host", "call", "wait_ms", "encoding"].contains(&key.as_str());
            if !common && !allowed.contains(&key.as_str()) {
                return Err(ApiError::field(
                    key.clone(),
                    format!(
                        "`{name}` takes no field `{key}`; it takes {}",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        // The bound is the session's max_wait_ms, checked where the session is known.
        let wait_ms = match f.get("wait_ms") {
            None => None,
            Some(v) => Some(whole_unsigned(v).ok_or_else(|| {
                ApiError::field(
                    "wait_ms",
                    "`wait_ms` must be a whole number of milliseconds, up to the server's max_wait_ms",
                )
            })?),
        };
        let encoding = Encoding::parse(f.get("encoding"))?;
        let max = |f: &Fields| -> Result<usize, ApiError> {
            Ok(f.int("max", 0, MAX_RECV_MAX)?
                .map_or(DEFAULT_RECV_MAX, |n| n as usize))
        };
        let call = match name {
            "socket" => {
                let family = named(&DOMAINS, "domain", f.string("domain")?)?;
                let proto = named(&TYPES, "type", f.string("type")?)?;
                Call::Socket { family, proto }
            }
            "bind" => Call::Bind {
                fd: f.fd()?,
                addr: f.addr()?,
            },
            "connect" => Call::Connect {
                fd: f.fd()?,
                addr: f.addr()?,
            },
            "listen" => Call::Listen {
                fd: f.fd()?,
                backlog: f
                    .int("backlog", 0, MAX_BACKLOG)?
                    .map_or(DEFAULT_BACKLOG, |n| n as i32),
            },
            "accept" => Call::Accept { fd: f.fd()? },
            "send" => Call::Send {
                fd: f.fd()?,
                data: f.data(encoding)?,
            },
            "sendto" => Call::Sendto {
                fd: f.fd()?,
                data: f.data(encoding)?,
                addr: f.addr()?,
            },
            "recv" => Call::Recv {
                fd: f.fd()?,
                max: max(&f)?,
                peek: f.bool("peek")?.unwrap_or(false),
            },
            "recvfrom" => Call::Recvfrom {
                fd: f.fd()?,
                max: max(&f)?,
                peek: f.bool("peek")?.unwrap_or(false),
            },
            "shutdown" => Call::Shutdown {
                fd: f.fd()?,
                how: named(&DIRECTIONS, "how", f.string("how")?)?,
            },
            "close" => Call::Close { fd: f.fd()? },
            "setsockopt" => {
                let fd = f.fd()?;
                let option = option(&f)?;
                let value = option_value(option, f.required("value")?)?;
                Call::Setsockopt { fd, option, value }
            }
            "getsockopt" => Call::Getsockopt {
                fd: f.fd()?,
                option: option(&f)?,
            },
            "getsockname" => Call::Getsockname { fd: f.fd()? },
            "getpeername" => Call::Getpeername { fd: f.fd()? },
            "nonblocking" => Call::Nonblocking {
                fd: f.fd()?,
                on: f
                    .bool("on")?
                    .ok_or_else(|| ApiError::field("on", "missing field `on`"))?,
            },
            _ => unreachable!("call names were checked above"),
        };
        Ok(CallRequest {
            host,
            call,
            wait_ms,
            encoding,
        })
    }
}

fn option(f: &Fields) -> Result<SockOpt, ApiError> {
    let name = f.string("option")?;
    SockOpt::ALL
        .into_iter()
        .find(|o| o.name() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = SockOpt::ALL.iter().map(|o| o.name()).collect();
            ApiError::field(
                "option",
                format!("unknown option `{name}`; options are {}", names.join(", ")),
            )
        })
}

/// A setsockopt value of the shape the option takes: a flag option takes true or false, an
/// integer option an integer in [`int_option_range`], SO_LINGER `{"onoff", "seconds"}` with
/// seconds up to [`MAX_LINGER_SECS`].
fn option_value(option: SockOpt, value: &Value) -> Result<OptValue, ApiError> {
    let name = option.name();
    let (_, _, shape) = option.raw();
    match (shape, value) {
        (OptShape::Bool, Value::Bool(b)) => Ok(OptValue::Bool(*b)),
        (OptShape::Bool, _) => Err(ApiError::field(
            "value",
            format!("{name} takes true or false"),
        )),
        (OptShape::Int, Value::Number(_)) => {
            let (min, max) = int_option_range(option);
            whole_number(value)
                .filter(|n| (min..=max).contains(n))
                .map(OptValue::Int)
                .ok_or_else(|| {
                    ApiError::field(
                        "value",
                        format!("{name} takes an integer between {min} and {max}"),
                    )
                })
        }
        (OptShape::Int, _) => Err(ApiError::field("value", format!("{name} takes an integer"))),
        (OptShape::Linger, Value::Object(map)) => {
            let fields = Fields(map);
            let unknown = map
                .keys()
                .find(|k| !["onoff", "seconds"].contains(&k.as_str()));
            if let Some(key) = unknown {
                return Err(ApiError::field(
                    "value",
                    format!("{name} takes onoff and seconds, not `{key}`"),
                ));
            }
            let linger_error = || {
                ApiError::field(
                    "value",
                    format!(
                        "{name} takes {{\"onoff\": true or false, \"seconds\": 0 to {MAX_LINGER_SECS}}}"
                    ),
                )
            };
            let onoff = fields.bool("onoff").map_err(|_| linger_error())?;
            let seconds = fields
                .int("seconds", 0, MAX_LINGER_SECS)
                .map_err(|_| linger_error())?;
            match (onoff, seconds) {
                (Some(onoff), Some(seconds)) => Ok(OptValue::Linger {
                    onoff,
                    seconds: seconds as u32,
                }),
                _ => Err(linger_error()),
            }
        }
        (OptShape::Linger, _) => Err(ApiError::field(
            "value",
            format!(
                "{name} takes {{\"onoff\": true or false, \"seconds\": 0 to {MAX_LINGER_SECS}}}"
            ),
        )),
    }
}

/// The answer to a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CallResponse {
    /// ok, error or pending.
    pub status: &'static str,
    /// The call's id.
    pub call_id: u64,
    /// The host it ran on.
    #[schema(value_type = String)]
    pub host: HostId,
    /// The event that recorded the outcome.
    pub seq: u64,
    /// A new descriptor (socket, accept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fd: Option<i32>,
    /// The peer (accept, recvfrom, getpeername).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub peer: Option<SocketAddr>,
    /// The address used (bind, connect, sendto) or the local address (getsockname).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub addr: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<usize>,
    /// Received bytes, in `encoding`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// How `data` is encoded: utf8, base64 or hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<OptValue>,
    /// The errno's name, e.g. ECONNREFUSED.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno: Option<&'static str>,
    /// The errno's number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    /// The errno's message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
    /// A hint for learners.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Whether the sandbox (not the kernel's state) refused the call.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sandbox: bool,
    /// What the sandbox did on the way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl CallResponse {
    /// The wire form of a reply, encoding received bytes as asked.
    pub fn from_reply(reply: CallReply, encoding: Option<Encoding>) -> CallResponse {
        let CallReply {
            call_id,
            host,
            seq,
            outcome,
        } = reply;
        let mut response = CallResponse {
            status: "ok",
            call_id,
            host,
            seq,
            fd: None,
            peer: None,
            addr: None,
            bytes: None,
            data: None,
            encoding: None,
            value: None,
            errno: None,
            code: None,
            message: None,
            hint: None,
            sandbox: false,
            note: None,
        };
        match outcome {
            CallOutcome::Ok(CallValue {
                fd,
                peer,
                addr,
                bytes,
                data,
                value,
                note,
            }) => {
                response.fd = fd;
                response.peer = peer;
                response.addr = addr;
                response.bytes = bytes;
                response.value = value;
                response.note = note;
                if let Some(data) = data {
                    let (text, used) = encode(&data, encoding);
                    response.data = Some(text);
                    response.encoding = Some(used.name());
                }
            }
            CallOutcome::Err(failure) => {
                let hint = failure.hint().to_owned();
                let CallFailure {
                    errno,
                    sandbox,
                    hint: _,
                } = failure;
                response.status = "error";
                response.errno = Some(errno.name);
                response.code = Some(errno.code);
                response.message = Some(errno.message);
                response.hint = Some(hint);
                response.sandbox = sandbox;
            }
            CallOutcome::Pending => response.status = "pending",
        }
        response
    }
}

impl CallResponse {
    /// The answer of a finished call as its log event recorded it; none while the event
    /// only says the call is pending. Received data is the event's preview, so a longer
    /// payload comes back cut, with a note saying so.
    pub fn from_event(event: &Event) -> Option<CallResponse> {
        let status = match event.status {
            Status::Ok => "ok",
            Status::Error => "error",
            Status::Pending | Status::Observed => return None,
        };
        let (call_id, host) = (event.call_id?, event.host?);
        let received = matches!(event.kind, EventKind::Recv | EventKind::Recvfrom);
        let preview = event.data.as_ref().filter(|_| received);
        let (data, encoding) = match preview {
            Some(Preview { text: Some(t), .. }) => (Some(t.clone()), Some(Encoding::Utf8)),
            Some(Preview { hex: Some(h), .. }) => (Some(h.clone()), Some(Encoding::Hex)),
            _ => (None, None),
        };
        let cut = preview.is_some_and(|p| p.truncated).then(|| {
            format!(
                "read back from the log: `data` holds the first {PREVIEW_BYTES} of the {} bytes received",
                event.bytes.unwrap_or_default()
            )
        });
        let errno = event.errno.filter(|_| status == "error");
        Some(CallResponse {
            status,
            call_id,
            host,
            seq: event.seq,
            fd: event.new_fd,
            peer: event.peer,
            addr: event.addr,
            bytes: event.bytes.map(|b| b as usize),
            data,
            encoding: encoding.map(Encoding::name),
            value: event.value,
            errno: errno.map(|e| e.name),
            code: errno.map(|e| e.code),
            message: errno.map(|e| e.message),
            hint: errno.map(|e| event.hint.clone().unwrap_or_else(|| e.hint.to_owned())),
            sandbox: event.sandbox,
            note: cut.or_else(|| event.note.clone()),
        })
    }
}

/// Bytes as text in the asked encoding; by default UTF-8 text when they are, else base64.
pub fn encode(data: &[u8], encoding: Option<Encoding>) -> (String, Encoding) {
    match encoding {
        Some(Encoding::Base64) => (BASE64.encode(data), Encoding::Base64),
        Some(Encoding::Hex) => (to_hex(data), Encoding::Hex),
        Some(Encoding::Utf8) | None => match std::str::from_utf8(data) {
            Ok(text) => (text.to_owned(), Encoding::Utf8),
            Err(_) => (BASE64.encode(data), Encoding::Base64),
        },
    }
}

/// Fields of every call.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CallCommon {
    /// The host that makes the call: "A", "B", …
    #[schema(example = "B")]
    pub host: String,
    /// How long a blocking call may wait before it is answered as pending (ms; the server's
    /// default when absent, capped by max_wait_ms).
    pub wait_ms: Option<u64>,
    /// How `data` is written, in the request and in the answer: utf8 (default), base64 or hex.
    pub encoding: Option<String>,
}

/// The body of `POST /api/sessions/{id}/calls`: one socket call, its name in `call`.
///
/// This type describes the format; requests are read field by field by [`CallRequest`]
/// (a unit test checks that the two agree on every call and field).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum CallBody {
    /// socket(domain, type): a new descriptor.
    Socket {
        #[serde(flatten)]
        common: CallCommon,
        /// inet or inet6.
        domain: String,
        /// stream (TCP) or dgram (UDP).
        r#type: String,
    },
    /// bind(fd, addr).
    Bind {
        #[serde(flatten)]
        common: CallCommon,
        fd: i32,
        /// ip:port, e.g. 10.0.0.2:8080 or [fd00::2]:8080.
        addr: String,
    },
    /// listen(fd, backlog).
    Listen {
        #[serde(flatten)]
        common: CallCommon,
        fd: i32,
        /// Accept queue length (default 16).
        backlog: Option<i32>,
    },
    /// connect(fd, addr).
    Connect {
        #[serde(flatten)]
        common: CallCommon,
        fd: i32,
        addr: String,
    },
    /// accept(fd): a new descriptor and the peer.
    Accept {
        #[serde(flatten)]
        common: CallCommon,
        fd: i32,
    },
    /// send(fd, data).
    Send {
        #[serde(flatten)]
        common: CallCommon,
        fd: i32,
        data: String,
    },
    /// recv(fd, max, peek).
    Recv {
        #[serde(flatten)]
        common: CallCommon,
        fd: i32,
        /// Most bytes to read (default 4096).
        max: Option<u32>,
        /// MSG_PEEK: leave the bytes queued.
        peek: Option<bool>,
    },
    /// sendto(fd, data, addr).
    Sendto {
        #[serde(flatten)]
        common: CallCommon,
        fd: i32,
        data: String,
        addr: String,
    },
    /// recvfrom(fd, max, peek): data and its source.
    Recvfrom {
        #[serde(flatten)]
        common: CallCommon,
        fd: i32,
        max: Option<u32>,
        peek: Option<bool>,
    },
    /// shutdown(fd, how).
    Shutdown {
        #[serde(flatten)]
        common: CallCommon,
        fd: i32,
        /// read, write or both.
        how: ShutdownHow,
    },
    /// close(fd).
    Close {
        #[serde(flatten)]
        common: CallCommon,
        fd: i32,
    },
    /// setsockopt(fd, option, value).
    Setsockopt {
        #[serde(flatten)]
        common: CallCommon,
        fd: i32,
        option: SockOpt,
        value: OptValue,
    },
    /// getsockopt(fd, option).
    Getsockopt {
        #[serde(flatten)]
        common: CallCommon,
        fd: i32,
        option: SockOpt,
    },
    /// getsockname(fd).
    Getsockname {
        #[serde(flatten)]
        common: CallCommon,
        fd: i32,
    },
    /// getpeername(fd).
    Getpeername {
        #[serde(flatten)]
        common: CallCommon,
        fd: i32,
    },
    /// Non-blocking mode on or off (fcntl O_NONBLOCK).
    Nonblocking {
        #[serde(flatten)]
        common: CallCommon,
        fd: i32,
        on: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<CallRequest, ApiError> {
        CallRequest::try_from(v)
    }

    fn field_of(e: ApiError) -> Option<String> {
        match e {
            ApiError::BadRequest { field, .. } => field,
            _ => None,
        }
    }

    #[test]
    fn parses_the_design_examples() {
        let r = parse(json!({"host":"B","call":"socket","domain":"inet","type":"stream"})).unwrap();
        assert_eq!(
            r.call,
            Call::Socket {
                family: Family::Inet,
                proto: Proto::Tcp
            }
        );
        let r = parse(json!({"host":"B","call":"bind","fd":3,"addr":"10.0.0.2:8080"})).unwrap();
        assert_eq!(
            r.call,
            Call::Bind {
                fd: 3,
                addr: "10.0.0.2:8080".parse().unwrap()
            }
        );
        let r = parse(json!({"host":"A","call":"send","fd":3,"data":"aGk=","encoding":"base64"}))
            .unwrap();
        assert_eq!(
            r.call,
            Call::Send {
                fd: 3,
                data: b"hi".to_vec()
            }
        );
    }

    #[test]
    fn every_mistake_names_its_field() {
        let cases = [
            (json!({"call":"socket"}), "host"),
            (json!({"host":"B"}), "call"),
            (json!({"host":"B","call":"bogus"}), "call"),
            (json!({"host":"B","call":"bind","addr":"1.2.3.4:5"}), "fd"),
            (
                json!({"host":"B","call":"bind","fd":"3","addr":"1.2.3.4:5"}),
                "fd",
            ),
            (
                json!({"host":"B","call":"bind","fd":3,"addr":"nowhere"}),
                "addr",
            ),
            (
                json!({"host":"B","call":"listen","fd":3,"backlog":-1}),
                "backlog",
            ),
            (json!({"host":"B","call":"close","fd":3,"extra":1}), "extra"),
            (
                json!({"host":"B","call":"shutdown","fd":3,"how":"sideways"}),
                "how",
            ),
            (
                json!({"host":"B","call":"setsockopt","fd":3,"option":"SO_NOPE","value":1}),
                "option",
            ),
            (
                json!({"host":"B","call":"setsockopt","fd":3,"option":"SO_LINGER","value":"x"}),
                "value",
            ),
            (
                json!({"host":"B","call":"send","fd":3,"data":"zz","encoding":"hex2"}),
                "encoding",
            ),
            (
                json!({"host":"B","call":"send","fd":3,"data":"z","encoding":"hex"}),
                "data",
            ),
            (json!({"host":"!","call":"close","fd":3}), "host"),
        ];
        for (body, field) in cases {
            let err = parse(body.clone()).unwrap_err();
            assert_eq!(field_of(err).as_deref(), Some(field), "{body}");
        }
    }

    #[test]
    fn binary_data_goes_out_as_base64() {
        assert_eq!(
            encode(&[0xff, 0], None),
            ("/wA=".to_owned(), Encoding::Base64)
        );
        assert_eq!(encode(b"hi", None), ("hi".to_owned(), Encoding::Utf8));
        assert_eq!(
            encode(b"hi", Some(Encoding::Hex)),
            ("6869".to_owned(), Encoding::Hex)
        );
    }
}

//! The body of `POST /api/sessions/{id}/calls`: one flat JSON object that reads like the call
//! itself (`{"host":"B","call":"bind","fd":3,"addr":"10.0.0.2:8080"}`).
//!
//! The calls, their fields and each field's JSON form are declared once, on the sandbox's
//! [`Call`]. Here the request's own fields (`host`, `call`, `wait_ms`, `encoding`) are taken
//! out, the rest is read as the call named by `call`, and every mistake names the field at
//! fault. The document's schema of the body is derived from [`Call`]'s the same way.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

use crate::http::error::{ApiError, Message, field_of, parser_said};
use crate::sandbox::call::form;
use crate::sandbox::hex::from_hex;
use crate::sandbox::net::OptShape;
use crate::sandbox::{Call, HostId, OptValue, SockOpt};

/// Longest SO_LINGER a socket may be given. The sandbox refuses longer ones (a close would
/// hold a server thread that long); the parser and the document state the same bound, and a
/// test in tests/api.rs checks that they agree.
pub const MAX_LINGER_SECS: i64 = 5;
/// Names `encoding` takes, each with the encoding it means.
pub const ENCODINGS: [(&str, Encoding); 5] = [
    ("utf8", Encoding::Utf8),
    ("utf-8", Encoding::Utf8),
    ("text", Encoding::Utf8),
    ("base64", Encoding::Base64),
    ("hex", Encoding::Hex),
];
/// A host name in a call: one capital letter, as the session names its hosts.
pub const HOST_PATTERN: &str = "^[A-Z]$";
/// The request's own fields, beside the call's.
const REQUEST_FIELDS: [&str; 4] = ["host", "call", "wait_ms", "encoding"];

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

/// How payload bytes are written in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Base64,
    Hex,
}

impl Encoding {
    fn parse(value: Option<Value>) -> Result<Option<Encoding>, ApiError> {
        let text = match value {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(text)) => text,
            Some(_) => {
                return Err(ApiError::field(
                    "encoding",
                    Message::new("encoding must be a string", "encoding 必须是字符串"),
                ));
            }
        };
        ENCODINGS
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, encoding)| Some(*encoding))
            .ok_or_else(|| {
                let names: Vec<&str> = ENCODINGS.iter().map(|(name, _)| *name).collect();
                ApiError::field(
                    "encoding",
                    Message::new(
                        format!("unknown encoding `{text}`: use {}", names.join(", ")),
                        format!("未知的编码 `{text}`：请使用 {}", names.join("、")),
                    ),
                )
            })
    }

    /// The name the API writes.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf8",
            Encoding::Base64 => "base64",
            Encoding::Hex => "hex",
        }
    }

    /// Bytes from `text` written in this encoding, or why `data` is not in it.
    fn decode(self, text: &[u8]) -> Result<Vec<u8>, ApiError> {
        match self {
            Encoding::Utf8 => Ok(text.to_vec()),
            Encoding::Base64 => BASE64.decode(text).map_err(|e| {
                ApiError::field(
                    "data",
                    Message::new(
                        format!("`data` is not valid base64: {e}"),
                        format!("`data` 不是有效的 base64：{e}"),
                    ),
                )
            }),
            Encoding::Hex => std::str::from_utf8(text)
                .ok()
                .and_then(from_hex)
                .ok_or_else(|| {
                    ApiError::field(
                        "data",
                        Message::new(
                            "`data` is not an even run of hex digits",
                            "`data` 不是偶数个十六进制数字",
                        ),
                    )
                }),
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

/// The names of the calls, as [`Call`]'s derived `Deserialize` knows them.
pub fn call_names() -> &'static [&'static str] {
    Call::names()
}

/// Take a required string field out of the body.
fn take_string(map: &mut Map<String, Value>, name: &str) -> Result<String, ApiError> {
    match map.remove(name) {
        None | Some(Value::Null) => Err(ApiError::field(
            name,
            Message::new(
                format!("missing field `{name}`"),
                format!("缺少字段 `{name}`"),
            ),
        )),
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(ApiError::field(
            name,
            Message::new(
                format!("`{name}` must be a string"),
                format!("`{name}` 必须是字符串"),
            ),
        )),
    }
}

/// A serde error on the way through a call's fields, as the error naming the field at fault:
/// the path's last segment, or the field a message names (a missing one).
fn call_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let segments: Vec<String> = error.path().iter().map(ToString::to_string).collect();
    let message = error.inner().to_string();
    let field = match segments.as_slice() {
        [_call, .., field] => Some(field.clone()),
        _ => field_of(&message),
    };
    match field {
        Some(field) if !message.contains(field.as_str()) => {
            let message = format!("`{field}`: {message}");
            ApiError::field(field, parser_said(message))
        }
        Some(field) => ApiError::field(field, parser_said(message)),
        None => ApiError::bad(parser_said(message)),
    }
}

impl TryFrom<Value> for CallRequest {
    type Error = ApiError;

    fn try_from(body: Value) -> Result<Self, ApiError> {
        let Value::Object(mut map) = body else {
            return Err(ApiError::bad(Message::new(
                "the body must be a JSON object describing one call",
                "请求体必须是描述一次调用的 JSON 对象",
            )));
        };
        let host_text = take_string(&mut map, "host")?;
        // Hosts are named by capital letters only: "a" is not host A.
        let host: HostId = Some(host_text.as_str())
            .filter(|t| matches!(t.as_bytes(), [b'A'..=b'Z']))
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| {
                ApiError::field(
                    "host",
                    Message::new(
                        format!("`{host_text}` is not a host name: one capital letter like \"A\""),
                        format!("`{host_text}` 不是主机名：主机名是一个大写字母，例如 \"A\""),
                    ),
                )
            })?;
        let name = take_string(&mut map, "call")?;
        let names = call_names();
        let Some(name) = names.iter().find(|n| **n == name) else {
            return Err(ApiError::field(
                "call",
                Message::new(
                    format!("unknown call `{name}`; calls are {}", names.join(", ")),
                    format!("未知的调用 `{name}`；可用的调用有 {}", names.join(", ")),
                ),
            ));
        };
        // The bound is the session's max_wait_ms, checked where the session is known.
        let wait_ms = match map.remove("wait_ms") {
            None => None,
            Some(v) => form::whole_unsigned(v, "wait_ms").map_err(|_| {
                ApiError::field(
                    "wait_ms",
                    Message::new(
                        "`wait_ms` must be a whole number of milliseconds, up to the server's max_wait_ms",
                        "`wait_ms` 必须是毫秒数（整数），不超过服务器的 max_wait_ms",
                    ),
                )
            })?,
        };
        let encoding = Encoding::parse(map.remove("encoding"))?;
        // The call's own fields, tagged with its name as `Call`'s derived form reads them.
        let tagged = Value::Object(Map::from_iter([((*name).to_owned(), Value::Object(map))]));
        let mut call: Call = serde_path_to_error::deserialize(tagged).map_err(call_error)?;
        if let Some(data) = call.data_mut() {
            *data = encoding.unwrap_or(Encoding::Utf8).decode(data)?;
        }
        if let Call::Setsockopt { option, value, .. } = call {
            check_option_value(option, value)?;
        }
        Ok(CallRequest {
            host,
            call,
            wait_ms,
            encoding,
        })
    }
}

/// A setsockopt value of the shape the option takes: a flag option takes true or false, an
/// integer option an integer in [`int_option_range`], SO_LINGER `{"onoff", "seconds"}` with
/// seconds up to [`MAX_LINGER_SECS`].
fn check_option_value(option: SockOpt, value: OptValue) -> Result<(), ApiError> {
    let name = option.name();
    let (_, _, shape) = option.raw();
    let refusal = match (shape, value) {
        (OptShape::Bool, OptValue::Bool(_)) => return Ok(()),
        (OptShape::Bool, _) => Message::new(
            format!("{name} takes true or false"),
            format!("{name} 的值是 true 或 false"),
        ),
        (OptShape::Int, OptValue::Int(n)) => {
            let (min, max) = int_option_range(option);
            if (min..=max).contains(&n) {
                return Ok(());
            }
            Message::new(
                format!("{name} takes an integer between {min} and {max}"),
                format!("{name} 的值是 {min} 到 {max} 之间的整数"),
            )
        }
        (OptShape::Int, _) => Message::new(
            format!("{name} takes an integer"),
            format!("{name} 的值是整数"),
        ),
        (OptShape::Linger, OptValue::Linger { seconds, .. })
            if i64::from(seconds) <= MAX_LINGER_SECS =>
        {
            return Ok(());
        }
        (OptShape::Linger, _) => Message::new(
            format!(
                "{name} takes {{\"onoff\": true or false, \"seconds\": 0 to {MAX_LINGER_SECS}}}"
            ),
            format!(
                "{name} 的值是 {{\"onoff\": true 或 false, \"seconds\": 0 到 {MAX_LINGER_SECS}}}"
            ),
        ),
    };
    Err(ApiError::field("value", refusal))
}

/// The request's own fields, as the document shows them beside each call's.
#[derive(Debug, utoipa::ToSchema)]
#[allow(
    dead_code,
    reason = "read field by field; this type only describes them"
)]
struct CallCommon {
    /// The host that makes the call: "A", "B", …
    #[schema(example = "B", pattern = "^[A-Z]$")]
    host: String,
    /// How long a blocking call may wait before it is answered as pending (ms; the server's
    /// default when absent, capped by max_wait_ms).
    #[schema(minimum = 0)]
    wait_ms: Option<u64>,
    /// How `data` is written, in the request and in the answer: utf8 (default), base64 or hex.
    encoding: Option<String>,
}

/// The call's schema entries, tagged: [`Call`]'s derived schema has one object per call with
/// the call's fields under its name (`{"bind": {…}}`); the body has them beside `call` (its
/// name, a one-value enum) and the request's own fields, in one closed object per call.
fn tagged_call_schemas() -> Vec<Value> {
    let common = serde_json::to_value(CallCommon::schema()).unwrap_or_default();
    let derived = serde_json::to_value(Call::schema()).unwrap_or_default();
    let mut encodings: Vec<Value> = ENCODINGS.iter().map(|(n, _)| json!(n)).collect();
    encodings.push(Value::Null);
    derived["oneOf"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let (name, fields) = entry["properties"].as_object()?.iter().next()?;
            let mut properties = Map::new();
            properties.insert("call".to_owned(), json!({"type": "string", "enum": [name]}));
            properties.extend(common["properties"].as_object()?.clone());
            properties["encoding"]["enum"] = Value::Array(encodings.clone());
            properties.extend(
                fields["properties"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            );
            let mut required = vec![json!("call"), json!("host")];
            required.extend(fields["required"].as_array().cloned().unwrap_or_default());
            let mut object = json!({
                "type": "object",
                "required": required,
                "properties": properties,
                "additionalProperties": false,
            });
            if let Some(description) = fields.get("description").or(entry.get("description")) {
                object["description"] = description.clone();
            }
            Some(object)
        })
        .collect()
}

impl PartialSchema for CallRequest {
    fn schema() -> RefOr<Schema> {
        let schema = json!({
            "description": "One socket call, its name in `call`; each call takes the fields \
                listed under it and no others.",
            "oneOf": tagged_call_schemas(),
        });
        serde_json::from_value(schema).unwrap_or_default()
    }
}

impl ToSchema for CallRequest {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("CallRequest")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        <Call as ToSchema>::schemas(schemas);
        schemas.push((
            <SockOpt as ToSchema>::name().into_owned(),
            SockOpt::schema(),
        ));
        schemas.push((
            <OptValue as ToSchema>::name().into_owned(),
            OptValue::schema(),
        ));
    }
}

/// Every request field each call takes, as the document lists them (for tests and clients).
pub fn call_fields(call: &str) -> Vec<String> {
    tagged_call_schemas()
        .iter()
        .find(|s| s["properties"]["call"]["enum"][0] == call)
        .and_then(|s| s["properties"].as_object())
        .map(|p| {
            p.keys()
                .filter(|k| !REQUEST_FIELDS.contains(&k.as_str()))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::{Family, Proto, SockType};

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
                ty: SockType::Stream,
                protocol: None,
            }
        );
        let r =
            parse(json!({"host":"A","call":"socket","domain":"unix","type":"seqpacket"})).unwrap();
        assert_eq!(
            r.call,
            Call::Socket {
                family: Family::Unix,
                ty: SockType::Seqpacket,
                protocol: None,
            }
        );
        let r = parse(
            json!({"host":"A","call":"socket","domain":"inet","type":"raw","protocol":"icmp"}),
        )
        .unwrap();
        assert_eq!(
            r.call,
            Call::Socket {
                family: Family::Inet,
                ty: SockType::Raw,
                protocol: Some(Proto::Icmp),
            }
        );
        let r =
            parse(json!({"host":"A","call":"socketpair","domain":"AF_UNIX","type":"SOCK_DGRAM"}))
                .unwrap();
        assert_eq!(
            r.call,
            Call::Socketpair {
                family: Family::Unix,
                ty: SockType::Dgram,
            }
        );
        let r = parse(json!({"host":"A","call":"connect","fd":3,"addr":"/tmp/echo.sock"})).unwrap();
        assert_eq!(
            r.call,
            Call::Connect {
                fd: 3,
                addr: "/tmp/echo.sock".parse().unwrap()
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
                data: b"hi".to_vec(),
                icmp: None,
            }
        );
        let r = parse(json!({"host":"A","call":"listen","fd":3.0,"backlog":null})).unwrap();
        assert_eq!(r.call, Call::Listen { fd: 3, backlog: 16 });
    }

    #[test]
    fn an_icmp_header_is_built_from_its_members() {
        use crate::sandbox::packet::icmp::IcmpHeader;
        let r = parse(json!({"host":"A","call":"sendto","fd":3,"addr":"10.0.0.2",
            "icmp":{"type":8,"code":0,"id":1,"seq":1,"checksum":null}}))
        .unwrap();
        let header = IcmpHeader {
            icmp_type: 8,
            code: 0,
            id: 1,
            seq: 1,
            checksum: None,
        };
        assert_eq!(
            r.call,
            Call::Sendto {
                fd: 3,
                data: Vec::new(),
                addr: "10.0.0.2".parse().unwrap(),
                icmp: Some(header),
            }
        );
        // Only `type` is required; a checksum is taken as given; data is the payload.
        let r = parse(
            json!({"host":"A","call":"send","fd":3,"data":"6869","encoding":"hex",
            "icmp":{"type":128.0,"checksum":4660}}),
        )
        .unwrap();
        let Call::Send { data, icmp, .. } = r.call else {
            panic!("{r:?}");
        };
        assert_eq!(data, b"hi");
        assert_eq!(
            icmp,
            Some(IcmpHeader {
                icmp_type: 128,
                code: 0,
                id: 0,
                seq: 0,
                checksum: Some(0x1234),
            })
        );
        let r = parse(json!({"host":"A","call":"send","fd":3,"icmp":null})).unwrap();
        assert!(matches!(r.call, Call::Send { icmp: None, ref data, .. } if data.is_empty()));
        for (icmp, says) in [
            (json!({"code":0}), "needs a `type`"),
            (
                json!({"type":256}),
                "`type` must be an integer from 0 to 255",
            ),
            (
                json!({"type":8,"seq":-1}),
                "`seq` must be an integer from 0 to 65535",
            ),
            (
                json!({"type":8,"checksum":"ffff"}),
                "`checksum` must be an integer",
            ),
            (json!({"type":8,"ttl":1}), "no member `ttl`"),
            (json!(8), "must be an object"),
        ] {
            let body = json!({"host":"A","call":"sendto","fd":3,"addr":"10.0.0.2","icmp":icmp});
            match parse(body.clone()).unwrap_err() {
                ApiError::BadRequest { field, message } => {
                    assert_eq!(field.as_deref(), Some("icmp"), "{body}");
                    assert!(message.en().contains(says), "{body}: {message}");
                }
                other => panic!("{other:?}"),
            }
        }
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
                json!({"host":"B","call":"close","fd":3,"peek":null}),
                "peek",
            ),
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
            (json!({"host":"A","call":"nonblocking","fd":3}), "on"),
        ];
        for (body, field) in cases {
            let err = parse(body.clone()).unwrap_err();
            assert_eq!(field_of(err).as_deref(), Some(field), "{body}");
        }
    }

    #[test]
    fn messages_name_the_field_and_what_it_takes() {
        let message = |body: Value| match parse(body).unwrap_err() {
            ApiError::BadRequest { message, .. } => message.en().to_owned(),
            other => panic!("{other:?}"),
        };
        let cases = [
            (
                json!({"host":"A","call":"bind","fd":"3","addr":"1.2.3.4:5"}),
                "`fd` must be an integer",
            ),
            (
                json!({"host":"A","call":"bind","fd":3}),
                "missing field `addr`",
            ),
            (
                json!({"host":"A","call":"close","fd":3,"extra":1}),
                "unknown field `extra`",
            ),
            (
                json!({"host":"A","call":"nonblocking","fd":3,"on":1}),
                "`on` must be true or false",
            ),
            (
                json!({"host":"A","call":"getsockopt","fd":3,"option":"SO_NOPE"}),
                "unknown option `SO_NOPE`; options are SO_REUSEADDR",
            ),
            (
                json!({"host":"A","call":"socket","domain":"x","type":"tcp"}),
                "unknown domain `x`: use inet",
            ),
            (
                json!({"host":"A","call":"send","fd":3,"data":3}),
                "`data`: invalid type",
            ),
            (
                json!({"host":"A","call":"teleport"}),
                "unknown call `teleport`; calls are socket, socketpair, bind",
            ),
            (
                json!({"host":"A","call":"bind","fd":3,"addr":"echo.sock"}),
                "`addr`: `echo.sock` looks like a relative path",
            ),
            (
                json!({"host":"A","call":"socket","domain":"inet","type":"raw","protocol":"sctp"}),
                "unknown protocol `sctp`: use tcp",
            ),
            (
                json!({"host":"A","call":"unlink","path":"@echo"}),
                "`@echo` is not a path",
            ),
        ];
        for (body, says) in cases {
            let got = message(body.clone());
            assert!(got.starts_with(says), "{body}: {got}");
        }
    }

    #[test]
    fn option_values_take_their_option_shape() {
        let refused = |option: &str, value: Value| {
            let body = json!({"host":"A","call":"setsockopt","fd":3,"option":option,"value":value});
            match parse(body).unwrap_err() {
                ApiError::BadRequest { message, .. } => message.en().to_owned(),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(refused("IP_TTL", json!(true)), "IP_TTL takes an integer");
        assert!(refused("SO_RCVBUF", json!(-1)).contains("between 0 and 2147483647"));
        assert!(refused("SO_REUSEADDR", json!(1)).contains("true or false"));
        assert!(refused("SO_LINGER", json!({"onoff":true,"seconds":6})).contains("0 to 5"));
        let r = parse(
            json!({"host":"A","call":"setsockopt","fd":3,"option":"SO_RCVBUF","value":4096.0}),
        )
        .unwrap();
        assert!(matches!(
            r.call,
            Call::Setsockopt {
                value: OptValue::Int(4096),
                ..
            }
        ));
    }

    #[test]
    fn the_schema_lists_every_call_and_its_fields() {
        let names: Vec<&str> = call_names().to_vec();
        assert_eq!(names.len(), 18, "{names:?}");
        assert_eq!(names[0], "socket");
        assert_eq!(call_fields("socket"), ["domain", "protocol", "type"]);
        assert_eq!(call_fields("socketpair"), ["domain", "type"]);
        assert_eq!(call_fields("unlink"), ["path"]);
        assert_eq!(call_fields("recv"), ["fd", "max", "peek"]);
        assert_eq!(call_fields("send"), ["data", "fd", "icmp"]);
        assert_eq!(call_fields("sendto"), ["addr", "data", "fd", "icmp"]);
        assert_eq!(call_fields("setsockopt"), ["fd", "option", "value"]);
        let schema = serde_json::to_value(CallRequest::schema()).unwrap();
        let bind = &schema["oneOf"][2];
        assert_eq!(bind["properties"]["call"]["enum"], json!(["bind"]));
        assert_eq!(bind["required"], json!(["call", "host", "fd", "addr"]));
        assert_eq!(bind["properties"]["addr"]["format"], "socket-address");
    }

    #[test]
    fn the_schema_states_the_parser_bounds_and_defaults() {
        let schema = serde_json::to_value(CallRequest::schema()).unwrap();
        let field = |call: &str, name: &str| {
            schema["oneOf"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["properties"]["call"]["enum"][0] == call)
                .map(|v| v["properties"][name].clone())
                .unwrap()
        };
        let backlog = field("listen", "backlog");
        assert_eq!(
            (&backlog["maximum"], &backlog["default"]),
            (&json!(form::MAX_BACKLOG), &json!(form::DEFAULT_BACKLOG))
        );
        let max = field("recvfrom", "max");
        assert_eq!(
            (&max["maximum"], &max["default"]),
            (&json!(form::MAX_RECV_MAX), &json!(form::DEFAULT_RECV_MAX))
        );
        assert_eq!(field("close", "fd")["minimum"], 0);
    }
}

//! The answer to a call, as `POST …/calls` and `GET …/calls/{call_id}` give it: one JSON
//! object tagged by `status` (ok, error or pending), with what the call produced.

use crate::sandbox::net::Addr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;

use super::call_request::Encoding;
use crate::i18n::{Lang, Message};
use crate::sandbox::event::PREVIEW_BYTES;
use crate::sandbox::hex::to_hex;
use crate::sandbox::packet::icmp::DecodedIcmp;
use crate::sandbox::{
    CallFailure, CallOutcome, CallReply, CallValue, Event, EventKind, HostId, OptValue, Preview,
    Status,
};

/// Which call a reply answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CallRef {
    /// The call's id.
    pub call_id: u64,
    /// The host it ran on.
    #[schema(value_type = String)]
    pub host: HostId,
    /// The event that recorded the outcome.
    pub seq: u64,
}

/// What a call produced; each field only when the call gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CallResults {
    /// A new descriptor (socket, accept; socketpair's first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fd: Option<i32>,
    /// Both descriptors of a socketpair.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fds: Option<[i32; 2]>,
    /// The same host's descriptor at the other end of an accepted Unix connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_fd: Option<i32>,
    /// The peer (accept, recvfrom, getpeername): `ip:port`, an IP for ICMP, a Unix path or
    /// `@name` (absent for an unnamed Unix socket).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub peer: Option<Addr>,
    /// The address used (bind, connect, sendto, unlink) or the local address (getsockname).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub addr: Option<Addr>,
    /// Bytes sent or received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<usize>,
    /// Received bytes, in `encoding`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// How `data` is encoded: utf8, base64 or hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<&'static str>,
    /// The option value read (getsockopt).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<OptValue>,
    /// What the sandbox did on the way, in the request's language.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub note: Option<Message>,
    /// What will come of a call that succeeded but will not do what it may seem to (an ICMP
    /// message sent with a wrong checksum gets no answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The ICMP message sent or read, decoded (ICMP sockets): with the IPv4 header a raw IPv4
    /// socket reads in front of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp: Option<Box<DecodedIcmp>>,
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CallError {
    /// The errno's name, e.g. ECONNREFUSED.
    pub errno: &'static str,
    /// The errno's number.
    pub code: i32,
    /// The errno's message.
    pub message: &'static str,
    /// A hint for learners.
    pub hint: String,
    /// Whether the sandbox (not the kernel's state) refused the call.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sandbox: bool,
}

/// The answer to a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CallResponse {
    /// It ran and succeeded.
    Ok {
        #[serde(flatten)]
        call: CallRef,
        #[serde(flatten)]
        results: CallResults,
    },
    /// It ran and failed: the errno, its number, message and a hint.
    Error {
        #[serde(flatten)]
        call: CallRef,
        #[serde(flatten)]
        error: CallError,
        #[serde(flatten)]
        results: CallResults,
    },
    /// Still blocked; its end comes as an event with the same call id.
    Pending {
        #[serde(flatten)]
        call: CallRef,
    },
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
        let call = CallRef { call_id, host, seq };
        match outcome {
            CallOutcome::Ok(CallValue {
                fd,
                fds,
                peer_fd,
                peer,
                addr,
                bytes,
                data,
                value,
                note,
                hint,
                icmp,
            }) => {
                let (data, encoding) = match data {
                    Some(data) => {
                        let (text, used) = encode(&data, encoding);
                        (Some(text), Some(used.name()))
                    }
                    None => (None, None),
                };
                let results = CallResults {
                    fd,
                    fds,
                    peer_fd,
                    peer,
                    addr,
                    bytes,
                    data,
                    encoding,
                    value,
                    note,
                    hint: hint.map(|hint| hint.get(Lang::current()).to_owned()),
                    icmp,
                };
                CallResponse::Ok { call, results }
            }
            CallOutcome::Err(failure) => {
                let hint = failure.hint_in(Lang::current()).to_owned();
                let CallFailure {
                    errno,
                    sandbox,
                    hint: _,
                } = failure;
                let error = CallError {
                    errno: errno.name,
                    code: errno.code,
                    message: errno.message,
                    hint,
                    sandbox,
                };
                let results = CallResults::default();
                CallResponse::Error {
                    call,
                    error,
                    results,
                }
            }
            CallOutcome::Pending => CallResponse::Pending { call },
        }
    }

    /// The answer of a finished call as its log event recorded it; none while the event
    /// only says the call is pending. Received data is the event's preview, so a longer
    /// payload comes back cut, with a note saying so.
    pub fn from_event(event: &Event) -> Option<CallResponse> {
        let (call_id, host) = (event.call_id?, event.host?);
        let call = CallRef {
            call_id,
            host,
            seq: event.seq,
        };
        let received = matches!(event.kind, EventKind::Recv | EventKind::Recvfrom);
        let preview = event.data.as_ref().filter(|_| received);
        let (data, encoding) = match preview {
            Some(Preview { text: Some(t), .. }) => (Some(t.clone()), Some(Encoding::Utf8)),
            Some(Preview { hex: Some(h), .. }) => (Some(h.clone()), Some(Encoding::Hex)),
            _ => (None, None),
        };
        let cut = preview.is_some_and(|p| p.truncated).then(|| {
            let received = event.bytes.unwrap_or_default();
            Message::new(
                format!(
                    "read back from the log: `data` holds the first {PREVIEW_BYTES} of the \
                     {received} bytes received"
                ),
                format!("从日志读回：`data` 只有收到的 {received} 字节中的前 {PREVIEW_BYTES} 字节"),
            )
        });
        let results = CallResults {
            fd: event.new_fd,
            fds: event.fds,
            peer_fd: event.peer_fd,
            peer: event.peer,
            addr: event.addr,
            bytes: event.bytes.map(|b| b as usize),
            data,
            encoding: encoding.map(Encoding::name),
            value: event.value,
            note: cut.or_else(|| event.note.clone()),
            // A failure's hint is the error's own.
            hint: event
                .hint
                .as_ref()
                .filter(|_| event.status == Status::Ok)
                .map(|hint| hint.get(Lang::current()).to_owned()),
            icmp: event.icmp.clone(),
        };
        match event.status {
            Status::Ok => Some(CallResponse::Ok { call, results }),
            Status::Error => {
                let errno = event.errno?;
                let error = CallError {
                    errno: errno.name,
                    code: errno.code,
                    message: errno.message,
                    hint: match &event.hint {
                        Some(hint) => hint.get(Lang::current()).to_owned(),
                        None => errno.hint.get(Lang::current()).to_owned(),
                    },
                    sandbox: event.sandbox,
                };
                Some(CallResponse::Error {
                    call,
                    error,
                    results,
                })
            }
            Status::Pending | Status::Observed => None,
        }
    }

    /// Whether the call is still blocked.
    pub fn is_pending(&self) -> bool {
        matches!(self, CallResponse::Pending { .. })
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn replies_are_tagged_by_status() {
        let call = CallRef {
            call_id: 1,
            host: "A".parse().unwrap(),
            seq: 2,
        };
        let pending = serde_json::to_value(CallResponse::Pending { call: call.clone() }).unwrap();
        assert_eq!(
            pending,
            serde_json::json!({"status":"pending","call_id":1,"host":"A","seq":2})
        );
        let results = CallResults {
            fd: Some(3),
            ..CallResults::default()
        };
        let ok = serde_json::to_value(CallResponse::Ok { call, results }).unwrap();
        assert_eq!(
            (ok["status"].as_str(), ok["fd"].as_i64()),
            (Some("ok"), Some(3))
        );
    }
}

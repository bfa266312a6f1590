//! Events: one record of something that happened in a session, a call and its result or
//! something the kernel did on its own. The event is the unit of the live stream, the stored
//! log, the ladder diagram and the grader, so its JSON form (serde) is the documented format.
//!
//! An event is one flat record: the fields every event has (`seq`, `time_ms`, `kind`,
//! `status`, …) and optional fields that only some kinds carry. Absent fields are left out of
//! the JSON.

use serde::{Deserialize, Serialize};

use super::errno::Errno;
use super::host::{HostId, HostInfo};
use super::net::{Addr, OptValue, ShutdownHow, SockOpt, Tuple};
use super::packet::Packet;
use super::packet::icmp::DecodedIcmp;
use super::probe::TcpState;

/// Bytes of a payload kept in an event's preview.
pub const PREVIEW_BYTES: usize = 64;

/// Position of an event in its session's log, from 1, without gaps.
pub type Seq = u64;

/// What an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The session began; carries its hosts.
    SessionStarted,
    /// A host joined the session.
    HostAdded,
    /// The session ended; carries the reason.
    SessionEnded,
    Socket,
    Socketpair,
    Bind,
    Listen,
    Connect,
    Accept,
    Send,
    Recv,
    Sendto,
    Recvfrom,
    Shutdown,
    Close,
    Setsockopt,
    Getsockopt,
    Getsockname,
    Getpeername,
    Unlink,
    Nonblocking,
    /// A connection finished the handshake and waits in a listener's accept queue.
    Incoming,
    /// Bytes (or a datagram) arrived and wait to be read.
    Data,
    /// The peer sent FIN: reads return 0 once the waiting bytes are read.
    Eof,
    /// The connection was reset (RST), or refused while connecting.
    Reset,
    /// The kernel moved the socket to another TCP state.
    TcpState,
    /// The sandbox refused something that crossed the session boundary on its own (a
    /// connection or datagram from outside the session).
    Isolation,
    /// A host sent a packet (netns mode): the capture saw it leave.
    Packet,
    /// A socket without a descriptor changed state, as sock_diag reports it: a connection
    /// in a listener's accept queue, TIME_WAIT after an active close, and its end.
    KernelSocket,
}

impl EventKind {
    /// Whether this kind records a call a user made (as opposed to the kernel or the session).
    pub fn is_call(self) -> bool {
        !matches!(
            self,
            EventKind::SessionStarted
                | EventKind::HostAdded
                | EventKind::SessionEnded
                | EventKind::Incoming
                | EventKind::Data
                | EventKind::Eof
                | EventKind::Reset
                | EventKind::TcpState
                | EventKind::Isolation
                | EventKind::Packet
                | EventKind::KernelSocket
        )
    }
}

/// How an event turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The call succeeded.
    Ok,
    /// The call failed; `errno` says why.
    Error,
    /// The call blocked and is still waiting; a later event with the same `call_id` ends it.
    Pending,
    /// Something observed, not a call: kernel and session events.
    Observed,
}

/// The first bytes of a payload, as text when they are UTF-8 and as hex otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Preview {
    /// The previewed bytes as text, when they are valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The previewed bytes in hex, when they are not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
    /// Whether the payload was longer than the preview.
    pub truncated: bool,
}

impl Preview {
    /// A preview of at most [`PREVIEW_BYTES`] of `bytes`.
    pub fn of(bytes: &[u8]) -> Preview {
        let truncated = bytes.len() > PREVIEW_BYTES;
        let mut head = &bytes[..bytes.len().min(PREVIEW_BYTES)];
        // Cutting may split a UTF-8 character; keep the text form when only the cut is at fault.
        if truncated {
            if let Err(e) = std::str::from_utf8(head) {
                if e.error_len().is_none() {
                    head = &head[..e.valid_up_to()];
                }
            }
        }
        match std::str::from_utf8(head) {
            Ok(text) => Preview {
                text: Some(text.to_owned()),
                hex: None,
                truncated,
            },
            Err(_) => Preview {
                text: None,
                hex: Some(super::hex::to_hex(head)),
                truncated,
            },
        }
    }
}

/// One thing that happened in a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    /// Position in the session's log, from 1.
    pub seq: Seq,
    /// Wall-clock time, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The host the event belongs to; none for session events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "B")]
    pub host: Option<HostId>,
    /// The descriptor the event is about, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fd: Option<i32>,
    /// What happened.
    pub kind: EventKind,
    /// How it turned out.
    pub status: Status,
    /// The call this event records, for call events; a pending call's completion repeats it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<u64>,
    /// The kernel's error, for failed calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno: Option<Errno>,
    /// Whether the sandbox (not the kernel's own state) refused the call at the boundary.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sandbox: bool,
    /// A learner's hint when it says more than the errno's own hint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub hint: Option<crate::i18n::Message>,
    /// The socket's tuple at that moment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuple: Option<Tuple>,
    /// The address the call used (bind, connect, sendto), after any sandbox mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub addr: Option<Addr>,
    /// The address the user asked for, when the sandbox mapped it to another one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub requested_addr: Option<Addr>,
    /// The other end: accept's peer, recvfrom's source, an isolation refusal's origin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub peer: Option<Addr>,
    /// The descriptor a call created (socket, accept; socketpair's first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_fd: Option<i32>,
    /// A port the kernel chose for the socket during this call, from the host's ephemeral
    /// range: a bind to port 0, or the implicit bind of a connect, listen or send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_port: Option<u16>,
    /// The descriptor of the same host at the other end of a Unix-domain connection, as the
    /// kernel pairs them (accept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_fd: Option<i32>,
    /// Both descriptors a socketpair created, connected to each other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fds: Option<[i32; 2]>,
    /// Bytes moved by the call, or waiting in the receive queue for `data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// The first bytes of the payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Preview>,
    /// Listen backlog (listen, incoming).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backlog: Option<u32>,
    /// Connections waiting in the accept queue (incoming, accept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<u32>,
    /// TCP state before (tcp_state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<TcpState>,
    /// TCP state after (tcp_state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<TcpState>,
    /// Socket option (setsockopt, getsockopt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option: Option<SockOpt>,
    /// Option value set or read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<OptValue>,
    /// Which direction shutdown closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub how: Option<ShutdownHow>,
    /// Non-blocking mode set (nonblocking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonblocking: Option<bool>,
    /// Most bytes a receive asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    /// Whether a receive only peeked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub peek: bool,
    /// Hosts of the session (session_started, host_added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<Vec<HostInfo>>,
    /// Why the session ended (session_ended), in the request's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub reason: Option<crate::i18n::Message>,
    /// A sentence for the reader: what the sandbox did, what a kernel event means. In the
    /// request's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub note: Option<crate::i18n::Message>,
    /// The packet (packet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packet: Option<Box<Packet>>,
    /// The ICMP message an ICMP socket sent (raw IPv4), read or has waiting (data), decoded:
    /// with the IPv4 header a raw IPv4 socket reads in front of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp: Option<Box<DecodedIcmp>>,
    /// The packet event this one answers: the RST behind ECONNREFUSED or ECONNRESET, the SYN
    /// a state was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packet_seq: Option<Seq>,
    /// Whether a TCP state was read from a packet rather than observed on the socket: the
    /// state was too brief for any kernel probe to catch (SYN_SENT, SYN_RECV).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inferred: bool,
    /// Milliseconds until the kernel's timer for a socket without a descriptor fires (the
    /// end of TIME_WAIT), when the event was logged (kernel_socket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_ms: Option<u32>,
}

impl Event {
    /// An event of `kind` with every optional field empty; `seq` and `time_ms` are filled in
    /// when the session logs it.
    pub fn new(kind: EventKind, status: Status) -> Event {
        Event {
            seq: 0,
            time_ms: 0,
            host: None,
            fd: None,
            kind,
            status,
            call_id: None,
            errno: None,
            sandbox: false,
            hint: None,
            tuple: None,
            addr: None,
            requested_addr: None,
            peer: None,
            new_fd: None,
            ephemeral_port: None,
            peer_fd: None,
            fds: None,
            bytes: None,
            data: None,
            backlog: None,
            queue: None,
            from: None,
            to: None,
            option: None,
            value: None,
            how: None,
            nonblocking: None,
            max: None,
            peek: false,
            hosts: None,
            reason: None,
            note: None,
            packet: None,
            icmp: None,
            packet_seq: None,
            inferred: false,
            timer_ms: None,
        }
    }

    /// A kernel observation about one socket.
    pub fn observed(kind: EventKind, host: HostId, fd: i32, tuple: Option<Tuple>) -> Event {
        Event {
            host: Some(host),
            fd: Some(fd),
            tuple,
            ..Event::new(kind, Status::Observed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_is_bounded_and_keeps_text() {
        let long = "é".repeat(100);
        let p = Preview::of(long.as_bytes());
        assert!(p.truncated);
        let text = p.text.unwrap();
        assert!(text.len() <= PREVIEW_BYTES);
        assert!(text.chars().all(|c| c == 'é'));
        let bin = Preview::of(&[0xff, 0x00]);
        assert_eq!(bin.hex.as_deref(), Some("ff00"));
        assert!(!bin.truncated);
    }

    #[test]
    fn event_round_trips_through_json() {
        let mut e = Event::observed(EventKind::TcpState, HostId::A, 3, None);
        e.from = Some(TcpState::SynSent);
        e.to = Some(TcpState::Established);
        e.errno = Some(Errno::from_code(libc::ECONNRESET));
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains(r#""from":"SYN_SENT""#), "{json}");
        assert!(json.contains(r#""host":"A""#), "{json}");
        let back: Event = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
    }
}

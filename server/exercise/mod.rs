//! Exercises: the catalog (files under `exercises/`, compiled in), the built-in programs a
//! setup starts, and the grader that runs an exercise's checks over a session's event log.
//!
//! Like the sandbox, this module knows nothing of HTTP or SQL: the HTTP layer applies a setup
//! when it creates a session and asks the grader for a report; the store keeps the catalog and
//! the attempts.
//!
//! # The catalog format
//!
//! One TOML file per exercise, named after its id:
//!
//! ```toml
//! id = "tcp-client-echo"          # the file is exercises/tcp-client-echo.toml
//! version = 1                      # raise it when the checks change
//! title = "A TCP client against an echo server"
//! summary = "One line for the list."
//! teaches = ["connect", "send and recv"]
//! text = """What to do and why it matters (Markdown-ish plain text)."""
//!
//! [setup]
//! hosts = 2                        # A, B, … (default 2)
//! [[setup.programs]]               # built-in programs started on real sockets
//! program = "echo_tcp"             # echo_tcp | echo_udp | echo_unix | discard_tcp | discard_udp | client
//! host = "B"
//! port = 7007                      # echo_unix takes `path = "/tmp/echo.sock"` instead
//!
//! [[checks]]
//! id = "connected"
//! text = "Host A connected to the echo server"
//! hint = "Call connect on A with B's address and port 7007."
//! rule = { type = "event", kind = "connect", host = "A", status = "ok", remote_port = 7007 }
//! ```
//!
//! Every text a learner reads (title, summary, teaches, text, each check's text and hint) is
//! written in English and translated in a table named after the language's tag, at the end
//! of the file; a text left out there is shown in English (and listed by the test
//! `every_learner_text_is_translated`). Identifiers, calls, errno names and JSON stay as
//! they are in a translation.
//!
//! ```toml
//! [zh-CN]
//! title = "连接回显服务器的 TCP 客户端"
//! summary = "列表中的一行。"
//! teaches = ["connect", "send 与 recv"]   # as many as in English, in the same order
//! text = """要做什么，为什么重要。"""
//!
//! [zh-CN.checks.connected]                 # by the check's id
//! text = "主机 A 连接到了回显服务器"
//! hint = "在 A 上调用 connect，地址为 B 的地址，端口 7007。"
//! ```
//!
//! Rules: `event` (some event matches the filter), `count` (`min`/`max` events match),
//! `order` (an event matching `first` comes before one matching `then`), `none` (no event
//! matches), `tcp_state` (a host's socket reached a state), `received_equals_sent` (what
//! `receiver` read equals what `sender` wrote). Filters take `kind`, `host`, `status`,
//! `errno`, `fd`, `local_port`, `remote_port`, `peer_host`, `family`, `proto`, `sock_type`,
//! `path`, `local_path`, `remote_path`, `ephemeral`, `to`, `from`, `data`, `bytes`, `option`,
//! `value`, `how`, `nonblocking`, `min_queue`, and `packet`.
//!
//! ```toml
//! # Unix-domain names: `path` is any name the event carries (its address, either end of its
//! # socket, its peer); `local_path` the socket's own (or the one a bind asked for);
//! # `remote_path` the other end's (a connect's or sendto's address, the connected peer).
//! rule = { type = "event", kind = "connect", host = "A", status = "ok", remote_path = "/tmp/echo.sock" }
//! # The socket's type (`type` is the rule's own key): stream, dgram, seqpacket or raw.
//! rule = { type = "event", kind = "socketpair", family = "unix", sock_type = "seqpacket" }
//! # The socket's local port lies in its host's ephemeral range (`ip_local_port_range`, as
//! # the session reported it), or with `false` outside it.
//! rule = { type = "event", kind = "connect", host = "A", status = "ok", ephemeral = true }
//! # `count` with `distinct` counts the different values of one field among the events that
//! # match (events without it do not count): fd, local_port, remote_port or data.
//! rule = { type = "count", kind = "connect", host = "A", status = "ok", distinct = "local_port", min = 2 }
//! ```
//!
//! Raw and ICMP sockets exist only in netns isolation: a filter with `sock_type = "raw"` or
//! `proto = "icmp"` (or `"icmpv6"`) is read as the packet rules below are.
//!
//! Packets on the wire (captured in netns isolation only) have rules of their own:
//!
//! ```toml
//! # Some packet matches: a packet filter, the same one a filter's `packet` table takes.
//! rule = { type = "packet", from = "B", to = "A", flags = ["RST"], caused_by = "connect" }
//! # The same conditions anywhere a filter goes: none, count, order.
//! rule = { type = "none", packet = { from = "B", flags = ["SYN", "ACK"] } }
//! rule = { type = "count", packet = { from = "A", proto = "udp" }, min = 3 }
//! # SYN (seq J), SYN+ACK (seq K, ack J+1), ACK (seq J+1, ack K+1), in that order, with the
//! # numbers as on the wire; `port` (the server's) is optional.
//! rule = { type = "handshake", client = "A", server = "B", port = 7007 }
//! # No TCP segment from A carried data before its connection's handshake completed.
//! rule = { type = "no_data_before_handshake", host = "A" }
//! ```
//!
//! A packet filter takes `from` and `to` (hosts), `proto` (tcp, udp, icmp, icmpv6, arp, ip,
//! other), `flags` (TCP flags that must all be set; only TCP segments match), `no_flags` (TCP
//! flags none of which may be set; only TCP segments match), `src_port`, `dst_port`,
//! `min_payload` (bytes of TCP or UDP payload), `data` (the payload preview's text),
//! `caused_by` (the kind of the call whose `call_id` the packet carries: connect, close,
//! sendto, …), `iface` (lo, eth0, sw0) and `icmp_type` (8 an echo request, 0 its reply). A
//! rule that reads packets or `kernel_socket` events (sockets without a descriptor, such as
//! TIME_WAIT) fails on a log without a single packet, with a hint that they need netns
//! isolation.

pub mod catalog;
pub mod grader;
pub mod program;

use serde::{Deserialize, Serialize};

use crate::i18n::Lang;
use crate::sandbox::packet::PacketProto;
use crate::sandbox::{
    EventKind, Family, OptValue, Proto, ShutdownHow, SockOpt, SockType, TcpState,
};

/// One exercise of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    /// Stable id, also the file name.
    pub id: String,
    /// Raised when the exercise changes; attempts keep the version they were graded against.
    pub version: u32,
    /// Title for the list.
    pub title: String,
    /// One line for the list.
    pub summary: String,
    /// What the exercise teaches, a few words each.
    #[serde(default)]
    pub teaches: Vec<String>,
    /// What to do and why it matters.
    pub text: String,
    /// What the session starts with.
    #[serde(default)]
    pub setup: Setup,
    /// What the grader checks.
    pub checks: Vec<Check>,
    /// The texts in Simplified Chinese. Not part of the API's answer: an exercise is answered
    /// with its texts in the request's language (see [`Exercise::localized`]).
    #[serde(rename = "zh-CN", default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub zh: Option<Translation>,
}

/// An exercise's texts in another language; a text left out is shown in English.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Translation {
    pub title: Option<String>,
    pub summary: Option<String>,
    /// As many as the English list, in the same order.
    pub teaches: Option<Vec<String>>,
    pub text: Option<String>,
    /// By check id.
    #[serde(default)]
    pub checks: std::collections::BTreeMap<String, CheckTranslation>,
}

/// A check's texts in another language.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckTranslation {
    pub text: Option<String>,
    pub hint: Option<String>,
}

impl Exercise {
    /// The translation into `lang`, if there is one (English has none: it is the original).
    pub fn translation(&self, lang: Lang) -> Option<&Translation> {
        match lang {
            Lang::En => None,
            Lang::Zh => self.zh.as_ref(),
        }
    }

    /// The exercise with every text in `lang` (English where a text is not translated),
    /// and no translations.
    pub fn localized(&self, lang: Lang) -> Exercise {
        let mut out = Exercise {
            zh: None,
            ..self.clone()
        };
        let Some(t) = self.translation(lang) else {
            return out;
        };
        let pick = |into: &mut String, from: &Option<String>| {
            if let Some(text) = from {
                into.clone_from(text);
            }
        };
        pick(&mut out.title, &t.title);
        pick(&mut out.summary, &t.summary);
        pick(&mut out.text, &t.text);
        if let Some(teaches) = t.teaches.as_ref().filter(|v| v.len() == self.teaches.len()) {
            out.teaches.clone_from(teaches);
        }
        for check in &mut out.checks {
            if let Some(ct) = t.checks.get(&check.id) {
                pick(&mut check.text, &ct.text);
                pick(&mut check.hint, &ct.hint);
            }
        }
        out
    }

    /// Every text a learner reads that has no translation into `lang`, named as in the file
    /// (`title`, `teaches`, `checks.<id>.hint`, …).
    pub fn untranslated(&self, lang: Lang) -> Vec<String> {
        if lang == Lang::En {
            return Vec::new();
        }
        let empty = Translation::default();
        let t = self.translation(lang).unwrap_or(&empty);
        let mut missing = Vec::new();
        let mut need = |name: String, given: bool| {
            if !given {
                missing.push(name);
            }
        };
        need("title".into(), t.title.is_some());
        need("summary".into(), t.summary.is_some());
        need(
            "teaches".into(),
            self.teaches.is_empty() || t.teaches.is_some(),
        );
        need("text".into(), t.text.is_some());
        for check in &self.checks {
            let ct = t.checks.get(&check.id);
            need(
                format!("checks.{}.text", check.id),
                ct.is_some_and(|c| c.text.is_some()),
            );
            need(
                format!("checks.{}.hint", check.id),
                ct.is_some_and(|c| c.hint.is_some()),
            );
        }
        missing
    }
}

/// What an exercise session starts with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    /// Hosts A, B, …
    #[serde(default = "two")]
    pub hosts: usize,
    /// Built-in programs started on the session's hosts.
    #[serde(default)]
    pub programs: Vec<ProgramSpec>,
}

fn two() -> usize {
    2
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            hosts: 2,
            programs: Vec::new(),
        }
    }
}

/// A built-in program: it runs inside the session on real sockets, and its calls appear in
/// the log as its host's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "program", rename_all = "snake_case", deny_unknown_fields)]
pub enum ProgramSpec {
    /// Accepts TCP connections and sends back what it receives.
    EchoTcp { host: String, port: u16 },
    /// Sends every datagram back to its sender.
    EchoUdp { host: String, port: u16 },
    /// Accepts Unix-domain stream connections on `path` (an absolute path or an `@abstract`
    /// name, removing a file an earlier socket left there first) and sends back what it
    /// receives.
    EchoUnix { host: String, path: String },
    /// Accepts TCP connections and reads what comes, sending nothing.
    DiscardTcp { host: String, port: u16 },
    /// Reads datagrams and sends nothing.
    DiscardUdp { host: String, port: u16 },
    /// Once `to_host` listens on `port`, connects, sends `message`, reads the reply when
    /// `expect_reply`, and closes.
    Client {
        host: String,
        to_host: String,
        port: u16,
        message: String,
        #[serde(default)]
        expect_reply: bool,
    },
}

impl ProgramSpec {
    /// The host the program runs on.
    pub fn host(&self) -> &str {
        match self {
            ProgramSpec::EchoTcp { host, .. }
            | ProgramSpec::EchoUdp { host, .. }
            | ProgramSpec::EchoUnix { host, .. }
            | ProgramSpec::DiscardTcp { host, .. }
            | ProgramSpec::DiscardUdp { host, .. }
            | ProgramSpec::Client { host, .. } => host,
        }
    }
}

/// One check of an exercise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// Stable id within the exercise.
    pub id: String,
    /// What must be true, for the checklist.
    pub text: String,
    /// What to do when it is not.
    pub hint: String,
    /// The predicate over the event log.
    pub rule: Rule,
}

/// A predicate over a session's event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Rule {
    /// Some event matches.
    Event(Filter),
    /// No event matches.
    None(Filter),
    /// Between `min` and `max` events match; with `distinct`, between `min` and `max`
    /// different values of that field among the events that match.
    Count {
        #[serde(flatten)]
        filter: Filter,
        min: Option<usize>,
        max: Option<usize>,
        distinct: Option<Distinct>,
    },
    /// An event matching `first` comes before an event matching `then` (boxed: two filters
    /// would make every rule twice as large).
    Order {
        first: Box<Filter>,
        then: Box<Filter>,
    },
    /// A socket of `host` reached TCP state `to` (from `from`, when given).
    TcpState {
        host: String,
        to: TcpState,
        from: Option<TcpState>,
    },
    /// The bytes `receiver` read (recv, recvfrom) equal the bytes `sender` wrote (send,
    /// sendto): the same count, and the same bytes as far as the events' 64-byte previews
    /// show them; with `text`, the bytes read equal it.
    ReceivedEqualsSent {
        receiver: String,
        sender: String,
        text: Option<String>,
    },
    /// Some packet matches (an `event` whose filter has only `packet` conditions).
    Packet(PacketFilter),
    /// The three segments of a handshake from `client` to `server` (its port `port`, when
    /// given) were captured in order and their numbers add up, as on the wire (modulo 2^32):
    /// a SYN with seq J, a SYN+ACK with seq K and ack J+1, an ACK with seq J+1 and ack K+1.
    Handshake {
        client: String,
        server: String,
        port: Option<u16>,
    },
    /// No TCP segment from `host` carried data before its connection's handshake completed
    /// (the ACK of the SYN+ACK, which may itself carry the first data).
    NoDataBeforeHandshake { host: String },
}

impl Rule {
    /// Every host the rule names.
    pub fn hosts(&self) -> Vec<&str> {
        match self {
            Rule::Event(f) | Rule::None(f) | Rule::Count { filter: f, .. } => f.hosts(),
            Rule::Order { first, then } => first.hosts().into_iter().chain(then.hosts()).collect(),
            Rule::TcpState { host, .. } | Rule::NoDataBeforeHandshake { host } => {
                vec![host.as_str()]
            }
            Rule::ReceivedEqualsSent {
                receiver, sender, ..
            } => vec![receiver.as_str(), sender.as_str()],
            Rule::Packet(p) => p.hosts(),
            Rule::Handshake { client, server, .. } => vec![client.as_str(), server.as_str()],
        }
    }

    /// Every packet filter in the rule.
    pub fn packet_filters(&self) -> Vec<&PacketFilter> {
        match self {
            Rule::Event(f) | Rule::None(f) | Rule::Count { filter: f, .. } => {
                f.packet.as_deref().into_iter().collect()
            }
            Rule::Order { first, then } => first
                .packet
                .as_deref()
                .into_iter()
                .chain(then.packet.as_deref())
                .collect(),
            Rule::Packet(p) => vec![p],
            Rule::TcpState { .. }
            | Rule::ReceivedEqualsSent { .. }
            | Rule::Handshake { .. }
            | Rule::NoDataBeforeHandshake { .. } => Vec::new(),
        }
    }

    /// Whether the rule reads what only netns isolation logs (packets, sockets without a
    /// descriptor), so that a log without a single packet cannot satisfy it (not even a
    /// `none`).
    pub fn netns_only(&self) -> bool {
        match self {
            Rule::Event(f) | Rule::None(f) | Rule::Count { filter: f, .. } => f.netns_only(),
            Rule::Order { first, then } => first.netns_only() || then.netns_only(),
            Rule::Packet(_) | Rule::Handshake { .. } | Rule::NoDataBeforeHandshake { .. } => true,
            Rule::TcpState { .. } | Rule::ReceivedEqualsSent { .. } => false,
        }
    }
}

/// Conditions on one event; every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub kind: Option<EventKind>,
    pub host: Option<String>,
    /// ok, error, pending or observed.
    pub status: Option<String>,
    pub errno: Option<String>,
    pub fd: Option<i32>,
    pub local_port: Option<u16>,
    pub remote_port: Option<u16>,
    /// The other end (peer, remote address or destination) belongs to this host.
    pub peer_host: Option<String>,
    pub family: Option<Family>,
    pub proto: Option<Proto>,
    /// The socket's type: stream, dgram, seqpacket or raw.
    pub sock_type: Option<SockType>,
    /// Some Unix-domain name the event carries (its address, either end, its peer) is this.
    pub path: Option<String>,
    /// The socket's own Unix-domain name (or the one a bind asked for) is this.
    pub local_path: Option<String>,
    /// The other end's Unix-domain name (a connect's or sendto's address, the peer) is this.
    pub remote_path: Option<String>,
    /// The socket's local port lies (true) or does not lie (false) in its host's ephemeral
    /// range.
    pub ephemeral: Option<bool>,
    pub to: Option<TcpState>,
    pub from: Option<TcpState>,
    /// The data preview's text equals this.
    pub data: Option<String>,
    /// The call moved exactly this many bytes (a recv returning 0: end of stream).
    pub bytes: Option<u64>,
    pub option: Option<SockOpt>,
    pub value: Option<OptValue>,
    pub how: Option<ShutdownHow>,
    pub nonblocking: Option<bool>,
    /// incoming: at least this many connections in the accept queue.
    pub min_queue: Option<u32>,
    /// The event is a packet that matches these conditions (boxed: most filters have none).
    pub packet: Option<Box<PacketFilter>>,
}

impl Filter {
    /// Whether the filter matches only what netns isolation logs: packets, sockets without a
    /// descriptor, and raw and ICMP sockets (loopback isolation refuses them).
    fn netns_only(&self) -> bool {
        self.packet.is_some()
            || matches!(self.kind, Some(EventKind::Packet | EventKind::KernelSocket))
            || self.sock_type == Some(SockType::Raw)
            || self.proto.is_some_and(Proto::is_icmp)
    }

    /// Every host the filter names.
    fn hosts(&self) -> Vec<&str> {
        self.host
            .iter()
            .chain(&self.peer_host)
            .map(String::as_str)
            .chain(
                self.packet
                    .as_deref()
                    .into_iter()
                    .flat_map(PacketFilter::hosts),
            )
            .collect()
    }
}

/// Conditions on one packet a host sent; every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PacketFilter {
    /// The host that sent it.
    pub from: Option<String>,
    /// The host it is for.
    pub to: Option<String>,
    /// What it carries: tcp, udp, icmp, icmpv6, arp, ip or other.
    pub proto: Option<PacketProto>,
    /// TCP flags that must all be set.
    #[serde(default)]
    pub flags: Vec<TcpFlag>,
    /// TCP flags none of which may be set.
    #[serde(default)]
    pub no_flags: Vec<TcpFlag>,
    /// TCP or UDP source port.
    pub src_port: Option<u16>,
    /// TCP or UDP destination port.
    pub dst_port: Option<u16>,
    /// At least this many bytes of TCP or UDP payload.
    pub min_payload: Option<u32>,
    /// The payload preview's text equals this.
    pub data: Option<String>,
    /// The kind of the call whose `call_id` the packet carries (the call that caused it).
    pub caused_by: Option<EventKind>,
    /// The interface it left by: lo, eth0, sw0.
    pub iface: Option<String>,
    /// The ICMP message's type: 8 an echo request, 0 an echo reply, 3 destination
    /// unreachable; only ICMP messages match.
    pub icmp_type: Option<u8>,
}

impl PacketFilter {
    /// Every host the filter names.
    fn hosts(&self) -> Vec<&str> {
        self.from
            .iter()
            .chain(&self.to)
            .map(String::as_str)
            .collect()
    }
}

/// A field whose different values a `count` rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Distinct {
    /// The descriptor.
    Fd,
    /// The socket's local port.
    LocalPort,
    /// The other end's port.
    RemotePort,
    /// The data preview's text.
    Data,
}

/// A TCP flag, as packets name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum TcpFlag {
    Syn,
    Fin,
    Rst,
    Psh,
    Ack,
    Urg,
    Ece,
    Cwr,
}

impl TcpFlag {
    /// The name a captured segment lists it by.
    pub fn name(self) -> &'static str {
        match self {
            TcpFlag::Syn => "SYN",
            TcpFlag::Fin => "FIN",
            TcpFlag::Rst => "RST",
            TcpFlag::Psh => "PSH",
            TcpFlag::Ack => "ACK",
            TcpFlag::Urg => "URG",
            TcpFlag::Ece => "ECE",
            TcpFlag::Cwr => "CWR",
        }
    }
}

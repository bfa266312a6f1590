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
//! program = "echo_tcp"             # echo_tcp | echo_udp | discard_tcp | discard_udp | client
//! host = "B"
//! port = 7007
//!
//! [[checks]]
//! id = "connected"
//! text = "Host A connected to the echo server"
//! hint = "Call connect on A with B's address and port 7007."
//! rule = { type = "event", kind = "connect", host = "A", status = "ok", remote_port = 7007 }
//! ```
//!
//! Rules: `event` (some event matches the filter), `count` (`min`/`max` events match),
//! `order` (an event matching `first` comes before one matching `then`), `none` (no event
//! matches), `tcp_state` (a host's socket reached a state), `received_equals_sent` (what
//! `receiver` read equals what `sender` wrote). Filters take `kind`, `host`, `status`,
//! `errno`, `fd`, `local_port`, `remote_port`, `peer_host`, `family`, `proto`, `to`, `from`,
//! `data`, `option`, `value`, `how`, `nonblocking`, `min_queue`.

pub mod catalog;
pub mod grader;
pub mod program;

use serde::{Deserialize, Serialize};

use crate::sandbox::{EventKind, Family, OptValue, Proto, ShutdownHow, SockOpt, TcpState};

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
    /// Between `min` and `max` events match.
    Count {
        #[serde(flatten)]
        filter: Filter,
        min: Option<usize>,
        max: Option<usize>,
    },
    /// An event matching `first` comes before an event matching `then`.
    Order { first: Filter, then: Filter },
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
    pub to: Option<TcpState>,
    pub from: Option<TcpState>,
    /// The data preview's text equals this.
    pub data: Option<String>,
    pub option: Option<SockOpt>,
    pub value: Option<OptValue>,
    pub how: Option<ShutdownHow>,
    pub nonblocking: Option<bool>,
    /// incoming: at least this many connections in the accept queue.
    pub min_queue: Option<u32>,
}

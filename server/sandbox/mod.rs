//! The sandbox: sessions that own real kernel sockets, the calls made on them and the events
//! they produce. It knows nothing of HTTP or SQL; it can be used as a library on its own.
//!
//! Files: `registry` the live sessions ([`Sandbox`]); `handle` the way to one
//! ([`SessionHandle`]); `log` a session's in-memory log and its live feed; `record` what
//! goes to the store and how far it got; `snapshot` the picture of a session at one moment;
//! `session` the task that runs it; [`observer`] the hooks outer layers count with;
//! [`capacity`] how many sessions the process can hold.
//!
//! Tasks and what each owns:
//! - one **session task** per session ([`session`]): its hosts, their descriptor tables and
//!   kernel sockets, its pending calls; it runs every call, watches the kernel and logs events.
//!   Handles talk to it through a bounded command channel.
//! - the caller of [`Sandbox`] owns the registry of live sessions, and the receiving end of
//!   the [`Record`] channel (the store's writer, in the server).
//!
//! Events flow one way: session task → its in-memory log and broadcast (subscribers) →
//! the record channel (the store). Nothing in a session task waits on a subscriber or on the
//! store.

pub mod bucket;
pub mod call;
pub mod capacity;
pub mod capture;
pub mod errno;
pub mod event;
mod handle;
pub mod hex;
pub mod host;
pub mod isolation;
pub mod limits;
mod log;
pub mod net;
pub mod observer;
pub mod packet;
pub mod pcapng;
mod poller;
pub mod probe;
mod record;
mod registry;
mod session;
mod snapshot;
mod socket;
mod tracer;

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

pub use call::{Call, CallFailure, CallOutcome, CallReply, CallValue};
pub use capacity::Capacity;
pub use errno::Errno;
pub use event::{Event, EventKind, Preview, Seq, Status};
pub use handle::{CallStatus, SessionHandle};
pub use host::{HostId, HostInfo};
pub use isolation::{Isolation, IsolationMode};
pub use limits::{Limit, SandboxLimits};
pub use log::Subscription;
pub use net::{Addr, Family, OptValue, Proto, ShutdownHow, SockOpt, SockType, Tuple, UnixName};
pub use observer::{CallResultLabel, NoObserver, SandboxObserver};
pub use probe::TcpState;
pub use record::{NotStored, Record, StoreProgress};
pub use registry::{Sandbox, WeakSandbox};
pub use snapshot::{
    HostSnapshot, KernelSocketSnapshot, OptionSetting, PendingSnapshot, Snapshot, SocketSnapshot,
    Usage,
};
pub use tracer::{CAPTURE_TURNED_OFF, CaptureStats};

/// Hosts a session starts with unless asked for more.
pub const DEFAULT_HOSTS: usize = 2;
/// Fewest events a live session keeps in memory: what it looks back over when it logs (a
/// handshake's packets, the packet behind an error) must still be there.
pub const MIN_LOG_TAIL: usize = 256;

/// A session's id: 16 hex digits of randomness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(u64);

impl SessionId {
    /// A fresh random id, owned by node 0 (not clustered): the top 16 bits name the owning
    /// node (see [`Self::node`]), the other 48 are random.
    pub fn random() -> SessionId {
        SessionId(random_u64() >> 16)
    }

    /// The node that owns the session: the top 16 bits of the id (0 when not clustered).
    pub fn node(self) -> u16 {
        (self.0 >> 48) as u16
    }

    /// A fresh id owned by cluster node `node`: the node in the top 16 bits, so any node can
    /// tell from the id alone which one runs the session; 48 random bits below.
    pub fn on_node(node: u16) -> SessionId {
        SessionId((u64::from(node) << 48) | SessionId::random().0)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl std::str::FromStr for SessionId {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        if s.len() != 16 {
            return Err(());
        }
        u64::from_str_radix(s, 16).map(SessionId).map_err(|_| ())
    }
}

impl Serialize for SessionId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SessionId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse()
            .map_err(|()| serde::de::Error::custom("session id is 16 hex digits"))
    }
}

/// Random bits from the operating system.
pub fn random_u64() -> u64 {
    let mut buf = [0u8; 8];
    // The OS random source does not fail on Linux once booted; a zero id would still be unique
    // enough to keep running, so the error is not worth a panic.
    getrandom::fill(&mut buf).ok(/* see above */);
    u64::from_le_bytes(buf)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Why the sandbox did not run a request. A call that ran and failed in the kernel is not an
/// error here: it is a [`CallOutcome::Err`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The session has ended; its log stays readable.
    #[error("the session has ended")]
    Ended,
    /// No such host in the session.
    #[error("host {0} is not in this session")]
    NoSuchHost(HostId),
    /// No such call id in the session.
    #[error("call {0} is not known in this session")]
    NoSuchCall(u64),
    /// A limit was hit.
    #[error("limit reached: {} is {max}", .limit.name())]
    Limit { limit: Limit, max: u64 },
    /// An argument the kernel would never see, because it cannot be expressed.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: crate::i18n::Message,
    },
    /// The isolation backend failed; the server's fault, not the user's.
    #[error("isolation: {0}")]
    Isolation(String),
    /// It happened, but its event could not be stored.
    #[error(transparent)]
    NotStored(#[from] NotStored),
}

/// Hashes of a session's credentials, opaque to the sandbox, kept with the session so whoever
/// authenticates requests can find them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// Hash of the token that may make calls and end the session.
    pub owner: Vec<u8>,
    /// Hash of the token that may only watch.
    pub viewer: Vec<u8>,
}

/// What a new session is made with.
#[derive(Debug, Clone, Default)]
pub struct NewSession {
    /// How many hosts to start with (A, B, …); at least 2 if zero.
    pub hosts: usize,
    /// The exercise this session is for, if any.
    pub exercise: Option<String>,
    /// Credential hashes to keep with it.
    pub credentials: Credentials,
}

/// The unchanging facts of a session.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    /// Its id.
    #[schema(value_type = String, example = "3f1c9a7e5b2d4c60")]
    pub id: SessionId,
    /// Creation time, ms since the epoch.
    pub created_ms: u64,
    /// When it ends at the latest, ms since the epoch.
    pub expires_ms: u64,
    /// The isolation mode it runs in.
    pub isolation: IsolationMode,
    /// The exercise it is for.
    pub exercise: Option<String>,
    /// Its limits.
    pub limits: SandboxLimits,
    /// Credential hashes (not serialized).
    #[serde(skip)]
    #[schema(ignore)]
    pub credentials: Credentials,
}

/// Configuration of a [`Sandbox`].
#[derive(Debug, Clone, Default)]
pub struct SandboxConfig {
    /// Limits of every session.
    pub limits: SandboxLimits,
    /// With a store: answer a call only once its event is committed (group commit), and show
    /// events only once stored. Off, calls are answered at once and a crash may lose the
    /// last batch the store had not committed.
    pub ack_when_stored: bool,
    /// Events of a live session kept in memory, newest last; older ones are read from the
    /// store. Without a store the whole log stays in memory.
    pub log_tail: usize,
}

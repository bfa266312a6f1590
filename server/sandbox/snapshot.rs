//! A session's picture at one moment: every host, socket and blocked call, with live kernel
//! figures and what the session used of its limits. The session task builds it; handlers
//! serialize it.

use std::sync::Arc;

use serde::Serialize;

use super::{
    CaptureStats, EventKind, HostId, HostInfo, OptValue, Seq, SessionInfo, SockOpt, TcpState, Tuple,
};

/// Everything about a session at one moment.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Snapshot {
    /// The session's facts.
    #[serde(flatten)]
    pub info: Arc<SessionInfo>,
    /// Seq of the newest event when the snapshot was taken.
    pub last_seq: Seq,
    /// When the session ends if nothing happens, ms since the epoch.
    pub idle_expires_ms: u64,
    /// Why it ended, if it has, in the request's language.
    #[schema(value_type = Option<String>)]
    pub ended: Option<crate::i18n::Message>,
    /// Hosts and their sockets.
    pub hosts: Vec<HostSnapshot>,
    /// Calls still blocked.
    pub pending: Vec<PendingSnapshot>,
    /// What the session's capture kept and lost (netns mode), or why there is none.
    pub capture: CaptureStats,
    /// What the session has used of its limits.
    pub usage: Usage,
}

impl Snapshot {
    /// An ended session's snapshot: its hosts without sockets, nothing pending, nothing in
    /// use; `idle_expires_ms` is when it ended.
    pub fn ended(
        info: Arc<SessionInfo>,
        last_seq: Seq,
        idle_expires_ms: u64,
        ended: Option<crate::i18n::Message>,
        hosts: Vec<HostInfo>,
    ) -> Snapshot {
        let capture = CaptureStats::after_end(info.isolation, info.limits.capture);
        let hosts: Vec<HostSnapshot> = hosts
            .into_iter()
            .map(
                |HostInfo {
                     name,
                     addrs,
                     ephemeral_ports,
                 }| HostSnapshot {
                    name,
                    addrs,
                    ephemeral_ports,
                    sockets: Vec::new(),
                    kernel_sockets: Vec::new(),
                },
            )
            .collect();
        let usage = Usage {
            sockets: 0,
            pending_calls: 0,
            bytes_sent: 0,
            events: last_seq as usize,
            hosts: hosts.len(),
        };
        Snapshot {
            info,
            last_seq,
            idle_expires_ms,
            ended,
            hosts,
            pending: Vec::new(),
            capture,
            usage,
        }
    }
}

/// One host in a snapshot.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HostSnapshot {
    /// "A", "B", …
    #[schema(value_type = String)]
    pub name: HostId,
    /// Its addresses.
    #[schema(value_type = Vec<String>)]
    pub addrs: Vec<std::net::IpAddr>,
    /// The ports its kernel chooses ephemeral ports from (`ip_local_port_range`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<u16>>, example = json!([32768, 60999]))]
    pub ephemeral_ports: Option<(u16, u16)>,
    /// Its open sockets by descriptor.
    pub sockets: Vec<SocketSnapshot>,
    /// Its TCP sockets that no descriptor holds (netns mode): connections in an accept
    /// queue, closes the kernel finishes on its own, TIME_WAIT.
    pub kernel_sockets: Vec<KernelSocketSnapshot>,
}

/// A socket without a descriptor in a snapshot, as sock_diag reports it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KernelSocketSnapshot {
    /// Protocol and both ends.
    pub tuple: Tuple,
    /// Its TCP state.
    pub state: TcpState,
    /// When its TIME_WAIT ends, ms since the epoch.
    pub expires_ms: Option<u64>,
}

/// One socket in a snapshot, with what the kernel says of it now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SocketSnapshot {
    /// Its descriptor.
    pub fd: i32,
    /// Protocol and both ends.
    pub tuple: Tuple,
    /// Whether the user set non-blocking mode.
    pub nonblocking: bool,
    /// Listen backlog as given, once listening.
    pub backlog: Option<i32>,
    /// TCP state.
    pub tcp_state: Option<TcpState>,
    /// Bytes waiting to be read.
    pub recv_queue: Option<u32>,
    /// Bytes not yet sent or acknowledged.
    pub send_queue: Option<u32>,
    /// Connections waiting to be accepted.
    pub accept_queue: Option<u32>,
    /// The accept queue's limit as the kernel holds it.
    pub accept_backlog: Option<u32>,
    /// The same host's descriptor at the other end, for a connected Unix-domain socket (none
    /// while the other end waits in an accept queue or is closed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_fd: Option<i32>,
    /// Options as the kernel reports them now.
    pub options: Vec<OptionSetting>,
}

/// One socket option and its value as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OptionSetting {
    /// The option.
    pub option: SockOpt,
    /// Its value.
    pub value: OptValue,
}

/// A blocked call in a snapshot.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PendingSnapshot {
    /// Its id.
    pub call_id: u64,
    /// Its host.
    #[schema(value_type = String)]
    pub host: HostId,
    /// Its descriptor.
    pub fd: i32,
    /// What call it is.
    pub kind: EventKind,
}

/// A session's use of its limits.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Usage {
    /// Sockets open.
    pub sockets: usize,
    /// Calls pending.
    pub pending_calls: usize,
    /// Bytes sent so far.
    pub bytes_sent: u64,
    /// Events logged.
    pub events: usize,
    /// Hosts.
    pub hosts: usize,
}

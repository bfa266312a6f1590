//! How many sessions this process can hold at once: [`Capacity`], worked out from the
//! descriptors it may open, with the configured `max_sessions` as a ceiling on top.
//!
//! Descriptors are what runs out first: a session is a handful of kernel objects, each held
//! through a descriptor, and the process's limit (`RLIMIT_NOFILE`) is small next to memory —
//! 20,000 descriptors is a few thousand sessions, while as many sessions take a few GiB. So a
//! node raises its soft limit to the hard one at start ([`raise_descriptor_limit`]), keeps
//! [`RESERVED_DESCRIPTORS`] for everything that is not a session (HTTP connections and
//! WebSockets, the database, the runtime, logs), and divides the rest by what one session
//! holds ([`per_session`]).
//!
//! In netns mode the machine's neighbour tables bound it too, and are raised to fit at
//! start ([`raise_neighbour_limits`]).
//!
//! What one session holds is derived, and a test measures it (`tests/session_descriptors.rs`):
//! one epoll that watches its sockets, one descriptor per host in netns mode (its capture
//! socket, which also keeps the host's namespace alive; the namespace's own descriptor when
//! capture is off), and the sockets of the session capacity is planned for — a listener, the
//! connection it accepted and a client: [`PLANNED_SOCKETS`]. Namespace, netlink and sock_diag
//! descriptors are opened for a moment when needed and closed again, so they are not counted;
//! nor are sockets a busy session holds beyond the planned ones: they come out of the same
//! pool, and the reserve is what keeps the server's own descriptors when a few sessions take
//! more than their share.

use std::io;

use serde::Serialize;

use super::{DEFAULT_HOSTS, IsolationMode};

/// Descriptors a session holds whatever its hosts: the epoll that watches its sockets.
pub const SESSION_BASE_DESCRIPTORS: usize = 1;
/// Descriptors each host holds in netns mode: its capture socket, which keeps its namespace
/// alive too (or the namespace's own descriptor when capture is off). A loopback host is only
/// an address and holds none.
pub const NETNS_HOST_DESCRIPTORS: usize = 1;
/// User sockets of the session capacity is planned for: a listener, the connection it
/// accepted, and the client at the other end.
pub const PLANNED_SOCKETS: usize = 3;
/// Descriptors kept for everything that is not a session: HTTP connections and WebSockets
/// (one each, a class of a few hundred watching at once), the database's pool and writer, the
/// runtime's own, log files, and the descriptors a session opens for a moment (a namespace
/// while a socket is made in it, a sock_diag socket while the kernel's sockets are listed).
pub const RESERVED_DESCRIPTORS: u64 = 1024;
/// Under a small limit (1024 is many systems' default), the reserve is at most this share of
/// it, so that such a node still takes some sessions rather than none.
const RESERVED_SHARE_MAX: u64 = 2;

/// Descriptors of a two-host netns session with a connected TCP pair: what the capacity of a
/// netns node is computed from.
pub const NETNS_SESSION_DESCRIPTORS: usize =
    SESSION_BASE_DESCRIPTORS + DEFAULT_HOSTS * NETNS_HOST_DESCRIPTORS + PLANNED_SOCKETS;
/// The same in loopback mode, where hosts hold nothing of their own.
pub const LOOPBACK_SESSION_DESCRIPTORS: usize = SESSION_BASE_DESCRIPTORS + PLANNED_SOCKETS;

/// Descriptors one two-host session with a connected TCP pair holds in `mode`.
pub fn per_session(mode: IsolationMode) -> usize {
    match mode {
        IsolationMode::Netns => NETNS_SESSION_DESCRIPTORS,
        IsolationMode::Loopback => LOOPBACK_SESSION_DESCRIPTORS,
    }
}

/// How many sessions a node holds at once, and how that was worked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Capacity {
    /// Live sessions this node takes at once: the lesser of `max_sessions` and
    /// `by_descriptors`.
    pub sessions: usize,
    /// The configured ceiling (`--max-sessions`).
    pub max_sessions: usize,
    /// What the descriptors allow: (`descriptor_limit` − `reserved_descriptors`) /
    /// `descriptors_per_session`.
    pub by_descriptors: usize,
    /// The process's descriptor limit (the soft `RLIMIT_NOFILE`).
    pub descriptor_limit: u64,
    /// Descriptors kept for the rest of the server.
    pub reserved_descriptors: u64,
    /// Descriptors one session is planned to hold.
    pub descriptors_per_session: usize,
}

impl Capacity {
    /// The capacity of a node in `mode` whose process may open `descriptor_limit`
    /// descriptors, with `max_sessions` configured.
    pub fn of(max_sessions: usize, mode: IsolationMode, descriptor_limit: u64) -> Capacity {
        let per = per_session(mode);
        let reserved = RESERVED_DESCRIPTORS.min(descriptor_limit / RESERVED_SHARE_MAX);
        let usable = descriptor_limit - reserved;
        let by_descriptors = usize::try_from(usable / per as u64).unwrap_or(usize::MAX);
        Capacity {
            sessions: max_sessions.min(by_descriptors),
            max_sessions,
            by_descriptors,
            descriptor_limit,
            reserved_descriptors: reserved,
            descriptors_per_session: per,
        }
    }

    /// The capacity of this process now, in `mode`, with `max_sessions` configured.
    pub fn of_this_process(max_sessions: usize, mode: IsolationMode) -> Capacity {
        // Without an answer, the limit Linux gives a process unless told otherwise.
        let limit = descriptor_limit().map_or(DEFAULT_SOFT_LIMIT, |(soft, _)| soft);
        Capacity::of(max_sessions, mode, limit)
    }
}

/// The soft limit Linux starts a process with when nothing raised it.
const DEFAULT_SOFT_LIMIT: u64 = 1024;

/// The process's descriptor limits, soft and hard.
pub fn descriptor_limit() -> io::Result<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid out-pointer; the result is checked.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((limit.rlim_cur, limit.rlim_max))
}

/// Raise the process's soft descriptor limit to its hard limit, so that sessions can use
/// every descriptor the operator allowed; the soft limit then. A server does this once at
/// start, before it works out its [`Capacity`]; a failure is logged, and the old limit stays.
pub fn raise_descriptor_limit() -> u64 {
    let (soft, hard) = match descriptor_limit() {
        Ok(limits) => limits,
        Err(e) => {
            tracing::warn!(error = %e, "the descriptor limit could not be read");
            return DEFAULT_SOFT_LIMIT;
        }
    };
    if soft >= hard {
        return soft;
    }
    let raised = libc::rlimit {
        rlim_cur: hard,
        rlim_max: hard,
    };
    // SAFETY: a valid pointer to a valid rlimit; the result is checked.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const raised) } != 0 {
        let e = io::Error::last_os_error();
        tracing::warn!(soft, hard, error = %e, "the descriptor limit could not be raised");
        return soft;
    }
    tracing::info!(
        from = soft,
        to = hard,
        "descriptor limit raised to the hard limit"
    );
    hard
}

/// Neighbour (ARP and NDP) entries a two-host session with a connected pair needs at once:
/// each host knows the other's link address.
pub const NEIGHBOURS_PER_SESSION: u64 = 2;
/// The kernel's neighbour tables, one per address family: hard limit, then soft limit. The
/// tables are the machine's, shared by every namespace; a namespace's view of these sysctls
/// sets them for all.
const NEIGHBOUR_LIMITS: [(&str, &str); 2] = [
    (
        "/proc/sys/net/ipv4/neigh/default/gc_thresh3",
        "/proc/sys/net/ipv4/neigh/default/gc_thresh2",
    ),
    (
        "/proc/sys/net/ipv6/neigh/default/gc_thresh3",
        "/proc/sys/net/ipv6/neigh/default/gc_thresh2",
    ),
];

/// Make room in the machine's neighbour tables for `sessions` two-host sessions (netns mode).
///
/// Every namespace's ARP entries live in one table of the machine, whose hard limit
/// (`gc_thresh3`, 1024 by default) counts them all; entries used in the last few seconds
/// cannot be collected, so past about 500 sessions busy at once a host's address can no
/// longer be resolved and its first SYN never leaves ("neighbor table overflow"). This raises
/// the hard limit to what `sessions` need, and the soft limit (`gc_thresh2`, above which the
/// kernel collects idle entries) to half that, as the defaults are; limits already higher stay.
/// Where the sysctls are read-only (a container without a writable `/proc/sys`), says what
/// to set.
pub fn raise_neighbour_limits(sessions: usize) {
    let wanted = (sessions as u64).saturating_mul(NEIGHBOURS_PER_SESSION);
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
    };
    for (hard, soft) in NEIGHBOUR_LIMITS {
        for (path, value) in [(hard, wanted), (soft, wanted / 2)] {
            // The soft limit only goes up under a hard limit that did.
            if path == soft && read(hard).is_none_or(|h| h < wanted) {
                continue;
            }
            let Some(now) = read(path).filter(|now| *now < value) else {
                continue;
            };
            match std::fs::write(path, value.to_string()) {
                Ok(()) => tracing::info!(
                    sysctl = path,
                    from = now,
                    to = value,
                    "neighbour table limit raised for the session capacity"
                ),
                Err(e) => {
                    tracing::warn!(
                        sysctl = path,
                        now,
                        wanted = value,
                        error = %e,
                        "the neighbour table limit could not be raised; set it on the machine, \
                         or hosts of sessions busy at once past it cannot resolve each other"
                    )
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_bound_the_configured_ceiling() {
        // This machine's limit: (20,000 − 1,024) / 6.
        let c = Capacity::of(5_000, IsolationMode::Netns, 20_000);
        assert_eq!(c.descriptors_per_session, 6);
        assert_eq!(c.by_descriptors, 3_162);
        assert_eq!(c.sessions, 3_162);
        // A container's usual limit leaves the flag in charge.
        let c = Capacity::of(10_000, IsolationMode::Netns, 1_048_576);
        assert_eq!((c.by_descriptors, c.sessions), (174_592, 10_000));
        // Loopback hosts hold no descriptor of their own; under the usual default of 1024,
        // half is kept.
        let c = Capacity::of(200, IsolationMode::Loopback, 1024);
        assert_eq!(
            (c.reserved_descriptors, c.descriptors_per_session),
            (512, 4)
        );
        assert_eq!((c.by_descriptors, c.sessions), (128, 128));
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let raised = raise_descriptor_limit();
        let (soft, hard) = descriptor_limit().unwrap();
        assert_eq!((raised, soft), (hard, hard));
    }
}

//! The language-neutral plan of an export, read from a session's event log.
//!
//! A call is numbered by when it was made (its first event); its outcome is its last event
//! (ok or an errno; a call still pending at the end never finished and cannot be replayed). A
//! program is single-threaded, so a host's calls run in the session's order, except a call
//! that blocked while the same host made other calls: it runs where it finished.
//!
//! Across hosts the order is kept by a timeline: a step whose previous step (in the session's
//! order) was another host's waits until `slot × pause` after its program started, so programs
//! started together replay the session's interleaving; a blocking call waits for its peer as
//! it did in the session. Descriptors become named variables, one per socket's life, and the
//! hosts' addresses become parameters whose defaults work on one machine.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::sandbox::{
    Addr, Errno, Event, EventKind, Family, HostId, OptValue, Proto, Seq, ShutdownHow, SockOpt,
    SockType, Status,
};

/// How long a program waits per place on the timeline before a step that follows another
/// host's step: long enough for a peer's call and its packets on a slow machine.
pub const STEP_PAUSE_MS: u32 = 300;

/// Bytes a program's receive buffer holds at most; a larger `max` is cut to this.
pub const MAX_RECV_BUFFER: usize = 65_536;

/// A host's address turned into a parameter of the programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrParam {
    /// The environment variable that sets it, e.g. `HOST_B` or `HOST_B_V6`.
    pub name: String,
    /// The host it belongs to.
    pub host: HostId,
    /// The address in the session.
    pub session: IpAddr,
    /// The default: a loopback address, so the programs run on one machine.
    pub default: IpAddr,
}

/// An address a call uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// A host's address (index into [`Plan::params`]) and a port.
    Param { param: usize, port: u16 },
    /// An address that is no host's (a wildcard, a loopback address), written as it is.
    Literal(SocketAddr),
}

/// A socket variable of a host's program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketVar {
    /// The variable's name: `listener`, `conn`, `client`, `udp`, numbered when repeated.
    pub name: String,
    /// inet or inet6.
    pub family: Family,
    /// stream or dgram.
    pub ty: SockType,
}

/// Index of a socket variable in its host's [`HostPlan::sockets`].
pub type SocketIndex = usize;

/// What a step does, with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Socket {
        sock: SocketIndex,
    },
    Bind {
        sock: SocketIndex,
        addr: Endpoint,
    },
    Listen {
        sock: SocketIndex,
        backlog: i32,
    },
    Connect {
        sock: SocketIndex,
        addr: Endpoint,
    },
    /// `new` is the accepted connection's variable, when the accept succeeded.
    Accept {
        sock: SocketIndex,
        new: Option<SocketIndex>,
    },
    Send {
        sock: SocketIndex,
        data: Vec<u8>,
    },
    Recv {
        sock: SocketIndex,
        max: usize,
        /// MSG_PEEK: the bytes stay queued for the next receive.
        peek: bool,
    },
    Sendto {
        sock: SocketIndex,
        data: Vec<u8>,
        addr: Endpoint,
    },
    Recvfrom {
        sock: SocketIndex,
        max: usize,
        /// MSG_PEEK: the datagram stays queued for the next receive.
        peek: bool,
    },
    Shutdown {
        sock: SocketIndex,
        how: ShutdownHow,
    },
    Close {
        sock: SocketIndex,
    },
    Setsockopt {
        sock: SocketIndex,
        option: SockOpt,
        value: OptValue,
    },
    Getsockopt {
        sock: SocketIndex,
        option: SockOpt,
    },
    Getsockname {
        sock: SocketIndex,
    },
    Getpeername {
        sock: SocketIndex,
    },
    Nonblocking {
        sock: SocketIndex,
        on: bool,
    },
    /// A call the programs do not make.
    Skip {
        why: SkipReason,
    },
}

/// Why a call is not in the programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// A Unix-domain, raw or ICMP socket, or a call only they have (socketpair, unlink).
    Unsupported,
    /// The descriptor was not made by a call of the session (an exercise's setup) or is not
    /// open; the program has no variable for it.
    UnknownDescriptor,
    /// The call was still blocked when the log ends, or the session ended it (the session
    /// ended, or its descriptor was closed under it): it never finished on its own.
    NeverFinished,
    /// The sandbox, not the kernel, refused it (an address outside the session, a datagram to
    /// a port no session socket holds): on a machine of its own a program's call would not be
    /// refused so.
    Sandbox,
}

impl SkipReason {
    /// A short English tag, for the API's list of skipped calls.
    pub fn tag(self) -> &'static str {
        match self {
            SkipReason::Unsupported => "unsupported",
            SkipReason::UnknownDescriptor => "unknown_descriptor",
            SkipReason::NeverFinished => "never_finished",
            SkipReason::Sandbox => "sandbox",
        }
    }
}

/// How a call turned out in the session, as the program checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Success with nothing to compare.
    Ok,
    /// Success moving this many bytes.
    Bytes(u64),
    /// Failure with this errno.
    Errno(Errno),
}

impl Expect {
    /// The outcome as a program prints it.
    pub fn shown(self) -> String {
        match self {
            Expect::Ok => "ok".to_owned(),
            Expect::Bytes(n) => n.to_string(),
            Expect::Errno(errno) => errno.name.to_owned(),
        }
    }
}

/// One call of a host's program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The call's number in the session's order, from 1: what the program prints.
    pub number: u32,
    /// The call's name as the log writes it.
    pub call: &'static str,
    /// Its place on the timeline (all hosts), from 1: when it may run.
    pub slot: u32,
    /// The event that made it.
    pub seq: Seq,
    pub op: Op,
    pub expect: Expect,
    /// Whether it blocked (went pending) in the session.
    pub blocked: bool,
    /// Whether the previous step on the timeline was another host's: this one waits its slot.
    pub waits_turn: bool,
}

/// One host's program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPlan {
    pub host: HostId,
    pub sockets: Vec<SocketVar>,
    /// In the order the program runs them.
    pub steps: Vec<Step>,
}

/// A call left out of the programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub step: u32,
    pub host: HostId,
    pub call: &'static str,
    pub reason: SkipReason,
}

/// A session's calls as programs to write, in no language yet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Hosts that made calls, in the order to start their programs (by their first step).
    pub hosts: Vec<HostPlan>,
    /// The hosts' addresses as parameters.
    pub params: Vec<AddrParam>,
}

/// A call as the log tells it: its first and last event.
struct LoggedCall<'a> {
    first: &'a Event,
    last: &'a Event,
}

/// A host's descriptors while the log is read: what each open fd is.
#[derive(Default)]
struct FdMap {
    open: HashMap<i32, Option<SocketIndex>>,
    sockets: Vec<SocketVar>,
    names: Names,
}

/// The socket variables' names in one program: never two alike, the first of a role plain
/// (`client`), the next numbered from 2 (`client2`).
#[derive(Default)]
struct Names {
    used: HashSet<String>,
    /// Per role, the next number to try: a program of many sockets is named in one pass.
    next: HashMap<&'static str, u32>,
}

impl Names {
    /// A name for a variable of `role` that no other variable has.
    fn fresh(&mut self, role: &'static str) -> String {
        if self.used.insert(role.to_owned()) {
            return role.to_owned();
        }
        let n = self.next.entry(role).or_insert(2);
        loop {
            let name = format!("{role}{n}");
            *n += 1;
            if self.used.insert(name.clone()) {
                return name;
            }
        }
    }
}

impl Plan {
    /// The plan of the session whose log is `events`, in seq order.
    pub fn from_log<E: Borrow<Event>>(events: &[E]) -> Plan {
        let events: Vec<&Event> = events.iter().map(Borrow::borrow).collect();
        let params = params(&events);
        let calls = logged_calls(&events);
        // Numbers follow the order calls were made.
        let mut order: Vec<&LoggedCall> = calls.values().collect();
        order.sort_by_key(|c| c.first.seq);
        let number: HashMap<Seq, u32> = order
            .iter()
            .zip(1..)
            .map(|(c, n)| (c.first.seq, n))
            .collect();
        // Where each call runs in its program: where it was made, unless the same host made
        // another call while it blocked (then where it finished).
        let mut made: HashMap<Option<HostId>, Vec<Seq>> = HashMap::new();
        for c in &order {
            made.entry(c.first.host).or_default().push(c.first.seq);
        }
        let position = |c: &LoggedCall| -> Seq {
            // The host's next call after this one (its calls are in seq order).
            let mine = &made[&c.first.host];
            let next = mine.get(mine.partition_point(|&s| s <= c.first.seq));
            let overlapped = next.is_some_and(|&s| s < c.last.seq);
            if overlapped && c.last.status != Status::Pending {
                c.last.seq
            } else {
                c.first.seq
            }
        };
        let mut by_position: Vec<(Seq, &LoggedCall)> =
            order.iter().map(|c| (position(c), *c)).collect();
        by_position.sort_by_key(|(p, _)| *p);
        // Descriptors are followed in the order calls finished, as the kernel saw them.
        let mut by_end = order.clone();
        by_end.sort_by_key(|c| c.last.seq);
        let mut fds: BTreeMap<HostId, FdMap> = BTreeMap::new();
        let mut ops: HashMap<Seq, Op> = HashMap::new();
        for call in by_end {
            let Some(host) = call.first.host else {
                continue;
            };
            let op = op_of(call, fds.entry(host).or_default(), &params);
            ops.insert(call.first.seq, op);
        }
        let mut hosts: Vec<HostPlan> = Vec::new();
        let mut previous_host = None;
        for ((_, call), slot) in by_position.into_iter().zip(1..) {
            let Some(host) = call.first.host else {
                continue;
            };
            let Some(op) = ops.remove(&call.first.seq) else {
                continue;
            };
            let expect = expect_of(call.last, &op);
            let step = Step {
                number: number[&call.first.seq],
                call: call_name(call.first.kind),
                slot,
                seq: call.first.seq,
                op,
                expect,
                blocked: call.first.status == Status::Pending,
                waits_turn: previous_host.is_some_and(|h| h != host),
            };
            previous_host = Some(host);
            match hosts.iter_mut().find(|h| h.host == host) {
                Some(plan) => plan.steps.push(step),
                None => hosts.push(HostPlan {
                    host,
                    sockets: Vec::new(),
                    steps: vec![step],
                }),
            }
        }
        for plan in &mut hosts {
            plan.sockets = fds.remove(&plan.host).unwrap_or_default().sockets;
        }
        Plan { hosts, params }
    }

    /// Every call left out, in step order.
    pub fn skipped(&self) -> Vec<Skipped> {
        let mut skipped: Vec<Skipped> = self
            .hosts
            .iter()
            .flat_map(|h| {
                h.steps.iter().filter_map(move |s| match s.op {
                    Op::Skip { why } => Some(Skipped {
                        step: s.number,
                        host: h.host,
                        call: s.call,
                        reason: why,
                    }),
                    _ => None,
                })
            })
            .collect();
        skipped.sort_by_key(|s| s.step);
        skipped
    }

    /// Whether any program waits for its turn (more than one host takes part).
    pub fn paced(&self) -> bool {
        self.hosts
            .iter()
            .any(|h| h.steps.iter().any(|s| s.waits_turn))
    }
}

/// The calls of the log by call id, each with its first and last event.
fn logged_calls<'a>(events: &[&'a Event]) -> BTreeMap<u64, LoggedCall<'a>> {
    let mut calls: BTreeMap<u64, LoggedCall> = BTreeMap::new();
    for &e in events
        .iter()
        .filter(|e| e.kind.is_call() && e.host.is_some())
    {
        let Some(id) = e.call_id else { continue };
        calls
            .entry(id)
            .and_modify(|c| c.last = e)
            .or_insert(LoggedCall { first: e, last: e });
    }
    calls
}

/// The hosts' addresses as parameters: `HOST_A` for a host's IPv4 address (default
/// 127.0.0.1 for A, 127.0.0.2 for B, …: all loopback, distinct so two hosts may bind the same
/// port), `HOST_A_V6` for its IPv6 address (default ::1).
fn params(events: &[&Event]) -> Vec<AddrParam> {
    let mut params: Vec<AddrParam> = Vec::new();
    let hosts = events.iter().filter_map(|e| e.hosts.as_ref()).flatten();
    for (index, info) in hosts.enumerate() {
        let letter = info.name.to_string();
        let mut seen_v4 = false;
        let mut seen_v6 = false;
        for addr in &info.addrs {
            if params.iter().any(|p| p.session == *addr) {
                continue;
            }
            let (name, default) = match addr {
                IpAddr::V4(_) if !seen_v4 => {
                    seen_v4 = true;
                    let last = u8::try_from(index + 1).unwrap_or(u8::MAX);
                    (
                        format!("HOST_{letter}"),
                        Ipv4Addr::new(127, 0, 0, last).into(),
                    )
                }
                IpAddr::V6(_) if !seen_v6 => {
                    seen_v6 = true;
                    (format!("HOST_{letter}_V6"), Ipv6Addr::LOCALHOST.into())
                }
                _ => continue,
            };
            params.push(AddrParam {
                name,
                host: info.name,
                session: *addr,
                default,
            });
        }
    }
    params
}

/// An address of a call as the programs write it.
fn endpoint(addr: Option<Addr>, params: &[AddrParam]) -> Option<Endpoint> {
    let addr = addr?.inet()?;
    Some(match params.iter().position(|p| p.session == addr.ip()) {
        Some(param) => Endpoint::Param {
            param,
            port: addr.port(),
        },
        None => Endpoint::Literal(addr),
    })
}

/// A new socket variable of role `role`.
fn new_var(fds: &mut FdMap, role: &'static str, family: Family, ty: SockType) -> SocketIndex {
    let name = fds.names.fresh(role);
    fds.sockets.push(SocketVar { name, family, ty });
    fds.sockets.len() - 1
}

/// Whether a socket of this tuple is one the generators write: TCP or UDP over IPv4 or IPv6.
fn expressible(e: &Event) -> Option<(Family, SockType)> {
    let tuple = e.tuple?;
    let ty = tuple.ty.unwrap_or(match tuple.proto {
        Proto::Tcp => SockType::Stream,
        _ => SockType::Dgram,
    });
    match (tuple.proto, tuple.family, ty) {
        (Proto::Tcp, f @ (Family::Inet | Family::Inet6), SockType::Stream)
        | (Proto::Udp, f @ (Family::Inet | Family::Inet6), SockType::Dgram) => Some((f, ty)),
        _ => None,
    }
}

/// The step a call becomes, following the host's descriptors through it.
fn op_of(call: &LoggedCall, fds: &mut FdMap, params: &[AddrParam]) -> Op {
    let (first, last) = (call.first, call.last);
    if last.status == Status::Pending {
        return Op::Skip {
            why: SkipReason::NeverFinished,
        };
    }
    if last.sandbox && last.status == Status::Error {
        // Decided by the session: a blocked call it ended never finished; a refusal no kernel
        // would give on a machine of the program's own is not the program's to expect.
        if first.status == Status::Pending {
            return Op::Skip {
                why: SkipReason::NeverFinished,
            };
        }
        if !kernel_alike(first.kind, last.errno) {
            return Op::Skip {
                why: SkipReason::Sandbox,
            };
        }
    }
    let ok = last.status == Status::Ok;
    if first.kind == EventKind::Socket {
        let Some(fd) = last.new_fd.filter(|_| ok) else {
            // A failed socket() has no variable to fill; it is a lesson all the same, but
            // only TCP and UDP are written.
            return Op::Skip {
                why: SkipReason::Unsupported,
            };
        };
        return match expressible(last) {
            Some((family, ty)) => {
                let role = if ty == SockType::Dgram { "udp" } else { "sock" };
                let sock = new_var(fds, role, family, ty);
                fds.open.insert(fd, Some(sock));
                Op::Socket { sock }
            }
            None => {
                fds.open.insert(fd, None);
                Op::Skip {
                    why: SkipReason::Unsupported,
                }
            }
        };
    }
    let unsupported = Op::Skip {
        why: SkipReason::Unsupported,
    };
    if matches!(first.kind, EventKind::Socketpair | EventKind::Unlink) {
        if let Some(fds_made) = last.fds.filter(|_| ok) {
            for fd in fds_made {
                fds.open.insert(fd, None);
            }
        }
        return unsupported;
    }
    let Some(sock) = first.fd.and_then(|fd| fds.open.get(&fd).copied()) else {
        return Op::Skip {
            why: SkipReason::UnknownDescriptor,
        };
    };
    let Some(sock) = sock else {
        if first.kind == EventKind::Accept {
            if let Some(new) = last.new_fd.filter(|_| ok) {
                fds.open.insert(new, None);
            }
        }
        if first.kind == EventKind::Close && ok {
            first.fd.map(|fd| fds.open.remove(&fd));
        }
        return unsupported;
    };
    let addr = || endpoint(first.addr.or(last.addr), params);
    let max = |e: &Event| {
        usize::try_from(e.max.unwrap_or(4096))
            .unwrap_or(MAX_RECV_BUFFER)
            .min(MAX_RECV_BUFFER)
    };
    match first.kind {
        EventKind::Bind => addr().map_or(unsupported, |addr| Op::Bind { sock, addr }),
        EventKind::Connect => {
            if fds.sockets[sock].ty == SockType::Stream
                && fds.sockets[sock].name.starts_with("sock")
            {
                rename(fds, sock, "client");
            }
            addr().map_or(unsupported, |addr| Op::Connect { sock, addr })
        }
        EventKind::Listen => {
            rename(fds, sock, "listener");
            Op::Listen {
                sock,
                backlog: first
                    .backlog
                    .map_or(16, |b| i32::try_from(b).unwrap_or(i32::MAX)),
            }
        }
        EventKind::Accept => {
            let new = last.new_fd.filter(|_| ok).map(|fd| {
                let SocketVar { family, ty, .. } = fds.sockets[sock];
                let new = new_var(fds, "conn", family, ty);
                fds.open.insert(fd, Some(new));
                new
            });
            Op::Accept { sock, new }
        }
        EventKind::Send => Op::Send {
            sock,
            data: payload(first, last),
        },
        EventKind::Sendto => addr().map_or(unsupported, |addr| Op::Sendto {
            sock,
            data: payload(first, last),
            addr,
        }),
        EventKind::Recv => Op::Recv {
            sock,
            max: max(first),
            peek: first.peek,
        },
        EventKind::Recvfrom => Op::Recvfrom {
            sock,
            max: max(first),
            peek: first.peek,
        },
        EventKind::Shutdown => first
            .how
            .map_or(unsupported, |how| Op::Shutdown { sock, how }),
        EventKind::Close => {
            if ok {
                first.fd.map(|fd| fds.open.remove(&fd));
            }
            Op::Close { sock }
        }
        EventKind::Setsockopt => match (first.option, first.value) {
            (Some(option), Some(value)) => Op::Setsockopt {
                sock,
                option,
                value,
            },
            _ => unsupported,
        },
        EventKind::Getsockopt => first
            .option
            .map_or(unsupported, |option| Op::Getsockopt { sock, option }),
        EventKind::Getsockname => Op::Getsockname { sock },
        EventKind::Getpeername => Op::Getpeername { sock },
        EventKind::Nonblocking => first
            .nonblocking
            .map_or(unsupported, |on| Op::Nonblocking { sock, on }),
        _ => unsupported,
    }
}

/// Whether the sandbox's refusal is the one a kernel gives on a machine of the program's own:
/// a TCP connect where no socket listens is refused, a port below 1024 is root's. Others are
/// the boundary's (an address outside the session, a datagram to a port no session socket
/// holds, which a kernel would send).
fn kernel_alike(kind: EventKind, errno: Option<Errno>) -> bool {
    matches!(
        (kind, errno.map(|e| e.code)),
        (EventKind::Connect, Some(libc::ECONNREFUSED)) | (EventKind::Bind, Some(libc::EACCES))
    )
}

/// Rename the socket's variable for its role (a socket that listens is a listener; a stream
/// socket that connects stays `sock` until then and becomes a client). A variable already of
/// that role keeps its name.
fn rename(fds: &mut FdMap, sock: SocketIndex, role: &'static str) {
    let old = &fds.sockets[sock].name;
    if old == role
        || old
            .strip_prefix(role)
            .is_some_and(|n| n.parse::<u32>().is_ok())
    {
        return;
    }
    let name = fds.names.fresh(role);
    let old = std::mem::replace(&mut fds.sockets[sock].name, name);
    fds.names.used.remove(&old);
}

/// The bytes a send carried: its preview, made as long as the bytes it moved when the preview
/// was cut (the rest filled with `.`), so the program sends as much.
fn payload(first: &Event, last: &Event) -> Vec<u8> {
    let preview = last.data.as_ref().or(first.data.as_ref());
    let mut data = preview.map_or_else(Vec::new, |p| match (&p.text, &p.hex) {
        (Some(text), _) => text.as_bytes().to_vec(),
        (None, Some(hex)) => crate::sandbox::hex::from_hex(hex).unwrap_or_default(),
        (None, None) => Vec::new(),
    });
    if let Some(bytes) = last.bytes.filter(|_| last.status == Status::Ok) {
        let bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        if data.len() < bytes {
            data.resize(bytes, b'.');
        }
    }
    data
}

/// The outcome a step checks.
fn expect_of(last: &Event, op: &Op) -> Expect {
    match (last.status, op) {
        (Status::Error, _) => Expect::Errno(last.errno.unwrap_or(Errno::from_code(libc::EIO))),
        (_, Op::Send { .. } | Op::Recv { .. } | Op::Sendto { .. } | Op::Recvfrom { .. }) => {
            Expect::Bytes(last.bytes.unwrap_or(0))
        }
        _ => Expect::Ok,
    }
}

/// The call's name as the log writes it.
pub fn call_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Socket => "socket",
        EventKind::Socketpair => "socketpair",
        EventKind::Bind => "bind",
        EventKind::Listen => "listen",
        EventKind::Connect => "connect",
        EventKind::Accept => "accept",
        EventKind::Send => "send",
        EventKind::Recv => "recv",
        EventKind::Sendto => "sendto",
        EventKind::Recvfrom => "recvfrom",
        EventKind::Shutdown => "shutdown",
        EventKind::Close => "close",
        EventKind::Setsockopt => "setsockopt",
        EventKind::Getsockopt => "getsockopt",
        EventKind::Getsockname => "getsockname",
        EventKind::Getpeername => "getpeername",
        EventKind::Unlink => "unlink",
        EventKind::Nonblocking => "nonblocking",
        _ => "event",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::{HostInfo, Tuple};

    /// A log being written: each call's events get the next seqs.
    #[derive(Default)]
    struct Log {
        events: Vec<Event>,
    }

    impl Log {
        fn push(&mut self, mut e: Event) -> &mut Event {
            e.seq = self.events.len() as u64 + 1;
            self.events.push(e);
            self.events.last_mut().unwrap()
        }

        fn hosts(&mut self) {
            let info = |name: HostId, last: u8| HostInfo {
                name,
                addrs: vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))],
                ephemeral_ports: None,
            };
            let e = self.push(Event::new(EventKind::SessionStarted, Status::Observed));
            e.hosts = Some(vec![info(HostId::A, 1), info(HostId::B, 2)]);
        }

        fn call(&mut self, host: HostId, id: u64, kind: EventKind, status: Status) -> &mut Event {
            let e = self.push(Event::new(kind, status));
            e.host = Some(host);
            e.call_id = Some(id);
            e
        }

        fn socket(&mut self, host: HostId, id: u64, fd: i32) {
            let e = self.call(host, id, EventKind::Socket, Status::Ok);
            e.fd = Some(fd);
            e.new_fd = Some(fd);
            e.tuple = Some(Tuple {
                proto: Proto::Tcp,
                family: Family::Inet,
                ty: Some(SockType::Stream),
                local: None,
                remote: None,
            });
        }
    }

    fn b_8080() -> Option<Addr> {
        Some(Addr::Ip("10.0.0.2:8080".parse().unwrap()))
    }

    #[test]
    fn a_blocked_call_runs_where_it_finished_when_its_host_went_on_meanwhile() {
        let mut log = Log::default();
        log.hosts();
        log.socket(HostId::B, 1, 3);
        log.call(HostId::B, 2, EventKind::Bind, Status::Ok).fd = Some(3);
        log.events.last_mut().unwrap().addr = b_8080();
        log.call(HostId::B, 3, EventKind::Listen, Status::Ok).fd = Some(3);
        log.call(HostId::B, 4, EventKind::Accept, Status::Pending)
            .fd = Some(3);
        // B goes on while its accept waits: a program cannot, so the accept moves.
        log.socket(HostId::B, 5, 4);
        log.socket(HostId::A, 6, 3);
        let e = log.call(HostId::A, 7, EventKind::Connect, Status::Ok);
        e.fd = Some(3);
        e.addr = b_8080();
        let e = log.call(HostId::B, 4, EventKind::Accept, Status::Ok);
        e.fd = Some(3);
        e.new_fd = Some(5);
        // Still blocked when the log ends: left out.
        log.call(HostId::A, 8, EventKind::Recv, Status::Pending).fd = Some(3);

        let plan = Plan::from_log(&log.events);
        let b = &plan.hosts[0];
        assert_eq!(b.host, HostId::B, "B made the first call: it starts first");
        let order: Vec<(u32, &str)> = b.steps.iter().map(|s| (s.number, s.call)).collect();
        assert_eq!(
            order,
            [
                (1, "socket"),
                (2, "bind"),
                (3, "listen"),
                (5, "socket"),
                (4, "accept")
            ]
        );
        let accept = &b.steps[4];
        assert!(accept.blocked && accept.waits_turn);
        let names: Vec<&str> = b.sockets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["listener", "sock", "conn"]);
        assert_eq!(
            b.steps[1].op,
            Op::Bind {
                sock: 0,
                addr: Endpoint::Param {
                    param: 1,
                    port: 8080
                }
            }
        );
        let a = &plan.hosts[1];
        assert_eq!(a.sockets[0].name, "client");
        assert_eq!(
            a.steps[2].op,
            Op::Skip {
                why: SkipReason::NeverFinished
            }
        );
        assert_eq!(plan.params[0].name, "HOST_A");
        assert_eq!(plan.params[0].default, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(plan.params[1].default.to_string(), "127.0.0.2");
        assert_eq!(plan.skipped().len(), 1);
    }

    #[test]
    fn variables_never_share_a_name_however_sockets_are_renamed() {
        let mut log = Log::default();
        log.hosts();
        // socket → sock; socket → sock2; sock connects → client (sock is free again); a third
        // socket must not be a second sock2.
        log.socket(HostId::A, 1, 3);
        log.socket(HostId::A, 2, 4);
        let e = log.call(HostId::A, 3, EventKind::Connect, Status::Ok);
        e.fd = Some(3);
        e.addr = b_8080();
        log.socket(HostId::A, 4, 5);
        // Two listens on one socket keep one listener.
        log.call(HostId::A, 5, EventKind::Listen, Status::Ok).fd = Some(4);
        log.call(HostId::A, 6, EventKind::Listen, Status::Ok).fd = Some(4);
        let plan = Plan::from_log(&log.events);
        let names: Vec<&str> = plan.hosts[0]
            .sockets
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["client", "listener", "sock"]);
    }

    #[test]
    fn calls_the_session_decided_are_left_out_and_a_peek_stays_a_peek() {
        let mut log = Log::default();
        log.hosts();
        log.socket(HostId::A, 1, 3);
        // The sandbox refused an address outside the session: not the kernel's answer.
        let e = log.call(HostId::A, 2, EventKind::Connect, Status::Error);
        e.fd = Some(3);
        e.addr = Some(Addr::Ip("192.0.2.1:80".parse().unwrap()));
        e.errno = Some(Errno::from_code(libc::ENETUNREACH));
        e.sandbox = true;
        // Where nothing of the session listens, the sandbox refuses as a kernel would.
        let e = log.call(HostId::A, 9, EventKind::Connect, Status::Error);
        e.fd = Some(3);
        e.addr = b_8080();
        e.errno = Some(Errno::from_code(libc::ECONNREFUSED));
        e.sandbox = true;
        // A recv the session's end cancelled never finished on its own.
        log.call(HostId::A, 3, EventKind::Recv, Status::Pending).fd = Some(3);
        let e = log.call(HostId::A, 3, EventKind::Recv, Status::Error);
        e.fd = Some(3);
        e.errno = Some(Errno::from_code(libc::ECANCELED));
        e.sandbox = true;
        let e = log.call(HostId::A, 4, EventKind::Recv, Status::Ok);
        e.fd = Some(3);
        e.peek = true;
        e.bytes = Some(2);
        let plan = Plan::from_log(&log.events);
        let ops: Vec<&Op> = plan.hosts[0].steps.iter().map(|s| &s.op).collect();
        assert_eq!(
            ops[1],
            &Op::Skip {
                why: SkipReason::Sandbox
            }
        );
        assert!(matches!(ops[2], Op::Connect { .. }), "{:?}", ops[2]);
        assert_eq!(plan.hosts[0].steps[2].expect.shown(), "ECONNREFUSED");
        assert_eq!(
            ops[3],
            &Op::Skip {
                why: SkipReason::NeverFinished
            }
        );
        assert!(
            matches!(ops[4], Op::Recv { peek: true, .. }),
            "{:?}",
            ops[4]
        );
        for generate in [super::super::c::generate, super::super::python::generate] {
            let (files, _) = generate(&plan, crate::i18n::Lang::En);
            assert!(
                files[0].content.contains("MSG_PEEK"),
                "{}",
                files[0].content
            );
        }
        let (files, _) = super::super::rust::generate(&plan, crate::i18n::Lang::En);
        assert!(
            files[0].content.contains(".peek(&mut buf)"),
            "{}",
            files[0].content
        );
    }

    #[test]
    fn a_failed_call_expects_its_errno_and_a_send_its_bytes() {
        let mut log = Log::default();
        log.hosts();
        log.socket(HostId::A, 1, 3);
        let e = log.call(HostId::A, 2, EventKind::Connect, Status::Error);
        e.fd = Some(3);
        e.addr = b_8080();
        e.errno = Some(Errno::from_code(libc::ECONNREFUSED));
        let e = log.call(HostId::A, 3, EventKind::Send, Status::Ok);
        e.fd = Some(3);
        e.data = Some(crate::sandbox::Preview::of(&[b'x'; 100]));
        e.bytes = Some(100);
        let plan = Plan::from_log(&log.events);
        let steps = &plan.hosts[0].steps;
        assert_eq!(steps[1].expect.shown(), "ECONNREFUSED");
        assert_eq!(steps[2].expect, Expect::Bytes(100));
        let Op::Send { data, .. } = &steps[2].op else {
            panic!("{:?}", steps[2].op)
        };
        assert_eq!(data.len(), 100, "a cut preview is made as long as the send");
        // A descriptor no call made is no variable of the program.
        let mut log = Log::default();
        log.call(HostId::A, 1, EventKind::Close, Status::Ok).fd = Some(7);
        let plan = Plan::from_log(&log.events);
        assert_eq!(
            plan.hosts[0].steps[0].op,
            Op::Skip {
                why: SkipReason::UnknownDescriptor
            }
        );
    }
}

//! The tracer turns what a session's captures saw into packet events: it reads every host's
//! capture, puts the frames in the kernel's time order, decodes them, keeps each TCP
//! direction's initial sequence number (so numbers can be shown relative to it, as Wireshark
//! does), enforces the session's capture limits, and works out which call and which
//! descriptor each packet belongs to.
//!
//! It is driven by the session task: after every syscall, and before any kernel probe, the
//! session drains the tracer, so the packets a call caused are logged before the call's
//! result and before the kernel events (`data`, `eof`, `incoming`) they led to.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};

use serde::Serialize;

use crate::i18n::Text;

use super::capture::Capture;
use super::event::{Event, EventKind, Seq, Status};
use super::host::{HostId, HostInfo};
use super::net::{Addr, Tuple};
use super::packet::{self, Captured, Packet, PacketProto};

/// TCP directions whose initial sequence number is remembered; a session rarely has more
/// than a few connections, so past this the oldest are forgotten first.
const TRACKED_FLOWS: usize = 512;
/// Connections whose SYN_RECV was already read from a SYN+ACK (retransmissions repeat it).
const TRACKED_HANDSHAKES: usize = 256;
/// Endpoints whose last RST and SYN are remembered, for pointing results at their packet.
const TRACKED_ENDPOINTS: usize = 256;
/// Frames read per host in one drain. The capture's kernel queue (its receive buffer) holds
/// far fewer, so a drain empties it; frames left past this would be read at the next wake-up
/// (every new frame wakes the session again).
const FRAMES_PER_DRAIN: usize = 4096;

/// A call in flight that packets may belong to: its host, descriptor and the socket's two
/// ends as last known (a connect's destination stands in for a remote not yet connected).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cause {
    /// The call's id.
    pub call_id: u64,
    /// The host that made it.
    pub host: HostId,
    /// The descriptor it was made on.
    pub fd: i32,
    /// The socket's local end, as last known.
    pub local: Option<SocketAddr>,
    /// Its remote end, or the destination of a connect or sendto.
    pub remote: Option<SocketAddr>,
    /// Only packets sent at or after this (kernel time, ns) can be the call's: anything older
    /// was queued before the call and belongs to the kernel or to an earlier call.
    pub since_ns: u64,
    /// For a send on an ICMP socket, the type of the message it handed the kernel. ICMP has
    /// no ports: its messages are told by host, destination and type, which also tells the
    /// call's message from the kernel's answer to it (an echo reply on `lo`).
    pub icmp_type: Option<u8>,
}

impl Cause {
    /// Whether `packet` travels on this call's socket, in either direction, from or to the
    /// call's own host.
    fn covers(&self, packet: &Packet, src: SocketAddr, dst: SocketAddr) -> bool {
        if packet.ts_ns < self.since_ns {
            return false;
        }
        let (sent, received) = (packet.from == self.host, packet.to == Some(self.host));
        match (self.local, self.remote) {
            (Some(local), Some(remote)) => {
                (sent && bound_to(local, src) && same(remote, dst))
                    || (received && bound_to(local, dst) && same(remote, src))
            }
            // A listener (accept) or an unconnected datagram socket: anything to or from it.
            (Some(local), None) => {
                (sent && bound_to(local, src)) || (received && bound_to(local, dst))
            }
            // A connect whose socket lost (or never had) its port: the host and the
            // destination tell its packets.
            (None, Some(remote)) => (sent && same(remote, dst)) || (received && same(remote, src)),
            (None, None) => false,
        }
    }
}

/// One socket of the session, as the tracer matches packets to descriptors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SocketEnds {
    /// Its host.
    pub host: HostId,
    /// Its descriptor there.
    pub fd: i32,
    /// Its two ends as last known.
    pub tuple: Tuple,
    /// Whether it is a TCP listener.
    pub listening: bool,
}

/// Where an address is valid: every host's `lo` has 127.0.0.1 and ::1, so what travels on a
/// `lo` belongs to that host alone; link addresses are the session's.
type Scope = Option<HostId>;

fn scope(packet: &Packet) -> Scope {
    (packet.iface == packet::LOOPBACK).then_some(packet.from)
}

/// What the session's capture has kept and lost.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct CaptureStats {
    /// Whether packets are captured at all in this session.
    pub enabled: bool,
    /// Why not, when they are not, in the request's language.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub reason: Option<Text>,
    /// Packets kept (logged as events).
    pub packets: u64,
    /// Captured bytes kept.
    pub bytes: u64,
    /// Packets seen but not kept because a capture limit was reached.
    pub dropped: u64,
    /// Packets the kernel dropped before the capture could read them.
    pub kernel_dropped: u64,
    /// Packets kept but cut at the snap length.
    pub cut: u64,
    /// The most packets kept.
    pub max_packets: u64,
    /// The most captured bytes kept.
    pub max_bytes: u64,
    /// Bytes of each frame kept.
    pub snaplen: u32,
}

/// Why a netns session shows no packets when the operator turned capture off.
pub const CAPTURE_TURNED_OFF: Text = Text {
    en: "packet capture is turned off on this server (--capture false)",
    zh: "这台服务器关闭了抓包（--capture false）",
};

/// Why a session whose hosts have no capture of their own shows no packets.
pub const NO_HOST_CAPTURE: Text = Text {
    en: "this session's hosts have no capture",
    zh: "这个会话的主机没有抓包",
};

impl CaptureStats {
    /// What can be said of an ended session's capture without its task: whether it
    /// captured at all (its mode, and whether the server had capture on). The counters are a
    /// live session's; an ended session's packets are the `packet` events of its log.
    pub fn after_end(mode: super::IsolationMode, capture_on: bool) -> CaptureStats {
        let reason = match (mode, capture_on) {
            (super::IsolationMode::Loopback, _) => {
                Some(super::isolation::loopback::CAPTURE_UNAVAILABLE)
            }
            (super::IsolationMode::Netns, false) => Some(CAPTURE_TURNED_OFF),
            (super::IsolationMode::Netns, true) => None,
        };
        CaptureStats {
            enabled: reason.is_none(),
            reason,
            ..CaptureStats::default()
        }
    }
}

/// A session's tracer. One per session in netns mode; none in loopback mode.
#[derive(Debug)]
pub(crate) struct Tracer {
    /// Counters and limits, shown in snapshots.
    pub stats: CaptureStats,
    /// Read buffer, one snap length.
    buf: Vec<u8>,
    /// Initial sequence number of each TCP direction (scope, source, destination) seen with
    /// SYN, and the order they came in, to forget the oldest first.
    isn: HashMap<(Scope, SocketAddr, SocketAddr), u32>,
    isn_order: VecDeque<(Scope, SocketAddr, SocketAddr)>,
    /// The last RST sent to an endpoint: what a reset points at.
    rst_to: HashMap<(Scope, SocketAddr), Seq>,
    /// Connections whose SYN_RECV was already shown.
    handshakes: HashSet<(HostId, SocketAddr, SocketAddr)>,
    /// Whether a limit was reached: from then on nothing more is kept, so what was kept is
    /// the start of the story without holes.
    full: bool,
    /// The last SYN and the last RST that belonged to a call: what a pending connect and
    /// ECONNREFUSED point at.
    by_call: HashMap<u64, CallPackets>,
}

/// The packets a call's result may point at.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CallPackets {
    pub syn: Option<Seq>,
    pub rst: Option<Seq>,
}

/// A packet ready to be logged, with what the session should do beside it.
#[derive(Debug)]
pub(crate) struct Traced {
    pub event: Event,
    /// A SYN without ACK left this descriptor: its socket was in SYN_SENT.
    pub syn_sent: Option<(HostId, i32)>,
    /// A SYN+ACK left this host, for the listener with this descriptor if known: the
    /// connection to come was in SYN_RECV.
    pub syn_recv: Option<(HostId, Option<i32>)>,
}

impl Tracer {
    pub(crate) fn new(max_packets: usize, max_bytes: u64, snaplen: u32) -> Tracer {
        let snaplen = snaplen.min(packet::MAX_SNAPLEN);
        Tracer {
            stats: CaptureStats {
                enabled: true,
                max_packets: max_packets as u64,
                max_bytes,
                snaplen,
                ..CaptureStats::default()
            },
            buf: vec![0; snaplen as usize],
            isn: HashMap::new(),
            isn_order: VecDeque::new(),
            rst_to: HashMap::new(),
            handshakes: HashSet::new(),
            full: false,
            by_call: HashMap::new(),
        }
    }

    /// Read every frame waiting in `captures`, in the kernel's time order, decoded; frames
    /// past the capture limits are counted and left out. Captures that fail to read are
    /// returned in `failed`, to be closed.
    pub(crate) fn drain<'a>(
        &mut self,
        captures: impl Iterator<Item = (HostId, &'a Capture)>,
        hosts: impl FnOnce() -> Vec<HostInfo>,
        failed: &mut Vec<HostId>,
    ) -> Vec<Packet> {
        let mut frames = Vec::new();
        for (host, capture) in captures {
            let before = frames.len();
            for _ in 0..FRAMES_PER_DRAIN {
                match capture.read(&mut self.buf) {
                    Ok(Some(info)) => {
                        let bytes = &self.buf[..info.caplen.min(self.buf.len())];
                        self.full |= self.stats.packets >= self.stats.max_packets
                            || self.stats.bytes + bytes.len() as u64 > self.stats.max_bytes;
                        if self.full {
                            self.stats.dropped += 1;
                            continue;
                        }
                        self.stats.packets += 1;
                        self.stats.bytes += bytes.len() as u64;
                        if (bytes.len() as u32) < info.len {
                            self.stats.cut += 1;
                        }
                        frames.push((host, capture.iface(info.ifindex), info, bytes.to_vec()));
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(host = %host, error = %e, "capture read failed; this host's capture stops");
                        failed.push(host);
                        break;
                    }
                }
            }
            // A full queue (the only way the kernel drops) held frames; an empty read needs
            // no second system call.
            if frames.len() > before {
                self.stats.kernel_dropped += u64::from(capture.take_kernel_drops());
            }
        }
        if frames.is_empty() {
            return Vec::new();
        }
        let hosts = hosts();
        frames.sort_by_key(|(_, _, info, _)| info.ts_ns);
        let owner = |ip: IpAddr| {
            hosts
                .iter()
                .find(|h| h.addrs.iter().any(|a| same_ip(*a, ip)))
                .map(|h| h.name)
        };
        let mut packets = Vec::with_capacity(frames.len());
        for (host, iface, info, bytes) in frames {
            let captured = Captured {
                from: host,
                iface,
                ts_ns: info.ts_ns,
                len: info.len,
                bytes: &bytes,
            };
            let in_scope = (iface == packet::LOOPBACK).then_some(host);
            let p = packet::decode(&captured, owner, |src, dst| {
                self.isn.get(&(in_scope, src, dst)).copied()
            });
            // A SYN starts a direction: its sequence number is that side's ISN.
            if let (Some(tcp), Some((src, dst))) = (&p.tcp, p.endpoints()) {
                if tcp.has("SYN") {
                    let key = (in_scope, src, dst);
                    if self.isn.insert(key, tcp.seq).is_none() {
                        self.isn_order.push_back(key);
                        if self.isn_order.len() > TRACKED_FLOWS {
                            if let Some(oldest) = self.isn_order.pop_front() {
                                self.isn.remove(&oldest);
                            }
                        }
                    }
                }
            }
            packets.push(p);
        }
        packets
    }

    /// Whether a limit was reached and nothing more is kept.
    pub(crate) fn is_full(&self) -> bool {
        self.full
    }

    /// The event of `packet`, tied to the call that caused it (if any in `causes` covers it)
    /// and to the sender's descriptor.
    pub(crate) fn event(
        &mut self,
        packet: Packet,
        causes: &[Cause],
        sockets: &[SocketEnds],
    ) -> Traced {
        let mut event = Event::new(EventKind::Packet, Status::Observed);
        event.host = Some(packet.from);
        event.tuple = packet.tuple();
        let mut syn_sent = None;
        let mut syn_recv = None;
        if let Some(arp) = &packet.arp {
            // Resolving the address a call is about to reach is part of that call.
            let about = |c: &&Cause| {
                c.remote.is_some_and(|r| {
                    (packet.from == c.host && same_ip(r.ip(), IpAddr::V4(arp.target_ip)))
                        || (packet.to == Some(c.host) && same_ip(r.ip(), IpAddr::V4(arp.sender_ip)))
                })
            };
            event.call_id = causes
                .iter()
                .filter(|c| packet.ts_ns >= c.since_ns)
                .find(about)
                .map(|c| c.call_id);
        }
        if let (Some(icmp), Some(dst)) = (&packet.icmp, packet.dst) {
            // An ICMP message a call handed its host's kernel, the oldest such call first (the
            // kernel sends messages waiting for a neighbour in order); the kernel's own
            // messages (an echo reply, an error, neighbour discovery) are nobody's call.
            let cause = causes
                .iter()
                .filter(|c| {
                    c.icmp_type == Some(icmp.icmp_type)
                        && c.host == packet.from
                        && packet.ts_ns >= c.since_ns
                        && c.remote.is_none_or(|r| same_ip(r.ip(), dst))
                })
                .min_by_key(|c| c.since_ns);
            event.call_id = cause.map(|c| c.call_id);
            event.fd = cause.map(|c| c.fd);
        }
        if let Some((src, dst)) = packet.endpoints() {
            // The sender's descriptor: its connected socket, else the socket bound to the
            // source (a listener answering a SYN, an unconnected datagram socket).
            let from = |s: &&SocketEnds| s.host == packet.from && s.tuple.proto == proto(&packet);
            let connected = sockets.iter().filter(from).find(|s| {
                s.tuple
                    .local
                    .and_then(Addr::inet)
                    .is_some_and(|l| bound_to(l, src))
                    && s.tuple
                        .remote
                        .and_then(Addr::inet)
                        .is_some_and(|r| same(r, dst))
            });
            let bound = || {
                sockets.iter().filter(from).find(|s| {
                    s.tuple
                        .local
                        .and_then(Addr::inet)
                        .is_some_and(|l| bound_to(l, src))
                        && s.tuple.remote.is_none()
                })
            };
            // A call on the connection itself is a better cause than one on its listener.
            let exact = causes
                .iter()
                .find(|c| c.remote.is_some() && c.covers(&packet, src, dst));
            let cause = exact.or_else(|| causes.iter().find(|c| c.covers(&packet, src, dst)));
            event.call_id = cause.map(|c| c.call_id);
            // The sender's descriptor: its connected socket; else the call's own (a socket
            // just closed is gone from the table); else a socket bound to the source — for
            // TCP only a listener's answer to a SYN, which it sends before any accept.
            let tcp_handshake = packet
                .tcp
                .as_ref()
                .is_none_or(|t| t.has("SYN") || t.has("RST"));
            event.fd = connected
                .map(|s| s.fd)
                .or_else(|| cause.filter(|c| c.host == packet.from).map(|c| c.fd))
                .or_else(|| bound().filter(|_| tcp_handshake).map(|s| s.fd));
            if let Some(tcp) = &packet.tcp {
                let listener = event.fd.filter(|fd| {
                    sockets
                        .iter()
                        .any(|s| s.host == packet.from && s.fd == *fd && s.listening)
                });
                match (tcp.has("SYN"), tcp.has("ACK"), event.fd) {
                    (true, false, Some(fd)) => syn_sent = Some((packet.from, fd)),
                    // Only a listener's answer makes a connection in SYN_RECV (not a
                    // simultaneous open), and a retransmitted SYN+ACK says it only once.
                    (true, true, _) if listener.is_some() => {
                        if self.handshakes.len() >= TRACKED_HANDSHAKES {
                            self.handshakes.clear();
                        }
                        if self.handshakes.insert((packet.from, src, dst)) {
                            syn_recv = Some((packet.from, listener));
                        }
                    }
                    _ => {}
                }
            }
        }
        event.packet = Some(Box::new(packet));
        Traced {
            event,
            syn_sent,
            syn_recv,
        }
    }

    /// Remember what a logged packet may later be pointed at by.
    pub(crate) fn logged(&mut self, seq: Seq, call_id: Option<u64>, packet: &Packet) {
        let (Some(tcp), Some((_, dst))) = (&packet.tcp, packet.endpoints()) else {
            return;
        };
        let scope = scope(packet);
        let rst = tcp.has("RST");
        let syn = tcp.has("SYN") && !tcp.has("ACK");
        if rst {
            if self.rst_to.len() >= TRACKED_ENDPOINTS {
                self.rst_to.clear();
            }
            self.rst_to.insert((scope, dst), seq);
        }
        if let (Some(call_id), true) = (call_id, rst || syn) {
            if self.by_call.len() >= TRACKED_ENDPOINTS {
                self.by_call.clear();
            }
            let entry = self.by_call.entry(call_id).or_default();
            if rst {
                entry.rst = Some(seq);
            } else {
                entry.syn = Some(seq);
            }
        }
    }

    /// The RST last sent to `endpoint` of `host`.
    pub(crate) fn rst_to(&self, host: HostId, endpoint: SocketAddr) -> Option<Seq> {
        let on_lo = endpoint.ip().to_canonical().is_loopback();
        let scope = on_lo.then_some(host);
        self.rst_to
            .iter()
            .find(|((s, e), _)| *s == scope && same(*e, endpoint))
            .map(|(_, s)| *s)
    }

    /// The SYN and RST that belonged to call `call_id`.
    pub(crate) fn of_call(&self, call_id: u64) -> CallPackets {
        self.by_call.get(&call_id).copied().unwrap_or_default()
    }

    /// A call ended: nothing will point at its packets any more.
    pub(crate) fn forget_call(&mut self, call_id: u64) {
        self.by_call.remove(&call_id);
    }
}

fn proto(packet: &Packet) -> super::net::Proto {
    match packet.proto {
        PacketProto::Udp => super::net::Proto::Udp,
        PacketProto::Icmp => super::net::Proto::Icmp,
        PacketProto::Icmpv6 => super::net::Proto::Icmpv6,
        _ => super::net::Proto::Tcp,
    }
}

/// The same IP, an IPv4 address and its IPv4-mapped IPv6 form being the same.
fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

/// Whether a socket bound to `local` (perhaps the wildcard address) sends and receives as
/// `endpoint`: the kernel binds an unbound datagram socket to the wildcard on its first send.
fn bound_to(local: SocketAddr, endpoint: SocketAddr) -> bool {
    local.port() == endpoint.port()
        && (local.ip().is_unspecified() || same_ip(local.ip(), endpoint.ip()))
}

/// The same endpoint, as [`same_ip`] with equal ports.
pub(crate) fn same(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port() && same_ip(a.ip(), b.ip())
}

//! Sockets without a descriptor (netns mode): what sock_diag says of the TCP sockets in each
//! host's namespace that no descriptor of the session holds — a connection waiting in a
//! listener's accept queue, a closed socket finishing its close (FIN_WAIT1, FIN_WAIT2,
//! LAST_ACK, CLOSING), TIME_WAIT after an active close — logged as `kernel_socket` events when
//! they appear, change state or go, and shown in snapshots with the TIME_WAIT countdown.
//!
//! The namespaces are asked after packets that change such sockets (SYN, FIN, RST) and, while
//! any is known, every [`KERNEL_SOCKET_RECHECK`] — or, for TIME_WAIT, when its timer is due,
//! which is how its end is seen.
//!
//! A host's sock_diag socket is open only while the host needs it: while it has sockets
//! without a descriptor (the namespace is asked again and again then) or Unix sockets
//! (unix_diag). An idle host with a connection or two needs neither, and a descriptor per host
//! of every idle session is what a node's capacity is counted in; opening one when a call or a
//! packet makes it needed costs a thread that enters the namespace, a fraction of a call.

use crate::i18n::Message;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::Instant;

use super::SessionTask;
use crate::sandbox::event::{Event, EventKind};
use crate::sandbox::host::HostId;
use crate::sandbox::isolation::diag::{DiagSocket, SockDiag, TIMER_TIME_WAIT};
use crate::sandbox::net::{Addr, Family, Proto, SockType, Tuple};
use crate::sandbox::probe::TcpState;
use crate::sandbox::{KernelSocketSnapshot, now_ms};

/// While sockets without a descriptor are known, ask again this often.
pub(super) const KERNEL_SOCKET_RECHECK: Duration = Duration::from_millis(500);
/// A TIME_WAIT is looked at this long after its timer is due, by when the kernel has freed it.
const TIME_WAIT_SLACK: Duration = Duration::from_millis(50);
/// Asked at most this often: a busy session (thousands of connections closing, each leaving
/// a TIME_WAIT for a minute) would otherwise pay a dump of them after every call.
pub(super) const KERNEL_SOCKET_MIN_INTERVAL: Duration = Duration::from_millis(20);
/// Sockets without a descriptor shown per host; the kernel may hold many more TIME_WAITs,
/// which a learner's diagram has no room for anyway.
const KERNEL_SOCKETS_SHOWN: usize = 128;

/// A socket without a descriptor, as last seen.
#[derive(Debug, Clone)]
pub(super) struct KernelSocket {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: TcpState,
    /// When its TIME_WAIT ends, ms since the epoch.
    pub expires_ms: Option<u64>,
}

impl KernelSocket {
    fn tuple(&self) -> Tuple {
        Tuple {
            proto: Proto::Tcp,
            family: if self.local.is_ipv4() {
                Family::Inet
            } else {
                Family::Inet6
            },
            ty: Some(SockType::Stream),
            local: Some(Addr::Ip(self.local)),
            remote: Some(Addr::Ip(self.remote)),
        }
    }
}

impl SessionTask {
    /// Packets changed what sockets without a descriptor there are: ask now, or as soon as
    /// the last time was long enough ago.
    pub(super) fn kernel_sockets_changed(&mut self) {
        let now = Instant::now();
        match self.kernel_checked {
            Some(last) if now < last + KERNEL_SOCKET_MIN_INTERVAL => {
                let at = last + KERNEL_SOCKET_MIN_INTERVAL;
                self.kernel_check_at = Some(self.kernel_check_at.map_or(at, |c| c.min(at)));
            }
            _ => self.refresh_kernel_sockets(),
        }
    }

    /// Ask every host's namespace for its sockets without a descriptor and log what changed.
    pub(super) fn refresh_kernel_sockets(&mut self) {
        self.kernel_check_at = None;
        self.kernel_checked = Some(Instant::now());
        let mut events = Vec::new();
        let mut next: Option<Duration> = None;
        for hidx in 0..self.hosts.len() {
            let Some(diag) = self.host_diag(hidx) else {
                continue;
            };
            let listed = match diag.tcp_sockets() {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(session = %self.log.info.id, host = %self.hosts[hidx].id, error = %e, "sock_diag failed");
                    continue;
                }
            };
            let host = &self.hosts[hidx];
            // A descriptor's socket has an inode; one in the accept queue or left by a close
            // has none. A listener is never one of them.
            let was: HashMap<(SocketAddr, SocketAddr), TcpState> = host
                .kernel_sockets
                .iter()
                .map(|w| ((w.local, w.remote), w.state))
                .collect();
            let mut now: Vec<KernelSocket> = listed
                .into_iter()
                .filter(|d| d.inode == 0 && d.state != TcpState::Listen)
                .map(|d: DiagSocket| KernelSocket {
                    local: d.local,
                    remote: d.remote,
                    state: d.state,
                    expires_ms: (d.timer == TIMER_TIME_WAIT)
                        .then(|| now_ms() + u64::from(d.expires_ms)),
                })
                .collect();
            if now.len() > KERNEL_SOCKETS_SHOWN {
                // Past the limit, those already shown stay (so nothing seems to come and go
                // with the order of the kernel's dump) and newcomers wait for room.
                now.sort_by_key(|k| !was.contains_key(&(k.local, k.remote)));
                now.truncate(KERNEL_SOCKETS_SHOWN);
            }
            let is: HashSet<(SocketAddr, SocketAddr)> =
                now.iter().map(|k| (k.local, k.remote)).collect();
            for k in &now {
                let before = was.get(&(k.local, k.remote)).copied();
                if before != Some(k.state) {
                    events.push(kernel_event(
                        host.id,
                        before,
                        k,
                        self.listener_of(hidx, k.local),
                    ));
                }
            }
            for w in &host.kernel_sockets {
                if is.contains(&(w.local, w.remote)) {
                    continue;
                }
                // Accepted: a descriptor holds it now, and the accept says so.
                let accepted = host.fds.iter().any(|(_, s)| {
                    s.proto == Proto::Tcp && s.ends() == (Some(w.local), Some(w.remote))
                });
                if !accepted {
                    let gone = KernelSocket {
                        state: TcpState::Close,
                        expires_ms: None,
                        ..w.clone()
                    };
                    events.push(kernel_event(host.id, Some(w.state), &gone, None));
                }
            }
            for k in &now {
                // A TIME_WAIT changes only when it ends (a new SYN reusing it is a packet,
                // which asks again anyway): look when it is due, not before.
                let wait = match k.expires_ms {
                    Some(at) => {
                        Duration::from_millis(at.saturating_sub(now_ms())) + TIME_WAIT_SLACK
                    }
                    None => KERNEL_SOCKET_RECHECK,
                };
                next = Some(next.map_or(wait, |n: Duration| n.min(wait)));
            }
            self.hosts[hidx].kernel_sockets = now;
        }
        self.kernel_check_at = next.map(|wait| Instant::now() + wait);
        self.release_idle_diags();
        // What went over the wire before the dump comes first: the final ACK before the
        // TIME_WAIT it left.
        self.trace(None);
        for e in events {
            self.log_event(e);
        }
    }

    /// Host `hidx`'s sock_diag socket, opened now if it has none. `None` when the backend
    /// has no namespaces of its own (loopback mode) or it cannot be opened.
    pub(super) fn host_diag(&mut self, hidx: usize) -> Option<&mut SockDiag> {
        let host = &mut self.hosts[hidx];
        if host.diag.is_none() {
            match self.network.open_diag(host.id) {
                Ok(diag) => host.diag = diag,
                // Said once per host: it is asked again whenever needed, and it would fail
                // the same way.
                Err(e) if !std::mem::replace(&mut host.diag_failed, true) => {
                    tracing::warn!(session = %self.log.info.id, host = %host.id, error = %e, "sock_diag could not be opened; sockets without a descriptor are not shown");
                }
                Err(_) => {}
            }
        }
        self.hosts[hidx].diag.as_mut()
    }

    /// Close the sock_diag sockets of hosts that need none now: no socket without a
    /// descriptor to follow, no Unix socket to ask unix_diag about.
    pub(super) fn release_idle_diags(&mut self) {
        for host in &mut self.hosts {
            let needed = !host.kernel_sockets.is_empty()
                || host.fds.iter().any(|(_, s)| s.proto == Proto::Unix);
            if !needed {
                host.diag = None;
            }
        }
    }

    /// The listener of host `hidx` bound to `local`'s port, if any.
    fn listener_of(&self, hidx: usize, local: SocketAddr) -> Option<i32> {
        self.hosts[hidx]
            .fds
            .iter()
            .find(|(_, s)| {
                s.proto == Proto::Tcp
                    && s.backlog.is_some()
                    && s.local().is_some_and(|l| l.port() == local.port())
            })
            .map(|(fd, _)| fd)
    }

    /// The snapshot of host `hidx`'s sockets without a descriptor.
    pub(super) fn kernel_socket_snapshots(&self, hidx: usize) -> Vec<KernelSocketSnapshot> {
        self.hosts[hidx]
            .kernel_sockets
            .iter()
            .map(|k| KernelSocketSnapshot {
                tuple: k.tuple(),
                state: k.state,
                expires_ms: k.expires_ms,
            })
            .collect()
    }
}

/// The event for a socket without a descriptor that appeared, changed state or went.
fn kernel_event(
    host: HostId,
    from: Option<TcpState>,
    k: &KernelSocket,
    listener: Option<i32>,
) -> Event {
    let mut e = Event::new(
        EventKind::KernelSocket,
        crate::sandbox::event::Status::Observed,
    );
    e.host = Some(host);
    e.tuple = Some(k.tuple());
    e.from = from;
    e.to = Some(k.state);
    e.timer_ms = k
        .expires_ms
        .map(|at| at.saturating_sub(now_ms()).min(u64::from(u32::MAX)) as u32);
    e.note = Some(match k.state {
        TcpState::TimeWait => {
            let secs = e.timer_ms.unwrap_or(0) / 1000;
            Message::new(
                format!(
                    "TIME_WAIT: this side closed first, so the kernel keeps the connection {secs}s \
                     more, long enough for any late segment to die out, before the same ports \
                     can make a new connection. No descriptor holds it."
                ),
                format!(
                    "TIME_WAIT：这一端主动关闭（先发出 FIN），所以内核把连接再保留 {secs} 秒，等迟到的报文段都\
                     消失，之后同样的端口才能建立新连接。已经没有描述符持有它。"
                ),
            )
        }
        TcpState::Established | TcpState::SynRecv | TcpState::NewSynRecv => match listener {
            Some(fd) => Message::new(
                format!(
                    "a connection the kernel completed on its own; it waits in the accept \
                     queue of listener fd {fd} until accept gives it a descriptor"
                ),
                format!(
                    "内核自己完成的连接；它在监听套接字 fd {fd} 的监听队列里等待，直到 accept \
                     给它一个描述符"
                ),
            ),
            None => Message::new(
                "a connection the kernel holds without a descriptor",
                "内核持有、但没有描述符的连接",
            ),
        },
        TcpState::Close => Message::new(
            "gone: the kernel freed the socket (no descriptor held it)",
            "已消失：内核释放了这个套接字（没有描述符持有它）",
        ),
        TcpState::FinWait1 | TcpState::FinWait2 | TcpState::Closing | TcpState::LastAck => {
            Message::new(
                "its descriptor was closed; the kernel finishes the close on its own",
                "它的描述符已关闭；内核自己完成剩下的关闭过程",
            )
        }
        _ => Message::new(
            "a socket the kernel holds without a descriptor",
            "内核持有、但没有描述符的套接字",
        ),
    });
    e
}

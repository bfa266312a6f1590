//! The session's boundary as calls meet it: where a connect or sendto really goes (the
//! backend's mapping, an implicit bind), and on a shared kernel (loopback isolation) which
//! destinations and peers belong to the session.

use crate::i18n::Message;
use std::net::SocketAddr;
use std::os::unix::ffi::OsStrExt;

use socket2::SockAddr;

use super::SessionTask;
use super::blocking::Destination;
use super::exec::Facts;

use crate::sandbox::call::CallFailure;
use crate::sandbox::event::EventKind;
use crate::sandbox::host::HostId;
use crate::sandbox::isolation::SessionNetwork;
use crate::sandbox::net::{Addr, Family, Proto, SockType, UnixName};
use crate::sandbox::probe::TcpState;
use crate::sandbox::socket::Sock;

impl SessionTask {
    /// Where a connect or sendto goes: the backend's mapping of `addr`, after binding an
    /// unbound socket where the backend wants it. Hands back what was learned on the way (the
    /// mapping and its note) even when the call cannot go on.
    pub(super) fn prepare_destination(
        &self,
        hidx: usize,
        fd: i32,
        addr: Addr,
        kind: EventKind,
    ) -> (Facts, Result<Destination, CallFailure>) {
        let host = self.hosts[hidx].id;
        let Some(sock) = self.sock(hidx, fd) else {
            return (Facts::default(), Err(CallFailure::code(libc::EBADF)));
        };
        let ip = match addr {
            Addr::Unix(name) => {
                let facts = Facts {
                    addr: Some(addr),
                    ..Facts::default()
                };
                let kernel = self.unix_address(hidx, sock.family, sock.ty, &name);
                let names = self.hosts[hidx].names.as_ref();
                return (
                    facts,
                    kernel.map(|kernel| Destination {
                        abstract_file: names.is_some_and(|n| n.is_abstract_file(&kernel)),
                        kernel,
                        shown: addr,
                    }),
                );
            }
            Addr::Ip(a) => a,
            Addr::Host(ip) => SocketAddr::new(ip, 0),
        };
        if sock.family == Family::Unix {
            // The kernel refuses an IP address on a Unix socket before it goes anywhere.
            let to = Destination {
                kernel: SockAddr::from(ip),
                shown: addr,
                abstract_file: false,
            };
            return (Facts::default(), Ok(to));
        }
        let mapped = match self.network.destination(host, ip) {
            Ok(mapped) => mapped,
            Err(failure) => return (Facts::default(), Err(failure)),
        };
        let shown = sock.shown_ip(mapped.addr);
        let mut facts = Facts::mapped(addr, shown, mapped.note.clone());
        let to = Destination {
            kernel: SockAddr::from(mapped.addr),
            shown,
            abstract_file: false,
        };
        // On a shared kernel only the session's own sockets may be reached: a machine's
        // service bound to the wildcard also answers on the session's addresses.
        let connecting = kind == EventKind::Connect;
        let checked = match sock.proto {
            Proto::Tcp => connecting.then_some(true),
            // A UDP connect only sets the default destination, as in the kernel: the
            // datagrams are checked when they are sent.
            Proto::Udp => (!connecting).then_some(false),
            // ICMP exists only where the kernel keeps the boundary (netns mode); an IP
            // address on a Unix socket is refused by the kernel itself.
            Proto::Icmp | Proto::Icmpv6 | Proto::Unix => None,
        };
        if let Some(listening) = checked {
            if let Err(failure) = self.reachable(sock.proto, mapped.addr, listening) {
                return (facts, Err(failure));
            }
        }
        match implicit_bind(self.network.as_ref(), host, sock) {
            Ok(bind_note) => {
                facts.note = join_notes(mapped.note, bind_note);
                (facts, Ok(to))
            }
            Err(failure) => (facts, Err(failure)),
        }
    }

    /// The kernel's address for a Unix-domain name a host gave: in its own files. A socket
    /// of another family gets the name untouched, for the kernel to refuse as it would.
    pub(super) fn unix_address(
        &self,
        hidx: usize,
        family: Family,
        ty: SockType,
        name: &UnixName,
    ) -> Result<SockAddr, CallFailure> {
        if family != Family::Unix {
            return SockAddr::unix(std::ffi::OsStr::from_bytes(name.bytes()))
                .map_err(|_| CallFailure::code(libc::EINVAL));
        }
        match &self.hosts[hidx].names {
            Some(names) => names.to_kernel(name, ty),
            None => Err(no_files(self.hosts[hidx].id)),
        }
    }

    /// On a shared kernel, refuse a destination where no socket of this session is bound (or,
    /// with `listening`, listens): a machine's service bound to the wildcard also answers on
    /// the session's addresses.
    pub(super) fn reachable(
        &self,
        proto: Proto,
        to: SocketAddr,
        listening: bool,
    ) -> Result<(), CallFailure> {
        if !self.network.shares_kernel() || self.owned_endpoint(proto, to, listening) {
            return Ok(());
        }
        let (what, zh) = if listening {
            ("listens", "监听")
        } else {
            ("is bound", "绑定")
        };
        Err(CallFailure::sandbox(
            libc::ECONNREFUSED,
            Message::new(
                format!(
                    "No socket of this session {what} on {to}. Loopback isolation only lets a \
                     session reach its own sockets; start the server side first."
                ),
                format!(
                    "本会话没有任何套接字在 {to} 上{zh}。loopback 隔离只允许会话访问自己的\
                     套接字；请先启动服务器端。"
                ),
            ),
        ))
    }

    /// Whether a socket of this session has `addr` as its local address (and, with
    /// `listening`, is a TCP listener).
    pub(super) fn owned_endpoint(&self, proto: Proto, addr: SocketAddr, listening: bool) -> bool {
        self.hosts.iter().any(|h| {
            h.fds.iter().any(|(_, s)| {
                s.proto == proto
                    && s.local().is_some_and(|local| same_endpoint(local, addr))
                    && (!listening
                        || crate::sandbox::probe::tcp_state(s.socket()) == Some(TcpState::Listen))
            })
        })
    }

    /// Whether a peer may reach this session: an address of the session and, on a shared
    /// kernel, one of its own sockets.
    pub(super) fn peer_inside(&self, proto: Proto, peer: SocketAddr) -> bool {
        self.network.peer_allowed(peer)
            && (!self.network.shares_kernel() || self.owned_endpoint(proto, peer, false))
    }
}

/// The failure of a Unix-domain name on a host the server could not give files.
pub(super) fn no_files(host: HostId) -> CallFailure {
    CallFailure::sandbox(
        libc::EACCES,
        Message::new(
            format!(
                "The server could not make host {host}'s directory for socket paths, so \
                 Unix-domain names cannot be used in this session; the server's log says why."
            ),
            format!(
                "服务器未能为主机 {host} 创建存放套接字路径的目录，所以本会话不能使用 Unix 域\
                 套接字的路径名；原因见服务器日志。"
            ),
        ),
    )
}

/// Bind an unbound socket to its host's address when the backend asks for it.
pub(super) fn implicit_bind(
    network: &dyn SessionNetwork,
    host: HostId,
    sock: &Sock,
) -> Result<Option<Message>, CallFailure> {
    // Only TCP and UDP take a port on the way; ICMP and Unix sockets have none to take.
    if sock.local().is_some() || !matches!(sock.proto, Proto::Tcp | Proto::Udp) {
        return Ok(None);
    }
    let Some(addr) = network.implicit_bind(host, sock.family) else {
        return Ok(None);
    };
    sock.socket()
        .bind(&addr.into())
        .map_err(|e| CallFailure::kernel(&e))?;
    let bound = sock.local().unwrap_or(addr);
    Ok(Some(Message::new(
        format!(
            "the socket was unbound: bound implicitly to {bound} (host {host}'s address, port \
             chosen by the kernel)"
        ),
        format!("套接字尚未绑定：已隐式绑定到 {bound}（主机 {host} 的地址，端口由内核选择）"),
    )))
}

/// The same address and port, an IPv4 address and its IPv4-mapped IPv6 form being the same.
pub(super) fn same_endpoint(a: SocketAddr, b: SocketAddr) -> bool {
    let canon = |ip: std::net::IpAddr| match ip {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4),
        v4 => v4,
    };
    a.port() == b.port() && canon(a.ip()) == canon(b.ip())
}

pub(super) fn join_notes(a: Option<Message>, b: Option<Message>) -> Option<Message> {
    Message::join(a, b)
}

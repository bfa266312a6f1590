//! Loopback isolation: every host gets its own address from a pool inside 127.0.0.0/8, and the
//! sandbox enforces the session boundary itself, because the kernel sees one shared network.
//!
//! Rules: a host binds only its own address (a wildcard or 127.0.0.1 maps to it, and the event
//! says so); a destination must be an address of the same session (127.0.0.1 means the host
//! itself); an unbound socket is bound to its host's address before it connects, listens or
//! sends, so peers see the host's address; a peer from outside the session is refused.
//! IPv6 sockets use the IPv4-mapped form of the host's address (`::ffff:127.100.0.1`), since
//! the loopback device has only one IPv6 address, `::1`, and it cannot be shared safely.
//!
//! An address is handed out only while no port of it is taken. The kernel keeps ports after
//! their sockets are gone (a `TIME_WAIT` lasts 60 s, also after the server that made it died),
//! and another server may share the pool, so [`AddressPool::take`] starts at an offset chosen
//! at random per pool and skips every address a sock_diag dump shows a TCP or UDP socket on
//! (only when nothing else is free does it take one held by `TIME_WAIT` alone); each host
//! holds an `AddressClaim` so that other servers' dumps see its address taken from the start.

use crate::i18n::Message;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use socket2::Socket;

use super::Ipv4Cidr;
use super::diag::{AddressUse, SockDiag};
use super::{Isolation, IsolationError, IsolationMode, Mapped, SessionNetwork, SocketSpec};
use crate::sandbox::call::CallFailure;
use crate::sandbox::host::HostId;
use crate::sandbox::net::{Family, Proto, SockType};

/// How long one look at the kernel's sockets serves a session's next hosts. The hosts a
/// session starts with are added one right after the other and share one sock_diag dump
/// (each costs about a millisecond per family and protocol: it walks the machine's whole
/// socket tables); a host added later gets a look of its own.
const KERNEL_VIEW_FRESH: Duration = Duration::from_millis(100);

/// Addresses of the pool, handed out one per host and returned when the session ends.
#[derive(Debug)]
pub struct AddressPool {
    /// The pool's network.
    cidr: Ipv4Cidr,
    /// Offsets into the pool now in use, and where the next search starts.
    state: Mutex<PoolState>,
    /// The kernel's view of the namespace the pool hands addresses out in.
    kernel: Mutex<KernelView>,
}

#[derive(Debug)]
struct PoolState {
    /// Offsets handed out and not yet returned.
    in_use: BTreeSet<u32>,
    /// Where the next search starts, so freed addresses are not reused at once. Random at
    /// first, so that a restarted server or a second one on the pool starts elsewhere.
    cursor: u32,
}

/// Where the pool learns which addresses the kernel still holds ports of.
#[derive(Debug, Default)]
struct KernelView {
    /// A sock_diag socket in the server's namespace; opened at the first `take` (in loopback
    /// mode every thread is in that namespace), again at the next one when opening failed.
    diag: Option<SockDiag>,
    /// Whether a failure was logged: the first one is a warning, later ones are not.
    warned: bool,
}

impl AddressPool {
    /// A pool over `cidr` whose search starts at a random offset.
    pub fn new(cidr: Ipv4Cidr) -> AddressPool {
        let size = Self::search_size(cidr);
        let start = getrandom::u32()
            // No randomness at all is unheard of on Linux; the process id still differs
            // between two servers and across a restart.
            .unwrap_or_else(|_| std::process::id());
        AddressPool::starting_at(cidr, start % size)
    }

    /// A pool over `cidr` whose search starts at `offset`.
    fn starting_at(cidr: Ipv4Cidr, offset: u32) -> AddressPool {
        AddressPool {
            cidr,
            state: Mutex::new(PoolState {
                in_use: BTreeSet::new(),
                cursor: offset,
            }),
            kernel: Mutex::new(KernelView::default()),
        }
    }

    /// How many offsets a search walks through.
    fn search_size(cidr: Ipv4Cidr) -> u32 {
        cidr.size().min(u64::from(u32::MAX)) as u32
    }

    /// Whether an offset makes a usable host address: not the network's first or last, and not
    /// ending in .0 or .255, which people read as network and broadcast addresses.
    fn usable(&self, offset: u32) -> bool {
        let size = self.cidr.size() as u32;
        let addr = u32::from(self.cidr.network) + offset;
        offset != 0 && offset + 1 != size && addr & 0xff != 0 && addr & 0xff != 0xff
    }

    /// The address at `offset`.
    fn address(&self, offset: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.cidr.network) + offset)
    }

    /// Whether `addr` lies inside the pool's network.
    fn contains(&self, addr: Ipv4Addr) -> bool {
        u64::from(u32::from(addr).wrapping_sub(u32::from(self.cidr.network))) < self.cidr.size()
    }

    /// Take a free address: the first after the cursor that is not handed out and has no TCP
    /// socket (in any state) or UDP socket on it in the kernel. When every free one has some,
    /// one that only sockets on their way out hold (`TIME_WAIT`: a small pool under churn),
    /// never one a process holds (another server's host). When the kernel cannot be asked,
    /// the random cursor alone decides.
    pub fn take(&self) -> Option<Ipv4Addr> {
        self.take_given(&self.held_by_kernel())
    }

    /// [`Self::take`] with the kernel's sockets on the pool as a recent dump saw them.
    fn take_given(&self, kernel: &BTreeMap<Ipv4Addr, AddressUse>) -> Option<Ipv4Addr> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let offset = self
            .search(&state, |addr| !kernel.contains_key(&addr))
            .or_else(|| {
                let lingering = self.search(&state, |addr| {
                    kernel.get(&addr) != Some(&AddressUse::Held)
                })?;
                tracing::debug!(pool = %self.cidr, addr = %self.address(lingering), "every free address of the pool has sockets in TIME_WAIT; one of them is reused");
                Some(lingering)
            })?;
        state.in_use.insert(offset);
        state.cursor = (offset + 1) % Self::search_size(self.cidr);
        Some(self.address(offset))
    }

    /// The first offset from the cursor on that is usable, not handed out, and whose address
    /// `allowed` lets through.
    fn search(&self, state: &PoolState, allowed: impl Fn(Ipv4Addr) -> bool) -> Option<u32> {
        let size = Self::search_size(self.cidr);
        (0..size)
            .map(|step| (state.cursor + step) % size)
            .find(|&offset| {
                self.usable(offset)
                    && !state.in_use.contains(&offset)
                    && allowed(self.address(offset))
            })
    }

    /// The pool's addresses the kernel has sockets on and what holds them, from one dump;
    /// empty when the dump fails, which is logged once.
    fn held_by_kernel(&self) -> BTreeMap<Ipv4Addr, AddressUse> {
        let mut kernel = self.kernel.lock().unwrap_or_else(|e| e.into_inner());
        let dumped = match kernel.diag.as_mut() {
            Some(diag) => diag.local_ipv4_addresses(|a| self.contains(a)),
            None => SockDiag::open().and_then(|diag| {
                kernel
                    .diag
                    .insert(diag)
                    .local_ipv4_addresses(|a| self.contains(a))
            }),
        };
        match dumped {
            Ok(busy) => busy,
            Err(e) if !kernel.warned => {
                kernel.warned = true;
                tracing::warn!(error = %e, pool = %self.cidr, "sock_diag cannot list the sockets on the address pool; addresses are chosen by a random start alone, so one whose ports are still in TIME_WAIT may be reused");
                BTreeMap::new()
            }
            Err(e) => {
                tracing::debug!(error = %e, pool = %self.cidr, "sock_diag failed again");
                BTreeMap::new()
            }
        }
    }

    /// Give an address back.
    pub fn give_back(&self, addr: Ipv4Addr) {
        let offset = u32::from(addr).wrapping_sub(u32::from(self.cidr.network));
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.in_use.remove(&offset);
    }

    /// Addresses now handed out.
    pub fn in_use(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .in_use
            .len()
    }
}

/// The loopback backend.
#[derive(Debug)]
pub struct Loopback {
    /// Shared by every session of the server.
    pool: Arc<AddressPool>,
}

impl Loopback {
    /// A backend handing out addresses of `cidr`.
    pub fn new(cidr: Ipv4Cidr) -> Loopback {
        Loopback {
            pool: Arc::new(AddressPool::new(cidr)),
        }
    }

    /// The pool, to see how many addresses are in use.
    pub fn pool(&self) -> &Arc<AddressPool> {
        &self.pool
    }
}

impl Isolation for Loopback {
    fn mode(&self) -> IsolationMode {
        IsolationMode::Loopback
    }

    fn new_network(&self) -> Result<Box<dyn SessionNetwork>, IsolationError> {
        Ok(Box::new(LoopbackNetwork {
            pool: self.pool.clone(),
            hosts: Vec::new(),
            claims: Vec::new(),
            kernel_view: None,
        }))
    }
}

/// A host's hold on its address that every other server sharing the pool sees in its own
/// sock_diag dump, even before the host has a socket: a UDP socket bound to the address and
/// connected to itself, so that it takes one port (an ephemeral one) and receives nothing.
/// Dropping it lets the address go.
#[derive(Debug)]
struct AddressClaim {
    /// The socket; never read or written.
    _socket: Socket,
}

impl AddressClaim {
    /// Claim `addr`.
    fn new(addr: Ipv4Addr) -> io::Result<AddressClaim> {
        let socket = super::new_socket(SocketSpec {
            family: Family::Inet,
            ty: SockType::Dgram,
            protocol: Some(Proto::Udp),
        })?;
        socket.bind(&SocketAddr::from((addr, 0)).into())?;
        let bound = socket.local_addr()?;
        socket.connect(&bound)?;
        Ok(AddressClaim { _socket: socket })
    }
}

/// One session's share of the pool.
#[derive(Debug)]
struct LoopbackNetwork {
    /// Where addresses go back when the session ends.
    pool: Arc<AddressPool>,
    /// Each host and its address.
    hosts: Vec<(HostId, Ipv4Addr)>,
    /// A claim on each host's address, closed with the session.
    claims: Vec<AddressClaim>,
    /// The kernel's sockets on the pool at the last look, and when that was.
    kernel_view: Option<(Instant, BTreeMap<Ipv4Addr, AddressUse>)>,
}

impl Drop for LoopbackNetwork {
    fn drop(&mut self) {
        self.claims.clear();
        for (_, addr) in self.hosts.drain(..) {
            self.pool.give_back(addr);
        }
    }
}

/// The IPv4 address behind `ip`, when it is IPv4 or IPv4-mapped IPv6.
fn as_v4(ip: IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    }
}

impl LoopbackNetwork {
    fn own(&self, host: HostId) -> Ipv4Addr {
        self.hosts
            .iter()
            .find(|(h, _)| *h == host)
            .map(|(_, a)| *a)
            // Hosts are only named after they were added; an unknown one owns nothing usable.
            .unwrap_or(Ipv4Addr::UNSPECIFIED)
    }

    fn in_session(&self, v4: Ipv4Addr) -> bool {
        self.hosts.iter().any(|(_, a)| *a == v4)
    }

    /// `v4` in the family of `like`: IPv4 stays, IPv6 gets the IPv4-mapped form.
    fn in_family(v4: Ipv4Addr, like: SocketAddr) -> SocketAddr {
        match like {
            SocketAddr::V4(_) => SocketAddr::new(IpAddr::V4(v4), like.port()),
            SocketAddr::V6(_) => SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), like.port()),
        }
    }

    fn addresses_text(&self) -> String {
        self.hosts
            .iter()
            .map(|(h, a)| format!("{h} {a}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl SessionNetwork for LoopbackNetwork {
    fn add_host(&mut self, host: HostId) -> Result<Vec<IpAddr>, IsolationError> {
        let kernel = match &mut self.kernel_view {
            Some((at, held)) if at.elapsed() < KERNEL_VIEW_FRESH => &*held,
            view => &view.insert((Instant::now(), self.pool.held_by_kernel())).1,
        };
        let addr = self
            .pool
            .take_given(kernel)
            .ok_or(IsolationError::PoolExhausted)?;
        let claim = AddressClaim::new(addr).inspect_err(|_| self.pool.give_back(addr))?;
        self.claims.push(claim);
        self.hosts.push((host, addr));
        Ok(vec![IpAddr::V4(addr), IpAddr::V6(addr.to_ipv6_mapped())])
    }

    fn open_socket(&self, _host: HostId, spec: SocketSpec) -> io::Result<Socket> {
        super::new_socket(spec)
    }

    fn open_pair(&self, _host: HostId, spec: SocketSpec) -> io::Result<(Socket, Socket)> {
        super::new_pair(spec)
    }

    fn ephemeral_ports(&self, _host: HostId) -> io::Result<(u16, u16)> {
        super::ephemeral_ports()
    }

    fn bind_target(&self, host: HostId, addr: SocketAddr) -> Result<Mapped, CallFailure> {
        let own = self.own(host);
        let ip = addr.ip();
        let wildcard = ip.is_unspecified();
        let loopback =
            ip == IpAddr::V4(Ipv4Addr::LOCALHOST) || ip == IpAddr::V6(Ipv6Addr::LOCALHOST);
        if as_v4(ip) == Some(own) {
            return Ok(Mapped::same(addr));
        }
        if wildcard || loopback {
            let mapped = Self::in_family(own, addr);
            let (what, what_zh) = if wildcard {
                ("the wildcard address", "通配地址")
            } else {
                ("loopback", "回环地址")
            };
            return Ok(Mapped {
                addr: mapped,
                note: Some(Message::new(
                    format!(
                        "{what} {ip} mapped to host {host}'s own address {} (loopback \
                         isolation: hosts share one kernel, so each binds only its own address)",
                        mapped.ip()
                    ),
                    format!(
                        "{what_zh} {ip} 换成了主机 {host} 自己的地址 {}（loopback 隔离：各主机共用一个\
                         内核，所以每台主机只绑定自己的地址）",
                        mapped.ip()
                    ),
                )),
            });
        }
        Err(CallFailure::sandbox(
            libc::EADDRNOTAVAIL,
            Message::new(
                format!(
                    "{ip} is not an address of host {host}; host {host} can bind {own}, the \
                     wildcard address or 127.0.0.1"
                ),
                format!(
                    "{ip} 不是主机 {host} 的地址；主机 {host} 可以绑定 {own}、通配地址或 127.0.0.1"
                ),
            ),
        ))
    }

    fn destination(&self, host: HostId, addr: SocketAddr) -> Result<Mapped, CallFailure> {
        let ip = addr.ip();
        let own = self.own(host);
        if ip.is_loopback() && as_v4(ip).is_none_or(|v4| v4 == Ipv4Addr::LOCALHOST)
            || ip.is_unspecified()
        {
            let mapped = Self::in_family(own, addr);
            return Ok(Mapped {
                addr: mapped,
                note: Some(Message::new(
                    format!(
                        "{ip} means host {host} itself: mapped to its address {} (loopback \
                         isolation)",
                        mapped.ip()
                    ),
                    format!(
                        "{ip} 指主机 {host} 自己：换成了它的地址 {}（loopback 隔离）",
                        mapped.ip()
                    ),
                )),
            });
        }
        match as_v4(ip) {
            Some(v4) if self.in_session(v4) => Ok(Mapped::same(addr)),
            _ => Err(CallFailure::sandbox(
                libc::ENETUNREACH,
                Message::new(
                    format!(
                        "{ip} is outside this session; only the session's hosts can be reached ({})",
                        self.addresses_text()
                    ),
                    format!(
                        "{ip} 在本会话之外；只能访问本会话的主机（{}）",
                        self.addresses_text()
                    ),
                ),
            )),
        }
    }

    fn implicit_bind(&self, host: HostId, family: Family) -> Option<SocketAddr> {
        let own = self.own(host);
        Some(match family {
            Family::Inet => SocketAddr::new(IpAddr::V4(own), 0),
            Family::Inet6 => SocketAddr::new(IpAddr::V6(own.to_ipv6_mapped()), 0),
            Family::Unix => return None,
        })
    }

    fn peer_allowed(&self, peer: SocketAddr) -> bool {
        as_v4(peer.ip()).is_some_and(|v4| self.in_session(v4))
    }

    fn shares_kernel(&self) -> bool {
        true
    }

    fn capture_unavailable(&self) -> Option<crate::i18n::Text> {
        Some(CAPTURE_UNAVAILABLE)
    }
}

/// Why a loopback session shows no packets, and how to get them.
pub const CAPTURE_UNAVAILABLE: crate::i18n::Text = crate::i18n::Text {
    en: "Packets on the wire need netns isolation: capturing a host's traffic takes its own \
         network namespace, which needs root, or in Docker the SYS_ADMIN and NET_ADMIN \
         capabilities (cap_add). This server runs in loopback isolation.",
    zh: "要看到线路上的数据包，需要 netns 隔离：抓取一台主机的流量要给它一个独立的网络命名空间，\
         这需要 root 权限，在 Docker 中则需要 SYS_ADMIN 和 NET_ADMIN 能力（cap_add）。这台服务器\
         运行在 loopback 隔离模式下。",
};

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::{TcpListener, TcpStream, UdpSocket};

    use super::*;
    use crate::sandbox::probe::TcpState;

    /// How long a test waits for the kernel to move a socket to `TIME_WAIT`.
    const SETTLE_TIMEOUT: Duration = Duration::from_secs(2);

    /// A /24 of 127.0.0.0/8 that no other test, and no server on its default pool, is likely
    /// to use: kernel sockets on a pool's addresses change what it hands out.
    fn private_cidr() -> Ipv4Cidr {
        let mut b = [0u8; 2];
        getrandom::fill(&mut b).unwrap();
        format!("127.{}.{}.0/24", 2 + b[0] % 97, b[1])
            .parse()
            .unwrap()
    }

    /// A pool over `cidr` whose search starts at its first address.
    fn pool_at_start(cidr: Ipv4Cidr) -> AddressPool {
        AddressPool::starting_at(cidr, 0)
    }

    /// The address `n` past the network's.
    fn nth(cidr: Ipv4Cidr, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(cidr.network) + n)
    }

    #[test]
    fn pool_hands_out_unique_usable_addresses_and_takes_them_back() {
        let cidr = private_cidr();
        let p = pool_at_start(cidr);
        let a = p.take().unwrap();
        let b = p.take().unwrap();
        assert_eq!(a, nth(cidr, 1));
        assert_eq!(b, nth(cidr, 2));
        p.give_back(a);
        assert_eq!(p.in_use(), 1);
        // 254 usable addresses in a /24, one is taken.
        let mut n = 0;
        while p.take().is_some() {
            n += 1;
        }
        assert_eq!(n, 253);
    }

    #[test]
    fn boundary_rules() {
        let lb = Loopback::new("127.100.0.0/16".parse().unwrap());
        let mut net = lb.new_network().unwrap();
        let a = net.add_host(HostId::A).unwrap()[0];
        let b = net.add_host(HostId::B).unwrap()[0];
        let wildcard: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let m = net.bind_target(HostId::B, wildcard).unwrap();
        assert_eq!(m.addr, SocketAddr::new(b, 8080));
        assert!(m.note.is_some());
        let other = net
            .bind_target(HostId::B, SocketAddr::new(a, 80))
            .unwrap_err();
        assert_eq!(other.errno.name, "EADDRNOTAVAIL");
        assert!(other.sandbox);
        assert!(net.destination(HostId::A, SocketAddr::new(b, 80)).is_ok());
        let out = net
            .destination(HostId::A, "8.8.8.8:53".parse().unwrap())
            .unwrap_err();
        assert_eq!(out.errno.name, "ENETUNREACH");
        let v6 = net
            .destination(HostId::A, "[::1]:80".parse().unwrap())
            .unwrap();
        assert_eq!(v6.addr.ip().to_string(), format!("::ffff:{a}"));
        assert!(net.peer_allowed(SocketAddr::new(a, 1)));
        assert!(!net.peer_allowed("127.0.0.1:1".parse().unwrap()));
        drop(net);
        assert_eq!(lb.pool().in_use(), 0);
    }

    /// A listener, a UDP socket and a `TIME_WAIT` that no descriptor holds any more each keep
    /// their address out of `take`.
    #[test]
    fn take_skips_addresses_the_kernel_holds_ports_of() {
        let cidr = private_cidr();
        let listener = TcpListener::bind((nth(cidr, 1), 0)).unwrap();
        let udp = UdpSocket::bind((nth(cidr, 2), 0)).unwrap();
        let time_wait = time_wait_on(nth(cidr, 3));

        let p = pool_at_start(cidr);
        assert_eq!(p.take(), Some(nth(cidr, 4)), "TIME_WAIT on {time_wait}");
        drop((listener, udp));
        assert_eq!(p.take(), Some(nth(cidr, 5)), "the cursor moves on");
    }

    /// When only addresses with sockets are free, one that only a `TIME_WAIT` holds is taken,
    /// never one with a socket a process holds.
    #[test]
    fn a_time_wait_address_is_the_last_resort_and_a_held_one_never() {
        let cidr = Ipv4Cidr {
            network: nth(private_cidr(), 4),
            prefix: 30,
        };
        let (lingering, held) = (nth(cidr, 1), nth(cidr, 2));
        time_wait_on(lingering);
        let _udp = UdpSocket::bind((held, 0)).unwrap();
        let p = pool_at_start(cidr);
        assert_eq!(p.take(), Some(lingering));
        assert_eq!(p.take(), None);
    }

    /// A second server sharing the pool, and starting its search at the same place, skips the
    /// address a host of the first one holds, though that host has no socket yet.
    #[test]
    fn a_second_pool_skips_what_the_first_handed_out() {
        let cidr = private_cidr();
        let first = Loopback {
            pool: Arc::new(pool_at_start(cidr)),
        };
        let mut net = first.new_network().unwrap();
        let a = net.add_host(HostId::A).unwrap()[0];
        assert_eq!(a, IpAddr::V4(nth(cidr, 1)));

        let second = pool_at_start(cidr);
        assert_eq!(second.take(), Some(nth(cidr, 2)));
        drop(net);
        assert_eq!(first.pool().in_use(), 0);
        assert_eq!(
            pool_at_start(cidr).take(),
            Some(nth(cidr, 1)),
            "an ended session's claim is gone"
        );
    }

    /// Pools start their search at a random offset, so two of them (a server and the one
    /// after its restart) start apart.
    #[test]
    fn pools_start_at_random_offsets() {
        /// Pools made; all of them starting at one offset of a /16 is as likely as never.
        const POOLS: usize = 8;
        let cidr: Ipv4Cidr = "127.100.0.0/16".parse().unwrap();
        let starts: BTreeSet<u32> = (0..POOLS)
            .map(|_| AddressPool::new(cidr).state.lock().unwrap().cursor)
            .collect();
        assert!(starts.len() > 1, "{starts:?}");
        assert!(starts.iter().all(|s| u64::from(*s) < cidr.size()));
    }

    /// A `TIME_WAIT` socket on `addr`: the accepting side closes first. Returns its address.
    fn time_wait_on(addr: Ipv4Addr) -> SocketAddr {
        let listener = TcpListener::bind((addr, 0)).unwrap();
        let server_addr = listener.local_addr().unwrap();
        let mut client = TcpStream::connect(server_addr).unwrap();
        let (server, _) = listener.accept().unwrap();
        drop(server);
        client.set_read_timeout(Some(SETTLE_TIMEOUT)).unwrap();
        assert_eq!(client.read(&mut [0u8; 1]).unwrap(), 0, "EOF");
        drop((client, listener));
        let mut diag = SockDiag::open().unwrap();
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        loop {
            let sockets = diag.tcp_sockets().unwrap();
            if sockets
                .iter()
                .any(|s| s.local == server_addr && s.state == TcpState::TimeWait)
            {
                return server_addr;
            }
            assert!(Instant::now() < deadline, "no TIME_WAIT in {sockets:#?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

//! Network-namespace isolation: every host of a session is its own Linux network namespace,
//! with `lo` up (its own 127.0.0.1 and ::1) and a link to the session's other hosts, so the
//! kernel itself keeps sessions apart: nothing else is routable from inside.
//!
//! Layout of one session: host A's namespace holds a bridge `sw0` carrying A's addresses;
//! every other host gets a veth pair, `eth0` in its own namespace, the other end enslaved to
//! `sw0`. Host k (A = 0) has the (k+1)-th address of the configured IPv4 subnet and of the
//! IPv6 ULA prefix `fd00::/64`.
//!
//! Namespaces are made on short-lived threads (`unshare`), and sockets are opened on a thread
//! that enters the namespace (`setns`) and ends right after; no server thread stays switched.
//! A namespace lives as long as a descriptor of it or a socket opened in it: dropping the
//! session's network drops them, and the kernel removes the namespaces with their links.
//!
//! A host holds one descriptor of its own, what a node's capacity is counted in: its capture
//! socket once it has one, which keeps the namespace alive as well as a descriptor of the
//! namespace would; the namespace is asked of that socket (`SIOCGSKNS`) for the moment it is
//! entered. Without a capture (turned off, or full before the host was added) the host keeps
//! the namespace's own descriptor. The netlink socket that configures links is opened while a
//! host is added and closed after.

use std::ffi::CString;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::Socket;

use super::Ipv4Cidr;
use super::netlink::Rtnl;
use super::{Isolation, IsolationError, IsolationMode, Mapped, SessionNetwork, SocketSpec};
use crate::sandbox::call::CallFailure;
use crate::sandbox::capture::Capture;
use crate::sandbox::host::HostId;
use crate::sandbox::net::Family;

/// The IPv6 prefix of every session's hosts (a unique local address range).
pub const IPV6_PREFIX: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0);
/// Prefix length of [`IPV6_PREFIX`].
const IPV6_PREFIX_LEN: u8 = 64;
/// Let the kernel pick an interface index: a new namespace may already hold tunnel devices
/// (sit0, tunl0, …) when their modules are loaded, so no index is sure to be free.
const ANY_INDEX: i32 = 0;
/// The bridge in host A's namespace.
const BRIDGE: &str = "sw0";
/// The link of every other host.
const ETH0: &str = "eth0";
/// How long a new link may take to start running before the host is given up.
const LINK_READY_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause between checks of a new link.
const LINK_READY_POLL: Duration = Duration::from_micros(200);
/// Buckets of each host's own TCP hash table. Without one, every namespace shares the
/// machine's table (hundreds of thousands of buckets on a large machine), and a sock_diag
/// dump of one host's few sockets walks all of it: about a millisecond each, which made the
/// capture cost three quarters of a busy session's calls. A host holds a few dozen sockets.
const HOST_TCP_HASH_BUCKETS: u32 = 256;
/// Where a network namespace sets the size of its children's TCP hash tables (Linux 6.1+).
const CHILD_EHASH_SYSCTL: &str = "/proc/sys/net/ipv4/tcp_child_ehash_entries";

/// The network-namespace backend.
#[derive(Debug)]
pub struct Netns {
    /// The IPv4 subnet every session uses (sessions cannot see each other, so all share it).
    subnet: Ipv4Cidr,
    /// An empty namespace of the server's own, set up so that namespaces made from it get
    /// TCP hash tables of their own ([`HOST_TCP_HASH_BUCKETS`]); hosts are made from it. The
    /// server's namespace is left as it is. `None` where the kernel cannot (before 6.1): hosts
    /// then share the machine's table, which only costs time.
    mother: Option<Arc<OwnedFd>>,
}

impl Netns {
    /// A backend giving hosts addresses of `subnet`; fails when the process lacks the
    /// privilege to make network namespaces.
    pub fn new(subnet: Ipv4Cidr) -> Result<Netns, IsolationError> {
        // Building (and at once dropping) a whole two-host network is the only sure test of
        // the privilege and of the kernel's support for bridges and veths.
        let mother = match new_mother() {
            Ok(m) => Some(Arc::new(m)),
            Err(e) => {
                tracing::info!(error = %e, "hosts share the machine's TCP hash table");
                None
            }
        };
        let netns = Netns { subnet, mother };
        let mut trial = netns.new_network()?;
        trial.add_host(HostId::A)?;
        trial.add_host(HostId::B)?;
        drop(trial);
        Ok(netns)
    }
}

impl Isolation for Netns {
    fn mode(&self) -> IsolationMode {
        IsolationMode::Netns
    }

    fn new_network(&self) -> Result<Box<dyn SessionNetwork>, IsolationError> {
        Ok(Box::new(NetnsNetwork {
            subnet: self.subnet,
            mother: self.mother.clone(),
            hosts: Vec::new(),
        }))
    }
}

/// One host: what keeps its namespace, and its link.
#[derive(Debug)]
struct NsHost {
    id: HostId,
    /// Keeps the namespace alive; entered to open sockets.
    anchor: Anchor,
    /// Index of the host's link to the others (the bridge on A, eth0 elsewhere).
    link: i32,
}

/// What keeps a host's namespace alive and lets the server enter it.
#[derive(Debug)]
enum Anchor {
    /// The namespace's own descriptor: until the host has a capture, and for good without.
    Namespace(OwnedFd),
    /// A socket opened in the namespace: the host's capture, shared with the session.
    Socket(Arc<OwnedFd>),
}

impl Anchor {
    /// Run `f` on a thread inside the namespace.
    fn enter<T: Send>(&self, f: impl FnOnce() -> io::Result<T> + Send) -> io::Result<T> {
        match self {
            Anchor::Namespace(ns) => inside(ns, f),
            Anchor::Socket(socket) => inside(&namespace_of(socket)?, f),
        }
    }
}

/// The network namespace `socket` was opened in, as a new descriptor (`SIOCGSKNS`).
fn namespace_of(socket: &impl AsRawFd) -> io::Result<OwnedFd> {
    // SAFETY: plain ioctl on a socket descriptor; the result is checked.
    let raw = unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGSKNS) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new (close-on-exec) descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// One session's namespaces.
#[derive(Debug)]
struct NetnsNetwork {
    subnet: Ipv4Cidr,
    /// Where hosts' namespaces are made from.
    mother: Option<Arc<OwnedFd>>,
    /// Hosts in order; host A's namespace carries the bridge.
    hosts: Vec<NsHost>,
}

/// The namespace hosts are made from: empty, with its children's TCP hash size set.
fn new_mother() -> io::Result<OwnedFd> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                // SAFETY: affects only this short-lived thread.
                if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                    return Err(io::Error::last_os_error());
                }
                let ns = open_own_namespace()?;
                // /proc/sys/net shows the namespace of the thread that writes it.
                std::fs::write(CHILD_EHASH_SYSCTL, HOST_TCP_HASH_BUCKETS.to_string())?;
                Ok(ns)
            })
            .join()
            .map_err(|_| io::Error::other("namespace thread panicked"))?
    })
}

/// The calling thread's network namespace, as a descriptor.
fn open_own_namespace() -> io::Result<OwnedFd> {
    let path = CString::new("/proc/thread-self/ns/net").map_err(io::Error::other)?;
    // SAFETY: a valid C string; the result is checked.
    let raw = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// The sysctl of the groups that may open ICMP datagram ("ping") sockets, per namespace.
const PING_GROUP_RANGE: &str = "/proc/sys/net/ipv4/ping_group_range";
/// Every group.
const PING_GROUPS_ALL: &str = "0 2147483647";

/// A fresh namespace with `lo` up, and a netlink socket inside it; made from `mother` when
/// given.
fn new_namespace(mother: Option<&OwnedFd>) -> io::Result<(OwnedFd, Rtnl)> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                if let Some(mother) = mother {
                    // SAFETY: a namespace descriptor; affects only this short-lived thread.
                    if unsafe { libc::setns(mother.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                // SAFETY: affects only this short-lived thread.
                if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                    return Err(io::Error::last_os_error());
                }
                let ns = open_own_namespace()?;
                let mut rtnl = Rtnl::open()?;
                rtnl.link_up(1)?;
                // A new namespace allows ping sockets to no group; open them to every group,
                // as distributions do for the machine, so that the hosts' unprivileged ICMP
                // sockets work as they would there.
                std::fs::write(PING_GROUP_RANGE, PING_GROUPS_ALL).ok(/* then the kernel refuses
                    ping sockets with EACCES, which is what the call shows */);
                Ok((ns, rtnl))
            })
            .join()
            .map_err(|_| io::Error::other("namespace thread panicked"))?
    })
}

/// Wait until the link `index` runs.
fn wait_running(rtnl: &mut Rtnl, index: i32) -> io::Result<()> {
    let deadline = Instant::now() + LINK_READY_TIMEOUT;
    while !rtnl.link_running(index)? {
        if Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "a session link did not come up",
            ));
        }
        std::thread::sleep(LINK_READY_POLL);
    }
    Ok(())
}

/// Run `f` on a thread that has entered the namespace `ns`; the thread ends with it.
fn inside<T: Send>(ns: &OwnedFd, f: impl FnOnce() -> io::Result<T> + Send) -> io::Result<T> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                // SAFETY: `ns` is a namespace descriptor; affects only this thread.
                if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                    return Err(io::Error::last_os_error());
                }
                f()
            })
            .join()
            .map_err(|_| io::Error::other("namespace thread panicked"))?
    })
}

impl NetnsNetwork {
    fn v4(&self, index: usize) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.subnet.network) + index as u32 + 1)
    }

    fn v6(index: usize) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(IPV6_PREFIX) + index as u128 + 1)
    }

    fn host(&self, host: HostId) -> io::Result<&NsHost> {
        self.hosts
            .iter()
            .find(|h| h.id == host)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENODEV))
    }

    /// Run `f` on a thread inside `host`'s namespace.
    fn inside<T: Send>(
        &self,
        host: HostId,
        f: impl FnOnce() -> io::Result<T> + Send,
    ) -> io::Result<T> {
        self.host(host)?.anchor.enter(f)
    }
}

impl SessionNetwork for NetnsNetwork {
    fn add_host(&mut self, host: HostId) -> Result<Vec<IpAddr>, IsolationError> {
        let index = self.hosts.len();
        if index + 2 >= self.subnet.size() as usize {
            return Err(IsolationError::PoolExhausted);
        }
        let (ns, mut rtnl) = new_namespace(self.mother.as_deref())?;
        let (v4, v6) = (self.v4(index), Self::v6(index));
        let link = if index == 0 {
            rtnl.add_bridge(BRIDGE, ANY_INDEX)?;
            rtnl.link_index(BRIDGE)?
        } else {
            let hub = &self.hosts[0];
            let mut hub_rtnl = hub.anchor.enter(Rtnl::open)?;
            let port = format!("port{index}");
            hub_rtnl.add_veth(&port, ANY_INDEX, hub.link, ETH0, ANY_INDEX, &ns)?;
            let port_index = hub_rtnl.link_index(&port)?;
            let eth0 = rtnl.link_index(ETH0)?;
            rtnl.link_up(eth0)?;
            rtnl.add_address(eth0, IpAddr::V4(v4), self.subnet.prefix)?;
            rtnl.add_address(eth0, IpAddr::V6(v6), IPV6_PREFIX_LEN)?;
            // A first SYN sent before both ends run would be dropped and retried a second
            // later; the host is handed out only once its link carries traffic.
            wait_running(&mut rtnl, eth0)?;
            wait_running(&mut hub_rtnl, port_index)?;
            eth0
        };
        if index == 0 {
            rtnl.add_address(link, IpAddr::V4(v4), self.subnet.prefix)?;
            rtnl.add_address(link, IpAddr::V6(v6), IPV6_PREFIX_LEN)?;
        }
        self.hosts.push(NsHost {
            id: host,
            anchor: Anchor::Namespace(ns),
            link,
        });
        Ok(vec![IpAddr::V4(v4), IpAddr::V6(v6)])
    }

    fn open_socket(&self, host: HostId, spec: SocketSpec) -> io::Result<Socket> {
        self.inside(host, || super::new_socket(spec))
    }

    fn open_pair(&self, host: HostId, spec: SocketSpec) -> io::Result<(Socket, Socket)> {
        self.inside(host, || super::new_pair(spec))
    }

    fn ephemeral_ports(&self, host: HostId) -> io::Result<(u16, u16)> {
        self.inside(host, super::ephemeral_ports)
    }

    fn bind_target(&self, _host: HostId, addr: SocketAddr) -> Result<Mapped, CallFailure> {
        // The host's own kernel stack decides: only its addresses exist there.
        Ok(Mapped::same(addr))
    }

    fn destination(&self, _host: HostId, addr: SocketAddr) -> Result<Mapped, CallFailure> {
        // Only the session's hosts are routable from inside; the kernel says so itself.
        Ok(Mapped::same(addr))
    }

    fn implicit_bind(&self, _host: HostId, _family: Family) -> Option<SocketAddr> {
        None
    }

    fn peer_allowed(&self, _peer: SocketAddr) -> bool {
        // Nothing outside the session has a route in.
        true
    }

    fn shares_kernel(&self) -> bool {
        false
    }

    fn open_diag(&self, host: HostId) -> io::Result<Option<super::diag::SockDiag>> {
        self.inside(host, super::diag::SockDiag::open).map(Some)
    }

    fn open_capture(&mut self, host: HostId, snaplen: u32) -> io::Result<Option<Capture>> {
        let h = self.host(host)?;
        let name = if h.id == self.hosts[0].id {
            BRIDGE
        } else {
            ETH0
        };
        let link = h.link as u32;
        let capture = h.anchor.enter(|| Capture::open(link, name, snaplen))?;
        // The capture keeps the namespace from now on, if the kernel can name a socket's
        // namespace (Linux 4.9+); the namespace's own descriptor is then one too many.
        let socket = capture.socket();
        if namespace_of(&*socket).is_ok() {
            if let Some(h) = self.hosts.iter_mut().find(|h| h.id == host) {
                h.anchor = Anchor::Socket(socket);
            }
        }
        Ok(Some(capture))
    }
}

//! Loopback isolation: every host gets its own address from a pool inside 127.0.0.0/8, and the
//! sandbox enforces the session boundary itself, because the kernel sees one shared network.
//!
//! Rules: a host binds only its own address (a wildcard or 127.0.0.1 maps to it, and the event
//! says so); a destination must be an address of the same session (127.0.0.1 means the host
//! itself); an unbound socket is bound to its host's address before it connects, listens or
//! sends, so peers see the host's address; a peer from outside the session is refused.
//! IPv6 sockets use the IPv4-mapped form of the host's address (`::ffff:127.100.0.1`), since
//! the loopback device has only one IPv6 address, `::1`, and it cannot be shared safely.

use std::collections::BTreeSet;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use socket2::Socket;

use super::{Isolation, IsolationError, IsolationMode, Mapped, SessionNetwork};
use crate::config::Ipv4Cidr;
use crate::sandbox::call::CallFailure;
use crate::sandbox::event::{Family, Proto};
use crate::sandbox::host::HostId;

/// Addresses of the pool, handed out one per host and returned when the session ends.
#[derive(Debug)]
pub struct AddressPool {
    /// The pool's network.
    cidr: Ipv4Cidr,
    /// Offsets into the pool now in use, and where the next search starts.
    state: Mutex<PoolState>,
}

#[derive(Debug, Default)]
struct PoolState {
    /// Offsets handed out and not yet returned.
    in_use: BTreeSet<u32>,
    /// Where the next search starts, so freed addresses are not reused at once.
    cursor: u32,
}

impl AddressPool {
    /// A pool over `cidr`.
    pub fn new(cidr: Ipv4Cidr) -> AddressPool {
        AddressPool {
            cidr,
            state: Mutex::new(PoolState::default()),
        }
    }

    /// Whether an offset makes a usable host address: not the network's first or last, and not
    /// ending in .0 or .255, which people read as network and broadcast addresses.
    fn usable(&self, offset: u32) -> bool {
        let size = self.cidr.size() as u32;
        let addr = u32::from(self.cidr.network) + offset;
        offset != 0 && offset + 1 != size && addr & 0xff != 0 && addr & 0xff != 0xff
    }

    /// Take a free address.
    pub fn take(&self) -> Option<Ipv4Addr> {
        let size = self.cidr.size().min(u64::from(u32::MAX)) as u32;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for step in 0..size {
            let offset = (state.cursor + step) % size;
            if self.usable(offset) && !state.in_use.contains(&offset) {
                state.in_use.insert(offset);
                state.cursor = (offset + 1) % size;
                return Some(Ipv4Addr::from(u32::from(self.cidr.network) + offset));
            }
        }
        None
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
        }))
    }
}

/// One session's share of the pool.
#[derive(Debug)]
struct LoopbackNetwork {
    /// Where addresses go back when the session ends.
    pool: Arc<AddressPool>,
    /// Each host and its address.
    hosts: Vec<(HostId, Ipv4Addr)>,
}

impl Drop for LoopbackNetwork {
    fn drop(&mut self) {
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
        let addr = self.pool.take().ok_or(IsolationError::PoolExhausted)?;
        self.hosts.push((host, addr));
        Ok(vec![IpAddr::V4(addr), IpAddr::V6(addr.to_ipv6_mapped())])
    }

    fn open_socket(&self, _host: HostId, family: Family, proto: Proto) -> io::Result<Socket> {
        super::new_socket(family, proto)
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
            let what = if wildcard {
                "the wildcard address"
            } else {
                "loopback"
            };
            return Ok(Mapped {
                addr: mapped,
                note: Some(format!(
                    "{what} {ip} mapped to host {host}'s own address {} (loopback isolation: \
                     hosts share one kernel, so each binds only its own address)",
                    mapped.ip()
                )),
            });
        }
        Err(CallFailure::sandbox(
            libc::EADDRNOTAVAIL,
            format!(
                "{ip} is not an address of host {host}; host {host} can bind {own}, the \
                 wildcard address or 127.0.0.1"
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
                note: Some(format!(
                    "{ip} means host {host} itself: mapped to its address {} (loopback isolation)",
                    mapped.ip()
                )),
            });
        }
        match as_v4(ip) {
            Some(v4) if self.in_session(v4) => Ok(Mapped::same(addr)),
            _ => Err(CallFailure::sandbox(
                libc::ENETUNREACH,
                format!(
                    "{ip} is outside this session; only the session's hosts can be reached ({})",
                    self.addresses_text()
                ),
            )),
        }
    }

    fn implicit_bind(&self, host: HostId, family: Family) -> Option<SocketAddr> {
        let own = self.own(host);
        Some(match family {
            Family::Inet => SocketAddr::new(IpAddr::V4(own), 0),
            Family::Inet6 => SocketAddr::new(IpAddr::V6(own.to_ipv6_mapped()), 0),
        })
    }

    fn peer_allowed(&self, peer: SocketAddr) -> bool {
        as_v4(peer.ip()).is_some_and(|v4| self.in_session(v4))
    }

    fn shares_kernel(&self) -> bool {
        true
    }

    fn capture_unavailable(&self) -> Option<&'static str> {
        Some(CAPTURE_UNAVAILABLE)
    }
}

/// Why a loopback session shows no packets, and how to get them.
pub const CAPTURE_UNAVAILABLE: &str = "Packets on the wire need netns isolation: capturing \
    a host's traffic takes its own network namespace, which needs root, or in Docker the \
    SYS_ADMIN and NET_ADMIN capabilities (cap_add). This server runs in loopback isolation.";

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(cidr: &str) -> AddressPool {
        AddressPool::new(cidr.parse().unwrap())
    }

    #[test]
    fn pool_hands_out_unique_usable_addresses_and_takes_them_back() {
        let p = pool("127.100.0.0/24");
        let a = p.take().unwrap();
        let b = p.take().unwrap();
        assert_eq!(a, Ipv4Addr::new(127, 100, 0, 1));
        assert_eq!(b, Ipv4Addr::new(127, 100, 0, 2));
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
}

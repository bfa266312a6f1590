//! The server's own HTTP listeners, kept off the loopback pool's ports.
//!
//! In loopback isolation every host of every session is an address of the pool
//! (`--address-pool`, inside 127.0.0.0/8) on the machine's own network. A listener on a
//! wildcard (`0.0.0.0:8080`, or a dual-stack `[::]:8080`) holds its port on every one of those
//! addresses, so a session's `bind` to `<host>:8080` would fail with `EADDRINUSE` — and 8080 is
//! the port the README, the exercises and the container image all use. [`Listeners::serving`]
//! therefore replaces such a wildcard by one listener per address of the machine's interfaces,
//! the pool's excepted, plus `127.0.0.1` (which the health check and a local reverse proxy
//! use): the same clients reach the server, and the pool's ports stay free. The port the
//! wildcard held is reused, so `0.0.0.0:0` keeps the port the kernel picked for it.
//!
//! The interfaces are read once, at start: an address added later is not served (listen on it
//! explicitly, or restart). Netns isolation keeps the wildcard: its hosts live in namespaces of
//! their own, where the server's ports do not exist.
//!
//! [`Listeners`] is an [`axum::serve::Listener`], so one axum server accepts from all of them.

use std::future::poll_fn;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV6};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use crate::sandbox::isolation::{Ipv4Cidr, IsolationMode};

/// How long accepting pauses after an error that is not one connection's own (`EMFILE`, say),
/// so a server out of descriptors does not spin; the same pause as axum's own listener.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// The sockets the HTTP server accepts connections on.
#[derive(Debug)]
pub struct Listeners {
    /// The address the server was asked to listen on (a wildcard stays one here, whatever
    /// was bound in its place), with the port that was bound.
    asked: SocketAddr,
    /// At least one listener.
    bound: Vec<TcpListener>,
    /// Which listener is polled first on the next accept, so that a busy one cannot starve
    /// the others.
    next: usize,
}

impl Listeners {
    /// Serve on `listener`, or, in loopback isolation when it is a wildcard whose port covers
    /// `pool`, on every interface address outside `pool` and `127.0.0.1` instead (see the
    /// module's documentation).
    pub fn serving(
        listener: TcpListener,
        mode: IsolationMode,
        pool: Ipv4Cidr,
    ) -> io::Result<Listeners> {
        let asked = listener.local_addr()?;
        if mode != IsolationMode::Loopback || !covers_ipv4(&listener, asked)? {
            return Ok(Listeners {
                asked,
                bound: vec![listener],
                next: 0,
            });
        }
        let addrs = replacement_addrs(asked, &interface_addrs()?, pool);
        // The wildcard must let go of the port before the same port can be bound on single
        // addresses; while it held it, nothing else could take it on any of them.
        drop(listener);
        let mut bound = Vec::with_capacity(addrs.len());
        for addr in &addrs {
            match bind(*addr) {
                Ok(l) => bound.push(l),
                // An IPv6 address still in duplicate address detection cannot be bound yet;
                // the others still serve.
                Err(e) if addr.is_ipv6() && e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => {
                    tracing::warn!(%addr, error = %e, "interface address not served");
                }
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("{addr} (in place of the wildcard {asked}): {e}"),
                    ));
                }
            }
        }
        let served: Vec<String> = bound
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .map(|a| a.to_string())
            .collect();
        tracing::info!(
            wildcard = %asked,
            %pool,
            served = served.join(" "),
            "loopback isolation: serving each interface address instead of the wildcard, \
             so the address pool's ports stay free for sessions"
        );
        Ok(Listeners {
            asked,
            bound,
            next: 0,
        })
    }

    /// The address the server was asked to listen on, with the port bound (a wildcard stays
    /// one: [`Self::bound_addrs`] says what was bound in its place).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.asked)
    }

    /// The addresses actually listened on.
    pub fn bound_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        self.bound.iter().map(TcpListener::local_addr).collect()
    }

    /// The first connection any listener has ready.
    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let count = self.bound.len();
        let first = self.next;
        self.next = (first + 1) % count;
        for i in 0..count {
            if let Poll::Ready(accepted) = self.bound[(first + i) % count].poll_accept(cx) {
                return Poll::Ready(accepted);
            }
        }
        Poll::Pending
    }
}

impl axum::serve::Listener for Listeners {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            match poll_fn(|cx| self.poll_accept(cx)).await {
                Ok(accepted) => {
                    // A request and its answer are one write each way: waiting to coalesce
                    // small writes (Nagle) only delays them, most visibly on a call another
                    // node forwards.
                    accepted.0.set_nodelay(true).ok(/* a socket that cannot is still served */);
                    return accepted;
                }
                // A client that gave up before its connection was accepted: nothing to do.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionRefused
                            | io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::ConnectionReset
                    ) => {}
                Err(e) => {
                    tracing::error!(error = %e, "cannot accept connections; pausing");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Listeners::local_addr(self)
    }
}

/// Whether `listener`, bound to `addr`, holds its port on every IPv4 address: `0.0.0.0`, or
/// `::` without `IPV6_V6ONLY` (which takes IPv4 connections too).
fn covers_ipv4(listener: &TcpListener, addr: SocketAddr) -> io::Result<bool> {
    Ok(match addr.ip() {
        IpAddr::V4(ip) => ip.is_unspecified(),
        IpAddr::V6(ip) => ip.is_unspecified() && !socket2::SockRef::from(listener).only_v6()?,
    })
}

/// What to bind in place of the wildcard `wildcard`: the machine's IPv4 addresses outside
/// `pool` and `127.0.0.1`, and for an IPv6 wildcard its IPv6 addresses as well; all on the
/// wildcard's port, without repeats.
fn replacement_addrs(
    wildcard: SocketAddr,
    interfaces: &[SocketAddr],
    pool: Ipv4Cidr,
) -> Vec<SocketAddr> {
    let port = wildcard.port();
    let mut addrs = vec![SocketAddr::from((Ipv4Addr::LOCALHOST, port))];
    for iface in interfaces {
        let addr = match iface {
            SocketAddr::V4(v4) if !pool.contains(*v4.ip()) => SocketAddr::from((*v4.ip(), port)),
            SocketAddr::V6(v6) if wildcard.is_ipv6() => {
                SocketAddr::V6(SocketAddrV6::new(*v6.ip(), port, 0, v6.scope_id()))
            }
            _ => continue,
        };
        if !addrs.contains(&addr) {
            addrs.push(addr);
        }
    }
    addrs
}

/// A listener on `addr`, as tokio's own `bind` makes it.
fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    TcpListener::from_std(listener)
}

/// Every IPv4 and IPv6 address of the machine's interfaces (IPv6 ones with their scope, which
/// a link-local address needs to be bound), port 0.
fn interface_addrs() -> io::Result<Vec<SocketAddr>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list it allocates to `head`; it is freed below, once.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut addrs = Vec::new();
    let mut entry = head;
    while !entry.is_null() {
        // SAFETY: `entry` is a node of the list getifaddrs made, not yet freed.
        let ifa = unsafe { &*entry };
        entry = ifa.ifa_next;
        if ifa.ifa_addr.is_null() {
            continue;
        }
        // SAFETY: a non-null ifa_addr points to a sockaddr whose family says its real type,
        // and each cast below follows that family.
        let addr = unsafe {
            match i32::from((*ifa.ifa_addr).sa_family) {
                libc::AF_INET => {
                    let sin = &*ifa.ifa_addr.cast::<libc::sockaddr_in>();
                    let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                    SocketAddr::from((ip, 0))
                }
                libc::AF_INET6 => {
                    let sin6 = &*ifa.ifa_addr.cast::<libc::sockaddr_in6>();
                    let ip = std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                    SocketAddr::V6(SocketAddrV6::new(ip, 0, 0, sin6.sin6_scope_id))
                }
                _ => continue,
            }
        };
        addrs.push(addr);
    }
    // SAFETY: `head` came from a successful getifaddrs and nothing points into it any more.
    unsafe { libc::freeifaddrs(head) };
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> Ipv4Cidr {
        "127.100.0.0/16".parse().unwrap()
    }

    #[test]
    fn the_machines_addresses_include_loopback() {
        let addrs = interface_addrs().unwrap();
        assert!(
            addrs.contains(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
            "{addrs:?}"
        );
    }

    #[test]
    fn an_ipv4_wildcard_becomes_each_ipv4_address_outside_the_pool() {
        let interfaces: Vec<SocketAddr> =
            ["127.0.0.1:0", "10.88.0.5:0", "127.100.0.1:0", "[::1]:0"]
                .iter()
                .map(|a| a.parse().unwrap())
                .collect();
        let addrs = replacement_addrs("0.0.0.0:8080".parse().unwrap(), &interfaces, pool());
        let expected: Vec<SocketAddr> = ["127.0.0.1:8080", "10.88.0.5:8080"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        assert_eq!(addrs, expected);
    }

    #[test]
    fn an_ipv6_wildcard_adds_the_ipv6_addresses_with_their_scope() {
        let link_local = SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().unwrap(), 0, 0, 2));
        let interfaces = vec!["[::1]:0".parse().unwrap(), link_local];
        let addrs = replacement_addrs("[::]:8080".parse().unwrap(), &interfaces, pool());
        assert_eq!(addrs.len(), 3);
        assert_eq!(addrs[0], "127.0.0.1:8080".parse().unwrap());
        assert_eq!(addrs[1], "[::1]:8080".parse().unwrap());
        match addrs[2] {
            SocketAddr::V6(v6) => assert_eq!((v6.port(), v6.scope_id()), (8080, 2)),
            SocketAddr::V4(_) => panic!("{addrs:?}"),
        }
    }

    #[tokio::test]
    async fn a_specific_address_or_netns_isolation_keeps_the_listener() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let kept = Listeners::serving(listener, IsolationMode::Loopback, pool()).unwrap();
        assert_eq!(kept.bound_addrs().unwrap(), vec![addr]);

        let listener = TcpListener::bind("0.0.0.0:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let kept = Listeners::serving(listener, IsolationMode::Netns, pool()).unwrap();
        assert_eq!(kept.bound_addrs().unwrap(), vec![addr]);
    }

    #[tokio::test]
    async fn a_wildcard_in_loopback_isolation_leaves_the_pools_port_free() {
        let listener = TcpListener::bind("0.0.0.0:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let listeners = Listeners::serving(listener, IsolationMode::Loopback, pool()).unwrap();
        let bound = listeners.bound_addrs().unwrap();
        assert!(
            bound.contains(&SocketAddr::from((Ipv4Addr::LOCALHOST, port))),
            "{bound:?}"
        );
        for iface in interface_addrs().unwrap() {
            match iface.ip() {
                IpAddr::V4(ip) if !ip.is_loopback() && !pool().contains(ip) => {
                    assert!(
                        bound.contains(&SocketAddr::from((ip, port))),
                        "{ip}: {bound:?}"
                    );
                }
                _ => {}
            }
        }
        std::net::TcpListener::bind((Ipv4Addr::new(127, 100, 7, 7), port))
            .expect("the pool's port is free");
    }
}

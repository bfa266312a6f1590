//! One kernel socket of a host: the descriptor (registered with tokio), what the user set on
//! it, and what the kernel was last seen to say of it.
//!
//! The kernel descriptor is always non-blocking; a user's "blocking" socket is one whose calls
//! the session waits on. Dropping a [`Sock`] closes the descriptor.

use std::io;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;

use socket2::{SockAddr, Socket};

use super::isolation::unix_names::HostNames;
use super::net::{Addr, Family, Proto, SockType, Tuple};
use super::net::{OptShape, OptValue, SockOpt};
use super::probe::{self, Figures};

/// A socket owned by a host's descriptor table.
#[derive(Debug)]
pub struct Sock {
    /// The kernel socket (non-blocking; its session's poller watches it).
    pub io: Socket,
    /// inet, inet6 or unix.
    pub family: Family,
    /// stream, dgram, seqpacket or raw.
    pub ty: SockType,
    /// tcp, udp, icmp, icmpv6 or unix.
    pub proto: Proto,
    /// How the host names Unix-domain addresses (Unix sockets only).
    pub names: Option<Arc<HostNames>>,
    /// Whether the user turned non-blocking mode on.
    pub nonblocking: bool,
    /// The backlog given to listen, once listening.
    pub backlog: Option<i32>,
    /// What the kernel said at the last probe.
    pub seen: Figures,
    /// Receive-memory figure at the last probe (UDP), to notice each new datagram.
    pub seen_rmem: u32,
    /// Connections in a Unix listener's queue at the last probe (unix_diag).
    pub seen_unix_queue: u32,
    /// The file that stands for the abstract name this socket bound, on a shared kernel:
    /// removed when the socket closes, as the kernel frees an abstract name.
    pub abstract_file: Option<std::path::PathBuf>,
    /// The two ends as last seen: a reset or a refused connect takes them from the socket,
    /// but its packets still have to be told apart.
    last_ends: std::cell::Cell<(Option<SocketAddr>, Option<SocketAddr>)>,
}

impl Sock {
    /// Wrap a freshly opened kernel socket; its protocol is what the kernel chose.
    pub fn new(
        socket: Socket,
        family: Family,
        ty: SockType,
        names: Option<Arc<HostNames>>,
    ) -> Sock {
        let io = socket;
        // The kernel's own word on the type (a Unix-domain SOCK_RAW is a datagram socket).
        let ty = match io.r#type() {
            Ok(t) if t == socket2::Type::STREAM => SockType::Stream,
            Ok(t) if t == socket2::Type::DGRAM => SockType::Dgram,
            Ok(t) if t == socket2::Type::SEQPACKET => SockType::Seqpacket,
            Ok(t) if t == socket2::Type::RAW => SockType::Raw,
            _ => ty,
        };
        let proto = match family {
            Family::Unix => Proto::Unix,
            Family::Inet | Family::Inet6 => match io.protocol() {
                Ok(Some(p)) if p == socket2::Protocol::ICMPV4 => Proto::Icmp,
                Ok(Some(p)) if p == socket2::Protocol::ICMPV6 => Proto::Icmpv6,
                Ok(Some(p)) if p == socket2::Protocol::UDP => Proto::Udp,
                Ok(Some(p)) if p == socket2::Protocol::TCP => Proto::Tcp,
                // The kernel always reports the protocol it chose; the type's own otherwise.
                _ if ty == SockType::Stream => Proto::Tcp,
                _ => Proto::Udp,
            },
        };
        let seen = probe::probe(&io, proto == Proto::Tcp);
        Sock {
            io,
            family,
            ty,
            proto,
            names,
            nonblocking: false,
            backlog: None,
            seen,
            seen_rmem: 0,
            seen_unix_queue: 0,
            abstract_file: None,
            last_ends: std::cell::Cell::new((None, None)),
        }
    }

    /// The kernel socket.
    pub fn socket(&self) -> &Socket {
        &self.io
    }

    /// The process at the other end of a Unix-domain connection, as the kernel recorded it
    /// when the connection was made (SO_PEERCRED).
    pub fn peer_pid(socket: &Socket) -> Option<i32> {
        let mut cred = libc::ucred {
            pid: 0,
            uid: 0,
            gid: 0,
        };
        let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
        // SAFETY: the kernel writes at most `len` bytes into `cred`.
        let rc = unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERCRED,
                (&raw mut cred).cast(),
                &mut len,
            )
        };
        (rc == 0 && cred.pid != 0).then_some(cred.pid)
    }

    /// The socket's inode, which sock_diag names it by.
    pub fn inode(&self) -> Option<u32> {
        // SAFETY: fstat writes one `struct stat`; all-zero is a valid value to start from.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: a valid descriptor and a valid pointer to `stat`.
        let rc = unsafe { libc::fstat(self.io.as_raw_fd(), &mut stat) };
        (rc == 0).then(|| u32::try_from(stat.st_ino).ok()).flatten()
    }

    /// Whether this is a TCP socket.
    pub fn is_tcp(&self) -> bool {
        self.proto == Proto::Tcp
    }

    /// Whether data flows over a connection (TCP, Unix stream and seqpacket).
    pub fn is_connected_type(&self) -> bool {
        self.ty.is_connected()
    }

    /// The local IP address, if bound to a port (IP sockets only; an ICMP socket's "port"
    /// is its identifier, which counts as one here).
    pub fn local(&self) -> Option<SocketAddr> {
        self.socket()
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .filter(|a| a.port() != 0)
    }

    /// The peer IP address, if connected.
    pub fn remote(&self) -> Option<SocketAddr> {
        self.socket().peer_addr().ok().and_then(|a| a.as_socket())
    }

    /// An address the kernel reported for this socket, as the host names it: a Unix name
    /// without the host's directory, an ICMP address without the identifier in its port.
    pub fn shown(&self, addr: &SockAddr) -> Option<Addr> {
        match self.family {
            Family::Unix => self.names.as_ref().and_then(|n| n.to_host(addr)),
            Family::Inet | Family::Inet6 => addr.as_socket().map(|a| self.shown_ip(a)),
        }
    }

    /// An IP address as this socket's kind writes it: with its port for TCP and UDP, without
    /// one for ICMP.
    pub fn shown_ip(&self, addr: SocketAddr) -> Addr {
        if self.proto.is_icmp() {
            Addr::Host(addr.ip())
        } else {
            Addr::Ip(addr)
        }
    }

    /// The local address as the host names it, once it has one.
    pub fn local_name(&self) -> Option<Addr> {
        match self.family {
            Family::Unix => self.socket().local_addr().ok().and_then(|a| self.shown(&a)),
            Family::Inet | Family::Inet6 => {
                let a = self.socket().local_addr().ok()?.as_socket()?;
                match self.proto {
                    // A raw socket has no port; one bound to no address has no name either.
                    Proto::Icmp | Proto::Icmpv6 if self.ty == SockType::Raw => {
                        (!a.ip().is_unspecified()).then_some(Addr::Host(a.ip()))
                    }
                    Proto::Icmp | Proto::Icmpv6 => {
                        (a.port() != 0 || !a.ip().is_unspecified()).then_some(Addr::Host(a.ip()))
                    }
                    _ => (a.port() != 0).then_some(Addr::Ip(a)),
                }
            }
        }
    }

    /// The peer's address as the host names it, if connected to a named peer.
    pub fn remote_name(&self) -> Option<Addr> {
        self.socket().peer_addr().ok().and_then(|a| self.shown(&a))
    }

    /// The socket's tuple now.
    pub fn tuple(&self) -> Tuple {
        let (local, remote) = (self.local(), self.remote());
        let (last_local, last_remote) = self.last_ends.get();
        self.last_ends
            .set((local.or(last_local), remote.or(last_remote)));
        let (local, remote) = match self.family {
            Family::Inet | Family::Inet6 if !self.proto.is_icmp() => {
                (local.map(Addr::Ip), remote.map(Addr::Ip))
            }
            _ => (self.local_name(), self.remote_name()),
        };
        Tuple {
            proto: self.proto,
            family: self.family,
            ty: Some(self.ty),
            local,
            remote,
        }
    }

    /// The socket's two ends now, or as last seen when the kernel has let go of them.
    pub fn ends(&self) -> (Option<SocketAddr>, Option<SocketAddr>) {
        self.tuple();
        self.last_ends.get()
    }

    /// The two ends as last seen, without asking the kernel, unless nothing was seen yet:
    /// every call's event reads the tuple, so a socket that did anything has them.
    pub fn known_ends(&self) -> (Option<SocketAddr>, Option<SocketAddr>) {
        match self.last_ends.get() {
            (None, None) => self.ends(),
            known => known,
        }
    }

    /// Read what the kernel says now, without consuming anything.
    pub fn probe(&self) -> Figures {
        probe::probe(self.socket(), self.is_tcp())
    }

    /// The kernel's receive-memory figure (SO_MEMINFO), which grows with every datagram queued.
    pub fn rmem_alloc(&self) -> u32 {
        const SK_MEMINFO_VARS: usize = 9;
        let mut info = [0u32; SK_MEMINFO_VARS];
        let mut len = std::mem::size_of_val(&info) as libc::socklen_t;
        // SAFETY: the kernel writes at most `len` bytes into `info`.
        let rc = unsafe {
            libc::getsockopt(
                self.socket().as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_MEMINFO,
                info.as_mut_ptr().cast(),
                &mut len,
            )
        };
        if rc == 0 { info[0] } else { 0 }
    }

    /// Up to `max` bytes waiting to be read, left in place.
    pub fn peek_bytes(&self, max: usize) -> Vec<u8> {
        let mut buf = vec![MaybeUninit::<u8>::uninit(); max];
        match self
            .socket()
            .recv_with_flags(&mut buf, libc::MSG_PEEK | libc::MSG_DONTWAIT)
        {
            Ok(n) => init_prefix(&buf, n),
            Err(_) => Vec::new(),
        }
    }

    /// send(2) without SIGPIPE: a closed peer gives EPIPE.
    pub fn send(&self, data: &[u8]) -> io::Result<usize> {
        self.socket().send_with_flags(data, libc::MSG_NOSIGNAL)
    }

    /// sendto(2) without SIGPIPE.
    pub fn send_to(&self, data: &[u8], addr: &SockAddr) -> io::Result<usize> {
        self.socket()
            .send_to_with_flags(data, addr, libc::MSG_NOSIGNAL)
    }

    /// recv(2) of at most `max` bytes.
    pub fn recv(&self, max: usize, peek: bool) -> io::Result<Vec<u8>> {
        let mut buf = vec![MaybeUninit::<u8>::uninit(); max];
        let flags = if peek { libc::MSG_PEEK } else { 0 };
        let n = self.socket().recv_with_flags(&mut buf, flags)?;
        Ok(init_prefix(&buf, n))
    }

    /// recvfrom(2) of at most `max` bytes, with the source as the kernel gave it.
    pub fn recv_from(&self, max: usize, peek: bool) -> io::Result<(Vec<u8>, SockAddr)> {
        let mut buf = vec![MaybeUninit::<u8>::uninit(); max];
        let flags = if peek { libc::MSG_PEEK } else { 0 };
        let (n, from) = self.socket().recv_from_with_flags(&mut buf, flags)?;
        Ok((init_prefix(&buf, n), from))
    }

    /// setsockopt(2) of one option.
    pub fn set_option(&self, option: SockOpt, value: OptValue) -> io::Result<()> {
        let (level, name, shape) = option.raw();
        let fd = self.socket().as_raw_fd();
        let rc = match (shape, value) {
            (OptShape::Linger, OptValue::Linger { onoff, seconds }) => {
                let linger = libc::linger {
                    l_onoff: i32::from(onoff),
                    l_linger: i32::try_from(seconds).unwrap_or(i32::MAX),
                };
                // SAFETY: passes a valid `struct linger` and its size.
                unsafe {
                    libc::setsockopt(
                        fd,
                        level,
                        name,
                        (&raw const linger).cast(),
                        std::mem::size_of::<libc::linger>() as libc::socklen_t,
                    )
                }
            }
            (OptShape::Bool | OptShape::Int, OptValue::Bool(b)) => {
                set_int(fd, level, name, i32::from(b))
            }
            (OptShape::Bool | OptShape::Int, OptValue::Int(v)) => {
                let v = i32::try_from(v).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
                set_int(fd, level, name, v)
            }
            // A value of the wrong shape is what the kernel calls an invalid argument (a linger
            // struct where an int belongs has the wrong size).
            _ => return Err(io::Error::from_raw_os_error(libc::EINVAL)),
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// getsockopt(2) of one option.
    pub fn get_option(&self, option: SockOpt) -> io::Result<OptValue> {
        let (level, name, shape) = option.raw();
        let fd = self.socket().as_raw_fd();
        match shape {
            OptShape::Linger => {
                let mut linger = libc::linger {
                    l_onoff: 0,
                    l_linger: 0,
                };
                let mut len = std::mem::size_of::<libc::linger>() as libc::socklen_t;
                // SAFETY: the kernel writes at most `len` bytes into `linger`.
                let rc = unsafe {
                    libc::getsockopt(fd, level, name, (&raw mut linger).cast(), &mut len)
                };
                if rc != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(OptValue::Linger {
                    onoff: linger.l_onoff != 0,
                    seconds: u32::try_from(linger.l_linger).unwrap_or(0),
                })
            }
            OptShape::Bool => get_int(fd, level, name).map(|v| OptValue::Bool(v != 0)),
            OptShape::Int => get_int(fd, level, name).map(|v| OptValue::Int(i64::from(v))),
        }
    }

    /// Linger seconds when SO_LINGER is on with a non-zero time: closing such a socket blocks.
    pub fn linger_blocks(&self) -> bool {
        matches!(
            self.get_option(SockOpt::SoLinger),
            Ok(OptValue::Linger { onoff: true, seconds }) if seconds > 0
        )
    }
}

impl Drop for Sock {
    fn drop(&mut self) {
        if let Some(file) = self.abstract_file.take() {
            std::fs::remove_file(file).ok(/* the session's directory may be gone already */);
        }
    }
}

fn set_int(fd: i32, level: i32, name: i32, value: i32) -> i32 {
    // SAFETY: passes a valid int and its size.
    unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&raw const value).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    }
}

fn get_int(fd: i32, level: i32, name: i32) -> io::Result<i32> {
    let mut value: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes into `value`.
    let rc = unsafe { libc::getsockopt(fd, level, name, (&raw mut value).cast(), &mut len) };
    if rc == 0 {
        Ok(value)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The first `n` bytes of `buf`, which the kernel initialised.
fn init_prefix(buf: &[MaybeUninit<u8>], n: usize) -> Vec<u8> {
    buf[..n.min(buf.len())]
        .iter()
        // SAFETY: recv wrote the first `n` bytes.
        .map(|b| unsafe { b.assume_init() })
        .collect()
}

//! The TCP sockets of one network namespace as the kernel lists them through `NETLINK_SOCK_DIAG`
//! (inet_diag), the interface `ss` uses.
//!
//! A [`probe`](crate::sandbox::probe) reads a socket through its descriptor, so it sees only
//! sockets the sandbox holds. The kernel keeps TCP sockets that no descriptor holds: the
//! `TIME_WAIT` side of an active close, and connections already established but still in a
//! listener's accept queue. This module owns the one view that shows those: a [`SockDiag`]
//! socket opened inside a namespace, the dump request, and the reading of its multipart reply
//! into [`DiagSocket`]s. Message layouts come from `netlink-packet-sock-diag`; reading one
//! reply into a [`DiagSocket`], with the `TIME_WAIT` expiry that crate drops, is the `reply`
//! file's job.
//!
//! The same dumps, for TCP and UDP, tell the loopback address pool
//! ([`loopback`](super::loopback)) which addresses the kernel still holds ports of, and
//! whether a process holds them or only sockets on their way out:
//! [`SockDiag::local_ipv4_addresses`].
//!
//! Unix-domain sockets are asked one at a time, by inode (unix_diag): which socket is the
//! other end of a connection, and how many connections wait in a listener's queue — what no
//! call on the descriptor itself reports: [`SockDiag::unix_socket`].
//!
//! Like every netlink socket, a [`SockDiag`] answers for the namespace it was opened in,
//! whichever thread uses it later.

use std::collections::BTreeMap;
use std::io;
use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use std::time::Duration;

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_MULTIPART, NLM_F_REQUEST, NLMSG_ALIGNTO, NetlinkBuffer, NetlinkHeader,
    NetlinkMessage, NetlinkPayload,
};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP};
use netlink_packet_sock_diag::inet::{
    ExtensionFlags, InetRequest, InetResponse, SocketId, StateFlags,
};
use socket2::{Domain, Protocol, Socket, Type};

mod reply;

pub use reply::{
    DiagSocket, TIMER_KEEPALIVE, TIMER_NONE, TIMER_RETRANSMIT, TIMER_TIME_WAIT,
    TIMER_ZERO_WINDOW_PROBE,
};

/// How long one receive waits for the kernel. A dump is answered from inside the system calls
/// that send the request and read each reply, so this bounds a wedged kernel, not a slow one.
const RECV_TIMEOUT: Duration = Duration::from_millis(200);

/// Most sockets one [`SockDiag::tcp_sockets`] returns, so a namespace full of sockets cannot
/// make it allocate without bound. Listeners come first in each family's dump; past this many
/// the rest of the dump is read and dropped.
pub const MAX_SOCKETS: usize = 4096;

/// Most distinct addresses one [`SockDiag::local_ipv4_addresses`] returns, so a namespace full
/// of addresses cannot make it allocate without bound; past this many the rest of the dumps is
/// read and dropped.
pub const MAX_ADDRESSES: usize = 4096;

/// Receive buffer for one reply datagram. The kernel sizes a dump datagram after the reader's
/// buffer but never above 32 KiB, so every datagram fits.
const DATAGRAM_LEN: usize = 32 * 1024;

/// What holds a local address's ports, in [`SockDiag::local_ipv4_addresses`]; the stronger
/// hold is the greater.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AddressUse {
    /// Only TCP sockets no descriptor holds (`TIME_WAIT`, a connection closing after its
    /// process let it go): they go away on their own, within a minute or so.
    Lingering,
    /// A socket a process holds: a UDP socket, or a TCP socket with a descriptor.
    Held,
}

/// What unix_diag says of one Unix-domain socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnixDiag {
    /// Whether it listens.
    pub listening: bool,
    /// The inode of the socket at the other end, when connected.
    pub peer: Option<u32>,
    /// A listener's waiting connections.
    pub queue: Option<u32>,
    /// A listener's queue limit (the backlog as the kernel took it).
    pub backlog: Option<u32>,
}

/// Receive buffer for the answer about one Unix socket (a header and a few attributes).
const UNIX_ANSWER_LEN: usize = 1024;

/// The state unix_diag gives a listening socket (the TCP state's number).
const UNIX_LISTEN: u8 = 10;

/// A NETLINK_SOCK_DIAG socket bound in the namespace of the thread that opened it.
#[derive(Debug)]
pub struct SockDiag {
    /// The netlink socket, connected to the kernel so that no other process can send it
    /// replies.
    socket: Socket,
    /// Sequence number of the last request sent; replies to earlier ones are skipped.
    seq: u32,
    /// A dump given up before its end (a receive timed out). The kernel refuses a new dump on
    /// the socket while one runs, so its rest is read off before the next request.
    unfinished: Option<u32>,
}

impl SockDiag {
    /// Open one in the calling thread's network namespace (non-blocking is NOT wanted: the
    /// dump is answered at once; a blocking socket waits at most [`RECV_TIMEOUT`]).
    pub fn open() -> io::Result<SockDiag> {
        let socket = Socket::new(
            Domain::from(libc::AF_NETLINK),
            Type::RAW,
            Some(Protocol::from(libc::NETLINK_SOCK_DIAG)),
        )?;
        socket.set_read_timeout(Some(RECV_TIMEOUT))?;
        // SAFETY: sockaddr_nl is plain data; zero is a valid value, and port 0 is the kernel.
        let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: the address is valid for the length given; the result is checked.
        let rc = unsafe {
            libc::connect(
                socket.as_raw_fd(),
                (&raw const kernel).cast(),
                size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(SockDiag {
            socket,
            seq: 0,
            unfinished: None,
        })
    }

    /// Every TCP socket (IPv4 and IPv6, every state) in that namespace, IPv4 first, at most
    /// [`MAX_SOCKETS`].
    pub fn tcp_sockets(&mut self) -> io::Result<Vec<DiagSocket>> {
        self.tcp_sockets_at_most(MAX_SOCKETS)
    }

    /// [`Self::tcp_sockets`] with the bound as a parameter; the dumps are read to their end
    /// whatever the bound.
    fn tcp_sockets_at_most(&mut self, limit: usize) -> io::Result<Vec<DiagSocket>> {
        if let Some(seq) = self.unfinished {
            self.read_dump(seq, &mut |_| {})?;
        }
        let mut sockets = Vec::new();
        for family in [AF_INET, AF_INET6] {
            let seq = self.request_dump(family)?;
            self.read_dump(seq, &mut |socket| {
                if sockets.len() < limit {
                    sockets.push(socket);
                }
            })?;
        }
        Ok(sockets)
    }

    /// The local IPv4 addresses (an IPv6 socket's IPv4-mapped one included) of every TCP
    /// socket, in any state, and every UDP socket in that namespace, those `wanted` keeps, at
    /// most [`MAX_ADDRESSES`], each with what holds it. These are the addresses the kernel
    /// still holds ports of, also for sockets no process holds any more (`TIME_WAIT`, a
    /// connection ending on its own).
    pub fn local_ipv4_addresses(
        &mut self,
        wanted: impl Fn(Ipv4Addr) -> bool,
    ) -> io::Result<BTreeMap<Ipv4Addr, AddressUse>> {
        if let Some(seq) = self.unfinished {
            self.read_dump(seq, &mut |_| {})?;
        }
        let mut addresses = BTreeMap::new();
        for protocol in [IPPROTO_TCP, IPPROTO_UDP] {
            for family in [AF_INET, AF_INET6] {
                let seq = self.request_protocol_dump(family, protocol)?;
                self.read_dump(seq, &mut |socket| {
                    let local = match socket.local.ip() {
                        IpAddr::V4(v4) => Some(v4),
                        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
                    };
                    let Some(v4) = local.filter(|v4| wanted(*v4)) else {
                        return;
                    };
                    let used = if protocol == IPPROTO_TCP && socket.inode == 0 {
                        AddressUse::Lingering
                    } else {
                        AddressUse::Held
                    };
                    if let Some(known) = addresses.get_mut(&v4) {
                        *known = used.max(*known);
                    } else if addresses.len() < MAX_ADDRESSES {
                        addresses.insert(v4, used);
                    }
                })?;
            }
        }
        Ok(addresses)
    }

    /// The Unix-domain socket with inode `inode` in that namespace; none when there is none
    /// (it closed).
    pub fn unix_socket(&mut self, inode: u32) -> io::Result<Option<UnixDiag>> {
        use netlink_packet_sock_diag::unix::{ShowFlags, StateFlags, UnixRequest};
        if let Some(seq) = self.unfinished {
            self.read_dump(seq, &mut |_| {})?;
        }
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST;
        header.sequence_number = seq;
        let request = SockDiagMessage::UnixRequest(UnixRequest {
            state_flags: StateFlags::all(),
            inode,
            show_flags: ShowFlags::PEER | ShowFlags::RQLEN,
            // No cookie: the inode alone names the socket.
            cookie: [0xff; 8],
        });
        let mut message = NetlinkMessage::new(header, request.into());
        message.finalize();
        let mut bytes = vec![0; message.buffer_len()];
        message.serialize(&mut bytes);
        if self.socket.send(&bytes)? != bytes.len() {
            return Err(io::Error::other("the sock_diag request was cut short"));
        }
        // One socket's answer is a header and a few attributes.
        let mut datagram = [0u8; UNIX_ANSWER_LEN];
        loop {
            let len = self.recv(&mut datagram)?;
            let mut rest = &datagram[..len];
            while !rest.is_empty() {
                let framed = NetlinkBuffer::new_checked(rest).map_err(invalid)?;
                let Some((bytes, next)) = rest.split_at_checked(framed.length() as usize) else {
                    break;
                };
                rest = next.get(padding(bytes.len())..).unwrap_or_default();
                if framed.sequence_number() != seq {
                    continue; // a reply to an earlier request
                }
                let message =
                    NetlinkMessage::<SockDiagMessage>::deserialize(bytes).map_err(invalid)?;
                return match message.payload {
                    NetlinkPayload::InnerMessage(SockDiagMessage::UnixResponse(r)) => {
                        let listening = r.header.state == UNIX_LISTEN;
                        Ok(Some(UnixDiag {
                            listening,
                            peer: r.peer().filter(|p| *p != 0),
                            queue: listening
                                .then(|| r.number_of_pending_connection())
                                .flatten(),
                            backlog: listening
                                .then(|| r.max_number_of_pending_connection())
                                .flatten(),
                        }))
                    }
                    NetlinkPayload::Error(e) => match e.code {
                        Some(code) if -code.get() == libc::ENOENT => Ok(None),
                        Some(code) => Err(io::Error::from_raw_os_error(-code.get())),
                        None => Ok(None),
                    },
                    _ => Err(invalid("an unexpected answer to a unix_diag request")),
                };
            }
        }
    }

    /// Ask for every TCP socket of one family; returns the request's sequence number.
    fn request_dump(&mut self, family: u8) -> io::Result<u32> {
        self.request_protocol_dump(family, IPPROTO_TCP)
    }

    /// Ask for every socket of one family and protocol (TCP or UDP); returns the request's
    /// sequence number.
    fn request_protocol_dump(&mut self, family: u8, protocol: u8) -> io::Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        header.sequence_number = self.seq;
        let socket_id = if family == AF_INET6 {
            SocketId::new_v6()
        } else {
            SocketId::new_v4()
        };
        let request = SockDiagMessage::InetRequest(InetRequest {
            family,
            protocol,
            extensions: ExtensionFlags::empty(),
            // Every state but the kernel's internal ones; a pending connection (`NEW_SYN_RECV`)
            // comes with `SYN_RECV`. A UDP socket is `CLOSE`, or `ESTABLISHED` when connected.
            states: StateFlags::all(),
            socket_id,
        });
        let mut message = NetlinkMessage::new(header, request.into());
        message.finalize();
        let mut bytes = vec![0; message.buffer_len()];
        message.serialize(&mut bytes);
        let sent = self.socket.send(&bytes)?;
        if sent != bytes.len() {
            return Err(io::Error::other("the sock_diag request was cut short"));
        }
        self.unfinished = Some(self.seq);
        Ok(self.seq)
    }

    /// Read the replies to dump `seq` up to its end, handing each socket to `found`. A reply
    /// that cannot be decoded fails the dump, but only once the dump has ended, so the socket
    /// is ready for the next one.
    fn read_dump(&mut self, seq: u32, found: &mut dyn FnMut(DiagSocket)) -> io::Result<()> {
        let mut datagram = vec![0u8; DATAGRAM_LEN];
        let mut failure: Option<io::Error> = None;
        loop {
            let len = self.recv(&mut datagram)?;
            let mut rest = &datagram[..len];
            while !rest.is_empty() {
                let framed = match NetlinkBuffer::new_checked(rest) {
                    Ok(framed) => framed,
                    Err(e) => {
                        // The lengths no longer make sense: nothing after this can be framed.
                        failure.get_or_insert_with(|| invalid(e));
                        break;
                    }
                };
                // `new_checked` made sure the message fits in `rest`.
                let Some((message_bytes, next)) = rest.split_at_checked(framed.length() as usize)
                else {
                    break;
                };
                rest = next.get(padding(message_bytes.len())..).unwrap_or_default();
                if framed.sequence_number() != seq {
                    continue; // a reply to a dump given up earlier
                }
                let multipart = framed.flags() & NLM_F_MULTIPART != 0;
                let message = match NetlinkMessage::<SockDiagMessage>::deserialize(message_bytes) {
                    Ok(message) => message,
                    Err(e) => {
                        failure.get_or_insert_with(|| invalid(e));
                        continue;
                    }
                };
                match message.payload {
                    NetlinkPayload::Done(done) => {
                        self.unfinished = None;
                        return match failure {
                            Some(e) => Err(e),
                            None if done.code < 0 => Err(io::Error::from_raw_os_error(-done.code)),
                            None => Ok(()),
                        };
                    }
                    NetlinkPayload::Error(error) => {
                        self.unfinished = None;
                        return match (error.code, failure) {
                            (Some(code), _) => Err(io::Error::from_raw_os_error(-code.get())),
                            (None, Some(e)) => Err(e),
                            (None, None) => Ok(()), // an acknowledgement ends the reply too
                        };
                    }
                    NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(response)) => {
                        let InetResponse { header, nlas: _ } = *response;
                        match DiagSocket::from_reply(header, framed.payload()) {
                            Ok(Some(socket)) => found(socket),
                            Ok(None) => {} // a state this build does not know
                            Err(e) => {
                                failure.get_or_insert_with(|| invalid(e));
                            }
                        }
                    }
                    NetlinkPayload::Noop => {}
                    _ => {
                        failure.get_or_insert_with(|| {
                            invalid("an unexpected message in a sock_diag dump")
                        });
                    }
                }
                if !multipart {
                    // A reply in one part has no NLMSG_DONE.
                    self.unfinished = None;
                    return failure.map_or(Ok(()), Err);
                }
            }
        }
    }

    /// Receive one reply datagram into `buf`; returns its length.
    fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // SAFETY: `buf` is valid for writes of its length. With MSG_TRUNC the result is
            // the datagram's full length, which may exceed what was written.
            let n = unsafe {
                libc::recv(
                    self.socket.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_TRUNC,
                )
            };
            let Ok(n) = usize::try_from(n) else {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "sock_diag did not answer in time",
                        ));
                    }
                    _ => return Err(e),
                }
            };
            if n > buf.len() {
                return Err(io::Error::other(
                    "a sock_diag reply did not fit the receive buffer",
                ));
            }
            return Ok(n);
        }
    }
}

/// Bytes of padding after a netlink message of `len` bytes, up to the next message.
fn padding(len: usize) -> usize {
    len.next_multiple_of(usize::from(NLMSG_ALIGNTO)) - len
}

/// A reply the crate could not decode, as an I/O error.
fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("bad sock_diag reply: {e}"),
    )
}

#[cfg(test)]
mod tests {
    //! Each test makes its own network namespace on a scoped thread, so it needs root; without
    //! it a test says why and passes, unless `PLUGBOARD_REQUIRE_NETNS` is set.

    use std::io::Read;
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
    use std::os::unix::fs::MetadataExt;
    use std::time::Instant;

    use super::*;
    use crate::sandbox::probe::TcpState;

    /// How long a test waits for the kernel to move a socket where the test expects it.
    const SETTLE_TIMEOUT: Duration = Duration::from_secs(2);
    /// Pause between two looks while waiting.
    const SETTLE_POLL: Duration = Duration::from_millis(10);
    /// Longest a `TIME_WAIT` lasts on Linux (`TCP_TIMEWAIT_LEN`).
    const TIME_WAIT_MS: u32 = 60_000;

    /// Run `body` on a thread in a fresh network namespace with `lo` up. `None` when this
    /// process may not make namespaces (not root) and `PLUGBOARD_REQUIRE_NETNS` is not set.
    fn in_fresh_netns<T: Send>(body: impl FnOnce() -> T + Send) -> Option<T> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            if std::env::var_os("PLUGBOARD_REQUIRE_NETNS").is_some() {
                panic!("PLUGBOARD_REQUIRE_NETNS is set but this test is not running as root");
            }
            eprintln!("SKIPPED: making a network namespace needs root");
            return None;
        }
        std::thread::scope(|scope| {
            let thread = scope.spawn(|| {
                // SAFETY: affects only this thread, which ends with the test.
                let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "unshare: {}", io::Error::last_os_error());
                bring_lo_up();
                body()
            });
            match thread.join() {
                Ok(value) => Some(value),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// Set IFF_UP on `lo` of the calling thread's namespace.
    fn bring_lo_up() {
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, None).expect("a socket for ioctl");
        // SAFETY: ifreq is plain data; zero is a valid value.
        let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
        for (to, from) in request.ifr_name.iter_mut().zip(b"lo") {
            *to = *from as libc::c_char;
        }
        // SAFETY: a valid ifreq naming an interface; the kernel fills its flags.
        let rc = unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &mut request) };
        assert_eq!(rc, 0, "SIOCGIFFLAGS lo: {}", io::Error::last_os_error());
        // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
        let flags = unsafe { request.ifr_ifru.ifru_flags };
        request.ifr_ifru.ifru_flags = flags | libc::IFF_UP as libc::c_short;
        // SAFETY: a valid ifreq naming an interface and carrying its new flags.
        let rc = unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &request) };
        assert_eq!(rc, 0, "SIOCSIFFLAGS lo: {}", io::Error::last_os_error());
    }

    /// Dump until a socket matches `wanted`; returns it with the whole dump.
    fn wait_for(
        diag: &mut SockDiag,
        what: &str,
        wanted: impl Fn(&DiagSocket) -> bool,
    ) -> (DiagSocket, Vec<DiagSocket>) {
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        loop {
            let sockets = diag.tcp_sockets().expect("a sock_diag dump");
            if let Some(found) = sockets.iter().find(|s| wanted(s)) {
                return (found.clone(), sockets);
            }
            assert!(
                Instant::now() < deadline,
                "no {what} socket in {sockets:#?}"
            );
            std::thread::sleep(SETTLE_POLL);
        }
    }

    /// The inode of the socket behind `fd`, as sock_diag should report it.
    fn inode_of(fd: &impl AsRawFd) -> u32 {
        let meta = std::fs::metadata(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .expect("the socket's /proc entry");
        u32::try_from(meta.ino()).expect("a socket inode fits in 32 bits")
    }

    /// A listener on `loopback`, or `None` (the reason printed) when the namespace has no such
    /// address (IPv6 disabled on this host).
    fn listen_on(loopback: IpAddr) -> Option<TcpListener> {
        match TcpListener::bind((loopback, 0)) {
            Ok(listener) => Some(listener),
            Err(e) if e.kind() == io::ErrorKind::AddrNotAvailable => {
                eprintln!("SKIPPED: {loopback} is not available here ({e})");
                None
            }
            Err(e) => panic!("bind {loopback}: {e}"),
        }
    }

    /// The accepting side closes first and ends in TIME_WAIT, with no descriptor and the
    /// TIME_WAIT timer running; the listener is still there with its descriptor.
    fn time_wait_after_active_close(loopback: IpAddr) {
        in_fresh_netns(|| {
            let mut diag = SockDiag::open().expect("open sock_diag");
            let Some(listener) = listen_on(loopback) else {
                return;
            };
            let server_addr = listener.local_addr().expect("listener address");
            let mut client = TcpStream::connect(server_addr).expect("connect");
            let client_addr = client.local_addr().expect("client address");
            let (server, _) = listener.accept().expect("accept");
            drop(server);
            client
                .set_read_timeout(Some(SETTLE_TIMEOUT))
                .expect("read timeout");
            let read = client.read(&mut [0u8; 1]).expect("read to EOF");
            assert_eq!(read, 0, "the server's close reads as EOF");
            drop(client);

            let (time_wait, sockets) = wait_for(&mut diag, "TIME_WAIT", |s| {
                s.state == TcpState::TimeWait && s.local == server_addr && s.remote == client_addr
            });
            assert_eq!(time_wait.inode, 0, "{time_wait:?}");
            assert_eq!(time_wait.timer, TIMER_TIME_WAIT, "{time_wait:?}");
            assert!(
                time_wait.expires_ms > 0 && time_wait.expires_ms <= TIME_WAIT_MS,
                "{time_wait:?}"
            );

            let listen = sockets
                .iter()
                .find(|s| s.state == TcpState::Listen && s.local == server_addr)
                .unwrap_or_else(|| panic!("no LISTEN socket in {sockets:#?}"));
            assert_ne!(listen.inode, 0, "{listen:?}");
            assert_eq!(listen.inode, inode_of(&listener), "{listen:?}");
            assert_eq!(listen.remote.port(), 0, "{listen:?}");
            assert!(listen.remote.ip().is_unspecified(), "{listen:?}");

            for socket in &sockets {
                assert_eq!(
                    socket.local.is_ipv4(),
                    loopback.is_ipv4(),
                    "only {loopback} sockets here: {socket:?}"
                );
            }
        });
    }

    #[test]
    fn time_wait_after_active_close_v4() {
        time_wait_after_active_close(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn time_wait_after_active_close_v6() {
        time_wait_after_active_close(IpAddr::V6(Ipv6Addr::LOCALHOST));
    }

    /// A connection the listener has not accepted yet is ESTABLISHED with no descriptor, and
    /// the listener counts it in its accept queue.
    #[test]
    fn unaccepted_connection_sits_in_the_accept_queue() {
        in_fresh_netns(|| {
            let mut diag = SockDiag::open().expect("open sock_diag");
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
            let server_addr = listener.local_addr().expect("listener address");
            let client = TcpStream::connect(server_addr).expect("connect");
            let client_addr = client.local_addr().expect("client address");

            let (queued, sockets) = wait_for(&mut diag, "queued ESTABLISHED", |s| {
                s.state == TcpState::Established
                    && s.local == server_addr
                    && s.remote == client_addr
            });
            assert_eq!(queued.inode, 0, "{queued:?}");

            let client_side = sockets
                .iter()
                .find(|s| s.local == client_addr && s.remote == server_addr)
                .unwrap_or_else(|| panic!("no client socket in {sockets:#?}"));
            assert_eq!(client_side.state, TcpState::Established);
            assert_eq!(client_side.inode, inode_of(&client), "{client_side:?}");

            let listen = sockets
                .iter()
                .find(|s| s.state == TcpState::Listen && s.local == server_addr)
                .unwrap_or_else(|| panic!("no LISTEN socket in {sockets:#?}"));
            assert_eq!(listen.recv_queue, 1, "one connection waits: {listen:?}");
        });
    }

    /// A dump longer than one datagram comes whole; one cut at a bound is still read to its
    /// end, so the next dump on the socket works.
    #[test]
    fn a_long_dump_comes_whole_and_a_bounded_one_leaves_the_socket_usable() {
        /// Enough listeners to need several datagrams (the first holds about 4 KiB).
        const LISTENERS: usize = 300;
        /// A bound well below that.
        const BOUND: usize = 10;
        in_fresh_netns(|| {
            let mut diag = SockDiag::open().expect("open sock_diag");
            let listeners: Vec<TcpListener> = (0..LISTENERS)
                .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind"))
                .collect();
            let mut wanted: Vec<SocketAddr> = listeners
                .iter()
                .map(|l| l.local_addr().expect("listener address"))
                .collect();
            wanted.sort();

            let listed = |sockets: Vec<DiagSocket>| {
                let mut locals: Vec<SocketAddr> = sockets
                    .iter()
                    .inspect(|s| assert_eq!(s.state, TcpState::Listen, "{s:?}"))
                    .map(|s| s.local)
                    .collect();
                locals.sort();
                locals
            };
            assert_eq!(listed(diag.tcp_sockets().expect("whole dump")), wanted);
            let bounded = diag.tcp_sockets_at_most(BOUND).expect("bounded dump");
            assert_eq!(bounded.len(), BOUND);
            assert_eq!(listed(diag.tcp_sockets().expect("dump after")), wanted);
        });
    }

    /// The addresses the kernel holds ports of: a TCP listener's (held), a `TIME_WAIT`'s after
    /// every descriptor is closed (lingering), a UDP socket's and an IPv6 socket's IPv4-mapped
    /// one (held); only those the filter keeps.
    #[test]
    fn local_addresses_cover_tcp_in_any_state_and_udp() {
        in_fresh_netns(|| {
            let mut diag = SockDiag::open().expect("open sock_diag");
            let at = |last: u8| Ipv4Addr::new(127, 5, 0, last);
            let listener = TcpListener::bind((at(1), 0)).expect("bind the listener");

            let closed_first = TcpListener::bind((at(2), 0)).expect("bind");
            let mut client =
                TcpStream::connect(closed_first.local_addr().expect("address")).expect("connect");
            let (server, _) = closed_first.accept().expect("accept");
            drop(server);
            client
                .set_read_timeout(Some(SETTLE_TIMEOUT))
                .expect("read timeout");
            assert_eq!(client.read(&mut [0u8; 1]).expect("read to EOF"), 0);
            drop((client, closed_first));
            wait_for(&mut diag, "TIME_WAIT", |s| s.state == TcpState::TimeWait);

            let udp = std::net::UdpSocket::bind((at(3), 0)).expect("bind UDP");
            let udp6 = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))
                .expect("an IPv6 UDP socket");
            udp6.bind(&SocketAddr::from((at(4).to_ipv6_mapped(), 0)).into())
                .expect("bind IPv4-mapped");
            let outside = TcpListener::bind((Ipv4Addr::new(127, 6, 0, 1), 0)).expect("bind");

            let found = diag
                .local_ipv4_addresses(|a| a.octets()[..3] == [127, 5, 0])
                .expect("a dump");
            let wanted = BTreeMap::from([
                (at(1), AddressUse::Held),
                (at(2), AddressUse::Lingering),
                (at(3), AddressUse::Held),
                (at(4), AddressUse::Held),
            ]);
            assert_eq!(found, wanted);
            drop((listener, udp, udp6, outside));
        });
    }

    /// Dumps follow each other on one socket, and an empty namespace has no TCP sockets.
    #[test]
    fn an_empty_namespace_dumps_nothing_twice() {
        in_fresh_netns(|| {
            let mut diag = SockDiag::open().expect("open sock_diag");
            assert_eq!(diag.tcp_sockets().expect("first dump"), Vec::new());
            assert_eq!(diag.tcp_sockets().expect("second dump"), Vec::new());
        });
    }
}

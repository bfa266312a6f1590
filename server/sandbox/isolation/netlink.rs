//! A minimal rtnetlink client: just enough to bring links up, create bridges and veth pairs
//! and add addresses inside a network namespace, without spawning `ip`.
//!
//! A netlink socket acts on the namespace it was opened in, whichever thread uses it later,
//! so each namespace gets its own [`Rtnl`], opened once from inside it.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const IFF_RUNNING: u32 = 0x40;
const IFLA_IFNAME: u16 = 3;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_FD: u16 = 28;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_FLAGS: u16 = 8;
const IFA_F_NODAD: u32 = 0x02;
const IFF_UP: u32 = 0x1;
/// Receive buffer for acknowledgements.
const ACK_BUFFER: usize = 8192;

/// A route-netlink socket bound to one namespace.
#[derive(Debug)]
pub struct Rtnl {
    fd: OwnedFd,
    seq: u32,
}

/// A netlink message under construction: header, fixed part, attributes.
struct Message {
    buf: Vec<u8>,
    /// Offsets of nested attributes still open.
    nests: Vec<usize>,
}

impl Message {
    fn new(kind: u16, flags: u16) -> Message {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, set in finish
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // seq, set in send
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel
        Message {
            buf,
            nests: Vec::new(),
        }
    }

    fn pad(&mut self) {
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
    }

    /// struct ifinfomsg.
    fn ifinfo(&mut self, index: i32, flags: u32, change: u32) -> &mut Self {
        self.buf.push(libc::AF_UNSPEC as u8);
        self.buf.push(0);
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&index.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&change.to_ne_bytes());
        self
    }

    /// struct ifaddrmsg.
    fn ifaddr(&mut self, family: u8, prefix: u8, index: u32) -> &mut Self {
        self.buf.extend_from_slice(&[family, prefix, 0, 0]);
        self.buf.extend_from_slice(&index.to_ne_bytes());
        self
    }

    fn attr(&mut self, kind: u16, data: &[u8]) -> &mut Self {
        let len = (4 + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
        self
    }

    fn attr_str(&mut self, kind: u16, s: &str) -> &mut Self {
        let mut data = s.as_bytes().to_vec();
        data.push(0);
        self.attr(kind, &data)
    }

    fn attr_u32(&mut self, kind: u16, v: u32) -> &mut Self {
        self.attr(kind, &v.to_ne_bytes())
    }

    fn begin(&mut self, kind: u16) -> &mut Self {
        self.nests.push(self.buf.len());
        self.attr(kind, &[])
    }

    fn end(&mut self) -> &mut Self {
        if let Some(start) = self.nests.pop() {
            let len = (self.buf.len() - start) as u16;
            self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        }
        self
    }
}

impl Rtnl {
    /// Open a route-netlink socket in the calling thread's namespace.
    pub fn open() -> io::Result<Rtnl> {
        // SAFETY: plain system call; the result is checked.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a new descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Rtnl { fd, seq: 0 })
    }

    /// Send a request and wait for its acknowledgement.
    fn request(&mut self, message: &mut Message) -> io::Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let len = message.buf.len() as u32;
        message.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        message.buf[8..12].copy_from_slice(&self.seq.to_ne_bytes());
        let fd = self.fd.as_raw_fd();
        // The kernel is the peer: a zeroed sockaddr_nl addresses it.
        // SAFETY: sockaddr_nl is plain data; zero is a valid value.
        let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        kernel.nl_family = libc::AF_NETLINK as u16;
        // SAFETY: the buffer and address are valid for their lengths.
        let sent = unsafe {
            libc::sendto(
                fd,
                message.buf.as_ptr().cast(),
                message.buf.len(),
                0,
                (&raw const kernel).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        self.wait_ack(fd)
    }

    fn wait_ack(&self, fd: RawFd) -> io::Result<()> {
        let mut buf = vec![0u8; ACK_BUFFER];
        loop {
            // SAFETY: `buf` is valid for its length.
            let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let mut at = 0usize;
            let n = n as usize;
            while at + NLMSG_HDRLEN <= n {
                let len =
                    u32::from_ne_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]) as usize;
                let kind = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
                let seq =
                    u32::from_ne_bytes([buf[at + 8], buf[at + 9], buf[at + 10], buf[at + 11]]);
                if len < NLMSG_HDRLEN || at + len > n {
                    return Err(io::Error::other("malformed netlink answer"));
                }
                if kind == NLMSG_ERROR && seq == self.seq {
                    let p = at + NLMSG_HDRLEN;
                    let code = i32::from_ne_bytes([buf[p], buf[p + 1], buf[p + 2], buf[p + 3]]);
                    return if code == 0 {
                        Ok(())
                    } else {
                        Err(io::Error::from_raw_os_error(-code))
                    };
                }
                at += (len + 3) & !3;
            }
        }
    }

    /// Whether the link `index` is running: carrier up and its queue set up by the kernel's
    /// link watcher, which happens a moment after the link is brought up. Until then the
    /// link drops what is sent on it.
    pub fn link_running(&mut self, index: i32) -> io::Result<bool> {
        let mut m = Message::new(RTM_GETLINK, NLM_F_REQUEST);
        m.ifinfo(index, 0, 0);
        Ok(self.get_link(&mut m)?.1 & IFF_RUNNING != 0)
    }

    /// The interface index of the link called `name`.
    pub fn link_index(&mut self, name: &str) -> io::Result<i32> {
        let mut m = Message::new(RTM_GETLINK, NLM_F_REQUEST);
        m.ifinfo(0, 0, 0).attr_str(IFLA_IFNAME, name);
        Ok(self.get_link(&mut m)?.0)
    }

    /// Send a link query; the answer's (index, flags).
    fn get_link(&mut self, m: &mut Message) -> io::Result<(i32, u32)> {
        self.seq = self.seq.wrapping_add(1);
        let len = m.buf.len() as u32;
        m.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        m.buf[8..12].copy_from_slice(&self.seq.to_ne_bytes());
        let fd = self.fd.as_raw_fd();
        // SAFETY: the buffer is valid for its length; the socket talks to the kernel.
        if unsafe { libc::send(fd, m.buf.as_ptr().cast(), m.buf.len(), 0) } < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut buf = vec![0u8; ACK_BUFFER];
        loop {
            // SAFETY: `buf` is valid for its length.
            let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let n = n as usize;
            if n < NLMSG_HDRLEN + 16 {
                continue;
            }
            let kind = u16::from_ne_bytes([buf[4], buf[5]]);
            let seq = u32::from_ne_bytes([buf[8], buf[9], buf[10], buf[11]]);
            if seq != self.seq {
                continue;
            }
            if kind == NLMSG_ERROR {
                let p = NLMSG_HDRLEN;
                let code = i32::from_ne_bytes([buf[p], buf[p + 1], buf[p + 2], buf[p + 3]]);
                return Err(io::Error::from_raw_os_error(-code));
            }
            let p = NLMSG_HDRLEN + 4;
            let index = i32::from_ne_bytes([buf[p], buf[p + 1], buf[p + 2], buf[p + 3]]);
            let flags = u32::from_ne_bytes([buf[p + 4], buf[p + 5], buf[p + 6], buf[p + 7]]);
            return Ok((index, flags));
        }
    }

    /// Bring the link with `index` up.
    pub fn link_up(&mut self, index: i32) -> io::Result<()> {
        let mut m = Message::new(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK);
        m.ifinfo(index, IFF_UP, IFF_UP);
        self.request(&mut m)
    }

    /// Create a bridge `name` (index `index`, 0 for the kernel's choice), up.
    pub fn add_bridge(&mut self, name: &str, index: i32) -> io::Result<()> {
        let mut m = Message::new(
            RTM_NEWLINK,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        );
        m.ifinfo(index, IFF_UP, IFF_UP)
            .attr_str(IFLA_IFNAME, name)
            .begin(IFLA_LINKINFO)
            .attr_str(IFLA_INFO_KIND, "bridge")
            .end();
        self.request(&mut m)
    }

    /// Create a veth pair: `name` (index `index`) here, enslaved to `master` and up, and its
    /// peer `peer_name` (index `peer_index`) in the namespace `peer_ns`.
    pub fn add_veth(
        &mut self,
        name: &str,
        index: i32,
        master: i32,
        peer_name: &str,
        peer_index: i32,
        peer_ns: &impl AsRawFd,
    ) -> io::Result<()> {
        let mut m = Message::new(
            RTM_NEWLINK,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        );
        m.ifinfo(index, IFF_UP, IFF_UP)
            .attr_str(IFLA_IFNAME, name)
            .attr_u32(IFLA_MASTER, master as u32)
            .begin(IFLA_LINKINFO)
            .attr_str(IFLA_INFO_KIND, "veth")
            .begin(IFLA_INFO_DATA)
            .begin(VETH_INFO_PEER);
        m.ifinfo(peer_index, 0, 0)
            .attr_str(IFLA_IFNAME, peer_name)
            .attr_u32(IFLA_NET_NS_FD, peer_ns.as_raw_fd() as u32)
            .end()
            .end()
            .end();
        self.request(&mut m)
    }

    /// Add `addr/prefix` to the link `index`, usable at once (no duplicate detection wait).
    pub fn add_address(&mut self, index: i32, addr: IpAddr, prefix: u8) -> io::Result<()> {
        let mut m = Message::new(
            RTM_NEWADDR,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        );
        let (family, bytes): (u8, Vec<u8>) = match addr {
            IpAddr::V4(a) => (libc::AF_INET as u8, a.octets().to_vec()),
            IpAddr::V6(a) => (libc::AF_INET6 as u8, a.octets().to_vec()),
        };
        m.ifaddr(family, prefix, index as u32)
            .attr(IFA_LOCAL, &bytes)
            .attr(IFA_ADDRESS, &bytes)
            .attr_u32(IFA_FLAGS, IFA_F_NODAD);
        self.request(&mut m)
    }
}

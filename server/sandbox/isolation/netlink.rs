//! A small rtnetlink client: just enough to bring links up, create bridges and veth pairs
//! and add addresses inside a network namespace, without spawning `ip`. The messages are
//! built and read with the `netlink-packet-route` crate; this module only owns the socket and
//! the request/answer exchange.
//!
//! A netlink socket acts on the namespace it was opened in, whichever thread uses it later,
//! so each namespace gets its own [`Rtnl`], opened once from inside it.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NetlinkBuffer, NetlinkHeader,
    NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

/// Receive buffer for answers: an acknowledgement, or one link's description (a few hundred
/// bytes for the links made here; a larger one is reported, not cut).
const ANSWER_BUFFER: usize = 32 * 1024;

/// A route-netlink socket bound to one namespace.
#[derive(Debug)]
pub struct Rtnl {
    fd: OwnedFd,
    seq: u32,
}

/// Flags of a request that creates something that must not exist yet.
const CREATE: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;

/// A link message for `index` (0: the kernel picks, or "look up by name") with `flags` set.
fn link(index: i32, flags: LinkFlags) -> LinkMessage {
    let mut message = LinkMessage::default();
    message.header.interface_family = AddressFamily::Unspec;
    message.header.index = index as u32;
    message.header.flags = flags;
    message.header.change_mask = flags;
    message
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

    /// Send `message` with `flags` and wait for its answer: the acknowledgement (`None`), or
    /// for a query the message the kernel sent back.
    fn exchange(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Option<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = self.seq;
        let mut request = NetlinkMessage::new(header, NetlinkPayload::from(message));
        request.finalize();
        let mut bytes = vec![0; request.buffer_len()];
        request.serialize(&mut bytes);
        let fd = self.fd.as_raw_fd();
        // An unbound netlink socket sends to the kernel.
        // SAFETY: the buffer is valid for its length.
        if unsafe { libc::send(fd, bytes.as_ptr().cast(), bytes.len(), 0) } < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut buf = vec![0u8; ANSWER_BUFFER];
        loop {
            // SAFETY: `buf` is valid for writes of its length. With MSG_TRUNC the result is
            // the datagram's full length, which may exceed what was written.
            let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_TRUNC) };
            let Ok(n) = usize::try_from(n) else {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            };
            if n > buf.len() {
                return Err(io::Error::other(
                    "a netlink answer did not fit the receive buffer",
                ));
            }
            let mut rest = &buf[..n];
            while !rest.is_empty() {
                // Frame by the header alone: only the answer to this request is decoded, so
                // a stray message this crate cannot read does not fail the request.
                let framed = NetlinkBuffer::new_checked(rest)
                    .map_err(|e| io::Error::other(format!("malformed netlink answer: {e}")))?;
                let len = framed.length() as usize;
                let seq = framed.sequence_number();
                let message = &rest[..len];
                rest = rest.get(len.next_multiple_of(4)..).unwrap_or_default();
                if seq != self.seq {
                    continue; // an answer to an earlier request that gave up
                }
                let answer = NetlinkMessage::<RouteNetlinkMessage>::deserialize(message)
                    .map_err(|e| io::Error::other(format!("malformed netlink answer: {e}")))?;
                return match answer.payload {
                    NetlinkPayload::Error(error) => match error.code {
                        Some(code) => Err(io::Error::from_raw_os_error(-code.get())),
                        None => Ok(None),
                    },
                    NetlinkPayload::InnerMessage(message) => Ok(Some(message)),
                    _ => Ok(None),
                };
            }
        }
    }

    /// Send a request and wait for its acknowledgement.
    fn request(&mut self, message: RouteNetlinkMessage, flags: u16) -> io::Result<()> {
        self.exchange(message, flags).map(drop)
    }

    /// Ask for one link; the kernel's description of it.
    fn get_link(&mut self, message: LinkMessage) -> io::Result<LinkMessage> {
        match self.exchange(RouteNetlinkMessage::GetLink(message), NLM_F_REQUEST)? {
            Some(RouteNetlinkMessage::NewLink(found)) => Ok(found),
            _ => Err(io::Error::other("the kernel did not describe the link")),
        }
    }

    /// Whether the link `index` is running: carrier up and its queue set up by the kernel's
    /// link watcher, which happens a moment after the link is brought up. Until then the
    /// link drops what is sent on it.
    pub fn link_running(&mut self, index: i32) -> io::Result<bool> {
        let found = self.get_link(link(index, LinkFlags::empty()))?;
        Ok(found.header.flags.contains(LinkFlags::Running))
    }

    /// The interface index of the link called `name`.
    pub fn link_index(&mut self, name: &str) -> io::Result<i32> {
        let mut query = link(0, LinkFlags::empty());
        query
            .attributes
            .push(LinkAttribute::IfName(name.to_owned()));
        Ok(self.get_link(query)?.header.index as i32)
    }

    /// Bring the link with `index` up.
    pub fn link_up(&mut self, index: i32) -> io::Result<()> {
        let message = link(index, LinkFlags::Up);
        self.request(
            RouteNetlinkMessage::NewLink(message),
            NLM_F_REQUEST | NLM_F_ACK,
        )
    }

    /// Create a bridge `name` (index `index`, 0 for the kernel's choice), up.
    pub fn add_bridge(&mut self, name: &str, index: i32) -> io::Result<()> {
        let mut message = link(index, LinkFlags::Up);
        message.attributes = vec![
            LinkAttribute::IfName(name.to_owned()),
            LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Bridge)]),
        ];
        self.request(RouteNetlinkMessage::NewLink(message), CREATE)
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
        let mut peer = link(peer_index, LinkFlags::empty());
        peer.attributes = vec![
            LinkAttribute::IfName(peer_name.to_owned()),
            LinkAttribute::NetNsFd(peer_ns.as_raw_fd()),
        ];
        let mut message = link(index, LinkFlags::Up);
        message.attributes = vec![
            LinkAttribute::IfName(name.to_owned()),
            LinkAttribute::Controller(master as u32),
            LinkAttribute::LinkInfo(vec![
                LinkInfo::Kind(InfoKind::Veth),
                LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
            ]),
        ];
        self.request(RouteNetlinkMessage::NewLink(message), CREATE)
    }

    /// Add `addr/prefix` to the link `index`, usable at once (no duplicate detection wait).
    pub fn add_address(&mut self, index: i32, addr: IpAddr, prefix: u8) -> io::Result<()> {
        let mut message = AddressMessage::default();
        message.header.family = match addr {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        message.header.prefix_len = prefix;
        message.header.index = index as u32;
        message.attributes = vec![
            AddressAttribute::Local(addr),
            AddressAttribute::Address(addr),
            AddressAttribute::Flags(AddressFlags::Nodad),
        ];
        self.request(RouteNetlinkMessage::NewAddress(message), CREATE)
    }
}

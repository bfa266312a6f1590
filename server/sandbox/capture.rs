//! The capture socket of one host: an AF_PACKET socket opened inside the host's network
//! namespace that receives every frame the host sends, once, with the kernel's timestamp.
//!
//! "Once, at its sender" is decided in the kernel by a classic BPF filter: only frames the
//! host transmits (`PACKET_OUTGOING`), and only on `lo` and the host's own link. That keeps a
//! frame from showing twice: on `lo` every frame is also seen coming in, and on host A, whose
//! namespace holds the session's bridge, the bridge ports also transmit frames forwarded
//! between other hosts. The filter also cuts each frame at the snap length, so the kernel
//! queues no more than that. An AF_PACKET socket sees only its own namespace: no other session,
//! nothing of the server's.
//!
//! Frames are read with `recvmsg`: the bytes, the kernel's receive timestamp
//! (`SO_TIMESTAMPNS`), the frame's real length (`PACKET_AUXDATA`) and the interface it left by.

use std::io;
use std::mem::{MaybeUninit, size_of};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;

/// Kernel memory a capture socket may hold for frames not yet read; beyond it the kernel drops
/// them and counts the drops. The kernel counts a frame's whole buffer, not the snap length it
/// keeps, and one send on `lo` or a veth can be a single 64 KiB frame (segmentation offload):
/// this leaves room for a dozen of those between two drains.
const CAPTURE_RCVBUF: usize = 1024 * 1024;
/// Interface index of `lo` in every namespace.
const LO_INDEX: u32 = 1;
/// Ancillary data room in 8-byte words (aligned for cmsghdr): a timestamp and the packet
/// auxdata with their headers take 72 bytes.
const CMSG_WORDS: usize = 16;
/// Nanoseconds in a second.
const NANOS_PER_SEC: u64 = 1_000_000_000;

// Classic BPF, spelled out (see Documentation/networking/filter.rst): the ancillary loads that
// read the packet type and the interface index, and the instruction codes used below.
const SKF_AD_OFF: u32 = (-0x1000i32) as u32;
const SKF_AD_PKTTYPE: u32 = 4;
const SKF_AD_IFINDEX: u32 = 8;
const BPF_LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const BPF_JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const BPF_RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// One frame read from the capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    /// Bytes copied into the caller's buffer (at most the snap length).
    pub caplen: usize,
    /// The frame's length on the wire.
    pub len: u32,
    /// The kernel's timestamp, ns since the Unix epoch.
    pub ts_ns: u64,
    /// The interface it left by.
    pub ifindex: u32,
}

/// A host's capture socket. Dropping it ends the capture and frees what it queued; the socket
/// itself closes once the isolation backend, which may keep it as what holds the host's
/// namespace ([`Capture::socket`]), lets it go too.
#[derive(Debug)]
pub struct Capture {
    fd: Arc<OwnedFd>,
    /// Index of the host's link (the bridge on A, eth0 elsewhere).
    link: u32,
    /// Name of that link, for packets' `iface`.
    link_name: &'static str,
}

impl Capture {
    /// Open a capture in the calling thread's network namespace for frames sent on `lo` and
    /// on `link`, cut at `snaplen` bytes.
    pub fn open(link: u32, link_name: &'static str, snaplen: u32) -> io::Result<Capture> {
        // Protocol 0 at first: the socket receives nothing until it is bound below, so no
        // frame slips in before the filter is attached.
        // SAFETY: plain socket(2); the result is checked.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a new descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut filter = outgoing_filter(link, snaplen);
        let program = libc::sock_fprog {
            len: filter.len() as u16,
            filter: filter.as_mut_ptr(),
        };
        setsockopt(&fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &program)?;
        setsockopt(
            &fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            &(CAPTURE_RCVBUF as i32),
        )?;
        setsockopt(&fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, &1i32)?;
        setsockopt(&fd, libc::SOL_PACKET, libc::PACKET_AUXDATA, &1i32)?;
        // SAFETY: sockaddr_ll is plain data; all zero is a valid value.
        let mut addr: libc::sockaddr_ll = unsafe { MaybeUninit::zeroed().assume_init() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        addr.sll_ifindex = 0;
        // SAFETY: a valid sockaddr_ll of the given size.
        let bound = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const addr).cast::<libc::sockaddr>(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if bound != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Capture {
            fd: Arc::new(fd),
            link,
            link_name,
        })
    }

    /// The socket, shared: it keeps the namespace it was opened in alive, and names it, for as
    /// long as it is open.
    pub fn socket(&self) -> Arc<OwnedFd> {
        self.fd.clone()
    }

    /// The interface name of `ifindex` as the learner knows it.
    pub fn iface(&self, ifindex: u32) -> &'static str {
        if ifindex == LO_INDEX {
            super::packet::LOOPBACK
        } else if ifindex == self.link {
            self.link_name
        } else {
            "?"
        }
    }

    /// Read the next frame into `buf`, or `None` when none waits.
    pub fn read(&self, buf: &mut [u8]) -> io::Result<Option<FrameInfo>> {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut control = [0u64; CMSG_WORDS];
        // SAFETY: sockaddr_ll and msghdr are plain data; all zero is valid.
        let mut from: libc::sockaddr_ll = unsafe { MaybeUninit::zeroed().assume_init() };
        // SAFETY: as above.
        let mut msg: libc::msghdr = unsafe { MaybeUninit::zeroed().assume_init() };
        msg.msg_name = (&raw mut from).cast();
        msg.msg_namelen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        msg.msg_iov = &raw mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = size_of::<[u64; CMSG_WORDS]>() as _;
        // SAFETY: every pointer in msg points at live buffers of the stated sizes.
        let n = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &raw mut msg, libc::MSG_DONTWAIT) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::WouldBlock {
                Ok(None)
            } else {
                Err(e)
            };
        }
        let caplen = n as usize;
        let mut info = FrameInfo {
            caplen,
            len: caplen as u32,
            ts_ns: 0,
            ifindex: from.sll_ifindex as u32,
        };
        // SAFETY: msg was filled by recvmsg; the CMSG macros walk within msg_controllen.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
            while !cmsg.is_null() {
                let data = libc::CMSG_DATA(cmsg);
                match ((*cmsg).cmsg_level, (*cmsg).cmsg_type) {
                    (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS) => {
                        let ts = data.cast::<libc::timespec>().read_unaligned();
                        info.ts_ns = (ts.tv_sec as u64) * NANOS_PER_SEC + ts.tv_nsec as u64;
                    }
                    (libc::SOL_PACKET, libc::PACKET_AUXDATA) => {
                        let aux = data.cast::<libc::tpacket_auxdata>().read_unaligned();
                        info.len = aux.tp_len;
                    }
                    _ => {}
                }
                cmsg = libc::CMSG_NXTHDR(&raw const msg, cmsg);
            }
        }
        if info.ts_ns == 0 {
            info.ts_ns = super::now_ms() * (NANOS_PER_SEC / 1000);
        }
        Ok(Some(info))
    }

    /// Frames the kernel dropped since the statistics were last read, for want of room in
    /// the queue.
    pub fn take_kernel_drops(&self) -> u32 {
        self.take_statistics().tp_drops
    }

    /// Stop keeping frames but go on counting them: the queue shrinks to the kernel's
    /// minimum, so every later frame is dropped, and counted, in the kernel. What was
    /// queued is discarded; the count starts now.
    pub fn park(&self) -> io::Result<()> {
        setsockopt(&self.fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &0i32)?;
        let mut discard = [0u8; 1];
        while self.read(&mut discard)?.is_some() {}
        self.take_statistics();
        Ok(())
    }

    /// Frames a parked capture saw since the last call (the kernel counts what it dropped
    /// among what it received).
    pub fn take_parked_count(&self) -> u32 {
        self.take_statistics().tp_packets
    }

    fn take_statistics(&self) -> libc::tpacket_stats {
        // SAFETY: tpacket_stats is plain data.
        let mut stats: libc::tpacket_stats = unsafe { MaybeUninit::zeroed().assume_init() };
        let mut len = size_of::<libc::tpacket_stats>() as libc::socklen_t;
        // SAFETY: a valid out-buffer and its length; reading the statistics resets them.
        let r = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&raw mut stats).cast(),
                &raw mut len,
            )
        };
        if r == 0 {
            stats
        } else {
            // SAFETY: as above; no statistics are zero statistics.
            unsafe { MaybeUninit::zeroed().assume_init() }
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if Arc::strong_count(&self.fd) == 1 {
            return; // the socket closes with it
        }
        // The socket outlives the capture: from now on the kernel drops every frame before
        // queueing it, and what was queued is freed.
        let mut nothing = [libc::sock_filter {
            code: BPF_RET_K,
            jt: 0,
            jf: 0,
            k: 0,
        }];
        let program = libc::sock_fprog {
            len: 1,
            filter: nothing.as_mut_ptr(),
        };
        setsockopt(&self.fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &program)
            .and_then(|()| self.park())
            .ok(/* a socket that cannot take a filter queues at most its receive buffer */);
    }
}

impl AsRawFd for Capture {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Accept frames going out (`PACKET_OUTGOING`) on `lo` or `link`, cut at `snaplen`.
fn outgoing_filter(link: u32, snaplen: u32) -> [libc::sock_filter; 7] {
    let op = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    [
        op(BPF_LD_W_ABS, 0, 0, SKF_AD_OFF + SKF_AD_PKTTYPE),
        op(BPF_JEQ_K, 0, 4, libc::PACKET_OUTGOING as u32),
        op(BPF_LD_W_ABS, 0, 0, SKF_AD_OFF + SKF_AD_IFINDEX),
        op(BPF_JEQ_K, 1, 0, LO_INDEX),
        op(BPF_JEQ_K, 0, 1, link),
        op(BPF_RET_K, 0, 0, snaplen),
        op(BPF_RET_K, 0, 0, 0),
    ]
}

fn setsockopt<T>(fd: &OwnedFd, level: i32, name: i32, value: &T) -> io::Result<()> {
    // SAFETY: `value` is a live T of the given size.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

//! A session's readiness watcher: one edge-triggered epoll instance holding every socket of the
//! session, itself registered with tokio.
//!
//! tokio's own per-descriptor readiness keeps "closed" states set for good, so an unconnected
//! or finished TCP socket (which the kernel reports as hung up) would look ready forever. An
//! inner edge-triggered epoll reports each change once, which is what the session wants: wake
//! up when something happened, then probe and retry.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// Events read from the inner epoll in one system call.
const EVENT_BATCH: usize = 64;
/// Marks a watched descriptor whose readiness says nothing about the session's sockets (a
/// packet capture): its events are told apart so that they do not cost a probe of every
/// socket.
const CAPTURE_TAG: u64 = 1 << 63;

/// What woke the session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Readiness {
    /// A socket of the session reported something.
    pub sockets: bool,
    /// A capture has frames waiting.
    pub captures: bool,
}

/// The epoll instance of one session.
#[derive(Debug)]
pub struct Poller {
    /// The epoll descriptor, registered with tokio for readability.
    epoll: AsyncFd<OwnedFd>,
    /// Socket readiness read by [`Poller::absorb`] and not yet reported (only the session
    /// task touches it; atomic so that the poller can be shared across its awaits).
    pending_sockets: AtomicBool,
}

impl Poller {
    /// A new, empty poller; needs a running tokio runtime.
    pub fn new() -> io::Result<Poller> {
        // SAFETY: plain system call; the result is checked before use.
        let raw = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a new descriptor that nothing else owns.
        let owned = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: the `OwnedFd` keeps the descriptor open and unchanged until dropped, and the
        // `AsyncFd` owns it.
        let epoll = unsafe { AsyncFd::register_with_interest(owned, Interest::READABLE) }?;
        Ok(Poller {
            epoll,
            pending_sockets: AtomicBool::new(false),
        })
    }

    /// Watch `fd` for every kind of readiness, edge-triggered.
    pub fn add(&self, fd: &impl AsRawFd) -> io::Result<()> {
        self.watch(
            fd.as_raw_fd(),
            libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP,
            fd.as_raw_fd() as u64,
        )
    }

    /// Watch a packet capture for frames, edge-triggered.
    pub fn add_capture(&self, fd: &impl AsRawFd) -> io::Result<()> {
        self.watch(
            fd.as_raw_fd(),
            libc::EPOLLIN,
            fd.as_raw_fd() as u64 | CAPTURE_TAG,
        )
    }

    fn watch(&self, fd: RawFd, interest: i32, tag: u64) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: (interest | libc::EPOLLET) as u32,
            u64: tag,
        };
        // SAFETY: a valid epoll descriptor, a valid socket and a valid event struct.
        let rc =
            unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Stop watching `fd` (before it is closed).
    pub fn remove(&self, fd: RawFd) {
        // SAFETY: a valid epoll descriptor; a stale `fd` only makes the call fail.
        let rc = unsafe {
            libc::epoll_ctl(
                self.epoll.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                fd,
                std::ptr::null_mut(),
            )
        };
        // Closing removes it anyway; a failure here changes nothing.
        let _ = rc;
    }

    /// Ready when any watched descriptor reported something since the last time, saying
    /// which kinds did.
    pub fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Readiness> {
        // Capture readiness absorbed earlier was dealt with by the absorber; socket readiness
        // is reported now.
        if self.pending_sockets.swap(false, Ordering::Relaxed) {
            return Poll::Ready(Readiness {
                sockets: true,
                captures: false,
            });
        }
        loop {
            let mut guard = match self.epoll.poll_read_ready(cx) {
                Poll::Ready(Ok(guard)) => guard,
                // The epoll descriptor cannot fail to poll; if it does, wake up and let the
                // session probe rather than sleep forever.
                Poll::Ready(Err(_)) => {
                    return Poll::Ready(Readiness {
                        sockets: true,
                        captures: true,
                    });
                }
                Poll::Pending => return Poll::Pending,
            };
            let ready = self.drain();
            guard.clear_ready();
            if ready != Readiness::default() {
                return Poll::Ready(ready);
            }
        }
    }

    /// Take in what is ready now without waiting, so that frames the session has already
    /// read do not wake it again (a context switch per packet): capture readiness is
    /// dropped (the caller reads the captures right after), socket readiness kept for the
    /// next [`Poller::poll_ready`]. Returns whether a capture was ready.
    pub fn absorb(&self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        // The session polls `poll_ready` with its own waker before it sleeps, which
        // replaces the no-op one registered here.
        let Poll::Ready(Ok(mut guard)) = self.epoll.poll_read_ready(&mut cx) else {
            return false;
        };
        let ready = self.drain();
        guard.clear_ready();
        if ready.sockets {
            self.pending_sockets.store(true, Ordering::Relaxed);
        }
        ready.captures
    }

    /// Read every queued event, keeping only which kinds of descriptor they came from: the
    /// session probes all its sockets anyway.
    fn drain(&self) -> Readiness {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; EVENT_BATCH];
        let mut ready = Readiness::default();
        loop {
            // SAFETY: the buffer holds EVENT_BATCH events; timeout 0 never blocks.
            let n = unsafe {
                libc::epoll_wait(
                    self.epoll.as_raw_fd(),
                    events.as_mut_ptr(),
                    EVENT_BATCH as i32,
                    0,
                )
            };
            if n <= 0 {
                return ready;
            }
            for event in &events[..n as usize] {
                let tag = event.u64;
                if tag & CAPTURE_TAG != 0 {
                    ready.captures = true;
                } else {
                    ready.sockets = true;
                }
            }
            if (n as usize) < EVENT_BATCH {
                return ready;
            }
        }
    }
}

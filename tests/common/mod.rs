//! Helpers shared by the integration tests: a sandbox on the loopback backend with a pool of
//! its own, calls that read like the socket API, and a timeout around anything that can hang.
//! A real server is [`app::TestApp`] (in process) or [`binary::Binary`] (the executable);
//! its WebSocket is [`ws`]; a page in Chromium is [`browser`]; a fresh database on either
//! backend is [`database::TestDatabase`].

#![allow(dead_code)]

pub mod app;
pub mod binary;
pub mod browser;
pub mod database;
pub mod options;
pub mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use plugboard::config::SandboxLimits;
use plugboard::metrics::Metrics;
use plugboard::sandbox::isolation::loopback::Loopback;
use plugboard::sandbox::{
    Call, CallOutcome, CallReply, CallValue, Event, EventKind, Family, HostId, NewSession, Proto,
    Sandbox, SandboxConfig, SessionHandle, SockOpt, SockType,
};

/// Longest any single step of a test may take.
pub const STEP: Duration = Duration::from_secs(10);

/// Run `f` or fail the test after [`STEP`].
pub async fn timeout<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP, f).await.expect("step timed out")
}

/// A /24 inside 127.0.0.0/8 that no other test process is likely to use.
pub fn private_pool() -> String {
    let mut b = [0u8; 2];
    getrandom::fill(&mut b).unwrap();
    format!("127.{}.{}.0/24", 101 + b[0] % 150, b[1])
}

/// A sandbox with loopback isolation and the given limits.
pub fn sandbox_with(limits: SandboxLimits) -> Sandbox {
    let isolation = Arc::new(Loopback::new(private_pool().parse().unwrap()));
    Sandbox::new(
        SandboxConfig {
            limits,
            ..Default::default()
        },
        isolation,
        None,
        Arc::new(Metrics::default()),
    )
}

/// A sandbox with default limits.
pub fn sandbox() -> Sandbox {
    sandbox_with(SandboxLimits::default())
}

/// Deterministic pseudo-random numbers (xorshift) for the differential tests' scripts, so a
/// failure can be replayed by its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A session with hosts A and B.
pub async fn session(sb: &Sandbox) -> S {
    S(timeout(sb.create_session(NewSession::default()))
        .await
        .unwrap())
}

/// A session handle with call helpers.
#[derive(Debug, Clone)]
pub struct S(pub SessionHandle);

pub const A: HostId = HostId::A;
pub const B: HostId = HostId::B;

impl S {
    pub async fn call(&self, host: HostId, call: Call) -> CallReply {
        timeout(self.0.call(host, call, None)).await.unwrap()
    }

    pub async fn call_wait(&self, host: HostId, call: Call, wait_ms: u64) -> CallReply {
        timeout(
            self.0
                .call(host, call, Some(Duration::from_millis(wait_ms))),
        )
        .await
        .unwrap()
    }

    /// A call that must succeed.
    pub async fn ok(&self, host: HostId, call: Call) -> CallValue {
        let desc = format!("{call:?}");
        match self.call(host, call).await.outcome {
            CallOutcome::Ok(v) => v,
            other => panic!("{desc} on {host}: expected ok, got {other:?}"),
        }
    }

    /// A call that must fail with `errno`.
    pub async fn fails(
        &self,
        host: HostId,
        call: Call,
        errno: &str,
    ) -> plugboard::sandbox::CallFailure {
        let desc = format!("{call:?}");
        match self.call(host, call).await.outcome {
            CallOutcome::Err(f) if f.errno.name == errno => f,
            other => panic!("{desc} on {host}: expected {errno}, got {other:?}"),
        }
    }

    pub async fn socket(&self, host: HostId, proto: Proto) -> i32 {
        self.socket_f(host, Family::Inet, proto).await
    }

    pub async fn socket_f(&self, host: HostId, family: Family, proto: Proto) -> i32 {
        let ty = match proto {
            Proto::Tcp => SockType::Stream,
            _ => SockType::Dgram,
        };
        let protocol = Some(proto);
        self.ok(
            host,
            Call::Socket {
                family,
                ty,
                protocol,
            },
        )
        .await
        .fd
        .unwrap()
    }

    pub fn addr(&self, host: HostId, port: u16) -> SocketAddr {
        let hosts = self.0.hosts();
        SocketAddr::new(hosts[host.index()].addrs[0], port)
    }

    pub fn addr6(&self, host: HostId, port: u16) -> SocketAddr {
        let hosts = self.0.hosts();
        SocketAddr::new(hosts[host.index()].addrs[1], port)
    }

    /// `fd` of `host` bound to `addr`.
    pub async fn bind(&self, host: HostId, fd: i32, addr: SocketAddr) -> CallValue {
        let addr = addr.into();
        self.ok(host, Call::Bind { fd, addr }).await
    }

    /// `fd` of `host` listening with `backlog`.
    pub async fn listen(&self, host: HostId, fd: i32, backlog: i32) -> CallValue {
        self.ok(host, Call::Listen { fd, backlog }).await
    }

    /// A TCP listener on `host`:`port` with `backlog`.
    pub async fn listener(&self, host: HostId, port: u16, backlog: i32) -> i32 {
        self.listener_at(host, self.addr(host, port), backlog).await
    }

    /// A TCP listener of `host` on `addr` (any family, any address) with `backlog`.
    pub async fn listener_at(&self, host: HostId, addr: SocketAddr, backlog: i32) -> i32 {
        let family = if addr.is_ipv4() {
            Family::Inet
        } else {
            Family::Inet6
        };
        let fd = self.socket_f(host, family, Proto::Tcp).await;
        self.bind(host, fd, addr).await;
        self.listen(host, fd, backlog).await;
        fd
    }

    /// A UDP socket of `host` bound to `port`.
    pub async fn udp_bound(&self, host: HostId, port: u16) -> i32 {
        let fd = self.socket(host, Proto::Udp).await;
        self.bind(host, fd, self.addr(host, port)).await;
        fd
    }

    /// The connection `listener` of `host` accepts; its descriptor.
    pub async fn accept(&self, host: HostId, listener: i32) -> i32 {
        self.ok(host, Call::Accept { fd: listener })
            .await
            .fd
            .unwrap()
    }

    /// `data` sent on `fd` of `host`.
    pub async fn send(&self, host: HostId, fd: i32, data: &[u8]) -> CallValue {
        let data = data.to_vec();
        self.ok(
            host,
            Call::Send {
                fd,
                data,
                icmp: None,
            },
        )
        .await
    }

    /// `data` sent from `fd` of `host` to `addr`.
    pub async fn sendto(&self, host: HostId, fd: i32, data: &[u8], addr: SocketAddr) -> CallValue {
        let data = data.to_vec();
        let addr = addr.into();
        self.ok(
            host,
            Call::Sendto {
                fd,
                data,
                addr,
                icmp: None,
            },
        )
        .await
    }

    /// `fd` of `host` closed.
    pub async fn close(&self, host: HostId, fd: i32) -> CallValue {
        self.ok(host, Call::Close { fd }).await
    }

    /// The value of `option` on `fd` of `host`.
    pub async fn getsockopt(&self, host: HostId, fd: i32, option: SockOpt) -> CallValue {
        self.ok(host, Call::Getsockopt { fd, option }).await
    }

    /// Up to `max` bytes read from `fd` of `host` (which must succeed).
    pub async fn recv(&self, host: HostId, fd: i32, max: usize) -> CallValue {
        let peek = false;
        self.ok(host, Call::Recv { fd, max, peek }).await
    }

    /// A client connected from `host` to `to`.
    pub async fn client(&self, host: HostId, to: SocketAddr) -> i32 {
        let fd = self.socket(host, Proto::Tcp).await;
        self.ok(
            host,
            Call::Connect {
                fd,
                addr: to.into(),
            },
        )
        .await;
        fd
    }

    /// Every event logged so far.
    pub fn events(&self) -> Vec<Arc<Event>> {
        self.0
            .events_after(0, usize::MAX)
            .expect("without a store the whole log is in memory")
    }

    /// Wait until an event matching `pred` is logged; return it.
    pub async fn wait_event(&self, what: &str, pred: impl Fn(&Event) -> bool) -> Arc<Event> {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            if let Some(e) = self.events().into_iter().find(|e| pred(e)) {
                return e;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("no event {what}; log: {:#?}", self.events());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Events of `kind` on `host`.
    pub fn of_kind(&self, host: HostId, kind: EventKind) -> Vec<Arc<Event>> {
        self.events()
            .into_iter()
            .filter(|e| e.kind == kind && e.host == Some(host))
            .collect()
    }
}

/// Say that the running test is skipped and why, on a line of its own that plain `cargo test`
/// shows: `SKIPPED <test>: <reason>`. The harness captures only what the print macros write,
/// so this writes to the process's standard error itself. The test then returns and is
/// counted as passed; the line is the only sign that it did not run.
pub fn report_skip(reason: &str) {
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    writeln!(std::io::stderr().lock(), "SKIPPED {test}: {reason}")
        .ok(/* nowhere to say it: the test passes either way */);
}

/// A sandbox with network-namespace isolation, or `None` (with the reason printed) when this
/// process may not make namespaces. With `PLUGBOARD_REQUIRE_NETNS` set (CI), a missing
/// privilege fails the test instead of skipping it.
pub fn netns_sandbox_with(limits: SandboxLimits) -> Option<Sandbox> {
    use plugboard::sandbox::isolation::netns::Netns;
    match Netns::new("10.0.0.0/24".parse().unwrap()) {
        Ok(netns) => Some(Sandbox::new(
            SandboxConfig {
                limits,
                ..Default::default()
            },
            Arc::new(netns),
            None,
            Arc::new(Metrics::default()),
        )),
        Err(e) => {
            if std::env::var_os("PLUGBOARD_REQUIRE_NETNS").is_some() {
                panic!(
                    "PLUGBOARD_REQUIRE_NETNS is set but network namespaces are unavailable: {e}"
                );
            }
            report_skip(&format!(
                "network namespaces are unavailable here ({e}); run as root to test them"
            ));
            None
        }
    }
}

/// Whether this process may make network namespaces; when not, says so (or fails the test
/// when `PLUGBOARD_REQUIRE_NETNS` is set), as [`netns_sandbox_with`] does.
pub fn netns_available() -> bool {
    netns_sandbox().is_some()
}

/// The descriptors this process holds open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Descriptors {
    /// All of them.
    pub all: usize,
    /// Those that hold a network namespace.
    pub namespaces: usize,
}

impl Descriptors {
    /// Count them now, from `/proc/self/fd`.
    pub fn count() -> Descriptors {
        let mut counted = Descriptors {
            all: 0,
            namespaces: 0,
        };
        for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
            counted.all += 1;
            if let Ok(target) = std::fs::read_link(entry.path()) {
                if target.to_string_lossy().starts_with("net:[") {
                    counted.namespaces += 1;
                }
            }
        }
        counted
    }

    /// Wait (a few seconds at most) until the count is `expected` again, as after the kernel
    /// has released sockets that were lingering or closing; the count then.
    pub async fn settle_to(expected: Descriptors) -> Descriptors {
        let mut now = Descriptors::count();
        for _ in 0..100 {
            if now == expected {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            now = Descriptors::count();
        }
        now
    }
}

/// [`netns_sandbox_with`] default limits.
pub fn netns_sandbox() -> Option<Sandbox> {
    netns_sandbox_with(SandboxLimits::default())
}

//! Engine benchmark: what the sandbox costs on top of the kernel.
//!
//! Reports
//! 1. calls per second for a full TCP lifecycle through the engine, against the same system
//!    calls made directly (the ratio is the engine's overhead);
//! 2. event latency from kernel readiness (a datagram sent to a host's socket from outside the
//!    engine) to a subscriber receiving the event that reports it, p50 and p99;
//! 3. memory per idle session holding two connected TCP pairs;
//! 4. in netns mode, the same lifecycle with packet capture on and off (the ratio is what
//!    capture costs), and latency from a packet leaving a host (the kernel's timestamp) to a
//!    subscriber receiving its `packet` event;
//! 5. sessions per node: as many live two-host netns sessions (capture on, one connected TCP
//!    pair each) as the node's capacity allows, or `PLUGBOARD_BENCH_SESSIONS`, with the
//!    descriptors, resident memory and kernel memory each costs, and what that means for
//!    10,000 sessions on this machine with a container's descriptor limit.
//!
//! Run: `cargo bench --bench engine` (optionally `-- CYCLES`, and section names to run only
//! those: lifecycle, latency, memory, packets, capture, netns, capacity).

#![allow(clippy::print_stdout)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use plugboard::config::SandboxLimits;
use plugboard::metrics::Metrics;
use plugboard::sandbox::isolation::loopback::Loopback;
use plugboard::sandbox::{
    Addr, Call, CallOutcome, EventKind, Family, HostId, NewSession, Sandbox, SandboxConfig,
    SessionHandle, SockType,
};

const A: HostId = HostId::A;
const B: HostId = HostId::B;
/// Calls in one lifecycle: socket, bind, listen, socket, connect, accept, send, recv, close x3.
const CALLS_PER_CYCLE: u64 = 11;

fn sandbox(pool: &str, max_sessions: usize) -> Sandbox {
    Sandbox::new(
        SandboxConfig {
            limits: SandboxLimits {
                max_calls_per_second: 10_000_000,
                max_events: 10_000_000,
                max_session_bytes: u64::MAX,
                max_sessions,
                ..SandboxLimits::default()
            },
            ..Default::default()
        },
        Arc::new(Loopback::new(pool.parse().expect("pool"))),
        None,
        Arc::new(Metrics::default()),
    )
}

async fn ok(s: &SessionHandle, host: HostId, call: Call) -> plugboard::sandbox::CallValue {
    match s.call(host, call, None).await.expect("call").outcome {
        CallOutcome::Ok(v) => v,
        other => panic!("{other:?}"),
    }
}

/// Longest a call of the sessions-per-node run may block.
const SLOW_CALL: Duration = Duration::from_secs(10);

/// `call`, which must succeed within `wait`.
async fn ok_within(
    s: &SessionHandle,
    host: HostId,
    call: Call,
    wait: Duration,
) -> plugboard::sandbox::CallValue {
    let desc = format!("{call:?}");
    match s.call(host, call, Some(wait)).await.expect("call").outcome {
        CallOutcome::Ok(v) => v,
        other => {
            let snap = s.snapshot().await.expect("snapshot");
            let events: Vec<String> = s
                .events_after(0, usize::MAX)
                .unwrap_or_default()
                .iter()
                .map(|e| format!("{:?} {:?} {:?} {:?}", e.kind, e.host, e.note, e.tuple))
                .collect();
            panic!(
                "{desc} on {host}: {other:?}\n{:#?}\n{}",
                snap.hosts,
                events.join("\n")
            )
        }
    }
}

fn addr(s: &SessionHandle, host: HostId, port: u16) -> Addr {
    Addr::Ip(SocketAddr::new(s.hosts()[host.index()].addrs[0], port))
}

async fn lifecycle_engine(cycles: u64) -> f64 {
    lifecycle_on(&sandbox("127.201.0.0/24", 10), cycles).await
}

/// The TCP lifecycle, `cycles` times, in a new session of `sb`.
async fn lifecycle_on(sb: &Sandbox, cycles: u64) -> f64 {
    let s = sb
        .create_session(NewSession::default())
        .await
        .expect("session");
    let start = Instant::now();
    for i in 0..cycles {
        let port = 30_000 + (i % 20_000) as u16;
        let tcp = Call::Socket {
            family: Family::Inet,
            ty: SockType::Stream,
            protocol: None,
        };
        let l = ok(&s, B, tcp.clone()).await.fd.unwrap();
        ok(
            &s,
            B,
            Call::Bind {
                fd: l,
                addr: addr(&s, B, port),
            },
        )
        .await;
        ok(&s, B, Call::Listen { fd: l, backlog: 4 }).await;
        let c = ok(&s, A, tcp).await.fd.unwrap();
        ok(
            &s,
            A,
            Call::Connect {
                fd: c,
                addr: addr(&s, B, port),
            },
        )
        .await;
        let a = ok(&s, B, Call::Accept { fd: l }).await.fd.unwrap();
        ok(
            &s,
            A,
            Call::Send {
                fd: c,
                data: b"hello".to_vec(),
                icmp: None,
            },
        )
        .await;
        ok(
            &s,
            B,
            Call::Recv {
                fd: a,
                max: 16,
                peek: false,
            },
        )
        .await;
        ok(&s, A, Call::Close { fd: c }).await;
        ok(&s, B, Call::Close { fd: a }).await;
        ok(&s, B, Call::Close { fd: l }).await;
    }
    let secs = start.elapsed().as_secs_f64();
    s.end("bench").await.ok();
    (cycles * CALLS_PER_CYCLE) as f64 / secs
}

fn lifecycle_direct(cycles: u64) -> f64 {
    let b_ip = "127.202.0.2";
    let start = Instant::now();
    for i in 0..cycles {
        let port = 30_000 + (i % 20_000) as u16;
        let l = TcpListener::bind((b_ip, port)).expect("bind");
        let to: SocketAddr = format!("{b_ip}:{port}").parse().expect("addr");
        let c = std::net::TcpStream::connect_timeout(&to, Duration::from_secs(1)).expect("connect");
        let (mut a, _) = l.accept().expect("accept");
        (&c).write_all(b"hello").expect("send");
        let mut buf = [0u8; 16];
        let _ = a.read(&mut buf).expect("recv");
        drop(c);
        drop(a);
        drop(l);
    }
    // std's bind+listen is two syscalls in one call, as is socket+connect; the count of
    // socket API calls made is the same eleven per cycle.
    (cycles * CALLS_PER_CYCLE) as f64 / start.elapsed().as_secs_f64()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn event_latency(samples: usize) -> (Duration, Duration) {
    let sb = sandbox("127.203.0.0/24", 10);
    let s = sb
        .create_session(NewSession::default())
        .await
        .expect("session");
    let udp = ok(
        &s,
        B,
        Call::Socket {
            family: Family::Inet,
            ty: SockType::Dgram,
            protocol: None,
        },
    )
    .await
    .fd
    .unwrap();
    let target = addr(&s, B, 9000);
    ok(
        &s,
        B,
        Call::Bind {
            fd: udp,
            addr: target,
        },
    )
    .await;
    ok(&s, B, Call::Nonblocking { fd: udp, on: true }).await;
    let outside = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let mut sub = s.subscribe(s.last_seq());
    // Let the post-call probes settle so they do not race the measurement.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples {
        let start = Instant::now();
        outside
            .send_to(b"ping", target.inet().expect("an IP address"))
            .expect("send");
        loop {
            let e = sub.live.recv().await.expect("event");
            // From outside the session the arrival is an isolation event: the same readiness
            // path as any data event, without the preview.
            if matches!(e.kind, EventKind::Data | EventKind::Isolation) {
                times.push(start.elapsed());
                break;
            }
        }
        if i % 50 == 49 {
            // Drain the queue (the sandbox drops the outsider's datagrams) so it never fills.
            let _ = s
                .call(
                    B,
                    Call::Recvfrom {
                        fd: udp,
                        max: 16,
                        peek: false,
                    },
                    None,
                )
                .await;
            tokio::time::sleep(Duration::from_millis(1200)).await;
            sub = s.subscribe(s.last_seq());
        }
    }
    times.sort();
    s.end("bench").await.ok();
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn memory_per_session(n: usize) -> (f64, usize) {
    let sb = sandbox("127.204.0.0/20", n + 10);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = rss_kib();
    let mut sessions = Vec::with_capacity(n);
    for _ in 0..n {
        let s = sb
            .create_session(NewSession::default())
            .await
            .expect("session");
        let tcp = Call::Socket {
            family: Family::Inet,
            ty: SockType::Stream,
            protocol: None,
        };
        let l = ok(&s, B, tcp.clone()).await.fd.unwrap();
        ok(
            &s,
            B,
            Call::Bind {
                fd: l,
                addr: addr(&s, B, 8080),
            },
        )
        .await;
        ok(&s, B, Call::Listen { fd: l, backlog: 4 }).await;
        for _ in 0..2 {
            let c = ok(&s, A, tcp.clone()).await.fd.unwrap();
            ok(
                &s,
                A,
                Call::Connect {
                    fd: c,
                    addr: addr(&s, B, 8080),
                },
            )
            .await;
            ok(&s, B, Call::Accept { fd: l }).await;
        }
        sessions.push(s);
    }
    // Idle: the follow-up probes have run out.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = rss_kib();
    let per = (after.saturating_sub(before)) as f64 / n as f64;
    let events: usize = sessions
        .iter()
        .map(|s| s.last_seq() as usize)
        .sum::<usize>()
        / n;
    for s in sessions {
        s.end("bench").await.ok();
    }
    (per, events)
}

/// A netns sandbox for the lifecycle, capture on or off; `None` without namespaces.
fn netns_sandbox(capture: bool) -> Option<Sandbox> {
    use plugboard::sandbox::isolation::netns::Netns;
    let netns = Netns::new("10.0.0.0/24".parse().expect("subnet")).ok()?;
    Some(Sandbox::new(
        SandboxConfig {
            limits: SandboxLimits {
                max_calls_per_second: 10_000_000,
                max_events: 10_000_000,
                max_session_bytes: u64::MAX,
                max_packets: 10_000_000,
                max_capture_bytes: u64::MAX,
                capture,
                ..SandboxLimits::default()
            },
            ..Default::default()
        },
        Arc::new(netns),
        None,
        Arc::new(Metrics::default()),
    ))
}

/// Calls per second of the lifecycle in netns mode with capture off and on, measured in
/// alternating rounds so that both see the same machine.
async fn capture_cost(cycles: u64) -> Option<(f64, f64)> {
    let off = netns_sandbox(false)?;
    let on = netns_sandbox(true)?;
    lifecycle_on(&off, 100).await;
    lifecycle_on(&on, 100).await;
    let (mut rate_off, mut rate_on) = (0.0, 0.0);
    const ROUNDS: u64 = 3;
    for _ in 0..ROUNDS {
        rate_off += lifecycle_on(&off, cycles / ROUNDS).await;
        rate_on += lifecycle_on(&on, cycles / ROUNDS).await;
    }
    Some((rate_off / ROUNDS as f64, rate_on / ROUNDS as f64))
}

/// Latency from a datagram leaving host A (the capture's kernel timestamp) to a subscriber
/// receiving its packet event.
async fn packet_latency(samples: usize) -> Option<(Duration, Duration)> {
    let sb = netns_sandbox(true)?;
    let s = sb
        .create_session(NewSession::default())
        .await
        .expect("session");
    let udp = Call::Socket {
        family: Family::Inet,
        ty: SockType::Dgram,
        protocol: None,
    };
    let b = ok(&s, B, udp.clone()).await.fd.unwrap();
    let target = addr(&s, B, 9000);
    ok(
        &s,
        B,
        Call::Bind {
            fd: b,
            addr: target,
        },
    )
    .await;
    let a = ok(&s, A, udp).await.fd.unwrap();
    // As in `event_latency`, the subscriber waits here while the calls run on their own
    // task: one datagram at a time, timed from the kernel's timestamp to its event.
    let mut sub = s.subscribe(s.last_seq());
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let caller = s.clone();
        let calls = tokio::spawn(async move {
            let send = Call::Sendto {
                fd: a,
                data: b"ping".to_vec(),
                addr: target,
                icmp: None,
            };
            ok(&caller, A, send).await;
            // Keep B's queue from filling: read what arrived.
            let read = Call::Recv {
                fd: b,
                max: 16,
                peek: false,
            };
            ok(&caller, B, read).await;
        });
        loop {
            let e = match sub.live.recv().await {
                Ok(e) => e,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => break,
            };
            if let Some(p) = e.packet.as_ref().filter(|p| p.udp.is_some()) {
                let now_ns = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("clock")
                    .as_nanos() as u64;
                times.push(Duration::from_nanos(now_ns.saturating_sub(p.ts_ns)));
                break;
            }
        }
        calls.await.expect("calls");
    }
    times.sort();
    s.end("bench").await.ok();
    Some((percentile(&times, 0.5), percentile(&times, 0.99)))
}

/// Average time to create (and to end) a two-host netns session, if namespaces can be made.
async fn netns_session_cost(n: u32) -> Option<(Duration, Duration)> {
    use plugboard::sandbox::isolation::netns::Netns;
    let netns = Netns::new("10.0.0.0/24".parse().expect("subnet")).ok()?;
    let sb = Sandbox::new(
        SandboxConfig {
            limits: SandboxLimits {
                max_sessions: n as usize + 10,
                ..SandboxLimits::default()
            },
            ..Default::default()
        },
        Arc::new(netns),
        None,
        Arc::new(Metrics::default()),
    );
    let mut sessions = Vec::with_capacity(n as usize);
    let start = Instant::now();
    for _ in 0..n {
        sessions.push(
            sb.create_session(NewSession::default())
                .await
                .expect("session"),
        );
    }
    let create = start.elapsed() / n;
    let start = Instant::now();
    for s in sessions {
        s.end("bench").await.ok();
    }
    Some((create, start.elapsed() / n))
}

/// The descriptors this process holds open.
fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

/// The machine's memory figures, in KiB, from `/proc/meminfo`.
#[derive(Debug, Clone, Copy, Default)]
struct KernelMemory {
    total: u64,
    available: u64,
    slab: u64,
    unreclaimable_slab: u64,
    percpu: u64,
}

impl KernelMemory {
    fn now() -> KernelMemory {
        let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let field = |name: &str| {
            text.lines()
                .find(|l| l.split(':').next() == Some(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        KernelMemory {
            total: field("MemTotal"),
            available: field("MemAvailable"),
            slab: field("Slab"),
            unreclaimable_slab: field("SUnreclaim"),
            percpu: field("Percpu"),
        }
    }
}

/// What one live session cost, averaged over those made.
struct PerSession {
    sessions: usize,
    capacity: plugboard::sandbox::Capacity,
    stopped: Option<String>,
    descriptors: f64,
    rss_kib: f64,
    slab_kib: f64,
    unreclaimable_kib: f64,
    percpu_kib: f64,
    available_kib: f64,
    memory: KernelMemory,
    create: Duration,
    /// Sessions whose connection took a second or more (a SYN retransmitted).
    slow: usize,
}

/// Live two-host netns sessions with capture on and one connected TCP pair each (B listens,
/// A connects, B accepts), as many as `wanted` or the sandbox's capacity; what each costs.
async fn sessions_per_node(wanted: Option<usize>) -> Option<PerSession> {
    use plugboard::sandbox::isolation::netns::Netns;
    // As a server does at start: every descriptor the hard limit allows.
    let descriptors = plugboard::sandbox::capacity::raise_descriptor_limit();
    let planned = plugboard::sandbox::Capacity::of(
        wanted.unwrap_or(usize::MAX),
        plugboard::sandbox::IsolationMode::Netns,
        descriptors,
    );
    plugboard::sandbox::capacity::raise_neighbour_limits(planned.sessions);
    let netns = Netns::new("10.0.0.0/24".parse().expect("subnet")).ok()?;
    let sb = Sandbox::new(
        SandboxConfig {
            limits: SandboxLimits {
                max_sessions: wanted.unwrap_or(usize::MAX),
                ..SandboxLimits::default()
            },
            ..Default::default()
        },
        Arc::new(netns),
        None,
        Arc::new(Metrics::default()),
    );
    let capacity = sb.capacity_details();
    // One made and ended first, so that what the process opens once is there before counting.
    let warm = sb
        .create_session(NewSession::default())
        .await
        .expect("session");
    warm.end("warm-up").await.ok();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (fds, rss, kernel) = (open_descriptors(), rss_kib(), KernelMemory::now());
    let mut sessions = Vec::with_capacity(capacity.sessions.min(1 << 20));
    let mut stopped = None;
    let mut slow = 0;
    let start = Instant::now();
    while sb.room() > 0 {
        let s = match sb.create_session(NewSession::default()).await {
            Ok(s) => s,
            Err(e) => {
                stopped = Some(e.to_string());
                break;
            }
        };
        let tcp = Call::Socket {
            family: Family::Inet,
            ty: SockType::Stream,
            protocol: None,
        };
        let l = ok(&s, B, tcp.clone()).await.fd.unwrap();
        let at = addr(&s, B, 8080);
        ok(&s, B, Call::Bind { fd: l, addr: at }).await;
        ok(&s, B, Call::Listen { fd: l, backlog: 4 }).await;
        let c = ok(&s, A, tcp).await.fd.unwrap();
        // On a machine this busy a SYN may be retransmitted (a second later): wait for it
        // rather than fail, and count it.
        let began = Instant::now();
        ok_within(&s, A, Call::Connect { fd: c, addr: at }, SLOW_CALL).await;
        ok_within(&s, B, Call::Accept { fd: l }, SLOW_CALL).await;
        if began.elapsed() >= Duration::from_secs(1) {
            slow += 1;
        }
        sessions.push(s);
        if sessions.len() % 500 == 0 {
            println!(
                "  … {} sessions, {:.0} s",
                sessions.len(),
                start.elapsed().as_secs_f64()
            );
        }
    }
    let create = start.elapsed() / sessions.len().max(1) as u32;
    // Idle: the probes that follow calls have run out.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let (fds_after, rss_after, after) = (open_descriptors(), rss_kib(), KernelMemory::now());
    let n = sessions.len().max(1) as f64;
    let per = |before: u64, after: u64| (after as f64 - before as f64) / n;
    let result = PerSession {
        sessions: sessions.len(),
        capacity,
        stopped,
        descriptors: (fds_after as f64 - fds as f64) / n,
        rss_kib: per(rss, rss_after),
        slab_kib: per(kernel.slab, after.slab),
        unreclaimable_kib: per(kernel.unreclaimable_slab, after.unreclaimable_slab),
        percpu_kib: per(kernel.percpu, after.percpu),
        available_kib: per(after.available, kernel.available),
        memory: after,
        create,
        slow,
    };
    sb.shutdown().await;
    drop(sessions);
    Some(result)
}

/// Print what [`sessions_per_node`] measured, and the arithmetic for 10,000 sessions on this
/// machine with a container's usual descriptor limit.
fn report_sessions_per_node(m: &PerSession) {
    use plugboard::sandbox::Capacity;
    use plugboard::sandbox::IsolationMode;
    const TARGET: usize = 10_000;
    const CONTAINER_LIMIT: u64 = 1_048_576;
    let c = &m.capacity;
    println!("Sessions per node: two-host netns sessions, capture on, one connected TCP pair each");
    println!(
        "  capacity {} = min(max_sessions {}, (descriptor limit {} - reserve {}) / {} per session = {})",
        c.sessions,
        if c.max_sessions == usize::MAX {
            "unset".to_owned()
        } else {
            c.max_sessions.to_string()
        },
        c.descriptor_limit,
        c.reserved_descriptors,
        c.descriptors_per_session,
        c.by_descriptors
    );
    println!(
        "  live sessions reached: {}{}",
        m.sessions,
        m.stopped
            .as_deref()
            .map(|e| format!(" (stopped: {e})"))
            .unwrap_or_default()
    );
    println!(
        "  created in {:.1} ms each (session and its pair); {} connected only after a second or more",
        m.create.as_secs_f64() * 1e3,
        m.slow
    );
    println!("  per session:");
    println!(
        "    descriptors          {:>8.2}  (3 user sockets + overhead)",
        m.descriptors
    );
    println!("    resident (process)   {:>8.1} KiB", m.rss_kib);
    println!(
        "    kernel slab          {:>8.1} KiB  (unreclaimable {:.1} KiB)",
        m.slab_kib, m.unreclaimable_kib
    );
    println!("    kernel per-cpu       {:>8.1} KiB", m.percpu_kib);
    println!(
        "    MemAvailable drop    {:>8.1} KiB  (everything: process, kernel, page tables)",
        m.available_kib
    );
    // 10,000 sessions with a container's descriptor limit, on this machine's memory.
    let container = Capacity::of(TARGET, IsolationMode::Netns, CONTAINER_LIMIT);
    let fds = TARGET as f64 * m.descriptors + container.reserved_descriptors as f64;
    let memory_kib = TARGET as f64 * m.available_kib.max(m.rss_kib + m.slab_kib + m.percpu_kib);
    let total_kib = m.memory.total as f64;
    println!("  {TARGET} sessions with a {CONTAINER_LIMIT} descriptor limit on this machine:");
    println!(
        "    descriptors: {TARGET} x {:.2} + reserve {} = {:.0} of {CONTAINER_LIMIT} ({:.1}%); \
         descriptors alone would allow {}",
        m.descriptors,
        container.reserved_descriptors,
        fds,
        fds * 100.0 / CONTAINER_LIMIT as f64,
        container.by_descriptors
    );
    println!(
        "    memory: {TARGET} x {:.1} KiB = {:.2} GiB of {:.2} GiB total ({:.0}%); memory alone \
         would allow about {:.0} sessions",
        memory_kib / TARGET as f64,
        memory_kib / (1024.0 * 1024.0),
        total_kib / (1024.0 * 1024.0),
        memory_kib * 100.0 / total_kib,
        total_kib / (memory_kib / TARGET as f64)
    );
    println!(
        "    capacity with --max-sessions {TARGET}: {} ({})",
        container.sessions,
        if memory_kib < total_kib {
            "fits"
        } else {
            "does NOT fit in memory"
        }
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cycles: u64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(3000);
    // Words name the sections to run; none runs them all. (cargo bench passes `--bench`.)
    let sections: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-') && a.parse::<u64>().is_err())
        .collect();
    let run = |name: &str| sections.is_empty() || sections.contains(&name);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        if run("lifecycle") {
            // Warm-up.
            lifecycle_engine(200).await;
            lifecycle_direct(200);
            let engine = lifecycle_engine(cycles).await;
            let direct = lifecycle_direct(cycles);
            println!("TCP lifecycle ({cycles} cycles x {CALLS_PER_CYCLE} calls)");
            println!("  through the engine: {engine:>10.0} calls/s");
            println!("  direct syscalls:    {direct:>10.0} calls/s");
            println!("  overhead ratio:     {:>10.1}x", direct / engine);
        }
        if run("latency") {
            let (p50, p99) = event_latency(500).await;
            println!("Event latency, kernel readiness -> subscriber (500 datagrams)");
            println!(
                "  p50 {:>8.1} us   p99 {:>8.1} us",
                p50.as_secs_f64() * 1e6,
                p99.as_secs_f64() * 1e6
            );
        }
        if run("memory") {
            let n = 500;
            let (kib, events) = memory_per_session(n).await;
            println!("Memory per idle session with two connected TCP pairs ({n} sessions)");
            println!(
                "  {kib:.1} KiB resident per session (user space; {events} events logged each)"
            );
        }
        // Latency first: ending the capture-cost sessions leaves the kernel freeing
        // thousands of namespaces and their sockets for a while.
        if run("packets") {
            match packet_latency(500).await {
                Some((p50, p99)) => {
                    println!("Packet latency, kernel timestamp -> subscriber (500 datagrams)");
                    println!(
                        "  p50 {:>8.1} us   p99 {:>8.1} us",
                        p50.as_secs_f64() * 1e6,
                        p99.as_secs_f64() * 1e6
                    );
                }
                None => println!("Packet latency: skipped (network namespaces unavailable)"),
            }
        }
        if run("capture") {
            match capture_cost(cycles).await {
                Some((off, on)) => {
                    println!("TCP lifecycle in netns mode ({cycles} cycles, alternating rounds)");
                    println!("  capture off: {off:>10.0} calls/s");
                    println!("  capture on:  {on:>10.0} calls/s");
                    println!("  on / off:    {:>10.2}", on / off);
                }
                None => println!("Capture cost: skipped (network namespaces unavailable)"),
            }
        }
        if run("netns") {
            match netns_session_cost(200).await {
                Some((create, end)) => {
                    println!("Two-host netns session (200 sessions)");
                    println!(
                        "  create {:.2} ms   end {:.2} ms",
                        create.as_secs_f64() * 1e3,
                        end.as_secs_f64() * 1e3
                    );
                }
                None => {
                    println!("Two-host netns session: skipped (network namespaces unavailable)")
                }
            }
        }
        // Last: it holds the most, and the kernel frees thousands of namespaces after it.
        if run("capacity") {
            let wanted = std::env::var("PLUGBOARD_BENCH_SESSIONS")
                .ok()
                .and_then(|v| v.parse().ok());
            match sessions_per_node(wanted).await {
                Some(m) => report_sessions_per_node(&m),
                None => println!("Sessions per node: skipped (network namespaces unavailable)"),
            }
        }
    });
}

//! Differential test of Unix-domain sockets: random call sequences (stream, dgram, seqpacket,
//! socketpair, pathnames and abstract names, unlink) run both through the sandbox and directly
//! on this kernel, and every step must end the same way: ok with the same bytes, data and
//! source name, or the same errno. The direct side keeps each host's files in a directory of
//! its own and its abstract names under a prefix of its own, as the sandbox does, and names
//! are compared as the host sees them. Run in both isolation modes.
//!
//! Every socket is non-blocking on both sides, so no step depends on how long the other waits.

mod common;

use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use common::*;
use plugboard::config::SandboxLimits;
use plugboard::sandbox::{
    Addr, Call, CallOutcome, Errno, Family, HostId, Sandbox, ShutdownHow, SockType,
};
use socket2::{Domain, SockAddr, Socket, Type};

/// Scripts run per isolation mode, and steps per script.
const SCRIPTS: u64 = 80;
const STEPS: usize = 40;
/// The names scripts pick from, so that binds, connects and sends meet.
const NAMES: [&str; 4] = ["/tmp/s0.sock", "/run/s1.sock", "@a0", "@a1"];
const TYPES: [SockType; 3] = [SockType::Stream, SockType::Dgram, SockType::Seqpacket];

/// One step of a script; `usize` is a descriptor slot, names index [`NAMES`].
#[derive(Debug, Clone)]
enum Step {
    Socket(HostId, SockType),
    Pair(HostId, SockType),
    Bind(usize, usize),
    Listen(usize, i32),
    Connect(usize, usize),
    Accept(usize),
    Send(usize, Vec<u8>),
    Recv(usize, usize),
    Sendto(usize, usize, Vec<u8>),
    Recvfrom(usize, usize),
    Shutdown(usize, ShutdownHow),
    Close(usize),
    Unlink(HostId, usize),
}

/// How a step ended, in terms both sides share.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Ok {
        bytes: Option<usize>,
        data: Option<Vec<u8>>,
        peer: Option<String>,
    },
    Err(&'static str),
}

const DONE: Outcome = Outcome::Ok {
    bytes: None,
    data: None,
    peer: None,
};

/// What a script has done so far, so that steps meet more often than chance would let them:
/// connects go to names that were bound, accepts to sockets that listened, reads to sockets
/// that were sent to. Every step may still be one that fails.
#[derive(Default)]
struct Plan {
    /// The script's usual type (most sockets have it, so that they can meet).
    ty: Option<SockType>,
    /// Names some socket was bound to.
    bound: Vec<usize>,
    /// Slots that were bound.
    bound_slots: Vec<usize>,
    /// Names some socket listens on.
    listening_names: Vec<usize>,
    /// Slots that listened.
    listening: Vec<usize>,
    /// Slots made by socket(), which have done nothing else yet.
    fresh: Vec<usize>,
    /// A listener a client just connected to: accepting is likely next.
    due_accept: Option<usize>,
    /// Slots with a peer (connected, accepted, or one end of a pair).
    connected: Vec<usize>,
}

impl Plan {
    /// Note what a step that succeeded did; `slots` is the number of slots after it.
    fn learn(&mut self, step: &Step, slots: usize) {
        if let Some(slot) = step_slot(step) {
            self.fresh.retain(|s| *s != slot);
        }
        match *step {
            Step::Socket(..) => self.fresh.push(slots - 1),
            Step::Bind(slot, name) => {
                self.bound.push(name);
                self.bound_slots.push(slot);
            }
            Step::Listen(slot, _) => {
                self.listening.push(slot);
                self.listening_names.extend(self.names_of(slot));
            }
            Step::Connect(slot, name) => {
                self.connected.push(slot);
                self.due_accept = self
                    .listening
                    .iter()
                    .rev()
                    .find(|l| self.names_of(**l) == Some(name))
                    .copied();
            }
            Step::Accept(_) => self.connected.push(slots - 1),
            Step::Pair(..) => self.connected.extend([slots - 2, slots - 1]),
            _ => {}
        }
    }
}

impl Plan {
    /// The name `slot` was last bound to, as far as the plan knows.
    fn names_of(&self, slot: usize) -> Option<usize> {
        self.bound_slots
            .iter()
            .rposition(|s| *s == slot)
            .map(|i| self.bound[i])
    }
}

fn step_slot(step: &Step) -> Option<usize> {
    match step {
        Step::Socket(..) | Step::Pair(..) | Step::Unlink(..) => None,
        other => Some(slot_of(other)),
    }
}

fn pick(rng: &mut Rng, plan: &mut Plan, slots: usize, open: &[usize]) -> Step {
    let ty = *plan.ty.get_or_insert_with(|| TYPES[rng.below(TYPES.len())]);
    let host = |rng: &mut Rng| if rng.below(8) == 0 { B } else { A };
    let ty = |rng: &mut Rng| {
        if rng.below(5) == 0 {
            TYPES[rng.below(TYPES.len())]
        } else {
            ty
        }
    };
    let any = |rng: &mut Rng, among: &[usize], or: usize| {
        if among.is_empty() || rng.below(5) == 0 {
            or
        } else {
            among[rng.below(among.len())]
        }
    };
    if slots == 0 {
        return Step::Socket(host(rng), ty(rng));
    }
    // Mostly open descriptors, sometimes closed ones (which must give EBADF on both sides).
    let slot = if !open.is_empty() && rng.below(10) != 0 {
        open[rng.below(open.len())]
    } else {
        rng.below(slots)
    };
    let name = rng.below(NAMES.len());
    let bound = any(rng, &plan.bound, name);
    let listening = any(rng, &plan.listening_names, bound);
    let listener = any(rng, &plan.listening, slot);
    let fresh = any(rng, &plan.fresh, slot);
    let to_listen = any(rng, &plan.bound_slots, slot);
    let peer = any(rng, &plan.connected, slot);
    let data = vec![b'a' + rng.below(26) as u8; 1 + rng.below(5)];
    if let Some(listener) = plan.due_accept.take() {
        if rng.below(3) != 0 {
            return Step::Accept(listener);
        }
    }
    match rng.below(19) {
        0 | 1 => Step::Socket(host(rng), ty(rng)),
        2 => Step::Pair(host(rng), ty(rng)),
        3 | 4 => Step::Bind(slot, name),
        5 | 17 => Step::Listen(to_listen, 1 + rng.below(2) as i32),
        6 | 7 => Step::Connect(fresh, listening),
        8 | 9 => Step::Accept(listener),
        10 | 11 => Step::Send(peer, data),
        12 => Step::Recv(peer, 1 + rng.below(8)),
        13 => Step::Sendto(slot, bound, data),
        14 => Step::Recvfrom(any(rng, &plan.connected, slot), 1 + rng.below(8)),
        15 => Step::Shutdown(
            peer,
            [ShutdownHow::Read, ShutdownHow::Write, ShutdownHow::Both][rng.below(3)],
        ),
        16 => Step::Close(slot),
        _ => Step::Unlink(host(rng), bound),
    }
}

fn errno(e: &std::io::Error) -> Outcome {
    Outcome::Err(Errno::from_io(e).name)
}

/// The direct side: sockets of this process, each host's names kept apart as the sandbox
/// keeps them.
struct Direct {
    /// Each host's files live under `root/<host>`.
    root: PathBuf,
    /// Each host's abstract names start with `<prefix><host>/`.
    prefix: String,
    slots: Vec<(HostId, Option<Socket>)>,
}

impl Direct {
    fn new(tag: &str) -> Direct {
        let root = std::env::temp_dir().join(format!("pbd-{tag}"));
        for host in ["A", "B"] {
            for dir in ["tmp", "run"] {
                std::fs::create_dir_all(root.join(host).join(dir)).unwrap();
            }
        }
        Direct {
            root,
            prefix: format!("pbd-{tag}/"),
            slots: Vec::new(),
        }
    }

    fn kernel_name(&self, host: HostId, name: &str) -> SockAddr {
        match name.strip_prefix('@') {
            Some(abs) => SockAddr::unix(format!("\0{}{host}/{abs}", self.prefix)).unwrap(),
            None => SockAddr::unix(self.file(host, name)).unwrap(),
        }
    }

    fn file(&self, host: HostId, name: &str) -> PathBuf {
        self.root.join(host.to_string()).join(&name[1..])
    }

    /// A name the kernel reported, as host `host` sees it.
    fn shown(&self, host: HostId, addr: &SockAddr) -> Option<String> {
        if let Some(path) = addr.as_pathname() {
            let rest = path.strip_prefix(self.root.join(host.to_string())).unwrap();
            return Some(format!("/{}", rest.display()));
        }
        let abs = addr.as_abstract_namespace()?;
        let own = format!("{}{host}/", self.prefix);
        let name = abs.strip_prefix(own.as_bytes()).unwrap_or(abs);
        Some(format!("@{}", String::from_utf8_lossy(name)))
    }

    fn socket_type(ty: SockType) -> Type {
        match ty {
            SockType::Stream => Type::STREAM,
            SockType::Dgram => Type::DGRAM,
            SockType::Seqpacket => Type::SEQPACKET,
            SockType::Raw => unreachable!("no raw Unix sockets in these scripts"),
        }
    }

    fn run(&mut self, step: &Step) -> Outcome {
        let ok = |bytes: Option<usize>| Outcome::Ok {
            bytes,
            data: None,
            peer: None,
        };
        match step {
            Step::Socket(host, ty) => {
                let s =
                    Socket::new(Domain::UNIX, Self::socket_type(*ty).nonblocking(), None).unwrap();
                self.slots.push((*host, Some(s)));
                return DONE;
            }
            Step::Pair(host, ty) => {
                let (a, b) =
                    Socket::pair(Domain::UNIX, Self::socket_type(*ty).nonblocking(), None).unwrap();
                self.slots.push((*host, Some(a)));
                self.slots.push((*host, Some(b)));
                return DONE;
            }
            Step::Unlink(host, name) => {
                if NAMES[*name].starts_with('@') {
                    return Outcome::Err("ENOENT");
                }
                return std::fs::remove_file(self.file(*host, NAMES[*name]))
                    .map_or_else(|e| errno(&e), |()| DONE);
            }
            _ => {}
        }
        let slot = slot_of(step);
        let host = self.slots[slot].0;
        let Some(s) = self.slots[slot].1.as_ref() else {
            return Outcome::Err("EBADF");
        };
        let r = match step {
            Step::Bind(_, name) => s
                .bind(&self.kernel_name(host, NAMES[*name]))
                .map(|()| ok(None)),
            Step::Listen(_, backlog) => s.listen(*backlog).map(|()| ok(None)),
            Step::Connect(_, name) => s
                .connect(&self.kernel_name(host, NAMES[*name]))
                .map(|()| ok(None)),
            Step::Accept(_) => match s.accept() {
                Ok((conn, _)) => {
                    conn.set_nonblocking(true).unwrap();
                    self.slots.push((host, Some(conn)));
                    return DONE;
                }
                Err(e) => Err(e),
            },
            Step::Send(_, data) => s
                .send_with_flags(data, libc::MSG_NOSIGNAL)
                .map(|n| ok(Some(n))),
            Step::Recv(_, max) => {
                let mut buf = vec![MaybeUninit::<u8>::uninit(); *max];
                s.recv(&mut buf).map(|n| Outcome::Ok {
                    bytes: Some(n),
                    data: Some(init(&buf, n)),
                    peer: None,
                })
            }
            Step::Sendto(_, name, data) => s
                .send_to_with_flags(
                    data,
                    &self.kernel_name(host, NAMES[*name]),
                    libc::MSG_NOSIGNAL,
                )
                .map(|n| ok(Some(n))),
            Step::Recvfrom(_, max) => {
                let mut buf = vec![MaybeUninit::<u8>::uninit(); *max];
                s.recv_from(&mut buf).map(|(n, from)| Outcome::Ok {
                    bytes: Some(n),
                    data: Some(init(&buf, n)),
                    peer: self.shown(host, &from),
                })
            }
            Step::Shutdown(_, how) => s.shutdown((*how).into()).map(|()| ok(None)),
            Step::Close(_) => {
                self.slots[slot].1 = None;
                return DONE;
            }
            Step::Socket(..) | Step::Pair(..) | Step::Unlink(..) => unreachable!(),
        };
        r.unwrap_or_else(|e| errno(&e))
    }
}

impl Drop for Direct {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.root).ok(/* a test's leftovers in the temp dir */);
    }
}

fn init(buf: &[MaybeUninit<u8>], n: usize) -> Vec<u8> {
    // SAFETY: recv initialised the first n bytes.
    buf[..n]
        .iter()
        .map(|b| unsafe { b.assume_init() })
        .collect()
}

fn slot_of(step: &Step) -> usize {
    match step {
        Step::Bind(i, _)
        | Step::Listen(i, _)
        | Step::Connect(i, _)
        | Step::Accept(i)
        | Step::Send(i, _)
        | Step::Recv(i, _)
        | Step::Sendto(i, ..)
        | Step::Recvfrom(i, _)
        | Step::Shutdown(i, _)
        | Step::Close(i) => *i,
        Step::Socket(..) | Step::Pair(..) | Step::Unlink(..) => unreachable!(),
    }
}

fn name(i: usize) -> Addr {
    NAMES[i].parse().unwrap()
}

/// The sandbox side: the same script as calls.
async fn through_sandbox(s: &S, fds: &mut Vec<(HostId, i32)>, step: &Step) -> Outcome {
    let (host, call) = match step {
        Step::Socket(host, ty) => {
            let call = Call::Socket {
                family: Family::Unix,
                ty: *ty,
                protocol: None,
            };
            let fd = s.ok(*host, call).await.fd.unwrap();
            s.ok(*host, Call::Nonblocking { fd, on: true }).await;
            fds.push((*host, fd));
            return DONE;
        }
        Step::Pair(host, ty) => {
            let call = Call::Socketpair {
                family: Family::Unix,
                ty: *ty,
            };
            for fd in s.ok(*host, call).await.fds.unwrap() {
                s.ok(*host, Call::Nonblocking { fd, on: true }).await;
                fds.push((*host, fd));
            }
            return DONE;
        }
        Step::Unlink(host, i) => {
            let Addr::Unix(path) = name(*i) else {
                unreachable!()
            };
            if path.is_abstract {
                // Not a path: the API refuses it before the kernel; unlink(2) of "@a0" in the
                // working directory finds no such file.
                return Outcome::Err("ENOENT");
            }
            (*host, Call::Unlink { path })
        }
        _ => {
            let (host, fd) = fds[slot_of(step)];
            let call = match step {
                Step::Bind(_, i) => Call::Bind { fd, addr: name(*i) },
                Step::Listen(_, backlog) => Call::Listen {
                    fd,
                    backlog: *backlog,
                },
                Step::Connect(_, i) => Call::Connect { fd, addr: name(*i) },
                Step::Accept(_) => Call::Accept { fd },
                Step::Send(_, data) => Call::Send {
                    fd,
                    data: data.clone(),
                    icmp: None,
                },
                Step::Recv(_, max) => Call::Recv {
                    fd,
                    max: *max,
                    peek: false,
                },
                Step::Sendto(_, i, data) => Call::Sendto {
                    fd,
                    data: data.clone(),
                    addr: name(*i),
                    icmp: None,
                },
                Step::Recvfrom(_, max) => Call::Recvfrom {
                    fd,
                    max: *max,
                    peek: false,
                },
                Step::Shutdown(_, how) => Call::Shutdown { fd, how: *how },
                Step::Close(_) => Call::Close { fd },
                Step::Socket(..) | Step::Pair(..) | Step::Unlink(..) => unreachable!(),
            };
            (host, call)
        }
    };
    match s.call(host, call).await.outcome {
        CallOutcome::Ok(v) => match step {
            Step::Accept(_) => {
                let fd = v.fd.unwrap();
                s.ok(host, Call::Nonblocking { fd, on: true }).await;
                fds.push((host, fd));
                DONE
            }
            Step::Close(i) => {
                // Keep the slot pointing at a descriptor that is now closed, as the direct
                // side keeps an empty slot: both then answer EBADF.
                fds[*i].1 = 1000 + *i as i32;
                DONE
            }
            Step::Recvfrom(..) => Outcome::Ok {
                bytes: v.bytes,
                data: v.data,
                peer: v.peer.map(|p| p.to_string()),
            },
            _ => Outcome::Ok {
                bytes: v.bytes,
                data: v.data,
                peer: None,
            },
        },
        CallOutcome::Err(f) => Outcome::Err(f.errno.name),
        CallOutcome::Pending => panic!("a non-blocking call went pending"),
    }
}

async fn agree(sb: Sandbox, mode: &str) {
    // What the scripts reached, so that agreement is not only on errors.
    let (mut accepted, mut received, mut named_sources) = (0, 0, 0);
    for seed in 1..=SCRIPTS {
        let s = session(&sb).await;
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut direct = Direct::new(&format!("{}-{mode}-{seed}", std::process::id()));
        let mut fds = Vec::new();
        let mut script = Vec::new();
        let mut plan = Plan::default();
        for _ in 0..STEPS {
            let open: Vec<usize> = (0..fds.len())
                .filter(|i| direct.slots[*i].1.is_some())
                .collect();
            let step = pick(&mut rng, &mut plan, fds.len(), &open);
            script.push(step.clone());
            let mine = through_sandbox(&s, &mut fds, &step).await;
            let theirs = direct.run(&step);
            if std::env::var_os("PB_DEBUG").is_some() {
                eprintln!("{step:?} -> {mine:?}");
            }
            if let Outcome::Ok { data, peer, .. } = &mine {
                plan.learn(&step, fds.len());
                accepted += usize::from(matches!(step, Step::Accept(_)));
                received += usize::from(data.as_ref().is_some_and(|d| !d.is_empty()));
                named_sources += usize::from(peer.is_some());
            }
            assert_eq!(
                mine,
                theirs,
                "{mode}, seed {seed}: the sandbox and the kernel disagree at step {}; script so far: {script:#?}",
                script.len()
            );
        }
        s.0.end("script done").await.ok(/* already ended */);
    }
    assert!(
        accepted >= 5 && received >= 20 && named_sources >= 5,
        "{mode}: the scripts reached too little: {accepted} accepts, {received} receives with data, {named_sources} named sources"
    );
}

#[tokio::test]
async fn unix_sockets_agree_with_direct_syscalls_loopback() {
    let limits = SandboxLimits {
        max_calls_per_second: 1_000_000,
        max_events: 1_000_000,
        ..SandboxLimits::default()
    };
    agree(sandbox_with(limits), "loopback").await;
}

#[tokio::test]
async fn unix_sockets_agree_with_direct_syscalls_netns() {
    let limits = SandboxLimits {
        max_calls_per_second: 1_000_000,
        max_events: 1_000_000,
        ..SandboxLimits::default()
    };
    if let Some(sb) = netns_sandbox_with(limits) {
        agree(sb, "netns").await;
    }
}

#[test]
fn names_fit_both_sides() {
    // The direct side's names must fit sun_path as the sandbox's do.
    let d = Direct::new(&format!("{}-fit", std::process::id()));
    for n in NAMES {
        d.kernel_name(A, n);
    }
    assert!(d.file(A, NAMES[0]).as_os_str().as_bytes().len() < 100);
}

//! Differential test: random call sequences run both through the sandbox and directly on
//! socket2 sockets, and every step must end the same way (ok with the same bytes, or the same
//! errno). The direct side follows the loopback backend's two documented rules: an unbound
//! socket is bound to its host's address before it connects, listens or sends; and a TCP
//! connect or a datagram must reach a socket of the session (else ECONNREFUSED at once; a UDP
//! connect is not checked, the datagrams its socket then sends are).
//!
//! Every socket is non-blocking on both sides, so no step depends on how long the other waits;
//! a short pause after each step lets loopback traffic settle on both sides alike. Since the
//! sandbox also watches its sockets (peeking, TCP_INFO, SIOCINQ), agreement shows that watching
//! consumes nothing.

mod common;

use std::mem::MaybeUninit;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use common::*;
use plugboard::config::SandboxLimits;
use plugboard::sandbox::{
    Call, CallOutcome, Errno, Family, HostId, OptValue, Proto, ShutdownHow, SockOpt,
};
use socket2::{Domain, SockAddr, Socket, Type};

/// Scripts run, and steps per script.
const SCRIPTS: u64 = 80;
const STEPS: usize = 40;
/// Ports the scripts pick from, so that binds and connects meet.
const PORTS: [u16; 2] = [7101, 7102];

/// One step of a script.
#[derive(Debug, Clone)]
enum Step {
    Socket(HostId, Proto),
    Bind(usize, u16),
    Listen(usize, i32),
    Connect(usize, HostId, u16),
    Accept(usize),
    Send(usize, Vec<u8>),
    Recv(usize, usize),
    Sendto(usize, HostId, u16, Vec<u8>),
    Shutdown(usize, ShutdownHow),
    Close(usize),
    Reuse(usize),
}

/// How a step ended, in terms both sides share.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Ok {
        bytes: Option<usize>,
        data: Option<Vec<u8>>,
    },
    Err(&'static str),
}

fn pick(rng: &mut Rng, slots: usize, open: &[usize]) -> Step {
    let host = |rng: &mut Rng| if rng.below(2) == 0 { A } else { B };
    let port = |rng: &mut Rng| PORTS[rng.below(PORTS.len())];
    if slots == 0 {
        return Step::Socket(
            host(rng),
            if rng.below(4) == 0 {
                Proto::Udp
            } else {
                Proto::Tcp
            },
        );
    }
    // Mostly open descriptors, sometimes closed ones (which must give EBADF on both sides).
    let slot = if !open.is_empty() && rng.below(10) != 0 {
        open[rng.below(open.len())]
    } else {
        rng.below(slots)
    };
    match rng.below(13) {
        0 => Step::Socket(
            host(rng),
            if rng.below(4) == 0 {
                Proto::Udp
            } else {
                Proto::Tcp
            },
        ),
        1 => Step::Bind(slot, port(rng)),
        2 => Step::Listen(slot, 1 + rng.below(3) as i32),
        3 => Step::Connect(slot, host(rng), port(rng)),
        4 => Step::Accept(slot),
        5 => Step::Send(slot, vec![b'a' + rng.below(26) as u8; 1 + rng.below(5)]),
        6 => Step::Recv(slot, 1 + rng.below(8)),
        7 => Step::Sendto(slot, host(rng), port(rng), b"dg".to_vec()),
        8 => Step::Shutdown(
            slot,
            [ShutdownHow::Read, ShutdownHow::Write, ShutdownHow::Both][rng.below(3)],
        ),
        9 => Step::Close(slot),
        10 => Step::Reuse(slot),
        // Servers and clients meet more often when listen and connect are common.
        11 => Step::Connect(slot, host(rng), PORTS[0]),
        _ => Step::Accept(slot),
    }
}

/// The direct side: sockets of this process on two addresses of their own.
struct Direct {
    addrs: [IpAddr; 2],
    slots: Vec<(HostId, Option<Socket>)>,
}

fn errno(e: &std::io::Error) -> Outcome {
    Outcome::Err(Errno::from_io(e).name)
}

impl Direct {
    fn ip(&self, host: HostId) -> IpAddr {
        self.addrs[host.index()]
    }

    /// The loopback backend's rule: on a shared kernel a TCP connect must reach a listener of
    /// the session, and a datagram a UDP socket of the session bound to the destination.
    /// (A TCP sendto ignores its address and is not checked.)
    fn reachable(&self, from: &Socket, to: SocketAddr, connecting: bool) -> bool {
        let tcp = from.r#type().unwrap() == Type::STREAM;
        if tcp && !connecting {
            return true;
        }
        self.slots.iter().filter_map(|(_, s)| s.as_ref()).any(|s| {
            let same_type = (s.r#type().unwrap() == Type::STREAM) == tcp;
            let bound_there = s.local_addr().ok().and_then(|a| a.as_socket()) == Some(to);
            let listening = !tcp
                || plugboard::sandbox::probe::tcp_state(s)
                    == Some(plugboard::sandbox::TcpState::Listen);
            same_type && bound_there && listening
        })
    }

    /// A UDP connect is not checked (it only sets the destination); the datagrams a
    /// connected UDP socket sends are, like sendto's.
    fn connected_datagram_reachable(&self, s: &Socket) -> bool {
        let udp = s.r#type().unwrap() == Type::DGRAM;
        match s.peer_addr().ok().and_then(|a| a.as_socket()) {
            Some(peer) if udp => self.reachable(s, peer, false),
            _ => true,
        }
    }

    fn implicit_bind(&self, host: HostId, s: &Socket) -> std::io::Result<()> {
        let bound = s.local_addr()?.as_socket().is_some_and(|a| a.port() != 0);
        if !bound {
            s.bind(&SockAddr::from(SocketAddr::new(self.ip(host), 0)))?;
        }
        Ok(())
    }

    fn run(&mut self, step: &Step) -> Outcome {
        let ok = |bytes: Option<usize>| Outcome::Ok { bytes, data: None };
        match step {
            Step::Socket(host, proto) => {
                let ty = if *proto == Proto::Tcp {
                    Type::STREAM
                } else {
                    Type::DGRAM
                };
                let s = Socket::new(Domain::IPV4, ty.nonblocking(), None).unwrap();
                self.slots.push((*host, Some(s)));
                ok(None)
            }
            other => {
                let slot = match other {
                    Step::Bind(i, _)
                    | Step::Listen(i, _)
                    | Step::Connect(i, ..)
                    | Step::Accept(i)
                    | Step::Send(i, _)
                    | Step::Recv(i, _)
                    | Step::Sendto(i, ..)
                    | Step::Shutdown(i, _)
                    | Step::Close(i)
                    | Step::Reuse(i) => *i,
                    Step::Socket(..) => unreachable!(),
                };
                let host = self.slots[slot].0;
                let Some(s) = self.slots[slot].1.as_ref() else {
                    return Outcome::Err("EBADF");
                };
                let r = match other {
                    Step::Bind(_, port) => s
                        .bind(&SockAddr::from(SocketAddr::new(self.ip(host), *port)))
                        .map(|()| ok(None)),
                    Step::Listen(_, backlog) => {
                        let is_tcp = s.r#type().unwrap() == Type::STREAM;
                        (if is_tcp {
                            self.implicit_bind(host, s)
                        } else {
                            Ok(())
                        })
                        .and_then(|()| s.listen(*backlog))
                        .map(|()| ok(None))
                    }
                    Step::Connect(_, to, port)
                        if s.r#type().unwrap() == Type::STREAM
                            && !self.reachable(s, SocketAddr::new(self.ip(*to), *port), true) =>
                    {
                        return Outcome::Err("ECONNREFUSED");
                    }
                    Step::Connect(_, to, port) => self
                        .implicit_bind(host, s)
                        .and_then(|()| {
                            s.connect(&SockAddr::from(SocketAddr::new(self.ip(*to), *port)))
                        })
                        .map(|()| ok(None)),
                    Step::Accept(_) => match s.accept() {
                        Ok((conn, _)) => {
                            conn.set_nonblocking(true).unwrap();
                            self.slots.push((host, Some(conn)));
                            return ok(None);
                        }
                        Err(e) => Err(e),
                    },
                    Step::Send(..) if !self.connected_datagram_reachable(s) => {
                        return Outcome::Err("ECONNREFUSED");
                    }
                    Step::Send(_, data) => s
                        .send_with_flags(data, libc::MSG_NOSIGNAL)
                        .map(|n| ok(Some(n))),
                    Step::Recv(_, max) => {
                        let mut buf = vec![MaybeUninit::<u8>::uninit(); *max];
                        s.recv(&mut buf).map(|n| Outcome::Ok {
                            bytes: Some(n),
                            // SAFETY: recv initialised the first n bytes.
                            data: Some(
                                buf[..n]
                                    .iter()
                                    .map(|b| unsafe { b.assume_init() })
                                    .collect(),
                            ),
                        })
                    }
                    Step::Sendto(_, to, port, _)
                        if !self.reachable(s, SocketAddr::new(self.ip(*to), *port), false) =>
                    {
                        return Outcome::Err("ECONNREFUSED");
                    }
                    Step::Sendto(_, to, port, data) => self
                        .implicit_bind(host, s)
                        .and_then(|()| {
                            s.send_to_with_flags(
                                data,
                                &SockAddr::from(SocketAddr::new(self.ip(*to), *port)),
                                libc::MSG_NOSIGNAL,
                            )
                        })
                        .map(|n| ok(Some(n))),
                    Step::Shutdown(_, how) => s.shutdown((*how).into()).map(|()| ok(None)),
                    Step::Close(_) => {
                        self.slots[slot].1 = None;
                        return ok(None);
                    }
                    Step::Reuse(_) => s.set_reuse_address(true).map(|()| ok(None)),
                    Step::Socket(..) => unreachable!(),
                };
                r.unwrap_or_else(|e| errno(&e))
            }
        }
    }
}

/// The sandbox side: the same script as calls.
async fn through_sandbox(s: &S, fds: &mut Vec<(HostId, i32)>, step: &Step) -> Outcome {
    let call = match step {
        Step::Socket(host, proto) => {
            let fd = s.socket(*host, *proto).await;
            s.ok(*host, Call::Nonblocking { fd, on: true }).await;
            fds.push((*host, fd));
            return Outcome::Ok {
                bytes: None,
                data: None,
            };
        }
        Step::Bind(i, port) => (
            fds[*i],
            Call::Bind {
                fd: fds[*i].1,
                addr: (s.addr(fds[*i].0, *port)).into(),
            },
        ),
        Step::Listen(i, backlog) => (
            fds[*i],
            Call::Listen {
                fd: fds[*i].1,
                backlog: *backlog,
            },
        ),
        Step::Connect(i, to, port) => (
            fds[*i],
            Call::Connect {
                fd: fds[*i].1,
                addr: (s.addr(*to, *port)).into(),
            },
        ),
        Step::Accept(i) => (fds[*i], Call::Accept { fd: fds[*i].1 }),
        Step::Send(i, data) => (
            fds[*i],
            Call::Send {
                fd: fds[*i].1,
                data: data.clone(),
                icmp: None,
            },
        ),
        Step::Recv(i, max) => (
            fds[*i],
            Call::Recv {
                fd: fds[*i].1,
                max: *max,
                peek: false,
            },
        ),
        Step::Sendto(i, to, port, data) => (
            fds[*i],
            Call::Sendto {
                fd: fds[*i].1,
                data: data.clone(),
                addr: (s.addr(*to, *port)).into(),
                icmp: None,
            },
        ),
        Step::Shutdown(i, how) => (
            fds[*i],
            Call::Shutdown {
                fd: fds[*i].1,
                how: *how,
            },
        ),
        Step::Close(i) => (fds[*i], Call::Close { fd: fds[*i].1 }),
        Step::Reuse(i) => (
            fds[*i],
            Call::Setsockopt {
                fd: fds[*i].1,
                option: SockOpt::SoReuseaddr,
                value: OptValue::Bool(true),
            },
        ),
    };
    let ((host, _), call) = call;
    let accepting = matches!(step, Step::Accept(_));
    let closing = matches!(step, Step::Close(_));
    match s.call(host, call).await.outcome {
        CallOutcome::Ok(v) => {
            if accepting {
                let fd = v.fd.unwrap();
                s.ok(host, Call::Nonblocking { fd, on: true }).await;
                fds.push((host, fd));
                return Outcome::Ok {
                    bytes: None,
                    data: None,
                };
            }
            if closing {
                if let Step::Close(i) = step {
                    // Keep the slot pointing at a descriptor that is now closed, as the
                    // direct side keeps an empty slot: both then answer EBADF.
                    fds[*i].1 = 1000 + *i as i32;
                }
            }
            Outcome::Ok {
                bytes: v.bytes,
                data: v.data,
            }
        }
        CallOutcome::Err(f) => Outcome::Err(f.errno.name),
        CallOutcome::Pending => panic!("a non-blocking call went pending"),
    }
}

#[tokio::test]
async fn sandbox_and_direct_syscalls_agree() {
    let sb = sandbox_with(SandboxLimits {
        max_calls_per_second: 1_000_000,
        max_events: 1_000_000,
        ..SandboxLimits::default()
    });
    let pool: plugboard::config::Ipv4Cidr = private_pool().parse().unwrap();
    let base = u32::from(pool.network);
    for seed in 1..=SCRIPTS {
        let s = session(&sb).await;
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        // A fresh pair of addresses per script on the direct side, so leftovers in TIME_WAIT
        // from the last script do not meet this one (the sandbox gets fresh ones too).
        let n = (seed as u32 % 120) * 2;
        let mut direct = Direct {
            addrs: [
                IpAddr::V4((base + 1 + n).into()),
                IpAddr::V4((base + 2 + n).into()),
            ],
            slots: Vec::new(),
        };
        let mut fds = Vec::new();
        let mut script = Vec::new();
        for _ in 0..STEPS {
            let open: Vec<usize> = (0..fds.len())
                .filter(|i| direct.slots[*i].1.is_some())
                .collect();
            let step = pick(&mut rng, fds.len(), &open);
            script.push(step.clone());
            let mine = through_sandbox(&s, &mut fds, &step).await;
            let theirs = direct.run(&step);
            assert_eq!(
                mine,
                theirs,
                "seed {seed}: step {} {step:?} differs (sandbox vs direct); script so far: {script:?}",
                script.len()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        timeout(s.0.end("script done")).await.unwrap();
    }
    let _ = Family::Inet;
}

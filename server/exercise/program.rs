//! Built-in programs: an echo server (TCP, UDP and Unix-domain stream), a discard server (TCP
//! and UDP) and a client.
//! Each runs as a task that makes ordinary calls on its host through the session, so its
//! sockets are real, its calls are in the log like anyone's, and the limits apply to it. A
//! blocking call that goes pending is followed through the session's events. A program stops
//! when its session ends.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use super::ProgramSpec;
use crate::sandbox::{
    Addr, Call, CallFailure, CallOutcome, CallStatus, CallValue, Event, EventKind, Family, HostId,
    OptValue, Proto, SessionError, SessionHandle, SockOpt, SockType, Status,
};

/// Longest a program lets one of its calls block before following it through the events.
const CALL_WAIT: Duration = Duration::from_secs(5);
/// Pause before a program tries again after a limit or a failed accept.
const RETRY_PAUSE: Duration = Duration::from_millis(200);
/// Bytes a server program reads at once.
const READ_SIZE: usize = 4096;
/// Backlog of server programs.
const BACKLOG: i32 = 8;

/// Start `spec` in `session`; the task ends with the session.
pub fn start(spec: &ProgramSpec, session: SessionHandle) -> JoinHandle<()> {
    let spec = spec.clone();
    tokio::spawn(async move {
        let Some(host) = spec.host().parse::<HostId>().ok() else {
            return;
        };
        let runner = Runner { session, host };
        let ended = match spec {
            ProgramSpec::EchoTcp { port, .. } => tcp_server(runner, port, true).await,
            ProgramSpec::DiscardTcp { port, .. } => tcp_server(runner, port, false).await,
            ProgramSpec::EchoUdp { port, .. } => udp_server(runner, port, true).await,
            ProgramSpec::EchoUnix { path, .. } => unix_server(runner, &path).await,
            ProgramSpec::DiscardUdp { port, .. } => udp_server(runner, port, false).await,
            ProgramSpec::Client {
                to_host,
                port,
                message,
                expect_reply,
                ..
            } => client(runner, &to_host, port, message.into_bytes(), expect_reply).await,
        };
        // `None` is the session ending, the only way a program stops early.
        let _ = ended;
    })
}

/// A program's way to make calls on its host.
#[derive(Debug, Clone)]
struct Runner {
    session: SessionHandle,
    host: HostId,
}

/// A call's final outcome; `None` (through `?`) when the session ended.
type Outcome = Result<CallValue, CallFailure>;

impl Runner {
    async fn call(&self, call: Call) -> Option<Outcome> {
        let wait = CALL_WAIT.min(Duration::from_millis(
            self.session.info().limits.max_wait_ms,
        ));
        loop {
            match self.session.call(self.host, call.clone(), Some(wait)).await {
                Ok(reply) => {
                    return match reply.outcome {
                        CallOutcome::Ok(v) => Some(Ok(v)),
                        CallOutcome::Err(f) => Some(Err(f)),
                        CallOutcome::Pending => self.completion(reply.call_id, reply.seq).await,
                    };
                }
                Err(SessionError::Limit { .. }) => tokio::time::sleep(RETRY_PAUSE).await,
                Err(_) => return None,
            }
        }
    }

    /// Follow a pending call until its completion event, then fetch its full result.
    async fn completion(&self, call_id: u64, seq: u64) -> Option<Outcome> {
        let mut subscription = self.session.subscribe(seq);
        let mut backlog = std::mem::take(&mut subscription.backlog).into_iter();
        loop {
            let event: Arc<Event> = match backlog.next() {
                Some(e) => e,
                None => match subscription.live.recv().await {
                    Ok(e) => e,
                    Err(RecvError::Lagged(_)) => {
                        // Fell behind the log: subscribe afresh first, then ask for the call,
                        // so a completion between the two cannot be missed.
                        subscription = self.session.subscribe(self.session.last_seq());
                        match self.session.call_status(call_id).await.ok()? {
                            CallStatus::Done(reply) => return outcome_of(reply.outcome),
                            CallStatus::Pending { .. } => continue,
                        }
                    }
                    Err(RecvError::Closed) => return None,
                },
            };
            if event.kind == EventKind::SessionEnded {
                return None;
            }
            if event.call_id == Some(call_id) && event.status != Status::Pending {
                return match self.session.call_status(call_id).await.ok()? {
                    CallStatus::Done(reply) => outcome_of(reply.outcome),
                    CallStatus::Pending { .. } => None,
                };
            }
        }
    }

    async fn socket(&self, proto: Proto) -> Option<i32> {
        let v = self
            .call(Call::Socket {
                family: Family::Inet,
                ty: if proto == Proto::Tcp {
                    SockType::Stream
                } else {
                    SockType::Dgram
                },
                protocol: Some(proto),
            })
            .await?
            .ok()?;
        v.fd
    }

    /// A socket bound to the host's port `port` (the wildcard: the sandbox maps it where the
    /// isolation mode needs).
    async fn bound(&self, proto: Proto, port: u16) -> Option<i32> {
        let fd = self.socket(proto).await?;
        let reuse = Call::Setsockopt {
            fd,
            option: SockOpt::SoReuseaddr,
            value: OptValue::Bool(true),
        };
        self.call(reuse).await?.ok()?;
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
        self.call(Call::Bind {
            fd,
            addr: Addr::Ip(addr),
        })
        .await?
        .ok()?;
        Some(fd)
    }
}

/// A stream listener on `path` that echoes: unlink first, as servers do, since a file an
/// earlier socket left at the path would make bind fail with EADDRINUSE.
async fn unix_server(r: Runner, path: &str) -> Option<()> {
    let addr: Addr = path.parse().ok()?;
    let fd = r
        .call(Call::Socket {
            family: Family::Unix,
            ty: SockType::Stream,
            protocol: None,
        })
        .await?
        .ok()?
        .fd?;
    if let Some(name) = addr.unix().filter(|n| !n.is_abstract) {
        // ENOENT, the usual answer, is what the unlink is for: nothing was left behind.
        r.call(Call::Unlink { path: name }).await?.ok();
    }
    r.call(Call::Bind { fd, addr }).await?.ok()?;
    listening_server(r, fd, true).await
}

fn outcome_of(outcome: CallOutcome) -> Option<Outcome> {
    match outcome {
        CallOutcome::Ok(v) => Some(Ok(v)),
        CallOutcome::Err(f) => Some(Err(f)),
        CallOutcome::Pending => None,
    }
}

async fn tcp_server(r: Runner, port: u16, echo: bool) -> Option<()> {
    let fd = r.bound(Proto::Tcp, port).await?;
    listening_server(r, fd, echo).await
}

/// Listen on the bound stream socket `fd` and serve every connection it accepts.
async fn listening_server(r: Runner, fd: i32, echo: bool) -> Option<()> {
    r.call(Call::Listen {
        fd,
        backlog: BACKLOG,
    })
    .await?
    .ok()?;
    loop {
        match r.call(Call::Accept { fd }).await? {
            Ok(accepted) => {
                if let Some(conn) = accepted.fd {
                    tokio::spawn(serve_connection(r.clone(), conn, echo));
                }
            }
            Err(_) => tokio::time::sleep(RETRY_PAUSE).await,
        }
    }
}

async fn serve_connection(r: Runner, fd: i32, echo: bool) -> Option<()> {
    loop {
        let read = r
            .call(Call::Recv {
                fd,
                max: READ_SIZE,
                peek: false,
            })
            .await?;
        match read {
            Ok(v) if v.bytes.unwrap_or(0) > 0 => {
                if echo {
                    let data = v.data.unwrap_or_default();
                    if r.call(Call::Send {
                        fd,
                        data,
                        icmp: None,
                    })
                    .await?
                    .is_err()
                    {
                        break;
                    }
                }
            }
            // End of stream or an error: the peer is done.
            _ => break,
        }
    }
    r.call(Call::Close { fd }).await?.ok()?;
    Some(())
}

async fn udp_server(r: Runner, port: u16, echo: bool) -> Option<()> {
    let fd = r.bound(Proto::Udp, port).await?;
    loop {
        let read = r
            .call(Call::Recvfrom {
                fd,
                max: READ_SIZE,
                peek: false,
            })
            .await?;
        match read {
            Ok(v) => {
                if let (true, Some(addr)) = (echo, v.peer) {
                    let data = v.data.unwrap_or_default();
                    r.call(Call::Sendto {
                        fd,
                        data,
                        addr,
                        icmp: None,
                    })
                    .await?
                    .ok();
                }
            }
            Err(_) => tokio::time::sleep(RETRY_PAUSE).await,
        }
    }
}

async fn client(
    r: Runner,
    to_host: &str,
    port: u16,
    message: Vec<u8>,
    expect_reply: bool,
) -> Option<()> {
    let to: HostId = to_host.parse().ok()?;
    wait_for_listener(&r.session, to, port).await?;
    let ip = r
        .session
        .hosts()
        .into_iter()
        .find(|h| h.name == to)
        .and_then(|h| h.addrs.into_iter().find(IpAddr::is_ipv4))?;
    let fd = r.socket(Proto::Tcp).await?;
    let addr = SocketAddr::new(ip, port);
    let connected = r
        .call(Call::Connect {
            fd,
            addr: Addr::Ip(addr),
        })
        .await?
        .is_ok();
    let sent = connected
        && r.call(Call::Send {
            fd,
            data: message,
            icmp: None,
        })
        .await?
        .is_ok();
    if sent && expect_reply {
        let reply = Call::Recv {
            fd,
            max: READ_SIZE,
            peek: false,
        };
        r.call(reply).await?.ok();
    }
    r.call(Call::Close { fd }).await?.ok()?;
    Some(())
}

/// Wait until `host` has a listening TCP socket on `port`.
async fn wait_for_listener(session: &SessionHandle, host: HostId, port: u16) -> Option<()> {
    let is_listener = |e: &Event| {
        e.kind == EventKind::Listen
            && e.status == Status::Ok
            && e.host == Some(host)
            && e.tuple
                .and_then(|t| t.local)
                .is_some_and(|a| a.port() == Some(port))
    };
    let mut subscription = session.subscribe(0);
    if subscription.backlog.iter().any(|e| is_listener(e)) {
        return Some(());
    }
    loop {
        match subscription.live.recv().await {
            Ok(e) if is_listener(&e) => return Some(()),
            Ok(e) if e.kind == EventKind::SessionEnded => return None,
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => {
                // The listen may be among the events skipped: look in the log again.
                subscription = session.subscribe(0);
                if subscription.backlog.iter().any(|e| is_listener(e)) {
                    return Some(());
                }
            }
            Err(RecvError::Closed) => return None,
        }
    }
}

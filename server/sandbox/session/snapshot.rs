//! A session's [`Snapshot`]: every host and socket with what the kernel says of them now,
//! the blocked calls, the capture's figures and the usage of limits.

use tokio::time::Instant;

use super::SessionTask;

use crate::sandbox::event::Seq;
use crate::sandbox::isolation::diag::UnixDiag;
use crate::sandbox::net::{Family, Proto, SockOpt};
use crate::sandbox::socket::Sock;
use crate::sandbox::{HostSnapshot, PendingSnapshot, Snapshot, SocketSnapshot, Usage, now_ms};

impl SessionTask {
    pub(super) fn snapshot(&mut self) -> Snapshot {
        let hosts_info = self.host_infos();
        // What only unix_diag knows of Unix sockets: their peers and listeners' queues.
        let unix: Vec<Vec<(i32, UnixDiag, Option<i32>)>> = (0..self.hosts.len())
            .map(|hidx| {
                let fds: Vec<i32> = self.hosts[hidx]
                    .fds
                    .iter()
                    .filter(|(_, s)| s.proto == Proto::Unix)
                    .map(|(fd, _)| fd)
                    .collect();
                fds.into_iter()
                    .filter_map(|fd| {
                        let diag = self.unix_diag(hidx, fd)?;
                        let peer = diag.peer.and_then(|p| self.fd_of_inode(hidx, p));
                        Some((fd, diag, peer))
                    })
                    .collect()
            })
            .collect();
        let hosts = self
            .hosts
            .iter()
            .enumerate()
            .map(|(hidx, h)| {
                let info = hosts_info.iter().find(|i| i.name == h.id);
                HostSnapshot {
                    name: h.id,
                    addrs: info.map(|i| i.addrs.clone()).unwrap_or_default(),
                    ephemeral_ports: info.and_then(|i| i.ephemeral_ports),
                    sockets: h
                        .fds
                        .iter()
                        .map(|(fd, s)| {
                            let known = unix[hidx].iter().find(|(f, ..)| *f == fd);
                            socket_snapshot(fd, s, known.map(|(_, d, peer)| (*d, *peer)))
                        })
                        .collect(),
                    kernel_sockets: self.kernel_socket_snapshots(hidx),
                }
            })
            .collect();
        let idle_left = (self.last_activity + self.log.info.limits.idle_ttl())
            .saturating_duration_since(Instant::now());
        Snapshot {
            info: self.log.info.clone(),
            last_seq: self.log_len() as Seq,
            idle_expires_ms: now_ms() + idle_left.as_millis() as u64,
            ended: None,
            hosts,
            pending: self
                .pending
                .iter()
                .map(|p| PendingSnapshot {
                    call_id: p.call_id,
                    host: p.host,
                    fd: p.fd,
                    kind: p.call.kind(),
                })
                .collect(),
            capture: self.capture_stats(),
            usage: Usage {
                sockets: self.socket_count(),
                pending_calls: self.pending.len(),
                bytes_sent: self.bytes_sent,
                events: self.log_len(),
                hosts: self.hosts.len(),
            },
        }
    }
}

/// A socket as the snapshot shows it; `unix` is what unix_diag said of a Unix socket, and the
/// descriptor at its other end.
pub(super) fn socket_snapshot(
    fd: i32,
    sock: &Sock,
    unix: Option<(UnixDiag, Option<i32>)>,
) -> SocketSnapshot {
    let f = sock.probe();
    // The options that mean something for the socket's kind, in the order a form lists them.
    let ip = [
        SockOpt::SoReuseaddr,
        SockOpt::SoReuseport,
        SockOpt::SoLinger,
        SockOpt::SoRcvbuf,
        SockOpt::SoSndbuf,
    ];
    let buffers = [SockOpt::SoRcvbuf, SockOpt::SoSndbuf];
    let mut options: Vec<SockOpt> = match sock.proto {
        Proto::Tcp | Proto::Udp => ip.to_vec(),
        Proto::Icmp | Proto::Icmpv6 | Proto::Unix => buffers.to_vec(),
    };
    match sock.proto {
        Proto::Tcp => options.extend([SockOpt::TcpNodelay, SockOpt::SoKeepalive]),
        Proto::Udp => options.push(SockOpt::SoBroadcast),
        Proto::Icmp => options.push(SockOpt::IpTtl),
        Proto::Icmpv6 | Proto::Unix => {}
    }
    if sock.family == Family::Inet6 {
        options.push(SockOpt::Ipv6V6only);
    }
    SocketSnapshot {
        fd,
        tuple: sock.tuple(),
        nonblocking: sock.nonblocking,
        backlog: sock.backlog,
        tcp_state: f.tcp_state,
        recv_queue: f.recv_queue,
        send_queue: f.send_queue,
        accept_queue: f.accept_queue.or(unix.and_then(|(d, _)| d.queue)),
        accept_backlog: f.backlog.or(unix.and_then(|(d, _)| d.backlog)),
        peer_fd: unix.and_then(|(_, peer)| peer),
        options: options
            .into_iter()
            .filter_map(|option| {
                sock.get_option(option)
                    .ok()
                    .map(|value| crate::sandbox::OptionSetting { option, value })
            })
            .collect(),
    }
}

//! The pcapng export of a session's capture: the `packet` events of its log written back as
//! the file Wireshark and tshark read, with each packet's event and call as its comment.
//!
//! Everything comes from the events, so a live session and one read back from the store give
//! the same file: the captured bytes (`packet.frame`, hex), the length on the wire
//! (`packet.len`) and the kernel's timestamp (`packet.ts_ns`). The file holds one section
//! header, one interface per (host, interface) pair that sent a packet (`A:sw0`, `B:eth0`,
//! `A:lo`), and one enhanced packet block per packet, in `seq` order. Writing is pcap-file's;
//! this module only chooses what goes in.
//!
//! The work is bounded by the session's own limits: its capture keeps at most `max_packets`
//! packets of at most the snap length each (and `max_capture_bytes` in all), its log at most
//! `max_events` events, and each comment at most [`MAX_COMMENT_BYTES`].

use std::borrow::{Borrow, Cow};
use std::collections::HashMap;
use std::time::Duration;

use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::{DataLink, PcapError};

use super::event::{Event, EventKind, Preview};
use super::hex::from_hex;
use super::host::HostId;
use super::net::{Family, Proto, Tuple};
use super::net::{OptValue, ShutdownHow};

/// `if_tsresol` for timestamps in nanoseconds (10^-9 s), as the kernel gives them.
const NANOSECONDS: u8 = 9;
/// Most bytes of one packet's comment; a call's payload preview is already short, this only
/// keeps a pcapng option (16-bit length) safe whatever an event holds.
pub const MAX_COMMENT_BYTES: usize = 1024;

/// A session's packets as a pcapng file. `events` is the session's log (or any part of it
/// holding its packets and the calls behind them); `snaplen` is its capture snap length.
/// A log without packets (loopback mode) gives a file with only the section header.
pub fn write_pcapng<E: Borrow<Event>>(events: &[E], snaplen: u32) -> Result<Vec<u8>, PcapError> {
    // The event that records each call, to name the call behind a packet. A call that
    // blocked has a pending event and a result; the first (the log is in seq order) already
    // carries its arguments.
    let mut calls: HashMap<u64, &Event> = HashMap::new();
    let mut packets: Vec<&Event> = Vec::new();
    for event in events.iter().map(Borrow::borrow) {
        if let (Some(id), true) = (event.call_id, event.kind.is_call()) {
            calls.entry(id).or_insert(event);
        }
        if event.kind == EventKind::Packet && event.packet.is_some() {
            packets.push(event);
        }
    }
    packets.sort_by_key(|e| e.seq);

    let section = SectionHeaderBlock {
        options: vec![SectionHeaderOption::UserApplication(Cow::Owned(format!(
            "plugboard {}",
            env!("CARGO_PKG_VERSION")
        )))],
        ..SectionHeaderBlock::default()
    };
    let mut writer = PcapNgWriter::with_section_header(Vec::new(), section)?;
    // Interface ids by (sender, interface), numbered in order of first appearance.
    let mut interfaces: HashMap<(HostId, &str), u32> = HashMap::new();
    for event in packets {
        let Some(packet) = event.packet.as_deref() else {
            continue;
        };
        let key = (packet.from, packet.iface.as_str());
        let interface_id = match interfaces.get(&key) {
            Some(id) => *id,
            None => {
                let id = interfaces.len() as u32;
                writer.write_pcapng_block(interface(packet.from, &packet.iface, snaplen))?;
                interfaces.insert(key, id);
                id
            }
        };
        // The frame was written by `to_hex`; should a stored one be damaged, the packet
        // keeps its place, length and comment with no bytes.
        let data = from_hex(&packet.frame).unwrap_or_default();
        let call = event.call_id.and_then(|id| calls.get(&id).copied());
        writer.write_pcapng_block(EnhancedPacketBlock {
            interface_id,
            timestamp: Duration::from_nanos(packet.ts_ns),
            original_len: packet.len,
            data: Cow::Owned(data),
            options: vec![EnhancedPacketOption::Comment(Cow::Owned(comment(
                event, call,
            )))],
        })?;
    }
    Ok(writer.into_inner())
}

/// The interface a host sent by: `A:sw0`, described for a reader who does not know the
/// session's layout.
fn interface(host: HostId, iface: &str, snaplen: u32) -> InterfaceDescriptionBlock<'static> {
    let description = if iface == super::packet::LOOPBACK {
        format!("host {host}, loopback")
    } else {
        format!("host {host}, link to the session")
    };
    InterfaceDescriptionBlock {
        linktype: DataLink::ETHERNET,
        snaplen,
        options: vec![
            InterfaceDescriptionOption::IfName(Cow::Owned(format!("{host}:{iface}"))),
            InterfaceDescriptionOption::IfDescription(Cow::Owned(description)),
            InterfaceDescriptionOption::IfTsResol(NANOSECONDS),
        ],
    }
}

/// A packet's comment: its event, and the call that caused it, from the call's event when
/// the log holds it. `#16 connect(3, 10.0.0.2:8080) on A, call 5`;
/// `#34 packet (no call: the kernel on its own)`.
fn comment(packet: &Event, call: Option<&Event>) -> String {
    let seq = packet.seq;
    let mut text = match (packet.call_id, call) {
        (Some(id), Some(call)) => {
            let on = call.host.map(|h| format!(" on {h}")).unwrap_or_default();
            format!("#{seq} {}{on}, call {id}", describe_call(call))
        }
        (Some(id), _) => format!("#{seq} packet of call {id}"),
        (None, _) => format!("#{seq} packet (no call: the kernel on its own)"),
    };
    truncate(&mut text, MAX_COMMENT_BYTES);
    text
}

/// A call as C would write it, from the event that records it: its name, descriptor and
/// arguments, `connect(3, 10.0.0.2:8080)`.
pub fn describe_call(call: &Event) -> String {
    let fd = || call.fd.map(|fd| fd.to_string());
    let addr = || call.addr.map(|a| a.to_string());
    let data = || call.data.as_ref().map(preview);
    let max = || {
        call.max.map(|m| {
            if call.peek {
                format!("{m}, MSG_PEEK")
            } else {
                m.to_string()
            }
        })
    };
    let args: Vec<Option<String>> = match call.kind {
        EventKind::Socket | EventKind::Socketpair => match call.tuple {
            Some(t) => vec![Some(family(t.family).to_owned()), Some(kind(t).to_owned())],
            None => vec![],
        },
        EventKind::Unlink => vec![addr()],
        EventKind::Bind | EventKind::Connect => vec![fd(), addr()],
        EventKind::Listen => vec![fd(), call.backlog.map(|b| b.to_string())],
        EventKind::Send => vec![fd(), data()],
        EventKind::Sendto => vec![fd(), data(), addr()],
        EventKind::Recv | EventKind::Recvfrom => vec![fd(), max()],
        EventKind::Shutdown => vec![fd(), call.how.map(|h| shutdown(h).to_owned())],
        EventKind::Setsockopt => vec![
            fd(),
            call.option.map(|o| o.name().to_owned()),
            call.value.map(value),
        ],
        EventKind::Getsockopt => vec![fd(), call.option.map(|o| o.name().to_owned())],
        EventKind::Nonblocking => vec![fd(), call.nonblocking.map(|on| on.to_string())],
        EventKind::Accept
        | EventKind::Close
        | EventKind::Getsockname
        | EventKind::Getpeername
        | EventKind::SessionStarted
        | EventKind::HostAdded
        | EventKind::SessionEnded
        | EventKind::Incoming
        | EventKind::Data
        | EventKind::Eof
        | EventKind::Reset
        | EventKind::TcpState
        | EventKind::Isolation
        | EventKind::Packet
        | EventKind::KernelSocket => vec![fd()],
    };
    let args: Vec<String> = args.into_iter().flatten().collect();
    format!("{}({})", kind_name(call.kind), args.join(", "))
}

/// The event kind's name as its JSON spells it (`connect`, `sendto`).
fn kind_name(kind: EventKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{kind:?}").to_lowercase())
}

fn family(family: Family) -> &'static str {
    match family {
        Family::Inet => "AF_INET",
        Family::Inet6 => "AF_INET6",
        Family::Unix => "AF_UNIX",
    }
}

/// The socket type's C name; recordings from before the type was kept have TCP or UDP.
fn kind(tuple: Tuple) -> &'static str {
    match (tuple.ty, tuple.proto) {
        (Some(ty), _) => ty.c_name(),
        (None, Proto::Tcp) => "SOCK_STREAM",
        (None, _) => "SOCK_DGRAM",
    }
}

fn shutdown(how: ShutdownHow) -> &'static str {
    match how {
        ShutdownHow::Read => "SHUT_RD",
        ShutdownHow::Write => "SHUT_WR",
        ShutdownHow::Both => "SHUT_RDWR",
    }
}

fn value(value: OptValue) -> String {
    match value {
        OptValue::Bool(on) => i32::from(on).to_string(),
        OptValue::Int(n) => n.to_string(),
        OptValue::Linger { onoff, seconds } => {
            format!("{{l_onoff={}, l_linger={seconds}}}", i32::from(onoff))
        }
    }
}

/// A payload preview as an argument: `"hello"` (escaped) or `0x0a0b`, `…` when cut.
fn preview(p: &Preview) -> String {
    let more = if p.truncated { "…" } else { "" };
    match (&p.text, &p.hex) {
        (Some(text), _) => format!("\"{}{more}\"", text.escape_debug()),
        (None, Some(hex)) => format!("0x{hex}{more}"),
        (None, None) => String::new(),
    }
}

/// Cut `text` to at most `max` bytes, on a character boundary.
fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use pcap_file::pcapng::{Block, PcapNgReader};

    use super::*;
    use crate::sandbox::event::Status;
    use crate::sandbox::net::Tuple;
    use crate::sandbox::packet::{Captured, decode};

    /// An Ethernet + IPv4 + TCP frame from `src` to `dst` with `flags`, `seq` and `ack`.
    fn tcp_frame(src: SocketAddr, dst: SocketAddr, flags: u8, seq: u32, ack: u32) -> Vec<u8> {
        let (SocketAddr::V4(s), SocketAddr::V4(d)) = (src, dst) else {
            panic!("IPv4 only");
        };
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        f.extend([0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0]);
        f.extend(s.ip().octets());
        f.extend(d.ip().octets());
        f.extend(s.port().to_be_bytes());
        f.extend(d.port().to_be_bytes());
        f.extend(seq.to_be_bytes());
        f.extend(ack.to_be_bytes());
        f.extend([0x50, flags]);
        f.extend(64240u16.to_be_bytes());
        f.extend([0, 0, 0, 0]);
        f
    }

    fn packet_event(seq: u64, from: HostId, iface: &str, frame: &[u8], call: Option<u64>) -> Event {
        let captured = Captured {
            from,
            iface,
            ts_ns: 1_700_000_000_123_456_789 + seq,
            len: frame.len() as u32 + 10,
            bytes: frame,
        };
        let mut e = Event::new(EventKind::Packet, Status::Observed);
        e.seq = seq;
        e.host = Some(from);
        e.call_id = call;
        e.packet = Some(Box::new(decode(&captured, |_| None, |_, _| None)));
        e
    }

    fn connect_event(seq: u64, call_id: u64, status: Status) -> Event {
        let mut e = Event::new(EventKind::Connect, status);
        e.seq = seq;
        e.host = Some(HostId::A);
        e.fd = Some(3);
        e.call_id = Some(call_id);
        e.addr = Some("10.0.0.2:8080".parse().unwrap());
        e
    }

    /// Every block of a pcapng file, owned.
    fn blocks(bytes: &[u8]) -> (SectionHeaderBlock<'static>, Vec<Block<'static>>) {
        let mut reader = PcapNgReader::new(bytes).unwrap();
        let section = reader.section().clone().into_owned();
        let mut out = Vec::new();
        while let Some(block) = reader.next_block() {
            out.push(block.unwrap().into_owned());
        }
        (section, out)
    }

    #[test]
    fn no_packets_is_a_section_header_alone() {
        let bytes = write_pcapng::<Event>(&[], 256).unwrap();
        let (section, rest) = blocks(&bytes);
        assert!(rest.is_empty(), "{rest:?}");
        assert!(section.options.iter().any(|o| matches!(
            o,
            SectionHeaderOption::UserApplication(app) if app.starts_with("plugboard ")
        )));
    }

    #[test]
    fn packets_get_an_interface_per_host_link_and_their_call_as_comment() {
        let (a, b) = (
            "10.0.0.1:40000".parse().unwrap(),
            "10.0.0.2:8080".parse().unwrap(),
        );
        let syn = tcp_frame(a, b, 0x02, 1000, 0);
        let synack = tcp_frame(b, a, 0x12, 5000, 1001);
        let ack = tcp_frame(a, b, 0x10, 1001, 5001);
        let events = vec![
            connect_event(4, 5, Status::Pending),
            packet_event(5, HostId::A, "sw0", &syn, Some(5)),
            packet_event(6, HostId::B, "eth0", &synack, Some(5)),
            packet_event(7, HostId::A, "sw0", &ack, None),
            connect_event(8, 5, Status::Ok),
            packet_event(9, HostId::A, "lo", &syn, Some(99)),
        ];
        let bytes = write_pcapng(&events, 256).unwrap();
        let (_, blocks) = blocks(&bytes);
        let mut names = Vec::new();
        let mut packets = Vec::new();
        for block in blocks {
            match block {
                Block::InterfaceDescription(idb) => {
                    assert_eq!(idb.linktype, DataLink::ETHERNET);
                    assert_eq!(idb.snaplen, 256);
                    assert!(
                        idb.options
                            .contains(&InterfaceDescriptionOption::IfTsResol(NANOSECONDS))
                    );
                    for o in &idb.options {
                        match o {
                            InterfaceDescriptionOption::IfName(n) => names.push(n.to_string()),
                            InterfaceDescriptionOption::IfDescription(d) => {
                                names.push(d.to_string())
                            }
                            _ => {}
                        }
                    }
                }
                Block::EnhancedPacket(epb) => packets.push(epb),
                other => panic!("unexpected block {other:?}"),
            }
        }
        assert_eq!(
            names,
            [
                "A:sw0",
                "host A, link to the session",
                "B:eth0",
                "host B, link to the session",
                "A:lo",
                "host A, loopback",
            ]
        );
        let comments: Vec<String> = packets
            .iter()
            .map(|p| match &p.options[..] {
                [EnhancedPacketOption::Comment(c)] => c.to_string(),
                other => panic!("one comment: {other:?}"),
            })
            .collect();
        assert_eq!(
            comments,
            [
                "#5 connect(3, 10.0.0.2:8080) on A, call 5",
                "#6 connect(3, 10.0.0.2:8080) on A, call 5",
                "#7 packet (no call: the kernel on its own)",
                "#9 packet of call 99",
            ]
        );
        let ids: Vec<u32> = packets.iter().map(|p| p.interface_id).collect();
        assert_eq!(ids, [0, 1, 0, 2]);
        assert_eq!(&packets[0].data[..], &syn[..]);
        assert_eq!(&packets[1].data[..], &synack[..]);
        assert_eq!(packets[0].original_len, syn.len() as u32 + 10);
        assert_eq!(
            packets[0].timestamp,
            Duration::from_nanos(1_700_000_000_123_456_789 + 5)
        );
    }

    #[test]
    fn every_call_kind_is_described_with_its_arguments() {
        let call = |kind: EventKind, set: &dyn Fn(&mut Event)| {
            let mut e = Event::new(kind, Status::Ok);
            e.fd = Some(3);
            set(&mut e);
            describe_call(&e)
        };
        let to: SocketAddr = "10.0.0.2:53".parse().unwrap();
        assert_eq!(
            call(EventKind::Socket, &|e| {
                e.fd = None;
                e.tuple = Some(Tuple {
                    proto: Proto::Udp,
                    family: Family::Inet6,
                    ty: None,
                    local: None,
                    remote: None,
                });
            }),
            "socket(AF_INET6, SOCK_DGRAM)"
        );
        assert_eq!(
            call(EventKind::Listen, &|e| e.backlog = Some(4)),
            "listen(3, 4)"
        );
        assert_eq!(
            call(EventKind::Send, &|e| e.data = Some(Preview::of(b"hi\n"))),
            r#"send(3, "hi\n")"#
        );
        assert_eq!(
            call(EventKind::Sendto, &|e| {
                e.data = Some(Preview::of(&[0xff]));
                e.addr = Some(to.into());
            }),
            "sendto(3, 0xff, 10.0.0.2:53)"
        );
        assert_eq!(
            call(EventKind::Recv, &|e| {
                e.max = Some(16);
                e.peek = true;
            }),
            "recv(3, 16, MSG_PEEK)"
        );
        assert_eq!(
            call(EventKind::Shutdown, &|e| e.how = Some(ShutdownHow::Write)),
            "shutdown(3, SHUT_WR)"
        );
        assert_eq!(
            call(EventKind::Setsockopt, &|e| {
                e.option = Some(crate::sandbox::SockOpt::SoLinger);
                e.value = Some(OptValue::Linger {
                    onoff: true,
                    seconds: 0,
                });
            }),
            "setsockopt(3, SO_LINGER, {l_onoff=1, l_linger=0})"
        );
        assert_eq!(
            call(EventKind::Nonblocking, &|e| e.nonblocking = Some(true)),
            "nonblocking(3, true)"
        );
        assert_eq!(call(EventKind::Close, &|_| {}), "close(3)");
    }

    #[test]
    fn a_long_comment_is_cut_on_a_character_boundary() {
        let mut text = "é".repeat(MAX_COMMENT_BYTES);
        truncate(&mut text, MAX_COMMENT_BYTES - 1);
        assert!(text.len() < MAX_COMMENT_BYTES);
        assert!(text.chars().all(|c| c == 'é'));
    }
}

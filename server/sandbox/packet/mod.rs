//! Packets: one frame a host sent, as the kernel handed it to the capture, decoded into what a
//! learner reads on a ladder diagram — who sent it to whom, the protocol, for TCP the flags,
//! sequence and acknowledgement numbers, window and options, and a preview of the payload.
//!
//! Decoding is etherparse's (lax, so a frame cut at the snap length still shows its headers);
//! this module only chooses what to show and how to name it. The captured bytes travel with the
//! packet (hex, at most the snap length), so the page can draw the layers and the pcapng export
//! needs nothing else.

use std::net::{IpAddr, SocketAddr};

use etherparse::{LaxNetSlice, LaxSlicedPacket, TransportSlice};
use serde::{Deserialize, Serialize};

use super::event::Preview;

use super::host::HostId;
use super::net::{Addr, Family, Proto, SockType, Tuple};

mod describe;
pub mod icmp;

use describe::{icmpv4_name, icmpv6_name, mac, tcp_summary};

/// IP protocol number of IGMP.
const IGMP: u8 = 2;
/// The name of every host's loopback interface.
pub const LOOPBACK: &str = "lo";
/// The most bytes of a frame a capture keeps: a whole Ethernet frame with jumbo headroom.
pub const MAX_SNAPLEN: u32 = 65_535;
/// The fewest bytes of a frame a capture may keep: the longest Ethernet, IPv4 and TCP headers
/// (14 + 60 + 60), so every header survives the cut.
pub const MIN_SNAPLEN: u32 = 134;
/// Length of a UDP header.
const UDP_HEADER: usize = 8;

/// What the packet carries, at the highest layer decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PacketProto {
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    Arp,
    /// IPv4 or IPv6 carrying something else.
    Ip,
    /// A frame that is neither ARP nor IP.
    Other,
}

/// One packet a host sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Packet {
    /// The host that sent it.
    #[schema(value_type = String, example = "A")]
    pub from: HostId,
    /// The host it is for: the sender itself on `lo`; none for broadcast and multicast, or an
    /// address outside the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "B")]
    pub to: Option<HostId>,
    /// The interface it left by, in the sender's namespace (`lo`, `eth0`, `sw0`).
    pub iface: String,
    /// The kernel's timestamp, nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// The frame's length on the wire, in bytes.
    pub len: u32,
    /// What it carries.
    pub proto: PacketProto,
    /// Whether it is link housekeeping (ARP, IPv6 neighbour discovery, MLD) rather than the
    /// session's own traffic; the page hides these unless asked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub control: bool,
    /// Source and destination IP addresses, for IP packets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "10.0.0.1")]
    pub src: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "10.0.0.2")]
    pub dst: Option<IpAddr>,
    /// IPv4 TTL or IPv6 hop limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u8>,
    /// The TCP segment, for TCP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpSegment>,
    /// The UDP datagram, for UDP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp: Option<UdpDatagram>,
    /// The ICMP message, for ICMP and ICMPv6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp: Option<IcmpMessage>,
    /// The ARP message, for ARP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arp: Option<ArpMessage>,
    /// Bytes of transport payload (TCP or UDP data).
    pub payload_len: u32,
    /// The first bytes of that payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Preview>,
    /// One line as the textbooks write it: `SYN seq=0 win=64240 <mss 1460,sackOK,TS,wscale 7>`.
    pub summary: String,
    /// The captured bytes in hex, from the Ethernet header on; at most the snap length.
    pub frame: String,
    /// Whether `frame` was cut at the snap length.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cut: bool,
}

/// A TCP segment's header, as a learner reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TcpSegment {
    pub src_port: u16,
    pub dst_port: u16,
    /// Flags set, in the order tcpdump prints them: SYN, FIN, RST, PSH, ACK, URG, ECE, CWR.
    pub flags: Vec<String>,
    /// Sequence number as on the wire.
    pub seq: u32,
    /// Acknowledgement number as on the wire (meaningful only with ACK).
    pub ack: u32,
    /// `seq` relative to the sender's initial sequence number, once its SYN was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rel_seq: Option<u32>,
    /// `ack` relative to the receiver's initial sequence number, once its SYN was seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rel_ack: Option<u32>,
    /// Receive window as on the wire (before any scaling).
    pub window: u16,
    /// Options, when any.
    #[serde(default, skip_serializing_if = "TcpOptions::is_empty")]
    pub options: TcpOptions,
}

impl TcpSegment {
    /// Whether `flag` ("SYN", "ACK", …) is set.
    pub fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
}

/// TCP options a learner meets in a handshake.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TcpOptions {
    /// Maximum segment size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mss: Option<u16>,
    /// Window scale shift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wscale: Option<u8>,
    /// Selective acknowledgement permitted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sack_permitted: bool,
    /// SACK blocks (left, right edges).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sack: Vec<(u32, u32)>,
    /// Timestamp value and echo reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts_val: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts_ecr: Option<u32>,
}

impl TcpOptions {
    fn is_empty(&self) -> bool {
        *self == TcpOptions::default()
    }
}

/// A UDP datagram's header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UdpDatagram {
    pub src_port: u16,
    pub dst_port: u16,
    /// The UDP length field: header and payload.
    pub len: u16,
}

/// An ICMP or ICMPv6 message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IcmpMessage {
    #[serde(rename = "type")]
    pub icmp_type: u8,
    pub code: u8,
    /// What the type and code mean.
    pub name: String,
}

/// An ARP message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ArpMessage {
    /// "request" or "reply".
    pub op: String,
    #[schema(value_type = String)]
    pub sender_ip: std::net::Ipv4Addr,
    #[schema(value_type = String)]
    pub target_ip: std::net::Ipv4Addr,
}

impl Packet {
    /// The transport tuple from the sender's side, for TCP and UDP.
    pub fn tuple(&self) -> Option<Tuple> {
        let (src, dst) = (self.src?, self.dst?);
        let (proto, ty, sport, dport) = match (&self.tcp, &self.udp) {
            (Some(t), _) => (Proto::Tcp, SockType::Stream, t.src_port, t.dst_port),
            (None, Some(u)) => (Proto::Udp, SockType::Dgram, u.src_port, u.dst_port),
            (None, None) => return None,
        };
        Some(Tuple {
            proto,
            family: if src.is_ipv4() {
                Family::Inet
            } else {
                Family::Inet6
            },
            ty: Some(ty),
            local: Some(Addr::Ip(SocketAddr::new(src, sport))),
            remote: Some(Addr::Ip(SocketAddr::new(dst, dport))),
        })
    }

    /// Source and destination transport endpoints, for TCP and UDP.
    pub fn endpoints(&self) -> Option<(SocketAddr, SocketAddr)> {
        let (local, remote) = self.tuple()?.ip_ends();
        Some((local?, remote?))
    }
}

/// What the capture knew of a frame besides its bytes.
#[derive(Debug, Clone)]
pub struct Captured<'a> {
    pub from: HostId,
    pub iface: &'a str,
    pub ts_ns: u64,
    /// Length on the wire.
    pub len: u32,
    /// The bytes captured, at most the snap length.
    pub bytes: &'a [u8],
}

/// Decode a captured frame. `to` names the host an address belongs to; `isn` gives the
/// initial sequence number seen for a direction (source, destination), for relative numbers.
pub fn decode(
    frame: &Captured<'_>,
    to: impl Fn(IpAddr) -> Option<HostId>,
    isn: impl Fn(SocketAddr, SocketAddr) -> Option<u32>,
) -> Packet {
    let mut packet = Packet {
        from: frame.from,
        to: None,
        iface: frame.iface.to_owned(),
        ts_ns: frame.ts_ns,
        len: frame.len,
        proto: PacketProto::Other,
        control: false,
        src: None,
        dst: None,
        ttl: None,
        tcp: None,
        udp: None,
        icmp: None,
        arp: None,
        payload_len: 0,
        data: None,
        summary: String::new(),
        frame: super::hex::to_hex(frame.bytes),
        cut: (frame.bytes.len() as u32) < frame.len,
    };
    let on_lo = frame.iface == LOOPBACK;
    let Ok(sliced) = LaxSlicedPacket::from_ethernet(frame.bytes) else {
        packet.summary = format!("frame of {} bytes", frame.len);
        return packet;
    };
    // Bytes the IP header says the packet holds, to tell payload lengths when the frame is cut.
    let ip_payload_len: Option<usize>;
    match &sliced.net {
        Some(LaxNetSlice::Ipv4(ip)) => {
            let h = ip.header();
            packet.proto = PacketProto::Ip;
            packet.src = Some(IpAddr::V4(h.source_addr()));
            packet.dst = Some(IpAddr::V4(h.destination_addr()));
            packet.ttl = Some(h.ttl());
            ip_payload_len =
                Some(usize::from(h.total_len()).saturating_sub(usize::from(h.ihl()) * 4));
        }
        Some(LaxNetSlice::Ipv6(ip)) => {
            let h = ip.header();
            packet.proto = PacketProto::Ip;
            packet.src = Some(IpAddr::V6(h.source_addr()));
            packet.dst = Some(IpAddr::V6(h.destination_addr()));
            packet.ttl = Some(h.hop_limit());
            let ext_len = ip.extensions().slice().len();
            ip_payload_len = Some(usize::from(h.payload_length()).saturating_sub(ext_len));
        }
        Some(LaxNetSlice::Arp(arp)) => {
            packet.proto = PacketProto::Arp;
            packet.control = true;
            match arp.to_packet().try_eth_ipv4() {
                Ok(a) => {
                    let op = if a.operation == etherparse::ArpOperation::REQUEST {
                        "request"
                    } else {
                        "reply"
                    };
                    packet.summary = if op == "request" {
                        format!(
                            "ARP who has {}? tell {}",
                            a.target_ipv4_addr(),
                            a.sender_ipv4_addr()
                        )
                    } else {
                        format!("ARP {} is at {}", a.sender_ipv4_addr(), mac(&a.sender_mac))
                    };
                    packet.to = to(IpAddr::V4(a.target_ipv4_addr()));
                    if op == "request" {
                        // A request is broadcast: it is for everyone on the link.
                        packet.to = None;
                    }
                    packet.arp = Some(ArpMessage {
                        op: op.to_owned(),
                        sender_ip: a.sender_ipv4_addr(),
                        target_ip: a.target_ipv4_addr(),
                    });
                }
                Err(_) => packet.summary = "ARP".to_owned(),
            }
            return packet;
        }
        None => {
            packet.summary = match &sliced.link {
                Some(etherparse::LinkSlice::Ethernet2(eth)) => {
                    format!("ethertype 0x{:04x}", eth.ether_type().0)
                }
                _ => format!("frame of {} bytes", frame.len),
            };
            return packet;
        }
    }
    packet.to = if on_lo {
        Some(frame.from)
    } else {
        packet.dst.and_then(&to)
    };
    let header_len = |transport: usize| ip_payload_len.map(|n| n.saturating_sub(transport));
    match &sliced.transport {
        Some(TransportSlice::Tcp(tcp)) => {
            packet.proto = PacketProto::Tcp;
            let header = tcp.header_slice().len();
            let payload = tcp.payload();
            packet.payload_len = header_len(header).unwrap_or(payload.len()) as u32;
            if !payload.is_empty() {
                packet.data = Some(Preview::of(payload));
            }
            let mut flags = Vec::new();
            for (set, name) in [
                (tcp.syn(), "SYN"),
                (tcp.fin(), "FIN"),
                (tcp.rst(), "RST"),
                (tcp.psh(), "PSH"),
                (tcp.ack(), "ACK"),
                (tcp.urg(), "URG"),
                (tcp.ece(), "ECE"),
                (tcp.cwr(), "CWR"),
            ] {
                if set {
                    flags.push(name.to_owned());
                }
            }
            let options = tcp_options(tcp);
            let (src, dst) = (
                SocketAddr::new(
                    packet.src.unwrap_or(IpAddr::from([0, 0, 0, 0])),
                    tcp.source_port(),
                ),
                SocketAddr::new(
                    packet.dst.unwrap_or(IpAddr::from([0, 0, 0, 0])),
                    tcp.destination_port(),
                ),
            );
            let seq = tcp.sequence_number();
            let ack = tcp.acknowledgment_number();
            let rel_seq = if tcp.syn() {
                Some(0)
            } else {
                isn(src, dst).map(|i| seq.wrapping_sub(i))
            };
            let rel_ack = if tcp.ack() {
                isn(dst, src).map(|i| ack.wrapping_sub(i))
            } else {
                None
            };
            let segment = TcpSegment {
                src_port: tcp.source_port(),
                dst_port: tcp.destination_port(),
                flags,
                seq,
                ack,
                rel_seq,
                rel_ack,
                window: tcp.window_size(),
                options,
            };
            packet.summary = tcp_summary(&segment, packet.payload_len);
            packet.tcp = Some(segment);
        }
        Some(TransportSlice::Udp(udp)) => {
            packet.proto = PacketProto::Udp;
            let payload = udp.payload();
            packet.payload_len = header_len(UDP_HEADER).unwrap_or(payload.len()) as u32;
            if !payload.is_empty() {
                packet.data = Some(Preview::of(payload));
            }
            packet.summary = format!(
                "UDP {} → {} len={}",
                udp.source_port(),
                udp.destination_port(),
                packet.payload_len
            );
            packet.udp = Some(UdpDatagram {
                src_port: udp.source_port(),
                dst_port: udp.destination_port(),
                len: udp.length(),
            });
        }
        Some(TransportSlice::Icmpv4(icmp)) => {
            packet.proto = PacketProto::Icmp;
            let (t, c) = (icmp.type_u8(), icmp.code_u8());
            let name = icmpv4_name(t, c);
            packet.summary = format!("ICMP {name}");
            packet.icmp = Some(IcmpMessage {
                icmp_type: t,
                code: c,
                name,
            });
        }
        Some(TransportSlice::Icmpv6(icmp)) => {
            packet.proto = PacketProto::Icmpv6;
            let (t, c) = (icmp.type_u8(), icmp.code_u8());
            // Neighbour discovery (133–137) and multicast listener reports (130–132, 143)
            // keep the link working; they are not the session's own traffic.
            packet.control = matches!(t, 130..=137 | 143);
            if packet.control && !on_lo {
                packet.to = packet.dst.filter(|d| !d.is_multicast()).and_then(&to);
            }
            let name = icmpv6_name(t, c);
            packet.summary = format!("ICMPv6 {name}");
            packet.icmp = Some(IcmpMessage {
                icmp_type: t,
                code: c,
                name,
            });
        }
        None => {
            let number = sliced
                .net
                .as_ref()
                .and_then(|n| n.ip_payload_ref())
                .map_or(0, |p| p.ip_number.0);
            // IGMP reports keep multicast working on the link, like MLD for IPv6.
            packet.control = number == IGMP;
            packet.summary = if packet.control {
                "IGMP membership report".to_owned()
            } else {
                format!("IP protocol {number}")
            };
        }
    }
    packet
}

fn tcp_options(tcp: &etherparse::TcpSlice<'_>) -> TcpOptions {
    use etherparse::TcpOptionElement as O;
    let mut options = TcpOptions::default();
    for option in tcp.options_iterator().flatten() {
        match option {
            O::MaximumSegmentSize(mss) => options.mss = Some(mss),
            O::WindowScale(shift) => options.wscale = Some(shift),
            O::SelectiveAcknowledgementPermitted => options.sack_permitted = true,
            O::SelectiveAcknowledgement(first, rest) => {
                options.sack.push(first);
                options.sack.extend(rest.iter().flatten().copied());
            }
            O::Timestamp(val, ecr) => {
                options.ts_val = Some(val);
                options.ts_ecr = Some(ecr);
            }
            O::Noop => {}
        }
    }
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SYN from 10.0.0.1:40000 to 10.0.0.2:8080 with MSS, SACK permitted, timestamps and
    /// window scale, as Linux sends it.
    fn syn_frame() -> Vec<u8> {
        let mut f = Vec::new();
        f.extend([0u8; 12]);
        f.extend([0x08, 0x00]);
        // IPv4: version/IHL, TOS, total length 60, id, flags, TTL 64, TCP, checksum, addrs.
        f.extend([0x45, 0, 0, 60, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0]);
        f.extend([10, 0, 0, 1, 10, 0, 0, 2]);
        // TCP: ports, seq, ack, offset 10 words, SYN, window 64240, checksum, urgent.
        f.extend(40000u16.to_be_bytes());
        f.extend(8080u16.to_be_bytes());
        f.extend(1_000_000u32.to_be_bytes());
        f.extend(0u32.to_be_bytes());
        f.extend([0xa0, 0x02]);
        f.extend(64240u16.to_be_bytes());
        f.extend([0, 0, 0, 0]);
        // Options: MSS 1460, SACK permitted, TS, NOP, WS 7.
        f.extend([2, 4, 0x05, 0xb4, 4, 2, 8, 10]);
        f.extend(7u32.to_be_bytes());
        f.extend(0u32.to_be_bytes());
        f.extend([1, 3, 3, 7]);
        f
    }

    fn host_of(ip: IpAddr) -> Option<HostId> {
        match ip {
            IpAddr::V4(v4) if v4.octets()[..3] == [10, 0, 0] => {
                HostId::from_index(usize::from(v4.octets()[3]) - 1)
            }
            _ => None,
        }
    }

    #[test]
    fn a_syn_decodes_as_the_textbook_writes_it() {
        let bytes = syn_frame();
        let frame = Captured {
            from: HostId::A,
            iface: "sw0",
            ts_ns: 1,
            len: bytes.len() as u32,
            bytes: &bytes,
        };
        let p = decode(&frame, host_of, |_, _| None);
        assert_eq!(p.proto, PacketProto::Tcp);
        assert_eq!(p.to, Some(HostId::B));
        let t = p.tcp.as_ref().unwrap();
        assert_eq!(t.flags, ["SYN"]);
        assert_eq!(t.seq, 1_000_000);
        assert_eq!(t.rel_seq, Some(0));
        assert_eq!(t.options.mss, Some(1460));
        assert_eq!(t.options.wscale, Some(7));
        assert!(t.options.sack_permitted);
        assert_eq!(t.options.ts_val, Some(7));
        assert_eq!(
            p.summary,
            "SYN seq=0 win=64240 <mss 1460,sackOK,TS,wscale 7>"
        );
        assert!(!p.cut);
        let tuple = p.tuple().unwrap();
        assert_eq!(tuple.local, Some("10.0.0.1:40000".parse().unwrap()));
        assert_eq!(tuple.remote, Some("10.0.0.2:8080".parse().unwrap()));
        assert_eq!(tuple.ty, Some(SockType::Stream));
    }

    #[test]
    fn relative_numbers_come_from_each_sides_isn() {
        let mut bytes = syn_frame();
        // Turn it into an ACK of the peer's SYN: seq J+1, ack K+1, flags ACK.
        bytes[38..42].copy_from_slice(&1_000_001u32.to_be_bytes());
        bytes[42..46].copy_from_slice(&5_000_001u32.to_be_bytes());
        bytes[47] = 0x10;
        let frame = Captured {
            from: HostId::A,
            iface: "sw0",
            ts_ns: 1,
            len: bytes.len() as u32,
            bytes: &bytes,
        };
        let p = decode(&frame, host_of, |src, _| {
            Some(if src.port() == 40000 {
                1_000_000
            } else {
                5_000_000
            })
        });
        let t = p.tcp.unwrap();
        assert_eq!((t.rel_seq, t.rel_ack), (Some(1), Some(1)));
        assert_eq!(p.summary, "ACK ack=1 win=64240");
    }

    #[test]
    fn a_cut_frame_still_shows_its_headers() {
        let mut bytes = syn_frame();
        // Claim 100 bytes of payload the capture did not keep.
        bytes[16..18].copy_from_slice(&160u16.to_be_bytes());
        let frame = Captured {
            from: HostId::A,
            iface: "sw0",
            ts_ns: 1,
            len: bytes.len() as u32 + 100,
            bytes: &bytes,
        };
        let p = decode(&frame, host_of, |_, _| None);
        assert!(p.cut);
        assert_eq!(p.payload_len, 100);
        assert_eq!(p.tcp.unwrap().options.mss, Some(1460));
    }

    #[test]
    fn garbage_is_a_frame_not_a_panic() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37) as u8).collect();
            let frame = Captured {
                from: HostId::A,
                iface: "lo",
                ts_ns: 1,
                len: len as u32,
                bytes: &bytes,
            };
            let p = decode(&frame, host_of, |_, _| None);
            assert!(!p.summary.is_empty());
        }
    }
}

//! ICMP messages as a host's raw and ping sockets send and read them: the message a `send` or
//! `sendto` builds from its `icmp` header, what the sandbox tells a learner about a message it
//! sent (who computes the checksum, whether it is right, what the receiver does with a wrong
//! one), and the decoding of what a socket reads — with the IPv4 header a raw IPv4 socket gets
//! in front of each message.
//!
//! The bytes are etherparse's to read and checksum; this module only chooses what to show. What
//! the notes say was observed on Linux: a raw IPv4 socket sends its ICMP message as given; the
//! receiving kernel hands a copy of every ICMP message to its raw sockets before it checks the
//! checksum, then drops one with a wrong checksum (counted as `IcmpInCsumErrors`) and answers
//! nothing. A raw ICMPv6 socket always has the kernel compute the checksum (`IPV6_CHECKSUM`),
//! and a ping socket has the kernel set the identifier (the socket's port) and the checksum.

use crate::i18n::Message;
use std::net::Ipv4Addr;

use etherparse::{Icmpv4Slice, Icmpv4Type, Icmpv6Slice, Icmpv6Type, LaxIpv4Slice, ip_number::ICMP};
use serde::{Deserialize, Serialize};

use super::describe::{icmpv4_name, icmpv6_name};
use crate::sandbox::net::{Addr, Family, SockType};

/// Length of an ICMP header: type, code, checksum and the four bytes (identifier and sequence
/// number for an echo) that every message has.
pub const ICMP_HEADER: usize = 8;
/// The largest IP datagram: enough to peek at any ICMP message a socket has waiting.
pub const ICMP_PEEK_MAX: usize = 65_535;

/// The header of an ICMP message a learner asks `send` or `sendto` to build: type and code,
/// the identifier and sequence number of an echo, and the checksum, computed by the sandbox
/// when not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpHeader {
    /// The message type: 8 echo request, 0 echo reply (ICMPv6: 128 and 129).
    pub icmp_type: u8,
    /// The code (0 for echoes).
    pub code: u8,
    /// Identifier (bytes 5–6).
    pub id: u16,
    /// Sequence number (bytes 7–8).
    pub seq: u16,
    /// The checksum as given, to send a wrong one on purpose; none to have it computed.
    pub checksum: Option<u16>,
}

impl IcmpHeader {
    /// The message: this header before `payload`, with the checksum given, or else the right
    /// one for ICMPv4. An ICMPv6 checksum covers both IPv6 addresses and the kernel fills it
    /// in anyway, so it is left 0 there.
    pub fn message(&self, family: Family, payload: &[u8]) -> Vec<u8> {
        let rest = echo_bytes(self.id, self.seq);
        let checksum = self.checksum.unwrap_or_else(|| match family {
            Family::Inet => Icmpv4Type::Unknown {
                type_u8: self.icmp_type,
                code_u8: self.code,
                bytes5to8: rest,
            }
            .calc_checksum(payload),
            Family::Inet6 | Family::Unix => 0,
        });
        let mut message = Vec::with_capacity(ICMP_HEADER + payload.len());
        message.extend([self.icmp_type, self.code]);
        message.extend(checksum.to_be_bytes());
        message.extend(rest);
        message.extend(payload);
        message
    }
}

fn echo_bytes(id: u16, seq: u16) -> [u8; 4] {
    let (id, seq) = (id.to_be_bytes(), seq.to_be_bytes());
    [id[0], id[1], seq[0], seq[1]]
}

/// The right ICMPv4 checksum of `message`, whatever its checksum field holds; none for
/// fewer bytes than a header.
pub fn icmpv4_checksum(message: &[u8]) -> Option<u16> {
    let (head, payload) = message.split_at_checked(ICMP_HEADER)?;
    Some(
        Icmpv4Type::Unknown {
            type_u8: head[0],
            code_u8: head[1],
            bytes5to8: [head[4], head[5], head[6], head[7]],
        }
        .calc_checksum(payload),
    )
}

/// The kinds of socket that carry ICMP, which differ in what they read and who writes what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpSocket {
    /// SOCK_RAW, IPPROTO_ICMP: sends the message as given, reads it after its IPv4 header.
    RawV4,
    /// SOCK_RAW, IPPROTO_ICMPV6: the kernel computes the checksum; reads the message alone.
    RawV6,
    /// SOCK_DGRAM, IPPROTO_ICMP or IPPROTO_ICMPV6 ("ping" socket): echo requests only, the
    /// kernel sets the identifier and checksum; reads the message alone.
    Ping(Family),
}

impl IcmpSocket {
    /// The kind of an ICMP socket of `family` and `ty`.
    pub fn of(family: Family, ty: SockType) -> IcmpSocket {
        match (ty, family) {
            (SockType::Raw, Family::Inet6) => IcmpSocket::RawV6,
            (SockType::Raw, _) => IcmpSocket::RawV4,
            (_, family) => IcmpSocket::Ping(family),
        }
    }

    fn family(self) -> Family {
        match self {
            IcmpSocket::RawV4 => Family::Inet,
            IcmpSocket::RawV6 => Family::Inet6,
            IcmpSocket::Ping(family) => family,
        }
    }
}

/// The IPv4 header in front of what a raw IPv4 socket reads, as a learner reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Ipv4Summary {
    /// 4.
    pub version: u8,
    /// Header length in bytes (IHL × 4): 20 without options.
    pub header_len: u8,
    /// Header and payload, in bytes.
    pub total_len: u16,
    /// Time to live left when it arrived.
    pub ttl: u8,
    /// The protocol number of the payload: 1 for ICMP.
    pub protocol: u8,
    #[schema(value_type = String, example = "10.0.0.2")]
    pub src: Ipv4Addr,
    #[schema(value_type = String, example = "10.0.0.1")]
    pub dst: Ipv4Addr,
}

/// An ICMP message a socket sent or read, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DecodedIcmp {
    /// The IPv4 header, when the bytes began with one (what a raw IPv4 socket reads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<Ipv4Summary>,
    /// The message type (ICMPv6 numbers for an inet6 socket).
    #[serde(rename = "type")]
    pub icmp_type: u8,
    pub code: u8,
    /// What the type and code mean: "echo request", "echo reply", …
    pub name: String,
    /// Identifier and sequence number, for echoes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u16>,
    /// The checksum in the message.
    pub checksum: u16,
    /// Whether the checksum is right. Absent where it cannot be judged from the bytes: an
    /// ICMPv6 checksum covers both IPv6 addresses (the kernel checked it: it hands sockets no
    /// ICMPv6 message that fails), and a read that may have been cut short.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_ok: Option<bool>,
    /// The right checksum, when `checksum` is wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_checksum: Option<u16>,
    /// Bytes after the 8-byte ICMP header (the echo's data).
    pub payload_len: u32,
}

/// Decode what a socket of `kind` read: a raw IPv4 socket's bytes start with the IPv4 header.
/// `maybe_cut` says the read filled its buffer, so the message may be longer than the bytes
/// (an IPv4 header says how long it really is). None when the bytes are no ICMP message.
pub fn decode_read(kind: IcmpSocket, bytes: &[u8], maybe_cut: bool) -> Option<DecodedIcmp> {
    match kind {
        IcmpSocket::RawV4 => {
            let (ip, _) = LaxIpv4Slice::from_slice(bytes).ok()?;
            let h = ip.header();
            let payload = ip.payload();
            if payload.ip_number != ICMP {
                return None;
            }
            let mut decoded = decode_v4(payload.payload, !payload.incomplete)?;
            decoded.payload_len = usize::from(h.total_len())
                .saturating_sub(usize::from(h.ihl()) * 4 + ICMP_HEADER)
                as u32;
            decoded.ip = Some(Ipv4Summary {
                version: h.version(),
                header_len: h.ihl() * 4,
                total_len: h.total_len(),
                ttl: h.ttl(),
                protocol: h.protocol().0,
                src: h.source_addr(),
                dst: h.destination_addr(),
            });
            Some(decoded)
        }
        IcmpSocket::Ping(Family::Inet) => decode_v4(bytes, !maybe_cut),
        IcmpSocket::RawV6 | IcmpSocket::Ping(_) => decode_v6(bytes),
    }
}

/// An ICMPv4 message alone; its checksum judged when the bytes are `whole`.
fn decode_v4(message: &[u8], whole: bool) -> Option<DecodedIcmp> {
    let icmp = Icmpv4Slice::from_slice(message)
        .ok()
        .filter(|_| message.len() >= ICMP_HEADER)?;
    let (id, seq) = match icmp.icmp_type() {
        Icmpv4Type::EchoRequest(e) | Icmpv4Type::EchoReply(e) => (Some(e.id), Some(e.seq)),
        _ => (None, None),
    };
    let right = icmpv4_checksum(message).filter(|_| whole);
    let ok = right.map(|r| r == icmp.checksum());
    Some(DecodedIcmp {
        ip: None,
        icmp_type: icmp.type_u8(),
        code: icmp.code_u8(),
        name: icmpv4_name(icmp.type_u8(), icmp.code_u8()),
        id,
        seq,
        checksum: icmp.checksum(),
        checksum_ok: ok,
        expected_checksum: right.filter(|_| ok == Some(false)),
        payload_len: (message.len() - ICMP_HEADER) as u32,
    })
}

/// An ICMPv6 message alone (its checksum is the kernel's business).
fn decode_v6(message: &[u8]) -> Option<DecodedIcmp> {
    let icmp = Icmpv6Slice::from_slice(message).ok()?;
    let (id, seq) = match icmp.icmp_type() {
        Icmpv6Type::EchoRequest(e) | Icmpv6Type::EchoReply(e) => (Some(e.id), Some(e.seq)),
        _ => (None, None),
    };
    Some(DecodedIcmp {
        ip: None,
        icmp_type: icmp.type_u8(),
        code: icmp.code_u8(),
        name: icmpv6_name(icmp.type_u8(), icmp.code_u8()),
        id,
        seq,
        checksum: icmp.checksum(),
        checksum_ok: None,
        expected_checksum: None,
        payload_len: message.len().saturating_sub(ICMP_HEADER) as u32,
    })
}

/// What the sandbox tells a learner about an ICMP message a socket sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SentIcmp {
    /// The message as it went on the wire, where the bytes handed to the kernel are those
    /// (a raw IPv4 socket); elsewhere the kernel rewrites parts of it and the note says which.
    pub decoded: Option<DecodedIcmp>,
    /// Who wrote the checksum and the identifier, and whether the checksum is right.
    pub note: Option<crate::i18n::Message>,
    /// What will come of it, when it is not what the learner may expect (no reply).
    pub hint: Option<crate::i18n::Message>,
}

/// What to say of `message`, just sent by a socket of `kind` to `to`, built from `asked` when
/// the call gave an `icmp` header. `port` is the socket's port after the send (a ping socket's
/// identifier, which the kernel chose on the first send).
pub fn judge_sent(
    kind: IcmpSocket,
    message: &[u8],
    asked: Option<&IcmpHeader>,
    to: Option<Addr>,
    port: Option<u16>,
) -> SentIcmp {
    let mut notes: Vec<Message> = Vec::new();
    let mut hint = None;
    let family = kind.family();
    let receiver = to.map_or_else(|| "the receiver".to_owned(), |a| format!("{a}"));
    let given_checksum = match asked {
        Some(h) => h.checksum,
        None => message
            .get(2..4)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .filter(|c| *c != 0),
    };
    if let Some(&t) = message.first() {
        match (family, t) {
            (Family::Inet6, 0 | 8) => notes.push(Message::new(
                format!(
                    "type {t} is ICMPv4's numbering: ICMPv6 numbers echo request 128 and echo \
                     reply 129"
                ),
                format!("类型 {t} 是 ICMPv4 的编号：ICMPv6 的回显请求是 128，回显应答是 129"),
            )),
            (Family::Inet, 128 | 129) => notes.push(Message::new(
                format!(
                    "type {t} is ICMPv6's numbering: ICMPv4 numbers echo request 8 and echo \
                     reply 0"
                ),
                format!("类型 {t} 是 ICMPv6 的编号：ICMPv4 的回显请求是 8，回显应答是 0"),
            )),
            _ => {}
        }
    }
    let mut decoded = None;
    match kind {
        IcmpSocket::RawV4 => match icmpv4_checksum(message) {
            None => {
                let n = message.len();
                notes.push(Message::new(
                    format!(
                        "{n} bytes are fewer than the 8-byte ICMP header: the kernel sent them \
                         as given"
                    ),
                    format!("只有 {n} 字节，不足 8 字节的 ICMP 首部：内核按原样发送了它们"),
                ));
                hint = Some(Message::new(
                    format!(
                        "{receiver}'s kernel drops an ICMP message shorter than its header; \
                         nothing will answer"
                    ),
                    format!("{receiver} 的内核会丢弃比首部还短的 ICMP 报文；不会有任何应答"),
                ));
            }
            Some(right) => {
                decoded = decode_v4(message, true);
                let sent = u16::from_be_bytes([message[2], message[3]]);
                if sent != right {
                    let (who, who_zh) = if asked.is_some() {
                        ("the checksum given", "给出的校验和")
                    } else {
                        ("the checksum in data", "data 中的校验和")
                    };
                    notes.push(Message::new(
                        format!(
                            "{who}, {sent:#06x}, is wrong: the right one is {right:#06x}; a raw \
                             IPv4 socket sends the message as given, so it left with the wrong \
                             one"
                        ),
                        format!(
                            "{who_zh} {sent:#06x} 是错的：正确的是 {right:#06x}；原始 IPv4 套接字\
                             按原样发送报文，所以它带着错误的校验和发出去了"
                        ),
                    ));
                    let (what, zh) = if message[0] == 8 {
                        ("no echo reply will come", "不会有回显应答")
                    } else {
                        ("nothing will answer it", "不会有任何应答")
                    };
                    hint = Some(Message::new(
                        format!(
                            "{receiver}'s kernel checks the checksum of each ICMP message it \
                             receives and drops this one silently (counted as IcmpInCsumErrors), \
                             so {what}. Its raw ICMP sockets still get a copy: the kernel hands \
                             them each message before it checks the checksum. Send it again with \
                             the checksum {right:#06x}, or leave `checksum` out for the sandbox \
                             to compute it."
                        ),
                        format!(
                            "{receiver} 的内核会检查收到的每个 ICMP 报文的校验和，并悄悄丢弃这一个\
                             （计入 IcmpInCsumErrors），所以{zh}。它的原始 ICMP 套接字仍会收到一份\
                             副本：内核在检查校验和之前就把每个报文交给它们。请用校验和 \
                             {right:#06x} 重新发送，或者去掉 `checksum`，让沙箱来计算。"
                        ),
                    ));
                } else if asked.is_some_and(|h| h.checksum.is_none()) {
                    let payload = message.len() - ICMP_HEADER;
                    notes.push(Message::new(
                        format!(
                            "the sandbox computed the checksum, {right:#06x}, over the 8-byte \
                             header and the {payload}-byte payload; a raw IPv4 socket sends the \
                             message as given"
                        ),
                        format!(
                            "沙箱根据 8 字节首部和 {payload} 字节载荷算出了校验和 {right:#06x}；\
                             原始 IPv4 套接字按原样发送报文"
                        ),
                    ));
                }
            }
        },
        IcmpSocket::RawV6 => {
            let mut note = "the kernel computed the ICMPv6 checksum: it covers a pseudo-header \
                            with both IPv6 addresses, and a raw ICMPv6 socket always has the \
                            kernel fill it in (IPV6_CHECKSUM)"
                .to_owned();
            let mut zh = "内核计算了 ICMPv6 校验和：它覆盖一个含双方 IPv6 地址的伪首部，原始 \
                          ICMPv6 套接字总是由内核来填写它（IPV6_CHECKSUM）"
                .to_owned();
            if let Some(c) = given_checksum {
                note.push_str(&format!(", in place of the {c:#06x} given"));
                zh.push_str(&format!("，取代了给出的 {c:#06x}"));
            }
            notes.push(Message::new(note, zh));
        }
        IcmpSocket::Ping(_) => {
            let mut note = "a ping socket: the kernel".to_owned();
            let mut zh = "ping 套接字：内核".to_owned();
            match port {
                Some(port) => {
                    note.push_str(&format!(
                        " set the identifier to {port}, the socket's port (chosen by the kernel \
                         on the first send unless bound)"
                    ));
                    zh.push_str(&format!(
                        "把标识符设为套接字的端口 {port}（未绑定时由内核在第一次发送时选定）"
                    ));
                }
                None => {
                    note.push_str(" set the identifier to the socket's port");
                    zh.push_str("把标识符设为套接字的端口");
                }
            }
            let asked_id = asked
                .map(|h| h.id)
                .or_else(|| message.get(4..6).map(|c| u16::from_be_bytes([c[0], c[1]])));
            if let (Some(asked_id), Some(port)) = (asked_id, port) {
                if asked_id != port {
                    note.push_str(&format!(" in place of {asked_id}"));
                    zh.push_str(&format!("，取代了 {asked_id}"));
                }
            }
            note.push_str(" and computed the checksum");
            zh.push_str("，并计算了校验和");
            if let Some(c) = given_checksum {
                note.push_str(&format!(" in place of the {c:#06x} given"));
                zh.push_str(&format!("，取代了给出的 {c:#06x}"));
            }
            notes.push(Message::new(note, zh));
        }
    }
    SentIcmp {
        decoded,
        note: notes
            .into_iter()
            .fold(None, |all, note| Message::join(all, Some(note))),
        hint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo(id: u16, seq: u16, checksum: Option<u16>) -> IcmpHeader {
        IcmpHeader {
            icmp_type: 8,
            code: 0,
            id,
            seq,
            checksum,
        }
    }

    #[test]
    fn an_echo_request_is_built_with_the_kernels_checksum() {
        // As Linux put it on the wire: 08 00 8f94 0001 0001 "hi".
        let m = echo(1, 1, None).message(Family::Inet, b"hi");
        assert_eq!(crate::sandbox::hex::to_hex(&m), "08008f94000100016869");
        assert_eq!(icmpv4_checksum(&m), Some(0x8f94));
        let wrong = echo(1, 1, Some(0x1234)).message(Family::Inet, b"hi");
        assert_eq!(&wrong[2..4], &[0x12, 0x34]);
        // ICMPv6: the kernel's to fill in.
        let v6 = IcmpHeader {
            icmp_type: 128,
            ..echo(1, 3, None)
        }
        .message(Family::Inet6, b"v6");
        assert_eq!(&v6[..4], &[128, 0, 0, 0]);
    }

    #[test]
    fn a_raw_read_shows_the_ipv4_header_and_judges_the_checksum() {
        // An echo reply as a raw IPv4 socket read it: IPv4 header, then the message.
        let bytes = crate::sandbox::hex::from_hex(
            "4500001e2b9c000040013b2f0a0900020a09000100009794000100016869",
        )
        .unwrap();
        let d = decode_read(IcmpSocket::RawV4, &bytes, false).unwrap();
        let ip = d.ip.as_ref().unwrap();
        assert_eq!(
            (ip.version, ip.header_len, ip.ttl, ip.protocol),
            (4, 20, 64, 1)
        );
        assert_eq!(ip.src.to_string(), "10.9.0.2");
        assert_eq!((d.icmp_type, d.code, d.id, d.seq), (0, 0, Some(1), Some(1)));
        assert_eq!(d.name, "echo reply");
        assert_eq!((d.checksum, d.checksum_ok), (0x9794, Some(true)));
        assert_eq!(d.payload_len, 2);
        // The request with a wrong checksum, as the receiver's raw socket still sees it.
        let bad = crate::sandbox::hex::from_hex(
            "4500001e437340004001e3570a0900010a09000208001234000100026869",
        )
        .unwrap();
        let d = decode_read(IcmpSocket::RawV4, &bad, false).unwrap();
        assert_eq!(d.checksum_ok, Some(false));
        assert_eq!(d.expected_checksum, Some(0x8f93));
        // A ping socket reads the message alone; a full buffer may have cut it.
        let ping = crate::sandbox::hex::from_hex("000023706c1b00047070").unwrap();
        let d = decode_read(IcmpSocket::Ping(Family::Inet), &ping, false).unwrap();
        assert_eq!((d.id, d.checksum_ok), (Some(0x6c1b), Some(true)));
        let d = decode_read(IcmpSocket::Ping(Family::Inet), &ping, true).unwrap();
        assert_eq!(d.checksum_ok, None);
        assert!(decode_read(IcmpSocket::RawV4, b"abc", false).is_none());
    }

    #[test]
    fn notes_say_who_wrote_the_checksum() {
        let to = Some("10.0.0.2".parse().unwrap());
        let good = echo(1, 1, None);
        let j = judge_sent(
            IcmpSocket::RawV4,
            &good.message(Family::Inet, b""),
            Some(&good),
            to,
            None,
        );
        assert!(j.note.unwrap().en().contains("computed the checksum"));
        assert_eq!(j.hint, None);
        assert_eq!(j.decoded.unwrap().checksum_ok, Some(true));
        let bad = echo(1, 1, Some(0x1234));
        let j = judge_sent(
            IcmpSocket::RawV4,
            &bad.message(Family::Inet, b""),
            Some(&bad),
            to,
            None,
        );
        assert!(j.note.unwrap().en().contains("0x1234, is wrong"));
        assert!(j.hint.unwrap().en().contains("no echo reply will come"));
        let j = judge_sent(
            IcmpSocket::RawV6,
            &[128, 0, 0, 0, 0, 1, 0, 1],
            None,
            to,
            None,
        );
        assert!(j.note.unwrap().en().contains("IPV6_CHECKSUM"));
        let j = judge_sent(
            IcmpSocket::Ping(Family::Inet),
            &bad.message(Family::Inet, b""),
            Some(&bad),
            to,
            Some(4000),
        );
        let note = j.note.unwrap().en().to_owned();
        assert!(
            note.contains("identifier to 4000") && note.contains("in place of 1"),
            "{note}"
        );
        assert!(note.contains("0x1234 given"), "{note}");
        assert!(j.decoded.is_none());
    }
}

//! How a decoded packet is named for a learner: MAC addresses, a TCP segment's one-line summary
//! (`tcpdump` style), ICMP and ICMPv6 message names.

use super::TcpSegment;

/// A MAC address as `aa:bb:cc:dd:ee:ff`.
pub(super) fn mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// `SYN seq=0 win=64240 <mss 1460,sackOK,TS,wscale 7>`, relative numbers where known.
pub(super) fn tcp_summary(t: &TcpSegment, payload_len: u32) -> String {
    let flags = t.flags.join("+");
    let mut s = if flags.is_empty() {
        "[none]".to_owned()
    } else {
        flags
    };
    // The textbook form names seq for segments that carry it, ack whenever ACK is set.
    let carries_seq = t.has("SYN") || t.has("FIN") || t.has("RST") || payload_len > 0;
    if carries_seq || !t.has("ACK") {
        s.push_str(&format!(" seq={}", t.rel_seq.unwrap_or(t.seq)));
    }
    if t.has("ACK") {
        s.push_str(&format!(" ack={}", t.rel_ack.unwrap_or(t.ack)));
    }
    s.push_str(&format!(" win={}", t.window));
    if payload_len > 0 {
        s.push_str(&format!(" len={payload_len}"));
    }
    let o = &t.options;
    let mut opts = Vec::new();
    if let Some(mss) = o.mss {
        opts.push(format!("mss {mss}"));
    }
    if o.sack_permitted {
        opts.push("sackOK".to_owned());
    }
    if !o.sack.is_empty() {
        opts.push(format!("sack {}", o.sack.len()));
    }
    if o.ts_val.is_some() {
        opts.push("TS".to_owned());
    }
    if let Some(ws) = o.wscale {
        opts.push(format!("wscale {ws}"));
    }
    if !opts.is_empty() && t.has("SYN") {
        s.push_str(&format!(" <{}>", opts.join(",")));
    }
    s
}

/// An ICMP message's name from its type and code.
pub(super) fn icmpv4_name(t: u8, c: u8) -> String {
    match (t, c) {
        (0, _) => "echo reply".to_owned(),
        (8, _) => "echo request".to_owned(),
        (3, 0) => "destination unreachable (network)".to_owned(),
        (3, 1) => "destination unreachable (host)".to_owned(),
        (3, 2) => "destination unreachable (protocol)".to_owned(),
        (3, 3) => "destination unreachable (port)".to_owned(),
        (3, 4) => "destination unreachable (fragmentation needed)".to_owned(),
        (3, 13) => "destination unreachable (administratively prohibited)".to_owned(),
        (3, c) => format!("destination unreachable (code {c})"),
        (11, _) => "time exceeded".to_owned(),
        (5, _) => "redirect".to_owned(),
        (t, c) => format!("type {t} code {c}"),
    }
}

/// An ICMPv6 message's name from its type and code.
pub(super) fn icmpv6_name(t: u8, c: u8) -> String {
    match (t, c) {
        (1, 0) => "destination unreachable (no route)".to_owned(),
        (1, 1) => "destination unreachable (administratively prohibited)".to_owned(),
        (1, 3) => "destination unreachable (address)".to_owned(),
        (1, 4) => "destination unreachable (port)".to_owned(),
        (1, c) => format!("destination unreachable (code {c})"),
        (2, _) => "packet too big".to_owned(),
        (3, _) => "time exceeded".to_owned(),
        (128, _) => "echo request".to_owned(),
        (129, _) => "echo reply".to_owned(),
        (130, _) => "multicast listener query".to_owned(),
        (131, _) => "multicast listener report".to_owned(),
        (132, _) => "multicast listener done".to_owned(),
        (133, _) => "router solicitation".to_owned(),
        (134, _) => "router advertisement".to_owned(),
        (135, _) => "neighbour solicitation".to_owned(),
        (136, _) => "neighbour advertisement".to_owned(),
        (137, _) => "redirect".to_owned(),
        (143, _) => "multicast listener report v2".to_owned(),
        (t, c) => format!("type {t} code {c}"),
    }
}

// A captured frame taken apart, layer by layer, the way the lessons draw the TCP/IP stack:
// link (Ethernet II, ARP), network (IPv4, IPv6, ICMP, IGMP), transport (TCP, UDP) and
// application (the payload). Every field keeps the byte range it came from, so the packet
// view can light up its bytes in the hex dump. Pure: hex in, plain objects out, no DOM.
// Frames cut at the snap length are read as far as their bytes go; garbage is an error.

import { fill as fmt, localize } from './i18n.js';

/** The four layers of the TCP/IP model, in the order a frame nests them. */
export const STACK = ['link', 'network', 'transport', 'application'];

/** What each layer of the stack does, in one line. */
export const LAYER_ROLE = {
  get link() { return tr('moves the frame across one link, between two interfaces'); },
  get network() { return tr('carries the packet from the source host to the destination host'); },
  get transport() { return tr('delivers bytes between two sockets, named by their ports'); },
  get application() { return tr('what the programs sent: the bytes of send() and sendto()'); },
};

// ------------------------------------------------------------------------ the overlay
// The layers overlay labels what the topology and the ladder draw with the layer it belongs
// to: calls are the socket API a program sees, ports and tuples the transport, host addresses
// and routes the network, the wire between hosts the link. A Unix-domain socket has no
// network or link layer at all: the kernel copies its bytes from one socket to the other.

/** The overlay's tags: what each place in the stack is called (`short` where room is
 * scarce) and what it covers there. */
export const OVERLAY = {
  application: { get short() { return tr('socket API'); }, get tag() { return tr('socket API'); }, get title() { return tr('Application layer, at the socket API: the calls a program makes (socket, bind, connect, send…) on a descriptor.'); } },
  transport: { get short() { return tr('transport'); }, get tag() { return tr('transport'); }, get title() { return tr('Transport layer: ports and the (protocol, address, port) tuple name the two sockets of a conversation (TCP, UDP).'); } },
  network: { get short() { return tr('network'); }, get tag() { return tr('network'); }, get title() { return tr('Network layer: host addresses and routes carry packets from host to host (IP; ICMP lives here too, so an ICMP socket has an address but no port).'); } },
  link: { get short() { return tr('link'); }, get tag() { return tr('link'); }, get title() { return tr('Link layer: the wire between two interfaces, here a veth pair between the hosts’ network namespaces (frames with MAC addresses).'); } },
  loopback: { get short() { return tr('link: lo'); }, get tag() { return tr('link: lo'); }, get title() { return tr('Link layer: in loopback mode every host is an address of the server’s own lo interface; packets never leave the machine and are not captured.'); } },
  wire: { get short() { return tr('L2–L4 packet'); }, get tag() { return tr('link · network · transport'); }, get title() { return tr('A packet on the wire carries every layer: an Ethernet frame (link) holding an IP packet (network) holding a TCP or UDP segment (transport). Open it to see each layer’s fields.'); } },
  local: { get short() { return tr('no net/link'); }, get tag() { return tr('no network or link layer'); }, get title() { return tr('A Unix-domain socket never leaves its host: no IP address, no port, no packet, no wire. The kernel copies the bytes from one socket to the other; a name is a path (a socket file) or an @abstract name.'); } },
};

/** Event kinds the kernel reports about a connection (transport), not a call. */
const TRANSPORT_EVENTS = new Set(['incoming', 'data', 'eof', 'reset', 'tcp_state', 'kernel_socket']);
/** Events of the session itself, outside the stack. */
const SESSION_EVENTS = new Set(['session_started', 'host_added', 'session_ended']);

/** Where an event sits in the overlay: 'application' for a call, 'wire' for a packet,
 * 'transport' for what the kernel did to a connection ('network' for ICMP, 'local' for a
 * Unix socket), 'network' for a sandbox refusal of an address; null for session events. */
export function overlayOfEvent(ev) {
  if (!ev || SESSION_EVENTS.has(ev.kind)) return null;
  if (ev.kind === 'packet') return 'wire';
  if (ev.kind === 'isolation') return 'network';
  const proto = ev.tuple ? ev.tuple.proto : null;
  if (TRANSPORT_EVENTS.has(ev.kind)) {
    if (proto === 'unix') return 'local';
    if (proto === 'icmp' || proto === 'icmpv6') return 'network';
    return 'transport';
  }
  return 'application';
}

/** Where a socket's address sits: its ports and tuple in the transport layer, an ICMP
 * socket's bare address in the network layer, a Unix name in no network layer at all. */
export function overlayOfAddress(socket) {
  if (!socket) return null;
  if (socket.proto === 'unix') return 'local';
  if (socket.proto === 'icmp' || socket.proto === 'icmpv6') return 'network';
  return 'transport';
}

/** Where a topology wire sits: the link between hosts (a veth pair, or lo in loopback mode),
 * or for a Unix-domain connection no link at all. */
export function overlayOfWire(wire, isolation) {
  if (wire && wire.proto === 'unix') return 'local';
  return isolation === 'loopback' ? 'loopback' : 'link';
}

const ETHERTYPES = { 0x0800: 'IPv4', 0x0806: 'ARP', 0x86dd: 'IPv6', 0x8100: '802.1Q VLAN tag' };

const IP_PROTOCOLS = {
  0: 'IPv6 hop-by-hop options', 1: 'ICMP', 2: 'IGMP', 6: 'TCP', 17: 'UDP', 41: 'IPv6 in IPv4',
  43: 'IPv6 routing header', 44: 'IPv6 fragment header', 47: 'GRE', 50: 'ESP', 51: 'AH',
  58: 'ICMPv6', 59: 'no next header', 60: 'IPv6 destination options', 132: 'SCTP',
};

/** IPv6 extension headers this parser walks: next header → name. */
const IPV6_EXTENSIONS = { 0: 'Hop-by-hop options', 43: 'Routing', 44: 'Fragment', 60: 'Destination options', 51: 'Authentication' };

const ICMP_TYPES = {
  0: 'echo reply', 3: 'destination unreachable', 4: 'source quench', 5: 'redirect', 8: 'echo request',
  11: 'time exceeded', 12: 'parameter problem', 13: 'timestamp', 14: 'timestamp reply',
};

const ICMP_UNREACHABLE = {
  0: 'network unreachable', 1: 'host unreachable', 2: 'protocol unreachable', 3: 'port unreachable',
  4: 'fragmentation needed', 5: 'source route failed', 9: 'network prohibited', 10: 'host prohibited',
  13: 'communication prohibited',
};

const ICMPV6_TYPES = {
  1: 'destination unreachable', 2: 'packet too big', 3: 'time exceeded', 4: 'parameter problem',
  128: 'echo request', 129: 'echo reply', 130: 'multicast listener query', 131: 'multicast listener report',
  132: 'multicast listener done', 133: 'router solicitation', 134: 'router advertisement',
  135: 'neighbour solicitation', 136: 'neighbour advertisement', 137: 'redirect', 143: 'multicast listener report v2',
};

const TCP_FLAGS = [
  [0x100, 'NS', 'ECN nonce (historic)'],
  [0x080, 'CWR', 'the sender reduced its congestion window'],
  [0x040, 'ECE', 'ECN echo: congestion was seen on the way'],
  [0x020, 'URG', 'the urgent pointer is valid'],
  [0x010, 'ACK', 'the acknowledgement number is valid'],
  [0x008, 'PSH', 'push: hand the data to the program now'],
  [0x004, 'RST', 'reset: abort the connection'],
  [0x002, 'SYN', 'synchronise: open a connection, with the sender’s initial sequence number'],
  [0x001, 'FIN', 'finish: the sender has no more data'],
];

// ------------------------------------------------------------------------ formatting

/** Bytes of a hex string (whitespace ignored); null when it is not hex. */
export function hexBytes(hex) {
  if (typeof hex !== 'string') return null;
  const clean = hex.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) return null;
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

const hex2 = (n) => n.toString(16).padStart(2, '0');
const hexN = (n, width) => `0x${n.toString(16).padStart(width, '0')}`;

/** aa:bb:cc:dd:ee:ff */
export function macText(b, at) {
  return Array.from(b.subarray(at, at + 6), hex2).join(':');
}

/** Dotted IPv4. */
export function ipv4Text(b, at) {
  return Array.from(b.subarray(at, at + 4)).join('.');
}

/** IPv6 as RFC 5952 writes it: lower case, the longest run of zero groups as ::. */
export function ipv6Text(b, at) {
  const groups = [];
  for (let i = 0; i < 8; i++) groups.push((b[at + i * 2] << 8) | b[at + i * 2 + 1]);
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const part = (list) => list.map((g) => g.toString(16)).join(':');
  if (best < 0) return part(groups);
  return `${part(groups.slice(0, best))}::${part(groups.slice(best + bestLen))}`;
}

const u16 = (b, at) => (b[at] << 8) | b[at + 1];
const u32 = (b, at) => ((b[at] << 24) >>> 0) + (b[at + 1] << 16) + (b[at + 2] << 8) + b[at + 3];

/** The payload as a person reads it: text when printable, else hex. */
function payloadText(bytes) {
  const printable = bytes.every((c) => c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127));
  if (printable && bytes.length) return JSON.stringify(String.fromCharCode(...bytes));
  return `0x${Array.from(bytes, hex2).join('')}`;
}

function macNote(b, at) {
  if (b.subarray(at, at + 6).every((x) => x === 0)) return tr(' (none: loopback)');
  if (b.subarray(at, at + 6).every((x) => x === 0xff)) return tr(' (broadcast)');
  if (b[at] & 1) return tr(' (multicast)');
  return '';
}

// ------------------------------------------------------------------------ reading

/** A cursor over the frame that adds fields while their bytes are there. */
class Reader {
  constructor(bytes) {
    this.b = bytes;
  }

  has(at, length) {
    return at + length <= this.b.length;
  }
}

/** Start a layer at `offset`. */
function layer(stackLayer, name, offset) {
  return { layer: stackLayer, name, offset, length: 0, fields: [], truncated: false };
}

/** Add a field when its bytes were captured; false (and the layer marked cut) when not. */
function field(r, into, at, length, name, value, meaning, extra) {
  if (!r.has(at, length)) {
    into.truncated = true;
    return false;
  }
  const f = { name, value: String(typeof value === 'function' ? value() : value), meaning: tr(meaning), offset: at, length };
  if (extra) Object.assign(f, extra);
  into.fields.push(f);
  return true;
}

function close(l, end) {
  l.length = Math.max(0, end - l.offset);
  return l;
}

// --- link ------------------------------------------------------------------------------

function ethernet(r, out) {
  const b = r.b;
  const l = layer('link', 'Ethernet II', 0);
  out.push(l);
  field(r, l, 0, 6, 'Destination MAC', () => macText(b, 0) + macNote(b, 0), 'the hardware address of the next hop on this link');
  field(r, l, 6, 6, 'Source MAC', () => macText(b, 6) + macNote(b, 6), 'the hardware address of the interface that sent the frame');
  let at = 12;
  if (r.has(12, 2) && u16(b, 12) === 0x8100) {
    field(r, l, 12, 2, 'Type', '0x8100 (802.1Q VLAN tag)', 'a VLAN tag follows before the real type');
    field(r, l, 14, 2, 'VLAN tag', () => `priority ${b[14] >> 5}, VLAN ${u16(b, 14) & 0x0fff}`, 'which virtual LAN the frame belongs to');
    at = 16;
  }
  if (!field(r, l, at, 2, 'EtherType', () => `${hexN(u16(b, at), 4)} (${ETHERTYPES[u16(b, at)] || tr('unknown')})`, 'which protocol the frame carries, so the receiver knows how to read the rest')) {
    close(l, b.length);
    return null;
  }
  close(l, at + 2);
  return { type: u16(b, at), at: at + 2 };
}

function arp(r, at, out) {
  const b = r.b;
  const l = layer('link', 'ARP', at);
  out.push(l);
  const op = r.has(at + 6, 2) ? u16(b, at + 6) : 0;
  field(r, l, at, 2, 'Hardware type', () => `${u16(b, at)}${u16(b, at) === 1 ? tr(' (Ethernet)') : ''}`, 'the kind of link addresses asked about');
  field(r, l, at + 2, 2, 'Protocol type', () => `${hexN(u16(b, at + 2), 4)} (${ETHERTYPES[u16(b, at + 2)] || tr('unknown')})`, 'the kind of network addresses being resolved');
  field(r, l, at + 4, 1, 'Hardware size', () => b[at + 4], 'bytes in a hardware address');
  field(r, l, at + 5, 1, 'Protocol size', () => b[at + 5], 'bytes in a network address');
  field(r, l, at + 6, 2, 'Opcode', () => `${op} (${tr(op === 1 ? 'request' : op === 2 ? 'reply' : 'other')})`, 'request: who has this IP? reply: I have it, here is my MAC');
  field(r, l, at + 8, 6, 'Sender MAC', () => macText(b, at + 8), 'the asker’s (or answerer’s) hardware address');
  field(r, l, at + 14, 4, 'Sender IP', () => ipv4Text(b, at + 14), 'the sender’s IP address, so the receiver can learn the pair too');
  field(r, l, at + 18, 6, 'Target MAC', () => macText(b, at + 18), op === 1 ? 'unknown yet: that is the question' : 'the hardware address the reply is for');
  field(r, l, at + 24, 4, 'Target IP', () => ipv4Text(b, at + 24), op === 1 ? 'the IP address whose MAC is wanted' : 'the IP address of the one who asked');
  close(l, Math.min(b.length, at + 28));
}

// --- network ---------------------------------------------------------------------------

function ipv4(r, at, out) {
  const b = r.b;
  const l = layer('network', 'IPv4', at);
  out.push(l);
  if (!r.has(at, 1)) {
    l.truncated = true;
    return null;
  }
  const ihl = (b[at] & 0x0f) * 4;
  field(r, l, at, 1, 'Version', () => b[at] >> 4, 'IP version: 4');
  field(r, l, at, 1, 'Header length', () => `${ihl}${tr(' bytes')} (IHL ${ihl / 4})`, 'the header’s size in 32-bit words: 5 without options');
  field(r, l, at + 1, 1, 'DSCP / ECN', () => `DSCP ${b[at + 1] >> 2}, ECN ${b[at + 1] & 3}`, 'the packet’s service class and congestion marks');
  const total = r.has(at + 2, 2) ? u16(b, at + 2) : 0;
  field(r, l, at + 2, 2, 'Total length', () => `${total}${tr(' bytes')}`, 'header and payload: where the packet ends');
  field(r, l, at + 4, 2, 'Identification', () => `${u16(b, at + 4)} (${hexN(u16(b, at + 4), 4)})`, 'groups the fragments of one packet');
  if (r.has(at + 6, 2)) {
    const word = u16(b, at + 6);
    const flags = [word & 0x4000 ? 'DF' : null, word & 0x2000 ? 'MF' : null].filter(Boolean);
    field(r, l, at + 6, 1, 'Flags', `${hexN(word >> 13, 1)}${flags.length ? ` (${flags.join(', ')})` : ''}`, 'DF: do not fragment (path MTU discovery); MF: more fragments follow');
    field(r, l, at + 6, 2, 'Fragment offset', word & 0x1fff, 'where this fragment’s data goes in the original, in 8-byte units');
  } else {
    l.truncated = true;
  }
  field(r, l, at + 8, 1, 'TTL', () => b[at + 8], 'hops left: each router takes one, and the packet dies at 0');
  const proto = r.has(at + 9, 1) ? b[at + 9] : null;
  field(r, l, at + 9, 1, 'Protocol', () => `${proto} (${IP_PROTOCOLS[proto] || tr('unknown')})`, 'what the payload is, so the receiver hands it to the right code');
  field(r, l, at + 10, 2, 'Header checksum', () => hexN(u16(b, at + 10), 4), 'covers the header only; recomputed at each hop since the TTL changes');
  field(r, l, at + 12, 4, 'Source address', () => ipv4Text(b, at + 12), 'the sending host');
  field(r, l, at + 16, 4, 'Destination address', () => ipv4Text(b, at + 16), 'the host the packet is for');
  if (ihl > 20) field(r, l, at + 20, ihl - 20, 'Options', `${ihl - 20}${tr(' bytes')}`, 'rarely used extras (record route, timestamps, router alert)');
  close(l, Math.min(b.length, at + Math.max(ihl, 20)));
  if (ihl < 20 || proto === null || !r.has(at, ihl)) return null;
  return { proto, at: at + ihl, end: Math.min(b.length, at + Math.max(total, ihl)), declaredEnd: at + total };
}

function ipv6(r, at, out) {
  const b = r.b;
  const l = layer('network', 'IPv6', at);
  out.push(l);
  field(r, l, at, 1, 'Version', () => b[at] >> 4, 'IP version: 6');
  field(r, l, at, 2, 'Traffic class', () => hexN(((b[at] & 0x0f) << 4) | (b[at + 1] >> 4), 2), 'the packet’s service class and congestion marks');
  field(r, l, at + 1, 3, 'Flow label', () => hexN(((b[at + 1] & 0x0f) << 16) | u16(b, at + 2), 5), 'marks the packets of one flow, so routers can keep them on one path');
  const payload = r.has(at + 4, 2) ? u16(b, at + 4) : 0;
  field(r, l, at + 4, 2, 'Payload length', () => `${payload}${tr(' bytes')}`, 'everything after this 40-byte header');
  let next = r.has(at + 6, 1) ? b[at + 6] : null;
  field(r, l, at + 6, 1, 'Next header', () => `${next} (${IP_PROTOCOLS[next] || tr('unknown')})`, 'what follows: an extension header or the payload’s protocol');
  field(r, l, at + 7, 1, 'Hop limit', () => b[at + 7], 'hops left: each router takes one (IPv4’s TTL)');
  field(r, l, at + 8, 16, 'Source address', () => ipv6Text(b, at + 8), 'the sending host');
  field(r, l, at + 24, 16, 'Destination address', () => ipv6Text(b, at + 24), 'the host (or multicast group) the packet is for');
  let pos = at + 40;
  const end = Math.min(b.length, pos + payload);
  while (next !== null && IPV6_EXTENSIONS[next] !== undefined && r.has(pos, 2)) {
    const length = next === 44 ? 8 : next === 51 ? (b[pos + 1] + 2) * 4 : (b[pos + 1] + 1) * 8;
    const name = `${IPV6_EXTENSIONS[next]} header`;
    const ext = { name, value: `${length}${tr(' bytes')}`, meaning: tr('an optional IPv6 header, chained by Next header'), offset: pos, length: Math.min(length, b.length - pos), children: [] };
    const sub = { fields: ext.children, truncated: false };
    const following = b[pos];
    field(r, sub, pos, 1, 'Next header', `${following} (${IP_PROTOCOLS[following] || tr('unknown')})`, 'what follows this extension header');
    if (next !== 44) field(r, sub, pos + 1, 1, 'Header length', `${length}${tr(' bytes')}`, 'this header’s size, in 8-byte units not counting the first');
    if (length > 2) field(r, sub, pos + 2, length - 2, next === 44 ? 'Fragment offset and id' : 'Options', `${length - 2}${tr(' bytes')}`, next === 0 ? 'options every router on the way must read (e.g. router alert for MLD)' : 'options for this header’s purpose');
    l.fields.push(ext);
    if (sub.truncated || !r.has(pos, length)) {
      l.truncated = true;
      close(l, b.length);
      return null;
    }
    next = following;
    pos += length;
  }
  close(l, Math.min(b.length, pos));
  if (next === null || !r.has(at, 40)) {
    l.truncated = true;
    return null;
  }
  return { proto: next, at: pos, end, declaredEnd: at + 40 + payload };
}

function icmp(r, at, end, out, v6) {
  const b = r.b;
  const l = layer('network', v6 ? 'ICMPv6' : 'ICMP', at);
  out.push(l);
  const names = v6 ? ICMPV6_TYPES : ICMP_TYPES;
  const type = r.has(at, 1) ? b[at] : null;
  const code = r.has(at + 1, 1) ? b[at + 1] : null;
  field(r, l, at, 1, 'Type', () => `${type} (${names[type] || tr('unknown')})`, v6 ? 'what the message is: errors, echo, neighbour discovery, multicast listeners' : 'what the message is: an error report or an echo');
  const codeText = () => (!v6 && type === 3 ? `${code} (${ICMP_UNREACHABLE[code] || tr('other')})` : String(code));
  field(r, l, at + 1, 1, 'Code', codeText, 'the detail of the type (for unreachable: why)');
  field(r, l, at + 2, 2, 'Checksum', () => hexN(u16(b, at + 2), 4), v6 ? 'covers the message and the IPv6 addresses' : 'covers the whole ICMP message');
  const echo = v6 ? type === 128 || type === 129 : type === 0 || type === 8;
  if (echo) {
    field(r, l, at + 4, 2, 'Identifier', () => u16(b, at + 4), 'matches replies to the program that asked (like a port)');
    field(r, l, at + 6, 2, 'Sequence number', () => u16(b, at + 6), 'counts the requests, so replies can be matched and losses seen');
    if (end > at + 8) field(r, l, at + 8, end - at - 8, 'Data', () => `${end - at - 8}${tr(' bytes')}`, 'echoed back unchanged');
  } else if (v6 && (type === 135 || type === 136)) {
    const flags = r.has(at + 4, 1) ? b[at + 4] : 0;
    field(r, l, at + 4, 4, type === 136 ? 'Flags' : 'Reserved', type === 136 ? `${['R', 'S', 'O'].filter((_, i) => flags & (0x80 >> i)).join(', ') || tr('none')}` : '0', type === 136 ? 'R: sent by a router; S: answers a solicitation; O: override the cached address' : 'unused');
    field(r, l, at + 8, 16, 'Target address', () => ipv6Text(b, at + 8), type === 135 ? 'the IPv6 address whose link address is wanted (IPv6’s ARP)' : 'the address this answer is about');
    if (end > at + 24) field(r, l, at + 24, end - at - 24, 'Options', `${end - at - 24}${tr(' bytes')}`, 'usually the sender’s or target’s link-layer (MAC) address');
  } else if (!v6 && (type === 3 || type === 11)) {
    field(r, l, at + 4, 4, 'Unused', () => hexN(u32(b, at + 4), 8), 'zero (next-hop MTU for “fragmentation needed”)');
    if (end > at + 8) field(r, l, at + 8, end - at - 8, 'Original datagram', () => `${end - at - 8}${tr(' bytes')}${tr(': its IP header and first 8 bytes')}`, 'the start of the packet that failed, so the sender can tell which socket it concerns');
  } else if (end > at + 4) {
    field(r, l, at + 4, end - at - 4, 'Message body', `${end - at - 4}${tr(' bytes')}`, 'the rest of the message, laid out by its type');
  }
  close(l, Math.min(b.length, Math.max(end, at + 4)));
}

function igmp(r, at, end, out) {
  const b = r.b;
  const l = layer('network', 'IGMP', at);
  out.push(l);
  const types = { 0x11: 'membership query', 0x16: 'membership report v2', 0x17: 'leave group', 0x22: 'membership report v3' };
  field(r, l, at, 1, 'Type', () => `${hexN(b[at], 2)} (${types[b[at]] || tr('unknown')})`, 'hosts tell routers which multicast groups they want');
  field(r, l, at + 1, 1, 'Max response time', () => b[at + 1], 'how long a host may wait before answering a query');
  field(r, l, at + 2, 2, 'Checksum', () => hexN(u16(b, at + 2), 4), 'covers the IGMP message');
  if (end > at + 4) field(r, l, at + 4, end - at - 4, 'Body', `${end - at - 4}${tr(' bytes')}`, 'the group (v2) or group records (v3)');
  close(l, Math.min(b.length, Math.max(end, at + 4)));
}

// --- transport -------------------------------------------------------------------------

/** Relative numbers for the TCP fields, when the caller knows the ISNs: {relSeq, relAck}. */
function withRelative(abs, rel) {
  return rel === undefined || rel === null ? String(abs) : fmt(tr('{abs} (relative {rel})'), { abs, rel });
}

function tcpOptions(r, from, to, into) {
  const b = r.b;
  let pos = from;
  while (pos < to && r.has(pos, 1)) {
    const kind = b[pos];
    if (kind === 0) {
      field(r, into, pos, 1, 'End of options', 'EOL', 'nothing follows but padding');
      break;
    }
    if (kind === 1) {
      field(r, into, pos, 1, 'No-operation', 'NOP', 'padding, so the next option starts on a 4-byte boundary');
      pos += 1;
      continue;
    }
    if (!r.has(pos + 1, 1)) {
      into.truncated = true;
      break;
    }
    const len = b[pos + 1];
    if (len < 2) break; // malformed: stop rather than loop
    const d = pos + 2;
    switch (kind) {
      case 2:
        field(r, into, pos, len, 'Maximum segment size', () => `${u16(b, d)}${tr(' bytes')}`, 'the largest segment the sender wants to receive (link MTU minus the IP and TCP headers)');
        break;
      case 3:
        field(r, into, pos, len, 'Window scale', () => `${b[d]} (×${2 ** b[d]})`, 'shift the window field left by this much, for windows above 64 KiB');
        break;
      case 4:
        field(r, into, pos, len, 'SACK permitted', tr('yes'), 'the sender understands selective acknowledgements');
        break;
      case 5: {
        const blocks = [];
        for (let i = d; i + 8 <= pos + len && r.has(i, 8); i += 8) blocks.push(`${u32(b, i)}–${u32(b, i + 4)}`);
        field(r, into, pos, len, 'SACK', blocks.join(', '), 'byte ranges received beyond the acknowledged point');
        break;
      }
      case 8:
        field(r, into, pos, len, 'Timestamps', () => `TSval ${u32(b, d)}, TSecr ${u32(b, d + 4)}`, 'the sender’s clock and the last one it received: for round-trip times and old-duplicate protection');
        break;
      case 34:
        field(r, into, pos, len, 'TCP Fast Open cookie', `${len - 2}${tr(' bytes')}`, 'lets a later SYN carry data');
        break;
      default:
        field(r, into, pos, len, `Option ${kind}`, `${len}${tr(' bytes')}`, 'an option this page does not describe');
    }
    pos += len;
  }
}

function tcp(r, at, end, out, rel) {
  const b = r.b;
  const l = layer('transport', 'TCP', at);
  out.push(l);
  field(r, l, at, 2, 'Source port', () => u16(b, at), 'the sending socket’s port');
  field(r, l, at + 2, 2, 'Destination port', () => u16(b, at + 2), 'the receiving socket’s port');
  const flags = r.has(at + 12, 2) ? u16(b, at + 12) & 0x1ff : 0;
  const syn = flags & 0x002;
  const fin = flags & 0x001;
  field(r, l, at + 4, 4, 'Sequence number', () => withRelative(u32(b, at + 4), rel.relSeq),
    syn ? 'the sender’s initial sequence number (ISN): a SYN uses one number, so data starts at ISN+1'
      : fin ? 'the number of this segment’s first byte; a FIN uses one number too'
        : 'the number of the first byte this segment carries; a SYN uses one');
  field(r, l, at + 8, 4, 'Acknowledgement number', () => withRelative(u32(b, at + 8), flags & 0x010 ? rel.relAck : undefined),
    flags & 0x010 ? 'the next byte the sender expects: everything before it arrived' : 'not valid: the ACK flag is off');
  const doff = r.has(at + 12, 1) ? (b[at + 12] >> 4) * 4 : 20;
  field(r, l, at + 12, 1, 'Header length', () => `${doff}${tr(' bytes')} (data offset ${doff / 4})`, 'where the data starts: 20 bytes plus the options');
  const set = TCP_FLAGS.filter(([bit]) => flags & bit);
  field(r, l, at + 12, 2, 'Flags', () => `${hexN(flags, 3)} (${set.map(([, name]) => name).join(', ') || tr('none')})`,
    set.length ? set.map(([, name, why]) => `${name}: ${tr(why)}`).join('; ') : 'no flag set', { flags: set.map(([, name]) => name) });
  field(r, l, at + 14, 2, 'Window', () => u16(b, at + 14), 'bytes the sender can still receive (shifted by its window scale after the handshake)');
  field(r, l, at + 16, 2, 'Checksum', () => hexN(u16(b, at + 16), 4), 'covers the segment and the IP addresses; often filled in later by the network card');
  field(r, l, at + 18, 2, 'Urgent pointer', () => u16(b, at + 18), 'end of urgent data when URG is set (almost never used)');
  if (doff > 20) {
    const options = { name: 'Options', value: `${doff - 20}${tr(' bytes')}`, meaning: tr('extras negotiated in the SYNs or carried on each segment'), offset: at + 20, length: Math.min(doff - 20, Math.max(0, b.length - at - 20)), children: [] };
    const sub = { fields: options.children, truncated: false };
    tcpOptions(r, at + 20, at + doff, sub);
    if (options.length > 0) l.fields.push(options);
    if (sub.truncated || !r.has(at + 20, doff - 20)) l.truncated = true;
  }
  close(l, Math.min(b.length, at + doff));
  return r.has(at, 20) && doff >= 20 ? at + doff : null;
}

function udp(r, at, out) {
  const b = r.b;
  const l = layer('transport', 'UDP', at);
  out.push(l);
  field(r, l, at, 2, 'Source port', () => u16(b, at), 'the sending socket’s port (where a reply goes)');
  field(r, l, at + 2, 2, 'Destination port', () => u16(b, at + 2), 'the receiving socket’s port');
  field(r, l, at + 4, 2, 'Length', () => `${u16(b, at + 4)}${tr(' bytes')}`, 'the 8-byte header plus the datagram’s data');
  field(r, l, at + 6, 2, 'Checksum', () => hexN(u16(b, at + 6), 4), 'covers the datagram and the IP addresses (0 in IPv4: not computed)');
  close(l, Math.min(b.length, at + 8));
  return r.has(at, 8) ? { at: at + 8, declaredEnd: at + u16(b, at + 4) } : null;
}

function application(r, at, declaredEnd, out, proto) {
  const b = r.b;
  if (declaredEnd <= at) return;
  const captured = Math.max(0, Math.min(b.length, declaredEnd) - at);
  const l = layer('application', proto === 'udp' ? 'Datagram data' : 'Segment data', at);
  out.push(l);
  const size = declaredEnd - at;
  const note = captured < size ? fmt(tr(' ({captured} of {size} bytes captured)'), { captured, size }) : '';
  if (captured > 0) {
    field(r, l, at, captured, 'Data', `${payloadText(b.subarray(at, at + captured))}${note}`,
      proto === 'udp' ? 'the bytes one sendto() gave, delivered whole to one recvfrom()' : 'bytes of the stream, as send() gave them; TCP numbers them from the sequence number');
  }
  if (captured < size) l.truncated = true;
  close(l, at + captured);
}

// ------------------------------------------------------------------------ the frame

/**
 * Take a captured frame apart. `hex`: the frame from its Ethernet header on. `rel`: the
 * relative TCP numbers the server computed ({relSeq, relAck}), shown beside the absolute ones.
 * Returns {bytes, layers: [{layer, name, offset, length, truncated, fields: [{name, value,
 * meaning, offset, length, children?}]}], cut, error?}.
 */
export function parseFrame(hex, rel = {}) {
  const bytes = hexBytes(hex);
  if (!bytes) return { bytes: new Uint8Array(0), layers: [], cut: false, error: 'the frame is not a hex string' };
  if (bytes.length < 14) {
    return { bytes, layers: [], cut: true, error: `only ${bytes.length} bytes: too short for an Ethernet header` };
  }
  const r = new Reader(bytes);
  const layers = [];
  const link = ethernet(r, layers);
  let short = false;
  if (link) {
    if (link.type === 0x0806) arp(r, link.at, layers);
    else if (link.type === 0x0800 || link.type === 0x86dd) {
      const net = link.type === 0x0800 ? ipv4(r, link.at, layers) : ipv6(r, link.at, layers);
      if (net) {
        transport(r, net, layers, rel);
        short = net.declaredEnd > bytes.length;
      }
    }
  }
  const cut = short || layers.some((l) => l.truncated);
  return { bytes, layers, cut };
}

function transport(r, net, layers, rel) {
  switch (net.proto) {
    case 6: {
      const data = tcp(r, net.at, net.end, layers, rel);
      if (data !== null) application(r, data, net.declaredEnd, layers, 'tcp');
      break;
    }
    case 17: {
      const u = udp(r, net.at, layers);
      if (u) application(r, u.at, Math.min(u.declaredEnd, net.declaredEnd), layers, 'udp');
      break;
    }
    case 1:
      icmp(r, net.at, net.end, layers, false);
      break;
    case 58:
      icmp(r, net.at, net.end, layers, true);
      break;
    case 2:
      igmp(r, net.at, net.end, layers);
      break;
    default:
      if (net.declaredEnd > net.at) {
        const l = layer('network', `Payload (${IP_PROTOCOLS[net.proto] || `protocol ${net.proto}`})`, net.at);
        layers.push(l);
        field(r, l, net.at, Math.min(r.b.length, net.declaredEnd) - net.at, 'Bytes', `${net.declaredEnd - net.at}${tr(' bytes')}`, 'a protocol this page does not take apart');
        close(l, Math.min(r.b.length, net.declaredEnd));
      }
  }
}

/** Every field of a parsed frame, children included, depth first: [{field, layer, depth}]. */
export function allFields(parsed) {
  const out = [];
  const walk = (fields, l, depth) => {
    for (const f of fields) {
      out.push({ field: f, layer: l, depth });
      if (f.children) walk(f.children, l, depth + 1);
    }
  };
  for (const l of parsed.layers) walk(l.fields, l, 0);
  return out;
}

/** Rows of a hex dump, 16 bytes each: [{offset, bytes: [{index, hex, char}]}]. */
export function hexRows(bytes, width = 16) {
  const rows = [];
  for (let at = 0; at < bytes.length; at += width) {
    const row = { offset: at, label: at.toString(16).padStart(4, '0'), bytes: [] };
    for (let i = at; i < Math.min(bytes.length, at + width); i++) {
      const c = bytes[i];
      row.bytes.push({ index: i, hex: hex2(c), char: c >= 32 && c < 127 ? String.fromCharCode(c) : '.' });
    }
    rows.push(row);
  }
  return rows;
}

// ------------------------------------------------------------------------ in Chinese

/** The decoder's words in Chinese, keyed by their English (the text written in the code above:
 * field names, what each field means, value notes, the overlay's tags). Field names stay
 * English identifiers in the parsed frame; `fieldName` says them for people. */
const IN_CHINESE = {
  'Hop-by-hop options header':
    '逐跳选项首部',
  'Routing header':
    '路由首部',
  'Fragment header':
    '分片首部',
  'Destination options header':
    '目的选项首部',
  'Authentication header':
    '认证首部',
  'ECN nonce (historic)':
    'ECN 随机数（已废弃）',
  'the sender reduced its congestion window':
    '发送方已缩小拥塞窗口',
  'ECN echo: congestion was seen on the way':
    'ECN 回显：途中出现了拥塞',
  'the urgent pointer is valid':
    '紧急指针有效',
  'the acknowledgement number is valid':
    '确认号有效',
  'push: hand the data to the program now':
    '推送：立即把数据交给程序',
  'reset: abort the connection':
    '复位：中止连接',
  'synchronise: open a connection, with the sender’s initial sequence number':
    '同步：建立连接，携带发送方的初始序号',
  'finish: the sender has no more data':
    '结束：发送方没有更多数据了',
  ' (none: loopback)':
    '（无：回环）',
  ' (broadcast)':
    '（广播）',
  ' (multicast)':
    '（组播）',
  ' (Ethernet)':
    '（以太网）',
  'unknown':
    '未知',
  'request':
    '请求',
  'reply':
    '应答',
  'other':
    '其他',
  'none':
    '无',
  'yes':
    '是',
  'Datagram data':
    '数据报数据',
  'Segment data':
    '报文段数据',
  'Destination MAC':
    '目的 MAC',
  'Source MAC':
    '源 MAC',
  'Type':
    '类型',
  'VLAN tag':
    'VLAN 标签',
  'EtherType':
    '以太网类型',
  'Hardware type':
    '硬件类型',
  'Protocol type':
    '协议类型',
  'Hardware size':
    '硬件地址长度',
  'Protocol size':
    '协议地址长度',
  'Opcode':
    '操作码',
  'Sender MAC':
    '发送方 MAC',
  'Sender IP':
    '发送方 IP',
  'Target MAC':
    '目标 MAC',
  'Target IP':
    '目标 IP',
  'Version':
    '版本',
  'Header length':
    '首部长度',
  'DSCP / ECN':
    'DSCP / ECN',
  'Total length':
    '总长度',
  'Identification':
    '标识',
  'Flags':
    '标志',
  'Fragment offset':
    '片偏移',
  'TTL':
    'TTL（生存时间）',
  'Protocol':
    '协议',
  'Header checksum':
    '首部校验和',
  'Source address':
    '源地址',
  'Destination address':
    '目的地址',
  'Options':
    '选项',
  'Traffic class':
    '流量类别',
  'Flow label':
    '流标签',
  'Payload length':
    '有效载荷长度',
  'Next header':
    '下一个首部',
  'Hop limit':
    '跳数限制',
  'Fragment offset and id':
    '片偏移和标识',
  'Code':
    '代码',
  'Checksum':
    '校验和',
  'Identifier':
    '标识符',
  'Sequence number':
    '序号',
  'Data':
    '数据',
  'Reserved':
    '保留',
  'Target address':
    '目标地址',
  'Unused':
    '未用',
  'Original datagram':
    '原始数据报',
  'Message body':
    '报文主体',
  'Max response time':
    '最大响应时间',
  'Body':
    '主体',
  'End of options':
    '选项结束',
  'No-operation':
    '无操作',
  'Maximum segment size':
    '最大报文段长度（MSS）',
  'Window scale':
    '窗口扩大因子',
  'SACK permitted':
    '允许 SACK',
  'SACK':
    'SACK（选择确认）',
  'Timestamps':
    '时间戳',
  'TCP Fast Open cookie':
    'TCP 快速打开 cookie',
  'Source port':
    '源端口',
  'Destination port':
    '目的端口',
  'Acknowledgement number':
    '确认号',
  'Window':
    '窗口',
  'Urgent pointer':
    '紧急指针',
  'Length':
    '长度',
  'Bytes':
    '字节',
  'the hardware address of the next hop on this link':
    '这条链路上下一跳的硬件地址',
  'the hardware address of the interface that sent the frame':
    '发出这个帧的接口的硬件地址',
  'a VLAN tag follows before the real type':
    '真正的类型之前还有一个 VLAN 标签',
  'which virtual LAN the frame belongs to':
    '这个帧属于哪个虚拟局域网',
  'which protocol the frame carries, so the receiver knows how to read the rest':
    '帧里装的是哪种协议，接收方据此知道如何解读后面的内容',
  'the kind of link addresses asked about':
    '所询问的链路地址的种类',
  'the kind of network addresses being resolved':
    '要解析的网络地址的种类',
  'bytes in a hardware address':
    '硬件地址的字节数',
  'bytes in a network address':
    '网络地址的字节数',
  'request: who has this IP? reply: I have it, here is my MAC':
    '请求：谁有这个 IP？应答：我有，这是我的 MAC',
  'the asker’s (or answerer’s) hardware address':
    '询问方（或应答方）的硬件地址',
  'the sender’s IP address, so the receiver can learn the pair too':
    '发送方的 IP 地址，这样接收方也能顺便记下这对地址',
  'unknown yet: that is the question':
    '还不知道：这正是要问的',
  'the hardware address the reply is for':
    '这个应答发给谁的硬件地址',
  'the IP address whose MAC is wanted':
    '想知道其 MAC 的那个 IP 地址',
  'the IP address of the one who asked':
    '询问方的 IP 地址',
  'IP version: 4':
    'IP 版本：4',
  'the header’s size in 32-bit words: 5 without options':
    '首部的长度，以 32 位字为单位：没有选项时为 5',
  'the packet’s service class and congestion marks':
    '数据包的服务类别和拥塞标记',
  'header and payload: where the packet ends':
    '首部加载荷：数据包在哪里结束',
  'groups the fragments of one packet':
    '把同一个数据包的各个分片归为一组',
  'DF: do not fragment (path MTU discovery); MF: more fragments follow':
    'DF：不要分片（用于路径 MTU 发现）；MF：后面还有分片',
  'where this fragment’s data goes in the original, in 8-byte units':
    '这个分片的数据在原始数据包中的位置，以 8 字节为单位',
  'hops left: each router takes one, and the packet dies at 0':
    '剩余跳数：每经过一个路由器减一，减到 0 时数据包被丢弃',
  'what the payload is, so the receiver hands it to the right code':
    '载荷是什么，接收方据此把它交给对应的协议处理',
  'covers the header only; recomputed at each hop since the TTL changes':
    '只覆盖首部；因为 TTL 会变，每一跳都要重新计算',
  'the sending host':
    '发送主机',
  'the host the packet is for':
    '数据包要去的主机',
  'rarely used extras (record route, timestamps, router alert)':
    '很少用的附加项（记录路由、时间戳、路由器警告）',
  'IP version: 6':
    'IP 版本：6',
  'marks the packets of one flow, so routers can keep them on one path':
    '标记同一个流的数据包，路由器可以让它们走同一条路径',
  'everything after this 40-byte header':
    '这个 40 字节首部之后的全部内容',
  'what follows: an extension header or the payload’s protocol':
    '后面跟的是什么：一个扩展首部，或者载荷的协议',
  'hops left: each router takes one (IPv4’s TTL)':
    '剩余跳数：每经过一个路由器减一（相当于 IPv4 的 TTL）',
  'the host (or multicast group) the packet is for':
    '数据包要去的主机（或组播组）',
  'an optional IPv6 header, chained by Next header':
    '可选的 IPv6 首部，通过“下一个首部”串起来',
  'what follows this extension header':
    '这个扩展首部之后跟的是什么',
  'this header’s size, in 8-byte units not counting the first':
    '这个首部的长度，以 8 字节为单位，不算第一个 8 字节',
  'options every router on the way must read (e.g. router alert for MLD)':
    '途中每个路由器都必须读取的选项（例如 MLD 的路由器警告）',
  'options for this header’s purpose':
    '这个首部用途相关的选项',
  'what the message is: errors, echo, neighbour discovery, multicast listeners':
    '报文是什么：差错、回显、邻居发现、组播侦听',
  'what the message is: an error report or an echo':
    '报文是什么：差错报告或回显',
  'the detail of the type (for unreachable: why)':
    '类型的细分（对“不可达”来说：原因）',
  'covers the message and the IPv6 addresses':
    '覆盖报文和 IPv6 地址',
  'covers the whole ICMP message':
    '覆盖整条 ICMP 报文',
  'matches replies to the program that asked (like a port)':
    '把应答对应到发出请求的程序（作用类似端口）',
  'counts the requests, so replies can be matched and losses seen':
    '给请求计数，这样能对上应答，也能看出丢包',
  'echoed back unchanged':
    '原样回显',
  'R: sent by a router; S: answers a solicitation; O: override the cached address':
    'R：由路由器发出；S：应答一个请求；O：覆盖缓存的地址',
  'unused':
    '未用',
  'the IPv6 address whose link address is wanted (IPv6’s ARP)':
    '想知道其链路地址的 IPv6 地址（IPv6 的 ARP）',
  'the address this answer is about':
    '这个应答所说的地址',
  'usually the sender’s or target’s link-layer (MAC) address':
    '通常是发送方或目标的链路层（MAC）地址',
  'zero (next-hop MTU for “fragmentation needed”)':
    '零（“需要分片”时为下一跳的 MTU）',
  'the start of the packet that failed, so the sender can tell which socket it concerns':
    '出错的数据包的开头部分，发送方据此判断它和哪个套接字有关',
  'the rest of the message, laid out by its type':
    '报文的其余部分，格式由类型决定',
  'hosts tell routers which multicast groups they want':
    '主机告诉路由器自己想加入哪些组播组',
  'how long a host may wait before answering a query':
    '主机在应答查询前最多可以等多久',
  'covers the IGMP message':
    '覆盖 IGMP 报文',
  'the group (v2) or group records (v3)':
    '组地址（v2）或组记录（v3）',
  'nothing follows but padding':
    '后面只剩填充',
  'padding, so the next option starts on a 4-byte boundary':
    '填充，让下一个选项从 4 字节边界开始',
  'the largest segment the sender wants to receive (link MTU minus the IP and TCP headers)':
    '发送方愿意接收的最大报文段（链路 MTU 减去 IP 和 TCP 首部）',
  'shift the window field left by this much, for windows above 64 KiB':
    '把窗口字段左移这么多位，用于超过 64 KiB 的窗口',
  'the sender understands selective acknowledgements':
    '发送方支持选择确认',
  'byte ranges received beyond the acknowledged point':
    '在已确认位置之后已经收到的字节范围',
  'the sender’s clock and the last one it received: for round-trip times and old-duplicate protection':
    '发送方的时钟和它最近收到的时钟值：用于测量往返时间和防范旧的重复报文段',
  'lets a later SYN carry data':
    '让之后的 SYN 可以携带数据',
  'an option this page does not describe':
    '本页不解释的选项',
  'the sending socket’s port':
    '发送方套接字的端口',
  'the receiving socket’s port':
    '接收方套接字的端口',
  'the sender’s initial sequence number (ISN): a SYN uses one number, so data starts at ISN+1':
    '发送方的初始序号（ISN）：SYN 占用一个序号，所以数据从 ISN+1 开始',
  'the number of this segment’s first byte; a FIN uses one number too':
    '这个报文段第一个字节的序号；FIN 也占用一个序号',
  'the number of the first byte this segment carries; a SYN uses one':
    '这个报文段携带的第一个字节的序号；SYN 占用一个序号',
  'the next byte the sender expects: everything before it arrived':
    '发送方期待的下一个字节：在它之前的都已收到',
  'not valid: the ACK flag is off':
    '无效：ACK 标志没有置位',
  'where the data starts: 20 bytes plus the options':
    '数据从哪里开始：20 字节加上选项',
  'no flag set':
    '没有置位的标志',
  'bytes the sender can still receive (shifted by its window scale after the handshake)':
    '发送方还能接收的字节数（握手之后要按窗口扩大因子左移）',
  'covers the segment and the IP addresses; often filled in later by the network card':
    '覆盖报文段和 IP 地址；常常由网卡在之后填写',
  'end of urgent data when URG is set (almost never used)':
    'URG 置位时紧急数据的结束位置（几乎从不使用）',
  'extras negotiated in the SYNs or carried on each segment':
    '在 SYN 中协商、或在每个报文段中携带的附加项',
  'the sending socket’s port (where a reply goes)':
    '发送方套接字的端口（应答发往这里）',
  'the 8-byte header plus the datagram’s data':
    '8 字节首部加上数据报的数据',
  'covers the datagram and the IP addresses (0 in IPv4: not computed)':
    '覆盖数据报和 IP 地址（IPv4 中为 0：表示没有计算）',
  'the bytes one sendto() gave, delivered whole to one recvfrom()':
    '一次 sendto() 给出的字节，整个交给一次 recvfrom()',
  'bytes of the stream, as send() gave them; TCP numbers them from the sequence number':
    '字节流中的字节，就是 send() 给出的那些；TCP 从序号开始给它们编号',
  'a protocol this page does not take apart':
    '本页不拆解的协议',
  'moves the frame across one link, between two interfaces':
    '在一条链路上、两个接口之间传送帧',
  'carries the packet from the source host to the destination host':
    '把数据包从源主机送到目的主机',
  'delivers bytes between two sockets, named by their ports':
    '在两个套接字之间传递字节，套接字由端口来区分',
  'what the programs sent: the bytes of send() and sendto()':
    '程序发送的内容：send() 和 sendto() 的字节',
  'socket API':
    '套接字 API',
  'transport':
    '传输层',
  'network':
    '网络层',
  'link':
    '链路层',
  'link: lo':
    '链路层：lo',
  'L2–L4 packet':
    '二至四层数据包',
  'link · network · transport':
    '链路层 · 网络层 · 传输层',
  'no net/link':
    '无网络层/链路层',
  'no network or link layer':
    '没有网络层和链路层',
  'Application layer, at the socket API: the calls a program makes (socket, bind, connect, send…) on a descriptor.':
    '应用层，位于套接字 API：程序在描述符上进行的调用（socket、bind、connect、send……）。',
  'Transport layer: ports and the (protocol, address, port) tuple name the two sockets of a conversation (TCP, UDP).':
    '传输层：端口和（协议、地址、端口）元组指明一次通信两端的套接字（TCP、UDP）。',
  'Network layer: host addresses and routes carry packets from host to host (IP; ICMP lives here too, so an ICMP socket has an address but no port).':
    '网络层：主机地址和路由把数据包从一台主机送到另一台（IP；ICMP 也在这一层，所以 ICMP 套接字有地址但没有端口）。',
  'Link layer: the wire between two interfaces, here a veth pair between the hosts’ network namespaces (frames with MAC addresses).':
    '链路层：两个接口之间的线路，这里是连接两台主机网络命名空间的一对 veth（带 MAC 地址的帧）。',
  'Link layer: in loopback mode every host is an address of the server’s own lo interface; packets never leave the machine and are not captured.':
    '链路层：在 loopback 模式下，每台主机都是服务器自己 lo 接口上的一个地址；数据包从不离开这台机器，也不会被抓到。',
  'A packet on the wire carries every layer: an Ethernet frame (link) holding an IP packet (network) holding a TCP or UDP segment (transport). Open it to see each layer’s fields.':
    '线路上的数据包包含每一层：以太网帧（链路层）里装着 IP 数据包（网络层），IP 数据包里装着 TCP 或 UDP 报文段（传输层）。点开可以看每一层的字段。',
  'A Unix-domain socket never leaves its host: no IP address, no port, no packet, no wire. The kernel copies the bytes from one socket to the other; a name is a path (a socket file) or an @abstract name.':
    'Unix 域套接字从不离开自己的主机：没有 IP 地址，没有端口，没有数据包，也没有线路。内核把字节从一个套接字直接拷贝到另一个；名字是一个路径（套接字文件）或一个 @抽象名字。',
  ' bytes':
    ' 字节',
  ': its IP header and first 8 bytes':
    '：它的 IP 首部和前 8 个字节',
  ' ({captured} of {size} bytes captured)':
    '（抓到 {size} 字节中的 {captured} 字节）',
  '{abs} (relative {rel})':
    '{abs}（相对序号 {rel}）',
};

/** Every text this module writes, in each language: its English is its key. */
export const TEXTS = {
  en: Object.fromEntries(Object.keys(IN_CHINESE).map((english) => [english, english])),
  'zh-CN': IN_CHINESE,
};
const T = localize(TEXTS);

/** `english` in the page's language (as it is where no translation is known). */
function tr(english) {
  return T[english] ?? english;
}

/** A field's or a layer's name for people: `Sequence number` → 序号 in Chinese. */
export function fieldName(name) {
  return tr(name);
}

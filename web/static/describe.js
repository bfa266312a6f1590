// Events in words: how the ladder and the log write a call, its result and what the kernel
// did, and what the console lists of a call's reply. Plain text only; the views decide how it
// looks.

import { isAbstractAddr, isUnixAddr } from './address.js';
import { icmpDirection, icmpHint } from './icmp.js';
import { defaultType } from './model.js';
import { fill as fmt, localize } from './i18n.js';

/** Every text this module writes, in each language. */
export const TEXTS = {
  en: {
    abstractName: 'abstract name, no file',
    socketFile: 'a socket file',
    on: 'on',
    off: 'off',
    blocked: 'blocked…',
    error: 'error',
    fds: '→ fds {fds}, connected to each other',
    fromUnnamed: '→ fd {fd} from {peer}',
    unnamedFd: '{fd} (unnamed)',
    anUnnamed: 'an unnamed socket',
    from: ' from {peer}',
    bytes: '→ {n} bytes',
    eos: '→ 0 (end of stream)',
    bytesData: '→ {n} bytes {data}',
    unnamed: 'unnamed',
    as: '→ 0 (as {addr})',
    started: 'session started: hosts {hosts}{note}',
    joined: 'host {hosts} joined',
    ended: 'session ended: {reason}',
    incoming: 'connection queued for accept ({queue} of {backlog})',
    waiting: '{n} bytes waiting {data}',
    unixEof: 'the peer closed: end of stream after the waiting bytes (no FIN: a Unix socket sends no packets)',
    eof: 'FIN received: end of stream after the waiting bytes',
    unixReset: 'connection reset: the peer closed with bytes unread',
    reset: 'RST: connection reset',
    fromPacket: ' (read from packet #{seq})',
    all: 'all',
    packet: 'packet',
    refused: 'sandbox refused {peer}',
    outsider: 'an outsider',
    peerFd: 'peer fd',
    peer: 'peer',
    addr: 'addr',
    bytesLabel: 'bytes',
    data: 'data',
    value: 'value',
    note: 'note',
    none: 'none',
    gone: 'socket without a descriptor is gone{where}{was}',
    was: ' (was {state})',
    timer: ' · timer {t}',
    noFd: '{from}{to}, no descriptor{where}{timer}',
  },
  'zh-CN': {
    abstractName: '抽象名字，没有文件',
    socketFile: '一个套接字文件',
    on: '开',
    off: '关',
    blocked: '阻塞中…',
    error: '错误',
    fds: '→ fd {fds}，彼此相连',
    fromUnnamed: '→ fd {fd}，来自 {peer}',
    unnamedFd: '{fd}（无名）',
    anUnnamed: '一个无名套接字',
    from: '，来自 {peer}',
    bytes: '→ {n} 字节',
    eos: '→ 0（流结束）',
    bytesData: '→ {n} 字节 {data}',
    unnamed: '无名',
    as: '→ 0（实际为 {addr}）',
    started: '会话开始：主机 {hosts}{note}',
    joined: '主机 {hosts} 加入',
    ended: '会话结束：{reason}',
    incoming: '连接进入监听队列，等待 accept（{queue}/{backlog}）',
    waiting: '{n} 字节等待读取 {data}',
    unixEof: '对端已关闭：读完等待中的数据后就是流结束（没有 FIN：Unix 套接字不发数据包）',
    eof: '收到 FIN：读完等待中的数据后就是流结束',
    unixReset: '连接被复位：对端关闭时还有数据没读',
    reset: 'RST：连接被复位',
    fromPacket: '（从数据包 #{seq} 读出）',
    all: '全部',
    packet: '数据包',
    refused: '沙箱拒绝了 {peer}',
    outsider: '一个外来者',
    peerFd: '对端 fd',
    peer: '对端',
    addr: '地址',
    bytesLabel: '字节',
    data: '数据',
    value: '值',
    note: '备注',
    none: '无',
    gone: '没有描述符的套接字已消失{where}{was}',
    was: '（原为 {state}）',
    timer: ' · 计时器 {t}',
    noFd: '{from}{to}，没有描述符{where}{timer}',
  },
};
const T = localize(TEXTS);


/** The C names of a socket's domain, type and protocol. */
const DOMAIN_NAMES = { inet: 'AF_INET', inet6: 'AF_INET6', unix: 'AF_UNIX' };
const TYPE_NAMES = { stream: 'SOCK_STREAM', dgram: 'SOCK_DGRAM', seqpacket: 'SOCK_SEQPACKET', raw: 'SOCK_RAW' };
const PROTOCOL_NAMES = { icmp: 'IPPROTO_ICMP', icmpv6: 'IPPROTO_ICMPV6' };

/** Kinds that record what the kernel or the session did, not a call a user made. */
const NOT_CALLS = new Set(['session_started', 'host_added', 'session_ended', 'incoming', 'data', 'eof', 'reset', 'tcp_state', 'isolation', 'packet', 'kernel_socket']);

/** Whether an event records a call a user made (as opposed to the kernel or the session). */
export function isCall(ev) {
  return !NOT_CALLS.has(ev.kind);
}

/** The payload preview as shown: "hello", or 0x-hex, with … when cut. */
export function preview(ev) {
  if (!ev.data) return '';
  const body = ev.data.text !== undefined ? JSON.stringify(ev.data.text) : `0x${ev.data.hex}`;
  return ev.data.truncated ? `${body}…` : body;
}

function optValue(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return `{onoff: ${v.onoff}, seconds: ${v.seconds}}`;
  return String(v);
}

/** A socket's type from a tuple (or an event's own `type`): stream, dgram, seqpacket, raw;
 * the model's default for the protocol when neither says it. */
export function typeOf(tuple, fallback = null) {
  if (tuple && tuple.type) return tuple.type;
  if (fallback) return fallback;
  return defaultType(tuple && tuple.proto);
}

/** The C name of a socket type: SOCK_SEQPACKET. */
export function typeName(type) {
  return TYPE_NAMES[type] || String(type).toUpperCase();
}

/** A protocol as people say it: TCP, UDP, ICMP, Unix. */
export function protoName(proto) {
  return proto === 'unix' ? 'Unix' : String(proto || '?').toUpperCase();
}

/** What a Unix-domain name is, in a few words, or '' for any other address. */
export function unixNameKind(addr) {
  if (isAbstractAddr(addr)) return T.abstractName;
  if (isUnixAddr(addr)) return T.socketFile;
  return '';
}

/** The call as a program would write it: connect(3, 10.0.0.2:8080). */
export function callText(ev) {
  const fd = ev.fd ?? '?';
  const proto = ev.tuple ? ev.tuple.proto : null;
  switch (ev.kind) {
    case 'socket': {
      const tuple = ev.tuple || {};
      const domain = DOMAIN_NAMES[tuple.family] || 'AF_INET';
      const type = typeOf(tuple);
      // The protocol is what the domain and type imply, except for ICMP.
      const protocol = PROTOCOL_NAMES[proto];
      return `socket(${domain}, ${typeName(type)}${protocol ? `, ${protocol}` : ''})`;
    }
    case 'socketpair':
      return `socketpair(AF_UNIX, ${typeName(typeOf(ev.tuple, ev.type))})`;
    case 'bind':
    case 'connect':
      return `${ev.kind}(${fd}, ${ev.requested_addr || ev.addr || '?'})`;
    case 'listen':
      return `listen(${fd}, ${ev.backlog ?? ''})`;
    case 'accept':
      return `accept(${fd})`;
    case 'unlink':
      // No descriptor: the path of a socket file (the event's `addr`).
      return `unlink(${ev.addr ? JSON.stringify(ev.addr) : '?'})`;
    case 'send':
      return `send(${fd}, ${preview(ev)})`;
    case 'sendto':
      return `sendto(${fd}, ${preview(ev)}, ${ev.addr || '?'})`;
    case 'recv':
    case 'recvfrom':
      return `${ev.kind}(${fd}, ${ev.max ?? ''}${ev.peek ? ', MSG_PEEK' : ''})`;
    case 'shutdown':
      return `shutdown(${fd}, ${{ read: 'SHUT_RD', write: 'SHUT_WR', both: 'SHUT_RDWR' }[ev.how] || ev.how})`;
    case 'close':
      return `close(${fd})`;
    case 'setsockopt':
      return `setsockopt(${fd}, ${ev.option}, ${optValue(ev.value)})`;
    case 'getsockopt':
      return `getsockopt(${fd}, ${ev.option})`;
    case 'getsockname':
    case 'getpeername':
      return `${ev.kind}(${fd})`;
    case 'nonblocking':
      return `fcntl(${fd}, O_NONBLOCK ${ev.nonblocking ? T.on : T.off})`;
    default:
      return ev.kind;
  }
}

/** What the call returned, for ok calls: "→ fd 4 from 10.0.0.1:49152", "→ 5 bytes". */
export function resultText(ev) {
  if (ev.status === 'pending') return T.blocked;
  if (ev.status === 'error') return ev.errno ? `${ev.errno.name} (${ev.errno.code})` : T.error;
  switch (ev.kind) {
    case 'socket':
      return `→ fd ${ev.new_fd ?? ev.fd}`;
    case 'socketpair':
      return Array.isArray(ev.fds) ? fmt(T.fds, { fds: ev.fds.join(', ') }) : `→ fd ${ev.new_fd ?? ev.fd}`;
    case 'accept': {
      // A Unix peer is on this host: the kernel names its descriptor (`peer_fd`).
      const peerFd = Number.isInteger(ev.peer_fd) ? `fd ${ev.peer_fd}` : null;
      if (!ev.peer && ev.tuple && ev.tuple.proto === 'unix') return fmt(T.fromUnnamed, { fd: ev.new_fd, peer: peerFd ? fmt(T.unnamedFd, { fd: peerFd }) : T.anUnnamed });
      return `→ fd ${ev.new_fd}${ev.peer ? fmt(T.from, { peer: ev.peer }) : ''}${peerFd ? ` (${peerFd})` : ''}`;
    }
    case 'send':
    case 'sendto':
      return fmt(T.bytes, { n: ev.bytes ?? 0 });
    case 'recv':
      return ev.bytes === 0 ? T.eos : fmt(T.bytesData, { n: ev.bytes, data: preview(ev) });
    case 'recvfrom':
      return `${fmt(T.bytesData, { n: ev.bytes ?? 0, data: preview(ev) })}${ev.peer ? fmt(T.from, { peer: ev.peer }) : ''}`;
    case 'getsockopt':
      return `→ ${optValue(ev.value)}`;
    case 'getsockname':
      return `→ ${ev.addr || (ev.tuple && ev.tuple.local) || (ev.tuple && ev.tuple.proto === 'unix' ? T.unnamed : '?')}`;
    case 'getpeername':
      return `→ ${ev.peer || (ev.tuple && ev.tuple.remote) || (ev.tuple && ev.tuple.proto === 'unix' ? T.unnamed : '?')}`;
    case 'bind': {
      if (ev.requested_addr && ev.addr && ev.requested_addr !== ev.addr) return fmt(T.as, { addr: ev.addr });
      const kind = unixNameKind(ev.addr);
      return kind ? `→ 0 (${kind})` : '→ 0';
    }
    default:
      return '→ 0';
  }
}

/** A kernel or session event in words. */
export function kernelText(ev) {
  switch (ev.kind) {
    case 'session_started':
      return fmt(T.started, { hosts: (ev.hosts || []).map((h) => h.name).join(', '), note: ev.note ? ` (${ev.note})` : '' });
    case 'host_added':
      return fmt(T.joined, { hosts: (ev.hosts || []).map((h) => `${h.name} ${h.addrs.join(', ')}`).join('; ') });
    case 'session_ended':
      return fmt(T.ended, { reason: ev.reason || '' });
    case 'incoming':
      return fmt(T.incoming, { queue: ev.queue ?? '?', backlog: ev.backlog ?? '?' });
    case 'data':
      return fmt(T.waiting, { n: ev.bytes ?? '?', data: preview(ev) });
    case 'eof':
      if (ev.tuple && ev.tuple.proto === 'unix') return T.unixEof;
      return T.eof;
    case 'reset':
      if (ev.tuple && ev.tuple.proto === 'unix') return T.unixReset;
      return T.reset;
    case 'tcp_state':
      return `${ev.from || '?'} → ${ev.to || '?'}${ev.inferred && ev.packet_seq ? fmt(T.fromPacket, { seq: ev.packet_seq }) : ''}`;
    case 'packet':
      return ev.packet ? `${ev.packet.from} → ${ev.packet.to || T.all} ${ev.packet.summary}` : T.packet;
    case 'kernel_socket':
      return kernelSocketText(ev);
    case 'isolation':
      return fmt(T.refused, { peer: ev.peer || T.outsider });
    default:
      return ev.kind;
  }
}

/** The fields of an ok call reply the console lists, in this order, and the key of what it
 * calls them (null: the field's own name).
 * `icmp` and `hint` are not among them: they read as sentences (`replyHint`, icmp.js). */
const REPLY_FACTS = [
  ['fd', null],
  ['fds', null],
  ['peer_fd', 'peerFd'],
  ['peer', 'peer'],
  ['addr', 'addr'],
  ['bytes', 'bytesLabel'],
  ['data', 'data'],
  ['value', 'value'],
  ['note', 'note'],
];

/** What an ok call reply says, fact by fact: `[{name, label, text}]` ("fds" → "3, 5",
 * "peer_fd" → "peer fd"). */
export function replyFacts(body) {
  return REPLY_FACTS.filter(([name]) => body[name] !== undefined && body[name] !== null).map(([name, label]) => {
    const value = body[name];
    const text = Array.isArray(value) ? value.join(', ') : typeof value === 'object' ? optValue(value) : String(value);
    return { name, label: label ? T[label] : name, text };
  });
}

/** What will come of a call that succeeded but may not do what it seems to: the server's hint
 * (a message sent with a wrong ICMP checksum), else for an ICMP message read with a wrong
 * checksum the page's word on it; null otherwise. `request` is the call as made. */
export function replyHint(request, body) {
  if (body.hint) return body.hint;
  return body.icmp ? icmpHint(body.icmp, icmpDirection(request)) : null;
}

/** One line for the event log. */
export function summary(ev) {
  if (!isCall(ev)) return kernelText(ev);
  return `${callText(ev)} ${resultText(ev)}`;
}

// ---------------------------------------------------------------------------------------
// Packets

/** How packet labels show TCP numbers: relative to each side's ISN (Wireshark's default),
 * or as on the wire. */
export const NUMBERS = ['relative', 'absolute'];

/** TCP flags as a ladder writes them: SYN+ACK, FIN+ACK. */
export function flagText(tcp) {
  return (tcp.flags || []).join('+') || T.none;
}

/** A TCP number in the chosen style; the absolute one when the relative is not known yet. */
function number(abs, rel, numbers) {
  return numbers === 'relative' && rel !== undefined && rel !== null ? rel : abs;
}

/** The label of a packet on the ladder, as the textbooks write it: `SYN seq=0`,
 * `SYN+ACK seq=0 ack=1`, `PSH+ACK seq=1 ack=1 len=5`; other protocols by their summary. */
export function packetLabel(packet, numbers = 'relative') {
  if (!packet) return '';
  const tcp = packet.tcp;
  if (!tcp) return packet.summary || packet.proto;
  const parts = [flagText(tcp), `seq=${number(tcp.seq, tcp.rel_seq, numbers)}`];
  if ((tcp.flags || []).includes('ACK')) parts.push(`ack=${number(tcp.ack, tcp.rel_ack, numbers)}`);
  if (packet.payload_len > 0) parts.push(`len=${packet.payload_len}`);
  return parts.join(' ');
}

/** Whether a packet carries TCP flag `flag`. */
export function hasFlag(packet, flag) {
  return Boolean(packet && packet.tcp && (packet.tcp.flags || []).includes(flag));
}

/** The packet's flags alone, for links to it: "RST+ACK", or its protocol. */
export function packetShort(packet) {
  if (!packet) return T.packet;
  if (packet.tcp) return flagText(packet.tcp);
  return (packet.proto || T.packet).toUpperCase();
}

/** Nanoseconds between two kernel timestamps, for people: 8.63 µs, 1.20 ms, 971 ms. */
export function fmtGap(ns) {
  if (ns === null || ns === undefined || Number.isNaN(ns)) return '';
  const abs = Math.abs(ns);
  // Three significant digits at most: 8.63 µs, 97.1 µs, 971 ms.
  const short = (x) => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));
  if (abs < 1000) return `${abs} ns`;
  if (abs < 1e6) return `${short(abs / 1000)} µs`;
  if (abs < 1e9) return `${short(abs / 1e6)} ms`;
  return `${short(abs / 1e9)} s`;
}

/** A timer in ms for people: 59.9 s, 1.2 s, 400 ms. */
export function fmtTimer(ms) {
  if (ms === null || ms === undefined) return '';
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms} ms`;
}

/** A socket without a descriptor, as sock_diag reported it (TIME_WAIT, or gone). */
export function kernelSocketText(ev) {
  const where = ev.tuple && ev.tuple.local ? ` ${ev.tuple.local}${ev.tuple.remote ? ` ↔ ${ev.tuple.remote}` : ''}` : '';
  if (ev.to === 'CLOSE') return fmt(T.gone, { where, was: ev.from ? fmt(T.was, { state: ev.from }) : '' });
  const timer = ev.timer_ms !== undefined && ev.timer_ms !== null ? fmt(T.timer, { t: fmtTimer(ev.timer_ms) }) : '';
  return fmt(T.noFd, { from: ev.from ? `${ev.from} → ` : '', to: ev.to || '?', where, timer });
}

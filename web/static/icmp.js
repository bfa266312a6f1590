// ICMP messages in words: the server decodes each message an ICMP socket sends, reads or has
// waiting (the `icmp` object of an event or a call reply: type, code, name, id and seq of an
// echo, checksum and whether it is right, and the IPv4 header a raw IPv4 socket reads in
// front of it); this module says it for the ladder, the event details and the console. It
// judges nothing itself: the checksum's verdict is the server's. Plain text only; no DOM.

import { fill as fmt, localize } from './i18n.js';

/** Every text this module writes, in each language. */
export const TEXTS = {
  en: {
    ok: 'checksum ok',
    shouldBe: ' (should be {right})',
    wrong: 'checksum {sum} wrong{right}',
    sum: 'checksum {sum}',
    typeCode: 'type {type} code {code}',
    from: 'from {ip}',
    ttl: 'ttl {ttl}',
    rightOne: ' (the right one is {right})',
    noReply: 'no echo reply will come',
    noAnswer: 'nothing will answer it',
    sentWrong: 'The checksum {sum} is wrong{right}: the receiving kernel checks it and drops the message silently, so {what}. Its raw ICMP sockets still get a copy, handed over before the check.',
    readWrong: 'The checksum {sum} is wrong{right}: this host’s kernel hands every raw ICMP socket a copy before it checks the checksum, then drops the message, so {what}.',
    identifier: 'identifier {id}',
    sequence: 'sequence {seq}',
    message: 'message',
    header: 'ICMP {name}: type {type}, code {code}{echo}; {n} bytes of data after the 8-byte header.',
    right: 'Checksum {sum}: right.',
    wrongRight: 'Checksum {sum}: wrong{right}.',
    rightIs: ', the right one is {right}',
    notJudged: 'Checksum {sum}: not judged here (an ICMPv6 checksum covers both IPv6 addresses and the kernel checked it; a read cut short has not all the bytes).',
    ipHeader: 'In front of it, the IPv{version} header a raw socket reads: {src} → {dst}, ttl {ttl}, protocol {proto}, {hlen}-byte header, {total} bytes in all.',
  },
  'zh-CN': {
    ok: '校验和正确',
    shouldBe: '（应为 {right}）',
    wrong: '校验和 {sum} 错误{right}',
    sum: '校验和 {sum}',
    typeCode: 'type {type} code {code}',
    from: '来自 {ip}',
    ttl: 'ttl {ttl}',
    rightOne: '（正确的是 {right}）',
    noReply: '不会有回显应答',
    noAnswer: '不会有任何应答',
    sentWrong: '校验和 {sum} 是错的{right}：接收方内核会检查它，并悄悄丢弃这条报文，所以{what}。那台主机的原始 ICMP 套接字仍会收到一份副本，因为副本在检查之前就交出去了。',
    readWrong: '校验和 {sum} 是错的{right}：这台主机的内核先把副本交给每个原始 ICMP 套接字，然后才检查校验和并丢弃这条报文，所以{what}。',
    identifier: '标识符 {id}',
    sequence: '序号 {seq}',
    message: '报文',
    header: 'ICMP {name}：type {type}，code {code}{echo}；8 字节首部之后有 {n} 字节数据。',
    right: '校验和 {sum}：正确。',
    wrongRight: '校验和 {sum}：错误{right}。',
    rightIs: '，正确的是 {right}',
    notJudged: '校验和 {sum}：这里不作判断（ICMPv6 校验和覆盖两个 IPv6 地址，内核已经检查过；读取被截断时字节也不全）。',
    ipHeader: '它前面是原始套接字读到的 IPv{version} 首部：{src} → {dst}，ttl {ttl}，协议 {proto}，首部 {hlen} 字节，共 {total} 字节。',
  },
};
const T = localize(TEXTS);


/** IP protocol numbers an ICMP socket's IPv4 header may name. */
const IP_PROTOCOLS = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6' };

/** A 16-bit number as the server writes checksums: 0x04d2. */
export function hex16(n) {
  return `0x${Number(n).toString(16).padStart(4, '0')}`;
}

/** Whether the event or reply carries a decoded ICMP message. */
export function hasIcmp(x) {
  return Boolean(x && x.icmp && typeof x.icmp === 'object');
}

/** Which way the message of an event went: 'sent' (send, sendto) or 'received' (recv,
 * recvfrom, a `data` event of a message waiting). */
export function icmpDirection(ev) {
  const kind = ev && (ev.kind || ev.call);
  return kind === 'send' || kind === 'sendto' ? 'sent' : 'received';
}

/** The checksum's verdict in a few words: "checksum ok", "checksum 0x04d2 wrong (should be
 * 0x8f93)", or the checksum alone where the server could not judge it. */
export function checksumText(icmp) {
  if (icmp.checksum_ok === true) return T.ok;
  if (icmp.checksum_ok === false) {
    const right = icmp.expected_checksum !== undefined && icmp.expected_checksum !== null ? fmt(T.shouldBe, { right: hex16(icmp.expected_checksum) }) : '';
    return fmt(T.wrong, { sum: hex16(icmp.checksum), right });
  }
  return fmt(T.sum, { sum: hex16(icmp.checksum) });
}

/** One line for a decoded message: "echo reply id=7 seq=1 from 10.0.0.2, ttl 64, checksum ok". */
export function icmpSummary(icmp) {
  if (!icmp) return '';
  const head = [icmp.name || fmt(T.typeCode, { type: icmp.type, code: icmp.code })];
  if (icmp.id !== undefined && icmp.id !== null) head.push(`id=${icmp.id}`);
  if (icmp.seq !== undefined && icmp.seq !== null) head.push(`seq=${icmp.seq}`);
  if (icmp.ip) head.push(fmt(T.from, { ip: icmp.ip.src }));
  const tail = [];
  if (icmp.ip) tail.push(fmt(T.ttl, { ttl: icmp.ip.ttl }));
  tail.push(checksumText(icmp));
  return [head.join(' '), ...tail].join(', ');
}

/** What a wrong checksum means for the message, or null when the checksum is right or not
 * judged. `direction` is `icmpDirection`'s: a message sent is dropped by the kernel it goes
 * to; one received was dropped by this host's kernel after its raw sockets got their copy. */
export function icmpHint(icmp, direction = 'received') {
  if (!icmp || icmp.checksum_ok !== false) return null;
  const right = icmp.expected_checksum !== undefined && icmp.expected_checksum !== null ? fmt(T.rightOne, { right: hex16(icmp.expected_checksum) }) : '';
  const what = icmp.type === 8 || icmp.type === 128 ? T.noReply : T.noAnswer;
  if (direction === 'sent') {
    return fmt(T.sentWrong, { sum: hex16(icmp.checksum), right, what });
  }
  return fmt(T.readWrong, { sum: hex16(icmp.checksum), right, what });
}

/** The message in full, one sentence per line, for the event details and the console:
 * the ICMP header, its checksum, and the IPv4 header in front of it when there is one. */
export function icmpLines(icmp) {
  if (!icmp) return [];
  const lines = [];
  const echo = [icmp.id !== undefined && icmp.id !== null ? fmt(T.identifier, { id: icmp.id }) : null, icmp.seq !== undefined && icmp.seq !== null ? fmt(T.sequence, { seq: icmp.seq }) : null].filter(Boolean);
  lines.push(fmt(T.header, { name: icmp.name || T.message, type: icmp.type, code: icmp.code, echo: echo.length ? `, ${echo.join(', ')}` : '', n: icmp.payload_len ?? 0 }));
  if (icmp.checksum_ok === true) lines.push(fmt(T.right, { sum: hex16(icmp.checksum) }));
  else if (icmp.checksum_ok === false) lines.push(fmt(T.wrongRight, { sum: hex16(icmp.checksum), right: icmp.expected_checksum !== undefined && icmp.expected_checksum !== null ? fmt(T.rightIs, { right: hex16(icmp.expected_checksum) }) : '' }));
  else lines.push(fmt(T.notJudged, { sum: hex16(icmp.checksum) }));
  const ip = icmp.ip;
  if (ip) {
    const proto = IP_PROTOCOLS[ip.protocol] ? `${ip.protocol} (${IP_PROTOCOLS[ip.protocol]})` : String(ip.protocol);
    lines.push(fmt(T.ipHeader, { version: ip.version, src: ip.src, dst: ip.dst, ttl: ip.ttl, proto, hlen: ip.header_len, total: ip.total_len }));
  }
  return lines;
}

// ICMP messages in words: the server decodes each message an ICMP socket sends, reads or has
// waiting (the `icmp` object of an event or a call reply: type, code, name, id and seq of an
// echo, checksum and whether it is right, and the IPv4 header a raw IPv4 socket reads in
// front of it); this module says it for the ladder, the event details and the console. It
// judges nothing itself: the checksum's verdict is the server's. Plain text only; no DOM.

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
  if (icmp.checksum_ok === true) return 'checksum ok';
  if (icmp.checksum_ok === false) {
    const right = icmp.expected_checksum !== undefined && icmp.expected_checksum !== null ? ` (should be ${hex16(icmp.expected_checksum)})` : '';
    return `checksum ${hex16(icmp.checksum)} wrong${right}`;
  }
  return `checksum ${hex16(icmp.checksum)}`;
}

/** One line for a decoded message: "echo reply id=7 seq=1 from 10.0.0.2, ttl 64, checksum ok". */
export function icmpSummary(icmp) {
  if (!icmp) return '';
  const head = [icmp.name || `type ${icmp.type} code ${icmp.code}`];
  if (icmp.id !== undefined && icmp.id !== null) head.push(`id=${icmp.id}`);
  if (icmp.seq !== undefined && icmp.seq !== null) head.push(`seq=${icmp.seq}`);
  if (icmp.ip) head.push(`from ${icmp.ip.src}`);
  const tail = [];
  if (icmp.ip) tail.push(`ttl ${icmp.ip.ttl}`);
  tail.push(checksumText(icmp));
  return [head.join(' '), ...tail].join(', ');
}

/** What a wrong checksum means for the message, or null when the checksum is right or not
 * judged. `direction` is `icmpDirection`'s: a message sent is dropped by the kernel it goes
 * to; one received was dropped by this host's kernel after its raw sockets got their copy. */
export function icmpHint(icmp, direction = 'received') {
  if (!icmp || icmp.checksum_ok !== false) return null;
  const right = icmp.expected_checksum !== undefined && icmp.expected_checksum !== null ? ` (the right one is ${hex16(icmp.expected_checksum)})` : '';
  const what = icmp.type === 8 || icmp.type === 128 ? 'no echo reply will come' : 'nothing will answer it';
  if (direction === 'sent') {
    return `The checksum ${hex16(icmp.checksum)} is wrong${right}: the receiving kernel checks it and drops the message silently, so ${what}. Its raw ICMP sockets still get a copy, handed over before the check.`;
  }
  return `The checksum ${hex16(icmp.checksum)} is wrong${right}: this host’s kernel hands every raw ICMP socket a copy before it checks the checksum, then drops the message, so ${what}.`;
}

/** The message in full, one sentence per line, for the event details and the console:
 * the ICMP header, its checksum, and the IPv4 header in front of it when there is one. */
export function icmpLines(icmp) {
  if (!icmp) return [];
  const lines = [];
  const echo = [icmp.id !== undefined && icmp.id !== null ? `identifier ${icmp.id}` : null, icmp.seq !== undefined && icmp.seq !== null ? `sequence ${icmp.seq}` : null].filter(Boolean);
  lines.push(`ICMP ${icmp.name || 'message'}: type ${icmp.type}, code ${icmp.code}${echo.length ? `, ${echo.join(', ')}` : ''}; ${icmp.payload_len ?? 0} bytes of data after the 8-byte header.`);
  if (icmp.checksum_ok === true) lines.push(`Checksum ${hex16(icmp.checksum)}: right.`);
  else if (icmp.checksum_ok === false) lines.push(`Checksum ${hex16(icmp.checksum)}: wrong${icmp.expected_checksum !== undefined && icmp.expected_checksum !== null ? `, the right one is ${hex16(icmp.expected_checksum)}` : ''}.`);
  else lines.push(`Checksum ${hex16(icmp.checksum)}: not judged here (an ICMPv6 checksum covers both IPv6 addresses and the kernel checked it; a read cut short has not all the bytes).`);
  const ip = icmp.ip;
  if (ip) {
    const proto = IP_PROTOCOLS[ip.protocol] ? `${ip.protocol} (${IP_PROTOCOLS[ip.protocol]})` : String(ip.protocol);
    lines.push(`In front of it, the IPv${ip.version} header a raw socket reads: ${ip.src} → ${ip.dst}, ttl ${ip.ttl}, protocol ${proto}, ${ip.header_len}-byte header, ${ip.total_len} bytes in all.`);
  }
  return lines;
}

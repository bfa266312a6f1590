// layers.js on real frames captured by Plugboard in netns mode (see /api/sessions/{id}/events):
// every field at the right bytes with the right value, and frames that are cut or garbage.

import test from 'node:test';
import assert from 'node:assert/strict';
import { allFields, hexRows, ipv6Text, parseFrame } from '../static/layers.js';
import { useLang } from '../static/i18n.js';

// These tests read the English texts.
useLang('en');

/** A's SYN to B (10.0.0.1:54910 → 10.0.0.2:8080), 74 bytes. */
const SYN = 'f62d40d618e79af534e719fe08004500003cc4764000400662430a0000010a000002d67e1f9071113a7200000000a002faf014310000020405b40402080a0b4f4610000000000103030a';
/** A's data segment "hello" (PSH+ACK). */
const DATA = 'f62d40d618e79af534e719fe080045000039c4784000400662440a0000010a000002d67e1f9071113a73872ee99a8018003f142e00000101080a0b4f462b42db5f4f68656c6c6f';
/** A's ARP request for 10.0.0.2. */
const ARP = 'ffffffffffff9af534e719fe080600010800060400019af534e719fe0a0000010000000000000a000002';
/** A's SYN over IPv6 (fd00::1 → fd00::2:8081). */
const SYN6 = 'f62d40d618e79af534e719fe86dd6003cc2d00280640fd000000000000000000000000000001fd0000000000000000000000000000028c381f911e21c87c00000000a002fd20fa320000020405a00402080a010fa99f000000000103030a';
/** A's UDP datagram "ping" to 10.0.0.2:5300. */
const UDP = 'f62d40d618e79af534e719fe0800450000201f8040004011074b0a0000010a000002e40a14b4000c142070696e67';
/** B's ICMP port unreachable for that datagram. */
const ICMP = '9af534e719fef62d40d618e7080045c0003c1d590000400148a60a0000020a0000010303114100000000450000201f8040004011074b0a0000010a000002e40a14b4000c142070696e67';
/** An MLDv2 report: IPv6 with a hop-by-hop extension header before ICMPv6. */
const MLD = '333300000016f62d40d618e786dd600000000038000100000000000000000000000000000000ff0200000000000000000000000000163a000502000001008f0053b10000000204000000ff0200000000000000000001ffd618e704000000ff0200000000000000000001ff000002';
/** A SYN on the host's own loopback: all-zero MAC addresses. */
const LO_SYN = '00000000000000000000000008004500003c79cd40004006c2ec7f0000017f000001abb000072d912eff00000000a002ffd7fe3000000204ffd70402080ad28d8ca9000000000103030a';

const layer = (parsed, name) => parsed.layers.find((l) => l.name === name);
const fieldOf = (parsed, layerName, name) => allFields(parsed).find((x) => x.layer.name === layerName && x.field.name === name)?.field;
const bytesOf = (parsed, f) => Buffer.from(parsed.bytes.subarray(f.offset, f.offset + f.length)).toString('hex');

test('a SYN: Ethernet, IPv4 and TCP, each field at its bytes', () => {
  const p = parseFrame(SYN, { relSeq: 0 });
  assert.equal(p.error, undefined);
  assert.equal(p.cut, false);
  assert.deepEqual(p.layers.map((l) => [l.layer, l.name]), [['link', 'Ethernet II'], ['network', 'IPv4'], ['transport', 'TCP']]);
  assert.equal(fieldOf(p, 'Ethernet II', 'Destination MAC').value, 'f6:2d:40:d6:18:e7');
  assert.equal(fieldOf(p, 'Ethernet II', 'EtherType').value, '0x0800 (IPv4)');
  const ip = layer(p, 'IPv4');
  assert.equal(ip.offset, 14);
  assert.equal(ip.length, 20);
  assert.equal(fieldOf(p, 'IPv4', 'Source address').value, '10.0.0.1');
  assert.equal(fieldOf(p, 'IPv4', 'Destination address').value, '10.0.0.2');
  assert.equal(fieldOf(p, 'IPv4', 'TTL').value, '64');
  assert.equal(fieldOf(p, 'IPv4', 'Protocol').value, '6 (TCP)');
  assert.match(fieldOf(p, 'IPv4', 'Flags').value, /DF/);
  const tcp = layer(p, 'TCP');
  assert.equal(tcp.offset, 34);
  assert.equal(tcp.length, 40);
  assert.equal(fieldOf(p, 'TCP', 'Source port').value, '54910');
  assert.equal(fieldOf(p, 'TCP', 'Destination port').value, '8080');
  const seq = fieldOf(p, 'TCP', 'Sequence number');
  assert.equal(seq.value, '1896954482 (relative 0)');
  assert.equal(seq.offset, 38);
  assert.equal(seq.length, 4);
  assert.equal(bytesOf(p, seq), '71113a72');
  assert.match(seq.meaning, /initial sequence number/);
  const flags = fieldOf(p, 'TCP', 'Flags');
  assert.deepEqual(flags.flags, ['SYN']);
  assert.equal(flags.value, '0x002 (SYN)');
  assert.equal(fieldOf(p, 'TCP', 'Window').value, '64240');
  // Each option on its own, with its bytes.
  const options = fieldOf(p, 'TCP', 'Options');
  assert.deepEqual(options.children.map((o) => o.name), ['Maximum segment size', 'SACK permitted', 'Timestamps', 'No-operation', 'Window scale']);
  const mss = options.children[0];
  assert.equal(mss.value, '1460 bytes');
  assert.equal(bytesOf(p, mss), '020405b4');
  assert.equal(options.children[2].value, 'TSval 189744656, TSecr 0');
  assert.equal(options.children[4].value, '10 (×1024)');
  // Every field has a one-line meaning and lies inside the frame.
  for (const { field } of allFields(p)) {
    assert.ok(field.meaning && !field.meaning.includes('\n'), field.name);
    assert.ok(field.offset >= 0 && field.offset + field.length <= p.bytes.length, field.name);
  }
});

test('a data segment: relative numbers beside absolute ones, and the payload', () => {
  const p = parseFrame(DATA, { relSeq: 1, relAck: 1 });
  assert.equal(fieldOf(p, 'TCP', 'Sequence number').value, '1896954483 (relative 1)');
  assert.equal(fieldOf(p, 'TCP', 'Acknowledgement number').value, '2267998618 (relative 1)');
  assert.equal(fieldOf(p, 'TCP', 'Flags').value, '0x018 (ACK, PSH)');
  const app = p.layers.at(-1);
  assert.equal(app.layer, 'application');
  assert.equal(app.fields[0].value, '"hello"');
  assert.equal(bytesOf(p, app.fields[0]), Buffer.from('hello').toString('hex'));
});

test('without relative numbers only the absolute one is shown', () => {
  const p = parseFrame(DATA);
  assert.equal(fieldOf(p, 'TCP', 'Sequence number').value, '1896954483');
});

test('an ARP request', () => {
  const p = parseFrame(ARP);
  assert.deepEqual(p.layers.map((l) => l.name), ['Ethernet II', 'ARP']);
  assert.equal(fieldOf(p, 'Ethernet II', 'Destination MAC').value, 'ff:ff:ff:ff:ff:ff (broadcast)');
  assert.equal(fieldOf(p, 'ARP', 'Opcode').value, '1 (request)');
  assert.equal(fieldOf(p, 'ARP', 'Sender IP').value, '10.0.0.1');
  assert.equal(fieldOf(p, 'ARP', 'Target IP').value, '10.0.0.2');
  assert.equal(fieldOf(p, 'ARP', 'Target IP').offset, 38);
  assert.equal(p.cut, false);
});

test('TCP over IPv6', () => {
  const p = parseFrame(SYN6, { relSeq: 0 });
  assert.deepEqual(p.layers.map((l) => l.name), ['Ethernet II', 'IPv6', 'TCP']);
  assert.equal(fieldOf(p, 'IPv6', 'Source address').value, 'fd00::1');
  assert.equal(fieldOf(p, 'IPv6', 'Destination address').value, 'fd00::2');
  assert.equal(fieldOf(p, 'IPv6', 'Next header').value, '6 (TCP)');
  assert.equal(fieldOf(p, 'IPv6', 'Hop limit').value, '64');
  assert.equal(fieldOf(p, 'IPv6', 'Payload length').value, '40 bytes');
  assert.equal(layer(p, 'TCP').offset, 54);
  assert.equal(fieldOf(p, 'TCP', 'Destination port').value, '8081');
  assert.equal(fieldOf(p, 'TCP', 'Options').children[0].value, '1440 bytes');
});

test('IPv6 extension headers are walked to the ICMPv6 message', () => {
  const p = parseFrame(MLD);
  const ext = fieldOf(p, 'IPv6', 'Hop-by-hop options header');
  assert.equal(ext.length, 8);
  assert.equal(ext.children[0].value, '58 (ICMPv6)');
  assert.equal(fieldOf(p, 'ICMPv6', 'Type').value, '143 (multicast listener report v2)');
  assert.equal(layer(p, 'ICMPv6').layer, 'network');
});

test('a UDP datagram and the ICMP error it caused', () => {
  const p = parseFrame(UDP);
  assert.deepEqual(p.layers.map((l) => l.name), ['Ethernet II', 'IPv4', 'UDP', 'Datagram data']);
  assert.equal(fieldOf(p, 'UDP', 'Source port').value, '58378');
  assert.equal(fieldOf(p, 'UDP', 'Destination port').value, '5300');
  assert.equal(fieldOf(p, 'UDP', 'Length').value, '12 bytes');
  assert.equal(fieldOf(p, 'Datagram data', 'Data').value, '"ping"');
  const icmp = parseFrame(ICMP);
  assert.equal(fieldOf(icmp, 'ICMP', 'Type').value, '3 (destination unreachable)');
  assert.equal(fieldOf(icmp, 'ICMP', 'Code').value, '3 (port unreachable)');
  assert.equal(fieldOf(icmp, 'ICMP', 'Original datagram').length, 32);
});

test('loopback frames have no MAC addresses', () => {
  const p = parseFrame(LO_SYN);
  assert.equal(fieldOf(p, 'Ethernet II', 'Source MAC').value, '00:00:00:00:00:00 (none: loopback)');
  assert.equal(fieldOf(p, 'IPv4', 'Source address').value, '127.0.0.1');
});

test('a frame cut at the snap length keeps what it has and says it was cut', () => {
  // Cut inside the TCP header, after the sequence number.
  const p = parseFrame(SYN.slice(0, 2 * 44));
  assert.equal(p.cut, true);
  assert.equal(p.error, undefined);
  const tcp = layer(p, 'TCP');
  assert.equal(tcp.truncated, true);
  assert.equal(fieldOf(p, 'TCP', 'Sequence number').value, '1896954482');
  assert.equal(fieldOf(p, 'TCP', 'Acknowledgement number'), undefined);
  // Cut inside the payload: the captured bytes, and how many there were.
  const data = parseFrame(DATA.slice(0, DATA.length - 4));
  assert.equal(data.cut, true);
  assert.equal(fieldOf(data, 'Segment data', 'Data').value, '"hel" (3 of 5 bytes captured)');
  // Cut inside the TCP options.
  const options = parseFrame(SYN.slice(0, 2 * 60));
  assert.equal(options.cut, true);
  assert.ok(fieldOf(options, 'TCP', 'Options').children.length >= 1);
  // Cut inside the Ethernet header of an ARP.
  const arp = parseFrame(ARP.slice(0, 2 * 24));
  assert.equal(arp.cut, true);
  assert.equal(fieldOf(arp, 'ARP', 'Opcode').value, '1 (request)');
  assert.equal(fieldOf(arp, 'ARP', 'Sender IP'), undefined);
});

test('garbage is an error, never an exception', () => {
  for (const junk of ['', 'zz', 'abc', null, undefined, 42, 'ffffffff']) {
    const p = parseFrame(junk);
    assert.ok(p.error, `${junk}: ${JSON.stringify(p)}`);
    assert.deepEqual(p.layers, []);
  }
  // Hex, but not a frame anyone would send: parsed as far as it makes sense.
  const odd = parseFrame('00'.repeat(14) + '45'.repeat(3));
  assert.equal(odd.layers[0].name, 'Ethernet II');
  assert.equal(fieldOf(odd, 'Ethernet II', 'EtherType').value, '0x0000 (unknown)');
  const bad = parseFrame(SYN.slice(0, 28) + '4f' + 'ff'.repeat(100));
  assert.equal(bad.layers[1].name, 'IPv4');
  const random = parseFrame('0800'.repeat(7) + 'ab'.repeat(300));
  assert.ok(random.layers.length >= 1);
  // A TCP header whose data offset is impossible stops at the header.
  const doff = SYN.slice(0, 2 * 46) + '10' + SYN.slice(2 * 47);
  assert.doesNotThrow(() => parseFrame(doff));
});

test('IPv6 text follows RFC 5952', () => {
  const b = (hex) => Uint8Array.from(Buffer.from(hex, 'hex'));
  assert.equal(ipv6Text(b('fd000000000000000000000000000001'), 0), 'fd00::1');
  assert.equal(ipv6Text(b('00000000000000000000000000000000'), 0), '::');
  assert.equal(ipv6Text(b('20010db8000000010000000000000001'), 0), '2001:db8:0:1::1');
  assert.equal(ipv6Text(b('20010db8000100010001000100010001'), 0), '2001:db8:1:1:1:1:1:1');
});

test('the hex dump has 16 bytes a row with printable characters', () => {
  const p = parseFrame(DATA);
  const rows = hexRows(p.bytes);
  assert.equal(rows.length, Math.ceil(p.bytes.length / 16));
  assert.equal(rows[0].label, '0000');
  assert.equal(rows[1].label, '0010');
  assert.equal(rows[0].bytes.length, 16);
  assert.equal(rows.at(-1).bytes.map((x) => x.char).join('').slice(-5), 'hello');
});

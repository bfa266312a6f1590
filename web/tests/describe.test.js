// Packet labels as the ladder writes them, relative or absolute, and kernel events in words.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { callText, fmtGap, isCall, kernelText, packetLabel, packetShort, resultText, summary, typeOf } from '../static/describe.js';
import { defaultType } from '../static/model.js';
import { useLang } from '../static/i18n.js';

// These tests read the English texts.
useLang('en');

const events = JSON.parse(readFileSync(new URL('./fixtures/handshake-and-close.json', import.meta.url)));
const refused = JSON.parse(readFileSync(new URL('./fixtures/refused.json', import.meta.url)));
const at = (list, seq) => list.find((ev) => ev.seq === seq);

test('the handshake reads as the textbooks write it, in relative numbers', () => {
  assert.equal(packetLabel(at(events, 26).packet), 'SYN seq=0');
  assert.equal(packetLabel(at(events, 28).packet), 'SYN+ACK seq=0 ack=1');
  assert.equal(packetLabel(at(events, 30).packet), 'ACK seq=1 ack=1');
  assert.equal(packetLabel(at(events, 57).packet, 'relative'), 'FIN+ACK seq=1 ack=1');
});

test('absolute numbers are the ones on the wire', () => {
  const syn = at(events, 26).packet;
  const synAck = at(events, 28).packet;
  assert.equal(packetLabel(syn, 'absolute'), `SYN seq=${syn.tcp.seq}`);
  assert.equal(packetLabel(synAck, 'absolute'), `SYN+ACK seq=${synAck.tcp.seq} ack=${syn.tcp.seq + 1}`);
  assert.notEqual(packetLabel(syn, 'absolute'), packetLabel(syn, 'relative'));
});

test('data carries its length; a RST to a closed port has no relative seq, so it shows the wire’s', () => {
  const data = { proto: 'tcp', payload_len: 5, tcp: { flags: ['PSH', 'ACK'], seq: 1896954483, ack: 2267998618, rel_seq: 1, rel_ack: 1 } };
  assert.equal(packetLabel(data), 'PSH+ACK seq=1 ack=1 len=5');
  assert.equal(packetLabel(data, 'absolute'), 'PSH+ACK seq=1896954483 ack=2267998618 len=5');
  const rst = at(refused, 38).packet;
  assert.equal(packetLabel(rst), 'RST+ACK seq=0 ack=1');
  assert.equal(packetLabel(rst, 'absolute'), `RST+ACK seq=0 ack=${rst.tcp.ack}`);
  assert.equal(packetShort(rst), 'RST+ACK');
});

test('other protocols are labelled by their summary', () => {
  assert.equal(packetLabel(at(events, 24).packet), 'ARP who has 10.0.0.2? tell 10.0.0.1');
  assert.equal(packetLabel({ proto: 'udp', summary: 'UDP 58378 → 5300 len=4', udp: {} }), 'UDP 58378 → 5300 len=4');
  assert.equal(packetShort({ proto: 'udp' }), 'UDP');
  assert.equal(packetLabel(null), '');
});

test('packets and kernel sockets are not calls, and read in words', () => {
  assert.equal(isCall(at(events, 26)), false);
  assert.equal(isCall(at(events, 68)), false);
  assert.equal(isCall(at(events, 34)), true);
  assert.match(summary(at(events, 26)), /^A → B SYN seq=0/);
  assert.equal(kernelText(at(events, 27)), 'CLOSE → SYN_SENT (read from packet #26)');
  assert.equal(kernelText(at(events, 68)), 'FIN_WAIT2 → TIME_WAIT, no descriptor 10.0.0.1:51872 ↔ 10.0.0.2:8300 · timer 60.0 s');
  assert.match(kernelText(at(events, 31)), /^ESTABLISHED, no descriptor/);
  const gone = { kind: 'kernel_socket', host: 'A', from: 'TIME_WAIT', to: 'CLOSE', tuple: { local: '10.0.0.1:1', remote: '10.0.0.2:2' } };
  assert.equal(kernelText(gone), 'socket without a descriptor is gone 10.0.0.1:1 ↔ 10.0.0.2:2 (was TIME_WAIT)');
});

test('kernel time gaps for people', () => {
  assert.equal(fmtGap(800), '800 ns');
  assert.equal(fmtGap(8630), '8.63 µs');
  assert.equal(fmtGap(970_530_000), '971 ms');
  assert.equal(fmtGap(2_500_000_000), '2.50 s');
  assert.equal(fmtGap(null), '');
});

test('Unix-domain, raw and ICMP calls read as a program writes them', () => {
  const fixture = JSON.parse(readFileSync(new URL('./fixtures/unix-raw-ports.json', import.meta.url)));
  const ev = (seq) => fixture.find((e) => e.seq === seq);
  assert.equal(summary(ev(2)), 'socket(AF_UNIX, SOCK_STREAM) → fd 3');
  assert.equal(summary(ev(3)), 'bind(3, /tmp/echo.sock) → 0 (a socket file)');
  assert.equal(summary(ev(14)), 'bind(6, @echo) → 0 (abstract name, no file)');
  assert.equal(summary(ev(7)), 'accept(3) → fd 5 from an unnamed socket');
  assert.equal(summary(ev(12)), 'socketpair(AF_UNIX, SOCK_SEQPACKET) → fds 4, 5, connected to each other');
  assert.equal(summary(ev(13)), 'socket(AF_UNIX, SOCK_DGRAM) → fd 6');
  assert.equal(summary(ev(15)), 'socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) → fd 7');
  assert.equal(summary(ev(17)), 'socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP) → fd 8');
  assert.equal(summary(ev(16)), 'sendto(7, 0x0800f7ff00000000, 10.0.0.2) → 8 bytes');
  assert.equal(summary(ev(20)), 'socket(AF_INET, SOCK_DGRAM) → fd 6', 'an old tuple without a type');
  assert.equal(summary(ev(21)), 'bind(6, 10.0.0.2:0) → 0 (as 10.0.0.2:40123)');
  const v6 = { kind: 'socket', status: 'ok', fd: 3, new_fd: 3, tuple: { proto: 'icmpv6', family: 'inet6', type: 'raw' } };
  assert.equal(summary(v6), 'socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6) → fd 3');
  assert.equal(summary({ kind: 'getsockname', status: 'ok', fd: 4, tuple: { proto: 'unix', family: 'unix', type: 'stream' } }), 'getsockname(4) → unnamed');
  assert.match(kernelText({ kind: 'eof', tuple: { proto: 'unix' } }), /no FIN/);
  assert.equal(kernelText({ kind: 'eof', tuple: { proto: 'tcp' } }), 'FIN received: end of stream after the waiting bytes');
});

test('unlink reads as a program writes it: the path, and 0 or the errno', () => {
  const fixture = JSON.parse(readFileSync(new URL('./fixtures/unix-peer-fd.json', import.meta.url)));
  const ev = (seq) => fixture.find((e) => e.seq === seq);
  assert.equal(isCall(ev(17)), true);
  assert.equal(callText(ev(17)), 'unlink("/tmp/echo.sock")');
  assert.equal(summary(ev(17)), 'unlink("/tmp/echo.sock") → 0');
  assert.equal(summary(ev(18)), 'unlink("/tmp/echo.sock") ENOENT (2)');
  assert.equal(resultText(ev(18)), 'ENOENT (2)');
});

test('a tuple without a type reads with the model’s default for its protocol', () => {
  for (const proto of ['tcp', 'udp', 'icmp', 'icmpv6', 'unix', undefined]) {
    assert.equal(typeOf(proto ? { proto } : null), defaultType(proto), String(proto));
  }
  assert.equal(typeOf({ proto: 'tcp' }), 'stream');
  assert.equal(typeOf({ proto: 'udp' }), 'dgram');
  assert.equal(typeOf({ proto: 'unix' }, 'seqpacket'), 'seqpacket', 'a socketpair event’s own type');
  assert.equal(typeOf({ proto: 'udp', type: 'dgram' }), 'dgram');
});

test('an accept names the client’s descriptor when the kernel paired them', () => {
  const fixture = JSON.parse(readFileSync(new URL('./fixtures/unix-peer-fd.json', import.meta.url)));
  const ev = (seq) => fixture.find((e) => e.seq === seq);
  assert.equal(summary(ev(11)), 'accept(3) → fd 6 from fd 5 (unnamed)');
  assert.equal(summary(ev(10)), 'accept(3) → fd 4 from an unnamed socket', 'its client closed while queued');
  assert.equal(resultText({ ...ev(11), peer: '/tmp/client.sock' }), '→ fd 6 from /tmp/client.sock (fd 5)');
});

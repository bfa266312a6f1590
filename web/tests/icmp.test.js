// ICMP messages in words: the server's decoded `icmp` object on events (sendto, recvfrom, recv,
// a `data` event of a message waiting) and on call replies, as the ladder, the event details
// and the console say it.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checksumText, hasIcmp, hex16, icmpDirection, icmpHint, icmpLines, icmpSummary } from '../static/icmp.js';
import { replyFacts, replyHint } from '../static/describe.js';
import { useLang } from '../static/i18n.js';

// These tests read the English texts.
useLang('en');

const events = JSON.parse(readFileSync(new URL('./fixtures/icmp-ping.json', import.meta.url)));
const replies = JSON.parse(readFileSync(new URL('./fixtures/call-replies.json', import.meta.url)));
const at = (seq) => events.find((ev) => ev.seq === seq);

test('a decoded message in one line', () => {
  assert.equal(icmpSummary(at(7).icmp), 'echo reply id=7 seq=1 from 10.0.0.2, ttl 64, checksum ok');
  assert.equal(icmpSummary(at(4).icmp), 'echo request id=7 seq=1, checksum ok', 'sent: no IPv4 header in front');
  assert.equal(icmpSummary(at(9).icmp), 'echo request id=7 seq=2 from 10.0.0.1, ttl 64, checksum 0x04d2 wrong (should be 0x8f8d)');
  assert.equal(icmpSummary(at(11).icmp), 'echo reply id=9 seq=1, checksum 0x0a0b', 'ICMPv6: the kernel judged the checksum, the server does not');
  assert.equal(icmpSummary({ type: 3, code: 3, name: 'destination unreachable (port)', checksum: 1, payload_len: 28 }), 'destination unreachable (port), checksum 0x0001');
  assert.equal(icmpSummary(null), '');
});

test('checksums as the server writes them', () => {
  assert.equal(hex16(1234), '0x04d2');
  assert.equal(hex16(0x8f8d), '0x8f8d');
  assert.equal(checksumText(at(5).icmp), 'checksum ok');
});

test('which events carry a message, and which way it went', () => {
  assert.deepEqual(events.filter(hasIcmp).map((ev) => ev.seq), [4, 5, 6, 7, 8, 9, 11]);
  assert.equal(icmpDirection(at(4)), 'sent');
  assert.equal(icmpDirection(at(5)), 'received', 'a message waiting');
  assert.equal(icmpDirection(at(7)), 'received');
  assert.equal(icmpDirection({ call: 'sendto' }), 'sent', 'a console request');
});

test('a wrong checksum gets a hint; a right or unjudged one none', () => {
  assert.equal(icmpHint(at(7).icmp), null);
  assert.equal(icmpHint(at(11).icmp), null);
  const copy = icmpHint(at(9).icmp, icmpDirection(at(9)));
  assert.match(copy, /0x04d2 is wrong \(the right one is 0x8f8d\)/);
  assert.match(copy, /this host’s kernel hands every raw ICMP socket a copy before it checks/);
  assert.match(copy, /no echo reply will come/);
  assert.match(icmpHint(at(8).icmp, 'sent'), /receiving kernel checks it and drops the message/);
});

test('the message in full, for the event details', () => {
  const lines = icmpLines(at(9).icmp);
  assert.equal(lines[0], 'ICMP echo request: type 8, code 0, identifier 7, sequence 2; 2 bytes of data after the 8-byte header.');
  assert.equal(lines[1], 'Checksum 0x04d2: wrong, the right one is 0x8f8d.');
  assert.equal(lines[2], 'In front of it, the IPv4 header a raw socket reads: 10.0.0.1 → 10.0.0.2, ttl 64, protocol 1 (ICMP), 20-byte header, 30 bytes in all.');
  assert.equal(icmpLines(at(4).icmp).length, 2, 'sent: no IPv4 header');
  assert.match(icmpLines(at(11).icmp)[1], /not judged here/);
});

test('a call reply’s facts read as the console lists them', () => {
  const facts = (name) => replyFacts(replies[name].body).map((f) => `${f.label} ${f.text}`);
  assert.deepEqual(facts('accept'), ['fd 6', 'peer fd 5']);
  assert.deepEqual(facts('socketpair'), ['fd 3', 'fds 3, 5']);
  assert.deepEqual(facts('recvfrom_reply'), ['peer 10.0.0.2', 'bytes 30', 'data 4500001e12344000400114a90a0000020a0000010000978e000700016869']);
  assert.ok(!replyFacts(replies.sendto_wrong_checksum.body).some((f) => f.name === 'icmp' || f.name === 'hint'), 'sentences, not facts');
  assert.deepEqual(replyFacts({ value: { onoff: true, seconds: 5 } }).map((f) => f.text), ['{onoff: true, seconds: 5}']);
});

test('an ok reply’s hint: the server’s, else what a wrong checksum read means', () => {
  const sent = replies.sendto_wrong_checksum;
  assert.equal(replyHint(sent.request, sent.body), sent.body.hint, 'the server’s own word');
  assert.equal(icmpSummary(sent.body.icmp), 'echo request id=7 seq=2, checksum 0x04d2 wrong (should be 0x8f8d)');
  const copy = replies.recvfrom_copy_wrong_checksum;
  assert.match(replyHint(copy.request, copy.body), /this host’s kernel .* then drops the message/);
  const reply = replies.recvfrom_reply;
  assert.equal(replyHint(reply.request, reply.body), null);
  assert.equal(icmpSummary(reply.body.icmp), 'echo reply id=7 seq=1 from 10.0.0.2, ttl 64, checksum ok');
  assert.equal(replyHint(replies.accept.request, replies.accept.body), null);
});

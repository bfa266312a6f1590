// The two packet lessons explain this run's real packets: J and K from the SYN and SYN+ACK,
// the FINs and their ACKs, TIME_WAIT as sock_diag reported it; without packets, they say why.
// Every lesson's steps build their calls from descriptors saved by earlier steps; the
// ephemeral-ports lesson reads the kernel's ports against the host's range; the ping lesson,
// which needs netns mode, ends at once in loopback mode and says why.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { applyEvent, emptyModel } from '../static/model.js';
import {
  LESSONS, UNIX_PATH, explainActiveClose, explainData, explainEphemeral, explainHandshake, explainPassiveClose, explainSilence,
  explainTimeWait, handshakeOf,
} from '../static/lessons.js';
import { useLang } from '../static/i18n.js';

// These tests read the English texts.
useLang('en');

const events = JSON.parse(readFileSync(new URL('./fixtures/handshake-and-close.json', import.meta.url)));
const model = emptyModel();
for (const ev of events) applyEvent(model, ev);
const of = (callId) => model.callPackets.get(callId) || [];

test('the handshake is found among the connect’s packets', () => {
  const { syn, synAck, ack } = handshakeOf(of(5));
  assert.deepEqual([syn.seq, synAck.seq, ack.seq], [26, 28, 30]);
  assert.deepEqual(handshakeOf([]), { syn: null, synAck: null, ack: null });
  // The SYN alone (the rest not arrived yet): the answer so far.
  assert.equal(handshakeOf(of(5).slice(0, 1)).synAck, null);
});

test('J and K are this run’s numbers', () => {
  const j = events.find((ev) => ev.seq === 26).packet.tcp.seq;
  const k = events.find((ev) => ev.seq === 28).packet.tcp.seq;
  const text = explainHandshake(of(5));
  assert.match(text, new RegExp(`seq J = ${j}`));
  assert.match(text, new RegExp(`own K = ${k} and ack J\\+1 = ${j + 1}`));
  assert.match(text, new RegExp(`ack K\\+1 = ${k + 1}`));
  assert.match(explainHandshake(of(5).slice(0, 1)), /^A’s SYN \(#26\) carried seq J = \d+/);
  assert.equal(explainHandshake([]), null);
});

test('accept sends nothing; a data segment starts at J+1', () => {
  assert.match(explainSilence(of(6), 'accept'), /sent nothing/);
  assert.match(explainSilence(of(5), 'connect'), /caused 3 packets/);
  const data = [
    { seq: 1, packet: { from: 'A', to: 'B', payload_len: 2, tcp: { flags: ['PSH', 'ACK'], seq: 100, ack: 7, rel_seq: 1 } } },
    { seq: 2, packet: { from: 'B', to: 'A', payload_len: 0, tcp: { flags: ['ACK'], seq: 7, ack: 102 } } },
  ];
  assert.match(explainData(data), /starts at seq 100 \(relative 1\).*ack 102 \(#2\)/);
  assert.equal(explainData([]), null);
});

test('the four-way close, from the real FINs and ACKs', () => {
  const active = explainActiveClose(model, of(13));
  assert.match(active, /FIN \(#57, seq \d+\)/);
  assert.match(active, /acknowledged it at once, on its own \(#62, ack \d+\)/);
  assert.match(active, /CLOSE_WAIT/);
  const passive = explainPassiveClose(model, of(15), 'B');
  assert.match(passive, /B’s FIN \(#65/);
  assert.match(passive, /last ACK \(#66/);
  assert.match(passive, /TIME_WAIT/);
  // Before B's ACK arrived, the text says it has not come yet.
  const early = emptyModel();
  for (const ev of events) if (ev.seq <= 58) applyEvent(early, ev);
  assert.match(explainActiveClose(early, early.callPackets.get(13)), /has not acknowledged it/);
});

test('TIME_WAIT as sock_diag reported it', () => {
  const text = explainTimeWait(model, 'A', '10.0.0.1:51872');
  assert.match(text, /^EADDRINUSE: 10\.0\.0\.1:51872/);
  assert.match(text, /TIME_WAIT with no descriptor, 60 s left/);
  assert.doesNotMatch(explainTimeWait(emptyModel(), 'A', '10.0.0.1:1'), /sock_diag/);
});

test('the packet lessons say why there are no packets in loopback mode, and still make calls', () => {
  const run = { capture: false, noPackets: 'No packets to read here: netns needed.', packetsOf: () => [], tupleOf: () => ({ local: '127.1.2.1:5000' }), model: emptyModel() };
  for (const id of ['handshake', 'close']) {
    const lesson = LESSONS.find((l) => l.id === id);
    assert.ok(lesson, id);
    for (const step of lesson.steps) {
      assert.equal(typeof step.call, 'function');
      if (!step.explain) continue;
      const text = step.explain(run);
      if (step.expect === 'EADDRINUSE') assert.match(text, /^EADDRINUSE: 127\.1\.2\.1:5000/);
      else assert.equal(text, run.noPackets);
    }
  }
  // Every lesson names its steps uniquely.
  for (const lesson of LESSONS) {
    const names = lesson.steps.map((s) => s.name).filter(Boolean);
    assert.equal(new Set(names).size, names.length, lesson.id);
  }
});

/** Every step's call, built as the scenarios view builds it, with descriptors that must have
 * been saved by an earlier step (save, or saveFds for a socketpair). */
function dryRun(lesson) {
  const saved = new Map();
  let next = 3;
  const c = {
    fd: new Proxy({}, {
      get(_, name) {
        assert.ok(saved.has(name), `${lesson.id}: fd ${String(name)} used before a step saved it`);
        return saved.get(name);
      },
    }),
    peer: new Proxy({}, { get: () => '10.0.0.1:40000' }),
    ip: (host) => (host === 'A' ? '10.0.0.1' : '10.0.0.2'),
    addr: (host, port) => `${c.ip(host)}:${port}`,
    tupleOf: () => ({ local: '10.0.0.1:40000', remote: null }),
  };
  for (const [name, base] of Object.entries(lesson.ports || {})) c[name] = base;
  return lesson.steps.map((step) => {
    assert.match(step.host, /^[A-Z]$/, lesson.id);
    assert.ok(step.text.trim(), lesson.id);
    const body = step.call(c);
    assert.equal(typeof body.call, 'string', `${lesson.id}: ${step.text}`);
    if (step.save) saved.set(step.save, next++);
    for (const name of step.saveFds || []) saved.set(name, next++);
    return { step, body };
  });
}

test('every lesson builds its calls from descriptors it saved first', () => {
  for (const lesson of LESSONS) {
    const run = dryRun(lesson);
    for (const { step } of run) {
      for (const e of [].concat(step.expect || 'ok')) assert.match(e, /^(ok|pending|E[A-Z]+)$/, lesson.id);
      if (step.saveFds) assert.equal(step.saveFds.length, 2, lesson.id);
    }
  }
});

const lesson = (id) => {
  const found = LESSONS.find((l) => l.id === id);
  assert.ok(found, id);
  return found;
};

test('the Unix-domain lesson unlinks first, meets EADDRINUSE, unlinks and binds again', () => {
  const run = dryRun(lesson('unix'));
  const calls = run.map(({ body }) => body);
  assert.deepEqual(calls[0], { call: 'unlink', path: UNIX_PATH });
  assert.deepEqual(run[0].step.expect, ['ENOENT', 'ok'], 'a first run finds no file, a later one may');
  assert.ok(calls.filter((b) => b.call === 'socket').every((b) => b.domain === 'unix' && b.type === 'stream'));
  assert.ok(run.every(({ step }) => step.host === 'A'), 'a Unix socket is reached only from its own host');
  const refused = run.findIndex(({ step }) => step.expect === 'ECONNREFUSED');
  assert.equal(calls[refused].call, 'connect');
  const inUse = run.findIndex(({ step }) => step.expect === 'EADDRINUSE');
  assert.ok(inUse > refused);
  assert.deepEqual([calls[inUse].call, calls[inUse + 1].call, calls[inUse + 2].call], ['bind', 'unlink', 'bind']);
  assert.equal(calls[inUse + 2].addr, UNIX_PATH);
  assert.deepEqual(calls.at(-1), { call: 'unlink', path: UNIX_PATH }, 'the lesson leaves no file behind');
});

test('the socketpair and seqpacket lessons use both descriptors of each pair', () => {
  const pairs = dryRun(lesson('socketpair'));
  assert.deepEqual(pairs[0].body, { call: 'socketpair', domain: 'unix', type: 'stream' });
  const fds = new Set(pairs.filter(({ body }) => body.call === 'send').map(({ body }) => body.fd));
  assert.equal(fds.size, 2, 'the pair goes both ways');
  const last = pairs.at(-2);
  assert.equal(last.body.call, 'recv', 'end of stream after a close');

  const boundaries = dryRun(lesson('seqpacket'));
  const types = boundaries.filter(({ body }) => body.call === 'socketpair').map(({ body }) => body.type);
  assert.deepEqual(types, ['stream', 'seqpacket']);
  // Two sends, then one recv on the stream pair; two recvs on the seqpacket pair.
  const kinds = boundaries.map(({ body }) => body.call).join(' ');
  assert.match(kinds, /^socketpair send send recv socketpair send send recv recv/);
});

test('the ping lesson writes ICMP by hand, needs netns and ends at once without it', () => {
  const run = dryRun(lesson('ping'));
  const first = run[0];
  assert.deepEqual(first.body, { call: 'socket', domain: 'inet', type: 'raw', protocol: 'icmp' });
  assert.equal(first.step.expectLoopback, 'EPERM');
  assert.match(first.step.loopbackEnd, /netns/);
  assert.match(lesson('ping').summary, /netns mode/);
  const sends = run.filter(({ body }) => body.call === 'sendto');
  assert.equal(sends.length, 2);
  for (const { body } of sends) {
    assert.equal(body.addr, '10.0.0.2', 'an ICMP address has no port');
    assert.equal(body.icmp.type, 8);
  }
  assert.equal(sends[0].body.icmp.checksum, undefined, 'the server computes a good one');
  assert.equal(sends[1].body.icmp.checksum, 1234);
  const after = run[run.indexOf(sends[1]) + 1];
  assert.equal(after.body.call, 'recvfrom');
  assert.equal(after.step.expect, 'pending', 'no reply to a wrong checksum');
});

test('the ephemeral lesson connects twice without bind and reads the ports against the range', () => {
  const run = dryRun(lesson('ephemeral'));
  assert.ok(!run.some(({ step, body }) => step.host === 'A' && body.call === 'bind'));
  assert.equal(run.filter(({ step, body }) => step.host === 'A' && body.call === 'connect').length, 2);

  const model = emptyModel();
  model.hosts.push({ name: 'A', addrs: ['10.0.0.1'], ephemeral_ports: [40000, 40999] });
  const two = explainEphemeral(model, 'A', ['10.0.0.1:40001', '10.0.0.1:40002']);
  assert.match(two, /ports 40001 and 40002, both inside 40000–40999, host A’s ephemeral range/);
  assert.match(two, /client’s port is all that tells them apart/);
  assert.match(explainEphemeral(model, 'A', ['10.0.0.1:40001']), /^A’s kernel chose port 40001, inside 40000–40999/);
  assert.match(explainEphemeral(model, 'A', ['10.0.0.1:40001', '10.0.0.1:5000']), /not all inside/);
  assert.match(explainEphemeral(emptyModel(), 'A', ['10.0.0.1:40001']), /Linux’s default ephemeral range/);
  assert.equal(explainEphemeral(model, 'A', [null]), null);
  // The steps' explanations read the connects' tuples.
  const explained = lesson('ephemeral').steps.filter((s) => s.explain);
  const view = { model, tupleOf: (name) => ({ local: name === 'connect1' ? '10.0.0.1:40003' : '10.0.0.1:40004' }) };
  assert.match(explained[0].explain(view), /port 40003/);
  assert.match(explained[1].explain(view), /ports 40003 and 40004/);
});

// The two packet lessons explain this run's real packets: J and K from the SYN and SYN+ACK,
// the FINs and their ACKs, TIME_WAIT as sock_diag reported it; without packets, they say why.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { applyEvent, emptyModel } from '../static/model.js';
import {
  LESSONS, explainActiveClose, explainData, explainHandshake, explainPassiveClose, explainSilence, explainTimeWait, handshakeOf,
} from '../static/lessons.js';

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

// Attribution: the host a kernel event belongs to (the server's word first, the page's
// inference only for old logs), and the host whose action caused it.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { causeOf, eventHost } from '../static/attribution.js';
import { applyEvent, emptyModel } from '../static/model.js';

const fixture = (name) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));

function replay(events) {
  const model = emptyModel();
  for (const ev of events) applyEvent(model, ev);
  return model;
}

/** The events as a log stored before the server named the host of kernel events. */
function withoutKernelHosts(events) {
  return events.map((ev) => {
    if (['socket', 'bind', 'listen', 'connect', 'accept', 'send', 'recv', 'close', 'shutdown'].includes(ev.kind)) return ev;
    const { host, ...rest } = ev;
    return rest;
  });
}

test('the server’s host wins over anything the page would infer', () => {
  const model = replay(fixture('handshake-and-close.json').filter((ev) => ev.kind === 'session_started'));
  // A packet B relayed: its event names B even though the packet came from A.
  assert.equal(eventHost(model, { kind: 'packet', host: 'B', packet: { from: 'A' } }), 'B');
  assert.equal(eventHost(model, { kind: 'eof', host: 'B', tuple: { local: '10.0.0.1:5' } }), 'B');
});

test('without it, an old log’s host is inferred from the event itself', () => {
  const model = replay(fixture('handshake-and-close.json').filter((ev) => ev.kind === 'session_started'));
  assert.equal(eventHost(model, { kind: 'packet', packet: { from: 'A' } }), 'A', 'a packet’s sender');
  assert.equal(eventHost(model, { kind: 'incoming', tuple: { local: '10.0.0.2:8200', remote: null } }), 'B', 'the owner of the local address');
  assert.equal(eventHost(model, { kind: 'session_ended' }), null, 'a session event has none');
  assert.equal(eventHost(model, { kind: 'reset', tuple: { local: '10.9.9.9:1' } }), null, 'an address outside the session');
});

test('an old log without kernel hosts reads the same as one with them', () => {
  for (const name of ['handshake-and-close.json', 'refused.json']) {
    const events = fixture(name);
    const now = replay(events);
    const old = replay(withoutKernelHosts(events));
    const sockets = (m) => [...m.sockets.values()].map((s) => [s.host, s.fd, s.tcp, s.eof, s.reset, s.queue, s.closed]);
    assert.deepEqual(sockets(old), sockets(now), name);
    assert.deepEqual([...old.peerOf], [...now.peerOf], name);
    assert.deepEqual([...old.kernelSockets.keys()], [...now.kernelSockets.keys()], name);
  }
});

test('a refused connect’s RST is caused by the host it was aimed at', () => {
  const events = fixture('refused.json');
  const model = replay(events);
  const reset = events.find((ev) => ev.kind === 'reset');
  const eof = events.find((ev) => ev.kind === 'eof');
  assert.equal(causeOf(model, reset.seq), 'B');
  assert.equal(causeOf(model, eof.seq), 'B');
  assert.equal(model.unattributed.size, 0, 'nothing left waiting for its connect');
});

test('a listener’s incoming is caused by the connect that names it, even logged after it', () => {
  const events = fixture('handshake-and-close.json');
  const incoming = events.find((ev) => ev.kind === 'incoming');
  const connect = events.find((ev) => ev.kind === 'connect' && ev.status === 'ok');
  assert.ok(incoming.seq < connect.seq, 'the fixture logs the incoming first');
  const before = replay(events.filter((ev) => ev.seq < connect.seq));
  assert.equal(causeOf(before, incoming.seq), undefined, 'not known before the connect');
  assert.equal(before.unclaimed.length, 1);
  const after = replay(events.filter((ev) => ev.seq <= connect.seq));
  assert.equal(causeOf(after, incoming.seq), 'A');
  assert.equal(after.unclaimed.length, 0);
});

test('a datagram comes from the host that last sent to its address', () => {
  const hosts = [{ name: 'A', addrs: ['10.0.0.1'] }, { name: 'B', addrs: ['10.0.0.2'] }];
  const udp = (local, remote = null) => ({ proto: 'udp', family: 'inet', local, remote });
  const model = replay([
    { seq: 1, kind: 'session_started', status: 'observed', hosts },
    { seq: 2, kind: 'socket', status: 'ok', host: 'B', fd: 3, new_fd: 3, tuple: udp(null) },
    { seq: 3, kind: 'bind', status: 'ok', host: 'B', fd: 3, tuple: udp('0.0.0.0:9000') },
    { seq: 4, kind: 'socket', status: 'ok', host: 'A', fd: 3, new_fd: 3, tuple: udp(null) },
    { seq: 5, kind: 'sendto', status: 'ok', host: 'A', fd: 3, addr: '10.0.0.2:9000', bytes: 2, tuple: udp('10.0.0.1:5000') },
    { seq: 6, kind: 'data', status: 'observed', host: 'B', fd: 3, bytes: 2, tuple: udp('0.0.0.0:9000') },
  ]);
  assert.equal(causeOf(model, 6), 'A', 'a wildcard bind matches the address sent to');
});

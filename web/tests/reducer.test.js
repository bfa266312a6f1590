// The event reducer: sockets from calls and kernel events (a listener's queue, an accepted
// connection, data waiting, FIN and RST, shutdown, close), blocked calls, and the end.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CLOSED_KEPT, applyEvent, emptyModel, openSocket, openSockets, shownSockets, stateLabel } from '../static/model.js';

const hosts = [{ name: 'A', addrs: ['10.0.0.1'] }, { name: 'B', addrs: ['10.0.0.2'] }];
const tcp = (local = null, remote = null) => ({ proto: 'tcp', family: 'inet', local, remote });

/** A model after these events, numbered from 2 (1 starts the session). */
function after(...events) {
  const model = emptyModel();
  applyEvent(model, { seq: 1, kind: 'session_started', status: 'observed', hosts });
  events.forEach((ev, i) => applyEvent(model, { status: 'ok', seq: i + 2, ...ev }));
  return model;
}

const listening = [
  { kind: 'socket', host: 'B', fd: 3, new_fd: 3, tuple: tcp() },
  { kind: 'bind', host: 'B', fd: 3, tuple: tcp('10.0.0.2:80') },
  { kind: 'listen', host: 'B', fd: 3, backlog: 4, tuple: tcp('10.0.0.2:80') },
];
const connected = [
  ...listening,
  { kind: 'socket', host: 'A', fd: 3, new_fd: 3, tuple: tcp() },
  { kind: 'incoming', status: 'observed', host: 'B', fd: 3, queue: 1, tuple: tcp('10.0.0.2:80') },
  { kind: 'connect', host: 'A', fd: 3, addr: '10.0.0.2:80', tuple: tcp('10.0.0.1:5000', '10.0.0.2:80') },
  { kind: 'accept', host: 'B', fd: 3, new_fd: 4, peer: '10.0.0.1:5000', queue: 0, tuple: tcp('10.0.0.2:80') },
];

test('a listener is bound, listens and counts its queue', () => {
  const model = after(...listening, { kind: 'incoming', status: 'observed', host: 'B', fd: 3, tuple: tcp('10.0.0.2:80') });
  const l = openSocket(model, 'B', 3);
  assert.equal(l.role, 'listener');
  assert.equal(l.backlog, 4);
  assert.equal(l.queue, 1);
  assert.equal(stateLabel(l), 'LISTEN');
  assert.equal(model.hosts.length, 2);
});

test('accept makes a connected socket; the listener’s queue empties', () => {
  const model = after(...connected);
  const conn = openSocket(model, 'B', 4);
  assert.deepEqual([conn.role, conn.tcp, conn.local, conn.remote], ['accepted', 'ESTABLISHED', '10.0.0.2:80', '10.0.0.1:5000']);
  assert.equal(openSocket(model, 'B', 3).queue, 0);
  const client = openSocket(model, 'A', 3);
  assert.deepEqual([client.role, client.tcp], ['client', 'ESTABLISHED']);
});

test('data waits until read; FIN and RST mark the socket', () => {
  let model = after(...connected, { kind: 'data', status: 'observed', host: 'B', fd: 4, bytes: 5, tuple: tcp('10.0.0.2:80', '10.0.0.1:5000') });
  assert.equal(openSocket(model, 'B', 4).waiting, 5);
  model = after(...connected,
    { kind: 'data', status: 'observed', host: 'B', fd: 4, bytes: 5 },
    { kind: 'recv', host: 'B', fd: 4, bytes: 2, peek: true },
    { kind: 'recv', host: 'B', fd: 4, bytes: 2 },
    { kind: 'eof', status: 'observed', host: 'B', fd: 4, tuple: tcp('10.0.0.2:80', '10.0.0.1:5000') });
  const conn = openSocket(model, 'B', 4);
  assert.equal(conn.waiting, 3, 'a peek reads nothing away');
  assert.ok(conn.eof);
  assert.equal(model.peerOf.get(model.lastSeq), 'A', 'the FIN came from A');
  model = after(...connected, { kind: 'reset', status: 'observed', host: 'A', fd: 3, tuple: tcp('10.0.0.1:5000', '10.0.0.2:80') });
  assert.ok(openSocket(model, 'A', 3).reset);
});

test('shutdown both ways reads as both; close moves a socket to the faded few', () => {
  let model = after(...connected, { kind: 'shutdown', host: 'A', fd: 3, how: 'write' }, { kind: 'shutdown', host: 'A', fd: 3, how: 'read' });
  assert.equal(openSocket(model, 'A', 3).shut, 'both');
  const closes = [];
  for (let i = 0; i < CLOSED_KEPT + 2; i++) {
    closes.push({ kind: 'socket', host: 'A', fd: 5, new_fd: 5, tuple: tcp() }, { kind: 'close', host: 'A', fd: 5 });
  }
  model = after(...closes);
  assert.equal(openSockets(model, 'A').length, 0);
  assert.equal(shownSockets(model, 'A').length, CLOSED_KEPT, 'older closed sockets are forgotten');
  assert.ok(shownSockets(model, 'A').every((s) => s.closed && stateLabel(s) === 'closed'));
});

test('a blocked call is pending until its result, which resolves it', () => {
  let model = after(...listening, { kind: 'accept', status: 'pending', host: 'B', fd: 3, call_id: 9 });
  assert.deepEqual([...model.pending.keys()], [9]);
  model = after(...listening, { kind: 'accept', status: 'pending', host: 'B', fd: 3, call_id: 9 },
    { kind: 'accept', host: 'B', fd: 3, call_id: 9, new_fd: 4, peer: '10.0.0.1:1', tuple: tcp('10.0.0.2:80') });
  assert.equal(model.pending.size, 0);
  assert.equal(model.resolved.get(9), model.lastSeq);
});

test('a UDP send is a flight to the socket bound where it goes', () => {
  const udp = (local = null) => ({ proto: 'udp', family: 'inet', local, remote: null });
  const model = after(
    { kind: 'socket', host: 'B', fd: 3, new_fd: 3, tuple: udp() },
    { kind: 'bind', host: 'B', fd: 3, tuple: udp('10.0.0.2:9000') },
    { kind: 'socket', host: 'A', fd: 3, new_fd: 3, tuple: udp() },
    { kind: 'sendto', host: 'A', fd: 3, addr: '10.0.0.2:9000', data: { text: 'hi' }, tuple: udp('10.0.0.1:5000') },
  );
  const [flight] = model.flights;
  assert.deepEqual([flight.proto, flight.toHost, flight.text], ['udp', 'B', 'hi']);
  assert.equal(flight.to, openSocket(model, 'B', 3).uid);
});

test('the end closes every socket and forgets blocked calls', () => {
  const model = after(...connected, { kind: 'recv', status: 'pending', host: 'A', fd: 3, call_id: 4 }, { kind: 'session_ended', status: 'observed', reason: 'ended by its owner' });
  assert.equal(model.ended, 'ended by its owner');
  assert.equal(model.pending.size, 0);
  assert.equal(openSockets(model, 'A').length + openSockets(model, 'B').length, 0);
});

test('a whole recorded run replays to its end', () => {
  const events = JSON.parse(readFileSync(new URL('./fixtures/handshake-and-close.json', import.meta.url)));
  const model = emptyModel();
  for (const ev of events) applyEvent(model, ev);
  assert.equal(model.lastSeq, events.at(-1).seq);
  assert.equal(model.hosts.map((x) => x.name).join(), 'A,B');
});

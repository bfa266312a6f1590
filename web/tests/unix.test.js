// Unix-domain and raw sockets in the model: which socket talks to which inside one host (an
// accepted socket and its client, a socketpair), names that never cross hosts, and what their
// plugs read.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { applyEvent, emptyModel, isConnectionOriented, openSocket, peerSocket, receiverOf, stateLabel } from '../static/model.js';

const events = JSON.parse(readFileSync(new URL('./fixtures/unix-raw-ports.json', import.meta.url)));

function modelUpTo(seq, list = events) {
  const model = emptyModel();
  for (const ev of list) if (ev.seq <= seq) applyEvent(model, ev);
  return model;
}

test('a socket keeps its type; old recordings without one read as stream or dgram', () => {
  const model = modelUpTo(29);
  assert.equal(openSocket(model, 'B', 3).type, 'stream');
  assert.equal(openSocket(model, 'A', 6).type, 'dgram');
  assert.equal(openSocket(model, 'A', 7).type, 'raw');
  assert.equal(openSocket(model, 'A', 8).type, 'dgram', 'a ping socket');
  assert.equal(openSocket(model, 'B', 6).type, 'dgram', 'UDP without a type');
  assert.equal(openSocket(model, 'B', 7).type, 'stream');
  assert.ok(isConnectionOriented(openSocket(model, 'A', 4)), 'seqpacket');
  assert.ok(!isConnectionOriented(openSocket(model, 'A', 7)));
});

test('an accepted Unix socket and its unnamed client are each other’s peer', () => {
  const model = modelUpTo(11);
  const listener = openSocket(model, 'B', 3);
  const client = openSocket(model, 'B', 4);
  const conn = openSocket(model, 'B', 5);
  assert.equal(stateLabel(listener), 'LISTEN');
  assert.equal(listener.tcp, null, 'no TCP state for a Unix socket');
  assert.equal(client.local, null, 'unnamed');
  assert.equal(conn.local, '/tmp/echo.sock');
  assert.equal(conn.remote, null, 'its peer has no name');
  assert.equal(peerSocket(model, conn), client);
  assert.equal(peerSocket(model, client), conn);
  assert.equal(stateLabel(client), 'connected');
  assert.equal(stateLabel(conn), 'connected');
  assert.equal(peerSocket(model, listener), null);
  // The send travels from the client to the accepted socket, inside host B.
  const flight = model.flights.find((f) => f.seq === 10);
  assert.deepEqual([flight.proto, flight.from, flight.to, flight.toHost], ['unix', client.uid, conn.uid, 'B']);
});

test('the client may be logged after the accept, and clients pair in accept-queue order', () => {
  const at = (seq) => events.find((ev) => ev.seq === seq);
  // accept first (it was blocked), then the connect that woke it.
  const reordered = [at(1), at(2), at(3), at(4), at(5), { ...at(7), seq: 6 }, { ...at(6), seq: 7 }];
  const model = modelUpTo(7, reordered);
  assert.equal(peerSocket(model, openSocket(model, 'B', 5)), openSocket(model, 'B', 4));
  // Two clients queued, two accepts: the first client goes to the first accept.
  const two = [at(1), at(2), at(3), at(4), at(5), at(6),
    { ...at(5), seq: 7, fd: 6, new_fd: 6 }, { ...at(6), seq: 8, fd: 6 },
    { ...at(7), seq: 9, new_fd: 7 }, { ...at(7), seq: 10, new_fd: 8 }];
  const m2 = modelUpTo(10, two);
  assert.equal(peerSocket(m2, openSocket(m2, 'B', 7)).fd, 4);
  assert.equal(peerSocket(m2, openSocket(m2, 'B', 8)).fd, 6);
});

test('a socketpair’s two descriptors are connected to each other, with no names', () => {
  const model = modelUpTo(12);
  const a = openSocket(model, 'A', 4);
  const b = openSocket(model, 'A', 5);
  assert.ok(a && b && a.uid !== b.uid);
  assert.equal(a.type, 'seqpacket');
  assert.deepEqual([a.local, a.remote, a.role], [null, null, 'pair']);
  assert.equal(peerSocket(model, a), b);
  assert.equal(peerSocket(model, b), a);
  assert.equal(stateLabel(a), 'connected');
  applyEvent(model, { seq: 30, host: 'A', fd: 5, kind: 'close', status: 'ok', call_id: 40, tuple: { proto: 'unix', family: 'unix', type: 'seqpacket' } });
  assert.equal(peerSocket(model, a), null, 'its other end is gone');
});

test('a socketpair event without fds makes the socket it names, and guesses no other', () => {
  const model = modelUpTo(1);
  applyEvent(model, { seq: 2, host: 'A', fd: 3, kind: 'socketpair', status: 'ok', new_fd: 3, type: 'stream' });
  assert.equal(openSocket(model, 'A', 3).proto, 'unix');
  assert.equal(openSocket(model, 'A', 3).role, 'pair');
  // The other end is not fd + 1 by rule (a lower descriptor may be free): the kernel says it.
  assert.equal(openSocket(model, 'A', 4), undefined);
  assert.equal(peerSocket(model, openSocket(model, 'A', 3)), null);
});

test('a Unix name is found on its own host only', () => {
  const model = modelUpTo(14);
  // Host A bound the same path as B's listener: a different file, in A's own directory.
  assert.equal(openSocket(model, 'A', 3).local, '/tmp/echo.sock');
  assert.equal(peerSocket(model, openSocket(model, 'A', 3)), null);
  assert.equal(openSocket(model, 'B', 5).pair, openSocket(model, 'B', 4).uid);
  assert.equal(receiverOf(model, '@echo', 'A'), openSocket(model, 'A', 6));
  assert.equal(receiverOf(model, '@echo', 'B'), null);
  assert.equal(receiverOf(model, '/tmp/echo.sock', 'B'), null, 'a stream listener takes no datagrams');
});

test('a raw ICMP socket has an address and no port; its message goes to the host', () => {
  const model = modelUpTo(17);
  const raw = openSocket(model, 'A', 7);
  assert.equal(raw.local, '10.0.0.1');
  assert.equal(stateLabel(raw), 'bound');
  const flight = model.flights.find((f) => f.seq === 16);
  assert.deepEqual([flight.proto, flight.to, flight.toHost], ['icmp', null, 'B']);
  assert.equal(stateLabel(openSocket(model, 'A', 8)), 'unbound');
});

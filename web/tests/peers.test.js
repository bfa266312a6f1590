// Which Unix-domain socket is connected to which, as the kernel pairs them: an accept's
// `peer_fd`, a socketpair's `fds`, a snapshot's `peer_fd` (after a resync or a reload); and the
// accept-order guess kept for recordings made before the server said so.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { layoutOf } from '../static/layout.js';
import { applyEvent, emptyModel, openSocket, peerSocket, reconcile, stateLabel } from '../static/model.js';

const events = JSON.parse(readFileSync(new URL('./fixtures/unix-peer-fd.json', import.meta.url)));
const snapshot = JSON.parse(readFileSync(new URL('./fixtures/unix-snapshot.json', import.meta.url)));

function modelOf(list, upTo = Infinity) {
  const model = emptyModel();
  for (const ev of list) if (ev.seq <= upTo) applyEvent(model, ev);
  return model;
}

/** The same events as a server before `peer_fd` logged them. */
const withoutPeerFd = events.map(({ peer_fd: _, ...ev }) => ev);

const fdOfPeer = (model, host, fd) => {
  const peer = peerSocket(model, openSocket(model, host, fd));
  return peer ? peer.fd : null;
};

test('an accepted Unix socket is paired with the client the kernel names, not by accept order', () => {
  const model = modelOf(events, 12);
  // The first client (fd 4) closed while queued: accept got its connection (reusing fd 4) with
  // no one at the other end; the second accept got the live client, fd 5.
  assert.equal(fdOfPeer(model, 'B', 4), null);
  assert.equal(fdOfPeer(model, 'B', 6), 5);
  assert.equal(fdOfPeer(model, 'B', 5), 6);
  assert.equal(stateLabel(openSocket(model, 'B', 6)), 'connected');
  // The send goes to the socket the kernel paired.
  const flight = model.flights.find((f) => f.seq === 12);
  assert.equal(flight.to, openSocket(model, 'B', 6).uid);
});

test('old recordings without peer_fd still pair by accept order', () => {
  const model = modelOf(withoutPeerFd, 12);
  // The guess: the oldest open client goes to the first accept (wrong here, as the kernel's
  // word shows above; the best a recording without it allows).
  assert.equal(fdOfPeer(model, 'B', 4), 5);
  assert.equal(fdOfPeer(model, 'B', 6), null);
});

test('a socketpair’s ends are the two fds the event names, never fd + 1', () => {
  const model = modelOf(events, 16);
  assert.equal(fdOfPeer(model, 'A', 3), 5);
  assert.equal(fdOfPeer(model, 'A', 5), 3);
  const tcp = openSocket(model, 'A', 4);
  assert.equal(tcp.proto, 'tcp', 'fd 4 is the TCP socket, untouched');
  assert.equal(tcp.pair, null);
  assert.deepEqual([openSocket(model, 'A', 3).role, openSocket(model, 'A', 5).role], ['pair', 'pair']);
});

test('a resync takes the pairs from the snapshot, and the wires stay', () => {
  // A page that joined late: the hosts from the first event, every socket from the snapshot.
  const model = modelOf(events, 1);
  reconcile(model, snapshot);
  assert.equal(fdOfPeer(model, 'B', 5), 6);
  assert.equal(fdOfPeer(model, 'B', 6), 5);
  assert.equal(fdOfPeer(model, 'A', 3), 5);
  assert.equal(fdOfPeer(model, 'B', 4), null, 'no peer_fd: its client is gone');
  assert.equal(fdOfPeer(model, 'B', 3), null, 'a listener');
  assert.equal(stateLabel(openSocket(model, 'A', 5)), 'connected');
  const wires = layoutOf(model, false).wires.filter((w) => w.proto === 'unix');
  const ends = wires.map((w) => `${w.a.host}${w.a.fd}-${w.b.host}${w.b.fd}`).sort();
  assert.deepEqual(ends, ['A3-A5', 'B5-B6']);
});

test('a reload (every event, then the snapshot) keeps the pairs', () => {
  const model = modelOf(events);
  reconcile(model, snapshot);
  assert.equal(fdOfPeer(model, 'B', 5), 6);
  assert.equal(fdOfPeer(model, 'A', 3), 5);
  assert.equal(layoutOf(model, false).wires.filter((w) => w.proto === 'unix').length, 2);
});

test('the snapshot corrects a guess made from an old-style log', () => {
  const model = modelOf(withoutPeerFd, 16);
  assert.equal(fdOfPeer(model, 'B', 4), 5, 'guessed');
  reconcile(model, snapshot);
  assert.equal(fdOfPeer(model, 'B', 5), 6);
  assert.equal(fdOfPeer(model, 'B', 4), null);
  assert.ok(model.kernelPairs, 'from now on the page takes the kernel’s word');
});

test('a snapshot without peer_fd (an older server) leaves the model’s pairs alone', () => {
  const model = modelOf(withoutPeerFd, 16);
  const old = structuredClone(snapshot);
  for (const host of old.hosts) for (const socket of host.sockets) delete socket.peer_fd;
  reconcile(model, old);
  assert.equal(fdOfPeer(model, 'B', 4), 5);
  assert.equal(fdOfPeer(model, 'A', 3), 5);
});

test('a socketpair logged without fds gets its other end from the snapshot', () => {
  const model = modelOf(events, 15);
  applyEvent(model, { ...events.find((ev) => ev.seq === 16), fds: undefined });
  assert.equal(openSocket(model, 'A', 5), undefined, 'not guessed');
  reconcile(model, snapshot);
  assert.equal(fdOfPeer(model, 'A', 3), 5);
});

test('once the server names peers, an accept without one is not guessed', () => {
  const model = modelOf(events, 12);
  applyEvent(model, { seq: 20, host: 'B', fd: 7, kind: 'socket', status: 'ok', call_id: 30, tuple: { proto: 'unix', family: 'unix', type: 'stream' }, new_fd: 7 });
  applyEvent(model, { seq: 21, host: 'B', fd: 7, kind: 'connect', status: 'ok', call_id: 31, addr: '/tmp/echo.sock', tuple: { proto: 'unix', family: 'unix', type: 'stream', remote: '/tmp/echo.sock' } });
  assert.equal(fdOfPeer(model, 'B', 7), null, 'queued: no accepted socket is its end yet');
  applyEvent(model, { seq: 22, host: 'B', fd: 3, kind: 'accept', status: 'ok', call_id: 32, new_fd: 8, peer_fd: 7, tuple: { proto: 'unix', family: 'unix', type: 'stream', local: '/tmp/echo.sock' } });
  assert.equal(fdOfPeer(model, 'B', 8), 7);
});

// The model with packets: where each arrow goes, what packets a call caused, sockets without a
// descriptor, and packets that never change a socket or end a blocked call.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { halfWireReason } from '../static/hints.js';
import { applyEvent, connectionPackets, emptyModel, kernelSockets, openSocket, packetLanes, reconcile } from '../static/model.js';

const events = JSON.parse(readFileSync(new URL('./fixtures/handshake-and-close.json', import.meta.url)));
const at = (seq) => events.find((ev) => ev.seq === seq);

function modelUpTo(seq, list = events) {
  const model = emptyModel();
  for (const ev of list) if (ev.seq <= seq) applyEvent(model, ev);
  return model;
}

test('an arrow goes from the sender’s lane to the receiver’s', () => {
  const hosts = ['A', 'B'];
  assert.deepEqual(packetLanes(at(26).packet, hosts), { from: 0, to: 1, loop: false, broadcast: false });
  assert.deepEqual(packetLanes(at(28).packet, hosts), { from: 1, to: 0, loop: false, broadcast: false });
  // ARP who-has: broadcast, no receiver.
  assert.deepEqual(packetLanes(at(24).packet, hosts), { from: 0, to: null, loop: false, broadcast: true });
  // The host's own loopback: a loop back into the same lane.
  assert.deepEqual(packetLanes({ from: 'A', to: 'A', iface: 'lo' }, hosts), { from: 0, to: 0, loop: true, broadcast: false });
  // A third host, and a host this page has no lane for.
  assert.deepEqual(packetLanes({ from: 'C', to: 'A' }, ['A', 'B', 'C']), { from: 2, to: 0, loop: false, broadcast: false });
  assert.equal(packetLanes({ from: 'D', to: 'A' }, hosts).from, -1);
});

test('packets are kept by the call that caused them', () => {
  const model = modelUpTo(74);
  assert.deepEqual(model.callPackets.get(5).map((ev) => ev.seq), [26, 28, 30]);
  assert.deepEqual(model.callPackets.get(15).map((ev) => ev.seq), [65, 66]);
  assert.equal(model.callPackets.get(6), undefined, 'accept sent nothing');
  assert.equal(model.packets.length, events.filter((ev) => ev.kind === 'packet').length);
});

test('a packet never changes a socket (a listener answers SYNs with the connection’s tuple)', () => {
  const model = modelUpTo(30);
  const listener = openSocket(model, 'B', 3);
  assert.equal(listener.remote, null);
  assert.equal(listener.tcp, 'LISTEN');
  assert.equal(listener.local, '10.0.0.2:8200');
});

test('a packet carrying a blocked call’s id does not end it', () => {
  const model = emptyModel();
  applyEvent(model, at(1));
  applyEvent(model, { seq: 100, host: 'A', fd: 3, kind: 'connect', status: 'pending', call_id: 9, addr: '10.0.0.2:8080' });
  applyEvent(model, { ...at(26), seq: 101, call_id: 9 }); // a retransmitted SYN
  assert.ok(model.pending.has(9));
  applyEvent(model, { seq: 102, host: 'A', fd: 3, kind: 'connect', status: 'ok', call_id: 9 });
  assert.equal(model.pending.has(9), false);
  assert.equal(model.resolved.get(9), 102);
});

test('the packets of one connection, both ways', () => {
  const model = modelUpTo(74);
  const seqs = connectionPackets(model, '10.0.0.1:51872', '10.0.0.2:8300').map((ev) => ev.seq);
  assert.deepEqual(seqs, [47, 49, 51, 57, 62, 65, 66]);
  assert.deepEqual(connectionPackets(model, '10.0.0.2:8300', '10.0.0.1:51872', 60).map((ev) => ev.seq), [62, 65, 66]);
});

test('sockets without a descriptor: queued, accepted, closing, TIME_WAIT, gone', () => {
  let model = modelUpTo(31);
  assert.deepEqual(kernelSockets(model, 'B').map((k) => k.state), ['ESTABLISHED']);
  model = modelUpTo(35);
  assert.deepEqual(kernelSockets(model, 'B'), [], 'accept gave it a descriptor');
  model = modelUpTo(64);
  assert.deepEqual(kernelSockets(model, 'A').map((k) => [k.state, k.from, k.timerMs]), [['FIN_WAIT2', 'FIN_WAIT1', 59408]]);
  model = modelUpTo(74);
  const [tw] = kernelSockets(model, 'A');
  assert.equal(tw.state, 'TIME_WAIT');
  assert.equal(tw.tuple.local, '10.0.0.1:51872');
  assert.equal(tw.timerMs, 59996);
  applyEvent(model, { seq: 75, host: 'A', kind: 'kernel_socket', status: 'observed', from: 'TIME_WAIT', to: 'CLOSE', tuple: tw.tuple });
  assert.deepEqual(kernelSockets(model, 'A'), []);
});

test('a snapshot’s sockets without a descriptor replace the model’s', () => {
  const model = modelUpTo(74);
  const now = Date.now();
  reconcile(model, {
    live: true,
    now_ms: now,
    hosts: [
      { name: 'A', addrs: ['10.0.0.1'], sockets: [], kernel_sockets: [{ tuple: { proto: 'tcp', family: 'inet', local: '10.0.0.1:51872', remote: '10.0.0.2:8300' }, state: 'TIME_WAIT', expires_ms: now + 30000 }] },
      { name: 'B', addrs: ['10.0.0.2'], sockets: [], kernel_sockets: [] },
    ],
  });
  const [tw] = kernelSockets(model, 'A');
  assert.equal(tw.state, 'TIME_WAIT');
  assert.equal(tw.from, 'FIN_WAIT2', 'what the log said is kept');
  assert.equal(tw.timerMs, 30000);
});

test('a connection waiting in the accept queue is not a peer gone, in either mode', () => {
  const client = (model) => openSocket(model, 'A', 3);
  // netns mode: the kernel's socket for the queued connection says it, even before any
  // `incoming` event counted it.
  const netns = modelUpTo(34, events.filter((ev) => ev.kind !== 'incoming'));
  assert.equal(halfWireReason(netns, client(netns)), 'accept-queue');
  // Loopback mode reports no sockets without a descriptor: the listener's queue says it.
  const loopback = modelUpTo(34, events.filter((ev) => ev.kind !== 'kernel_socket' && ev.kind !== 'packet'));
  assert.equal(loopback.kernelSockets.size, 0);
  assert.equal(halfWireReason(loopback, client(loopback)), 'accept-queue');
  // Once the listener is closed with the connection still queued, the peer is gone.
  applyEvent(loopback, { seq: 100, host: 'B', fd: 3, kind: 'close', status: 'ok', tuple: at(33).tuple });
  assert.equal(halfWireReason(loopback, client(loopback)), 'peer-gone');
  // A datagram socket connected where nothing is bound.
  const udp = { proto: 'udp', local: '10.0.0.1:5000', remote: '10.0.0.2:9', closed: false };
  assert.equal(halfWireReason(emptyModel(), udp), 'nothing-bound');
});

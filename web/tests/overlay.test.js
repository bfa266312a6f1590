// Unix-domain and ICMP sockets on the topology (wires inside one host, what their labels say),
// what the console suggests next for them, and the layers overlay's tags.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { HOST_W, PLUG_W, hasThirdLine, layoutOf, tupleOf } from '../static/layout.js';
import { expectNext, halfWireReason } from '../static/hints.js';
import { OVERLAY, overlayOfAddress, overlayOfEvent, overlayOfWire } from '../static/layers.js';
import { applyEvent, emptyModel, openSocket } from '../static/model.js';

const events = JSON.parse(readFileSync(new URL('./fixtures/unix-raw-ports.json', import.meta.url)));
const at = (seq) => events.find((ev) => ev.seq === seq);

function modelUpTo(seq) {
  const model = emptyModel();
  for (const ev of events) if (ev.seq <= seq) applyEvent(model, ev);
  return model;
}

test('a Unix connection’s wire stays inside its host’s box', () => {
  const model = modelUpTo(14);
  const layout = layoutOf(model, false);
  const unix = layout.wires.filter((w) => w.proto === 'unix');
  assert.equal(unix.length, 2, 'the accepted socket and its client on B, the socketpair on A');
  for (const wire of unix) {
    const host = layout.hostByName.get(wire.a.host);
    assert.equal(wire.a.host, wire.b.host);
    assert.ok(wire.inside && !wire.half);
    assert.ok(wire.label.x > host.x && wire.label.x < host.x + (HOST_W - PLUG_W) / 2, 'in the gutter left of the plugs');
    assert.ok(wire.from.y < wire.to.y);
    assert.match(wire.path, /^M[\d.]+,[\d.]+ H/);
  }
  const b = unix.find((w) => w.a.host === 'B');
  assert.deepEqual(tupleOf(b), { proto: 'UNIX', heading: 'UNIX', left: 'fd 4 (unnamed)', right: '/tmp/echo.sock', full: 'UNIX fd 4 (unnamed) ↔ /tmp/echo.sock' });
  const a = unix.find((w) => w.a.host === 'A');
  assert.equal(tupleOf(a).full, 'UNIX socketpair fd 4 (unnamed) ↔ fd 5 (unnamed)');
  // No wire from A's /tmp/echo.sock to B's: names do not cross hosts.
  assert.ok(!layout.wires.some((w) => w.a.host !== (w.b ? w.b.host : w.a.host)));
  assert.ok(hasThirdLine(openSocket(model, 'A', 4)), 'a socketpair end shows its other end');
});

test('a TCP wire keeps its tuple', () => {
  const layout = layoutOf(modelUpTo(29), false);
  const tcp = layout.wires.find((w) => w.proto === 'tcp');
  assert.equal(tupleOf(tcp).full, 'TCP 10.0.0.1:45044 ↔ 10.0.0.2:8080');
});

test('a connected ICMP socket’s wire ends at the host whose kernel answers', () => {
  const model = modelUpTo(17);
  applyEvent(model, { seq: 40, host: 'A', fd: 8, kind: 'connect', status: 'ok', call_id: 50, addr: '10.0.0.2', tuple: { proto: 'icmp', family: 'inet', type: 'dgram', local: '10.0.0.1', remote: '10.0.0.2' } });
  const wire = layoutOf(model, false).wires.find((w) => w.proto === 'icmp');
  assert.ok(wire.half);
  assert.equal(wire.reason, 'host-kernel');
  assert.equal(halfWireReason(model, openSocket(model, 'A', 8)), 'host-kernel');
});

test('what to call next on Unix and ICMP sockets', () => {
  const model = modelUpTo(17);
  assert.deepEqual(expectNext(openSocket(model, 'B', 3)).calls, ['accept']);
  assert.deepEqual(expectNext(openSocket(model, 'B', 5)).calls, ['recv'], 'the 5 bytes sent');
  assert.deepEqual(expectNext(openSocket(model, 'A', 4)).calls, ['send', 'recv', 'shutdown', 'close'], 'a socketpair end');
  assert.deepEqual(expectNext(openSocket(model, 'A', 6)).calls, ['recvfrom', 'sendto', 'close'], 'a bound Unix datagram socket');
  assert.deepEqual(expectNext(openSocket(model, 'A', 3)).calls, ['listen', 'connect']);
  assert.match(expectNext(openSocket(model, 'A', 7)).why, /no ports/);
  const fresh = emptyModel();
  applyEvent(fresh, at(1));
  applyEvent(fresh, at(2));
  assert.match(expectNext(openSocket(fresh, 'B', 3)).why, /path or an @name/);
});

test('the layers overlay: calls, transport, network, link, and no layers for Unix', () => {
  assert.equal(overlayOfEvent(at(6)), 'application', 'a call');
  assert.equal(overlayOfEvent(at(12)), 'application', 'socketpair');
  assert.equal(overlayOfEvent(at(27)), 'transport', 'a TCP state');
  assert.equal(overlayOfEvent(at(11)), 'local', 'data on a Unix socket');
  assert.equal(overlayOfEvent({ kind: 'data', tuple: { proto: 'icmp' } }), 'network');
  assert.equal(overlayOfEvent({ kind: 'packet', packet: {} }), 'wire');
  assert.equal(overlayOfEvent({ kind: 'isolation' }), 'network');
  assert.equal(overlayOfEvent(at(1)), null, 'the session itself');
  const model = modelUpTo(29);
  assert.equal(overlayOfAddress(openSocket(model, 'B', 7)), 'transport');
  assert.equal(overlayOfAddress(openSocket(model, 'A', 7)), 'network');
  assert.equal(overlayOfAddress(openSocket(model, 'B', 3)), 'local');
  assert.equal(overlayOfWire({ proto: 'tcp' }, 'netns'), 'link');
  assert.equal(overlayOfWire({ proto: 'udp' }, 'loopback'), 'loopback');
  assert.equal(overlayOfWire({ proto: 'unix' }, 'netns'), 'local');
  for (const key of ['application', 'transport', 'network', 'link', 'loopback', 'wire', 'local']) {
    assert.ok(OVERLAY[key].tag && OVERLAY[key].title, key);
  }
  assert.match(OVERLAY.local.title, /never leaves its host/);
});

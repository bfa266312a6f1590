// Teaching hints: what to call next on a socket, and why a wire ends at a host.

import test from 'node:test';
import assert from 'node:assert/strict';
import { expectNext, halfWireReason } from '../static/hints.js';
import { emptyModel } from '../static/model.js';
import { useLang } from '../static/i18n.js';

// These tests read the English texts.
useLang('en');

const socket = (fields) => ({ proto: 'tcp', local: null, remote: null, closed: false, waiting: 0, queue: null, ...fields });

test('the next call follows the socket’s life', () => {
  assert.deepEqual(expectNext(undefined).calls, ['socket']);
  assert.deepEqual(expectNext(socket({})).calls, ['bind', 'connect']);
  assert.deepEqual(expectNext(socket({ local: '10.0.0.2:80' })).calls, ['listen', 'connect']);
  const listener = expectNext(socket({ role: 'listener', tcp: 'LISTEN', queue: 2 }));
  assert.deepEqual(listener.calls, ['accept']);
  assert.match(listener.why, /2 connections waiting/);
  assert.deepEqual(expectNext(socket({ local: 'x', remote: 'y', tcp: 'ESTABLISHED', waiting: 3 })).calls, ['recv']);
  assert.deepEqual(expectNext(socket({ local: 'x', remote: 'y', tcp: 'ESTABLISHED', eof: true })).calls, ['recv', 'close']);
  assert.deepEqual(expectNext(socket({ reset: true })).calls, ['close']);
  assert.deepEqual(expectNext(socket({ closed: true })).calls, ['socket']);
  assert.deepEqual(expectNext(socket({ proto: 'udp' })).calls, ['bind', 'sendto']);
  assert.deepEqual(expectNext(socket({ proto: 'udp', local: 'x', waiting: 4 })).calls, ['recvfrom']);
});

test('a half wire says why its other end is missing', () => {
  const model = emptyModel();
  model.hosts = [{ name: 'A', addrs: ['10.0.0.1'] }, { name: 'B', addrs: ['10.0.0.2'] }];
  const client = socket({ host: 'A', local: '10.0.0.1:5000', remote: '10.0.0.2:80', tcp: 'ESTABLISHED' });
  assert.equal(halfWireReason(model, client), 'peer-gone');
  assert.equal(halfWireReason(model, { ...client, proto: 'udp' }), 'nothing-bound');
  // Loopback mode: a listener there with connections queued.
  model.sockets.set(1, socket({ uid: 1, host: 'B', role: 'listener', local: '0.0.0.0:80', queue: 1 }));
  assert.equal(halfWireReason(model, client), 'accept-queue');
  assert.equal(halfWireReason(model, { ...client, eof: true }), 'peer-gone');
  // Netns mode: the kernel's own socket for it says.
  const k = emptyModel();
  k.hosts = model.hosts;
  k.kernelSockets.set('x', { host: 'B', state: 'ESTABLISHED', tuple: { local: '10.0.0.2:80', remote: '10.0.0.1:5000' } });
  assert.equal(halfWireReason(k, client), 'accept-queue');
  k.kernelSockets.set('x', { host: 'B', state: 'CLOSE_WAIT', tuple: { local: '10.0.0.2:80', remote: '10.0.0.1:5000' } });
  assert.equal(halfWireReason(k, client), 'peer-gone');
});

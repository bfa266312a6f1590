// The topology's layout: hosts in up to three columns (one when narrow), plugs stacked inside
// their host, wires between connected pairs and half wires to a host.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CHIPS_H, GAP_X, HEAD_H, HOST_W, MARGIN, PLUG_GAP, PLUG_H, chipsOf, layoutOf } from '../static/layout.js';
import { applyEvent, emptyModel } from '../static/model.js';

const events = JSON.parse(readFileSync(new URL('./fixtures/handshake-and-close.json', import.meta.url)));

function modelUpTo(seq) {
  const model = emptyModel();
  for (const ev of events) if (ev.seq <= seq) applyEvent(model, ev);
  return model;
}

test('hosts sit side by side, or in one column on a narrow screen', () => {
  const model = modelUpTo(35);
  const wide = layoutOf(model, false);
  assert.deepEqual(wide.hosts.map((x) => [x.name, x.x, x.y]), [['A', MARGIN, MARGIN], ['B', MARGIN + HOST_W + GAP_X, MARGIN]]);
  assert.equal(wide.width, MARGIN * 2 + 2 * HOST_W + GAP_X);
  const narrow = layoutOf(model, true);
  assert.deepEqual(narrow.hosts.map((x) => x.x), [MARGIN, MARGIN]);
  assert.ok(narrow.hosts[1].y > narrow.hosts[0].y + narrow.hosts[0].height, 'B below A');
  const many = emptyModel();
  many.hosts = ['A', 'B', 'C', 'D'].map((name, i) => ({ name, addrs: [`10.0.0.${i + 1}`] }));
  assert.deepEqual(layoutOf(many, false).hosts.map((x) => [x.col, x.row]), [[0, 0], [1, 0], [2, 0], [0, 1]]);
});

test('plugs stack inside their host, one per shown socket', () => {
  const layout = layoutOf(modelUpTo(35), false);
  const b = layout.hostByName.get('B');
  const plugs = layout.plugs.filter((p) => p.host.name === 'B');
  assert.deepEqual(plugs.map((p) => p.socket.fd), [3, 4]);
  assert.equal(plugs[0].y, b.y + HEAD_H);
  assert.equal(plugs[1].y, plugs[0].y + plugs[0].h + PLUG_GAP);
  assert.ok(plugs.every((p) => p.x > b.x && p.x + 1 < b.x + HOST_W));
  for (const p of layout.plugs) assert.equal(p.h, PLUG_H + (chipsOf(p.socket, modelUpTo(35)).length ? CHIPS_H : 0));
});

test('a connected pair gets one wire, left end first, with its path and label point', () => {
  const layout = layoutOf(modelUpTo(35), false);
  assert.equal(layout.wires.length, 1);
  const [wire] = layout.wires;
  assert.equal(wire.half, false);
  assert.deepEqual([wire.a.host, wire.b.host], ['A', 'B']);
  assert.ok(wire.from.x < wire.to.x);
  assert.match(wire.path, /^M[\d.]+,[\d.]+ C/);
  assert.equal(wire.label.x, (wire.from.x + wire.to.x) / 2);
});

test('a connection still in the accept queue is a half wire to its host', () => {
  const layout = layoutOf(modelUpTo(34), false);
  const half = layout.wires.filter((w) => w.half);
  assert.equal(half.length, 1);
  assert.equal(half[0].reason, 'accept-queue');
  assert.equal(half[0].a.host, 'A');
  assert.equal(half[0].b, null);
});

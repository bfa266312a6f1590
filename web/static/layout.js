// Where the topology's pieces go: hosts in a grid of up to three columns (one on a narrow
// screen), their plugs stacked inside, wires between connected pairs and half wires to a host
// when the other end is not a socket of the session. A Unix-domain connection never leaves its
// host: its wire runs in the gutter left of the host's plugs, inside the host's box. Pure: a
// model in, positions, SVG path data and the wires' tuples out, no DOM; the topology view
// draws what this returns.

import { hostOfAddr, unixName } from './address.js';
import { protoName } from './describe.js';
import { halfWireReason } from './hints.js';
import { kernelSockets, peerSocket, receiverOf, shownSockets } from './model.js';
import { fill as fmt, localize } from './i18n.js';

/** Every text this module writes, in each language. */
export const TEXTS = {
  en: {
    waiting: '{n} B waiting',
    fin: 'FIN received',
    shut: 'shut {how}',
    blocked: '{call} blocked',
    unnamedFd: 'fd {fd} (unnamed)',
  },
  'zh-CN': {
    waiting: '{n} 字节待读',
    fin: '收到 FIN',
    shut: '已关闭 {how}',
    blocked: '{call} 阻塞中',
    unnamedFd: 'fd {fd}（无名）',
  },
};
const T = localize(TEXTS);


export const HOST_W = 300;
export const PLUG_W = 268;
export const PLUG_H = 76;
/** Extra height of a plug with status chips (waiting bytes, FIN, RST, a blocked call). */
export const CHIPS_H = 22;
export const PLUG_GAP = 12;
export const HEAD_H = 72;
export const HOST_PAD = 16;
export const GAP_X = 220;
export const GAP_Y = 60;
export const MARGIN = 16;
/** Room right of a single column of hosts for wire bulges and their (short) labels. */
export const SIDE_ROOM = 74;
/** Sockets without a descriptor drawn per host at most (the newest). */
const GHOSTS_KEPT = 3;
/** Wires inside one host run in the gutter left of its plugs: how far in the first runs,
 * how far apart the next ones are, and how many lanes there are before they repeat. */
const GUTTER_IN = 7;
const GUTTER_STEP = 4;
const GUTTER_LANES = 3;

/** Status chips of an open socket: bytes waiting, FIN, RST, shutdown, blocked calls. */
export function chipsOf(socket, model) {
  if (socket.closed) return [];
  const chips = [];
  if (socket.waiting > 0) chips.push([fmt(T.waiting, { n: socket.waiting }), 'chip-data']);
  if (socket.eof) chips.push([T.fin, 'chip-eof']);
  if (socket.reset) chips.push(['RST', 'chip-reset']);
  if (socket.shut) chips.push([fmt(T.shut, { how: socket.shut === 'both' ? 'rd+wr' : socket.shut === 'read' ? 'rd' : 'wr' }), 'chip-shut']);
  for (const p of model.pending.values()) {
    if (p.host === socket.host && p.fd === socket.fd) chips.push([fmt(T.blocked, { call: p.kind }), 'chip-pending']);
  }
  return chips;
}

/** Whether the plug's third line shows an accept queue or the remote end (for a Unix socket,
 * the socket it is paired with). */
export function hasThirdLine(socket) {
  const paired = socket.pair !== null && socket.pair !== undefined;
  return !socket.closed && (socket.role === 'listener' || socket.tcp === 'LISTEN' || Boolean(socket.remote) || paired);
}

/** A plug's height: taller with a third line and chips. */
export function plugHeight(socket, model) {
  return PLUG_H + (hasThirdLine(socket) && chipsOf(socket, model).length ? CHIPS_H : 0);
}

/** Positions of hosts, plugs and wires for this model. */
export function layoutOf(model, narrow) {
  const cols = narrow ? 1 : Math.max(1, Math.min(model.hosts.length, 3));
  const hosts = model.hosts.map((host, i) => {
    // Sockets the kernel keeps without a descriptor, other than connections waiting in an
    // accept queue (the listener's queue shows those).
    const ghosts = kernelSockets(model, host.name).filter((k) => k.state !== 'ESTABLISHED' && k.state !== 'SYN_RECV').slice(-GHOSTS_KEPT);
    const sockets = [...shownSockets(model, host.name), ...ghosts.map((k) => ({ ...k, ghost: true }))];
    const heights = sockets.map((socket) => (socket.ghost ? PLUG_H : plugHeight(socket, model)));
    const stacked = heights.reduce((sum, h) => sum + h + PLUG_GAP, 0) - PLUG_GAP;
    const height = HEAD_H + Math.max(PLUG_H, stacked) + HOST_PAD;
    return { ...host, index: i, col: i % cols, row: Math.floor(i / cols), sockets, height, x: 0, y: 0 };
  });
  const rowHeights = [];
  for (const host of hosts) rowHeights[host.row] = Math.max(rowHeights[host.row] || 0, host.height);
  const rowY = [];
  let y = MARGIN;
  for (let r = 0; r < rowHeights.length; r++) {
    rowY[r] = y;
    y += rowHeights[r] + GAP_Y;
  }
  const plugs = [];
  const plugOf = new Map();
  for (const host of hosts) {
    host.x = MARGIN + host.col * (HOST_W + GAP_X);
    host.y = rowY[host.row];
    let top = host.y + HEAD_H;
    for (const socket of host.sockets) {
      const plug = { socket, host, ghost: Boolean(socket.ghost), x: host.x + (HOST_W - PLUG_W) / 2, y: top, h: socket.ghost ? PLUG_H : plugHeight(socket, model) };
      top += plug.h + PLUG_GAP;
      plugs.push(plug);
      plugOf.set(socket.uid, plug);
    }
  }
  const width = MARGIN * 2 + cols * HOST_W + (cols - 1) * GAP_X + (narrow ? SIDE_ROOM : 0);
  const height = Math.max(y - GAP_Y + MARGIN, 160);
  const hostByName = new Map(hosts.map((x) => [x.name, x]));
  const wires = wiresOf(model, plugOf, hostByName, narrow);
  return { hosts, plugs, plugOf, hostByName, wires, width, height, narrow };
}

/** Where a plug meets a wire: the side facing `towardX` (or the right side in one column). */
export function anchor(plug, towardX, narrow) {
  const right = narrow || towardX === null || towardX >= plug.x + PLUG_W / 2;
  return { x: right ? plug.x + PLUG_W : plug.x, y: plug.y + Math.min(plug.h, PLUG_H) / 2, right };
}

/** Where a wire meets a host with no socket for it: the side of its heading facing `towardX`. */
export function hostAnchor(host, towardX, narrow) {
  const right = narrow || towardX >= host.x + HOST_W / 2;
  return { x: right ? host.x + HOST_W : host.x, y: host.y + HEAD_H / 2, right };
}

/** Wires: connected TCP pairs, connected UDP sockets, and half wires to a host when the
 * other end is gone or not a socket of this session. */
function wiresOf(model, plugOf, hostByName, narrow) {
  const wires = [];
  const done = new Set();
  const lanes = new Map(); // host → wires inside it so far
  for (const plug of plugOf.values()) {
    const socket = plug.socket;
    if (plug.ghost || socket.closed) continue;
    if (socket.proto === 'unix') {
      // Inside the host, or nothing: a Unix name never reaches another host.
      const peer = peerSocket(model, socket) || (socket.type === 'dgram' && socket.remote ? receiverOf(model, socket.remote, socket.host) : null);
      const peerPlug = peer ? plugOf.get(peer.uid) : null;
      if (!peerPlug || peer.host !== socket.host) continue;
      const pairKey = [socket.uid, peer.uid].sort((a, b) => a - b).join('-');
      if (done.has(pairKey)) continue;
      done.add(pairKey);
      const lane = lanes.get(socket.host) || 0;
      lanes.set(socket.host, lane + 1);
      wires.push(insideWire(pairKey, plug, peerPlug, lane));
      continue;
    }
    if (!socket.remote || !socket.local) continue;
    if (socket.role === 'listener') continue;
    const peer = socket.proto === 'tcp' ? peerSocket(model, socket) : receiverOf(model, socket.remote);
    const peerPlug = peer ? plugOf.get(peer.uid) : null;
    if (peerPlug) {
      const pairKey = [socket.uid, peer.uid].sort((a, b) => a - b).join('-');
      if (done.has(pairKey)) continue;
      done.add(pairKey);
      // Left end first, so the label reads left to right.
      const [a, b] = plug.x < peerPlug.x || (plug.x === peerPlug.x && plug.y <= peerPlug.y) ? [plug, peerPlug] : [peerPlug, plug];
      const from = anchor(a, b.x + PLUG_W / 2, narrow);
      const to = anchor(b, a.x + PLUG_W / 2, narrow);
      wires.push({
        key: `w${pairKey}`,
        proto: socket.proto,
        half: false,
        a: a.socket,
        b: b.socket,
        from,
        to,
        path: curve(from, to),
        label: labelAt(from, to),
      });
    } else {
      const hostName = hostOfAddr(model, socket.remote);
      const host = hostName ? hostByName.get(hostName) : null;
      if (!host || host.name === socket.host) continue;
      const from = anchor(plug, host.x + HOST_W / 2, narrow);
      const to = hostAnchor(host, plug.x, narrow);
      wires.push({
        key: `h${socket.uid}`,
        proto: socket.proto,
        half: true,
        reason: halfWireReason(model, socket),
        a: socket,
        b: null,
        from,
        to,
        path: curve(from, to),
        label: labelAt(from, to),
      });
    }
  }
  return wires;
}

/** A wire between two plugs of one host, in the gutter left of them: out of the upper plug's
 * left side, down the gutter, into the lower one. */
function insideWire(pairKey, one, other, lane) {
  const [a, b] = one.y <= other.y ? [one, other] : [other, one];
  const gx = a.host.x + GUTTER_IN + (lane % GUTTER_LANES) * GUTTER_STEP;
  const from = { x: a.x, y: a.y + Math.min(a.h, PLUG_H) / 2, right: false };
  const to = { x: b.x, y: b.y + Math.min(b.h, PLUG_H) / 2, right: false };
  const r = Math.min(4, (to.y - from.y) / 2);
  const path = `M${from.x},${from.y} H${gx + r} Q${gx},${from.y} ${gx},${from.y + r} V${to.y - r} Q${gx},${to.y} ${gx + r},${to.y} H${to.x}`;
  return {
    key: `u${pairKey}`,
    proto: 'unix',
    half: false,
    inside: true,
    a: a.socket,
    b: b.socket,
    from,
    to,
    path,
    label: { x: gx, y: (from.y + to.y) / 2 },
  };
}

/** A wire's tuple in words: `{proto, left, right, full}` ("TCP 10.0.0.1:45044 ↔
 * 10.0.0.2:8080"); a Unix end by its name, or its fd when it has none. */
export function tupleOf(wire) {
  const proto = protoName(wire.proto).toUpperCase();
  if (wire.proto === 'unix') {
    const end = (socket) => (socket.local ? unixName(socket.local) : fmt(T.unnamedFd, { fd: socket.fd }));
    const pair = wire.a.role === 'pair' && wire.b && wire.b.role === 'pair';
    const left = end(wire.a);
    const right = wire.b ? end(wire.b) : unixName(wire.a.remote);
    const heading = pair ? `${proto} socketpair` : proto;
    return { proto, heading, left, right, full: `${heading} ${left} ↔ ${right}` };
  }
  const left = wire.a.local;
  const right = wire.b ? wire.b.local : wire.a.remote;
  return { proto, heading: proto, left, right, full: `${proto} ${left} ↔ ${right}` };
}

function curve(from, to) {
  const bend = Math.max(60, Math.abs(to.x - from.x) * 0.45);
  const c1 = from.x + (from.right ? bend : -bend);
  const c2 = to.x + (to.right ? bend : -bend);
  return `M${from.x},${from.y} C${c1},${from.y} ${c2},${to.y} ${to.x},${to.y}`;
}

function labelAt(from, to) {
  if (from.right && to.right) {
    // Both ends on the right (one column, or one host): the label sits on the bulge.
    const bend = Math.max(60, Math.abs(to.x - from.x) * 0.45);
    return { x: Math.max(from.x, to.x) + bend * 0.75, y: (from.y + to.y) / 2 };
  }
  return { x: (from.x + to.x) / 2, y: (from.y + to.y) / 2 };
}

// Topology view: an SVG with one box per host and one plug per socket (fd, protocol,
// family, state, local address, accept queue), a dashed ghost of a plug for each socket the
// kernel keeps without a descriptor (TIME_WAIT after an active close, as sock_diag reports
// it), wires between connected pairs labelled with their tuple, and data or datagrams drawn
// travelling between plugs. Elements are keyed
// (host name, socket uid, wire pair) and kept across redraws, so CSS transitions show moves,
// state changes and closing sockets fading out.

import { h, s, fill, batched, hostSlot } from './dom.js';
import { stateLabel } from './model.js';
import { HEAD_H, HOST_W, PLUG_H, PLUG_W, anchor, chipsOf, hasThirdLine, hostAnchor, layoutOf } from './layout.js';
import { fmtTimer } from './describe.js';

/** Below this width (CSS px) hosts stack in one column. */
const NARROW_PX = 640;
/** Accept-queue slots drawn one by one; longer queues are drawn as a bar. */
const QUEUE_SLOTS = 8;
/** How long a flight takes, and when it is removed even if no animationend came. */
const FLIGHT_MS = 900;
const FLIGHT_CLEANUP_MS = 2500;

/** Mount the view in `el`; redraws from the store. `onPick(host, fd)` is called when a plug
 * is chosen (click or Enter). */
export function mountTopology(el, store, { onPick }) {
  const svg = s('svg', { class: 'topology-svg', role: 'img', 'aria-labelledby': 'topology-desc' });
  const desc = s('desc', { id: 'topology-desc' }, 'Hosts, their sockets and the connections between them');
  const defs = s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse' }, s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow-head' })));
  const hostLayer = s('g', { class: 'hosts' });
  const wireLayer = s('g', { class: 'wires' });
  const plugLayer = s('g', { class: 'plugs' });
  const labelLayer = s('g', { class: 'wire-labels' });
  const flightLayer = s('g', { class: 'flights' });
  svg.append(desc, defs, hostLayer, wireLayer, plugLayer, labelLayer, flightLayer);
  const empty = h('p', { class: 'topology-empty muted' }, 'Waiting for the session…');
  const legend = h('ul', { class: 'legend', 'aria-label': 'Legend' },
    h('li', { class: 'lg-listener' }, 'listening'),
    h('li', { class: 'lg-connected' }, 'connected (TCP)'),
    h('li', { class: 'lg-udp' }, 'UDP'),
    h('li', { class: 'lg-closed' }, 'closed'),
    h('li', { class: 'lg-flight' }, 'data in flight'));
  fill(el, empty, svg, legend);

  let animatedUpTo = 0;
  let lastEpoch = -1;
  let layout = null;

  const render = () => {
    const { model } = store.state;
    const narrow = el.clientWidth > 0 && el.clientWidth < NARROW_PX;
    layout = layoutOf(model, narrow);
    empty.hidden = model.hosts.length > 0;
    svg.setAttribute('viewBox', `0 0 ${layout.width} ${layout.height}`);
    svg.style.aspectRatio = `${layout.width} / ${layout.height}`;
    svg.classList.toggle('narrow', narrow);

    keyed(hostLayer, layout.hosts, (x) => x.name, (x) => s('g', { class: ['host', hostSlot(x.name)], 'data-host': x.name }), drawHost);
    keyed(plugLayer, layout.plugs, (p) => String(p.socket.uid), (p) => {
      if (p.ghost) return s('g', { class: 'ksock' });
      const g = s('g', { class: 'plug', tabindex: '0', role: 'button' });
      const pick = () => {
        const socket = store.state.model.sockets.get(Number(g.dataset.uid));
        if (socket && !socket.closed) onPick(socket.host, socket.fd);
      };
      g.addEventListener('click', pick);
      g.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          pick();
        }
      });
      return g;
    }, (g, p) => (p.ghost ? drawGhost(g, p) : drawPlug(g, p, store.state, animatedUpTo)));
    keyed(wireLayer, layout.wires, (w) => w.key, () => s('path', { class: 'wire' }), drawWire);
    keyed(labelLayer, layout.wires, (w) => w.key, () => s('g', { class: 'wire-label' }), (g, w) => drawLabel(g, w, narrow));

    // Flights newer than what was drawn, unless they arrived as history.
    if (store.state.epoch !== lastEpoch) {
      lastEpoch = store.state.epoch;
      animatedUpTo = Math.max(animatedUpTo, store.state.quietUpTo);
      if (store.state.cursor !== null) animatedUpTo = store.state.quietUpTo;
    }
    for (const flight of model.flights) {
      if (flight.seq <= animatedUpTo || flight.seq <= store.state.quietUpTo) continue;
      // Nobody sees a hidden page: do not queue animations for when it is shown again.
      if (document.hidden) continue;
      launch(flightLayer, layout, flight);
    }
    animatedUpTo = Math.max(animatedUpTo, model.lastSeq);
  };

  const schedule = batched(render);
  store.subscribe(schedule);
  new ResizeObserver(schedule).observe(el);
  schedule();
}

/** Keep one element per key under `parent`: create new ones, update all, drop the rest. */
function keyed(parent, items, keyOf, create, update) {
  const existing = new Map();
  for (const child of parent.children) existing.set(child.dataset.key, child);
  const keep = new Set();
  for (const item of items) {
    const key = keyOf(item);
    keep.add(key);
    let el = existing.get(key);
    if (!el) {
      el = create(item);
      el.dataset.key = key;
      el.classList.add('entering');
      parent.append(el);
      // Let the first frame show the entering state, so the transition runs.
      setTimeout(() => el.classList.remove('entering'), 20);
    }
    update(el, item);
  }
  for (const [key, el] of existing) if (!keep.has(key)) el.remove();
}

function drawHost(g, host) {
  g.style.transform = `translate(${host.x}px, ${host.y}px)`;
  // One line per address (two at most; more are joined on the second line).
  const lines = host.addrs.length > 2 ? [host.addrs[0], host.addrs.slice(1).join('  ')] : host.addrs;
  fill(g,
    s('rect', { class: 'host-box', width: HOST_W, height: host.height, rx: 14 }),
    s('circle', { class: 'host-dot', cx: 30, cy: 30, r: 16 }),
    s('text', { class: 'host-name', x: 30, y: 35, 'text-anchor': 'middle' }, host.name),
    s('text', { class: 'host-title', x: 56, y: 25 }, `host ${host.name}`),
    lines.map((line, i) => s('text', { class: 'host-addrs mono', x: 56, y: 43 + i * 14 }, line)),
    host.sockets.length === 0
      ? s('text', { class: 'host-empty', x: HOST_W / 2, y: HEAD_H + PLUG_H / 2, 'text-anchor': 'middle' }, 'no sockets yet')
      : null,
  );
}

function familyLabel(socket) {
  return socket.family === 'inet6' ? 'IPv6' : 'IPv4';
}

function roleClass(socket) {
  if (socket.closed) return 'closed';
  if (socket.proto === 'udp') return 'udp';
  if (socket.role === 'listener' || socket.tcp === 'LISTEN') return 'listener';
  if (socket.remote && socket.tcp !== 'CLOSE') return 'connected';
  return 'fresh';
}

function drawPlug(g, plug, state, animatedUpTo) {
  const { socket } = plug;
  const label = stateLabel(socket);
  const role = roleClass(socket);
  g.style.transform = `translate(${plug.x}px, ${plug.y}px)`;
  g.setAttribute('class', ['plug', `role-${role}`, socket.closed ? 'closed' : null, socket.reset ? 'was-reset' : null].filter(Boolean).join(' '));
  g.dataset.uid = String(socket.uid);
  g.dataset.host = socket.host;
  g.dataset.fd = String(socket.fd);
  g.dataset.proto = socket.proto;
  g.dataset.state = label;
  g.dataset.role = socket.role || '';
  g.dataset.local = socket.local || '';
  g.dataset.remote = socket.remote || '';
  if (socket.closed) g.removeAttribute('tabindex');
  const where = socket.local || 'no address yet';
  g.setAttribute('aria-label', `host ${socket.host} fd ${socket.fd}, ${socket.proto.toUpperCase()} ${familyLabel(socket)}, ${label}, ${where}${socket.closed ? '' : ' — pick for the console'}`);

  const changed = socket.stateSeq > Number(g.dataset.shownState || 0) && socket.stateSeq > animatedUpTo && socket.stateSeq > state.quietUpTo;
  g.dataset.shownState = String(socket.stateSeq);

  const badgeW = Math.max(54, label.length * 7.4 + 16);
  const parts = [
    s('rect', { class: 'plug-box', width: PLUG_W, height: plug.h, rx: 9 }),
    s('rect', { class: 'plug-stripe', width: 6, height: plug.h, rx: 3 }),
    s('text', { class: 'plug-fd', x: 16, y: 22 }, `fd ${socket.fd}`),
    s('text', { class: 'plug-kind', x: 60, y: 22 }, `${socket.proto.toUpperCase()} · ${familyLabel(socket)}${socket.nonblocking ? ' · O_NONBLOCK' : ''}`),
    s('g', { class: ['plug-badge', changed ? 'flash' : null, socket.inferred && !socket.closed ? 'inferred' : null], transform: `translate(${PLUG_W - badgeW - 8}, 8)` },
      s('rect', { width: badgeW, height: 20, rx: 10 }),
      s('text', { x: badgeW / 2, y: 14.5, 'text-anchor': 'middle' }, label),
      socket.inferred && !socket.closed ? s('title', {}, `${label}: read from a packet, too brief to observe on the socket`) : null),
    s('text', { class: 'plug-local mono', x: 16, y: 44 }, where),
  ];
  parts.push(...thirdLine(socket, state));
  fill(g, ...parts, s('title', {}, `fd ${socket.fd} on host ${socket.host}: ${socket.proto.toUpperCase()} ${familyLabel(socket)}, ${label}${socket.local ? `, local ${socket.local}` : ''}${socket.remote ? `, remote ${socket.remote}` : ''}`));
}

/** A socket without a descriptor: no fd to pick, its state, and the kernel's timer. */
function drawGhost(g, plug) {
  const k = plug.socket;
  const tuple = k.tuple || {};
  const label = k.state;
  g.style.transform = `translate(${plug.x}px, ${plug.y}px)`;
  g.setAttribute('class', 'ksock');
  g.dataset.host = k.host;
  g.dataset.state = label;
  g.dataset.local = tuple.local || '';
  g.dataset.remote = tuple.remote || '';
  const family = tuple.family === 'inet6' ? 'IPv6' : 'IPv4';
  const badgeW = Math.max(54, label.length * 7.4 + 16);
  const timer = k.timerMs !== null && k.timerMs !== undefined ? ` · timer ${fmtTimer(k.timerMs)} at #${k.seq}` : '';
  fill(g,
    s('rect', { class: 'plug-box', width: PLUG_W, height: plug.h, rx: 9 }),
    s('rect', { class: 'plug-stripe', width: 6, height: plug.h, rx: 3 }),
    s('text', { class: 'plug-fd', x: 16, y: 22 }, 'no fd'),
    s('text', { class: 'plug-kind', x: 66, y: 22 }, `TCP · ${family}`),
    s('g', { class: 'plug-badge', transform: `translate(${PLUG_W - badgeW - 8}, 8)` },
      s('rect', { width: badgeW, height: 20, rx: 10 }),
      s('text', { x: badgeW / 2, y: 14.5, 'text-anchor': 'middle' }, label)),
    s('text', { class: 'plug-local mono', x: 16, y: 44 }, tuple.local || ''),
    s('text', { class: 'plug-note mono', x: 16, y: 64 }, `↔ ${tuple.remote || '?'}`),
    s('title', {}, `A socket of host ${k.host} that no descriptor holds (sock_diag): ${label}${timer}. The kernel finishes it on its own.`));
}

/** The plug's third line (accept queue, or the remote end) and its chips below. */
function thirdLine(socket, state) {
  const y = 64;
  const out = [];
  let x = 16;
  if (!socket.closed && (socket.role === 'listener' || socket.tcp === 'LISTEN')) {
    const backlog = socket.backlog ?? 0;
    const queue = socket.queue ?? 0;
    out.push(s('text', { class: 'plug-note', x, y }, 'accept queue'));
    x += 84;
    const g = s('g', { class: 'queue', 'data-queue': queue, 'data-backlog': backlog });
    if (backlog > 0 && backlog <= QUEUE_SLOTS) {
      for (let i = 0; i < backlog; i++) {
        g.append(s('rect', { class: ['slot', i < queue ? 'full' : null], x: x + i * 13, y: y - 10, width: 10, height: 12, rx: 2 }));
      }
      x += backlog * 13 + 4;
    } else {
      const w = 96;
      const frac = backlog > 0 ? Math.min(1, queue / backlog) : 0;
      g.append(s('rect', { class: 'slot', x, y: y - 10, width: w, height: 12, rx: 3 }));
      g.append(s('rect', { class: 'slot full', x, y: y - 10, width: Math.max(frac > 0 ? 3 : 0, w * frac), height: 12, rx: 3 }));
      x += w + 6;
    }
    out.push(g);
    out.push(s('text', { class: 'plug-note queue-text', x, y }, `${queue} of ${backlog}`));
  } else if (socket.remote) {
    out.push(s('text', { class: 'plug-note mono', x, y }, `↔ ${socket.remote}`));
  }
  x = 16;
  const chipY = hasThirdLine(socket) ? PLUG_H - 4 : y - 12;
  for (const [text, cls] of chipsOf(socket, state.model)) {
    const w = text.length * 6.6 + 12;
    out.push(s('g', { class: ['chip', cls], transform: `translate(${x}, ${chipY})` },
      s('rect', { width: w, height: 17, rx: 8.5 }),
      s('text', { x: w / 2, y: 12, 'text-anchor': 'middle' }, text)));
    x += w + 6;
  }
  return out;
}

function tupleText(wire) {
  const proto = wire.proto.toUpperCase();
  const left = wire.a.local;
  const right = wire.b ? wire.b.local : wire.a.remote;
  return { proto, left, right, full: `${proto} ${left} ↔ ${right}` };
}

/** What a half wire's label says of its missing end (see `halfWireReason` in hints.js). */
const HALF_WIRE_TEXT = {
  'accept-queue': 'in accept queue',
  'nothing-bound': 'nothing bound',
  'peer-gone': 'peer gone',
};

function halfWireText(wire) {
  return HALF_WIRE_TEXT[wire.reason] || HALF_WIRE_TEXT['peer-gone'];
}

function drawWire(path, wire) {
  path.setAttribute('d', wire.path);
  path.setAttribute('class', ['wire', `wire-${wire.proto}`, wire.half ? 'half' : null].filter(Boolean).join(' '));
  path.dataset.tuple = tupleText(wire).full;
}

function drawLabel(g, wire, narrow) {
  const t = tupleText(wire);
  g.setAttribute('class', ['wire-label', `wire-${wire.proto}`, wire.half ? 'half' : null].filter(Boolean).join(' '));
  g.dataset.tuple = t.full;
  g.dataset.proto = t.proto;
  g.dataset.left = t.left || '';
  g.dataset.right = t.right || '';
  if (wire.half) g.dataset.reason = wire.reason;
  else delete g.dataset.reason;
  g.setAttribute('aria-label', t.full);
  if (narrow) {
    // No room for addresses beside a single column: the plugs show both ends already.
    const w = 44;
    const hgt = 20;
    g.style.transform = `translate(${wire.label.x - w / 2}px, ${wire.label.y - hgt / 2}px)`;
    fill(g,
      s('rect', { width: w, height: hgt, rx: 10 }),
      s('text', { class: 'wl-proto', x: w / 2, y: 14, 'text-anchor': 'middle' }, t.proto),
      s('title', {}, t.full));
    return;
  }
  const heading = wire.half ? `${t.proto} (${halfWireText(wire)})` : t.proto;
  const longest = Math.max(t.left.length, t.right.length + 2, heading.length, 12);
  const w = longest * 7 + 20;
  const hgt = 52;
  g.style.transform = `translate(${wire.label.x - w / 2}px, ${wire.label.y - hgt / 2}px)`;
  fill(g,
    s('rect', { width: w, height: hgt, rx: 8 }),
    s('text', { class: 'wl-proto', x: w / 2, y: 15, 'text-anchor': 'middle' }, heading),
    s('text', { class: 'wl-addr mono', x: w / 2, y: 31, 'text-anchor': 'middle' }, t.left),
    s('text', { class: 'wl-addr mono', x: w / 2, y: 45, 'text-anchor': 'middle' }, `↔ ${t.right}`),
    s('title', {}, t.full));
}

/** Draw one datagram or segment travelling from its sender to its receiver. */
function launch(layer, layout, flight) {
  const fromPlug = layout.plugOf.get(flight.from);
  if (!fromPlug) return;
  const toPlug = flight.to !== null ? layout.plugOf.get(flight.to) : null;
  const toHost = !toPlug && flight.toHost ? layout.hostByName.get(flight.toHost) : null;
  if (!toPlug && !toHost) return;
  const targetX = toPlug ? toPlug.x + PLUG_W / 2 : toHost.x + HOST_W / 2;
  const start = anchor(fromPlug, targetX, layout.narrow);
  const end = toPlug ? anchor(toPlug, fromPlug.x + PLUG_W / 2, layout.narrow) : hostAnchor(toHost, fromPlug.x, layout.narrow);
  const text = flight.text.length > 14 ? `${flight.text.slice(0, 13)}…` : flight.text;
  const g = s('g', { class: ['flight', `flight-${flight.proto}`, toPlug ? null : 'lost'], 'data-seq': flight.seq },
    s('circle', { r: 7 }),
    text ? s('text', { y: -12, 'text-anchor': 'middle' }, text) : null);
  g.style.setProperty('--x0', `${start.x}px`);
  g.style.setProperty('--y0', `${start.y}px`);
  g.style.setProperty('--x1', `${end.x}px`);
  g.style.setProperty('--y1', `${end.y}px`);
  g.style.animationDuration = `${FLIGHT_MS}ms`;
  g.style.transform = `translate(${start.x}px, ${start.y}px)`;
  layer.append(g);
  const done = () => g.remove();
  g.addEventListener('animationend', done);
  setTimeout(done, FLIGHT_CLEANUP_MS);
}

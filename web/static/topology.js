// Topology view: an SVG with one box per host and one plug per socket (fd, protocol,
// family, state, local address, accept queue), a dashed ghost of a plug for each socket the
// kernel keeps without a descriptor (TIME_WAIT after an active close, as sock_diag reports
// it), wires between connected pairs labelled with their tuple, and data or datagrams drawn
// travelling between plugs. A Unix-domain socket shows its path (a long one shortened, in
// full on hover), @name or "unnamed" and its wire stays inside its host; a raw or ICMP socket
// its address, which has no port. Every port says its range and meaning on hover (ports.js),
// a port the kernel chose is marked ephemeral, and the layers overlay (a display choice) tags
// what belongs to which layer. Elements are keyed (host name, socket uid, wire pair) and
// kept across redraws, so CSS transitions show moves, state changes and closing sockets
// fading out.

import { h, s, fill, batched, hostSlot } from './dom.js';
import { peerSocket, stateLabel, stateText } from './model.js';
import { HEAD_H, HOST_W, PLUG_H, PLUG_W, anchor, chipsOf, hasThirdLine, hostAnchor, layoutOf, tupleOf } from './layout.js';
import { fmtTimer, protoName } from './describe.js';
import { isAbstractAddr, shortUnixName, unixName } from './address.js';
import { OVERLAY, overlayOfAddress, overlayOfWire } from './layers.js';
import { ephemeralLesson, ephemeralText, explainPort, portOf, portTitle, shortText } from './ports.js';
import { fill as fmt, localize } from './i18n.js';

/** Every text this module writes, in each language. */
export const TEXTS = {
  en: {
    desc: 'Hosts, their sockets and the connections between them',
    waiting: 'Waiting for the session…',
    legend: 'Legend',
    listening: 'listening',
    connected: 'connected (TCP)',
    unixTitle: 'A Unix-domain socket, named by a path or an @abstract name (or unnamed); its connections never leave the host',
    unix: 'Unix domain (inside a host)',
    rawTitle: 'A raw or ICMP socket: an address, no port',
    raw: 'raw / ICMP',
    ephemeral: 'ephemeral port (the kernel chose it)',
    closed: 'closed',
    flight: 'data in flight',
    layers: 'Layers of the TCP/IP model',
    ephemeralPorts: 'Ephemeral ports: {range}. {lesson}',
    host: 'host {name}',
    hostTitle: 'host {name}: {addrs}',
    noSockets: 'no sockets yet',
    unnamedPair: 'unnamed (socketpair)',
    unnamed: 'unnamed',
    noAddress: 'no address yet',
    portOf: ' ({port} port)',
    pick: ' — pick for the console',
    plugLabel: 'host {host} fd {fd}, {kind}, {state}, {where}{port}{pick}',
    inferred: '{state}: read from a packet, too brief to observe on the socket',
    plugTitle: 'fd {fd} on host {host}: {kind}, {state}{local}{remote}{ports}',
    local: ', local {addr}',
    remote: ', remote {addr}',
    unnamedUnix: 'An unnamed Unix-domain socket: it has no path or name (a client rarely needs one, a socketpair never has one).',
    abstract: '{name}: an abstract name. No file: the name lives in the kernel (in this host’s network namespace) and is gone with its last socket.',
    file: '{name}: a socket file in this host’s own directory; another host’s {name} is a different file.',
    icmpAddr: '{addr}: ICMP has no ports, so an ICMP socket is named by its address alone.',
    noAddressYet: 'No address yet',
    noAddressWhy: 'No address yet: bind names one, or connect/sendto/listen make the kernel choose one.',
    timer: ' · timer {t} at #{seq}',
    noFd: 'no fd',
    ghost: 'A socket of host {host} that no descriptor holds (sock_diag): {state}{timer}. The kernel finishes it on its own.',
    acceptQueue: 'accept queue',
    queue: '{queue} of {backlog}',
    pairUnnamed: ' (socketpair)',
    peerUnnamed: ' (unnamed)',
    gone: ' (gone)',
    inAcceptQueue: 'in accept queue',
    nothingBound: 'nothing bound',
    peerGone: 'peer gone',
    kernelAnswers: 'its kernel answers',
    inside: '{full}\nInside host {host}: {title}',
    veth: 'link: veth pair',
    ephemeralTag: '⚙ ephemeral',
  },
  'zh-CN': {
    desc: '主机、它们的套接字，以及套接字之间的连接',
    waiting: '正在等待会话…',
    legend: '图例',
    listening: '监听中',
    connected: '已连接（TCP）',
    unixTitle: 'Unix 域套接字，以路径或 @抽象名字命名（也可以无名）；它的连接从不离开主机',
    unix: 'Unix 域（主机内部）',
    rawTitle: '原始套接字或 ICMP 套接字：只有地址，没有端口',
    raw: '原始 / ICMP',
    ephemeral: '临时端口（由内核选择）',
    closed: '已关闭',
    flight: '传输中的数据',
    layers: 'TCP/IP 模型的各层',
    ephemeralPorts: '临时端口：{range}。{lesson}',
    host: '主机 {name}',
    hostTitle: '主机 {name}：{addrs}',
    noSockets: '还没有套接字',
    unnamedPair: '无名（socketpair）',
    unnamed: '无名',
    noAddress: '还没有地址',
    portOf: '（{port}）',
    pick: '——点选以在控制台中使用',
    plugLabel: '主机 {host} fd {fd}，{kind}，{state}，{where}{port}{pick}',
    inferred: '{state}：从数据包中读出，持续时间太短，在套接字上观察不到',
    plugTitle: '主机 {host} 上的 fd {fd}：{kind}，{state}{local}{remote}{ports}',
    local: '，本地 {addr}',
    remote: '，远端 {addr}',
    unnamedUnix: '无名的 Unix 域套接字：它没有路径也没有名字（客户端很少需要名字，socketpair 从来没有）。',
    abstract: '{name}：抽象名字。没有文件：名字存在于内核中（在这台主机的网络命名空间里），最后一个套接字关闭时就消失了。',
    file: '{name}：这台主机自己目录里的套接字文件；另一台主机上的 {name} 是另一个文件。',
    icmpAddr: '{addr}：ICMP 没有端口，所以 ICMP 套接字只用地址来命名。',
    noAddressYet: '还没有地址',
    noAddressWhy: '还没有地址：用 bind 指定一个，或者让 connect/sendto/listen 由内核来选一个。',
    timer: ' · #{seq} 时计时器 {t}',
    noFd: '无 fd',
    ghost: '主机 {host} 上一个没有描述符持有的套接字（sock_diag）：{state}{timer}。内核会自己把它处理完。',
    acceptQueue: '监听队列',
    queue: '{queue}/{backlog}',
    pairUnnamed: '（socketpair）',
    peerUnnamed: '（无名）',
    gone: '（已不在）',
    inAcceptQueue: '在监听队列中',
    nothingBound: '无人绑定',
    peerGone: '对端已不在',
    kernelAnswers: '由它的内核应答',
    inside: '{full}\n在主机 {host} 内部：{title}',
    veth: '链路层：veth 对',
    ephemeralTag: '⚙ 临时',
  },
};
const T = localize(TEXTS);


/** Below this width (CSS px) hosts stack in one column. */
const NARROW_PX = 640;
/** Accept-queue slots drawn one by one; longer queues are drawn as a bar. */
const QUEUE_SLOTS = 8;
/** Approximate widths of a character, for what fits on a plug's line. */
const MONO_CHAR_PX = 7.6;
const TAG_CHAR_PX = 6.2;
/** Characters of a Unix name a plug's line holds (16 px in from the left, 10 from the right). */
const UNIX_NAME_CHARS = Math.floor((PLUG_W - 26) / MONO_CHAR_PX);
/** How long a flight takes, and when it is removed even if no animationend came. */
const FLIGHT_MS = 900;
const FLIGHT_CLEANUP_MS = 2500;

/** Mount the view in `el`; redraws from the store. `onPick(host, fd)` is called when a plug
 * is chosen (click or Enter). */
export function mountTopology(el, store, { onPick }) {
  const svg = s('svg', { class: 'topology-svg', role: 'img', 'aria-labelledby': 'topology-desc' });
  const desc = s('desc', { id: 'topology-desc' }, T.desc);
  const defs = s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse' }, s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow-head' })));
  const hostLayer = s('g', { class: 'hosts' });
  const wireLayer = s('g', { class: 'wires' });
  const plugLayer = s('g', { class: 'plugs' });
  const labelLayer = s('g', { class: 'wire-labels' });
  const flightLayer = s('g', { class: 'flights' });
  svg.append(desc, defs, hostLayer, wireLayer, plugLayer, labelLayer, flightLayer);
  const empty = h('p', { class: 'topology-empty muted' }, T.waiting);
  const legend = h('ul', { class: 'legend', 'aria-label': T.legend },
    h('li', { class: 'lg-listener' }, T.listening),
    h('li', { class: 'lg-connected' }, T.connected),
    h('li', { class: 'lg-udp' }, 'UDP'),
    h('li', { class: 'lg-unix', title: T.unixTitle }, T.unix),
    h('li', { class: 'lg-raw', title: T.rawTitle }, T.raw),
    h('li', { class: 'lg-ephemeral', title: ephemeralLesson() }, T.ephemeral),
    h('li', { class: 'lg-closed' }, T.closed),
    h('li', { class: 'lg-flight' }, T.flight));
  // What the layers overlay's tags mean, shown while it is on.
  const layerKey = h('ul', { class: 'layer-key', id: 'topology-layers', 'aria-label': T.layers, hidden: true },
    ['application', 'transport', 'network', 'link', 'local'].map((layer) => h('li', { class: ['ov', `ov-${layer}`], dataset: { layer } },
      h('strong', {}, OVERLAY[layer].tag), ' ', h('span', {}, OVERLAY[layer].title))));
  fill(el, empty, svg, legend, layerKey);

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
    const view = { overlay: Boolean(store.state.prefs.layers), isolation: store.state.session ? store.state.session.isolation : null };
    el.classList.toggle('show-layers', view.overlay);
    layerKey.hidden = !view.overlay;

    keyed(hostLayer, layout.hosts, (x) => x.name, (x) => s('g', { class: ['host', hostSlot(x.name)], 'data-host': x.name }), (g, x) => drawHost(g, x, view));
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
    }, (g, p) => (p.ghost ? drawGhost(g, p) : drawPlug(g, p, store.state, animatedUpTo, view)));
    keyed(wireLayer, layout.wires, (w) => w.key, () => s('path', { class: 'wire' }), drawWire);
    keyed(labelLayer, layout.wires, (w) => w.key, () => s('g', { class: 'wire-label' }), (g, w) => drawLabel(g, w, narrow, view));

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
    // What the drawing shows, for the page to say it is ready only once it is on screen.
    el.dataset.drawnSeq = String(model.lastSeq);
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

function drawHost(g, host, view) {
  g.style.transform = `translate(${host.x}px, ${host.y}px)`;
  // One line per address (two at most; more are joined on the second line).
  const lines = host.addrs.length > 2 ? [host.addrs[0], host.addrs.slice(1).join('  ')] : host.addrs;
  const ephemeral = fmt(T.ephemeralPorts, { range: ephemeralText(host), lesson: ephemeralLesson() });
  fill(g,
    s('rect', { class: 'host-box', width: HOST_W, height: host.height, rx: 14 }),
    s('circle', { class: 'host-dot', cx: 30, cy: 30, r: 16 }),
    s('text', { class: 'host-name', x: 30, y: 35, 'text-anchor': 'middle' }, host.name),
    s('text', { class: 'host-title', x: 56, y: 25 }, fmt(T.host, { name: host.name }), s('title', {}, `${fmt(T.hostTitle, { name: host.name, addrs: host.addrs.join(', ') })}\n${ephemeral}`)),
    lines.map((line, i) => s('text', { class: 'host-addrs mono', x: 56, y: 43 + i * 14 }, line)),
    view.overlay ? overlayTag('network', HOST_W - 12, 25, 'end') : null,
    host.sockets.length === 0
      ? s('text', { class: 'host-empty', x: HOST_W / 2, y: HEAD_H + PLUG_H / 2, 'text-anchor': 'middle' }, T.noSockets)
      : null,
  );
}

function familyLabel(socket) {
  if (socket.family === 'unix') return 'Unix';
  return socket.family === 'inet6' ? 'IPv6' : 'IPv4';
}

/** What kind of socket a plug is: "TCP · IPv4", "Unix · seqpacket", "ICMP · IPv4 · raw". */
function kindText(socket) {
  if (socket.proto === 'unix') return `Unix · ${socket.type}`;
  if (socket.proto === 'icmp' || socket.proto === 'icmpv6') return `${protoName(socket.proto)} · ${familyLabel(socket)} · ${socket.type === 'dgram' ? 'ping' : socket.type}`;
  return `${protoName(socket.proto)} · ${familyLabel(socket)}`;
}

/** The plug's own address as shown: ip:port, a bare IP, a Unix name (a long path shortened:
 * the plug's tooltips hold it in full), or why there is none. */
function whereText(socket) {
  if (socket.proto === 'unix') {
    if (socket.local) return shortUnixName(socket.local, UNIX_NAME_CHARS);
    return socket.role === 'pair' ? T.unnamedPair : T.unnamed;
  }
  return socket.local || T.noAddress;
}

/** About how wide `text` is, in units of a Latin character `unit` wide: a CJK character
 * takes about two. */
function textWidth(text, unit) {
  let n = 0;
  for (const ch of String(text)) n += ch.codePointAt(0) > 0x2e80 ? 1.9 : 1;
  return n * unit;
}

/** A small tag naming a layer of the TCP/IP model, for the overlay. */
function overlayTag(layer, x, y, anchorAt = 'start', text = OVERLAY[layer].tag) {
  return s('text', { class: ['ov-tag', `ov-${layer}`], x, y, 'text-anchor': anchorAt }, text, s('title', {}, OVERLAY[layer].title));
}

/** The port of a plug explained (null without one), with the host's ephemeral range. */
function plugPort(socket, model) {
  const port = portOf(socket.local);
  if (port === null) return null;
  const host = model.hosts.find((x) => x.name === socket.host) || null;
  return explainPort(port, { chosen: socket.portOrigin, host });
}

function roleClass(socket) {
  if (socket.closed) return 'closed';
  if (socket.proto === 'unix' && socket.role !== 'listener') return 'unix';
  if (socket.proto === 'icmp' || socket.proto === 'icmpv6') return 'raw';
  if (socket.proto === 'udp') return 'udp';
  if (socket.role === 'listener' || socket.tcp === 'LISTEN') return 'listener';
  if (socket.remote && socket.tcp !== 'CLOSE') return 'connected';
  return 'fresh';
}

function drawPlug(g, plug, state, animatedUpTo, view) {
  const { socket } = plug;
  const label = stateLabel(socket);
  const text = stateText(socket);
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
  g.dataset.type = socket.type || '';
  if (socket.closed) g.removeAttribute('tabindex');
  const where = whereText(socket);
  const port = plugPort(socket, state.model);
  g.dataset.port = port ? port.short : '';
  const whereFull = socket.proto === 'unix' && socket.local ? unixName(socket.local) : where;
  g.setAttribute('aria-label', fmt(T.plugLabel, { host: socket.host, fd: socket.fd, kind: kindText(socket), state: text, where: whereFull, port: port ? fmt(T.portOf, { port: shortText(port.short) }) : '', pick: socket.closed ? '' : T.pick }));

  const changed = socket.stateSeq > Number(g.dataset.shownState || 0) && socket.stateSeq > animatedUpTo && socket.stateSeq > state.quietUpTo;
  g.dataset.shownState = String(socket.stateSeq);

  const badgeW = Math.max(54, textWidth(text, 7.4) + 16);
  const parts = [
    s('rect', { class: 'plug-box', width: PLUG_W, height: plug.h, rx: 9 }),
    s('rect', { class: 'plug-stripe', width: 6, height: plug.h, rx: 3 }),
    s('text', { class: 'plug-fd', x: 16, y: 22 }, `fd ${socket.fd}`),
    view.overlay ? s('rect', { class: 'ov-box ov-application', x: 11, y: 7, width: `fd ${socket.fd}`.length * 8.6 + 8, height: 21, rx: 5 }, s('title', {}, `fd ${socket.fd}: ${OVERLAY.application.title}`)) : null,
    s('text', { class: 'plug-kind', x: Math.max(60, 26 + `fd ${socket.fd}`.length * 8.6), y: 22 }, `${kindText(socket)}${socket.nonblocking ? ' · O_NONBLOCK' : ''}`),
    s('g', { class: ['plug-badge', changed ? 'flash' : null, socket.inferred && !socket.closed ? 'inferred' : null], transform: `translate(${PLUG_W - badgeW - 8}, 8)` },
      s('rect', { width: badgeW, height: 20, rx: 10 }),
      s('text', { x: badgeW / 2, y: 14.5, 'text-anchor': 'middle' }, text),
      socket.inferred && !socket.closed ? s('title', {}, fmt(T.inferred, { state: text })) : null),
    s('text', { class: ['plug-local', 'mono', port ? 'has-port' : null], x: 16, y: 44 }, where,
      s('title', {}, port ? portTitle(port) : localMeaning(socket))),
  ];
  // Right of the address: the port's range (or "ephemeral"), or with the overlay on, its layer.
  const room = PLUG_W - 10 - (16 + where.length * MONO_CHAR_PX);
  const layer = overlayOfAddress(socket);
  if (view.overlay && layer) {
    const text = OVERLAY[layer].short;
    if (text.length * TAG_CHAR_PX < room) parts.push(overlayTag(layer, PLUG_W - 10, 44, 'end', text));
  } else if (port && !socket.closed && textWidth(shortText(port.short), TAG_CHAR_PX) + 12 < room) {
    parts.push(s('text', { class: ['port-tag', `port-${port.short}`], x: PLUG_W - 10, y: 44, 'text-anchor': 'end' },
      port.short === 'ephemeral' ? T.ephemeralTag : shortText(port.short), s('title', {}, portTitle(port))));
  }
  parts.push(...thirdLine(socket, state));
  const portLines = port ? `\n${portTitle(port)}` : '';
  fill(g, ...parts, s('title', {}, fmt(T.plugTitle, { fd: socket.fd, host: socket.host, kind: kindText(socket), state: text, local: socket.local ? fmt(T.local, { addr: socket.local }) : '', remote: socket.remote ? fmt(T.remote, { addr: socket.remote }) : '', ports: portLines })));
}

/** What a plug's address is, for a socket without a port. */
function localMeaning(socket) {
  if (socket.proto === 'unix') {
    if (!socket.local) return T.unnamedUnix;
    return isAbstractAddr(socket.local)
      ? fmt(T.abstract, { name: socket.local })
      : fmt(T.file, { name: socket.local });
  }
  if (socket.proto === 'icmp' || socket.proto === 'icmpv6') return fmt(T.icmpAddr, { addr: socket.local || T.noAddressYet });
  return socket.local ? socket.local : T.noAddressWhy;
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
  const timer = k.timerMs !== null && k.timerMs !== undefined ? fmt(T.timer, { t: fmtTimer(k.timerMs), seq: k.seq }) : '';
  fill(g,
    s('rect', { class: 'plug-box', width: PLUG_W, height: plug.h, rx: 9 }),
    s('rect', { class: 'plug-stripe', width: 6, height: plug.h, rx: 3 }),
    s('text', { class: 'plug-fd', x: 16, y: 22 }, T.noFd),
    s('text', { class: 'plug-kind', x: 66, y: 22 }, `TCP · ${family}`),
    s('g', { class: 'plug-badge', transform: `translate(${PLUG_W - badgeW - 8}, 8)` },
      s('rect', { width: badgeW, height: 20, rx: 10 }),
      s('text', { x: badgeW / 2, y: 14.5, 'text-anchor': 'middle' }, label)),
    s('text', { class: 'plug-local mono', x: 16, y: 44 }, tuple.local || ''),
    s('text', { class: 'plug-note mono', x: 16, y: 64 }, `↔ ${tuple.remote || '?'}`),
    s('title', {}, fmt(T.ghost, { host: k.host, state: label, timer })));
}

/** The plug's third line (accept queue, or the remote end) and its chips below. */
function thirdLine(socket, state) {
  const y = 64;
  const out = [];
  let x = 16;
  if (!socket.closed && (socket.role === 'listener' || socket.tcp === 'LISTEN')) {
    const backlog = socket.backlog ?? 0;
    const queue = socket.queue ?? 0;
    out.push(s('text', { class: 'plug-note', x, y }, T.acceptQueue));
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
    out.push(s('text', { class: 'plug-note queue-text', x, y }, fmt(T.queue, { queue, backlog })));
  } else if (socket.proto === 'unix' && !socket.closed && hasThirdLine(socket)) {
    const peer = peerSocket(state.model, socket);
    const name = peer ? peer.local : socket.remote;
    // "↔ " comes first on the line.
    const text = name ? shortUnixName(name, UNIX_NAME_CHARS - 2) : peer ? `fd ${peer.fd}${peer.role === 'pair' ? T.pairUnnamed : T.peerUnnamed}` : unixName(null);
    const whole = name && text !== name ? s('title', {}, `${name}${peer ? `, fd ${peer.fd}` : ''}`) : null;
    out.push(s('text', { class: 'plug-note mono', x, y }, `↔ ${text}${peer ? '' : socket.remote ? '' : T.gone}`, whole));
  } else if (socket.remote) {
    const remotePort = portOf(socket.remote);
    const explained = remotePort !== null ? explainPort(remotePort, { role: 'remote', host: hostNamed(state.model, socket.remote) }) : null;
    out.push(s('text', { class: 'plug-note mono', x, y }, `↔ ${socket.remote}`, explained ? s('title', {}, portTitle(explained)) : null));
  }
  x = 16;
  const chipY = hasThirdLine(socket) ? PLUG_H - 4 : y - 12;
  for (const [text, cls] of chipsOf(socket, state.model)) {
    const w = [...text].reduce((n, ch) => n + (ch.codePointAt(0) > 0x2e80 ? 11.5 : 6.6), 0) + 12;
    out.push(s('g', { class: ['chip', cls], transform: `translate(${x}, ${chipY})` },
      s('rect', { width: w, height: 17, rx: 8.5 }),
      s('text', { x: w / 2, y: 12, 'text-anchor': 'middle' }, text)));
    x += w + 6;
  }
  return out;
}

/** The host whose address `addr` is, as the model keeps it (its ephemeral range), or null. */
function hostNamed(model, addr) {
  for (const host of model.hosts) {
    if (host.addrs.some((a) => addr.startsWith(`${a}:`) || addr.startsWith(`[${a}]:`))) return host;
  }
  return null;
}

/** What a half wire's label says of its missing end (see `halfWireReason` in hints.js). */
const HALF_WIRE_TEXT = {
  'accept-queue': 'inAcceptQueue',
  'nothing-bound': 'nothingBound',
  'peer-gone': 'peerGone',
  'host-kernel': 'kernelAnswers',
};

function halfWireText(wire) {
  return T[HALF_WIRE_TEXT[wire.reason] || HALF_WIRE_TEXT['peer-gone']];
}

function drawWire(path, wire) {
  path.setAttribute('d', wire.path);
  path.setAttribute('class', ['wire', `wire-${wire.proto}`, wire.half ? 'half' : null, wire.inside ? 'inside' : null].filter(Boolean).join(' '));
  path.dataset.tuple = tupleOf(wire).full;
}

function drawLabel(g, wire, narrow, view) {
  const t = tupleOf(wire);
  g.setAttribute('class', ['wire-label', `wire-${wire.proto}`, wire.half ? 'half' : null, wire.inside ? 'inside' : null].filter(Boolean).join(' '));
  g.dataset.tuple = t.full;
  g.dataset.proto = t.proto;
  g.dataset.left = t.left || '';
  g.dataset.right = t.right || '';
  if (wire.half) g.dataset.reason = wire.reason;
  else delete g.dataset.reason;
  g.setAttribute('aria-label', t.full);
  const layer = overlayOfWire(wire, view.isolation);
  if (wire.inside) {
    // Along the gutter inside the host: a small upright pill, the tuple on hover.
    const text = wire.a.role === 'pair' ? 'PAIR' : t.proto;
    const w = text.length * 6.4 + 10;
    const hgt = 12;
    g.style.transform = `translate(${wire.label.x}px, ${wire.label.y}px) rotate(-90deg)`;
    fill(g,
      s('rect', { x: -w / 2, y: -hgt / 2, width: w, height: hgt, rx: 6 }),
      s('text', { class: 'wl-proto', x: 0, y: 3.5, 'text-anchor': 'middle' }, text),
      s('title', {}, fmt(T.inside, { full: t.full, host: wire.a.host, title: OVERLAY.local.title })));
    return;
  }
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
  const heading = wire.half ? `${t.proto} (${halfWireText(wire)})` : t.heading;
  const linkText = view.overlay ? (layer === 'link' ? T.veth : OVERLAY[layer].tag) : '';
  const longest = Math.max(t.left.length, t.right.length + 2, textWidth(heading, 1), 12, textWidth(linkText, 0.9));
  const w = longest * 7 + 20;
  const hgt = view.overlay ? 66 : 52;
  g.style.transform = `translate(${wire.label.x - w / 2}px, ${wire.label.y - hgt / 2}px)`;
  // Each end's port explained on hover.
  const portOfEnd = (addr, socket) => {
    const port = portOf(addr);
    return port === null ? null : s('title', {}, portTitle(explainPort(port, { chosen: socket ? socket.portOrigin : null, role: socket ? null : 'remote' })));
  };
  fill(g,
    s('rect', { width: w, height: hgt, rx: 8 }),
    s('text', { class: 'wl-proto', x: w / 2, y: 15, 'text-anchor': 'middle' }, heading),
    s('text', { class: 'wl-addr mono', x: w / 2, y: 31, 'text-anchor': 'middle' }, t.left, portOfEnd(t.left, wire.a)),
    s('text', { class: 'wl-addr mono', x: w / 2, y: 45, 'text-anchor': 'middle' }, `↔ ${t.right}`, portOfEnd(t.right, wire.b)),
    view.overlay ? overlayTag(layer, w / 2, 60, 'middle', linkText) : null,
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
  // An ICMP message is meant for the host: its kernel answers, no socket is missing.
  const g = s('g', { class: ['flight', `flight-${flight.proto}`, toPlug || flight.proto === 'icmp' ? null : 'lost'], 'data-seq': flight.seq },
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

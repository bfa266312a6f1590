// The session as the page understands it, rebuilt from events: hosts, sockets (open and
// recently closed), sockets the kernel keeps without a descriptor (TIME_WAIT), pending calls,
// datagrams in flight and the packets on the wire. Pure functions over plain objects,
// so a live session and a recording replay run the same code. The store owns the model.
// Addresses are `address.js`'s, which host caused a kernel event is `attribution.js`'s, and
// the hints a socket's state gives are `hints.js`'s, what a port means is `ports.js`'s.
//
// Unix-domain sockets live inside one host and are often unnamed, so which socket talks to
// which cannot be read from their addresses: it is the kernel's word. A socketpair's event
// names both descriptors (`fds`), an accept's names the client's (`peer_fd`), and a snapshot
// names each connected socket's other end (`peer_fd`). Only recordings made before the server
// said so fall back on a guess: an accepted socket goes with the oldest connected client of
// its listener's name on the same host (the order of the accept queue).

import { WILDCARD, hostOfAddr, isUnixAddr, joinAddr, normIp, parseAddr, sameEndpoint } from './address.js';
import { attributeConnect, attributeData, attributeEnd, attributeIncoming, eventHost, rememberSend } from './attribution.js';
import { portOf, portOrigin } from './ports.js';
import { localize } from './i18n.js';

/** Closed sockets kept (faded) per host, newest first, before they leave the diagram. */
export const CLOSED_KEPT = 2;
/** Flights (data or datagrams on their way) remembered for the diagram. */
const FLIGHTS_KEPT = 16;

/** An empty model. */
export function emptyModel() {
  return {
    hosts: [], // [{name, addrs, ephemeral_ports: [lo, hi] or null when not reported}]
    sockets: new Map(), // uid → socket
    open: new Map(), // "A:3" → uid of the open socket with that fd
    pending: new Map(), // call_id → {call_id, host, fd, kind, seq}
    resolved: new Map(), // call_id of a once-pending call → seq of the event that ended it
    flights: [], // [{seq, proto, from: uid, to: uid|null, toHost, text}]
    peerOf: new Map(), // seq of a kernel event → host whose action caused it
    lastSendTo: new Map(), // "ip:port" → host that last sent a datagram there
    connectTarget: new Map(), // host → the host its last connect went to
    unattributed: new Map(), // "A:3" → seqs of kernel events whose cause is not known yet
    unclaimed: [], // [{seq, local, host}] connections queued before the connect that made them was logged
    packets: [], // packet events, in seq order (the server bounds how many a session has)
    callPackets: new Map(), // call_id → packet events the call caused
    kernelSockets: new Map(), // "A|local|remote" → {uid, host, tuple, state, from, timerMs, seq, time_ms}
    portNotes: new Map(), // seq of a call → {chosen, how, port}: the call made the kernel choose a local port
    kernelPairs: false, // whether the server names Unix peers (peer_fd): then the page never guesses them
    ended: null,
    lastSeq: 0,
  };
}

// ---------------------------------------------------------------------------------------
// Sockets

function key(host, fd) {
  return `${host}:${fd}`;
}

/** Socket types whose sockets are connected to one peer (listen, accept, connect). */
const CONNECTION_TYPES = new Set(['stream', 'seqpacket']);

/** A socket's type by protocol, when the tuple does not say it (recordings made before tuples
 * had one). The one place for it: the model and the words (`describe.js`) both read it here. */
const DEFAULT_TYPES = { tcp: 'stream', udp: 'dgram', icmp: 'raw', icmpv6: 'raw', unix: 'stream' };

/** A socket's type when the tuple does not say it. */
export function defaultType(proto) {
  return DEFAULT_TYPES[proto] || 'stream';
}

/** Whether a socket is connection-oriented (stream or seqpacket): it listens, accepts, connects
 * to one peer. */
export function isConnectionOriented(socket) {
  return Boolean(socket) && CONNECTION_TYPES.has(socket.type);
}

/** A host as the model keeps it, from a snapshot's or an event's host. */
function hostOf(h) {
  return { name: h.name, addrs: [...(h.addrs || [])], ephemeral_ports: Array.isArray(h.ephemeral_ports) ? [...h.ephemeral_ports] : null };
}

/** The open socket with this fd on this host, or undefined. */
export function openSocket(model, host, fd) {
  const uid = model.open.get(key(host, fd));
  return uid === undefined ? undefined : model.sockets.get(uid);
}

/** Open sockets of a host, by fd. */
export function openSockets(model, host) {
  return [...model.sockets.values()]
    .filter((s) => s.host === host && !s.closed)
    .sort((a, b) => a.fd - b.fd);
}

/** Sockets the diagram shows for a host: open ones by fd, then the last few closed ones. */
export function shownSockets(model, host) {
  const all = [...model.sockets.values()].filter((s) => s.host === host);
  const open = all.filter((s) => !s.closed).sort((a, b) => a.fd - b.fd || a.uid - b.uid);
  const closed = all
    .filter((s) => s.closed)
    .sort((a, b) => b.closedSeq - a.closedSeq)
    .slice(0, CLOSED_KEPT);
  return [...open, ...closed];
}

/** A new open socket. Its uid is the seq of the event that made it; the second end of a
 * socketpair (one event, two sockets) gets `uid` seq + 0.5. */
function newSocket(model, ev, fd, tuple, uid = ev.seq) {
  const proto = tuple ? tuple.proto : 'tcp';
  const socket = {
    uid,
    host: ev.host,
    fd,
    proto,
    family: tuple ? tuple.family : 'inet',
    type: (tuple && tuple.type) || defaultType(proto),
    local: (tuple && tuple.local) || null,
    remote: (tuple && tuple.remote) || null,
    pair: null, // uid of the Unix-domain socket this one is connected to, when known
    portOrigin: null, // how the local port came to be: {chosen, how, seq} (ports.js portOrigin)
    tcp: null, // the kernel's TCP state, once reported
    inferred: false, // whether that state was read from a packet rather than observed
    role: null, // listener | accepted | client
    backlog: null,
    queue: null, // connections waiting to be accepted
    waiting: 0, // bytes (or the next datagram's size) waiting to be read
    eof: false,
    reset: false,
    shut: null, // read | write | both
    nonblocking: false,
    options: {},
    closed: false,
    closedSeq: null,
    createdSeq: ev.seq,
    stateSeq: ev.seq, // when the shown state last changed
  };
  const previous = model.open.get(key(ev.host, fd));
  if (previous !== undefined) closeSocket(model, model.sockets.get(previous), ev.seq);
  model.sockets.set(socket.uid, socket);
  model.open.set(key(ev.host, fd), socket.uid);
  return socket;
}

function closeSocket(model, socket, seq) {
  if (!socket || socket.closed) return;
  socket.closed = true;
  socket.closedSeq = seq;
  socket.stateSeq = seq;
  model.open.delete(key(socket.host, socket.fd));
  // Forget closed sockets the diagram no longer shows, so long sessions stay small.
  const closed = [...model.sockets.values()]
    .filter((s) => s.host === socket.host && s.closed)
    .sort((a, b) => b.closedSeq - a.closedSeq);
  for (const old of closed.slice(CLOSED_KEPT)) model.sockets.delete(old.uid);
}

function setTcp(socket, state, seq, inferred = false) {
  if (state && socket.tcp !== state) {
    socket.tcp = state;
    socket.stateSeq = seq;
    socket.inferred = inferred;
  }
}

/** The open socket at the other end of a connected socket, if it is in this session: for a
 * Unix-domain socket the one it was paired with, else the one whose tuple mirrors it. */
export function peerSocket(model, socket) {
  if (!socket) return null;
  if (socket.proto === 'unix') {
    const other = socket.pair !== null && socket.pair !== undefined ? model.sockets.get(socket.pair) : null;
    return other && !other.closed ? other : null;
  }
  if (!socket.remote || !socket.local) return null;
  for (const other of model.sockets.values()) {
    if (other === socket || other.closed || other.proto !== socket.proto) continue;
    if (sameEndpoint(other.local, socket.remote) && sameEndpoint(other.remote, socket.local)) return other;
  }
  return null;
}

/** The open socket a datagram to `addr` lands on (a bound UDP socket, or a Unix datagram
 * socket of that name on `host`, the sender's: Unix names never cross hosts), if any. */
export function receiverOf(model, addr, host = null) {
  const unix = isUnixAddr(addr);
  for (const socket of model.sockets.values()) {
    if (socket.closed || !socket.local) continue;
    if (unix) {
      if (socket.proto !== 'unix' || socket.type !== 'dgram' || (host !== null && socket.host !== host)) continue;
    } else if (socket.proto !== 'udp') continue;
    if (sameEndpoint(socket.local, addr)) return socket;
  }
  return null;
}

/** Connect two Unix-domain sockets as the kernel pairs them, undoing a pair either had (a
 * guess, or an end since replaced). */
function linkPair(model, a, b) {
  for (const socket of [a, b]) unlinkPair(model, socket);
  a.pair = b.uid;
  b.pair = a.uid;
}

/** Forget the other end of a Unix-domain socket, on both sides. */
function unlinkPair(model, socket) {
  const old = socket.pair !== null && socket.pair !== undefined ? model.sockets.get(socket.pair) : null;
  if (old && old.pair === socket.uid) old.pair = null;
  socket.pair = null;
}

/** Pair a connected Unix-domain socket with its other end, when the event names it
 * (`peer_fd`); recordings made before the server named it get a guess (`guessUnixPeer`). */
function pairUnix(model, socket, peerFd) {
  if (Number.isInteger(peerFd)) {
    model.kernelPairs = true;
    const other = openSocket(model, socket.host, peerFd);
    if (other && other !== socket) linkPair(model, socket, other);
    return;
  }
  // The server names peers, so an accept without one has none left (its client closed).
  if (!model.kernelPairs) guessUnixPeer(model, socket);
}

/** For recordings without `peer_fd`: pair a connected Unix-domain socket with its other end on
 * the same host: an accepted socket with the oldest unpaired client connected to its name, or
 * a client with the oldest unpaired accepted socket of the name it connected to. */
function guessUnixPeer(model, socket) {
  if (socket.pair !== null) return;
  const accepted = socket.role === 'accepted';
  const name = accepted ? socket.local : socket.remote;
  if (!name) return;
  const candidates = [...model.sockets.values()].filter((other) => other !== socket && !other.closed
    && other.proto === 'unix' && other.host === socket.host && other.pair === null
    && (accepted ? other.role === 'client' && other.remote === name : other.role === 'accepted' && other.local === name));
  // A client bound to a name of its own is known exactly by it.
  const exact = accepted && socket.remote ? candidates.filter((c) => c.local === socket.remote) : [];
  const pool = exact.length ? exact : candidates;
  pool.sort((a, b) => (a.connectedSeq ?? a.createdSeq) - (b.connectedSeq ?? b.createdSeq));
  const other = pool[0];
  if (!other) return;
  socket.pair = other.uid;
  other.pair = socket.uid;
}

/** What the socket's state reads as on its plug. */
export function stateLabel(socket) {
  if (socket.closed) return 'closed';
  if (socket.proto === 'tcp') {
    if (socket.tcp && socket.tcp !== 'CLOSE') return socket.tcp;
    if (socket.reset) return 'reset';
    if (socket.tcp === 'CLOSE' && socket.local) return 'CLOSE';
    return socket.local ? 'bound' : 'new';
  }
  if (socket.role === 'listener') return 'LISTEN';
  if (socket.reset) return 'reset';
  if (socket.remote || (socket.pair !== null && socket.pair !== undefined) || socket.role === 'accepted') return 'connected';
  return socket.local ? 'bound' : 'unbound';
}

/** What `stateLabel` says, in words for people: TCP's state names stay as they are. */
export function stateText(socket) {
  const label = stateLabel(socket);
  return Object.prototype.hasOwnProperty.call(TEXTS.en, label) ? T[label] : label;
}

/** Every text this module writes, in each language. */
export const TEXTS = {
  en: { closed: 'closed', reset: 'reset', bound: 'bound', new: 'new', connected: 'connected', unbound: 'unbound' },
  'zh-CN': { closed: '已关闭', reset: '已复位', bound: '已绑定', new: '新建', connected: '已连接', unbound: '未绑定' },
};
const T = localize(TEXTS);

/** Note how a socket's local port came to be, when an event first shows one; a call that made
 * the kernel choose it (connect, sendto, listen on an unbound socket, bind to port 0) is kept
 * in `portNotes` by its seq, for the views to explain. The call's `ephemeral_port` is the
 * server's word on it; recordings made before the server said so are read by `portOrigin`. */
function notePort(model, socket, ev, hadPort) {
  const port = portOf(socket.local);
  if (!hadPort && port !== null && !socket.portOrigin) {
    socket.portOrigin = { ...portOrigin(ev, socket.local), seq: ev.seq, port, callSeq: null };
  }
  const origin = socket.portOrigin;
  if (Number.isInteger(ev.ephemeral_port) && origin && origin.port === ev.ephemeral_port && origin.callSeq === null) {
    // The kernel chose it during this call (a packet or state change may have shown it first).
    Object.assign(origin, portOrigin(ev, socket.local), { callSeq: ev.seq });
    model.portNotes.set(ev.seq, { chosen: true, how: origin.how, port: origin.port });
    return;
  }
  // The call behind a kernel-chosen port (its packet or state change may have shown it first).
  const calls = ['bind', 'connect', 'sendto', 'send', 'listen'];
  if (origin && origin.chosen && origin.callSeq === null && calls.includes(ev.kind) && ev.status !== 'observed' && ev.status !== 'error') {
    if (origin.how === 'implicit') origin.how = ev.kind;
    origin.callSeq = ev.seq;
    model.portNotes.set(ev.seq, { chosen: true, how: origin.how, port: origin.port });
  }
}

// ---------------------------------------------------------------------------------------
// Events

function addFlight(model, flight) {
  model.flights.push(flight);
  if (model.flights.length > FLIGHTS_KEPT) model.flights.splice(0, model.flights.length - FLIGHTS_KEPT);
}

function previewText(ev) {
  if (!ev.data) return '';
  const body = ev.data.text !== undefined ? ev.data.text : `0x${ev.data.hex}`;
  return ev.data.truncated ? `${body}…` : body;
}

/** Apply one event to the model (in seq order). */
export function applyEvent(model, ev) {
  model.lastSeq = Math.max(model.lastSeq, ev.seq);
  const ok = ev.status === 'ok';

  // A blocked call, or the end of one. Packets carry the call's id too, but end nothing.
  if (ev.call_id !== undefined && ev.call_id !== null && ev.status !== 'observed') {
    if (ev.status === 'pending') {
      model.pending.set(ev.call_id, { call_id: ev.call_id, host: ev.host, fd: ev.fd, kind: ev.kind, seq: ev.seq, addr: ev.addr });
    } else if (model.pending.has(ev.call_id)) {
      model.pending.delete(ev.call_id);
      model.resolved.set(ev.call_id, ev.seq);
    }
  }

  switch (ev.kind) {
    case 'session_started':
      model.hosts = (ev.hosts || []).map(hostOf);
      return;
    case 'host_added':
      for (const h of ev.hosts || []) {
        if (!model.hosts.some((x) => x.name === h.name)) model.hosts.push(hostOf(h));
      }
      return;
    case 'session_ended':
      model.ended = ev.reason || 'ended';
      for (const socket of [...model.sockets.values()]) closeSocket(model, socket, ev.seq);
      model.pending.clear();
      return;
    case 'socket':
      if (ok) newSocket(model, ev, ev.new_fd ?? ev.fd, ev.tuple);
      return;
    case 'socketpair':
      if (ok) {
        // Two descriptors connected to each other, with no names at all: the event names both.
        // Without `fds` only the first is known; a snapshot's `peer_fd` names the other.
        const tuple = { proto: 'unix', family: 'unix', type: ev.type || 'stream', ...(ev.tuple || {}) };
        const fds = Array.isArray(ev.fds) && ev.fds.length === 2 ? ev.fds : [ev.new_fd ?? ev.fd];
        const [a, b] = fds.map((fd, i) => newSocket(model, ev, fd, tuple, ev.seq + i / 2));
        a.role = 'pair';
        if (b) {
          b.role = 'pair';
          linkPair(model, a, b);
        }
      }
      return;
    case 'packet':
      // A packet names its sender's descriptor, but its tuple is the connection's (a
      // listener answers a SYN): it never changes a socket.
      addPacket(model, ev);
      return;
    case 'kernel_socket':
      setKernelSocket(model, ev);
      return;
    default:
      break;
  }

  const host = eventHost(model, ev);
  const socket = host !== null && ev.fd !== undefined ? openSocket(model, host, ev.fd) : undefined;
  if (socket && ev.tuple) {
    const hadPort = portOf(socket.local) !== null;
    socket.local = ev.tuple.local ?? null;
    socket.remote = ev.tuple.remote ?? null;
    if (ev.tuple.type) socket.type = ev.tuple.type;
    notePort(model, socket, ev, hadPort);
  }

  switch (ev.kind) {
    case 'bind':
      if (ok && socket) socket.stateSeq = ev.seq;
      break;
    case 'listen':
      if (ok && socket) {
        socket.role = 'listener';
        socket.backlog = ev.backlog ?? socket.backlog;
        socket.queue = socket.queue || 0;
        if (socket.proto === 'tcp') setTcp(socket, 'LISTEN', ev.seq);
        else socket.stateSeq = ev.seq;
      }
      break;
    case 'connect':
      attributeConnect(model, ev);
      if (socket && socket.proto === 'tcp') {
        socket.role = socket.role || 'client';
        if (ok && (!socket.tcp || socket.tcp === 'CLOSE')) setTcp(socket, 'ESTABLISHED', ev.seq);
        if (ev.status === 'pending' && !socket.tcp) setTcp(socket, 'SYN_SENT', ev.seq);
        if (ev.status === 'error' && ev.errno && ev.errno.name === 'ECONNREFUSED') {
          // The RST and FIN seen on the way belong to this attempt; the socket is now closed.
          socket.reset = false;
          socket.eof = false;
          setTcp(socket, 'CLOSE', ev.seq);
        }
      }
      if (ok && socket && socket.proto === 'unix' && isConnectionOriented(socket)) {
        socket.role = socket.role || 'client';
        socket.connectedSeq = ev.seq;
        socket.stateSeq = ev.seq;
        pairUnix(model, socket, ev.peer_fd);
      }
      break;
    case 'accept':
      if (ok && ev.new_fd !== undefined) {
        if (socket) socket.queue = ev.queue ?? Math.max(0, (socket.queue || 0) - 1);
        // The connection leaves the kernel's accept queue for a descriptor.
        for (const [k, ks] of model.kernelSockets) {
          if (ks.host === ev.host && ks.tuple && ev.peer && sameEndpoint(ks.tuple.remote, ev.peer)) model.kernelSockets.delete(k);
        }
        const conn = newSocket(model, ev, ev.new_fd, ev.tuple);
        conn.remote = ev.peer || null;
        conn.role = 'accepted';
        if (conn.proto === 'tcp') conn.tcp = 'ESTABLISHED';
        // The listener's port, not one the kernel chose.
        if (portOf(conn.local) !== null) conn.portOrigin = { chosen: false, how: 'accept', seq: ev.seq, port: portOf(conn.local), callSeq: ev.seq };
        if (conn.proto === 'unix') pairUnix(model, conn, ev.peer_fd);
        // The event carries the listener's address; under a wildcard bind (0.0.0.0:8080) the
        // connection's own address is where the client connected to.
        const local = parseAddr(conn.local);
        if (local && WILDCARD.has(local.ip) && conn.remote) {
          for (const other of model.sockets.values()) {
            if (!other.closed && other.remote && sameEndpoint(other.local, conn.remote)) conn.local = other.remote;
          }
        }
      }
      break;
    case 'incoming':
      if (socket) {
        socket.queue = ev.queue ?? (socket.queue || 0) + 1;
        socket.backlog = ev.backlog ?? socket.backlog;
        socket.stateSeq = ev.seq;
      }
      attributeIncoming(model, ev);
      break;
    case 'send':
    case 'sendto':
      if (ok && socket) {
        const dest = ev.kind === 'sendto' && ev.addr ? ev.addr : socket.remote;
        if (socket.proto === 'unix') {
          // Inside the host: to the paired socket, or the datagram socket of that name here.
          const to = ev.kind === 'sendto' && ev.addr ? receiverOf(model, ev.addr, socket.host)
            : peerSocket(model, socket) || (dest ? receiverOf(model, dest, socket.host) : null);
          addFlight(model, { seq: ev.seq, proto: 'unix', from: socket.uid, to: to ? to.uid : null, toHost: to ? to.host : null, text: previewText(ev) });
        } else if ((socket.proto === 'icmp' || socket.proto === 'icmpv6') && dest) {
          // ICMP has no ports: the message goes to the destination host, whose kernel answers.
          addFlight(model, { seq: ev.seq, proto: 'icmp', from: socket.uid, to: null, toHost: hostOfAddr(model, dest), text: previewText(ev) });
        } else if (socket.proto === 'udp' && dest) {
          rememberSend(model, dest, ev.host);
          const to = receiverOf(model, dest);
          addFlight(model, { seq: ev.seq, proto: 'udp', from: socket.uid, to: to ? to.uid : null, toHost: to ? to.host : hostOfAddr(model, dest), text: previewText(ev) });
        } else if (socket.proto === 'tcp') {
          const to = peerSocket(model, socket);
          addFlight(model, { seq: ev.seq, proto: 'tcp', from: socket.uid, to: to ? to.uid : null, toHost: to ? to.host : null, text: previewText(ev) });
        }
      }
      break;
    case 'data':
      if (socket) socket.waiting = ev.bytes ?? socket.waiting;
      attributeData(model, ev, socket);
      break;
    case 'recv':
    case 'recvfrom':
      if (ok && socket && !ev.peek) {
        if (socket.type === 'stream') socket.waiting = Math.max(0, socket.waiting - (ev.bytes || 0));
        else socket.waiting = 0; // one datagram or record read
      }
      break;
    case 'eof':
    case 'reset':
      if (socket) {
        if (ev.kind === 'eof') socket.eof = true;
        else socket.reset = true;
        socket.stateSeq = ev.seq;
      }
      attributeEnd(model, ev, host);
      break;
    case 'tcp_state':
      // A state read from a packet (too brief for any probe) stays marked as such.
      if (socket) setTcp(socket, ev.to, ev.seq, Boolean(ev.inferred));
      break;
    case 'shutdown':
      if (ok && socket) {
        const how = ev.how;
        socket.shut = socket.shut && socket.shut !== how ? 'both' : how;
        socket.stateSeq = ev.seq;
      }
      break;
    case 'close':
      if (ok && socket) closeSocket(model, socket, ev.seq);
      break;
    case 'setsockopt':
      if (ok && socket && ev.option) socket.options[ev.option] = ev.value;
      break;
    case 'nonblocking':
      if (ok && socket) socket.nonblocking = Boolean(ev.nonblocking);
      break;
    default:
      break;
  }
}

// ---------------------------------------------------------------------------------------
// Packets and sockets without a descriptor

function addPacket(model, ev) {
  if (!ev.packet) return;
  model.packets.push(ev);
  if (ev.call_id !== undefined && ev.call_id !== null) {
    const list = model.callPackets.get(ev.call_id);
    if (list) list.push(ev);
    else model.callPackets.set(ev.call_id, [ev]);
  }
}

function kernelKey(host, tuple) {
  return `${host}|${(tuple && tuple.local) || ''}|${(tuple && tuple.remote) || ''}`;
}

function setKernelSocket(model, ev) {
  const host = eventHost(model, ev);
  const k = kernelKey(host, ev.tuple);
  if (!ev.to || ev.to === 'CLOSE') {
    model.kernelSockets.delete(k);
    return;
  }
  model.kernelSockets.set(k, {
    uid: `k:${k}`,
    host,
    tuple: ev.tuple || null,
    state: ev.to,
    from: ev.from || null,
    timerMs: ev.timer_ms ?? null,
    seq: ev.seq,
    time_ms: ev.time_ms,
  });
}

/** Sockets the kernel keeps for `host` without a descriptor (TIME_WAIT…), oldest first. */
export function kernelSockets(model, host) {
  return [...model.kernelSockets.values()].filter((k) => k.host === host).sort((a, b) => a.seq - b.seq);
}

/** Where a packet's arrow goes on the ladder: lane indexes of its sender and receiver among
 * `hosts` (names, in lane order). `loop` on the host's own loopback (from = to); `to` null
 * for broadcast, multicast or an address outside the session; `from` −1 for an unknown host. */
export function packetLanes(packet, hosts) {
  const from = hosts.indexOf(packet.from);
  const hasTo = packet.to !== undefined && packet.to !== null;
  const to = hasTo ? hosts.indexOf(packet.to) : -1;
  return {
    from,
    to: to >= 0 ? to : null,
    loop: hasTo && packet.to === packet.from,
    broadcast: !hasTo,
  };
}

/** The packets of one TCP connection, by its two endpoints (either direction), after `seq`. */
export function connectionPackets(model, a, b, afterSeq = 0) {
  const ends = (p) => p.src && p.tcp && [joinAddr(normIp(p.src), p.tcp.src_port), joinAddr(normIp(p.dst), p.tcp.dst_port)];
  const want = new Set([`${a}>${b}`, `${b}>${a}`]);
  return model.packets.filter((ev) => {
    if (ev.seq <= afterSeq) return false;
    const e = ends(ev.packet);
    return e && want.has(`${e[0]}>${e[1]}`);
  });
}

/** Correct the model with a live snapshot's kernel figures (states, queues, tuples, which Unix
 * socket is connected to which), and set hosts and pending calls from it. Only meaningful when
 * the snapshot is not older than the model (its last_seq ≥ the model's). */
export function reconcile(model, snapshot) {
  if (!snapshot || !Array.isArray(snapshot.hosts)) return;
  for (const host of snapshot.hosts) {
    const known = model.hosts.find((x) => x.name === host.name);
    if (known) {
      known.addrs = [...host.addrs];
      if (Array.isArray(host.ephemeral_ports)) known.ephemeral_ports = [...host.ephemeral_ports];
    } else model.hosts.push(hostOf(host));
  }
  if (!snapshot.live) return;
  const seen = new Set();
  const unix = []; // [socket, its snapshot]: the kernel's pairs, set once every socket is known
  for (const host of snapshot.hosts) {
    for (const snap of host.sockets || []) {
      let socket = openSocket(model, host.name, snap.fd);
      if (!socket || socket.proto !== snap.tuple.proto) {
        // Opened before the events this page has (a resync): take the snapshot's word.
        socket = newSocket(model, { seq: -(model.sockets.size + 1), host: host.name }, snap.fd, snap.tuple);
      }
      seen.add(socket.uid);
      socket.local = snap.tuple.local ?? null;
      socket.remote = snap.tuple.remote ?? null;
      socket.family = snap.tuple.family;
      socket.type = snap.tuple.type || socket.type;
      socket.nonblocking = snap.nonblocking;
      if (snap.tcp_state) setTcp(socket, snap.tcp_state, socket.stateSeq);
      if (snap.tcp_state === 'LISTEN') socket.role = 'listener';
      if (snap.backlog !== null && snap.backlog !== undefined) socket.backlog = snap.backlog;
      if (snap.accept_queue !== null && snap.accept_queue !== undefined) socket.queue = snap.accept_queue;
      if (snap.recv_queue !== null && snap.recv_queue !== undefined && socket.proto === 'tcp') socket.waiting = snap.recv_queue;
      for (const opt of snap.options || []) socket.options[opt.option] = opt.value;
      if (socket.proto === 'unix') unix.push([socket, snap]);
    }
  }
  for (const socket of [...model.sockets.values()]) {
    if (!socket.closed && !seen.has(socket.uid)) closeSocket(model, socket, model.lastSeq);
  }
  // Which Unix socket is connected to which: the kernel's word, when the server gives it (no
  // `peer_fd` then means none: the other end waits in an accept queue, or is closed).
  if (unix.some(([, snap]) => Number.isInteger(snap.peer_fd))) model.kernelPairs = true;
  if (model.kernelPairs) {
    for (const [socket, snap] of unix) {
      const other = Number.isInteger(snap.peer_fd) ? openSocket(model, socket.host, snap.peer_fd) : null;
      if (other && other !== socket) {
        if (socket.pair !== other.uid || other.pair !== socket.uid) linkPair(model, socket, other);
      } else if (socket.pair !== null) unlinkPair(model, socket);
    }
  }
  model.pending.clear();
  for (const p of snapshot.pending || []) model.pending.set(p.call_id, { ...p, seq: null });
  // Sockets without a descriptor, when the server reports them: the snapshot's word.
  if (snapshot.hosts.some((host) => Array.isArray(host.kernel_sockets))) {
    const before = model.kernelSockets;
    model.kernelSockets = new Map();
    for (const host of snapshot.hosts) {
      for (const k of host.kernel_sockets || []) {
        const id = kernelKey(host.name, k.tuple);
        const known = before.get(id);
        model.kernelSockets.set(id, {
          uid: `k:${id}`,
          host: host.name,
          tuple: k.tuple || null,
          state: k.state,
          from: known ? known.from : null,
          timerMs: k.expires_ms ? Math.max(0, k.expires_ms - (snapshot.now_ms || Date.now())) : known ? known.timerMs : null,
          seq: known ? known.seq : model.lastSeq,
          time_ms: snapshot.now_ms || Date.now(),
        });
      }
    }
  }
}

// The guided scenarios: socket lessons as steps, each one real call through the API and one
// sentence of what it does and why. Steps name descriptors by role (c.fd.server) and take
// addresses from the session (c.addr('B')), so they never assume numbers.
//
// A step: {host, text, call(c) → call body without host, save?: name for the returned fd,
// saveFds?: [name, name] for the two fds a socketpair returns, savePeer?: name for the
// returned peer, expect?: 'ok' (default), the errno or 'pending' it teaches, or a list of
// outcomes that are all as taught, expectLoopback?: the same in loopback isolation,
// loopbackEnd?: in loopback isolation the lesson ends after this step, with this sentence
// (for lessons only netns mode can run), name?: how later steps and explanations find this
// step's call, explain?(run) → the sentence that reads this run's real packets or tuples once
// the step ran (null while they are not in)}. Context `c` also has c.ip('B') for a bare
// address (ICMP has no ports); a lesson may leave out `ports` when it uses none.
//
// `run` (built by the scenarios view): {capture: whether packets are captured, noPackets: the
// sentence saying why not, packetsOf(name): the packet events of that step's call, tupleOf(name):
// that call's tuple, model}. The helpers below are pure, so they are tested without a page.

import { connectionPackets } from './model.js';
import { hasFlag } from './describe.js';
import { ephemeralRange, portOf } from './ports.js';
import { fill as fmt, lang, localize } from './i18n.js';

/** Server, client and a connection between them: steps shared by several lessons. */
function connected(port = 'port') {
  return [
    { host: 'B', save: 'server', text: 'B creates the server’s socket: a descriptor with no address yet.', call: () => ({ call: 'socket', domain: 'inet', type: 'stream' }) },
    { host: 'B', text: 'B binds it to a known address and port, so clients know where to connect.', call: (c) => ({ call: 'bind', fd: c.fd.server, addr: c.addr('B', c[port]) }) },
    { host: 'B', text: 'listen turns it into a listening socket: the kernel now completes handshakes and queues connections.', call: (c) => ({ call: 'listen', fd: c.fd.server, backlog: 4 }) },
    { host: 'A', save: 'client', text: 'A creates the client’s socket.', call: () => ({ call: 'socket', domain: 'inet', type: 'stream' }) },
    { host: 'A', name: 'connect', text: 'connect runs the three-way handshake; A gets an ephemeral port and the connection waits in B’s accept queue.', call: (c) => ({ call: 'connect', fd: c.fd.client, addr: c.addr('B', c[port]) }) },
    { host: 'B', save: 'conn', text: 'accept takes the connection off the queue as a new descriptor; the listener keeps listening.', call: (c) => ({ call: 'accept', fd: c.fd.server }) },
  ];
}


// ---------------------------------------------------------------------------------------
// Reading this run's packets

const tcpOf = (ev) => ev.packet.tcp;
const plus = (n, k) => (n + k) >>> 0; // sequence numbers wrap at 2^32

/** The handshake among a connect's packets: {syn, synAck, ack} (each an event or null). */
export function handshakeOf(packets) {
  const tcp = packets.filter((ev) => ev.packet && ev.packet.tcp);
  const syn = tcp.find((ev) => hasFlag(ev.packet, 'SYN') && !hasFlag(ev.packet, 'ACK')) || null;
  if (!syn) return { syn: null, synAck: null, ack: null };
  const synAck = tcp.find((ev) => ev.seq > syn.seq && hasFlag(ev.packet, 'SYN') && hasFlag(ev.packet, 'ACK') && tcpOf(ev).ack === plus(tcpOf(syn).seq, 1)) || null;
  const ack = synAck
    ? tcp.find((ev) => ev.seq > synAck.seq && ev.packet.from === syn.packet.from && !hasFlag(ev.packet, 'SYN') && hasFlag(ev.packet, 'ACK') && tcpOf(ev).ack === plus(tcpOf(synAck).seq, 1)) || null
    : null;
  return { syn, synAck, ack };
}

/** The handshake in words, with J and K as this run's numbers. */
export function explainHandshake(packets) {
  const { syn, synAck, ack } = handshakeOf(packets);
  if (!syn) return null;
  const a = syn.packet.from;
  const b = syn.packet.to || T.theServer;
  const j = tcpOf(syn).seq;
  const parts = [fmt(T.syn, { a, seq: syn.seq, j })];
  if (synAck) {
    const k = tcpOf(synAck).seq;
    parts.push(fmt(T.synAck, { b, seq: synAck.seq, k, ack: tcpOf(synAck).ack }));
    if (ack) parts.push(fmt(T.ack, { a, seq: ack.seq, ack: tcpOf(ack).ack }));
  }
  return parts.join(lang() === 'zh-CN' ? '' : ' ');
}

/** What a call's packets were, when the lesson says a call sends nothing. */
export function explainSilence(packets, what) {
  const own = packets.filter((ev) => !ev.packet.control);
  if (own.length === 0) return fmt(T.silent, { what });
  return fmt(own.length === 1 ? T.causedOne : T.caused, { what, n: own.length, list: own.map((ev) => `#${ev.seq} ${ev.packet.summary}`).join('; ') });
}

/** The first data segment and its acknowledgement. */
export function explainData(packets) {
  const data = packets.find((ev) => ev.packet.tcp && ev.packet.payload_len > 0);
  if (!data) return null;
  const t = tcpOf(data);
  const next = plus(t.seq, data.packet.payload_len);
  const ack = packets.find((ev) => ev.seq > data.seq && ev.packet.tcp && ev.packet.from !== data.packet.from && tcpOf(ev).ack === next);
  const rel = t.rel_seq !== undefined ? fmt(T.relative, { n: t.rel_seq }) : '';
  return fmt(T.data, { seq: data.seq, start: t.seq, rel, n: data.packet.payload_len })
    + (ack ? fmt(T.dataAcked, { host: ack.packet.from, next, seq: ack.seq }) : fmt(T.dataWillAck, { next }));
}

/** A FIN among `packets` (sent by `from`, when given). */
export function finOf(packets, from) {
  return packets.find((ev) => hasFlag(ev.packet, 'FIN') && (!from || ev.packet.from === from)) || null;
}

/** The packet acknowledging a FIN on its connection, from the other side, if it came. */
export function ackOfFin(model, fin) {
  const p = fin.packet;
  const local = `${p.src.includes(':') ? `[${p.src}]` : p.src}:${p.tcp.src_port}`;
  const remote = `${p.dst.includes(':') ? `[${p.dst}]` : p.dst}:${p.tcp.dst_port}`;
  const want = plus(p.tcp.seq, 1);
  return connectionPackets(model, local, remote, fin.seq)
    .find((ev) => ev.packet.from !== p.from && hasFlag(ev.packet, 'ACK') && ev.packet.tcp.ack === want) || null;
}

/** The active close: A's FIN and what B's kernel did with it. */
export function explainActiveClose(model, packets) {
  const fin = finOf(packets);
  if (!fin) return null;
  const a = fin.packet.from;
  const b = fin.packet.to || T.thePeer;
  const ack = ackOfFin(model, fin);
  const head = fmt(T.finSent, { a, seq: fin.seq, s: fin.packet.tcp.seq });
  if (!ack) return fmt(T.finNotAcked, { head, b });
  const alone = !hasFlag(ack.packet, 'FIN');
  return fmt(T.finAcked, { head, a, b, how: alone ? T.alone : T.withFin, seq: ack.seq, ack: ack.packet.tcp.ack });
}

/** The passive close: B's FIN and the last ACK, sent by a kernel whose program is gone. */
export function explainPassiveClose(model, packets, host) {
  const fin = finOf(packets, host);
  if (!fin) return null;
  const a = fin.packet.to || T.thePeer;
  const ack = ackOfFin(model, fin);
  const head = fmt(T.passiveHead, { host, seq: fin.seq, s: fin.packet.tcp.seq, a });
  if (!ack) return fmt(T.lastAckMissing, { head, a });
  return fmt(T.lastAck, { head, a, seq: ack.seq, ack: ack.packet.tcp.ack });
}

/** TIME_WAIT, from what sock_diag reported for `local` on `host` (when it did). */
export function explainTimeWait(model, host, local) {
  const ks = [...model.kernelSockets.values()].find((k) => k.host === host && k.tuple && k.tuple.local === local);
  const seen = ks && ks.state === 'TIME_WAIT'
    ? fmt(T.timeWaitSeen, { timer: ks.timerMs !== null ? fmt(T.timeWaitTimer, { s: Math.round(ks.timerMs / 1000), seq: ks.seq }) : '' })
    : '';
  return fmt(T.timeWait, { local: local || T.theAddress, seen });
}

/** The ports `host`'s kernel chose for `locals` (ip:port addresses), read against the
 * host's ephemeral range in `model`. */
export function explainEphemeral(model, host, locals) {
  const ports = locals.map(portOf).filter((p) => p !== null);
  if (ports.length === 0) return null;
  const info = model.hosts.find((x) => x.name === host) || { name: host };
  const r = ephemeralRange(info);
  const whose = r.known ? fmt(T.hostRange, { host }) : T.defaultRange;
  const inside = ports.filter((p) => p >= r.lo && p <= r.hi);
  const where = inside.length === ports.length
    ? fmt(ports.length === 1 ? T.inside : T.bothInside, { lo: r.lo, hi: r.hi, whose })
    : fmt(T.notInside, { lo: r.lo, hi: r.hi, whose });
  if (ports.length === 1) return fmt(T.chosePort, { host, port: ports[0], where });
  const differ = new Set(ports).size === ports.length;
  return fmt(T.chosePorts, { host, ports: ports.join(T.and), where }) + (differ ? T.differ : T.same);
}

/** Where the Unix-domain lesson's server listens. */
export const UNIX_PATH = '/tmp/echo.sock';

/** Packet-reading explanations need packets: in loopback mode, say so instead. */
const withPackets = (f) => (run) => (run.capture ? f(run) : run.noPackets);

export const LESSONS = [
  {
    id: 'tcp',
    title: 'TCP server and client',
    summary: 'The whole lifecycle: the server binds, listens and accepts; the client connects; both talk; both close.',
    ports: { port: 8080 },
    steps: [
      ...connected(),
      { host: 'A', text: 'A sends 5 bytes: they go into A’s send buffer and across into B’s receive queue.', call: (c) => ({ call: 'send', fd: c.fd.client, data: 'hello' }) },
      { host: 'B', text: 'B reads them from the connected descriptor — not from the listener.', call: (c) => ({ call: 'recv', fd: c.fd.conn, max: 1024 }) },
      { host: 'B', text: 'The connection goes both ways: B answers on the same descriptor.', call: (c) => ({ call: 'send', fd: c.fd.conn, data: 'hi A' }) },
      { host: 'A', text: 'A reads the answer.', call: (c) => ({ call: 'recv', fd: c.fd.client, max: 1024 }) },
      { host: 'A', text: 'A closes first: a FIN goes to B, and A’s side will wait in TIME_WAIT.', call: (c) => ({ call: 'close', fd: c.fd.client }) },
      { host: 'B', text: 'B’s recv returns 0: that is how a program learns the peer is done (end of stream).', call: (c) => ({ call: 'recv', fd: c.fd.conn, max: 1024 }) },
      { host: 'B', text: 'B closes its end of the connection.', call: (c) => ({ call: 'close', fd: c.fd.conn }) },
      { host: 'B', text: 'B stops listening: new connections to the port would now be refused.', call: (c) => ({ call: 'close', fd: c.fd.server }) },
    ],
  },
  {
    id: 'udp',
    title: 'UDP sender and receiver',
    summary: 'No connection, no accept: datagrams go to an address, and the receiver learns who sent each one.',
    ports: { port: 5300 },
    steps: [
      { host: 'B', save: 'rx', text: 'B creates a datagram socket.', call: () => ({ call: 'socket', domain: 'inet', type: 'dgram' }) },
      { host: 'B', text: 'B binds it to a known port so senders can reach it; there is no listen.', call: (c) => ({ call: 'bind', fd: c.fd.rx, addr: c.addr('B', c.port) }) },
      { host: 'A', save: 'tx', text: 'A creates its own datagram socket.', call: () => ({ call: 'socket', domain: 'inet', type: 'dgram' }) },
      { host: 'A', text: 'sendto sends one datagram to B; the kernel binds A to an ephemeral port on the way.', call: (c) => ({ call: 'sendto', fd: c.fd.tx, data: 'ping', addr: c.addr('B', c.port) }) },
      { host: 'B', savePeer: 'sender', text: 'recvfrom returns the datagram and the address it came from.', call: (c) => ({ call: 'recvfrom', fd: c.fd.rx, max: 1024 }) },
      { host: 'B', text: 'B answers to that address: the reply is just another datagram.', call: (c) => ({ call: 'sendto', fd: c.fd.rx, data: 'pong', addr: c.peer.sender }) },
      { host: 'A', text: 'A receives the reply.', call: (c) => ({ call: 'recvfrom', fd: c.fd.tx, max: 1024 }) },
      { host: 'A', expectLoopback: 'ECONNREFUSED', text: 'A sends to a port where nothing is bound: the kernel would let it go — UDP has no connection to refuse (in loopback isolation the sandbox refuses it, since the port is outside the session).', call: (c) => ({ call: 'sendto', fd: c.fd.tx, data: 'anyone?', addr: c.addr('B', c.port + 1) }) },
      { host: 'A', text: 'A closes its socket.', call: (c) => ({ call: 'close', fd: c.fd.tx }) },
      { host: 'B', text: 'B closes its socket.', call: (c) => ({ call: 'close', fd: c.fd.rx }) },
    ],
  },
  {
    id: 'refused',
    title: 'Connection refused',
    summary: 'Why connect fails with ECONNREFUSED: nothing listening, or bound but not listening.',
    ports: { port: 8090 },
    steps: [
      { host: 'A', save: 'c1', text: 'A creates a client socket.', call: () => ({ call: 'socket', domain: 'inet', type: 'stream' }) },
      { host: 'A', expect: 'ECONNREFUSED', text: 'Nothing listens at that port: B’s kernel answers the SYN with a RST and connect fails.', call: (c) => ({ call: 'connect', fd: c.fd.c1, addr: c.addr('B', c.port) }) },
      { host: 'A', text: 'A socket whose connect failed cannot portably be reused: close it.', call: (c) => ({ call: 'close', fd: c.fd.c1 }) },
      { host: 'B', save: 'server', text: 'B creates a socket…', call: () => ({ call: 'socket', domain: 'inet', type: 'stream' }) },
      { host: 'B', text: '…and binds it to the port, but does not listen yet.', call: (c) => ({ call: 'bind', fd: c.fd.server, addr: c.addr('B', c.port) }) },
      { host: 'A', save: 'c2', text: 'A tries again with a fresh socket.', call: () => ({ call: 'socket', domain: 'inet', type: 'stream' }) },
      { host: 'A', expect: 'ECONNREFUSED', text: 'Still refused: a bound socket that is not listening accepts no connections.', call: (c) => ({ call: 'connect', fd: c.fd.c2, addr: c.addr('B', c.port) }) },
      { host: 'A', text: 'Close the failed socket.', call: (c) => ({ call: 'close', fd: c.fd.c2 }) },
      { host: 'B', text: 'Now B listens.', call: (c) => ({ call: 'listen', fd: c.fd.server, backlog: 4 }) },
      { host: 'A', save: 'c3', text: 'A makes a third socket.', call: () => ({ call: 'socket', domain: 'inet', type: 'stream' }) },
      { host: 'A', text: 'connect succeeds — even before B calls accept: the kernel completes the handshake and queues it.', call: (c) => ({ call: 'connect', fd: c.fd.c3, addr: c.addr('B', c.port) }) },
      { host: 'A', text: 'A closes its connection.', call: (c) => ({ call: 'close', fd: c.fd.c3 }) },
      { host: 'B', text: 'B closes the listener.', call: (c) => ({ call: 'close', fd: c.fd.server }) },
    ],
  },
  {
    id: 'reuseaddr',
    title: 'Port already in use and SO_REUSEADDR',
    summary: 'EADDRINUSE while a socket holds the port, and how SO_REUSEADDR lets a restarted server take it back.',
    ports: { port: 9000 },
    steps: [
      { host: 'B', save: 'server', text: 'B creates the server’s socket.', call: () => ({ call: 'socket', domain: 'inet', type: 'stream' }) },
      { host: 'B', text: 'Servers set SO_REUSEADDR before bind; their connections inherit it.', call: (c) => ({ call: 'setsockopt', fd: c.fd.server, option: 'SO_REUSEADDR', value: true }) },
      { host: 'B', text: 'B binds the port.', call: (c) => ({ call: 'bind', fd: c.fd.server, addr: c.addr('B', c.port) }) },
      { host: 'B', text: 'B listens on it.', call: (c) => ({ call: 'listen', fd: c.fd.server, backlog: 4 }) },
      { host: 'B', save: 'other', text: 'A second socket on B, as a second copy of the server would make.', call: () => ({ call: 'socket', domain: 'inet', type: 'stream' }) },
      { host: 'B', expect: 'EADDRINUSE', text: 'It cannot bind the same port: the listener holds it.', call: (c) => ({ call: 'bind', fd: c.fd.other, addr: c.addr('B', c.port) }) },
      { host: 'A', save: 'client', text: 'A creates a client socket.', call: () => ({ call: 'socket', domain: 'inet', type: 'stream' }) },
      { host: 'A', text: 'A connects to the server.', call: (c) => ({ call: 'connect', fd: c.fd.client, addr: c.addr('B', c.port) }) },
      { host: 'B', save: 'conn', text: 'B accepts the connection.', call: (c) => ({ call: 'accept', fd: c.fd.server }) },
      { host: 'B', text: 'The server closes the connection first, so its end will wait in TIME_WAIT on the server’s port.', call: (c) => ({ call: 'close', fd: c.fd.conn }) },
      { host: 'A', text: 'A closes its end.', call: (c) => ({ call: 'close', fd: c.fd.client }) },
      { host: 'B', text: 'The server stops, as if it were being restarted.', call: (c) => ({ call: 'close', fd: c.fd.server }) },
      { host: 'B', expect: 'EADDRINUSE', text: 'The restarted server cannot bind: the old connection in TIME_WAIT still holds the port.', call: (c) => ({ call: 'bind', fd: c.fd.other, addr: c.addr('B', c.port) }) },
      { host: 'B', text: 'Set SO_REUSEADDR on the new socket, as the old server had.', call: (c) => ({ call: 'setsockopt', fd: c.fd.other, option: 'SO_REUSEADDR', value: true }) },
      { host: 'B', text: 'Now bind succeeds despite the TIME_WAIT connection.', call: (c) => ({ call: 'bind', fd: c.fd.other, addr: c.addr('B', c.port) }) },
      { host: 'B', text: 'Close it to finish.', call: (c) => ({ call: 'close', fd: c.fd.other }) },
    ],
  },
  {
    id: 'half-close',
    title: 'Half-close with shutdown',
    summary: 'shutdown(SHUT_WR) ends one direction only: the peer reads end of stream but can still answer.',
    ports: { port: 8100 },
    steps: [
      ...connected(),
      { host: 'A', text: 'A sends its whole request.', call: (c) => ({ call: 'send', fd: c.fd.client, data: 'request' }) },
      { host: 'A', text: 'shutdown(SHUT_WR): A will send no more, so a FIN follows the data; A can still read.', call: (c) => ({ call: 'shutdown', fd: c.fd.client, how: 'write' }) },
      { host: 'B', text: 'B reads the request.', call: (c) => ({ call: 'recv', fd: c.fd.conn, max: 1024 }) },
      { host: 'B', text: 'recv returns 0: B knows the request is complete.', call: (c) => ({ call: 'recv', fd: c.fd.conn, max: 1024 }) },
      { host: 'B', text: 'B’s direction is still open: it sends the response.', call: (c) => ({ call: 'send', fd: c.fd.conn, data: 'response' }) },
      { host: 'A', text: 'A reads the response on its half-closed socket.', call: (c) => ({ call: 'recv', fd: c.fd.client, max: 1024 }) },
      { host: 'B', text: 'B closes: its FIN ends the other direction.', call: (c) => ({ call: 'close', fd: c.fd.conn }) },
      { host: 'A', text: 'A’s recv now returns 0 too.', call: (c) => ({ call: 'recv', fd: c.fd.client, max: 1024 }) },
      { host: 'A', text: 'A closes.', call: (c) => ({ call: 'close', fd: c.fd.client }) },
      { host: 'B', text: 'B closes the listener.', call: (c) => ({ call: 'close', fd: c.fd.server }) },
    ],
  },
  {
    id: 'reset',
    title: 'Reset with SO_LINGER 0',
    summary: 'An abortive close: with linger on and a zero timeout, close sends RST instead of FIN.',
    ports: { port: 8110 },
    steps: [
      ...connected(),
      { host: 'B', text: 'Linger on with 0 seconds: close will abort the connection instead of ending it gracefully.', call: (c) => ({ call: 'setsockopt', fd: c.fd.conn, option: 'SO_LINGER', value: { onoff: true, seconds: 0 } }) },
      { host: 'B', text: 'close now sends RST: no FIN, no TIME_WAIT, unsent data is thrown away.', call: (c) => ({ call: 'close', fd: c.fd.conn }) },
      { host: 'A', expect: 'ECONNRESET', text: 'A’s next recv reports the reset.', call: (c) => ({ call: 'recv', fd: c.fd.client, max: 1024 }) },
      { host: 'A', text: 'A closes the dead socket.', call: (c) => ({ call: 'close', fd: c.fd.client }) },
      { host: 'B', text: 'B closes the listener.', call: (c) => ({ call: 'close', fd: c.fd.server }) },
    ],
  },
  {
    id: 'handshake',
    title: 'Three-way handshake',
    summary: 'What connect puts on the wire: SYN, SYN+ACK, ACK, with the sequence numbers J and K read from this run’s packets (netns mode).',
    ports: { port: 8200 },
    steps: [
      { host: 'B', save: 'server', text: 'B creates the server’s socket.', call: () => ({ call: 'socket', domain: 'inet', type: 'stream' }) },
      { host: 'B', text: 'B binds it to a known port.', call: (c) => ({ call: 'bind', fd: c.fd.server, addr: c.addr('B', c.port) }) },
      { host: 'B', text: 'listen: from now on B’s kernel answers a SYN to this port by itself, without the program.', call: (c) => ({ call: 'listen', fd: c.fd.server, backlog: 4 }) },
      { host: 'A', save: 'client', text: 'A creates the client’s socket. Nothing goes on the wire yet.', call: () => ({ call: 'socket', domain: 'inet', type: 'stream' }) },
      {
        host: 'A',
        name: 'connect',
        text: 'connect: A’s kernel sends SYN with its initial sequence number J; B’s kernel answers SYN+ACK with its own K and ack J+1; A’s kernel sends ACK K+1. connect returns once the handshake is done.',
        call: (c) => ({ call: 'connect', fd: c.fd.client, addr: c.addr('B', c.port) }),
        explain: withPackets((run) => explainHandshake(run.packetsOf('connect'))),
      },
      {
        host: 'B',
        name: 'accept',
        save: 'conn',
        text: 'accept takes the finished connection off B’s queue.',
        call: (c) => ({ call: 'accept', fd: c.fd.server }),
        explain: withPackets((run) => explainSilence(run.packetsOf('accept'), 'accept')),
      },
      {
        host: 'A',
        name: 'send',
        text: 'A sends 2 bytes: the first data byte is numbered J+1.',
        call: (c) => ({ call: 'send', fd: c.fd.client, data: 'hi' }),
        explain: withPackets((run) => explainData(run.packetsOf('send'))),
      },
      { host: 'A', text: 'A closes its end.', call: (c) => ({ call: 'close', fd: c.fd.client }) },
      { host: 'B', text: 'B closes the connection.', call: (c) => ({ call: 'close', fd: c.fd.conn }) },
      { host: 'B', text: 'B closes the listener.', call: (c) => ({ call: 'close', fd: c.fd.server }) },
    ],
  },
  {
    id: 'close',
    title: 'Four-way close and TIME_WAIT',
    summary: 'A closes first: FIN, ACK; later B closes: FIN, ACK — the last one sent by A’s kernel for a socket that has no descriptor any more, which then waits in TIME_WAIT.',
    ports: { port: 8300 },
    steps: [
      ...connected(),
      {
        host: 'A',
        name: 'closeA',
        text: 'A closes first (the active close): A’s kernel sends FIN. B’s kernel acknowledges it without B’s program doing anything.',
        call: (c) => ({ call: 'close', fd: c.fd.client }),
        explain: withPackets((run) => explainActiveClose(run.model, run.packetsOf('closeA'))),
      },
      { host: 'B', text: 'B’s recv returns 0: the FIN is the end of the stream. B is in CLOSE_WAIT: it has to close too.', call: (c) => ({ call: 'recv', fd: c.fd.conn, max: 1024 }) },
      {
        host: 'B',
        name: 'closeB',
        text: 'B closes (the passive close): B’s FIN goes to A, and A’s kernel sends the last ACK — for a socket whose descriptor A closed two steps ago.',
        call: (c) => ({ call: 'close', fd: c.fd.conn }),
        explain: withPackets((run) => explainPassiveClose(run.model, run.packetsOf('closeB'), 'B')),
      },
      { host: 'A', save: 'probe', text: 'A creates a new socket…', call: () => ({ call: 'socket', domain: 'inet', type: 'stream' }) },
      {
        host: 'A',
        expect: 'EADDRINUSE',
        text: '…and tries to bind it to the address and port A’s closed connection used.',
        call: (c) => ({ call: 'bind', fd: c.fd.probe, addr: c.tupleOf('connect').local }),
        explain: (run) => explainTimeWait(run.model, 'A', run.tupleOf('connect').local),
      },
      { host: 'A', text: 'A closes the new socket.', call: (c) => ({ call: 'close', fd: c.fd.probe }) },
      { host: 'B', text: 'B closes the listener. A’s old connection leaves TIME_WAIT on its own when its timer ends.', call: (c) => ({ call: 'close', fd: c.fd.server }) },
    ],
  },
  {
    id: 'unix',
    title: 'Unix-domain echo server and client',
    summary: 'A server and a client on one host, talking through a socket named by a path: unlink first, bind creates the file, and the file outlives the socket.',
    steps: [
      { host: 'A', expect: ['ENOENT', 'ok'], text: 'A server first removes the socket file an earlier run may have left at its path: ENOENT when there is none (servers ignore it), ok when there was one.', call: () => ({ call: 'unlink', path: UNIX_PATH }) },
      { host: 'A', save: 'server', text: 'A creates the server’s socket in the Unix domain: its address will be a path on this host, not an IP address and a port.', call: () => ({ call: 'socket', domain: 'unix', type: 'stream' }) },
      { host: 'A', text: `bind creates the file ${UNIX_PATH}, the socket’s name. Only programs on host A can reach it: every host has its own files.`, call: (c) => ({ call: 'bind', fd: c.fd.server, addr: UNIX_PATH }) },
      { host: 'A', text: 'listen: connections to the path now wait in the server’s accept queue.', call: (c) => ({ call: 'listen', fd: c.fd.server, backlog: 4 }) },
      { host: 'A', save: 'client', text: 'A creates the client’s socket, in the Unix domain too.', call: () => ({ call: 'socket', domain: 'unix', type: 'stream' }) },
      { host: 'A', text: 'connect names the server by its path. No packet crosses a wire: A’s kernel puts the connection straight into the accept queue. The client’s socket needs no name of its own and has none.', call: (c) => ({ call: 'connect', fd: c.fd.client, addr: UNIX_PATH }) },
      { host: 'A', save: 'conn', text: 'accept returns the connection as a new descriptor. Its peer is unnamed, where a TCP server would see an address and a port.', call: (c) => ({ call: 'accept', fd: c.fd.server }) },
      { host: 'A', text: 'The client sends 5 bytes…', call: (c) => ({ call: 'send', fd: c.fd.client, data: 'hello' }) },
      { host: 'A', text: '…the server reads them from the accepted descriptor…', call: (c) => ({ call: 'recv', fd: c.fd.conn, max: 1024 }) },
      { host: 'A', text: '…and, being an echo server, sends them back on it.', call: (c) => ({ call: 'send', fd: c.fd.conn, data: 'hello' }) },
      { host: 'A', text: 'The client reads the echo.', call: (c) => ({ call: 'recv', fd: c.fd.client, max: 1024 }) },
      { host: 'A', text: 'The client closes its socket.', call: (c) => ({ call: 'close', fd: c.fd.client }) },
      { host: 'A', text: 'The server’s recv returns 0: end of stream, as on TCP.', call: (c) => ({ call: 'recv', fd: c.fd.conn, max: 1024 }) },
      { host: 'A', text: 'The server closes the connection.', call: (c) => ({ call: 'close', fd: c.fd.conn }) },
      { host: 'A', text: `The server closes its listening socket. The file ${UNIX_PATH} stays: closing a socket does not remove its name.`, call: (c) => ({ call: 'close', fd: c.fd.server }) },
      { host: 'A', save: 'late', text: 'A new client creates a socket…', call: () => ({ call: 'socket', domain: 'unix', type: 'stream' }) },
      { host: 'A', expect: 'ECONNREFUSED', text: '…and connect fails with ECONNREFUSED: the file is there, but nobody listens on it. (A path with no file at all gives ENOENT.)', call: (c) => ({ call: 'connect', fd: c.fd.late, addr: UNIX_PATH }) },
      { host: 'A', text: 'The client closes the failed socket.', call: (c) => ({ call: 'close', fd: c.fd.late }) },
      { host: 'A', save: 'again', text: 'The server restarts: a new socket…', call: () => ({ call: 'socket', domain: 'unix', type: 'stream' }) },
      { host: 'A', expect: 'EADDRINUSE', text: '…but bind fails with EADDRINUSE: the old file is in the way, though no socket uses it. SO_REUSEADDR does not help with paths.', call: (c) => ({ call: 'bind', fd: c.fd.again, addr: UNIX_PATH }) },
      { host: 'A', text: 'That is why servers unlink first: unlink removes the file…', call: () => ({ call: 'unlink', path: UNIX_PATH }) },
      { host: 'A', text: '…and bind creates it anew.', call: (c) => ({ call: 'bind', fd: c.fd.again, addr: UNIX_PATH }) },
      { host: 'A', text: 'The server closes…', call: (c) => ({ call: 'close', fd: c.fd.again }) },
      { host: 'A', text: '…and removes its file, so that the next run starts clean.', call: () => ({ call: 'unlink', path: UNIX_PATH }) },
    ],
  },
  {
    id: 'socketpair',
    title: 'socketpair: two connected descriptors',
    summary: 'One call makes two Unix-domain sockets already connected to each other: no names, no listen, no accept.',
    steps: [
      { host: 'A', saveFds: ['left', 'right'], text: 'socketpair creates two sockets connected to each other and returns both descriptors: no path, no bind, listen, connect or accept.', call: () => ({ call: 'socketpair', domain: 'unix', type: 'stream' }) },
      { host: 'A', text: 'What one descriptor sends…', call: (c) => ({ call: 'send', fd: c.fd.left, data: 'ping' }) },
      { host: 'A', text: '…the other one reads.', call: (c) => ({ call: 'recv', fd: c.fd.right, max: 1024 }) },
      { host: 'A', text: 'The pair goes both ways: the second descriptor answers…', call: (c) => ({ call: 'send', fd: c.fd.right, data: 'pong' }) },
      { host: 'A', text: '…and the first one reads the answer.', call: (c) => ({ call: 'recv', fd: c.fd.left, max: 1024 }) },
      { host: 'A', text: 'One end closes…', call: (c) => ({ call: 'close', fd: c.fd.left }) },
      { host: 'A', text: '…and recv on the other returns 0: end of stream.', call: (c) => ({ call: 'recv', fd: c.fd.right, max: 1024 }) },
      { host: 'A', text: 'The other end closes too. A program makes a pair before fork() and gives one end to the child: a private channel nobody else can connect to, since it has no name.', call: (c) => ({ call: 'close', fd: c.fd.right }) },
    ],
  },
  {
    id: 'seqpacket',
    title: 'Message boundaries: stream and seqpacket',
    summary: 'Two sends, then recv: a stream socket returns the bytes together, a seqpacket socket one message per recv.',
    steps: [
      { host: 'A', saveFds: ['s1', 's2'], text: 'A stream pair: two connected descriptors of type SOCK_STREAM.', call: () => ({ call: 'socketpair', domain: 'unix', type: 'stream' }) },
      { host: 'A', text: 'A first send of 3 bytes…', call: (c) => ({ call: 'send', fd: c.fd.s1, data: 'one' }) },
      { host: 'A', text: '…and a second one.', call: (c) => ({ call: 'send', fd: c.fd.s1, data: 'two' }) },
      { host: 'A', text: 'One recv returns all 6 bytes, "onetwo": a stream carries bytes, not messages, and where one send ended is lost.', call: (c) => ({ call: 'recv', fd: c.fd.s2, max: 1024 }) },
      { host: 'A', saveFds: ['p1', 'p2'], text: 'A seqpacket pair: connected, reliable and in order like a stream, but each send stays one message.', call: () => ({ call: 'socketpair', domain: 'unix', type: 'seqpacket' }) },
      { host: 'A', text: 'The same first send…', call: (c) => ({ call: 'send', fd: c.fd.p1, data: 'one' }) },
      { host: 'A', text: '…and the same second one.', call: (c) => ({ call: 'send', fd: c.fd.p1, data: 'two' }) },
      { host: 'A', text: 'recv returns "one" alone, though both messages are waiting and there was room for both.', call: (c) => ({ call: 'recv', fd: c.fd.p2, max: 1024 }) },
      { host: 'A', text: 'The next recv returns "two": one message per recv, as with UDP datagrams, but over a connection.', call: (c) => ({ call: 'recv', fd: c.fd.p2, max: 1024 }) },
      { host: 'A', text: 'Close the stream pair’s first end…', call: (c) => ({ call: 'close', fd: c.fd.s1 }) },
      { host: 'A', text: '…and its second.', call: (c) => ({ call: 'close', fd: c.fd.s2 }) },
      { host: 'A', text: 'Close the seqpacket pair’s first end…', call: (c) => ({ call: 'close', fd: c.fd.p1 }) },
      { host: 'A', text: '…and its second. Over a stream, a program marks where each message ends itself, with a length or a delimiter.', call: (c) => ({ call: 'close', fd: c.fd.p2 }) },
    ],
  },
  {
    id: 'ephemeral',
    title: 'Ephemeral ports',
    summary: 'Two clients connect without bind: A’s kernel gives each its own port, from A’s ephemeral range.',
    ports: { port: 8400 },
    steps: [
      { host: 'B', save: 'server', text: 'B creates the server’s socket.', call: () => ({ call: 'socket', domain: 'inet', type: 'stream' }) },
      { host: 'B', text: 'The server binds a port of its choosing, so that clients know where to connect.', call: (c) => ({ call: 'bind', fd: c.fd.server, addr: c.addr('B', c.port) }) },
      { host: 'B', text: 'B listens.', call: (c) => ({ call: 'listen', fd: c.fd.server, backlog: 4 }) },
      { host: 'A', save: 'c1', text: 'A creates a first client socket and does not bind it.', call: () => ({ call: 'socket', domain: 'inet', type: 'stream' }) },
      {
        host: 'A',
        name: 'connect1',
        text: 'connect on an unbound socket binds it first: to A’s address and a port A’s kernel picks from A’s ephemeral range.',
        call: (c) => ({ call: 'connect', fd: c.fd.c1, addr: c.addr('B', c.port) }),
        explain: (run) => explainEphemeral(run.model, 'A', [run.tupleOf('connect1').local]),
      },
      { host: 'A', save: 'c2', text: 'A creates a second client socket, unbound too.', call: () => ({ call: 'socket', domain: 'inet', type: 'stream' }) },
      {
        host: 'A',
        name: 'connect2',
        text: 'It connects to the same server: A’s kernel picks another port.',
        call: (c) => ({ call: 'connect', fd: c.fd.c2, addr: c.addr('B', c.port) }),
        explain: (run) => explainEphemeral(run.model, 'A', [run.tupleOf('connect1').local, run.tupleOf('connect2').local]),
      },
      { host: 'B', save: 'conn1', text: 'B accepts the first connection: its peer is A’s address and the first port.', call: (c) => ({ call: 'accept', fd: c.fd.server }) },
      { host: 'B', save: 'conn2', text: 'B accepts the second: same address, the other port.', call: (c) => ({ call: 'accept', fd: c.fd.server }) },
      { host: 'A', text: 'A closes its first client…', call: (c) => ({ call: 'close', fd: c.fd.c1 }) },
      { host: 'A', text: '…and its second.', call: (c) => ({ call: 'close', fd: c.fd.c2 }) },
      { host: 'B', text: 'B closes the first connection…', call: (c) => ({ call: 'close', fd: c.fd.conn1 }) },
      { host: 'B', text: '…the second…', call: (c) => ({ call: 'close', fd: c.fd.conn2 }) },
      { host: 'B', text: '…and the listener.', call: (c) => ({ call: 'close', fd: c.fd.server }) },
    ],
  },
  {
    id: 'ping',
    title: 'Ping with a raw ICMP socket',
    summary: 'An echo request written by hand, the reply B’s kernel sends on its own, and a wrong checksum that gets no reply at all (netns mode).',
    steps: [
      {
        host: 'A',
        save: 'raw',
        expectLoopback: 'EPERM',
        loopbackEnd: 'This scenario needs netns isolation. In loopback isolation the hosts share the server’s network, so the sandbox refuses raw sockets (EPERM) as the kernel refuses a program without CAP_NET_RAW; on a server in netns mode each host has a network of its own, and the rest of the steps run.',
        text: 'A opens a raw ICMP socket (netns mode only): A’s program writes each ICMP message itself, and A’s kernel adds only the IP header.',
        call: () => ({ call: 'socket', domain: 'inet', type: 'raw', protocol: 'icmp' }),
      },
      { host: 'A', text: 'A sends B an echo request: type 8, code 0, id 7, seq 1, data "hi". With no checksum given, the server computes it, as ping does. An ICMP address has no port.', call: (c) => ({ call: 'sendto', fd: c.fd.raw, addr: c.ip('B'), icmp: { type: 8, code: 0, id: 7, seq: 1 }, data: 'hi' }) },
      { host: 'A', text: 'B’s kernel answered on its own, with no program on B taking part: an echo reply (type 0) with the same id, seq and data. A raw socket reads whole IP packets, so the data starts with the 20-byte IPv4 header.', call: (c) => ({ call: 'recvfrom', fd: c.fd.raw, max: 1024 }) },
      { host: 'A', text: 'A sends a second request, seq 2, with a wrong checksum, 1234. sendto succeeds: nothing on A checks what a raw socket sends.', call: (c) => ({ call: 'sendto', fd: c.fd.raw, addr: c.ip('B'), icmp: { type: 8, code: 0, id: 7, seq: 2, checksum: 1234 }, data: 'hi' }) },
      { host: 'A', expect: 'pending', text: 'No reply comes, so recvfrom blocks: B’s kernel checks the checksum of every ICMP message and drops this one without a word (Linux counts it as InCsumErrors in /proc/net/snmp).', call: (c) => ({ call: 'recvfrom', fd: c.fd.raw, max: 1024, wait_ms: 1000 }) },
      { host: 'A', text: 'Closing the socket ends the blocked recvfrom.', call: (c) => ({ call: 'close', fd: c.fd.raw }) },
    ],
  },
];

// ---------------------------------------------------------------------------------------
// The lessons in Chinese

/** The lessons' titles, summaries and steps in Chinese, keyed by their English (the text in
 * LESSONS above): a sentence changed there shows up as untranslated until this follows. */
const LESSONS_ZH = {
  'TCP server and client':
    'TCP 服务器与客户端',
  'The whole lifecycle: the server binds, listens and accepts; the client connects; both talk; both close.':
    '完整的生命周期：服务器 bind、listen、accept；客户端 connect；双方收发数据；双方关闭。',
  'B creates the server’s socket: a descriptor with no address yet.':
    'B 创建服务器的套接字：一个还没有地址的描述符。',
  'B binds it to a known address and port, so clients know where to connect.':
    'B 把它绑定到一个众所周知的地址和端口，客户端才知道往哪里连。',
  'listen turns it into a listening socket: the kernel now completes handshakes and queues connections.':
    'listen 把它变成监听套接字：从此由内核完成三次握手，并把连接放进队列。',
  'A creates the client’s socket.':
    'A 创建客户端的套接字。',
  'connect runs the three-way handshake; A gets an ephemeral port and the connection waits in B’s accept queue.':
    'connect 进行三次握手；A 得到一个临时端口，连接在 B 的监听队列里等待 accept。',
  'accept takes the connection off the queue as a new descriptor; the listener keeps listening.':
    'accept 从队列中取出连接，作为一个新的描述符返回；监听套接字继续监听。',
  'A sends 5 bytes: they go into A’s send buffer and across into B’s receive queue.':
    'A 发送 5 字节：数据先进入 A 的发送缓冲区，再到达 B 的接收队列。',
  'B reads them from the connected descriptor — not from the listener.':
    'B 从已连接的描述符读取数据——而不是从监听套接字读。',
  'The connection goes both ways: B answers on the same descriptor.':
    '连接是双向的：B 在同一个描述符上回话。',
  'A reads the answer.':
    'A 读取回复。',
  'A closes first: a FIN goes to B, and A’s side will wait in TIME_WAIT.':
    'A 先关闭：一个 FIN 发往 B，A 这一端之后会进入 TIME_WAIT。',
  'B’s recv returns 0: that is how a program learns the peer is done (end of stream).':
    'B 的 recv 返回 0：程序就是这样得知对端已经发完了（流结束）。',
  'B closes its end of the connection.':
    'B 关闭它这一端的连接。',
  'B stops listening: new connections to the port would now be refused.':
    'B 停止监听：此后再连这个端口会被拒绝。',
  'UDP sender and receiver':
    'UDP 发送方与接收方',
  'No connection, no accept: datagrams go to an address, and the receiver learns who sent each one.':
    '没有连接，也没有 accept：数据报发往一个地址，接收方能知道每个数据报是谁发的。',
  'B creates a datagram socket.':
    'B 创建一个数据报套接字。',
  'B binds it to a known port so senders can reach it; there is no listen.':
    'B 把它绑定到一个已知端口，发送方才能找到它；UDP 没有 listen。',
  'A creates its own datagram socket.':
    'A 创建自己的数据报套接字。',
  'sendto sends one datagram to B; the kernel binds A to an ephemeral port on the way.':
    'sendto 向 B 发送一个数据报；内核顺便把 A 绑定到一个临时端口。',
  'recvfrom returns the datagram and the address it came from.':
    'recvfrom 返回数据报，以及它来自哪个地址。',
  'B answers to that address: the reply is just another datagram.':
    'B 向那个地址回复：回复也只是另一个数据报。',
  'A receives the reply.':
    'A 收到回复。',
  'A sends to a port where nothing is bound: the kernel would let it go — UDP has no connection to refuse (in loopback isolation the sandbox refuses it, since the port is outside the session).':
    'A 向一个没有绑定任何套接字的端口发送：内核会照发不误——UDP 没有连接可拒绝（在 loopback 隔离下沙箱会拒绝它，因为这个端口在会话之外）。',
  'A closes its socket.':
    'A 关闭它的套接字。',
  'B closes its socket.':
    'B 关闭它的套接字。',
  'Connection refused':
    '连接被拒绝',
  'Why connect fails with ECONNREFUSED: nothing listening, or bound but not listening.':
    'connect 为什么会因 ECONNREFUSED 失败：没有人监听，或者绑定了却没有监听。',
  'A creates a client socket.':
    'A 创建一个客户端套接字。',
  'Nothing listens at that port: B’s kernel answers the SYN with a RST and connect fails.':
    '那个端口上没有人监听：B 的内核用 RST 回应 SYN，connect 失败。',
  'A socket whose connect failed cannot portably be reused: close it.':
    'connect 失败过的套接字不能可移植地再用：关掉它。',
  'B creates a socket…':
    'B 创建一个套接字……',
  '…and binds it to the port, but does not listen yet.':
    '……把它绑定到这个端口，但还不 listen。',
  'A tries again with a fresh socket.':
    'A 换一个新套接字再试一次。',
  'Still refused: a bound socket that is not listening accepts no connections.':
    '仍然被拒绝：绑定了但没有监听的套接字不接受任何连接。',
  'Close the failed socket.':
    '关闭失败的套接字。',
  'Now B listens.':
    '现在 B 开始监听。',
  'A makes a third socket.':
    'A 创建第三个套接字。',
  'connect succeeds — even before B calls accept: the kernel completes the handshake and queues it.':
    'connect 成功了——甚至在 B 调用 accept 之前：内核完成三次握手，并把连接放进队列。',
  'A closes its connection.':
    'A 关闭它的连接。',
  'B closes the listener.':
    'B 关闭监听套接字。',
  'Port already in use and SO_REUSEADDR':
    '端口已被占用与 SO_REUSEADDR',
  'EADDRINUSE while a socket holds the port, and how SO_REUSEADDR lets a restarted server take it back.':
    '有套接字占着端口时会得到 EADDRINUSE，以及 SO_REUSEADDR 如何让重启的服务器重新拿回端口。',
  'B creates the server’s socket.':
    'B 创建服务器的套接字。',
  'Servers set SO_REUSEADDR before bind; their connections inherit it.':
    '服务器在 bind 之前设置 SO_REUSEADDR；它的连接会继承这个选项。',
  'B binds the port.':
    'B 绑定这个端口。',
  'B listens on it.':
    'B 在它上面监听。',
  'A second socket on B, as a second copy of the server would make.':
    'B 上的第二个套接字，就像服务器的第二个副本会创建的那样。',
  'It cannot bind the same port: the listener holds it.':
    '它无法绑定同一个端口：监听套接字占着它。',
  'A connects to the server.':
    'A 连接到服务器。',
  'B accepts the connection.':
    'B 接受这个连接。',
  'The server closes the connection first, so its end will wait in TIME_WAIT on the server’s port.':
    '服务器先关闭连接，所以它这一端会在服务器端口上进入 TIME_WAIT。',
  'A closes its end.':
    'A 关闭它这一端。',
  'The server stops, as if it were being restarted.':
    '服务器停止，就像要重启一样。',
  'The restarted server cannot bind: the old connection in TIME_WAIT still holds the port.':
    '重启的服务器无法 bind：处于 TIME_WAIT 的旧连接仍占着这个端口。',
  'Set SO_REUSEADDR on the new socket, as the old server had.':
    '在新套接字上设置 SO_REUSEADDR，和旧服务器一样。',
  'Now bind succeeds despite the TIME_WAIT connection.':
    '现在即使有 TIME_WAIT 的连接，bind 也成功了。',
  'Close it to finish.':
    '关掉它，结束。',
  'Half-close with shutdown':
    '用 shutdown 半关闭',
  'shutdown(SHUT_WR) ends one direction only: the peer reads end of stream but can still answer.':
    'shutdown(SHUT_WR) 只结束一个方向：对端读到流结束，但仍然可以回复。',
  'A sends its whole request.':
    'A 发送完整的请求。',
  'shutdown(SHUT_WR): A will send no more, so a FIN follows the data; A can still read.':
    'shutdown(SHUT_WR)：A 不再发送，于是数据之后跟着一个 FIN；A 仍然可以读。',
  'B reads the request.':
    'B 读取请求。',
  'recv returns 0: B knows the request is complete.':
    'recv 返回 0：B 知道请求已经完整了。',
  'B’s direction is still open: it sends the response.':
    'B 这个方向仍然开着：它发送响应。',
  'A reads the response on its half-closed socket.':
    'A 在半关闭的套接字上读取响应。',
  'B closes: its FIN ends the other direction.':
    'B 关闭：它的 FIN 结束了另一个方向。',
  'A’s recv now returns 0 too.':
    'A 的 recv 现在也返回 0。',
  'A closes.':
    'A 关闭。',
  'Reset with SO_LINGER 0':
    '用 SO_LINGER 0 复位连接',
  'An abortive close: with linger on and a zero timeout, close sends RST instead of FIN.':
    '异常关闭：打开 linger 并把超时设为 0，close 发送的就是 RST 而不是 FIN。',
  'Linger on with 0 seconds: close will abort the connection instead of ending it gracefully.':
    '打开 linger，时间为 0 秒：close 会中止连接，而不是正常地结束它。',
  'close now sends RST: no FIN, no TIME_WAIT, unsent data is thrown away.':
    '现在 close 发送 RST：没有 FIN，没有 TIME_WAIT，未发送的数据被丢弃。',
  'A’s next recv reports the reset.':
    'A 的下一个 recv 报告连接被复位。',
  'A closes the dead socket.':
    'A 关闭这个已失效的套接字。',
  'Three-way handshake':
    '三次握手',
  'What connect puts on the wire: SYN, SYN+ACK, ACK, with the sequence numbers J and K read from this run’s packets (netns mode).':
    'connect 在线路上发出了什么：SYN、SYN+ACK、ACK，序号 J 和 K 取自这次运行的真实数据包（netns 模式）。',
  'B binds it to a known port.':
    'B 把它绑定到一个已知端口。',
  'listen: from now on B’s kernel answers a SYN to this port by itself, without the program.':
    'listen：从现在起，B 的内核会自己回应发往这个端口的 SYN，不需要程序参与。',
  'A creates the client’s socket. Nothing goes on the wire yet.':
    'A 创建客户端的套接字。线路上还什么都没有。',
  'connect: A’s kernel sends SYN with its initial sequence number J; B’s kernel answers SYN+ACK with its own K and ack J+1; A’s kernel sends ACK K+1. connect returns once the handshake is done.':
    'connect：A 的内核发出 SYN，带着它的初始序号 J；B 的内核回 SYN+ACK，带着自己的 K 和 ack J+1；A 的内核再发 ACK K+1。握手完成后 connect 才返回。',
  'accept takes the finished connection off B’s queue.':
    'accept 从 B 的队列中取出已经建立的连接。',
  'A sends 2 bytes: the first data byte is numbered J+1.':
    'A 发送 2 字节：第一个数据字节的序号是 J+1。',
  'B closes the connection.':
    'B 关闭连接。',
  'Four-way close and TIME_WAIT':
    '四次挥手与 TIME_WAIT',
  'A closes first: FIN, ACK; later B closes: FIN, ACK — the last one sent by A’s kernel for a socket that has no descriptor any more, which then waits in TIME_WAIT.':
    'A 先关闭：FIN、ACK；之后 B 关闭：FIN、ACK——最后那个 ACK 由 A 的内核发出，而它所属的套接字已经没有描述符了，随后它在 TIME_WAIT 中等待。',
  'A closes first (the active close): A’s kernel sends FIN. B’s kernel acknowledges it without B’s program doing anything.':
    'A 先关闭（主动关闭）：A 的内核发出 FIN。B 的内核确认它，B 的程序什么都不用做。',
  'B’s recv returns 0: the FIN is the end of the stream. B is in CLOSE_WAIT: it has to close too.':
    'B 的 recv 返回 0：FIN 就是流的结束。B 处于 CLOSE_WAIT：它也得关闭。',
  'B closes (the passive close): B’s FIN goes to A, and A’s kernel sends the last ACK — for a socket whose descriptor A closed two steps ago.':
    'B 关闭（被动关闭）：B 的 FIN 发往 A，A 的内核发出最后的 ACK——而 A 早在两步之前就关闭了这个套接字的描述符。',
  'A creates a new socket…':
    'A 创建一个新套接字……',
  '…and tries to bind it to the address and port A’s closed connection used.':
    '……并尝试把它绑定到 A 那个已关闭连接用过的地址和端口。',
  'A closes the new socket.':
    'A 关闭这个新套接字。',
  'B closes the listener. A’s old connection leaves TIME_WAIT on its own when its timer ends.':
    'B 关闭监听套接字。A 的旧连接会在计时器到期后自行离开 TIME_WAIT。',
  'Unix-domain echo server and client':
    'Unix 域回显服务器与客户端',
  'A server and a client on one host, talking through a socket named by a path: unlink first, bind creates the file, and the file outlives the socket.':
    '同一台主机上的服务器和客户端，通过一个以路径命名的套接字通信：先 unlink，bind 会创建文件，而文件比套接字活得久。',
  'A server first removes the socket file an earlier run may have left at its path: ENOENT when there is none (servers ignore it), ok when there was one.':
    '服务器先删除上一次运行可能留在路径上的套接字文件：没有文件时得到 ENOENT（服务器忽略它），有的话就成功。',
  'A creates the server’s socket in the Unix domain: its address will be a path on this host, not an IP address and a port.':
    'A 在 Unix 域中创建服务器的套接字：它的地址将是本机上的一个路径，而不是 IP 地址加端口。',
  'bind creates the file /tmp/echo.sock, the socket’s name. Only programs on host A can reach it: every host has its own files.':
    'bind 创建文件 /tmp/echo.sock，作为套接字的名字。只有主机 A 上的程序能访问它：每台主机都有自己的文件。',
  'listen: connections to the path now wait in the server’s accept queue.':
    'listen：连到这个路径的连接现在会在服务器的监听队列里等待。',
  'A creates the client’s socket, in the Unix domain too.':
    'A 创建客户端的套接字，同样在 Unix 域中。',
  'connect names the server by its path. No packet crosses a wire: A’s kernel puts the connection straight into the accept queue. The client’s socket needs no name of its own and has none.':
    'connect 用路径指明服务器。没有数据包经过线路：A 的内核直接把连接放进监听队列。客户端的套接字不需要自己的名字，也没有名字。',
  'accept returns the connection as a new descriptor. Its peer is unnamed, where a TCP server would see an address and a port.':
    'accept 把连接作为新描述符返回。它的对端没有名字，而 TCP 服务器在这里会看到一个地址和端口。',
  'The client sends 5 bytes…':
    '客户端发送 5 字节……',
  '…the server reads them from the accepted descriptor…':
    '……服务器从 accept 得到的描述符上读取……',
  '…and, being an echo server, sends them back on it.':
    '……作为回显服务器，再在同一个描述符上把它们发回去。',
  'The client reads the echo.':
    '客户端读取回显。',
  'The client closes its socket.':
    '客户端关闭它的套接字。',
  'The server’s recv returns 0: end of stream, as on TCP.':
    '服务器的 recv 返回 0：流结束，和 TCP 一样。',
  'The server closes the connection.':
    '服务器关闭连接。',
  'The server closes its listening socket. The file /tmp/echo.sock stays: closing a socket does not remove its name.':
    '服务器关闭监听套接字。文件 /tmp/echo.sock 还在：关闭套接字不会删除它的名字。',
  'A new client creates a socket…':
    '一个新的客户端创建套接字……',
  '…and connect fails with ECONNREFUSED: the file is there, but nobody listens on it. (A path with no file at all gives ENOENT.)':
    '……connect 因 ECONNREFUSED 失败：文件在，但没有人在上面监听。（路径上根本没有文件时得到的是 ENOENT。）',
  'The client closes the failed socket.':
    '客户端关闭失败的套接字。',
  'The server restarts: a new socket…':
    '服务器重启：一个新套接字……',
  '…but bind fails with EADDRINUSE: the old file is in the way, though no socket uses it. SO_REUSEADDR does not help with paths.':
    '……但 bind 因 EADDRINUSE 失败：旧文件挡在那里，尽管没有套接字在用它。SO_REUSEADDR 对路径不起作用。',
  'That is why servers unlink first: unlink removes the file…':
    '这就是服务器要先 unlink 的原因：unlink 删除文件……',
  '…and bind creates it anew.':
    '……然后 bind 重新创建它。',
  'The server closes…':
    '服务器关闭……',
  '…and removes its file, so that the next run starts clean.':
    '……并删除它的文件，让下一次运行从干净的状态开始。',
  'socketpair: two connected descriptors':
    'socketpair：两个相连的描述符',
  'One call makes two Unix-domain sockets already connected to each other: no names, no listen, no accept.':
    '一次调用创建两个已经彼此相连的 Unix 域套接字：不用名字，不用 listen，也不用 accept。',
  'socketpair creates two sockets connected to each other and returns both descriptors: no path, no bind, listen, connect or accept.':
    'socketpair 创建两个彼此相连的套接字，并返回两个描述符：不用路径，不用 bind、listen、connect 或 accept。',
  'What one descriptor sends…':
    '一个描述符发送的……',
  '…the other one reads.':
    '……另一个读取。',
  'The pair goes both ways: the second descriptor answers…':
    '这一对是双向的：第二个描述符回复……',
  '…and the first one reads the answer.':
    '……第一个读取回复。',
  'One end closes…':
    '一端关闭……',
  '…and recv on the other returns 0: end of stream.':
    '……另一端的 recv 返回 0：流结束。',
  'The other end closes too. A program makes a pair before fork() and gives one end to the child: a private channel nobody else can connect to, since it has no name.':
    '另一端也关闭。程序会在 fork() 之前创建一对，把其中一端交给子进程：这是一条私有通道，没有名字，别人无法连进来。',
  'Message boundaries: stream and seqpacket':
    '消息边界：字节流与 seqpacket',
  'Two sends, then recv: a stream socket returns the bytes together, a seqpacket socket one message per recv.':
    '两次 send，然后 recv：字节流套接字把字节合在一起返回，seqpacket 套接字每次 recv 只返回一条消息。',
  'A stream pair: two connected descriptors of type SOCK_STREAM.':
    '一对字节流套接字：两个类型为 SOCK_STREAM 的相连描述符。',
  'A first send of 3 bytes…':
    '第一次 send，3 字节……',
  '…and a second one.':
    '……再 send 一次。',
  'One recv returns all 6 bytes, "onetwo": a stream carries bytes, not messages, and where one send ended is lost.':
    '一次 recv 就返回全部 6 字节 "onetwo"：字节流传送的是字节而不是消息，一次 send 在哪里结束的信息丢失了。',
  'A seqpacket pair: connected, reliable and in order like a stream, but each send stays one message.':
    '一对 seqpacket 套接字：像字节流一样面向连接、可靠、有序，但每次 send 都保持为一条消息。',
  'The same first send…':
    '同样的第一次 send……',
  '…and the same second one.':
    '……同样的第二次 send。',
  'recv returns "one" alone, though both messages are waiting and there was room for both.':
    'recv 只返回 "one"，尽管两条消息都在等待，缓冲区也放得下两条。',
  'The next recv returns "two": one message per recv, as with UDP datagrams, but over a connection.':
    '下一次 recv 返回 "two"：每次 recv 一条消息，就像 UDP 数据报，但是在连接之上。',
  'Close the stream pair’s first end…':
    '关闭字节流那一对的第一端……',
  '…and its second.':
    '……再关闭第二端。',
  'Close the seqpacket pair’s first end…':
    '关闭 seqpacket 那一对的第一端……',
  '…and its second. Over a stream, a program marks where each message ends itself, with a length or a delimiter.':
    '……再关闭第二端。在字节流上，程序得自己标出每条消息在哪里结束，用长度字段或分隔符。',
  'Ephemeral ports':
    '临时端口',
  'Two clients connect without bind: A’s kernel gives each its own port, from A’s ephemeral range.':
    '两个客户端不 bind 就 connect：A 的内核从 A 的临时端口范围里给每个客户端分配一个自己的端口。',
  'The server binds a port of its choosing, so that clients know where to connect.':
    '服务器绑定一个自己选定的端口，客户端才知道往哪里连。',
  'B listens.':
    'B 开始监听。',
  'A creates a first client socket and does not bind it.':
    'A 创建第一个客户端套接字，不 bind 它。',
  'connect on an unbound socket binds it first: to A’s address and a port A’s kernel picks from A’s ephemeral range.':
    '在未绑定的套接字上 connect 会先绑定它：绑定到 A 的地址和 A 的内核从临时端口范围里挑的端口。',
  'A creates a second client socket, unbound too.':
    'A 创建第二个客户端套接字，同样不绑定。',
  'It connects to the same server: A’s kernel picks another port.':
    '它连接同一个服务器：A 的内核挑了另一个端口。',
  'B accepts the first connection: its peer is A’s address and the first port.':
    'B 接受第一个连接：它的对端是 A 的地址和第一个端口。',
  'B accepts the second: same address, the other port.':
    'B 接受第二个连接：地址相同，端口不同。',
  'A closes its first client…':
    'A 关闭第一个客户端……',
  'B closes the first connection…':
    'B 关闭第一个连接……',
  '…the second…':
    '……第二个……',
  '…and the listener.':
    '……以及监听套接字。',
  'Ping with a raw ICMP socket':
    '用原始 ICMP 套接字 ping',
  'An echo request written by hand, the reply B’s kernel sends on its own, and a wrong checksum that gets no reply at all (netns mode).':
    '手写一个回显请求，看 B 的内核自行发出的回显应答，再看一个校验和错误、根本得不到应答的请求（netns 模式）。',
  'A opens a raw ICMP socket (netns mode only): A’s program writes each ICMP message itself, and A’s kernel adds only the IP header.':
    'A 打开一个原始 ICMP 套接字（仅限 netns 模式）：A 的程序自己写每条 ICMP 报文，A 的内核只加上 IP 首部。',
  'This scenario needs netns isolation. In loopback isolation the hosts share the server’s network, so the sandbox refuses raw sockets (EPERM) as the kernel refuses a program without CAP_NET_RAW; on a server in netns mode each host has a network of its own, and the rest of the steps run.':
    '这个场景需要 netns 隔离。在 loopback 隔离下各主机共用服务器的网络，所以沙箱会拒绝原始套接字（EPERM），就像内核拒绝没有 CAP_NET_RAW 的程序一样；在 netns 模式的服务器上，每台主机有自己的网络，后面的步骤才能运行。',
  'A sends B an echo request: type 8, code 0, id 7, seq 1, data "hi". With no checksum given, the server computes it, as ping does. An ICMP address has no port.':
    'A 向 B 发送一个回显请求：type 8、code 0、id 7、seq 1、数据 "hi"。没有给出校验和时，由服务器计算，就像 ping 那样。ICMP 地址没有端口。',
  'B’s kernel answered on its own, with no program on B taking part: an echo reply (type 0) with the same id, seq and data. A raw socket reads whole IP packets, so the data starts with the 20-byte IPv4 header.':
    'B 的内核自行作了应答，B 上没有任何程序参与：一个回显应答（type 0），id、seq 和数据都相同。原始套接字读到的是完整的 IP 包，所以数据以 20 字节的 IPv4 首部开头。',
  'A sends a second request, seq 2, with a wrong checksum, 1234. sendto succeeds: nothing on A checks what a raw socket sends.':
    'A 发送第二个请求，seq 2，校验和故意写错为 1234。sendto 成功了：A 这边没有任何东西检查原始套接字发出的内容。',
  'No reply comes, so recvfrom blocks: B’s kernel checks the checksum of every ICMP message and drops this one without a word (Linux counts it as InCsumErrors in /proc/net/snmp).':
    '没有应答，所以 recvfrom 阻塞：B 的内核会检查每条 ICMP 报文的校验和，并把这条悄悄丢弃（Linux 在 /proc/net/snmp 中把它计为 InCsumErrors）。',
  'Closing the socket ends the blocked recvfrom.':
    '关闭套接字，结束阻塞中的 recvfrom。',
};

/** The words of the explanations above, in each language. */
const EXPLAIN = {
  en: {
    theServer: 'the server',
    thePeer: 'the peer',
    theAddress: 'the address',
    syn: '{a}’s SYN (#{seq}) carried seq J = {j}, {a}’s initial sequence number, chosen at random.',
    synAck: '{b} answered SYN+ACK (#{seq}) with its own K = {k} and ack J+1 = {ack}: the SYN used up one number.',
    ack: '{a}’s ACK (#{seq}) carries ack K+1 = {ack}. Both sides now know where the other’s bytes start; in relative numbers J and K are both 0.',
    silent: 'No packet carries {what}’s call id: it sent nothing. The kernel had finished the handshake before the program asked.',
    caused: '{what} caused {n} packets: {list}.',
    causedOne: '{what} caused 1 packet: {list}.',
    relative: ' (relative {n})',
    data: 'The data segment (#{seq}) starts at seq {start}{rel}: J+1, the first number after the SYN. It carries {n} bytes, so ',
    dataAcked: '{host}’s kernel answered ack {next} (#{seq}): the next byte it expects.',
    dataWillAck: 'the answer will acknowledge {next}, the next byte expected.',
    finSent: '{a}’s kernel sent FIN (#{seq}, seq {s}).',
    finNotAcked: '{head} {b}’s kernel has not acknowledged it on its own yet: it may hold the ACK back a moment to send it along with something else.',
    finAcked: '{head} {b}’s kernel acknowledged it{how} (#{seq}, ack {ack}) — {b}’s program did nothing: {b} is in CLOSE_WAIT until it closes, {a} in FIN_WAIT2 waiting for {b}’s FIN.',
    alone: ' at once, on its own',
    withFin: ' together with its own FIN',
    passiveHead: '{host}’s FIN (#{seq}, seq {s}) went to {a}.',
    lastAckMissing: '{head} {a}’s last ACK has not been seen yet.',
    lastAck: '{head} {a}’s kernel sent the last ACK (#{seq}, ack {ack}) although {a}’s program closed its descriptor steps ago: the kernel finishes the close on its own, and {a}’s end now waits in TIME_WAIT.',
    timeWaitSeen: ' The kernel lists it (sock_diag) as TIME_WAIT with no descriptor{timer}.',
    timeWaitTimer: ', {s} s left on its timer when #{seq} was logged',
    timeWait: 'EADDRINUSE: {local} still belongs to the closed connection, which waits in TIME_WAIT (60 s on Linux, twice the longest a segment may live) so that a late duplicate of its segments cannot be taken for part of a new connection between the same addresses and ports.{seen} SO_REUSEADDR on both sockets would allow the bind.',
    hostRange: 'host {host}’s ephemeral range (its net.ipv4.ip_local_port_range)',
    defaultRange: 'Linux’s default ephemeral range (this session does not say the host’s own)',
    inside: 'inside {lo}–{hi}, {whose}',
    bothInside: 'both inside {lo}–{hi}, {whose}',
    notInside: 'not all inside {lo}–{hi}, {whose}: a port was chosen another way',
    chosePort: '{host}’s kernel chose port {port}, {where}.',
    chosePorts: '{host}’s kernel chose ports {ports}, {where}. ',
    and: ' and ',
    differ: 'They differ: both connections share the two addresses and the server’s port, so the client’s port is all that tells them apart.',
    same: 'The same port twice: the connections differ in their other ends.',
  },
  'zh-CN': {
    theServer: '服务器',
    thePeer: '对端',
    theAddress: '这个地址',
    syn: '{a} 的 SYN（#{seq}）携带 seq J = {j}，这是 {a} 随机选取的初始序号。',
    synAck: '{b} 回了 SYN+ACK（#{seq}），带着自己的 K = {k} 和 ack J+1 = {ack}：SYN 本身占用了一个序号。',
    ack: '{a} 的 ACK（#{seq}）携带 ack K+1 = {ack}。现在双方都知道对方的字节从哪个序号开始；用相对序号表示时，J 和 K 都是 0。',
    silent: '没有哪个数据包带着 {what} 调用的 ID：它什么也没发。程序调用之前，内核早已完成了握手。',
    caused: '{what} 引发了 {n} 个数据包：{list}。',
    causedOne: '{what} 引发了 1 个数据包：{list}。',
    relative: '（相对序号 {n}）',
    data: '数据段（#{seq}）从 seq {start}{rel} 开始：J+1，也就是 SYN 之后的第一个序号。它携带 {n} 字节，所以',
    dataAcked: '{host} 的内核回了 ack {next}（#{seq}）：它期待的下一个字节。',
    dataWillAck: '对方的回应将确认 {next}，即期待的下一个字节。',
    finSent: '{a} 的内核发出了 FIN（#{seq}，seq {s}）。',
    finNotAcked: '{head}{b} 的内核还没有单独确认它：它可能把 ACK 稍微压一下，和别的东西一起发（延迟确认）。',
    finAcked: '{head}{b} 的内核{how}确认了它（#{seq}，ack {ack}）——{b} 的程序什么都没做：{b} 在关闭之前处于 CLOSE_WAIT，{a} 处于 FIN_WAIT2，等待 {b} 的 FIN。',
    alone: '立即单独',
    withFin: '连同自己的 FIN 一起',
    passiveHead: '{host} 的 FIN（#{seq}，seq {s}）发给了 {a}。',
    lastAckMissing: '{head}还没看到 {a} 的最后一个 ACK。',
    lastAck: '{head}{a} 的内核发出了最后的 ACK（#{seq}，ack {ack}），尽管 {a} 的程序几步之前就关闭了描述符：内核自己完成关闭过程，{a} 这一端现在在 TIME_WAIT 中等待。',
    timeWaitSeen: '内核（sock_diag）把它列为没有描述符的 TIME_WAIT 套接字{timer}。',
    timeWaitTimer: '，记录 #{seq} 时计时器还剩 {s} 秒',
    timeWait: 'EADDRINUSE：{local} 仍属于那个已关闭的连接，它在 TIME_WAIT 中等待（Linux 上是 60 秒，即报文段最长生存时间的两倍），以免它迟到的重复报文段被误当作同一对地址和端口之间新连接的一部分。{seen}在两个套接字上都设置 SO_REUSEADDR 就能允许这次 bind。',
    hostRange: '主机 {host} 的临时端口范围（它的 net.ipv4.ip_local_port_range）',
    defaultRange: 'Linux 默认的临时端口范围（这个会话没有记下主机自己的设置）',
    inside: '在 {lo}–{hi} 之内，即{whose}',
    bothInside: '都在 {lo}–{hi} 之内，即{whose}',
    notInside: '并不都在 {lo}–{hi}（{whose}）之内：有个端口是以别的方式选的',
    chosePort: '{host} 的内核选了端口 {port}，{where}。',
    chosePorts: '{host} 的内核选了端口 {ports}，{where}。',
    and: ' 和 ',
    differ: '两个端口不同：两条连接的两个地址和服务器端口都相同，只有客户端端口能把它们区分开。',
    same: '两次是同一个端口：这两条连接的另一端不同。',
  },
};

/** Every text of the lessons: their English is their key. */
function lessonTexts() {
  const out = {};
  for (const lesson of LESSONS) {
    for (const text of [lesson.title, lesson.summary, ...lesson.steps.flatMap((s) => [s.text, s.loopbackEnd])]) {
      if (text) out[text] = text;
    }
  }
  return out;
}

/** Every text this module writes, in each language. */
export const TEXTS = {
  en: { ...EXPLAIN.en, ...lessonTexts() },
  'zh-CN': { ...EXPLAIN['zh-CN'], ...LESSONS_ZH },
};
const T = localize(TEXTS);

// A lesson's words are read in the page's language: each text property becomes a getter.
for (const lesson of LESSONS) {
  for (const item of [lesson, ...lesson.steps]) {
    for (const prop of ['title', 'summary', 'text', 'loopbackEnd']) {
      const english = item[prop];
      if (typeof english === 'string') Object.defineProperty(item, prop, { get: () => T[english], enumerable: true });
    }
  }
}

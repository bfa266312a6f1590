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
  const b = syn.packet.to || 'the server';
  const j = tcpOf(syn).seq;
  const parts = [`${a}’s SYN (#${syn.seq}) carried seq J = ${j}, ${a}’s initial sequence number, chosen at random.`];
  if (synAck) {
    const k = tcpOf(synAck).seq;
    parts.push(`${b} answered SYN+ACK (#${synAck.seq}) with its own K = ${k} and ack J+1 = ${tcpOf(synAck).ack}: the SYN used up one number.`);
    if (ack) parts.push(`${a}’s ACK (#${ack.seq}) carries ack K+1 = ${tcpOf(ack).ack}. Both sides now know where the other’s bytes start; in relative numbers J and K are both 0.`);
  }
  return parts.join(' ');
}

/** What a call's packets were, when the lesson says a call sends nothing. */
export function explainSilence(packets, what) {
  const own = packets.filter((ev) => !ev.packet.control);
  if (own.length === 0) return `No packet carries ${what}’s call id: it sent nothing. The kernel had finished the handshake before the program asked.`;
  return `${what} caused ${own.length} packet${own.length === 1 ? '' : 's'}: ${own.map((ev) => `#${ev.seq} ${ev.packet.summary}`).join('; ')}.`;
}

/** The first data segment and its acknowledgement. */
export function explainData(packets) {
  const data = packets.find((ev) => ev.packet.tcp && ev.packet.payload_len > 0);
  if (!data) return null;
  const t = tcpOf(data);
  const next = plus(t.seq, data.packet.payload_len);
  const ack = packets.find((ev) => ev.seq > data.seq && ev.packet.tcp && ev.packet.from !== data.packet.from && tcpOf(ev).ack === next);
  const rel = t.rel_seq !== undefined ? ` (relative ${t.rel_seq})` : '';
  return `The data segment (#${data.seq}) starts at seq ${t.seq}${rel}: J+1, the first number after the SYN. It carries ${data.packet.payload_len} bytes, so `
    + (ack ? `${ack.packet.from}’s kernel answered ack ${next} (#${ack.seq}): the next byte it expects.` : `the answer will acknowledge ${next}, the next byte expected.`);
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
  const b = fin.packet.to || 'the peer';
  const ack = ackOfFin(model, fin);
  const head = `${a}’s kernel sent FIN (#${fin.seq}, seq ${fin.packet.tcp.seq}).`;
  if (!ack) return `${head} ${b}’s kernel has not acknowledged it on its own yet: it may hold the ACK back a moment to send it along with something else.`;
  const alone = !hasFlag(ack.packet, 'FIN');
  return `${head} ${b}’s kernel acknowledged it${alone ? ' at once, on its own' : ' together with its own FIN'} (#${ack.seq}, ack ${ack.packet.tcp.ack}) — ${b}’s program did nothing: ${b} is in CLOSE_WAIT until it closes, ${a} in FIN_WAIT2 waiting for ${b}’s FIN.`;
}

/** The passive close: B's FIN and the last ACK, sent by a kernel whose program is gone. */
export function explainPassiveClose(model, packets, host) {
  const fin = finOf(packets, host);
  if (!fin) return null;
  const a = fin.packet.to || 'the peer';
  const ack = ackOfFin(model, fin);
  const head = `${host}’s FIN (#${fin.seq}, seq ${fin.packet.tcp.seq}) went to ${a}.`;
  if (!ack) return `${head} ${a}’s last ACK has not been seen yet.`;
  return `${head} ${a}’s kernel sent the last ACK (#${ack.seq}, ack ${ack.packet.tcp.ack}) although ${a}’s program closed its descriptor steps ago: the kernel finishes the close on its own, and ${a}’s end now waits in TIME_WAIT.`;
}

/** TIME_WAIT, from what sock_diag reported for `local` on `host` (when it did). */
export function explainTimeWait(model, host, local) {
  const ks = [...model.kernelSockets.values()].find((k) => k.host === host && k.tuple && k.tuple.local === local);
  const seen = ks && ks.state === 'TIME_WAIT'
    ? ` The kernel lists it (sock_diag) as TIME_WAIT with no descriptor${ks.timerMs !== null ? `, ${Math.round(ks.timerMs / 1000)} s left on its timer when #${ks.seq} was logged` : ''}.`
    : '';
  return `EADDRINUSE: ${local || 'the address'} still belongs to the closed connection, which waits in TIME_WAIT (60 s on Linux, twice the longest a segment may live) so that a late duplicate of its segments cannot be taken for part of a new connection between the same addresses and ports.${seen} SO_REUSEADDR on both sockets would allow the bind.`;
}

/** The ports `host`'s kernel chose for `locals` (ip:port addresses), read against the
 * host's ephemeral range in `model`. */
export function explainEphemeral(model, host, locals) {
  const ports = locals.map(portOf).filter((p) => p !== null);
  if (ports.length === 0) return null;
  const info = model.hosts.find((x) => x.name === host) || { name: host };
  const r = ephemeralRange(info);
  const whose = r.known ? `host ${host}’s ephemeral range (its net.ipv4.ip_local_port_range)` : 'Linux’s default ephemeral range (this session does not say the host’s own)';
  const inside = ports.filter((p) => p >= r.lo && p <= r.hi);
  const where = inside.length === ports.length
    ? `${ports.length === 1 ? 'inside' : 'both inside'} ${r.lo}–${r.hi}, ${whose}`
    : `not all inside ${r.lo}–${r.hi}, ${whose}: a port was chosen another way`;
  if (ports.length === 1) return `${host}’s kernel chose port ${ports[0]}, ${where}.`;
  const differ = new Set(ports).size === ports.length;
  return `${host}’s kernel chose ports ${ports.join(' and ')}, ${where}. `
    + (differ
      ? 'They differ: both connections share the two addresses and the server’s port, so the client’s port is all that tells them apart.'
      : 'The same port twice: the connections differ in their other ends.');
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

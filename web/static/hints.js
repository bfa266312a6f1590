// Teaching hints drawn from a socket's state: what a program would usually call next and why
// (the console's suggestion), and why a connection's wire ends at a host rather than at a
// socket there (the topology's half-wire label). Pure functions over the model; no DOM.

import { hostOfAddr, sameEndpoint } from './address.js';

/** What a program would usually call next on this socket: [call names], and why. */
export function expectNext(socket) {
  if (!socket) return { calls: ['socket'], why: 'no socket yet: create one' };
  if (socket.closed) return { calls: ['socket'], why: 'this descriptor is closed' };
  if (socket.proto === 'icmp' || socket.proto === 'icmpv6') {
    if (socket.waiting > 0) return { calls: ['recvfrom'], why: `an ICMP message of ${socket.waiting} bytes is waiting` };
    return { calls: ['sendto', 'recvfrom', 'close'], why: 'ICMP has no ports: sendto an address (an echo request), then recvfrom the reply' };
  }
  if (socket.proto === 'unix') return expectNextUnix(socket);
  if (socket.proto === 'udp') {
    if (!socket.local) return { calls: ['bind', 'sendto'], why: 'bind to receive on a known port, or sendto (binds a port for you)' };
    if (socket.waiting > 0) return { calls: ['recvfrom'], why: `a datagram of ${socket.waiting} bytes is waiting` };
    return { calls: ['recvfrom', 'sendto', 'close'], why: 'bound: receive or send datagrams' };
  }
  if (socket.reset) return { calls: ['close'], why: 'the connection was reset: the next call reports ECONNRESET, then close' };
  if (socket.role === 'listener' || socket.tcp === 'LISTEN') {
    const waiting = socket.queue || 0;
    return {
      calls: ['accept'],
      why: waiting > 0 ? `${waiting} connection${waiting === 1 ? '' : 's'} waiting in the accept queue` : 'listening: accept blocks until a client connects',
    };
  }
  if (socket.remote && socket.tcp !== 'CLOSE') {
    if (socket.waiting > 0) return { calls: ['recv'], why: `${socket.waiting} bytes are waiting to be read` };
    if (socket.eof) return { calls: ['recv', 'close'], why: 'the peer sent FIN: recv returns 0, then close' };
    if (socket.shut === 'write' || socket.shut === 'both') return { calls: ['recv', 'close'], why: 'you shut down writing: read what the peer still sends, then close' };
    return { calls: ['send', 'recv', 'shutdown', 'close'], why: 'connected: exchange data, then shut down or close' };
  }
  if (socket.tcp === 'CLOSE' && socket.local) return { calls: ['close'], why: 'the connection attempt failed: close this socket and make a new one' };
  if (socket.local) return { calls: ['listen', 'connect'], why: 'bound: listen (server) or connect (client)' };
  return { calls: ['bind', 'connect'], why: 'new socket: bind (server) or connect (client)' };
}

/** expectNext for a Unix-domain socket: named by a path or an @name, on this host only. */
function expectNextUnix(socket) {
  const paired = socket.pair !== null && socket.pair !== undefined;
  if (socket.type === 'dgram' && !paired) {
    if (socket.waiting > 0) return { calls: ['recvfrom'], why: `a datagram of ${socket.waiting} bytes is waiting` };
    if (!socket.local) return { calls: ['bind', 'sendto'], why: 'bind a path or an @name to receive; sendto a bound name on this host' };
    return { calls: ['recvfrom', 'sendto', 'close'], why: 'bound: receive or send datagrams on this host' };
  }
  if (socket.role === 'listener') {
    const waiting = socket.queue || 0;
    return { calls: ['accept'], why: waiting > 0 ? `${waiting} connection${waiting === 1 ? '' : 's'} waiting in the accept queue` : 'listening: accept blocks until a client on this host connects' };
  }
  if (paired || socket.remote || socket.role === 'accepted') {
    if (socket.waiting > 0) return { calls: ['recv'], why: `${socket.waiting} bytes are waiting to be read` };
    if (socket.eof) return { calls: ['recv', 'close'], why: 'the peer closed: recv returns 0, then close' };
    return { calls: ['send', 'recv', 'shutdown', 'close'], why: 'connected inside the host: exchange data, then shut down or close' };
  }
  if (socket.local) return { calls: ['listen', 'connect'], why: 'bound: listen (server) or connect (client)' };
  return { calls: ['bind', 'connect'], why: 'new Unix socket: bind a path or an @name (server), or connect to one (client)' };
}

/** Why a connected socket's wire ends at a host rather than at a socket there:
 * - 'accept-queue': the connection waits in a listener's accept queue. In netns mode the
 *   server reports the kernel's socket for it (`kernel_socket`); in loopback mode it reports
 *   none, and a listener of the session at that address with connections queued says it.
 * - 'nothing-bound': a datagram socket whose destination has no socket of the session.
 * - 'peer-gone': the other end was closed, or is not a socket of this session.
 * - 'host-kernel': an ICMP socket's messages go to a host, whose kernel answers them. */
export function halfWireReason(model, socket) {
  if (socket.proto === 'icmp' || socket.proto === 'icmpv6') return 'host-kernel';
  if (socket.proto !== 'tcp') return 'nothing-bound';
  if (socket.eof || socket.reset) return 'peer-gone';
  for (const k of model.kernelSockets.values()) {
    if (!k.tuple || !sameEndpoint(k.tuple.local, socket.remote) || !sameEndpoint(k.tuple.remote, socket.local)) continue;
    return k.state === 'ESTABLISHED' || k.state === 'SYN_RECV' ? 'accept-queue' : 'peer-gone';
  }
  const host = hostOfAddr(model, socket.remote);
  for (const other of model.sockets.values()) {
    if (other.closed || other.proto !== 'tcp' || other.role !== 'listener' || other.host !== host) continue;
    if (sameEndpoint(other.local, socket.remote) && other.queue > 0) return 'accept-queue';
  }
  return 'peer-gone';
}

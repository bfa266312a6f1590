// Teaching hints drawn from a socket's state: what a program would usually call next and why
// (the console's suggestion), and why a connection's wire ends at a host rather than at a
// socket there (the topology's half-wire label). Pure functions over the model; no DOM.

import { hostOfAddr, sameEndpoint } from './address.js';
import { fill as fmt, localize } from './i18n.js';

/** Every text this module writes, in each language. */
export const TEXTS = {
  en: {
    noSocket: 'no socket yet: create one',
    closed: 'this descriptor is closed',
    icmpWaiting: 'an ICMP message of {n} bytes is waiting',
    icmp: 'ICMP has no ports: sendto an address (an echo request), then recvfrom the reply',
    udpUnbound: 'bind to receive on a known port, or sendto (binds a port for you)',
    datagramWaiting: 'a datagram of {n} bytes is waiting',
    udpBound: 'bound: receive or send datagrams',
    reset: 'the connection was reset: the next call reports ECONNRESET, then close',
    queued: '{n} connections waiting in the accept queue',
    queuedOne: '1 connection waiting in the accept queue',
    listening: 'listening: accept blocks until a client connects',
    bytesWaiting: '{n} bytes are waiting to be read',
    peerFin: 'the peer sent FIN: recv returns 0, then close',
    shutWrite: 'you shut down writing: read what the peer still sends, then close',
    connected: 'connected: exchange data, then shut down or close',
    failed: 'the connection attempt failed: close this socket and make a new one',
    bound: 'bound: listen (server) or connect (client)',
    fresh: 'new socket: bind (server) or connect (client)',
    unixUnbound: 'bind a path or an @name to receive; sendto a bound name on this host',
    unixBound: 'bound: receive or send datagrams on this host',
    unixListening: 'listening: accept blocks until a client on this host connects',
    unixPeerClosed: 'the peer closed: recv returns 0, then close',
    unixConnected: 'connected inside the host: exchange data, then shut down or close',
    unixFresh: 'new Unix socket: bind a path or an @name (server), or connect to one (client)',
  },
  'zh-CN': {
    noSocket: '还没有套接字：先创建一个',
    closed: '这个描述符已关闭',
    icmpWaiting: '有一条 {n} 字节的 ICMP 报文在等待读取',
    icmp: 'ICMP 没有端口：用 sendto 向一个地址发回显请求，再用 recvfrom 读回应',
    udpUnbound: '要在已知端口上接收就先 bind；或者直接 sendto（内核会替你绑定一个端口）',
    datagramWaiting: '有一个 {n} 字节的数据报在等待读取',
    udpBound: '已绑定：可以接收或发送数据报',
    reset: '连接已被复位：下一个调用会报 ECONNRESET，然后 close',
    queued: '监听队列里有 {n} 个连接等待 accept',
    queuedOne: '监听队列里有 1 个连接等待 accept',
    listening: '正在监听：accept 会阻塞，直到有客户端连上来',
    bytesWaiting: '有 {n} 字节的数据等待读取',
    peerFin: '对端发来了 FIN：recv 会返回 0，然后 close',
    shutWrite: '你已关闭写方向（半关闭）：读完对端还在发的数据，再 close',
    connected: '已连接：收发数据，然后 shutdown 或 close',
    failed: '连接失败：关闭这个套接字，重新创建一个',
    bound: '已绑定：listen（服务器）或 connect（客户端）',
    fresh: '新套接字：bind（服务器）或 connect（客户端）',
    unixUnbound: '要接收就 bind 一个路径或 @名字；sendto 本机上一个已绑定的名字',
    unixBound: '已绑定：在本机内接收或发送数据报',
    unixListening: '正在监听：accept 会阻塞，直到本机上有客户端连上来',
    unixPeerClosed: '对端已关闭：recv 会返回 0，然后 close',
    unixConnected: '已在主机内连接：收发数据，然后 shutdown 或 close',
    unixFresh: '新的 Unix 套接字：bind 一个路径或 @名字（服务器），或 connect 到一个（客户端）',
  },
};
const T = localize(TEXTS);

/** What a program would usually call next on this socket: [call names], and why. */
export function expectNext(socket) {
  if (!socket) return { calls: ['socket'], why: T.noSocket };
  if (socket.closed) return { calls: ['socket'], why: T.closed };
  if (socket.proto === 'icmp' || socket.proto === 'icmpv6') {
    if (socket.waiting > 0) return { calls: ['recvfrom'], why: fmt(T.icmpWaiting, { n: socket.waiting }) };
    return { calls: ['sendto', 'recvfrom', 'close'], why: T.icmp };
  }
  if (socket.proto === 'unix') return expectNextUnix(socket);
  if (socket.proto === 'udp') {
    if (!socket.local) return { calls: ['bind', 'sendto'], why: T.udpUnbound };
    if (socket.waiting > 0) return { calls: ['recvfrom'], why: fmt(T.datagramWaiting, { n: socket.waiting }) };
    return { calls: ['recvfrom', 'sendto', 'close'], why: T.udpBound };
  }
  if (socket.reset) return { calls: ['close'], why: T.reset };
  if (socket.role === 'listener' || socket.tcp === 'LISTEN') {
    const waiting = socket.queue || 0;
    return {
      calls: ['accept'],
      why: waiting > 0 ? (waiting === 1 ? T.queuedOne : fmt(T.queued, { n: waiting })) : T.listening,
    };
  }
  if (socket.remote && socket.tcp !== 'CLOSE') {
    if (socket.waiting > 0) return { calls: ['recv'], why: fmt(T.bytesWaiting, { n: socket.waiting }) };
    if (socket.eof) return { calls: ['recv', 'close'], why: T.peerFin };
    if (socket.shut === 'write' || socket.shut === 'both') return { calls: ['recv', 'close'], why: T.shutWrite };
    return { calls: ['send', 'recv', 'shutdown', 'close'], why: T.connected };
  }
  if (socket.tcp === 'CLOSE' && socket.local) return { calls: ['close'], why: T.failed };
  if (socket.local) return { calls: ['listen', 'connect'], why: T.bound };
  return { calls: ['bind', 'connect'], why: T.fresh };
}

/** expectNext for a Unix-domain socket: named by a path or an @name, on this host only. */
function expectNextUnix(socket) {
  const paired = socket.pair !== null && socket.pair !== undefined;
  if (socket.type === 'dgram' && !paired) {
    if (socket.waiting > 0) return { calls: ['recvfrom'], why: fmt(T.datagramWaiting, { n: socket.waiting }) };
    if (!socket.local) return { calls: ['bind', 'sendto'], why: T.unixUnbound };
    return { calls: ['recvfrom', 'sendto', 'close'], why: T.unixBound };
  }
  if (socket.role === 'listener') {
    const waiting = socket.queue || 0;
    return { calls: ['accept'], why: waiting > 0 ? (waiting === 1 ? T.queuedOne : fmt(T.queued, { n: waiting })) : T.unixListening };
  }
  if (paired || socket.remote || socket.role === 'accepted') {
    if (socket.waiting > 0) return { calls: ['recv'], why: fmt(T.bytesWaiting, { n: socket.waiting }) };
    if (socket.eof) return { calls: ['recv', 'close'], why: T.unixPeerClosed };
    return { calls: ['send', 'recv', 'shutdown', 'close'], why: T.unixConnected };
  }
  if (socket.local) return { calls: ['listen', 'connect'], why: T.bound };
  return { calls: ['bind', 'connect'], why: T.unixFresh };
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

// The guided scenarios: socket lessons as steps, each one real call through the API and one
// sentence of what it does and why. Steps name descriptors by role (c.fd.server) and take
// addresses from the session (c.addr('B')), so they never assume numbers.
//
// A step: {host, text, call(c) → call body without host, save?: name for the returned fd,
// savePeer?: name for the returned peer, expect?: 'ok' (default) or the errno it teaches}.

/** Server, client and a connection between them: steps shared by several lessons. */
function connected(port = 'port') {
  return [
    { host: 'B', save: 'server', text: 'B creates the server’s socket: a descriptor with no address yet.', call: () => ({ call: 'socket', domain: 'inet', type: 'stream' }) },
    { host: 'B', text: 'B binds it to a known address and port, so clients know where to connect.', call: (c) => ({ call: 'bind', fd: c.fd.server, addr: c.addr('B', c[port]) }) },
    { host: 'B', text: 'listen turns it into a listening socket: the kernel now completes handshakes and queues connections.', call: (c) => ({ call: 'listen', fd: c.fd.server, backlog: 4 }) },
    { host: 'A', save: 'client', text: 'A creates the client’s socket.', call: () => ({ call: 'socket', domain: 'inet', type: 'stream' }) },
    { host: 'A', text: 'connect runs the three-way handshake; A gets an ephemeral port and the connection waits in B’s accept queue.', call: (c) => ({ call: 'connect', fd: c.fd.client, addr: c.addr('B', c[port]) }) },
    { host: 'B', save: 'conn', text: 'accept takes the connection off the queue as a new descriptor; the listener keeps listening.', call: (c) => ({ call: 'accept', fd: c.fd.server }) },
  ];
}

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
];

// Events in words: how the ladder and the log write a call, its result and what the kernel
// did. Plain text only; the views decide how it looks.

/** Whether an event records a call a user made (as opposed to the kernel or the session). */
export function isCall(ev) {
  return !['session_started', 'host_added', 'session_ended', 'incoming', 'data', 'eof', 'reset', 'tcp_state', 'isolation'].includes(ev.kind);
}

/** The payload preview as shown: "hello", or 0x-hex, with … when cut. */
export function preview(ev) {
  if (!ev.data) return '';
  const body = ev.data.text !== undefined ? JSON.stringify(ev.data.text) : `0x${ev.data.hex}`;
  return ev.data.truncated ? `${body}…` : body;
}

function optValue(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return `{onoff: ${v.onoff}, seconds: ${v.seconds}}`;
  return String(v);
}

/** The call as a program would write it: connect(3, 10.0.0.2:8080). */
export function callText(ev) {
  const fd = ev.fd ?? '?';
  const proto = ev.tuple ? ev.tuple.proto : null;
  switch (ev.kind) {
    case 'socket': {
      const domain = ev.tuple && ev.tuple.family === 'inet6' ? 'AF_INET6' : 'AF_INET';
      const type = proto === 'udp' ? 'SOCK_DGRAM' : 'SOCK_STREAM';
      return `socket(${domain}, ${type})`;
    }
    case 'bind':
    case 'connect':
      return `${ev.kind}(${fd}, ${ev.requested_addr || ev.addr || '?'})`;
    case 'listen':
      return `listen(${fd}, ${ev.backlog ?? ''})`;
    case 'accept':
      return `accept(${fd})`;
    case 'send':
      return `send(${fd}, ${preview(ev)})`;
    case 'sendto':
      return `sendto(${fd}, ${preview(ev)}, ${ev.addr || '?'})`;
    case 'recv':
    case 'recvfrom':
      return `${ev.kind}(${fd}, ${ev.max ?? ''}${ev.peek ? ', MSG_PEEK' : ''})`;
    case 'shutdown':
      return `shutdown(${fd}, ${{ read: 'SHUT_RD', write: 'SHUT_WR', both: 'SHUT_RDWR' }[ev.how] || ev.how})`;
    case 'close':
      return `close(${fd})`;
    case 'setsockopt':
      return `setsockopt(${fd}, ${ev.option}, ${optValue(ev.value)})`;
    case 'getsockopt':
      return `getsockopt(${fd}, ${ev.option})`;
    case 'getsockname':
    case 'getpeername':
      return `${ev.kind}(${fd})`;
    case 'nonblocking':
      return `fcntl(${fd}, O_NONBLOCK ${ev.nonblocking ? 'on' : 'off'})`;
    default:
      return ev.kind;
  }
}

/** What the call returned, for ok calls: "→ fd 4 from 10.0.0.1:49152", "→ 5 bytes". */
export function resultText(ev) {
  if (ev.status === 'pending') return 'blocked…';
  if (ev.status === 'error') return ev.errno ? `${ev.errno.name} (${ev.errno.code})` : 'error';
  switch (ev.kind) {
    case 'socket':
      return `→ fd ${ev.new_fd ?? ev.fd}`;
    case 'accept':
      return `→ fd ${ev.new_fd}${ev.peer ? ` from ${ev.peer}` : ''}`;
    case 'send':
    case 'sendto':
      return `→ ${ev.bytes ?? 0} bytes`;
    case 'recv':
      return ev.bytes === 0 ? '→ 0 (end of stream)' : `→ ${ev.bytes} bytes ${preview(ev)}`;
    case 'recvfrom':
      return `→ ${ev.bytes ?? 0} bytes ${preview(ev)}${ev.peer ? ` from ${ev.peer}` : ''}`;
    case 'getsockopt':
      return `→ ${optValue(ev.value)}`;
    case 'getsockname':
      return `→ ${ev.addr || (ev.tuple && ev.tuple.local) || '?'}`;
    case 'getpeername':
      return `→ ${ev.peer || (ev.tuple && ev.tuple.remote) || '?'}`;
    case 'bind':
      return ev.requested_addr && ev.addr && ev.requested_addr !== ev.addr ? `→ 0 (as ${ev.addr})` : '→ 0';
    default:
      return '→ 0';
  }
}

/** A kernel or session event in words. */
export function kernelText(ev) {
  switch (ev.kind) {
    case 'session_started':
      return `session started: hosts ${(ev.hosts || []).map((h) => h.name).join(', ')}${ev.note ? ` (${ev.note})` : ''}`;
    case 'host_added':
      return `host ${(ev.hosts || []).map((h) => `${h.name} ${h.addrs.join(', ')}`).join('; ')} joined`;
    case 'session_ended':
      return `session ended: ${ev.reason || ''}`;
    case 'incoming':
      return `connection queued for accept (${ev.queue ?? '?'} of ${ev.backlog ?? '?'})`;
    case 'data':
      return `${ev.bytes ?? '?'} bytes waiting ${preview(ev)}`;
    case 'eof':
      return 'FIN received: end of stream after the waiting bytes';
    case 'reset':
      return 'RST: connection reset';
    case 'tcp_state':
      return `${ev.from || '?'} → ${ev.to || '?'}`;
    case 'isolation':
      return `sandbox refused ${ev.peer || 'an outsider'}`;
    default:
      return ev.kind;
  }
}

/** One line for the event log. */
export function summary(ev) {
  if (!isCall(ev)) return kernelText(ev);
  return `${callText(ev)} ${resultText(ev)}`;
}

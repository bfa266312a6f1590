// Attribution: which host a kernel event belongs to, and which host's action caused it.
//
// The server names the host of every kernel event (`event.host`); logs stored before it did
// may lack it on some, and `eventHost` then infers it from the event itself (a packet's
// sender, the owner of the local address). The cause is the page's own reading: a FIN or RST
// comes from the host at the remote end, a datagram from the host that last sent to that
// address, a listener's `incoming` from the host whose connect names it (often logged just
// after). What the model learns is kept in its maps (`peerOf`, `lastSendTo`, `connectTarget`,
// `unattributed`, `unclaimed`); pure functions over plain objects, no DOM.

import { WILDCARD, hostOfAddr, isUnixAddr, parseAddr, sameEndpoint } from './address.js';

/** Incoming connections kept while their connect is not logged yet. */
const UNCLAIMED_KEPT = 8;

function key(host, fd) {
  return `${host}:${fd}`;
}

/** The host an event belongs to: the server's word when it gives it, else (an old stored log)
 * the packet's sender or the owner of the event's local address; null for session events. */
export function eventHost(model, ev) {
  if (ev.host !== undefined && ev.host !== null) return ev.host;
  if (ev.packet && ev.packet.from) return ev.packet.from;
  if (ev.tuple && ev.tuple.local) return hostOfAddr(model, ev.tuple.local);
  return null;
}

/** The host whose action caused kernel event `seq`, when the page knows it. */
export function causeOf(model, seq) {
  return model.peerOf.get(seq);
}

/** Remember that `host` sent a datagram to `addr`. */
export function rememberSend(model, addr, host) {
  const parsed = parseAddr(addr);
  if (parsed) model.lastSendTo.set(`${parsed.ip}:${parsed.port}`, host);
}

/** The host that last sent a datagram to `addr` (a wildcard address matches any on its port). */
function lastSenderTo(model, addr) {
  const parsed = parseAddr(addr);
  if (!parsed) return null;
  const exact = model.lastSendTo.get(`${parsed.ip}:${parsed.port}`);
  if (exact) return exact;
  if (WILDCARD.has(parsed.ip)) {
    for (const [k, host] of model.lastSendTo) if (k.endsWith(`:${parsed.port}`)) return host;
  }
  return null;
}

/** A FIN or RST on `host`: caused by the host at the remote end, or for a refused connect
 * (no remote yet) by the one the connect call names, which is logged right after. */
export function attributeEnd(model, ev, host) {
  if (ev.tuple && ev.tuple.remote) {
    const from = hostOfAddr(model, ev.tuple.remote);
    if (from) model.peerOf.set(ev.seq, from);
    return;
  }
  const k = key(host, ev.fd);
  model.unattributed.set(k, [...(model.unattributed.get(k) || []), ev.seq]);
}

/** A connect call names its target: the RST of a refusal and the listener's `incoming`
 * logged before it were caused by it. */
export function attributeConnect(model, ev) {
  if (!ev.addr) return;
  const target = hostOfAddr(model, ev.addr);
  model.connectTarget.set(ev.host, target);
  // A refused connect logs the RST before the call's own event: attribute it now.
  const waiting = model.unattributed.get(key(ev.host, ev.fd)) || [];
  if (target && target !== ev.host) for (const seq of waiting) model.peerOf.set(seq, target);
  model.unattributed.delete(key(ev.host, ev.fd));
  // Likewise the listener's "incoming" is often logged just before the connect.
  // A Unix name is a listener's only on its own host.
  const claimed = model.unclaimed.filter((u) => sameEndpoint(u.local, ev.addr) && (!isUnixAddr(ev.addr) || u.host === ev.host));
  for (const u of claimed) model.peerOf.set(u.seq, ev.host);
  model.unclaimed = model.unclaimed.filter((u) => !claimed.includes(u));
}

/** A listener's `incoming`: caused by the connect still blocked on its address, else by the
 * connect logged next. */
export function attributeIncoming(model, ev) {
  if (!ev.tuple || !ev.tuple.local) return;
  const host = eventHost(model, ev);
  const unix = isUnixAddr(ev.tuple.local);
  const blocked = [...model.pending.values()].find((p) => p.kind === 'connect' && p.addr && sameEndpoint(p.addr, ev.tuple.local) && (!unix || p.host === host));
  if (blocked) model.peerOf.set(ev.seq, blocked.host);
  else model.unclaimed = [...model.unclaimed.slice(-(UNCLAIMED_KEPT - 1)), { seq: ev.seq, local: ev.tuple.local, host }];
}

/** Data arrived on `socket`: a datagram from the host that last sent to its address, a stream's
 * bytes from the host at the remote end. */
export function attributeData(model, ev, socket) {
  if (socket && socket.proto === 'udp') {
    const from = ev.tuple && ev.tuple.local ? lastSenderTo(model, ev.tuple.local) : null;
    if (from) model.peerOf.set(ev.seq, from);
  } else if (ev.tuple && ev.tuple.remote) {
    const from = hostOfAddr(model, ev.tuple.remote);
    if (from) model.peerOf.set(ev.seq, from);
  }
}

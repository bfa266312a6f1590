// Ports explained: which range a port is in and what that range means (IANA's well-known,
// registered and dynamic ranges), whether the kernel chose it (an ephemeral port, from the
// host's own `net.ipv4.ip_local_port_range`), and why a well-known port may be refused.
// Every view that shows a port asks here for its words. Pure: numbers and plain objects in,
// text out; no DOM.

import { hostOfAddr, isUnixAddr, parseAddr } from './address.js';
import { fill as fmt, localize } from './i18n.js';

/** Every text this module writes, in each language. */
export const TEXTS = {
  en: {
    wellKnownMeaning: 'reserved for standard services (80 HTTP, 443 HTTPS, 22 SSH); binding one needs privilege (CAP_NET_BIND_SERVICE, or root)',
    registeredMeaning: 'assigned to applications on request (8080 HTTP alternate, 5432 PostgreSQL); any program may bind one',
    dynamicMeaning: 'IANA’s dynamic/private range, never assigned: meant for short-lived, automatically chosen ports',
    'well-known': 'well-known',
    registered: 'registered',
    dynamic: 'dynamic',
    ephemeral: 'ephemeral',
    any: 'any',
    lesson: 'Linux picks ephemeral ports from {lo}–{hi} by default, not from IANA’s dynamic range 49152–65535: an ephemeral port may well be a “registered” one.',
    'bind-0': 'bind to port 0 asks the kernel for any free port',
    connect: 'connect on an unbound socket binds it first, to a port the kernel picks',
    sendto: 'sendto on an unbound socket binds it first, to a port the kernel picks',
    send: 'send on an unbound socket binds it first, to a port the kernel picks',
    listen: 'listen on an unbound socket binds it first, to a port the kernel picks',
    implicit: 'the socket was not bound, so the kernel bound it to a port of its choosing',
    hostRange: '{lo}–{hi} (host {host}’s net.ipv4.ip_local_port_range)',
    someRange: '{lo}–{hi} (the host’s net.ipv4.ip_local_port_range)',
    defaultRange: '{lo}–{hi} (Linux’s default net.ipv4.ip_local_port_range; this recording does not say the host’s own)',
    port: 'port',
    remotePort: 'remote port',
    requestedPort: 'requested port',
    zero: '{whose} 0: not a port but a request — the kernel picks a free ephemeral port.',
    inRange: '{whose} {port}: {range} ({lo}–{hi}), {meaning}.',
    chosen: 'Chosen by the kernel (ephemeral): {how}, from {range}.',
    outside: '(Outside that range: the host’s range was changed since, or the port was chosen another way.)',
    named: 'Named by the program’s bind.',
    likelyHost: 'Inside host {host}’s ephemeral range {lo}–{hi}: most likely a port its kernel chose.',
    likely: 'Inside the ephemeral range {lo}–{hi}: most likely a port its kernel chose.',
    flag: 'A server started with --allow-privileged-ports lets its sessions bind them.',
    privileged: 'Port {port} is well-known (0–1023): binding it needs privilege (CAP_NET_BIND_SERVICE), which a program usually lacks. The sandbox refuses it as the kernel refuses an unprivileged program, unless the server was started with --allow-privileged-ports. Pick a port from 1024 up, such as 8080.',
  },
  'zh-CN': {
    wellKnownMeaning: '留给标准服务（80 HTTP、443 HTTPS、22 SSH）；绑定它需要特权（CAP_NET_BIND_SERVICE 或 root）',
    registeredMeaning: '按申请分配给应用（8080 备用 HTTP、5432 PostgreSQL）；任何程序都可以绑定',
    dynamicMeaning: 'IANA 的动态/私有范围，从不分配：留给临时的、自动选择的端口',
    'well-known': '熟知端口',
    registered: '注册端口',
    dynamic: '动态端口',
    ephemeral: '临时端口',
    any: '任意',
    lesson: 'Linux 默认从 {lo}–{hi} 中挑选临时端口，而不是 IANA 的动态范围 49152–65535：所以临时端口完全可能落在“注册端口”范围里。',
    'bind-0': 'bind 到端口 0，就是请内核随便挑一个空闲端口',
    connect: '在未绑定的套接字上 connect，会先把它绑定到内核挑的端口',
    sendto: '在未绑定的套接字上 sendto，会先把它绑定到内核挑的端口',
    send: '在未绑定的套接字上 send，会先把它绑定到内核挑的端口',
    listen: '在未绑定的套接字上 listen，会先把它绑定到内核挑的端口',
    implicit: '套接字没有绑定，于是内核把它绑定到自己挑的端口',
    hostRange: '{lo}–{hi}（主机 {host} 的 net.ipv4.ip_local_port_range）',
    someRange: '{lo}–{hi}（该主机的 net.ipv4.ip_local_port_range）',
    defaultRange: '{lo}–{hi}（Linux 默认的 net.ipv4.ip_local_port_range；这段录像没有记下主机自己的设置）',
    port: '端口',
    remotePort: '远端端口',
    requestedPort: '请求的端口',
    zero: '{whose} 0：不是真正的端口，而是一个请求——由内核挑一个空闲的临时端口。',
    inRange: '{whose} {port}：{range}（{lo}–{hi}），{meaning}。',
    chosen: '由内核选择（临时端口）：{how}，取自 {range}。',
    outside: '（不在这个范围内：要么主机的范围后来改过，要么端口是以别的方式选的。）',
    named: '由程序的 bind 指定。',
    likelyHost: '在主机 {host} 的临时端口范围 {lo}–{hi} 内：很可能是它的内核挑的端口。',
    likely: '在临时端口范围 {lo}–{hi} 内：很可能是内核挑的端口。',
    flag: '用 --allow-privileged-ports 启动的服务器允许会话绑定这些端口。',
    privileged: '端口 {port} 是熟知端口（0–1023）：绑定它需要特权（CAP_NET_BIND_SERVICE），而普通程序通常没有。沙箱会像内核拒绝无特权程序那样拒绝它，除非服务器用 --allow-privileged-ports 启动。请选 1024 以上的端口，比如 8080。',
  },
};
const T = localize(TEXTS);


/** IANA's three ranges (RFC 6335), lowest first. */
export const PORT_RANGES = [
  { name: 'well-known', lo: 0, hi: 1023, get meaning() { return T.wellKnownMeaning; } },
  { name: 'registered', lo: 1024, hi: 49151, get meaning() { return T.registeredMeaning; } },
  { name: 'dynamic', lo: 49152, hi: 65535, get meaning() { return T.dynamicMeaning; } },
];

/** Linux's default ephemeral range (`net.ipv4.ip_local_port_range`), used when a host does
 * not say its own (recordings made before hosts reported it). */
export const LINUX_EPHEMERAL = [32768, 60999];

/** The lesson about the two ranges, in one line. */
export function ephemeralLesson() {
  return fmt(T.lesson, { lo: LINUX_EPHEMERAL[0], hi: LINUX_EPHEMERAL[1] });
}

/** A port's tag (`explainPort`'s `short`: well-known, ephemeral, any…) in words. */
export function shortText(short) {
  return T[short] || short;
}

/** The calls that give an unbound socket a port the call did not name (an implicit bind). */
const IMPLICIT_BINDS = new Set(['connect', 'sendto', 'listen', 'send']);

/** How the kernel came to choose a port, in words: the texts keyed by `portOrigin`'s `how`. */
const CHOSEN_HOW = new Set(['bind-0', 'connect', 'sendto', 'send', 'listen', 'implicit']);

/** The port in an ip:port address, or null (a bare IP, a Unix name, nothing). */
export function portOf(addr) {
  if (!addr || isUnixAddr(addr)) return null;
  const parsed = parseAddr(addr);
  return parsed && Number.isInteger(parsed.port) ? parsed.port : null;
}

/** The IANA range a port is in, or null for a number that is no port. */
export function portRange(port) {
  if (!Number.isInteger(port) || port < 0 || port > 65535) return null;
  return PORT_RANGES.find((r) => port >= r.lo && port <= r.hi);
}

/** A host's ephemeral range: {lo, hi, known} (known: the host reported it). */
export function ephemeralRange(host) {
  const own = host && Array.isArray(host.ephemeral_ports) ? host.ephemeral_ports
    : host && Array.isArray(host.ephemeralPorts) ? host.ephemeralPorts : null;
  if (own && own.length === 2 && Number.isInteger(own[0]) && Number.isInteger(own[1])) return { lo: own[0], hi: own[1], known: true };
  return { lo: LINUX_EPHEMERAL[0], hi: LINUX_EPHEMERAL[1], known: false };
}

/** The range as text: "32768–60999 (host A’s net.ipv4.ip_local_port_range)". */
export function ephemeralText(host) {
  const r = ephemeralRange(host);
  if (!r.known) return fmt(T.defaultRange, r);
  return host && host.name ? fmt(T.hostRange, { ...r, host: host.name }) : fmt(T.someRange, r);
}

/** Whether the kernel chose a bind's port: the request named port 0. */
export function bindAsksKernel(requested) {
  return portOf(requested) === 0;
}

/** How a socket's local port came to be, from the event that first showed it (`ev`) and the
 * request behind it: {chosen: true, how} when the kernel chose it (bind to port 0, or an
 * implicit bind on connect/sendto/listen), {chosen: false, how: 'bind'} when a bind named it,
 * null when the event shows no port. A call's `ephemeral_port` is the server's word that the
 * kernel chose this port during it; without one (recordings made before the server said so)
 * the call and its request tell. */
export function portOrigin(ev, local) {
  const port = portOf(local);
  if (port === null) return null;
  if (Number.isInteger(ev.ephemeral_port) && ev.ephemeral_port === port) {
    if (ev.kind === 'bind') return { chosen: true, how: 'bind-0' };
    return { chosen: true, how: IMPLICIT_BINDS.has(ev.kind) ? ev.kind : 'implicit' };
  }
  if (ev.kind === 'bind') {
    const requested = ev.requested_addr || ev.addr;
    return bindAsksKernel(requested) ? { chosen: true, how: 'bind-0' } : { chosen: false, how: 'bind' };
  }
  if (ev.kind === 'accept' || ev.kind === 'socket') return { chosen: false, how: ev.kind };
  return { chosen: true, how: IMPLICIT_BINDS.has(ev.kind) ? ev.kind : 'implicit' };
}

/**
 * A port explained: `{port, range, short, lines}` — `short` a few words for a tag
 * ("ephemeral", "well-known"), `lines` the sentences for a tooltip or a details panel.
 * `chosen` is a `portOrigin` (or null when not known), `host` the host whose port it is
 * (its ephemeral range), `role` how the port is used ("local", "remote", "requested", or
 * "seen" in a packet).
 * Null for no port.
 */
export function explainPort(port, { chosen = null, host = null, role = null } = {}) {
  const range = portRange(port);
  if (!range) return null;
  const lines = [];
  const whose = role === 'remote' ? T.remotePort : role === 'requested' ? T.requestedPort : T.port;
  if (port === 0) {
    lines.push(fmt(T.zero, { whose }));
    return { port, range, short: 'any', lines };
  }
  lines.push(fmt(T.inRange, { whose, port, range: shortText(range.name), lo: range.lo, hi: range.hi, meaning: range.meaning }));
  let short = range.name;
  if (chosen && chosen.chosen) {
    const eph = ephemeralRange(host);
    short = 'ephemeral';
    lines.push(fmt(T.chosen, { how: T[CHOSEN_HOW.has(chosen.how) ? chosen.how : 'implicit'], range: ephemeralText(host) }));
    if (port < eph.lo || port > eph.hi) lines.push(T.outside);
    lines.push(ephemeralLesson());
  } else if (chosen && chosen.how === 'bind') {
    lines.push(T.named);
  } else if ((role === 'remote' || role === 'seen') && range.name !== 'well-known') {
    // A port of another socket, or one read from a packet: its range is a strong hint.
    const eph = ephemeralRange(host);
    if (port >= eph.lo && port <= eph.hi) lines.push(host && host.name ? fmt(T.likelyHost, { host: host.name, lo: eph.lo, hi: eph.hi }) : fmt(T.likely, eph));
  }
  return { port, range, short, lines };
}

/** One line per port in `explained` (as `explainPort` returns), for a title attribute. */
export function portTitle(explained) {
  return explained ? explained.lines.join('\n') : '';
}

/** What the page adds to a refused well-known port when the sandbox's own hint already says
 * why (the range, the privilege, another port to bind). */

/** The well-known port a failed bind asked for, explained, when that is why it failed
 * (EACCES on a port below 1024); null otherwise. A sandbox refusal carries the sandbox's own
 * hint (`sandbox` and `hint`, on an event or a console reply), which explains the range and
 * names a port to bind instead: then only what it does not say, lest the card say it twice. */
export function privilegedRefusal(ev) {
  const errno = ev && ev.errno ? (typeof ev.errno === 'string' ? ev.errno : ev.errno.name) : null;
  if (ev.kind !== 'bind' && ev.call !== 'bind') return null;
  if (errno !== 'EACCES') return null;
  const port = portOf(ev.requested_addr || ev.addr);
  if (port === null || port === 0 || port > 1023) return null;
  if (ev.sandbox && typeof ev.hint === 'string' && ev.hint) {
    return ev.hint.includes('--allow-privileged-ports') ? null : T.flag;
  }
  return fmt(T.privileged, { port });
}

/**
 * The ports an event shows, each explained: `[{role, addr, port, explained}]` for its local
 * and remote tuple ends, the address it asked for and the peer it reports. `model` gives the
 * hosts (their ephemeral ranges) and `origin` whether the kernel chose the local port (a
 * `portOrigin`, e.g. the model's note for this event).
 */
export function portsOfEvent(ev, model, origin = null) {
  const out = [];
  const seen = new Set();
  const hosts = model && model.hosts ? model.hosts : [];
  const hostNamed = (name) => hosts.find((x) => x.name === name) || null;
  const add = (role, addr, opts) => {
    const port = portOf(addr);
    if (port === null || seen.has(`${role}|${addr}`)) return;
    seen.add(`${role}|${addr}`);
    // A remote port is in the range of the host at the other end.
    const host = role === 'remote' ? hostNamed(hostOfAddr({ hosts }, addr)) : hostNamed(ev.host);
    out.push({ role, addr, port, explained: explainPort(port, { host, role, ...opts }) });
  };
  const tuple = ev.tuple || {};
  if (ev.requested_addr && ev.requested_addr !== ev.addr) add('requested', ev.requested_addr);
  add('local', tuple.local, { chosen: origin });
  // A bind's address: the socket's own once bound; only asked for when the bind failed.
  if (ev.kind === 'bind' && ev.addr && ev.addr !== tuple.local) add(ev.status === 'error' ? 'requested' : 'local', ev.addr, { chosen: origin });
  if (['connect', 'sendto'].includes(ev.kind) && ev.addr) add('remote', ev.addr);
  add('remote', tuple.remote);
  if (ev.peer) add('remote', ev.peer);
  return out;
}

// Socket addresses as the page compares them: parsed, normalised (IPv4-mapped IPv6 as plain
// IPv4), matched with wildcards, joined back, and mapped to the session's host that owns them.
// Three forms arrive from the server: ip:port (TCP, UDP), a bare IP (raw and ICMP sockets,
// which have no ports) and a Unix-domain name (a pathname "/tmp/echo.sock", or an abstract
// name written "@echo"). A Unix name means something on its own host only, so it never names
// a host. Pure functions over strings and the model's host list; no DOM.

import { localize } from './i18n.js';

/** Every text this module writes, in each language. */
export const TEXTS = {
  en: {
    unnamed: 'unnamed',
  },
  'zh-CN': {
    unnamed: '无名',
  },
};
const T = localize(TEXTS);


/** An IP as the page compares it: lower case, IPv4-mapped IPv6 as plain IPv4. */
export function normIp(ip) {
  const lower = String(ip).toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
}

/** Whether `text` is a Unix-domain address: a pathname or an @abstract name. */
export function isUnixAddr(text) {
  return typeof text === 'string' && (text.startsWith('/') || text.startsWith('@'));
}

/** Whether `text` is an abstract Unix name ("@echo": no file, gone with its last socket). */
export function isAbstractAddr(text) {
  return typeof text === 'string' && text.startsWith('@');
}

/** A Unix-domain address as the page shows it: the path, the @name, or "unnamed". */
export function unixName(addr) {
  return addr ? String(addr) : T.unnamed;
}

/** A Unix-domain name as a label of at most `max` characters shows it (the full name goes in
 * its tooltip): a path keeps its file name and as many directories as fit at either end, the
 * middle ones elided ("/run/…/app/echo.sock"); an abstract name is cut at its end. */
export function shortUnixName(addr, max) {
  const name = unixName(addr);
  if (name.length <= max) return name;
  if (isAbstractAddr(name) || !name.startsWith('/')) return `${name.slice(0, Math.max(1, max - 1))}…`;
  const dirs = name.split('/').slice(1);
  const file = dirs.pop();
  if (file.length + 2 > max) return `…${file.slice(-(max - 1))}`;
  // The first directory says where the file lives (/tmp, /run); then the nearest ones.
  let tail = `/${file}`;
  let head = dirs.length && `/${dirs[0]}/…${tail}`.length <= max ? `/${dirs[0]}/` : '';
  for (let i = dirs.length - 1; i > (head ? 0 : -1); i--) {
    if (`${head}…/${dirs[i]}${tail}`.length > max) break;
    tail = `/${dirs[i]}${tail}`;
  }
  return `${head}…${tail}`;
}

/** A bare IP (no port), as raw and ICMP sockets are named: normalised, or null when `text`
 * is anything else. */
export function parseIp(text) {
  if (typeof text !== 'string' || !text || isUnixAddr(text)) return null;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) return text;
  // IPv6: hex groups and colons (at least two), perhaps ending in dotted IPv4.
  if (/^[0-9a-fA-F:]*:[0-9a-fA-F:]*:[0-9a-fA-F.]*$/.test(text)) return normIp(text);
  return null;
}

/** "10.0.0.2:8080" or "[fd00::2]:8080" → {ip, port}; null when absent, malformed, a bare IP
 * or a Unix-domain name. */
export function parseAddr(text) {
  if (!text || typeof text !== 'string' || isUnixAddr(text)) return null;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (v6) return { ip: normIp(v6[1]), port: Number(v6[2]) };
  const v4 = /^([^:[\]]+):(\d+)$/.exec(text);
  if (!v4) return null;
  return { ip: normIp(v4[1]), port: Number(v4[2]) };
}

/** What kind of address `text` is: 'unix' (a path), 'abstract' (@name), 'ip-port', 'ip'
 * (no port: raw, ICMP), or null. */
export function addrKind(text) {
  if (isAbstractAddr(text)) return 'abstract';
  if (isUnixAddr(text)) return 'unix';
  if (parseAddr(text)) return 'ip-port';
  if (parseIp(text)) return 'ip';
  return null;
}

/** Addresses that stand for every address of the host. */
export const WILDCARD = new Set(['0.0.0.0', '::']);

/** Whether two endpoints are the same (a wildcard address matches any on the same port).
 * Unix names match only exactly, and only ever name a socket on the same host: the caller
 * checks the host. */
export function sameEndpoint(a, b) {
  if (isUnixAddr(a) || isUnixAddr(b)) return a === b;
  const x = typeof a === 'string' ? parseAddr(a) : a;
  const y = typeof b === 'string' ? parseAddr(b) : b;
  if (!x || !y || x.port !== y.port) return false;
  return x.ip === y.ip || WILDCARD.has(x.ip) || WILDCARD.has(y.ip);
}

/** ip:port with IPv6 in brackets. */
export function joinAddr(ip, port) {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The host that owns an address (a bare IP, or ip:port), or null; always null for a Unix
 * name, which says nothing of its host. */
export function hostOfAddr(model, addr) {
  if (!addr || isUnixAddr(addr)) return null;
  const parsed = parseAddr(addr);
  const ip = parsed ? parsed.ip : normIp(addr);
  for (const host of model.hosts) {
    if (host.addrs.some((a) => normIp(a) === ip)) return host.name;
  }
  return null;
}

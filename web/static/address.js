// Socket addresses as the page compares them: parsed, normalised (IPv4-mapped IPv6 as plain
// IPv4), matched with wildcards, joined back, and mapped to the session's host that owns them.
// Pure functions over strings and the model's host list; no DOM.

/** An IP as the page compares it: lower case, IPv4-mapped IPv6 as plain IPv4. */
export function normIp(ip) {
  const lower = String(ip).toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
}

/** "10.0.0.2:8080" or "[fd00::2]:8080" → {ip, port}; null when absent or malformed. */
export function parseAddr(text) {
  if (!text) return null;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (v6) return { ip: normIp(v6[1]), port: Number(v6[2]) };
  const at = text.lastIndexOf(':');
  if (at < 0) return null;
  return { ip: normIp(text.slice(0, at)), port: Number(text.slice(at + 1)) };
}

/** Addresses that stand for every address of the host. */
export const WILDCARD = new Set(['0.0.0.0', '::']);

/** Whether two endpoints are the same (a wildcard address matches any on the same port). */
export function sameEndpoint(a, b) {
  const x = typeof a === 'string' ? parseAddr(a) : a;
  const y = typeof b === 'string' ? parseAddr(b) : b;
  if (!x || !y || x.port !== y.port) return false;
  return x.ip === y.ip || WILDCARD.has(x.ip) || WILDCARD.has(y.ip);
}

/** ip:port with IPv6 in brackets. */
export function joinAddr(ip, port) {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The host that owns an address (a bare IP, or ip:port), or null. */
export function hostOfAddr(model, addr) {
  if (!addr) return null;
  const withPort = /^\[.*\]:\d+$/.test(addr) || /^[\d.]+:\d+$/.test(addr);
  const ip = withPort ? parseAddr(addr).ip : normIp(addr);
  for (const host of model.hosts) {
    if (host.addrs.some((a) => normIp(a) === ip)) return host.name;
  }
  return null;
}

// Ports explained: IANA's ranges, the host's ephemeral range, which ports the kernel chose and
// why a well-known port is refused.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { LINUX_EPHEMERAL, ephemeralRange, ephemeralText, explainPort, portOf, portOrigin, portRange, portsOfEvent, privilegedRefusal } from '../static/ports.js';
import { applyEvent, emptyModel } from '../static/model.js';
import { useLang } from '../static/i18n.js';

// These tests read the English texts.
useLang('en');

const events = JSON.parse(readFileSync(new URL('./fixtures/unix-raw-ports.json', import.meta.url)));
const at = (seq) => events.find((ev) => ev.seq === seq);

test('each port is in one of IANA’s three ranges', () => {
  assert.equal(portRange(0).name, 'well-known');
  assert.equal(portRange(1023).name, 'well-known');
  assert.equal(portRange(1024).name, 'registered');
  assert.equal(portRange(49151).name, 'registered');
  assert.equal(portRange(49152).name, 'dynamic');
  assert.equal(portRange(65535).name, 'dynamic');
  assert.equal(portRange(65536), null);
  assert.equal(portRange(-1), null);
  assert.equal(portRange(1.5), null);
});

test('only ip:port addresses have a port', () => {
  assert.equal(portOf('10.0.0.2:8080'), 8080);
  assert.equal(portOf('[fd00::2]:0'), 0);
  assert.equal(portOf('10.0.0.2'), null, 'ICMP and raw sockets have no ports');
  assert.equal(portOf('/tmp/echo.sock'), null);
  assert.equal(portOf('@echo'), null);
  assert.equal(portOf(null), null);
});

test('a host’s ephemeral range is its own, else Linux’s default', () => {
  assert.deepEqual(ephemeralRange({ name: 'B', ephemeral_ports: [40000, 40999] }), { lo: 40000, hi: 40999, known: true });
  assert.deepEqual(ephemeralRange({ name: 'A' }), { lo: LINUX_EPHEMERAL[0], hi: LINUX_EPHEMERAL[1], known: false });
  assert.deepEqual(ephemeralRange(null), { lo: 32768, hi: 60999, known: false });
  assert.match(ephemeralText({ name: 'B', ephemeral_ports: [40000, 40999] }), /^40000–40999 \(host B’s net\.ipv4\.ip_local_port_range\)$/);
  assert.match(ephemeralText({ name: 'A' }), /Linux’s default/);
});

test('a port the call did not name was chosen by the kernel', () => {
  assert.deepEqual(portOrigin({ kind: 'bind', requested_addr: '10.0.0.2:0', addr: '10.0.0.2:40123' }, '10.0.0.2:40123'), { chosen: true, how: 'bind-0' });
  assert.deepEqual(portOrigin({ kind: 'bind', addr: '10.0.0.2:8080' }, '10.0.0.2:8080'), { chosen: false, how: 'bind' });
  assert.deepEqual(portOrigin({ kind: 'connect' }, '10.0.0.1:45044'), { chosen: true, how: 'connect' });
  assert.deepEqual(portOrigin({ kind: 'sendto' }, '10.0.0.1:41234'), { chosen: true, how: 'sendto' });
  assert.deepEqual(portOrigin({ kind: 'listen' }, '10.0.0.1:41234'), { chosen: true, how: 'listen' });
  assert.deepEqual(portOrigin({ kind: 'tcp_state' }, '10.0.0.1:41234'), { chosen: true, how: 'implicit' });
  assert.equal(portOrigin({ kind: 'bind' }, '/tmp/echo.sock'), null, 'Unix names are no ports');
  assert.equal(portOrigin({ kind: 'sendto' }, '10.0.0.1'), null, 'nor is an ICMP socket’s address');
});

test('a port explained: its range, what it means, and whether the kernel chose it', () => {
  const b = { name: 'B', ephemeral_ports: [40000, 40999] };
  const eph = explainPort(40123, { chosen: { chosen: true, how: 'bind-0' }, host: b });
  assert.equal(eph.short, 'ephemeral');
  assert.match(eph.lines[0], /registered \(1024–49151\)/);
  assert.match(eph.lines[1], /bind to port 0.*40000–40999 \(host B’s/);
  assert.ok(eph.lines.some((l) => /not from IANA’s dynamic range 49152–65535/.test(l)), 'the lesson');
  const wk = explainPort(80);
  assert.equal(wk.short, 'well-known');
  assert.match(wk.lines[0], /needs privilege/);
  assert.equal(explainPort(50000).short, 'dynamic');
  assert.equal(explainPort(0).short, 'any');
  assert.match(explainPort(0).lines[0], /kernel picks/);
  assert.equal(explainPort(70000), null);
  const named = explainPort(8080, { chosen: { chosen: false, how: 'bind' } });
  assert.equal(named.short, 'registered');
  assert.match(named.lines.join(' '), /Named by the program’s bind/);
  const remote = explainPort(45044, { role: 'remote', host: { name: 'A' } });
  assert.match(remote.lines.join(' '), /Inside host A’s ephemeral range 32768–60999: most likely a port its kernel chose/);
  assert.equal(explainPort(45044, { role: 'seen', host: { name: 'B', ephemeral_ports: [40000, 40999] } }).lines.length, 1, 'outside B’s range: no guess');
});

test('a refused well-known port says why', () => {
  assert.match(privilegedRefusal(at(23)), /^Port 80 is well-known \(0–1023\).*--allow-privileged-ports/);
  assert.match(privilegedRefusal({ call: 'bind', addr: '10.0.0.2:22', errno: 'EACCES' }), /Port 22/, 'a console reply');
  assert.equal(privilegedRefusal({ kind: 'bind', status: 'error', errno: { name: 'EADDRINUSE' }, addr: '10.0.0.2:80' }), null);
  assert.equal(privilegedRefusal({ kind: 'bind', status: 'error', errno: { name: 'EACCES' }, addr: '10.0.0.2:8080' }), null);
  assert.equal(privilegedRefusal({ kind: 'connect', status: 'error', errno: { name: 'EACCES' }, addr: '10.0.0.2:80' }), null);
});

test('the model notes the calls that made the kernel choose a port', () => {
  const model = emptyModel();
  for (const ev of events) applyEvent(model, ev);
  // The SYN_SENT state showed the port first; the connect is the call that chose it.
  assert.deepEqual(model.portNotes.get(28), { chosen: true, how: 'connect', port: 45044 });
  assert.deepEqual(model.portNotes.get(19), { chosen: true, how: 'sendto', port: 41234 });
  assert.deepEqual(model.portNotes.get(21), { chosen: true, how: 'bind-0', port: 40123 });
  assert.equal(model.portNotes.has(24), false, 'bind named 8080');
  assert.equal(model.portNotes.has(16), false, 'ICMP has no ports');
  assert.equal(model.portNotes.has(29), false, 'an accepted socket has its listener’s port');
  const hosts = Object.fromEntries(model.hosts.map((x) => [x.name, x.ephemeral_ports]));
  assert.deepEqual(hosts, { A: [32768, 60999], B: [40000, 40999] });
});

test('every port an event shows, explained with the right host’s range', () => {
  const model = emptyModel();
  for (const ev of events) applyEvent(model, ev);
  const connect = portsOfEvent(at(28), model, model.portNotes.get(28));
  assert.deepEqual(connect.map((p) => [p.role, p.port, p.explained.short]), [['local', 45044, 'ephemeral'], ['remote', 8080, 'registered']]);
  assert.match(connect[0].explained.lines.join(' '), /host A’s net\.ipv4/);
  const accept = portsOfEvent(at(29), model);
  assert.deepEqual(accept.map((p) => [p.role, p.port]), [['local', 8080], ['remote', 45044]]);
  const bind0 = portsOfEvent(at(21), model, model.portNotes.get(21));
  assert.deepEqual(bind0.map((p) => [p.role, p.port, p.explained.short]), [['requested', 0, 'any'], ['local', 40123, 'ephemeral']]);
  assert.deepEqual(portsOfEvent(at(23), model).map((p) => [p.role, p.port, p.explained.short]), [['requested', 80, 'well-known']], 'a refused bind');
  assert.deepEqual(portsOfEvent(at(16), model), [], 'ICMP: no ports');
  assert.deepEqual(portsOfEvent(at(3), model), [], 'Unix: no ports');
});

// The server's word: `ephemeral_port` on the call during which the kernel chose the port.
const chosen = JSON.parse(readFileSync(new URL('./fixtures/ephemeral-ports.json', import.meta.url)));
const chosenAt = (seq) => chosen.find((ev) => ev.seq === seq);

test('a call’s ephemeral_port says the kernel chose the port, whatever the request showed', () => {
  // A bind to port 0 whose request the event does not repeat: only the field tells.
  assert.deepEqual(portOrigin(chosenAt(3), '10.0.0.2:40123'), { chosen: true, how: 'bind-0' });
  assert.deepEqual(portOrigin({ ...chosenAt(3), ephemeral_port: undefined }, '10.0.0.2:40123'), { chosen: false, how: 'bind' }, 'an old recording without it');
  assert.deepEqual(portOrigin(chosenAt(6), '10.0.0.1:45044'), { chosen: true, how: 'connect' });
  assert.deepEqual(portOrigin(chosenAt(10), '0.0.0.0:40500'), { chosen: true, how: 'listen' });
  assert.deepEqual(portOrigin(chosenAt(12), '10.0.0.2:8080'), { chosen: false, how: 'bind' });
});

test('the model notes the calls whose event carries ephemeral_port', () => {
  const model = emptyModel();
  for (const ev of chosen) applyEvent(model, ev);
  assert.deepEqual(model.portNotes.get(3), { chosen: true, how: 'bind-0', port: 40123 });
  // The SYN_SENT state showed the port first; the connect's field names the call.
  assert.deepEqual(model.portNotes.get(6), { chosen: true, how: 'connect', port: 45044 });
  assert.deepEqual(model.portNotes.get(8), { chosen: true, how: 'sendto', port: 41234 });
  assert.deepEqual(model.portNotes.get(10), { chosen: true, how: 'listen', port: 40500 });
  assert.equal(model.portNotes.has(12), false, 'bind named 8080');
  const bound = portsOfEvent(chosenAt(3), model, model.portNotes.get(3));
  assert.deepEqual(bound.map((p) => [p.role, p.port, p.explained.short]), [['local', 40123, 'ephemeral']]);
  assert.match(bound[0].explained.lines.join(' '), /40000–40999 \(host B’s/);
});

test('a refusal the sandbox already explained adds only what its hint does not say', () => {
  const refusal = chosenAt(14);
  const text = privilegedRefusal(refusal);
  assert.match(text, /--allow-privileged-ports/);
  assert.doesNotMatch(text, /well-known|CAP_NET_BIND_SERVICE|1024/, 'the hint says those');
  // Without the sandbox's own hint (the errno's general one only), the whole explanation.
  assert.match(privilegedRefusal({ ...refusal, hint: undefined }), /^Port 80 is well-known \(0–1023\)/);
  // A console reply: its hint is the sandbox's when `sandbox` is set.
  const replies = JSON.parse(readFileSync(new URL('./fixtures/call-replies.json', import.meta.url)));
  const { request, body } = replies.bind_privileged;
  assert.equal(privilegedRefusal({ call: request.call, addr: request.addr, errno: body.errno, sandbox: body.sandbox, hint: body.hint }), text);
  assert.equal(privilegedRefusal({ ...refusal, hint: `${refusal.hint} Or start the server with --allow-privileged-ports.` }), null, 'nothing left to add');
});

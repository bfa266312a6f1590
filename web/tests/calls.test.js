// The console's calls come from the server's OpenAPI document: the schema generated from the
// Rust `Call` type (`CallRequest`), and the document served before it (`CallBody`).

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { callsFromOpenApi, choicesOf } from '../static/calls.js';
import { useLang } from '../static/i18n.js';

// These tests read the English texts.
useLang('en');

const fixture = (name) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));

/** Every call the server takes and its fields, as the console has always offered them. */
const EXPECTED = {
  socket: ['domain', 'type'],
  bind: ['addr', 'fd'],
  listen: ['backlog', 'fd'],
  connect: ['addr', 'fd'],
  accept: ['fd'],
  send: ['data', 'fd'],
  recv: ['fd', 'max', 'peek'],
  sendto: ['addr', 'data', 'fd'],
  recvfrom: ['fd', 'max', 'peek'],
  shutdown: ['fd', 'how'],
  close: ['fd'],
  setsockopt: ['fd', 'option', 'value'],
  getsockopt: ['fd', 'option'],
  getsockname: ['fd'],
  getpeername: ['fd'],
  nonblocking: ['fd', 'on'],
};

for (const name of ['openapi-callrequest.json', 'openapi-callbody.json']) {
  test(`${name}: every call, in the document's order, with its own fields`, () => {
    const calls = callsFromOpenApi(fixture(name));
    assert.deepEqual(calls.map((c) => c.name), Object.keys(EXPECTED));
    for (const call of calls) {
      assert.deepEqual(call.fields.map((f) => f.name).sort(), EXPECTED[call.name], call.name);
    }
  });

  test(`${name}: fields say their type, choices and whether they are required`, () => {
    const calls = Object.fromEntries(callsFromOpenApi(fixture(name)).map((c) => [c.name, c]));
    const field = (call, f) => calls[call].fields.find((x) => x.name === f);
    assert.equal(field('bind', 'fd').type, 'integer');
    assert.equal(field('bind', 'fd').required, true);
    assert.equal(field('listen', 'backlog').required, false, 'the kernel default applies');
    assert.equal(field('recv', 'peek').type, 'boolean');
    assert.ok(field('socket', 'domain').enum.includes('inet6'));
    assert.ok(['read', 'write', 'both'].every((how) => field('shutdown', 'how').enum.includes(how)));
    assert.ok(!field('connect', 'addr').enum, 'free text');
    assert.match(calls.socket.description, /socket/);
    // setsockopt's options, and the value each takes where the document says.
    const options = calls.setsockopt.options;
    assert.deepEqual(Object.keys(options), fixture(name).components.schemas.SockOpt.enum, 'in the document’s order');
    assert.equal(calls.close.options, null);
  });
}

test('where the document gives each option’s value, its shape is known', () => {
  const options = callsFromOpenApi(fixture('openapi-callbody.json')).find((c) => c.name === 'setsockopt').options;
  assert.equal(options.SO_REUSEADDR, 'bool');
  assert.equal(options.SO_LINGER, 'linger');
  assert.equal(options.IP_TTL, 'int');
});

test('a call given by const, a $ref entry, and a document without calls', () => {
  const doc = {
    components: {
      schemas: {
        CallRequest: { oneOf: [{ $ref: '#/components/schemas/Ping' }, { properties: { call: { const: 'close' }, fd: { type: 'integer' } }, required: ['call', 'fd'] }] },
        Ping: { properties: { call: { type: 'string', enum: ['ping'] }, host: { type: 'string' }, count: { type: ['integer', 'null'] } } },
      },
    },
  };
  const calls = callsFromOpenApi(doc);
  assert.deepEqual(calls.map((c) => [c.name, c.fields.map((f) => `${f.name}:${f.type}:${f.required}`)]), [
    ['ping', ['count:integer:false']],
    ['close', ['fd:integer:true']],
  ]);
  assert.throws(() => callsFromOpenApi({ components: { schemas: {} } }), /no CallRequest or CallBody/);
  assert.throws(() => callsFromOpenApi({}), /no CallRequest/);
});

test('a new call and a new optional enum field appear by themselves', () => {
  const calls = Object.fromEntries(callsFromOpenApi(fixture('openapi-unix.json')).map((c) => [c.name, c]));
  assert.deepEqual(Object.keys(calls).slice(0, 3), ['socket', 'socketpair', 'bind'], 'in the document’s order');
  assert.deepEqual(calls.socketpair.fields.map((f) => f.name).sort(), ['domain', 'type']);
  assert.match(calls.socketpair.description, /socketpair/);
  const protocol = calls.socket.fields.find((f) => f.name === 'protocol');
  assert.deepEqual([protocol.type, protocol.required, protocol.enum], ['string', false, ['tcp', 'udp', 'icmp', 'icmpv6']]);
  assert.match(protocol.description, /by default/);
  // The same field written as a nullable inline enum.
  const inline = { components: { schemas: { CallRequest: { oneOf: [{ properties: { call: { enum: ['socket'] }, protocol: { type: ['string', 'null'], enum: ['tcp', 'icmp', null] } }, required: ['call'] }] } } } };
  assert.deepEqual(callsFromOpenApi(inline)[0].fields[0].enum, ['tcp', 'icmp']);
});

test('enum choices: one per meaning, labelled as C writes them, worded for the domain', () => {
  const calls = Object.fromEntries(callsFromOpenApi(fixture('openapi-unix.json')).map((c) => [c.name, c]));
  const field = (call, f) => calls[call].fields.find((x) => x.name === f);
  assert.deepEqual(choicesOf(field('socket', 'domain')).map(([v]) => v), ['inet', 'inet6', 'unix']);
  const types = choicesOf(field('socket', 'type'), { domain: 'inet' });
  assert.deepEqual(types.map(([v]) => v), ['stream', 'dgram', 'seqpacket', 'raw']);
  assert.equal(types[0][1], 'SOCK_STREAM (TCP)');
  assert.equal(choicesOf(field('socket', 'type'), { domain: 'unix' })[2][1], 'SOCK_SEQPACKET (Unix records, connected)');
  assert.deepEqual(choicesOf(field('socket', 'protocol')).map(([v]) => v), ['', 'tcp', 'udp', 'icmp', 'icmpv6'], 'optional: a default first');
  assert.deepEqual(choicesOf(field('socketpair', 'domain')).map(([v]) => v), ['unix']);
  assert.deepEqual(choicesOf(field('socketpair', 'type')).map(([v]) => v), ['stream', 'dgram', 'seqpacket']);
  // The old document: the two types it always had.
  const old = Object.fromEntries(callsFromOpenApi(fixture('openapi-callrequest.json')).map((c) => [c.name, c]));
  assert.deepEqual(choicesOf(old.socket.fields.find((f) => f.name === 'type')).map(([v]) => v), ['stream', 'dgram']);
  // A value nobody told the page about is offered as it is.
  assert.deepEqual(choicesOf({ name: 'type', enum: ['stream', 'rdm'], required: true }).map(([v]) => v), ['stream', 'rdm']);
  assert.deepEqual(choicesOf({ name: 'colour', enum: ['red', 'blue'], required: true }), [['red', 'red'], ['blue', 'blue']]);
});

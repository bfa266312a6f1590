// The console's calls come from the server's OpenAPI document: the schema generated from the
// Rust `Call` type (`CallRequest`), and the document served before it (`CallBody`).

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { callsFromOpenApi } from '../static/calls.js';

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

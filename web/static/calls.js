// The calls the console offers and the fields each takes, read from the server's OpenAPI
// document (`/api/openapi.json`), so that a call added to the server appears in the console
// without touching the page. Pure: a parsed document in, a list out; no DOM.
//
// The call body's schema is `components.schemas.CallRequest` (or `CallBody`, its name in
// documents before the schema was generated from the Rust `Call` type): a `oneOf` with one
// entry per call, `properties.call.enum[0]` (or `const`) its name, its other properties the
// call's fields with their `type` and `enum`, and `required`. Entries may be `$ref`s to other
// schemas or `allOf`s of them. An optional field may be written `{"oneOf": [{"type": "null"},
// {"$ref": …}]}` (an `Option` of a named enum); it reads as the named schema, not required.
// Fields every call has (the host, a blocking call's wait, the data's encoding) are the
// console's own controls, not fields of a call. `choicesOf` says how the console offers an
// enum field's values: one entry per choice (the C constant names the server also accepts are
// spellings of the same choice), labelled as a program would write it.

import { localize } from './i18n.js';

/** Every text this module writes, in each language. */
export const TEXTS = {
  en: {
    afUnix: 'AF_UNIX (Unix domain: inside the host)',
    shutWr: 'SHUT_WR (send FIN)',
    inetDgram: 'UDP, or ICMP echo with protocol icmp',
    inetRaw: 'raw IP: ICMP, netns mode only',
    inetSeqpacket: 'not for IP here',
    unixStream: 'Unix stream',
    unixDgram: 'Unix datagrams',
    unixSeqpacket: 'Unix records, connected',
    unixRaw: 'not for Unix',
    defaultProtocol: 'default (from domain and type)',
    default: 'default',
  },
  'zh-CN': {
    afUnix: 'AF_UNIX（Unix 域：主机内部）',
    shutWr: 'SHUT_WR（发送 FIN）',
    inetDgram: 'UDP；协议选 icmp 时为 ICMP 回显',
    inetRaw: '原始 IP：ICMP，仅限 netns 模式',
    inetSeqpacket: '这里不用于 IP',
    unixStream: 'Unix 字节流',
    unixDgram: 'Unix 数据报',
    unixSeqpacket: 'Unix 有序分组，面向连接',
    unixRaw: '不用于 Unix',
    defaultProtocol: '默认（由协议族和类型决定）',
    default: '默认',
  },
};
const T = localize(TEXTS);


/** Names the call body's schema has had, newest first. */
const SCHEMA_NAMES = ['CallRequest', 'CallBody'];
/** Fields of every call, which the console shows on their own rather than per call. */
export const COMMON_FIELDS = new Set(['call', 'host', 'wait_ms', 'encoding']);
/** How a setsockopt value's JSON type reads in the console. */
const VALUE_SHAPES = { boolean: 'bool', integer: 'int', number: 'int', object: 'linger' };

/** The schema `ref` ("#/components/schemas/X") names, or `schema` itself when it is no ref. */
function resolve(doc, schema) {
  let seen = 0;
  while (schema && typeof schema.$ref === 'string' && seen++ < 16) {
    const path = schema.$ref.replace(/^#\//, '').split('/');
    schema = path.reduce((node, part) => (node ? node[part] : undefined), doc);
  }
  return schema || {};
}

/** One object schema from an entry: its `$ref` followed, its `allOf` parts merged. */
function flatten(doc, entry) {
  const schema = resolve(doc, entry);
  const out = { description: schema.description, properties: { ...(schema.properties || {}) }, required: [...(schema.required || [])], oneOf: schema.oneOf };
  for (const part of schema.allOf || []) {
    const inner = flatten(doc, part);
    Object.assign(out.properties, inner.properties);
    out.required.push(...inner.required);
    out.description = out.description || inner.description;
    out.oneOf = out.oneOf || inner.oneOf;
  }
  for (const [name, prop] of Object.entries(out.properties)) out.properties[name] = nonNull(doc, resolve(doc, prop));
  return out;
}

/** A property that is "null or X" (`oneOf`/`anyOf` with a null branch) read as X, with
 * `nullable` set; any other property as it is. */
function nonNull(doc, prop) {
  const branches = prop.oneOf || prop.anyOf;
  if (!Array.isArray(branches) || prop.enum || prop.properties) return prop;
  const isNull = (b) => b.type === 'null' || (Array.isArray(b.enum) && b.enum.length === 1 && b.enum[0] === null);
  const others = branches.map((b) => resolve(doc, b)).filter((b) => !isNull(b));
  if (others.length !== 1 || others.length === branches.length) return prop;
  return { ...others[0], description: prop.description || others[0].description, nullable: true };
}

/** A JSON schema `type` without its `null` (an optional field is `["integer", "null"]`). */
function typeOf(prop) {
  const types = Array.isArray(prop.type) ? prop.type : [prop.type];
  return types.find((t) => t && t !== 'null') || 'string';
}

/** The name of the call an entry describes, or null. */
function callName(entry) {
  const call = entry.properties.call;
  if (!call) return null;
  if (typeof call.const === 'string') return call.const;
  return Array.isArray(call.enum) && typeof call.enum[0] === 'string' ? call.enum[0] : null;
}

/** setsockopt's options and the shape of their values, where the schema says them. */
function optionShapes(doc, entry) {
  // The option field's own list first, for its order; then what the branches add.
  const shapes = {};
  for (const name of entry.properties.option.enum || []) shapes[name] = null;
  for (const branch of entry.oneOf || []) {
    const props = resolve(doc, branch).properties || {};
    const names = props.option ? resolve(doc, props.option).enum || [] : [];
    const value = props.value ? resolve(doc, props.value) : null;
    const shape = value ? VALUE_SHAPES[typeOf(value)] || null : null;
    for (const name of names) if (shape || !(name in shapes)) shapes[name] = shape;
  }
  return shapes;
}

/**
 * The calls in the document, in its order: `[{name, description, fields, options}]`, each
 * field `{name, type, enum, required, description}` in the schema's order, and `options`
 * (for a call with an `option` field) each option's value shape (`bool`, `int`, `linger`,
 * or null when the schema does not say). Throws when the document has no call schema.
 */
export function callsFromOpenApi(doc) {
  const schemas = (doc && doc.components && doc.components.schemas) || {};
  const name = SCHEMA_NAMES.find((n) => schemas[n]);
  if (!name) throw new Error(`the API document has no ${SCHEMA_NAMES.join(' or ')} schema`);
  const root = resolve(doc, schemas[name]);
  const entries = root.oneOf || root.anyOf;
  if (!Array.isArray(entries)) throw new Error(`${name} is not a oneOf of calls`);
  const calls = [];
  for (const raw of entries) {
    const entry = flatten(doc, raw);
    const call = callName(entry);
    if (!call || calls.some((c) => c.name === call)) continue;
    const fields = Object.entries(entry.properties)
      .filter(([field]) => !COMMON_FIELDS.has(field))
      .map(([field, prop]) => ({
        name: field,
        type: typeOf(prop),
        enum: Array.isArray(prop.enum) ? prop.enum.filter((v) => v !== null) : null,
        required: entry.required.includes(field) && !prop.nullable,
        description: prop.description || '',
      }));
    const options = fields.some((f) => f.name === 'option') ? optionShapes(doc, entry) : null;
    calls.push({ name: call, description: entry.description || '', fields, options });
  }
  return calls;
}

// ---------------------------------------------------------------------------------------
// Choices of enum fields, as the console offers them

/** Labels of the choices the console knows, in the order it offers them. */
const CHOICE_LABELS = () => ({
  domain: { inet: 'AF_INET (IPv4)', inet6: 'AF_INET6 (IPv6)', unix: T.afUnix },
  type: { stream: 'SOCK_STREAM', dgram: 'SOCK_DGRAM', seqpacket: 'SOCK_SEQPACKET', raw: 'SOCK_RAW' },
  protocol: { tcp: 'IPPROTO_TCP', udp: 'IPPROTO_UDP', icmp: 'IPPROTO_ICMP', icmpv6: 'IPPROTO_ICMPV6' },
  how: { read: 'SHUT_RD', write: T.shutWr, both: 'SHUT_RDWR' },
});

/** What each type means in each domain, after its C name. */
const TYPE_MEANING = () => ({
  inet: { stream: 'TCP', dgram: T.inetDgram, raw: T.inetRaw, seqpacket: T.inetSeqpacket },
  unix: { stream: T.unixStream, dgram: T.unixDgram, seqpacket: T.unixSeqpacket, raw: T.unixRaw },
});

/** Spellings the server takes for a choice already offered (other than C constant names). */
const ALIASES = {
  domain: ['ipv4', 'ipv6', 'local'],
  type: ['tcp', 'udp'],
};

/**
 * The choices of an enum `field` (as `callsFromOpenApi` gives it): `[[value, label]]`, the
 * values the page knows first in its order, then others the server added; spellings of the
 * same choice (AF_INET, SOCK_STREAM, ipv4…) left out. An optional field starts with
 * `['', 'default …']`, which the console leaves out of the call. `context.domain` words the
 * types for the chosen domain.
 */
export function choicesOf(field, context = {}) {
  const values = field.enum || [];
  const labels = CHOICE_LABELS()[field.name] || {};
  const aliases = new Set(ALIASES[field.name] || []);
  const known = Object.keys(labels).filter((v) => values.includes(v));
  const others = values.filter((v) => !(v in labels) && !aliases.has(v) && !/^[A-Z][A-Z0-9]*_[A-Z0-9_]+$/.test(v));
  const label = (v) => {
    if (field.name === 'type') {
      const meaning = (TYPE_MEANING()[context.domain === 'unix' ? 'unix' : 'inet'] || {})[v];
      return meaning ? `${labels[v]} (${meaning})` : labels[v] || v;
    }
    return labels[v] || v;
  };
  const out = [...known, ...others].map((v) => [v, label(v)]);
  if (!out.length) for (const v of values) out.push([v, v]);
  if (!field.required) out.unshift(['', field.name === 'protocol' ? T.defaultProtocol : T.default]);
  return out;
}

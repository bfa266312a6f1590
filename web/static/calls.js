// The calls the console offers and the fields each takes, read from the server's OpenAPI
// document (`/api/openapi.json`), so that a call added to the server appears in the console
// without touching the page. Pure: a parsed document in, a list out; no DOM.
//
// The call body's schema is `components.schemas.CallRequest` (or `CallBody`, its name in
// documents before the schema was generated from the Rust `Call` type): a `oneOf` with one
// entry per call, `properties.call.enum[0]` (or `const`) its name, its other properties the
// call's fields with their `type` and `enum`, and `required`. Entries may be `$ref`s to other
// schemas or `allOf`s of them. Fields every call has (the host, a blocking call's wait, the
// data's encoding) are the console's own controls, not fields of a call.

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
  for (const [name, prop] of Object.entries(out.properties)) out.properties[name] = resolve(doc, prop);
  return out;
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
        required: entry.required.includes(field),
        description: prop.description || '',
      }));
    const options = fields.some((f) => f.name === 'option') ? optionShapes(doc, entry) : null;
    calls.push({ name: call, description: entry.description || '', fields, options });
  }
  return calls;
}

// Every text the page writes exists in English and Simplified Chinese: each module under
// web/static that writes text exports its table (TEXTS), and this test lists every English text
// without a Chinese one, every Chinese text whose English is gone, every placeholder that the
// two do not share, and every key a module uses but its table lacks. Then a few key functions
// are asked in Chinese.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { LANGS, fill, localize, untranslated, useLang } from '../static/i18n.js';

const STATIC = new URL('../static/', import.meta.url);

/** Modules that write no text of their own: plumbing, state, and the i18n module itself. */
const TEXT_FREE = new Set(['api.js', 'attribution.js', 'i18n.js', 'store.js']);
/** Entry modules run the page when imported: their table is read from their source. */
const ENTRIES = new Set(['landing.js', 'session.js']);

const modules = readdirSync(STATIC).filter((name) => name.endsWith('.js')).sort();

/** A module's exported table: imported, or for an entry module evaluated from its source. */
async function textsOf(name) {
  if (!ENTRIES.has(name)) return (await import(new URL(name, STATIC))).TEXTS;
  const source = readFileSync(new URL(name, STATIC), 'utf8');
  const block = source.match(/^export const TEXTS = (\{[\s\S]*?\n\});$/m);
  assert.ok(block, `${name}: no literal \`export const TEXTS = {…};\``);
  return new Function(`return ${block[1]};`)();
}

const placeholders = (text) => [...String(text).matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('every module that writes text keeps a table in every language', async () => {
  const problems = [];
  for (const name of modules) {
    if (TEXT_FREE.has(name)) continue;
    const texts = await textsOf(name);
    if (!texts) {
      problems.push(`${name}: exports no TEXTS`);
      continue;
    }
    assert.ok(texts.en && Object.keys(texts.en).length, `${name}: no English texts`);
    for (const tag of LANGS.filter((t) => t !== 'en')) {
      for (const key of untranslated(texts, tag)) problems.push(`${name}: untranslated into ${tag}: ${key} = ${JSON.stringify(texts.en[key])}`);
      for (const key of Object.keys(texts[tag] || {})) {
        if (!(key in texts.en)) {
          problems.push(`${name}: ${tag} has ${JSON.stringify(key)}, which English no longer has`);
        } else if (placeholders(texts[tag][key]).join() !== placeholders(texts.en[key]).join()) {
          problems.push(`${name}: ${key} has placeholders {${placeholders(texts.en[key])}} in English but {${placeholders(texts[tag][key])}} in ${tag}`);
        }
      }
    }
  }
  assert.deepEqual(problems, [], `texts to translate or fix:\n${problems.join('\n')}`);
});

test('every text a module uses is in its table', async () => {
  const problems = [];
  for (const name of modules) {
    if (TEXT_FREE.has(name)) continue;
    const texts = await textsOf(name);
    const source = readFileSync(new URL(name, STATIC), 'utf8');
    for (const [, key] of source.matchAll(/\bT\.(\w+)/g)) {
      if (!(key in texts.en)) problems.push(`${name}: T.${key}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the text-free modules write no text', () => {
  for (const name of TEXT_FREE) {
    const source = readFileSync(new URL(name, STATIC), 'utf8');
    if (name === 'i18n.js') continue;
    assert.doesNotMatch(source, /export const TEXTS/, name);
  }
});

test('a missing text falls back to English', () => {
  const T = localize({ en: { a: 'one', b: 'two {n}' }, 'zh-CN': { a: '一' } });
  useLang('zh-CN');
  try {
    assert.equal(T.a, '一');
    assert.equal(fill(T.b, { n: 2 }), 'two 2');
  } finally {
    useLang('en');
  }
  assert.equal(T.a, 'one');
});

test('key functions speak Chinese', async () => {
  const { expectNext } = await import('../static/hints.js');
  const { kernelText, resultText } = await import('../static/describe.js');
  const { explainPort } = await import('../static/ports.js');
  const { LESSONS, explainSilence } = await import('../static/lessons.js');
  const { stateText } = await import('../static/model.js');
  useLang('zh-CN');
  try {
    assert.equal(expectNext(undefined).why, '还没有套接字：先创建一个');
    assert.match(expectNext({ proto: 'tcp', role: 'listener', tcp: 'LISTEN', queue: 2 }).why, /监听队列里有 2 个连接/);
    assert.equal(resultText({ kind: 'send', status: 'ok', bytes: 5 }), '→ 5 字节');
    assert.equal(resultText({ kind: 'recv', status: 'ok', bytes: 0 }), '→ 0（流结束）');
    assert.match(kernelText({ kind: 'eof', tuple: { proto: 'tcp' } }), /^收到 FIN/);
    assert.match(kernelText({ kind: 'incoming', queue: 1, backlog: 4 }), /监听队列/);
    assert.match(explainPort(80).lines[0], /^端口 80：熟知端口/);
    const tcp = LESSONS.find((l) => l.id === 'tcp');
    assert.equal(tcp.title, 'TCP 服务器与客户端');
    assert.match(tcp.steps[4].text, /三次握手/);
    assert.equal(LESSONS.find((l) => l.id === 'close').title, '四次挥手与 TIME_WAIT');
    assert.match(explainSilence([], 'accept'), /什么也没发/);
    assert.equal(stateText({ proto: 'tcp', local: '10.0.0.1:1', tcp: 'ESTABLISHED' }), 'ESTABLISHED', 'TCP states stay as they are');
    assert.equal(stateText({ proto: 'udp', local: '10.0.0.1:1' }), '已绑定');
  } finally {
    useLang('en');
  }
  assert.equal(LESSONS.find((l) => l.id === 'tcp').title, 'TCP server and client');
});

test('every field of a captured frame is explained in Chinese', async () => {
  const { allFields, fieldName, parseFrame } = await import('../static/layers.js');
  const frames = [];
  for (const name of ['handshake-and-close.json', 'icmp-ping.json']) {
    const events = JSON.parse(readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8'));
    for (const ev of Array.isArray(events) ? events : events.events || []) {
      if (ev.packet && ev.packet.frame) frames.push(ev.packet.frame);
    }
  }
  assert.ok(frames.length > 5, 'the fixtures hold frames');
  const cjk = /[\u2e80-\u9fff\uff00-\uffef]/;
  const english = new Set();
  useLang('zh-CN');
  try {
    for (const frame of frames) {
      for (const { field } of allFields(parseFrame(frame))) {
        if (!cjk.test(field.meaning)) english.add(`${field.name}: ${field.meaning}`);
        if (!cjk.test(fieldName(field.name)) && !/^[A-Z0-9 /]+$/.test(field.name) && !/^Option \d+$/.test(field.name)) english.add(`name ${field.name}`);
      }
    }
  } finally {
    useLang('en');
  }
  assert.deepEqual([...english], [], 'field texts still in English');
});

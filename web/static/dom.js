// Small DOM helpers shared by the views: element builders (no innerHTML, so nothing from
// the server is ever parsed as markup) and formatting of times, sizes and durations.

import { fill as fmt, localize } from './i18n.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Every text this module writes (the units of a duration), in each language. */
export const TEXTS = {
  en: { hours: '{h}h {m}m', minutes: '{m}m {s}s', seconds: '{s}s' },
  'zh-CN': { hours: '{h} 小时 {m} 分', minutes: '{m} 分 {s} 秒', seconds: '{s} 秒' },
};
const T = localize(TEXTS);

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'value' && 'value' in el) el.value = value;
    else if (key === 'checked' || key === 'disabled' || key === 'selected' || key === 'hidden') el[key] = Boolean(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
}

/** An HTML element: h('button', {class: 'x', onclick: f}, 'text', child, …). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** An SVG element, same calling convention as h. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** The element with this id, or a clear error naming it. */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el;
}

/** Bytes for people: 5 B, 1.2 KiB, 3.4 MiB. */
export function fmtBytes(n) {
  if (n === null || n === undefined) return '–';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A duration in ms as 1h 02m, 4m 05s or 12s. */
export function fmtDuration(ms) {
  if (ms <= 0) return fmt(T.seconds, { s: 0 });
  const total = Math.floor(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const pad = (n) => String(n).padStart(2, '0');
  if (hours > 0) return fmt(T.hours, { h: hours, m: pad(minutes) });
  if (minutes > 0) return fmt(T.minutes, { m: minutes, s: pad(seconds) });
  return fmt(T.seconds, { s: seconds });
}

/** Time since the session started: +1.234 s. */
export function fmtOffset(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '';
  return `+${(Math.max(0, ms) / 1000).toFixed(3)}s`;
}

/** Wall-clock time: 14:03:07.123. */
export function fmtClock(ms) {
  const d = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** A host's colour slot (CSS classes host-0 … host-5 cycle). */
export function hostSlot(name) {
  const index = (name || 'A').charCodeAt(0) - 65;
  return `host-${((index % 6) + 6) % 6}`;
}

/** Call f once after the current burst of work, however often this is called meanwhile.
 * (A timer rather than requestAnimationFrame, which a background tab never runs.) */
export function batched(f) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    setTimeout(() => {
      queued = false;
      f();
    }, 0);
  };
}

/** A toggle button for a boolean display choice of the store (`store.state.prefs[key]`):
 * pressed when on (aria-pressed), and kept in step when the choice changes elsewhere. */
export function prefToggle(store, key, attrs, ...children) {
  const button = h('button', { type: 'button', 'aria-pressed': String(Boolean(store.state.prefs[key])), ...attrs }, ...children);
  button.addEventListener('click', () => store.prefer({ [key]: !store.state.prefs[key] }));
  store.subscribe((state) => button.setAttribute('aria-pressed', String(Boolean(state.prefs[key]))));
  return button;
}

// The page's one state: what is known of the session (facts from the latest snapshot, the
// event log, the model rebuilt from it), what the viewer chose (filters, selected event,
// recording position, and display choices remembered in localStorage) and the console's
// last answer. Views subscribe and redraw from it;
// only the actions below change it.

import { applyEvent, emptyModel, reconcile } from './model.js';

/** Where the viewer's display choices are remembered across sessions (localStorage). */
const PREFS_KEY = 'plugboard:prefs';
/** Display choices before the viewer makes any: relative TCP numbers (Wireshark's default),
 * link housekeeping (ARP, neighbour discovery, MLD, IGMP) hidden, the layers overlay off. */
export const DEFAULT_PREFS = { numbers: 'relative', control: false, layers: false };

/** The remembered display choices, checked field by field. */
export function loadPrefs(storage) {
  const prefs = { ...DEFAULT_PREFS };
  try {
    const saved = JSON.parse(storage.getItem(PREFS_KEY) || '{}');
    if (saved.numbers === 'relative' || saved.numbers === 'absolute') prefs.numbers = saved.numbers;
    if (typeof saved.control === 'boolean') prefs.control = saved.control;
    if (typeof saved.layers === 'boolean') prefs.layers = saved.layers;
  } catch {
    // No storage, or something else in it: the defaults.
  }
  return prefs;
}

function browserStorage() {
  try {
    return globalThis.localStorage || null;
  } catch {
    return null; // storage disabled
  }
}

/** Create the store of one session page. */
export function createStore({ id, role, viewerToken }) {
  const state = {
    id,
    /** owner (may make calls) or viewer (read-only). */
    role,
    /** The viewer token, when this page created the session (for the share link). */
    viewerToken,
    /** loading | live | ended | recording | error */
    mode: 'loading',
    /** The stream: connecting | live | reconnecting | ended | closed | offline. */
    connection: 'connecting',
    /** Session facts from the latest snapshot (ids, times, limits, usage, ended). */
    session: null,
    /** Every event known, in seq order. */
    events: [],
    /** Recording: how many events are applied; null when live (all of them). */
    cursor: null,
    /** The session rebuilt from the applied events. */
    model: emptyModel(),
    /** Bumps when the shown events are rebuilt rather than extended (views redraw all). */
    epoch: 0,
    /** Events up to this seq were history when they arrived: drawn without animation. */
    quietUpTo: 0,
    /** Event log filters. */
    filters: { host: '', fd: '', kind: '', errorsOnly: false },
    /** Seq of the event whose details are shown. */
    selected: null,
    /** The last answer the console or a scenario got: {call, status, body} or {call, error}. */
    lastResult: null,
    /** A message over the page: {kind: info|error, text}. */
    banner: null,
    /** Display choices, remembered: {numbers: relative|absolute, control: bool, layers: bool}. */
    prefs: loadPrefs(browserStorage()),
  };
  let waitingSnapshot = null;
  const listeners = new Set();

  const emit = () => {
    for (const f of listeners) f(state);
  };

  const rebuild = (count) => {
    state.model = emptyModel();
    for (const ev of state.events.slice(0, count)) applyEvent(state.model, ev);
    state.epoch += 1;
  };

  const lastSeq = () => (state.events.length ? state.events[state.events.length - 1].seq : 0);

  const factsOf = (snapshot) => {
    const { hosts, pending, ...facts } = snapshot;
    return facts;
  };

  return {
    state,

    /** Call f(state) after every change; returns an unsubscribe function. */
    subscribe(f) {
      listeners.add(f);
      return () => listeners.delete(f);
    },

    /** Seq of the newest event known. */
    lastSeq,

    /** Events the views show: all of them, or a recording's up to its cursor. */
    visibleEvents() {
      return state.cursor === null ? state.events : state.events.slice(0, state.cursor);
    },

    /** A snapshot arrived (first message of the stream, or a refresh). Its kernel figures
     * are applied once the model has reached the same seq. */
    snapshot(snapshot, { history = false } = {}) {
      state.session = factsOf(snapshot);
      if (history) state.quietUpTo = Math.max(state.quietUpTo, snapshot.last_seq);
      if (state.mode === 'loading') state.mode = snapshot.live ? 'live' : 'ended';
      if (state.cursor === null) {
        if (snapshot.last_seq === state.model.lastSeq) reconcile(state.model, snapshot);
        else if (snapshot.last_seq > state.model.lastSeq) waitingSnapshot = snapshot;
      }
      emit();
    },

    /** Events arrived, in seq order; ones already known are skipped. */
    events(list) {
      let added = false;
      for (const ev of list) {
        if (ev.seq <= lastSeq()) continue;
        state.events.push(ev);
        added = true;
        if (state.cursor === null) {
          applyEvent(state.model, ev);
          if (waitingSnapshot && waitingSnapshot.last_seq === ev.seq) {
            reconcile(state.model, waitingSnapshot);
            waitingSnapshot = null;
          }
        }
        if (ev.kind === 'session_ended' && state.session) state.session.ended = ev.reason;
      }
      if (added) emit();
    },

    /** The live session ended. */
    ended(reason) {
      if (state.session) state.session.ended = reason || state.session.ended || 'ended';
      if (state.session) state.session.live = false;
      if (state.mode === 'live') state.mode = 'ended';
      emit();
    },

    /** The stream's state changed. */
    connection(status) {
      state.connection = status;
      emit();
    },

    /** Open an ended session as a recording of these events, rewound to the start. */
    record(snapshot, events) {
      if (snapshot) state.session = factsOf(snapshot);
      state.events = [...events];
      state.mode = 'recording';
      state.cursor = 0;
      state.quietUpTo = 0;
      state.selected = null;
      rebuild(0);
      emit();
    },

    /** Recording: move to the first `count` events applied. */
    seek(count) {
      if (state.cursor === null) return;
      const target = Math.max(0, Math.min(count, state.events.length));
      if (target === state.cursor) return;
      if (target === state.cursor + 1) {
        applyEvent(state.model, state.events[state.cursor]);
      } else {
        rebuild(target);
        state.quietUpTo = target > 0 ? state.events[target - 1].seq : 0;
      }
      state.cursor = target;
      emit();
    },

    /** Event log filters. */
    filter(changes) {
      Object.assign(state.filters, changes);
      emit();
    },

    /** Show one event's details (null: none). */
    select(seq) {
      state.selected = seq;
      emit();
    },

    /** Change display choices and remember them. */
    prefer(changes) {
      Object.assign(state.prefs, changes);
      const storage = browserStorage();
      try {
        if (storage) storage.setItem(PREFS_KEY, JSON.stringify(state.prefs));
      } catch {
        // Storage full or disabled: the choice holds for this page only.
      }
      emit();
    },

    /** The console's or a scenario's last answer. */
    result(result) {
      state.lastResult = result;
      emit();
    },

    /** A message over the page (null clears it). */
    banner(banner) {
      state.banner = banner;
      emit();
    },

    /** Something went wrong before the page could show the session. */
    fail(text) {
      state.mode = 'error';
      state.banner = { kind: 'error', text };
      emit();
    },
  };
}

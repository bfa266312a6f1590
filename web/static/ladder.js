// Ladder view: a sequence diagram with one lane per host and one row per event, time going
// down. Calls sit in their host's lane with their result; kernel events caused by another
// host (a queued connection, arriving bytes, FIN, RST) are drawn as arrows from that host's
// lane; errors are red with the errno and the learner's hint. Rows are appended as events
// arrive and redrawn in full only when the shown log is rebuilt (a recording rewound).

import { h, fill, batched, fmtOffset, fmtClock, hostSlot } from './dom.js';
import { callText, isCall, kernelText, resultText } from './describe.js';

/** Rows re-checked for late facts (a pending call's end, an arrow's origin) at most. */
const UNSETTLED_KEPT = 64;
/** Within this many pixels of the bottom, the ladder follows new rows. */
const FOLLOW_SLACK_PX = 48;

/** Mount the view in `el`. */
export function mountLadder(el, store) {
  const head = h('div', { class: 'ladder-head', 'aria-hidden': 'true' });
  const rows = h('ol', { class: 'ladder-rows', 'aria-label': 'Events, oldest first' });
  const scroller = h('div', { class: 'ladder-scroll', tabindex: '0', 'aria-label': 'Ladder diagram' }, head, rows);
  const empty = h('p', { class: 'muted ladder-empty' }, 'No events yet.');
  fill(el, empty, scroller);

  let epoch = -1;
  let lanes = '';
  let count = 0;
  let selected = null;
  const rowBySeq = new Map();
  const unsettled = new Map(); // seq → signature drawn

  const signature = (ev, model) => {
    const resolved = ev.call_id !== undefined ? model.resolved.get(ev.call_id) : undefined;
    return `${model.peerOf.get(ev.seq) || ''}|${resolved || ''}`;
  };

  const render = () => {
    const state = store.state;
    const events = store.visibleEvents();
    const hosts = state.model.hosts.map((x) => x.name);
    const laneKey = hosts.join(',');
    const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < FOLLOW_SLACK_PX;
    if (state.epoch !== epoch || laneKey !== lanes || events.length < count) {
      epoch = state.epoch;
      lanes = laneKey;
      count = 0;
      rowBySeq.clear();
      unsettled.clear();
      rows.replaceChildren();
      el.style.setProperty('--lanes', String(Math.max(1, hosts.length)));
      fill(head, h('div', { class: 'lh-seq' }, '#'), hosts.map((name) => {
        const host = state.model.hosts.find((x) => x.name === name);
        return h('div', { class: ['lh-lane', hostSlot(name)] },
          h('span', { class: 'lh-name' }, `host ${name}`),
          h('span', { class: 'lh-addr mono' }, host.addrs[0] || ''));
      }));
    }
    const fresh = [];
    for (; count < events.length; count++) {
      const ev = events[count];
      const row = drawRow(ev, state, hosts, store);
      rowBySeq.set(ev.seq, row);
      fresh.push(row);
      if (needsSettling(ev, state.model)) unsettled.set(ev.seq, signature(ev, state.model));
    }
    if (fresh.length) rows.append(...fresh);
    // Facts learned later: a pending call ended, the origin of a RST became known.
    for (const [seq, drawn] of [...unsettled]) {
      const ev = events.find((e) => e.seq === seq);
      if (!ev) {
        unsettled.delete(seq);
        continue;
      }
      const now = signature(ev, state.model);
      if (now !== drawn) {
        const row = drawRow(ev, state, hosts, store);
        rowBySeq.get(seq).replaceWith(row);
        rowBySeq.set(seq, row);
        if (needsSettling(ev, state.model)) unsettled.set(seq, now);
        else unsettled.delete(seq);
      }
    }
    while (unsettled.size > UNSETTLED_KEPT) unsettled.delete(unsettled.keys().next().value);
    if (selected !== state.selected) {
      if (rowBySeq.has(selected)) rowBySeq.get(selected).classList.remove('selected');
      selected = state.selected;
      if (rowBySeq.has(selected)) rowBySeq.get(selected).classList.add('selected');
    }
    empty.hidden = events.length > 0;
    if (fresh.length && (atBottom || state.cursor !== null)) scroller.scrollTop = scroller.scrollHeight;
  };

  store.subscribe(batched(render));
  render();
}

function needsSettling(ev, model) {
  if (ev.status === 'pending') return !model.resolved.has(ev.call_id);
  return ['eof', 'reset', 'incoming'].includes(ev.kind) && !model.peerOf.has(ev.seq);
}

function drawRow(ev, state, hosts, store) {
  const model = state.model;
  const lane = ev.host ? hosts.indexOf(ev.host) : -1;
  const call = isCall(ev);
  const classes = ['row', call ? 'is-call' : 'is-kernel', `st-${ev.status}`, `k-${ev.kind}`];
  if (lane < 0) classes.push('is-session');
  if (state.selected === ev.seq) classes.push('selected');
  const row = h('li', {
    class: classes,
    dataset: { seq: ev.seq, kind: ev.kind, status: ev.status, host: ev.host || '', fd: ev.fd ?? '' },
  });
  const started = state.session ? state.session.created_ms : null;
  row.append(h('div', { class: 'r-seq' },
    h('span', { class: 'r-num' }, `#${ev.seq}`),
    h('span', { class: 'r-time', title: fmtClock(ev.time_ms) }, started ? fmtOffset(ev.time_ms - started) : '')));
  for (let i = 0; i < hosts.length; i++) {
    const line = h('span', { class: ['lane-line', hostSlot(hosts[i])], 'aria-hidden': 'true' });
    line.style.gridColumn = String(i + 2);
    row.append(line);
  }

  const peer = model.peerOf.get(ev.seq);
  const from = peer ? hosts.indexOf(peer) : -1;
  if (lane >= 0 && from >= 0 && from !== lane) {
    const lo = Math.min(from, lane);
    const hi = Math.max(from, lane);
    const span = hi - lo + 1;
    const udp = ev.tuple && ev.tuple.proto === 'udp';
    const arrow = h('span', { class: ['arrow', from < lane ? 'ltr' : 'rtl', `k-${ev.kind}`, udp ? 'udp' : null], 'aria-hidden': 'true' });
    arrow.style.gridColumn = `${lo + 2} / ${hi + 3}`;
    arrow.style.marginLeft = `${50 / span}%`;
    arrow.style.marginRight = `${50 / span}%`;
    row.append(arrow);
    row.classList.add('has-arrow');
  }

  const card = h('button', { type: 'button', class: ['card', lane >= 0 ? hostSlot(ev.host) : null], onclick: () => store.select(ev.seq) });
  if (lane >= 0) card.style.gridColumn = String(lane + 2);
  else card.style.gridColumn = `2 / ${hosts.length + 2}`;
  if (lane >= 0 && from >= 0 && from !== lane) card.classList.add(from < lane ? 'from-left' : 'from-right');

  if (call) {
    card.append(h('span', { class: 'c-call mono' }, h('span', { class: 'c-host' }, ev.host), ' ', callText(ev)));
    const result = h('span', { class: ['c-result', `st-${ev.status}`] }, resultText(ev));
    if (ev.status === 'pending') {
      const end = model.resolved.get(ev.call_id);
      result.textContent = end ? `was blocked · ended at #${end}` : 'blocked… waiting for the kernel';
      if (end) row.classList.add('resolved');
    }
    card.append(result);
    if (ev.status === 'error' && ev.errno) {
      card.append(h('span', { class: 'c-errmsg' }, ev.errno.message + (ev.sandbox ? ' (sandbox)' : '')));
      card.append(h('span', { class: 'c-hint' }, ev.hint || ev.errno.hint));
    } else if (ev.hint) {
      card.append(h('span', { class: 'c-hint' }, ev.hint));
    }
    if (ev.call_id !== undefined && ev.status !== 'pending' && model.resolved.get(ev.call_id) === ev.seq) {
      card.append(h('span', { class: 'c-note' }, 'completes the blocked call above'));
    }
  } else {
    const what = ev.kind === 'tcp_state' ? 'TCP state' : ev.kind.replace('_', ' ');
    card.append(h('span', { class: 'c-kernel' },
      lane >= 0 ? h('span', { class: 'c-kind' }, `${ev.host} · ${what}`) : null, lane >= 0 ? ' ' : null, kernelText(ev)));
  }
  // The server's note explains what the sandbox or kernel did; for the kernel events whose
  // line above already says it, it would only repeat.
  const repeats = ['session_started', 'incoming', 'eof', 'reset'].includes(ev.kind) || ev.status === 'pending';
  if (ev.note && !repeats) card.append(h('span', { class: 'c-note' }, ev.note));
  row.append(card);
  return row;
}

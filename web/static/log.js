// Event log view: every event as a line, filtered by host, fd, kind or errors only, and the
// chosen event's full JSON beside it, after what its ports and its ICMP message mean. Lines
// are buttons, so the log is walked with Tab and opened with Enter like any list of links.

import { h, fill, batched, fmtOffset } from './dom.js';
import { summary } from './describe.js';
import { hasIcmp, icmpDirection, icmpHint, icmpLines, icmpSummary } from './icmp.js';
import { portsOfEvent, privilegedRefusal, shortText } from './ports.js';
import { fill as fmt, localize } from './i18n.js';

/** Every text this module writes, in each language. */
export const TEXTS = {
  en: {
    clear: 'Clear filters',
    filters: 'Filters',
    host: 'Host',
    kind: 'Kind',
    errorsOnly: 'Errors only',
    events: 'Events',
    allHosts: 'all hosts',
    allFds: 'all fds',
    allKinds: 'all kinds',
    count: '{shown} of {total} events',
    latest: ' (latest {n} shown)',
    eventTitle: 'Event #{seq} · {kind}',
    close: 'Close',
    json: 'JSON of event {seq}',
    choose: 'Choose an event (here or in the ladder) to see everything it records.',
    portsOf: 'Ports of this event',
    ports: 'Ports',
    icmpOf: 'ICMP message of this event',
    icmp: 'ICMP message',
  },
  'zh-CN': {
    clear: '清除筛选',
    filters: '筛选',
    host: '主机',
    kind: '类型',
    errorsOnly: '只看错误',
    events: '事件',
    allHosts: '所有主机',
    allFds: '所有 fd',
    allKinds: '所有类型',
    count: '{total} 个事件中显示 {shown} 个',
    latest: '（只画出最近 {n} 个）',
    eventTitle: '事件 #{seq} · {kind}',
    close: '关闭',
    json: '事件 {seq} 的 JSON',
    choose: '选一个事件（在这里或时序图中），查看它记录的全部内容。',
    portsOf: '这个事件的端口',
    ports: '端口',
    icmpOf: '这个事件的 ICMP 报文',
    icmp: 'ICMP 报文',
  },
};
const T = localize(TEXTS);


/** Lines drawn at most; older matching events are counted, not drawn. */
const MAX_LINES = 1500;

/** Mount the view in `el`. */
export function mountLog(el, store) {
  const hostSel = h('select', { id: 'log-host', onchange: () => store.filter({ host: hostSel.value }) });
  const fdSel = h('select', { id: 'log-fd', onchange: () => store.filter({ fd: fdSel.value }) });
  const kindSel = h('select', { id: 'log-kind', onchange: () => store.filter({ kind: kindSel.value }) });
  const errorsBox = h('input', { type: 'checkbox', id: 'log-errors', onchange: () => store.filter({ errorsOnly: errorsBox.checked }) });
  const clear = h('button', { type: 'button', class: 'button small ghost', onclick: () => store.filter({ host: '', fd: '', kind: '', errorsOnly: false }) }, T.clear);
  const filters = h('div', { class: 'log-filters', role: 'group', 'aria-label': T.filters },
    h('label', {}, h('span', {}, T.host), hostSel),
    h('label', {}, h('span', {}, 'fd'), fdSel),
    h('label', {}, h('span', {}, T.kind), kindSel),
    h('label', { class: 'check' }, errorsBox, h('span', {}, T.errorsOnly)),
    clear);
  const count = h('p', { class: 'log-count muted small', 'aria-live': 'polite' });
  const list = h('ol', { class: 'log-list', 'aria-label': T.events });
  const detail = h('div', { class: 'log-detail', id: 'log-detail', 'aria-live': 'polite' });
  fill(el, filters, h('div', { class: 'log-body' }, h('div', { class: 'log-main' }, count, h('div', { class: 'log-scroll' }, list)), detail));

  const setOptions = (select, values, label, current) => {
    const wanted = ['', ...values].join('\u0000');
    if (select.dataset.options !== wanted) {
      select.dataset.options = wanted;
      fill(select, h('option', { value: '' }, label), values.map((v) => h('option', { value: v }, v)));
    }
    select.value = current;
  };

  const lineBySeq = new Map();
  let drawnCount = 0;
  let selectedLine = null;

  const line = (e, started, selected) => h('li', {},
    h('button', {
      type: 'button',
      class: ['log-line', `st-${e.status}`, selected ? 'selected' : null],
      dataset: { seq: e.seq, kind: e.kind, status: e.status },
      'aria-pressed': selected ? 'true' : 'false',
      onclick: () => store.select(store.state.selected === e.seq ? null : e.seq),
    },
    h('span', { class: 'l-seq' }, `#${e.seq}`),
    h('span', { class: 'l-time' }, started ? fmtOffset(e.time_ms - started) : ''),
    h('span', { class: 'l-host' }, e.host || '·'),
    h('span', { class: 'l-fd' }, e.fd ?? ''),
    h('span', { class: 'l-kind' }, e.kind),
    h('span', { class: ['l-status', `st-${e.status}`] }, e.status === 'error' && e.errno ? e.errno.name : e.status),
    h('span', { class: 'l-sum' }, summary(e))));

  const render = () => {
    const state = store.state;
    const events = store.visibleEvents();
    const f = state.filters;
    const hosts = state.model.hosts.map((x) => x.name);
    const fds = [...new Set(events.filter((e) => e.fd !== undefined && (!f.host || e.host === f.host)).map((e) => String(e.fd)))].sort((a, b) => a - b);
    const kinds = [...new Set(events.map((e) => e.kind))].sort();
    setOptions(hostSel, hosts, T.allHosts, f.host);
    setOptions(fdSel, fds, T.allFds, f.fd);
    setOptions(kindSel, kinds, T.allKinds, f.kind);
    errorsBox.checked = f.errorsOnly;

    const shown = events.filter((e) =>
      (!f.host || e.host === f.host)
      && (!f.fd || String(e.fd) === f.fd)
      && (!f.kind || e.kind === f.kind)
      && (!f.errorsOnly || e.status === 'error'));
    count.textContent = `${fmt(T.count, { shown: shown.length, total: events.length })}${shown.length > MAX_LINES ? fmt(T.latest, { n: MAX_LINES }) : ''}`;
    const started = state.session ? state.session.created_ms : 0;
    const scroller = list.parentElement;
    const follow = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
    const key = `${state.epoch}|${JSON.stringify(f)}`;
    if (list.dataset.key !== key || shown.length < drawnCount) {
      // Filters changed or the log was rebuilt: draw from scratch.
      list.dataset.key = key;
      list.replaceChildren();
      lineBySeq.clear();
      drawnCount = 0;
    }
    const fresh = shown.slice(drawnCount).slice(-MAX_LINES).map((e) => {
      const li = line(e, started, state.selected === e.seq);
      lineBySeq.set(e.seq, li.firstChild);
      return li;
    });
    drawnCount = shown.length;
    list.append(...fresh);
    while (list.childElementCount > MAX_LINES) {
      lineBySeq.delete(Number(list.firstElementChild.firstChild.dataset.seq));
      list.firstElementChild.remove();
    }
    if (selectedLine !== state.selected) {
      const before = lineBySeq.get(selectedLine);
      if (before) {
        before.classList.remove('selected');
        before.setAttribute('aria-pressed', 'false');
      }
      selectedLine = state.selected;
      const now = lineBySeq.get(selectedLine);
      if (now) {
        now.classList.add('selected');
        now.setAttribute('aria-pressed', 'true');
      }
    }
    if (fresh.length && follow) scroller.scrollTop = scroller.scrollHeight;

    const chosen = state.selected !== null ? events.find((e) => e.seq === state.selected) : null;
    const detailKey = chosen ? `#${chosen.seq}` : '';
    if (detail.dataset.key !== detailKey) {
      detail.dataset.key = detailKey;
      if (chosen) {
        fill(detail,
          h('div', { class: 'detail-head' },
            h('h3', {}, fmt(T.eventTitle, { seq: chosen.seq, kind: chosen.kind })),
            h('button', { type: 'button', class: 'button small ghost', onclick: () => store.select(null) }, T.close)),
          portsPanel(chosen, state.model),
          icmpPanel(chosen),
          h('pre', { class: 'json mono', tabindex: '0', 'aria-label': fmt(T.json, { seq: chosen.seq }) }, JSON.stringify(chosen, null, 2)));
      } else {
        fill(detail, h('p', { class: 'muted' }, T.choose));
      }
    }
  };

  store.subscribe(batched(render));
  render();
}

/** What the ports of an event mean: each one's range, and whether the kernel chose it. */
function portsPanel(ev, model) {
  const ports = portsOfEvent(ev, model, model.portNotes.get(ev.seq) || null);
  const refused = privilegedRefusal(ev);
  if (!ports.length && !refused) return null;
  return h('section', { class: 'detail-ports', 'aria-label': T.portsOf },
    h('h4', {}, T.ports),
    h('ul', {}, ports.map((p) => h('li', {},
      h('span', { class: 'mono' }, `${p.role} ${p.port}`), ' ',
      h('span', { class: ['port-tag', `port-${p.explained.short}`] }, shortText(p.explained.short)),
      h('span', { class: 'small muted port-why' }, ` ${p.explained.lines.join(' ')}`)))),
    refused ? h('p', { class: 'small hint' }, refused) : null);
}

/** The ICMP message an event carries (sent, read or waiting), decoded by the server: its
 * summary, every field in words, and what a wrong checksum brings when the server's hint
 * does not already say it. */
function icmpPanel(ev) {
  if (!hasIcmp(ev)) return null;
  const hint = ev.hint ? null : icmpHint(ev.icmp, icmpDirection(ev));
  return h('section', { class: 'detail-icmp', 'aria-label': T.icmpOf },
    h('h4', {}, T.icmp),
    h('p', { class: 'mono' }, icmpSummary(ev.icmp)),
    h('ul', {}, icmpLines(ev.icmp).map((line) => h('li', { class: 'small muted' }, line))),
    hint ? h('p', { class: 'small hint' }, hint) : null);
}

// Ladder view: a sequence diagram with one lane per host and one row per event, time going
// down. Calls sit in their host's lane with their result. In netns mode every packet a host
// sent is an arrow from its lane to the receiver's, slanting down, labelled as the textbooks
// write it (SYN seq=0, SYN+ACK seq=0 ack=1); a call and the packets it caused share a bracket
// ending at its result, and a result that a packet explains (ECONNREFUSED ← RST) links to it.
// Without packets (loopback mode, which says why) kernel events caused by another host are
// drawn as arrows from that host's lane. Errors are red with the errno and the learner's hint.
// Rows are appended as events arrive and redrawn in full only when the shown log is rebuilt
// (a recording rewound); display choices only relabel or restyle the rows already drawn.
// Every row's ports tell their range on hover, a call that made the kernel choose a port says
// so, an ICMP message sent, read or waiting reads in one line (with what a wrong checksum
// brings), and the layers overlay (a display choice) tags each row with its layer.

import { h, s, fill, batched, fmtOffset, fmtClock, hostSlot, prefToggle } from './dom.js';
import { callText, fmtGap, isCall, kernelText, packetLabel, packetShort, resultText } from './describe.js';
import { eventHost } from './attribution.js';
import { hasIcmp, icmpDirection, icmpHint, icmpLines, icmpSummary } from './icmp.js';
import { OVERLAY, overlayOfEvent } from './layers.js';
import { packetLanes } from './model.js';
import { explainPort, portTitle, portsOfEvent, privilegedRefusal } from './ports.js';
import { fill as fmt, localize } from './i18n.js';

/** Every text this module writes, in each language. */
export const TEXTS = {
  en: {
    relative: 'relative',
    absolute: 'absolute',
    seqNumbers: 'TCP sequence numbers',
    controlTitle: 'ARP, IPv6 neighbour discovery, MLD and IGMP: the link looking after itself',
    download: 'Download capture (.pcapng)',
    layersTitle: 'Tag each row with its layer of the TCP/IP model',
    layers: 'Layers',
    rows: 'Events, oldest first',
    ladder: 'Ladder diagram',
    empty: 'No events yet.',
    onWire: 'Packets on the wire',
    captured: ' · {n} captured at their sender, kernel timestamps',
    dropped: ' · {n} not kept (limit {max} packets)',
    noPackets: 'No packets in this session. ',
    noCapture: 'This session was recorded without a packet capture.',
    host: 'host {name}',
    gapTitle: '{clock} · Δ: kernel time since the packet before',
    everyone: 'everyone on the link',
    where: '{from} → {to} on {iface}',
    pktTitle: '{summary}\n{where} · {len} bytes{cause}{ports}\nOpen its layers',
    causedBy: ' · caused by call {id}',
    ownAccord: ' · the kernel on its own',
    pktLabel: 'Packet {seq}: {summary}, {where}. Open its layers',
    packet: 'packet',
    show: 'Show packet #{seq}{why}',
    wasBlocked: 'was blocked · ended at #{end}',
    blockedWaiting: 'blocked… waiting for the kernel',
    sandbox: ' (sandbox)',
    chosePort: ' the kernel chose port {port}: ephemeral',
    completes: 'completes the blocked call above',
    behindError: 'the packet behind {what}',
    thisError: 'this error',
    sentByCall: 'the packet this call sent',
    answeredBy: 'answered by ',
    sent: 'sent ',
    tcpState: 'TCP state',
    kernelSocket: 'kernel socket',
    incoming: 'incoming',
    data: 'data',
    eof: 'eof',
    reset: 'reset',
    isolation: 'isolation',
    readFrom: 'read from packet #{seq} · too brief to observe on the socket',
    readFromLink: 'read from ',
    stateFrom: 'the packet this state was read from',
    from: 'from ',
    behindEvent: 'the packet behind this event',
  },
  'zh-CN': {
    relative: '相对',
    absolute: '绝对',
    seqNumbers: 'TCP 序号',
    controlTitle: 'ARP、IPv6 邻居发现、MLD 和 IGMP：链路自身的维护流量',
    download: '下载抓包文件（.pcapng）',
    layersTitle: '给每一行标上它属于 TCP/IP 模型的哪一层',
    layers: '分层',
    rows: '事件，最早的在前',
    ladder: '时序图',
    empty: '还没有事件。',
    onWire: '线路上的数据包',
    captured: ' · 在发送方抓到 {n} 个，时间为内核时间戳',
    dropped: ' · {n} 个未保留（上限 {max} 个）',
    noPackets: '这个会话没有数据包。',
    noCapture: '这个会话录制时没有抓包。',
    host: '主机 {name}',
    gapTitle: '{clock} · Δ：距上一个数据包的内核时间',
    everyone: '链路上的所有主机',
    where: '{from} → {to}，经 {iface}',
    pktTitle: '{summary}\n{where} · {len} 字节{cause}{ports}\n点击查看各层',
    causedBy: ' · 由调用 {id} 引发',
    ownAccord: ' · 内核自行发出',
    pktLabel: '数据包 {seq}：{summary}，{where}。点击查看各层',
    packet: '数据包',
    show: '显示数据包 #{seq}{why}',
    wasBlocked: '曾阻塞 · 于 #{end} 结束',
    blockedWaiting: '阻塞中… 等待内核',
    sandbox: '（沙箱）',
    chosePort: ' 内核选了端口 {port}：临时端口',
    completes: '结束了上面那个阻塞的调用',
    behindError: '导致 {what} 的数据包',
    thisError: '这个错误',
    sentByCall: '这个调用发出的数据包',
    answeredBy: '应答来自 ',
    sent: '发出 ',
    tcpState: 'TCP 状态',
    kernelSocket: '内核套接字',
    incoming: '新连接',
    data: '数据到达',
    eof: '流结束',
    reset: '复位',
    isolation: '隔离',
    readFrom: '从数据包 #{seq} 读出 · 太短暂，在套接字上观察不到',
    readFromLink: '读自 ',
    stateFrom: '读出这个状态的数据包',
    from: '来自 ',
    behindEvent: '这个事件背后的数据包',
  },
};
const T = localize(TEXTS);


/** Rows re-checked for late facts (a pending call's end, an arrow's origin) at most. */
const UNSETTLED_KEPT = 64;
/** Within this many pixels of the bottom, the ladder follows new rows. */
const FOLLOW_SLACK_PX = 48;
/** How long a row jumped to stays highlighted. */
const FLASH_MS = 1800;
/** Arrowheads, one per colour of packet arrow. */
const HEADS = ['pkt', 'syn', 'fin', 'rst', 'data', 'udp', 'ctl'];

/** Whether the session's packets are captured (netns mode). */
export function captureOn(session) {
  return Boolean(session && session.capture && session.capture.enabled);
}

/** Mount the view in `el`. `inspect(ev)` opens a packet's layers; `download()` saves the
 * session's capture. */
export function mountLadder(el, store, { inspect = () => {}, download = null } = {}) {
  const defs = s('svg', { class: 'ladder-defs', width: '0', height: '0', 'aria-hidden': 'true', focusable: 'false' },
    s('defs', {}, HEADS.map((name) => s('marker', {
      id: `head-${name}`, viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse', markerUnits: 'userSpaceOnUse',
    }, s('path', { d: 'M0,0 L10,5 L0,10 z', class: `head head-${name}` })))));

  // The bar: how numbers are shown, whether link housekeeping is, the capture file, and
  // what the capture is (or why there is none).
  const relative = h('button', { type: 'button', class: 'seg-item', id: 'ladder-numbers-relative', 'aria-pressed': 'true', onclick: () => store.prefer({ numbers: 'relative' }) }, T.relative);
  const absolute = h('button', { type: 'button', class: 'seg-item', id: 'ladder-numbers-absolute', 'aria-pressed': 'false', onclick: () => store.prefer({ numbers: 'absolute' }) }, T.absolute);
  const numbers = h('div', { class: 'ladder-numbers', role: 'group', 'aria-label': T.seqNumbers },
    h('span', { class: 'muted small' }, 'seq/ack'), h('div', { class: 'seg small' }, relative, absolute));
  const controlBox = h('input', { type: 'checkbox', id: 'ladder-control', onchange: () => store.prefer({ control: controlBox.checked }) });
  const control = h('label', { class: 'check small', title: T.controlTitle },
    controlBox, h('span', {}, 'ARP/ND/MLD'));
  const saving = { busy: false };
  const downloadButton = h('button', { type: 'button', class: 'button small', id: 'capture-download' }, T.download);
  downloadButton.addEventListener('click', async () => {
    if (!download || saving.busy) return;
    saving.busy = true;
    downloadButton.disabled = true;
    try {
      await download();
    } finally {
      saving.busy = false;
      downloadButton.disabled = false;
    }
  });
  const captureNote = h('p', { class: 'ladder-capture small', id: 'ladder-capture', role: 'note' });
  const tools = h('div', { class: 'ladder-tools' }, numbers, control, download ? downloadButton : null);
  const layersButton = prefToggle(store, 'layers', { class: 'button small ghost layers-toggle', id: 'ladder-layers', title: T.layersTitle }, T.layers);
  const bar = h('div', { class: 'ladder-bar', id: 'ladder-bar' }, captureNote, h('div', { class: 'ladder-tools' }, layersButton), tools);

  const head = h('div', { class: 'ladder-head', 'aria-hidden': 'true' });
  const rows = h('ol', { class: 'ladder-rows', 'aria-label': T.rows });
  const scroller = h('div', { class: 'ladder-scroll', tabindex: '0', 'aria-label': T.ladder }, head, rows);
  const empty = h('p', { class: 'muted ladder-empty' }, T.empty);
  fill(el, defs, bar, empty, scroller);

  let epoch = -1;
  let lanes = '';
  let count = 0;
  let selected = null;
  let shownNumbers = store.state.prefs.numbers;
  let barKey = '';
  const rowBySeq = new Map();
  const unsettled = new Map(); // seq → {ev, drawn: signature drawn}
  /** Packet events drawn, by seq, with their label element (relabelled on a toggle). */
  const packets = new Map();
  /** Calls whose packets were drawn and whose result was not yet: call_id → first packet seq. */
  const groupStart = new Map();
  /** Rows inside a call's bracket: seq → grp-start | grp-mid | grp-end. */
  const grouped = new Map();
  let lastTs = null; // kernel timestamp of the last packet drawn

  const signature = (ev, model) => {
    const resolved = ev.call_id !== undefined ? model.resolved.get(ev.call_id) : undefined;
    return `${model.peerOf.get(ev.seq) || ''}|${resolved || ''}`;
  };

  /** Scroll to a packet's row and light it up (from a result's or a state's link). */
  const jump = (seq) => {
    const row = rowBySeq.get(seq);
    if (!row) return;
    if (row.classList.contains('is-control') && !store.state.prefs.control) store.prefer({ control: true });
    row.classList.remove('flash');
    // Restart the highlight even when the same row is jumped to twice.
    void row.offsetWidth;
    row.classList.add('flash');
    setTimeout(() => row.classList.remove('flash'), FLASH_MS);
    row.scrollIntoView({ block: 'center', behavior: 'smooth' });
    const target = row.querySelector('.pkt');
    if (target) target.focus({ preventScroll: true });
    store.select(seq);
  };

  const view = { store, inspect, jump, packets };

  const mark = (seq, cls) => {
    grouped.set(seq, cls);
    const row = rowBySeq.get(seq);
    if (row) row.classList.add('grp', cls);
  };

  /** Bracket the rows from a call's first packet to its result. */
  const closeGroup = (callId, endSeq) => {
    const start = groupStart.get(callId);
    groupStart.delete(callId);
    let row = rowBySeq.get(start);
    while (row) {
      const seq = Number(row.dataset.seq);
      mark(seq, seq === start ? 'grp-start' : seq === endSeq ? 'grp-end' : 'grp-mid');
      row.dataset.group = String(callId);
      if (seq === endSeq) break;
      row = row.nextElementSibling;
    }
  };

  const drawBar = (state) => {
    const session = state.session;
    const on = captureOn(session);
    const capture = session && session.capture;
    const shownPackets = state.model.packets.length;
    const key = `${on}|${capture ? capture.reason : ''}|${shownPackets}|${capture ? capture.dropped : ''}|${state.prefs.numbers}|${state.prefs.control}|${Boolean(session)}`;
    if (key === barKey) return;
    barKey = key;
    relative.setAttribute('aria-pressed', String(state.prefs.numbers === 'relative'));
    absolute.setAttribute('aria-pressed', String(state.prefs.numbers === 'absolute'));
    controlBox.checked = state.prefs.control;
    tools.hidden = !on;
    el.classList.toggle('has-capture', on);
    captureNote.dataset.capture = on ? 'on' : 'off';
    if (!session) {
      fill(captureNote);
    } else if (on) {
      const dropped = (capture.dropped || 0) + (capture.kernel_dropped || 0);
      fill(captureNote,
        h('strong', {}, T.onWire), fmt(T.captured, { n: shownPackets }),
        dropped ? h('span', { class: 'warn' }, fmt(T.dropped, { n: dropped, max: capture.max_packets })) : null);
    } else {
      fill(captureNote,
        h('strong', {}, T.noPackets),
        capture && capture.reason ? capture.reason : T.noCapture);
    }
  };

  const render = () => {
    const state = store.state;
    const events = store.visibleEvents();
    const hosts = state.model.hosts.map((x) => x.name);
    const laneKey = hosts.join(',');
    const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < FOLLOW_SLACK_PX;
    drawBar(state);
    el.classList.toggle('show-control', state.prefs.control);
    el.classList.toggle('show-layers', Boolean(state.prefs.layers));
    if (state.epoch !== epoch || laneKey !== lanes || events.length < count) {
      epoch = state.epoch;
      lanes = laneKey;
      count = 0;
      rowBySeq.clear();
      unsettled.clear();
      packets.clear();
      groupStart.clear();
      grouped.clear();
      lastTs = null;
      rows.replaceChildren();
      el.style.setProperty('--lanes', String(Math.max(1, hosts.length)));
      fill(head, h('div', { class: 'lh-seq' }, '#'), hosts.map((name) => {
        const host = state.model.hosts.find((x) => x.name === name);
        return h('div', { class: ['lh-lane', hostSlot(name)] },
          h('span', { class: 'lh-name' }, fmt(T.host, { name })),
          h('span', { class: 'lh-addr mono' }, host.addrs[0] || ''));
      }));
    }
    if (shownNumbers !== state.prefs.numbers) {
      shownNumbers = state.prefs.numbers;
      for (const { ev, label } of packets.values()) label.textContent = packetLabel(ev.packet, shownNumbers);
    }
    const fresh = [];
    const closing = [];
    const wire = captureOn(state.session);
    for (; count < events.length; count++) {
      const ev = events[count];
      let gap = null;
      if (ev.kind === 'packet' && ev.packet) {
        gap = lastTs !== null ? ev.packet.ts_ns - lastTs : null;
        lastTs = ev.packet.ts_ns;
      }
      const row = drawRow(ev, state, hosts, view, { wire, gap });
      rowBySeq.set(ev.seq, row);
      fresh.push(row);
      if (needsSettling(ev, state.model, wire)) unsettled.set(ev.seq, { ev, drawn: signature(ev, state.model) });
      const callId = ev.call_id;
      if (callId !== undefined && callId !== null) {
        if (ev.kind === 'packet') {
          // The bracket starts at the call's first packet shown by default (an ARP the
          // call caused is inside it, hidden unless asked for).
          if (!groupStart.has(callId) && !(ev.packet && ev.packet.control)) groupStart.set(callId, ev.seq);
        } else if (ev.status !== 'observed' && groupStart.has(callId)) {
          closing.push([callId, ev.seq]);
        }
      }
    }
    if (fresh.length) rows.append(...fresh);
    for (const [callId, seq] of closing) closeGroup(callId, seq);
    // Facts learned later: a pending call ended, the origin of a RST became known.
    for (const [seq, { ev, drawn }] of [...unsettled]) {
      const now = signature(ev, state.model);
      if (now !== drawn) {
        const row = drawRow(ev, state, hosts, view, { wire, gap: null });
        const cls = grouped.get(seq);
        if (cls) {
          row.classList.add('grp', cls);
          row.dataset.group = rowBySeq.get(seq).dataset.group || '';
        }
        rowBySeq.get(seq).replaceWith(row);
        rowBySeq.set(seq, row);
        if (needsSettling(ev, state.model, wire)) unsettled.set(seq, { ev, drawn: now });
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
  return { jump };
}

function needsSettling(ev, model, wire) {
  if (ev.status === 'pending') return !model.resolved.has(ev.call_id);
  return !wire && ['eof', 'reset', 'incoming'].includes(ev.kind) && !model.peerOf.has(ev.seq);
}

function laneLines(row, hosts) {
  for (let i = 0; i < hosts.length; i++) {
    const line = h('span', { class: ['lane-line', hostSlot(hosts[i])], 'aria-hidden': 'true' });
    line.style.gridColumn = String(i + 2);
    row.append(line);
  }
}

/** The row's number and time: since the session started, or for a packet, the kernel time
 * since the packet before it. */
function seqCell(ev, state, gap) {
  const started = state.session ? state.session.created_ms : null;
  const time = gap !== null && gap !== undefined
    ? h('span', { class: 'r-time r-gap', title: fmt(T.gapTitle, { clock: fmtClock(ev.time_ms) }) }, `Δ${fmtGap(gap)}`)
    : h('span', { class: 'r-time', title: fmtClock(ev.time_ms) }, started ? fmtOffset(ev.time_ms - started) : '');
  // The row's layer, shown while the layers overlay is on (CSS hides it otherwise).
  const layer = overlayOfEvent(ev);
  const tag = layer ? h('span', { class: ['r-layer', `ov-${layer}`], title: OVERLAY[layer].title }, OVERLAY[layer].short) : null;
  return h('div', { class: 'r-seq' }, h('span', { class: 'r-num' }, `#${ev.seq}`), time, tag);
}

/** Ports a packet carries, in words for its tooltip: "ports 45044 (ephemeral…) → 8080 (…)". */
function packetPorts(packet, hosts) {
  const t = packet.tcp || packet.udp;
  if (!t || t.src_port === undefined) return '';
  const host = (name) => hosts.find((x) => x.name === name) || null;
  const src = explainPort(t.src_port, { role: 'seen', host: host(packet.from) });
  const dst = explainPort(t.dst_port, { role: 'seen', host: host(packet.to) });
  return src && dst ? `\n${src.lines.join(' ')}\n${dst.lines.join(' ')}` : '';
}

/** The arrow's colour: what the segment does, in textbook order of importance. */
function arrowKind(packet) {
  if (packet.control) return 'ctl';
  if (packet.proto === 'udp') return 'udp';
  const flags = packet.tcp ? packet.tcp.flags || [] : [];
  if (flags.includes('RST')) return 'rst';
  if (flags.includes('SYN')) return 'syn';
  if (flags.includes('FIN')) return 'fin';
  if (packet.payload_len > 0) return 'data';
  return 'pkt';
}

/** Where a lane's centre is inside a span of lanes, in % of the span's width. */
function laneX(lane, lo, span) {
  return `${(((lane - lo) + 0.5) / span) * 100}%`;
}

function drawPacketRow(ev, state, hosts, view, gap) {
  const packet = ev.packet;
  const lanes = packetLanes(packet, hosts);
  const kind = arrowKind(packet);
  const row = h('li', {
    class: ['row', 'is-kernel', 'is-packet', `st-${ev.status}`, 'k-packet', `pk-${kind}`, packet.control ? 'is-control' : null, lanes.loop ? 'is-loop' : null],
    dataset: {
      seq: ev.seq, kind: 'packet', status: ev.status, host: eventHost(state.model, ev) || '', fd: ev.fd ?? '',
      from: packet.from, to: packet.to || '', callId: ev.call_id ?? '', flags: packet.tcp ? (packet.tcp.flags || []).join('+') : packet.proto,
    },
  });
  row.append(seqCell(ev, state, gap));
  laneLines(row, hosts);
  const label = h('span', { class: 'pkt-text mono' }, packetLabel(packet, state.prefs.numbers));
  const where = fmt(T.where, { from: packet.from, to: packet.to || T.everyone, iface: packet.iface });
  const button = h('button', {
    type: 'button',
    class: ['pkt', `pk-${kind}`],
    title: fmt(T.pktTitle, { summary: packet.summary, where, len: packet.len, cause: ev.call_id !== undefined ? fmt(T.causedBy, { id: ev.call_id }) : T.ownAccord, ports: packetPorts(packet, state.model.hosts) }),
    'aria-label': fmt(T.pktLabel, { seq: ev.seq, summary: packet.summary, where }),
    onclick: () => {
      view.store.select(ev.seq);
      view.inspect(ev);
    },
  }, label);
  view.packets.set(ev.seq, { ev, label });

  if (lanes.from < 0) {
    // A sender this page has no lane for: the packet in words across the ladder.
    button.style.gridColumn = `2 / ${hosts.length + 2}`;
    row.append(button);
    return row;
  }
  const svgAttrs = { class: ['wire-svg', `pk-${kind}`], 'aria-hidden': 'true', focusable: 'false' };
  let svg;
  if (lanes.loop) {
    // Out of the lane and back into it: the host's own loopback.
    svg = s('svg', svgAttrs, s('svg', { x: '50%', y: '0', overflow: 'visible' },
      s('path', { d: 'M0,6 h18 q10,0 10,10 v4 q0,10 -10,10 h-14', class: 'wire-line', 'marker-end': `url(#head-${kind})` })));
    svg.style.gridColumn = String(lanes.from + 2);
    button.style.gridColumn = String(lanes.from + 2);
    button.classList.add('beside');
  } else if (lanes.to !== null) {
    const lo = Math.min(lanes.from, lanes.to);
    const hi = Math.max(lanes.from, lanes.to);
    const span = hi - lo + 1;
    svg = s('svg', svgAttrs, s('line', {
      class: 'wire-line', x1: laneX(lanes.from, lo, span), y1: '12%', x2: laneX(lanes.to, lo, span), y2: '88%', 'marker-end': `url(#head-${kind})`,
    }));
    svg.style.gridColumn = `${lo + 2} / ${hi + 3}`;
    button.style.gridColumn = `${lo + 2} / ${hi + 3}`;
    row.classList.add(lanes.from < lanes.to ? 'ltr' : 'rtl');
  } else {
    // Broadcast or multicast: to every other lane, dashed.
    svg = s('svg', svgAttrs, hosts.map((_, i) => (i === lanes.from ? null : s('line', {
      class: 'wire-line spread', x1: laneX(lanes.from, 0, hosts.length), y1: '12%', x2: laneX(i, 0, hosts.length), y2: '88%', 'marker-end': `url(#head-${kind})`,
    }))));
    svg.style.gridColumn = `2 / ${hosts.length + 2}`;
    button.style.gridColumn = `2 / ${hosts.length + 2}`;
    row.classList.add('is-broadcast');
  }
  row.append(svg, button);
  return row;
}

/** A link from a row to the packet that explains it. */
function packetLink(view, seq, why) {
  const target = view.packets.get(seq);
  const short = target ? packetShort(target.ev.packet) : T.packet;
  return h('button', {
    type: 'button',
    class: 'pkt-link',
    dataset: { packet: seq },
    title: fmt(T.show, { seq, why: why ? `: ${why}` : '' }),
    onclick: (e) => {
      e.stopPropagation();
      view.jump(seq);
    },
  }, `${short} #${seq}`);
}

/** An ICMP message sent, read or waiting, in one line; all of it on hover. */
function icmpLine(ev) {
  return h('span', { class: 'c-icmp mono', title: icmpLines(ev.icmp).join('\n') }, icmpSummary(ev.icmp));
}

function drawRow(ev, state, hosts, view, { wire, gap }) {
  if (ev.kind === 'packet' && ev.packet) return drawPacketRow(ev, state, hosts, view, gap);
  const model = state.model;
  const host = eventHost(model, ev);
  const lane = host ? hosts.indexOf(host) : -1;
  const call = isCall(ev);
  const classes = ['row', call ? 'is-call' : 'is-kernel', `st-${ev.status}`, `k-${ev.kind}`, ev.inferred ? 'inferred' : null];
  if (lane < 0) classes.push('is-session');
  if (state.selected === ev.seq) classes.push('selected');
  const row = h('li', {
    class: classes,
    dataset: { seq: ev.seq, kind: ev.kind, status: ev.status, host: host || '', fd: ev.fd ?? '', callId: ev.call_id ?? '' },
  });
  row.append(seqCell(ev, state));
  laneLines(row, hosts);

  // Without packets, a kernel event another host caused is drawn coming from that host.
  const peer = wire ? null : model.peerOf.get(ev.seq);
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

  const card = h('button', { type: 'button', class: ['card', lane >= 0 ? hostSlot(host) : null], onclick: () => view.store.select(ev.seq) });
  if (lane >= 0) card.style.gridColumn = String(lane + 2);
  else card.style.gridColumn = `2 / ${hosts.length + 2}`;
  if (lane >= 0 && from >= 0 && from !== lane) card.classList.add(from < lane ? 'from-left' : 'from-right');
  const links = [];

  // Every port the event shows, explained on hover.
  const note = model.portNotes.get(ev.seq) || null;
  const ports = portsOfEvent(ev, model, note);
  if (ports.length) card.title = ports.map((p) => portTitle(p.explained)).join('\n');
  if (call) {
    card.append(h('span', { class: 'c-call mono' }, h('span', { class: 'c-host' }, ev.host), ' ', callText(ev)));
    const result = h('span', { class: ['c-result', `st-${ev.status}`] }, resultText(ev));
    if (ev.status === 'pending') {
      const end = model.resolved.get(ev.call_id);
      result.textContent = end ? fmt(T.wasBlocked, { end }) : T.blockedWaiting;
      if (end) row.classList.add('resolved');
    }
    card.append(result);
    if (hasIcmp(ev)) card.append(icmpLine(ev));
    if (ev.status === 'error' && ev.errno) {
      card.append(h('span', { class: 'c-errmsg' }, ev.errno.message + (ev.sandbox ? T.sandbox : '')));
      card.append(h('span', { class: 'c-hint' }, ev.hint || ev.errno.hint));
      const refused = privilegedRefusal(ev);
      if (refused) card.append(h('span', { class: 'c-port' }, refused));
    } else if (ev.hint) {
      card.append(h('span', { class: 'c-hint' }, ev.hint));
    } else if (hasIcmp(ev)) {
      const hint = icmpHint(ev.icmp, icmpDirection(ev));
      if (hint) card.append(h('span', { class: 'c-hint' }, hint));
    }
    // The server's note names the port the kernel chose and its range: the page's line would
    // only repeat it (recordings before `ephemeral_port` have no such note).
    if (note && !(Number.isInteger(ev.ephemeral_port) && ev.note)) {
      const chosen = ports.find((p) => p.role === 'local' && p.port === note.port);
      card.append(h('span', { class: 'c-port', title: chosen ? portTitle(chosen.explained) : '' },
        h('span', { class: 'port-mark', 'aria-hidden': 'true' }, '⚙'), fmt(T.chosePort, { port: note.port })));
    }
    if (ev.call_id !== undefined && ev.status !== 'pending' && model.resolved.get(ev.call_id) === ev.seq) {
      card.append(h('span', { class: 'c-note' }, T.completes));
    }
    if (ev.packet_seq) {
      const why = ev.status === 'error' ? fmt(T.behindError, { what: ev.errno ? ev.errno.name : T.thisError }) : T.sentByCall;
      links.push(h('span', { class: 'c-packet' }, ev.status === 'error' ? T.answeredBy : T.sent, packetLink(view, ev.packet_seq, why)));
    }
  } else if (ev.kind === 'tcp_state' && ev.inferred) {
    // Too brief for any probe: what a packet proves, never shown as observed.
    card.append(h('span', { class: 'c-kernel' },
      lane >= 0 ? h('span', { class: 'c-kind' }, `${host} · ${T.tcpState}`) : null, ' ',
      `${ev.from || '?'} → ${ev.to || '?'}`));
    card.append(h('span', { class: 'c-inferred' }, fmt(T.readFrom, { seq: ev.packet_seq ?? '?' })));
    if (ev.packet_seq) links.push(h('span', { class: 'c-packet' }, T.readFromLink, packetLink(view, ev.packet_seq, T.stateFrom)));
  } else {
    const what = { tcp_state: T.tcpState, kernel_socket: T.kernelSocket, incoming: T.incoming, data: T.data, eof: T.eof, reset: T.reset, isolation: T.isolation }[ev.kind] || ev.kind.replace('_', ' ');
    card.append(h('span', { class: 'c-kernel' },
      lane >= 0 ? h('span', { class: 'c-kind' }, `${host} · ${what}`) : null, lane >= 0 ? ' ' : null, kernelText(ev)));
    if (hasIcmp(ev)) {
      card.append(icmpLine(ev));
      const hint = ev.hint || icmpHint(ev.icmp, icmpDirection(ev));
      if (hint) card.append(h('span', { class: 'c-hint' }, hint));
    }
    if (ev.packet_seq) links.push(h('span', { class: 'c-packet' }, T.from, packetLink(view, ev.packet_seq, T.behindEvent)));
  }
  // The server's note explains what the sandbox or kernel did; for the kernel events whose
  // line above already says it, it would only repeat.
  const repeats = ['session_started', 'incoming', 'eof', 'reset'].includes(ev.kind) || ev.status === 'pending' || ev.inferred;
  if (ev.note && !repeats) {
    const chosen = Number.isInteger(ev.ephemeral_port) ? ports.find((p) => p.role === 'local' && p.port === ev.ephemeral_port) : null;
    card.append(h('span', { class: ['c-note', chosen ? 'c-port-note' : null], title: chosen ? portTitle(chosen.explained) : null }, ev.note));
  }
  row.append(card);
  // Links are buttons of their own, beside the card's text (a button may not hold one).
  if (links.length) {
    const holder = h('div', { class: 'c-links' }, links);
    holder.style.gridColumn = card.style.gridColumn;
    row.append(holder);
    row.classList.add('has-links');
  }
  return row;
}

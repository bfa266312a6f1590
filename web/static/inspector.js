// Packet view: one captured packet taken apart in a dialog. Its layers as a tree, the TCP/IP
// model's four (link, network, transport, application), each field with its value and one
// line on what it means, and the captured bytes as hex; choosing a field (click, or arrow keys
// and Enter) lights up its bytes, and choosing a byte finds its field. The parsing is
// layers.js's; this module only draws. A native modal dialog: focus stays inside, Esc closes,
// focus returns to the packet that opened it.

import { h, fill, fmtBytes } from './dom.js';
import { LAYER_ROLE, allFields, fieldName, hexRows, parseFrame } from './layers.js';
import { fmtGap } from './describe.js';
import { explainPort, portTitle, shortText } from './ports.js';
import { fill as fmt, localize } from './i18n.js';

/** Every text this module writes, in each language. */
export const TEXTS = {
  en: {
    link: 'Link layer',
    network: 'Network layer',
    transport: 'Transport layer',
    application: 'Application layer',
    close: 'Close',
    tree: 'Layers of the packet',
    hex: 'Captured bytes in hex',
    bytesTitle: 'Captured bytes',
    byte: 'byte {n}',
    bytes: 'bytes {from}–{to}',
    likely: ', likely ephemeral',
    title: 'Packet #{seq} · {from} → {to}',
    everyone: 'everyone on the link',
    left: 'left {from} by {iface}{lo} · {len} on the wire, {captured} captured',
    lo: ' (the host’s own loopback)',
    after: ' · {gap} after the session started (kernel time)',
    caused: ' · caused by call {id}',
    own: ' · sent by the kernel on its own, no call',
    housekeeping: ' · link housekeeping',
    span: ' bytes {from}–{to}',
    cutLayer: 'The rest of this layer was not captured (cut at the snap length).',
    unreadable: 'This frame cannot be read: {error}.',
    cut: 'Captured {captured} of {len} bytes: the capture keeps the first {snaplen} bytes of each frame.',
    fewHundred: 'few hundred',
    choose: 'Choose a field to see its bytes.',
  },
  'zh-CN': {
    link: '链路层',
    network: '网络层',
    transport: '传输层',
    application: '应用层',
    close: '关闭',
    tree: '数据包的各层',
    hex: '抓到的字节（十六进制）',
    bytesTitle: '抓到的字节',
    byte: '第 {n} 字节',
    bytes: '第 {from}–{to} 字节',
    likely: '，很可能是临时端口',
    title: '数据包 #{seq} · {from} → {to}',
    everyone: '链路上的所有主机',
    left: '经 {iface} 离开 {from}{lo} · 线路上 {len}，抓到 {captured}',
    lo: '（主机自己的回环接口）',
    after: ' · 会话开始后 {gap}（内核时间）',
    caused: ' · 由调用 {id} 引发',
    own: ' · 内核自行发出，没有调用',
    housekeeping: ' · 链路维护',
    span: ' 第 {from}–{to} 字节',
    cutLayer: '这一层余下的部分没有抓到（在抓包长度处截断）。',
    unreadable: '这个帧无法解析：{error}。',
    cut: '抓到 {len} 字节中的 {captured} 字节：抓包只保留每个帧的前 {snaplen} 字节。',
    fewHundred: '几百',
    choose: '选一个字段，看看它占哪些字节。',
  },
};
const T = localize(TEXTS);


/** Fields of a transport header that hold a port, and whose host's range explains it. */
const PORT_FIELDS = { 'Source port': 'from', 'Destination port': 'to' };


/** Mount the dialog (once per page); returns {open(ev), close()}. */
export function mountInspector(store) {
  const title = h('h2', { id: 'packet-view-title' });
  const closeButton = h('button', { type: 'button', class: 'button small ghost', id: 'packet-view-close' }, T.close);
  const summary = h('p', { class: 'pv-summary mono' });
  const facts = h('p', { class: 'pv-facts muted small' });
  const tree = h('div', { class: 'pv-tree', id: 'packet-view-tree', role: 'tree', 'aria-label': T.tree });
  const hex = h('div', { class: 'pv-hex mono', id: 'packet-view-hex', 'aria-label': T.hex });
  const chosen = h('p', { class: 'pv-chosen small', id: 'packet-view-chosen', 'aria-live': 'polite' });
  const dialog = h('dialog', { class: 'packet-view', id: 'packet-view', 'aria-labelledby': 'packet-view-title' },
    h('header', { class: 'pv-head' }, title, closeButton),
    summary, facts,
    h('div', { class: 'pv-body' }, tree, h('div', { class: 'pv-bytes' }, h('h3', {}, T.bytesTitle), hex, chosen)));
  document.body.append(dialog);

  let opener = null;
  let hexSpans = [];
  let charSpans = [];
  let lit = [0, 0];
  let fieldButtons = [];
  let parsed = null;

  const light = (offset, length) => {
    for (let i = lit[0]; i < lit[0] + lit[1]; i++) {
      if (hexSpans[i]) hexSpans[i].classList.remove('hl');
      if (charSpans[i]) charSpans[i].classList.remove('hl');
    }
    lit = [offset, length];
    for (let i = offset; i < offset + length; i++) {
      if (hexSpans[i]) hexSpans[i].classList.add('hl');
      if (charSpans[i]) charSpans[i].classList.add('hl');
    }
  };

  const choose = (button, { focus = false } = {}) => {
    for (const b of fieldButtons) {
      b.setAttribute('aria-selected', b === button ? 'true' : 'false');
      b.tabIndex = b === button ? 0 : -1;
    }
    const offset = Number(button.dataset.offset);
    const length = Number(button.dataset.length);
    light(offset, length);
    chosen.textContent = `${fieldName(button.dataset.name)}: ${length === 1 ? fmt(T.byte, { n: offset }) : fmt(T.bytes, { from: offset, to: offset + length - 1 })} (0x${offset.toString(16).padStart(4, '0')})`;
    const first = hexSpans[offset];
    if (first) first.scrollIntoView({ block: 'nearest' });
    if (focus) button.focus();
  };

  /** A port field's meaning, with the port's range and the sending or receiving host's
   * ephemeral range; other fields' as they are. */
  const meaningOf = (f, layer, packet) => {
    if (layer !== 'transport' || !(f.name in PORT_FIELDS)) return { text: f.meaning, title: null };
    const name = packet[PORT_FIELDS[f.name]];
    const host = store.state.model.hosts.find((x) => x.name === name) || null;
    const explained = explainPort(Number(f.value), { role: 'seen', host });
    if (!explained) return { text: f.meaning, title: null };
    return { text: `${f.meaning} · ${shortText(explained.range.name)}${explained.lines.length > 1 ? T.likely : ''}`, title: portTitle(explained) };
  };

  const fieldButton = (f, depth, layer, packet) => {
    const meaning = meaningOf(f, layer, packet);
    const button = h('button', {
      type: 'button',
      class: ['pv-field', depth ? 'child' : null],
      role: 'treeitem',
      tabindex: '-1',
      'aria-selected': 'false',
      'aria-level': String(depth + 2),
      dataset: { name: f.name, offset: f.offset, length: f.length },
      onclick: () => choose(button),
      onfocus: () => choose(button),
    },
    h('span', { class: 'pv-name' }, fieldName(f.name)),
    h('span', { class: 'pv-value mono' }, f.value),
    h('span', { class: 'pv-meaning', title: meaning.title }, meaning.text));
    fieldButtons.push(button);
    return h('li', { role: 'none' }, button,
      f.children && f.children.length ? h('ul', { role: 'group' }, f.children.map((c) => fieldButton(c, depth + 1, layer, packet))) : null);
  };

  tree.addEventListener('keydown', (e) => {
    const at = fieldButtons.indexOf(document.activeElement);
    if (at < 0) return;
    let next = null;
    if (e.key === 'ArrowDown') next = fieldButtons[Math.min(fieldButtons.length - 1, at + 1)];
    else if (e.key === 'ArrowUp') next = fieldButtons[Math.max(0, at - 1)];
    else if (e.key === 'Home') next = fieldButtons[0];
    else if (e.key === 'End') next = fieldButtons[fieldButtons.length - 1];
    if (next) {
      e.preventDefault();
      choose(next, { focus: true });
    }
  });

  hex.addEventListener('click', (e) => {
    const index = e.target && e.target.dataset ? Number(e.target.dataset.index) : NaN;
    if (Number.isNaN(index) || !parsed) return;
    // The narrowest field holding this byte.
    let best = null;
    for (const { field } of allFields(parsed)) {
      if (index >= field.offset && index < field.offset + field.length && (!best || field.length < best.length)) best = field;
    }
    if (!best) return;
    const button = fieldButtons.find((b) => Number(b.dataset.offset) === best.offset && Number(b.dataset.length) === best.length && b.dataset.name === best.name);
    if (button) choose(button, { focus: true });
  });

  closeButton.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    if (opener && document.contains(opener)) opener.focus({ preventScroll: true });
    opener = null;
  });
  // A click on the backdrop (outside the dialog's box) closes it too.
  dialog.addEventListener('click', (e) => {
    if (e.target !== dialog) return;
    const r = dialog.getBoundingClientRect();
    if (e.clientX < r.left || e.clientX > r.right || e.clientY < r.top || e.clientY > r.bottom) dialog.close();
  });

  const open = (ev) => {
    const packet = ev.packet;
    if (!packet) return;
    opener = document.activeElement;
    const tcp = packet.tcp || {};
    parsed = parseFrame(packet.frame || '', { relSeq: tcp.rel_seq, relAck: tcp.rel_ack });
    dialog.dataset.seq = String(ev.seq);
    title.textContent = fmt(T.title, { seq: ev.seq, from: packet.from, to: packet.to || T.everyone });
    summary.textContent = packet.summary;
    const started = store.state.session ? store.state.session.created_ms * 1e6 : null;
    fill(facts,
      fmt(T.left, { from: packet.from, iface: packet.iface, lo: packet.iface === 'lo' ? T.lo : '', len: fmtBytes(packet.len), captured: fmtBytes(parsed.bytes.length) }),
      started ? fmt(T.after, { gap: fmtGap(packet.ts_ns - started) }) : '',
      ev.call_id !== undefined && ev.call_id !== null ? fmt(T.caused, { id: ev.call_id }) : T.own,
      packet.control ? T.housekeeping : '');

    fieldButtons = [];
    const sections = parsed.layers.map((l) => h('section', { class: ['pv-layer', `pv-${l.layer}`], dataset: { layer: l.layer, name: l.name } },
      h('h3', { class: 'pv-layer-title' },
        h('span', { class: 'pv-stack' }, T[l.layer]), ' · ', h('span', { class: 'pv-proto' }, fieldName(l.name)),
        h('span', { class: 'pv-span muted' }, fmt(T.span, { from: l.offset, to: l.offset + Math.max(0, l.length - 1) }))),
      h('p', { class: 'pv-role muted small' }, LAYER_ROLE[l.layer]),
      h('ul', { role: 'group' }, l.fields.map((f) => fieldButton(f, 0, l.layer, packet))),
      l.truncated ? h('p', { class: 'pv-cut small' }, T.cutLayer) : null));
    fill(tree,
      parsed.error ? h('p', { class: 'pv-error' }, fmt(T.unreadable, { error: parsed.error })) : null,
      sections,
      packet.cut || parsed.cut ? h('p', { class: 'pv-cut small' }, fmt(T.cut, { captured: parsed.bytes.length, len: packet.len, snaplen: store.state.session && store.state.session.capture ? store.state.session.capture.snaplen : T.fewHundred })) : null);

    hexSpans = [];
    charSpans = [];
    lit = [0, 0];
    fill(hex, hexRows(parsed.bytes).map((row) => h('div', { class: 'pv-row' },
      h('span', { class: 'pv-off' }, row.label),
      h('span', { class: 'pv-hexbytes' }, row.bytes.map((b) => {
        const span = h('span', { class: 'pv-byte', dataset: { index: b.index } }, b.hex);
        hexSpans[b.index] = span;
        return span;
      })),
      h('span', { class: 'pv-chars' }, row.bytes.map((b) => {
        const span = h('span', { class: 'pv-char', dataset: { index: b.index } }, b.char);
        charSpans[b.index] = span;
        return span;
      })))));
    chosen.textContent = T.choose;
    if (fieldButtons[0]) fieldButtons[0].tabIndex = 0;
    if (!dialog.open) dialog.showModal();
    // Start on the transport header when there is one: where the lesson is.
    const start = fieldButtons.find((b) => b.closest('.pv-transport')) || fieldButtons[0];
    if (start) choose(start, { focus: true });
    else closeButton.focus();
  };

  return { open, close: () => dialog.close() };
}

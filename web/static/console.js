// Call console: pick a host, a call and its arguments, and make the call through the API.
// Any call may be made, also one that will fail; the form says what the kernel expects next
// for the chosen socket and lists calls that are blocked. The form is built once and only
// its choices (descriptors, addresses) follow the store, so typing is never interrupted.
// Which calls there are and which fields each takes is the server's word (its OpenAPI
// document, read by `calls.js`); this module only says how each field is presented.

import { h, fill, batched, hostSlot } from './dom.js';
import { joinAddr, parseAddr } from './address.js';
import { choicesOf } from './calls.js';
import { protoName, replyFacts, replyHint } from './describe.js';
import { expectNext } from './hints.js';
import { icmpLines, icmpSummary } from './icmp.js';
import { openSocket, openSockets, stateText } from './model.js';
import { explainPort, portOf, portTitle, privilegedRefusal } from './ports.js';
import { fill as fmt, localize } from './i18n.js';

/** Every text this module writes, in each language. */
export const TEXTS = {
  en: {
    host: 'Host',
    call: 'Call',
    submit: 'Make the call',
    calling: 'Calling…',
    default: 'default',
    blocking: 'Blocking',
    waitHelp: 'how long a blocking call may wait before it is answered as pending',
    fdNumber: 'Descriptor number',
    address: 'address',
    maxBytes: 'max bytes',
    peek: 'MSG_PEEK (leave the bytes queued)',
    on: 'on',
    nonblock: 'O_NONBLOCK on',
    value: 'value',
    other: 'other…',
    otherNone: 'other (no socket open)',
    fdOn: 'fd {fd} on {host} ({what})',
    onHost: 'host {host}',
    nextFor: 'Next for ',
    blockedCalls: 'Blocked calls',
    blockedSince: ' blocked since #{seq} — ends when the kernel can answer, or on close',
    blocked: ' blocked',
    addrPlaceholder: 'ip:port, /path or @name',
    addrTitle: 'ip:port for TCP and UDP ([ip6]:port for IPv6; port 0 lets the kernel choose), a bare IP for ICMP, a path (/tmp/echo.sock) or an @abstract name for a Unix-domain socket',
    field: ' (field: {field})',
    retry: ' — retry in {s} s',
    rejected: 'The API refused the request before any socket saw it.',
    pendingLabel: 'blocked',
    pendingText: ' call {id} is waiting; its end appears in the ladder as an event with the same call id.',
    ok: 'ok',
  },
  'zh-CN': {
    host: '主机',
    call: '调用',
    submit: '发起调用',
    calling: '调用中…',
    default: '默认',
    blocking: '阻塞',
    waitHelp: '阻塞调用最多等多久，超时就以 pending（等待中）作答',
    fdNumber: '描述符编号',
    address: '地址',
    maxBytes: '最多字节数',
    peek: 'MSG_PEEK（读后数据仍留在队列里）',
    on: '开',
    nonblock: '开启 O_NONBLOCK',
    value: '值',
    other: '其他…',
    otherNone: '其他（没有打开的套接字）',
    fdOn: '{host} 上的 fd {fd}（{what}）',
    onHost: '主机 {host}',
    nextFor: '下一步，对 ',
    blockedCalls: '阻塞中的调用',
    blockedSince: ' 自 #{seq} 起阻塞——内核能作答时结束，或在 close 时结束',
    blocked: ' 阻塞中',
    addrPlaceholder: 'ip:端口、/路径 或 @名字',
    addrTitle: 'TCP 和 UDP 用 ip:端口（IPv6 用 [ip6]:端口；端口 0 让内核来选），ICMP 只用 IP，Unix 域套接字用路径（/tmp/echo.sock）或 @抽象名字',
    field: '（字段：{field}）',
    retry: '——{s} 秒后重试',
    rejected: '请求还没到任何套接字，就被 API 拒绝了。',
    pendingLabel: '阻塞',
    pendingText: ' 调用 {id} 正在等待；它结束时，时序图里会出现一个带有相同调用 ID 的事件。',
    ok: '成功',
  },
};
const T = localize(TEXTS);


/** Where a field stands in the form; fields the page does not know come last, as the
 * server lists them. */
const FIELD_ORDER = ['domain', 'type', 'protocol', 'fd', 'option', 'value', 'data', 'addr', 'backlog', 'max', 'peek', 'how', 'on'];

/** The shape of each socket option's value, where the server's document does not say. */
const OPTIONS = {
  SO_REUSEADDR: 'bool',
  SO_REUSEPORT: 'bool',
  SO_LINGER: 'linger',
  SO_RCVBUF: 'int',
  SO_SNDBUF: 'int',
  SO_BROADCAST: 'bool',
  SO_KEEPALIVE: 'bool',
  SO_ERROR: 'int',
  SO_TYPE: 'int',
  TCP_NODELAY: 'bool',
  IPV6_V6ONLY: 'bool',
  IP_TTL: 'int',
};

/** A port the address suggestions use when none is known. */
const SUGGESTED_PORT = 8080;
/** Unix-domain names the address suggestions offer: a path and an abstract name. */
const SUGGESTED_UNIX = ['/tmp/echo.sock', '@echo'];

/** The calls as the form uses them: name → {fields: names in form order, spec: name → field}. */
function formCalls(calls) {
  const rank = (name) => {
    const i = FIELD_ORDER.indexOf(name);
    return i < 0 ? FIELD_ORDER.length : i;
  };
  return Object.fromEntries(calls.map((c) => {
    const fields = c.fields.map((f) => f.name).sort((a, b) => rank(a) - rank(b));
    return [c.name, { fields, spec: Object.fromEntries(c.fields.map((f) => [f.name, f])) }];
  }));
}

/** Mount the console in `el`. `calls` is the server's list of calls (see `calls.js`);
 * `call(body)` makes a call and resolves to the API's answer. */
export function mountConsole(el, store, { call, calls }) {
  const CALLS = formCalls(calls);
  const optionCall = calls.find((c) => c.options);
  /** The options setsockopt takes, and their value's shape: the server's, else this page's. */
  const sockopts = optionCall
    ? Object.fromEntries(Object.entries(optionCall.options).map(([o, shape]) => [o, shape || OPTIONS[o] || 'int']))
    : OPTIONS;
  const values = {
    domain: 'inet', type: 'stream', backlog: '4', data: 'hello', max: '1024', peek: false,
    how: 'write', option: 'SO_REUSEADDR', value: true, valueInt: '65536', lingerOn: true, lingerSeconds: '0', on: true, fdOther: '3', wait: '',
  };
  let host = null;
  let fdChoice = '';
  let busy = false;

  const hostGroup = h('div', { class: 'seg', role: 'radiogroup', 'aria-label': T.host, id: 'console-hosts' });
  const callSel = h('select', { id: 'console-call', name: 'call' },
    Object.keys(CALLS).map((name) => h('option', { value: name }, name)));
  const fields = h('div', { class: 'console-fields', id: 'console-fields' });
  const addrList = h('datalist', { id: 'console-addrs' });
  const expect = h('div', { class: 'expect', id: 'console-expect', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'button primary', id: 'console-submit' }, T.submit);
  const preview = h('code', { class: 'console-preview mono', id: 'console-preview' });
  const waitInput = h('input', { type: 'number', id: 'console-wait', min: '0', step: '100', placeholder: T.default, value: values.wait, oninput: () => { values.wait = waitInput.value; } });
  const result = h('div', { class: 'console-result', id: 'console-result', 'aria-live': 'polite' });
  const pending = h('div', { class: 'console-pending', id: 'console-pending' });
  const form = h('form', { class: 'console-form', id: 'console-form', autocomplete: 'off' },
    h('div', { class: 'row2' },
      h('div', { class: 'field' }, h('span', { class: 'label', id: 'console-host-label' }, T.host), hostGroup),
      h('label', { class: 'field' }, h('span', { class: 'label' }, T.call), callSel)),
    fields,
    h('details', { class: 'more' }, h('summary', {}, T.blocking),
      h('label', { class: 'field inline' }, h('span', { class: 'label' }, 'wait_ms'), waitInput,
        h('span', { class: 'muted small' }, T.waitHelp))),
    expect,
    h('div', { class: 'console-actions' }, submit, preview),
    addrList);
  fill(el, form, result, pending);

  const socketOf = () => {
    if (!host) return undefined;
    const fd = fdChoice === 'other' ? Number(values.fdOther) : Number(fdChoice);
    return fdChoice === '' ? undefined : openSocket(store.state.model, host, fd);
  };

  /** The choices of an enum field of a call, worded for the domain chosen. */
  const choices = (name, field) => {
    const spec = CALLS[name].spec[field];
    return spec && spec.enum && spec.enum.length ? choicesOf(spec, { domain: chosen(name, 'domain') }) : null;
  };
  /** The value chosen for an enum field, or the call's first choice when the value chosen
   * (for another call) is not one of this call's. */
  function chosen(name, field, slot = field) {
    const spec = CALLS[name].spec[field];
    if (!spec || !spec.enum || !spec.enum.length) return values[slot];
    const list = choicesOf(spec, { domain: values.domain });
    return list.some(([v]) => v === values[slot]) ? values[slot] : list[0][0];
  }

  // ------------------------------------------------------------------ the call's body
  const body = () => {
    const name = callSel.value;
    const out = { host, call: name };
    for (const field of CALLS[name].fields) {
      switch (field) {
        case 'fd':
          out.fd = fdChoice === 'other' || fdChoice === '' ? Number(values.fdOther) : Number(fdChoice);
          break;
        case 'domain':
        case 'type':
        case 'how':
          out[field] = chosen(name, field);
          break;
        case 'option':
        case 'data':
          out[field] = values[field];
          break;
        case 'addr':
          // Each call keeps its own address: a bind address is rarely where to connect.
          out.addr = (values[`addr:${name}`] || '').trim() || suggestions(name)[0] || '';
          break;
        case 'backlog':
        case 'max':
          if (values[field] !== '') out[field] = Number(values[field]);
          break;
        case 'peek':
          if (values.peek) out.peek = true;
          break;
        case 'on':
          out.on = Boolean(values.on);
          break;
        case 'value': {
          const shape = sockopts[values.option] || 'int';
          if (shape === 'bool') out.value = Boolean(values.value);
          else if (shape === 'linger') out.value = { onoff: Boolean(values.lingerOn), seconds: Number(values.lingerSeconds || 0) };
          else out.value = Number(values.valueInt);
          break;
        }
        default: {
          // A field the server added that this page has no presentation for.
          const spec = CALLS[name].spec[field];
          const value = spec.enum && spec.enum.length ? chosen(name, field, `field:${field}`) : values[`field:${field}`];
          if (spec.type === 'boolean') out[field] = Boolean(value);
          else if (value === undefined || value === '') break;
          else out[field] = spec.type === 'integer' || spec.type === 'number' ? Number(value) : value;
          break;
        }
      }
    }
    if (values.wait !== '') out.wait_ms = Number(values.wait);
    return out;
  };

  // ------------------------------------------------------------------ suggestions
  const suggestions = (name) => {
    const model = store.state.model;
    const socket = socketOf();
    const v6 = socket ? socket.family === 'inet6' : false;
    const pick = (hostInfo) => {
      const addrs = hostInfo.addrs.filter((a) => (v6 ? true : !a.includes(':')));
      return v6 ? (hostInfo.addrs.find((a) => a.includes(':')) || addrs[0]) : addrs[0];
    };
    const out = [];
    const push = (a) => {
      if (a && !out.includes(a)) out.push(a);
    };
    if (socket && socket.proto === 'unix') {
      // Names on this host only: its sockets' names, then the usual examples.
      for (const other of model.sockets.values()) {
        if (other.closed || other.proto !== 'unix' || other.host !== host || !other.local || other === socket) continue;
        if (name === 'bind') continue;
        if (socket.type === 'dgram' ? other.type === 'dgram' : other.role === 'listener') push(other.local);
      }
      for (const a of SUGGESTED_UNIX) push(a);
      return out;
    }
    if (socket && (socket.proto === 'icmp' || socket.proto === 'icmpv6')) {
      // ICMP has no ports: bare addresses.
      const mine = model.hosts.find((x) => x.name === host);
      if (name === 'bind' && mine) push(pick(mine));
      for (const x of model.hosts) if (x.name !== host) push(pick(x));
      if (mine) push(pick(mine));
      return out;
    }
    if (name === 'bind') {
      const mine = model.hosts.find((x) => x.name === host);
      if (mine) push(joinAddr(pick(mine), SUGGESTED_PORT));
      push(v6 ? '[::]:8080' : `0.0.0.0:${SUGGESTED_PORT}`);
      if (mine) for (const a of mine.addrs) push(joinAddr(a, SUGGESTED_PORT));
    } else {
      const proto = socket ? socket.proto : (name === 'sendto' ? 'udp' : 'tcp');
      for (const other of model.sockets.values()) {
        if (other.closed || !other.local || other.host === host && name !== 'connect') continue;
        if (other.proto !== proto) continue;
        if (proto === 'tcp' && other.role !== 'listener') continue;
        // A wildcard bind (0.0.0.0, ::) is reached at its host's own address.
        const local = parseAddr(other.local);
        if (local && (local.ip === '0.0.0.0' || local.ip === '::')) {
          const owner = model.hosts.find((x) => x.name === other.host);
          if (owner) push(joinAddr(pick(owner), local.port));
        } else {
          push(other.local);
        }
      }
      for (const x of model.hosts) if (x.name !== host) push(joinAddr(pick(x), SUGGESTED_PORT));
      for (const x of model.hosts) for (const a of x.addrs) push(joinAddr(a, SUGGESTED_PORT));
    }
    return out;
  };

  // ------------------------------------------------------------------ fields
  const fdSelect = h('select', { id: 'console-fd', name: 'fd', onchange: () => { fdChoice = fdSelect.value; refresh(); } });
  const fdOther = h('input', { type: 'number', id: 'console-fd-other', min: '0', value: values.fdOther, 'aria-label': T.fdNumber, oninput: () => { values.fdOther = fdOther.value; refresh(); } });

  const input = (field, attrs, slot = field) => {
    const el = h('input', { id: `console-${field}`, name: field, value: values[slot] ?? '', ...attrs });
    el.addEventListener('input', () => {
      values[slot] = attrs && attrs.type === 'checkbox' ? el.checked : el.value;
      showPreview();
    });
    if (attrs && attrs.type === 'checkbox') el.checked = Boolean(values[slot]);
    return el;
  };
  const select = (field, options) => {
    const el = h('select', { id: `console-${field}`, name: field }, options.map(([v, label]) => h('option', { value: v }, label)));
    el.value = options.some(([v]) => v === values[field]) ? values[field] : options[0][0];
    el.addEventListener('change', () => {
      values[field] = el.value;
      // A new domain words the types anew and suggests other addresses.
      if (field === 'option' || field === 'domain') drawFields();
      else showPreview();
    });
    return el;
  };
  const labelled = (text, control, cls) => h('label', { class: ['field', cls] }, h('span', { class: 'label' }, text), control);

  const drawFields = () => {
    const name = callSel.value;
    const parts = [];
    for (const field of CALLS[name].fields) {
      switch (field) {
        case 'fd':
          parts.push(h('div', { class: 'field fd-field' }, h('label', { class: 'label', for: 'console-fd' }, 'fd'), h('div', { class: 'fd-pick' }, fdSelect, fdOther)));
          break;
        case 'domain':
        case 'type':
        case 'how':
          parts.push(labelled(field, select(field, choices(name, field) || [[values[field], values[field]]])));
          break;
        case 'addr': {
          const el = input('addr', { type: 'text', list: 'console-addrs', placeholder: suggestions(name)[0] || ADDR_PLACEHOLDER(), spellcheck: 'false', class: 'mono', title: ADDR_TITLE() }, `addr:${name}`);
          parts.push(labelled(T.address, el, 'wide'));
          break;
        }
        case 'backlog':
          parts.push(labelled('backlog', input('backlog', { type: 'number', min: '0', max: '65535' })));
          break;
        case 'data':
          parts.push(labelled('data', input('data', { type: 'text', class: 'mono', spellcheck: 'false' }), 'wide'));
          break;
        case 'max':
          parts.push(labelled(T.maxBytes, input('max', { type: 'number', min: '0' })));
          break;
        case 'peek':
          parts.push(h('label', { class: 'field check' }, input('peek', { type: 'checkbox' }), h('span', {}, T.peek)));
          break;
        case 'option':
          if (!(values.option in sockopts)) values.option = Object.keys(sockopts)[0];
          parts.push(labelled('option', select('option', Object.keys(sockopts).map((o) => [o, o]))));
          break;
        case 'value': {
          const shape = sockopts[values.option] || 'int';
          if (shape === 'bool') parts.push(h('label', { class: 'field check' }, input('value', { type: 'checkbox' }), h('span', {}, T.on)));
          else if (shape === 'linger') {
            parts.push(h('label', { class: 'field check' }, input('lingerOn', { type: 'checkbox' }), h('span', {}, 'l_onoff')));
            parts.push(labelled('l_linger (s)', input('lingerSeconds', { type: 'number', min: '0' })));
          } else parts.push(labelled(T.value, input('valueInt', { type: 'number' })));
          break;
        }
        case 'on':
          parts.push(h('label', { class: 'field check' }, input('on', { type: 'checkbox' }), h('span', {}, T.nonblock)));
          break;
        default: {
          // A field the server added: a control of its type, labelled with its name.
          const spec = CALLS[name].spec[field];
          const slot = `field:${field}`;
          if (spec.enum && spec.enum.length) {
            const list = choices(name, field);
            if (!list.some(([v]) => v === values[slot])) values[slot] = list[0][0];
            const el = select(slot, list);
            if (spec.description) el.title = spec.description;
            parts.push(labelled(field, el));
          } else if (spec.type === 'boolean') {
            parts.push(h('label', { class: 'field check' }, input(field, { type: 'checkbox', title: spec.description }, slot), h('span', {}, field)));
          } else {
            const type = spec.type === 'integer' || spec.type === 'number' ? 'number' : 'text';
            parts.push(labelled(field, input(field, { type, title: spec.description }, slot)));
          }
          break;
        }
      }
    }
    fill(fields, h('div', { class: 'grid-fields' }, parts));
    refresh();
  };

  const showPreview = () => {
    preview.textContent = JSON.stringify(body());
  };

  // ------------------------------------------------------------------ following the store
  const refresh = () => {
    const state = store.state;
    const model = state.model;
    const names = model.hosts.map((x) => x.name);
    if (!host || !names.includes(host)) host = names[0] || null;
    if (hostGroup.dataset.names !== names.join(',')) {
      hostGroup.dataset.names = names.join(',');
      fill(hostGroup, names.map((name) => h('button', {
        type: 'button', role: 'radio', class: ['seg-item', hostSlot(name)], 'data-host': name,
        onclick: () => setHost(name),
        onkeydown: (e) => {
          const i = names.indexOf(name);
          const next = e.key === 'ArrowRight' || e.key === 'ArrowDown' ? names[(i + 1) % names.length] : e.key === 'ArrowLeft' || e.key === 'ArrowUp' ? names[(i + names.length - 1) % names.length] : null;
          if (next) {
            e.preventDefault();
            setHost(next);
            hostGroup.querySelector(`[data-host="${next}"]`).focus();
          }
        },
      }, name)));
    }
    for (const b of hostGroup.children) {
      const on = b.dataset.host === host;
      b.setAttribute('aria-checked', on ? 'true' : 'false');
      b.tabIndex = on ? 0 : -1;
    }

    // Descriptors of the host, and "other" for any number at all.
    const sockets = host ? openSockets(model, host) : [];
    const options = sockets.map((sk) => [String(sk.fd), `${sk.fd} · ${protoName(sk.proto)}${sk.proto === 'unix' ? ` ${sk.type}` : ''} ${stateText(sk)}${sk.local ? ` ${sk.local}` : ''}`]);
    options.push(['other', sockets.length ? T.other : T.otherNone]);
    const wanted = options.map((o) => o.join('=')).join('|');
    if (fdSelect.dataset.options !== wanted) {
      fdSelect.dataset.options = wanted;
      fill(fdSelect, options.map(([v, label]) => h('option', { value: v }, label)));
    }
    if (!options.some(([v]) => v === fdChoice)) fdChoice = sockets.length ? String(sockets[sockets.length - 1].fd) : 'other';
    fdSelect.value = fdChoice;
    fdOther.hidden = fdChoice !== 'other';

    const list = suggestions(callSel.value);
    const wantedAddrs = list.join('|');
    if (addrList.dataset.options !== wantedAddrs) {
      addrList.dataset.options = wantedAddrs;
      fill(addrList, list.map((a) => h('option', { value: a })));
    }
    const addrInput = fields.querySelector('#console-addr');
    if (addrInput) addrInput.placeholder = list[0] || ADDR_PLACEHOLDER();

    // What the kernel expects next on the chosen socket.
    const usesFd = CALLS[callSel.value].fields.includes('fd');
    const socket = usesFd ? socketOf() : undefined;
    const next = expectNext(usesFd ? socket : (sockets.length ? sockets[sockets.length - 1] : undefined));
    const target = usesFd && socket ? fmt(T.fdOn, { fd: socket.fd, host, what: `${protoName(socket.proto)} ${stateText(socket)}` }) : fmt(T.onHost, { host: host || '?' });
    const expectKey = `${target}|${next.calls.join()}|${callSel.value}|${next.why}`;
    if (expect.dataset.key !== expectKey) {
      // Redrawn only when it changes, so a focused chip keeps its focus as events arrive.
      expect.dataset.key = expectKey;
      fill(expect,
        h('span', { class: 'expect-label' }, T.nextFor, h('strong', {}, target), ': '),
        next.calls.map((c) => h('button', { type: 'button', class: ['chip-button', c === callSel.value ? 'current' : null], 'data-call': c, onclick: () => setCall(c) }, c)),
        h('span', { class: 'expect-why muted' }, next.why));
    }

    // Calls that are blocked now.
    const blocked = [...model.pending.values()];
    const pendingKey = blocked.map((p) => `${p.call_id}@${p.seq}`).join();
    if (pending.dataset.key !== pendingKey) {
      pending.dataset.key = pendingKey;
      fill(pending, blocked.length ? [
        h('h3', {}, T.blockedCalls),
        h('ul', {}, blocked.map((p) => h('li', { class: 'pending-item', 'data-call-id': p.call_id },
          h('span', { class: 'spinner', 'aria-hidden': 'true' }),
          h('span', { class: 'mono' }, `${p.host} ${p.kind}(${p.fd ?? ''})`),
          h('span', { class: 'muted small' }, p.seq ? fmt(T.blockedSince, { seq: p.seq }) : T.blocked)))),
      ] : []);
    }

    // The last answer.
    const last = state.lastResult;
    // The answer is drawn again when its event arrives (it tells the port the kernel chose).
    const seq = last && last.body ? last.body.seq : undefined;
    const key = last ? `${last.id}|${seq !== undefined && model.lastSeq >= seq}` : '';
    if (result.dataset.key !== key) {
      result.dataset.key = key;
      fill(result, last ? drawResult(last, model) : []);
    }
    const live = state.mode === 'live' && state.role === 'owner';
    submit.disabled = busy || !live || !host;
    showPreview();
  };

  const setHost = (name) => {
    if (host !== name) {
      host = name;
      fdChoice = '';
    }
    refresh();
  };
  const setCall = (name) => {
    callSel.value = name;
    drawFields();
    callSel.focus();
  };
  callSel.addEventListener('change', drawFields);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    busy = true;
    submit.textContent = T.calling;
    refresh();
    const request = body();
    const answer = await call(request);
    busy = false;
    submit.textContent = T.submit;
    // A new descriptor is what the next call most likely wants.
    if (answer && answer.body && answer.body.status === 'ok' && answer.body.fd !== undefined && ['socket', 'socketpair', 'accept'].includes(request.call)) {
      fdChoice = String(answer.body.fd);
    }
    refresh();
  });

  /** Choose a socket from elsewhere (a plug in the diagram). */
  const pick = (name, fd) => {
    host = name;
    fdChoice = String(fd);
    if (!CALLS[callSel.value].fields.includes('fd')) {
      const socket = openSocket(store.state.model, name, fd);
      callSel.value = expectNext(socket).calls[0];
      drawFields();
    }
    refresh();
    fdSelect.focus();
  };

  drawFields();
  store.subscribe(batched(refresh));
  return { pick };
}

/** What the address field takes, for its placeholder and tooltip. */
const ADDR_PLACEHOLDER = () => T.addrPlaceholder;
const ADDR_TITLE = () => T.addrTitle;

/** One fact of an answer (`replyFacts`); an address with a port tells its range on hover. */
function fact({ name, label, text }, value, model, host) {
  const port = typeof value === 'string' ? portOf(value) : null;
  const hostInfo = model.hosts.find((x) => x.name === host) || null;
  const explained = port !== null ? explainPort(port, { role: name === 'peer' ? 'remote' : null, host: name === 'peer' ? null : hostInfo }) : null;
  return h('span', { class: ['res-fact', explained ? 'has-port' : null], title: explained ? portTitle(explained) : null },
    h('span', { class: 'muted' }, `${label} `), h('span', { class: 'mono' }, text));
}

/** The port the kernel chose for the call answered, from its event, in a sentence. */
function chosenPortNote(b, host, model) {
  const note = b.seq !== undefined ? model.portNotes.get(b.seq) : null;
  if (!note) return null;
  const explained = explainPort(note.port, { chosen: note, host: model.hosts.find((x) => x.name === host) || null });
  return h('p', { class: 'res-port small', title: portTitle(explained) },
    h('span', { class: 'port-mark', 'aria-hidden': 'true' }, '⚙'), ' ', explained.lines.slice(0, 2).join(' '));
}

function drawResult(last, model) {
  const head = h('div', { class: 'res-call mono' }, `${last.request.host} ${last.request.call}(${'fd' in last.request ? last.request.fd : ''})`);
  if (last.error) {
    return [head, h('div', { class: 'res st-rejected' },
      h('strong', {}, `HTTP ${last.error.status || '—'} ${last.error.type || ''}`),
      h('span', {}, ` ${last.error.message}${last.error.field ? fmt(T.field, { field: last.error.field }) : ''}`),
      last.error.retryAfter ? h('span', { class: 'muted' }, fmt(T.retry, { s: last.error.retryAfter })) : null,
      h('p', { class: 'small muted' }, T.rejected))];
  }
  const b = last.body;
  if (b.status === 'error') {
    const refused = privilegedRefusal({ call: last.request.call, addr: last.request.addr, errno: b.errno, sandbox: b.sandbox, hint: b.hint });
    return [head, h('div', { class: 'res st-error' },
      h('strong', { class: 'errno' }, `${b.errno} (${b.code})`), h('span', {}, ` ${b.message}`),
      b.sandbox ? h('span', { class: 'badge small' }, 'sandbox') : null,
      h('p', { class: 'hint' }, b.hint),
      refused ? h('p', { class: 'hint res-port' }, refused) : null)];
  }
  if (b.status === 'pending') {
    return [head, h('div', { class: 'res st-pending' },
      h('strong', {}, T.pendingLabel), h('span', {}, fmt(T.pendingText, { id: b.call_id })))];
  }
  const facts = replyFacts(b).map((f) => fact(f, b[f.name], model, last.request.host));
  const hint = replyHint(last.request, b);
  return [head, h('div', { class: 'res st-ok' }, h('strong', {}, T.ok), ' ', facts,
    icmpResult(b.icmp), hint ? h('p', { class: 'hint' }, hint) : null,
    chosenPortNote(b, last.request.host, model))];
}

/** The ICMP message a call sent or read, decoded by the server: one line, then each field. */
function icmpResult(icmp) {
  if (!icmp) return null;
  return h('div', { class: 'res-icmp' },
    h('p', { class: 'mono' }, h('span', { class: 'muted' }, 'icmp '), icmpSummary(icmp)),
    h('ul', { class: 'small muted' }, icmpLines(icmp).map((line) => h('li', {}, line))));
}

// Guided scenarios view: pick a lesson, then step through it with Next, Play or Reset.
// Each step is one real call through the API, like any user's; descriptors come from the
// answers and addresses from the session's hosts. A step whose outcome is not the one the
// lesson teaches pauses the lesson and says so (the user may have changed things by hand).
// A step may explain itself from what really happened (the packets its call caused, read as
// they arrive); in loopback mode, where there are no packets, it says why instead. A lesson
// only netns mode can run ends after its first step in loopback mode, saying why.

import { h, fill, batched, hostSlot } from './dom.js';
import { LESSONS } from './lessons.js';
import { joinAddr, parseAddr } from './address.js';
import { fill as fmt, localize } from './i18n.js';

/** Every text this module writes, in each language. */
export const TEXTS = {
  en: {
    scenario: 'Scenario',
    nextStep: 'Next step',
    nextOf: 'Next step ({n}/{total})',
    start: 'Start',
    done: 'Done',
    play: 'Play',
    pause: 'Pause',
    reset: 'Reset',
    or: ' or ',
    unexpected: 'This step expected {expected} but got {got}. The lesson is paused: look at the ladder to see why, or reset.',
    finished: 'Done. Reset to run it again, or try another scenario.',
    noPacketsIsolation: 'No packets to read: this session runs in {isolation} isolation, and packets need netns mode (the ladder says why). The call ran all the same.',
    noPackets: 'No packets to read: this session has no packet capture. The call ran all the same.',
    calling: 'Calling…',
    needLive: 'Scenarios make calls, so they need a live session opened with its owner link.',
    expect: 'expect {what}',
    refused: 'refused by the API: {message}',
    pending: 'blocked (pending)',
    peer: 'peer {peer}',
    bytes: '{n} bytes',
    ok: 'ok: {facts}',
    okAlone: 'ok',
  },
  'zh-CN': {
    scenario: '场景',
    nextStep: '下一步',
    nextOf: '下一步（{n}/{total}）',
    start: '开始',
    done: '完成',
    play: '播放',
    pause: '暂停',
    reset: '重置',
    or: ' 或 ',
    unexpected: '这一步预期得到 {expected}，实际得到 {got}。课程已暂停：看看时序图找原因，或者重置。',
    finished: '完成。重置可以再做一遍，也可以换一个场景。',
    noPacketsIsolation: '没有数据包可读：这个会话使用 {isolation} 隔离，而数据包需要 netns 模式（时序图里有说明）。调用照样执行了。',
    noPackets: '没有数据包可读：这个会话没有抓包。调用照样执行了。',
    calling: '调用中…',
    needLive: '场景要发起调用，所以需要用所有者链接打开的进行中会话。',
    expect: '预期 {what}',
    refused: '被 API 拒绝：{message}',
    pending: '阻塞（等待中）',
    peer: '对端 {peer}',
    bytes: '{n} 字节',
    ok: '成功：{facts}',
    okAlone: '成功',
  },
};
const T = localize(TEXTS);


/** Pause between steps when playing. */
const PLAY_STEP_MS = 1100;

/** Mount the view in `el`. `call(body)` makes a call and resolves to the API's answer. */
export function mountScenarios(el, store, { call }) {
  let lesson = LESSONS[0];
  let index = 0; // next step
  let outcomes = []; // per step: {ok, text}
  let ctx = null;
  let busy = false;
  let playing = false;
  let message = null; // {kind, text}

  const picker = h('select', { id: 'scenario-pick', 'aria-label': T.scenario },
    LESSONS.map((l) => h('option', { value: l.id }, l.title)));
  const summary = h('p', { class: 'scenario-summary' });
  const steps = h('ol', { class: 'scenario-steps', id: 'scenario-steps' });
  const next = h('button', { type: 'button', class: 'button primary', id: 'scenario-next' }, T.nextStep);
  const play = h('button', { type: 'button', class: 'button', id: 'scenario-play', 'aria-pressed': 'false' }, T.play);
  const reset = h('button', { type: 'button', class: 'button ghost', id: 'scenario-reset' }, T.reset);
  const status = h('p', { class: 'scenario-status', id: 'scenario-status', role: 'status', 'aria-live': 'polite' });
  fill(el, h('div', { class: 'scenario-head' }, picker), summary,
    h('div', { class: 'scenario-controls' }, next, play, reset), status, steps);

  /** Addresses and ports from the session as it is now. */
  const makeContext = () => {
    const model = store.state.model;
    const c = { fd: {}, uid: {}, peer: {}, calls: {} };
    // The tuple a named step's call left its socket with (e.g. the connect's local port).
    c.tupleOf = (name) => {
      const id = c.calls[name];
      const ev = id === undefined ? null : [...store.state.events].reverse().find((e) => e.call_id === id && e.kind !== 'packet' && e.status !== 'pending');
      return (ev && ev.tuple) || { local: null, remote: null };
    };
    c.ip = (host) => {
      const info = model.hosts.find((x) => x.name === host);
      return info ? (info.addrs.find((a) => !a.includes(':')) || info.addrs[0]) : '0.0.0.0';
    };
    c.addr = (host, port) => joinAddr(c.ip(host), port);
    // A port this session has not used on B yet, so a lesson can be run again.
    const used = new Set();
    for (const ev of store.state.events) {
      for (const text of [ev.addr, ev.tuple && ev.tuple.local]) {
        const parsed = parseAddr(text);
        if (parsed) used.add(parsed.port);
      }
    }
    for (const [name, base] of Object.entries(lesson.ports || {})) {
      let port = base;
      while (used.has(port) || used.has(port + 1)) port += 2;
      used.add(port);
      c[name] = port;
    }
    return c;
  };

  const runStep = async () => {
    if (busy || index >= lesson.steps.length) return false;
    if (store.state.mode !== 'live') return false;
    if (index === 0 || !ctx) ctx = makeContext();
    const step = lesson.steps[index];
    busy = true;
    message = null;
    draw();
    const request = { host: step.host, ...step.call(ctx) };
    const answer = await call(request);
    busy = false;
    // Loopback isolation refuses some things the kernel alone would allow; a step says so.
    const loopback = store.state.session && store.state.session.isolation === 'loopback';
    const expected = [].concat((loopback && step.expectLoopback) || step.expect || 'ok');
    let got;
    if (answer.error) got = `HTTP ${answer.error.status}: ${answer.error.message}`;
    else if (answer.body.status === 'error') got = answer.body.errno;
    else got = answer.body.status;
    const asTaught = expected.includes(got);
    if (!answer.error && step.name && answer.body.call_id !== undefined) ctx.calls[step.name] = answer.body.call_id;
    if (!answer.error && answer.body.status === 'ok') {
      if (step.save && answer.body.fd !== undefined) {
        ctx.fd[step.save] = answer.body.fd;
        ctx.uid[step.save] = answer.body.seq;
      }
      if (step.savePeer && answer.body.peer) ctx.peer[step.savePeer] = answer.body.peer;
      // A socketpair's two sockets: the model keys the second by its event's seq + 0.5.
      if (step.saveFds && Array.isArray(answer.body.fds)) {
        step.saveFds.forEach((name, i) => {
          ctx.fd[name] = answer.body.fds[i];
          ctx.uid[name] = answer.body.seq + i / 2;
        });
      }
    }
    outcomes[index] = { asTaught, text: outcomeText(answer) };
    index += 1;
    if (!asTaught) {
      message = { kind: 'warn', text: fmt(T.unexpected, { expected: expected.join(T.or), got }) };
      playing = false;
    } else if (loopback && step.loopbackEnd) {
      index = lesson.steps.length;
      message = { kind: 'done', text: step.loopbackEnd };
      playing = false;
    } else if (index >= lesson.steps.length) {
      message = { kind: 'done', text: T.finished };
      playing = false;
    }
    draw();
    return asTaught;
  };

  const playLoop = async () => {
    while (playing && index < lesson.steps.length) {
      const ok = await runStep();
      if (!ok || !playing) break;
      if (index < lesson.steps.length) await new Promise((r) => setTimeout(r, PLAY_STEP_MS));
    }
    playing = false;
    draw();
  };

  const doReset = async () => {
    playing = false;
    // Close what this run opened and is still open, so the diagram is clean again.
    if (ctx && store.state.mode === 'live') {
      const model = store.state.model;
      busy = true;
      draw();
      for (const [name, uid] of Object.entries(ctx.uid)) {
        const socket = model.sockets.get(uid);
        if (socket && !socket.closed) {
          const host = socket.host;
          await call({ host, call: 'close', fd: ctx.fd[name] });
        }
      }
      busy = false;
    }
    index = 0;
    outcomes = [];
    ctx = null;
    message = null;
    draw();
  };

  next.addEventListener('click', () => {
    playing = false;
    runStep();
  });
  play.addEventListener('click', () => {
    if (playing) {
      playing = false;
      draw();
      return;
    }
    if (index >= lesson.steps.length) return;
    playing = true;
    draw();
    playLoop();
  });
  reset.addEventListener('click', doReset);
  picker.addEventListener('change', async () => {
    const chosen = LESSONS.find((l) => l.id === picker.value) || LESSONS[0];
    await doReset();
    lesson = chosen;
    draw();
  });

  /** What explanations read: this run's packets, as the store has them now. */
  const runView = () => {
    const session = store.state.session;
    const capture = Boolean(session && session.capture && session.capture.enabled);
    const reason = session && session.capture && session.capture.reason;
    const model = store.state.model;
    return {
      capture,
      noPackets: reason
        ? fmt(T.noPacketsIsolation, { isolation: session.isolation })
        : T.noPackets,
      model,
      packetsOf: (name) => {
        const id = ctx ? ctx.calls[name] : undefined;
        return id === undefined ? [] : (model.callPackets.get(id) || []).filter((ev) => !ev.packet.control);
      },
      tupleOf: (name) => (ctx ? ctx.tupleOf(name) : { local: null, remote: null }),
    };
  };

  function draw() {
    const live = store.state.mode === 'live' && store.state.role === 'owner';
    const done = index >= lesson.steps.length;
    picker.value = lesson.id;
    picker.disabled = busy || playing;
    summary.textContent = lesson.summary;
    next.disabled = !live || busy || playing || done;
    next.textContent = index === 0 ? T.start : done ? T.done : fmt(T.nextOf, { n: index + 1, total: lesson.steps.length });
    el.dataset.done = done ? 'true' : 'false';
    el.dataset.step = String(index);
    play.disabled = !live || (busy && !playing) || done;
    play.textContent = playing ? T.pause : T.play;
    play.setAttribute('aria-pressed', playing ? 'true' : 'false');
    reset.disabled = !live || busy || (index === 0 && !ctx);
    status.className = ['scenario-status', message ? `msg-${message.kind}` : null].filter(Boolean).join(' ');
    status.textContent = message ? message.text : busy ? T.calling : live ? '' : T.needLive;
    const run = runView();
    const explained = lesson.steps.map((step, i) => (outcomes[i] && step.explain ? step.explain(run) : null));
    // The list is redrawn only when it changed: events arrive far more often than steps run.
    const key = JSON.stringify([lesson.id, index, outcomes.map((o) => o && o.text), explained]);
    if (steps.dataset.key === key) return;
    steps.dataset.key = key;
    fill(steps, lesson.steps.map((step, i) => {
      const outcome = outcomes[i];
      // A step never run (the rest of a netns-only lesson in loopback mode) is skipped, not off.
      const ran = i < index ? (outcome ? 'off' : 'skipped') : null;
      const state = ran ? (outcome && outcome.asTaught ? 'done' : ran) : i === index ? 'current' : 'todo';
      return h('li', { class: ['step', `step-${state}`], 'aria-current': state === 'current' ? 'step' : null },
        h('span', { class: ['step-host', hostSlot(step.host)] }, step.host),
        h('div', { class: 'step-body' },
          h('span', { class: 'step-text' }, step.text),
          outcome ? h('span', { class: ['step-outcome', outcome.asTaught ? 'ok' : 'off'] }, outcome.text) : null,
          explained[i] ? h('span', { class: ['step-explain', run.capture ? 'from-packets' : 'no-packets'], 'data-step': i }, explained[i]) : null,
          step.expect && !outcome ? h('span', { class: 'step-expect' }, fmt(T.expect, { what: [].concat(step.expect).join(T.or) })) : null));
    }));
    // Keep the step just run in view when it explains itself, else the next one.
    const previous = index > 0 ? steps.children[index - 1] : null;
    const current = previous && previous.querySelector('.step-explain') ? previous : steps.children[index];
    if (current) {
      // Keep the current step in view inside the list, without scrolling the page.
      const top = current.offsetTop; // the list is positioned, so this is inside it
      if (top < steps.scrollTop || top + current.offsetHeight > steps.scrollTop + steps.clientHeight) {
        steps.scrollTop = Math.max(0, top - steps.clientHeight / 3);
      }
    }
  }

  store.subscribe(batched(() => draw()));
  draw();
}

function outcomeText(answer) {
  if (answer.error) return fmt(T.refused, { message: answer.error.message });
  const b = answer.body;
  if (b.status === 'error') return `${b.errno}: ${b.message}`;
  if (b.status === 'pending') return T.pending;
  const facts = [];
  if (b.fd !== undefined) facts.push(`fd ${b.fd}`);
  if (b.peer) facts.push(fmt(T.peer, { peer: b.peer }));
  if (b.bytes !== undefined) facts.push(fmt(T.bytes, { n: b.bytes }));
  if (b.data !== undefined) facts.push(JSON.stringify(b.data));
  return facts.length ? fmt(T.ok, { facts: facts.join(', ') }) : T.okAlone;
}

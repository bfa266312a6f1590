// Recording view: an ended session replayed event by event. Reset, back, step, play and a
// slider move the store's cursor; every other view redraws from the events up to it. While
// a live session is open, the panel only offers the replay once the session has ended.

import { h, fill, batched } from './dom.js';
import { fill as fmt, localize } from './i18n.js';

/** Every text this module writes, in each language. */
export const TEXTS = {
  en: {
    toStart: 'Back to the start',
    reset: 'Reset',
    oneBack: 'One event back',
    back: '◀ Back',
    oneForward: 'One event forward',
    step: 'Step ▶',
    play: 'Play',
    pause: 'Pause',
    toLast: 'To the last event',
    end: 'End',
    position: 'Position in the recording',
    replay: 'Replay it event by event',
    endedLive: 'The session has ended ({reason}). Its events stay readable.',
    ended: 'ended',
    intro: 'This session ended{reason}. Replay it event by event: the diagram is rebuilt from the events alone.',
    reason: ' ({reason})',
    at: 'Event {at} of {total}',
    beforeFirst: 'Before the first event.',
  },
  'zh-CN': {
    toStart: '回到开头',
    reset: '重置',
    oneBack: '后退一个事件',
    back: '◀ 后退',
    oneForward: '前进一个事件',
    step: '单步 ▶',
    play: '播放',
    pause: '暂停',
    toLast: '跳到最后一个事件',
    end: '末尾',
    position: '录像中的位置',
    replay: '逐个事件回放',
    endedLive: '会话已结束（{reason}）。它的事件仍然可以查看。',
    ended: '已结束',
    intro: '这个会话已结束{reason}。逐个事件回放它：图只根据事件重新画出来。',
    reason: '（{reason}）',
    at: '第 {at} 个事件，共 {total} 个',
    beforeFirst: '在第一个事件之前。',
  },
};
const T = localize(TEXTS);


/** Pause between events when playing. */
const PLAY_EVENT_MS = 450;

/** Mount the view in `el` (inside `panel`, which is shown only when there is something to
 * replay). `replay()` turns an ended live view into a recording. */
export function mountRecording(panel, el, store, { replay }) {
  let timer = null;

  const reset = h('button', { type: 'button', class: 'button small', id: 'rec-reset', 'aria-label': T.toStart }, T.reset);
  const back = h('button', { type: 'button', class: 'button small', id: 'rec-back', 'aria-label': T.oneBack }, T.back);
  const step = h('button', { type: 'button', class: 'button small primary', id: 'rec-step', 'aria-label': T.oneForward }, T.step);
  const play = h('button', { type: 'button', class: 'button small', id: 'rec-play', 'aria-pressed': 'false' }, T.play);
  const toEnd = h('button', { type: 'button', class: 'button small', id: 'rec-end', 'aria-label': T.toLast }, T.end);
  const slider = h('input', { type: 'range', id: 'rec-slider', min: '0', max: '0', value: '0', 'aria-label': T.position });
  const position = h('p', { class: 'rec-position', id: 'rec-position', 'aria-live': 'polite' });
  const current = h('p', { class: 'rec-current mono small', id: 'rec-current' });
  const controls = h('div', { class: 'rec-controls' }, reset, back, step, play, toEnd);
  const intro = h('p', { class: 'rec-intro' });
  const replayButton = h('button', { type: 'button', class: 'button primary', id: 'rec-replay', onclick: () => replay() }, T.replay);

  const stop = () => {
    clearInterval(timer);
    timer = null;
  };
  reset.addEventListener('click', () => {
    stop();
    store.seek(0);
  });
  back.addEventListener('click', () => {
    stop();
    store.seek(store.state.cursor - 1);
  });
  step.addEventListener('click', () => {
    stop();
    store.seek(store.state.cursor + 1);
  });
  toEnd.addEventListener('click', () => {
    stop();
    store.seek(store.state.events.length);
  });
  slider.addEventListener('input', () => {
    stop();
    store.seek(Number(slider.value));
  });
  play.addEventListener('click', () => {
    if (timer) {
      stop();
      render();
      return;
    }
    if (store.state.cursor >= store.state.events.length) store.seek(0);
    timer = setInterval(() => {
      if (store.state.cursor >= store.state.events.length) {
        stop();
        render();
        return;
      }
      store.seek(store.state.cursor + 1);
    }, PLAY_EVENT_MS);
    render();
  });

  const render = () => {
    const state = store.state;
    if (state.mode === T.ended) {
      panel.hidden = false;
      if (el.dataset.view !== T.ended) {
        el.dataset.view = T.ended;
        fill(el, h('p', { class: 'rec-intro' }, fmt(T.endedLive, { reason: (state.session && state.session.ended) || T.ended })), replayButton);
      }
      return;
    }
    if (state.mode !== 'recording') {
      panel.hidden = true;
      return;
    }
    panel.hidden = false;
    if (el.dataset.view !== 'recording') {
      el.dataset.view = 'recording';
      fill(el, intro, controls, slider, position, current);
    }
    const total = state.events.length;
    const at = state.cursor;
    intro.textContent = fmt(T.intro, { reason: state.session && state.session.ended ? fmt(T.reason, { reason: state.session.ended }) : '' });
    slider.max = String(total);
    slider.value = String(at);
    position.textContent = fmt(T.at, { at, total });
    const ev = at > 0 ? state.events[at - 1] : null;
    current.textContent = ev ? `#${ev.seq} ${ev.host ? `${ev.host} ` : ''}${ev.kind} ${ev.status}` : T.beforeFirst;
    reset.disabled = at === 0;
    back.disabled = at === 0;
    step.disabled = at >= total;
    toEnd.disabled = at >= total;
    play.textContent = timer ? T.pause : T.play;
    play.setAttribute('aria-pressed', timer ? 'true' : 'false');
    el.dataset.cursor = String(at);
    el.dataset.total = String(total);
  };

  store.subscribe(batched(render));
  render();
}

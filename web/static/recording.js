// Recording view: an ended session replayed event by event. Reset, back, step, play and a
// slider move the store's cursor; every other view redraws from the events up to it. While
// a live session is open, the panel only offers the replay once the session has ended.

import { h, fill, batched } from './dom.js';

/** Pause between events when playing. */
const PLAY_EVENT_MS = 450;

/** Mount the view in `el` (inside `panel`, which is shown only when there is something to
 * replay). `replay()` turns an ended live view into a recording. */
export function mountRecording(panel, el, store, { replay }) {
  let timer = null;

  const reset = h('button', { type: 'button', class: 'button small', id: 'rec-reset', 'aria-label': 'Back to the start' }, 'Reset');
  const back = h('button', { type: 'button', class: 'button small', id: 'rec-back', 'aria-label': 'One event back' }, '◀ Back');
  const step = h('button', { type: 'button', class: 'button small primary', id: 'rec-step', 'aria-label': 'One event forward' }, 'Step ▶');
  const play = h('button', { type: 'button', class: 'button small', id: 'rec-play', 'aria-pressed': 'false' }, 'Play');
  const toEnd = h('button', { type: 'button', class: 'button small', id: 'rec-end', 'aria-label': 'To the last event' }, 'End');
  const slider = h('input', { type: 'range', id: 'rec-slider', min: '0', max: '0', value: '0', 'aria-label': 'Position in the recording' });
  const position = h('p', { class: 'rec-position', id: 'rec-position', 'aria-live': 'polite' });
  const current = h('p', { class: 'rec-current mono small', id: 'rec-current' });
  const controls = h('div', { class: 'rec-controls' }, reset, back, step, play, toEnd);
  const intro = h('p', { class: 'rec-intro' });
  const replayButton = h('button', { type: 'button', class: 'button primary', id: 'rec-replay', onclick: () => replay() }, 'Replay it event by event');

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
    if (state.mode === 'ended') {
      panel.hidden = false;
      if (el.dataset.view !== 'ended') {
        el.dataset.view = 'ended';
        fill(el, h('p', { class: 'rec-intro' }, `The session has ended (${(state.session && state.session.ended) || 'ended'}). Its events stay readable.`), replayButton);
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
    intro.textContent = `This session ended${state.session && state.session.ended ? ` (${state.session.ended})` : ''}. Replay it event by event: the diagram is rebuilt from the events alone.`;
    slider.max = String(total);
    slider.value = String(at);
    position.textContent = `Event ${at} of ${total}`;
    const ev = at > 0 ? state.events[at - 1] : null;
    current.textContent = ev ? `#${ev.seq} ${ev.host ? `${ev.host} ` : ''}${ev.kind} ${ev.status}` : 'Before the first event.';
    reset.disabled = at === 0;
    back.disabled = at === 0;
    step.disabled = at >= total;
    toEnd.disabled = at >= total;
    play.textContent = timer ? 'Pause' : 'Play';
    play.setAttribute('aria-pressed', timer ? 'true' : 'false');
    el.dataset.cursor = String(at);
    el.dataset.total = String(total);
  };

  store.subscribe(batched(render));
  render();
}

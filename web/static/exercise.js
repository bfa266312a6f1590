// Exercise view, for a session started for an exercise: what to do and why, the checklist
// the grader runs over the event log (refreshed as events arrive), and for the owner a
// button that grades the session and stores the attempt.

import { h, fill, batched } from './dom.js';
import { fill as fmt, localize } from './i18n.js';

/** Every text this module writes, in each language. */
export const TEXTS = {
  en: {
    grade: 'Grade and save attempt',
    whatToDo: 'What to do',
    score: '{passed} of {total} checks pass',
    done: ' — done!',
    passed: 'passed: ',
    notYet: 'not yet: ',
    checksFailed: 'The checklist is not available: {message}',
    saved: 'Saved as attempt {attempt}: {passed} of {total}.',
    graded: 'Graded.',
    gradeFailed: 'Grading failed: {message}',
    textFailed: 'The exercise\'s text is not available: {message}',
  },
  'zh-CN': {
    grade: '评分并保存本次尝试',
    whatToDo: '要做什么',
    score: '已通过 {passed}/{total} 项检查',
    done: '——完成！',
    passed: '已通过：',
    notYet: '尚未通过：',
    checksFailed: '检查清单暂时不可用：{message}',
    saved: '已保存为第 {attempt} 次尝试：{total} 项中通过 {passed} 项。',
    graded: '已评分。',
    gradeFailed: '评分失败：{message}',
    textFailed: '练习的说明暂时不可用：{message}',
  },
};
const T = localize(TEXTS);


/** Quiet time after the last event before the checklist is asked for again. */
const RECHECK_AFTER_MS = 600;

/** Mount the view in `el` (inside `panel`, shown only for an exercise's session). */
export function mountExercise(panel, el, store, { api }) {
  const title = h('h3', { class: 'ex-title' });
  const text = h('div', { class: 'ex-body' });
  const summary = h('p', { class: 'ex-score', id: 'exercise-score', 'aria-live': 'polite' });
  const checks = h('ul', { class: 'ex-checks', id: 'exercise-checks' });
  const grade = h('button', { type: 'button', class: 'button small primary', id: 'exercise-grade' }, T.grade);
  const note = h('p', { class: 'muted small', id: 'exercise-note' });
  const details = h('details', { class: 'ex-text', open: true }, h('summary', {}, T.whatToDo), text);
  fill(el, title, details, summary, checks, h('div', { class: 'ex-actions' }, grade), note);

  let loaded = null; // exercise id whose text is shown
  let checkedSeq = -1;
  let timer = null;

  const drawReport = (report) => {
    summary.textContent = `${fmt(T.score, { passed: report.passed_checks, total: report.total_checks })}${report.passed ? T.done : ''}`;
    summary.className = ['ex-score', report.passed ? 'all' : null].filter(Boolean).join(' ');
    fill(checks, report.checks.map((c) => h('li', { class: ['ex-check', c.passed ? 'pass' : 'fail'], 'data-check': c.id },
      h('span', { class: 'ex-mark', 'aria-hidden': 'true' }, c.passed ? '✓' : '○'),
      h('span', { class: 'ex-check-text' },
        h('span', { class: 'sr-only' }, c.passed ? T.passed : T.notYet),
        c.text,
        !c.passed && c.hint ? h('span', { class: 'ex-hint' }, c.hint) : null))));
  };

  const recheck = async () => {
    const seq = store.lastSeq();
    if (seq === checkedSeq) return;
    checkedSeq = seq;
    try {
      drawReport(await api.checks());
    } catch (e) {
      summary.textContent = fmt(T.checksFailed, { message: e.message });
    }
  };

  grade.addEventListener('click', async () => {
    grade.disabled = true;
    try {
      const graded = await api.grade();
      drawReport(graded);
      note.textContent = graded.attempt !== null && graded.attempt !== undefined
        ? fmt(T.saved, { attempt: graded.attempt, passed: graded.passed_checks, total: graded.total_checks })
        : T.graded;
    } catch (e) {
      note.textContent = fmt(T.gradeFailed, { message: e.message });
    }
    grade.disabled = false;
  });

  const render = async () => {
    const state = store.state;
    const exercise = state.session && state.session.exercise;
    panel.hidden = !exercise;
    if (!exercise) return;
    grade.hidden = state.role !== 'owner';
    if (loaded !== exercise) {
      loaded = exercise;
      title.textContent = exercise;
      try {
        const info = await api.exercise(exercise);
        title.textContent = info.title || exercise;
        fill(text, paragraphs(info.text || '').map((para) => h('p', {}, para)));
      } catch (e) {
        fill(text, h('p', { class: 'muted' }, fmt(T.textFailed, { message: e.message })));
      }
    }
    clearTimeout(timer);
    timer = setTimeout(recheck, RECHECK_AFTER_MS);
  };

  store.subscribe(batched(render));
  render();
}

// Catalog texts are wrapped at a fixed width: a blank line ends a paragraph, a line that starts
// a numbered or bulleted item starts a new line, and any other line break is a space.
function paragraphs(source) {
  return source.trim().split(/\n\s*\n/).map((para) => para
    .split('\n')
    .map((line) => line.trim())
    .reduce((out, line) => {
      if (!out) return line;
      return /^(\d+\.|-)\s/.test(line) ? `${out}\n${line}` : `${out} ${line}`;
    }, ''));
}

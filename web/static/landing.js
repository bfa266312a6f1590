// Landing page: starts a session (then opens it with the owner token in the URL fragment,
// which never reaches the server's logs), lists the exercises and says how this server
// isolates sessions.

import { byId, fill, h } from './dom.js';
import { ApiError, createSession, getJson, viewerKey } from './api.js';

const newButton = byId('new-session');
const status = byId('create-status');

/** Start a session (for an exercise when given) and open its page. */
async function start(exercise, button) {
  button.disabled = true;
  const label = button.textContent;
  button.textContent = 'Starting…';
  status.textContent = '';
  status.className = 'hero-status';
  try {
    const created = await createSession(exercise ? { exercise } : undefined);
    try {
      sessionStorage.setItem(viewerKey(created.id), created.viewer_token);
    } catch {
      // Storage disabled: the page just cannot show the share link.
    }
    location.assign(`${created.links.page}#token=${encodeURIComponent(created.token)}`);
  } catch (e) {
    button.disabled = false;
    button.textContent = label;
    status.className = 'hero-status error';
    status.textContent = e instanceof ApiError && e.retryAfter
      ? `${e.message} (try again in ${e.retryAfter} s)`
      : `Could not start a session: ${e.message}`;
  }
}

newButton.addEventListener('click', () => start(null, newButton));

async function exercises() {
  const box = byId('exercises');
  let list;
  try {
    list = await getJson('/api/exercises');
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      fill(box, h('p', { class: 'muted', id: 'no-exercises' }, 'No exercises yet.'));
    } else {
      fill(box, h('p', { class: 'muted' }, `The exercises could not be loaded: ${e.message}`));
    }
    return;
  }
  if (!Array.isArray(list) || list.length === 0) {
    fill(box, h('p', { class: 'muted', id: 'no-exercises' }, 'No exercises yet.'));
    return;
  }
  fill(box, h('ul', { class: 'exercise-list' }, list.map((x) => {
    const button = h('button', { type: 'button', class: 'button small', 'data-exercise': x.id }, 'Start');
    button.addEventListener('click', () => start(x.id, button));
    return h('li', { class: 'exercise' },
      h('div', { class: 'ex-text' },
        h('strong', {}, x.title || x.id),
        x.summary ? h('p', { class: 'small' }, x.summary) : null,
        Array.isArray(x.teaches) && x.teaches.length
          ? h('p', { class: 'tags' }, x.teaches.map((t) => h('span', { class: 'tag' }, t)))
          : null),
      button);
  })));
}

async function health() {
  const isolation = byId('isolation');
  try {
    const info = await getJson('/healthz');
    isolation.textContent = info.isolation;
    byId('live-sessions').textContent = String(info.live_sessions);
    byId('server-version').textContent = info.version;
    byId('isolation-text').textContent = info.isolation === 'netns'
      ? 'Each host is its own Linux network namespace: textbook addresses, any port, nothing else reachable.'
      : 'Each host is an address on the loopback network; the sandbox keeps sessions apart and refuses anything outside.';
  } catch (e) {
    // /healthz answers 503 with the same body when degraded; say what is known.
    isolation.textContent = 'unknown';
    byId('isolation-text').textContent = `The server's health could not be read: ${e.message}`;
  }
}

exercises();
health();

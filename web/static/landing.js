// Landing page: starts a session (then opens it with the owner token in the URL fragment,
// which never reaches the server's logs), lists the exercises and says how this server
// isolates sessions.

import { byId, fill, h } from './dom.js';
import { ApiError, createSession, getJson, viewerKey } from './api.js';
import { bindSwitch, fill as fmt, localize } from './i18n.js';

/** Every text this page writes, in each language. */
export const TEXTS = {
  en: {
    starting: 'Starting…',
    retryAfter: '{message} (try again in {seconds} s)',
    startFailed: 'Could not start a session: {message}',
    noExercises: 'No exercises yet.',
    exercisesFailed: 'The exercises could not be loaded: {message}',
    start: 'Start',
    netns: 'Each host is its own Linux network namespace: textbook addresses, any port, nothing else reachable.',
    loopback: 'Each host is an address on the loopback network; the sandbox keeps sessions apart and refuses anything outside.',
    unknown: 'unknown',
    healthFailed: "The server's health could not be read: {message}",
  },
  'zh-CN': {
    starting: '正在创建…',
    retryAfter: '{message}（请 {seconds} 秒后再试）',
    startFailed: '无法创建会话：{message}',
    noExercises: '还没有练习。',
    exercisesFailed: '练习加载失败：{message}',
    start: '开始',
    netns: '每台主机是一个独立的 Linux 网络命名空间：地址和教科书里一样，端口随意用，此外什么都访问不到。',
    loopback: '每台主机是回环网络上的一个地址；沙箱把各个会话隔开，并拒绝访问沙箱之外的任何地址。',
    unknown: '未知',
    healthFailed: '无法读取服务器的健康状态：{message}',
  },
};
const T = localize(TEXTS);
bindSwitch();

const newButton = byId('new-session');
const status = byId('create-status');

/** Start a session (for an exercise when given) and open its page. */
async function start(exercise, button) {
  button.disabled = true;
  const label = button.textContent;
  button.textContent = T.starting;
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
      ? fmt(T.retryAfter, { message: e.message, seconds: e.retryAfter })
      : fmt(T.startFailed, { message: e.message });
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
      fill(box, h('p', { class: 'muted', id: 'no-exercises' }, T.noExercises));
    } else {
      fill(box, h('p', { class: 'muted' }, fmt(T.exercisesFailed, { message: e.message })));
    }
    return;
  }
  if (!Array.isArray(list) || list.length === 0) {
    fill(box, h('p', { class: 'muted', id: 'no-exercises' }, T.noExercises));
    return;
  }
  fill(box, h('ul', { class: 'exercise-list' }, list.map((x) => {
    const button = h('button', { type: 'button', class: 'button small', 'data-exercise': x.id }, T.start);
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
      ? T.netns
      : T.loopback;
  } catch (e) {
    // /healthz answers 503 with the same body when degraded; say what is known.
    isolation.textContent = T.unknown;
    byId('isolation-text').textContent = fmt(T.healthFailed, { message: e.message });
  }
}

exercises();
health();

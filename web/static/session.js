// The session page: reads the token from the URL fragment (#token= for the owner,
// #viewer= for a read-only view), creates the store, mounts the views and feeds the store
// from the API — the live WebSocket stream, or for an ended session every stored event as a
// recording. The fragment never reaches the server's logs; the token goes in headers, and
// as ?token= on the WebSocket only, which browsers cannot give headers.

import { byId, fill, h, prefToggle } from './dom.js';
import { ApiError, SessionApi, getJson, viewerKey } from './api.js';
import { callsFromOpenApi } from './calls.js';
import { createStore } from './store.js';
import { mountTopology } from './topology.js';
import { mountLadder } from './ladder.js';
import { mountInspector } from './inspector.js';
import { mountLog } from './log.js';
import { mountConsole } from './console.js';
import { mountScenarios } from './scenarios.js';
import { mountFacts } from './facts.js';
import { mountRecording } from './recording.js';
import { mountExercise } from './exercise.js';
import { mountExport } from './export.js';
import { bindSwitch, fill as fmt, localize } from './i18n.js';

/** Every text the page's chrome writes, in each language. */
export const TEXTS = {
  en: {
    endFailed: 'Could not end the session: {message}',
    captureFailed: 'Could not download the capture: {message}',
    addHostFailed: 'Could not add a host: {message}',
    addHost: '+ Add host',
    layersTitle: 'Label what belongs to which layer of the TCP/IP model',
    layers: 'Layers',
    modeLoading: 'loading',
    modeLiveOwner: 'live · owner',
    modeLiveViewer: 'live · read-only',
    modeEnded: 'ended',
    modeRecording: 'recording',
    modeError: 'unavailable',
    isolation: 'isolation: {isolation}',
    replaying: 'replaying from the log',
    connecting: 'connecting…',
    live: '● live',
    reconnecting: 'reconnecting…',
    closed: 'stream closed',
    offline: 'offline',
    dismiss: 'Dismiss',
    consoleFailed: 'The call console could not be set up: {message}. Reload the page.',
    noToken: 'This link has no token. Open the session with the link you got when it was created (…#token=…), or a read-only link (…#viewer=…).',
    noSession: 'There is no session {id}: the link may be wrong, or the session was removed.',
    badToken: 'The token in this link does not open session {id}.',
    loadFailed: 'The session could not be loaded: {message}',
    eventsFailed: "The session's events could not be loaded: {message}",
    gapFailed: 'Some events could not be loaded: {message}. Reload the page.',
  },
  'zh-CN': {
    endFailed: '无法结束会话：{message}',
    captureFailed: '无法下载抓包文件：{message}',
    addHostFailed: '无法添加主机：{message}',
    addHost: '+ 添加主机',
    layersTitle: '标出每样东西属于 TCP/IP 模型的哪一层',
    layers: '分层',
    modeLoading: '加载中',
    modeLiveOwner: '实时 · 所有者',
    modeLiveViewer: '实时 · 只读',
    modeEnded: '已结束',
    modeRecording: '录像',
    modeError: '不可用',
    isolation: '隔离方式：{isolation}',
    replaying: '正在按日志回放',
    connecting: '正在连接…',
    live: '● 实时',
    reconnecting: '正在重新连接…',
    closed: '数据流已关闭',
    offline: '离线',
    dismiss: '关闭',
    consoleFailed: '调用控制台无法加载：{message}。请刷新页面。',
    noToken: '这个链接里没有令牌。请用创建会话时得到的链接（…#token=…）或只读链接（…#viewer=…）打开会话。',
    noSession: '会话 {id} 不存在：链接可能有误，或者会话已被删除。',
    badToken: '这个链接里的令牌打不开会话 {id}。',
    loadFailed: '会话加载失败：{message}',
    eventsFailed: '会话的事件加载失败：{message}',
    gapFailed: '部分事件加载失败：{message}。请刷新页面。',
  },
};
const T = localize(TEXTS);
bindSwitch();

const root = byId('session');
const id = root.dataset.session;
const fragment = new URLSearchParams(location.hash.slice(1));
const ownerToken = fragment.get('token');
const viewerToken = fragment.get('viewer');
const role = ownerToken ? 'owner' : 'viewer';
let storedViewer = null;
try {
  storedViewer = sessionStorage.getItem(viewerKey(id));
} catch {
  storedViewer = null; // storage disabled: no share link, nothing else lost
}
const api = new SessionApi(id, ownerToken || viewerToken);
const store = createStore({ id, role, viewerToken: ownerToken ? storedViewer : viewerToken });

// A different fragment is a different view: start again with it.
window.addEventListener('hashchange', () => location.reload());

let resultId = 0;

/** Make a call through the API; the answer is also the console's last result. */
async function call(request) {
  try {
    const { status, body } = await api.call(request);
    resultId += 1;
    store.result({ id: resultId, request, status, body });
    return { status, body };
  } catch (e) {
    const error = e instanceof ApiError
      ? { status: e.status, type: e.type, message: e.message, field: e.field, retryAfter: e.retryAfter }
      : { status: 0, type: 'network', message: String(e.message || e) };
    resultId += 1;
    store.result({ id: resultId, request, error });
    return { error };
  }
}

async function end() {
  try {
    await api.end();
  } catch (e) {
    store.banner({ kind: 'error', text: fmt(T.endFailed, { message: e.message }) });
  }
}

/** Save the session's capture as a file: fetched with the token, handed over as a Blob URL. */
async function downloadCapture() {
  try {
    const blob = await api.capture();
    const url = URL.createObjectURL(blob);
    const link = h('a', { href: url, download: `plugboard-${id}.pcapng`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) {
    store.banner({ kind: 'error', text: fmt(T.captureFailed, { message: e.message }) });
  }
}

async function addHost() {
  try {
    await api.addHost();
  } catch (e) {
    store.banner({ kind: 'error', text: fmt(T.addHostFailed, { message: e.message }) });
  }
}

// ------------------------------------------------------------------------- page chrome

const modeBadge = byId('mode-badge');
const isolationBadge = byId('isolation-badge');
const connStatus = byId('conn-status');
const banner = byId('banner');
const consolePanel = byId('console-panel');
const scenariosPanel = byId('scenarios-panel');
const tools = byId('topology-tools');
const addHostButton = h('button', { type: 'button', class: 'button small', id: 'add-host', onclick: addHost }, T.addHost);
const layersButton = prefToggle(store, 'layers', { class: 'button small ghost layers-toggle', id: 'topology-layers-toggle', title: T.layersTitle, 'aria-controls': 'topology-layers' }, T.layers);
fill(tools, layersButton, addHostButton);

/** Longest the page waits for its views before it says it is ready anyway. */
const READY_WAIT_MS = 3000;

/** Mark the page settled, for screenshots and scripts: `<body data-ready="true">` once the
 * first snapshot of the live stream, the recording of an ended session, or why the page cannot
 * show the session is drawn. Views redraw in a task of their own (dom.js `batched`), queued
 * before this one; the frame after it has them on screen. */
let readyPending = false;
function markReady() {
  if (document.body.dataset.ready || readyPending) return;
  readyPending = true;
  const since = performance.now();
  // On a busy machine a view's task can come later than this one: wait, a frame at a time,
  // until the topology shows what the store holds (bounded, so a page that cannot draw still
  // says it has settled).
  const drawn = () => {
    const shown = Number(byId('topology').dataset.drawnSeq ?? -1);
    const held = store.state.model ? store.state.model.lastSeq : 0;
    return shown >= held || performance.now() - since > READY_WAIT_MS;
  };
  const check = () => {
    if (drawn()) document.body.dataset.ready = 'true';
    else requestAnimationFrame(check);
  };
  setTimeout(() => requestAnimationFrame(check), 0);
}

function chrome(state) {
  const label = {
    loading: T.modeLoading,
    live: role === 'owner' ? T.modeLiveOwner : T.modeLiveViewer,
    ended: T.modeEnded,
    recording: T.modeRecording,
    error: T.modeError,
  }[state.mode];
  modeBadge.textContent = label;
  modeBadge.className = `badge mode-${state.mode}`;
  if (state.session) {
    isolationBadge.hidden = false;
    isolationBadge.textContent = fmt(T.isolation, { isolation: state.session.isolation });
  }
  const conn = state.mode === 'recording'
    ? T.replaying
    : { connecting: T.connecting, live: T.live, reconnecting: T.reconnecting, ended: T.closed, closed: T.closed, offline: T.offline }[state.connection] || state.connection;
  connStatus.textContent = conn;
  connStatus.dataset.state = state.mode === 'recording' ? 'recording' : state.connection;
  const writable = role === 'owner' && state.mode === 'live';
  consolePanel.hidden = !writable;
  scenariosPanel.hidden = !writable;
  addHostButton.hidden = !writable;
  if (state.banner) {
    banner.hidden = false;
    banner.className = `banner banner-${state.banner.kind}`;
    if (banner.dataset.text !== state.banner.text) {
      banner.dataset.text = state.banner.text;
      const close = h('button', { type: 'button', class: 'button small ghost', onclick: () => store.banner(null) }, T.dismiss);
      fill(banner, h('span', {}, state.banner.text), state.mode === 'error' ? null : close);
    }
  } else {
    banner.hidden = true;
    banner.dataset.text = '';
  }
  document.body.dataset.mode = state.mode;
  document.body.dataset.role = role;
  if (state.mode === 'error') markReady();
}
store.subscribe(chrome);

// ------------------------------------------------------------------------- views

let consoleView = null;
mountTopology(byId('topology'), store, {
  onPick: (host, fd) => {
    if (consoleView && !consolePanel.hidden) consoleView.pick(host, fd);
  },
});
const inspector = mountInspector(store);
mountLadder(byId('ladder'), store, { inspect: (ev) => inspector.open(ev), download: downloadCapture });
mountLog(byId('log'), store);
mountFacts(byId('facts'), store, { end });
mountRecording(byId('recording-panel'), byId('recording'), store, {
  replay: () => store.record(null, store.state.events),
});
mountExercise(byId('exercise-panel'), byId('exercise'), store, { api });
mountExport(byId('export-panel'), byId('export'), store, { api });
if (role === 'owner') {
  // The calls the console offers are the server's, from its API document. The page does not
  // wait for it: the session loads and streams meanwhile, and the console appears when ready.
  getJson('/api/openapi.json')
    .then((doc) => {
      consoleView = mountConsole(byId('console'), store, { call, calls: callsFromOpenApi(doc) });
    })
    .catch((e) => {
      store.banner({ kind: 'error', text: fmt(T.consoleFailed, { message: e.message }) });
    });
  mountScenarios(byId('scenarios'), store, { call });
}
chrome(store.state);

// ------------------------------------------------------------------------- loading

async function start() {
  if (!ownerToken && !viewerToken) {
    store.fail(T.noToken);
    return;
  }
  let first;
  try {
    first = await api.session();
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) store.fail(fmt(T.noSession, { id }));
    else if (e instanceof ApiError && (e.status === 401 || e.status === 403)) store.fail(fmt(T.badToken, { id }));
    else store.fail(fmt(T.loadFailed, { message: e.message }));
    return;
  }
  if (!first.live) {
    try {
      const events = await api.allEvents(0);
      store.record(first, events);
      markReady();
    } catch (e) {
      store.fail(fmt(T.eventsFailed, { message: e.message }));
    }
    return;
  }
  store.snapshot(first, { history: true });
  let buffered = null; // events held back while a gap is filled after a resync
  api.stream({
    lastSeq: () => store.lastSeq(),
    status: (status) => store.connection(status),
    snapshot: async (snapshot, resync) => {
      if (!resync) {
        store.snapshot(snapshot, { history: true });
        markReady();
        return;
      }
      // The server skipped events to catch up: fetch them, then go on.
      buffered = [];
      try {
        store.events(await api.allEvents(store.lastSeq(), snapshot.last_seq));
        store.snapshot(snapshot);
      } catch (e) {
        store.banner({ kind: 'error', text: fmt(T.gapFailed, { message: e.message }) });
      }
      const held = buffered;
      buffered = null;
      store.events(held);
    },
    event: (ev) => {
      if (buffered) buffered.push(ev);
      else store.events([ev]);
    },
    ended: (reason) => store.ended(reason),
  });
}

start();

// Export view: the session's calls as programs to take home — one per host, in C, Python or
// Rust — read, copied or downloaded file by file. The server writes the programs
// (server/export, GET /api/sessions/{id}/export) in the page's language; this view only asks
// for them and shows them. A live session goes on after an export, so the view says when the
// programs it shows are behind the log and offers to export again.

import { h, fill, batched } from './dom.js';
import { fill as fmt, localize } from './i18n.js';

/** Every text this module writes, in each language. */
export const TEXTS = {
  en: {
    intro: 'The calls of this session as one program per host, to build and run on your own machine. Each program makes its host’s calls in the session’s order and checks every outcome against this session.',
    languages: 'Language of the programs',
    exporting: 'Exporting…',
    failed: 'Could not export the session: {message}',
    empty: 'No calls to export yet: make some calls, then export again.',
    howTo: 'How to build and run them',
    files: 'Files',
    shared: 'shared by the programs',
    forHost: 'host {host}',
    copy: 'Copy',
    copied: 'Copied',
    selectCopy: 'Select the code and copy it',
    download: 'Download {name}',
    behind: 'The session has gone on since this export ({n} new events).',
    again: 'Export again',
    skipped: 'Left out of the programs ({n}):',
    skippedItem: 'step {step}, {call} on host {host}: {reason}',
    unsupported: 'not TCP or UDP over IP, which the programs do not make',
    unknown_descriptor: 'its descriptor was not made by a call of this session',
    never_finished: 'it never finished on its own (still blocked when the log ends, or ended by the session)',
    sandbox: 'the sandbox refused it, not the kernel',
  },
  'zh-CN': {
    intro: '把这个会话里的调用导出为每台主机一个程序，可以在你自己的机器上编译运行。每个程序按会话中的顺序发起该主机的调用，并逐一核对结果是否与本会话相同。',
    languages: '程序所用的语言',
    exporting: '正在导出…',
    failed: '无法导出会话：{message}',
    empty: '还没有可以导出的调用：先发起几次调用，再导出一次。',
    howTo: '如何编译和运行',
    files: '文件',
    shared: '各程序共用',
    forHost: '主机 {host}',
    copy: '复制',
    copied: '已复制',
    selectCopy: '请选中代码后复制',
    download: '下载 {name}',
    behind: '导出之后会话又有了新进展（新增 {n} 个事件）。',
    again: '重新导出',
    skipped: '程序中略去的调用（{n} 个）：',
    skippedItem: '第 {step} 步，主机 {host} 上的 {call}：{reason}',
    unsupported: '不是基于 IP 的 TCP 或 UDP，程序不做这类调用',
    unknown_descriptor: '它的描述符不是本会话中的调用创建的',
    never_finished: '它没有自己完成（日志结束时仍在阻塞，或被会话结束）',
    sandbox: '拒绝它的是沙箱，不是内核',
  },
};
const T = localize(TEXTS);

/** The languages programs are exported in: `?lang=` and the name on the button. */
export const LANGUAGES = [
  { id: 'c', label: 'C' },
  { id: 'python', label: 'Python' },
  { id: 'rust', label: 'Rust' },
];

/** How long "Copied" shows on the copy button. */
const COPIED_MS = 1500;

/** Mount the view: `panel` is shown once the session is known, `el` gets the content;
 * `api.export(lang)` fetches an export. */
export function mountExport(panel, el, store, { api }) {
  const buttons = LANGUAGES.map(({ id, label }) =>
    h('button', { type: 'button', class: 'seg-item', id: `export-lang-${id}`, 'aria-pressed': 'false', onclick: () => load(id) }, label));
  const status = h('div', { class: 'export-status', id: 'export-status', role: 'status', 'aria-live': 'polite' });
  const body = h('div', { class: 'export-body', id: 'export-body' });
  fill(el,
    h('p', { class: 'muted small export-intro' }, T.intro),
    h('div', { class: 'seg export-langs', role: 'group', 'aria-label': T.languages }, ...buttons),
    status,
    body);

  // What the view shows: the chosen language, the export and the log's last event it saw.
  let chosen = null;
  let loading = false;
  let error = null;
  let result = null;
  let exportedSeq = 0;
  let open = 0; // the file shown
  let request = 0; // answers to an older request are dropped

  async function load(lang) {
    const mine = ++request;
    chosen = lang;
    loading = true;
    error = null;
    const seq = store.lastSeq();
    redraw();
    try {
      const answer = await api.export(lang);
      if (mine !== request) return;
      const keep = result && result.lang === answer.lang ? result.files[open]?.name : null;
      result = answer;
      exportedSeq = seq;
      open = Math.max(0, answer.files.findIndex((f) => f.name === keep));
    } catch (e) {
      if (mine !== request) return;
      error = e.message;
      chosen = result ? result.lang : null; // the programs shown stay those of the last export
    }
    loading = false;
    redraw();
  }

  function showStatus() {
    const behind = result && store.state.mode === 'live' ? store.lastSeq() - exportedSeq : 0;
    if (loading) fill(status, h('span', { class: 'muted' }, T.exporting));
    else if (error) fill(status, h('span', { class: 'export-error' }, fmt(T.failed, { message: error })));
    else if (behind > 0) {
      fill(status,
        h('span', { class: 'muted' }, fmt(T.behind, { n: behind }), ' '),
        h('button', { type: 'button', class: 'button small', id: 'export-again', onclick: () => load(chosen) }, T.again));
    } else fill(status);
    status.hidden = !status.firstChild;
  }

  function redraw() {
    for (const button of buttons) button.setAttribute('aria-pressed', String(button.id === `export-lang-${chosen}`));
    showStatus();
    if (!result) {
      fill(body);
      return;
    }
    el.dataset.lang = result.lang;
    if (result.files.length === 0) {
      fill(body, h('p', { class: 'muted' }, T.empty), skippedList());
      return;
    }
    fill(body,
      h('details', { class: 'export-readme', id: 'export-readme' },
        h('summary', {}, T.howTo),
        h('pre', { class: 'export-text' }, result.readme)),
      h('div', { class: 'export-tabs', id: 'export-tabs', role: 'tablist', 'aria-label': T.files },
        ...result.files.map((file, i) => h('button', {
          type: 'button',
          role: 'tab',
          class: 'export-tab',
          id: `export-tab-${i}`,
          'data-name': file.name,
          'aria-selected': String(i === open),
          'aria-controls': 'export-file',
          title: file.host ? fmt(T.forHost, { host: file.host }) : T.shared,
          onclick: () => {
            open = i;
            redraw();
          },
        }, file.name))),
      fileView(result.files[open]),
      skippedList());
  }

  function fileView(file) {
    const copy = h('button', { type: 'button', class: 'button small', id: 'export-copy' }, T.copy);
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(file.content);
        copy.textContent = T.copied;
      } catch {
        // No clipboard (an insecure origin, or permission refused): select the code instead.
        const selection = window.getSelection();
        selection.selectAllChildren(code);
        copy.textContent = T.selectCopy;
      }
      setTimeout(() => { copy.textContent = T.copy; }, COPIED_MS);
    });
    const download = h('button', {
      type: 'button',
      class: 'button small',
      id: 'export-download',
      onclick: () => save(file),
    }, fmt(T.download, { name: file.name }));
    const code = h('code', {}, file.content);
    return h('div', { class: 'export-file', id: 'export-file', role: 'tabpanel', 'aria-labelledby': `export-tab-${open}`, 'data-name': file.name },
      h('div', { class: 'export-file-tools' },
        h('span', { class: 'muted small' }, file.host ? fmt(T.forHost, { host: file.host }) : T.shared),
        copy,
        download),
      h('pre', { class: 'export-code', id: 'export-code', tabindex: '0' }, code));
  }

  function skippedList() {
    if (!result.skipped.length) return null;
    return h('div', { class: 'export-skipped', id: 'export-skipped' },
      h('p', { class: 'small' }, fmt(T.skipped, { n: result.skipped.length })),
      h('ul', { class: 'small' }, ...result.skipped.map((s) => h('li', {},
        fmt(T.skippedItem, { step: s.step, call: s.call, host: s.host, reason: T[s.reason] || s.reason })))));
  }

  const follow = batched(showStatus);
  store.subscribe((state) => {
    panel.hidden = !(state.mode === 'live' || state.mode === 'ended' || state.mode === 'recording');
    if (result) follow();
  });
}

/** Hand `file` to the browser as a download of its own name. */
function save(file) {
  const url = URL.createObjectURL(new Blob([file.content], { type: 'text/plain;charset=utf-8' }));
  const link = h('a', { href: url, download: file.name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

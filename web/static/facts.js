// Session facts view: when the session ends (idle timeout and lifetime, counting down), its
// limits and what it has used of them (packets captured included, or why there are none),
// the read-only share link and the end button.
// Usage is counted from the event log, so it is current without asking the server.

import { h, fill, batched, fmtBytes, fmtDuration } from './dom.js';
import { isCall } from './describe.js';
import { ephemeralLesson, ephemeralRange } from './ports.js';
import { fill as fmt, localize } from './i18n.js';

/** Every text this module writes, in each language. */
export const TEXTS = {
  en: {
    loading: 'Loading…',
    endedLabel: 'Ended',
    ended: 'ended',
    ifIdle: 'if idle — each call restarts the idle timer',
    lifetime: 'its maximum lifetime',
    endsIn: 'Ends in',
    timers: 'idle timeout {idle} · lifetime {life}',
    of: '{value} of {max}',
    sockets: 'Sockets',
    blocked: 'Blocked calls',
    bytesSent: 'Bytes sent',
    events: 'Events',
    hosts: 'Hosts',
    isolation: 'Isolation',
    netns: ' — each host its own network namespace',
    loopback: ' — hosts are loopback addresses; the sandbox keeps the boundary',
    ephemeral: 'Ephemeral ports',
    ephemeralDefault: ' — * Linux’s default; this session does not say the host’s own',
    ephemeralOwn: ' — each host’s net.ipv4.ip_local_port_range, where the kernel picks ports nobody named (not IANA’s 49152–65535)',
    calls: 'Calls',
    rate: '{rate} per second at most; blocking calls wait {wait} ms by default',
    packets: 'Packets',
    notCaptured: 'not captured',
    noCapture: 'this session has no packet capture',
    shareLink: 'Read-only link',
    copy: 'Copy',
    copied: 'Copied',
    selectCopy: 'Select and copy',
    share: 'Share a read-only view',
    shareText: 'Whoever opens this link watches live but cannot make calls. ',
    openIt: 'Open it',
    shareElsewhere: 'The read-only link is shown only in the browser tab that created the session.',
    viewer: 'You are watching a read-only view: calls are made by the session’s owner.',
    ending: 'Ending…',
    end: 'End session',
    yes: 'Yes, end it',
    cancel: 'Cancel',
    confirm: 'Confirm ending',
    confirmText: 'Close every socket and end the session?',
  },
  'zh-CN': {
    loading: '加载中…',
    endedLabel: '已结束',
    ended: '已结束',
    ifIdle: '如果一直空闲——每次调用都会重新开始空闲计时',
    lifetime: '达到最长存活时间',
    endsIn: '剩余',
    timers: '空闲超时 {idle} · 存活时间 {life}',
    of: '{value} / {max}',
    sockets: '套接字',
    blocked: '阻塞中的调用',
    bytesSent: '已发送字节',
    events: '事件',
    hosts: '主机',
    isolation: '隔离方式',
    netns: ' ——每台主机一个独立的网络命名空间',
    loopback: ' ——主机是回环地址；由沙箱守住边界',
    ephemeral: '临时端口',
    ephemeralDefault: ' ——* 为 Linux 默认值；这个会话没有记下主机自己的设置',
    ephemeralOwn: ' ——各主机的 net.ipv4.ip_local_port_range，没人指定端口时内核从这里挑（不是 IANA 的 49152–65535）',
    calls: '调用',
    rate: '每秒最多 {rate} 次；阻塞调用默认等待 {wait} 毫秒',
    packets: '数据包',
    notCaptured: '未抓包',
    noCapture: '这个会话没有抓包',
    shareLink: '只读链接',
    copy: '复制',
    copied: '已复制',
    selectCopy: '请选中后复制',
    share: '分享只读视图',
    shareText: '打开这个链接的人可以实时旁观，但不能发起调用。',
    openIt: '打开',
    shareElsewhere: '只读链接只显示在创建会话的那个浏览器标签页里。',
    viewer: '你正在看只读视图：调用由会话的所有者发起。',
    ending: '正在结束…',
    end: '结束会话',
    yes: '是的，结束',
    cancel: '取消',
    confirm: '确认结束',
    confirmText: '关闭所有套接字并结束会话？',
  },
};
const T = localize(TEXTS);


/** Countdown refresh. */
const TICK_MS = 1000;

/** Mount the view in `el`. `end()` ends the session through the API. */
export function mountFacts(el, store, { end }) {
  const countdown = h('div', { class: 'countdown', id: 'facts-countdown' });
  const meters = h('dl', { class: 'meters', id: 'facts-usage' });
  const share = h('div', { class: 'share', id: 'facts-share' });
  const actions = h('div', { class: 'facts-actions', id: 'facts-actions' });
  fill(el, countdown, meters, share, actions);
  let confirming = false;
  let ending = false;

  const idleDeadline = (state) => {
    const session = state.session;
    if (!session) return null;
    let deadline = session.idle_expires_ms;
    const ttl = session.limits ? session.limits.idle_ttl_secs * 1000 : 0;
    for (let i = state.events.length - 1; i >= 0; i--) {
      const ev = state.events[i];
      if ((isCall(ev) && ev.status !== 'observed') || ev.kind === 'host_added') {
        deadline = Math.max(deadline, ev.time_ms + ttl);
        break;
      }
    }
    return deadline;
  };

  const tick = () => {
    const state = store.state;
    const session = state.session;
    if (!session) {
      fill(countdown, h('p', { class: 'muted' }, T.loading));
      return;
    }
    if (session.ended || state.mode !== 'live') {
      fill(countdown,
        h('div', { class: 'cd-main ended' }, h('span', { class: 'cd-label' }, T.endedLabel), h('strong', {}, session.ended || T.ended)));
      return;
    }
    const now = Date.now();
    const idle = idleDeadline(state);
    const life = session.expires_ms;
    const first = Math.min(idle, life);
    const why = idle <= life ? T.ifIdle : T.lifetime;
    fill(countdown,
      h('div', { class: ['cd-main', first - now < 120000 ? 'soon' : null] },
        h('span', { class: 'cd-label' }, T.endsIn),
        h('strong', { id: 'facts-ends-in', 'data-deadline': first }, fmtDuration(first - now)),
        h('span', { class: 'cd-why muted small' }, why)),
      h('div', { class: 'cd-sub muted small' },
        fmt(T.timers, { idle: fmtDuration(idle - now), life: fmtDuration(life - now) })));
  };

  const usage = (state) => {
    const model = state.model;
    const events = store.visibleEvents();
    let bytes = 0;
    for (const ev of events) if ((ev.kind === 'send' || ev.kind === 'sendto') && ev.status === 'ok') bytes += ev.bytes || 0;
    const open = [...model.sockets.values()].filter((s) => !s.closed).length;
    return {
      sockets: open,
      pending: model.pending.size,
      bytes,
      events: events.length ? events[events.length - 1].seq : 0,
      hosts: model.hosts.length,
    };
  };

  const render = () => {
    const state = store.state;
    tick();
    const session = state.session;
    if (!session) return;
    const limits = session.limits || {};
    const capture = session.capture;
    const model = state.model;
    const used = usage(state);
    const meter = (label, value, max, show = String) => {
      const frac = max ? Math.min(1, value / max) : 0;
      const bar = h('span', { class: ['meter', frac > 0.8 ? 'high' : null] }, h('span', { class: 'meter-fill' }));
      bar.firstChild.style.width = `${(frac * 100).toFixed(1)}%`;
      return [h('dt', {}, label), h('dd', {}, h('span', { class: 'meter-text' }, fmt(T.of, { value: show(value), max: show(max) })), bar)];
    };
    fill(meters,
      meter(T.sockets, used.sockets, limits.max_sockets),
      meter(T.blocked, used.pending, limits.max_pending_calls),
      meter(T.bytesSent, used.bytes, limits.max_session_bytes, fmtBytes),
      meter(T.events, used.events, limits.max_events),
      meter(T.hosts, used.hosts, limits.max_hosts),
      h('dt', {}, T.isolation), h('dd', { class: 'plain' }, h('span', { class: 'mono' }, session.isolation),
        h('span', { class: 'muted small' }, session.isolation === 'netns' ? T.netns : T.loopback)),
      h('dt', {}, T.ephemeral), h('dd', { class: 'plain', id: 'facts-ephemeral', title: ephemeralLesson() },
        h('span', { class: 'mono' }, model.hosts.map((x) => {
          const r = ephemeralRange(x);
          return `${x.name} ${r.lo}–${r.hi}${r.known ? '' : '*'}`;
        }).join(' · ')),
        h('span', { class: 'muted small' }, model.hosts.some((x) => !ephemeralRange(x).known)
          ? T.ephemeralDefault
          : T.ephemeralOwn)),
      h('dt', {}, T.calls), h('dd', { class: 'plain' }, fmt(T.rate, { rate: limits.max_calls_per_second ?? '?', wait: limits.wait_ms ?? '?' })),
      capture && capture.enabled
        ? meter(T.packets, model.packets.length, capture.max_packets)
        : [h('dt', {}, T.packets), h('dd', { class: 'plain', id: 'facts-capture' },
          h('span', {}, T.notCaptured), h('span', { class: 'muted small' }, ` — ${capture && capture.reason ? capture.reason : T.noCapture}`))]);

    const live = state.mode === 'live';
    if (state.role === 'owner' && state.viewerToken) {
      const url = `${location.origin}/s/${state.id}#viewer=${encodeURIComponent(state.viewerToken)}`;
      const input = h('input', { type: 'text', id: 'share-link', readonly: true, value: url, class: 'mono', 'aria-label': T.shareLink, onfocus: () => input.select() });
      const copy = h('button', { type: 'button', class: 'button small', id: 'share-copy' }, T.copy);
      copy.addEventListener('click', async () => {
        input.select();
        try {
          await navigator.clipboard.writeText(url);
          copy.textContent = T.copied;
        } catch {
          copy.textContent = T.selectCopy;
        }
        setTimeout(() => { copy.textContent = T.copy; }, 1500);
      });
      if (share.dataset.url !== url) {
        share.dataset.url = url;
        fill(share,
          h('h3', {}, T.share),
          h('div', { class: 'share-row' }, input, copy),
          h('p', { class: 'muted small' }, T.shareText, h('a', { href: url, target: '_blank', rel: 'noopener', id: 'share-open' }, T.openIt)));
      }
    } else if (state.role === 'owner') {
      share.dataset.url = '';
      fill(share, h('h3', {}, T.share),
        h('p', { class: 'muted small' }, T.shareElsewhere));
    } else {
      share.dataset.url = '';
      fill(share, h('p', { class: 'muted small' }, T.viewer));
    }

    const actionsKey = `${state.role}|${live}|${confirming}|${ending}`;
    if (actions.dataset.key === actionsKey) return;
    actions.dataset.key = actionsKey;
    if (state.role === 'owner' && live) {
      const endButton = h('button', { type: 'button', class: 'button danger', id: 'end-session', disabled: ending }, ending ? T.ending : T.end);
      endButton.addEventListener('click', () => {
        confirming = true;
        render();
        document.getElementById('end-confirm')?.focus();
      });
      const yes = h('button', { type: 'button', class: 'button danger', id: 'end-confirm' }, T.yes);
      yes.addEventListener('click', async () => {
        confirming = false;
        ending = true;
        render();
        await end();
        ending = false;
        render();
      });
      const no = h('button', { type: 'button', class: 'button ghost', id: 'end-cancel' }, T.cancel);
      no.addEventListener('click', () => {
        confirming = false;
        render();
        document.getElementById('end-session')?.focus();
      });
      fill(actions, confirming
        ? h('div', { class: 'confirm', role: 'group', 'aria-label': T.confirm },
          h('span', {}, T.confirmText), yes, no)
        : endButton);
    } else {
      fill(actions);
    }
  };

  setInterval(tick, TICK_MS);
  store.subscribe(batched(render));
  render();
}

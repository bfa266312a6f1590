// Session facts view: when the session ends (idle timeout and lifetime, counting down), its
// limits and what it has used of them (packets captured included, or why there are none),
// the read-only share link and the end button.
// Usage is counted from the event log, so it is current without asking the server.

import { h, fill, batched, fmtBytes, fmtDuration } from './dom.js';
import { isCall } from './describe.js';
import { EPHEMERAL_LESSON, ephemeralRange } from './ports.js';

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
      fill(countdown, h('p', { class: 'muted' }, 'Loading…'));
      return;
    }
    if (session.ended || state.mode !== 'live') {
      fill(countdown,
        h('div', { class: 'cd-main ended' }, h('span', { class: 'cd-label' }, 'Ended'), h('strong', {}, session.ended || 'ended')));
      return;
    }
    const now = Date.now();
    const idle = idleDeadline(state);
    const life = session.expires_ms;
    const first = Math.min(idle, life);
    const why = idle <= life ? 'if idle — each call restarts the idle timer' : 'its maximum lifetime';
    fill(countdown,
      h('div', { class: ['cd-main', first - now < 120000 ? 'soon' : null] },
        h('span', { class: 'cd-label' }, 'Ends in'),
        h('strong', { id: 'facts-ends-in', 'data-deadline': first }, fmtDuration(first - now)),
        h('span', { class: 'cd-why muted small' }, why)),
      h('div', { class: 'cd-sub muted small' },
        `idle timeout ${fmtDuration(idle - now)} · lifetime ${fmtDuration(life - now)}`));
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
      return [h('dt', {}, label), h('dd', {}, h('span', { class: 'meter-text' }, `${show(value)} of ${show(max)}`), bar)];
    };
    fill(meters,
      meter('Sockets', used.sockets, limits.max_sockets),
      meter('Blocked calls', used.pending, limits.max_pending_calls),
      meter('Bytes sent', used.bytes, limits.max_session_bytes, fmtBytes),
      meter('Events', used.events, limits.max_events),
      meter('Hosts', used.hosts, limits.max_hosts),
      h('dt', {}, 'Isolation'), h('dd', { class: 'plain' }, h('span', { class: 'mono' }, session.isolation),
        h('span', { class: 'muted small' }, session.isolation === 'netns' ? ' — each host its own network namespace' : ' — hosts are loopback addresses; the sandbox keeps the boundary')),
      h('dt', {}, 'Ephemeral ports'), h('dd', { class: 'plain', id: 'facts-ephemeral', title: EPHEMERAL_LESSON },
        h('span', { class: 'mono' }, model.hosts.map((x) => {
          const r = ephemeralRange(x);
          return `${x.name} ${r.lo}–${r.hi}${r.known ? '' : '*'}`;
        }).join(' · ')),
        h('span', { class: 'muted small' }, model.hosts.some((x) => !ephemeralRange(x).known)
          ? ' — * Linux’s default; this session does not say the host’s own'
          : ' — each host’s net.ipv4.ip_local_port_range, where the kernel picks ports nobody named (not IANA’s 49152–65535)')),
      h('dt', {}, 'Calls'), h('dd', { class: 'plain' }, `${limits.max_calls_per_second ?? '?'} per second at most; blocking calls wait ${limits.wait_ms ?? '?'} ms by default`),
      capture && capture.enabled
        ? meter('Packets', model.packets.length, capture.max_packets)
        : [h('dt', {}, 'Packets'), h('dd', { class: 'plain', id: 'facts-capture' },
          h('span', {}, 'not captured'), h('span', { class: 'muted small' }, ` — ${capture && capture.reason ? capture.reason : 'this session has no packet capture'}`))]);

    const live = state.mode === 'live';
    if (state.role === 'owner' && state.viewerToken) {
      const url = `${location.origin}/s/${state.id}#viewer=${encodeURIComponent(state.viewerToken)}`;
      const input = h('input', { type: 'text', id: 'share-link', readonly: true, value: url, class: 'mono', 'aria-label': 'Read-only link', onfocus: () => input.select() });
      const copy = h('button', { type: 'button', class: 'button small', id: 'share-copy' }, 'Copy');
      copy.addEventListener('click', async () => {
        input.select();
        try {
          await navigator.clipboard.writeText(url);
          copy.textContent = 'Copied';
        } catch {
          copy.textContent = 'Select and copy';
        }
        setTimeout(() => { copy.textContent = 'Copy'; }, 1500);
      });
      if (share.dataset.url !== url) {
        share.dataset.url = url;
        fill(share,
          h('h3', {}, 'Share a read-only view'),
          h('div', { class: 'share-row' }, input, copy),
          h('p', { class: 'muted small' }, 'Whoever opens this link watches live but cannot make calls. ', h('a', { href: url, target: '_blank', rel: 'noopener', id: 'share-open' }, 'Open it')));
      }
    } else if (state.role === 'owner') {
      share.dataset.url = '';
      fill(share, h('h3', {}, 'Share a read-only view'),
        h('p', { class: 'muted small' }, 'The read-only link is shown only in the browser tab that created the session.'));
    } else {
      share.dataset.url = '';
      fill(share, h('p', { class: 'muted small' }, 'You are watching a read-only view: calls are made by the session’s owner.'));
    }

    const actionsKey = `${state.role}|${live}|${confirming}|${ending}`;
    if (actions.dataset.key === actionsKey) return;
    actions.dataset.key = actionsKey;
    if (state.role === 'owner' && live) {
      const endButton = h('button', { type: 'button', class: 'button danger', id: 'end-session', disabled: ending }, ending ? 'Ending…' : 'End session');
      endButton.addEventListener('click', () => {
        confirming = true;
        render();
        document.getElementById('end-confirm')?.focus();
      });
      const yes = h('button', { type: 'button', class: 'button danger', id: 'end-confirm' }, 'Yes, end it');
      yes.addEventListener('click', async () => {
        confirming = false;
        ending = true;
        render();
        await end();
        ending = false;
        render();
      });
      const no = h('button', { type: 'button', class: 'button ghost', id: 'end-cancel' }, 'Cancel');
      no.addEventListener('click', () => {
        confirming = false;
        render();
        document.getElementById('end-session')?.focus();
      });
      fill(actions, confirming
        ? h('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirm ending' },
          h('span', {}, 'Close every socket and end the session?'), yes, no)
        : endButton);
    } else {
      fill(actions);
    }
  };

  setInterval(tick, TICK_MS);
  store.subscribe(batched(render));
  render();
}

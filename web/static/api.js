// The page's only way to the server: the public REST API and the WebSocket stream, with the
// token from the URL fragment. Errors come back in the API's one shape,
// {type, message, field?}, wrapped in ApiError.

/** Events asked for per page when loading a recording. */
const EVENTS_PAGE = 1000;
/** Wait before reconnecting a dropped stream, growing to the maximum. */
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 8000;

/** Where the page that created a session keeps its viewer token (sessionStorage: this tab
 * only), so that its owner page can show the read-only link. */
export const viewerKey = (id) => `plugboard:viewer:${id}`;

/** An answer of the API that is not a success. */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.type = body && body.type;
    this.field = body && body.field;
    this.retryAfter = body && body.retryAfter;
  }
}

async function request(method, path, token, body) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = { message: text.slice(0, 200) };
  }
  if (!response.ok) {
    const error = new ApiError(response.status, json);
    error.retryAfter = response.headers.get('Retry-After');
    throw error;
  }
  return { status: response.status, body: json };
}

/** GET a JSON document without a token. */
export async function getJson(path) {
  return (await request('GET', path)).body;
}

/** Start a session ({hosts?, exercise?}); the API's answer, tokens included. */
export async function createSession(options) {
  return (await request('POST', '/api/sessions', null, options)).body;
}

/** One session's API, with the token the page was opened with. */
export class SessionApi {
  constructor(id, token) {
    this.id = id;
    this.token = token;
    this.base = `/api/sessions/${encodeURIComponent(id)}`;
  }

  /** The snapshot (live) or the record (ended). */
  async session() {
    return (await request('GET', this.base, this.token)).body;
  }

  /** Make one call: {status, body} where body is the call's answer. */
  async call(call) {
    return request('POST', `${this.base}/calls`, this.token, call);
  }

  /** End the session. */
  async end() {
    return (await request('DELETE', this.base, this.token)).body;
  }

  /** Add a host. */
  async addHost() {
    return (await request('POST', `${this.base}/hosts`, this.token, {})).body;
  }

  /** The exercise checklist now, not stored. */
  async checks() {
    return (await request('GET', `${this.base}/checks`, this.token)).body;
  }

  /** Grade the session and store the attempt (owner). */
  async grade() {
    return (await request('POST', `${this.base}/grade`, this.token, {})).body;
  }

  /** An exercise of the catalog. */
  async exercise(id) {
    return (await request('GET', `/api/exercises/${encodeURIComponent(id)}`)).body;
  }

  /** The session's calls as programs in `lang` (c, python, rust): {lang, files, readme,
   * skipped}, the comments in the page's language. */
  async export(lang) {
    return (await request('GET', `${this.base}/export?lang=${encodeURIComponent(lang)}`, this.token)).body;
  }

  /** The session's packets as a pcapng file, a Blob. Fetched with the token in a header
   * (the server takes it nowhere else for this), then saved by the page. */
  async capture() {
    const response = await fetch(`${this.base}/capture.pcapng`, {
      headers: { Authorization: `Bearer ${this.token}` },
      cache: 'no-store',
    });
    if (!response.ok) {
      let body = null;
      try {
        body = await response.json();
      } catch {
        body = null;
      }
      throw new ApiError(response.status, body);
    }
    return response.blob();
  }

  /** Every event after `after`, page by page. */
  async allEvents(after = 0, upTo = Infinity) {
    const events = [];
    let cursor = after;
    for (;;) {
      const page = (await request('GET', `${this.base}/events?after=${cursor}&limit=${EVENTS_PAGE}`, this.token)).body;
      for (const ev of page.events) if (ev.seq <= upTo) events.push(ev);
      if (page.events.length === 0 || page.next_after >= Math.min(page.last_seq, upTo)) break;
      cursor = page.next_after;
    }
    return events;
  }

  /** Follow the live stream from `after`: handlers.snapshot(s, resync), handlers.event(e),
   * handlers.ended(reason), handlers.status(text). Reconnects after drops, resuming after
   * handlers.lastSeq(). Returns a function that stops it. */
  stream(handlers) {
    let socket = null;
    let stopped = false;
    let delay = RECONNECT_MIN_MS;
    let timer = null;
    const open = () => {
      if (stopped) return;
      const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
      const after = handlers.lastSeq();
      const url = `${scheme}://${location.host}${this.base}/ws?after=${after}&token=${encodeURIComponent(this.token)}`;
      handlers.status('connecting');
      socket = new WebSocket(url);
      let ended = false;
      socket.addEventListener('open', () => {
        delay = RECONNECT_MIN_MS;
        handlers.status('live');
      });
      socket.addEventListener('message', (message) => {
        let msg;
        try {
          msg = JSON.parse(message.data);
        } catch {
          return;
        }
        if (msg.type === 'snapshot') handlers.snapshot(msg.snapshot, false);
        else if (msg.type === 'resync') handlers.snapshot(msg.snapshot, true);
        else if (msg.type === 'event') handlers.event(msg.event);
        else if (msg.type === 'ended') {
          ended = true;
          handlers.ended(msg.reason);
        }
      });
      socket.addEventListener('close', () => {
        socket = null;
        if (stopped || ended) {
          handlers.status(ended ? 'ended' : 'closed');
          return;
        }
        handlers.status('reconnecting');
        timer = setTimeout(open, delay);
        delay = Math.min(delay * 2, RECONNECT_MAX_MS);
      });
    };
    open();
    return () => {
      stopped = true;
      clearTimeout(timer);
      if (socket) socket.close(1000, 'page closed the view');
    };
  }
}

/**
 * The demo page's browser script (plain JavaScript, no build step). It is a
 * TypeScript string so that `tsc` carries it into dist/ with the rest of the
 * server; demo-routes.ts serves it inline under a CSP hash.
 *
 * What it shows is the race-free realtime pattern of docs/realtime.md: load
 * the list over HTTP (which answers with `seq`), subscribe with
 * `since: seq`, apply each change once, resume with the last seq seen after
 * a reconnect, reload on `resync`. Record text only ever reaches the page
 * through `textContent`.
 *
 * Keep it free of backticks and dollar-brace: it lives in a template literal.
 */
export const DEMO_SCRIPT = String.raw`
'use strict';
(() => {
  const collection = new URLSearchParams(location.search).get('collection') || 'demo';
  const recordsPath = '/api/collections/' + encodeURIComponent(collection) + '/records';
  const $ = (id) => document.getElementById(id);
  const ui = {
    name: $('collection-name'), status: $('status'), seq: $('seq'), count: $('count'),
    list: $('records'), empty: $('empty'), note: $('note'), error: $('error'),
    addForm: $('add-form'), addTitle: $('add-title'), addResult: $('add-result'),
    signinForm: $('signin-form'), username: $('username'), password: $('password'),
    signedIn: $('signed-in'), who: $('who'), signout: $('signout'),
  };

  const state = {
    session: null,        // { user, accessToken, refreshToken }: in memory only
    rows: new Map(),      // record id -> { record, li }
    lastSeq: 0,           // the seq of the last change applied (or of the HTTP snapshot)
    loaded: false,
    ws: null,
    subId: null,
    subCounter: 0,
    generation: 0,        // bumped by restart(): callbacks of an older socket or load do nothing
    retryMs: 0,
    retryTimer: 0,
    stopped: false,       // a permanent refusal: wait for the user (sign in) instead of retrying
    refreshing: null,
  };

  ui.name.textContent = collection;
  document.title = collection + ' · Sigil live list';

  function setStatus(kind, text) {
    ui.status.dataset.state = kind;
    ui.status.textContent = text;
  }
  function showError(text) {
    ui.error.textContent = text || '';
    ui.error.hidden = !text;
  }
  function setSeq(seq) {
    state.lastSeq = seq;
    ui.seq.textContent = String(seq);
  }
  function titleOf(record) {
    return typeof record.title === 'string' && record.title !== '' ? record.title : '(untitled)';
  }
  function refreshCount() {
    ui.count.textContent = String(state.rows.size);
    ui.empty.hidden = state.rows.size > 0;
  }

  function upsert(record) {
    let row = state.rows.get(record.id);
    if (!row) {
      const li = document.createElement('li');
      li.dataset.id = record.id;
      const title = document.createElement('span');
      title.className = 'title';
      const meta = document.createElement('span');
      meta.className = 'meta';
      li.append(title, meta);
      ui.list.append(li);
      row = { record, li };
      state.rows.set(record.id, row);
    }
    row.record = record;
    row.li.querySelector('.title').textContent = titleOf(record);
    row.li.querySelector('.meta').textContent = 'v' + record.version + ' · ' + record.id;
    row.li.classList.remove('flash');
    void row.li.offsetWidth; // restart the highlight animation
    row.li.classList.add('flash');
    refreshCount();
  }
  function remove(id) {
    const row = state.rows.get(id);
    if (!row) return;
    row.li.remove();
    state.rows.delete(id);
    refreshCount();
  }
  function clearList() {
    for (const row of state.rows.values()) row.li.remove();
    state.rows.clear();
    refreshCount();
  }

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(method, path, body, retried) {
    const headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (state.session) headers.authorization = 'Bearer ' + state.session.accessToken;
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (res.ok) return data;
    const error = (data && data.error) || { code: 'internal', message: 'HTTP ' + res.status };
    if (error.code === 'token_expired' && state.session && !retried) {
      await refreshTokens();
      return api(method, path, body, true);
    }
    throw new ApiError(res.status, error.code, error.message);
  }

  // Refresh tokens are rotated and a reused one revokes the session, so
  // concurrent callers share one refresh.
  function refreshTokens() {
    if (!state.refreshing) {
      const session = state.session;
      state.refreshing = api('POST', '/api/auth/refresh', { refreshToken: session.refreshToken }, true)
        .then((pair) => {
          if (state.session === session) Object.assign(session, pair);
        })
        .catch((err) => {
          if (state.session === session) signedOut('Your session ended (' + err.message + '); showing what anyone can see.');
          throw err;
        })
        .finally(() => {
          state.refreshing = null;
        });
    }
    return state.refreshing;
  }

  function send(message) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(message));
  }

  function subscribe() {
    state.subCounter += 1;
    state.subId = 'list' + state.subCounter;
    send({ type: 'subscribe', id: state.subId, collection, since: state.lastSeq });
  }

  // A load that fails for lack of rights will not succeed by retrying.
  function isPermanent(err) {
    return err instanceof ApiError && (err.status === 401 || err.status === 403 || err.status === 404);
  }

  async function load(gen) {
    const body = await api('GET', recordsPath + '?limit=200');
    if (gen !== state.generation) return false;
    clearList();
    for (const record of body.items) upsert(record);
    setSeq(body.seq);
    ui.note.hidden = body.nextCursor === null;
    state.loaded = true;
    return true;
  }

  async function start(gen) {
    try {
      if (!state.loaded) {
        setStatus('loading', 'loading…');
        if (!(await load(gen))) return;
      }
      connect(gen);
    } catch (err) {
      if (gen !== state.generation) return;
      if (isPermanent(err)) {
        state.stopped = true;
        setStatus('error', 'not available');
        // A collection the caller may not read is 404, like a missing one: signing in may reveal it.
        showError((err.status === 404 ? 'No collection "' + collection + '" that you can see.' : err.message) + (state.session ? '' : ' Sign in?'));
        return;
      }
      showError(err.message);
      scheduleRetry(gen);
    }
  }

  function connect(gen) {
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/realtime');
    state.ws = ws;
    setStatus('connecting', 'connecting…');
    ws.onopen = () => {
      if (ws !== state.ws) return;
      // Messages are handled in order on the server: auth applies before subscribe.
      if (state.session) send({ type: 'auth', token: state.session.accessToken });
      subscribe();
    };
    ws.onmessage = (event) => {
      if (ws !== state.ws) return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      onMessage(message, gen);
    };
    ws.onclose = (event) => {
      if (ws !== state.ws) return;
      state.ws = null;
      onClose(event, gen);
    };
  }

  function onMessage(message, gen) {
    switch (message.type) {
      case 'subscribed':
        if (message.id !== state.subId) return;
        state.retryMs = 0;
        showError('');
        setStatus('live', 'live');
        return;
      case 'change':
        // Each change arrives once and in seq order; the check only guards against a bug.
        if (message.sub !== state.subId || message.seq <= state.lastSeq) return;
        if (message.op === 'create' || message.op === 'update') upsert(message.record);
        else if (message.op === 'leave' || message.op === 'delete') remove(message.record.id);
        setSeq(message.seq);
        return;
      case 'resync':
        // The log no longer reaches back to our seq: reload over HTTP, subscribe from the new seq.
        if (message.id !== state.subId) return;
        setStatus('loading', 'resyncing…');
        load(gen).then((fresh) => {
          if (fresh) subscribe();
        }, (err) => {
          showError(err.message);
          if (state.ws) state.ws.close();
        });
        return;
      case 'auth_expired':
        refreshTokens().then(() => send({ type: 'auth', token: state.session.accessToken }), () => undefined);
        return;
      case 'error':
        if (message.code === 'token_expired' && state.session) {
          refreshTokens().then(() => send({ type: 'auth', token: state.session.accessToken }), () => undefined);
        } else if (message.id !== undefined && message.id === state.subId) {
          // The subscription was refused (rights): stop until the user signs in.
          state.stopped = true;
          setStatus('error', 'not subscribed');
          showError(message.message);
          state.ws.close(1000);
        } else {
          showError(message.message);
        }
        return;
      default:
        return; // authed, unsubscribed, and any message type added later
    }
  }

  function onClose(event, gen) {
    if (gen !== state.generation || state.stopped) return;
    if (event.code === 4001 || event.code === 4003) {
      // Invalid token, or the user was disabled, deleted or signed out elsewhere.
      signedOut('Signed out by the server (' + (event.reason || event.code) + '); showing what anyone can see.');
      return;
    }
    scheduleRetry(gen);
  }

  function scheduleRetry(gen) {
    clearTimeout(state.retryTimer);
    state.retryMs = Math.min(Math.max(500, state.retryMs * 2), 15000);
    const delay = Math.round(state.retryMs * (0.5 + Math.random() / 2));
    setStatus('offline', 'offline, retrying in ' + Math.ceil(delay / 1000) + ' s');
    state.retryTimer = setTimeout(() => {
      if (gen === state.generation) void start(gen);
    }, delay);
  }

  // A new identity may see different records: start over from a fresh list.
  function restart() {
    state.generation += 1;
    clearTimeout(state.retryTimer);
    const ws = state.ws;
    state.ws = null;
    if (ws) ws.close(1000);
    state.loaded = false;
    state.stopped = false;
    state.retryMs = 0;
    showError('');
    void start(state.generation);
  }

  function renderIdentity() {
    const user = state.session && state.session.user;
    ui.signinForm.hidden = Boolean(user);
    ui.signedIn.hidden = !user;
    ui.who.textContent = user ? user.username + ' (' + user.role + ')' : '';
  }

  function signedOut(reason) {
    state.session = null;
    renderIdentity();
    restart();
    showError(reason);
  }

  ui.signinForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const credentials = { username: ui.username.value.trim(), password: ui.password.value };
    api('POST', '/api/auth/login', credentials, true).then((session) => {
      state.session = session;
      ui.password.value = '';
      renderIdentity();
      restart();
    }, (err) => showError('Sign-in failed: ' + err.message));
  });

  ui.signout.addEventListener('click', () => {
    const session = state.session;
    state.session = null;
    renderIdentity();
    restart();
    if (session) api('POST', '/api/auth/logout', { refreshToken: session.refreshToken }, true).catch(() => undefined);
  });

  ui.addForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const title = ui.addTitle.value.trim();
    if (title === '') return;
    ui.addResult.textContent = 'adding…';
    // No local insert: the record shows up when its change arrives, like everyone else's.
    api('POST', recordsPath, { title }).then(() => {
      ui.addTitle.value = '';
      ui.addResult.textContent = '';
    }, (err) => {
      const hint = err.status === 401 ? ' Sign in to add records here.' : err.status === 403 ? ' You may not add records here.' : '';
      ui.addResult.textContent = err.message + hint;
    });
  });

  renderIdentity();
  restart();
})();
`;

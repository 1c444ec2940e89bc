/**
 * The demo page's script (GET /demo/), on @sigil/client: a live query of one
 * collection (`?collection=name`, default `demo`) with a filter and a sort,
 * create, edit and delete, sign-in and registration with the session in
 * localStorage (shared by tabs), and the realtime connection's state.
 *
 * The client does the protocol: list with `seq`, subscribe with `since`,
 * whole transactions, resume after a reconnect, reload on `resync`, token
 * refresh ahead of expiry and on `auth_expired`. Record text only ever
 * reaches the page through `textContent`.
 */
import {
  createClient,
  localStorageTokenStore,
  SigilError,
  type ConnectionState,
  type LiveQuery,
  type LiveSnapshot,
  type RecordOf,
  type Session,
  type UntypedCollection,
} from '@sigil/client';

type Item = RecordOf<UntypedCollection>;

/** The live query's window: what a page shows at once. */
const LIMIT = 200;
const SORTS = new Set(['createdAt', '-createdAt', 'title', '-title']);

const collectionName = new URLSearchParams(location.search).get('collection') || 'demo';
const client = createClient({ url: location.origin, tokenStore: localStorageTokenStore({ key: 'sigil.demo.session' }) });
const records = client.collection(collectionName);

function byId<T extends HTMLElement>(id: string, type: { new (): T; prototype: T }): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`the demo page has no <${type.name}> #${id}`);
  return found;
}

const ui = {
  name: byId('collection-name', HTMLElement),
  status: byId('status', HTMLElement),
  count: byId('count', HTMLElement),
  seq: byId('seq', HTMLElement),
  banner: byId('banner', HTMLElement),
  error: byId('error', HTMLElement),
  queryForm: byId('query-form', HTMLFormElement),
  filter: byId('filter-title', HTMLInputElement),
  sort: byId('sort', HTMLSelectElement),
  list: byId('records', HTMLUListElement),
  empty: byId('empty', HTMLElement),
  note: byId('note', HTMLElement),
  addForm: byId('add-form', HTMLFormElement),
  addTitle: byId('add-title', HTMLInputElement),
  addResult: byId('add-result', HTMLElement),
  signinForm: byId('signin-form', HTMLFormElement),
  username: byId('username', HTMLInputElement),
  password: byId('password', HTMLInputElement),
  register: byId('register', HTMLButtonElement),
  signedIn: byId('signed-in', HTMLElement),
  who: byId('who', HTMLElement),
  signout: byId('signout', HTMLButtonElement),
};

interface Row {
  readonly li: HTMLLIElement;
  readonly title: HTMLSpanElement;
  readonly meta: HTMLSpanElement;
  record: Item;
  /** The version the edit form started from (sent as If-Match), while it is open. */
  editing: number | null;
}

let filterTimer: ReturnType<typeof setTimeout> | undefined;
const state = {
  live: null as LiveQuery<Item> | null,
  /** `loading` until the live query's first result, `error` once it is refused, else `ready`. */
  phase: 'loading' as 'loading' | 'ready' | 'error',
  rows: new Map<string, Row>(),
  rendered: false,
  userId: client.auth.session?.user.id ?? null,
  signingOut: false,
};

ui.name.textContent = collectionName;
document.title = `${collectionName} · Sigil live list`;

function showError(text: string): void {
  ui.error.textContent = text;
  ui.error.hidden = text === '';
}

/** A SigilError for people, with a hint when signing in would help. */
function explain(error: unknown, action: string): string {
  if (!(error instanceof SigilError)) return `${action} failed: ${error instanceof Error ? error.message : String(error)}`;
  const hint = error.status === 401 ? ' Sign in first.' : error.status === 403 ? ' You may not do that here.' : '';
  return `${action} failed: ${error.message}${hint}`;
}

const BANNERS: Record<ConnectionState, string> = {
  connecting: 'Connecting to the realtime feed…',
  live: '',
  resuming: 'Connection lost: reconnecting. Changes made meanwhile will be replayed, none lost.',
  offline: 'Not connected to the realtime feed.',
};

/** The pill and the banner: the live query's phase, then the connection's state. */
function renderStatus(): void {
  const connection = client.realtime.state;
  const [kind, text] =
    state.phase === 'error' ? ['error', 'not available'] : state.phase === 'loading' ? ['loading', 'loading…'] : [connection, connection === 'resuming' ? 'reconnecting…' : connection === 'connecting' ? 'connecting…' : connection];
  ui.status.dataset['state'] = kind;
  ui.status.textContent = text;
  ui.banner.textContent = state.phase === 'ready' ? BANNERS[connection] : '';
  ui.banner.hidden = ui.banner.textContent === '';
}

function titleOf(record: Item): string {
  return typeof record['title'] === 'string' && record['title'] !== '' ? record['title'] : '(untitled)';
}

function flash(li: HTMLLIElement): void {
  li.animate([{ background: 'var(--flash)' }, { background: 'transparent' }], { duration: 1200, easing: 'ease-out' });
}

function newRow(record: Item): Row {
  const li = document.createElement('li');
  li.dataset['id'] = record.id;
  const title = document.createElement('span');
  title.className = 'title';
  const meta = document.createElement('span');
  meta.className = 'meta';
  const actions = document.createElement('span');
  actions.className = 'actions';
  const edit = document.createElement('button');
  edit.type = 'button';
  edit.className = 'edit secondary';
  edit.textContent = 'Edit';
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'delete secondary';
  remove.textContent = 'Delete';
  actions.append(edit, remove);
  li.append(title, meta, actions);
  const row: Row = { li, title, meta, record, editing: null };
  edit.addEventListener('click', () => openEditor(row));
  remove.addEventListener('click', () => {
    remove.disabled = true;
    // No local removal: the row goes when the delete arrives over the socket, as for everyone else.
    records.delete(row.record.id).then(
      () => showError(''),
      (error: unknown) => {
        remove.disabled = false;
        showError(explain(error, 'Delete'));
      },
    );
  });
  return row;
}

/** An inline form; saving sends a merge patch with If-Match, so a change made meanwhile is not overwritten. */
function openEditor(row: Row): void {
  if (row.editing !== null) return;
  row.editing = row.record.version;
  const form = document.createElement('form');
  form.className = 'edit-form';
  const input = document.createElement('input');
  input.className = 'edit-title';
  input.maxLength = 500;
  input.required = true;
  input.value = typeof row.record['title'] === 'string' ? row.record['title'] : '';
  const save = document.createElement('button');
  save.type = 'submit';
  save.textContent = 'Save';
  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.className = 'secondary';
  cancel.textContent = 'Cancel';
  form.append(input, save, cancel);
  const close = (): void => {
    row.editing = null;
    form.remove();
    row.title.hidden = false;
  };
  cancel.addEventListener('click', close);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const version = row.editing;
    if (version === null) return;
    save.disabled = true;
    records.update(row.record.id, { title: input.value.trim() }, { ifMatch: version }).then(
      () => {
        showError('');
        close();
      },
      (error: unknown) => {
        save.disabled = false;
        if (error instanceof SigilError && error.code === 'precondition_failed') {
          // Someone changed it since the form opened: start over from what the list holds now.
          row.editing = row.record.version;
          input.value = typeof row.record['title'] === 'string' ? row.record['title'] : '';
          showError('Someone changed this record meanwhile; the form now holds their version. Save again to overwrite it.');
        } else {
          showError(explain(error, 'Saving'));
        }
      },
    );
  });
  row.title.hidden = true;
  row.li.append(form);
  input.focus();
}

/** Moves, adds and removes rows to match the result; rows whose record changed flash. */
function render(snapshot: LiveSnapshot<Item>): void {
  const keep = new Set<string>();
  snapshot.items.forEach((record, index) => {
    keep.add(record.id);
    let row = state.rows.get(record.id);
    const changed = !row || row.record.version !== record.version;
    if (!row) {
      row = newRow(record);
      state.rows.set(record.id, row);
    }
    row.record = record;
    row.title.textContent = titleOf(record);
    row.meta.textContent = `v${record.version} · ${record.id}`;
    if (ui.list.children[index] !== row.li) ui.list.insertBefore(row.li, ui.list.children[index] ?? null);
    if (changed && state.rendered) flash(row.li);
  });
  for (const [id, row] of state.rows) {
    if (keep.has(id)) continue;
    row.li.remove();
    state.rows.delete(id);
  }
  state.rendered = true;
  ui.count.textContent = snapshot.hasMore ? `${snapshot.items.length}+` : String(snapshot.items.length);
  ui.seq.textContent = String(snapshot.seq);
  ui.empty.hidden = snapshot.items.length > 0;
  ui.empty.textContent = ui.filter.value.trim() === '' ? 'No records yet.' : 'No records match.';
  ui.note.hidden = !snapshot.hasMore;
}

function clearRows(): void {
  for (const row of state.rows.values()) row.li.remove();
  state.rows.clear();
  state.rendered = false;
}

/** (Re)starts the live query for the current identity, filter and sort. */
function restart(): void {
  clearTimeout(filterTimer); // a sort change also takes the filter typed so far
  state.live?.close();
  clearRows();
  state.phase = 'loading';
  renderStatus();
  const text = ui.filter.value.trim();
  const sort = SORTS.has(ui.sort.value) ? ui.sort.value : 'createdAt';
  const live = records.live(
    { ...(text === '' ? {} : { filter: { title: { $contains: text } } }), sort, limit: LIMIT },
    (snapshot) => {
      if (state.live !== live) return;
      if (state.phase !== 'ready') showError('');
      state.phase = 'ready';
      render(snapshot);
      renderStatus();
    },
    (error) => {
      if (state.live !== live) return;
      state.phase = 'error';
      renderStatus();
      // A collection the caller may not read is not_found, like a missing one: signing in may reveal it.
      const what = error.code === 'not_found' ? `No collection "${collectionName}" that you can see.` : `The list was refused: ${error.message}`;
      showError(what + (client.auth.session ? '' : ' Sign in?'));
    },
  );
  state.live = live;
}

function renderIdentity(session: Session | null): void {
  ui.signinForm.hidden = session !== null;
  ui.signedIn.hidden = session === null;
  ui.who.textContent = session ? `${session.user.username} (${session.user.role})` : '';
}

// Sign-in, sign-out and refreshes, here or in another tab. Only a new identity restarts the list.
client.auth.onAuthChange((session) => {
  renderIdentity(session);
  const userId = session?.user.id ?? null;
  if (userId === state.userId) return;
  state.userId = userId;
  restart();
  if (userId === null && !state.signingOut) showError('Your session ended; showing what anyone can see.');
});
client.realtime.onStateChange(renderStatus);

ui.signinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const registering = event.submitter === ui.register;
  const credentials = { username: ui.username.value.trim(), password: ui.password.value };
  (registering ? client.auth.register(credentials) : client.auth.login(credentials)).then(
    () => {
      ui.password.value = '';
      showError('');
    },
    (error: unknown) => showError(explain(error, registering ? 'Registering' : 'Sign-in')),
  );
});

ui.signout.addEventListener('click', () => {
  state.signingOut = true;
  client.auth
    .logout()
    .catch(() => undefined) // signed out here either way; the server forgets the session when it expires
    .finally(() => (state.signingOut = false));
});

ui.addForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const title = ui.addTitle.value.trim();
  if (title === '') return;
  ui.addResult.textContent = 'adding…';
  // No local insert: the record shows up when its change arrives, like everyone else's.
  records.create({ title }).then(
    () => {
      ui.addTitle.value = '';
      ui.addResult.textContent = '';
    },
    (error: unknown) => (ui.addResult.textContent = explain(error, 'Adding')),
  );
});

ui.queryForm.addEventListener('submit', (event) => event.preventDefault());
ui.filter.addEventListener('input', () => {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(restart, 250);
});
ui.sort.addEventListener('change', restart);

renderIdentity(client.auth.session);
restart();

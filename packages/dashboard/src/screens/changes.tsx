import type { RealtimeSubscription, SigilError } from '@sigil/client';
import { useEffect, useRef, useState } from 'preact/hooks';
import { client } from '../client';
import { href, navigate } from '../router';
import { ErrorMessage } from '../ui/error-message';

interface Entry {
  readonly key: string;
  readonly seq: number;
  readonly collection: string;
  readonly op: string;
  readonly id: string | null;
  readonly at: number;
}

/** The newest entries kept on screen (and while paused). */
const KEEP = 500;
/** New collections are picked up this often (realtime has no "collection created" event). */
const COLLECTIONS_REFRESH_MS = 5000;

/**
 * Changes as they commit, newest first: one subscription per collection on
 * the client's one socket, merged by seq. Pausing freezes the list while
 * changes keep being collected; a gap (the server's log no longer reaches
 * back) is shown as such, never silently.
 */
export function ChangesScreen({ params }: { params: URLSearchParams }) {
  const only = params.get('collection') ?? '';
  const [entries, setEntries] = useState<readonly Entry[]>([]);
  const [paused, setPaused] = useState(false);
  const [names, setNames] = useState<readonly string[]>([]);
  const [error, setError] = useState<SigilError | undefined>(undefined);
  const [waiting, setWaiting] = useState(0);
  const buffer = useRef<Entry[]>([]);
  const pausedRef = useRef(paused);
  const flushRef = useRef<() => void>(() => undefined);

  useEffect(() => {
    const subscriptions = new Map<string, RealtimeSubscription>();
    let stopped = false;
    const flush = (): void => {
      if (pausedRef.current) {
        setWaiting(buffer.current.length);
        return;
      }
      const fresh = buffer.current;
      buffer.current = [];
      setWaiting(0);
      setEntries((old) => [...fresh, ...old].sort((a, b) => b.seq - a.seq).slice(0, KEEP));
    };
    flushRef.current = flush;
    const add = (entry: Entry): void => {
      buffer.current.push(entry);
      if (buffer.current.length > KEEP) buffer.current.splice(0, buffer.current.length - KEEP);
      flush();
    };
    const sync = async (): Promise<void> => {
      const list = (await client.collections.list()).map((c) => c.name);
      if (stopped) return;
      setNames(list);
      for (const name of list) {
        if (subscriptions.has(name)) continue;
        subscriptions.set(
          name,
          client.collection(name).subscribe(
            {},
            {
              onChanges: (changes) => {
                for (const ch of changes) add({ key: `${ch.seq}:${name}:${ch.record.id}`, seq: ch.seq, collection: name, op: ch.op, id: ch.record.id, at: Date.now() });
              },
              onResync: () => {
                add({ key: `resync:${name}:${Date.now()}`, seq: Number.MAX_SAFE_INTEGER, collection: name, op: 'gap', id: null, at: Date.now() });
                subscriptions.get(name)?.restart(undefined);
              },
              onError: (e) => {
                subscriptions.delete(name);
                if (e.code !== 'not_found') setError(e);
              },
            },
          ),
        );
      }
      for (const [name, sub] of subscriptions) {
        if (!list.includes(name)) {
          sub.close();
          subscriptions.delete(name);
        }
      }
    };
    const refresh = (): void => {
      sync().catch((e: unknown) => setError(e as SigilError));
    };
    refresh();
    const timer = setInterval(refresh, COLLECTIONS_REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
      for (const sub of subscriptions.values()) sub.close();
    };
  }, []);

  const togglePause = (): void => {
    const next = !paused;
    setPaused(next);
    pausedRef.current = next;
    if (!next) flushRef.current();
  };

  const shown = only ? entries.filter((e) => e.collection === only) : entries;
  return (
    <section aria-labelledby="changes-title">
      <h1 id="changes-title">Change log</h1>
      <div class="toolbar">
        <label>
          Collection
          <select value={only} onChange={(e) => navigate(href('changes', undefined, e.currentTarget.value ? { collection: e.currentTarget.value } : {}), { replace: true })}>
            <option value="">All collections</option>
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <button type="button" aria-pressed={paused} onClick={togglePause}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <span class="muted small" role="status">
          {paused ? `Paused: ${waiting} new change${waiting === 1 ? '' : 's'} waiting` : 'Showing changes as they commit'}
        </span>
      </div>
      <ErrorMessage error={error} />
      {shown.length === 0 ? (
        <p class="empty">No changes since this screen opened. Write a record anywhere and it shows up here.</p>
      ) : (
        <div class="table-wrap">
          <table class="changes">
            <thead>
              <tr>
                <th scope="col" class="num">
                  seq
                </th>
                <th scope="col">Collection</th>
                <th scope="col">Operation</th>
                <th scope="col">Record</th>
                <th scope="col">Received</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((e) => (
                <tr key={e.key} data-seq={e.seq === Number.MAX_SAFE_INTEGER ? undefined : e.seq} class={`op-${e.op}`}>
                  <td class="num">{e.seq === Number.MAX_SAFE_INTEGER ? '—' : e.seq}</td>
                  <td>{e.collection}</td>
                  <td>{e.op === 'gap' ? 'gap: older changes left the log, resumed from now' : e.op}</td>
                  <td>{e.id && (e.op === 'delete' ? <code>{e.id}</code> : <a href={href('records', e.collection, { open: e.id })}><code>{e.id}</code></a>)}</td>
                  <td>{new Date(e.at).toLocaleTimeString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

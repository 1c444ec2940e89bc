import { useEffect, useState } from 'preact/hooks';
import { client } from '../client';
import { ErrorMessage } from '../ui/error-message';

interface Entry {
  readonly seq: number;
  readonly collection: string;
  readonly op: string;
  readonly id: string;
}
const KEEP = 500;

/** Changes as they commit, across every collection (one subscription per collection). */
export function ChangesScreen(_: { params: URLSearchParams }) {
  const [entries, setEntries] = useState<readonly Entry[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    let stops: (() => void)[] = [];
    let cancelled = false;
    client.collections.list().then(
      (collections) => {
        if (cancelled) return;
        stops = collections.map((c) => {
          const sub = client.collection(c.name).subscribe(
            {},
            {
              onChanges: (changes) => setEntries((old) => [...changes.map((ch) => ({ seq: ch.seq, collection: c.name, op: ch.op, id: ch.record.id })).reverse(), ...old].slice(0, KEEP)),
              onResync: () => undefined,
              onError: setError,
            },
          );
          return () => sub.close();
        });
      },
      setError,
    );
    return () => {
      cancelled = true;
      for (const stop of stops) stop();
    };
  }, []);
  return (
    <section aria-labelledby="changes-title">
      <h1 id="changes-title">Change log</h1>
      <ErrorMessage error={error} />
      <ol class="log" aria-live="off">
        {entries.map((e) => (
          <li key={`${e.seq}:${e.collection}:${e.id}`}>
            <code>{e.seq}</code> {e.collection} <strong>{e.op}</strong> <code>{e.id}</code>
          </li>
        ))}
      </ol>
    </section>
  );
}

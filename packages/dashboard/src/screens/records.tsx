import type { LiveSnapshot, SigilError } from '@sigil/client';
import { useEffect, useState } from 'preact/hooks';
import { client } from '../client';
import { href } from '../router';
import { useAsync } from '../ui/async';
import { ErrorMessage } from '../ui/error-message';

type Row = { readonly id: string; readonly [key: string]: unknown };
const PAGE = 50;

/** A collection's records, live: the newest first, as anyone writes. */
export function RecordsScreen({ name }: { name: string; params: URLSearchParams }) {
  const definition = useAsync(() => client.collections.get(name), [name]);
  const [snapshot, setSnapshot] = useState<LiveSnapshot<Row> | null>(null);
  const [error, setError] = useState<SigilError | undefined>(undefined);
  useEffect(() => {
    const live = client.collection(name).live({ sort: '-createdAt', limit: PAGE }, setSnapshot, setError);
    return () => live.close();
  }, [name]);
  const fields = Object.keys((definition.data?.schema['properties'] as object | undefined) ?? {});
  return (
    <section aria-labelledby="records-title">
      <div class="heading">
        <h1 id="records-title">{name}</h1>
        <a href={href('collection', name)}>Definition</a>
      </div>
      <ErrorMessage error={definition.error ?? error} />
      {snapshot && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">id</th>
                {fields.map((f) => (
                  <th scope="col" key={f}>
                    {f}
                  </th>
                ))}
                <th scope="col">updated</th>
              </tr>
            </thead>
            <tbody>
              {snapshot.items.map((r) => (
                <tr key={r.id} data-id={r.id}>
                  <td>
                    <code>{r.id}</code>
                  </td>
                  {fields.map((f) => (
                    <td key={f}>{cell(r[f])}</td>
                  ))}
                  <td>{String(r['updatedAt'])}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

import { client } from '../client';
import { href } from '../router';
import { useAsync } from '../ui/async';
import { ErrorMessage } from '../ui/error-message';

/** Every collection with its record count, linking to its records and its definition. */
export function CollectionsScreen() {
  const state = useAsync(async () => {
    const [collections, status] = await Promise.all([client.collections.list(), client.serverStatus()]);
    const counts = new Map(status.collections.map((c) => [c.name, c.records]));
    return collections.map((c) => ({ ...c, records: counts.get(c.name) ?? 0 }));
  }, []);
  return (
    <section aria-labelledby="collections-title">
      <div class="heading">
        <h1 id="collections-title">Collections</h1>
        <a class="button primary" href={href('new-collection')}>
          New collection
        </a>
      </div>
      <ErrorMessage error={state.error} />
      {state.data && state.data.length === 0 && <p class="empty">No collections yet. Create one to start storing records.</p>}
      {state.data && state.data.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col" class="num">Records</th>
                <th scope="col">Fields</th>
                <th scope="col">Schema version</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {state.data.map((c) => (
                <tr key={c.name} data-collection={c.name}>
                  <th scope="row">
                    <a href={href('records', c.name)}>{c.name}</a>
                  </th>
                  <td class="num" data-testid="count">
                    {c.records.toLocaleString()}
                  </td>
                  <td class="muted">{Object.keys((c.schema['properties'] as object | undefined) ?? {}).join(', ') || '—'}</td>
                  <td>{c.schemaVersion}</td>
                  <td class="actions">
                    <a href={href('collection', c.name)} aria-label={`Edit ${c.name}`}>
                      Edit
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

import type { CollectionDto } from '@sigil/client';
import { useState } from 'preact/hooks';
import { client } from '../client';
import { FilterPanel } from '../records/filter-panel';
import { afterCondition, all, boundaryOf, formatSort, parseSort, type Boundary, type Filter } from '../records/keyset';
import { useLiveRows } from '../records/live-rows';
import { RecordEditor } from '../records/record-editor';
import { readableField, SYSTEM_FIELDS, userFields, type Field } from '../records/schema';
import { cellText, type Row } from '../records/values';
import { href, navigate } from '../router';
import { useAsync } from '../ui/async';
import { ConfirmDialog } from '../ui/confirm-dialog';
import { ErrorMessage } from '../ui/error-message';
import '../records/records.css';

const PAGE = 50;
const DEFAULT_SORT = '-createdAt';

/** A collection's records: columns from its schema, sort, filters, keyset pages, live; forms to create and edit. */
export function RecordsScreen({ name, params }: { name: string; params: URLSearchParams }) {
  const definition = useAsync(() => client.collections.get(name), [name]);
  return (
    <section aria-labelledby="records-title">
      <div class="heading">
        <h1 id="records-title">{name}</h1>
        <a href={href('collection', name)}>Definition</a>
      </div>
      <ErrorMessage error={definition.error} />
      {definition.loading && !definition.data && <p class="muted">Loading…</p>}
      {definition.data && <Browser collection={definition.data} params={params} />}
    </section>
  );
}

interface View {
  readonly filter: Filter;
  readonly sort: string;
  /** The last row of each page before this one. */
  readonly after: readonly Boundary[];
  readonly open: string | null;
  readonly creating: boolean;
  /** A problem with the link itself (not JSON), in words. */
  readonly problem: string | null;
}

function readView(params: URLSearchParams): View {
  let problem: string | null = null;
  let filter: Filter = {};
  let after: Boundary[] = [];
  const f = params.get('filter');
  if (f) {
    try {
      const parsed: unknown = JSON.parse(f);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      filter = parsed as Filter;
    } catch {
      problem = 'The filter in this link is not a JSON object; showing every record.';
    }
  }
  const a = params.get('after');
  if (a) {
    try {
      const parsed: unknown = JSON.parse(a);
      if (!Array.isArray(parsed) || !parsed.every(Array.isArray)) throw new Error('not pages');
      after = parsed as Boundary[];
    } catch {
      problem = 'The page position in this link is not readable; showing the first page.';
    }
  }
  return { filter, sort: params.get('sort') || DEFAULT_SORT, after, open: params.get('open'), creating: params.get('new') === '1', problem };
}

function Browser({ collection, params }: { collection: CollectionDto; params: URLSearchParams }) {
  const name = collection.name;
  const schema = collection.schema;
  const view = readView(params);
  const user = userFields(schema);
  const fields: Field[] = [SYSTEM_FIELDS[0]!, ...user, ...SYSTEM_FIELDS.slice(1)];
  const fieldOf = (f: string): Field | undefined => fields.find((x) => x.name === f);
  const keys = parseSort(view.sort);
  const relations = user.filter((f) => f.relation);
  const expand = relations.map((f) => f.name);

  const [shown, setShown] = useState<ReadonlySet<string>>(() => new Set(['id', ...user.map((f) => f.name), 'updatedAt']));
  const [notice, setNotice] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(undefined);
  const [deleting, setDeleting] = useState<Row | null>(null);

  let keyset: Filter = {};
  let keysetError: string | null = null;
  const boundary = view.after.at(-1);
  if (boundary) {
    try {
      keyset = afterCondition(keys, boundary, fieldOf);
    } catch (e) {
      keysetError = (e as Error).message;
    }
  }
  const live = useLiveRows(name, { filter: all([view.filter, keyset]), sort: view.sort, limit: PAGE, expand });
  const targets = useAsync(
    async () => new Map(await Promise.all(relations.map(async (f) => [f.name, f.relation!.collection === 'users' ? 'username' : readableField((await client.collections.get(f.relation!.collection)).schema, f.relation!.collection)] as const))),
    [name, expand.join(',')],
  );

  const go = (patch: Partial<{ filter: Filter; sort: string; after: readonly Boundary[]; open: string | null; creating: boolean }>): void => {
    const next = { filter: view.filter, sort: view.sort, after: view.after, open: view.open, creating: view.creating, ...patch };
    const p: Record<string, string> = {};
    if (Object.keys(next.filter).length > 0) p['filter'] = JSON.stringify(next.filter);
    if (next.sort !== DEFAULT_SORT) p['sort'] = next.sort;
    if (next.after.length > 0) p['after'] = JSON.stringify(next.after);
    if (next.open) p['open'] = next.open;
    if (next.creating) p['new'] = '1';
    navigate(href('records', name, p));
  };

  const sortBy = (field: string): void => {
    const first = keys[0]!;
    const desc = first.field === field ? !first.desc : false;
    go({ sort: formatSort([{ field, desc }]), after: [] });
  };

  const items = live.snapshot?.items ?? [];
  const columns = fields.filter((f) => shown.has(f.name));
  const page = view.after.length + 1;

  const remove = async (row: Row): Promise<void> => {
    setDeleting(null);
    setActionError(undefined);
    const latest = items.find((r) => r.id === row.id) ?? row;
    try {
      await client.collection(name).delete(row.id, { ifMatch: latest.version });
      setNotice(`Deleted ${row.id}.`);
      if (view.open === row.id) go({ open: null });
    } catch (e) {
      setActionError(e);
    }
  };

  return (
    <>
      {view.problem && <p class="error">{view.problem}</p>}
      <div class="row rec-actions">
        <button type="button" class="primary" onClick={() => go({ creating: true, open: null })}>
          New record
        </button>
        <details class="rec-columns">
          <summary>Columns</summary>
          <fieldset>
            <legend class="visually-hidden">Columns shown</legend>
            {fields.map((f) => (
              <label key={f.name} class="rec-check">
                <input
                  type="checkbox"
                  checked={shown.has(f.name)}
                  onChange={(e) => {
                    const next = new Set(shown);
                    if (e.currentTarget.checked) next.add(f.name);
                    else next.delete(f.name);
                    setShown(next);
                  }}
                />{' '}
                {f.name}
                {f.system && <span class="muted small"> (system)</span>}
              </label>
            ))}
          </fieldset>
        </details>
      </div>
      <FilterPanel fields={fields} filter={view.filter} onApply={(filter) => go({ filter, after: [] })} />
      {(view.creating || view.open) && (
        <RecordEditor
          key={view.open ?? '+new'}
          collection={name}
          schema={schema}
          id={view.open}
          expand={expand}
          onClose={() => go({ open: null, creating: false })}
          onSaved={(_, message) => {
            setNotice(message);
            go({ open: null, creating: false });
          }}
          onDelete={(row) => setDeleting(row)}
        />
      )}
      <ErrorMessage error={live.error} title="The records could not be listed" />
      {keysetError && <p class="error">{keysetError}</p>}
      <ErrorMessage error={actionError} />
      <p role="status" class="ok">
        {notice}
      </p>
      <div class="row rec-pager" role="navigation" aria-label="Pages">
        <button type="button" disabled={page === 1} onClick={() => go({ after: view.after.slice(0, -1) })}>
          Previous<span class="visually-hidden"> page</span>
        </button>
        <span class="rec-page" aria-live="polite">
          Page {page}
          {live.snapshot && `: ${items.length} record${items.length === 1 ? '' : 's'}${live.snapshot.hasMore ? ', more after' : ''}`}
        </span>
        <button type="button" disabled={!live.snapshot?.hasMore || items.length === 0} onClick={() => go({ after: [...view.after, boundaryOf(items.at(-1)!, keys)] })}>
          Next<span class="visually-hidden"> page</span>
        </button>
      </div>
      <div class="table-wrap rec-wrap" aria-busy={live.current ? undefined : 'true'}>
        <table class="rec-table">
          <caption class="visually-hidden">
            {name} records, page {page}, sorted by {keys[0]!.field} {keys[0]!.desc ? 'descending' : 'ascending'}
          </caption>
          <thead>
            <tr>
              {columns.map((f) => {
                const sorted = keys[0]!.field === f.name ? (keys[0]!.desc ? 'descending' : 'ascending') : undefined;
                return (
                  <th scope="col" key={f.name} aria-sort={sorted}>
                    <button type="button" class="rec-sort" onClick={() => sortBy(f.name)}>
                      {f.name}
                      <span aria-hidden="true" class="rec-arrow">
                        {sorted === 'ascending' ? ' ▲' : sorted === 'descending' ? ' ▼' : ''}
                      </span>
                    </button>
                  </th>
                );
              })}
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => {
              const flash = live.flashing.get(r.id);
              return (
                <tr key={r.id} data-id={r.id} data-version={r.version} class={flash ? `rec-changed rec-flash-${flash}` : undefined}>
                  {columns.map((f) => (
                    <td key={f.name}>{f.name === 'id' ? <code>{r.id}</code> : <Cell row={r} field={f} readable={targets.data?.get(f.name)} />}</td>
                  ))}
                  <td class="actions">
                    <a class="button" href={href('records', name, { ...Object.fromEntries(params), open: r.id })}>
                      Edit<span class="visually-hidden"> {r.id}</span>
                    </a>
                    <button type="button" class="danger" onClick={() => setDeleting(r)}>
                      Delete<span class="visually-hidden"> {r.id}</span>
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {live.snapshot && items.length === 0 && (
        <p class="empty">{page > 1 ? 'No records on this page any more.' : Object.keys(view.filter).length > 0 ? 'No record matches the filter.' : 'No records yet.'}</p>
      )}
      <ConfirmDialog open={deleting !== null} title={`Delete ${deleting?.id ?? ''}?`} confirmLabel="Delete record" danger onCancel={() => setDeleting(null)} onConfirm={() => deleting && void remove(deleting)}>
        <p>The record is deleted for everyone. Records whose relations name it follow each relation's onDelete: restrict refuses the delete, cascade deletes them too, setNull removes the reference.</p>
      </ConfirmDialog>
    </>
  );
}

/** A cell: relation values by the related record's readable field (from `expand`), the rest as text. */
function Cell({ row, field, readable }: { row: Row; field: Field; readable: string | undefined }) {
  const value = row[field.name];
  if (field.relation && value !== undefined && value !== null) {
    const expanded = (row['expand'] as Record<string, unknown> | undefined)?.[field.name];
    const list = (Array.isArray(expanded) ? expanded : expanded ? [expanded] : []) as Record<string, unknown>[];
    const ids = Array.isArray(value) ? (value as unknown[]) : [value];
    return (
      <span class="rec-rel">
        {ids.map((id, i) => {
          const target = list.find((x) => x['id'] === id);
          const label = target && readable ? target[readable] : undefined;
          return (
            <span key={i} class="rec-chip" title={String(id)}>
              {typeof label === 'string' ? label : String(id)}
            </span>
          );
        })}
      </span>
    );
  }
  const text = cellText(value);
  return <span class={field.kind === 'number' || field.kind === 'integer' ? 'num' : undefined}>{text.length > 120 ? `${text.slice(0, 119)}…` : text}</span>;
}

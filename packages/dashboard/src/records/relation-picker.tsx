import { useEffect, useState } from 'preact/hooks';
import { client } from '../client';
import { useAsync } from '../ui/async';
import { ErrorMessage } from '../ui/error-message';
import { readableField, type Relation } from './schema';

const SEARCH_DELAY_MS = 200;
const RESULTS = 20;

interface Option {
  readonly id: string;
  readonly label: string;
}

/** The readable field of a relation's target (username for users), loaded once per target. */
export function useReadableField(collection: string): string | null {
  const target = useAsync(async () => (collection === 'users' ? null : (await client.collections.get(collection)).schema), [collection]);
  if (collection === 'users') return 'username';
  return target.loading && !target.data ? null : readableField(target.data ?? null, collection);
}

/** Records of the target whose readable field contains `search` (users: username or email). */
async function searchTarget(collection: string, field: string, search: string): Promise<Option[]> {
  if (collection === 'users') {
    const page = await client.users.list({ limit: RESULTS, search });
    return page.items.map((u) => ({ id: u.id, label: u.username }));
  }
  const filter = search === '' || field === 'id' ? (search === '' ? {} : { id: { $startsWith: search } }) : { [field]: { $contains: search } };
  const page = await client.collection(collection).list({ filter, sort: field === 'id' ? '-createdAt' : field, limit: RESULTS });
  return page.items.map((r) => ({ id: r.id, label: typeof r[field] === 'string' ? r[field] : r.id }));
}

/**
 * A relation field: the chosen record(s) by their readable field, and a
 * searchable list of the target's records to pick from.
 */
export function RelationPicker(props: {
  id: string;
  label: string;
  relation: Relation;
  value: unknown;
  required: boolean;
  invalid: 'true' | undefined;
  describedBy: string;
  labels: ReadonlyMap<string, string>;
  onChange: (value: unknown) => void;
}) {
  const { id, label, relation, value, onChange } = props;
  const field = useReadableField(relation.collection);
  const [open, setOpen] = useState(false);
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<Option[] | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [labels, setLabels] = useState<ReadonlyMap<string, string>>(props.labels);
  const chosen = relation.many ? (Array.isArray(value) ? (value as unknown[]).filter((v): v is string => typeof v === 'string') : []) : typeof value === 'string' ? [value] : [];

  useEffect(() => {
    const timer = setTimeout(() => setQuery(search.trim()), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [search]);
  useEffect(() => {
    if (!open || field === null) return;
    let current = true;
    setError(undefined);
    searchTarget(relation.collection, field, query).then(
      (r) => current && setResults(r),
      (e: unknown) => current && setError(e),
    );
    return () => {
      current = false;
    };
  }, [open, field, query, relation.collection]);

  const pick = (option: Option): void => {
    setLabels(new Map([...labels, [option.id, option.label]]));
    if (relation.many) {
      if (!chosen.includes(option.id)) onChange([...chosen, option.id]);
    } else {
      onChange(option.id);
      setOpen(false);
    }
  };
  const remove = (rid: string): void => {
    if (relation.many) onChange(chosen.filter((c) => c !== rid));
    else onChange(undefined);
  };

  return (
    <fieldset class="rec-relation" aria-describedby={props.describedBy}>
      <legend>
        {label}
        {props.required && <span aria-hidden="true"> *</span>} <span class="muted small">→ {relation.collection} ({relation.many ? 'several' : 'one'}, onDelete {relation.onDelete})</span>
      </legend>
      {chosen.length === 0 ? (
        <p class="muted small">None chosen.</p>
      ) : (
        <ul class="rec-chosen">
          {chosen.map((rid) => (
            <li key={rid}>
              <span class="rec-chip">
                {labels.get(rid) ?? props.labels.get(rid) ?? rid} <code class="muted small">{rid}</code>
              </span>
              <button type="button" class="link danger" onClick={() => remove(rid)}>
                Remove<span class="visually-hidden"> {labels.get(rid) ?? rid} from {label}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <button type="button" aria-expanded={open} aria-controls={`${id}-pick`} onClick={() => setOpen(!open)}>
        {open ? 'Close list' : relation.many ? `Add from ${relation.collection}` : `Choose from ${relation.collection}`}
        <span class="visually-hidden"> for {label}</span>
      </button>
      {open && (
        <div class="rec-pick" id={`${id}-pick`}>
          <label>
            Search {relation.collection}
            {field && field !== 'id' ? ` by ${field}` : ' by id'}
            <input type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
          </label>
          <ErrorMessage error={error} />
          {results && results.length === 0 && <p class="muted small">No {relation.collection} record matches.</p>}
          {results && results.length > 0 && (
            <ul class="rec-options" aria-label={`${relation.collection} records`}>
              {results.map((o) => (
                <li key={o.id}>
                  <button type="button" aria-pressed={chosen.includes(o.id)} onClick={() => pick(o)}>
                    {o.label} <span class="muted small">{o.id}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </fieldset>
  );
}

import { SigilError } from '@sigil/client';
import { useEffect, useRef, useState } from 'preact/hooks';
import { client } from '../client';
import { ErrorMessage } from '../ui/error-message';
import { ObjectFields, type FieldErrors } from './form-fields';
import { propertiesOf, type JsonSchema } from './schema';
import { cellText, sameValue, userValues, withoutUndefined, type Fields, type Row } from './values';

export interface EditorTarget {
  /** null: a new record. */
  readonly id: string | null;
}

type State =
  | { readonly step: 'loading' }
  | { readonly step: 'editing' }
  | { readonly step: 'conflict'; readonly theirs: Row };

/**
 * Create or edit one record in a form generated from the schema. Saves
 * send If-Match with the version the form started from; a 412 shows both
 * versions and lets the admin keep theirs, overwrite with theirs' version,
 * or edit again on top of it.
 */
export function RecordEditor({ collection, schema, id, expand, onClose, onSaved, onDelete }: {
  collection: string;
  schema: JsonSchema;
  id: string | null;
  expand: readonly string[];
  onClose: () => void;
  onSaved: (record: Row, message: string) => void;
  onDelete: (record: Row) => void;
}) {
  const records = client.collection(collection);
  const [state, setState] = useState<State>(id === null ? { step: 'editing' } : { step: 'loading' });
  const [base, setBase] = useState<Row | null>(null);
  const [value, setValue] = useState<Fields>({});
  const [error, setError] = useState<unknown>(undefined);
  const [saving, setSaving] = useState(false);
  const [labels, setLabels] = useState<ReadonlyMap<string, string>>(new Map());
  // Inputs keep their own text (numbers as typed); a new base remounts them.
  const [formKey, setFormKey] = useState(0);
  const heading = useRef<HTMLHeadingElement>(null);

  const load = (record: Row): void => {
    setBase(record);
    setValue(userValues(record));
    setLabels(labelsOf(record));
    setFormKey((k) => k + 1);
  };

  useEffect(() => {
    if (id === null) return;
    let current = true;
    records.get(id, expand.length > 0 ? { expand } : {}).then(
      (r) => {
        if (!current) return;
        load(r);
        setState({ step: 'editing' });
      },
      (e: unknown) => current && setError(e),
    );
    return () => {
      current = false;
    };
  }, [collection, id]);
  useEffect(() => heading.current?.focus(), [state.step === 'conflict']);

  const errors = fieldErrors(error);

  const save = async (body: Fields, ifMatch: number | null): Promise<void> => {
    setSaving(true);
    setError(undefined);
    try {
      const clean = withoutUndefined(body) as Fields;
      if (id === null) {
        const created = (await records.create(clean)) as Row;
        onSaved(created, `Created ${created.id}.`);
      } else {
        const saved = (await records.replace(id, clean, ifMatch === null ? {} : { ifMatch })) as Row;
        onSaved(saved, `Saved ${saved.id} (version ${saved.version}).`);
      }
    } catch (e) {
      if (e instanceof SigilError && e.code === 'precondition_failed' && id !== null) {
        try {
          const theirs = (await records.get(id, expand.length > 0 ? { expand } : {})) as Row;
          setLabels(new Map([...labels, ...labelsOf(theirs)]));
          setState({ step: 'conflict', theirs });
        } catch (again) {
          setError(again);
        }
      } else {
        setError(e);
      }
    } finally {
      setSaving(false);
    }
  };

  const title = id === null ? `New ${collection} record` : `Edit ${id}`;
  return (
    <section class="rec-editor card" aria-labelledby="editor-title">
      <div class="heading">
        <h2 id="editor-title" tabIndex={-1} ref={heading}>
          {state.step === 'conflict' ? `Conflict: ${id ?? ''} changed on the server` : title}
        </h2>
        {base && state.step === 'editing' && <span class="muted small">Editing version {base.version}</span>}
      </div>
      <ErrorMessage error={error} title={id === null ? 'Not created' : 'Not saved'} />
      {state.step === 'loading' && !error && <p class="muted">Loading…</p>}
      {state.step === 'conflict' && base && (
        <ConflictView
          mine={value}
          mineVersion={base.version}
          theirs={state.theirs}
          schema={schema}
          saving={saving}
          onKeepTheirs={() => onSaved(state.theirs, `Kept the server's version ${state.theirs.version} of ${state.theirs.id}.`)}
          onOverwrite={() => void save(value, state.theirs.version)}
          onEditAgain={() => {
            setBase(state.theirs);
            setFormKey((k) => k + 1);
            setState({ step: 'editing' });
          }}
        />
      )}
      {state.step === 'editing' && (
        <form
          noValidate
          class="rec-form"
          onSubmit={(e) => {
            e.preventDefault();
            void save(value, base?.version ?? null);
          }}
        >
          <ObjectFields key={formKey} schema={schema} pointer="" value={value} errors={errors} labels={labels} onChange={setValue} />
          {propertiesOf(schema).length === 0 && <p class="muted">This collection's schema names no properties: the record has only its system fields.</p>}
          <div class="row">
            <button type="submit" class="primary" disabled={saving}>
              {id === null ? 'Create record' : 'Save'}
            </button>
            <button type="button" onClick={onClose}>
              Cancel
            </button>
            {base && (
              <button type="button" class="danger" onClick={() => onDelete(base)}>
                Delete<span class="visually-hidden"> {base.id}</span>
              </button>
            )}
          </div>
        </form>
      )}
    </section>
  );
}

/** Labels of related records carried by an expanded read. */
function labelsOf(record: Row): Map<string, string> {
  const out = new Map<string, string>();
  const expand = record['expand'];
  if (typeof expand !== 'object' || expand === null) return out;
  for (const value of Object.values(expand as Record<string, unknown>)) {
    for (const r of Array.isArray(value) ? value : [value]) {
      if (typeof r !== 'object' || r === null) continue;
      const rec = r as Record<string, unknown>;
      if (typeof rec['id'] !== 'string') continue;
      const label = typeof rec['username'] === 'string' ? rec['username'] : Object.entries(rec).find(([k, v]) => typeof v === 'string' && !['id', 'createdAt', 'updatedAt', 'owner'].includes(k))?.[1];
      if (typeof label === 'string') out.set(rec['id'], label);
    }
  }
  return out;
}

/** 400 details by JSON Pointer (a batch's own operation detail aside). */
function fieldErrors(error: unknown): FieldErrors {
  const map = new Map<string, string[]>();
  if (!(error instanceof SigilError) || error.code !== 'validation_failed') return map;
  for (const d of error.details) {
    if (!d.path) continue;
    map.set(d.path, [...(map.get(d.path) ?? []), d.message]);
  }
  return map;
}

function ConflictView({ mine, mineVersion, theirs, schema, saving, onKeepTheirs, onOverwrite, onEditAgain }: {
  mine: Fields;
  mineVersion: number;
  theirs: Row;
  schema: JsonSchema;
  saving: boolean;
  onKeepTheirs: () => void;
  onOverwrite: () => void;
  onEditAgain: () => void;
}) {
  const theirValues = userValues(theirs);
  const names = [...new Set([...propertiesOf(schema).map(([k]) => k), ...Object.keys(mine), ...Object.keys(theirValues)])];
  const differing = names.filter((n) => !sameValue(withoutUndefined(mine[n]), theirValues[n]));
  return (
    <div class="rec-conflict">
      <p role="alert">
        Someone else saved version {theirs.version} after you opened version {mineVersion}. {differing.length === 0 ? 'Your values equal theirs.' : `${differing.length} field${differing.length === 1 ? '' : 's'} differ${differing.length === 1 ? 's' : ''}: ${differing.join(', ')}.`} Choose which to keep.
      </p>
      <div class="table-wrap">
        <table class="rec-diff-table">
          <caption class="visually-hidden">Your version beside the server's</caption>
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Yours (from version {mineVersion})</th>
              <th scope="col">On the server (version {theirs.version})</th>
            </tr>
          </thead>
          <tbody>
            {names.map((n) => {
              const differs = differing.includes(n);
              return (
                <tr key={n} class={differs ? 'rec-differs' : undefined} data-field={n}>
                  <th scope="row">
                    {n}
                    {differs && <span class="rec-differs-tag"> differs</span>}
                  </th>
                  <td>
                    <code>{cellText(mine[n]) || '—'}</code>
                  </td>
                  <td>
                    <code>{cellText(theirValues[n]) || '—'}</code>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <div class="row">
        <button type="button" onClick={onKeepTheirs} disabled={saving}>
          Keep theirs
        </button>
        <button type="button" class="primary" onClick={onOverwrite} disabled={saving}>
          Overwrite with mine
        </button>
        <button type="button" onClick={onEditAgain} disabled={saving}>
          Edit again
        </button>
      </div>
    </div>
  );
}

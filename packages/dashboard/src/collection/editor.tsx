import { SigilError, type CollectionDto, type SchemaCheckReport } from '@sigil/client';
import { useMemo, useState } from 'preact/hooks';
import { client } from '../client';
import { href, navigate } from '../router';
import { useAsync } from '../ui/async';
import { ErrorMessage, describeError } from '../ui/error-message';
import { AccessPreviewPanel } from './access-preview';
import { CodeEditor } from './code-editor';
import { FieldEditor } from './field-editor';
import { IndexesEditor, fieldsOfIndex, textOfIndex } from './indexes-editor';
import { parseJson, pretty } from './json-text';
import { RulesEditor, draftOfRules, rulesOfDraft, type RulesDraft } from './rules-editor';
import { fieldOfPointer, isObject, structureProblems, type JsonObject } from './schema-model';
import './collection.css';

const NEW_SCHEMA: JsonObject = { type: 'object', properties: {} };

/** Server error details sorted to where they are shown. */
interface Placed {
  readonly fields: Map<string, string[]>;
  readonly schema: string[];
  readonly rules: Map<string, string[]>;
  readonly indexes: Map<string, string[]>;
  readonly name: string[];
  readonly other: string[];
}

const push = (m: Map<string, string[]>, key: string, message: string): void => void m.set(key, [...(m.get(key) ?? []), message]);

function place(error: unknown): Placed | null {
  if (!(error instanceof SigilError) || error.code !== 'validation_failed') return null;
  const placed: Placed = { fields: new Map(), schema: [], rules: new Map(), indexes: new Map(), name: [], other: [] };
  for (const d of error.details) {
    const path = d.path ?? '';
    if (path === '/schema' || path.startsWith('/schema/')) {
      const { field, rest } = fieldOfPointer(path);
      if (field.length > 0) push(placed.fields, field.join('/'), rest ? `${rest}: ${d.message}` : d.message);
      else placed.schema.push(`${rest || '/'}: ${d.message}`);
    } else if (path.startsWith('/rules/')) {
      const [, , rule = '', ...rest] = path.split('/');
      push(placed.rules, rule, rest.length ? `/${rest.join('/')}: ${d.message}` : d.message);
    } else if (path === '/indexes' || path.startsWith('/indexes/')) {
      const [, , index = '', ...rest] = path.split('/');
      push(placed.indexes, index, rest.length ? `field ${Number(rest[0]) + 1}: ${d.message}` : d.message);
    } else if (path === '/name') placed.name.push(d.message);
    else placed.other.push(`${path ? `${path}: ` : ''}${d.message}`);
  }
  return placed;
}

type Preview = { readonly key: string } & ({ readonly ok: true; readonly schemaVersion: number } | { readonly ok: false; readonly error: SigilError; readonly report: SchemaCheckReport | null });

/**
 * A collection's definition: fields and raw JSON Schema (kept in sync), rules
 * with a "try as user" preview, indexes. A change is previewed (dry run)
 * before it can be applied. `collection` null: a new one.
 */
export function CollectionEditor({ collection: initial }: { collection: CollectionDto | null }) {
  const [collection, setCollection] = useState(initial);
  const [name, setName] = useState('');
  const [schemaText, setSchemaText] = useState(pretty(initial?.schema ?? NEW_SCHEMA));
  const [rules, setRules] = useState<RulesDraft>(draftOfRules(initial?.rules ?? {}));
  const [indexes, setIndexes] = useState<string[]>((initial?.indexes ?? []).map(textOfIndex));
  const [failure, setFailure] = useState<unknown>(undefined);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const others = useAsync(() => client.collections.list(), []);

  const parsed = useMemo(() => parseJson(schemaText), [schemaText]);
  const schema = parsed.ok && isObject(parsed.value) ? parsed.value : null;
  const structure = parsed.ok ? structureProblems(parsed.value) : [];
  const editable = schema !== null && (schema['properties'] === undefined || isObject(schema['properties']));
  const { rules: ruleValues } = rulesOfDraft(rules);
  const indexLists = indexes.map(fieldsOfIndex);
  const definition = schema && ruleValues ? { schema, rules: ruleValues, indexes: indexLists } : null;
  const key = definition ? JSON.stringify(definition) : null;
  const placed = place(failure);
  const targets = useMemo(() => [...new Set(['users', ...(others.data ?? []).map((c) => c.name), ...(collection ? [collection.name] : name ? [name] : [])])].sort(), [others.data, collection, name]);

  const edited = (): void => setNotice(null);
  const setSchema = (next: JsonObject): void => {
    setSchemaText(pretty(next));
    edited();
  };

  const act = async (what: () => Promise<void>): Promise<void> => {
    setBusy(true);
    setFailure(undefined);
    setNotice(null);
    try {
      await what();
    } catch (e) {
      setFailure(e);
    } finally {
      setBusy(false);
    }
  };

  const runPreview = (): Promise<void> =>
    act(async () => {
      if (!definition || !collection || key === null) return;
      try {
        const dry = await client.collections.update(collection.name, definition, { dryRun: true });
        setPreview({ key, ok: true, schemaVersion: dry.collection.schemaVersion });
      } catch (e) {
        if (e instanceof SigilError && e.code === 'schema_conflict') setPreview({ key, ok: false, error: e, report: e.report ?? null });
        else {
          setPreview(null);
          throw e;
        }
      }
    });

  const apply = (): Promise<void> =>
    act(async () => {
      if (!definition || !collection) return;
      const saved = await client.collections.update(collection.name, definition);
      setCollection(saved);
      setSchemaText(pretty(saved.schema));
      setRules(draftOfRules(saved.rules));
      setIndexes(saved.indexes.map(textOfIndex));
      setPreview(null);
      setNotice(`Applied: ${saved.name} is at schema version ${saved.schemaVersion}.`);
    });

  const create = (): Promise<void> =>
    act(async () => {
      if (!definition) return;
      const created = await client.collections.create({ name: name.trim(), ...definition });
      navigate(href('collection', created.name));
    });

  const previewCurrent = preview !== null && preview.key === key;
  const canApply = collection !== null && previewCurrent && preview.ok && !busy;

  return (
    <section aria-labelledby="definition-title" class="collection-editor">
      <div class="heading">
        <h1 id="definition-title">{collection ? `Collection ${collection.name}` : 'New collection'}</h1>
        {collection && (
          <span class="row">
            <span class="muted small">schema version {collection.schemaVersion}</span>
            <a href={href('records', collection.name)}>Records</a>
          </span>
        )}
      </div>

      {collection === null && (
        <div class="name-field">
          <label for="collection-name">Name</label>
          <input
            id="collection-name"
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
            required
            aria-invalid={(placed?.name.length ?? 0) > 0}
            aria-describedby="name-help"
            autocomplete="off"
          />
          <span id="name-help" class="muted small">
            a–z, 0–9 and _, starting with a letter; it cannot be changed later.
          </span>
          {placed?.name.map((m, i) => (
            <span class="error-text" role="alert" key={i}>
              {m}
            </span>
          ))}
        </div>
      )}

      <div class="editor-columns">
        <div>
          {editable ? (
            <FieldEditor schema={schema} onChange={setSchema} errors={placed?.fields ?? new Map()} targets={targets} />
          ) : (
            <p class="muted" role="status">
              The field editor shows the schema once its JSON is valid.
            </p>
          )}
        </div>
        <div>
          <h2 id="schema-title">
            <label for="schema-json">JSON Schema</label>
          </h2>
          <CodeEditor
            id="schema-json"
            value={schemaText}
            onInput={(t) => {
              setSchemaText(t);
              edited();
            }}
            rows={22}
            invalid={!parsed.ok || structure.length > 0}
            errorAt={parsed.ok ? null : parsed.problem.offset}
            describedBy="schema-problems"
          />
          <div id="schema-problems" aria-live="polite">
            {!parsed.ok && (
              <p class="error-text" data-testid="json-error">
                JSON syntax error at line {parsed.problem.line}, column {parsed.problem.column}: {parsed.problem.message}
              </p>
            )}
            {structure.map((p, i) => (
              <p class="error-text" key={i}>
                {p}
              </p>
            ))}
            {parsed.ok && structure.length === 0 && <p class="ok small">Valid JSON.</p>}
            {(placed?.schema ?? []).map((m, i) => (
              <p class="error-text" role="alert" key={i}>
                {m}
              </p>
            ))}
          </div>
        </div>
      </div>

      <RulesEditor
        draft={rules}
        onChange={(d) => {
          setRules(d);
          edited();
        }}
        errors={placed?.rules ?? new Map()}
      />
      {collection ? <AccessPreviewPanel collection={collection.name} rules={ruleValues} /> : <p class="muted small">“Try as user…” is available once the collection exists.</p>}
      <IndexesEditor
        indexes={indexes}
        onChange={(next) => {
          setIndexes(next);
          edited();
        }}
        errors={placed?.indexes ?? new Map()}
      />

      <div class="actions-bar">
        {placed ? (
          <div class="error" role="alert">
            <strong>{describeError(failure)}</strong> The problems are shown at their fields, rules and indexes.
            {placed.other.length > 0 && (
              <ul>
                {placed.other.map((m, i) => (
                  <li key={i}>{m}</li>
                ))}
              </ul>
            )}
          </div>
        ) : (
          <ErrorMessage error={failure} />
        )}
        {previewCurrent && <PreviewReport preview={preview} collection={collection!.name} />}
        {preview !== null && !previewCurrent && <p class="muted small">The definition changed since the preview: preview again before applying.</p>}
        {notice && (
          <p class="ok" role="status">
            {notice}
          </p>
        )}
        <div class="row">
          {collection ? (
            <>
              <button type="button" onClick={() => void runPreview()} disabled={definition === null || busy}>
                Preview change
              </button>
              <button type="button" class="primary" onClick={() => void apply()} disabled={!canApply} aria-describedby="apply-help">
                Apply
              </button>
              <span id="apply-help" class="muted small">
                {canApply ? 'The preview passed: apply to save.' : 'Apply is enabled after a successful preview of the current edit.'}
              </span>
            </>
          ) : (
            <button type="button" class="primary" onClick={() => void create()} disabled={definition === null || busy || name.trim() === ''}>
              Create collection
            </button>
          )}
        </div>
      </div>

      {collection && <DeleteCollection name={collection.name} />}
    </section>
  );
}

function PreviewReport({ preview, collection }: { preview: Preview; collection: string }) {
  if (preview.ok) {
    return (
      <p class="ok" role="status" data-testid="preview-report">
        Preview passed: every record fits. Applying makes schema version {preview.schemaVersion}.
      </p>
    );
  }
  const { report } = preview;
  return (
    <div class="error" role="alert" data-testid="preview-report">
      <p>{preview.error.message}</p>
      {report && (
        <>
          <p>
            {report.total} record{report.total === 1 ? '' : 's'} would not fit{report.total > report.failures.length ? ` (the first ${report.failures.length} are listed)` : ''}:
          </p>
          <ul class="failures">
            {report.failures.map((f) => (
              <li key={f.id}>
                <a href={href('records', collection, { open: f.id })}>Record {f.id}</a>
                <ul>
                  {f.errors.map((e, i) => (
                    <li key={i}>
                      <code>{e.path || '/'}</code> {e.message}
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

function DeleteCollection({ name }: { name: string }) {
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const remove = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      await client.collections.delete(name);
      navigate(href('collections'));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="panel danger-zone" aria-labelledby="delete-title">
      <h2 id="delete-title">Delete this collection</h2>
      {!open ? (
        <button type="button" class="danger" onClick={() => setOpen(true)}>
          Delete collection…
        </button>
      ) : (
        <div>
          <p>Its records and indexes are deleted with it; this cannot be undone.</p>
          <label>
            Type <strong>{name}</strong> to confirm
            <input value={typed} onInput={(e) => setTyped(e.currentTarget.value)} autocomplete="off" />
          </label>
          <div class="row">
            <button type="button" class="danger" disabled={typed !== name || busy} onClick={() => void remove()}>
              Delete {name}
            </button>
            <button
              type="button"
              onClick={() => {
                setOpen(false);
                setTyped('');
                setError(undefined);
              }}
            >
              Cancel
            </button>
          </div>
          <ErrorMessage error={error} title="Not deleted" />
        </div>
      )}
    </section>
  );
}

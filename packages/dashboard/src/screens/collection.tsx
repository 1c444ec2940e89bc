import { SigilError, type CollectionChange, type CollectionDto, type CollectionDryRun } from '@sigil/client';
import { useState } from 'preact/hooks';
import { client } from '../client';
import { href, navigate } from '../router';
import { useAsync } from '../ui/async';
import { ErrorMessage } from '../ui/error-message';

const NEW_DEFINITION = { schema: { type: 'object', properties: {} }, rules: {}, indexes: [] };

/** A collection's definition as JSON: previewed (dry run) before it is applied. `name` null: a new one. */
export function CollectionScreen({ name }: { name: string | null }) {
  const loaded = useAsync<CollectionDto | null>(() => (name === null ? Promise.resolve(null) : client.collections.get(name)), [name]);
  if (loaded.error) return <ErrorMessage error={loaded.error} />;
  if (loaded.data === undefined) return <p aria-busy="true">Loading…</p>;
  return <DefinitionEditor collection={loaded.data} />;
}

function DefinitionEditor({ collection }: { collection: CollectionDto | null }) {
  const [newName, setNewName] = useState('');
  const initial = collection ? { schema: collection.schema, rules: collection.rules, indexes: collection.indexes } : NEW_DEFINITION;
  const [text, setText] = useState(JSON.stringify(initial, null, 2));
  const [preview, setPreview] = useState<CollectionDryRun | SigilError | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const { parsed, syntax } = parseDefinition(text);

  const run = async (dryRun: boolean): Promise<void> => {
    if (parsed === null) return;
    setError(undefined);
    try {
      if (collection === null) {
        const created = await client.collections.create({ name: newName.trim(), schema: parsed.schema ?? {}, ...(parsed.rules ? { rules: parsed.rules } : {}), ...(parsed.indexes ? { indexes: parsed.indexes } : {}) });
        navigate(href('collection', created.name));
        return;
      }
      if (dryRun) setPreview(await client.collections.update(collection.name, parsed, { dryRun: true }));
      else {
        await client.collections.update(collection.name, parsed);
        setPreview(null);
        navigate(href('collections'));
      }
    } catch (e) {
      if (dryRun && e instanceof SigilError && e.code === 'schema_conflict') setPreview(e);
      else setError(e);
    }
  };

  return (
    <section aria-labelledby="definition-title">
      <div class="heading">
        <h1 id="definition-title">{collection ? `Collection ${collection.name}` : 'New collection'}</h1>
        {collection && <a href={href('records', collection.name)}>Records</a>}
      </div>
      {collection === null && (
        <label>
          Name
          <input value={newName} onInput={(e) => setNewName(e.currentTarget.value)} pattern="[a-z][a-z0-9_]{0,62}" required />
        </label>
      )}
      <label>
        Definition (JSON: schema, rules, indexes)
        <textarea class="code-editor" rows={20} spellcheck={false} value={text} onInput={(e) => setText(e.currentTarget.value)} aria-invalid={syntax !== null} />
      </label>
      {syntax && <p class="error" role="alert">JSON: {syntax}</p>}
      <ErrorMessage error={error} />
      {preview && <DryRunReport preview={preview} collection={collection!.name} />}
      <div class="row">
        {collection && (
          <button type="button" onClick={() => void run(true)} disabled={parsed === null}>
            Preview change
          </button>
        )}
        <button type="button" class="primary" onClick={() => void run(false)} disabled={parsed === null || (collection !== null && (preview === null || preview instanceof SigilError))}>
          {collection ? 'Apply' : 'Create'}
        </button>
      </div>
    </section>
  );
}

type Definition = CollectionChange;

function parseDefinition(text: string): { parsed: Definition | null; syntax: string | null } {
  try {
    return { parsed: JSON.parse(text) as Definition, syntax: null };
  } catch (e) {
    return { parsed: null, syntax: (e as Error).message };
  }
}

function DryRunReport({ preview, collection }: { preview: CollectionDryRun | SigilError; collection: string }) {
  if (!(preview instanceof SigilError)) return <p class="ok" role="status">Dry run passed: every record fits (schema version would be {preview.collection.schemaVersion}).</p>;
  const report = preview.report;
  return (
    <div class="error" role="alert">
      <p>{preview.message}</p>
      {report && (
        <ul>
          {report.failures.map((f) => (
            <li key={f.id}>
              <a href={href('records', collection, { open: f.id })}>{f.id}</a>: {f.errors.map((e) => `${e.path || '/'} ${e.message}`).join('; ')}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

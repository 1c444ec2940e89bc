import { useEffect, useState } from 'preact/hooks';
import {
  FIELD_KINDS,
  FIELD_NAME_RE,
  ITEM_KINDS,
  ON_DELETE,
  TEXT_FORMATS,
  addField,
  fieldsOf,
  isObject,
  removeField,
  renameField,
  schemaForKind,
  setFieldRequired,
  setFieldSchema,
  withKeyword,
  type FieldKind,
  type FieldPath,
  type FieldView,
  type ItemKind,
  type Json,
  type JsonObject,
  type OnDelete,
} from './schema-model';

export interface FieldEditorProps {
  readonly schema: JsonObject;
  readonly onChange: (schema: JsonObject) => void;
  /** Server messages by field path (`a/b`). */
  readonly errors: ReadonlyMap<string, readonly string[]>;
  /** Names relations may target (other collections, this one, `users`). */
  readonly targets: readonly string[];
  readonly disabled?: boolean;
}

const ITEM_TYPES: Record<ItemKind, string> = { text: 'string', number: 'number', integer: 'integer', boolean: 'boolean' };
const KIND_LABEL = new Map<FieldKind, string>([...FIELD_KINDS, ['other', 'Custom']]);

/** The schema's fields, nested objects as nested lists; every change goes back as a new schema. */
export function FieldEditor(props: FieldEditorProps) {
  return (
    <fieldset class="fields" disabled={props.disabled}>
      <legend>Fields</legend>
      <FieldList {...props} parent={[]} />
    </fieldset>
  );
}

function FieldList(props: FieldEditorProps & { readonly parent: FieldPath }) {
  const { schema, parent } = props;
  let node: JsonObject = schema;
  for (const name of parent) node = ((node['properties'] as JsonObject)[name] as JsonObject) ?? {};
  const fields = fieldsOf(node);
  return (
    <div class="field-list">
      {fields.length === 0 && <p class="muted small">No fields yet.</p>}
      {fields.map((f, i) => (
        <FieldRow key={i} {...props} field={f} />
      ))}
      <AddField {...props} taken={fields.map((f) => f.name)} />
    </div>
  );
}

function FieldRow(props: FieldEditorProps & { readonly parent: FieldPath; readonly field: FieldView }) {
  const { schema, parent, field, onChange } = props;
  const path = [...parent, field.name];
  const id = `f-${path.join('-')}`;
  const [name, setName] = useState(field.name);
  const [nameError, setNameError] = useState<string | null>(null);
  useEffect(() => setName(field.name), [field.name]);
  const setSchema = (next: JsonObject): void => onChange(setFieldSchema(schema, parent, field.name, next));
  const set = (key: string, value: Json | undefined): void => setSchema(withKeyword(field.schema, key, value));
  const errors = props.errors.get(path.join('/')) ?? [];
  const top = parent.length === 0;

  const commitName = (): void => {
    const next = name.trim();
    if (next === field.name) return setNameError(null);
    if (!FIELD_NAME_RE.test(next)) return setNameError('Letters, digits and _, not starting with a digit.');
    try {
      onChange(renameField(schema, parent, field.name, next));
      setNameError(null);
    } catch (e) {
      setNameError((e as Error).message);
    }
  };

  return (
    <fieldset class="field" data-field={path.join('.')}>
      <legend>
        Field <code>{path.join('.')}</code> <span class="muted small">{KIND_LABEL.get(field.kind)}</span>
      </legend>
      <div class="field-grid">
        <label>
          Name
          <input id={`${id}-name`} value={name} onInput={(e) => setName(e.currentTarget.value)} onChange={commitName} aria-invalid={nameError !== null} />
          {nameError && <span class="error-text">{nameError}</span>}
        </label>
        <label>
          Type
          <select
            value={field.kind}
            onChange={(e) => {
              const kind = e.currentTarget.value as FieldKind;
              if (kind !== 'other') setSchema(schemaForKind(kind, field.schema, top));
            }}
          >
            {FIELD_KINDS.filter(([k]) => top || k !== 'relation').map(([k, label]) => (
              <option key={k} value={k}>
                {label}
              </option>
            ))}
            {field.kind === 'other' && <option value="other">Custom (edit as JSON)</option>}
          </select>
        </label>
        <label class="check">
          <input type="checkbox" checked={field.required} onChange={(e) => onChange(setFieldRequired(schema, parent, field.name, e.currentTarget.checked))} />
          Required
        </label>
        <label class="wide">
          Description
          <input value={typeof field.schema['description'] === 'string' ? field.schema['description'] : ''} onInput={(e) => set('description', e.currentTarget.value || undefined)} />
        </label>
        <KindOptions {...props} set={set} setSchema={setSchema} />
      </div>
      {errors.length > 0 && (
        <ul class="error field-errors" role="alert">
          {errors.map((m, i) => (
            <li key={i}>{m}</li>
          ))}
        </ul>
      )}
      <div class="row">
        <button type="button" class="danger" onClick={() => onChange(removeField(schema, parent, field.name))}>
          Remove field <span class="visually-hidden">{path.join('.')}</span>
        </button>
      </div>
      {field.kind === 'object' && (
        <div class="nested">
          <FieldList {...props} parent={path} />
        </div>
      )}
    </fieldset>
  );
}

function KindOptions(props: FieldEditorProps & { readonly parent: FieldPath; readonly field: FieldView; set: (key: string, value: Json | undefined) => void; setSchema: (s: JsonObject) => void }) {
  const { field, set, setSchema, targets } = props;
  const p = field.schema;
  switch (field.kind) {
    case 'text':
      return (
        <>
          <NumberInput label="Min length" value={p['minLength']} min={0} integer onValue={(v) => set('minLength', v)} />
          <NumberInput label="Max length" value={p['maxLength']} min={0} integer onValue={(v) => set('maxLength', v)} />
          <label>
            Format
            <select value={typeof p['format'] === 'string' ? p['format'] : ''} onChange={(e) => set('format', e.currentTarget.value || undefined)}>
              {TEXT_FORMATS.map((f) => (
                <option key={f} value={f}>
                  {f || 'any text'}
                </option>
              ))}
              {typeof p['format'] === 'string' && !(TEXT_FORMATS as readonly string[]).includes(p['format']) && <option value={p['format']}>{p['format']}</option>}
            </select>
          </label>
          <EnumInput value={p['enum']} onValue={(v) => set('enum', v)} />
        </>
      );
    case 'number':
    case 'integer':
      return (
        <>
          <NumberInput label="Minimum" value={p['minimum']} integer={field.kind === 'integer'} onValue={(v) => set('minimum', v)} />
          <NumberInput label="Maximum" value={p['maximum']} integer={field.kind === 'integer'} onValue={(v) => set('maximum', v)} />
        </>
      );
    case 'array':
      return (
        <>
          <label>
            Items
            <select value={field.items ?? 'text'} onChange={(e) => set('items', { ...(isObject(p['items']) ? withoutTypeKeywords(p['items']) : {}), type: ITEM_TYPES[e.currentTarget.value as ItemKind] })}>
              {ITEM_KINDS.map((k) => (
                <option key={k} value={k}>
                  {KIND_LABEL.get(k)}
                </option>
              ))}
            </select>
          </label>
          <NumberInput label="Min items" value={p['minItems']} min={0} integer onValue={(v) => set('minItems', v)} />
          <NumberInput label="Max items" value={p['maxItems']} min={0} integer onValue={(v) => set('maxItems', v)} />
        </>
      );
    case 'relation': {
      const rel = field.relation!;
      const setRel = (next: Partial<typeof rel>): void => {
        const r = { ...rel, ...next };
        const relation = { ...(p['x-relation'] as JsonObject), collection: r.collection, onDelete: r.onDelete };
        const base: JsonObject = { ...p, 'x-relation': relation };
        if (r.many) setSchema({ ...base, type: 'array', items: { type: 'string' } });
        else {
          const { items: _items, minItems: _min, maxItems: _max, uniqueItems: _u, ...single } = base;
          setSchema({ ...single, type: 'string' });
        }
      };
      return (
        <>
          <label>
            Related collection
            <select value={rel.collection} onChange={(e) => setRel({ collection: e.currentTarget.value })}>
              {[...new Set([...targets, rel.collection])].filter(Boolean).map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </label>
          <label>
            On delete
            <select value={rel.onDelete} onChange={(e) => setRel({ onDelete: e.currentTarget.value as OnDelete })}>
              {ON_DELETE.map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>
          </label>
          <label class="check">
            <input type="checkbox" checked={rel.many} onChange={(e) => setRel({ many: e.currentTarget.checked })} />
            Several (a list of ids)
          </label>
        </>
      );
    }
    case 'other':
      return <p class="muted small wide">This field uses keywords the field editor does not show; edit it in the JSON schema.</p>;
    case 'boolean':
    case 'datetime':
    case 'object':
      return null;
  }
}

function withoutTypeKeywords(items: JsonObject): JsonObject {
  const { type: _t, format: _f, minLength: _a, maxLength: _b, minimum: _c, maximum: _d, enum: _e, ...rest } = items;
  return rest;
}

function NumberInput({ label, value, onValue, min, integer }: { label: string; value: Json | undefined; onValue: (v: number | undefined) => void; min?: number; integer?: boolean }) {
  const shown = typeof value === 'number' ? String(value) : '';
  const [text, setText] = useState(shown);
  const [bad, setBad] = useState(false);
  useEffect(() => setText(shown), [shown]);
  return (
    <label>
      {label}
      <input
        type="number"
        inputMode={integer ? 'numeric' : 'decimal'}
        min={min}
        step={integer ? 1 : 'any'}
        value={text}
        aria-invalid={bad}
        onInput={(e) => {
          const t = e.currentTarget.value;
          setText(t);
          if (t === '') {
            setBad(false);
            return onValue(undefined);
          }
          const n = Number(t);
          const ok = Number.isFinite(n) && (!integer || Number.isInteger(n)) && (min === undefined || n >= min);
          setBad(!ok);
          if (ok) onValue(n);
        }}
      />
    </label>
  );
}

function EnumInput({ value, onValue }: { value: Json | undefined; onValue: (v: Json[] | undefined) => void }) {
  const shown = Array.isArray(value) ? value.map(String).join(', ') : '';
  const [text, setText] = useState(shown);
  useEffect(() => setText(shown), [shown]);
  return (
    <label class="wide">
      Allowed values <span class="muted small">(comma-separated; empty: any)</span>
      <input
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
        onChange={() => {
          const values = [...new Set(text.split(',').map((v) => v.trim()).filter(Boolean))];
          onValue(values.length ? values : undefined);
        }}
      />
    </label>
  );
}

function AddField(props: FieldEditorProps & { readonly parent: FieldPath; readonly taken: readonly string[] }) {
  const { parent, schema, onChange, taken } = props;
  const [name, setName] = useState('');
  const [kind, setKind] = useState<Exclude<FieldKind, 'other'>>('text');
  const [error, setError] = useState<string | null>(null);
  const where = parent.length ? ` to ${parent.join('.')}` : '';
  const id = `add-${parent.join('-') || 'top'}`;
  const add = (): void => {
    const n = name.trim();
    if (!FIELD_NAME_RE.test(n)) return setError('A field name is letters, digits and _, not starting with a digit.');
    if (taken.includes(n)) return setError(`There is a field "${n}" already.`);
    onChange(addField(schema, parent, n, kind));
    setName('');
    setError(null);
  };
  return (
    <div class="add-field" role="group" aria-label={`Add a field${where}`}>
      <label>
        New field name{where && <span class="visually-hidden">{where}</span>}
        <input
          id={`${id}-name`}
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              add();
            }
          }}
          aria-invalid={error !== null}
          aria-describedby={error ? `${id}-error` : undefined}
        />
      </label>
      <label>
        Type{where && <span class="visually-hidden"> of the new field{where}</span>}
        <select value={kind} onChange={(e) => setKind(e.currentTarget.value as Exclude<FieldKind, 'other'>)}>
          {FIELD_KINDS.filter(([k]) => parent.length === 0 || k !== 'relation').map(([k, label]) => (
            <option key={k} value={k}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <button type="button" onClick={add}>
        Add field{where}
      </button>
      {error && (
        <p id={`${id}-error`} class="error-text">
          {error}
        </p>
      )}
    </div>
  );
}

import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { RelationPicker } from './relation-picker';
import { kindOf, propertiesOf, relationOf, requiredOf, typesOf, type JsonSchema } from './schema';
import type { Fields } from './values';

/** The server's validation errors by JSON Pointer (`/title`, `/tags/1`). */
export type FieldErrors = ReadonlyMap<string, readonly string[]>;

export function pointerOf(parent: string, key: string | number): string {
  return `${parent}/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

/** An element id for a pointer (ids may hold any character, but CSS selectors and aria-describedby read better plain). */
function idOf(pointer: string): string {
  return `fld${pointer.replace(/[^A-Za-z0-9_-]/g, (c) => `_${c.charCodeAt(0).toString(16)}_`)}`;
}

interface EditorProps {
  readonly schema: JsonSchema;
  readonly name: string;
  readonly pointer: string;
  readonly value: unknown;
  readonly required: boolean;
  readonly errors: FieldErrors;
  readonly onChange: (value: unknown) => void;
  /** Labels of related records (from the record's `expand`). */
  readonly labels: ReadonlyMap<string, string>;
}

/** The inputs of an object's properties (the record's top level, or a nested object). */
export function ObjectFields({ schema, pointer, value, errors, onChange, labels }: { schema: JsonSchema; pointer: string; value: Fields; errors: FieldErrors; onChange: (value: Fields) => void; labels: ReadonlyMap<string, string> }) {
  const required = requiredOf(schema);
  return (
    <>
      {propertiesOf(schema).map(([key, s]) => (
        <FieldEditor
          key={key}
          schema={s}
          name={key}
          pointer={pointerOf(pointer, key)}
          value={value[key]}
          required={required.includes(key)}
          errors={errors}
          labels={labels}
          onChange={(v) => onChange({ ...value, [key]: v })}
        />
      ))}
    </>
  );
}

/** One field, by its schema: text (format, enum, length), number, boolean, date-time, arrays, nested objects, relations, else JSON. */
export function FieldEditor(props: EditorProps) {
  const { schema, name, pointer, value, required, errors, onChange } = props;
  const id = idOf(pointer);
  const mine = errors.get(pointer) ?? [];
  const invalid: 'true' | undefined = mine.length > 0 ? 'true' : undefined;
  const describedBy = [mine.length > 0 ? `${id}-err` : '', `${id}-hint`].filter(Boolean).join(' ');
  const hint = hintOf(schema, required);
  const relation = pointer.split('/').length === 2 ? relationOf(schema) : null;
  const kind = kindOf(schema);
  const title = typeof schema['title'] === 'string' ? `${schema['title']} (${name})` : name;
  const wrap = (control: ComponentChildren, block = false) => (
    <div class={`rec-field${block ? ' rec-field-block' : ''}`} data-field={pointer}>
      {block ? null : (
        <label for={id}>
          {title}
          {required && <span aria-hidden="true"> *</span>}
        </label>
      )}
      {control}
      <FieldMessages id={id} hint={hint} description={typeof schema['description'] === 'string' ? schema['description'] : null} messages={mine} pointer={pointer} />
    </div>
  );

  if (relation) {
    return wrap(<RelationPicker id={id} label={name} relation={relation} value={value} required={required} invalid={invalid} describedBy={describedBy} onChange={onChange} labels={props.labels} />, true);
  }
  const enumValues = Array.isArray(schema['enum']) ? (schema['enum'] as unknown[]) : null;
  if (enumValues) {
    const index = enumValues.findIndex((v) => JSON.stringify(v) === JSON.stringify(value));
    return wrap(
      <select id={id} aria-invalid={invalid} aria-describedby={describedBy} value={index === -1 ? '' : String(index)} onChange={(e) => onChange(e.currentTarget.value === '' ? undefined : enumValues[Number(e.currentTarget.value)])}>
        <option value="">{required ? 'choose…' : '(none)'}</option>
        {enumValues.map((v, i) => (
          <option key={i} value={String(i)}>
            {typeof v === 'string' ? v : JSON.stringify(v)}
          </option>
        ))}
      </select>,
    );
  }
  switch (kind) {
    case 'string': {
      const format = typeof schema['format'] === 'string' ? schema['format'] : '';
      if (format === 'date') return wrap(<input id={id} type="date" aria-invalid={invalid} aria-describedby={describedBy} value={typeof value === 'string' ? value : ''} onInput={(e) => onChange(e.currentTarget.value === '' ? undefined : e.currentTarget.value)} />);
      if (format === 'date-time') return wrap(<DateTimeInput id={id} value={value} invalid={invalid} describedBy={describedBy} onChange={onChange} />);
      const type: 'email' | 'url' | 'text' = format === 'email' ? 'email' : format === 'uri' ? 'url' : 'text';
      const long = typeof schema['maxLength'] === 'number' && schema['maxLength'] > 200;
      const text = typeof value === 'string' ? value : value === undefined || value === null ? '' : JSON.stringify(value);
      const set = (t: string): void => onChange(t === '' && !required ? undefined : t);
      if (long && type === 'text') {
        return wrap(<textarea id={id} rows={3} aria-invalid={invalid} aria-describedby={describedBy} value={text} onInput={(e) => set(e.currentTarget.value)} />);
      }
      const input = { id, 'aria-invalid': invalid, 'aria-describedby': describedBy, value: text, onInput: (e: { currentTarget: HTMLInputElement }) => set(e.currentTarget.value) } as const;
      return wrap(type === 'email' ? <input type="email" {...input} /> : type === 'url' ? <input type="url" {...input} /> : <input type="text" {...input} />);
    }
    case 'number':
    case 'integer':
      return wrap(<NumberInput id={id} integer={kind === 'integer'} value={value} invalid={invalid} describedBy={describedBy} onChange={onChange} />);
    case 'boolean':
      return (
        <div class="rec-field rec-check" data-field={pointer}>
          <label>
            <input id={id} type="checkbox" aria-invalid={invalid} aria-describedby={describedBy} checked={value === true} onChange={(e) => onChange(e.currentTarget.checked)} /> {title}
          </label>
          <FieldMessages id={id} hint={hint} description={null} messages={mine} pointer={pointer} />
        </div>
      );
    case 'array':
      return wrap(<ArrayEditor {...props} id={id} />, true);
    case 'object':
      if (propertiesOf(schema).length > 0) {
        return wrap(
          <fieldset class="rec-object" aria-describedby={describedBy}>
            <legend>{title}</legend>
            <ObjectFields schema={schema} pointer={pointer} value={isObject(value) ? value : {}} errors={errors} labels={props.labels} onChange={(v) => onChange(v)} />
          </fieldset>,
          true,
        );
      }
      return wrap(<JsonInput id={id} value={value} invalid={invalid} describedBy={describedBy} onChange={onChange} />);
    case 'any':
      return wrap(<JsonInput id={id} value={value} invalid={invalid} describedBy={describedBy} onChange={onChange} />);
  }
}

function FieldMessages({ id, hint, description, messages, pointer }: { id: string; hint: string; description: string | null; messages: readonly string[]; pointer: string }) {
  return (
    <>
      <p id={`${id}-hint`} class="rec-hint">
        {description ? `${description} ` : ''}
        {hint}
      </p>
      {messages.length > 0 && (
        <p id={`${id}-err`} class="rec-field-error" data-error-for={pointer}>
          {messages.join('; ')}
        </p>
      )}
    </>
  );
}

function hintOf(schema: JsonSchema, required: boolean): string {
  const parts: string[] = [typesOf(schema).join(' or ') || 'any JSON'];
  const format = schema['format'];
  if (typeof format === 'string') parts.push(format === 'date-time' ? 'date-time (UTC)' : format);
  const min = schema['minLength'];
  const max = schema['maxLength'];
  if (typeof min === 'number' && typeof max === 'number') parts.push(`${min}–${max} characters`);
  else if (typeof max === 'number') parts.push(`at most ${max} characters`);
  else if (typeof min === 'number') parts.push(`at least ${min} characters`);
  const lo = schema['minimum'] ?? schema['exclusiveMinimum'];
  const hi = schema['maximum'] ?? schema['exclusiveMaximum'];
  if (typeof lo === 'number' || typeof hi === 'number') parts.push(`${typeof lo === 'number' ? lo : '…'} to ${typeof hi === 'number' ? hi : '…'}`);
  if (typeof schema['pattern'] === 'string') parts.push(`matching ${schema['pattern']}`);
  if (typeof schema['minItems'] === 'number' || typeof schema['maxItems'] === 'number') parts.push(`${typeof schema['minItems'] === 'number' ? schema['minItems'] : 0}–${typeof schema['maxItems'] === 'number' ? schema['maxItems'] : '∞'} items`);
  parts.push(required ? 'required' : 'optional');
  return parts.join(', ');
}

function isObject(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Text kept as typed (so "-" or "1." can be typed); the number sent when it is one, else the text, for the server to refuse at the field. */
function NumberInput({ id, integer, value, invalid, describedBy, onChange }: { id: string; integer: boolean; value: unknown; invalid: 'true' | undefined; describedBy: string; onChange: (v: unknown) => void }) {
  const [text, setText] = useState(value === undefined || value === null ? '' : String(value as number));
  return (
    <input
      id={id}
      type="text"
      inputMode={integer ? 'numeric' : 'decimal'}
      aria-invalid={invalid}
      aria-describedby={describedBy}
      value={text}
      onInput={(e) => {
        const t = e.currentTarget.value;
        setText(t);
        const n = Number(t);
        onChange(t.trim() === '' ? undefined : Number.isFinite(n) ? n : t);
      }}
    />
  );
}

/** date-time in UTC (`2026-01-02T03:04:05.000Z`), through a datetime-local input read as UTC. */
function DateTimeInput({ id, value, invalid, describedBy, onChange }: { id: string; value: unknown; invalid: 'true' | undefined; describedBy: string; onChange: (v: unknown) => void }) {
  const local = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value) ? new Date(value).toISOString().slice(0, 23) : '';
  return (
    <input
      id={id}
      type="datetime-local"
      step="0.001"
      aria-invalid={invalid}
      aria-describedby={describedBy}
      value={local}
      onInput={(e) => {
        const t = e.currentTarget.value;
        if (t === '') return onChange(undefined);
        const d = new Date(`${t}Z`);
        onChange(Number.isNaN(d.getTime()) ? t : d.toISOString());
      }}
    />
  );
}

/** Any JSON value as text; kept as typed until it parses. */
function JsonInput({ id, value, invalid, describedBy, onChange }: { id: string; value: unknown; invalid: 'true' | undefined; describedBy: string; onChange: (v: unknown) => void }) {
  const [text, setText] = useState(value === undefined ? '' : JSON.stringify(value, null, 1));
  const [bad, setBad] = useState(false);
  return (
    <>
      <textarea
        id={id}
        class="code-editor rec-json"
        rows={3}
        spellcheck={false}
        aria-invalid={invalid ?? (bad ? 'true' : undefined)}
        aria-describedby={describedBy}
        value={text}
        onInput={(e) => {
          const t = e.currentTarget.value;
          setText(t);
          if (t.trim() === '') {
            setBad(false);
            return onChange(undefined);
          }
          try {
            onChange(JSON.parse(t));
            setBad(false);
          } catch {
            setBad(true);
          }
        }}
      />
      {bad && <p class="rec-field-error">Not JSON yet: the last valid value is kept.</p>}
    </>
  );
}

function ArrayEditor(props: EditorProps & { id: string }) {
  const { schema, name, pointer, errors, onChange, id } = props;
  const items = Array.isArray(props.value) ? (props.value as unknown[]) : [];
  const itemSchema = (typeof schema['items'] === 'object' && schema['items'] !== null ? schema['items'] : {}) as JsonSchema;
  const kind = kindOf(itemSchema);
  const blank = (): unknown => (kind === 'boolean' ? false : kind === 'object' ? {} : kind === 'array' ? [] : undefined);
  // Keys stay with their items across removals.
  const [keys, setKeys] = useState(() => items.map((_, i) => i));
  const [next, setNext] = useState(items.length);
  const keyList = keys.length === items.length ? keys : items.map((_, i) => i);
  return (
    <fieldset class="rec-array" id={id} aria-describedby={`${id}-hint`}>
      <legend>
        {name}
        {props.required && <span aria-hidden="true"> *</span>}
      </legend>
      <ol>
        {items.map((item, i) => (
          <li key={keyList[i]}>
            <FieldEditor
              schema={itemSchema}
              name={`${name} item ${i + 1}`}
              pointer={pointerOf(pointer, i)}
              value={item}
              required
              errors={errors}
              labels={props.labels}
              onChange={(v) => onChange(items.map((x, j) => (j === i ? v : x)))}
            />
            <button
              type="button"
              class="link danger"
              onClick={() => {
                setKeys(keyList.filter((_, j) => j !== i));
                onChange(items.filter((_, j) => j !== i));
              }}
            >
              Remove<span class="visually-hidden"> {name} item {i + 1}</span>
            </button>
          </li>
        ))}
      </ol>
      <button
        type="button"
        onClick={() => {
          setKeys([...keyList, next]);
          setNext(next + 1);
          onChange([...items, blank()]);
        }}
      >
        Add<span class="visually-hidden"> {name}</span> item
      </button>
    </fieldset>
  );
}

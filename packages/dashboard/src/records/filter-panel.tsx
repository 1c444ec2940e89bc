import { useEffect, useState } from 'preact/hooks';
import { builderToFilter, filterToBuilder, OPERATORS, parseRawFilter, type Builder, type Condition, type Operator } from './filter-model';
import type { Filter } from './keyset';
import type { Field } from './schema';

/**
 * The filter builder beside the raw JSON box. Either one applies the
 * filter; the other then shows it (the builder only when it can).
 */
export function FilterPanel({ fields, filter, onApply }: { fields: readonly Field[]; filter: Filter; onApply: (filter: Filter) => void }) {
  const filterText = JSON.stringify(filter);
  const [builder, setBuilder] = useState<Builder>(() => filterToBuilder(filter) ?? { join: 'and', rows: [] });
  const [representable, setRepresentable] = useState(true);
  const [raw, setRaw] = useState(filterText === '{}' ? '' : JSON.stringify(filter, null, 1));
  const [builderError, setBuilderError] = useState<string | null>(null);
  const [rawError, setRawError] = useState<string | null>(null);
  useEffect(() => {
    const parsed = filterToBuilder(filter);
    setRepresentable(parsed !== null);
    if (parsed) setBuilder(parsed);
    setRaw(filterText === '{}' ? '' : JSON.stringify(filter, null, 1));
    setBuilderError(null);
    setRawError(null);
  }, [filterText]);

  const fieldOf = (name: string): Field | undefined => fields.find((f) => f.name === name);
  const setRow = (i: number, patch: Partial<Condition>): void => setBuilder((b) => ({ ...b, rows: b.rows.map((r, j) => (j === i ? { ...r, ...patch } : r)) }));
  const addRow = (): void => setBuilder((b) => ({ ...b, rows: [...b.rows, { field: fields[0]?.name ?? 'id', op: '$eq', value: '' }] }));
  const removeRow = (i: number): void => setBuilder((b) => ({ ...b, rows: b.rows.filter((_, j) => j !== i) }));

  const applyBuilder = (e: Event): void => {
    e.preventDefault();
    try {
      onApply(builderToFilter(builder, fieldOf));
      setBuilderError(null);
    } catch (error) {
      setBuilderError((error as Error).message);
    }
  };
  const applyRaw = (e: Event): void => {
    e.preventDefault();
    try {
      onApply(parseRawFilter(raw));
      setRawError(null);
    } catch (error) {
      setRawError((error as Error).message);
    }
  };

  return (
    <div class="rec-filters">
      <form class="rec-builder" onSubmit={applyBuilder} aria-labelledby="builder-title">
        <h2 id="builder-title">Filter builder</h2>
        {!representable && <p class="muted small">The applied filter is more than rows joined by one and/or: edit it in the raw box, or build a new one here.</p>}
        <label class="rec-join">
          Match
          <select value={builder.join} onChange={(e) => setBuilder((b) => ({ ...b, join: e.currentTarget.value as 'and' | 'or' }))}>
            <option value="and">all conditions (and)</option>
            <option value="or">any condition (or)</option>
          </select>
        </label>
        <ol class="rec-conditions">
          {builder.rows.map((row, i) => (
            <li key={i} class="rec-condition">
              <label>
                <span class="visually-hidden">Condition {i + 1} </span>field
                <select value={row.field} onChange={(e) => setRow(i, { field: e.currentTarget.value })}>
                  {fields.map((f) => (
                    <option key={f.name} value={f.name}>
                      {f.name}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                <span class="visually-hidden">Condition {i + 1} </span>operator
                <select value={row.op} onChange={(e) => setRow(i, { op: e.currentTarget.value as Operator, ...(e.currentTarget.value === '$exists' ? { value: 'true' } : {}) })}>
                  {OPERATORS.map(([op, label]) => (
                    <option key={op} value={op}>
                      {label}
                    </option>
                  ))}
                </select>
              </label>
              <ValueInput index={i} row={row} field={fieldOf(row.field)} onInput={(value) => setRow(i, { value })} />
              <button type="button" class="link danger" onClick={() => removeRow(i)}>
                Remove<span class="visually-hidden"> condition {i + 1}</span>
              </button>
            </li>
          ))}
        </ol>
        {builderError && (
          <p class="error" role="alert">
            {builderError}
          </p>
        )}
        <div class="row">
          <button type="button" onClick={addRow}>
            Add condition
          </button>
          <button type="submit" class="primary">
            Apply filter
          </button>
          {filterText !== '{}' && (
            <button type="button" onClick={() => onApply({})}>
              Clear filter
            </button>
          )}
        </div>
      </form>
      <form class="rec-raw" onSubmit={applyRaw}>
        <label>
          Raw filter (JSON)
          <textarea class="code-editor rec-raw-text" rows={5} spellcheck={false} value={raw} placeholder='{"done": false, "priority": {"$gte": 2}}' aria-invalid={rawError ? 'true' : undefined} onInput={(e) => setRaw(e.currentTarget.value)} />
        </label>
        {rawError && (
          <p class="error" role="alert">
            {rawError}
          </p>
        )}
        <div class="row">
          <button type="submit" class="primary">
            Apply raw filter
          </button>
          <span class="muted small">$and, $or, $not; $eq $ne $gt $gte $lt $lte $in $nin $exists $contains $startsWith</span>
        </div>
      </form>
    </div>
  );
}

function ValueInput({ index, row, field, onInput }: { index: number; row: Condition; field: Field | undefined; onInput: (value: string) => void }) {
  const label = <span class="visually-hidden">Condition {index + 1} </span>;
  if (row.op === '$exists' || (field?.kind === 'boolean' && row.op !== '$in' && row.op !== '$nin')) {
    const choices = row.op === '$exists' ? [['true', 'yes'], ['false', 'no']] : [['true', 'true'], ['false', 'false'], ['null', 'null / missing']];
    return (
      <label>
        {label}value
        <select value={row.value} onChange={(e) => onInput(e.currentTarget.value)}>
          {row.value === '' && <option value="">choose…</option>}
          {choices.map(([v, t]) => (
            <option key={v} value={v}>
              {t}
            </option>
          ))}
        </select>
      </label>
    );
  }
  const numeric = (field?.kind === 'number' || field?.kind === 'integer') && row.op !== '$in' && row.op !== '$nin';
  return (
    <label>
      {label}value
      <input type="text" inputMode={numeric ? 'decimal' : undefined} value={row.value} placeholder={row.op === '$in' || row.op === '$nin' ? 'a, b, c' : ''} onInput={(e) => onInput(e.currentTarget.value)} />
    </label>
  );
}

import { useState } from 'preact/hooks';

/** An index as edited: its field paths as typed ("done, createdAt"). */
export const textOfIndex = (fields: readonly string[]): string => fields.join(', ');
export const fieldsOfIndex = (text: string): string[] => text.split(',').map((f) => f.trim()).filter(Boolean);

/** Indexes: each a list of 1–4 field paths; the server checks the paths (errors shown at the index). */
export function IndexesEditor({ indexes, onChange, errors }: { indexes: readonly string[]; onChange: (next: string[]) => void; errors: ReadonlyMap<string, readonly string[]> }) {
  const [fresh, setFresh] = useState('');
  const add = (): void => {
    if (fieldsOfIndex(fresh).length === 0) return;
    onChange([...indexes, textOfIndex(fieldsOfIndex(fresh))]);
    setFresh('');
  };
  return (
    <fieldset class="indexes">
      <legend>Indexes</legend>
      <p class="muted small">
        Field paths your lists filter and sort on, in order, such as <code>done, createdAt</code> or <code>address.city</code>.
      </p>
      {indexes.length === 0 && <p class="muted small">No indexes.</p>}
      <ol class="index-list">
        {indexes.map((text, i) => {
          const problems = errors.get(String(i)) ?? [];
          return (
            <li key={i}>
              <div class="row">
                <label class="grow">
                  <span class="visually-hidden">Index {i + 1}</span>
                  <input value={text} aria-invalid={problems.length > 0} onInput={(e) => onChange(indexes.map((t, j) => (j === i ? e.currentTarget.value : t)))} />
                </label>
                <button type="button" class="danger" onClick={() => onChange(indexes.filter((_, j) => j !== i))}>
                  Remove <span class="visually-hidden">index {i + 1}</span>
                </button>
              </div>
              {problems.map((m, k) => (
                <p class="error-text" role="alert" key={k}>
                  {m}
                </p>
              ))}
            </li>
          );
        })}
      </ol>
      <div class="row">
        <label class="grow">
          New index
          <input
            value={fresh}
            placeholder="field, other.field"
            onInput={(e) => setFresh(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                add();
              }
            }}
          />
        </label>
        <button type="button" onClick={add}>
          Add index
        </button>
      </div>
      {(errors.get('') ?? []).map((m, k) => (
        <p class="error-text" role="alert" key={k}>
          {m}
        </p>
      ))}
    </fieldset>
  );
}

import { useLayoutEffect, useMemo, useRef } from 'preact/hooks';
import { tokenize } from './json-text';

interface Props {
  readonly id: string;
  readonly value: string;
  readonly onInput: (text: string) => void;
  readonly rows?: number;
  /** Offset of a syntax error to mark. */
  readonly errorAt?: number | null;
  readonly invalid?: boolean;
  readonly describedBy?: string;
  readonly label?: string;
}

/**
 * A JSON text box with highlighting: a transparent <textarea> (which keeps
 * every native editing and accessibility behaviour) over a <pre> that draws
 * the same text in colours. Both scroll together; no line wraps, so they
 * stay aligned. Tab moves focus on, as in any text box.
 */
export function CodeEditor({ id, value, onInput, rows = 16, errorAt = null, invalid = false, describedBy, label }: Props) {
  const pre = useRef<HTMLPreElement>(null);
  const area = useRef<HTMLTextAreaElement>(null);
  const spans = useMemo(() => highlight(value, errorAt), [value, errorAt]);
  const sync = (): void => {
    if (pre.current && area.current) {
      pre.current.scrollTop = area.current.scrollTop;
      pre.current.scrollLeft = area.current.scrollLeft;
    }
  };
  useLayoutEffect(sync, [value]);
  return (
    <div class="code-box">
      <pre ref={pre} class="code-layer" aria-hidden="true">
        {spans}
        {'\n'}
      </pre>
      <textarea
        ref={area}
        id={id}
        class="code-input"
        rows={rows}
        wrap="off"
        spellcheck={false}
        autocapitalize="off"
        autocomplete="off"
        value={value}
        aria-invalid={invalid}
        aria-describedby={describedBy}
        aria-label={label}
        onInput={(e) => onInput(e.currentTarget.value)}
        onScroll={sync}
      />
    </div>
  );
}

function highlight(text: string, errorAt: number | null) {
  let offset = 0;
  return tokenize(text).map((t, i) => {
    const start = offset;
    offset += t.text.length;
    const bad = errorAt !== null && errorAt >= start && (errorAt < offset || (errorAt === text.length && offset === text.length));
    if (t.kind === 'space' && !bad) return t.text;
    return (
      <span key={i} class={`tok-${t.kind}${bad ? ' tok-error' : ''}`}>
        {t.text}
      </span>
    );
  });
}

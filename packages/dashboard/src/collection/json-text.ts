import type { Json } from './schema-model';

export interface SyntaxProblem {
  readonly message: string;
  /** 1-based. */
  readonly line: number;
  readonly column: number;
  /** Offset into the text. */
  readonly offset: number;
}

export type Parsed = { readonly ok: true; readonly value: Json } | { readonly ok: false; readonly problem: SyntaxProblem };

/** JSON.parse, with the failure's line and column (engines name an offset, a line and column, or neither). */
export function parseJson(text: string): Parsed {
  try {
    return { ok: true, value: JSON.parse(text) as Json };
  } catch (e) {
    const raw = (e as Error).message;
    const lc = /line (\d+) column (\d+)/.exec(raw);
    const pos = /position (\d+)/.exec(raw);
    let offset = pos ? Number(pos[1]) : text.length;
    if (lc && !pos) offset = offsetOf(text, Number(lc[1]), Number(lc[2]));
    const { line, column } = lineColumn(text, offset);
    const message = raw.replace(/^JSON\.parse: /, '').replace(/\s*\(line \d+ column \d+\)/, '').replace(/ in JSON at position \d+/, '').replace(/, "[^"]*" is not valid JSON$/, '');
    return { ok: false, problem: { message: message || 'Invalid JSON', line, column, offset } };
  }
}

export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

function offsetOf(text: string, line: number, column: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const next = text.indexOf('\n', offset);
    if (next < 0) return text.length;
    offset = next + 1;
  }
  return Math.min(text.length, offset + column - 1);
}

export type TokenKind = 'key' | 'string' | 'number' | 'literal' | 'punct' | 'space' | 'bad';

/** Tokens of (possibly broken) JSON text, for the highlighter: every character belongs to one. */
export function tokenize(text: string): { kind: TokenKind; text: string }[] {
  const tokens: { kind: TokenKind; text: string }[] = [];
  const re = /("(?:[^"\\\n]|\\.)*"?)(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|\b(true|false|null)\b|([{}[\],:])|(\s+)|([^\s"{}[\],:]+)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[1] !== undefined) {
      tokens.push({ kind: m[2] !== undefined ? 'key' : 'string', text: m[1] });
      if (m[2] !== undefined) tokens.push({ kind: 'punct', text: m[2] });
    } else if (m[3] !== undefined) tokens.push({ kind: 'number', text: m[3] });
    else if (m[4] !== undefined) tokens.push({ kind: 'literal', text: m[4] });
    else if (m[5] !== undefined) tokens.push({ kind: 'punct', text: m[5] });
    else if (m[6] !== undefined) tokens.push({ kind: 'space', text: m[6] });
    else tokens.push({ kind: 'bad', text: m[7]! });
  }
  return tokens;
}

export const pretty = (value: unknown): string => JSON.stringify(value, null, 2);

import type { ErrorDetail } from '@sigil/protocol';
import { AppError } from '../errors.js';
import { isStorableString } from './query/order.js';

/**
 * JSON that SQLite and PostgreSQL would both store exactly: no string or key
 * with U+0000 or an unpaired surrogate (PostgreSQL text and jsonb cannot
 * hold them; SQLite would), no number JSON.parse made infinite (`1e400`,
 * which JSON.stringify would silently store as `null`). Every body the HTTP
 * API receives is checked (plugins/storable-input.ts), and so is every
 * collection file `sigil apply` reads. Documented in docs/records.md.
 */
export function assertStorable(value: unknown, what: string): void {
  const problem = firstUnstorable(value);
  if (problem) throw new AppError('validation_failed', `${what} cannot be stored: ${problem.message}.`, { details: [problem] });
}

/**
 * The first value that cannot be stored, with its JSON Pointer. Walked
 * without recursion (bodies may nest deeply; depth limits come later, per
 * route), and without building paths: that would cost more than parsing
 * the body did, and only a refused body needs one.
 */
export function firstUnstorable(value: unknown): ErrorDetail | null {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current === 'string') {
      if (!isStorableString(current)) return locate(value);
    } else if (typeof current === 'number') {
      if (!Number.isFinite(current)) return locate(value);
    } else if (typeof current === 'object' && current !== null) {
      if (Array.isArray(current)) {
        for (const item of current) stack.push(item);
      } else {
        for (const key in current) {
          if (!isStorableString(key)) return locate(value);
          stack.push((current as Record<string, unknown>)[key]);
        }
      }
    }
  }
  return null;
}

/** The same walk, in document order and with paths: only for a body already known to be refused. */
function locate(value: unknown): ErrorDetail {
  const stack: { value: unknown; path: string }[] = [{ value, path: '' }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === 'string') {
      if (!isStorableString(current)) return { path, message: 'strings must not contain U+0000 or unpaired surrogates' };
    } else if (typeof current === 'number') {
      if (!Number.isFinite(current)) return { path, message: 'numbers must be within the range of a double (±1.8e308)' };
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], path: `${path}/${i}` });
    } else if (typeof current === 'object' && current !== null) {
      const keys = Object.keys(current);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        const keyPath = `${path}/${unstorableAsReplacement(key).replaceAll('~', '~0').replaceAll('/', '~1')}`;
        if (!isStorableString(key)) return { path: keyPath, message: 'keys must not contain U+0000 or unpaired surrogates' };
        stack.push({ value: (current as Record<string, unknown>)[key], path: keyPath });
      }
    }
  }
  return { path: '', message: 'is not storable' };
}

/** The offending characters as U+FFFD, so the error body itself is clean text. */
export function unstorableAsReplacement(text: string): string {
  return text.replaceAll('\u0000', '\uFFFD').replace(/[\uD800-\uDFFF]/gu, '\uFFFD');
}

import type { FastifyInstance } from 'fastify';
import type { ErrorDetail } from '@sigil/protocol';
import { AppError } from '../../core/errors.js';
import { isStorableString } from '../../core/records/query/order.js';

/**
 * Refuses, before any route runs, input that one database could store and
 * the other could not, so SQLite and PostgreSQL always hold the same things
 * (and PostgreSQL never answers 500 to a client):
 *
 * - strings and object keys with U+0000 or an unpaired surrogate (neither
 *   PostgreSQL text nor jsonb can hold them; SQLite would);
 * - numbers JSON.parse turned into ±Infinity (`1e400`), which JSON.stringify
 *   would silently store as `null`.
 *
 * A body gets 400 `validation_failed` with the JSON Pointer of the first
 * offending value; a path or query parameter 400 `bad_request`. Documented
 * in docs/records.md ("What can be stored").
 */
export function installStorableInputCheck(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    checkParameters(request.params, 'path');
    checkParameters(request.query, 'query');
    if (request.body !== undefined && request.body !== null) {
      const problem = firstUnstorable(request.body);
      if (problem) throw new AppError('validation_failed', `The body cannot be stored: ${problem.message}.`, { details: [problem] });
    }
  });
}

function checkParameters(values: unknown, where: 'path' | 'query'): void {
  if (typeof values !== 'object' || values === null) return;
  for (const [name, value] of Object.entries(values)) {
    const texts: unknown[] = Array.isArray(value) ? value : [value];
    if (!isStorableString(name) || texts.some((text) => typeof text === 'string' && !isStorableString(text))) {
      throw new AppError('bad_request', `A ${where} parameter contains U+0000 or an unpaired surrogate.`, {
        details: [{ path: where === 'query' ? `/${sanitize(name)}` : '', message: 'must not contain U+0000 or unpaired surrogates' }],
      });
    }
  }
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
        const keyPath = `${path}/${sanitize(key).replaceAll('~', '~0').replaceAll('/', '~1')}`;
        if (!isStorableString(key)) return { path: keyPath, message: 'keys must not contain U+0000 or unpaired surrogates' };
        stack.push({ value: (current as Record<string, unknown>)[key], path: keyPath });
      }
    }
  }
  return { path: '', message: 'is not storable' };
}

/** The offending characters as U+FFFD, so the error body itself is clean text. */
function sanitize(text: string): string {
  return text.replaceAll('\u0000', '\uFFFD').replace(/[\uD800-\uDFFF]/gu, '\uFFFD');
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../core/errors.js';
import { isStorableString } from '../../core/records/query/order.js';
import { assertStorable, unstorableAsReplacement } from '../../core/records/storable-json.js';

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
  // Bodies are checked by a hook on the routes that take one only: a hook
  // on every route costs every read (measured: ~5% of GET by id).
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.some((method) => method === 'POST' || method === 'PUT' || method === 'PATCH')) return;
    const existing = route.preValidation === undefined ? [] : Array.isArray(route.preValidation) ? route.preValidation : [route.preValidation];
    route.preValidation = [...existing, checkBody];
  });
}

/** A callback hook, not an async one: it costs no promise. */
function checkBody(request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void {
  try {
    if (request.body !== undefined && request.body !== null) assertStorable(request.body, 'The body');
  } catch (error) {
    done(error as Error);
    return;
  }
  done();
}

/** Path and query parameters of every request: run from the one `onRequest` hook (build-http.ts). */
export function assertStorableParameters(request: FastifyRequest): void {
  checkParameters(request.params, 'path');
  checkParameters(request.query, 'query');
}

function checkParameters(values: unknown, where: 'path' | 'query'): void {
  if (typeof values !== 'object' || values === null) return;
  for (const [name, value] of Object.entries(values)) {
    const texts: unknown[] = Array.isArray(value) ? value : [value];
    if (!isStorableString(name) || texts.some((text) => typeof text === 'string' && !isStorableString(text))) {
      throw new AppError('bad_request', `A ${where} parameter contains U+0000 or an unpaired surrogate.`, {
        details: [{ path: where === 'query' ? `/${unstorableAsReplacement(name)}` : '', message: 'must not contain U+0000 or unpaired surrogates' }],
      });
    }
  }
}

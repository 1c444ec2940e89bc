import type { JsonObject, JsonValue } from '../collections/collection.js';
import { AppError } from '../errors.js';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * JSON Merge Patch (RFC 7396): objects merge recursively, `null` removes a
 * member, anything else replaces. Returns a new value; inputs are untouched.
 */
export function applyMergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return patch;
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const key of Object.keys(patch)) {
    if (FORBIDDEN_KEYS.has(key)) throw new AppError('bad_request', `The key "${key}" is not allowed.`);
    const value = patch[key]!;
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- RFC 7396: null removes the member; keys were checked above
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

/**
 * Refuses values nested deeper than `maxDepth` without recursing, so a
 * hostile body cannot exhaust the stack of a later recursive step
 * (validation, merge, serialization).
 */
export function assertDepth(value: unknown, maxDepth: number, path = ''): void {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth >= maxDepth) throw new AppError('validation_failed', `The body is nested deeper than ${maxDepth} levels.`, { details: [{ path, message: `must be nested at most ${maxDepth} levels deep` }] });
    for (const child of Object.values(current)) stack.push({ value: child, depth: depth + 1 });
  }
}

/**
 * Field paths as filters and sorts write them: `title`, `address.city`, or a
 * system field. The segment rule is what makes it safe for the SQL compilers
 * to embed a path (never a value) in a JSON path literal: no quotes, dots,
 * brackets, spaces or semicolons can get through.
 */
import type { FieldRef, SystemFieldName } from './query-types.js';

export const SEGMENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const MAX_PATH_SEGMENTS = 8;

/** Segments that would reach JavaScript's prototype machinery if used as keys. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * The type each system field has in the query language: what operands a
 * condition on it may take. `owner` is the only nullable one.
 */
export const SYSTEM_FIELD_TYPES: Readonly<Record<SystemFieldName, 'string' | 'number'>> = {
  id: 'string',
  owner: 'string',
  version: 'number',
  createdAt: 'string',
  updatedAt: 'string',
};

function isSystemFieldName(name: string): name is SystemFieldName {
  return Object.hasOwn(SYSTEM_FIELD_TYPES, name);
}

/** A FieldRef, or a message saying what is wrong with `text`. */
export function parseFieldPath(text: string): FieldRef | string {
  if (text === '') return 'field path is empty';
  const segments = text.split('.');
  if (segments.length > MAX_PATH_SEGMENTS) return `field path has more than ${MAX_PATH_SEGMENTS} segments`;
  for (const segment of segments) {
    if (segment === '') return 'field path has an empty segment';
    if (FORBIDDEN_KEYS.has(segment)) return `"${segment}" is not allowed in a field path`;
    if (!SEGMENT_RE.test(segment)) return 'field path segments must match ^[A-Za-z_][A-Za-z0-9_]*$';
  }
  const first = segments[0]!;
  if (isSystemFieldName(first)) {
    // User data never holds a system field name, so `owner.x` could only ever be missing.
    if (segments.length > 1) return `system field "${first}" has no sub-fields`;
    return { kind: 'system', name: first };
  }
  return { kind: 'data', path: segments };
}

/** The path as the query language writes it. */
export function formatFieldPath(field: FieldRef): string {
  return field.kind === 'system' ? field.name : field.path.join('.');
}

/** Compilers call this before embedding a path: ASTs may also be built in code, not only by the parser. */
export function assertSafeSegments(path: readonly string[]): void {
  if (path.length === 0 || path.length > MAX_PATH_SEGMENTS || !path.every((s) => SEGMENT_RE.test(s) && !FORBIDDEN_KEYS.has(s))) {
    throw new Error(`Unsafe field path in a query AST: ${JSON.stringify(path)}`);
  }
}

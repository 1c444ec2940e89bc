import type { JsonObject } from '../collections/collection.js';
import { SYSTEM_FIELDS } from '../collections/collection.js';
import type { RecordRow } from './record.js';

/** The API's flat record: system fields first, then the user fields. */
export type RecordDto = JsonObject & {
  readonly id: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly owner: string | null;
  readonly version: number;
};

export function toRecordDto(row: RecordRow): RecordDto {
  return { id: row.id, createdAt: row.createdAt, updatedAt: row.updatedAt, owner: row.owner, version: row.version, ...row.data };
}

const SYSTEM = new Set<string>(SYSTEM_FIELDS);

/**
 * The user fields of a request body: system fields are dropped, never
 * applied (SPEC §4.3), so a client may send back a record it received.
 */
export function userFieldsOf(body: JsonObject): JsonObject {
  const data: JsonObject = {};
  for (const key of Object.keys(body)) if (!SYSTEM.has(key)) data[key] = body[key]!;
  return data;
}

/** `"<version>"`: a strong entity tag. */
export const etagOf = (version: number): string => `"${version}"`;

/**
 * Whether an `If-Match` header matches `version`: `*`, or a list of entity
 * tags one of which is `"<version>"` (weak `W/` prefixes are accepted, as the
 * version is the whole state).
 */
export function ifMatchAllows(header: string, version: number): boolean {
  const value = header.trim();
  if (value === '*') return true;
  const wanted = etagOf(version);
  return value.split(',').some((tag) => tag.trim().replace(/^W\//, '') === wanted);
}

import type { JsonObject } from '../collections/collection.js';
import { SYSTEM_FIELDS } from '../collections/collection.js';
import type { RecordRow, StoredRecord } from './record.js';

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

/**
 * The JSON text of `toRecordDto(parseStoredRecord(r))` — the same members in
 * the same order (user fields after the system ones) — spliced from the
 * stored text instead of parsed and re-serialized: the read path's
 * serializer. The stored text is an object written by a JSON serializer, so
 * everything after its `{` is its members and the closing brace.
 */
export function recordJson(r: StoredRecord): string {
  const known = recordTexts.get(r);
  if (known !== undefined) return known;
  const head = `{"id":${JSON.stringify(r.id)},"createdAt":${JSON.stringify(r.createdAt)},"updatedAt":${JSON.stringify(r.updatedAt)},"owner":${r.owner === null ? 'null' : JSON.stringify(r.owner)},"version":${r.version}`;
  const members = r.dataJson.slice(1).trimStart();
  const json = members === '}' ? `${head}}` : `${head},${members}`;
  if (Object.isFrozen(r)) recordTexts.set(r, json);
  return json;
}

/** Texts of records that will not change (frozen: a store's cached answers). */
const recordTexts = new WeakMap<StoredRecord, string>();

export interface RecordPage {
  readonly items: readonly StoredRecord[];
  readonly nextCursor: string | null;
  readonly seq: number;
}

/** Texts of pages that will not change (frozen: the record service's cached pages). */
const pageTexts = new WeakMap<RecordPage, string>();

/** The JSON text of a list page, `{"items":[…],"nextCursor":…,"seq":…}`. */
export function recordPageJson(page: RecordPage): string {
  const known = pageTexts.get(page);
  if (known !== undefined) return known;
  let json = '{"items":[';
  for (let i = 0; i < page.items.length; i++) json += (i === 0 ? '' : ',') + recordJson(page.items[i]!);
  json += `],"nextCursor":${page.nextCursor === null ? 'null' : JSON.stringify(page.nextCursor)},"seq":${page.seq}}`;
  if (Object.isFrozen(page)) pageTexts.set(page, json);
  return json;
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
/** A client-chosen record id (SPEC §4.3). */
export const CLIENT_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

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

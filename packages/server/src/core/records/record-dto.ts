import { createHash } from 'node:crypto';
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
  /** Each item's `expand` member as JSON text, when the list asked for `expand`. */
  readonly expanded?: readonly string[] | undefined;
}

/** `{"id":…,…,"expand":{…}}`: a record's JSON text with its `expand` member (JSON text) spliced in before the closing brace. */
export function withExpand(recordText: string, expandText: string): string {
  return `${recordText.slice(0, -1)},"expand":${expandText}}`;
}

/** `recordJson` with the `expand` member after the fields. */
export const expandedRecordJson = (r: StoredRecord, expand: string): string => withExpand(recordJson(r), expand);

/** Texts of pages that will not change (frozen: the record service's cached pages). */
const pageTexts = new WeakMap<RecordPage, string>();

/** The JSON text of a list page, `{"items":[…],"nextCursor":…,"seq":…}`. */
export function recordPageJson(page: RecordPage): string {
  const known = pageTexts.get(page);
  if (known !== undefined) return known;
  let json = '{"items":[';
  const expanded = page.expanded;
  for (let i = 0; i < page.items.length; i++) json += (i === 0 ? '' : ',') + (expanded === undefined ? recordJson(page.items[i]!) : expandedRecordJson(page.items[i]!, expanded[i]!));
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
 * The entity tag of a GET answered with `expand`: the record's version and a
 * hash of the whole answer, so a 304 is only sent while the related records
 * shown are unchanged too (the version alone would vouch for a stale
 * expansion). It is not a version: `If-Match` takes `"<version>"`.
 */
export const expandedEtagOf = (version: number, body: string): string =>
  `"${version}-${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;

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

import type { JsonObject } from '../collections/collection.js';

/**
 * A record as stored: system fields as columns, user fields in `data`.
 * The API shows it flat: `{id, createdAt, updatedAt, owner, version, ...data}`.
 */
export interface RecordRow {
  readonly id: string;
  /** The creating user's id; null for a record created anonymously (create rule `public`). */
  readonly owner: string | null;
  readonly version: number;
  /** ISO 8601 UTC with milliseconds. */
  readonly createdAt: string;
  readonly updatedAt: string;
  /** User fields only; never contains a system field name. */
  readonly data: JsonObject;
}

/**
 * A record as read for an answer: the user fields are still the stored JSON
 * text of an object, so a read can be sent without parsing and re-serializing
 * them (`recordJson`). Parse it with `parseStoredRecord` to work with the data.
 */
export interface StoredRecord {
  readonly id: string;
  readonly owner: string | null;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** JSON text of the user fields: always an object, never holding a system field. */
  readonly dataJson: string;
}

export function parseStoredRecord(r: StoredRecord): RecordRow {
  return { id: r.id, owner: r.owner, version: r.version, createdAt: r.createdAt, updatedAt: r.updatedAt, data: JSON.parse(r.dataJson) as JsonObject };
}

/**
 * `drop`: the collection was deleted. Its entry ends the collection's history
 * (subscribers are told); its `recordId` is empty and its `record` a
 * placeholder ({@link droppedRecord}).
 */
export type ChangeOp = 'create' | 'update' | 'delete' | 'drop';

/** One entry of the change log (transactional outbox). */
export interface NewChange {
  readonly collection: string;
  /** The collection's identity (`Collection.id`): the same name may stand for a later collection. */
  readonly collectionId: string;
  readonly recordId: string;
  readonly op: ChangeOp;
  /** The record after the change; for `delete`, the record as it was. */
  readonly record: RecordRow;
  /**
   * For `update`, the record before it (realtime needs both to tell a
   * subscriber that a record left its filter); null otherwise.
   */
  readonly previous: RecordRow | null;
  /** ISO 8601 UTC. */
  readonly createdAt: string;
  /**
   * Whether this is the last change of its transaction. A transaction's
   * changes take contiguous seqs (see `ChangeRepository.appendChange`), so the
   * changes from one end to the next are exactly one transaction: realtime
   * uses it to mark the last event of a transaction each subscriber receives.
   */
  readonly txEnd: boolean;
}

/** The `record` of a `drop` entry: no record, in the shape every entry has. */
export function droppedRecord(at: string): RecordRow {
  return { id: '', owner: null, version: 0, createdAt: at, updatedAt: at, data: {} };
}

export interface ChangeRow extends NewChange {
  /** Global, gap-free in commit order, starting at 1. */
  readonly seq: number;
}

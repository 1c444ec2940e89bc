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

export type ChangeOp = 'create' | 'update' | 'delete';

/** One entry of the change log (transactional outbox). */
export interface NewChange {
  readonly collection: string;
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
}

export interface ChangeRow extends NewChange {
  /** Global, gap-free in commit order, starting at 1. */
  readonly seq: number;
}

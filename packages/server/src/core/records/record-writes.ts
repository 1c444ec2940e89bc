import type { Principal } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import type { CollectionCatalog } from '../collections/collection-catalog.js';
import type { Collection, JsonObject, JsonValue } from '../collections/collection.js';
import { AppError, isAppError } from '../errors.js';
import { newId } from '../ids.js';
import type { Store, StoreTransaction } from '../storage/store.js';
import { hiddenCollection, mayEver, permits, readableCollection, readScope, refusal, visibleRecord } from './access.js';
import { atOperation, type BatchOperation } from './batch-input.js';
import { applyMergePatch, assertDepth } from './merge-patch.js';
import type { ChangeOp, NewChange, RecordRow } from './record.js';
import { CLIENT_ID_RE, ifMatchAllows, userFieldsOf } from './record-dto.js';
import { relationsOf } from '../collections/relations.js';
import { createRelationIntegrity, type RelationEffect } from './relation-integrity.js';

export interface RecordWritesOptions {
  readonly store: Store;
  readonly catalog: CollectionCatalog;
  readonly clock: Clock;
  /** Called after each write commits, with its last change's seq (realtime reads the log then). */
  readonly onCommitted?: (seq: number) => void;
}

const MAX_BODY_DEPTH = 64;
/** A write retried after a concurrent schema change or a lost compare-and-set. */
const MAX_ATTEMPTS = 5;

export interface WriteOutcome {
  readonly row: RecordRow;
  readonly op: ChangeOp;
  readonly previous?: RecordRow;
  /** Changes of other records the write caused (a delete's cascades and set-nulls), logged after it. */
  readonly effects?: readonly RelationEffect[];
}

/** Thrown inside a write transaction to roll it back and try again with fresh state. */
class Retry extends Error {}

/** One write of a transaction: its collection, and what it does inside the transaction (run again on a retry). */
export interface WriteStep {
  readonly name: string;
  readonly attempt: (collection: Collection, tx: StoreTransaction) => Promise<WriteOutcome | Retry>;
}


export type RecordWrites = ReturnType<typeof createRecordWrites>;

/**
 * The write side of the records API: each write as a step (rules, schema
 * validation, versions and If-Match, compare-and-set), and `write`, which runs
 * steps in one transaction with their change-log entries (one write, or a
 * batch's).
 */
export function createRecordWrites(opts: RecordWritesOptions) {
  const { store, catalog, clock } = opts;
  const iso = (): string => new Date(clock.now()).toISOString();
  const integrity = createRelationIntegrity({ catalog, now: iso });

  function validate(collection: Collection, data: JsonObject): void {
    const details = catalog.validate(collection, data);
    if (details.length > 0) throw new AppError('validation_failed', `The record does not match the schema of "${collection.name}".`, { details });
  }


  /**
   * Runs writes with their change-log entries in one transaction (one write,
   * or a batch's), checking inside it that each schema used for validation is
   * still current (another instance may have changed it); on a stale schema
   * or a lost compare-and-set, reloads and redoes them all. Later steps see
   * what earlier ones wrote. The changes are appended last, together: on
   * PostgreSQL the first append locks the change counter until the commit
   * (see postgres-changes.ts), so that lock is held as briefly as possible,
   * and the last change is marked as the transaction's end.
   */
  async function write(steps: readonly WriteStep[]): Promise<RecordRow[]> {
    const names = [...new Set(steps.map((step) => step.name))];
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const collections = new Map<string, Collection>();
      for (const name of names) collections.set(name, i === 0 ? await catalog.get(name) : await catalog.refresh(name));
      const result = await store
        .transaction(
          async (tx) => {
            const outcomes: { readonly outcome: WriteOutcome; readonly collection: Collection }[] = [];
            for (const step of steps) {
              const collection = collections.get(step.name)!;
              const outcome = await step.attempt(collection, tx);
              if (outcome instanceof Retry) {
                // Nothing written yet: answering is cheaper than a rollback. Else roll back what earlier steps wrote.
                if (outcomes.length === 0) return outcome;
                throw outcome;
              }
              outcomes.push({ outcome, collection });
            }
            // Every schema a record was checked against, a cascade's too, must still be current.
            const checked = new Map(collections);
            for (const { outcome } of outcomes) for (const effect of outcome.effects ?? []) checked.set(effect.collection.name, effect.collection);
            for (const collection of checked.values()) {
              const stamp = await tx.collections.findSchemaStamp(collection.name);
              if (stamp?.id !== collection.id || stamp.schemaVersion !== collection.schemaVersion) throw new Retry();
            }
            const createdAt = iso();
            const entries: NewChange[] = [];
            const log = (collection: Collection, op: ChangeOp, row: RecordRow, previous: RecordRow | undefined): void => {
              entries.push({ collection: collection.name, collectionId: collection.id, recordId: row.id, op, record: row, previous: previous ?? null, createdAt, txEnd: false });
            };
            for (const { outcome, collection } of outcomes) {
              log(collection, outcome.op, outcome.row, outcome.previous);
              for (const effect of outcome.effects ?? []) log(effect.collection, effect.op, effect.row, effect.previous);
            }
            entries[entries.length - 1] = { ...entries.at(-1)!, txEnd: true };
            const seqs = entries.length === 1 ? [await tx.changes.appendChange(entries[0]!)] : await tx.changes.appendChanges(entries);
            return { rows: outcomes.map(({ outcome }) => outcome.row), lastSeq: Math.max(...seqs) };
          },
          { isolation: 'read committed' },
        )
        .catch((err: unknown) => {
          if (err instanceof Retry) return err;
          throw err;
        });
      if (!(result instanceof Retry)) {
        opts.onCommitted?.(result.lastSeq);
        return result.rows;
      }
    }
    throw new AppError('unavailable', 'The record kept changing concurrently; retry.', { retryAfter: 1 });
  }

  async function writeOne(step: WriteStep): Promise<RecordRow> {
    return (await write([step]))[0]!;
  }

  /** Loads a record the caller may view, else 404 (existence is not revealed). */
  async function loadVisible(collection: Collection, principal: Principal | null, id: string, reader: Pick<StoreTransaction, 'records'>): Promise<RecordRow> {
    const scope = readScope(collection, principal, 'view');
    if (scope === null) throw hiddenCollection(collection.name);
    return visibleRecord(scope, CLIENT_ID_RE.test(id) ? await reader.records.findRecordToChange(collection.name, id) : null);
  }

  /** The shared path of PATCH, PUT and DELETE: visibility, rule, If-Match, compare-and-set. */
  async function modify(
    name: string,
    principal: Principal | null,
    id: string,
    ifMatch: string | undefined,
    rule: 'update' | 'delete',
    change: (collection: Collection, current: RecordRow, tx: StoreTransaction) => Promise<WriteOutcome | Retry>,
  ): Promise<WriteStep> {
    // A record you cannot view is one you cannot change: 404 for the collection or the record alike.
    await readableCollection(catalog, name, principal, 'view');
    return { name, attempt: async (collection, tx) => {
      const current = await loadVisible(collection, principal, id, tx);
      if (!permits(collection.rules[rule], principal, current)) throw refusal(principal, `${rule} this record`);
      if (ifMatch !== undefined && !ifMatchAllows(ifMatch, current.version)) {
        throw new AppError('precondition_failed', `The record is at version ${current.version}.`);
      }
      return change(collection, current, tx);
    } };
  }

  /** `update` is checked on the current record (in `modify`) and on the result: an update cannot move a record out of what the caller may change. */
  function allowedUpdate(collection: Collection, principal: Principal | null, next: RecordRow): RecordRow {
    if (!permits(collection.rules.update, principal, next)) throw refusal(principal, 'update this record to that');
    return next;
  }

  function nextVersion(current: RecordRow, data: JsonObject): RecordRow {
    return { ...current, data, version: current.version + 1, updatedAt: iso() };
  }

  async function createStep(principal: Principal | null, name: string, body: JsonObject): Promise<WriteStep> {
    const target = await catalog.get(name);
    if (!mayEver(target.rules.create, principal)) {
      throw readScope(target, principal, 'view') === null ? hiddenCollection(name) : refusal(principal, `create records of "${name}"`);
    }
    assertDepth(body, MAX_BODY_DEPTH);
    const rawId = body['id'];
    if (rawId !== undefined && (typeof rawId !== 'string' || !CLIENT_ID_RE.test(rawId))) {
      throw new AppError('validation_failed', 'Invalid id.', { details: [{ path: '/id', message: 'must match ^[A-Za-z0-9_-]{1,64}$' }] });
    }
    const data = userFieldsOf(body);
    return { name, attempt: async (collection, tx) => {
      validate(collection, data);
      const now = iso();
      const record: RecordRow = { id: rawId ?? newId(clock.now()), owner: principal?.userId ?? null, version: 1, createdAt: now, updatedAt: now, data };
      // An expression rule is checked on the record as it would be stored (with its owner).
      if (!permits(collection.rules.create, principal, record)) throw refusal(principal, 'create this record');
      await tx.records.insertRecord(name, record);
      if (relationsOf(collection).length > 0) await integrity.checkAndStore(collection, record.id, data, null, { principal }, tx);
      return { row: record, op: 'create' };
    } };
  }

  async function patchStep(principal: Principal | null, name: string, id: string, patch: JsonValue, ifMatch?: string): Promise<WriteStep> {
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
      throw new AppError('validation_failed', 'A merge patch for a record must be an object.', { details: [{ path: '', message: 'must be object' }] });
    }
    assertDepth(patch, MAX_BODY_DEPTH);
    const changes = userFieldsOf(patch);
    return modify(name, principal, id, ifMatch, 'update', async (collection, current, tx) => {
      const merged = applyMergePatch(current.data, changes) as JsonObject;
      validate(collection, merged);
      const next = allowedUpdate(collection, principal, nextVersion(current, merged));
      return updated(collection, principal, next, current, tx);
    });
  }

  async function replaceStep(principal: Principal | null, name: string, id: string, body: JsonObject, ifMatch?: string): Promise<WriteStep> {
    assertDepth(body, MAX_BODY_DEPTH);
    const data = userFieldsOf(body);
    return modify(name, principal, id, ifMatch, 'update', async (collection, current, tx) => {
      validate(collection, data);
      const next = allowedUpdate(collection, principal, nextVersion(current, data));
      return updated(collection, principal, next, current, tx);
    });
  }

  async function removeStep(principal: Principal | null, name: string, id: string, ifMatch?: string): Promise<WriteStep> {
    return modify(name, principal, id, ifMatch, 'delete', async (collection, current, tx) => {
      if (!(await tx.records.deleteRecord(name, id, current.version))) return new Retry();
      if (relationsOf(collection).length > 0) await tx.relations.replaceRefs(name, id, []);
      const effects = await integrity.afterDelete(name, id, principal, tx);
      return { row: current, op: 'delete', effects };
    });
  }

  /** Stores an update (compare-and-set), with its references checked and kept. */
  async function updated(collection: Collection, principal: Principal | null, next: RecordRow, current: RecordRow, tx: StoreTransaction): Promise<WriteOutcome | Retry> {
    if (!(await tx.records.updateRecord(collection.name, next, current.version))) return new Retry();
    if (relationsOf(collection).length > 0) await integrity.checkAndStore(collection, next.id, next.data, current.data, { principal }, tx);
    return { row: next, op: 'update', previous: current };
  }

  function stepFor(principal: Principal | null, operation: BatchOperation): Promise<WriteStep> {
    switch (operation.op) {
      case 'create':
        return createStep(principal, operation.collection, operation.record);
      case 'update':
        return patchStep(principal, operation.collection, operation.id, operation.patch, operation.ifMatch);
      case 'replace':
        return replaceStep(principal, operation.collection, operation.id, operation.record, operation.ifMatch);
      case 'delete':
        return removeStep(principal, operation.collection, operation.id, operation.ifMatch);
    }
  }

  return { write, writeOne, createStep, patchStep, replaceStep, removeStep, stepFor };
}

/** Runs `fn`; an error it throws names operation `index` of the batch (a Retry passes through untouched). */
export async function indexed<T>(index: number, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw isAppError(err) ? atOperation(err, index) : err;
  }
}

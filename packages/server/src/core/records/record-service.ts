import type { Principal } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import type { CollectionCatalog } from '../collections/collection-catalog.js';
import type { Collection, JsonObject, JsonValue } from '../collections/collection.js';
import { AppError, isAppError } from '../errors.js';
import { newId } from '../ids.js';
import type { Store, StoreTransaction } from '../storage/store.js';
import { hiddenCollection, inScope, mayEver, permits, readScope, refusal, type ReadPurpose, type ReadScope } from './access.js';
import { atOperation, parseBatch, type BatchOperation, type BatchResult } from './batch-input.js';
import { applyMergePatch, assertDepth } from './merge-patch.js';
import { cursorPositionOf, decodeRecordCursor, encodeRecordCursor } from './query/cursor.js';
import { parseFilter } from './query/filter.js';
import type { FilterNode, RecordQuery, SortKey } from './query/query-types.js';
import { formatSort, parseSort } from './query/sort.js';
import { parseStoredRecord, type ChangeOp, type NewChange, type RecordRow, type StoredRecord } from './record.js';
import { ifMatchAllows, toRecordDto, userFieldsOf, type RecordDto } from './record-dto.js';

export interface RecordServiceOptions {
  readonly store: Store;
  readonly catalog: CollectionCatalog;
  readonly clock: Clock;
  /** A list page stops early once its records' JSON passes this many characters (LIST_PAGE_MB). */
  readonly listPageChars: number;
  /** Called after each write commits (realtime reads the log then). */
  readonly onCommitted?: () => void;
}

export interface ListInput {
  readonly filter?: string | undefined;
  readonly sort?: string | undefined;
  readonly limit?: string | undefined;
  readonly after?: string | undefined;
}

export interface ListResult {
  /** Stored form: `recordPageJson` answers with them unparsed. */
  readonly items: StoredRecord[];
  readonly nextCursor: string | null;
  readonly seq: number;
}

const CLIENT_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** Distinct list queries kept parsed (beyond it the map starts over), and the longest kept. */
const MAX_KEPT_QUERIES = 1024;
const MAX_KEPT_QUERY_LENGTH = 2048;
const MAX_BODY_DEPTH = 64;
/** A write retried after a concurrent schema change or a lost compare-and-set. */
const MAX_ATTEMPTS = 5;

interface WriteOutcome {
  readonly row: RecordRow;
  readonly op: ChangeOp;
  readonly previous?: RecordRow;
}

/** Thrown inside a write transaction to roll it back and try again with fresh state. */
class Retry extends Error {}

/** One write of a transaction: its collection, and what it does inside the transaction (run again on a retry). */
interface WriteStep {
  readonly name: string;
  readonly attempt: (collection: Collection, tx: StoreTransaction) => Promise<WriteOutcome | Retry>;
}

export type RecordService = ReturnType<typeof createRecordService>;

/**
 * The records API's rules: access per operation, schema validation of every
 * write, versions and If-Match, and the change log written in the same
 * transaction as the record (the outbox realtime streams from).
 */
export function createRecordService(opts: RecordServiceOptions) {
  const { store, catalog, clock } = opts;
  const iso = (): string => new Date(clock.now()).toISOString();
  /**
   * Parsed list queries by their text (and the owner they are narrowed to),
   * so a repeated list parses nothing; the same query object also lets the
   * store reuse what it compiled from it. Invalid input throws before it is kept.
   */
  const queries = new Map<string, { readonly query: RecordQuery; readonly sort: readonly SortKey[]; readonly limit: number; readonly pageKey: string }>();
  function listQuery(input: ListInput, scope: ReadScope) {
    const key = `${scopeKey(scope)}\u0000${input.filter ?? ''}\u0000${input.sort ?? ''}\u0000${input.limit ?? ''}\u0000${input.after ?? ''}`;
    let known = queries.get(key);
    if (known === undefined) {
      let filter: FilterNode | null = parseFilter(input.filter);
      // The caller's read scope narrows the query in SQL, so pages and cursors stay exact.
      if (scope.filter !== null) filter = filter ? { op: 'and', children: [scope.filter, filter] } : scope.filter;
      const sort = parseSort(input.sort);
      const limit = parseLimit(input.limit);
      const after = input.after === undefined || input.after === '' ? null : decodeRecordCursor(input.after, sort);
      // A page made from a cached answer is kept per limit and sort (see `pages`).
      known = Object.freeze({ query: Object.freeze({ filter, sort, after, limit: limit + 1, maxChars: opts.listPageChars }), sort, limit, pageKey: `${limit} ${formatSort(sort)}` });
      if (key.length <= MAX_KEPT_QUERY_LENGTH) {
        if (queries.size >= MAX_KEPT_QUERIES) queries.clear();
        queries.set(key, known);
      }
    }
    return known;
  }

  /** Pages made from answers a store handed out frozen (cached), by limit and sort. */
  const pages = new WeakMap<object, Map<string, ListResult>>();

  /** The collection and what the caller may read of it; a collection they may not read is 404 like a missing one. */
  async function readable(name: string, principal: Principal | null, purpose: ReadPurpose): Promise<{ collection: Collection; scope: ReadScope }> {
    const collection = await catalog.get(name);
    const scope = readScope(collection, principal, purpose);
    if (scope === null) throw hiddenCollection(name);
    return { collection, scope };
  }

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
            for (const collection of collections.values()) {
              const stamp = await tx.collections.findSchemaStamp(collection.name);
              if (stamp?.id !== collection.id || stamp.schemaVersion !== collection.schemaVersion) throw new Retry();
            }
            const last = outcomes.length - 1;
            const entries = outcomes.map(({ outcome, collection }, k): NewChange => ({ collection: collection.name, collectionId: collection.id, recordId: outcome.row.id, op: outcome.op, record: outcome.row, previous: outcome.previous ?? null, createdAt: iso(), txEnd: k === last }));
            if (entries.length === 1) await tx.changes.appendChange(entries[0]!);
            else await tx.changes.appendChanges(entries);
            return outcomes.map(({ outcome }) => outcome.row);
          },
          { isolation: 'read committed' },
        )
        .catch((err: unknown) => {
          if (err instanceof Retry) return err;
          throw err;
        });
      if (!(result instanceof Retry)) {
        opts.onCommitted?.();
        return result;
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
    return visible(scope, CLIENT_ID_RE.test(id) ? await reader.records.findRecordToChange(collection.name, id) : null);
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
    await readable(name, principal, 'view');
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

  return {
    async list(principal: Principal | null, name: string, input: ListInput): Promise<ListResult> {
      const { scope } = await readable(name, principal, 'list');
      const { query, sort, limit, pageKey } = listQuery(input, scope);
      const answer = await store.records.queryRecords(name, query);
      // A store may hand back the same (frozen) answer while its data is
      // unchanged; the page made from it is then the same too.
      const known = pages.get(answer)?.get(pageKey);
      if (known !== undefined) return known;
      const { rows, seq, truncated } = answer;
      const page = rows.length > limit ? rows.slice(0, limit) : rows;
      const last = page.at(-1);
      const result: ListResult = {
        items: page,
        nextCursor: (rows.length > limit || truncated) && last ? encodeRecordCursor(cursorPositionOf(parseStoredRecord(last), sort), sort) : null,
        seq,
      };
      if (Object.isFrozen(answer)) {
        const forAnswer = pages.get(answer) ?? new Map<string, ListResult>();
        forAnswer.set(pageKey, Object.freeze(result));
        pages.set(answer, forAnswer);
      }
      return result;
    },

    /** The record in stored form (`recordJson` answers with it unparsed). */
    async get(principal: Principal | null, name: string, id: string): Promise<StoredRecord> {
      const { scope } = await readable(name, principal, 'view');
      return visible(scope, CLIENT_ID_RE.test(id) ? await store.records.readRecord(name, id) : null);
    },

    async create(principal: Principal | null, name: string, body: JsonObject): Promise<RecordDto> {
      return toRecordDto(await writeOne(await createStep(principal, name, body)));
    },

    async patch(principal: Principal | null, name: string, id: string, patch: JsonValue, ifMatch?: string): Promise<RecordDto> {
      return toRecordDto(await writeOne(await patchStep(principal, name, id, patch, ifMatch)));
    },

    async replace(principal: Principal | null, name: string, id: string, body: JsonObject, ifMatch?: string): Promise<RecordDto> {
      return toRecordDto(await writeOne(await replaceStep(principal, name, id, body, ifMatch)));
    },

    async remove(principal: Principal | null, name: string, id: string, ifMatch?: string): Promise<void> {
      await writeOne(await removeStep(principal, name, id, ifMatch));
    },

    /**
     * Applies a batch (SPEC §4.8) in one transaction: all operations or none.
     * Each is checked exactly as alone; the first that fails is the answer,
     * with its position in `details[0].index`.
     */
    async batch(principal: Principal | null, body: unknown): Promise<BatchResult[]> {
      const operations = parseBatch(body);
      const steps: WriteStep[] = [];
      for (const [index, operation] of operations.entries()) {
        const step = await indexed(index, () => stepFor(principal, operation));
        steps.push({ name: step.name, attempt: (collection, tx) => indexed(index, () => step.attempt(collection, tx)) });
      }
      const rows = await write(steps);
      return operations.map((operation, i): BatchResult => {
        switch (operation.op) {
          case 'create':
            return { status: 201, record: toRecordDto(rows[i]!) };
          case 'update':
          case 'replace':
            return { status: 200, record: toRecordDto(rows[i]!) };
          case 'delete':
            return { status: 204 };
        }
      });
    },
  };

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
      return (await tx.records.updateRecord(name, next, current.version)) ? { row: next, op: 'update', previous: current } : new Retry();
    });
  }

  async function replaceStep(principal: Principal | null, name: string, id: string, body: JsonObject, ifMatch?: string): Promise<WriteStep> {
    assertDepth(body, MAX_BODY_DEPTH);
    const data = userFieldsOf(body);
    return modify(name, principal, id, ifMatch, 'update', async (collection, current, tx) => {
      validate(collection, data);
      const next = allowedUpdate(collection, principal, nextVersion(current, data));
      return (await tx.records.updateRecord(name, next, current.version)) ? { row: next, op: 'update', previous: current } : new Retry();
    });
  }

  async function removeStep(principal: Principal | null, name: string, id: string, ifMatch?: string): Promise<WriteStep> {
    return modify(name, principal, id, ifMatch, 'delete', async (_collection, current, tx) =>
      (await tx.records.deleteRecord(name, id, current.version)) ? { row: current, op: 'delete' } : new Retry(),
    );
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
}

/** Runs `fn`; an error it throws names operation `index` of the batch (a Retry passes through untouched). */
async function indexed<T>(index: number, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw isAppError(err) ? atOperation(err, index) : err;
  }
}

/** `row` if it exists and is in the caller's read scope; else 404 either way, so existence is not revealed. */
function visible<R extends RecordRow | StoredRecord>(scope: ReadScope, row: R | null): R {
  if (!row || !inScope(scope, row)) throw new AppError('not_found', 'No such record.');
  return row;
}

/** A string naming a read scope, for keys of kept queries (scopes are few per caller: computed once each). */
const scopeKeys = new WeakMap<ReadScope, string>();
function scopeKey(scope: ReadScope): string {
  let key = scopeKeys.get(scope);
  if (key === undefined) {
    key = scope.filter === null ? '' : JSON.stringify(scope.filter);
    scopeKeys.set(scope, key);
  }
  return key;
}

function parseLimit(value: string | undefined): number {
  if (value === undefined || value === '') return 50;
  const n = /^\d{1,3}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 200) {
    throw new AppError('bad_request', 'limit must be an integer from 1 to 200.', { details: [{ path: '/limit', message: 'must be 1–200' }] });
  }
  return n;
}

import type { Principal } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import type { CollectionCatalog } from '../collections/collection-catalog.js';
import type { Collection, JsonObject, JsonValue } from '../collections/collection.js';
import { AppError } from '../errors.js';
import type { Store } from '../storage/store.js';
import { readableCollection, readScope, visibleRecord, type ReadPurpose, type ReadScope } from './access.js';
import { expandFor, expandPathsOfText, expansionKey, type ExpandPlan } from './expand.js';
import { expandRecords, type ExpandSource } from './expansion.js';
import { parseBatch, type BatchResult } from './batch-input.js';
import { cursorPositionOf, decodeRecordCursor, encodeRecordCursor } from './query/cursor.js';
import { parseFilter } from './query/filter.js';
import type { FilterNode, RecordQuery, SortKey } from './query/query-types.js';
import { formatSort, parseSort } from './query/sort.js';
import { parseStoredRecord, type StoredRecord } from './record.js';
import { CLIENT_ID_RE, toRecordDto, type RecordDto } from './record-dto.js';
import { createRecordWrites, indexed, type WriteStep } from './record-writes.js';

export interface RecordServiceOptions {
  readonly store: Store;
  readonly catalog: CollectionCatalog;
  readonly clock: Clock;
  /** A list page stops early once its records' JSON passes this many characters (LIST_PAGE_MB). */
  readonly listPageChars: number;
  /** Called after each write commits, with its last change's seq (realtime reads the log then). */
  readonly onCommitted?: (seq: number) => void;
}

export interface ListInput {
  readonly filter?: string | undefined;
  readonly sort?: string | undefined;
  readonly limit?: string | undefined;
  readonly after?: string | undefined;
  /** `?expand=`: comma-separated relation paths (core/records/expand.ts); empty or absent: none. */
  readonly expand?: string | undefined;
}

export interface ListResult {
  /** Stored form: `recordPageJson` answers with them unparsed. */
  readonly items: StoredRecord[];
  readonly nextCursor: string | null;
  readonly seq: number;
  /** With `expand`: each item's `expand` member as JSON text, in item order. */
  readonly expanded?: readonly string[];
}

/** A record read with `expand`: its stored form and its `expand` member as JSON text. */
export interface ExpandedRecord {
  readonly record: StoredRecord;
  readonly expand: string;
}

/**
 * Related records one answer may carry, counted each time one appears (SPEC
 * §4.6 bounds each back-relation at 100 per record, but a page of 200
 * records with three paths could otherwise ask for 60,000). Their JSON counts
 * toward the page's LIST_PAGE_MB too. Over either: 400, nothing answered.
 */
export const MAX_EXPANDED_RECORDS = 5000;

/** Distinct list queries kept parsed (beyond it the map starts over), and the longest kept. */
const MAX_KEPT_QUERIES = 1024;
const MAX_KEPT_QUERY_LENGTH = 2048;

export type RecordService = ReturnType<typeof createRecordService>;

/**
 * The records API: reads (lists narrowed by the read scope in SQL, GET by id)
 * here; writes and batches through `record-writes.ts` (rules, schema
 * validation, versions and If-Match, and the change log written in the same
 * transaction as the record, the outbox realtime streams from).
 */
export function createRecordService(opts: RecordServiceOptions) {
  const { store, catalog } = opts;
  const writes = createRecordWrites(opts);
  const { writeOne, createStep, patchStep, replaceStep, removeStep, stepFor } = writes;

  /**
   * Parsed list queries by their text (and the read scope they are narrowed to),
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

  /** Expanded pages made from frozen pages, by plan and the caller's view scopes (see `list`). */
  const expandedPages = new WeakMap<ListResult, Map<string, ListResult>>();

  /** The caller's expansion of `records`: one query per path for all of them, at most `chars` characters of JSON. */
  async function expand(principal: Principal | null, plan: ExpandPlan, records: readonly StoredRecord[], chars: number): Promise<string[]> {
    const scopeOf = (collection: string): ReadScope | null => {
      const c = plan.uses.get(collection);
      return c === undefined || c === null ? null : readScope(c, principal, 'view');
    };
    // Only forward relations read the records' own fields.
    const needsData = plan.nodes.some((n) => n.kind !== 'back');
    const sources: ExpandSource[] = records.map((r) => ({ id: r.id, data: needsData ? parseStoredRecord(r).data : NO_DATA }));
    const expanded = await expandRecords({ records: store.records, relations: store.relations, scopeOf }, plan, sources, { records: MAX_EXPANDED_RECORDS, chars });
    return expanded.map((e) => e.json);
  }

  /** A page of the records in `scope`, with no expansion (the hot path). */
  async function listPage(name: string, input: ListInput, scope: ReadScope): Promise<ListResult> {
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
  }

  return {
    async list(principal: Principal | null, name: string, input: ListInput): Promise<ListResult> {
      const { collection, scope } = await readableCollection(catalog, name, principal, 'list');
      // Checked before the query: a wrong path is refused without reading anything.
      const plan = input.expand === undefined || input.expand === '' ? null : await expandFor(catalog, collection, expandPathsOfText(input.expand), principal);
      const page = await listPage(name, input, scope);
      if (plan === null) return page;
      // A frozen page comes from an answer the store keeps while no write at all has
      // ended (SQLite's read cache): the related records are unchanged too, so the
      // expansion made from it holds for every caller with the same view scopes.
      const key = Object.isFrozen(page) ? callerExpansionKey(principal, plan) : undefined;
      const known = key === undefined ? undefined : expandedPages.get(page)?.get(key);
      if (known !== undefined) return known;
      // The page's own JSON and its expansions share the page budget (LIST_PAGE_MB).
      const used = page.items.reduce((n, r) => n + r.dataJson.length, 0);
      const result: ListResult = { ...page, expanded: await expand(principal, plan, page.items, Math.max(0, opts.listPageChars - used)) };
      if (key !== undefined) {
        let forPage = expandedPages.get(page);
        if (forPage === undefined) expandedPages.set(page, (forPage = new Map<string, ListResult>()));
        if (forPage.size >= MAX_KEPT_QUERIES) forPage.clear();
        forPage.set(key, Object.freeze(result));
      }
      return result;
    },

    /**
     * A page of `collection` (a definition that need not be saved: the access
     * preview passes proposed rules) as `principal` would list it for
     * `purpose`, through the same scope and query as `list`; null when the
     * rules let them read nothing.
     */
    async listAs(principal: Principal | null, collection: Collection, purpose: ReadPurpose, input: Pick<ListInput, 'limit' | 'sort'>): Promise<ListResult | null> {
      const scope = readScope(collection, principal, purpose);
      return scope === null ? null : listPage(collection.name, input, scope);
    },

    /** The record in stored form (`recordJson` answers with it unparsed). */
    async get(principal: Principal | null, name: string, id: string): Promise<StoredRecord> {
      const { scope } = await readableCollection(catalog, name, principal, 'view');
      return visibleRecord(scope, CLIENT_ID_RE.test(id) ? await store.records.readRecord(name, id) : null);
    },

    /** `get` with `?expand=` (non-empty): the record and its `expand` member. */
    async getExpanded(principal: Principal | null, name: string, id: string, expandText: string): Promise<ExpandedRecord> {
      const { collection, scope } = await readableCollection(catalog, name, principal, 'view');
      const plan = await expandFor(catalog, collection, expandPathsOfText(expandText), principal);
      const record = visibleRecord(scope, CLIENT_ID_RE.test(id) ? await store.records.readRecord(name, id) : null);
      const [json] = await expand(principal, plan, [record], opts.listPageChars);
      return { record, expand: json! };
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
      const rows = await writes.write(steps);
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


}

const NO_DATA = Object.freeze({}) as JsonObject;

/** The key of what `principal` gets from `plan` (see `expansionKey`). */
function callerExpansionKey(principal: Principal | null, plan: ExpandPlan): string {
  return expansionKey(plan, [...plan.uses.values()].map((c) => (c === null ? null : readScope(c, principal, 'view'))));
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

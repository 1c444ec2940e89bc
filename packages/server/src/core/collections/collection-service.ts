import type { ErrorDetail, SchemaCheckReport } from '@sigil/protocol';
import { requireAdmin, type Principal } from '../auth/principal.js';
import type { Clock } from '../clock.js';
import { AppError, isAppError } from '../errors.js';
import { newId } from '../ids.js';
import { readScope } from '../records/access.js';
import { parseRuleExpression } from '../records/rule-expression.js';
import { droppedRecord } from '../records/record.js';
import type { StoreTransaction, Store } from '../storage/store.js';
import type { CollectionCatalog } from './collection-catalog.js';
import {
  COLLECTION_NAME_RE,
  DEFAULT_RULES,
  RULE_NAMES,
  RULE_KEYWORDS,
  SYSTEM_FIELDS,
  type Collection,
  type CollectionRules,
  type JsonObject,
  type RuleName,
  type RuleExpression,
  type RuleValue,
} from './collection.js';
import { refsOf } from '../records/relation-integrity.js';
import { USERS, refTarget, relationIds, relationsOf, type Relation } from './relations.js';
import { escapePointer, type CompiledSchema, type SchemaCompiler } from './schema-compiler.js';

export const MAX_INDEXES = 16;
export const MAX_INDEX_FIELDS = 4;
/** Field paths as the filter language writes them: identifier segments joined by dots. */
export const INDEX_PATH_RE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
/** Records are checked this many at a time: a schema change never loads a whole collection. */
export const SCAN_BATCH = 500;
/** SPEC §4.2: the 409 lists the first 100 failing records, plus a total. */
export const MAX_REPORTED_FAILURES = 100;

export interface CollectionServiceOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly catalog: CollectionCatalog;
  readonly compiler: SchemaCompiler;
  /** Called after a change-log entry commits (deleting a collection writes one). */
  readonly onCommitted?: () => void;
}

/** The body of a create, or one file of `sigil apply`. Unknown until checked. */
export interface CollectionInput {
  readonly name?: unknown;
  readonly schema?: unknown;
  readonly rules?: unknown;
  readonly indexes?: unknown;
}

export type CollectionChange = Omit<CollectionInput, 'name'>;

export interface UpdateResult {
  /** The collection as it is now, or as it would be (dry run). */
  readonly collection: Collection;
  readonly outcome: 'updated' | 'unchanged';
  /** Empty (`total: 0`) unless the check failed, in which case `schema_conflict` is thrown instead. */
  readonly report: SchemaCheckReport;
}

export interface ApplyResult {
  readonly collection: Collection;
  readonly outcome: 'created' | 'updated' | 'unchanged';
}

export type CollectionService = ReturnType<typeof createCollectionService>;

const EMPTY_REPORT: SchemaCheckReport = Object.freeze({ total: 0, failures: [] });

/**
 * Collections: who may see and change them, input rules, and the schema-change
 * check (every record against the new schema, in the transaction that applies
 * it). The HTTP routes and `sigil apply` both go through here.
 */
export function createCollectionService(opts: CollectionServiceOptions) {
  const { store, clock, catalog, compiler } = opts;
  const iso = (): string => new Date(clock.now()).toISOString();

  async function find(name: string): Promise<Collection> {
    const collection = COLLECTION_NAME_RE.test(name) ? await store.collections.findCollection(name) : null;
    if (!collection) throw new AppError('not_found', `No collection "${name}".`);
    return collection;
  }

  /** `declared`: collections a dry run of `sigil apply` would create before this one, so relations may name them. */
  async function create(input: CollectionInput, dryRun: boolean, declared?: ReadonlySet<string>): Promise<Collection> {
    const problems: ErrorDetail[] = [];
    const name = parseName(input.name, problems);
    const rules = parseRules(input.rules, problems);
    const indexes = parseIndexes(input.indexes, problems);
    checkSchema(input.schema, problems)?.release();
    if (name === USERS) problems.push({ path: '/name', message: `"${USERS}" is reserved: relations name the built-in users so` });
    if (problems.length > 0) throw new AppError('validation_failed', 'The collection is invalid.', { details: problems });
    const now = iso();
    const collection: Collection = { id: newId(clock.now()), name, schema: input.schema as JsonObject, rules, indexes, schemaVersion: 1, createdAt: now, updatedAt: now };
    /** Its relations' targets exist (400), its name is free (409). */
    const assertCreatable = async (reader: Pick<StoreTransaction, 'collections'>): Promise<void> => {
      const missing: ErrorDetail[] = [];
      await checkTargets(name, collection.schema, missing, declared, reader);
      if (missing.length > 0) throw new AppError('validation_failed', 'The collection is invalid.', { details: missing });
      if (await reader.collections.findCollection(name)) throw new AppError('conflict', `Collection "${name}" already exists.`);
    };
    if (dryRun) {
      await assertCreatable(store);
      return collection;
    }
    // Checked with the insert in one (serializable) transaction: a target deleted meanwhile fails one of the two.
    await store.transaction(async (tx) => {
      await assertCreatable(tx);
      await tx.collections.insertCollection(collection);
    });
    catalog.invalidate(name);
    return collection;
  }

  async function update(name: string, change: CollectionChange, dryRun: boolean, declared?: ReadonlySet<string>): Promise<UpdateResult> {
    const current = await find(name);
    const problems: ErrorDetail[] = [];
    const rules = change.rules === undefined ? undefined : parseRules(change.rules, problems);
    const indexes = change.indexes === undefined ? undefined : parseIndexes(change.indexes, problems);
    const compiled = change.schema === undefined ? undefined : checkSchema(change.schema, problems);
    try {
      // A dry run checks the targets here; a change, in its transaction (below).
      if (dryRun && problems.length === 0 && change.schema !== undefined) await checkTargets(name, change.schema as JsonObject, problems, declared);
      if (problems.length > 0) throw new AppError('validation_failed', 'The change is invalid.', { details: problems });
      const schema = change.schema as JsonObject | undefined;
      /** The collection after the change, or null when it would change nothing. */
      const next = (base: Collection): Collection | null => {
        const schemaChanged = schema !== undefined && canonical(schema) !== canonical(base.schema);
        const merged = { schema: schemaChanged ? schema : base.schema, rules: rules ?? base.rules, indexes: indexes ?? base.indexes };
        if (!schemaChanged && canonical(merged.rules) === canonical(base.rules) && canonical(merged.indexes) === canonical(base.indexes)) return null;
        return { ...base, ...merged, schemaVersion: base.schemaVersion + (schemaChanged ? 1 : 0), updatedAt: iso() };
      };
      const schemaChanges = (base: Collection, after: Collection): boolean => after.schemaVersion !== base.schemaVersion;

      const proposed = next(current);
      if (!proposed) return { collection: current, outcome: 'unchanged', report: EMPTY_REPORT };
      if (dryRun) {
        // No lock: a dry run must not stall writers. It is a forecast; the real change checks again under the lock.
        if (compiled && schemaChanges(current, proposed)) assertFits(name, await scan(store, proposed, compiled, newRelations(current, proposed)), true);
        return { collection: proposed, outcome: 'updated', report: EMPTY_REPORT };
      }
      const saved = await store.transaction(async (tx) => {
        // Lock first, then re-read: the check must see every record and the latest definition.
        await tx.collections.lockCollection(name);
        const fresh = await tx.collections.findCollection(name);
        if (!fresh) throw new AppError('not_found', `No collection "${name}".`);
        const after = next(fresh);
        if (!after) return { collection: fresh, changed: false };
        if (schema !== undefined) {
          const missing: ErrorDetail[] = [];
          await checkTargets(name, after.schema, missing, undefined, tx);
          if (missing.length > 0) throw new AppError('validation_failed', 'The change is invalid.', { details: missing });
        }
        if (compiled && schemaChanges(fresh, after)) assertFits(name, await scan(tx, after, compiled, newRelations(fresh, after)), false);
        if (!(await tx.collections.updateCollection(after))) throw new AppError('not_found', `No collection "${name}".`);
        if (canonical(relationsOf(fresh)) !== canonical(relationsOf(after))) await reindexRelations(tx, after);
        return { collection: after, changed: true };
      });
      catalog.invalidate(name);
      return { collection: saved.collection, outcome: saved.changed ? 'updated' : 'unchanged', report: EMPTY_REPORT };
    } finally {
      compiled?.release();
    }
  }

  /** Each relation's target must be a collection (this one included) or the users. */
  async function checkTargets(name: string, schema: JsonObject, problems: ErrorDetail[], declared?: ReadonlySet<string>, reader: Pick<StoreTransaction, 'collections'> = store): Promise<void> {
    for (const relation of relationsOf(schema)) {
      if (relation.collection === name || relation.collection === USERS || declared?.has(relation.collection)) continue;
      if ((await reader.collections.findCollection(relation.collection)) === null) {
        problems.push({ path: `/schema/properties/${escapePointer(relation.field)}/x-relation/collection`, message: `names no collection ("${relation.collection}")` });
      }
    }
  }

  function checkSchema(schema: unknown, problems: ErrorDetail[]): CompiledSchema | undefined {
    if (schema === undefined) {
      problems.push({ path: '/schema', message: 'is required' });
      return undefined;
    }
    try {
      return compiler.check(schema);
    } catch (err) {
      if (isAppError(err) && err.code === 'validation_failed') problems.push(...(err.details ?? []));
      else throw err;
      return undefined;
    }
  }

  return {
    /** Admins see every collection; others those with records they may read (SPEC §4.5). */
    async list(principal: Principal | null): Promise<Collection[]> {
      const all = await store.collections.listCollections();
      return all.filter((c) => canSee(c, principal));
    },

    /** A collection the caller cannot see is 404, like one that does not exist: names are not revealed. */
    async get(principal: Principal | null, name: string): Promise<Collection> {
      const collection = await find(name);
      if (!canSee(collection, principal)) throw new AppError('not_found', `No collection "${name}".`);
      return collection;
    },

    async create(principal: Principal | null, input: CollectionInput): Promise<Collection> {
      requireAdmin(principal, 'change collections');
      return create(input, false);
    },

    async update(principal: Principal | null, name: string, change: CollectionChange, options: { readonly dryRun?: boolean } = {}): Promise<UpdateResult> {
      requireAdmin(principal, 'change collections');
      return update(name, change, options.dryRun === true);
    },

    async remove(principal: Principal | null, name: string): Promise<void> {
      requireAdmin(principal, 'change collections');
      await find(name);
      // The `drop` entry ends the collection's history in the log, in the same
      // transaction: subscribers on every instance learn of it in order.
      await store.transaction(async (tx) => {
        const referencing = (await tx.collections.listCollections()).filter((c) => c.name !== name && relationsOf(c).some((r) => r.collection === name));
        if (referencing.length > 0) {
          const names = referencing.map((c) => `"${c.name}"`).join(', ');
          throw new AppError('conflict', `Collection "${name}" is the target of relations in ${names}; remove those relations (or collections) first.`);
        }
        const stamp = await tx.collections.findSchemaStamp(name);
        if (stamp === null || !(await tx.collections.deleteCollection(name))) throw new AppError('not_found', `No collection "${name}".`);
        await tx.relations.dropRefs(name);
        const at = new Date(clock.now()).toISOString();
        await tx.changes.appendChange({ collection: name, collectionId: stamp.id, recordId: '', op: 'drop', record: droppedRecord(at), previous: null, createdAt: at, txEnd: true });
      });
      catalog.invalidate(name);
      compiler.forget(name);
      opts.onCommitted?.();
    },

    /**
     * Creates or updates from a declaration (`sigil apply`): the file is the
     * whole truth, so omitted `rules` mean the defaults and omitted `indexes`
     * none. Trusted callers only: there is no principal.
     */
    async apply(input: unknown, options: { readonly dryRun?: boolean; readonly declared?: ReadonlySet<string> } = {}): Promise<ApplyResult> {
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        throw new AppError('validation_failed', 'A collection file must hold a JSON object {name, schema, rules?, indexes?}.');
      }
      const unknown = Object.keys(input).filter((k) => !['name', 'schema', 'rules', 'indexes'].includes(k));
      if (unknown.length > 0) {
        throw new AppError('validation_failed', `Unknown field "${unknown[0]!}".`, { details: unknown.map((k) => ({ path: `/${escapePointer(k)}`, message: 'is not allowed' })) });
      }
      const definition = input as CollectionInput;
      const dryRun = options.dryRun === true;
      const exists = typeof definition.name === 'string' && COLLECTION_NAME_RE.test(definition.name) && (await store.collections.findCollection(definition.name)) !== null;
      if (!exists) return { collection: await create(definition, dryRun, options.declared), outcome: 'created' };
      const change = { schema: definition.schema ?? null, rules: definition.rules ?? {}, indexes: definition.indexes ?? [] };
      const result = await update(definition.name, change, dryRun, options.declared);
      return { collection: result.collection, outcome: result.outcome };
    },
  };
}


/** Anyone who may read some of a collection's records may see its definition; to others it does not exist. */
function canSee(collection: Collection, principal: Principal | null): boolean {
  return readScope(collection, principal, 'view') !== null;
}

/**
 * Validates every record against `compiled`, and checks that the ids in the
 * fields of `relations` (those the change adds or retargets) name existing
 * records, a batch at a time; keeps the first failures and counts all.
 */
async function scan(reader: Pick<StoreTransaction, 'records' | 'relations'>, collection: Collection, compiled: CompiledSchema, relations: readonly Relation[]): Promise<SchemaCheckReport> {
  let total = 0;
  const failures: { id: string; errors: ErrorDetail[] }[] = [];
  let after: string | undefined;
  for (;;) {
    const rows = await reader.records.scanRecords(collection.name, after, SCAN_BATCH);
    const found = new Map<Relation, Set<string>>();
    for (const relation of relations) {
      const ids = [...new Set(rows.flatMap((row) => relationIds(relation, row.data)))];
      found.set(relation, await reader.relations.lockTargets(refTarget(relation.collection), ids));
    }
    for (const row of rows) {
      const errors = compiled.validate(row.data);
      for (const relation of errors.length === 0 ? relations : []) {
        for (const id of relationIds(relation, row.data)) {
          if (!found.get(relation)!.has(id)) errors.push({ path: `/${escapePointer(relation.field)}`, message: `names "${id}", which is not a record of "${relation.collection}"` });
        }
      }
      if (errors.length === 0) continue;
      total += 1;
      if (failures.length < MAX_REPORTED_FAILURES) failures.push({ id: row.id, errors });
    }
    if (rows.length < SCAN_BATCH) return { total, failures };
    after = rows[rows.length - 1]!.id;
  }
}

/** The relations of `after` whose values are not known to resolve: new ones, and those pointed at another collection. */
function newRelations(before: Collection, after: Collection): Relation[] {
  const old = relationsOf(before);
  return relationsOf(after).filter((r) => !old.some((o) => o.field === r.field && o.collection === r.collection));
}

/** Rebuilds the collection's `record_refs` after its relations changed (in the transaction that changes them, under its lock). */
async function reindexRelations(tx: StoreTransaction, collection: Collection): Promise<void> {
  await tx.relations.dropRefs(collection.name);
  if (relationsOf(collection).length === 0) return;
  let after: string | undefined;
  for (;;) {
    const rows = await tx.records.scanRecords(collection.name, after, SCAN_BATCH);
    for (const row of rows) await tx.relations.replaceRefs(collection.name, row.id, refsOf(collection, row.id, row.data));
    if (rows.length < SCAN_BATCH) return;
    after = rows[rows.length - 1]!.id;
  }
}

/** Throws `schema_conflict` carrying the report when any record fails. */
function assertFits(name: string, report: SchemaCheckReport, dryRun: boolean): void {
  if (report.total === 0) return;
  const what = report.total === 1 ? '1 existing record does' : `${report.total} existing records do`;
  const shown = report.total > report.failures.length ? ` (the first ${report.failures.length} are listed)` : '';
  // `details` repeats the report as JSON Pointers for clients that only know the generic error shape.
  const details = report.failures.flatMap((f) => f.errors.map((e) => ({ path: `/records/${escapePointer(f.id)}${e.path}`, message: e.message })));
  throw new AppError('schema_conflict', `${what} not match the new schema of "${name}"${shown}; ${dryRun ? 'dry run, ' : ''}nothing was changed.`, { details, report });
}

function parseName(value: unknown, problems: ErrorDetail[]): string {
  if (typeof value !== 'string' || !COLLECTION_NAME_RE.test(value)) {
    problems.push({ path: '/name', message: 'must be 1–63 characters of a-z, 0-9 and _, starting with a letter' });
    return '';
  }
  return value;
}

function parseRules(value: unknown, problems: ErrorDetail[]): CollectionRules {
  if (value === undefined) return DEFAULT_RULES;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push({ path: '/rules', message: 'must be an object of rules' });
    return DEFAULT_RULES;
  }
  const given = value as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(RULE_NAMES as readonly string[]).includes(key)) problems.push({ path: `/rules/${escapePointer(key)}`, message: `is not a rule; rules are ${RULE_NAMES.join(', ')}` });
  }
  const rules: Partial<Record<RuleName, RuleValue>> = {};
  for (const name of RULE_NAMES) {
    const rule = Object.hasOwn(given, name) ? given[name] : DEFAULT_RULES[name];
    if (typeof rule === 'string' && (RULE_KEYWORDS as readonly string[]).includes(rule)) {
      rules[name] = rule as RuleValue;
    } else if (typeof rule === 'object' && rule !== null && !Array.isArray(rule)) {
      try {
        parseRuleExpression(rule as RuleExpression, `/rules/${name}`);
        rules[name] = rule as RuleExpression;
      } catch (error) {
        if (!isAppError(error)) throw error;
        problems.push(...(error.details ?? [{ path: `/rules/${name}`, message: error.message }]));
      }
    } else {
      problems.push({ path: `/rules/${name}`, message: `must be one of ${RULE_KEYWORDS.map((v) => `"${v}"`).join(', ')}, or a rule expression (a filter object)` });
    }
  }
  return rules as CollectionRules;
}

function parseIndexes(value: unknown, problems: ErrorDetail[]): string[][] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_INDEXES) {
    problems.push({ path: '/indexes', message: `must be an array of at most ${MAX_INDEXES} indexes` });
    return [];
  }
  const seen = new Set<string>();
  const indexes: string[][] = [];
  value.forEach((index: unknown, i) => {
    const at = `/indexes/${i}`;
    if (!Array.isArray(index) || index.length === 0 || index.length > MAX_INDEX_FIELDS) {
      problems.push({ path: at, message: `must be an array of 1–${MAX_INDEX_FIELDS} field paths` });
      return;
    }
    const fields: string[] = [];
    index.forEach((field: unknown, j) => {
      const problem = indexFieldProblem(field, fields);
      if (problem) problems.push({ path: `${at}/${j}`, message: problem });
      else fields.push(field as string);
    });
    const key = JSON.stringify(fields);
    if (fields.length === index.length && seen.has(key)) problems.push({ path: at, message: 'repeats an earlier index' });
    seen.add(key);
    indexes.push(fields);
  });
  return indexes;
}

function indexFieldProblem(field: unknown, earlier: readonly string[]): string | null {
  if (typeof field !== 'string' || field.length > 256 || !INDEX_PATH_RE.test(field)) return 'must be a field path like "title" or "address.city"';
  const head = field.split('.')[0]!;
  if (field !== head && (SYSTEM_FIELDS as readonly string[]).includes(head)) return `"${head}" is a system field and has no nested fields`;
  if (earlier.includes(field)) return 'repeats a field of this index';
  return null;
}

/** JSON with sorted keys: two schemas that differ only in key order are the same schema. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

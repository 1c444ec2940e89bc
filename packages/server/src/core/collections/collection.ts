/** Who may perform an operation on a collection's records, by keyword. Admins always may. */
export type RuleKeyword = 'public' | 'authenticated' | 'owner' | 'admin';
/**
 * A rule as a filter of the records query language (docs/filters.md), in
 * which the strings "@auth.id", "@auth.username" and "@auth.role" stand for
 * the caller: the operation is allowed on the records it matches
 * (core/records/rule-expression.ts).
 */
export type RuleExpression = JsonObject;
export type RuleValue = RuleKeyword | RuleExpression;
export type RuleName = 'list' | 'view' | 'create' | 'update' | 'delete';
export type CollectionRules = Readonly<Record<RuleName, RuleValue>>;

export const RULE_NAMES: readonly RuleName[] = ['list', 'view', 'create', 'update', 'delete'];
export const RULE_KEYWORDS: readonly RuleKeyword[] = ['public', 'authenticated', 'owner', 'admin'];

/** SPEC §4.2 defaults. */
export const DEFAULT_RULES: CollectionRules = Object.freeze({
  list: 'authenticated',
  view: 'authenticated',
  create: 'authenticated',
  update: 'owner',
  delete: 'owner',
});

/** What deleting a referenced record does to the records that reference it (SPEC §4.6, core/collections/relations.ts). */
export type OnDelete = 'restrict' | 'cascade' | 'setNull';
export const ON_DELETE: readonly OnDelete[] = ['restrict', 'cascade', 'setNull'];
/** Answers carry expanded relations under this member, so no field may be named so. */
export const EXPAND_MEMBER = 'expand';

/** Fields the server owns on every record; a schema may not declare them. */
export const SYSTEM_FIELDS = ['id', 'createdAt', 'updatedAt', 'owner', 'version'] as const;
export type SystemField = (typeof SYSTEM_FIELDS)[number];

export const COLLECTION_NAME_RE = /^[a-z][a-z0-9_]{0,62}$/;

/** A JSON value as parsed from a request body. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * A collection as stored. `indexes` is a list of indexes, each a list of
 * dotted field paths (`["done", "priority"]`, `["address.city"]`); system
 * fields may appear (`"createdAt"`). `schemaVersion` starts at 1 and grows by
 * one on every schema change, so a write validated against an older schema
 * can be detected inside its transaction.
 */
export interface Collection {
  /**
   * This collection's identity, made at creation. A collection deleted and
   * created again under the same name gets another one; change-log entries
   * carry it, so the new one never replays the old one's history.
   */
  readonly id: string;
  readonly name: string;
  readonly schema: JsonObject;
  readonly rules: CollectionRules;
  readonly indexes: readonly (readonly string[])[];
  readonly schemaVersion: number;
  /** ISO 8601 UTC. */
  readonly createdAt: string;
  readonly updatedAt: string;
}

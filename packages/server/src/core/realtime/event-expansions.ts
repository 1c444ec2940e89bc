/**
 * `expand` on realtime events (SPEC §4.6, docs/realtime.md): the related
 * records of a `create` or `update` event, computed from the database when
 * the event is delivered and authorized for the subscriber's identity at
 * that moment. Subscribers whose expansion would be the same (the same plan,
 * and the same view scopes of the collections it reaches) share it: one
 * read per path for a whole batch of events, not one per subscriber or per
 * event.
 */
import type { Principal } from '../auth/principal.js';
import type { CollectionCatalog } from '../collections/collection-catalog.js';
import type { Collection } from '../collections/collection.js';
import { isAppError } from '../errors.js';
import { readScope, type ReadScope } from '../records/access.js';
import { expansionKey, type ExpandPlan } from '../records/expand.js';
import { expandRecords, ExpansionTooLarge, type ExpandLimits, type ExpansionReader } from '../records/expansion.js';
import type { ChangeRow } from '../records/record.js';
import { operationFor } from './change-messages.js';
import type { RealtimeConnection, Subscription } from './realtime-connection.js';

/** The most one event's expansion may show; past it the event goes out without it, marked `expandTooLarge`. */
export const EVENT_EXPAND_LIMITS: ExpandLimits = Object.freeze({ records: 1000, chars: 1024 * 1024 });
/** The most one shared read (several events at once) may load; past it the events are expanded in smaller groups. */
const BATCH_EXPAND_LIMITS: ExpandLimits = Object.freeze({ records: 5000, chars: 4 * 1024 * 1024 });

/** A subscriber to expand events for. */
export interface ExpandTarget {
  readonly conn: RealtimeConnection;
  readonly sub: Subscription;
}

/** An event's expansion for one group of subscribers: the `expand` JSON text, or null when it was too large. */
export type EventExpansion = string | null;

export interface EventExpansionsOptions {
  readonly reader: Pick<ExpansionReader, 'records' | 'relations'>;
  readonly catalog: CollectionCatalog;
}

export type EventExpansions = ReturnType<typeof createEventExpansions>;

export function createEventExpansions(opts: EventExpansionsOptions) {
  /** Per change, its expansion by group key. Kept as long as the change is (a batch, a held event). */
  const done = new WeakMap<ChangeRow, Map<string, EventExpansion>>();
  /** Per subscription, its group key as of the last check (read by `expansionFor` right after it). */
  const keys = new WeakMap<Subscription, string>();

  async function collectionOrNull(name: string): Promise<Collection | null> {
    try {
      return await opts.catalog.get(name);
    } catch (err) {
      if (isAppError(err) && err.code === 'not_found') return null;
      throw err;
    }
  }

  /** The collections the plans reach, as the catalog has them now (rules may have changed since subscribing). */
  async function currentCollections(targets: readonly ExpandTarget[]): Promise<Map<string, Collection | null>> {
    const current = new Map<string, Collection | null>();
    for (const { sub } of targets) {
      for (const name of [sub.collection, ...sub.expand!.uses.keys()]) if (!current.has(name)) current.set(name, await collectionOrNull(name));
    }
    return current;
  }

  function scopesOf(plan: ExpandPlan, principal: Principal | null, current: Map<string, Collection | null>): Map<string, ReadScope | null> {
    const scopes = new Map<string, ReadScope | null>();
    for (const name of plan.uses.keys()) {
      const c = current.get(name) ?? null;
      scopes.set(name, c === null ? null : readScope(c, principal, 'view'));
    }
    return scopes;
  }

  /** Whether the subscriber would get `change` as an event that carries an expansion (create or update). */
  function wants(conn: RealtimeConnection, sub: Subscription, change: ChangeRow, current: Map<string, Collection | null>): boolean {
    if (change.collectionId !== sub.collectionId || (change.op !== 'create' && change.op !== 'update')) return false;
    const collection = current.get(sub.collection) ?? null;
    const scope = collection === null ? null : readScope(collection, conn.expired ? null : conn.principal, 'list');
    if (scope === null) return false;
    const op = operationFor(sub, scope, change);
    return op === 'create' || op === 'update';
  }

  /** Expands `changes` (all of one collection) for one group, in shared reads, splitting the group when a read would be too large. */
  async function expandGroup(plan: ExpandPlan, scopes: Map<string, ReadScope | null>, key: string, changes: readonly ChangeRow[]): Promise<void> {
    const reader: ExpansionReader = { ...opts.reader, scopeOf: (name) => scopes.get(name) ?? null };
    const store = (change: ChangeRow, value: EventExpansion): void => {
      let byKey = done.get(change);
      if (byKey === undefined) done.set(change, (byKey = new Map<string, EventExpansion>()));
      byKey.set(key, value);
    };
    const run = async (part: readonly ChangeRow[]): Promise<void> => {
      const limits = part.length === 1 ? EVENT_EXPAND_LIMITS : BATCH_EXPAND_LIMITS;
      try {
        const expanded = await expandRecords(reader, plan, part.map((c) => c.record), limits);
        part.forEach((change, i) => {
          const e = expanded[i]!;
          store(change, e.records > EVENT_EXPAND_LIMITS.records || e.json.length > EVENT_EXPAND_LIMITS.chars ? null : e.json);
        });
      } catch (err) {
        if (!(err instanceof ExpansionTooLarge)) throw err;
        if (part.length === 1) {
          store(part[0]!, null);
          return;
        }
        const half = Math.ceil(part.length / 2);
        await run(part.slice(0, half));
        await run(part.slice(half));
      }
    };
    await run(changes);
  }

  return {
    /**
     * Makes sure every target has the expansion of each of `changes` it
     * would receive, for its identity as it is now, then runs `deliver` in
     * the same tick as the last check: nothing (an `auth` changing an
     * identity) can come between, so `expansionFor` inside `deliver` always
     * finds what it needs.
     */
    async prepare(changes: readonly ChangeRow[], targets: readonly ExpandTarget[], deliver: () => void): Promise<void> {
      const expanding = targets.filter((t) => t.sub.expand !== undefined && !t.conn.closed);
      if (expanding.length === 0 || changes.length === 0) {
        deliver();
        return;
      }
      for (;;) {
        const current = await currentCollections(expanding);
        const groups = new Map<string, { plan: ExpandPlan; scopes: Map<string, ReadScope | null>; changes: Set<ChangeRow> }>();
        for (const { conn, sub } of expanding) {
          const plan = sub.expand!;
          const scopes = scopesOf(plan, conn.expired ? null : conn.principal, current);
          const key = expansionKey(plan, scopes.values());
          keys.set(sub, key);
          for (const change of changes) {
            if (done.get(change)?.has(key) === true || !wants(conn, sub, change, current)) continue;
            let group = groups.get(key);
            if (group === undefined) groups.set(key, (group = { plan, scopes, changes: new Set() }));
            group.changes.add(change);
          }
        }
        if (groups.size === 0) {
          deliver();
          return;
        }
        for (const [key, group] of groups) await expandGroup(group.plan, group.scopes, key, [...group.changes]);
      }
    },

    /**
     * The expansion `sub` gets on `change` (prepared by `prepare`): its JSON
     * text, null when too large, undefined when the subscription asked for
     * none (or, defensively, when none was prepared: the event then goes
     * out without one rather than with another identity's).
     */
    expansionFor(sub: Subscription, change: ChangeRow): EventExpansion | undefined {
      if (sub.expand === undefined) return undefined;
      const key = keys.get(sub);
      return key === undefined ? undefined : done.get(change)?.get(key);
    },
  };
}

/**
 * Loads what an `ExpandPlan` names for a set of records, and writes each
 * record's `expand` member as JSON text. One query per relation path for
 * the whole set (a page, a record, a batch of realtime events), never one
 * per record; every related record is shown only if the reader's view scope
 * of its collection admits it (SPEC §4.6), and users only as {id, username}.
 */
import type { JsonObject } from '../collections/collection.js';
import { refTarget, relationIds, USERS, type Relation } from '../collections/relations.js';
import { AppError } from '../errors.js';
import type { ReadBound, RelationRepository, RecordRepository } from '../storage/store.js';
import { inScope, type ReadScope } from './access.js';
import { BACK_RELATION_LIMIT, type ExpandNode, type ExpandPlan } from './expand.js';
import { parseStoredRecord, type StoredRecord } from './record.js';
import { recordJson, withExpand } from './record-dto.js';

/** A record to expand from: its id and user fields. */
export interface ExpandSource {
  readonly id: string;
  readonly data: JsonObject;
}

export interface ExpansionReader {
  readonly records: Pick<RecordRepository, 'readRecords'>;
  readonly relations: Pick<RelationRepository, 'findUserNames' | 'findReferringRecords'>;
  /** The reader's `view` scope of a collection (null: none of its records). */
  readonly scopeOf: (collection: string) => ReadScope | null;
}

/** The most an expansion may load and answer: related records (each time one appears), and characters of their JSON. */
export interface ExpandLimits {
  readonly records: number;
  readonly chars: number;
}

/** Thrown when an expansion would pass its `ExpandLimits`: nothing of it is answered. */
export class ExpansionTooLarge extends AppError {
  constructor(limits: ExpandLimits) {
    const mib = Math.round((limits.chars / 1024 / 1024) * 10) / 10;
    const message = `expand would answer more than ${limits.records} related records or ${mib} MiB of their JSON; expand fewer paths, or ask for fewer records (limit).`;
    super('bad_request', message, { details: [{ path: '/expand', message }] });
    this.name = 'ExpansionTooLarge';
  }
}

/** One related record as it appears in an answer: its JSON (with its own `expand`), and how many records that is. */
interface Item {
  readonly json: string;
  readonly count: number;
}

/** For each parent record, the `expand` members of one level: member name → JSON value and records in it. */
type Members = Map<string, { json: string; count: number }>;

/**
 * The `expand` member's JSON text for each of `records` (of `plan.collection`),
 * in their order. Throws `ExpansionTooLarge` beyond `limits`; the reads stop
 * there too (`ReadBound`), so nothing past about one record over is ever held.
 */
export async function expandRecords(reader: ExpansionReader, plan: ExpandPlan, records: readonly ExpandSource[], limits: ExpandLimits): Promise<Expanded[]> {
  const read = { rows: 0, chars: 0 };
  const members = await expandLevel(reader, plan.collection.name, plan.nodes, records, limits, read);
  let count = 0;
  let chars = 0;
  const out = members.map((m) => {
    const json = membersJson(m);
    let records = 0;
    for (const member of m.values()) records += member.count;
    count += records;
    chars += json.length;
    return { json, records };
  });
  if (count > limits.records || chars > limits.chars) throw new ExpansionTooLarge(limits);
  return out;
}

/** One record's `expand` member: its JSON text, and how many related records it shows. */
export interface Expanded {
  readonly json: string;
  readonly records: number;
}

function membersJson(members: Members): string {
  let json = '{';
  for (const [name, member] of members) json += `${json === '{' ? '' : ','}${JSON.stringify(name)}:${member.json}`;
  return `${json}}`;
}

async function expandLevel(
  reader: ExpansionReader,
  collection: string,
  nodes: readonly ExpandNode[],
  parents: readonly ExpandSource[],
  limits: ExpandLimits,
  read: { rows: number; chars: number },
): Promise<Members[]> {
  const out: Members[] = parents.map((): Members => new Map());
  for (const node of nodes) {
    if (node.kind === 'back') await backRelation(reader, collection, node, parents, limits, read, out);
    else await forwardRelation(reader, node, parents, limits, read, out);
  }
  return out;
}

/** What a read may still load, and the accounting after it (beyond the limits: `ExpansionTooLarge`). */
function boundOf(limits: ExpandLimits, read: { rows: number; chars: number }): ReadBound {
  return { rows: limits.records - read.rows, chars: limits.chars - read.chars };
}
function account(limits: ExpandLimits, read: { rows: number; chars: number }, rows: readonly StoredRecord[]): void {
  read.rows += rows.length;
  for (const r of rows) read.chars += r.dataJson.length;
  if (read.rows > limits.records || read.chars >= limits.chars) throw new ExpansionTooLarge(limits);
}

async function forwardRelation(reader: ExpansionReader, node: ExpandNode, parents: readonly ExpandSource[], limits: ExpandLimits, read: { rows: number; chars: number }, out: Members[]): Promise<void> {
  const relation: Relation = { field: node.field, collection: node.collection, onDelete: 'restrict', many: node.kind === 'many' };
  const idsOf = parents.map((p) => relationIds(relation, p.data));
  const wanted = [...new Set(idsOf.flat())];
  const items = new Map<string, Item>();
  if (wanted.length > 0) {
    if (node.collection === USERS) {
      if (wanted.length > limits.records) throw new ExpansionTooLarge(limits);
      // Users expand to their id and username, and nothing else, ever.
      for (const u of await reader.relations.findUserNames(wanted)) items.set(u.id, { json: JSON.stringify({ id: u.id, username: u.username }), count: 1 });
    } else {
      const scope = reader.scopeOf(node.collection);
      if (scope !== null) {
        const rows = await reader.records.readRecords(node.collection, wanted, boundOf(limits, read));
        account(limits, read, rows);
        await itemsOf(reader, node, rows.filter((r) => inScope(scope, r)), limits, read, items);
      }
    }
  }
  idsOf.forEach((ids, i) => {
    if (node.kind === 'one') {
      const item = ids[0] === undefined ? undefined : items.get(ids[0]);
      // A missing or hidden record leaves the member out.
      if (item !== undefined) out[i]!.set(node.name, item);
      return;
    }
    out[i]!.set(node.name, arrayOf(ids.map((id) => items.get(id)).filter((x) => x !== undefined)));
  });
}

async function backRelation(reader: ExpansionReader, collection: string, node: ExpandNode, parents: readonly ExpandSource[], limits: ExpandLimits, read: { rows: number; chars: number }, out: Members[]): Promise<void> {
  const scope = reader.scopeOf(node.collection);
  const byParent = new Map<string, StoredRecord[]>();
  if (scope !== null && parents.length > 0) {
    const ids = [...new Set(parents.map((p) => p.id))];
    // The scope is applied in SQL: hidden records neither appear nor count toward the 100.
    const found = await reader.relations.findReferringRecords(node.collection, node.field, refTarget(collection), ids, scope.filter, BACK_RELATION_LIMIT, boundOf(limits, read));
    account(limits, read, found.map((f) => f.record));
    const distinct = new Map<string, StoredRecord>();
    for (const { parent, record } of found) {
      distinct.set(record.id, record);
      let list = byParent.get(parent);
      if (list === undefined) byParent.set(parent, (list = []));
      list.push(record);
    }
    const items = new Map<string, Item>();
    await itemsOf(reader, node, [...distinct.values()], limits, read, items);
    parents.forEach((p, i) => out[i]!.set(node.name, arrayOf((byParent.get(p.id) ?? []).map((r) => items.get(r.id)!))));
    return;
  }
  for (const m of out) m.set(node.name, arrayOf([]));
}

/** The JSON of each of `rows` (of `node.collection`), with its own expand when `node` has children. */
async function itemsOf(reader: ExpansionReader, node: ExpandNode, rows: readonly StoredRecord[], limits: ExpandLimits, read: { rows: number; chars: number }, items: Map<string, Item>): Promise<void> {
  if (node.children.length === 0) {
    for (const r of rows) items.set(r.id, { json: recordJson(r), count: 1 });
    return;
  }
  const sources = rows.map((r) => ({ id: r.id, data: parseStoredRecord(r).data }));
  const nested = await expandLevel(reader, node.collection, node.children, sources, limits, read);
  rows.forEach((r, i) => {
    const members = nested[i]!;
    let count = 1;
    for (const m of members.values()) count += m.count;
    items.set(r.id, { json: withExpand(recordJson(r), membersJson(members)), count });
  });
}

function arrayOf(items: readonly Item[]): { json: string; count: number } {
  let json = '[';
  let count = 0;
  for (const item of items) {
    json += `${json === '[' ? '' : ','}${item.json}`;
    count += item.count;
  }
  return { json: `${json}]`, count };
}

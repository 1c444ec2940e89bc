/**
 * `expand` (SPEC §4.6): which related records an answer carries. One parser
 * for `?expand=author,post.author,comments_via_post` on HTTP and
 * `"expand": ["author", "post.author"]` on `subscribe`; what it yields is
 * loaded by `expansion.ts`.
 */
import type { Principal } from '../auth/principal.js';
import type { CollectionCatalog } from '../collections/collection-catalog.js';
import type { Collection } from '../collections/collection.js';
import { relationsOf, USERS } from '../collections/relations.js';
import { AppError, isAppError } from '../errors.js';
import { readScope, type ReadScope } from './access.js';

/** Paths one expand may name, relations one path may follow, and the characters of the whole text. */
export const MAX_EXPAND_PATHS = 10;
export const MAX_EXPAND_DEPTH = 3;
export const MAX_EXPAND_LENGTH = 1024;
/** Records a back-relation yields per parent record (the newest). */
export const BACK_RELATION_LIMIT = 100;

const VIA = '_via_';

/**
 * One relation to follow from the records of its parent (the collection
 * expanded, or the records of the node above). `one` and `many` are the
 * parent's own relation field `field` (a string, or an array of ids), whose
 * records are of `collection` (a collection name, or `users`); `back` is a
 * back-relation: the records of `collection` whose relation field `field`
 * references the parent.
 */
export interface ExpandNode {
  readonly kind: 'one' | 'many' | 'back';
  /** The member of `expand` it fills: the field, or `<collection>_via_<field>`. */
  readonly name: string;
  readonly field: string;
  readonly collection: string;
  /** The dotted path from the top down to this node, for error messages. */
  readonly path: string;
  readonly children: readonly ExpandNode[];
}

/** A parsed expand for one collection. Independent of the caller: `checkExpandFor` applies the caller's view rules. */
export interface ExpandPlan {
  readonly collection: Collection;
  /** The normalized text (paths joined with commas), for keys. */
  readonly text: string;
  readonly nodes: readonly ExpandNode[];
  /** The collections it was resolved against (null: no such collection): valid while the catalog still hands out the same. */
  readonly uses: ReadonlyMap<string, Collection | null>;
}

const bad = (message: string, path = '/expand'): AppError => new AppError('bad_request', message, { details: [{ path, message }] });

/**
 * The one refusal of a path segment that names nothing the caller may follow:
 * a relation that does not exist, a back-relation through a collection that
 * does not exist or that the caller may not read, or any relation of a
 * collection the caller may not read. The same words for all, so a hidden
 * collection's name or schema is never revealed (SPEC §4.5).
 */
function unknownPath(path: string, where: string): AppError {
  return bad(`expand: "${path}" names no relation to expand.`, where);
}

/** The paths of `?expand=` (comma-separated), checked for shape only. */
export function expandPathsOfText(text: string): string[] {
  if (text.length > MAX_EXPAND_LENGTH) throw bad(`expand may be at most ${MAX_EXPAND_LENGTH} characters.`);
  return text.split(',').map((p) => p.trim());
}

/** The paths of a `subscribe` message's `expand` (an array of path strings), checked for shape only. */
export function expandPathsOfList(value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((p): p is string => typeof p === 'string')) {
    throw bad('"expand" must be an array of relation paths, e.g. ["author", "post.author"].');
  }
  if (value.length > MAX_EXPAND_PATHS) throw bad(`expand may name at most ${MAX_EXPAND_PATHS} paths.`);
  if (value.reduce((n, p) => n + p.length + 1, 0) > MAX_EXPAND_LENGTH + 1) throw bad(`expand may be at most ${MAX_EXPAND_LENGTH} characters.`);
  for (const p of value) if (p.includes(',')) throw bad(`expand: "${p}" is one path; name each path as its own string.`);
  return value.map((p) => p.trim());
}

type Cache = Map<string, ExpandPlan>;
const plans = new WeakMap<Collection, Cache>();
/** Distinct expand texts kept parsed per collection object (beyond it the map starts over). */
const MAX_KEPT_PLANS = 256;

/**
 * The plan for `paths` on `collection`, parsed once per collection object
 * and text while the collections it names stay the same objects in the
 * catalog. Throws `bad_request` naming the path that is wrong. The caller's
 * view rules are not applied here: see `checkExpandFor`.
 */
export async function expandPlan(catalog: CollectionCatalog, collection: Collection, paths: readonly string[]): Promise<ExpandPlan> {
  const text = paths.join(',');
  let cache = plans.get(collection);
  const known = cache?.get(text);
  if (known !== undefined && (await stillCurrent(catalog, known))) return known;
  const plan = await resolvePlan(catalog, collection, paths, text);
  if (cache === undefined) {
    cache = new Map();
    plans.set(collection, cache);
  }
  if (cache.size >= MAX_KEPT_PLANS) cache.clear();
  cache.set(text, plan);
  return plan;
}

async function stillCurrent(catalog: CollectionCatalog, plan: ExpandPlan): Promise<boolean> {
  for (const [name, used] of plan.uses) if ((await collectionOrNull(catalog, name)) !== used) return false;
  return true;
}

async function collectionOrNull(catalog: CollectionCatalog, name: string): Promise<Collection | null> {
  try {
    return await catalog.get(name);
  } catch (err) {
    if (isAppError(err) && err.code === 'not_found') return null;
    throw err;
  }
}

interface MutableNode {
  kind: ExpandNode['kind'];
  name: string;
  field: string;
  collection: string;
  path: string;
  children: MutableNode[];
}

async function resolvePlan(catalog: CollectionCatalog, root: Collection, paths: readonly string[], text: string): Promise<ExpandPlan> {
  const distinct = [...new Set(paths)];
  if (distinct.length > MAX_EXPAND_PATHS) throw bad(`expand may name at most ${MAX_EXPAND_PATHS} paths.`);
  const uses = new Map<string, Collection | null>();
  const use = async (name: string): Promise<Collection | null> => {
    if (!uses.has(name)) uses.set(name, await collectionOrNull(catalog, name));
    return uses.get(name)!;
  };
  const top: MutableNode[] = [];
  for (const path of distinct) {
    if (path === '') throw bad('expand: a path is empty (look for a stray comma).');
    const segments = path.split('.');
    if (segments.length > MAX_EXPAND_DEPTH) throw bad(`expand: "${path}" follows more than ${MAX_EXPAND_DEPTH} relations.`);
    let level = top;
    // The records the next segment starts from: a collection, the users, or none (a relation to a collection that is gone).
    let from: Collection | typeof USERS | null = root;
    for (const [i, segment] of segments.entries()) {
      const prefix = segments.slice(0, i + 1).join('.');
      if (from === USERS) throw bad(`expand: "${prefix}" goes past a user; users expand to {id, username} only.`);
      if (from === null) throw unknownPath(prefix, '/expand');
      const node: Omit<MutableNode, 'children'> | null = resolveSegment(from, segment, prefix) ?? (await resolveBack(from, segment, prefix, use));
      if (node === null) throw unknownPath(prefix, '/expand');
      let existing = level.find((n) => n.name === node.name);
      if (existing === undefined) {
        existing = { ...node, children: [] };
        level.push(existing);
      }
      level = existing.children;
      from = node.collection === USERS && node.kind !== 'back' ? USERS : await use(node.collection);
    }
  }
  return Object.freeze({ collection: root, text, nodes: freeze(top), uses });
}

function resolveSegment(from: Collection, segment: string, path: string): Omit<MutableNode, 'children'> | null {
  const relation = relationsOf(from).find((r) => r.field === segment);
  return relation === undefined ? null : { kind: relation.many ? 'many' : 'one', name: segment, field: segment, collection: relation.collection, path };
}

/** `<collection>_via_<field>`: the first split at a `_via_` that names a relation of that collection to `from`. */
async function resolveBack(from: Collection, segment: string, path: string, use: (name: string) => Promise<Collection | null>): Promise<Omit<MutableNode, 'children'> | null> {
  for (let at = segment.indexOf(VIA); at > 0; at = segment.indexOf(VIA, at + 1)) {
    const source = await use(segment.slice(0, at));
    const field = segment.slice(at + VIA.length);
    if (source === null) continue;
    const relation = relationsOf(source).find((r) => r.field === field && r.collection === from.name);
    if (relation !== undefined) return { kind: 'back', name: segment, field, collection: source.name, path };
  }
  return null;
}

function freeze(nodes: MutableNode[]): readonly ExpandNode[] {
  return Object.freeze(nodes.map((n) => Object.freeze({ ...n, children: freeze(n.children) })));
}

/**
 * Refuses what `principal` may not follow, exactly as a path that does not
 * exist (see `unknownPath`): a back-relation through a collection they may
 * not read, and any relation of such a collection. A relation to a
 * collection they may not read is a valid path: it just never yields a record.
 */
export function checkExpandFor(plan: ExpandPlan, principal: Principal | null): void {
  const readable = (name: string): boolean => {
    const c = plan.uses.get(name);
    return c !== undefined && c !== null && readScope(c, principal, 'view') !== null;
  };
  const walk = (nodes: readonly ExpandNode[], parent: string | null): void => {
    for (const node of nodes) {
      if ((parent !== null && !readable(parent)) || (node.kind === 'back' && !readable(node.collection))) throw unknownPath(node.path, '/expand');
      walk(node.children, node.collection);
    }
  };
  walk(plan.nodes, null);
}

/** The plan for `paths` on `collection`, checked for `principal`: what every reader calls. */
export async function expandFor(catalog: CollectionCatalog, collection: Collection, paths: readonly string[], principal: Principal | null): Promise<ExpandPlan> {
  const plan = await expandPlan(catalog, collection, paths);
  checkExpandFor(plan, principal);
  return plan;
}

const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;
function idOf(o: object): number {
  let id = objectIds.get(o);
  if (id === undefined) objectIds.set(o, (id = nextObjectId++));
  return id;
}

/**
 * Names the expansion a caller gets from `plan`: the plan and the caller's
 * view scope of each collection it reaches, in `plan.uses` order (scopes are
 * the same objects for the same caller and rule, see access.ts). Callers
 * with equal keys get equal expansions, so they may share one.
 */
export function expansionKey(plan: ExpandPlan, scopes: Iterable<ReadScope | null>): string {
  let key = String(idOf(plan));
  for (const scope of scopes) key += `,${scope === null ? 0 : idOf(scope)}`;
  return key;
}

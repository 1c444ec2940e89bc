/**
 * The types a schema plugs into. A `Schema` maps collection names to
 * `{ record, create, update, expand }` (what `sigil typegen` will emit for
 * the client; see docs/client.md): `record` the user fields as the server
 * returns them, `create` a POST body, `update` a merge patch, `expand` the
 * relations `expand` can add.
 *
 * @example
 * ```ts
 * interface Schema {
 *   tasks: { record: { title: string; done: boolean }; create: { title: string; done?: boolean }; update: { title?: string; done?: boolean }; expand: {} };
 * }
 * const client = createClient<Schema>({ url });
 * const open = await client.collection('tasks').list({ filter: { done: false } });
 * ```
 */
export interface CollectionTypes {
  readonly record: object;
  readonly create: object;
  readonly update: object;
  readonly expand: object;
}

/** What a collection without generated types looks like. */
export interface UntypedCollection {
  readonly record: Record<string, unknown>;
  readonly create: Record<string, unknown>;
  readonly update: Record<string, unknown>;
  readonly expand: Record<string, unknown>;
}

/** The schema of a client created without one: any collection, any fields. */
export type AnySchema = Record<string, UntypedCollection>;

/** The types of collection `N` of `S`, or the untyped shape when `S` does not describe it. */
export type TypesOf<S, N extends string> = N extends keyof S ? (S[N] extends CollectionTypes ? S[N] : UntypedCollection) : UntypedCollection;

/** The fields the server sets on every record. */
export interface SystemFields {
  readonly id: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly owner: string | null;
  readonly version: number;
}

/** A record as the server returns it. */
export type RecordOf<C extends CollectionTypes> = SystemFields & C['record'] & { readonly expand?: Partial<C['expand']> };

type Scalar = string | number | boolean | null;
type Prev = [never, 0, 1, 2, 3];
type Defined<V> = Exclude<V, undefined>;

/** Field paths of `T`: its keys, and dotted paths into nested objects (not arrays), three levels deep. */
export type FieldPath<T, Depth extends number = 3> = [Depth] extends [never]
  ? never
  : {
      [K in keyof T & string]: Defined<T[K]> extends readonly unknown[]
        ? K
        : Defined<T[K]> extends object
          ? K | `${K}.${FieldPath<Defined<T[K]>, Prev[Depth]>}`
          : K;
    }[keyof T & string];

/** The type of the value at `P` in `T`. */
export type PathValue<T, P extends string> = P extends `${infer K}.${infer Rest}`
  ? K extends keyof T
    ? PathValue<Defined<T[K]>, Rest> | (undefined extends T[K] ? undefined : never)
    : never
  : P extends keyof T
    ? T[P]
    : never;

type Widen<U> = U extends number ? number : U extends string ? string : never;
type EqOperand<V> = Extract<Defined<V>, Scalar> | null;
type ContainsOperand<V> = Defined<V> extends infer U ? (U extends readonly (infer E)[] ? Extract<E, Scalar> : U extends string ? string : never) : never;

/** The operators on a field whose values have type `V`; an operator that cannot apply takes `never`. */
export interface FieldOperators<V> {
  readonly $eq?: EqOperand<V>;
  readonly $ne?: EqOperand<V>;
  readonly $gt?: Widen<Defined<V>>;
  readonly $gte?: Widen<Defined<V>>;
  readonly $lt?: Widen<Defined<V>>;
  readonly $lte?: Widen<Defined<V>>;
  readonly $in?: readonly EqOperand<V>[];
  readonly $nin?: readonly EqOperand<V>[];
  readonly $exists?: boolean;
  readonly $contains?: ContainsOperand<V>;
  readonly $startsWith?: Extract<Defined<V>, string> extends never ? never : string;
}

/** A condition on one field: a scalar (equality) or operators. */
export type FieldCondition<V> = EqOperand<V> | FieldOperators<V>;

/** A filter whose shape nothing is known of (untyped collections). */
export interface LooseFilter {
  readonly [key: string]: unknown;
}

/**
 * A filter (docs/filters.md) checked against the record type `R`: field
 * names (dotted for nested objects) and operand types. Untyped records take
 * any filter, which the server checks.
 *
 * @example
 * ```ts
 * const f: Filter<{ title: string; priority: number }> = { priority: { $gte: 2 }, $or: [{ title: { $startsWith: 'Re:' } }] };
 * ```
 */
export type Filter<R> = string extends keyof R
  ? LooseFilter
  : { readonly [P in FieldPath<Fields<R>>]?: FieldCondition<PathValue<Fields<R>, P>> } & {
      readonly $and?: readonly Filter<R>[];
      readonly $or?: readonly Filter<R>[];
      readonly $not?: Filter<R>;
    };

/** One sort key: a field path, `-` in front for descending. */
export type SortKey<R> = string extends keyof R ? string : FieldPath<Fields<R>> | `-${FieldPath<Fields<R>>}`;

/** A record's fields as filters and sorts see them (the `expand` member is no field). */
type Fields<R> = Omit<R, 'expand'>;

/** A sort: one key, or several in order (`['-priority', 'title']`); untyped records also take the wire form `'-priority,title'`. */
export type Sort<R> = SortKey<R> | readonly SortKey<R>[];

/** Relation names `expand` may ask for (back-relations and nested paths are strings too). */
export type ExpandPath<C extends CollectionTypes> = (keyof C['expand'] & string) | (string & {});

/** A list query. */
export interface ListQuery<C extends CollectionTypes> {
  readonly filter?: Filter<RecordOf<C>>;
  readonly sort?: Sort<RecordOf<C>>;
  /** 1–200; the server's default is 50. */
  readonly limit?: number;
  /** The `nextCursor` of the previous page. */
  readonly after?: string;
  readonly expand?: readonly ExpandPath<C>[];
}

/** One page of a list. */
export interface RecordPage<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
  /** The change-log position the page reflects; subscribe with `since: seq`. */
  readonly seq: number;
}

/** `If-Match`: a record's version (as a number or as the ETag the server sent). */
export type IfMatch = number | string;

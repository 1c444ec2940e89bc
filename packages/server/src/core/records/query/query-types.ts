/**
 * The parsed, validated form of the records query language (SPEC §4.3).
 * Produced by `parseFilter` / `parseSort` / `decodeRecordCursor` from
 * untrusted input; consumed by the JavaScript evaluator and by each adapter's
 * SQL compiler. Nothing in here is ever interpolated into SQL except field
 * paths, which the parser restricts to identifier segments. The value
 * semantics (type-strict equality, null = missing, the cross-type sort
 * order) are defined once, in `order.ts`; `docs/filters.md` is the user's view.
 */

export type SystemFieldName = 'id' | 'owner' | 'version' | 'createdAt' | 'updatedAt';

/** A field a condition or sort key refers to: a system column, or a path into the user data. */
export type FieldRef =
  | { readonly kind: 'system'; readonly name: SystemFieldName }
  | { readonly kind: 'data'; readonly path: readonly string[] };

export type Scalar = string | number | boolean | null;

export type FilterNode =
  | { readonly op: 'and' | 'or'; readonly children: readonly FilterNode[] }
  | { readonly op: 'not'; readonly child: FilterNode }
  | { readonly op: 'eq' | 'ne'; readonly field: FieldRef; readonly value: Scalar }
  | { readonly op: 'gt' | 'gte' | 'lt' | 'lte'; readonly field: FieldRef; readonly value: string | number }
  | { readonly op: 'in' | 'nin'; readonly field: FieldRef; readonly values: readonly Scalar[] }
  | { readonly op: 'exists'; readonly field: FieldRef; readonly value: boolean }
  | { readonly op: 'contains'; readonly field: FieldRef; readonly value: Scalar }
  | { readonly op: 'startsWith'; readonly field: FieldRef; readonly value: string };

export interface SortKey {
  readonly field: FieldRef;
  readonly direction: 'asc' | 'desc';
}

/**
 * Where the previous page ended: one normalized sort value per sort key (the
 * last key is always `id`, so positions are unique). Values are `SortValue`s
 * (`order.ts`): missing becomes null, a container an empty one of its kind.
 * Opaque to clients.
 */
export type CursorPosition = readonly unknown[];

/** A list query after parsing; the adapter compiles it for its dialect. */
export interface RecordQuery {
  /** null: every record. */
  readonly filter: FilterNode | null;
  /** Never empty; always ends with `id` (ascending or descending), which makes the order total. */
  readonly sort: readonly SortKey[];
  readonly after: CursorPosition | null;
  /** 1–200, plus one if the caller wants to know whether more follow. */
  readonly limit: number;
  /**
   * The page's budget in characters of the records' user-field JSON: the
   * store stops after the record that passes it (and says `truncated` when
   * more would have followed), so no page holds more than about this much.
   * Unset: no budget (internal scans).
   */
  readonly maxChars?: number;
}

import type { ChangeEvent } from './realtime.js';

/**
 * A live query's local result: the records in list order, and whether the
 * server may hold more matching records beyond a limited window.
 */
export class LiveWindow<T extends { readonly id: string }> {
  private items: T[] = [];
  private readonly byId = new Map<string, T>();
  hasMore = false;
  seq = 0;

  constructor(
    private readonly compare: (a: T, b: T) => number,
    /** null: every matching record; else the first `limit` of them. */
    readonly limit: number | null,
  ) {}

  /** Replaces the content with a list the server returned at `seq`. */
  reset(items: readonly T[], hasMore: boolean, seq: number): void {
    this.items = [...items];
    this.byId.clear();
    for (const item of items) this.byId.set(item.id, item);
    this.hasMore = hasMore;
    this.seq = seq;
  }

  get records(): readonly T[] {
    return this.items;
  }

  /**
   * Applies one transaction in order. Returns true when the window lost
   * records it cannot replace by itself (a limited window with more on the
   * server): then it must be refilled from the server.
   */
  apply(changes: readonly ChangeEvent<T>[]): boolean {
    for (const change of changes) {
      if (change.seq <= this.seq) continue;
      this.seq = change.seq;
      const record = change.record;
      const old = this.byId.get(record.id);
      if (old !== undefined) {
        this.items.splice(this.indexOf(old), 1);
        this.byId.delete(record.id);
      }
      if (change.op === 'create' || change.op === 'update') {
        const at = this.insertionPoint(record);
        // In a limited window with more beyond it, a record after the last one is not in the window.
        if (this.limit === null || !this.hasMore || at < this.items.length) {
          this.items.splice(at, 0, record);
          this.byId.set(record.id, record);
        }
        if (this.limit !== null && this.items.length > this.limit) {
          this.byId.delete(this.items.pop()!.id);
          this.hasMore = true;
        }
      }
    }
    return this.limit !== null && this.hasMore && this.items.length < this.limit;
  }

  /** The index of a record that is in the window (binary search: the order is total, ending with id). */
  private indexOf(record: T): number {
    const at = this.insertionPoint(record);
    if (this.items[at]?.id === record.id) return at;
    return this.items.findIndex((item) => item.id === record.id); // only if the order was not total
  }

  /** The first index whose record sorts at or after `record`. */
  private insertionPoint(record: T): number {
    let low = 0;
    let high = this.items.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.compare(this.items[mid]!, record) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

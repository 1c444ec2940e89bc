import { sendAuthed, type ClientContext } from './collection.js';
import type { AnySchema, IfMatch, RecordOf, TypesOf } from './types.js';

type Operation =
  | { op: 'create'; collection: string; record: object }
  | { op: 'update'; collection: string; id: string; patch: object; ifMatch?: string }
  | { op: 'replace'; collection: string; id: string; record: object; ifMatch?: string }
  | { op: 'delete'; collection: string; id: string; ifMatch?: string };

/** One operation's result: the record for creates, updates and replaces; none for deletes. */
export type BatchResult = { readonly status: 201 | 200; readonly record: RecordOf<TypesOf<AnySchema, string>> } | { readonly status: 204 };

function quoted(ifMatch: IfMatch | undefined): { ifMatch?: string } {
  return ifMatch === undefined ? {} : { ifMatch: typeof ifMatch === 'number' ? `"${ifMatch}"` : ifMatch };
}

/**
 * Up to 100 writes in one transaction (`POST /api/batch`): all commit or
 * none does; a failure rejects with the failing operation's SigilError
 * (`details[0].index` is its position). Realtime delivers the changes as one
 * transaction.
 *
 * @example
 * ```ts
 * const [order] = await client.batch()
 *   .create('orders', { id: 'o1', total: 3 })
 *   .update('orders', 'o0', { status: 'paid' }, { ifMatch: 2 })
 *   .delete('lines', 'l0')
 *   .send();
 * ```
 */
export class Batch<S extends object> {
  private readonly operations: Operation[] = [];

  constructor(private readonly context: ClientContext) {}

  get size(): number {
    return this.operations.length;
  }

  create<N extends keyof S & string>(collection: N, record: TypesOf<S, N>['create'] & { readonly id?: string }): this {
    this.operations.push({ op: 'create', collection, record });
    return this;
  }

  update<N extends keyof S & string>(collection: N, id: string, patch: TypesOf<S, N>['update'], options: { ifMatch?: IfMatch } = {}): this {
    this.operations.push({ op: 'update', collection, id, patch, ...quoted(options.ifMatch) });
    return this;
  }

  replace<N extends keyof S & string>(collection: N, id: string, record: TypesOf<S, N>['create'], options: { ifMatch?: IfMatch } = {}): this {
    this.operations.push({ op: 'replace', collection, id, record, ...quoted(options.ifMatch) });
    return this;
  }

  delete(collection: keyof S & string, id: string, options: { ifMatch?: IfMatch } = {}): this {
    this.operations.push({ op: 'delete', collection, id, ...quoted(options.ifMatch) });
    return this;
  }

  /** Sends the operations; resolves with one result per operation, in order. */
  async send(): Promise<readonly BatchResult[]> {
    const body = { operations: this.operations };
    return ((await sendAuthed(this.context, { method: 'POST', path: '/api/batch', body })) as { results: BatchResult[] }).results;
  }
}

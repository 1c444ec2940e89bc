import type { Auth } from './auth.js';
import type { Http, HttpRequest } from './http.js';
import { startLiveQuery, type LiveQuery, type LiveSnapshot } from './live-query.js';
import type { ChangeEvent, Realtime, RealtimeSubscription } from './realtime.js';
import { sortParam } from './sort.js';
import type { SigilError } from './errors.js';
import type { CollectionTypes, ExpandPath, Filter, IfMatch, ListQuery, RecordOf, RecordPage } from './types.js';

/** What the collection and batch objects share: the HTTP client, the session, the socket. */
export interface ClientContext {
  readonly http: Http;
  readonly auth: Auth;
  readonly realtime: Realtime;
}

/** Handlers of `subscribe`: `onResync` is required, so that a gap is never silent. */
export interface CollectionSubscriptionHandlers<T> {
  onChanges(changes: readonly ChangeEvent<T>[]): void;
  onResync(): void;
  onError?(error: SigilError): void;
}

/** One HTTP request with the session's access token (refreshed and retried once on `token_expired`); resolves with the answer's body. */
export async function sendAuthed(context: ClientContext, request: HttpRequest): Promise<unknown> {
  return (await context.auth.authed((token) => context.http.send(request, token))).body;
}

export function ifMatchHeader(ifMatch: IfMatch | undefined): Record<string, string> {
  if (ifMatch === undefined) return {};
  return { 'if-match': typeof ifMatch === 'number' ? `"${ifMatch}"` : ifMatch };
}

/**
 * One collection's records: `client.collection('tasks')`.
 *
 * @example
 * ```ts
 * const tasks = client.collection('tasks');
 * const task = await tasks.create({ title: 'Write the docs' });
 * await tasks.update(task.id, { done: true }, { ifMatch: task.version });
 * const stop = tasks.live({ filter: { done: false }, sort: '-createdAt', limit: 20 }, ({ items }) => render(items));
 * ```
 */
export class Collection<C extends CollectionTypes> {
  private readonly base: string;

  constructor(
    private readonly context: ClientContext,
    readonly name: string,
  ) {
    this.base = `/api/collections/${encodeURIComponent(name)}/records`;
  }

  /** One page: `{ items, nextCursor, seq }`. */
  async list(query: ListQuery<C> = {}): Promise<RecordPage<RecordOf<C>>> {
    return (await this.request({ method: 'GET', path: this.base, query: listParams(query) })) as RecordPage<RecordOf<C>>;
  }

  /**
   * Every page, one after the other (keyset pages: no duplicates or skips while others write).
   *
   * @example
   * ```ts
   * for await (const page of tasks.pages({ sort: 'createdAt' })) for (const task of page.items) console.log(task.title);
   * ```
   */
  async *pages(query: Omit<ListQuery<C>, 'after'> = {}): AsyncGenerator<RecordPage<RecordOf<C>>, void, undefined> {
    let after: string | undefined;
    do {
      const page = await this.list({ ...query, ...(after === undefined ? {} : { after }) });
      yield page;
      after = page.nextCursor ?? undefined;
    } while (after !== undefined);
  }

  async get(id: string, options: { expand?: readonly ExpandPath<C>[] } = {}): Promise<RecordOf<C>> {
    return (await this.request({ method: 'GET', path: this.path(id), query: { expand: expandParam(options.expand) } })) as RecordOf<C>;
  }

  async create(record: C['create'] & { readonly id?: string }): Promise<RecordOf<C>> {
    return (await this.request({ method: 'POST', path: this.base, body: record })) as RecordOf<C>;
  }

  /** A JSON Merge Patch (RFC 7396): fields to change, `null` to remove one. */
  async update(id: string, patch: C['update'], options: { ifMatch?: IfMatch } = {}): Promise<RecordOf<C>> {
    return (await this.request({ method: 'PATCH', path: this.path(id), body: patch, contentType: 'application/merge-patch+json', headers: ifMatchHeader(options.ifMatch) })) as RecordOf<C>;
  }

  /** Replaces every user field. */
  async replace(id: string, record: C['create'], options: { ifMatch?: IfMatch } = {}): Promise<RecordOf<C>> {
    return (await this.request({ method: 'PUT', path: this.path(id), body: record, headers: ifMatchHeader(options.ifMatch) })) as RecordOf<C>;
  }

  async delete(id: string, options: { ifMatch?: IfMatch } = {}): Promise<void> {
    await this.request({ method: 'DELETE', path: this.path(id), headers: ifMatchHeader(options.ifMatch) });
  }

  /**
   * Every change to matching records, one transaction at a time, in seq
   * order, each once, across reconnects (resumed from the last delivered
   * seq). Pass `since` (a list's `seq`) to start from a list.
   */
  subscribe(
    options: { filter?: Filter<RecordOf<C>>; since?: number; expand?: readonly ExpandPath<C>[] },
    handlers: CollectionSubscriptionHandlers<RecordOf<C>>,
  ): RealtimeSubscription {
    return this.context.realtime.subscribe(
      { collection: this.name, ...(options.filter ? { filter: options.filter } : {}), ...(options.since === undefined ? {} : { since: options.since }), ...(options.expand ? { expand: options.expand } : {}) },
      handlers,
    );
  }

  /**
   * A live query: the list, kept up to date. `onChange` gets every result,
   * each exactly what a list at its `seq` returns. Without `limit`, every
   * matching record; with it, the first `limit` (refilled from the server
   * when one leaves).
   */
  live(
    query: Omit<ListQuery<C>, 'after'>,
    onChange: (snapshot: LiveSnapshot<RecordOf<C>>) => void,
    onError?: (error: SigilError) => void,
  ): LiveQuery<RecordOf<C>> {
    return startLiveQuery<RecordOf<C>>(
      {
        collection: this.name,
        ...(query.filter ? { filter: query.filter } : {}),
        ...(query.sort === undefined ? {} : { sort: query.sort }),
        ...(query.limit === undefined ? {} : { limit: query.limit }),
        ...(query.expand ? { expand: query.expand } : {}),
        list: (limit, after) => this.list({ ...query, limit, ...(after === undefined ? {} : { after }) }),
        realtime: this.context.realtime,
      },
      onChange,
      onError,
    );
  }

  private path(id: string): string {
    return `${this.base}/${encodeURIComponent(id)}`;
  }

  private request(request: HttpRequest): Promise<unknown> {
    return sendAuthed(this.context, request);
  }
}

function expandParam(expand: readonly string[] | undefined): string | undefined {
  return expand && expand.length > 0 ? expand.join(',') : undefined;
}

function listParams(query: { readonly filter?: object; readonly sort?: unknown; readonly limit?: number; readonly after?: string; readonly expand?: readonly string[] }): Record<string, string | undefined> {
  return {
    filter: query.filter && Object.keys(query.filter).length > 0 ? JSON.stringify(query.filter) : undefined,
    sort: sortParam(query.sort as string | readonly string[] | undefined),
    limit: query.limit === undefined ? undefined : String(query.limit),
    after: query.after,
    expand: expandParam(query.expand),
  };
}

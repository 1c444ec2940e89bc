import type { CollectionDto, CollectionRules, Page, Role, SchemaCheckReport, ServerStatus, UserDto } from '@sigil/protocol';
import { previewAccess, type AccessPreview, type AccessPreviewQuery } from './access-preview.js';
import { sendAuthed, type ClientContext } from './collection.js';
import type { HttpRequest } from './http.js';

/** A collection to create: `sigil apply`'s file shape (docs/collections.md). */
export interface CollectionInput {
  readonly name: string;
  readonly schema: { readonly [key: string]: unknown };
  readonly rules?: Partial<CollectionRules>;
  readonly indexes?: readonly (readonly string[])[];
}

/** A change of a collection: any of schema, rules, indexes. */
export type CollectionChange = Partial<Omit<CollectionInput, 'name'>>;

/** A dry run's answer: the collection as it would be, and the records the new schema would refuse (none, or a 409 `schema_conflict` is thrown). */
export interface CollectionDryRun {
  readonly collection: CollectionDto;
  readonly report: SchemaCheckReport;
}

async function send<T>(context: ClientContext, request: HttpRequest): Promise<T> {
  return (await sendAuthed(context, request)) as T;
}

const collectionPath = (name: string): string => `/api/collections/${encodeURIComponent(name)}`;

/**
 * Collection definitions: `client.collections`. Reading needs only a rule
 * that lets the caller read some record; every change needs an admin.
 * A schema change that existing records do not fit throws a SigilError
 * `schema_conflict` whose `report` lists them; `dryRun` checks without changing.
 */
export class Collections {
  constructor(private readonly context: ClientContext) {}

  async list(): Promise<readonly CollectionDto[]> {
    return (await send<{ items: CollectionDto[] }>(this.context, { method: 'GET', path: '/api/collections' })).items;
  }

  async get(name: string): Promise<CollectionDto> {
    return (await send<{ collection: CollectionDto }>(this.context, { method: 'GET', path: collectionPath(name) })).collection;
  }

  async create(input: CollectionInput): Promise<CollectionDto> {
    return (await send<{ collection: CollectionDto }>(this.context, { method: 'POST', path: '/api/collections', body: input })).collection;
  }

  update(name: string, change: CollectionChange, options: { dryRun: true }): Promise<CollectionDryRun>;
  update(name: string, change: CollectionChange, options?: { dryRun?: false }): Promise<CollectionDto>;
  async update(name: string, change: CollectionChange, options: { dryRun?: boolean } = {}): Promise<CollectionDto | CollectionDryRun> {
    const answer = await send<{ collection: CollectionDto; report?: SchemaCheckReport }>(this.context, {
      method: 'PUT',
      path: collectionPath(name),
      body: change,
      ...(options.dryRun ? { query: { dryRun: 'true' } } : {}),
    });
    return options.dryRun ? { collection: answer.collection, report: answer.report ?? { total: 0, failures: [] } } : answer.collection;
  }

  async delete(name: string): Promise<void> {
    await send(this.context, { method: 'DELETE', path: collectionPath(name) });
  }

  /** Which records `query.user` (null: anonymous) could list and view under `query.rules`, before they are saved (admins only). */
  async previewAccess(name: string, query: AccessPreviewQuery): Promise<AccessPreview> {
    return previewAccess(this.context, name, query);
  }
}

/** What an admin may change of a user (a user of themselves: email, password with `currentPassword`). */
export interface UserChange {
  readonly email?: string | null;
  readonly password?: string;
  readonly currentPassword?: string;
  readonly role?: Role;
  readonly disabled?: boolean;
}

const userPath = (username: string): string => `/api/users/${encodeURIComponent(username)}`;

/** Users: `client.users`. Listing and changing others is for admins; anyone may read and change themselves. */
export class Users {
  constructor(private readonly context: ClientContext) {}

  /** A keyset page of users, oldest first; pass `nextCursor` as `after`. `search`: username or email contains it. */
  async list(query: { readonly limit?: number; readonly after?: string; readonly search?: string } = {}): Promise<Page<UserDto>> {
    return send<Page<UserDto>>(this.context, {
      method: 'GET',
      path: '/api/users',
      query: { limit: query.limit === undefined ? undefined : String(query.limit), after: query.after, search: query.search || undefined },
    });
  }

  async get(username: string): Promise<UserDto> {
    return (await send<{ user: UserDto }>(this.context, { method: 'GET', path: userPath(username) })).user;
  }

  /** The last enabled admin can be neither demoted, disabled nor deleted: that is a 409 `conflict`. */
  async update(username: string, change: UserChange): Promise<UserDto> {
    return (await send<{ user: UserDto }>(this.context, { method: 'PATCH', path: userPath(username), body: change })).user;
  }

  async delete(username: string): Promise<void> {
    await send(this.context, { method: 'DELETE', path: userPath(username) });
  }

  /** Mails the user a new verification link for their pending or unverified address (admins only; 409 `conflict` when there is none). */
  async resendVerification(username: string): Promise<void> {
    await send(this.context, { method: 'POST', path: `${userPath(username)}/resend-verification` });
  }

  /** Admins only: turns the user's two-factor authentication off (a lost device). Their sessions stay. */
  async resetTwoFactor(username: string): Promise<void> {
    await send(this.context, { method: 'DELETE', path: `${userPath(username)}/2fa` });
  }
}

/** `GET /api/admin/status` (admins only): version, engine, uptime, realtime and change-log figures, record counts. */
export async function serverStatus(context: ClientContext): Promise<ServerStatus> {
  return send<ServerStatus>(context, { method: 'GET', path: '/api/admin/status' });
}

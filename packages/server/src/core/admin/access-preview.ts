import type { UserDto } from '@sigil/protocol';
import { requireAdmin, type Principal } from '../auth/principal.js';
import { toUserDto } from '../auth/user-fields.js';
import type { CollectionService } from '../collections/collection-service.js';
import { AppError } from '../errors.js';
import type { ReadPurpose } from '../records/access.js';
import { parseStoredRecord } from '../records/record.js';
import { toRecordDto, type RecordDto } from '../records/record-dto.js';
import type { RecordService } from '../records/record-service.js';
import type { Store } from '../storage/store.js';

export const PREVIEW_DEFAULT_LIMIT = 20;
export const PREVIEW_MAX_LIMIT = 100;

export interface AccessPreviewInput {
  readonly collection: string;
  /** The proposed rules, as a PUT would take them (merged over the defaults); absent: the saved ones. */
  readonly rules?: unknown;
  /** A username, or null for an anonymous caller. */
  readonly user: string | null;
  readonly limit?: number | undefined;
}

export interface AccessPreviewPart {
  /** Whether the rules let the caller read any record this way at all (false: the collection answers them 404). */
  readonly allowed: boolean;
  /** The first `limit` records they would get, in list order (createdAt, id). */
  readonly items: RecordDto[];
  readonly hasMore: boolean;
}

export interface AccessPreview {
  /** The user the preview is for (null: anonymous). */
  readonly user: UserDto | null;
  /** What their list (and subscription) would return: the `view` and `list` rules together. */
  readonly list: AccessPreviewPart;
  /** What they could read by id: the `view` rule alone. */
  readonly view: AccessPreviewPart;
}

export type AccessPreviewReader = (principal: Principal | null, input: AccessPreviewInput) => Promise<AccessPreview>;

/**
 * "Which records could this user read under these rules?" for rules not yet
 * saved: the rules are checked by the collection service's dry run (the same
 * 400s as a PUT), then read through the record service's list path with the
 * proposed definition. Nothing is stored.
 */
export function createAccessPreview(opts: { readonly store: Store; readonly collections: CollectionService; readonly records: RecordService }): AccessPreviewReader {
  const { store, collections, records } = opts;
  return async (principal, input) => {
    requireAdmin(principal, 'preview access');
    const limit = input.limit ?? PREVIEW_DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > PREVIEW_MAX_LIMIT) {
      throw new AppError('validation_failed', `limit must be an integer from 1 to ${PREVIEW_MAX_LIMIT}.`, { details: [{ path: '/limit', message: `must be 1–${PREVIEW_MAX_LIMIT}` }] });
    }
    const proposed =
      input.rules === undefined ? await collections.get(principal, input.collection) : (await collections.update(principal, input.collection, { rules: input.rules }, { dryRun: true })).collection;
    const row = input.user === null ? null : await store.users.findUserByUsername(input.user.toLowerCase());
    if (input.user !== null && row === null) throw new AppError('validation_failed', `No user "${input.user}".`, { details: [{ path: '/user', message: 'names no user' }] });
    const user = row === null ? null : toUserDto(row);
    // Read scopes look at the id, username and role only: the caller as a real request would carry them.
    const as: Principal | null = user === null ? null : { userId: user.id, username: user.username, role: user.role, sessionId: '', user, expiresAt: 0 };
    const part = async (purpose: ReadPurpose): Promise<AccessPreviewPart> => {
      const page = await records.listAs(as, proposed, purpose, { limit: String(limit) });
      if (page === null) return { allowed: false, items: [], hasMore: false };
      return { allowed: true, items: page.items.map((r) => toRecordDto(parseStoredRecord(r))), hasMore: page.nextCursor !== null };
    };
    return { user, list: await part('list'), view: await part('view') };
  };
}

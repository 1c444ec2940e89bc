import type { CollectionRules, UserDto } from '@sigil/protocol';
import { sendAuthed, type ClientContext } from './collection.js';

/** What `client.collections.previewAccess` asks: whose access, under which (unsaved) rules. */
export interface AccessPreviewQuery {
  /** The rules as they would be saved (merged over the defaults, as on update); absent: the saved ones. */
  readonly rules?: Partial<CollectionRules>;
  /** A username, or null for an anonymous caller. */
  readonly user: string | null;
  /** Records shown per part, 1–100 (default 20). */
  readonly limit?: number;
}

export interface AccessPreviewPart {
  /** false: the rules let this caller read nothing this way (the collection answers them 404). */
  readonly allowed: boolean;
  readonly items: readonly ({ readonly id: string; readonly owner: string | null } & Record<string, unknown>)[];
  readonly hasMore: boolean;
}

/** `POST /api/admin/access-preview`: what the user's list returns (`list`) and what they could read by id (`view`). */
export interface AccessPreview {
  readonly user: UserDto | null;
  readonly list: AccessPreviewPart;
  readonly view: AccessPreviewPart;
}

export async function previewAccess(context: ClientContext, collection: string, query: AccessPreviewQuery): Promise<AccessPreview> {
  const body = { collection, ...query };
  return (await sendAuthed(context, { method: 'POST', path: '/api/admin/access-preview', body })) as AccessPreview;
}

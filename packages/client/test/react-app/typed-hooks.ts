/**
 * Type tests of the React hooks (checked by `npm run typecheck`, never run):
 * items are the collection's record type, filters and sorts are checked.
 */
import { createClient } from '@sigil/client';
import { useAuth, useLiveQuery, type LiveQueryResult } from '@sigil/client/react';
import type { RecordOf } from '@sigil/client';
import type { Schema } from './schema.js';

export function typedHooks(): unknown[] {
  const client = createClient<Schema>({ url: 'http://127.0.0.1:1' });
  const result = useLiveQuery(client.collection('items'), { filter: { rank: { $gte: 2 } }, sort: ['-rank', 'title'], limit: 10 });
  const typed: LiveQueryResult<RecordOf<Schema['items']>> = result;
  const rank: number | undefined = typed.items[0]?.rank;
  const version: number | undefined = result.items[0]?.version;
  const status: 'loading' | 'ready' | 'error' = result.status;
  const seq: number | null = result.seq;
  type Item = (typeof result.items)[number];
  // @ts-expect-error: no such field
  const field: keyof Item = 'priority';
  // @ts-expect-error: rank is a number
  useLiveQuery(client.collection('items'), { filter: { rank: 'high' } });
  // @ts-expect-error: no such sort key
  useLiveQuery(client.collection('items'), { sort: 'priority' });
  // @ts-expect-error: a live query has no cursor
  useLiveQuery(client.collection('items'), { after: 'x' });
  // @ts-expect-error: deps is an array
  useLiveQuery(client.collection('items'), {}, { deps: 1 });
  const untyped = createClient({ url: 'http://127.0.0.1:1' });
  const loose: unknown = useLiveQuery(untyped.collection('anything'), { filter: { whatever: 1 } }).items[0]?.['whatever'];
  const { user, signedIn, session } = useAuth(client);
  const name: string | undefined = user?.username;
  const yes: boolean = signedIn;
  const token: string | undefined = session?.accessToken;
  // @ts-expect-error: useAuth takes the client
  useAuth(client.auth);
  return [field, rank, version, status, seq, loose, name, yes, token];
}

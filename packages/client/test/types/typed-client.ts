/**
 * Type tests of the client's public types, checked by `npm run typecheck`
 * (`tsc -p tsconfig.json --noEmit` covers packages/*\/test): every
 * `@ts-expect-error` line must be an error, or tsc fails ("unused
 * directive"), and every other line must compile. Never run, only checked.
 */
import { createClient, type Filter, type RecordOf, type Sort } from '../../src/index.js';

interface Schema {
  tasks: {
    record: { title: string; done: boolean; priority: number; status: 'open' | 'closed'; tags: string[]; meta?: { owner: { name: string }; score: number } };
    create: { title: string; done?: boolean; priority?: number; status?: 'open' | 'closed'; tags?: string[] };
    update: { title?: string; done?: boolean; priority?: number | null; status?: 'open' | 'closed'; tags?: string[] | null };
    expand: { author: { id: string; username: string } };
  };
}
type Task = RecordOf<Schema['tasks']>;

export async function typed(): Promise<unknown[]> {
  const client = createClient<Schema>({ url: 'http://127.0.0.1:8090' });
  const tasks = client.collection('tasks');

  // Filters: field names and operand types.
  const ok: Filter<Task> = {
    done: false,
    priority: { $gte: 2, $lt: 5 },
    status: { $in: ['open'] },
    tags: { $contains: 'urgent' },
    title: { $startsWith: 'Re: ' },
    'meta.owner.name': 'ada',
    'meta.score': { $gt: 1 },
    owner: null,
    createdAt: { $gte: '2026-01' },
    $or: [{ tags: { $contains: 'x' } }, { $not: { done: true } }],
  };
  // @ts-expect-error unknown field
  const unknownField: Filter<Task> = { titel: 'x' };
  // @ts-expect-error wrong operand type for equality
  const wrongEq: Filter<Task> = { done: 'no' };
  // @ts-expect-error a range on a boolean
  const rangeOnBoolean: Filter<Task> = { done: { $gt: true } };
  // @ts-expect-error a string range on a number
  const stringOnNumber: Filter<Task> = { priority: { $gte: 'high' } };
  // @ts-expect-error a literal the field cannot hold
  const badLiteral: Filter<Task> = { status: 'pending' };
  // @ts-expect-error $startsWith on a number
  const startsOnNumber: Filter<Task> = { priority: { $startsWith: '1' } };
  // @ts-expect-error $contains on an array takes an element
  const containsArray: Filter<Task> = { tags: { $contains: ['x'] } };
  // @ts-expect-error arrays cannot be equality operands
  const arrayEq: Filter<Task> = { tags: ['x'] };
  // @ts-expect-error unknown nested path
  const badPath: Filter<Task> = { 'meta.owner.nam': 'ada' };
  // @ts-expect-error inside $or too
  const badOr: Filter<Task> = { $or: [{ nope: 1 }] };
  // @ts-expect-error version is a number
  const badSystem: Filter<Task> = { version: '2' };

  // Sorts.
  const sorts: Sort<Task>[] = ['priority', '-createdAt', ['-priority', 'title'], 'meta.score'];
  // @ts-expect-error unknown sort field
  const badSort: Sort<Task> = '-prio';

  // The collection's methods take and return its types.
  await tasks.list({ filter: { done: false }, sort: ['-priority'], limit: 20, expand: ['author'] });
  // @ts-expect-error the list filter is typed
  await tasks.list({ filter: { dne: false } });
  const created = await tasks.create({ title: 'a' });
  const title: string = created.title;
  const version: number = created.version;
  const author: string | undefined = created.expand?.author?.username;
  // @ts-expect-error title is required on create
  await tasks.create({ done: true });
  await tasks.update(created.id, { priority: null }, { ifMatch: created.version });
  // @ts-expect-error the patch is typed
  await tasks.update(created.id, { priority: 'high' });
  const live = tasks.live({ filter: { status: 'open' }, sort: 'priority', limit: 10 }, ({ items }) => items.map((t) => t.title.toUpperCase()));
  live.close();
  await client.batch().create('tasks', { title: 'b' }).update('tasks', 'x', { done: true }).delete('tasks', 'y').send();
  // @ts-expect-error the batch is typed per collection
  client.batch().create('tasks', { nope: 1 });

  // Without a schema everything is loose: any collection, any filter.
  const loose = createClient({ url: 'http://127.0.0.1:8090' });
  await loose.collection('anything').list({ filter: { whatever: { $gt: 1 } }, sort: '-a,b' });
  return [ok, unknownField, wrongEq, rangeOnBoolean, stringOnNumber, badLiteral, startsOnNumber, containsArray, arrayEq, badPath, badOr, badSystem, sorts, badSort, title, version, author];
}

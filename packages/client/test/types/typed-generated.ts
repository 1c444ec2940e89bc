/**
 * The client typed by what `sigil typegen` emits (`generated-schema.ts`, kept
 * current by generated-types.test.ts), checked by `npm run typecheck`:
 * every `@ts-expect-error` line must be an error. Never run, only checked.
 */
import { createClient } from '../../src/index.js';
import type { SigilSchema } from './generated-schema.js';

export async function generated(): Promise<unknown[]> {
  const client = createClient<SigilSchema>({ url: 'http://127.0.0.1:8090' });
  const comments = client.collection('comments');

  // Relation fields are ids; expansions are typed with their targets' records.
  const page = await comments.list({ filter: { post: 'p1', tags: { $contains: 't1' } }, sort: '-createdAt', expand: ['post', 'tags', 'post.author'] });
  const first = page.items[0]!;
  const postId: string = first.post;
  const postTitle: string | undefined = first.expand?.post?.title;
  const tagNames: string[] | undefined = first.expand?.tags?.map((t) => t.name);
  const authorName: string | undefined = first.expand?.post?.expand?.author?.username;
  // @ts-expect-error users expand to id and username only
  const email: unknown = first.expand?.post?.expand?.author?.email;
  // @ts-expect-error a post's back-relation lives on posts, not on comments
  const wrongSide: unknown = first.expand?.comments_via_post;
  const post = await client.collection('posts').get('p1', { expand: ['comments_via_post', 'author'] });
  const texts: string[] | undefined = post.expand?.comments_via_post?.map((c) => c.text);

  // Create bodies need the required fields; merge patches make every field optional, null removes optional ones.
  await comments.create({ text: 'hi', post: 'p1' });
  // @ts-expect-error post is required
  await comments.create({ text: 'hi' });
  // @ts-expect-error no such field (additionalProperties: false)
  await comments.create({ text: 'hi', post: 'p1', extra: 1 });
  await comments.update('c1', { tags: null });
  await client.collection('posts').update('p1', { rating: null, published: true });
  // @ts-expect-error a required field cannot be removed
  await comments.update('c1', { post: null });
  // @ts-expect-error the patch is typed
  await client.collection('posts').update('p1', { rating: 'five' });
  // @ts-expect-error filters are typed by the generated fields
  await comments.list({ filter: { psot: 'p1' } });
  await client.batch().create('posts', { title: 't' }).create('comments', { text: 'x', post: 'p' }).send();
  return [postId, postTitle, tagNames, authorName, email, wrongSide, texts];
}

import { describe, expect, it } from 'vitest';
import { DEFAULT_RULES, type Collection, type JsonObject } from './collection.js';
import { generateTypes } from './typegen.js';

const collection = (name: string, properties: JsonObject): Collection => ({
  id: `c_${name}`, name, schema: { type: 'object', properties }, rules: DEFAULT_RULES, indexes: [], schemaVersion: 1, createdAt: '', updatedAt: '',
});

describe('typegen and relations', () => {
  const types = generateTypes([
    collection('posts', { title: { type: 'string' }, author: { type: 'string', 'x-relation': { collection: 'users' } } }),
    collection('comments', {
      post: { type: 'string', 'x-relation': { collection: 'posts' } },
      tags: { type: 'array', items: { type: 'string' }, 'x-relation': { collection: 'posts' } },
      gone: { type: 'string', 'x-relation': { collection: 'elsewhere' } },
    }),
  ]);

  it('documents relation fields and emits an Expand type per collection, back-relations included', () => {
    expect(types).toContain('/** The id of a "posts" record (x-relation); ?expand=post includes it. */\n  post?: string;');
    expect(types).toContain('/** Ids of "posts" records (x-relation); ?expand=tags includes them. */\n  tags?: string[];');
    expect(types).toContain('export interface CommentsExpand {');
    expect(types).toContain('readonly post?: PostsRecord;');
    expect(types).toContain('readonly tags?: (PostsRecord)[];');
    expect(types).toContain('readonly gone?: SigilSystemFields & { readonly [key: string]: unknown };');
    expect(types).toMatch(/export interface PostsExpand \{[^}]*readonly author\?: SigilExpandedUser;[^}]*readonly comments_via_post\?: CommentsRecord\[\];[^}]*readonly comments_via_tags\?: CommentsRecord\[\];/);
    expect(types).toContain('export interface SigilExpandedUser {\n  readonly id: string;\n  readonly username: string;\n}');
    expect(types).toContain('export interface CommentsRecord extends SigilSystemFields, CommentsFields {\n  /** Only in answers asked for with ?expand=: the related records. */\n  readonly expand?: CommentsExpand;\n}');
  });
});

/**
 * The collections `generated-schema.ts` is generated from (by
 * `generated-types.test.ts`, which fails when the file is stale): posts with
 * an author, comments on posts, tags: relations of every kind.
 */
import { DEFAULT_RULES, type Collection, type JsonObject } from '../../../server/src/core/collections/collection.js';

const at = '2026-01-01T00:00:00.000Z';
const collection = (name: string, schema: JsonObject): Collection => ({ id: `c_${name}`, name, schema, rules: DEFAULT_RULES, indexes: [], schemaVersion: 1, createdAt: at, updatedAt: at });

export const FIXTURE_COLLECTIONS: readonly Collection[] = [
  collection('posts', {
    type: 'object',
    required: ['title'],
    additionalProperties: false,
    properties: {
      title: { type: 'string' },
      published: { type: 'boolean' },
      rating: { type: 'integer' },
      author: { type: 'string', 'x-relation': { collection: 'users', onDelete: 'setNull' } },
    },
  }),
  collection('tags', { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string' } } }),
  collection('comments', {
    type: 'object',
    required: ['text', 'post'],
    additionalProperties: false,
    properties: {
      text: { type: 'string' },
      post: { type: 'string', 'x-relation': { collection: 'posts', onDelete: 'cascade' } },
      tags: { type: 'array', items: { type: 'string' }, 'x-relation': { collection: 'tags', onDelete: 'setNull' } },
    },
  }),
];

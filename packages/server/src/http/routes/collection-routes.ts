import type { FastifyInstance } from 'fastify';
import { RULE_KEYWORDS, RULE_NAMES } from '../../core/collections/collection.js';
import type { CollectionChange, CollectionInput, CollectionService } from '../../core/collections/collection-service.js';
import { MAX_INDEX_FIELDS, MAX_INDEXES } from '../../core/collections/collection-service.js';
import { principalOf, type AuthHooks } from '../plugins/authenticate.js';

interface Deps {
  readonly collections: CollectionService;
  readonly hooks: AuthHooks;
}

/*
 * Shapes only: the core checks the meaning (name pattern, schema rules, index
 * paths), so `sigil apply` gets the same answers. Exported for the OpenAPI
 * document, which describes these routes with the schemas they validate with.
 */

/** A keyword, or an expression: a filter object in which "@auth.id", "@auth.username" and "@auth.role" stand for the caller (checked by the core). */
const ruleSchema = {
  oneOf: [
    { type: 'string', enum: [...RULE_KEYWORDS] },
    { type: 'object', additionalProperties: true, description: 'A rule expression: a records filter (docs/filters.md) with "@auth.id", "@auth.username", "@auth.role" for the caller (docs/collections.md#rule-expressions)' },
  ],
};

export const rulesSchema = {
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(RULE_NAMES.map((rule) => [rule, ruleSchema])),
} as const;

export const indexesSchema = {
  type: 'array',
  maxItems: MAX_INDEXES,
  items: { type: 'array', minItems: 1, maxItems: MAX_INDEX_FIELDS, items: { type: 'string', minLength: 1, maxLength: 256 } },
} as const;

export const createCollectionBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'schema'],
  properties: {
    name: { type: 'string', maxLength: 63, description: '`^[a-z][a-z0-9_]{0,62}$`, unique' },
    schema: { type: 'object', description: 'A JSON Schema (draft 2020-12) with "type": "object"' },
    rules: rulesSchema,
    indexes: indexesSchema,
  },
} as const;

export const updateCollectionBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: { schema: createCollectionBody.properties.schema, rules: rulesSchema, indexes: indexesSchema },
} as const;

export const collectionSchema = {
  type: 'object',
  required: ['name', 'schema', 'rules', 'indexes', 'schemaVersion', 'createdAt', 'updatedAt'],
  properties: {
    name: { type: 'string' },
    schema: { type: 'object', additionalProperties: true },
    rules: {
      type: 'object',
      required: [...RULE_NAMES],
      properties: Object.fromEntries(RULE_NAMES.map((rule) => [rule, ruleSchema])),
    },
    indexes: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
    schemaVersion: { type: 'integer' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;

const errorDetailSchema = { type: 'object', required: ['path', 'message'], properties: { path: { type: 'string' }, message: { type: 'string' } } } as const;

export const schemaCheckReportSchema = {
  type: 'object',
  required: ['total', 'failures'],
  properties: {
    total: { type: 'integer', description: 'How many records fail, all counted' },
    failures: {
      type: 'array',
      maxItems: 100,
      items: { type: 'object', required: ['id', 'errors'], properties: { id: { type: 'string' }, errors: { type: 'array', items: errorDetailSchema } } },
    },
  },
} as const;

const nameParams = { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 128 } } } as const;
const envelope = { type: 'object', required: ['collection'], properties: { collection: collectionSchema } } as const;
const dryRunQuery = { type: 'object', additionalProperties: false, properties: { dryRun: { type: 'string', enum: ['true', 'false'] } } } as const;

/** Writes authenticate before the body is validated: without a token the answer is 401, whatever the body. */
export function collectionRoutes(app: FastifyInstance, { collections, hooks }: Deps): void {
  app.get(
    '/api/collections',
    { preHandler: hooks.optionalUser, schema: { response: { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: collectionSchema } } } } } },
    async (request) => ({ items: await collections.list(request.principal) }),
  );

  app.post<{ Body: CollectionInput }>(
    '/api/collections',
    { preValidation: hooks.requireUser, schema: { body: createCollectionBody, response: { 201: envelope } } },
    async (request, reply) => reply.code(201).send({ collection: await collections.create(principalOf(request), request.body) }),
  );

  app.get<{ Params: { name: string } }>(
    '/api/collections/:name',
    { preHandler: hooks.optionalUser, schema: { params: nameParams, response: { 200: envelope } } },
    async (request) => ({ collection: await collections.get(request.principal, request.params.name) }),
  );

  app.put<{ Params: { name: string }; Querystring: { dryRun?: 'true' | 'false' }; Body: CollectionChange }>(
    '/api/collections/:name',
    {
      preValidation: hooks.requireUser,
      schema: {
        params: nameParams,
        querystring: dryRunQuery,
        body: updateCollectionBody,
        response: { 200: { type: 'object', required: ['collection'], properties: { collection: collectionSchema, report: schemaCheckReportSchema } } },
      },
    },
    async (request) => {
      const dryRun = request.query.dryRun === 'true';
      const result = await collections.update(principalOf(request), request.params.name, request.body, { dryRun });
      // A dry run says what would happen; a real change just answers with the collection.
      return dryRun ? { collection: result.collection, report: result.report } : { collection: result.collection };
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/api/collections/:name',
    { preValidation: hooks.requireUser, schema: { params: nameParams } },
    async (request, reply) => {
      await collections.remove(principalOf(request), request.params.name);
      return reply.code(204).send();
    },
  );
}

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { ERROR_STATUS } from '@sigil/protocol';
import type { Principal } from '../core/auth/principal.js';
import type { Collection, JsonObject, JsonValue, RuleName } from '../core/collections/collection.js';
import type { CollectionService } from '../core/collections/collection-service.js';
import { eachSubschema, own } from '../core/collections/schema-compiler.js';
import type { AuthHooks } from './plugins/authenticate.js';
import { collectionSchema, createCollectionBody, schemaCheckReportSchema, updateCollectionBody } from './routes/collection-routes.js';
import { authResponseSchema, refreshBodySchema, tokenPairSchema, userSchema } from './routes/schemas.js';

type Doc = Record<string, unknown>;

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const SCHEMAS = '#/components/schemas/';
const ref = (name: string): Doc => ({ $ref: `${SCHEMAS}${name}` });
const json = (schema: unknown, description = 'OK'): Doc => ({ description, content: { 'application/json': { schema } } });
const body = (schema: unknown): Doc => ({ required: true, content: { 'application/json': { schema } } });
const BEARER = [{ bearerAuth: [] }];
/** Either anonymous or with a token: OpenAPI's way to say "optional". */
const OPTIONAL = [{}, { bearerAuth: [] }];
const ERROR = { $ref: '#/components/responses/Error' };
const NO_CONTENT = { description: 'No content' };

function op(operationId: string, summary: string, o: { tags: string[]; security?: unknown; parameters?: unknown[]; requestBody?: Doc; responses: Doc }): Doc {
  return {
    operationId,
    summary,
    tags: o.tags,
    ...(o.security ? { security: o.security } : { security: [] }),
    ...(o.parameters ? { parameters: o.parameters } : {}),
    ...(o.requestBody ? { requestBody: o.requestBody } : {}),
    responses: { ...o.responses, default: ERROR },
  };
}

const pathParam = (name: string, description: string): Doc => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const query = (name: string, description: string, schema: Doc = { type: 'string' }): Doc => ({ name, in: 'query', required: false, description, schema });
const IF_MATCH = { name: 'If-Match', in: 'header', required: false, description: '`"<version>"`: change only that version, else 412', schema: { type: 'string' } };
const ETAG = { ETag: { description: '`"<version>"`', schema: { type: 'string' } } };

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', enum: Object.keys(ERROR_STATUS) },
        message: { type: 'string' },
        details: { type: 'array', items: { type: 'object', required: ['path', 'message'], properties: { path: { type: 'string' }, message: { type: 'string' } } } },
        report: { ...ref('SchemaCheckReport'), description: 'Only on schema_conflict' },
      },
    },
  },
};

const systemProperties = {
  id: { type: 'string', description: 'Server-assigned (time-sortable) or client-chosen `^[A-Za-z0-9_-]{1,64}$`' },
  createdAt: { type: 'string', format: 'date-time' },
  updatedAt: { type: 'string', format: 'date-time' },
  owner: { type: ['string', 'null'], description: 'The creating user\'s id; null when created anonymously' },
  version: { type: 'integer', minimum: 1, description: 'Grows by one on every update; the ETag' },
};

/** The parts of the API that do not depend on the collections. */
function staticPaths(): Doc {
  const username = pathParam('username', 'Lower-case username');
  const name = pathParam('name', 'Collection name');
  const credentials = { type: 'object', additionalProperties: false, required: ['username', 'password'], properties: { username: { type: 'string' }, password: { type: 'string' } } };
  const registration = { ...credentials, properties: { ...credentials.properties, email: { type: ['string', 'null'] } } };
  const userPatch = {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    properties: { email: { type: ['string', 'null'] }, password: { type: 'string' }, currentPassword: { type: 'string' }, role: { enum: ['user', 'admin'] }, disabled: { type: 'boolean' } },
  };
  const userEnvelope = { type: 'object', required: ['user'], properties: { user: ref('User') } };
  const collectionEnvelope = { type: 'object', required: ['collection'], properties: { collection: ref('Collection') } };
  const auth = ['auth'];
  const users = ['users'];
  const collections = ['collections'];
  return {
    '/api/health': { get: op('health', 'Whether the database answers', { tags: ['service'], responses: { 200: json({ type: 'object', properties: { status: { const: 'ok' } } }) } }) },
    '/api/openapi.json': { get: op('openapi', 'This document (collections filtered by what the caller may see)', { tags: ['service'], security: OPTIONAL, responses: { 200: json({ type: 'object' }) } }) },
    '/api/auth/register': { post: op('register', 'Create an account and log in', { tags: auth, requestBody: body(registration), responses: { 201: json(ref('AuthResponse'), 'Created') } }) },
    '/api/auth/login': { post: op('login', 'Log in', { tags: auth, requestBody: body(credentials), responses: { 200: json(ref('AuthResponse')) } }) },
    '/api/auth/refresh': { post: op('refresh', 'Exchange a refresh token (rotated)', { tags: auth, requestBody: body(refreshBodySchema), responses: { 200: json(ref('TokenPair')) } }) },
    '/api/auth/logout': { post: op('logout', 'End the session', { tags: auth, requestBody: body(refreshBodySchema), responses: { 204: NO_CONTENT } }) },
    '/api/auth/me': { get: op('me', 'The caller', { tags: auth, security: BEARER, responses: { 200: json(userEnvelope) } }) },
    '/api/users': {
      get: op('listUsers', 'List users (admin), keyset pages', {
        tags: users,
        security: BEARER,
        parameters: [query('limit', '1–200, default 50', { type: 'integer', minimum: 1, maximum: 200 }), query('after', 'nextCursor of the previous page')],
        responses: { 200: json({ type: 'object', required: ['items', 'nextCursor'], properties: { items: { type: 'array', items: ref('User') }, nextCursor: { type: ['string', 'null'] } } }) },
      }),
    },
    '/api/users/{username}': {
      parameters: [username],
      get: op('getUser', 'A user (self or admin)', { tags: users, security: BEARER, responses: { 200: json(userEnvelope) } }),
      patch: op('updateUser', 'Change email or password (self), role or disabled (admin)', { tags: users, security: BEARER, requestBody: body(userPatch), responses: { 200: json(userEnvelope) } }),
      delete: op('deleteUser', 'Delete a user (self or admin)', { tags: users, security: BEARER, responses: { 204: NO_CONTENT } }),
    },
    '/api/collections': {
      get: op('listCollections', 'Collections the caller may read (admin: all)', { tags: collections, security: OPTIONAL, responses: { 200: json({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('Collection') } } }) } }),
      post: op('createCollection', 'Create a collection (admin)', { tags: collections, security: BEARER, requestBody: body(createCollectionBody), responses: { 201: json(collectionEnvelope, 'Created') } }),
    },
    '/api/collections/{name}': {
      parameters: [name],
      get: op('getCollection', 'A collection the caller may read', { tags: collections, security: OPTIONAL, responses: { 200: json(collectionEnvelope) } }),
      put: op('updateCollection', 'Change schema, rules or indexes (admin); a schema change checks every record first', {
        tags: collections,
        security: BEARER,
        parameters: [query('dryRun', '"true": only check and report', { type: 'string', enum: ['true', 'false'] })],
        requestBody: body(updateCollectionBody),
        responses: {
          200: json({ type: 'object', required: ['collection'], properties: { collection: ref('Collection'), report: ref('SchemaCheckReport') } }),
          409: json(ref('Error'), 'schema_conflict: records do not fit the new schema (error.report lists them)'),
        },
      }),
      delete: op('deleteCollection', 'Delete a collection and its records (admin)', { tags: collections, security: BEARER, responses: { 204: NO_CONTENT } }),
    },
  };
}

const RULE_TEXT: Record<string, string> = {
  public: 'anyone, no token needed',
  authenticated: 'any signed-in user',
  owner: "signed-in users, on records they own (list: only their own)",
  admin: 'admins only',
};

/** `/api/collections/<name>/records…` for one collection, with its own record schema. */
function recordPaths(c: Collection, schemaName: string, inputName: string): Doc {
  const tags = [`records: ${c.name}`];
  const security = (rule: RuleName): unknown => (c.rules[rule] === 'public' ? OPTIONAL : BEARER);
  const who = (rule: RuleName): string => `Rule \`${rule}: ${c.rules[rule]}\` — ${RULE_TEXT[c.rules[rule]] ?? c.rules[rule]}; admins always.`;
  const record = json(ref(schemaName));
  const input = body(ref(inputName));
  const id = pathParam('id', 'Record id');
  const listSchema = { type: 'object', required: ['items', 'nextCursor', 'seq'], properties: { items: { type: 'array', items: ref(schemaName) }, nextCursor: { type: ['string', 'null'] }, seq: { type: 'integer', description: 'Change-log position this read reflects; subscribe with since: seq' } } };
  return {
    [`/api/collections/${c.name}/records`]: {
      get: op(`list_${c.name}`, `List ${c.name}. ${who('list')}`, {
        tags,
        security: security('list'),
        parameters: [
          query('filter', 'URL-encoded JSON, e.g. {"done": false, "priority": {"$gte": 2}}; operators $eq $ne $gt $gte $lt $lte $in $nin $exists $contains $startsWith $and $or $not'),
          query('sort', 'Comma-separated fields, "-" for descending; default createdAt,id'),
          query('limit', '1–200, default 50', { type: 'integer', minimum: 1, maximum: 200 }),
          query('after', 'nextCursor of the previous page'),
        ],
        responses: { 200: json(listSchema) },
      }),
      post: op(`create_${c.name}`, `Create a ${c.name} record. ${who('create')}`, { tags, security: security('create'), requestBody: input, responses: { 201: { ...json(ref(schemaName), 'Created'), headers: ETAG } } }),
    },
    [`/api/collections/${c.name}/records/{id}`]: {
      parameters: [id],
      get: op(`get_${c.name}`, `A ${c.name} record. ${who('view')}`, { tags, security: security('view'), responses: { 200: { ...record, headers: ETAG } } }),
      patch: op(`patch_${c.name}`, `JSON Merge Patch (RFC 7396). ${who('update')}`, { tags, security: security('update'), parameters: [IF_MATCH], requestBody: body({ type: 'object' }), responses: { 200: { ...record, headers: ETAG } } }),
      put: op(`replace_${c.name}`, `Replace the user fields. ${who('update')}`, { tags, security: security('update'), parameters: [IF_MATCH], requestBody: input, responses: { 200: { ...record, headers: ETAG } } }),
      delete: op(`delete_${c.name}`, `Delete. ${who('delete')}`, { tags, security: security('delete'), parameters: [IF_MATCH], responses: { 204: NO_CONTENT } }),
    },
  };
}

/**
 * A collection's schema inside the document. Its local `$ref`s (`#/$defs/x`)
 * are relative to the schema, so they are rewritten to point into the
 * component (`#/components/schemas/RecordInput_x/$defs/x`).
 */
function relocate(schema: JsonObject, base: string): JsonObject {
  const copy = JSON.parse(JSON.stringify(schema)) as JsonObject;
  delete copy['$schema'];
  eachSubschema(copy, '', (s) => {
    for (const key of ['$ref', '$dynamicRef']) {
      const target = own(s, key);
      if (typeof target === 'string' && (target === '#' || target.startsWith('#/'))) s[key] = `${base}${target.slice(1)}`;
    }
  });
  return copy;
}

/** The record as the API returns it: system fields plus the collection's fields, under the same top-level keywords. */
function recordSchema(c: Collection, inputName: string): JsonObject {
  const input = relocate(c.schema, `${SCHEMAS}${inputName}`);
  const { $defs: _defs, definitions: _definitions, properties, required, ...rest } = input;
  return {
    ...rest,
    type: 'object',
    properties: { ...systemProperties, ...(typeof properties === 'object' && properties !== null ? properties : {}) },
    required: [...Object.keys(systemProperties), ...(Array.isArray(required) ? required : [])] as JsonValue[],
  };
}

/** The whole API as OpenAPI 3.1, for the given (visible) collections. */
export function buildOpenApiDocument(collections: readonly Collection[]): Doc {
  const schemas: Doc = {
    Error: errorSchema,
    SchemaCheckReport: schemaCheckReportSchema,
    User: userSchema,
    AuthResponse: { ...authResponseSchema, properties: { ...authResponseSchema.properties, user: ref('User') } },
    TokenPair: tokenPairSchema,
    Collection: collectionSchema,
  };
  const paths: Doc = staticPaths();
  for (const c of collections) {
    // Collection names are [a-z0-9_], valid in component names, and the prefix keeps them apart from the fixed ones.
    const name = `Record_${c.name}`;
    const inputName = `RecordInput_${c.name}`;
    schemas[inputName] = { ...relocate(c.schema, `${SCHEMAS}${inputName}`), description: `The fields of a ${c.name} record, as sent on create and replace.` };
    schemas[name] = recordSchema(c, inputName);
    Object.assign(paths, recordPaths(c, name, inputName));
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Sigil', version: VERSION, description: 'Generated from the live collections. Errors: docs/errors.md; collections: docs/collections.md.' },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas,
      responses: { Error: json(ref('Error'), 'An error; see error.code') },
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from /api/auth/login' } },
    },
  };
}

/**
 * `GET /api/openapi.json`. The document lists the collections the caller
 * could list (like GET /api/collections), so it is built per audience: admin,
 * signed-in user, anonymous. It is regenerated when the collections change —
 * on this instance or another — detected by a hash of their definitions.
 */
export function openApiRoutes(app: FastifyInstance, { collections, hooks }: { readonly collections: CollectionService; readonly hooks: AuthHooks }): void {
  const cache = new Map<string, { hash: string; text: string }>();
  const audience = (p: Principal | null): string => (p === null ? 'anonymous' : p.role);

  app.get('/api/openapi.json', { preHandler: hooks.optionalUser }, async (request, reply) => {
    const visible = await collections.list(request.principal);
    const hash = createHash('sha256').update(JSON.stringify(visible)).digest('base64url');
    const key = audience(request.principal);
    let entry = cache.get(key);
    if (entry?.hash !== hash) {
      entry = { hash, text: JSON.stringify(buildOpenApiDocument(visible)) };
      cache.set(key, entry);
    }
    return reply.type('application/json; charset=utf-8').send(entry.text);
  });
}

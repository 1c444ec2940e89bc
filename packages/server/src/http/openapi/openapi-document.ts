import { ERROR_STATUS } from '@sigil/protocol';
import type { Collection } from '../../core/collections/collection.js';
import { collectionSchema, schemaCheckReportSchema } from '../routes/collection-routes.js';
import { authResponseSchema, pendingRegistrationSchema, tokenPairSchema, userSchema } from '../routes/schemas.js';
import { errorResponseComponents, ref, type Doc } from './openapi-parts.js';
import { recordPaths, recordsTag } from './record-paths.js';
import { EXPANDED_USER, expandedUserSchema, recordComponents, recordSchemaNames, relatesToUsers } from './record-schemas.js';
import { STATIC_TAGS, staticPaths } from './static-paths.js';
import { twoFactorPaths } from './two-factor-paths.js';
import { SERVER_VERSION } from '../../version.js';

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
        details: { type: 'array', items: { type: 'object', required: ['path', 'message'], properties: { path: { type: 'string' }, message: { type: 'string' }, index: { type: 'integer', minimum: 0, description: 'In a failed batch, on the first detail: the position of the operation that failed' } } } },
        report: { ...ref('SchemaCheckReport'), description: 'Only on schema_conflict' },
        challenge: { type: 'string', description: 'Only on two_factor_required: the login challenge to complete with POST /api/auth/2fa/verify' },
      },
    },
  },
};

/** The whole API as OpenAPI 3.1, for the given (visible) collections. */
export function buildOpenApiDocument(collections: readonly Collection[]): Doc {
  const schemas: Doc = {
    Error: errorSchema,
    SchemaCheckReport: schemaCheckReportSchema,
    User: userSchema,
    AuthResponse: { ...authResponseSchema, properties: { ...authResponseSchema.properties, user: ref('User') } },
    TokenPair: tokenPairSchema,
    PendingRegistration: { ...pendingRegistrationSchema, properties: { ...pendingRegistrationSchema.properties, user: ref('User') } },
    ...(relatesToUsers(collections) ? { [EXPANDED_USER]: expandedUserSchema } : {}),
    // A collection's schema is an object of any keys: say so, or generators type it as having none.
    Collection: { ...collectionSchema, properties: { ...collectionSchema.properties, schema: { type: 'object', additionalProperties: true } } },
  };
  const paths: Doc = { ...staticPaths(), ...twoFactorPaths() };
  const tags = [...STATIC_TAGS];
  for (const c of collections) {
    // Collection names are [a-z0-9_], valid in component names; the prefixes keep them apart from the fixed ones.
    const names = recordSchemaNames(c.name);
    Object.assign(schemas, recordComponents(c, collections));
    Object.assign(paths, recordPaths(c, names));
    tags.push({ name: recordsTag(c.name), description: `Records of the ${c.name} collection` });
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Sigil',
      version: SERVER_VERSION,
      description: 'A realtime backend: JSON Schema collections, records, JWT auth, WebSocket realtime. Generated from the live collections (docs/openapi.md). Errors: docs/errors.md; collections: docs/collections.md.',
      // The operator of a self-hosted server is its contact; the document only names the product.
      contact: { name: 'Sigil' },
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: '/', description: 'The server that served this document' }],
    tags,
    paths,
    components: {
      schemas,
      responses: errorResponseComponents(),
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from /api/auth/login' } },
    },
  };
}

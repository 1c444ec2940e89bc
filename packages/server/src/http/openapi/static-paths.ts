import { MAX_BATCH_OPERATIONS } from '../../core/records/batch-input.js';
import { createCollectionBody, updateCollectionBody } from '../routes/collection-routes.js';
import { serverStatusSchema } from '../routes/admin-routes.js';
import { accessPreviewBody, accessPreviewSchema } from '../routes/access-preview-routes.js';
import { refreshBodySchema } from '../routes/schemas.js';
import { forgotPasswordBody, resetPasswordBody } from '../routes/auth-routes.js';
import { oauthPaths } from './oauth-paths.js';
import { resendVerificationBody, verifyEmailBody } from '../routes/email-verification-routes.js';
import { BEARER, body, json, NO_CONTENT, op, OPTIONAL, pathParam, query, ref, type Doc } from './openapi-parts.js';

/** Tags of the fixed API, declared at the top of the document (record tags are added per collection). */
export const STATIC_TAGS = [
  { name: 'service', description: 'Health and this document' },
  { name: 'auth', description: 'Accounts, sessions and tokens (docs/auth.md)' },
  { name: 'users', description: 'User management: self or admin' },
  { name: 'collections', description: 'Collection definitions: JSON Schema, rules, indexes (docs/collections.md)' },
  { name: 'realtime', description: 'The WebSocket endpoint (protocol: docs/realtime.md)' },
  { name: 'batch', description: 'Several record writes in one transaction (docs/batches.md)' },
  { name: 'admin', description: 'The server as the dashboard sees it (docs/dashboard.md)' },
];

/** A JSON Schema is an object of any keys: `additionalProperties: true` says so to generators (a bare `type: object` reads as "no keys"). */
const ANY_OBJECT = { type: 'object', additionalProperties: true };
const schemaField = { ...ANY_OBJECT, description: createCollectionBody.properties.schema.description };
const createCollection = { ...createCollectionBody, properties: { ...createCollectionBody.properties, schema: schemaField } };
const updateCollection = { ...updateCollectionBody, properties: { ...updateCollectionBody.properties, schema: schemaField } };

const CREDENTIALS = { type: 'object', additionalProperties: false, required: ['username', 'password'], properties: { username: { type: 'string' }, password: { type: 'string' } } };
const REGISTRATION = { ...CREDENTIALS, properties: { ...CREDENTIALS.properties, email: { type: ['string', 'null'] } } };
const USER_PATCH = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: { email: { type: ['string', 'null'] }, password: { type: 'string' }, currentPassword: { type: 'string' }, role: { type: 'string', enum: ['user', 'admin'] }, disabled: { type: 'boolean' }, emailVerified: { type: 'boolean', description: 'Admins only' } },
};
const USER_UPDATE = { type: 'object', required: ['user'], properties: { user: ref('User'), pendingEmail: { type: 'string', description: 'Present while a change of your own address waits for the link mailed to it; user.email stays until then' } } };
const USER_ENVELOPE = { type: 'object', required: ['user'], properties: { user: ref('User') } };
const COLLECTION_ENVELOPE = { type: 'object', required: ['collection'], properties: { collection: ref('Collection') } };
const PAGE_LIMIT = { type: 'integer', minimum: 1, maximum: 200 };

/** `POST /api/batch` (SPEC §4.8): the operations are the record writes of any collection, so records are described generically. */
const ANY_RECORD = { type: 'object', required: ['id', 'createdAt', 'updatedAt', 'owner', 'version'], additionalProperties: true, properties: { id: { type: 'string' }, createdAt: { type: 'string', format: 'date-time' }, updatedAt: { type: 'string', format: 'date-time' }, owner: { type: ['string', 'null'] }, version: { type: 'integer', minimum: 1 } } };
const IF_MATCH = { type: 'string', description: 'As the If-Match header: the quoted version the record must be at ("\\"3\\"")' };
const batchOperation = (opName: string, required: readonly string[], properties: Doc): Doc => ({
  type: 'object',
  additionalProperties: false,
  required: ['op', 'collection', ...required],
  properties: { op: { const: opName }, collection: { type: 'string' }, ...properties },
});
const BATCH_REQUEST = {
  type: 'object',
  additionalProperties: false,
  required: ['operations'],
  properties: {
    operations: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_BATCH_OPERATIONS,
      items: {
        oneOf: [
          batchOperation('create', ['record'], { record: { ...ANY_OBJECT, description: 'The record\'s fields, optionally with a client id' } }),
          batchOperation('update', ['id', 'patch'], { id: { type: 'string' }, patch: { ...ANY_OBJECT, description: 'A JSON Merge Patch (RFC 7396)' }, ifMatch: IF_MATCH }),
          batchOperation('replace', ['id', 'record'], { id: { type: 'string' }, record: { ...ANY_OBJECT, description: 'The new user fields' }, ifMatch: IF_MATCH }),
          batchOperation('delete', ['id'], { id: { type: 'string' }, ifMatch: IF_MATCH }),
        ],
      },
    },
  },
};
const BATCH_RESPONSE = {
  type: 'object',
  required: ['results'],
  properties: {
    results: {
      type: 'array',
      description: 'One per operation, in order',
      items: {
        oneOf: [
          { type: 'object', additionalProperties: false, required: ['status', 'record'], properties: { status: { enum: [200, 201] }, record: ANY_RECORD } },
          { type: 'object', additionalProperties: false, required: ['status'], properties: { status: { const: 204 } } },
        ],
      },
    },
  },
};

/** The parts of the API that do not depend on the collections. */
export function staticPaths(): Doc {
  const username = pathParam('username', 'Lower-case username');
  const name = pathParam('name', 'Collection name');
  const auth = ['auth'];
  const users = ['users'];
  const collections = ['collections'];
  return {
    '/api/health': {
      get: op('getHealth', 'Whether the database answers', { tags: ['service'], description: '200 when the database answers a query, 503 when it does not: for load balancers and probes.', errors: [], responses: { 200: json({ type: 'object', required: ['status'], properties: { status: { const: 'ok' } } }) } }),
    },
    '/api/openapi.json': {
      get: op('getOpenApiDocument', 'This document', { tags: ['service'], security: OPTIONAL, description: 'The OpenAPI 3.1 document of the API, with one record schema per collection the caller may list (docs/openapi.md).', errors: [], responses: { 200: json(ANY_OBJECT) } }),
    },
    '/api/realtime': {
      get: op('connectRealtime', 'WebSocket: live changes of records', {
        tags: ['realtime'],
        security: OPTIONAL,
        description: 'A WebSocket upgrade (RFC 6455). After the upgrade, client and server exchange the JSON messages of the realtime protocol (auth, subscribe with `since`, change events, errors and close codes), described in docs/realtime.md. A browser Origin must be in CORS_ORIGINS. A plain GET without the upgrade is 400; over the connection caps (REALTIME_MAX_CONNECTIONS_PER_IP, REALTIME_MAX_CONNECTIONS) the upgrade is refused with 429 or 503 and Retry-After (docs/limits.md).',
        errors: [400, 403, 429, 503],
        responses: { 101: { description: 'Switching Protocols: the connection is now a WebSocket speaking the protocol of docs/realtime.md' } },
      }),
    },
    '/api/batch': {
      post: op('createBatch', 'Apply record writes in one transaction', {
        tags: ['batch'],
        security: OPTIONAL,
        description: `Up to ${MAX_BATCH_OPERATIONS} create, update (merge patch), replace and delete operations across collections, applied in one transaction: all commit or none does. Each is checked as it would be alone (rules, schema, If-Match); later operations see earlier ones. If one fails, nothing is applied and the answer is its error, with error.details[0].index its position. Realtime marks each subscription's last event of the transaction with txEnd (docs/batches.md).`,
        errors: [400, 401, 403, 404, 409, 412, 413, 415],
        requestBody: body(BATCH_REQUEST, 'The operations, in order'),
        responses: { 200: json(BATCH_RESPONSE) },
      }),
    },
    '/api/admin/status': {
      get: op('getServerStatus', 'Server status (admin)', { tags: ['admin'], security: BEARER, description: 'Version, storage engine, uptime, this instance\'s realtime connections and subscriptions, the change log\'s range and retention, and every collection\'s record count. Counting reads every collection: meant for an admin screen, not for probes (use /api/health).', errors: [401, 403], responses: { 200: json(serverStatusSchema) } }),
    },
    '/api/admin/access-preview': {
      post: op('getAccessPreview', 'Which records a user could read under proposed rules (admin)', { tags: ['admin'], security: BEARER, description: 'Checks `rules` as PUT /api/collections/{name} would (400 validation_failed with details under /rules) and answers, for the user (or null: anonymous), the first records their list would return and those they could read by id, through the same read scope as real requests. Nothing is stored. 404 for a missing collection, 400 for an unknown user (/user).', errors: [400, 401, 403, 404], requestBody: body(accessPreviewBody, 'The collection, the proposed rules (absent: the saved ones), the user, an optional limit'), responses: { 200: json(accessPreviewSchema) } }),
    },
    '/api/auth/register': {
      post: op('register', 'Create an account and log in', { tags: auth, description: 'Creates a user (role user) and its first session (201). With an email, a verification link is mailed to it (EMAIL_VERIFICATION_TTL). When the server requires verified emails (AUTH_REQUIRE_VERIFIED_EMAIL), email is required and the answer is 202 with the user and no tokens: sign in once the link is followed. Rate limited per client address and per username.', errors: [400, 409, 413, 415, 429], requestBody: body(REGISTRATION, 'Username (3–32 of [a-z0-9_.-], starting and ending with a letter or digit, no two punctuation characters in a row), password (8–128), optional email (required under AUTH_REQUIRE_VERIFIED_EMAIL)'), responses: { 201: json(ref('AuthResponse'), 'Created'), 202: json(ref('PendingRegistration'), 'Created; no session until the email address is verified') } }),
    },
    '/api/auth/login': {
      post: op('login', 'Log in', { tags: auth, description: 'A wrong username and a wrong password give the same 401 invalid_credentials; a disabled account is 403 forbidden, and an unverified email address under AUTH_REQUIRE_VERIFIED_EMAIL is 403 email_not_verified (role user only). For a user with two-factor on, a right password answers 401 two_factor_required with error.challenge instead of tokens: complete it with POST /api/auth/2fa/verify. Rate limited per client address and per username.', errors: [400, 401, 403, 413, 415, 429], requestBody: body(CREDENTIALS, 'Username and password'), responses: { 200: json(ref('AuthResponse')) } }),
    },
    '/api/auth/refresh': {
      post: op('refreshTokens', 'Exchange a refresh token (rotated)', { tags: auth, description: 'Returns a new access token and a new refresh token; the old refresh token stops working, and presenting it again revokes the session.', errors: [400, 401, 403, 413, 415, 429], requestBody: body(refreshBodySchema, 'The current refresh token'), responses: { 200: json(ref('TokenPair')) } }),
    },
    '/api/auth/logout': {
      post: op('logout', 'End the session', { tags: auth, description: 'Revokes the session of this refresh token.', errors: [400, 401, 413, 415], requestBody: body(refreshBodySchema, 'The refresh token of the session to end'), responses: { 204: NO_CONTENT } }),
    },
    '/api/auth/forgot-password': {
      post: op('createPasswordReset', 'Ask for a password-reset mail', {
        tags: auth,
        description: 'Mails a single-use reset link (PASSWORD_RESET_TTL, default 30 min) to every enabled account with this email. The answer is the same 202, at the same speed, whether or not an account has it. Rate limited per client address and per email. 503 when the server cannot send mail (production without SMTP_URL).',
        errors: [400, 413, 415, 429],
        requestBody: body(forgotPasswordBody, 'The email address of the account'),
        responses: { 202: { description: 'Accepted: if an account has this email, a link is on its way' } },
      }),
    },
    '/api/auth/reset-password': {
      post: op('updatePasswordWithReset', 'Set a new password with a reset token', {
        tags: auth,
        description: 'The token from the reset link. Works once, until it expires, and only while the password and the email are unchanged since it was sent; the new password must meet the policy. Revokes every session of the user (their WebSockets close with 4003).',
        errors: [400, 401, 413, 415],
        requestBody: body(resetPasswordBody, 'The reset token and the new password'),
        responses: { 204: NO_CONTENT },
      }),
    },
    '/api/auth/verify-email': {
      post: op('updateEmailVerification', 'Follow an email-verification link', {
        tags: auth,
        description: 'The token from the link (`/verify-email#token=…`); no sign-in needed. A link for the current address marks it verified; a link for an address change makes that address the user\'s, verified, and ends their password-reset links and older verification links. Works once, until EMAIL_VERIFICATION_TTL, and only while the address it was sent to is still current or pending; otherwise 401 unauthorized.',
        errors: [400, 401, 413, 415],
        requestBody: body(verifyEmailBody, 'The verification token'),
        responses: { 204: NO_CONTENT },
      }),
    },
    '/api/auth/resend-verification': {
      post: op('createEmailVerification', 'Ask for a new verification link', {
        tags: auth,
        security: OPTIONAL,
        description: 'Signed in (no body): mails a new link for the caller\'s pending address change, else for their unverified address; 409 conflict when there is nothing to verify. Anonymous, with an email (for users who cannot sign in before verifying): mails a link to each enabled, unverified account with it, and answers the same 202, at once, whatever the address. At most EMAIL_VERIFICATION_RATE_LIMIT mails per user and per address (429 beyond, when signed in); anonymous requests are also limited per client address. 503 when the server cannot send mail.',
        errors: [400, 401, 409, 413, 415, 429],
        requestBody: { ...body(resendVerificationBody, 'Anonymous: the email address to verify. Signed in: empty'), required: false },
        responses: { 202: { description: 'Accepted: a link is on its way (anonymous: if an unverified account has this address)' } },
      }),
    },
    '/api/auth/me': {
      get: op('getMe', 'The caller', { tags: auth, security: BEARER, description: 'The user the access token belongs to.', errors: [401], responses: { 200: json(USER_ENVELOPE) } }),
    },
    ...oauthPaths(),
    '/api/users': {
      get: op('listUsers', 'List users (admin)', {
        tags: users,
        security: BEARER,
        description: 'Keyset pages of users, oldest first; pass nextCursor as after for the next page (with the same search).',
        errors: [400, 401, 403],
        parameters: [query('limit', '1–200, default 50', PAGE_LIMIT), query('after', 'nextCursor of the previous page'), query('search', 'Only users whose username or email contains this (case-insensitive, up to 100 characters)', { type: 'string', maxLength: 100 })],
        responses: { 200: json({ type: 'object', required: ['items', 'nextCursor'], properties: { items: { type: 'array', items: ref('User') }, nextCursor: { type: ['string', 'null'] } } }) },
      }),
    },
    '/api/users/{username}': {
      parameters: [username],
      get: op('getUser', 'A user (self or admin)', { tags: users, security: BEARER, description: 'Another user than the caller is visible to admins only.', errors: [400, 401, 403, 404], responses: { 200: json(USER_ENVELOPE) } }),
      patch: op('updateUser', 'Change a user', {
        tags: users,
        security: BEARER,
        description: 'Self: email, and password with currentPassword (which revokes the other sessions). A new email of your own takes effect once you follow the link mailed to it: until then the user is unchanged and the answer carries pendingEmail (429 beyond EMAIL_VERIFICATION_RATE_LIMIT); null clears it at once. Admin: also role, disabled and emailVerified, and emails are set directly (unverified unless emailVerified: true). The last admin cannot be demoted.',
        errors: [400, 401, 403, 404, 409, 413, 415, 429],
        requestBody: body(USER_PATCH, 'The fields to change'),
        responses: { 200: json(USER_UPDATE) },
      }),
      delete: op('deleteUser', 'Delete a user (self or admin)', { tags: users, security: BEARER, description: 'Revokes the user\'s sessions and closes their WebSockets. The last admin cannot be deleted.', errors: [400, 401, 403, 404, 409], responses: { 204: NO_CONTENT } }),
    },
    '/api/users/{username}/resend-verification': {
      parameters: [username],
      post: op('createUserEmailVerification', 'Mail a user a new verification link (admin)', {
        tags: users,
        security: BEARER,
        description: 'As POST /api/auth/resend-verification for that user: their pending address change, else their unverified address. 409 conflict when there is nothing to verify or the account is disabled; 429 beyond EMAIL_VERIFICATION_RATE_LIMIT; 503 when the server cannot send mail.',
        errors: [400, 401, 403, 404, 409, 429],
        responses: { 202: { description: 'Accepted: a link is on its way' } },
      }),
    },
    '/api/collections': {
      get: op('listCollections', 'List collections', { tags: collections, security: OPTIONAL, description: 'The collections the caller may read (admin: all), with their schemas.', errors: [401], responses: { 200: json({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('Collection') } } }) } }),
      post: op('createCollection', 'Create a collection (admin)', { tags: collections, security: BEARER, description: 'Name, JSON Schema, rules and indexes; the schema rules are in docs/collections.md.', errors: [400, 401, 403, 409, 413, 415], requestBody: body(createCollection, 'The new collection'), responses: { 201: json(COLLECTION_ENVELOPE, 'Created') } }),
    },
    '/api/collections/{name}': {
      parameters: [name],
      get: op('getCollection', 'A collection', { tags: collections, security: OPTIONAL, description: 'A collection the caller may read; any other name is 404.', errors: [400, 401, 404], responses: { 200: json(COLLECTION_ENVELOPE) } }),
      put: op('updateCollection', 'Change a collection (admin)', {
        tags: collections,
        security: BEARER,
        description: 'Changes schema, rules or indexes. A schema change first checks every record; if any fails, nothing changes and the 409 lists them. dryRun=true only checks.',
        errors: [400, 401, 403, 404, 409, 413, 415],
        parameters: [query('dryRun', '"true": only check and report', { type: 'string', enum: ['true', 'false'] })],
        requestBody: body(updateCollection, 'The parts to change'),
        responses: { 200: json({ type: 'object', required: ['collection'], properties: { collection: ref('Collection'), report: ref('SchemaCheckReport') } }) },
      }),
      delete: op('deleteCollection', 'Delete a collection (admin)', { tags: collections, security: BEARER, description: 'Deletes the collection, its records and its history.', errors: [400, 401, 403, 404], responses: { 204: NO_CONTENT } }),
    },
  };
}

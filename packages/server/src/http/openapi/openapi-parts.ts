/** Building blocks of the OpenAPI document: operations, bodies, parameters and the declared error responses. */

export type Doc = Record<string, unknown>;

export const SCHEMAS = '#/components/schemas/';
export const ref = (name: string): Doc => ({ $ref: `${SCHEMAS}${name}` });
export const json = (schema: unknown, description = 'OK'): Doc => ({ description, content: { 'application/json': { schema } } });
export const body = (schema: unknown, description: string, mediaTypes: readonly string[] = ['application/json']): Doc => ({
  required: true,
  description,
  content: Object.fromEntries(mediaTypes.map((type) => [type, { schema }])),
});
export const BEARER = [{ bearerAuth: [] }];
/** Either anonymous or with a token: OpenAPI's way to say "optional". */
export const OPTIONAL = [{}, { bearerAuth: [] }];
export const NO_CONTENT = { description: 'No content' };

/**
 * The error statuses an operation can answer, each with the error body.
 * Declared one by one (not only as `default`) so that generated clients type
 * them and response validators know them; the codes behind each status are
 * in docs/errors.md.
 */
export const ERROR_RESPONSES = {
  400: ['BadRequest', 'bad_request, validation_failed or invalid_filter: the request is malformed or does not fit the schema; nothing changed'],
  401: ['Unauthorized', 'unauthorized, token_expired or invalid_credentials: no valid access token (or wrong credentials)'],
  403: ['Forbidden', 'forbidden: the caller may not do this (email_not_verified: signing in needs a verified email address)'],
  404: ['NotFound', 'not_found: no such resource, or one the caller may not read'],
  409: ['Conflict', 'conflict or schema_conflict: the change clashes with existing data; nothing changed'],
  412: ['PreconditionFailed', 'precondition_failed: If-Match names another version; nothing changed'],
  413: ['PayloadTooLarge', 'payload_too_large: the body is over the limit'],
  415: ['UnsupportedMediaType', 'unsupported_media_type: the body is not JSON'],
  429: ['RateLimited', 'rate_limited: too many attempts; retry after Retry-After seconds'],
  503: ['Unavailable', 'unavailable: the database does not answer'],
} as const;
export type ErrorStatus = keyof typeof ERROR_RESPONSES;

const errorContent = { 'application/json': { schema: ref('Error') } };

/** `components.responses`: one named response per declared error status, and `Error` for anything else. */
export function errorResponseComponents(): Doc {
  const responses: Doc = {};
  for (const [status, [name, description]] of Object.entries(ERROR_RESPONSES)) {
    responses[name] = {
      description,
      content: errorContent,
      // 429 always says when to retry; a 503 from a write that kept losing races does too.
      ...(status === '429' || status === '503' ? { headers: { 'Retry-After': { description: 'Whole seconds until a retry is allowed', required: status === '429', schema: { type: 'integer', minimum: 1 } } } } : {}),
    };
  }
  responses['Error'] = { description: 'Any other error (internal: 500); see error.code', content: errorContent };
  return responses;
}

export interface OperationSpec {
  readonly tags: readonly string[];
  readonly description: string;
  readonly security?: unknown;
  readonly parameters?: readonly unknown[];
  readonly requestBody?: Doc;
  readonly responses: Doc;
  /** The error statuses this operation answers (503 is added to every one: any route may find the database down). */
  readonly errors: readonly ErrorStatus[];
}

/**
 * One operation. operationIds are lowerCamelCase and start with a verb
 * (`listUsers`); record operations add `_` and the collection name
 * (`listRecords_tasks`), which keeps them unique for every valid name.
 */
export function op(operationId: string, summary: string, o: OperationSpec): Doc {
  const errors: Doc = {};
  for (const status of [...new Set<ErrorStatus>([...o.errors, 503])].sort()) errors[status] = { $ref: `#/components/responses/${ERROR_RESPONSES[status][0]}` };
  return {
    operationId,
    summary,
    description: o.description,
    tags: o.tags,
    security: o.security ?? [],
    ...(o.parameters ? { parameters: o.parameters } : {}),
    ...(o.requestBody ? { requestBody: o.requestBody } : {}),
    responses: { ...o.responses, ...errors, default: { $ref: '#/components/responses/Error' } },
  };
}

export const pathParam = (name: string, description: string): Doc => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
export const query = (name: string, description: string, schema: Doc = { type: 'string' }): Doc => ({ name, in: 'query', required: false, description, schema });

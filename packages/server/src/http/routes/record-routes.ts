import type { FastifyInstance } from 'fastify';
import type { JsonObject, JsonValue } from '../../core/collections/collection.js';
import type { ListInput, RecordService } from '../../core/records/record-service.js';
import { etagOf, expandedEtagOf, expandedRecordJson, recordJson, recordPageJson } from '../../core/records/record-dto.js';
import type { AuthHooks } from '../plugins/authenticate.js';

interface Deps {
  readonly records: RecordService;
  readonly hooks: AuthHooks;
}

const nameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', maxLength: 64 } },
} as const;

const recordParams = {
  type: 'object',
  required: ['name', 'id'],
  properties: { name: { type: 'string', maxLength: 64 }, id: { type: 'string', maxLength: 128 } },
} as const;

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    // No maxLength here: the filter parser bounds it and answers invalid_filter.
    filter: { type: 'string' },
    sort: { type: 'string', maxLength: 512 },
    limit: { type: 'string', maxLength: 8 },
    after: { type: 'string', maxLength: 2048 },
    // No maxLength here either: the expand parser bounds it and names the problem.
    expand: { type: 'string' },
  },
} as const;

/** GET by id takes `expand` only (other query parameters are ignored, as before). */
const getQuery = { type: 'object', properties: { expand: { type: 'string' } } } as const;

const objectBody = { type: 'object' } as const;

const MERGE_PATCH_TYPE = 'application/merge-patch+json';

/** Reads answer with JSON text made from the stored record (see `recordJson`). */
const JSON_TYPE = 'application/json; charset=utf-8';

type RecordRoute = { Params: { name: string; id: string }; Headers: { 'if-match'?: string } };
type GetRoute = RecordRoute & { Querystring: { expand?: string } };

/** `/api/collections/:name/records…`: translation between HTTP and the record service only. */
export function recordRoutes(app: FastifyInstance, { records, hooks }: Deps): void {
  const base = '/api/collections/:name/records';

  app.get<{ Params: { name: string }; Querystring: ListInput }>(
    base,
    { preHandler: hooks.optionalUser, schema: { params: nameParams, querystring: listQuery } },
    async (request, reply) => {
      const page = await records.list(request.principal, request.params.name, request.query);
      return reply.type(JSON_TYPE).send(recordPageJson(page));
    },
  );

  app.post<{ Params: { name: string }; Body: JsonObject }>(
    base,
    { preHandler: hooks.optionalUser, schema: { params: nameParams, body: objectBody } },
    async (request, reply) => {
      const record = await records.create(request.principal, request.params.name, request.body);
      return reply.code(201).header('etag', etagOf(record.version)).send(record);
    },
  );

  app.get<GetRoute>(`${base}/:id`, { preHandler: hooks.optionalUser, schema: { params: recordParams, querystring: getQuery } }, async (request, reply) => {
    const expand = request.query.expand;
    if (expand !== undefined && expand !== '') {
      const { record, expand: members } = await records.getExpanded(request.principal, request.params.name, request.params.id, expand);
      const json = expandedRecordJson(record, members);
      const tag = expandedEtagOf(record.version, json);
      if (request.headers['if-none-match'] === tag) return reply.code(304).header('etag', tag).send();
      return reply.header('etag', tag).type(JSON_TYPE).send(json);
    }
    const record = await records.get(request.principal, request.params.name, request.params.id);
    const etag = etagOf(record.version);
    if (request.headers['if-none-match'] === etag) return reply.code(304).header('etag', etag).send();
    return reply.header('etag', etag).type(JSON_TYPE).send(recordJson(record));
  });

  // RFC 7396's own media type, accepted on PATCH only (other routes answer it 415): a scope holds its parser.
  void app.register(async (scope) => {
    scope.addContentTypeParser(MERGE_PATCH_TYPE, { parseAs: 'string' }, scope.getDefaultJsonParser('error', 'error'));
    scope.patch<RecordRoute & { Body: JsonValue }>(
      `${base}/:id`,
      { preHandler: hooks.optionalUser, schema: { params: recordParams, body: objectBody } },
      async (request, reply) => {
        const record = await records.patch(request.principal, request.params.name, request.params.id, request.body, request.headers['if-match']);
        return reply.header('etag', etagOf(record.version)).send(record);
      },
    );
  });

  app.put<RecordRoute & { Body: JsonObject }>(
    `${base}/:id`,
    { preHandler: hooks.optionalUser, schema: { params: recordParams, body: objectBody } },
    async (request, reply) => {
      const record = await records.replace(request.principal, request.params.name, request.params.id, request.body, request.headers['if-match']);
      return reply.header('etag', etagOf(record.version)).send(record);
    },
  );

  app.delete<RecordRoute>(`${base}/:id`, { preHandler: hooks.optionalUser, schema: { params: recordParams } }, async (request, reply) => {
    await records.remove(request.principal, request.params.name, request.params.id, request.headers['if-match']);
    return reply.code(204).send();
  });
}

import type { Collection, RuleName } from '../../core/collections/collection.js';
import { BEARER, body, json, NO_CONTENT, op, OPTIONAL, pathParam, query, ref, type Doc } from './openapi-parts.js';
import { readRecordSchema, type RecordSchemaNames } from './record-schemas.js';

const RULE_TEXT: Record<string, string> = {
  public: 'anyone, no token needed',
  authenticated: 'any signed-in user',
  owner: 'signed-in users, on records they own (list: only their own)',
  admin: 'admins only',
};

const IF_MATCH = { name: 'If-Match', in: 'header', required: false, description: '`"<version>"`: change only that version, else 412 and nothing changes', schema: { type: 'string' } };
const IF_NONE_MATCH = { name: 'If-None-Match', in: 'header', required: false, description: '`"<version>"` of a copy the client holds: 304 without a body while it is current', schema: { type: 'string' } };
const ETAG = { ETag: { description: '`"<version>"`; with ?expand= on GET, `"<version>-<hash of the answer>"` (not for If-Match)', schema: { type: 'string' } } };
const EXPAND_TEXT = 'Comma-separated relation paths to include under `expand` (docs/relations.md): relation fields, back-relations `<collection>_via_<field>`, dotted for nested ones (at most 3 deep, 10 paths, 1024 characters), e.g. author,post.author,comments_via_post. Each related record passes its own collection\'s view rule.';

export const recordsTag = (collection: string): string => `records: ${collection}`;

/** `/api/collections/<name>/records…` for one collection, with its own record schemas. */
export function recordPaths(c: Collection, names: RecordSchemaNames): Doc {
  const tags = [recordsTag(c.name)];
  // An expression may match anonymous callers (one without @auth variables can), so a token is optional there.
  const security = (rule: RuleName): unknown => (c.rules[rule] === 'public' || typeof c.rules[rule] === 'object' ? OPTIONAL : BEARER);
  const who = (rule: RuleName): string => {
    const value = c.rules[rule];
    return typeof value === 'string'
      ? `Rule \`${rule}: ${value}\`: ${RULE_TEXT[value] ?? value}; admins always.`
      : `Rule \`${rule}\` is an expression: the records matching \`${JSON.stringify(value).slice(0, 500)}\` (with @auth.* the caller); admins always.`;
  };
  const record = { ...json(ref(names.record)), headers: ETAG };
  const read = { ...json(readRecordSchema(c.name)), headers: ETAG };
  const id = pathParam('id', 'Record id');
  const listSchema = {
    type: 'object',
    required: ['items', 'nextCursor', 'seq'],
    properties: {
      items: { type: 'array', items: readRecordSchema(c.name) },
      nextCursor: { type: ['string', 'null'], description: 'Pass as after for the next page; null on the last page' },
      seq: { type: 'integer', description: 'Change-log position this read reflects; subscribe with since: seq' },
    },
  };
  const readErrors = [400, 401, 403, 404] as const;
  const writeErrors = [...readErrors, 412, 413, 415] as const;
  return {
    [`/api/collections/${c.name}/records`]: {
      get: op(`listRecords_${c.name}`, `List ${c.name} records`, {
        tags,
        security: security('list'),
        description: `Keyset pages of the ${c.name} records the caller may read, filtered and sorted (docs/filters.md). A page may hold fewer than limit records; follow nextCursor. ${who('list')} Each record also passes \`view\`.`,
        errors: readErrors,
        parameters: [
          query('filter', 'URL-encoded JSON, e.g. {"done": false, "priority": {"$gte": 2}}; operators $eq $ne $gt $gte $lt $lte $in $nin $exists $contains $startsWith $and $or $not'),
          query('sort', 'Comma-separated fields, "-" for descending; default createdAt,id'),
          query('limit', '1–200, default 50', { type: 'integer', minimum: 1, maximum: 200 }),
          query('after', 'nextCursor of the previous page'),
          query('expand', EXPAND_TEXT),
        ],
        responses: { 200: json(listSchema) },
      }),
      post: op(`createRecord_${c.name}`, `Create a ${c.name} record`, {
        tags,
        security: security('create'),
        description: `The body must fit the collection's schema; system fields other than id are ignored. An id chosen by the client that exists is 409. ${who('create')}`,
        errors: [400, 401, 403, 404, 409, 413, 415],
        requestBody: body(ref(names.create), `The new ${c.name} record`),
        responses: { 201: { ...json(ref(names.record), 'Created'), headers: ETAG } },
      }),
    },
    [`/api/collections/${c.name}/records/{id}`]: {
      parameters: [id],
      get: op(`getRecord_${c.name}`, `Get a ${c.name} record`, {
        tags,
        security: security('view'),
        description: `A record the caller may read; any other id is 404. ${who('view')}`,
        errors: readErrors,
        parameters: [IF_NONE_MATCH, query('expand', EXPAND_TEXT)],
        responses: { 200: read, 304: { description: 'Not Modified: the If-None-Match tag is current (with expand: the whole answer is unchanged)', headers: ETAG } },
      }),
      patch: op(`patchRecord_${c.name}`, `Change fields of a ${c.name} record`, {
        tags,
        security: security('update'),
        description: `A JSON Merge Patch (RFC 7396): the merged record must fit the schema. ${who('update')}`,
        errors: writeErrors,
        parameters: [IF_MATCH],
        requestBody: body(ref(names.patch), 'The fields to change; null removes a field (RFC 7396)', ['application/json', 'application/merge-patch+json']),
        responses: { 200: record },
      }),
      put: op(`replaceRecord_${c.name}`, `Replace a ${c.name} record`, {
        tags,
        security: security('update'),
        description: `Replaces all user fields; system fields in the body are ignored. ${who('update')}`,
        errors: writeErrors,
        parameters: [IF_MATCH],
        requestBody: body(ref(names.input), `The ${c.name} record's fields`),
        responses: { 200: record },
      }),
      delete: op(`deleteRecord_${c.name}`, `Delete a ${c.name} record`, {
        tags,
        security: security('delete'),
        description: `Deletes the record. ${who('delete')}`,
        errors: [...readErrors, 409, 412],
        parameters: [IF_MATCH],
        responses: { 204: NO_CONTENT },
      }),
    },
  };
}

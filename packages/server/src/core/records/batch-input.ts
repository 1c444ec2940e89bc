import type { JsonObject, JsonValue } from '../collections/collection.js';
import { AppError } from '../errors.js';

/** SPEC §4.8: a batch holds at most this many operations. */
export const MAX_BATCH_OPERATIONS = 100;

/** One operation of `POST /api/batch`, checked for shape (not yet for the collection's rules or schema). */
export type BatchOperation =
  | { readonly op: 'create'; readonly collection: string; readonly record: JsonObject }
  | { readonly op: 'update'; readonly collection: string; readonly id: string; readonly patch: JsonValue; readonly ifMatch?: string | undefined }
  | { readonly op: 'replace'; readonly collection: string; readonly id: string; readonly record: JsonObject; readonly ifMatch?: string | undefined }
  | { readonly op: 'delete'; readonly collection: string; readonly id: string; readonly ifMatch?: string | undefined };

/** One operation's answer, in the shape the operation alone would have had. */
export type BatchResult = { readonly status: 201 | 200; readonly record: JsonObject } | { readonly status: 204 };

const KNOWN_FIELDS: Record<BatchOperation['op'], readonly string[]> = {
  create: ['op', 'collection', 'record'],
  update: ['op', 'collection', 'id', 'patch', 'ifMatch'],
  replace: ['op', 'collection', 'id', 'record', 'ifMatch'],
  delete: ['op', 'collection', 'id', 'ifMatch'],
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function malformed(index: number | null, path: string, message: string): AppError {
  const detail = index === null ? { path, message } : { index, path, message };
  return new AppError('bad_request', `Invalid batch: ${path} ${message}.`, { details: [detail] });
}

/**
 * Checks the shape of a batch body: `{"operations": [...]}` with 1–100
 * operations, each a known `op` with its fields. A malformed batch is
 * refused whole before anything runs, naming the first bad operation.
 */
export function parseBatch(body: unknown): BatchOperation[] {
  if (!isObject(body)) throw malformed(null, '', 'must be an object with "operations"');
  const operations = body['operations'];
  if (!Array.isArray(operations)) throw malformed(null, '/operations', 'must be an array');
  if (operations.length === 0) throw malformed(null, '/operations', 'must hold at least one operation');
  if (operations.length > MAX_BATCH_OPERATIONS) throw malformed(null, '/operations', `must hold at most ${MAX_BATCH_OPERATIONS} operations`);
  for (const key of Object.keys(body)) if (key !== 'operations') throw malformed(null, `/${key}`, 'is not allowed');
  return operations.map((raw, index) => parseOperation(raw, index));
}

function parseOperation(raw: unknown, index: number): BatchOperation {
  const at = `/operations/${index}`;
  if (!isObject(raw)) throw malformed(index, at, 'must be an object');
  const op = raw['op'];
  if (op !== 'create' && op !== 'update' && op !== 'replace' && op !== 'delete') {
    throw malformed(index, `${at}/op`, 'must be one of create, update, replace, delete');
  }
  for (const key of Object.keys(raw)) if (!KNOWN_FIELDS[op].includes(key)) throw malformed(index, `${at}/${key}`, `is not a field of ${op}`);
  const collection = raw['collection'];
  if (typeof collection !== 'string' || collection === '') throw malformed(index, `${at}/collection`, 'must be a collection name');
  const ifMatch = raw['ifMatch'];
  if (ifMatch !== undefined && typeof ifMatch !== 'string') throw malformed(index, `${at}/ifMatch`, 'must be a string like "\\"3\\""');
  if (op === 'create') return { op, collection, record: objectField(raw, 'record', index) };
  const id = raw['id'];
  if (typeof id !== 'string' || id === '') throw malformed(index, `${at}/id`, 'must be a record id');
  switch (op) {
    case 'update':
      if (!Object.hasOwn(raw, 'patch')) throw malformed(index, `${at}/patch`, 'is required');
      return { op, collection, id, patch: raw['patch'] as JsonValue, ifMatch };
    case 'replace':
      return { op, collection, id, record: objectField(raw, 'record', index), ifMatch };
    case 'delete':
      return { op, collection, id, ifMatch };
  }
}

function objectField(raw: Record<string, unknown>, name: string, index: number): JsonObject {
  const value = raw[name];
  if (!isObject(value)) throw malformed(index, `/operations/${index}/${name}`, 'must be an object');
  return value as JsonObject;
}

/**
 * The error of operation `index` as the batch's answer: the same code,
 * status and message as alone, with the index in the first detail (the
 * operation's own details follow).
 */
export function atOperation(error: AppError, index: number): AppError {
  const first = { index, path: `/operations/${index}`, message: error.message };
  return new AppError(error.code, error.message, {
    details: [first, ...(error.details ?? [])],
    cause: error.cause,
    retryAfter: error.retryAfter,
    report: error.report,
  });
}

import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin, expectError, startTestSigil, type Account, type TestSigil } from '../helpers/test-sigil.js';

type Doc = { components: { schemas: Record<string, Record<string, unknown>> }; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { $ref: string } }> } }>> };

/**
 * [collection, schema, a valid create body, a valid patch, a record that the
 * collection's schema refuses (the record schema must refuse it too)].
 * Each top-level keyword here constrains the whole object, so a record schema
 * that applied it to system fields and user fields alike would refuse real records.
 */
const KEYWORDS: readonly [string, object, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>][] = [
  ['kw_property_names', { type: 'object', propertyNames: { pattern: '^[a-z]+$' }, properties: { title: { type: 'string' } } }, { title: 'x' }, { title: 'y' }, { Title: 'x' }],
  ['kw_max_properties', { type: 'object', maxProperties: 2 }, { a: 1, b: 2 }, { b: null }, { a: 1, b: 2, c: 3 }],
  ['kw_min_properties', { type: 'object', minProperties: 1 }, { a: 1 }, { a: 2 }, {}],
  ['kw_not_required', { type: 'object', not: { required: ['a', 'b'] } }, { a: 1 }, { a: 2 }, { a: 1, b: 2 }],
  ['kw_not_min_properties', { type: 'object', not: { minProperties: 3 } }, { a: 1 }, { b: 1 }, { a: 1, b: 2, c: 3 }],
  ['kw_if_then_else', { type: 'object', if: { minProperties: 2 }, then: { required: ['b'] }, else: { maxProperties: 1 } }, { a: 1 }, { a: 3 }, { a: 1, c: 2 }],
  ['kw_dependent_schemas', { type: 'object', dependentSchemas: { a: { maxProperties: 2 } } }, { a: 1, b: 2 }, { b: 3 }, { a: 1, b: 2, c: 3 }],
  ['kw_additional_false', { type: 'object', additionalProperties: false, properties: { a: { type: 'integer' } } }, { a: 1 }, { a: 2 }, { a: 1, b: 2 }],
  ['kw_additional_schema', { type: 'object', additionalProperties: { type: 'string' } }, { a: 's' }, { a: 't' }, { a: 1 }],
  ['kw_all_of_additional', { type: 'object', allOf: [{ properties: { a: { type: 'integer' } }, additionalProperties: false }] }, { a: 1 }, { a: 2 }, { a: 1, b: 2 }],
  ['kw_unevaluated', { type: 'object', properties: { a: { type: 'integer' } }, unevaluatedProperties: false }, { a: 1 }, { a: 2 }, { a: 1, b: 2 }],
  ['kw_any_of_unevaluated', { type: 'object', anyOf: [{ properties: { a: { type: 'integer' } }, unevaluatedProperties: false }] }, { a: 1 }, { a: 2 }, { a: 1, b: 2 }],
  ['kw_pattern_properties', { type: 'object', patternProperties: { '^x_': { type: 'string' } }, additionalProperties: false }, { x_a: 's' }, { x_a: 't' }, { y: 's' }],
  ['kw_one_of', { type: 'object', oneOf: [{ required: ['a'] }, { required: ['b'] }] }, { a: 1 }, { a: 2 }, { a: 1, b: 2 }],
  ['kw_defs', { type: 'object', required: ['due'], properties: { due: { $ref: '#/$defs/date' }, sub: { type: 'array', items: { $ref: '#' } } }, $defs: { date: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } } }, { due: '2026-01-02', sub: [{ due: '2026-01-03' }] }, { due: '2026-02-02' }, { due: 'soon' }],
  ['kw_odd_names', { type: 'object', properties: { '100%': { type: 'object', $defs: { 'a b/c': { type: 'integer' } }, properties: { v: { $ref: '#/properties/100%25/$defs/a%20b~1c' } } } } }, { '100%': { v: 1 } }, { '100%': { v: 2 } }, { '100%': { v: 'x' } }],
  ['kw_nested_defs', { type: 'object', properties: { a: { type: 'object', $defs: { n: { type: 'integer' } }, properties: { v: { $ref: '#/properties/a/$defs/n' }, w: { $ref: '#/$defs/n' } } } }, $defs: { n: { type: 'string' } } }, { a: { v: 1, w: 's' } }, { a: { v: 2 } }, { a: { v: 'x' } }],
];

/** [what, schema, the detail path]: whole-object constraints that no record with system fields could satisfy, or that a shared $ref carries. */
const REFUSED: readonly [string, object, string][] = [
  ['a system field required under not', { type: 'object', not: { required: ['id'] } }, '/schema/not/required/0'],
  ['a whole-record enum', { type: 'object', enum: [{ a: 1 }] }, '/schema/enum'],
  ['a whole-record const under allOf', { type: 'object', allOf: [{ const: { a: 1 } }] }, '/schema/allOf/0/const'],
  ['additionalProperties in a $ref the record reaches', { type: 'object', allOf: [{ $ref: '#/$defs/base' }], $defs: { base: { properties: { a: {} }, additionalProperties: false } } }, '/schema/$defs/base/additionalProperties'],
  ['a $ref with a stray % (not a server error)', { type: 'object', allOf: [{ $ref: '#/properties/100%' }], properties: { '100%': { type: 'object' } } }, '/schema'],
  ['maxProperties in a top-level $ref', { type: 'object', $ref: '#/$defs/base', $defs: { base: { maxProperties: 3 } } }, '/schema/$defs/base/maxProperties'],
];

describe('record schemas in the OpenAPI document fit the records the server really takes and returns', () => {
  let t: TestSigil;
  let admin: Account;
  let doc: Doc;
  const ajv = new Ajv2020({ strict: false, validateFormats: false });

  const schema = (name: string): ValidateFunction => {
    const validate = ajv.getSchema(`doc#/components/schemas/${name}`);
    if (!validate) throw new Error(`no component ${name}`);
    return validate;
  };
  const check = (validate: ValidateFunction, value: unknown): string => (validate(value) ? 'valid' : JSON.stringify(validate.errors));

  beforeAll(async () => {
    t = await startTestSigil();
    admin = await createAdmin(t);
    for (const [name, s] of KEYWORDS) {
      const res = await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name, schema: s } });
      expect(res.statusCode, `${name}: ${res.body}`).toBe(201);
    }
    doc = (await t.request({ method: 'GET', url: '/api/openapi.json', token: admin.accessToken })).json<Doc>();
    ajv.addSchema(doc, 'doc');
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each(KEYWORDS)('%s: create (with a client id), get and patch validate; a record the schema refuses does not', async (name, _s, create, patch, wrong) => {
    const path = `/api/collections/${name}/records`;
    const body = { id: `client_${name}`, ...create };
    const ops = doc.paths[path]!;
    expect(ops['post']!.requestBody!.content['application/json']!.schema.$ref).toBe(`#/components/schemas/RecordCreate_${name}`);
    expect(check(schema(`RecordCreate_${name}`), body), 'create body').toBe('valid');
    const created = await t.request({ method: 'POST', url: path, token: admin.accessToken, body });
    expect(created.statusCode, created.body).toBe(201);
    expect(check(schema(`Record_${name}`), created.json()), 'created').toBe('valid');

    const got = await t.request({ method: 'GET', url: `${path}/client_${name}`, token: admin.accessToken });
    expect(check(schema(`Record_${name}`), got.json()), 'got').toBe('valid');

    expect(doc.paths[`${path}/{id}`]!['patch']!.requestBody!.content['application/json']!.schema.$ref).toBe(`#/components/schemas/RecordPatch_${name}`);
    expect(check(schema(`RecordPatch_${name}`), patch), 'patch body').toBe('valid');
    const patched = await t.request({ method: 'PATCH', url: `${path}/client_${name}`, token: admin.accessToken, body: patch });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(check(schema(`Record_${name}`), patched.json()), 'patched').toBe('valid');

    // Not loosened into accepting anything: the server refuses `wrong`, and so does the document.
    expectError(await t.request({ method: 'POST', url: path, token: admin.accessToken, body: wrong }), 400, 'validation_failed');
    const record = got.json<Record<string, unknown>>();
    const systemFields = { id: record['id'], createdAt: record['createdAt'], updatedAt: record['updatedAt'], owner: record['owner'], version: record['version'] };
    expect(schema(`Record_${name}`)({ ...systemFields, ...wrong }), 'wrong record').toBe(false);
    expect(schema(`RecordInput_${name}`)(wrong), 'wrong input').toBe(false);
  });

  it('hoists local $defs into components that generators understand, and points every $ref there', () => {
    const text = JSON.stringify(doc.components.schemas);
    expect(text).not.toContain('/$defs/');
    expect(doc.components.schemas['RecordInput_kw_defs']).not.toHaveProperty('$defs');
    expect(doc.components.schemas['Def_kw_defs_date']).toEqual({ type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' });
    // $defs below the top are hoisted too, each $ref to its own: two `n`s, one per scope.
    expect(doc.components.schemas['Def_kw_nested_defs_n']).toEqual({ type: 'string' });
    expect(doc.components.schemas['Def_kw_nested_defs_n_2']).toEqual({ type: 'integer' });
    expect(check(schema('Record_kw_defs'), { id: 'a', createdAt: 'x', updatedAt: 'x', owner: null, version: 1, due: '2026-01-01', sub: [{ due: 'late' }] })).not.toBe('valid');
  });

  it('declares the client id on create only', () => {
    const create = doc.components.schemas['RecordCreate_kw_additional_false'] as { properties: Record<string, { pattern?: string }>; required?: string[] };
    expect(create.properties['id']!.pattern).toBe('^[A-Za-z0-9_-]{1,64}$');
    expect(create.required ?? []).not.toContain('id');
    expect(check(schema('RecordCreate_kw_additional_false'), { id: 'bad id!', a: 1 })).not.toBe('valid');
    expect(check(schema('RecordInput_kw_additional_false'), { id: 'x', a: 1 })).not.toBe('valid');
  });

  it('makes PATCH bodies partial records in which null removes an optional field', () => {
    const patch = schema('RecordPatch_kw_defs');
    expect(check(patch, {})).toBe('valid');
    expect(check(patch, { sub: null })).toBe('valid');
    expect(check(patch, { due: 3 })).not.toBe('valid');
    expect(check(patch, { due: null }), 'due is required: null would remove it').not.toBe('valid');
  });

  it.each(REFUSED)('refuses %s at collection creation with a clear reason', async (_what, s, detailPath) => {
    const res = await t.request({ method: 'POST', url: '/api/collections', token: admin.accessToken, body: { name: 'refused', schema: s } });
    expectError(res, 400, 'validation_failed');
    const details = res.json<{ error: { details: { path: string; message: string }[] } }>().error.details;
    expect(details.map((d) => d.path), JSON.stringify(details)).toContain(detailPath);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkedBody, rawExchange, type RawResponse } from '../helpers/raw-http.js';
import { expectError, startTestSigil, type TestSigil } from '../helpers/test-sigil.js';

/** Errors raised below Sigil's routes (URL decoding, the HTTP parser, the body reader) still use Sigil's error body. */
describe('framework-level errors', () => {
  let t: TestSigil;
  let url: string;
  beforeAll(async () => {
    t = await startTestSigil({ listen: true });
    url = t.url ?? '';
  });
  afterAll(() => t.close());

  function expectSigilError(res: RawResponse, status: number, code: string): void {
    expect(res.status, res.body).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(res.body) as { error: { code: string; message: string } };
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error.code).toBe(code);
    expect(typeof body.error.message).toBe('string');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  }

  it('a malformed URL is 400 bad_request and the URL is not echoed', async () => {
    const res = await rawExchange(url, ['GET /api/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']);
    expectSigilError(res, 400, 'bad_request');
    expect(res.body).not.toContain('%E0');
    expect(res.body).not.toContain('FST_');
  });

  it('a path parameter over the router limit is 400 bad_request', async () => {
    const res = await t.request({ method: 'GET', url: `/api/collections/${'a'.repeat(200)}/records` });
    expectError(res, 400, 'bad_request');
    expect(res.body).not.toContain('aaaa');
  });

  it('headers over the limit are 431 headers_too_large', async () => {
    const res = await rawExchange(url, [`GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`]);
    expectSigilError(res, 431, 'headers_too_large');
    expect(res.body).not.toContain('bbbb');
  });

  it('a request the HTTP parser cannot read is 400 bad_request', async () => {
    const res = await rawExchange(url, ['GET /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab']);
    expectSigilError(res, 400, 'bad_request');
    const garbage = await rawExchange(url, ['\x00\x01\x02 nonsense\r\n\r\n']);
    expectSigilError(garbage, 400, 'bad_request');
  });

  it('an empty or non-object JSON body is 400 in the error body', async () => {
    const empty = await t.request({ method: 'POST', url: '/api/auth/login', body: '', headers: { 'content-type': 'application/json' } });
    expectError(empty, 400, 'bad_request');
    const notJson = await t.request({ method: 'POST', url: '/api/auth/login', body: 'nope', headers: { 'content-type': 'application/json' } });
    expectError(notJson, 400, 'bad_request');
    const badLength = await rawExchange(url, ['POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}']);
    expectSigilError(badLength, 400, 'bad_request');
  });

  // 8 MiB: on loopback the kernel's buffers swallow a few MiB, so a smaller body would not show a reset.
  it('a chunked body over 1 MiB reliably reaches the client as a complete 413', async () => {
    const head = 'POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
    for (let attempt = 0; attempt < 6; attempt += 1) {
      const res = await rawExchange(url, [head, ...chunkedBody(8 * 1024 * 1024, 64)]);
      expectSigilError(res, 413, 'payload_too_large');
      expect(res.headers['connection']).toBe('close');
      expect(res.ending, `attempt ${attempt}`).toBe('close');
    }
  });

  it('a declared Content-Length over 1 MiB also reaches the client as a complete 413', async () => {
    const size = 8 * 1024 * 1024;
    const head = `POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`;
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const pieces = Array.from({ length: 64 }, () => Buffer.alloc(size / 64, 0x61));
      const res = await rawExchange(url, [head, ...pieces]);
      expectSigilError(res, 413, 'payload_too_large');
      expect(res.ending, `attempt ${attempt}`).toBe('close');
    }
  });

  it('the server still answers after all of the above', async () => {
    expect((await t.request({ method: 'GET', url: '/api/health' })).statusCode).toBe(200);
  });
});

/**
 * A mail server that accepts connections and never answers: reset mails
 * pile up only to a bound (then 503), and shutdown does not wait for them
 * beyond its deadline.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSmtpMailer } from '../../src/adapters/mail/mailers.js';
import { createAuthThrottle } from '../../src/core/auth/auth-throttle.js';
import { createIdentityCache } from '../../src/core/auth/identity-cache.js';
import { createPasswordHasher } from '../../src/core/auth/password.js';
import { createPasswordResets } from '../../src/core/auth/password-reset.js';
import { createWorkGate } from '../../src/core/auth/work-gate.js';
import { systemClock } from '../../src/core/clock.js';
import { AppError } from '../../src/core/errors.js';
import { DEFAULT_RESET_PASSWORD } from '../../src/core/mail/templates.js';
import { CHEAP_ARGON2, startTestSigil, uniqueName, type TestSigil } from '../helpers/test-sigil.js';

const SPEC = { limit: 1000, windowMs: 60_000 };

describe('reset mails to a mail server that never answers', () => {
  let t: TestSigil;
  let silent: Server;
  const sockets = new Set<Socket>();
  let port = 0;

  beforeAll(async () => {
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    port = (silent.address() as AddressInfo).port;
    t = await startTestSigil();
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    await t?.close();
  });

  it('holds at most maxPending of them, then answers 503; drain gives up at its deadline', async () => {
    const mailer = createSmtpMailer({ url: `smtp://127.0.0.1:${port}`, from: 'no-reply@app.example' });
    const errors: unknown[] = [];
    const resets = createPasswordResets({
      store: t.sigil.store,
      passwords: createPasswordHasher(CHEAP_ARGON2, createWorkGate({ maxConcurrent: 1, maxQueued: 10 })),
      clock: systemClock,
      throttle: createAuthThrottle({ perAddress: SPEC, perUsernameAddress: SPEC, failuresPerUsername: SPEC, underAttack: SPEC, resetsPerEmail: SPEC, clock: systemClock }),
      identities: createIdentityCache({ ttlMs: 0, clock: systemClock }),
      mailer,
      template: DEFAULT_RESET_PASSWORD,
      appName: 'Sigil',
      publicUrl: 'http://localhost',
      ttlSeconds: 1800,
      onError: (err) => errors.push(err),
      maxPending: 2,
    });
    const emails = [0, 1, 2].map(() => `${uniqueName('hung')}@example.com`);
    for (const email of emails) {
      const res = await t.request({ method: 'POST', url: '/api/auth/register', body: { username: uniqueName('hung'), password: 'hung password 1', email } });
      expect(res.statusCode).toBe(201);
    }
    const origin = { address: '198.51.100.7' };
    await resets.request({ email: emails[0] }, origin);
    await resets.request({ email: emails[1] }, origin);
    const refused = await resets.request({ email: emails[2] }, origin).then(() => null, (err: unknown) => err);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ code: 'unavailable', retryAfter: 5 });
    // Both connections reach the silent server and wait for its greeting.
    await expect.poll(() => sockets.size, { timeout: 5000 }).toBe(2);

    const started = Date.now();
    await resets.drain(200);
    expect(Date.now() - started).toBeLessThan(2000);
    mailer.close();
    for (const socket of sockets) socket.destroy();
    await resets.drain(5000);
    expect(errors.length).toBe(2);
  });
});

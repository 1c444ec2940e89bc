/**
 * client.auth.verifyEmail, resendVerification, changeEmail, register without
 * a session (AUTH_REQUIRE_VERIFIED_EMAIL) and client.users.resendVerification,
 * against a real Sigil that mails through a real SMTP server on loopback.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/index.js';
import { startSmtpSink, type ReceivedMail, type SmtpSink } from '../../server/test/helpers/smtp-sink.js';
import { nodeClient, PASSWORD, startFixture, uniqueUser, type Fixture } from './helpers.js';

const tokenOf = (mail: ReceivedMail): string => {
  const token = /https:\/\/app\.example\/verify-email#token=([A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
  if (token === undefined) throw new Error(`no verification link in ${mail.text}`);
  return token;
};

describe('client email verification', () => {
  let f: Fixture;
  let smtp: SmtpSink;
  beforeAll(async () => {
    smtp = await startSmtpSink();
    f = await startFixture('sqlite', { env: { SMTP_URL: smtp.url, MAIL_FROM: 'no-reply@app.example', PUBLIC_URL: 'https://app.example', EMAIL_VERIFICATION_RATE_LIMIT: '1000/1m' } });
  });
  afterAll(async () => {
    await f?.close();
    await smtp?.close();
  });

  it('verifies the address from the registration mail, and resends on request', async () => {
    const client = nodeClient(f.url);
    const username = uniqueUser('verify');
    const email = `${username}@example.com`;
    expect(await client.auth.register({ username, password: PASSWORD, email })).toMatchObject({ email, emailVerified: false });
    expect(client.auth.session).not.toBeNull();
    const first = tokenOf(await smtp.next(email));
    await expect(client.auth.resendVerification()).resolves.toBeUndefined();
    const second = tokenOf(await smtp.next(email));
    expect(second).not.toBe(first);
    await expect(client.auth.verifyEmail(second)).resolves.toBeUndefined();
    expect(await client.auth.me()).toMatchObject({ email, emailVerified: true });
    expect(client.auth.session?.user.emailVerified).toBe(true);
    await expect(client.auth.verifyEmail(second)).rejects.toMatchObject({ code: 'unauthorized', status: 401, message: 'Invalid or expired verification token.' });
    await expect(client.auth.resendVerification()).rejects.toMatchObject({ code: 'conflict', status: 409 });
    client.close();
  });

  it('changes the address only once the link to the new one is followed', async () => {
    const client = nodeClient(f.url);
    const username = uniqueUser('change');
    const email = `${username}@example.com`;
    await client.auth.register({ username, password: PASSWORD, email });
    await smtp.next(email);
    const next = `new-${email}`;
    const answer = await client.auth.changeEmail(next);
    expect(answer).toMatchObject({ user: { email }, pendingEmail: next });
    expect(client.auth.session?.user.email).toBe(email);
    await client.auth.verifyEmail(tokenOf(await smtp.next(next)));
    expect(await client.auth.me()).toMatchObject({ email: next, emailVerified: true });
    expect(await client.auth.changeEmail(null)).toEqual({ user: expect.objectContaining({ email: null }) as unknown, pendingEmail: null });
    client.close();
  });

  it('an admin resends a user\'s link; others may not', async () => {
    const admin = createClient({ url: f.url, webSocket: WebSocket });
    await admin.auth.login({ username: f.admin.username, password: f.admin.password });
    const user = nodeClient(f.url);
    const username = uniqueUser('byadmin');
    const email = `${username}@example.com`;
    await user.auth.register({ username, password: PASSWORD, email });
    await smtp.next(email);
    await expect(admin.users.resendVerification(username)).resolves.toBeUndefined();
    await user.auth.verifyEmail(tokenOf(await smtp.next(email)));
    expect(await admin.users.get(username)).toMatchObject({ emailVerified: true });
    await expect(user.users.resendVerification(username)).rejects.toMatchObject({ code: 'forbidden', status: 403 });
    await expect(admin.users.resendVerification(username)).rejects.toMatchObject({ code: 'conflict', status: 409 });
    admin.close();
    user.close();
  });
});

describe('client registration under AUTH_REQUIRE_VERIFIED_EMAIL', () => {
  let f: Fixture;
  let smtp: SmtpSink;
  beforeAll(async () => {
    smtp = await startSmtpSink();
    f = await startFixture('sqlite', { env: { SMTP_URL: smtp.url, MAIL_FROM: 'no-reply@app.example', PUBLIC_URL: 'https://app.example', AUTH_REQUIRE_VERIFIED_EMAIL: 'true' } });
  });
  afterAll(async () => {
    await f?.close();
    await smtp?.close();
  });

  it('stays signed out until the link is followed; login says why it is refused', async () => {
    const client = nodeClient(f.url);
    const username = uniqueUser('strict');
    const email = `${username}@example.com`;
    await expect(client.auth.register({ username, password: PASSWORD })).rejects.toMatchObject({ code: 'validation_failed', status: 400 });
    expect(await client.auth.register({ username, password: PASSWORD, email })).toMatchObject({ username, email, emailVerified: false });
    expect(client.auth.session).toBeNull();
    await expect(client.auth.login({ username, password: PASSWORD })).rejects.toMatchObject({ code: 'email_not_verified', status: 403 });
    // Signed out, it asks by address.
    await expect(client.auth.resendVerification(email)).resolves.toBeUndefined();
    await smtp.next(email);
    await client.auth.verifyEmail(tokenOf(await smtp.next(email)));
    expect(await client.auth.login({ username, password: PASSWORD })).toMatchObject({ emailVerified: true });
    expect(client.auth.session).not.toBeNull();
    client.close();
  });
});

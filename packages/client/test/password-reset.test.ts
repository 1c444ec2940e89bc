/**
 * client.auth.forgotPassword and resetPassword against a real Sigil that
 * mails through a real SMTP server on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpSink, type SmtpSink } from '../../server/test/helpers/smtp-sink.js';
import { nodeClient, PASSWORD, startFixture, uniqueUser, type Fixture } from './helpers.js';

describe('client.auth password reset', () => {
  let f: Fixture;
  let smtp: SmtpSink;
  beforeAll(async () => {
    smtp = await startSmtpSink();
    f = await startFixture('sqlite', { env: { SMTP_URL: smtp.url, MAIL_FROM: 'no-reply@app.example', PUBLIC_URL: 'https://app.example' } });
  });
  afterAll(async () => {
    await f?.close();
    await smtp?.close();
  });

  it('asks for the mail, resets with the token from its link, and the old session ends', async () => {
    const client = nodeClient(f.url);
    const username = uniqueUser('reset');
    const email = `${username}@example.com`;
    await client.auth.register({ username, password: PASSWORD, email });
    // Registration mailed a verification link first.
    expect((await smtp.next(email)).text).toContain('/verify-email#token=');
    await expect(client.auth.forgotPassword(email)).resolves.toBeUndefined();
    await expect(client.auth.forgotPassword(`nobody-${username}@example.com`)).resolves.toBeUndefined();

    const mail = await smtp.next(email);
    const token = /https:\/\/app\.example\/reset-password#token=([A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
    expect(token).toBeDefined();
    await expect(client.auth.resetPassword(token!, 'a brand new password')).resolves.toBeUndefined();

    await expect(client.auth.me()).rejects.toMatchObject({ code: 'unauthorized', status: 401 });
    await expect(client.auth.resetPassword(token!, 'yet another password')).rejects.toMatchObject({ code: 'unauthorized', status: 401 });
    await expect(client.auth.login({ username, password: PASSWORD })).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect((await client.auth.login({ username, password: 'a brand new password' })).username).toBe(username);
    client.close();
  });

  it('reports bad input as SigilErrors', async () => {
    const client = nodeClient(f.url);
    await expect(client.auth.forgotPassword('not-an-email')).rejects.toMatchObject({ code: 'validation_failed', status: 400 });
    await expect(client.auth.resetPassword('A'.repeat(43), 'short')).rejects.toMatchObject({ code: 'validation_failed', status: 400 });
    client.close();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpSink, type SmtpSink } from '../../server/test/helpers/smtp-sink.js';
import { NO_BROWSER, seriousViolations, startHarness, type Harness } from './harness.js';

const PASSWORD = 'correct horse battery';

describe.skipIf(NO_BROWSER)('the verify page at /verify-email', () => {
  let h: Harness;
  let smtp: SmtpSink;
  beforeAll(async () => {
    smtp = await startSmtpSink();
    h = await startHarness({ SMTP_URL: smtp.url, MAIL_FROM: 'no-reply@app.example', AUTH_REQUIRE_VERIFIED_EMAIL: 'true' });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await smtp?.close();
  });

  /** The link of the next message the SMTP server receives for `to`, on the port this server got (PUBLIC_URL defaults to HOST:PORT, started on port 0). */
  async function mailedLink(to: string): Promise<string> {
    const mail = await smtp.next(to, 10_000);
    const found = /(http:\/\/[^\s"]+\/verify-email#token=[A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
    expect(found).toBeDefined();
    const mailed = new URL(found!);
    expect(mailed.pathname).toBe('/verify-email');
    return `${h.url}${mailed.pathname}${mailed.hash}`;
  }

  it('follows the mailed link: confirms the address, sign-in works, and the link is spent', { timeout: 60_000 }, async () => {
    const registered = await h.api('POST', '/api/auth/register', { username: 'newcomer', password: PASSWORD, email: 'newcomer@example.com' });
    expect(registered.status).toBe(202);
    expect((await h.api('POST', '/api/auth/login', { username: 'newcomer', password: PASSWORD })).status).toBe(403);
    const link = await mailedLink('newcomer@example.com');

    const page = await h.open();
    await page.goto(link);
    await page.getByRole('heading', { name: 'Email address confirmed' }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Your email address is confirmed' }).waitFor();
    expect(new URL(page.url()).hash).toBe(''); // the token leaves the address bar
    expect(await seriousViolations(page)).toEqual([]);
    expect((await h.api('POST', '/api/auth/login', { username: 'newcomer', password: PASSWORD })).status).toBe(200);
    await page.context().close();

    // The same link again (a new tab, as from the mail): refused in words.
    const again = await h.open();
    await again.goto(link);
    await again.getByRole('alert').filter({ hasText: /invalid or expired verification token/i }).waitFor();
    expect(await again.getByRole('heading', { name: 'Confirm your email address' }).count()).toBe(1);
    await again.context().close();
    expect(h.problems.filter((p) => !/\b401\b/.test(p))).toEqual([]);
  });

  it('says what is wrong with a link without a token; serves the page under the strict policy', { timeout: 30_000 }, async () => {
    const res = await fetch(`${h.url}/verify-email`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const page = await h.open();
    await page.goto(`${h.url}/verify-email`);
    await page.getByRole('alert').filter({ hasText: 'no verification token' }).waitFor();
    await page.context().close();
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../config/config.js';
import { DEFAULT_RESET_PASSWORD, DEFAULT_VERIFY_EMAIL, escapeHtml, loadResetPasswordTemplate, loadVerifyEmailTemplate, renderMail } from './templates.js';

const VARS = { appName: 'A&B <"Shop">', username: 'ada', link: 'https://x.example/reset-password#token=abc', expiresInMinutes: '30' };

describe('mail templates', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-templates-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('fills text as is, escapes HTML, and keeps the subject on one line', () => {
    const mail = renderMail({ subject: '{{appName}}\r\nBcc: x@y.example', text: '{{appName}} {{link}}', html: '<b>{{appName}}</b> <a href="{{link}}">go</a>' }, VARS);
    expect(mail.text).toBe('A&B <"Shop"> https://x.example/reset-password#token=abc');
    expect(mail.html).toBe('<b>A&amp;B &lt;&quot;Shop&quot;&gt;</b> <a href="https://x.example/reset-password#token=abc">go</a>');
    expect(mail.subject).toBe('A&B <"Shop"> Bcc: x@y.example');
    expect(escapeHtml(`'`)).toBe('&#39;');
  });

  it('has built-in templates naming the app, the user, the link and the lifetime', () => {
    const mail = renderMail(loadResetPasswordTemplate(undefined), VARS);
    expect(mail.subject).toBe('Reset your A&B <"Shop"> password');
    for (const part of ['ada', VARS.link, '30 minutes']) expect(mail.text).toContain(part);
    expect(mail.html).toContain('A&amp;B &lt;&quot;Shop&quot;&gt;');
    expect(mail.html).not.toContain('<"Shop">');
  });

  it('takes each part an app provides and keeps the built-in rest', () => {
    writeFileSync(join(dir, 'reset-password.subject.txt'), '  {{appName}}: new password\n');
    writeFileSync(join(dir, 'reset-password.html'), '<p>{{ link }}</p>');
    const template = loadResetPasswordTemplate(dir);
    expect(template).toEqual({ subject: '{{appName}}: new password', text: DEFAULT_RESET_PASSWORD.text, html: '<p>{{ link }}</p>' });
  });

  it('refuses a missing directory, unknown placeholders and bodies without the link', () => {
    const problem = (fn: () => unknown): string => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).variable).toBe('MAIL_TEMPLATES_DIR');
        return (err as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    expect(problem(() => loadResetPasswordTemplate(join(dir, 'nope')))).toContain('not a directory');
    writeFileSync(join(dir, 'reset-password.txt'), 'Hi {{user}}: {{link}}');
    expect(problem(() => loadResetPasswordTemplate(dir))).toContain('reset-password.txt with {{user}}');
    writeFileSync(join(dir, 'reset-password.txt'), 'Hi {{username}}');
    expect(problem(() => loadResetPasswordTemplate(dir))).toContain('reset-password.txt without {{link}}');
  });

  it('has a verify-email template of its own, overridable part by part, with its own placeholders', () => {
    const vars = { appName: 'Shop', username: 'ada', email: 'ada@example.com', link: 'https://x.example/verify-email#token=abc', expiresInHours: '24' };
    const mail = renderMail(loadVerifyEmailTemplate(undefined), vars);
    expect(mail.subject).toBe('Confirm your Shop email address');
    for (const part of ['ada', 'ada@example.com', vars.link, '24 hours']) expect(mail.text).toContain(part);
    writeFileSync(join(dir, 'verify-email.txt'), 'Confirm {{email}}: {{link}}');
    writeFileSync(join(dir, 'reset-password.txt'), 'Reset: {{link}}');
    expect(loadVerifyEmailTemplate(dir)).toEqual({ subject: DEFAULT_VERIFY_EMAIL.subject, text: 'Confirm {{email}}: {{link}}', html: DEFAULT_VERIFY_EMAIL.html });
    // {{email}} is the verify mail's only: the reset mail refuses it.
    writeFileSync(join(dir, 'reset-password.txt'), 'Reset {{email}}: {{link}}');
    expect(() => loadResetPasswordTemplate(dir)).toThrow(/reset-password.txt with \{\{email\}\}/);
    writeFileSync(join(dir, 'verify-email.html'), '<p>no link</p>');
    expect(() => loadVerifyEmailTemplate(dir)).toThrow(/verify-email.html without \{\{link\}\}/);
  });
});

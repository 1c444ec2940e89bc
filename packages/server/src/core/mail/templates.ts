import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../config/config.js';

/** One kind of mail: a subject line, a plain-text body and an HTML body, with `{{name}}` placeholders. */
export interface MailTemplate {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export interface RenderedMail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** What the reset-password mail may name. */
export const RESET_PASSWORD_VARIABLES = ['appName', 'username', 'link', 'expiresInMinutes'] as const;
export type ResetPasswordVariables = Record<(typeof RESET_PASSWORD_VARIABLES)[number], string>;

const PLACEHOLDER = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

export const DEFAULT_RESET_PASSWORD: MailTemplate = {
  subject: 'Reset your {{appName}} password',
  text: `Hello {{username}},

someone (hopefully you) asked to reset the password of your {{appName}} account.
To choose a new password, open this link within {{expiresInMinutes}} minutes:

{{link}}

The link works once. If you did not ask for it, ignore this mail: your password stays as it is.
`,
  html: `<!doctype html>
<html>
<body style="font-family: sans-serif; line-height: 1.5">
<p>Hello {{username}},</p>
<p>someone (hopefully you) asked to reset the password of your {{appName}} account.
To choose a new password, open this link within {{expiresInMinutes}} minutes:</p>
<p><a href="{{link}}">Reset my password</a></p>
<p style="word-break: break-all">{{link}}</p>
<p>The link works once. If you did not ask for it, ignore this mail: your password stays as it is.</p>
</body>
</html>
`,
};

/** What the verify-email mail may name: `email` is the address being verified. */
export const VERIFY_EMAIL_VARIABLES = ['appName', 'username', 'email', 'link', 'expiresInHours'] as const;
export type VerifyEmailVariables = Record<(typeof VERIFY_EMAIL_VARIABLES)[number], string>;

export const DEFAULT_VERIFY_EMAIL: MailTemplate = {
  subject: 'Confirm your {{appName}} email address',
  text: `Hello {{username}},

to confirm that {{email}} is the email address of your {{appName}} account, open this link within {{expiresInHours}} hours:

{{link}}

The link works once. If you did not ask for it, ignore this mail: nothing changes.
`,
  html: `<!doctype html>
<html>
<body style="font-family: sans-serif; line-height: 1.5">
<p>Hello {{username}},</p>
<p>to confirm that {{email}} is the email address of your {{appName}} account, open this link within {{expiresInHours}} hours:</p>
<p><a href="{{link}}">Confirm my email address</a></p>
<p style="word-break: break-all">{{link}}</p>
<p>The link works once. If you did not ask for it, ignore this mail: nothing changes.</p>
</body>
</html>
`,
};

/**
 * The reset-password template: the built-in one, with any of
 * `reset-password.subject.txt`, `reset-password.txt` and
 * `reset-password.html` in `dir` replacing its part. Checked at start-up:
 * an unknown placeholder, or a body without `{{link}}`, is a ConfigError.
 */
export function loadResetPasswordTemplate(dir: string | undefined): MailTemplate {
  return loadTemplate(dir, 'reset-password', DEFAULT_RESET_PASSWORD, RESET_PASSWORD_VARIABLES);
}

/** The verify-email template, from `verify-email.subject.txt`, `verify-email.txt` and `verify-email.html` as for reset-password. */
export function loadVerifyEmailTemplate(dir: string | undefined): MailTemplate {
  return loadTemplate(dir, 'verify-email', DEFAULT_VERIFY_EMAIL, VERIFY_EMAIL_VARIABLES);
}

function loadTemplate(dir: string | undefined, name: string, defaults: MailTemplate, variables: readonly string[]): MailTemplate {
  if (dir === undefined) return defaults;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ConfigError('MAIL_TEMPLATES_DIR', `is not a directory (${dir})`);
  const files = { subject: `${name}.subject.txt`, text: `${name}.txt`, html: `${name}.html` } as const;
  const part = (key: keyof typeof files): string => {
    const file = join(dir, files[key]);
    if (!existsSync(file)) return defaults[key];
    const content = readFileSync(file, 'utf8');
    const names = [...content.matchAll(PLACEHOLDER)].map((m) => m[1]!);
    const unknown = names.find((n) => !variables.includes(n));
    if (unknown !== undefined) {
      throw new ConfigError('MAIL_TEMPLATES_DIR', `has ${files[key]} with {{${unknown}}}; known: ${variables.map((v) => `{{${v}}}`).join(' ')}`);
    }
    if (key !== 'subject' && !names.includes('link')) throw new ConfigError('MAIL_TEMPLATES_DIR', `has ${files[key]} without {{link}}`);
    return key === 'subject' ? content.trim() : content;
  };
  return { subject: part('subject'), text: part('text'), html: part('html') };
}

/** Fills the placeholders: as they are in the text, HTML-escaped in the HTML, on one line in the subject. */
export function renderMail(template: MailTemplate, vars: Readonly<Record<string, string>>): RenderedMail {
  const fill = (source: string, encode: (value: string) => string): string =>
    source.replace(PLACEHOLDER, (_, name: string) => encode(vars[name] ?? ''));
  return {
    subject: fill(template.subject, (v) => v).replace(/[\r\n]+/g, ' ').trim(),
    text: fill(template.text, (v) => v),
    html: fill(template.html, escapeHtml),
  };
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

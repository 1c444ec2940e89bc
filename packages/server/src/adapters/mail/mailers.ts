import type { Logger } from 'pino';
import nodemailer from 'nodemailer';
import type { Mailer } from '../../core/mail/mailer.js';

/** SMTP through nodemailer: `smtp://` (STARTTLS when the server offers it) or `smtps://` (TLS from the start). */
export function createSmtpMailer(opts: { readonly url: string; readonly from: string }): Mailer {
  // Short timeouts: a hung mail server must not hold reset mails (and shutdown) for nodemailer's default minutes.
  const transport = nodemailer.createTransport({ url: opts.url, connectionTimeout: 15_000, greetingTimeout: 15_000, socketTimeout: 30_000 });
  return {
    async send(mail) {
      await transport.sendMail({ from: opts.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
    },
    close() {
      transport.close();
    },
  };
}

/** Development without SMTP_URL: each message, link included, goes to the log instead. */
export function createLogMailer(logger: Logger): Mailer {
  return {
    send(mail) {
      logger.info({ mail: { to: mail.to, subject: mail.subject, text: mail.text } }, `mail not sent (SMTP_URL is unset): "${mail.subject}" to ${mail.to}\n${mail.text}`);
      return Promise.resolve();
    },
    close() {},
  };
}

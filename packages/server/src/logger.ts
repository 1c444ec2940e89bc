import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config/config.js';

/**
 * Paths that must never reach a log: credentials in headers and bodies.
 * Request bodies are not logged at all; this is the second line of defence.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.password',
  '*.currentPassword',
  '*.refreshToken',
  '*.accessToken',
  '*.token',
];

export function createLogger(opts: { readonly level: LogLevel; readonly destination?: DestinationStream }): Logger {
  const options = {
    level: opts.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { service: 'sigil' },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

// Structured logging (JSON lines via pino) with redaction: identifiers and operational facts only.
// Never log a name, an email address, an answer, a score or a note: the redact paths below are a
// safety net, not a licence.
import pino, { type Logger } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'email', '*.email', '*.name', 'givenName', '*.givenName', 'familyName', '*.familyName',
  'given_name', '*.given_name', 'family_name', '*.family_name', 'phone', '*.phone', 'dateOfBirth', '*.dateOfBirth',
  'answers', '*.answers', 'notes', '*.notes', 'note', '*.note', 'password', '*.password', 'token', '*.token',
  'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
];

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', name = 'kap', destination?: pino.DestinationStream): Logger {
  const opts = { name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { pid: process.pid } };
  return destination ? pino(opts, destination) : pino(opts);
}

// The mail transport: nodemailer, created once from config and injected into activities.
// Hardened after medplum's email module: the sender always comes from config, nodemailer may not
// read files or fetch URLs named in a message, and logs carry a message id, never an address or a body.
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';

export interface OutgoingAttachment {
  filename: string;
  content: string | Buffer;
  contentType: string;
}

export interface OutgoingMail {
  to: string[];
  subject: string;
  text: string;
  html?: string;
  /** RFC 5322 Message-ID with angle brackets, e.g. `<abc@kap.local>`; deterministic per outbox key. */
  messageId: string;
  /** Fixed Date header (the outbox row's creation): a resend is byte-identical. */
  date: Date;
  attachments?: OutgoingAttachment[];
  /** Extra headers (e.g. `X-KAP-Key`). */
  headers?: Record<string, string>;
}

export interface SendHooks {
  /**
   * Awaited after the SMTP connection is open and authenticated, before one byte of the message is
   * handed over. The outbox records "submitted" here: a crash before it provably sent nothing.
   */
  beforeData?: () => Promise<void>;
}

export interface SendResult {
  accepted: string[];
  rejected: string[];
  /** The server's final reply, e.g. `250 2.0.0 Ok: queued as 4Bc1x`. */
  response: string;
  /** The server's queue id when its reply names one. */
  providerMessageId: string | null;
}

export interface Mailer {
  readonly from: string;
  send(mail: OutgoingMail, hooks?: SendHooks): Promise<SendResult>;
  close(): void;
}

/** Error codes of failures that happened before the server could have accepted the message. */
export class MailSendError extends Error {
  constructor(
    message: string,
    /** nodemailer's code, e.g. ECONNECTION, ETIMEDOUT, EENVELOPE, EMESSAGE */
    readonly code: string | undefined,
    /** SMTP reply code when the server answered (4xx transient, 5xx permanent). */
    readonly responseCode: number | undefined,
    /** true when the server may have accepted the message (the connection broke after the data). */
    readonly ambiguous: boolean,
  ) {
    super(message);
    this.name = 'MailSendError';
  }
  get permanent(): boolean {
    return this.responseCode !== undefined && this.responseCode >= 500 && this.responseCode < 600;
  }
}

/** Deterministic Message-ID for an outbox key: the same key always yields the same id. */
export function messageIdForKey(key: string, domain: string): string {
  const digest = crypto.createHash('sha256').update(`kap-outbox:${key}`).digest('hex').slice(0, 32);
  return `<${digest}@${domain}>`;
}

/** The domain part of a From address ("KAP Clinic <no-reply@kap.local>" gives "kap.local"). */
export function domainOf(from: string): string {
  const m = /@([^>\s]+)>?\s*$/.exec(from);
  return m ? m[1]! : 'kap.local';
}

/** Address part of a From header value. */
export function addressOf(from: string): string {
  const m = /<([^>]+)>/.exec(from);
  return (m ? m[1]! : from).trim();
}

export interface SmtpMailerOptions {
  /**
   * smtp:// or smtps:// URL, with credentials and query options nodemailer understands; they win over
   * the defaults here (e.g. `?pool=false` for a connection per message, `?maxConnections=2`).
   */
  url: string;
  from: string;
  /** Seconds; kept short so an outage fails fast and Temporal's retry backs off instead. */
  timeoutSeconds?: number;
}

/**
 * Connections are pooled by default: a worker sends many messages to one relay, and a connection per
 * message costs a TCP (and TLS) handshake, a greeting and EHLO every time (about a millisecond of CPU
 * per message on each side on loopback, measured in docs/performance.md). The pool also bounds how many
 * connections one worker holds open to the relay (5) and renews each after 100 messages; an idle
 * connection is closed after 4 minutes (nodemailer's pool, before a typical relay's 5-minute timeout).
 * Exactly-once is the same on a pooled connection: the hook before the data runs once the connection
 * is up and ends before the first byte of the message reaches the relay, on a new connection and on a
 * reused one (test/integration/mailer.int.test.ts).
 */
const SMTP_POOL_DEFAULTS = { pool: true, maxConnections: 5, maxMessages: 100 } as const;

export function createSmtpMailer(opts: SmtpMailerOptions): Mailer {
  const t = (opts.timeoutSeconds ?? 15) * 1000;
  // Transport settings go in the first argument, with the URL (whose query wins); nodemailer's second
  // argument holds defaults for each message, where timeouts would be silently ignored.
  const transport = nodemailer.createTransport(
    {
      url: opts.url,
      ...SMTP_POOL_DEFAULTS,
      connectionTimeout: t,
      greetingTimeout: t,
      socketTimeout: t * 2,
      disableFileAccess: true,
      disableUrlAccess: true,
    } as never,
    { from: opts.from } as never,
  );
  const fromAddress = addressOf(opts.from);

  return {
    from: opts.from,
    async send(mail, hooks) {
      const raw = await composeRaw(opts.from, mail);
      // The message goes over as a stream whose first read waits for beforeData: nodemailer reads it
      // only once the connection is up and authenticated (checked against nodemailer 10's SMTP transport).
      let started = false;
      let submitted = false;
      const stream = new Readable({
        read() {
          if (started) return;
          started = true;
          (hooks?.beforeData ? hooks.beforeData() : Promise.resolve()).then(
            () => {
              submitted = true;
              this.push(raw);
              this.push(null);
            },
            (err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))),
          );
        },
      });
      try {
        const info = (await transport.sendMail({ envelope: { from: fromAddress, to: mail.to }, raw: stream } as never)) as {
          accepted?: unknown[];
          rejected?: unknown[];
          response?: string;
        };
        const response = String(info.response ?? '');
        return {
          accepted: (info.accepted ?? []).map(String),
          rejected: (info.rejected ?? []).map(String),
          response,
          providerMessageId: /queued as\s+([^\s]+)/i.exec(response)?.[1] ?? /\bid=([^\s]+)/i.exec(response)?.[1] ?? null,
        };
      } catch (err) {
        throw toSendError(err, submitted);
      }
    },
    close() {
      transport.close();
    },
  };
}

/** Commands of the SMTP dialogue before the message data: a failure there sent nothing. */
const BEFORE_DATA = /^(CONN|EHLO|HELO|LHLO|STARTTLS|AUTH|MAIL FROM|RCPT TO)/i;

function toSendError(err: unknown, submitted: boolean): MailSendError {
  const e = err as { message?: string; code?: string; responseCode?: number; command?: string };
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  // A reply code means the server refused the message. Without one once the data may have gone over
  // (socket closed, timeout after the final dot), SMTP cannot say whether it was queued (RFC 1047).
  const ambiguous = submitted && responseCode === undefined && e.code !== 'ESTREAM' && !BEFORE_DATA.test(e.command ?? '');
  return new MailSendError(e.message ?? String(err), e.code, responseCode, ambiguous);
}

export async function composeRaw(from: string, mail: OutgoingMail): Promise<Buffer> {
  const composer = new MailComposer({
    from,
    to: mail.to,
    subject: mail.subject,
    text: mail.text,
    ...(mail.html ? { html: mail.html } : {}),
    messageId: mail.messageId,
    date: mail.date,
    headers: mail.headers ?? {},
    disableFileAccess: true,
    disableUrlAccess: true,
    attachments: (mail.attachments ?? []).map((a) => ({ filename: a.filename, content: a.content, contentType: a.contentType })),
  } as never);
  return new Promise<Buffer>((resolve, reject) => {
    composer.compile().build((err: Error | null, message: Buffer) => (err ? reject(err) : resolve(message)));
  });
}

/** For tests and for a worker built without mail: keeps messages in memory, never opens a socket. */
export function createMemoryMailer(from = 'KAP Clinic <no-reply@kap.local>'): Mailer & { sent: Array<OutgoingMail & { raw: Buffer }> } {
  const sent: Array<OutgoingMail & { raw: Buffer }> = [];
  return {
    from,
    sent,
    async send(mail, hooks) {
      await hooks?.beforeData?.();
      const raw = await composeRaw(from, mail);
      sent.push({ ...mail, raw });
      return { accepted: [...mail.to], rejected: [], response: '250 memory', providerMessageId: null };
    },
    close() {},
  };
}

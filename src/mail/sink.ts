// The embedded SMTP sink: with SMTP_URL unset, `npm start` sends its email to this local server
// (loopback only), which keeps every message in the database table smtp_sink_messages so that the
// dashboard can list them (GET /api/outbox, /outbox). Nothing is relayed anywhere.
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { Selectable } from 'kysely';
import type { Db } from '../db/connect';
import type { SmtpSinkMessagesTable } from '../db/schema';
import type { Logger } from '../log';

export interface SmtpSink {
  host: string;
  port: number;
  /** The SMTP_URL equivalent for a mailer that should send here. */
  url: string;
  stop(): Promise<void>;
}

export interface SmtpSinkOptions {
  db: Db;
  port: number;
  host?: string;
  log?: Logger;
  /** Largest accepted message (default 10 MB). */
  maxBytes?: number;
}

export async function startSmtpSink(opts: SmtpSinkOptions): Promise<SmtpSink> {
  const host = opts.host ?? '127.0.0.1';
  const maxBytes = opts.maxBytes ?? 10 * 1024 * 1024;
  const server = new SMTPServer({
    name: 'kap-smtp-sink',
    banner: 'KAP development mail sink (nothing is relayed)',
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    size: maxBytes,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (err) => callback(err));
      stream.on('end', () => {
        if ((stream as unknown as { sizeExceeded?: boolean }).sizeExceeded) {
          const err = new Error('message too large') as Error & { responseCode: number };
          err.responseCode = 552;
          callback(err);
          return;
        }
        const raw = Buffer.concat(chunks);
        storeMessage(opts.db, raw, session.envelope.mailFrom ? session.envelope.mailFrom.address : null, session.envelope.rcptTo.map((r) => r.address)).then(
          (id) => {
            opts.log?.info({ sinkMessageId: id, bytes: raw.length }, 'smtp sink: message stored');
            callback(null, `Ok: queued as sink-${id}` as never);
          },
          (err: unknown) => {
            opts.log?.warn({ err: err instanceof Error ? err.message : String(err) }, 'smtp sink: could not store a message');
            // 451: a transient failure, so the sender retries (and the outbox does not count it sent).
            const e = new Error('sink storage unavailable, try again later') as Error & { responseCode: number };
            e.responseCode = 451;
            callback(e);
          },
        );
      });
    },
  });
  server.on('error', (err) => opts.log?.warn({ err: err.message }, 'smtp sink error'));
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new Error(`SMTP sink: port ${opts.port} is in use (set SMTP_SINK_PORT, or SMTP_URL for a real server)`) : err);
    };
    server.server.once('error', onError);
    server.listen(opts.port, host, () => {
      server.server.off('error', onError);
      resolve();
    });
  });
  const port = (server.server.address() as { port: number }).port;
  let stopped = false;
  return {
    host,
    port,
    url: `smtp://${host}:${port}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Stores one message as the sink received it (also the sandbox clinics' mail: src/mail/sandbox.ts). */
export async function storeMessage(db: Db, raw: Buffer, from: string | null, to: string[]): Promise<number> {
  const parsed = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true });
  const attachments = parsed.attachments.map((a) => ({
    filename: a.filename ?? null,
    contentType: a.contentType,
    size: a.size,
    content: a.content.toString('base64'),
  }));
  const row = await db
    .insertInto('smtp_sink_messages')
    .values({
      message_id: parsed.messageId ?? null,
      envelope_from: from,
      envelope_to: JSON.stringify(to),
      subject: parsed.subject ?? null,
      text_body: parsed.text ?? null,
      html_body: typeof parsed.html === 'string' ? parsed.html : null,
      attachments: JSON.stringify(attachments),
      raw: raw.toString('utf8'),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

export interface SinkMessageSummary {
  id: number;
  receivedAt: string;
  messageId: string | null;
  from: string | null;
  to: string[];
  subject: string | null;
  attachments: Array<{ filename: string | null; contentType: string; size: number }>;
}

export interface SinkMessage extends SinkMessageSummary {
  text: string | null;
  html: string | null;
  attachments: Array<{ filename: string | null; contentType: string; size: number; content: string }>;
  raw: string;
}

/** A stored message's envelope and subject, as listed and as read. */
function envelopeOf(r: Pick<Selectable<SmtpSinkMessagesTable>, 'id' | 'received_at' | 'message_id' | 'envelope_from' | 'envelope_to' | 'subject'>) {
  return {
    id: Number(r.id),
    receivedAt: r.received_at.toISOString(),
    messageId: r.message_id,
    from: r.envelope_from,
    to: r.envelope_to,
    subject: r.subject,
  };
}

/** Newest first. `messageIds` narrows to those Message-IDs (e.g. the outbox rows a principal may see). */
export async function listSinkMessages(db: Db, q: { limit?: number; beforeId?: number; messageIds?: string[] } = {}): Promise<SinkMessageSummary[]> {
  let query = db.selectFrom('smtp_sink_messages').select(['id', 'received_at', 'message_id', 'envelope_from', 'envelope_to', 'subject', 'attachments']);
  if (q.beforeId !== undefined) query = query.where('id', '<', q.beforeId);
  if (q.messageIds) {
    if (q.messageIds.length === 0) return [];
    query = query.where('message_id', 'in', q.messageIds);
  }
  const rows = await query.orderBy('id', 'desc').limit(Math.min(Math.max(q.limit ?? 100, 1), 1000)).execute();
  return rows.map((r) => ({
    ...envelopeOf(r),
    attachments: r.attachments.map(({ filename, contentType, size }) => ({ filename, contentType, size })),
  }));
}

export async function getSinkMessage(db: Db, id: number): Promise<SinkMessage | undefined> {
  const r = await db.selectFrom('smtp_sink_messages').selectAll().where('id', '=', id).executeTakeFirst();
  if (!r) return undefined;
  return {
    ...envelopeOf(r),
    text: r.text_body,
    html: r.html_body,
    attachments: r.attachments,
    raw: r.raw,
  };
}

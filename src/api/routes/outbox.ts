// The email outbox and the embedded SMTP sink, for coordinators: what the engine sent, to whom (kind,
// not address), its state (sent / uncertain / failed / blocked), and, with the embedded sink, the
// message itself as it arrived. Scoped to the principal's clinics; the sink shows only messages that
// belong to an outbox row the principal may see (organisation-wide principals see the whole sink).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { canAccessClinic, clinicFilter, type Principal } from '../../auth/roles';
import type { Db } from '../../db/connect';
import { notFound } from '../../errors';
import { getSinkMessage, listSinkMessages, type SinkMessage, type SinkMessageSummary } from '../../mail/sink';
import type { ApiDeps } from '../context';
import { apiRoute } from '../route';

export const OutboxQuery = z.strictObject({
  clinicId: z.string().min(1).max(100).optional(),
  courseId: z.string().min(1).max(100).optional(),
  status: z.enum(['pending', 'sending', 'sent', 'uncertain', 'failed', 'blocked']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const OutboxItemView = z.object({
  key: z.string(),
  template: z.string(),
  courseId: z.string().nullable(),
  clinicId: z.string(),
  audience: z.string().nullable(),
  recipient: z.object({ kind: z.string(), ref: z.string().nullable() }),
  status: z.string(),
  attempts: z.number(),
  subject: z.string().nullable(),
  messageId: z.string(),
  createdAt: z.string(),
  sentAt: z.string().nullable(),
  lastError: z.string().nullable(),
  /** The sink's copy (embedded SMTP sink only): GET /api/outbox/:id. */
  sinkMessageId: z.number().nullable(),
});

export const SinkMessageView = z.object({
  id: z.number(),
  receivedAt: z.string(),
  messageId: z.string().nullable(),
  from: z.string().nullable(),
  to: z.array(z.string()),
  subject: z.string().nullable(),
  text: z.string().nullable(),
  html: z.string().nullable(),
  attachments: z.array(z.object({ filename: z.string().nullable(), contentType: z.string(), size: z.number(), content: z.string().describe('base64') })),
  outboxKey: z.string().nullable(),
});

const IdParam = z.strictObject({ id: z.coerce.number().int().min(1) });

// The sink within a principal's scope, for the JSON API and the dashboard alike. A sink message belongs
// to the clinic of the outbox row with its Message-ID; an every-clinic principal also sees messages
// that no outbox row names (mail not sent by the engine).

/** Sink messages the principal may see, newest first. */
export async function sinkMessagesInScope(db: Db, principal: Principal, limit = 200): Promise<SinkMessageSummary[]> {
  if (principal.clinics === 'all') return listSinkMessages(db, { limit });
  if (principal.clinics.length === 0) return [];
  const rows = await db.selectFrom('email_outbox').select('message_id').where('clinic_id', 'in', [...principal.clinics]).orderBy('created_at', 'desc').limit(limit).execute();
  return listSinkMessages(db, { messageIds: rows.map((r) => r.message_id), limit });
}

/** One sink message, or undefined when it does not exist or is outside the principal's clinics (the same answer). */
export async function sinkMessageInScope(db: Db, principal: Principal, id: number): Promise<{ message: SinkMessage; outboxKey: string | null; clinicId: string | null } | undefined> {
  const message = await getSinkMessage(db, id);
  if (!message) return undefined;
  const row = message.messageId ? await db.selectFrom('email_outbox').select(['key', 'clinic_id']).where('message_id', '=', message.messageId).executeTakeFirst() : undefined;
  if (row ? !canAccessClinic(principal, row.clinic_id) : principal.clinics !== 'all') return undefined;
  return { message, outboxKey: row?.key ?? null, clinicId: row?.clinic_id ?? null };
}

export function outboxRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'db' | 'config'>): void {
  const { db } = deps;

  apiRoute(
    app,
    {
      method: 'GET',
      url: '/api/outbox',
      tag: 'mail',
      summary: 'Email the engine sent or tried to send, newest first, with the embedded SMTP sink copy when there is one',
      query: OutboxQuery,
      response: z.object({ items: z.array(OutboxItemView), count: z.number(), embeddedSink: z.boolean() }),
    },
    async ({ query, principal }) => {
      const clinics = clinicFilter(principal, query.clinicId);
      let q = db.selectFrom('email_outbox').selectAll();
      if (clinics) q = q.where('clinic_id', 'in', clinics.length ? clinics : ['\u0000']);
      if (query.courseId) q = q.where('course_id', '=', query.courseId);
      if (query.status) q = q.where('status', '=', query.status);
      const rows = await q.orderBy('created_at', 'desc').orderBy('key').limit(query.limit).execute();
      const sink = rows.length ? await listSinkMessages(db, { messageIds: rows.map((r) => r.message_id), limit: 1000 }) : [];
      const sinkIds = new Map(sink.map((s) => [s.messageId, s.id]));
      const items = rows.map((r) => ({
        key: r.key,
        template: r.template,
        courseId: r.course_id,
        clinicId: r.clinic_id,
        audience: r.audience,
        recipient: { kind: r.recipient_kind, ref: r.recipient_ref },
        status: r.status,
        attempts: r.attempts,
        subject: r.subject,
        messageId: r.message_id,
        createdAt: r.created_at.toISOString(),
        sentAt: r.sent_at ? r.sent_at.toISOString() : null,
        lastError: r.last_error,
        sinkMessageId: sinkIds.get(r.message_id) ?? null,
      }));
      return { items, count: items.length, embeddedSink: deps.config.embeddedSmtp };
    },
  );

  apiRoute(
    app,
    {
      method: 'GET',
      url: '/api/outbox/:id',
      tag: 'mail',
      summary: 'One message as the embedded SMTP sink received it (text, HTML, attachments)',
      params: IdParam,
      response: SinkMessageView,
      errors: [404],
    },
    async ({ params, principal }) => {
      // A message outside the principal's clinics, or not from the engine at all, is "not found" to a
      // clinic-scoped principal (no hint that it exists).
      const found = await sinkMessageInScope(db, principal, params.id);
      if (!found) throw notFound(`sink message ${params.id}`);
      const { raw: _raw, ...view } = found.message;
      return { ...view, outboxKey: found.outboxKey };
    },
  );
}

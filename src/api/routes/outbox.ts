// The email outbox and the embedded SMTP sink, for coordinators: what the engine sent, to whom (kind,
// not address), its state (sent / uncertain / failed / blocked), and, with the embedded sink, the
// message itself as it arrived. Scoped to the principal's clinics; the sink shows only messages that
// belong to an outbox row the principal may see (organisation-wide principals see the whole sink).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { canAccessClinic, clinicFilter, type Principal } from '../../auth/roles';
import { inSnapshot, type Db } from '../../db/connect';
import { notFound } from '../../errors';
import { getSinkMessage, listSinkMessages, type SinkMessage, type SinkMessageSummary } from '../../mail/sink';
import type { ApiDeps } from '../context';
import { apiRoute } from '../route';

export const OUTBOX_STATUSES = ['pending', 'sending', 'sent', 'uncertain', 'failed', 'blocked'] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

export const OutboxQuery = z.strictObject({
  clinicId: z.string().min(1).max(100).optional(),
  courseId: z.string().min(1).max(100).optional(),
  status: z.enum(OUTBOX_STATUSES).optional(),
  template: z.string().min(1).max(100).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
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
  /** Why it is not (or not simply) sent: the last error, or that it went to the admins because nobody held its role. */
  reason: z.string().nullable(),
  clientId: z.string().nullable(),
  /** The staff member's name for a message to one person. */
  recipientName: z.string().nullable(),
  /** The clinic's IANA time zone (the dashboard shows times in it). */
  clinicTimezone: z.string(),
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

/** The dashboard also shows the addresses of a message the embedded sink received (as the sink did); the JSON list names the kind of recipient only. */
export type OutboxItem = z.infer<typeof OutboxItemView> & { toAddresses: string[] };

type OutboxPage = { items: OutboxItem[]; count: number; total: number; counts: Record<string, number>; offset: number };

/**
 * One page of the send records (email_outbox) within the principal's clinics, newest first, with the
 * count per status (every filter but the status) and the total. The sink's copy is named only for a
 * message the sink holds (the body is read through sinkMessageInScope, the same scope).
 *
 * The counts and the page are two statements read in one snapshot (repeatable read): while emails are
 * being sent or failing, a page read between them would otherwise list a row its total does not count.
 */
export function outboxPage(db: Db, principal: Principal, query: z.infer<typeof OutboxQuery>): Promise<OutboxPage> {
  return inSnapshot(db, (db) => outboxPageIn(db, principal, query));
}

async function outboxPageIn(db: Db, principal: Principal, query: z.infer<typeof OutboxQuery>): Promise<OutboxPage> {
  const clinics = clinicFilter(principal, query.clinicId);
  let base = db.selectFrom('email_outbox as o');
  if (clinics) base = base.where('o.clinic_id', 'in', clinics.length ? clinics : ['\u0000']);
  if (query.courseId) base = base.where('o.course_id', '=', query.courseId);
  if (query.template) base = base.where('o.template', '=', query.template);
  const byStatus = await base.select(['o.status', (eb) => eb.fn.countAll<string>().as('n')]).groupBy('o.status').execute();
  const counts: Record<string, number> = Object.fromEntries(OUTBOX_STATUSES.map((st) => [st, 0]));
  for (const r of byStatus) counts[r.status] = Number(r.n);
  const total = query.status ? (counts[query.status] ?? 0) : Object.values(counts).reduce((a, b) => a + b, 0);
  let q = base
    .leftJoin('clinics as cl', 'cl.id', 'o.clinic_id')
    .leftJoin('courses as c', 'c.id', 'o.course_id')
    .leftJoin('staff as st', (j) => j.onRef('st.id', '=', 'o.recipient_ref').on('o.recipient_kind', '=', 'staff'))
    .select(['o.key', 'o.template', 'o.course_id', 'o.clinic_id', 'o.audience', 'o.recipient_kind', 'o.recipient_ref', 'o.status', 'o.attempts', 'o.subject', 'o.message_id', 'o.created_at', 'o.sent_at', 'o.last_error', 'cl.timezone', 'c.client_id', 'st.display_name']);
  if (query.status) q = q.where('o.status', '=', query.status);
  const rows = await q.orderBy('o.created_at', 'desc').orderBy('o.key').limit(query.limit).offset(query.offset).execute();
  const sink = rows.length ? await listSinkMessages(db, { messageIds: rows.map((r) => r.message_id), limit: 1000 }) : [];
  const sinkById = new Map(sink.map((m) => [m.messageId, m]));
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
    reason: r.status === 'sent' && !r.last_error ? null : r.last_error ?? (r.status === 'pending' || r.status === 'sending' ? (r.attempts ? `${r.attempts} attempt(s) so far` : 'not tried yet') : null),
    clientId: r.client_id ?? null,
    recipientName: r.display_name ?? null,
    toAddresses: sinkById.get(r.message_id)?.to ?? [],
    clinicTimezone: r.timezone ?? 'UTC',
    sinkMessageId: sinkById.get(r.message_id)?.id ?? null,
  }));
  return { items, count: items.length, total, counts, offset: query.offset };
}

export function outboxRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'db' | 'config'>): void {
  const { db } = deps;

  apiRoute(
    app,
    {
      method: 'GET',
      url: '/api/outbox',
      tag: 'mail',
      summary: 'Email the engine sent or tried to send (the send records: sent, failed, blocked, uncertain, pending, with the reason), newest first, paged, with counts per status and the embedded SMTP sink copy when there is one',
      query: OutboxQuery,
      response: z.object({
        items: z.array(OutboxItemView),
        count: z.number().describe('items on this page'),
        total: z.number().describe('messages matching every filter'),
        counts: z.record(z.string(), z.number()).describe('messages per status, matching every filter but the status'),
        offset: z.number(),
        embeddedSink: z.boolean(),
      }),
    },
    async ({ query, principal }) => {
      const page = await outboxPage(db, principal, query);
      return { ...page, items: page.items.map(({ toAddresses: _to, ...item }) => item), embeddedSink: deps.config.embeddedSmtp };
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

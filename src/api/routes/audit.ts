// The audit log for admins: GET /api/audit (JSON, paged) and the dashboard's /audit page share one
// filter schema and one query (src/db/audit.ts listAudit). Scoped like every list: a one-clinic admin
// sees only its clinic's entries (entries that name no clinic are for all-clinic admins only).
// Read-only: the log itself is append-only in the database (migration 0001's trigger).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { clinicFilter, type Principal } from '../../auth/roles';
import { type AuditFilter, type AuditLogEntry, listAudit } from '../../db/audit';
import type { Db } from '../../db/connect';
import { AppError } from '../../errors';
import { principalOf } from '../auth';
import type { ApiDeps } from '../context';
import { fmtTime, html, page, type SafeHtml } from '../html';
import { apiRoute } from '../route';
import { Id, Limit } from '../schemas';
import { parse } from '../validation';

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const instant = z.union([z.iso.datetime({ offset: true }), z.iso.date()]).describe('an ISO date-time (2026-11-30T09:00:00Z) or a date (2026-11-30: the whole day, UTC)');

export const AuditQuery = z
  .strictObject({
    clinicId: Id.optional(),
    clientId: Id.optional(),
    courseId: Id.optional(),
    actor: z.string().min(1).max(200).optional().describe('a staff id or an API token id'),
    action: z
      .string()
      .regex(/^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*(\.\*)?$/, 'a dotted action such as client.read or hard-stop.overridden, or a prefix such as client.*')
      .max(100)
      .optional(),
    from: instant.optional().describe('entries at or after this time'),
    to: instant.optional().describe('entries before this time (a date: up to the end of that day)'),
    limit: Limit,
    cursor: z.coerce.number().int().positive().optional().describe("the previous page's nextCursor: older entries"),
  })
  .refine((q) => !q.from || !q.to || bounds(q).from! < bounds(q).to!, { message: 'must be after from', path: ['to'] });

function bounds(q: { from?: string; to?: string }): { from?: Date; to?: Date } {
  const to = q.to ? new Date(DATE.test(q.to) ? Date.parse(`${q.to}T00:00:00Z`) + 86_400_000 : q.to) : undefined;
  return { from: q.from ? new Date(DATE.test(q.from) ? `${q.from}T00:00:00Z` : q.from) : undefined, to };
}

export type AuditQueryInput = z.infer<typeof AuditQuery>;

/** One page of the audit log within the principal's clinics (403 for a clinicId outside them). */
export function auditPage(db: Db, principal: Principal, q: AuditQueryInput) {
  const filter: AuditFilter = {
    clinicIds: clinicFilter(principal, q.clinicId),
    clientId: q.clientId,
    courseId: q.courseId,
    actor: q.actor,
    action: q.action,
    ...bounds(q),
    cursor: q.cursor,
    limit: q.limit,
  };
  return listAudit(db, filter);
}

export const AuditEntryView = z.object({
  id: z.number(),
  at: z.string(),
  actor: z.object({ type: z.enum(['staff', 'token', 'client', 'system']), id: z.string().nullable(), name: z.string().nullable().describe('staff display name or token label'), role: z.string().nullable() }),
  action: z.string(),
  clinicId: z.string().nullable(),
  clientId: z.string().nullable(),
  courseId: z.string().nullable(),
  reason: z.string().nullable().describe("the reason given: an override's reason, a review's notes summary, a pause or withdrawal reason"),
  detail: z.record(z.string(), z.unknown()),
});

const FILTERS = ['clinicId', 'clientId', 'courseId', 'actor', 'action', 'from', 'to', 'limit'] as const;

function who(e: AuditLogEntry): SafeHtml {
  if (e.actor.type === 'system') return html`<span class="muted">the engine</span>`;
  if (e.actor.type === 'client') return html`the client`;
  const kind = e.actor.type === 'token' ? 'token' : 'staff';
  return html`${e.actor.name ?? e.actor.id ?? 'unknown'}${e.actor.role ? ` (${e.actor.role})` : ''} <span class="muted">${kind} ${e.actor.id ?? ''}</span>`;
}

/** Each entry's time in its clinic's zone (UTC for entries without a clinic, or a clinic without a zone). */
function entriesTable(entries: AuditLogEntry[], zones: Map<string, string>): SafeHtml {
  if (!entries.length) return html`<p class="empty">No entries match.</p>`;
  return html`<table class="responsive" id="audit"><caption>Audit log, newest first</caption><thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Clinic</th><th scope="col">Client</th><th scope="col">Course</th><th scope="col">Reason</th></tr></thead><tbody>${entries.map(
    (e) => html`<tr><td>${fmtTime(e.at, e.clinicId ? zones.get(e.clinicId) : undefined)}</td><td>${who(e)}</td><td>${e.action}${typeof e.detail.what === 'string' ? html` <span class="muted">${e.detail.what}</span>` : ''}</td><td>${e.clinicId ?? ''}</td><td>${e.clientId ? html`<a href="/clients/${e.clientId}">${e.clientId}</a>` : ''}</td><td>${e.courseId ?? ''}</td><td>${e.reason ?? ''}</td></tr>`,
  )}</tbody></table>`;
}

export function auditRoutes(app: FastifyInstance, { db }: ApiDeps): void {
  // The dashboard page: the same filters as a GET form; a bad filter is a 400 naming it, on the page.
  app.get('/audit', async (req, reply) => {
    const p = principalOf(req);
    const raw = Object.fromEntries(Object.entries((req.query ?? {}) as Record<string, unknown>).filter(([, v]) => v !== '' && v !== undefined));
    const shown = Object.fromEntries(FILTERS.map((k) => [k, typeof raw[k] === 'string' ? (raw[k] as string) : '']));
    let result: Awaited<ReturnType<typeof auditPage>> = { entries: [], nextCursor: null };
    let flash: { kind: 'error'; text: string } | null = null;
    let status = 200;
    try {
      result = await auditPage(db, p, parse(AuditQuery, raw, 'query'));
    } catch (err) {
      if (!(err instanceof AppError) || (err.code !== 'invalid_input' && err.code !== 'forbidden')) throw err;
      status = err.code === 'forbidden' ? 403 : 400;
      flash = { kind: 'error', text: err.message };
    }
    const clinicIds = [...new Set(result.entries.map((e) => e.clinicId).filter((c): c is string => !!c))];
    const zones = new Map(clinicIds.length ? (await db.selectFrom('clinics').select(['id', 'timezone']).where('id', 'in', clinicIds).execute()).map((c) => [c.id, c.timezone]) : []);
    const field = (name: (typeof FILTERS)[number], label: string, type = 'text') => html`<div><label for="f-${name}">${label}</label><input id="f-${name}" name="${name}" type="${type}" value="${shown[name] ?? ''}"></div>`;
    const older = result.nextCursor
      ? html`<p><a class="button secondary" href="/audit?${new URLSearchParams({ ...Object.fromEntries(Object.entries(shown).filter(([, v]) => v)), cursor: String(result.nextCursor) }).toString()}">Older entries</a></p>`
      : '';
    const body = html`<p>Who did or read what, when, in which clinic, and the reason given. Append-only: entries cannot be changed or deleted.</p>
<form method="get" action="/audit" class="filters" aria-label="Filter the audit log">${field('clinicId', 'Clinic')}${field('clientId', 'Client id')}${field('courseId', 'Course id')}${field('actor', 'Staff or token id')}${field('action', 'Action (client.read, client.*)')}${field('from', 'From', 'date')}${field('to', 'To', 'date')}
<div><button type="submit">Filter</button> <a href="/audit">Clear</a></div></form>
${status === 200 ? entriesTable(result.entries, zones) : ''}${older}`;
    return reply.code(status).type('text/html; charset=utf-8').send(page({ title: 'Audit log', principal: p, active: '/audit', flash }, body));
  });

  apiRoute(
    app,
    {
      method: 'GET',
      url: '/api/audit',
      tag: 'organisation',
      summary: 'The audit log (admins): who did or read what, when, where, and why, newest first; filters by clinic, client, course, actor, action and time; paged with cursor',
      query: AuditQuery,
      response: z.object({ entries: z.array(AuditEntryView), nextCursor: z.number().nullable() }),
    },
    async ({ query, principal }) => auditPage(db, principal, query),
  );
}

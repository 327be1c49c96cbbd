// Dashboard pages for what failed (issue #18 item 5, issue #20 item 4): the outbox built from the
// send records (every email the engine sent or tried to send, with its status and reason, paged and
// filtered, in the clinic's time zone), and the webhook redelivery button the stuck board shows for a
// subscription whose deliveries were given up on. Scope: the viewer's clinics (src/auth/scope.ts).
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { clinicFilter } from '../../auth/roles';
import { AppError } from '../../errors';
import { redeliverWebhooks } from '../../webhooks/redeliver';
import { principalOf } from '../auth';
import { clinicsInScope } from '../clinics-in-scope';
import type { AppDeps } from '../context';
import { csrfField, html, page, type SafeHtml } from '../html';
import { OUTBOX_STATUSES, outboxPage } from './outbox';

const send = (reply: FastifyReply, body: string, status = 200) => reply.code(status).type('text/html; charset=utf-8').send(body);
const flashOf = (q: unknown): { kind: 'ok' | 'error'; text: string } | null => {
  const v = (q ?? {}) as Record<string, unknown>;
  if (typeof v.ok === 'string' && v.ok.length <= 2000) return { kind: 'ok', text: v.ok };
  if (typeof v.error === 'string' && v.error.length <= 2000) return { kind: 'error', text: v.error };
  return null;
};

/** A time in a clinic's zone, e.g. "2026-11-30 09:14 EST" (the machine-readable UTC time in datetime). */
export function fmtZoned(iso: string | Date | null | undefined, timeZone: string): SafeHtml {
  if (!iso) return html``;
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  let text: string;
  try {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' }).formatToParts(d).map((p) => [p.type, p.value]),
    );
    text = `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${parts.timeZoneName}`;
  } catch {
    text = `${d.toISOString().replace('T', ' ').slice(0, 16)} UTC`;
  }
  return html`<time datetime="${d.toISOString()}">${text}</time>`;
}

const TEMPLATE_LABELS: Record<string, string> = {
  'appointment-reminder': 'Appointment reminder',
  'assessment-invitation': 'Assessment invitation',
  'assessment-reminder': 'Assessment reminder',
  'safety-alert': 'Safety alert',
  'step-escalation': 'Overdue-step escalation',
  'course-notice': 'Course notice',
};
const STATUS_LABELS: Record<string, string> = { pending: 'pending', sending: 'sending', sent: 'sent', uncertain: 'uncertain (may not have arrived)', failed: 'failed', blocked: 'blocked' };
const STATUS_BADGE: Record<string, string> = { sent: 'ok', pending: 'muted', sending: 'muted', uncertain: 'warn', failed: 'bad', blocked: 'bad' };
const PAGE_SIZE = 50;

const OutboxFilters = z.object({
  clinicId: z.string().max(100).optional().transform((v) => v || undefined),
  status: z.enum(OUTBOX_STATUSES).or(z.literal('')).optional().transform((v) => v || undefined),
  template: z.string().max(100).optional().transform((v) => v || undefined),
  page: z.coerce.number().int().min(1).max(100_000).optional().catch(1),
});

export function dashboardOpsRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { db, config } = deps;

  app.get('/outbox', async (req, reply) => {
    const p = principalOf(req);
    const parsed = OutboxFilters.safeParse(req.query);
    const f = parsed.success ? parsed.data : { page: 1 as number | undefined };
    const pageNo = f.page ?? 1;
    const clinics = await clinicsInScope(db, p);
    const known = !('clinicId' in f) || !f.clinicId || clinics.some((c) => c.id === f.clinicId);
    const filters = { clinicId: known && 'clinicId' in f ? f.clinicId : undefined, status: 'status' in f ? f.status : undefined, template: 'template' in f ? f.template : undefined };
    const result = known
      ? await outboxPage(db, p, { ...filters, limit: PAGE_SIZE, offset: (pageNo - 1) * PAGE_SIZE })
      : { items: [], count: 0, total: 0, counts: Object.fromEntries(OUTBOX_STATUSES.map((s) => [s, 0])), offset: 0 };
    const all = Object.values(result.counts).reduce((a, b) => a + b, 0);
    const qs = (over: Record<string, string | number | undefined>) => {
      const v = { clinicId: filters.clinicId, status: filters.status, template: filters.template, ...over };
      const s = new URLSearchParams(Object.entries(v).filter(([, x]) => x !== undefined && x !== '').map(([k, x]) => [k, String(x)] as [string, string])).toString();
      return `/outbox${s ? `?${s}` : ''}`;
    };
    const opt = (v: string, cur: string | undefined, label: string) => html`<option value="${v}"${v === (cur ?? '') ? html` selected` : ''}>${label}</option>`;
    const statusLinks = html`<ul class="counts" aria-label="Messages by status">${[html`<li><a href="${qs({ status: undefined, page: undefined })}"${!filters.status ? html` aria-current="true"` : ''}>all ${all}</a></li>`, ...OUTBOX_STATUSES.map((s) => html`<li><a href="${qs({ status: s, page: undefined })}"${filters.status === s ? html` aria-current="true"` : ''}>${s} ${result.counts[s] ?? 0}</a></li>`)]}</ul>`;
    const rows = result.items.map((m) => {
      const to =
        m.recipient.kind === 'client'
          ? 'the client'
          : m.recipient.kind === 'role'
            ? `every active ${m.recipient.ref ?? 'staff member'} (role)`
            : (m.recipientName ?? 'a staff member');
      const subject = m.sinkMessageId !== null ? html`<a href="/outbox/${m.sinkMessageId}">${m.subject ?? '(no subject)'}</a>` : html`${m.subject ?? html`<span class="muted">(not rendered)</span>`}`;
      return html`<tr><td>${fmtZoned(m.createdAt, m.clinicTimezone)}</td><td><span class="badge ${STATUS_BADGE[m.status] ?? 'muted'}">${STATUS_LABELS[m.status] ?? m.status}</span>${m.sentAt ? html`<br><span class="muted">sent ${fmtZoned(m.sentAt, m.clinicTimezone)}</span>` : ''}</td><td>${subject}</td><td>${to}${m.toAddresses.length ? html`<br><span class="muted">${m.toAddresses.join(', ')}</span>` : ''}</td><td>${TEMPLATE_LABELS[m.template] ?? m.template}</td><td>${m.reason ?? ''}</td><td>${m.clientId ? html`<a href="/clients/${m.clientId}">course</a>` : html`<span class="muted">–</span>`}</td><td>${m.clinicId}</td></tr>`;
    });
    const pages = Math.max(1, Math.ceil(result.total / PAGE_SIZE));
    const hidden = all - result.total;
    const empty = !known
      ? 'No such clinic in your scope.'
      : all === 0
        ? 'No email has been sent or tried yet.'
        : `No ${filters.status ?? ''} messages on this page; ${hidden} message(s) hidden by the filter.`;
    const body = html`<p>Every email the engine sent or tried to send, from its send records: sent, failed (with the reason), blocked (clinical detail kept out of a client's email), uncertain (the connection broke after the message was handed over; never resent) and pending. Times are in each clinic's time zone. ${
      config.embeddedSmtp ? 'A subject links to the message as the embedded SMTP sink received it (nothing leaves this machine).' : `Mail goes to ${new URL(config.SMTP_URL ?? 'smtp://configured').hostname}; message bodies are shown only for messages the embedded sink received.`
    }</p>
<form method="get" action="/outbox" class="filters" aria-label="Filter the outbox">
<div><label for="ob-clinic">Clinic</label><select id="ob-clinic" name="clinicId">${opt('', filters.clinicId, 'All clinics')}${clinics.map((c) => opt(c.id, filters.clinicId, c.name))}</select></div>
<div><label for="ob-status">Status</label><select id="ob-status" name="status">${opt('', filters.status, 'Any status')}${OUTBOX_STATUSES.map((s) => opt(s, filters.status, `${s} (${result.counts[s] ?? 0})`))}</select></div>
<div><label for="ob-template">Kind</label><select id="ob-template" name="template">${opt('', filters.template, 'Any kind')}${Object.entries(TEMPLATE_LABELS).map(([k, v]) => opt(k, filters.template, v))}</select></div>
<div><button type="submit">Filter</button> <a href="/outbox">Clear</a></div></form>
${statusLinks}
<p role="status">${result.total ? `${result.total} message(s)${filters.status ? ` ${filters.status}` : ''}; showing ${result.offset + 1}–${result.offset + result.count}${hidden > 0 ? `; ${hidden} hidden by the filter` : ''}.` : empty}</p>
${result.items.length ? html`<table class="responsive" id="outbox"><caption>Email, newest first</caption><thead><tr><th scope="col">Created</th><th scope="col">Status</th><th scope="col">Subject</th><th scope="col">To</th><th scope="col">Kind</th><th scope="col">Reason</th><th scope="col">Course</th><th scope="col">Clinic</th></tr></thead><tbody>${rows}</tbody></table>` : html`<p class="empty">${empty}</p>`}
${pages > 1 ? html`<nav aria-label="Outbox pages" class="pager">${pageNo > 1 ? html`<a href="${qs({ page: pageNo - 1 })}" rel="prev">Newer</a> ` : ''}<span>Page ${pageNo} of ${pages}</span>${pageNo < pages ? html` <a href="${qs({ page: pageNo + 1 })}" rel="next">Older</a>` : ''}</nav>` : ''}`;
    return send(reply, page({ title: 'Outbox', principal: p, active: '/outbox' }, body));
  });

  // Webhook subscriptions of the viewer's clinics: what was given up on or is held, with a Redeliver
  // button per delivery and for all of them (the stuck board has the latter too).
  app.get('/webhooks', async (req, reply) => {
    const p = principalOf(req);
    const ids = clinicFilter(p);
    let q = db.selectFrom('webhook_subscriptions').select(['id', 'clinic_id', 'url', 'active', 'event_types']).orderBy('clinic_id').orderBy('created_at');
    if (ids) q = ids.length ? q.where('clinic_id', 'in', ids) : q.where(({ lit }) => lit(false));
    const subs = await q.execute();
    const counts = subs.length
      ? await db.selectFrom('webhook_deliveries').select(['subscription_id', 'status', (eb) => eb.fn.countAll<string>().as('n')]).where('subscription_id', 'in', subs.map((x) => x.id)).groupBy(['subscription_id', 'status']).execute()
      : [];
    const open = subs.length
      ? await db
          .selectFrom('webhook_deliveries as d')
          .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
          .leftJoin('clinics as cl', 'cl.id', 'd.clinic_id')
          .select(['d.id', 'd.subscription_id', 'd.seq', 'd.status', 'd.attempts', 'd.last_error', 'e.type', 'e.occurred_at', 'cl.timezone'])
          .where('d.subscription_id', 'in', subs.map((x) => x.id))
          .where('d.status', 'in', ['failed', 'held'])
          .orderBy('d.seq')
          .limit(500)
          .execute()
      : [];
    const canAct = p.role === 'admin' || p.role === 'coordinator';
    const body = html`<p>Each clinic's webhook subscriptions. A delivery given up on (after every retry) waits here, on the stuck board and in the metrics until it is redelivered; redelivered deliveries go out one after another in sequence order. A paused subscription holds its deliveries until it is resumed (<code>PATCH /api/webhooks/:id</code>, <code>active</code>).</p>
${
  subs.length
    ? subs.map((sub) => {
        const c = Object.fromEntries(counts.filter((x) => x.subscription_id === sub.id).map((x) => [x.status, Number(x.n)]));
        const mine = open.filter((d) => d.subscription_id === sub.id);
        const failed = mine.filter((d) => d.status === 'failed').length;
        return html`<section class="card" id="webhook-${sub.id}" aria-labelledby="wh-${sub.id}"><h2 id="wh-${sub.id}">${new URL(sub.url).host} <span class="badge ${sub.active ? 'ok' : 'warn'}">${sub.active ? 'active' : 'paused'}</span></h2>
<p class="muted">${sub.id} · clinic ${sub.clinic_id} · ${sub.event_types.join(', ')}</p>
<p>${['delivered', 'pending', 'held', 'failed', 'cancelled'].map((st) => `${st} ${c[st] ?? 0}`).join(' · ')}</p>
${failed && canAct && sub.active ? html`<form method="post" action="/webhooks/${sub.id}/redeliver" class="inline">${csrfField(p)}<input type="hidden" name="_back" value="/webhooks"><button type="submit">Redeliver all ${failed} failed in order</button></form>` : ''}
${mine.length ? html`<table class="responsive"><caption>Given up on or held, in sequence order</caption><thead><tr><th scope="col">Sequence</th><th scope="col">Event</th><th scope="col">Happened</th><th scope="col">Status</th><th scope="col">Last error</th><th scope="col">Redeliver</th></tr></thead><tbody>${mine.map(
          (d) => html`<tr><td>#${d.seq ?? '–'}</td><td>${d.type}</td><td>${fmtZoned(d.occurred_at, d.timezone ?? 'UTC')}</td><td>${d.status} after ${d.attempts} attempt(s)</td><td>${d.last_error ?? ''}</td><td>${d.status === 'failed' && canAct && sub.active ? html`<form method="post" action="/webhooks/${sub.id}/redeliver" class="inline">${csrfField(p)}<input type="hidden" name="_back" value="/webhooks"><input type="hidden" name="deliveryId" value="${d.id}"><button type="submit" class="secondary" aria-label="Redeliver delivery ${d.seq ?? d.id}">Redeliver</button></form>` : ''}</td></tr>`,
        )}</tbody></table>` : html`<p class="empty">Nothing given up on or held.</p>`}</section>`;
      })
    : html`<p class="empty">No webhook subscriptions in your clinics (API: <code>POST /api/webhooks</code>).</p>`
}`;
    return send(reply, page({ title: 'Webhooks', principal: p, active: '/webhooks', flash: flashOf(req.query) }, body));
  });

  // "Redeliver" on the stuck board (every failed delivery) and on /webhooks (one, or all).
  app.post('/webhooks/:id/redeliver', async (req, reply) => {
    const p = principalOf(req);
    const id = z.string().min(1).max(200).safeParse((req.params as { id?: string }).id);
    const form = (req.body ?? {}) as Record<string, unknown>;
    const backTo = form._back === '/webhooks' ? '/webhooks' : '/';
    const to = (kind: 'ok' | 'error', text: string) => reply.redirect(`${backTo}?${kind}=${encodeURIComponent(text)}`, 303);
    if (!id.success) return to('error', 'id: not a webhook subscription id');
    const one = typeof form.deliveryId === 'string' && form.deliveryId ? form.deliveryId.slice(0, 200) : undefined;
    try {
      const r = await redeliverWebhooks(deps, p, id.data, one ? { deliveryIds: [one] } : {});
      return to('ok', r.redelivered ? `Redelivering ${r.redelivered} webhook deliver${r.redelivered === 1 ? 'y' : 'ies'} in sequence order.` : 'No failed deliveries to redeliver.');
    } catch (err) {
      if (err instanceof AppError) return to('error', err.message);
      throw err;
    }
  });
}

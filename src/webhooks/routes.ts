// Managing a clinic's webhook subscriptions, and the delivery log. Admins and coordinators, within
// their clinics. The signing secret is shown once (create, rotate) and stored sealed.
import { privateTargetProblem } from './target-guard';
import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { assertClinicInScope, assertRecordInScope, clinicFilter, type Principal } from '../auth/roles';
import { randomSecret } from '../auth/secrets';
import type { Db } from '../db/connect';
import type { Selectable } from 'kysely';
import type { WebhookSubscriptionsTable } from '../db/schema';
import { AppError, invalidInput, notFound } from '../errors';
import { actorDetail, actorOf } from '../auth/roles';
import { appendAudit } from '../db/audit';
import { redeliverWebhooks, releaseHeldDeliveries } from './redeliver';
import { resolveSecretKey } from '../security/client-links';
import type { ApiDeps } from '../api/context';
import { apiRoute } from '../api/route';
import { IdParams, iso, Limit } from '../api/schemas';
import { WEBHOOK_EVENT_TYPES } from './events';
import { sealSecret } from './secret-box';

const EventTypes = z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1).max(WEBHOOK_EVENT_TYPES.length).transform((v) => [...new Set(v)]);
const Url = z.url({ protocol: /^https?$/ }).max(2000);

export const CreateWebhookBody = z.strictObject({
  clinicId: z.string().min(1).max(100),
  url: Url.describe('https:// (http:// only outside production); receives a POST per event'),
  eventTypes: EventTypes,
  description: z.string().trim().max(500).optional(),
  allowPrivateTarget: z.boolean().optional().describe('admins only: allow a URL on loopback or a private network, which the installation otherwise refuses (a receiver inside the clinic\'s own network)'),
});
export const UpdateWebhookBody = z
  .strictObject({ url: Url.optional(), eventTypes: EventTypes.optional(), description: z.string().trim().max(500).nullable().optional(), active: z.boolean().optional().describe('false pauses: deliveries are held, not sent and not dropped; true resumes: the held ones are sent in sequence order'), allowPrivateTarget: z.boolean().optional() })
  .refine((v) => Object.keys(v).length > 0, { message: 'nothing to change', path: [] });

const SubscriptionView = z.object({
  id: z.string(),
  clinicId: z.string(),
  url: z.string(),
  eventTypes: z.array(z.string()),
  description: z.string().nullable(),
  active: z.boolean(),
  allowPrivateTarget: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const WithSecret = SubscriptionView.extend({ secret: z.string().describe('the signing secret: shown only now; store it in the receiver') });
const DeliveryView = z.object({
  id: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  courseId: z.string().nullable(),
  occurredAt: z.string(),
  sequence: z.number().nullable().describe("this subscription's sequence number of the delivery (also in the body and the x-kap-sequence header)"),
  status: z.string().describe('pending, held (the subscription is paused), delivered, failed (given up on: redeliver), cancelled'),
  attempts: z.number(),
  lastStatusCode: z.number().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  firstAttemptAt: z.string().nullable(),
  lastAttemptAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  redeliveries: z.number(),
});
const DeliveriesQuery = z.strictObject({ status: z.enum(['pending', 'held', 'delivered', 'failed', 'cancelled']).optional(), limit: Limit });
export const RedeliverBody = z.strictObject({
  deliveryIds: z.array(z.string().min(1).max(200)).min(1).max(1000).optional().describe('failed deliveries to send again; omitted = every failed delivery of the subscription'),
});

const view = (s: Selectable<WebhookSubscriptionsTable>) => ({
  id: s.id,
  clinicId: s.clinic_id,
  url: s.url,
  eventTypes: s.event_types,
  description: s.description,
  active: s.active,
  allowPrivateTarget: s.allow_private_target,
  createdAt: s.created_at.toISOString(),
  updatedAt: s.updated_at.toISOString(),
});

/** A private target is allowed per subscription by an admin only (403 for anyone else, nothing saved). */
function checkAllowPrivate(principal: Principal, allow: boolean | undefined): void {
  if (allow && principal.role !== 'admin') throw new AppError('forbidden', 'allowPrivateTarget: only a clinic admin may allow a webhook target on loopback or a private network');
}

async function checkUrl(url: string, production: boolean, privateTargets: 'allow' | 'refuse'): Promise<void> {
  const u = new URL(url);
  const problems: Array<{ field: string; message: string }> = [];
  if (production && u.protocol !== 'https:') problems.push({ field: 'url', message: 'must be https:// in production' });
  if (u.username || u.password) problems.push({ field: 'url', message: 'must not carry credentials (the signature authenticates us)' });
  if (privateTargets === 'refuse') {
    const refused = await privateTargetProblem(url);
    if (refused) problems.push({ field: 'url', message: `${refused}; a clinic admin can allow it for this subscription with allowPrivateTarget: true` });
  }
  if (problems.length) throw invalidInput(problems);
}

async function loadSubscription(db: Db, principal: Principal, id: string) {
  const row = await db.selectFrom('webhook_subscriptions').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound(`webhook subscription ${id}`);
  assertRecordInScope(principal, row.clinic_id, `webhook subscription ${id}`);
  return row;
}

export function webhookRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { db, config } = deps;
  const production = config.NODE_ENV === 'production';
  const secretKey = () => resolveSecretKey(config);
  const newSecret = () => `whsec_${randomSecret(32)}`;
  const auditPrivate = (principal: Principal, clinicId: string, subscriptionId: string, allowed: boolean) =>
    appendAudit(db, { actor: actorOf(principal), action: allowed ? 'webhook.private-target-allowed' : 'webhook.private-target-withdrawn', clinicId, detail: { subscriptionId, by: actorDetail(principal) } });

  apiRoute(app, { method: 'GET', url: '/api/webhooks', tag: 'webhooks', summary: "Your clinics' webhook subscriptions", query: z.strictObject({ clinicId: z.string().min(1).max(100).optional() }), response: z.object({ subscriptions: z.array(SubscriptionView) }) }, async ({ query, principal }) => {
    const clinics = clinicFilter(principal, query.clinicId);
    let q = db.selectFrom('webhook_subscriptions').selectAll().orderBy('created_at', 'asc');
    if (clinics) q = clinics.length ? q.where('clinic_id', 'in', clinics) : q.where(({ lit }) => lit(false));
    return { subscriptions: (await q.execute()).map(view) };
  });

  apiRoute(
    app,
    { method: 'POST', url: '/api/webhooks', tag: 'webhooks', summary: 'Subscribe a URL to course events (step.entered, step.overdue, assessment.completed, safety.escalation); the response carries the signing secret once', body: CreateWebhookBody, status: 201, errors: [404], response: WithSecret },
    async ({ body, principal }) => {
      assertClinicInScope(principal, body.clinicId);
      const clinic = await db.selectFrom('clinics').select('id').where('id', '=', body.clinicId).executeTakeFirst();
      if (!clinic) throw notFound(`clinic ${body.clinicId}`);
      checkAllowPrivate(principal, body.allowPrivateTarget);
      await checkUrl(body.url, production, body.allowPrivateTarget ? 'allow' : config.webhookPrivateTargets);
      const id = `whk_${crypto.randomUUID()}`;
      const secret = newSecret();
      const row = await db
        .insertInto('webhook_subscriptions')
        .values({ id, clinic_id: body.clinicId, url: body.url, event_types: body.eventTypes, description: body.description ?? null, secret_sealed: sealSecret(secretKey(), id, secret), created_by: principal.staffId ?? `token:${principal.tokenId}`, allow_private_target: body.allowPrivateTarget ?? false })
        .returningAll()
        .executeTakeFirstOrThrow();
      if (body.allowPrivateTarget) await auditPrivate(principal, row.clinic_id, id, true);
      return { ...view(row), secret };
    },
  );

  apiRoute(app, { method: 'GET', url: '/api/webhooks/:id', tag: 'webhooks', summary: 'One webhook subscription (never its secret)', params: IdParams, errors: [404], response: SubscriptionView }, async ({ params, principal }) =>
    view(await loadSubscription(db, principal, params.id)),
  );

  apiRoute(
    app,
    { method: 'PATCH', url: '/api/webhooks/:id', tag: 'webhooks', summary: 'Change the URL, event types, description, or pause/resume (active)', params: IdParams, body: UpdateWebhookBody, errors: [404], response: SubscriptionView },
    async ({ params, body, principal }) => {
      const before = await loadSubscription(db, principal, params.id);
      checkAllowPrivate(principal, body.allowPrivateTarget);
      const allowPrivate = body.allowPrivateTarget ?? before.allow_private_target;
      if (body.url) await checkUrl(body.url, production, allowPrivate ? 'allow' : config.webhookPrivateTargets);
      // Withdrawing the allowance re-checks the URL that stays.
      else if (body.allowPrivateTarget === false && before.allow_private_target) await checkUrl(before.url, production, config.webhookPrivateTargets);
      const row = await db
        .updateTable('webhook_subscriptions')
        .set({
          ...(body.url !== undefined ? { url: body.url } : {}),
          ...(body.eventTypes !== undefined ? { event_types: body.eventTypes } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
          ...(body.active !== undefined ? { active: body.active } : {}),
          ...(body.allowPrivateTarget !== undefined ? { allow_private_target: body.allowPrivateTarget } : {}),
          updated_at: new Date(),
        })
        .where('id', '=', params.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      if (body.allowPrivateTarget !== undefined && body.allowPrivateTarget !== before.allow_private_target) await auditPrivate(principal, row.clinic_id, row.id, body.allowPrivateTarget);
      // Resumed: what was held while paused goes out now, in sequence order.
      if (body.active === true && !before.active) await releaseHeldDeliveries(deps, row.id);
      return view(row);
    },
  );

  apiRoute(
    app,
    { method: 'POST', url: '/api/webhooks/:id/rotate-secret', tag: 'webhooks', summary: 'Replace the signing secret (shown once); deliveries from now on are signed with the new one', params: IdParams, errors: [404], response: WithSecret },
    async ({ params, principal }) => {
      await loadSubscription(db, principal, params.id);
      const secret = newSecret();
      const row = await db.updateTable('webhook_subscriptions').set({ secret_sealed: sealSecret(secretKey(), params.id, secret), updated_at: new Date() }).where('id', '=', params.id).returningAll().executeTakeFirstOrThrow();
      return { ...view(row), secret };
    },
  );

  apiRoute(app, { method: 'DELETE', url: '/api/webhooks/:id', tag: 'webhooks', summary: 'Delete a subscription and its delivery log (pending deliveries stop)', params: IdParams, status: 204, errors: [404] }, async ({ params, principal, reply }) => {
    await loadSubscription(db, principal, params.id);
    await db.deleteFrom('webhook_subscriptions').where('id', '=', params.id).execute();
    return reply.code(204).send();
  });

  apiRoute(
    app,
    { method: 'GET', url: '/api/webhooks/:id/deliveries', tag: 'webhooks', summary: 'The delivery log of a subscription, newest first: attempts, last status code, outcome', params: IdParams, query: DeliveriesQuery, errors: [404], response: z.object({ deliveries: z.array(DeliveryView) }) },
    async ({ params, query, principal }) => {
      await loadSubscription(db, principal, params.id);
      let q = db
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
        .select(['d.id', 'd.event_id', 'e.type', 'e.course_id', 'e.occurred_at', 'd.seq', 'd.status', 'd.attempts', 'd.last_status_code', 'd.last_error', 'd.created_at', 'd.first_attempt_at', 'd.last_attempt_at', 'd.delivered_at', 'd.redeliveries'])
        .where('d.subscription_id', '=', params.id)
        .orderBy('d.seq', (ob) => ob.desc().nullsLast())
        .orderBy('e.occurred_at', 'desc')
        .orderBy('d.id')
        .limit(query.limit);
      if (query.status) q = q.where('d.status', '=', query.status);
      const rows = await q.execute();
      return {
        deliveries: rows.map((r) => ({
          id: r.id,
          eventId: r.event_id,
          eventType: r.type,
          courseId: r.course_id,
          occurredAt: r.occurred_at.toISOString(),
          sequence: r.seq === null ? null : Number(r.seq),
          status: r.status,
          attempts: r.attempts,
          lastStatusCode: r.last_status_code,
          lastError: r.last_error,
          createdAt: r.created_at.toISOString(),
          firstAttemptAt: iso(r.first_attempt_at),
          lastAttemptAt: iso(r.last_attempt_at),
          deliveredAt: iso(r.delivered_at),
          redeliveries: r.redeliveries,
        })),
      };
    },
  );

  apiRoute(
    app,
    {
      method: 'POST',
      url: '/api/webhooks/:id/redeliver',
      tag: 'webhooks',
      summary: 'Send failed deliveries again (all, or deliveryIds), one after another in sequence order; audited',
      params: IdParams,
      body: RedeliverBody,
      errors: [404, 409],
      response: z.object({ redelivered: z.number(), deliveryIds: z.array(z.string()) }),
    },
    async ({ params, body, principal }) => {
      const r = await redeliverWebhooks(deps, principal, params.id, { deliveryIds: body.deliveryIds });
      return { redelivered: r.redelivered, deliveryIds: r.deliveryIds };
    },
  );
}

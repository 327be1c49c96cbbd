// Webhook activities: start the delivery workflows for events the outbox trigger recorded, and
// deliver one (event, subscription) pair: sign, POST, log the attempt.
import { privateTargetProblem } from './target-guard';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowIdReusePolicy } from '@temporalio/client';
import type { Db } from '../db/connect';
import { type WebhookDeliveryInput, webhookDeliveryWorkflowId } from './events';
import { openSecret } from './secret-box';
import { appendAudit } from '../db/audit';
import { DELIVERY_ID_HEADER, EVENT_ID_HEADER, EVENT_TYPE_HEADER, OCCURRED_AT_HEADER, SEQUENCE_HEADER, SIGNATURE_HEADER, signPayload } from './signature';

export interface WebhookActivityDeps {
  db: Db;
  /** The installation's SECRET_KEY: opens the sealed signing secrets (src/webhooks/secret-box.ts). */
  secretKey?: string;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  /** 'refuse' (default): a target that resolves to loopback, link-local or a private network is not called. */
  privateTargets?: 'allow' | 'refuse';
  /**
   * Give a delivery up once this long has passed since its first attempt (WEBHOOK_GIVE_UP_SECONDS),
   * besides the delivery workflow's 20 attempts; unset = the attempts alone (about 8 hours).
   */
  giveUpAfterMs?: number;
}

/** Starts one delivery workflow per undispatched delivery row; idempotent (deterministic workflow ids). */
export async function dispatchWebhookDeliveries(
  db: Db,
  start: (workflowId: string, input: WebhookDeliveryInput) => Promise<void>,
  limit = 200,
  clinicId?: string,
): Promise<number> {
  // Held deliveries (a paused subscription) wait for the resume, which sends them in sequence.
  let q = db.selectFrom('webhook_deliveries').select('id').where('dispatched_at', 'is', null).where('status', '=', 'pending');
  if (clinicId !== undefined) q = q.where('clinic_id', '=', clinicId);
  const rows = await q.orderBy('created_at').orderBy('seq').limit(limit).execute();
  for (const r of rows) {
    const workflowId = webhookDeliveryWorkflowId(r.id);
    try {
      await start(workflowId, { deliveryId: r.id });
    } catch (err) {
      // Started before (a concurrent or earlier dispatch): that workflow owns the delivery.
      if (!(err instanceof Error && err.name === 'WorkflowExecutionAlreadyStartedError')) throw err;
    }
    await db.updateTable('webhook_deliveries').set({ dispatched_at: new Date(), workflow_id: workflowId }).where('id', '=', r.id).where('dispatched_at', 'is', null).execute();
  }
  return rows.length;
}

/** From inside any activity: start delivery workflows on this worker's task queue. */
async function dispatchFromActivity(db: Db, clinicId?: string): Promise<number> {
  const ctx = Context.current();
  const taskQueue = ctx.info.taskQueue;
  return dispatchWebhookDeliveries(db, async (workflowId, input) => {
    await ctx.client.workflow.start('webhookDeliveryWorkflow', {
      workflowId,
      taskQueue,
      args: [input],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
  }, 200, clinicId);
}

/**
 * Wraps a projection activity: once its statement has committed (so the outbox rows migration 0005's
 * trigger wrote are visible), start their deliveries, if the clinic has subscriptions at all. If
 * starting fails the activity fails and is retried; the projection is idempotent and its timeline rows
 * make no second event.
 */
export function withWebhookDispatch<A extends unknown[], R extends { webhooks: boolean }>(db: Db, activity: (...args: A) => Promise<R>): (...args: A) => Promise<Omit<R, 'webhooks'>> {
  return async (...args: A) => {
    const { webhooks, ...rest } = await activity(...args);
    // Only the projected clinic's deliveries: the ones this statement made (and any it left before).
    const clinicId = (args[0] as { clinicId?: unknown } | undefined)?.clinicId;
    if (webhooks) await dispatchFromActivity(db, typeof clinicId === 'string' ? clinicId : undefined);
    return rest;
  };
}

/**
 * What went wrong with a request, for the delivery log and the stuck board: fetch's own "fetch failed"
 * says nothing, its cause says why (ECONNREFUSED, ECONNRESET, a TLS or DNS error, a timeout).
 * Duck-typed: errors from fetch need not be instances of this realm's Error.
 */
export function requestError(err: unknown): string {
  const e = err as { name?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } } | null;
  if (!e || typeof e !== 'object') return 'request failed';
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const message = typeof e.message === 'string' ? e.message : 'request failed';
  if (name === 'TimeoutError') return 'no answer within the timeout';
  const cause = e.cause && typeof e.cause === 'object' ? [e.cause.code, e.cause.message].filter((x) => typeof x === 'string' && x).join(': ') : '';
  return `${name}: ${message}${cause ? ` (${cause})` : ''}`.slice(0, 500);
}

export function createWebhookActivities(deps: WebhookActivityDeps) {
  const { db } = deps;

  return {
    /** Starts deliveries left undispatched (e.g. by a crash between commit and start). */
    async dispatchWebhookDeliveries(): Promise<{ started: number }> {
      return { started: await dispatchFromActivity(db) };
    },

    /** One attempt at one delivery. Throws (retryable) on anything but a 2xx. */
    async deliverWebhook(input: WebhookDeliveryInput): Promise<{ outcome: string }> {
      const row = await db
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
        .innerJoin('webhook_subscriptions as s', 's.id', 'd.subscription_id')
        .select(['d.id', 'd.status', 'd.attempts', 'd.seq', 'd.first_attempt_at', 'e.id as event_id', 'e.type', 'e.payload', 'e.occurred_at', 's.id as subscription_id', 's.url', 's.secret_sealed', 's.active', 's.allow_private_target'])
        .where('d.id', '=', input.deliveryId)
        .executeTakeFirst();
      if (!row) return { outcome: 'cancelled' }; // subscription deleted since: nothing to deliver
      if (row.status !== 'pending') return { outcome: row.status };
      if (!row.active) {
        // Paused: held until the subscription is resumed (the resume sends every held delivery in sequence).
        await db.updateTable('webhook_deliveries').set({ status: 'held' }).where('id', '=', row.id).where('status', '=', 'pending').execute();
        return { outcome: 'held' };
      }
      if (!deps.secretKey) throw ApplicationFailure.nonRetryable('no SECRET_KEY on this worker to open webhook secrets', 'WebhookMisconfigured');
      const secret = openSecret(deps.secretKey, row.subscription_id, row.secret_sealed);
      const seq = row.seq === null ? null : Number(row.seq);
      const occurredAt = row.occurred_at.toISOString();
      // The event as published, with this subscription's sequence number (occurredAt is in the event).
      const body = JSON.stringify({ ...(row.payload as Record<string, unknown>), occurredAt, ...(seq !== null ? { sequence: seq } : {}) });
      const t = Math.floor(Date.now() / 1000);
      const attempt = row.attempts + 1;
      const now = new Date();
      let status: number | null = null;
      let error: string | null = null;
      try {
        // Checked again at delivery: the name may resolve elsewhere than when the subscription was saved.
        // A subscription a clinic admin allowed a private target (allow_private_target) is not checked.
        const refused = deps.privateTargets === 'allow' || row.allow_private_target ? null : await privateTargetProblem(row.url);
        if (refused) throw new Error(`target refused: ${refused}`);
        const res = await fetch(row.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'kap-pathways-webhooks/1',
            [SIGNATURE_HEADER]: signPayload(secret, t, body),
            [EVENT_ID_HEADER]: row.event_id,
            [EVENT_TYPE_HEADER]: row.type,
            [DELIVERY_ID_HEADER]: row.id,
            [OCCURRED_AT_HEADER]: occurredAt,
            ...(seq !== null ? { [SEQUENCE_HEADER]: String(seq) } : {}),
            'x-kap-attempt': String(attempt),
          },
          body,
          // A redirect could point anywhere (e.g. inside the network): it counts as a failure.
          redirect: 'manual',
          signal: AbortSignal.timeout(deps.timeoutMs ?? 10_000),
        });
        status = res.status;
        await res.body?.cancel().catch(() => undefined); // the receiver's body is never read or stored
        if (status < 200 || status >= 300) error = `HTTP ${status}`;
      } catch (err) {
        error = requestError(err);
      }
      const ok = error === null;
      await db
        .updateTable('webhook_deliveries')
        .set({
          attempts: attempt,
          last_status_code: status,
          last_error: error,
          last_attempt_at: now,
          ...(row.attempts === 0 ? { first_attempt_at: now } : {}),
          ...(ok ? { status: 'delivered' as const, delivered_at: new Date() } : {}),
        })
        .where('id', '=', row.id)
        .execute();
      if (ok) return { outcome: 'delivered' };
      // The message reaches Temporal's history: a code, the delivery row and the HTTP status only. The
      // error's text (which can quote the receiver's URL or network details) stays in last_error.
      // 410 Gone: the receiver says this endpoint is retired; stop retrying it.
      if (status === 410) throw ApplicationFailure.nonRetryable(`webhook-gone: delivery ${row.id} (HTTP 410)`, 'WebhookGone');
      const first = row.first_attempt_at ?? now;
      if (deps.giveUpAfterMs !== undefined && now.getTime() - first.getTime() >= deps.giveUpAfterMs) {
        throw ApplicationFailure.nonRetryable(`webhook-given-up: delivery ${row.id} (${status !== null ? `HTTP ${status}` : 'no response'}; retried for ${Math.round((now.getTime() - first.getTime()) / 1000)} s)`, 'WebhookGivenUp');
      }
      throw ApplicationFailure.retryable(`webhook-delivery-failed: delivery ${row.id} (${status !== null ? `HTTP ${status}` : 'no response'})`, 'WebhookDeliveryFailed');
    },

    /**
     * A delivery given up on (or, with deliveryIds, the ones after it in a sequence run, not sent):
     * failed, with an audit entry each (the stuck board lists the subscription, GET /metrics counts
     * them) until an operator redelivers.
     */
    async finishWebhookDelivery(input: { deliveryId: string; deliveryIds?: string[]; status: 'failed' | 'cancelled'; error: string }): Promise<void> {
      const ids = input.deliveryIds ?? [input.deliveryId];
      const rows = await db
        .updateTable('webhook_deliveries')
        // The last attempt's own error (in last_error) says more than the failure the workflow saw;
        // deliveries that were not tried say why not.
        .set((eb) => ({ status: input.status, last_error: input.deliveryIds ? eb.val(input.error) : eb.fn.coalesce('last_error', eb.val(input.error)) }))
        .where('id', 'in', ids)
        .where('status', '=', 'pending')
        .returning(['id', 'event_id', 'subscription_id', 'clinic_id', 'seq', 'attempts', 'last_status_code', 'redeliveries'])
        .execute();
      if (input.status !== 'failed') return;
      for (const r of rows) {
        const evt = await db.selectFrom('webhook_events as e').leftJoin('courses as c', 'c.id', 'e.course_id').select(['e.type', 'e.course_id', 'c.client_id']).where('e.id', '=', r.event_id).executeTakeFirst();
        await appendAudit(db, {
          actor: { type: 'system', id: null },
          action: 'webhook.given-up',
          clinicId: r.clinic_id,
          clientId: evt?.client_id ?? null,
          courseId: evt?.course_id ?? null,
          eventKey: `webhook.given-up:${r.id}:${r.redeliveries}`,
          detail: { deliveryId: r.id, subscriptionId: r.subscription_id, eventId: r.event_id, eventType: evt?.type ?? null, sequence: r.seq === null ? null : Number(r.seq), attempts: r.attempts, lastStatusCode: r.last_status_code, notSent: !!input.deliveryIds },
        });
      }
    },
  };
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;

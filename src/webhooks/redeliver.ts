// Sending a subscription's deliveries again, in sequence order: an operator's redelivery of failed
// deliveries (one, or all), and a paused subscription's held deliveries when it is resumed. The rows
// go back to pending and one webhookSequenceWorkflow sends them one after another (src/webhooks/workflow.ts).
import crypto from 'node:crypto';
import { WorkflowIdReusePolicy } from '@temporalio/client';
import { actorDetail, actorOf, assertRecordInScope, type Principal } from '../auth/roles';
import { appendAudit } from '../db/audit';
import type { Db } from '../db/connect';
import { conflict, notFound } from '../errors';
import type { ApiDeps } from '../api/context';
import type { WebhookSequenceInput } from './events';

type Deps = Pick<ApiDeps, 'db' | 'temporal' | 'config'>;

async function subscriptionInScope(db: Db, principal: Principal, id: string) {
  const row = await db.selectFrom('webhook_subscriptions').select(['id', 'clinic_id', 'active']).where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound(`webhook subscription ${id}`);
  assertRecordInScope(principal, row.clinic_id, `webhook subscription ${id}`);
  return row;
}

/** Starts one sequence run over these deliveries (already pending), in the order given. */
async function startSequence(deps: Deps, subscriptionId: string, deliveryIds: string[], why: string): Promise<string> {
  const workflowId = `webhook-seq-${subscriptionId}-${why}-${crypto.randomUUID()}`;
  const input: WebhookSequenceInput = { subscriptionId, deliveryIds };
  await deps.temporal.workflow.start('webhookSequenceWorkflow', { workflowId, taskQueue: deps.config.TEMPORAL_TASK_QUEUE, args: [input], workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE });
  return workflowId;
}

/**
 * Redeliver a subscription's failed deliveries (all of them, or the ones named), oldest sequence
 * first. Audited (`webhook.redelivered`). A delivery that is not failed is refused (409) when named.
 */
export async function redeliverWebhooks(deps: Deps, principal: Principal, subscriptionId: string, opts: { deliveryIds?: string[] }): Promise<{ redelivered: number; deliveryIds: string[]; workflowId: string | null }> {
  const { db } = deps;
  const sub = await subscriptionInScope(db, principal, subscriptionId);
  if (!sub.active) throw conflict(`webhook subscription ${subscriptionId} is paused: resume it (its held and redelivered deliveries are then sent in sequence)`);
  let q = db.selectFrom('webhook_deliveries').select(['id', 'status', 'seq']).where('subscription_id', '=', subscriptionId);
  if (opts.deliveryIds?.length) q = q.where('id', 'in', opts.deliveryIds);
  else q = q.where('status', '=', 'failed');
  const rows = await q.orderBy('seq').orderBy('created_at').execute();
  if (opts.deliveryIds?.length) {
    const found = new Set(rows.map((r) => r.id));
    const missing = opts.deliveryIds.filter((id) => !found.has(id));
    if (missing.length) throw notFound(`webhook delivery ${missing[0]}`);
    const notFailed = rows.filter((r) => r.status !== 'failed');
    if (notFailed.length) throw conflict(`webhook delivery ${notFailed[0]!.id} is ${notFailed[0]!.status}, not failed: only a failed delivery is redelivered`);
  }
  if (!rows.length) return { redelivered: 0, deliveryIds: [], workflowId: null };
  const ids = rows.map((r) => r.id);
  // Back to pending, once: a concurrent redelivery of the same rows takes none of them twice.
  const taken = await db
    .updateTable('webhook_deliveries')
    .set((eb) => ({ status: 'pending', first_attempt_at: null, dispatched_at: new Date(), redeliveries: eb('redeliveries', '+', 1) }))
    .where('id', 'in', ids)
    .where('status', '=', 'failed')
    .returning(['id'])
    .execute();
  const takenIds = new Set(taken.map((t) => t.id));
  const ordered = ids.filter((id) => takenIds.has(id));
  if (!ordered.length) return { redelivered: 0, deliveryIds: [], workflowId: null };
  const workflowId = await startSequence(deps, subscriptionId, ordered, 'redeliver');
  await db.updateTable('webhook_deliveries').set({ workflow_id: workflowId }).where('id', 'in', ordered).execute();
  await appendAudit(db, {
    actor: actorOf(principal),
    action: 'webhook.redelivered',
    clinicId: sub.clinic_id,
    detail: { subscriptionId, deliveries: ordered.length, deliveryIds: ordered.slice(0, 100), workflowId, by: actorDetail(principal) },
  });
  return { redelivered: ordered.length, deliveryIds: ordered, workflowId };
}

/** A resumed subscription: its held deliveries (paused meanwhile) go out in sequence order. */
export async function releaseHeldDeliveries(deps: Deps, subscriptionId: string): Promise<number> {
  const { db } = deps;
  const rows = await db
    .updateTable('webhook_deliveries')
    .set({ status: 'pending', dispatched_at: new Date() })
    .where('subscription_id', '=', subscriptionId)
    .where('status', '=', 'held')
    .returning(['id', 'seq'])
    .execute();
  if (!rows.length) return 0;
  const ordered = rows.sort((a, b) => Number(a.seq ?? 0) - Number(b.seq ?? 0)).map((r) => r.id);
  const workflowId = await startSequence(deps, subscriptionId, ordered, 'resume');
  await db.updateTable('webhook_deliveries').set({ workflow_id: workflowId }).where('id', 'in', ordered).execute();
  return ordered.length;
}

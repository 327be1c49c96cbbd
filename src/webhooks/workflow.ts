// One small workflow per (event, subscription): it retries that one delivery with backoff, so a
// subscriber that is down never holds back, or causes a repeat to, any other subscriber.
// Bundled into the worker's workflow bundle (src/workflows/index.ts): Temporal and types only.
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { WebhookActivities } from './activities';
import type { WebhookDeliveryInput, WebhookSequenceInput } from './events';
import { refuseUnsealed } from '../workflows/failures';

const { deliverWebhook } = proxyActivities<WebhookActivities>({
  startToCloseTimeout: '30 seconds',
  // 1 s, 2 s, 4 s ... capped at 1 h: about 12 hours of attempts before the delivery is given up.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 hour', maximumAttempts: 20, nonRetryableErrorTypes: ['WebhookGone'] },
});
const { finishWebhookDelivery } = proxyActivities<WebhookActivities>({ startToCloseTimeout: '30 seconds', retry: { initialInterval: '1 second', maximumInterval: '1 minute' } });

export async function webhookDeliveryWorkflow(input: WebhookDeliveryInput): Promise<{ outcome: string }> {
  refuseUnsealed(input);
  try {
    return await deliverWebhook(input);
  } catch (err) {
    const cause = err instanceof ApplicationFailure ? err : (err as { cause?: unknown }).cause;
    const message = cause instanceof Error ? cause.message : String(err);
    await finishWebhookDelivery({ deliveryId: input.deliveryId, status: 'failed', error: message.slice(0, 500) });
    return { outcome: 'failed' };
  }
}

/**
 * A subscription's deliveries sent one after another, in sequence order (an operator's redelivery, a
 * paused subscription resumed): each with the same retries as a single delivery. One given up on
 * stops the run, and the deliveries after it are marked failed with that reason (not sent out of
 * order), so one more redelivery sends them all, still in order. A delivery found held (the
 * subscription was paused again) stays held, and so do the rest.
 */
export async function webhookSequenceWorkflow(input: WebhookSequenceInput): Promise<{ delivered: number; failed: number; held: number }> {
  refuseUnsealed(input);
  let delivered = 0;
  let held = 0;
  for (let i = 0; i < input.deliveryIds.length; i++) {
    const deliveryId = input.deliveryIds[i]!;
    try {
      const { outcome } = await deliverWebhook({ deliveryId });
      if (outcome === 'delivered') delivered++;
      if (outcome === 'held') held++;
    } catch (err) {
      const cause = err instanceof ApplicationFailure ? err : (err as { cause?: unknown }).cause;
      const message = cause instanceof Error ? cause.message : String(err);
      await finishWebhookDelivery({ deliveryId, status: 'failed', error: message.slice(0, 500) });
      const rest = input.deliveryIds.slice(i + 1);
      if (rest.length) await finishWebhookDelivery({ deliveryIds: rest, deliveryId: rest[0]!, status: 'failed', error: `not sent: delivery ${deliveryId} before it in sequence was given up on` });
      return { delivered, failed: rest.length + 1, held };
    }
  }
  return { delivered, failed: 0, held };
}

// One small workflow per (event, subscription): it retries that one delivery with backoff, so a
// subscriber that is down never holds back, or causes a repeat to, any other subscriber.
// Bundled into the worker's workflow bundle (src/workflows/index.ts): Temporal and types only.
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { WebhookActivities } from './activities';
import type { WebhookDeliveryInput } from './events';
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

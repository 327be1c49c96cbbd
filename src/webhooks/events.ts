// The events a clinic can subscribe to. Plain data: imported by the API, activities and tests.
export const WEBHOOK_EVENT_TYPES = ['step.entered', 'step.overdue', 'assessment.completed', 'safety.escalation'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface WebhookDeliveryInput {
  deliveryId: string;
}

/** One delivery workflow per (event, subscription), ever: the id is the delivery's deterministic id. */
export const webhookDeliveryWorkflowId = (deliveryId: string) => `webhook-${deliveryId}`;

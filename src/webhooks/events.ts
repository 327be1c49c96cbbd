// The events a clinic can subscribe to. Plain data: imported by the API, activities and tests.
export const WEBHOOK_EVENT_TYPES = ['step.entered', 'step.overdue', 'step.completed', 'course.ended', 'assessment.completed', 'safety.escalation', 'rems.form-due', 'rems.form-late'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface WebhookDeliveryInput {
  deliveryId: string;
}

/** One delivery workflow per (event, subscription), ever: the id is the delivery's deterministic id. */
export const webhookDeliveryWorkflowId = (deliveryId: string) => `webhook-${deliveryId}`;

/** Deliveries of one subscription sent one after another in sequence order (a redelivery, a resume). */
export interface WebhookSequenceInput {
  subscriptionId: string;
  deliveryIds: string[];
}

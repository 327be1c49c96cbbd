// The workflow bundle's entry point. Only deterministic, bundle-safe code may be reached from here:
// no Node builtins, no database, no config. See README.md in this folder.
export { courseWorkflow } from './course';
export { lateAnswerAlertWorkflow } from './late-answer-alert';
export { webhookDeliveryWorkflow, webhookSequenceWorkflow } from '../webhooks/workflow';

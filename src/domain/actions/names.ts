// The staff actions' names, without their schemas: what workflow code needs when it loads (one Update per
// action), so that zod and the schemas load only when a workflow validates its first action
// (src/workflows/machine/catalogue.ts). The catalogue (catalogue.ts) has one entry per name, checked by
// the type system there.
export const ACTION_NAME_LIST = [
  'screening',
  'clearance',
  'rems-enrollment',
  'consent',
  'schedule',
  'session-complete',
  'no-show',
  'pre-dose-check',
  'dose',
  'vitals',
  'discharge',
  'adverse-event',
  'safety-review',
  'rems-form',
  'maintenance-decision',
  'task-complete',
  'send-assessment',
  'pause',
  'resume',
  'withdraw',
  'change-clinician',
  'care-team-note',
  'move-version',
] as const;

export type ActionNameFromList = (typeof ACTION_NAME_LIST)[number];

export const ADVERSE_EVENT_CATEGORIES = [
  'hypertension',
  'tachycardia',
  'respiratory',
  'sedation',
  'dissociation-distress',
  'nausea-vomiting',
  'psychiatric',
  'fall-injury',
  'misuse-diversion',
  'urological',
  'other',
] as const;

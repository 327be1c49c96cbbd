// The staff actions of a course as HTTP requests: URL segment -> the workflow Update it executes and
// the zod schema of its body. The actor is never taken from the body: the server sets it from the
// caller's credentials. Mirrors the input types in src/workflows/messages.ts.
import { z } from 'zod';
import type { CourseAction } from '../auth/role-matrix';
import { HARD_STOPS, INTERACTING_MEDICATION_CLASSES, REVIEW_ITEMS } from '../domain/rules/eligibility';
import { INSTRUMENT_IDS } from '../domain/instruments/instrument-id';
import type { CourseActionName } from '../workflows/messages';

const stepKey = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a step key such as dose-2 or prep-1');
const notes = z.string().trim().max(4000).optional();
const reason = z.string().trim().min(1).max(2000);
const bp = z.strictObject({ systolic: z.number().int().min(40).max(300), diastolic: z.number().int().min(20).max(200) });
const heartRate = z.number().int().min(20).max(250).optional();
const spo2 = z.number().min(50).max(100).optional();
const cssrsRisk = z.enum(['none', 'low', 'moderate', 'high']);
const hardStop = z.enum(Object.keys(HARD_STOPS) as [keyof typeof HARD_STOPS, ...Array<keyof typeof HARD_STOPS>]);
// Nothing is assumed: each screening question is answered yes, no, or not assessed with its reason.
const screeningAnswer = z
  .union([z.boolean(), z.enum(['yes', 'no']), z.strictObject({ notAssessed: z.string().trim().min(1, 'say why it was not assessed').max(500) })], {
    error: (iss) => (iss.input === undefined ? 'required: answer yes, no, or { "notAssessed": "<reason>" }' : 'answer yes, no, or { "notAssessed": "<reason>" }'),
  })
  .describe('true / "yes" = present, false / "no" = absent, { "notAssessed": reason } = could not be assessed');
// An absent list is read as an empty one, so the 400 names every unanswered question, not just the list.
const everyOf = <K extends string>(keys: readonly K[]) =>
  z.preprocess((v) => v ?? {}, z.strictObject(Object.fromEntries(keys.map((k) => [k, screeningAnswer])) as Record<K, typeof screeningAnswer>));
const medClass = z.enum([...(Object.keys(INTERACTING_MEDICATION_CLASSES) as Array<keyof typeof INTERACTING_MEDICATION_CLASSES>), 'other']);

export const ACTION_SCHEMAS = {
  screening: z.strictObject({
    hardStops: everyOf(Object.keys(HARD_STOPS) as Array<keyof typeof HARD_STOPS>).describe('every hard-stop question answered: present, absent, or not assessed with a reason'),
    reviewItems: everyOf(Object.keys(REVIEW_ITEMS) as Array<keyof typeof REVIEW_ITEMS>).describe('every review item answered: present, absent, or not assessed with a reason'),
    medications: z.array(z.strictObject({ name: z.string().trim().min(1).max(200), class: medClass, diazepamEquivalentMgPerDay: z.number().min(0).max(1000).optional() })).max(50).optional(),
    // Which hard stop and why; never who (the server records the caller, and the protocol says which roles may override).
    overrides: z.array(z.strictObject({ hardStop, reason })).max(20).optional().describe('hard stops to override, each with its reason; the override is made by the caller, whose role the protocol must allow (prescriber by default)'),
    notes,
  }),
  clearance: z.strictObject({ decision: z.enum(['approved', 'denied', 'needs-records']), reason: reason.optional() }),
  'rems-enrollment': z.strictObject({ enrolled: z.boolean(), remsPatientId: z.string().trim().min(1).max(100).optional() }),
  consent: z.strictObject({ documentVersion: z.string().trim().min(1).max(100), signedByClient: z.boolean(), prescriberSigned: z.boolean().optional() }),
  schedule: z
    .strictObject({ stepKey, startsAt: z.iso.datetime({ offset: true }).optional(), startsInHours: z.number().min(0).max(24 * 365).optional() })
    .refine((v) => (v.startsAt === undefined) !== (v.startsInHours === undefined), { message: 'give exactly one of startsAt or startsInHours', path: ['startsAt'] }),
  'session-complete': z.strictObject({ stepKey, notes }),
  'no-show': z.strictObject({ stepKey, notes }),
  'pre-dose-check': z.strictObject({
    stepKey,
    bloodPressure: bp,
    heartRate,
    spo2,
    hoursSinceFood: z.number().min(0).max(240).optional(),
    hoursSinceClearLiquids: z.number().min(0).max(240).optional(),
    escortConfirmed: z.boolean(),
    benzodiazepine: z.strictObject({ taking: z.boolean(), hoursSinceLastDose: z.number().min(0).max(10000).nullable().optional() }).optional(),
    pregnancy: z.enum(['negative', 'positive', 'unknown', 'not-applicable']).optional(),
    newInteractingMedications: z.array(z.string().trim().min(1).max(200)).max(20).optional(),
    cssrsRisk: cssrsRisk.optional(),
    phq9Item9: z.number().int().min(0).max(3).optional(),
  }),
  dose: z.strictObject({ stepKey, route: z.enum(['sublingual', 'intramuscular', 'intravenous', 'intranasal', 'oral']), doseMg: z.number().positive().max(1000).optional(), lotNumber: z.string().trim().min(1).max(100).optional() }),
  vitals: z.strictObject({ stepKey, atMinutes: z.number().min(0).max(24 * 60), bloodPressure: bp, heartRate, spo2 }),
  discharge: z.strictObject({ stepKey, bloodPressure: bp, spo2, heartRate, checklist: z.record(z.string().min(1).max(60), z.boolean()), responsibleAdultPresent: z.boolean() }),
  'adverse-event': z.strictObject({
    stepKey: stepKey.optional(),
    category: z.enum(['hypertension', 'tachycardia', 'respiratory', 'sedation', 'dissociation-distress', 'nausea-vomiting', 'psychiatric', 'fall-injury', 'misuse-diversion', 'urological', 'other']),
    severity: z.enum(['mild', 'moderate', 'severe', 'life-threatening']),
    serious: z.boolean(),
    description: z.string().trim().max(4000).optional(),
  }),
  'safety-review': z.strictObject({ outcome: z.enum(['release', 'keep-hold', 'withdraw']), riskLevel: cssrsRisk.optional(), notes }),
  'rems-form': z.strictObject({
    stepKey,
    doseMg: z.number().positive().max(1000),
    lotNumber: z.string().trim().min(1).max(100),
    concomitant: z.strictObject({ benzodiazepines: z.boolean(), sedativeHypnotics: z.boolean(), psychostimulants: z.boolean(), maois: z.boolean(), opioids: z.boolean() }),
    sedation: z.boolean(),
    dissociation: z.boolean(),
    respiratoryDepression: z.boolean(),
    seriousAdverseEvent: z.boolean(),
  }),
  'maintenance-decision': z.strictObject({ decision: z.enum(['maintenance', 'complete']), reason: reason.optional() }),
  'task-complete': z.strictObject({ stepKey, outcome: z.string().trim().min(1).max(200).optional() }),
  pause: z.strictObject({ reason }),
  resume: z.strictObject({}),
  withdraw: z.strictObject({ reason }),
  'change-clinician': z.strictObject({ clinicianId: z.string().min(1).max(100), reason: reason.optional() }),
} satisfies Record<CourseAction, z.ZodType>;

/** URL segment -> Update name in src/workflows/messages.ts. */
export const ACTION_UPDATES: Record<CourseAction, CourseActionName> = {
  screening: 'screening',
  clearance: 'clearance',
  'rems-enrollment': 'rems-enrollment',
  consent: 'consent',
  schedule: 'schedule',
  'session-complete': 'session-complete',
  'no-show': 'no-show',
  'pre-dose-check': 'pre-dose-check',
  dose: 'dose',
  vitals: 'vitals',
  discharge: 'discharge',
  'adverse-event': 'adverse-event',
  'safety-review': 'safety-review',
  'rems-form': 'rems-form',
  'maintenance-decision': 'maintenance-decision',
  'task-complete': 'task-complete',
  pause: 'pause',
  resume: 'resume',
  withdraw: 'withdraw',
  'change-clinician': 'change-clinician',
};

export const ACTION_SUMMARIES: Record<CourseAction, string> = {
  screening: 'Record screening (hard stops, review items, medications)',
  clearance: 'Record the medical clearance decision',
  'rems-enrollment': 'Record Spravato REMS patient enrollment',
  consent: 'Record informed consent',
  schedule: 'Schedule or reschedule a session',
  'session-complete': 'Record that a preparation or integration session took place',
  'no-show': 'Record a missed appointment',
  'pre-dose-check': 'Record the pre-dose safety check (blood pressure, fasting, escort, medications)',
  dose: 'Record the dose given',
  vitals: 'Record monitoring vitals after a dose',
  discharge: 'Discharge after monitoring',
  'adverse-event': 'Record an adverse event',
  'safety-review': 'Record a clinician safety review (lifts or keeps a safety hold)',
  'rems-form': 'Submit the Spravato REMS patient monitoring form',
  'maintenance-decision': 'Record the maintenance decision',
  'task-complete': 'Mark a task step done',
  pause: 'Pause the course',
  resume: 'Resume a paused course',
  withdraw: 'Withdraw the client from the course',
  'change-clinician': 'Change the primary clinician',
};

export const TriggerAssessmentBody = z.strictObject({
  instruments: z.array(z.enum(INSTRUMENT_IDS)).min(1).max(5).default(['phq9', 'gad7']),
  reason: z.string().trim().min(1).max(500).optional(),
});

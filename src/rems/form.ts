// The Spravato REMS Patient Monitoring Form (clinical.md section 3): what must be on it, which of it
// the session already recorded (BP readings, monitoring time, first-treatment flag), and which the
// person filing it must give. Filing is a hard stop: every missing required field is named at once.
import { z } from 'zod';
import type { RemsMonitoringFormsTable } from '../db/schema';
import type { Selectable } from 'kysely';
import type { RemsFormFields } from '../domain/records';

/** What the person filing answers. Every field is required on the form. */
export const RemsFormSubmission = z.strictObject({
  doseMg: z.number().positive().max(1000).describe('esketamine dose given: 56 or 84 mg, or another dose'),
  lotNumber: z.string().trim().min(1).max(100).describe('lot number of the device(s) used'),
  concomitant: z
    .strictObject({
      benzodiazepines: z.boolean(),
      sedativeHypnotics: z.boolean(),
      psychostimulants: z.boolean(),
      maois: z.boolean(),
      opioids: z.boolean(),
    })
    .describe('concomitant medications the patient currently takes'),
  sedation: z.boolean().describe('sedation observed during monitoring'),
  dissociation: z.boolean().describe('dissociation observed during monitoring'),
  respiratoryDepression: z.boolean().describe('respiratory depression observed during monitoring'),
  seriousAdverseEvent: z.boolean().describe('a serious adverse event occurred'),
  vitalsAcceptable: z
    .strictObject({ preDose: z.boolean(), at40: z.boolean(), discharge: z.boolean() })
    .optional()
    .describe("were the vital signs acceptable before the dose, at ~40 min and before discharge; omitted: the engine's pre-fill (`vitalsAcceptable` of GET .../rems), confirmed by the person filing"),
  amendmentReason: z
    .string()
    .trim()
    .min(10, 'at least 10 characters: say what was corrected and why')
    .max(500)
    .optional()
    .describe("only for a documented correction: the form's dose or lot differs from the session's dose record; filed as an amendment with both values, audited"),
});
export type RemsFormSubmission = z.infer<typeof RemsFormSubmission>;

/** The same fields, each optional: the request body is parsed with this (wrong types are 400), and the missing ones are then named in a 422. */
export const RemsFormDraft = z.strictObject({
  ...RemsFormSubmission.shape,
  doseMg: RemsFormSubmission.shape.doseMg.optional(),
  lotNumber: RemsFormSubmission.shape.lotNumber.optional(),
  concomitant: RemsFormSubmission.shape.concomitant.partial().optional(),
  sedation: RemsFormSubmission.shape.sedation.optional(),
  dissociation: RemsFormSubmission.shape.dissociation.optional(),
  respiratoryDepression: RemsFormSubmission.shape.respiratoryDepression.optional(),
  seriousAdverseEvent: RemsFormSubmission.shape.seriousAdverseEvent.optional(),
});

export const CONCOMITANT_FIELDS = ['benzodiazepines', 'sedativeHypnotics', 'psychostimulants', 'maois', 'opioids'] as const;

/** Fields the session itself must have recorded (vitals at 0 / 40 min / discharge, and discharge time). */
export const RECORDED_FIELDS = {
  bpPre: 'blood pressure before the dose (record pre-dose vitals)',
  bp40: 'blood pressure about 40 minutes after the dose (record vitals at 40 min)',
  bpDischarge: 'blood pressure before discharge (record discharge)',
  monitoringMinutes: 'total monitoring time (record the discharge)',
} as const;

export interface FieldProblem {
  field: string;
  message: string;
}

/** Every required field missing from the draft, by its path in the request body. */
export function missingSubmissionFields(draft: z.infer<typeof RemsFormDraft>): FieldProblem[] {
  const out: FieldProblem[] = [];
  const need = (present: boolean, field: string, what: string) => {
    if (!present) out.push({ field, message: `required on the REMS monitoring form: ${what}` });
  };
  need(draft.doseMg !== undefined, 'doseMg', 'dose (56 mg, 84 mg or other)');
  need(draft.lotNumber !== undefined, 'lotNumber', 'lot number');
  for (const k of CONCOMITANT_FIELDS) need(draft.concomitant?.[k] !== undefined, `concomitant.${k}`, `concomitant ${k} (yes or no)`);
  need(draft.sedation !== undefined, 'sedation', 'sedation (yes or no)');
  need(draft.dissociation !== undefined, 'dissociation', 'dissociation (yes or no)');
  need(draft.respiratoryDepression !== undefined, 'respiratoryDepression', 'respiratory depression (yes or no)');
  need(draft.seriousAdverseEvent !== undefined, 'seriousAdverseEvent', 'serious adverse event (yes or no)');
  return out;
}

type FormRow = Selectable<RemsMonitoringFormsTable>;

/** Session-recorded fields that are missing (filing waits until the session's vitals are in). */
export function missingRecordedFields(row: FormRow): FieldProblem[] {
  const present: Record<keyof typeof RECORDED_FIELDS, boolean> = {
    bpPre: !!row.bp_pre,
    bp40: !!row.bp_40,
    bpDischarge: !!row.bp_discharge,
    monitoringMinutes: row.monitoring_minutes !== null,
  };
  return (Object.keys(RECORDED_FIELDS) as Array<keyof typeof RECORDED_FIELDS>)
    .filter((k) => !present[k])
    .map((k) => ({ field: `session.${k}`, message: `required on the REMS monitoring form and not recorded for this session: ${RECORDED_FIELDS[k]}` }));
}

export interface RemsFormView extends RemsFormFields<Record<string, unknown>> {
  id: string;
  courseId: string;
  session: string;
  stepKey: string;
  dueAt: string;
  submittedAt: string | null;
  status: 'filed' | 'due' | 'late';
}

/** The form row's step key: its id is `<courseId>/<stepKey>`. */
export const formStepKey = (row: Pick<FormRow, 'id' | 'course_id'>) => row.id.slice(row.course_id.length + 1);

export function remsFormView(row: FormRow, now = new Date()): RemsFormView {
  return {
    id: row.id,
    courseId: row.course_id,
    session: row.session_step_key,
    stepKey: formStepKey(row),
    firstTreatment: row.first_treatment,
    doseMg: row.dose_mg,
    lotNumber: row.lot_number,
    bpPre: row.bp_pre,
    bp40: row.bp_40,
    bpDischarge: row.bp_discharge,
    monitoringMinutes: row.monitoring_minutes,
    concomitant: row.concomitant,
    sedation: row.sedation,
    dissociation: row.dissociation,
    respiratoryDepression: row.respiratory_depression,
    seriousAdverseEvent: row.serious_adverse_event,
    dueAt: row.due_at.toISOString(),
    submittedAt: row.submitted_at ? row.submitted_at.toISOString() : null,
    status: row.submitted_at ? 'filed' : row.due_at.getTime() < now.getTime() ? 'late' : 'due',
  };
}

// ------------------------------------------------------------------ the rest of the real form
// Issue #20 item 5: every field of the Patient Monitoring Form, pre-filled from what the engine
// already holds (the session, the clinic's settings, the staff and client records); the person filing
// confirms them and answers only what no record holds.

export type VitalsItem = 'preDose' | 'at40' | 'discharge';
export const VITALS_ITEMS: readonly VitalsItem[] = ['preDose', 'at40', 'discharge'];
export type VitalsAcceptable = Record<VitalsItem, boolean | null>;

/** The blood-pressure limits of the course's protocol snapshot (safety.bloodPressure). */
export interface BpLimits {
  maxSystolic: number;
  maxDiastolic: number;
}

const parseBp = (bp: string | null) => {
  const m = bp ? /^(\d+)\/(\d+)$/.exec(bp) : null;
  return m ? { systolic: Number(m[1]), diastolic: Number(m[2]) } : null;
};

/**
 * The engine's reading of its own checks, as a pre-fill of the form's "vital signs acceptable" items:
 * before the dose, the pre-dose reading within the protocol's limits (the dose was allowed against
 * them); at ~40 min, that reading within the same limits; before discharge, true when a discharge
 * reading was taken (discharge is refused unless blood pressure is back near baseline). null: no
 * reading, so nothing to judge. The clinician confirms or overrides each.
 */
export function engineVitalsAcceptable(row: Pick<FormRow, 'bp_pre' | 'bp_40' | 'bp_discharge'>, limits: BpLimits | null): VitalsAcceptable {
  const within = (bp: string | null) => {
    const r = parseBp(bp);
    if (!r || !limits) return null;
    return r.systolic <= limits.maxSystolic && r.diastolic <= limits.maxDiastolic;
  };
  return { preDose: within(row.bp_pre), at40: within(row.bp_40), discharge: row.bp_discharge ? true : null };
}

/** The form's fields beyond the session's own record, each from where the engine keeps it. */
export interface RemsFormRecordFields {
  /** The session's date (its dose time, in the clinic's time zone). */
  treatmentDate: string | null;
  /** When the patient was ready to leave: the session's recorded discharge. */
  readyToLeaveAt: string | null;
  patient: { name: string; dateOfBirth: string | null; sex: 'female' | 'male' | 'unknown' | null; remsPatientId: string | null };
  /** The healthcare setting: clinic settings (name as certified with the REMS, else the clinic's name). */
  setting: { id: string; name: string; address: string | null };
  /** The clinician who monitored the session: the staff member who recorded its discharge. */
  monitoringClinician: { id: string; name: string; phone: string | null; email: string } | null;
  vitalsAcceptable: VitalsAcceptable;
  /** 'filed': as the person filing confirmed them; 'engine': the engine's pre-fill. */
  vitalsAcceptableSource: 'filed' | 'engine';
  /** A filed amendment: the form's dose or lot differs from the session's on purpose. */
  amendment: { reason: string; recorded: { doseMg: number | null; lotNumber: string | null }; filed: { doseMg: number; lotNumber: string }; at: string; by: { actorType: string; id: string | null } } | null;
}

/** A date as YYYY-MM-DD in a time zone. */
export function localDate(d: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(d);
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

// THE catalogue of staff actions on a course: one entry per action, and everything else derives from
// it. An entry's key is the action's one name: the URL segment (`POST /api/courses/:id/<name>`), the
// course workflow's Update name, the dashboard form's id, the audit's action and the CLI's
// `kap action <course> <name>`. Each entry holds:
//   roles        the staff roles that may take it (src/auth/role-matrix.ts derives its action rows)
//   schema       the strict zod schema of its body; the TypeScript input type is `z.infer` of it plus
//                the server-set `actor`, and the workflow's Update validator runs it (InvalidInput)
//   summary      one line for the OpenAPI document, the dashboard and `kap action --help`
//   form         the dashboard form as data (src/api/action-forms.ts renders it)
//   example      a valid body, for the CLI's help and the tests
//   personOnly   a clinician's judgement recorded against a person: a bare API token may not take it
//   pauseExempt  allowed while the course is paused
//   onCourse     offered among the course's other actions on the dashboard (not tied to a step)
// The handler lives with the machine (src/workflows/machine/handlers/<group>.ts).
//
// Pure: imports only zod and the domain (bundled into workflow code).
import { z } from 'zod';
import { ADVERSE_EVENT_CATEGORIES, type ActionNameFromList } from './names';
import { HARD_STOPS, INTERACTING_MEDICATION_CLASSES, REVIEW_ITEMS } from '../rules/eligibility';
import { INSTRUMENT_IDS } from '../instruments/instrument-id';
import type { Protocol } from '../protocol';

export const STAFF_ROLES = ['admin', 'coordinator', 'prescriber', 'therapist'] as const;
export type StaffRoleName = (typeof STAFF_ROLES)[number];

const ALL: readonly StaffRoleName[] = STAFF_ROLES;
const OPS: readonly StaffRoleName[] = ['admin', 'coordinator'];
const PRESCRIBER: readonly StaffRoleName[] = ['admin', 'prescriber'];
const CLINICIANS: readonly StaffRoleName[] = ['admin', 'prescriber', 'therapist'];
const PATHWAY: readonly StaffRoleName[] = ['admin', 'coordinator', 'prescriber'];
const CARE_TEAM: readonly StaffRoleName[] = ALL;

/**
 * Who did it: set by the server from the caller's credential (src/api/actions.ts), never from a
 * request body; stored on the course timeline and in the audit log. A staff member (`staffId`), or an
 * API token without a staff member (`tokenId`, recorded as the token). No actor = the engine itself.
 * Checked for its shape only: the server made it, and a long label must not block an action.
 */
export const ActorRefSchema = z.strictObject({
  staffId: z.string().min(1).optional(),
  role: z.enum(STAFF_ROLES).optional(),
  /** The API token the request authenticated with, if any. */
  tokenId: z.string().min(1).optional(),
  /** The staff member's display name or the token's label at the time. */
  label: z.string().optional(),
});
export type ActorRef = z.infer<typeof ActorRefSchema>;

// ---- Field schemas shared by several actions ---------------------------------------------------------

const stepKey = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a step key such as dose-2 or prep-1');
const notes = z.string().trim().max(4000).optional();
const reason = z.string().trim().min(1).max(2000);
export const BloodPressureSchema = z.strictObject({ systolic: z.number().int().min(40).max(300), diastolic: z.number().int().min(20).max(200) });
const heartRate = z.number().int().min(20).max(250).optional();
const spo2 = z.number().min(50).max(100).optional();
const cssrsRisk = z.enum(['none', 'low', 'moderate', 'high']);
type HardStopId = keyof typeof HARD_STOPS;
type ReviewItemId = keyof typeof REVIEW_ITEMS;
const hardStop = z.enum(Object.keys(HARD_STOPS) as [HardStopId, ...HardStopId[]]);
// Nothing is assumed: each screening question is answered yes, no, or not assessed with its reason.
const screeningAnswer = z
  .union([z.boolean(), z.enum(['yes', 'no']), z.strictObject({ notAssessed: z.string().trim().min(1, 'say why it was not assessed').max(500) })], {
    error: (iss) => (iss.input === undefined ? 'required: answer yes, no, or { "notAssessed": "<reason>" }' : 'answer yes, no, or { "notAssessed": "<reason>" }'),
  })
  .describe('true / "yes" = present, false / "no" = absent, { "notAssessed": reason } = could not be assessed');
// An absent list is read as an empty one, so the 400 names every unanswered question, not just the list.
const everyOf = <K extends string>(keys: readonly K[]) => z.strictObject(Object.fromEntries(keys.map((k) => [k, screeningAnswer])) as Record<K, typeof screeningAnswer>).prefault({} as never);
type MedicationClassId = keyof typeof INTERACTING_MEDICATION_CLASSES | 'other';
const medClass = z.enum([...Object.keys(INTERACTING_MEDICATION_CLASSES), 'other'] as unknown as [MedicationClassId, ...MedicationClassId[]]);
export { ADVERSE_EVENT_CATEGORIES };
const ADVERSE_EVENT_SEVERITIES = ['mild', 'moderate', 'severe', 'life-threatening'] as const;
const CONCOMITANT = ['benzodiazepines', 'sedativeHypnotics', 'psychostimulants', 'maois', 'opioids'] as const;
const OBSERVED = ['sedation', 'dissociation', 'respiratoryDepression', 'seriousAdverseEvent'] as const;
const CONCOMITANT_LABELS: Record<(typeof CONCOMITANT)[number], string> = { benzodiazepines: 'Benzodiazepines', sedativeHypnotics: 'Sedative hypnotics (non-benzodiazepine)', psychostimulants: 'Psychostimulants', maois: 'MAO inhibitors', opioids: 'Opioids' };
const OBSERVED_LABELS: Record<(typeof OBSERVED)[number], string> = { sedation: 'Sedation', dissociation: 'Dissociation', respiratoryDepression: 'Respiratory depression', seriousAdverseEvent: 'A serious adverse event' };

// ---- Dashboard form fields, as data ------------------------------------------------------------------
// Field names carry their type for the one form-to-body converter (src/api/action-forms.ts): the
// renderer appends `:number`, `:bool`, `:datetime`, `:answer` or `:list` itself.

export type FormField =
  /** The current step, hidden (with a visible "Step: ..." line unless `quiet`), when the course has one. */
  | { kind: 'step'; quiet?: true }
  | { kind: 'text'; name: string; label: string; required?: true; value?: string; area?: true }
  | { kind: 'number'; name: string; label: string; min?: number; max?: number; step?: string; required?: true }
  | { kind: 'datetime'; name: string; label: string }
  | { kind: 'yes-no'; name: string; legend: string; checked?: boolean }
  /** One checkbox; `falseWhenUnchecked` sends false when it is not ticked (a hidden field before it). */
  | { kind: 'checkbox'; name: string; label: string; falseWhenUnchecked?: true }
  /** Radio buttons; `list` sends the chosen value split at commas. */
  | { kind: 'radio'; name: string; legend: string; options: ReadonlyArray<{ value: string; label: string }>; checked?: string; list?: true }
  /** A select; `options: 'protocol-routes'` lists the course protocol's routes; `blank` adds an empty first option; `labels` words for values. */
  | { kind: 'select'; name: string; label: string; options: readonly string[] | 'protocol-routes'; required?: true; blank?: string; labels?: Readonly<Record<string, string>> }
  /** A select of the course clinic's active staff in `roles`, by name (the value sent is the staff id). */
  | { kind: 'staff'; name: string; label: string; roles: readonly StaffRoleName[]; required?: true }
  /** Every question of a screening list: present, absent, or not assessed with its reason. */
  | { kind: 'screening'; name: string; legend: string; questions: Readonly<Record<string, string>> }
  /** The protocol's discharge checklist, one checkbox per item under `name.<item id>`. */
  | { kind: 'discharge-checklist'; name: string; legend: string }
  | { kind: 'note'; text: string }
  | { kind: 'group'; layout: 'grid' | 'fieldset'; legend?: string; fields: readonly FormField[] };

const stepField: FormField = { kind: 'step' };
const notesField: FormField = { kind: 'text', name: 'notes', label: 'Notes', area: true };
const bpFields: FormField = {
  kind: 'group',
  layout: 'grid',
  legend: 'Blood pressure',
  fields: [
    { kind: 'number', name: 'bloodPressure.systolic', label: 'Systolic (mmHg)', min: 40, max: 300, required: true, step: '1' },
    { kind: 'number', name: 'bloodPressure.diastolic', label: 'Diastolic (mmHg)', min: 20, max: 200, required: true, step: '1' },
  ],
};
const heartRateField: FormField = { kind: 'number', name: 'heartRate', label: 'Heart rate (beats/min)', min: 20, max: 250, step: '1' };
const spo2Field: FormField = { kind: 'number', name: 'spo2', label: 'SpO2 (%)', min: 50, max: 100 };
const opts = (values: readonly string[]) => values.map((value) => ({ value, label: value }));

// ---- The catalogue -----------------------------------------------------------------------------------

export interface ActionSpec<S extends z.ZodType = z.ZodType> {
  roles: readonly StaffRoleName[];
  schema: S;
  summary: string;
  form: readonly FormField[];
  example: z.input<S>;
  personOnly?: true;
  pauseExempt?: true;
  onCourse?: true;
  /** The dashboard asks before sending. */
  confirm?: string;
  /**
   * The server adds the target protocol (`protocol`, a published version loaded from the clinic's
   * store) beside the body, as it adds `actor`: never from the request (`move-version`).
   */
  serverProtocol?: true;
}
/**
 * An action's spec with its schema built on first use, then kept. Workflow code imports this catalogue, and
 * the SDK evaluates a workflow's modules once for every workflow it creates (each new course, each course
 * back from outside the worker's cache, each assessment): built eagerly, the schemas of every action were
 * most of a new workflow's cost on the worker (docs/performance.md). Now a course builds only the schemas
 * of the actions it receives; the API builds each once per process.
 */
const action = <S extends z.ZodType>(spec: Omit<ActionSpec<S>, 'schema'> & { schema: () => S }): ActionSpec<S> => {
  const build = spec.schema;
  let built: S | undefined;
  return Object.defineProperty({ ...spec } as unknown as ActionSpec<S>, 'schema', { get: () => (built ??= build()), enumerable: true, configurable: false });
};
const BP_EXAMPLE = { systolic: 122, diastolic: 78 };

export const ACTIONS = {
  screening: action({
    roles: [...OPS, 'prescriber'],
    summary: 'Record screening (hard stops and review items)',
    schema: () => z.strictObject({
      hardStops: everyOf(Object.keys(HARD_STOPS) as HardStopId[]).describe('every hard-stop question answered: present, absent, or not assessed with a reason'),
      reviewItems: everyOf(Object.keys(REVIEW_ITEMS) as ReviewItemId[]).describe('every review item answered: present, absent, or not assessed with a reason'),
      medications: z.array(z.strictObject({ name: z.string().trim().min(1).max(200), class: medClass, diazepamEquivalentMgPerDay: z.number().min(0).max(1000).optional() })).max(50).optional(),
      // Which hard stop and why; never who (the server records the caller, and the protocol says which roles may override).
      overrides: z.array(z.strictObject({ hardStop, reason })).max(20).optional().describe('hard stops to override, each with its reason; the override is made by the caller, whose role the protocol must allow (prescriber by default)'),
      notes,
    }),
    form: [
      { kind: 'screening', name: 'hardStops', legend: 'Hard stops: answer every one (nothing is assumed)', questions: HARD_STOPS },
      { kind: 'screening', name: 'reviewItems', legend: 'Review items: answer every one', questions: REVIEW_ITEMS },
      notesField,
    ],
    example: {
      hardStops: Object.fromEntries(Object.keys(HARD_STOPS).map((k) => [k, 'no'])) as Record<HardStopId, 'no'>,
      reviewItems: Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, 'no'])) as Record<ReviewItemId, 'no'>,
    },
  }),
  clearance: action({
    roles: PRESCRIBER,
    personOnly: true,
    summary: 'Record the medical clearance decision',
    schema: () => z.strictObject({ decision: z.enum(['approved', 'denied', 'needs-records']), reason: reason.optional() }),
    form: [
      { kind: 'radio', name: 'decision', legend: 'Decision', options: [{ value: 'approved', label: 'approved' }, { value: 'denied', label: 'denied' }, { value: 'needs-records', label: 'needs records' }] },
      { kind: 'text', name: 'reason', label: 'Reason (required for a denial or when screening asked for review)', area: true },
    ],
    example: { decision: 'needs-records', reason: 'awaiting the GP letter' },
  }),
  'rems-enrollment': action({
    roles: PATHWAY,
    summary: 'Record Spravato REMS patient enrollment',
    schema: () => z.strictObject({ enrolled: z.boolean(), remsPatientId: z.string().trim().min(1).max(100).optional() }),
    form: [
      { kind: 'yes-no', name: 'enrolled', legend: 'Enrolled in the Spravato REMS?' },
      { kind: 'text', name: 'remsPatientId', label: 'REMS patient id' },
    ],
    example: { enrolled: true },
  }),
  consent: action({
    roles: PATHWAY,
    summary: 'Record informed consent',
    schema: () => z.strictObject({
      documentVersion: z.string().trim().min(1).max(100),
      signedByClient: z.boolean(),
      /** Spravato REMS: the prescriber signs too. */
      prescriberSigned: z.boolean().optional(),
    }),
    form: [
      { kind: 'text', name: 'documentVersion', label: 'Consent document version', required: true, value: 'v1' },
      { kind: 'yes-no', name: 'signedByClient', legend: 'Signed by the client?', checked: true },
      { kind: 'checkbox', name: 'prescriberSigned', label: 'Prescriber signed too (REMS)' },
    ],
    example: { documentVersion: 'v1', signedByClient: true },
  }),
  schedule: action({
    roles: [...OPS, 'therapist'],
    summary: 'Schedule or reschedule a session',
    // Exactly one of: an absolute time, or protocol hours from now (scaled by the course's time scale).
    schema: () => z
      .strictObject({ stepKey, startsAt: z.iso.datetime({ offset: true }).optional(), startsInHours: z.number().min(0).max(24 * 365).optional() })
      .refine((v) => (v.startsAt === undefined) !== (v.startsInHours === undefined), { message: 'give exactly one of startsAt or startsInHours', path: ['startsAt'] }),
    form: [stepField, { kind: 'datetime', name: 'startsAt', label: 'Starts at' }, { kind: 'note', text: 'or' }, { kind: 'number', name: 'startsInHours', label: 'Starts in (hours from now)', min: 0 }],
    example: { stepKey: 'prep-1', startsInHours: 48 },
  }),
  'session-complete': action({
    roles: CLINICIANS,
    summary: 'Record that a preparation or integration session took place',
    schema: () => z.strictObject({ stepKey, notes }),
    form: [stepField, notesField],
    example: { stepKey: 'prep-1' },
  }),
  'no-show': action({
    roles: [...OPS, 'therapist', 'prescriber'],
    summary: 'Record a missed appointment',
    schema: () => z.strictObject({ stepKey, notes }),
    form: [stepField, notesField],
    example: { stepKey: 'prep-1' },
  }),
  'pre-dose-check': action({
    roles: PRESCRIBER,
    summary: 'Record the pre-dose safety check (blood pressure, fasting, escort, medications)',
    schema: () => z.strictObject({
      stepKey,
      bloodPressure: BloodPressureSchema,
      heartRate,
      spo2,
      hoursSinceFood: z.number().min(0).max(240).optional(),
      hoursSinceClearLiquids: z.number().min(0).max(240).optional(),
      escortConfirmed: z.boolean(),
      benzodiazepine: z.strictObject({ taking: z.boolean(), hoursSinceLastDose: z.number().min(0).max(10000).nullable().optional() }).optional(),
      pregnancy: z.enum(['negative', 'positive', 'unknown', 'not-applicable']).optional(),
      newInteractingMedications: z.array(z.string().trim().min(1).max(200)).max(20).optional(),
      /** At check-in, when the before-dose assessment was not answered online. */
      cssrsRisk: cssrsRisk.optional(),
      phq9Item9: z.number().int().min(0).max(3).optional(),
    }),
    form: [
      stepField,
      bpFields,
      { kind: 'group', layout: 'grid', legend: 'Vitals and fasting', fields: [heartRateField, spo2Field, { kind: 'number', name: 'hoursSinceFood', label: 'Hours since food', min: 0, max: 240 }, { kind: 'number', name: 'hoursSinceClearLiquids', label: 'Hours since clear liquids', min: 0, max: 240 }] },
      { kind: 'yes-no', name: 'escortConfirmed', legend: 'Escort / ride home confirmed?' },
      {
        kind: 'group',
        layout: 'fieldset',
        legend: 'Benzodiazepines',
        fields: [
          { kind: 'checkbox', name: 'benzodiazepine.taking', label: 'Taking a benzodiazepine', falseWhenUnchecked: true },
          { kind: 'number', name: 'benzodiazepine.hoursSinceLastDose', label: 'Hours since last dose', min: 0 },
        ],
      },
      { kind: 'select', name: 'pregnancy', label: 'Pregnancy test', options: ['negative', 'positive', 'unknown', 'not-applicable'], blank: '(not asked)', labels: { 'not-applicable': 'not applicable' } },
      {
        kind: 'group',
        layout: 'fieldset',
        legend: 'Suicide risk asked at check-in (the higher of this and the client\'s own latest answers counts)',
        fields: [
          { kind: 'select', name: 'cssrsRisk', label: 'C-SSRS risk at check-in', options: ['none', 'low', 'moderate', 'high'], blank: '(not asked at check-in)' },
          { kind: 'number', name: 'phq9Item9', label: 'PHQ-9 item 9 at check-in (0-3)', min: 0, max: 3 },
        ],
      },
    ],
    example: { stepKey: 'dose-1', bloodPressure: BP_EXAMPLE, escortConfirmed: true },
  }),
  dose: action({
    roles: PRESCRIBER,
    summary: 'Record the dose given',
    schema: () => z.strictObject({
      stepKey,
      route: z.enum(['sublingual', 'intramuscular', 'intravenous', 'intranasal', 'oral']),
      doseMg: z.number().positive().max(1000).optional(),
      lotNumber: z.string().trim().min(1).max(100).optional(),
    }),
    form: [stepField, { kind: 'select', name: 'route', label: 'Route', options: 'protocol-routes', required: true }, { kind: 'number', name: 'doseMg', label: 'Dose (mg)', min: 0 }, { kind: 'text', name: 'lotNumber', label: 'Lot number' }],
    example: { stepKey: 'dose-1', route: 'sublingual' },
  }),
  vitals: action({
    roles: PRESCRIBER,
    summary: 'Record monitoring vitals after a dose',
    schema: () => z.strictObject({
      stepKey,
      /** Minutes after the start of dosing this reading belongs to (a protocol check time). */
      atMinutes: z.number().min(0).max(24 * 60),
      bloodPressure: BloodPressureSchema,
      heartRate,
      spo2,
    }),
    form: [stepField, { kind: 'number', name: 'atMinutes', label: 'Minutes after the start of dosing', min: 0, required: true }, bpFields, { kind: 'group', layout: 'grid', legend: 'Heart rate and oxygen', fields: [heartRateField, spo2Field] }],
    example: { stepKey: 'dose-1', atMinutes: 40, bloodPressure: BP_EXAMPLE },
  }),
  discharge: action({
    roles: PRESCRIBER,
    summary: 'Discharge after monitoring',
    schema: () => z.strictObject({
      stepKey,
      bloodPressure: BloodPressureSchema,
      spo2,
      heartRate,
      /** Checklist item id -> done (ids from the protocol's dischargeChecklist). */
      checklist: z.record(z.string().min(1).max(60), z.boolean()),
      responsibleAdultPresent: z.boolean(),
    }),
    form: [stepField, bpFields, { kind: 'group', layout: 'grid', legend: 'Oxygen', fields: [spo2Field] }, { kind: 'discharge-checklist', name: 'checklist', legend: 'Discharge checklist' }, { kind: 'yes-no', name: 'responsibleAdultPresent', legend: 'Responsible adult present?' }],
    example: { stepKey: 'dose-1', bloodPressure: BP_EXAMPLE, checklist: {}, responsibleAdultPresent: true },
  }),
  'adverse-event': action({
    roles: CARE_TEAM,
    pauseExempt: true,
    onCourse: true,
    summary: 'Record an adverse event',
    schema: () => z.strictObject({
      stepKey: stepKey.optional(),
      category: z.enum(ADVERSE_EVENT_CATEGORIES),
      severity: z.enum(ADVERSE_EVENT_SEVERITIES),
      serious: z.boolean(),
      description: z.string().trim().max(4000).optional(),
    }),
    form: [
      { kind: 'step', quiet: true },
      { kind: 'select', name: 'category', label: 'Category', options: ADVERSE_EVENT_CATEGORIES, required: true, labels: { 'dissociation-distress': 'dissociation with distress', 'nausea-vomiting': 'nausea or vomiting', 'misuse-diversion': 'misuse or diversion', 'fall-injury': 'fall or injury' } },
      { kind: 'select', name: 'severity', label: 'Severity', options: ADVERSE_EVENT_SEVERITIES, required: true },
      { kind: 'yes-no', name: 'serious', legend: 'Serious?', checked: false },
      { kind: 'text', name: 'description', label: 'Description', area: true },
    ],
    example: { category: 'nausea-vomiting', severity: 'mild', serious: false },
  }),
  'safety-review': action({
    roles: CLINICIANS,
    personOnly: true,
    pauseExempt: true,
    summary: 'Record a clinician safety review (lifts or keeps a safety hold)',
    schema: () => z.strictObject({
      outcome: z.enum(['release', 'keep-hold', 'withdraw']),
      /** The risk level the clinician assessed; default 'low' on release. */
      riskLevel: cssrsRisk.optional(),
      notes,
    }),
    form: [
      { kind: 'radio', name: 'outcome', legend: 'Outcome', options: [{ value: 'release', label: 'Release the hold' }, { value: 'keep-hold', label: 'Keep the hold' }, { value: 'withdraw', label: 'Withdraw from the course' }] },
      { kind: 'select', name: 'riskLevel', label: 'Assessed risk', options: ['none', 'low', 'moderate', 'high'], blank: '(default)' },
      notesField,
    ],
    example: { outcome: 'keep-hold' },
  }),
  'rems-form': action({
    // The step's owner (the coordinator, spravato-rems) files it as well as prescribers and admins.
    roles: PATHWAY,
    pauseExempt: true,
    summary: 'Submit the Spravato REMS patient monitoring form',
    schema: () => z.strictObject({
      stepKey,
      doseMg: z.number().positive().max(1000),
      lotNumber: z.string().trim().min(1).max(100),
      concomitant: z.strictObject(Object.fromEntries(CONCOMITANT.map((k) => [k, z.boolean()])) as Record<(typeof CONCOMITANT)[number], z.ZodBoolean>),
      sedation: z.boolean(),
      dissociation: z.boolean(),
      respiratoryDepression: z.boolean(),
      seriousAdverseEvent: z.boolean(),
      /** Were the vital signs acceptable before the dose, at ~40 min and before discharge (omitted: the engine's reading of its own checks, src/rems/form.ts). */
      vitalsAcceptable: z.strictObject({ preDose: z.boolean(), at40: z.boolean(), discharge: z.boolean() }).optional(),
      /** A documented correction: the form's dose or lot differs from the session's dose record on purpose (an amendment, audited with both values). */
      amendmentReason: z.string().trim().min(10, 'at least 10 characters: say what was corrected and why').max(500).optional(),
    }),
    form: [
      stepField,
      { kind: 'number', name: 'doseMg', label: 'Dose (mg)', min: 0, required: true },
      { kind: 'text', name: 'lotNumber', label: 'Lot number', required: true },
      { kind: 'group', layout: 'fieldset', legend: 'Concomitant medications', fields: CONCOMITANT.map((k) => ({ kind: 'checkbox', name: `concomitant.${k}`, label: CONCOMITANT_LABELS[k], falseWhenUnchecked: true }) as const) },
      { kind: 'group', layout: 'fieldset', legend: 'Observed', fields: OBSERVED.map((k) => ({ kind: 'checkbox', name: k, label: OBSERVED_LABELS[k], falseWhenUnchecked: true }) as const) },
      { kind: 'text', name: 'amendmentReason', label: 'Amendment: why the dose or lot differs from the session record (only for a documented correction)', area: true },
    ],
    example: {
      stepKey: 'rems-form-1',
      doseMg: 56,
      lotNumber: 'L-1',
      concomitant: { benzodiazepines: false, sedativeHypnotics: false, psychostimulants: false, maois: false, opioids: false },
      sedation: false,
      dissociation: false,
      respiratoryDepression: false,
      seriousAdverseEvent: false,
    },
  }),
  'maintenance-decision': action({
    roles: PRESCRIBER,
    summary: 'Record the maintenance decision',
    schema: () => z.strictObject({ decision: z.enum(['maintenance', 'complete']), reason: reason.optional() }),
    form: [
      { kind: 'radio', name: 'decision', legend: 'Decision', options: [{ value: 'maintenance', label: 'Maintenance (boosters)' }, { value: 'complete', label: 'Complete the course' }] },
      { kind: 'text', name: 'reason', label: 'Reason', area: true },
    ],
    example: { decision: 'complete' },
  }),
  'task-complete': action({
    roles: OPS,
    summary: 'Mark a task step done',
    schema: () => z.strictObject({ stepKey, outcome: z.string().trim().min(1).max(200).optional() }),
    form: [stepField, { kind: 'text', name: 'outcome', label: 'Outcome' }],
    example: { stepKey: 'prep-1' },
  }),
  'send-assessment': action({
    roles: CARE_TEAM,
    pauseExempt: true,
    onCourse: true,
    summary: 'Send an assessment now (the client gets an email with a signed link)',
    schema: () => z.strictObject({
      instruments: z.array(z.enum(INSTRUMENT_IDS)).min(1).max(5).default(['phq9', 'gad7']),
      reason: z.string().trim().min(1).max(500).optional(),
    }),
    form: [
      {
        kind: 'radio',
        name: 'instruments',
        legend: 'Instruments',
        list: true,
        checked: 'phq9,gad7',
        options: [
          { value: 'phq9,gad7', label: 'PHQ-9 and GAD-7' },
          { value: 'phq9,gad7,pcl5', label: 'PHQ-9, GAD-7 and PCL-5' },
          { value: 'cssrs', label: 'C-SSRS screener' },
        ],
      },
    ],
    example: { instruments: ['phq9'] },
  }),
  pause: action({
    roles: PATHWAY,
    onCourse: true,
    summary: 'Pause the course',
    schema: () => z.strictObject({ reason }),
    form: [{ kind: 'text', name: 'reason', label: 'Reason', required: true, area: true }],
    example: { reason: 'client travelling for two weeks' },
  }),
  resume: action({
    roles: PATHWAY,
    pauseExempt: true,
    onCourse: true,
    summary: 'Resume a paused course',
    schema: () => z.strictObject({}),
    form: [],
    example: {},
  }),
  withdraw: action({
    roles: PATHWAY,
    pauseExempt: true,
    onCourse: true,
    confirm: 'Withdraw this client from the course?',
    summary: 'Withdraw the client from the course',
    schema: () => z.strictObject({ reason }),
    form: [{ kind: 'text', name: 'reason', label: 'Reason', required: true, area: true }],
    example: { reason: 'client moved away' },
  }),
  'change-clinician': action({
    roles: OPS,
    pauseExempt: true,
    onCourse: true,
    summary: 'Change the primary clinician',
    schema: () => z.strictObject({ clinicianId: z.string().min(1).max(100), reason: reason.optional() }),
    form: [
      { kind: 'staff', name: 'clinicianId', label: 'New clinician', roles: ['prescriber', 'therapist'], required: true },
      { kind: 'text', name: 'reason', label: 'Reason', area: true },
    ],
    example: { clinicianId: 'staff-id' },
  }),
  'care-team-note': action({
    roles: CARE_TEAM,
    pauseExempt: true,
    onCourse: true,
    summary: 'Write a note to the care team (on the course timeline; notifies nobody)',
    schema: () => z.strictObject({ note: z.string().trim().min(1).max(2000), stepKey: stepKey.optional() }),
    form: [{ kind: 'step', quiet: true }, { kind: 'text', name: 'note', label: 'Note', required: true, area: true }],
    example: { note: 'Client asked to move sessions to mornings from next month.' },
  }),
  // The target version's snapshot is loaded by the server from the clinic's store (src/api/course-moves.ts).
  'move-version': action({
    roles: OPS,
    serverProtocol: true,
    // A paused course is refused by the move's own safe-point rule (src/domain/protocol-move.ts), in its words.
    pauseExempt: true,
    summary: 'Move the course to another published version of its protocol, at a safe point (never inside a dosing session or with an open safety hold); preview it first: GET /api/courses/:id/move-preview',
    schema: () => z.strictObject({ version: z.number().int().min(1).max(1_000_000), reason }),
    form: [
      { kind: 'number', name: 'version', label: 'Version', min: 1, step: '1', required: true },
      { kind: 'text', name: 'reason', label: 'Reason', required: true, area: true },
    ],
    example: { version: 2, reason: 'the clinic shortened the integration window' },
  }),
};

export type ActionName = keyof typeof ACTIONS;
/** Every action's name, in catalogue order. */
export const ACTION_NAMES = Object.keys(ACTIONS) as ActionName[];
// The zod-free list workflow code loads (names.ts) names exactly the catalogue's actions: this fails to compile otherwise.
const namesMatch: [ActionName] extends [ActionNameFromList] ? ([ActionNameFromList] extends [ActionName] ? true : false) : false = true;
void namesMatch;
export function isActionName(name: string): name is ActionName {
  return Object.prototype.hasOwnProperty.call(ACTIONS, name);
}

/** The body of an action after its schema (trimmed, defaults filled): `z.infer` of the schema. */
export type ActionBody<K extends ActionName> = z.infer<(typeof ACTIONS)[K]['schema']>;
/** What an action's handler receives: its body and who acts (set by the server, never by the body). */
export type ActionInput<K extends ActionName> = ActionBody<K> & { actor?: ActorRef };
/** A move's input as the workflow reads it: the body, the actor, and the target protocol the server loaded. */
export type MoveVersionInput = ActionInput<'move-version'> & { protocol?: Protocol };
/** What a caller may send (before defaults): the schema's input type, plus the actor. */
export type ActionRequest<K extends ActionName> = z.input<(typeof ACTIONS)[K]['schema']> & { actor?: ActorRef };

/** A move's target protocol: the shape only (the store parsed it in full when it was saved). */
const TargetProtocolSchema = z.looseObject({ id: z.string().min(1), version: z.number().int().min(1), course: z.looseObject({}), phases: z.array(z.unknown()).min(1) });

/** One bad field and why, as the API reports it (`bloodPressure.systolic`: `Too big: ...`). */
export interface ActionProblem {
  field: string;
  message: string;
}

/** Keys that would name who acts: always refused with a message saying why (issue #15). */
export const ACTOR_KEYS: ReadonlySet<string> = new Set(['actor', 'byRole', 'byUserId', 'byStaffId', 'staffId', 'actorId', 'actorType', 'recordedBy', 'reviewedBy']);

/** A zod error as field problems: an unknown key is named itself (`overrides.0.byRole`), not its parent. */
export function problemsOf(error: z.ZodError, where = 'body'): ActionProblem[] {
  return error.issues.flatMap((i) => {
    if (i.code === 'unrecognized_keys') {
      return i.keys.map((k) => ({ field: [...i.path, k].join('.'), message: ACTOR_KEYS.has(k) ? 'not allowed: who acts is taken from your credentials' : 'unknown field' }));
    }
    return [{ field: i.path.length ? i.path.join('.') : where, message: i.message }];
  });
}

/**
 * An action's input as it reaches the workflow (`actor` beside the body): the body parsed by the
 * action's schema and the actor by its own. The workflow's Update validator and handler both run it.
 */
export function parseActionInput<K extends ActionName>(name: K, raw: unknown): { ok: true; input: ActionInput<K> } | { ok: false; problems: ActionProblem[] } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, problems: [{ field: 'body', message: 'expected an object' }] };
  const { actor, ...rest } = raw as Record<string, unknown>;
  const problems: ActionProblem[] = [];
  // A move's target protocol comes beside the body, set by the server (`serverProtocol`); in any other body it is an unknown field.
  let body = rest;
  let protocol: unknown;
  if ((ACTIONS[name] as ActionSpec).serverProtocol && 'protocol' in rest) {
    ({ protocol, ...body } = rest);
    const target = TargetProtocolSchema.safeParse(protocol);
    if (!target.success) problems.push(...problemsOf(target.error).map((p) => ({ ...p, field: p.field === 'body' ? 'protocol' : `protocol.${p.field}` })));
  }
  const parsedActor = actor === undefined ? undefined : ActorRefSchema.safeParse(actor);
  if (parsedActor && !parsedActor.success) problems.push(...problemsOf(parsedActor.error).map((p) => ({ ...p, field: p.field === 'body' ? 'actor' : `actor.${p.field}` })));
  const parsed = (ACTIONS[name].schema as z.ZodType).safeParse(body);
  if (!parsed.success) problems.push(...problemsOf(parsed.error));
  if (problems.length || !parsed.success) return { ok: false, problems };
  const input = { ...(parsed.data as object), ...(parsedActor?.success ? { actor: parsedActor.data } : {}), ...(protocol !== undefined ? { protocol } : {}) } as ActionInput<K>;
  return { ok: true, input };
}

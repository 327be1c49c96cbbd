// The payloads of every message the course and assessment workflows take and send: staff actions'
// inputs, the assessment child's signals, the client's answers, a late critical answer. Plain data,
// no Temporal: the machines import these, and messages.ts (which defines the Updates, Signals and
// Queries on them) re-exports them.
import type { InstrumentId } from '../domain/instruments/instrument-id';
import type { Medication, HardStop, ReviewItem, HardStopOverrideRequest, ScreeningAnswer } from '../domain/rules/eligibility';
import type { CssrsRisk } from '../domain/instruments/cssrs';

/**
 * Who did it: set by the server from the caller's credential (src/api/actions.ts), never from a
 * request body; stored on the course timeline and in the audit log. A staff member (`staffId`), or an
 * API token without a staff member (`tokenId`, recorded as the token). No actor = the engine itself.
 */
export interface ActorRef {
  staffId?: string;
  role?: 'coordinator' | 'prescriber' | 'therapist' | 'admin';
  /** The API token the request authenticated with, if any. */
  tokenId?: string;
  /** The staff member's display name or the token's label at the time. */
  label?: string;
}

interface Base {
  actor?: ActorRef;
}
interface StepBase extends Base {
  /** The step acted on, e.g. `dose-2`, `prep-1`, `integration-3`. */
  stepKey: string;
}

export interface BloodPressureInput {
  systolic: number;
  diastolic: number;
}

export interface RecordScreeningInput extends Base {
  /** Every hard stop answered: true/'yes', false/'no', or { notAssessed: reason }. */
  hardStops: Partial<Record<HardStop, ScreeningAnswer>>;
  /** Every review item answered the same way. */
  reviewItems?: Partial<Record<ReviewItem, ScreeningAnswer>>;
  medications?: Medication[];
  /** Which hard stops to override and why; who overrides is `actor` (the role is checked on it). */
  overrides?: HardStopOverrideRequest[];
  notes?: string;
}
export interface DecideClearanceInput extends Base {
  decision: 'approved' | 'denied' | 'needs-records';
  /** Required for a denial, and for an approval when screening asked for prescriber review. */
  reason?: string;
}
export interface RecordRemsEnrollmentInput extends Base {
  enrolled: boolean;
  remsPatientId?: string;
}
export interface RecordConsentInput extends Base {
  documentVersion: string;
  signedByClient: boolean;
  /** Spravato REMS: the prescriber signs too. */
  prescriberSigned?: boolean;
}
export interface ScheduleSessionInput extends StepBase {
  /** Exactly one of: an absolute time, or protocol hours from now (scaled by the course's time scale). */
  startsAt?: string;
  startsInHours?: number;
}
export interface CompleteSessionInput extends StepBase {
  notes?: string;
}
export interface RecordNoShowInput extends StepBase {
  notes?: string;
}
export interface RecordPreDoseCheckInput extends StepBase {
  bloodPressure: BloodPressureInput;
  heartRate?: number;
  spo2?: number;
  hoursSinceFood?: number;
  hoursSinceClearLiquids?: number;
  escortConfirmed: boolean;
  benzodiazepine?: { taking: boolean; hoursSinceLastDose?: number | null };
  pregnancy?: 'negative' | 'positive' | 'unknown' | 'not-applicable';
  newInteractingMedications?: string[];
  /** At check-in, when the before-dose assessment was not answered online. */
  cssrsRisk?: CssrsRisk;
  phq9Item9?: number;
}
export interface RecordDoseInput extends StepBase {
  route: string;
  doseMg?: number;
  lotNumber?: string;
}
export interface RecordVitalsInput extends StepBase {
  /** Minutes after the start of dosing this reading belongs to (a protocol check time). */
  atMinutes: number;
  bloodPressure: BloodPressureInput;
  heartRate?: number;
  spo2?: number;
}
export interface DischargeInput extends StepBase {
  bloodPressure: BloodPressureInput;
  spo2?: number;
  heartRate?: number;
  /** Checklist item id -> done (ids from the protocol's dischargeChecklist). */
  checklist: Record<string, boolean>;
  responsibleAdultPresent: boolean;
}
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
export interface RecordAdverseEventInput extends Base {
  stepKey?: string;
  category: (typeof ADVERSE_EVENT_CATEGORIES)[number];
  severity: 'mild' | 'moderate' | 'severe' | 'life-threatening';
  serious: boolean;
  description?: string;
}
export interface RecordSafetyReviewInput extends Base {
  outcome: 'release' | 'keep-hold' | 'withdraw';
  /** The risk level the clinician assessed; default 'low' on release. */
  riskLevel?: CssrsRisk;
  notes?: string;
}
export interface SubmitRemsFormInput extends StepBase {
  doseMg: number;
  lotNumber: string;
  concomitant: { benzodiazepines: boolean; sedativeHypnotics: boolean; psychostimulants: boolean; maois: boolean; opioids: boolean };
  sedation: boolean;
  dissociation: boolean;
  respiratoryDepression: boolean;
  seriousAdverseEvent: boolean;
}
export interface DecideMaintenanceInput extends Base {
  decision: 'maintenance' | 'complete';
  reason?: string;
}
export interface CompleteTaskInput extends StepBase {
  outcome?: string;
}
export interface TriggerAssessmentInput extends Base {
  instruments: InstrumentId[];
  reason?: string;
}
export interface PauseCourseInput extends Base {
  reason: string;
}
export type ResumeCourseInput = Base;
export interface WithdrawCourseInput extends Base {
  reason: string;
}
export interface ChangeClinicianInput extends Base {
  clinicianId: string;
  reason?: string;
}

/** Every staff action: its Update name and input type. */
export interface CourseActionInputs {
  'screening': RecordScreeningInput;
  'clearance': DecideClearanceInput;
  'rems-enrollment': RecordRemsEnrollmentInput;
  'consent': RecordConsentInput;
  'schedule': ScheduleSessionInput;
  'session-complete': CompleteSessionInput;
  'no-show': RecordNoShowInput;
  'pre-dose-check': RecordPreDoseCheckInput;
  'dose': RecordDoseInput;
  'vitals': RecordVitalsInput;
  discharge: DischargeInput;
  'adverse-event': RecordAdverseEventInput;
  'safety-review': RecordSafetyReviewInput;
  'rems-form': SubmitRemsFormInput;
  'maintenance-decision': DecideMaintenanceInput;
  'task-complete': CompleteTaskInput;
  'send-assessment': TriggerAssessmentInput;
  'pause': PauseCourseInput;
  'resume': ResumeCourseInput;
  'withdraw': WithdrawCourseInput;
  'change-clinician': ChangeClinicianInput;
}
export type CourseActionName = keyof CourseActionInputs;
export const COURSE_ACTION_NAMES: readonly CourseActionName[] = [
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
];


// Assessment child -> course parent.
export interface AssessmentCriticalSignal {
  assessmentId: string;
  level: CssrsRisk;
  /** Reason codes. */
  codes: string[];
  /** What was endorsed (item numbers and values), for the hold's reason; absent from older assessments. */
  summary?: string;
  /** Workflow time the assessment sent it (epoch ms): the time the course applies it at. */
  at: number;
}
export interface AssessmentInstrumentResult {
  instrumentId: InstrumentId;
  status: 'completed' | 'missed' | 'cancelled';
  total: number | null;
  band: string | null;
  critical: boolean;
  phq9Item9?: number;
  cssrsRisk?: CssrsRisk;
  /** Workflow time the client answered it (epoch ms); absent from assessments started before. */
  answeredAt?: number;
}
export interface AssessmentFinishedSignal {
  assessmentId: string;
  status: 'completed' | 'partial' | 'missed' | 'cancelled';
  results: AssessmentInstrumentResult[];
  /** Workflow time the assessment finished (epoch ms): the time the course applies it at. */
  at: number;
}

// Client -> assessment child.
export interface SubmitAnswersInput {
  instrumentId: InstrumentId;
  /** In item order; yes/no instruments (C-SSRS) take booleans, the 7th being item 6b. */
  answers: unknown[];
}
export interface SubmitAnswersResult {
  instrumentId: InstrumentId;
  total: number;
  band: string;
  /** Suicidal content endorsed: show crisis resources now (the clinic may not be watching in real time). */
  showCrisisResources: boolean;
  remaining: InstrumentId[];
}

// API -> course: a critical answer given on a link that had closed (expired, used, or its assessment
// cancelled) while the course still runs. The course opens a suicide-risk hold and alerts at once.
export interface LateCriticalAnswerInput {
  /** Deterministic per late answer (assessment, instrument and answers): the hold's and the alerts' key. */
  key: string;
  assessmentId: string;
  instrumentIds: InstrumentId[];
  level: CssrsRisk;
  /** What was endorsed (item numbers and values), for the hold's reason. */
  summary: string;
  /** The late answers as given, with their scores (none for an incomplete form: `scored: false`): kept in the course's timeline event (the clinical record). */
  responses?: Array<{ instrumentId: InstrumentId; total?: number; band?: string; scored?: false; answers: unknown[] }>;
}

// API -> its own short workflow: the safety alerts of a late critical answer on an ended course, sent
// through the notify activity (one email per key, ever), once per late answer (the workflow id).
export interface LateAnswerAlertInput {
  key: string;
  courseId: string;
  clinicId: string;
  assessmentId: string;
  roles: Array<'coordinator' | 'prescriber' | 'therapist' | 'admin'>;
}

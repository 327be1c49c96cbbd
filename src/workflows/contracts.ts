// The payloads of every message the course workflow takes: staff actions' inputs, the client's
// answers, a late critical answer; and what an open form reports to the course machine. Plain data,
// no Temporal: the machines import these, and messages.ts (which defines the Updates and the Query on
// them) re-exports them.
import type { InstrumentId } from '../domain/instruments/instrument-id';
import type { CssrsRisk } from '../domain/instruments/cssrs';
import type { ActionInput, ActionName, ActionRequest, ActorRef } from '../domain/actions/catalogue';
import { ACTION_NAME_LIST } from '../domain/actions/names';

// Every staff action's name and input type come from the action catalogue (src/domain/actions/catalogue.ts);
// the names at load from its zod-free list (names.ts: the catalogue loads on a workflow's first action).
export { ADVERSE_EVENT_CATEGORIES } from '../domain/actions/names';
export type { ActorRef };

/** Every staff action: its Update name and the input its handler receives (`z.infer` of its schema, plus the actor). */
export type CourseActionInputs = { [K in ActionName]: ActionInput<K> };
/** What a caller sends for each action (before the schema's defaults), plus the actor. */
export type CourseActionRequests = { [K in ActionName]: ActionRequest<K> };
export type CourseActionName = ActionName;
export const COURSE_ACTION_NAMES: readonly CourseActionName[] = ACTION_NAME_LIST;

// An open form -> the course machine (src/workflows/forms.ts): a critical answer, the form's end.
export interface AssessmentCriticalSignal {
  assessmentId: string;
  level: CssrsRisk;
  /** Reason codes. */
  codes: string[];
  /** What was endorsed (item numbers and values), for the hold's reason; absent from older assessments. */
  summary?: string;
  /** Workflow time of the answer (epoch ms): the time the course applies it at. */
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

// Client -> course: answers to one instrument of an open form.
export interface SubmitAnswersInput {
  instrumentId: InstrumentId;
  /** In item order; yes/no instruments (C-SSRS) take booleans, the 7th being item 6b. */
  answers: unknown[];
}
/** The course's `submitAnswers` Update: the form (`<courseId>/<stepKey>`) and one instrument's answers. */
export interface CourseAnswersInput extends SubmitAnswersInput {
  assessmentId: string;
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

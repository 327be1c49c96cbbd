// The public API of the course workflow: every Update and Query with its
// input type. The API and CLI reach them through src/client/course-actions.ts.
//
// Rejections: an Update's validator rejects an action with an ApplicationFailure whose `type` is
//   'InvalidTransition' (HTTP 409: not possible in the course's current state),
//   'ClinicallyRefused' (HTTP 422: well-formed but refused by a clinical rule, reasons in details),
//   'InvalidInput'      (HTTP 400: malformed input),
//   'InvalidAnswers'    (HTTP 400: assessment answers that do not fit the instrument).
// A rejected Update writes nothing to history.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { CourseView } from './machine/views';
import {
  COURSE_ACTION_NAMES,
  type CourseActionInputs,
  type CourseActionName,
  type CourseActionRequests,
  type LateCriticalAnswerInput,
  type CourseAnswersInput,
  type SubmitAnswersResult,
} from './contracts';

// The payload types live in contracts.ts (below the machines); callers keep importing them from here.
export * from './contracts';
export { REJECTION_TYPES, type RejectionType } from './rejection';

/**
 * What every course Update returns: an acknowledgement, never the course's state (that is read from
 * PostgreSQL, written before the Update answers). A short outcome, the clinical reasons where a rule
 * decided, the ids of what the action created, and `seq`: the course's event counter after this
 * action (the timeline's `seq` of its last event; later actions answer with a higher one).
 */
export interface ActionResult {
  outcome: string;
  reasons?: Array<{ code: string; message: string; blocking: boolean }>;
  /** What the action created, e.g. `assessmentId` for 'send-assessment'. */
  ids?: Record<string, string>;
  seq: number;
}

/** What a course workflow returns when it ends: a short summary (the full record is in PostgreSQL). */
export interface CourseResult {
  courseId: string;
  status: 'completed' | 'withdrawn' | 'ineligible';
  endReason: string | null;
  endedAt: string | null;
  dosesGiven: number;
  /** The course's event counter at the end. */
  seq: number;
}

/** Update definitions, one per staff action, named as in the catalogue; the argument is what a caller sends. */
export const courseUpdates = Object.fromEntries(COURSE_ACTION_NAMES.map((n) => [n, defineUpdate<ActionResult, [unknown]>(n)])) as {
  [K in CourseActionName]: ReturnType<typeof defineUpdate<ActionResult, [CourseActionRequests[K]]>>;
};

export const getCourseStateQuery = defineQuery<CourseView>('getCourseState');

// Client -> course: answers to one instrument of an open form (src/workflows/forms.ts).
export const submitAnswersUpdate = defineUpdate<SubmitAnswersResult, [CourseAnswersInput]>('submitAnswers');

// API -> course: a critical answer given on a link that had closed (contracts.ts: LateCriticalAnswerInput).
/** `recorded: false`: the course has ended; the caller records the item itself (src/api/late-answers.ts). */
export const recordLateCriticalAnswerUpdate = defineUpdate<{ recorded: boolean; holdId: string | null }, [LateCriticalAnswerInput]>('recordLateCriticalAnswer');

/**
 * Engine -> course: write the course's record again as the course holds it (machine/progression.ts
 * `resync`). Sent by src/client/course-actions.ts when an Update came back lost with its workflow task
 * (the task's projection may have committed before its worker died) and before a refusal is answered.
 * Changes no state; answers with the course's event counter once the rows are written. Like every
 * Update, it carries a sealed argument (why it was sent), so only the engine can send it.
 */
export interface ResyncProjectionInput {
  reason: 'lost-task' | 'refused';
}
export const resyncProjectionUpdate = defineUpdate<{ seq: number }, [ResyncProjectionInput]>('resyncProjection');

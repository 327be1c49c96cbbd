// The service behind the API and CLI for everything done to a running course: staff actions (the
// course workflow's Updates) and a client's assessment answers (the course's `submitAnswers` Update).
// Neither reads the workflow's state: an Update answers with an acknowledgement once its projection
// is in PostgreSQL, where callers read the course (src/client/courses.ts getCourse).
// Workflow rejections become AppErrors with the workflow's reason:
//   InvalidTransition -> 'conflict' (409), ClinicallyRefused -> 'unprocessable' (422),
//   InvalidInput / InvalidAnswers -> 'invalid_input' (400), unknown course/assessment -> 'not_found'.
import { type Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { AppError, notFound, type FieldProblem } from '../errors';
import type { CourseView } from '../workflows/course-machine';
import {
  COURSE_ACTION_NAMES,
  courseUpdates,
  getCourseStateQuery,
  resyncProjectionUpdate,
  submitAnswersUpdate,
  type ActionResult,
  type CourseActionInputs,
  type CourseActionName,
  type ResyncProjectionInput,
  type SubmitAnswersInput,
  type SubmitAnswersResult,
} from '../workflows/messages';
import { courseWorkflowId } from '../workflows/workflow-ids';

export { COURSE_ACTION_NAMES, courseWorkflowId };
export type { ActionResult, CourseActionInputs, CourseActionName, CourseView, SubmitAnswersResult };

export function isCourseActionName(name: string): name is CourseActionName {
  return (COURSE_ACTION_NAMES as readonly string[]).includes(name);
}

/**
 * Runs one staff action on a course and returns its acknowledgement ({ outcome, reasons?, ids?, seq }),
 * once the course's projection holds it. Sent once: an Update that the server accepted is in history
 * and runs exactly once; one the workflow's validator refused wrote nothing.
 */
export async function executeCourseAction<K extends CourseActionName>(temporal: Client, courseId: string, action: K, input: CourseActionInputs[K], opts: { updateId?: string } = {}): Promise<ActionResult> {
  if (!isCourseActionName(action)) throw new AppError('invalid_input', `unknown course action ${String(action)}`, [{ field: 'action', message: `must be one of ${COURSE_ACTION_NAMES.join(', ')}` }]);
  const handle = temporal.workflow.getHandle(courseWorkflowId(courseId));
  try {
    // An `updateId` (a dashboard form's one-time submission id) makes a second send of the same
    // submission the same Update: Temporal runs it once and answers both with its result.
    return await handle.executeUpdate(courseUpdates[action] as never, { args: [input], ...(opts.updateId ? { updateId: opts.updateId } : {}) } as never);
  } catch (err) {
    if (lostToTaskFailure(err)) {
      // The task that carried the action was lost (its worker died, or the course was closing): the
      // server dropped the Update, but the task's projection may have committed first, so the rows
      // can show what the course never recorded. They are written again from the course before the
      // caller is told to read them.
      const resynced = await resyncCourseProjection(temporal, courseId, 'lost-task').then(
        () => true,
        () => false,
      );
      throw new AppError(
        'conflict',
        `course ${courseId}: the action was lost with the workflow task that carried it (a worker stopped, or the course was closing); the course did not record it. ${
          resynced ? "The course's record has been written again from the course: read it and" : 'Read the course and'
        } try again if it still applies`,
      );
    }
    const mapped = await mapError(err, `course ${courseId}`, () => handle.describe());
    // Refused for the course's state (409) or by a clinical rule (422): the caller acted on what the
    // rows showed, and the rows may hold what a lost task wrote. A lost task's Update can also come
    // back to the next task and be refused there (the server sends it again; the time has moved on,
    // e.g. past the baseline's window): then the refusal is the only sign. The record is written again
    // from the course before the refusal is answered, so what the caller reads next is the course's.
    if (mapped instanceof AppError && (mapped.code === 'conflict' || mapped.code === 'unprocessable')) {
      await resyncAfterRefusal(temporal, courseId);
    }
    throw mapped;
  }
}

/**
 * Refusals on one course share their resyncs (per process): a refusal within this long of the start of
 * the course's last resync sends none and waits for that one instead. Staff actions have no rate limit,
 * so without it every refused action would cost the course a workflow task and 6 history events; with
 * it, at most one per course per window, however many refusals arrive.
 *
 * It misses nothing a resync is for. A lost task's Update is refused when the server sends it again
 * with a later task, which happens only after the lost task timed out (the workflow task timeout: 10 s,
 * the SDK's default, which the engine keeps). A resync that started within the window before such a
 * refusal therefore started after the lost task wrote its rows, and wrote them again. A caller who acted
 * on those rows got the lost-task answer, whose resync is never shared.
 */
export const REFUSED_RESYNC_WINDOW_MS = 2_000;
const refusedResyncs = new Map<string, { at: number; done: Promise<void> }>();

function resyncAfterRefusal(temporal: Client, courseId: string): Promise<void> {
  const now = Date.now();
  const last = refusedResyncs.get(courseId);
  if (last && now - last.at < REFUSED_RESYNC_WINDOW_MS) return last.done;
  if (refusedResyncs.size >= 1_000) for (const [id, r] of refusedResyncs) if (now - r.at >= REFUSED_RESYNC_WINDOW_MS) refusedResyncs.delete(id);
  const done = resyncCourseProjection(temporal, courseId, 'refused').then(
    () => undefined,
    () => undefined,
  );
  refusedResyncs.set(courseId, { at: now, done });
  return done;
}

/**
 * Writes a course's record again as the course holds it (src/workflows/messages.ts resyncProjection)
 * and returns the course's event counter. Safe at any time: it changes no state and records no event.
 */
export async function resyncCourseProjection(temporal: Client, courseId: string, reason: ResyncProjectionInput['reason']): Promise<{ seq: number }> {
  const handle = temporal.workflow.getHandle(courseWorkflowId(courseId));
  try {
    return await handle.executeUpdate(resyncProjectionUpdate, { args: [{ reason }] });
  } catch (err) {
    throw await mapError(err, `course ${courseId}`, () => handle.describe());
  }
}

/**
 * An operator's debug read of a course's in-memory state, from the workflow itself (a Query). Never
 * on a hot path: the product reads PostgreSQL. A query to a worker without the course in its cache
 * replays its history (src/workflows/README.md, the stale-query defect), which the course's design
 * makes harmless but not free.
 */
export async function getCourseState(temporal: Client, courseId: string): Promise<CourseView> {
  try {
    return await temporal.workflow.getHandle(courseWorkflowId(courseId)).query(getCourseStateQuery);
  } catch (err) {
    throw await mapError(err, `course ${courseId}`);
  }
}

/** Splits `<courseId>/<stepKey>/<instrument>` into the assessment (form set) id and the instrument. */
export function parseAssessmentId(assessmentId: string): { formId: string; instrumentId: string } {
  const i = assessmentId.lastIndexOf('/');
  if (i <= 0 || assessmentId.indexOf('/') === i) throw new AppError('invalid_input', `assessment id ${assessmentId} must be <courseId>/<stepKey>/<instrument>`, [{ field: 'assessmentId', message: 'must be <courseId>/<stepKey>/<instrument>' }]);
  return { formId: assessmentId.slice(0, i), instrumentId: assessmentId.slice(i + 1) };
}

/**
 * A client's answers to one instrument of an assessment. `assessmentId` is the instrument's id,
 * `<courseId>/<stepKey>/<instrument>` (as in the assessments table); answers in item order. The course
 * holds its open forms (src/workflows/forms.ts): the answers are an Update on the course.
 */
export async function submitAssessment(temporal: Client, assessmentId: string, answers: unknown[]): Promise<SubmitAnswersResult> {
  const { formId, instrumentId } = parseAssessmentId(assessmentId);
  try {
    return await submitFormAnswers(temporal, formId, { instrumentId: instrumentId as SubmitAnswersInput['instrumentId'], answers });
  } catch (err) {
    throw await mapError(err, `assessment ${assessmentId}`, () => temporal.workflow.getHandle(courseWorkflowId(courseOfForm(formId))).describe());
  }
}

/** The course of a form (`<courseId>/<stepKey>`): course ids have no slash. */
export function courseOfForm(formId: string): string {
  const i = formId.indexOf('/');
  return i > 0 ? formId.slice(0, i) : formId;
}

/**
 * The course's `submitAnswers` Update for one instrument of a form, errors as the SDK raises them (the
 * client's page tells a closed form from a failure: src/api/routes/client-assessment.ts). A form that
 * has closed (answered, expired, cancelled) refuses with InvalidTransition; an ended course is not found.
 */
export function submitFormAnswers(temporal: Client, formId: string, s: SubmitAnswersInput): Promise<SubmitAnswersResult> {
  return temporal.workflow.getHandle(courseWorkflowId(courseOfForm(formId))).executeUpdate(submitAnswersUpdate, { args: [{ assessmentId: formId, instrumentId: s.instrumentId, answers: s.answers }] });
}

async function mapError(err: unknown, what: string, describe?: () => Promise<{ status: { name: string } }>): Promise<Error> {
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    const f = err.cause;
    const reasons = (Array.isArray(f.details?.[0]) ? f.details[0] : []) as Array<{ code: string; message: string; blocking?: boolean }>;
    const problems: FieldProblem[] = reasons.filter((r) => r.blocking !== false).map((r) => ({ field: r.code, message: r.message }));
    // The workflow's reason, with the rule's reasons when the message does not already carry them.
    const message = problems.length && !f.message.includes(problems[0]!.message) ? `${f.message}: ${problems.map((p) => p.message).join('; ')}` : f.message;
    switch (f.type) {
      case 'InvalidTransition':
        return new AppError('conflict', message, problems);
      case 'ClinicallyRefused':
        return new AppError('unprocessable', message, problems);
      case 'InvalidInput':
      case 'InvalidAnswers':
        return new AppError('invalid_input', f.message, problems.length ? problems : [{ field: 'input', message: f.message }]);
      default:
        return err;
    }
  }
  if (lostToTaskFailure(err)) {
    // The workflow task that carried the Update failed (src/workflows/course.ts settle()): the server
    // recorded nothing. Only possible as a course closes; the caller reads the course and decides.
    return new AppError('conflict', `${what} was closing when the action arrived; nothing was recorded: read the course and try again if it is still running`);
  }
  if (err instanceof WorkflowNotFoundError || (err instanceof Error && err.name === 'WorkflowNotFoundError')) {
    // An Update to a closed workflow also lands here: that is a conflict, not a missing course.
    if (describe) {
      try {
        const d = await describe();
        if (d.status.name !== 'RUNNING') return new AppError('conflict', `${what} has ended (${d.status.name.toLowerCase()})`);
      } catch {
        // not found at all
      }
    }
    return notFound(what);
  }
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * The server refused an Update because the workflow task carrying it failed (its worker died, or the
 * server failed the task): it is not in history, but the task's projection may have committed.
 */
export function lostToTaskFailure(err: unknown): boolean {
  for (let e = err as { cause?: unknown; code?: unknown; details?: unknown } | undefined, i = 0; e && i < 4; e = e.cause as typeof e, i++) {
    if (e.code === 9 && typeof e.details === 'string' && e.details.includes('unexpected workflow task failure')) return true;
  }
  return false;
}

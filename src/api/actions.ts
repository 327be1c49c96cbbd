// Staff actions on a course from the API and the dashboard: the role check against the matrix, the
// clinic scope, then the workflow Update. A rejected Update becomes 409 (invalid transition), 422
// (clinically refused, with the rule's reasons) or 400 (bad input), with the workflow's message.
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Principal } from '../auth/roles';
import { ACTION_ROLES, type CourseAction } from '../auth/role-matrix';
import { assertClinicAccess } from '../auth/roles';
import { getCourse } from '../client/courses';
import { AppError, conflict } from '../errors';
import type { InstrumentId } from '../domain';
import type { ActionResult, CourseActionName } from '../workflows/messages';
import type { ApiDeps } from './context';
import { ACTION_UPDATES } from './action-schemas';

export function assertActionAllowed(principal: Principal, action: CourseAction): void {
  if (!(ACTION_ROLES[action] as readonly string[]).includes(principal.role)) {
    throw new AppError('forbidden', `the ${principal.role} role may not record ${action}`);
  }
}

const actorFor = (p: Principal) => ({ ...(p.staffId ? { staffId: p.staffId } : {}), role: p.role });

/** Executes a course Update, mapping the workflow's rejections to AppErrors. */
export async function executeUpdate(deps: ApiDeps, workflowId: string, name: CourseActionName, input: unknown): Promise<ActionResult> {
  try {
    return await deps.temporal.workflow.getHandle(workflowId).executeUpdate<ActionResult, [unknown]>(name, { args: [input] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
      const f = err.cause;
      const reasons = (f.details?.[0] as Array<{ code: string; message: string }> | undefined) ?? [];
      const message = reasons.length && !f.message.includes(reasons[0]!.message) ? `${f.message}: ${reasons.map((r) => r.message).join('; ')}` : f.message;
      if (f.type === 'InvalidTransition') throw conflict(message);
      if (f.type === 'ClinicallyRefused') throw new AppError('unprocessable', message);
      if (f.type === 'InvalidInput' || f.type === 'InvalidAnswers') throw new AppError('invalid_input', message, reasons.map((r) => ({ field: r.code, message: r.message })));
    }
    if (err instanceof WorkflowNotFoundError) throw conflict('the course is no longer running');
    throw err;
  }
}

export async function performAction(deps: ApiDeps, principal: Principal, courseId: string, action: CourseAction, body: Record<string, unknown>): Promise<ActionResult> {
  assertActionAllowed(principal, action);
  const { course } = await getCourse(deps.db, courseId);
  assertClinicAccess(principal, course.clinic_id);
  if (course.ended_at) throw conflict(`the course ended${course.end_reason ? ` (${course.end_reason})` : ''}`);
  return executeUpdate(deps, course.workflow_id, ACTION_UPDATES[action], { ...body, actor: actorFor(principal) });
}

export async function sendAssessmentNow(deps: ApiDeps, principal: Principal, courseId: string, input: { instruments: InstrumentId[]; reason?: string }): Promise<ActionResult> {
  const { course } = await getCourse(deps.db, courseId);
  assertClinicAccess(principal, course.clinic_id);
  if (course.ended_at) throw conflict(`the course ended${course.end_reason ? ` (${course.end_reason})` : ''}`);
  return executeUpdate(deps, course.workflow_id, 'triggerAssessment', { ...input, actor: actorFor(principal) });
}

// Staff actions on a course from the API and the dashboard: the role check against the matrix, the
// clinic scope, then the workflow Update. A rejected Update becomes 409 (invalid transition), 422
// (clinically refused, with the rule's reasons) or 400 (bad input), with the workflow's message
// (the mapping lives in src/client/course-actions.ts, shared with the CLI and the simulator).
import type { Principal } from '../auth/roles';
import { ACTION_ROLES, type CourseAction } from '../auth/role-matrix';
import { assertRecordInScope } from '../auth/roles';
import { executeCourseAction } from '../client/course-actions';
import { getCourseRow } from '../client/courses';
import { AppError, conflict, invalidInput } from '../errors';
import { ACTIONS } from '../domain/actions/catalogue';
import type { ActionResult, ActorRef } from '../workflows/messages';
import type { ApiDeps } from './context';
import { reviewEndedCourse, type SafetyReviewBody } from './safety-review';
import { moveTarget } from './course-moves';

export function assertActionAllowed(principal: Principal, action: CourseAction): void {
  if (!(ACTION_ROLES[action] as readonly string[]).includes(principal.role)) {
    throw new AppError('forbidden', `the ${principal.role} role may not record ${action}`);
  }
}

/** The Update's actor, from the credential only: staff id, role, token id and label (never from the body). */
export const actorFor = (p: Principal): ActorRef => ({ ...(p.staffId ? { staffId: p.staffId } : {}), role: p.role, ...(p.tokenId ? { tokenId: p.tokenId } : {}), label: p.displayName });

/** A body may not name who acts: `actor` (or any other key) is refused by the strict schema; this keeps it so if a schema loosens. */
function withoutActor(body: Record<string, unknown>): Record<string, unknown> {
  if ('actor' in body) throw invalidInput([{ field: 'actor', message: 'the actor is taken from your credentials, not from the request' }]);
  return body;
}

/**
 * Actions that are a clinician's judgement, recorded against a person (`personOnly` in the catalogue):
 * an API token with no staff member (whatever its role or label) may not take them. Hard-stop
 * overrides follow the same rule in the eligibility rule itself (the screening is recorded, the
 * override refused).
 */
export function assertPersonFor(principal: Principal, action: CourseAction): void {
  const spec: { personOnly?: true } = ACTIONS[action];
  if (spec.personOnly && !principal.staffId) {
    throw new AppError('forbidden', `a ${action} is a clinical judgement by a person: this API token belongs to no staff member (sign in, or use a token bound to a staff member)`);
  }
}

export async function performAction(deps: ApiDeps, principal: Principal, courseId: string, action: CourseAction, body: Record<string, unknown>, opts: { updateId?: string } = {}): Promise<ActionResult> {
  assertActionAllowed(principal, action);
  const course = await getCourseRow(deps.db, courseId);
  assertRecordInScope(principal, course.clinic_id, `course ${courseId}`);
  assertPersonFor(principal, action);
  // A safety item that outlives its course (suicide risk) is reviewed in the record itself: the
  // course's workflow has ended (src/api/safety-review.ts).
  if (course.ended_at && action === 'safety-review') return reviewEndedCourse(deps.db, principal, course, withoutActor(body) as unknown as SafetyReviewBody);
  if (course.ended_at) throw conflict(`the course ended${course.end_reason ? ` (${course.end_reason})` : ''}`);
  // A move between versions: the target is the clinic's published version, loaded here (src/api/course-moves.ts).
  const spec: { serverProtocol?: true } = ACTIONS[action];
  const server = spec.serverProtocol ? { protocol: await moveTarget(deps.db, course, Number(body.version)) } : {};
  return executeCourseAction(deps.temporal, course.id, action, { ...withoutActor(body), ...server, actor: actorFor(principal) } as never, opts);
}

// Moving a running course to another published version of its protocol (issue #21 item 4), the API's
// side: where the course stands (from PostgreSQL), the target version (from the clinic's protocol
// store, never from a request), and the preview. The rule itself is the domain's (`previewMove` in
// src/domain/protocol-move.ts), the one the course workflow's validator applies when the move is sent
// (`move-version`, a staff action: POST /api/courses/:id/move-version); the workflow's own state decides.
import type { Principal } from '../auth/roles';
import { assertRecordInScope } from '../auth/roles';
import { getPublished, listClinicProtocols } from '../client/protocol-store';
import type { Db } from '../db/connect';
import type { Course } from '../db/schema';
import type { Protocol } from '../domain/protocol';
import { previewMove, type CoursePosition, type MovePreview, type MoveStepStatus } from '../domain/protocol-move';
import { invalidInput, notFound } from '../errors';

/** Where a course stands, as the projection has it: its status, its steps' states and sessions, its open holds. */
export async function coursePosition(db: Db, course: Pick<Course, 'id' | 'status'>): Promise<CoursePosition> {
  const [steps, sessions, holds] = await Promise.all([
    db.selectFrom('course_steps').select(['step_key', 'state']).where('course_id', '=', course.id).execute(),
    db.selectFrom('course_sessions').select(['step_key', 'status']).where('course_id', '=', course.id).execute(),
    db.selectFrom('safety_events').select(['kind']).where('course_id', '=', course.id).where('resolved_at', 'is', null).execute(),
  ]);
  const session = new Map(sessions.map((s) => [s.step_key, s.status]));
  const out: Record<string, { status: MoveStepStatus; session: string | null }> = {};
  for (const s of steps) out[s.step_key] = { status: s.state === 'overdue' ? 'open' : s.state, session: session.get(s.step_key) ?? null };
  // A course in maintenance: its boosters and booster reviews, as far as their steps are in the record (they open when added).
  const highest = (re: RegExp) => Math.max(0, ...steps.map((s) => Number(re.exec(s.step_key)?.[1] ?? 0)));
  return { status: course.status, steps: out, openHolds: holds, maintenance: { boosters: highest(/^booster-(\d+)$/), reviews: highest(/^booster-review-(\d+)$/) } };
}

/** The clinic's published versions of the course's protocol, newest first. */
export async function publishedVersions(db: Db, course: Pick<Course, 'clinic_id' | 'protocol_id'>): Promise<number[]> {
  const [mine] = (await listClinicProtocols(db, [course.clinic_id])).filter((p) => p.protocolId === course.protocol_id);
  return (mine?.versions ?? []).map((v) => v.version).sort((a, b) => b - a);
}

/**
 * The target of a move: the clinic's published version `version` of the course's protocol, loaded from
 * the store (a version it does not have is refused naming `field`).
 */
export async function moveTarget(db: Db, course: Pick<Course, 'clinic_id' | 'protocol_id'>, version: number, field = 'version'): Promise<Protocol> {
  const v = await getPublished(db, course.clinic_id, course.protocol_id, version);
  if (!v) throw invalidInput([{ field, message: `clinic ${course.clinic_id} has no published version ${version} of ${course.protocol_id}` }]);
  return v.definition;
}

export interface CourseMovePreview extends Omit<MovePreview, 'from' | 'to'> {
  courseId: string;
  clientId: string;
  from: string;
  /** The target, or null when the clinic has no other published version of the protocol. */
  to: string | null;
  /** The clinic's published versions of the protocol, newest first. */
  versions: number[];
  currentVersion: number;
}

/**
 * The preview of moving a course (in the caller's clinics) to `version`, or, without one, to the clinic's
 * newest published version of its protocol.
 */
export async function previewCourseMove(db: Db, principal: Principal, courseId: string, version?: number): Promise<CourseMovePreview> {
  const course = await db.selectFrom('courses').selectAll().where('id', '=', courseId).executeTakeFirst();
  if (!course) throw notFound(`course ${courseId}`);
  assertRecordInScope(principal, course.clinic_id, `course ${courseId}`);
  const versions = await publishedVersions(db, course);
  const from = course.protocol_snapshot as Protocol;
  const base = { courseId, clientId: course.client_id, from: `${from.id}@${from.version}`, versions, currentVersion: course.protocol_version };
  const target = version ?? versions[0];
  if (target === undefined) {
    const message = `clinic ${course.clinic_id} has no published version of ${course.protocol_id} of its own: the course stays on ${base.from}`;
    return { ...base, to: null, allowed: false, refusals: [{ code: 'not-published', clinical: false, message }], added: [], removed: [], retimed: [], unchangedDone: [], keptDone: [] };
  }
  const to = await moveTarget(db, course, target);
  const preview = previewMove(from, to, await coursePosition(db, course));
  return { ...preview, ...base, to: preview.to };
}

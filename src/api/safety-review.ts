// Safety items: what is open, what closes each one, and the clinician's review of an item whose course
// has ended.
//
// One source of truth. While a course runs, its workflow owns every safety hold: it opens and closes
// them (src/workflows/machine/progression.ts) and projects each change into safety_events in the same
// transition, and a review goes to the workflow as the `safety-review` Update. When the course
// ends the workflow closes every hold that is not about suicide risk, and stops: a suicide-risk item
// still open then (a C-SSRS with intent that made the course ineligible, a critical answer, a late
// answer on an old link) has no workflow left to close it. From that moment its safety_events row is
// the item's only record, and the review below closes it there, in one statement with the timeline
// event and the audit entry, the actor taken from the credential. The two writers never overlap: the
// workflow writes an item only while its course has not ended, this function only after.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { actorDetail, actorOf, type Principal } from '../auth/roles';
import type { Db } from '../db/connect';
import type { Course } from '../db/schema';
import { runWrites, type RowWrite } from '../activities/course-records';
import { conflict } from '../errors';
import type { ActionResult } from '../workflows/messages';

export interface SafetyReviewBody {
  outcome: 'release' | 'keep-hold' | 'withdraw';
  riskLevel?: 'none' | 'low' | 'moderate' | 'high';
  notes?: string;
}

const RISK_RANK: Record<string, number> = { high: 3, moderate: 2, low: 1, none: 0 };

/** Sort key of an item: suicide risk first, then level, then age (oldest first). */
export function riskRank(level: string | null | undefined, suicideRisk: boolean): number {
  return (suicideRisk ? 10 : 0) + (RISK_RANK[level ?? ''] ?? 0);
}

/** What closes an open item, in the words of the queue (older rows carry no `closesWhen`). */
export function closesWhen(kind: string, detail: Record<string, unknown>, courseEnded: boolean): string {
  if (typeof detail.closesWhen === 'string' && !courseEnded) return detail.closesWhen;
  if (courseEnded || detail.suicideRisk === true || kind === 'critical-answer' || kind === 'pre-dose-risk') return 'a clinician reviews it';
  if (kind === 'pre-dose-hold') return 'a pre-dose check of this session that proceeds, a clinician reviews it, or the course ends';
  return 'a clinician reviews it, or the course ends';
}

function summary(notes: string | undefined): { notesSummary?: string } {
  const t = notes?.trim().replace(/\s+/g, ' ');
  if (!t) return {};
  return { notesSummary: t.length > 200 ? `${t.slice(0, 199)}…` : t };
}

/**
 * A clinician's review of the open safety items of an ended course (POST /api/courses/:id/safety-review
 * and the dashboard's form, through performAction). `release` closes them ("reviewed, follow-up
 * arranged": no dose can follow, so any assessed risk level may be recorded), `keep-hold` records the
 * review and leaves them open; `withdraw` has nothing left to withdraw (409).
 */
export async function reviewEndedCourse(db: Db, principal: Principal, course: Course, body: SafetyReviewBody, now = new Date()): Promise<ActionResult> {
  const open = await db.selectFrom('safety_events').select(['id', 'kind', 'detail']).where('course_id', '=', course.id).where('resolved_at', 'is', null).orderBy('at').execute();
  if (!open.length) throw conflict(`the course ended${course.end_reason ? ` (${course.end_reason})` : ''} and no safety item is open on it`);
  if (body.outcome === 'withdraw') throw conflict('the course has already ended: record release (reviewed) or keep-hold');
  const actor = actorOf(principal);
  const by = actorDetail(principal);
  const at = now.toISOString();
  const eventId = `${course.id}/review-${randomUUID()}`;
  const ids = open.map((o) => o.id);
  const detail = { holds: ids, riskLevel: body.riskLevel ?? null, afterCourseEnded: true, ...summary(body.notes) };
  const reviewedBy = actor.type === 'staff' ? actor.id : `token:${actor.id}`;
  const writes: RowWrite[] = [
    (qc) =>
      qc.insertInto('course_events').values({
        id: eventId,
        course_id: course.id,
        clinic_id: course.clinic_id,
        seq: sql<number>`(select coalesce(max(seq), 0) + 1 from course_events where course_id = ${course.id})`,
        at,
        type: `safety-review.${body.outcome}`,
        step_key: null,
        actor_type: actor.type,
        actor_id: actor.id,
        detail: JSON.stringify(detail),
      }),
    (qc) =>
      qc.insertInto('audit_log').values({
        actor_type: actor.type,
        actor_id: actor.id,
        action: `safety-review.${body.outcome}`,
        clinic_id: course.clinic_id,
        client_id: course.client_id,
        course_id: course.id,
        event_key: `course-event:${eventId}`,
        at,
        detail: JSON.stringify({ ...detail, stepKey: null, by }),
      }),
  ];
  if (body.outcome === 'release') {
    const closed = { resolution: 'clinician review: release', reviewedBy, reviewedAt: at, ...summary(body.notes), ...(body.riskLevel ? { reviewedRiskLevel: body.riskLevel } : {}) };
    writes.push((qc) =>
      qc
        .updateTable('safety_events')
        .set({ resolved_at: at, detail: sql`detail || ${JSON.stringify(closed)}::jsonb` })
        .where('course_id', '=', course.id)
        .where('id', 'in', ids)
        .where('resolved_at', 'is', null),
    );
    if (body.riskLevel) writes.push((qc) => qc.updateTable('courses').set({ risk_level: body.riskLevel!, updated_at: now }).where('id', '=', course.id));
  }
  await runWrites(db, writes);
  const { seq } = await db.selectFrom('course_events').select('seq').where('id', '=', eventId).executeTakeFirstOrThrow();
  return { outcome: body.outcome, ids: { eventId }, seq };
}

// A critical answer on a link the client really received, after it closed (expired, already used,
// its assessment cancelled because the course was withdrawn or ended): never lost.
//
// The link's signature must check out (a tampered link stays refused); its expiry and single use do
// not matter here. The answers are scored by the domain instruments; only a critical triage (PHQ-9
// item 9 > 0, C-SSRS high risk) is recorded, a non-critical late answer is not (the page says the link
// has closed). Recording follows the one-writer rule of safety items (src/api/safety-review.ts):
// - the course still runs: the course workflow opens a suicide-risk hold and sends the safety alerts
//   (Update `recordLateCriticalAnswer`), so no dose can follow before a clinician's review;
// - the course has ended: the item is written here to safety_events (kind `late-critical-answer`, open
//   until a clinician's review), with a timeline event, and the alerts go out through a short workflow
//   (src/workflows/late-answer-alert.ts) that runs the same notify activity, once per late answer.
// Either way an audit entry `assessment.late-critical-answer` records it (which instruments, never
// the answers or scores: those are in the course's record).
import crypto from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { sql } from 'kysely';
import { appendAudit } from '../db/audit';
import type { InstrumentId } from '../domain/instruments/instrument-id';
import { getInstrument } from '../domain/instruments/registry';
import type { CssrsResult } from '../domain/instruments/cssrs';
import type { Phq9Result } from '../domain/instruments/phq9';
import { triageSuicideRisk, type RiskLevel } from '../domain/rules/suicide-risk';
import { courseWorkflowId } from '../client/courses';
import { lateAnswerAlertWorkflowId } from '../workflows/late-answer-alert';
import { recordLateCriticalAnswerUpdate, type LateAnswerAlertInput } from '../workflows/messages';
import type { ApiDeps } from './context';

export interface LateSubmission {
  instrumentId: InstrumentId;
  answers: unknown[];
}

export interface LateTriage {
  critical: boolean;
  /** Suicidal content endorsed: the page shows the crisis resources as urgent. */
  endorsed: boolean;
  level: RiskLevel;
  /** What was endorsed, in words staff read (item numbers and values). */
  summary: string;
  scores: Array<{ instrumentId: InstrumentId; total: number; band: string }>;
}

/** Scores late answers (each submission already validated) and triages them as the assessment would. */
export function triageLate(submissions: LateSubmission[]): LateTriage {
  let item9: number | null = null;
  let cssrs: { risk: CssrsResult['risk']; total: number } | null = null;
  const parts: string[] = [];
  const scores: LateTriage['scores'] = [];
  for (const s of submissions) {
    const result = getInstrument(s.instrumentId)!.score(s.answers);
    scores.push({ instrumentId: s.instrumentId, total: result.total, band: result.band });
    if (s.instrumentId === 'phq9') {
      item9 = (result as Phq9Result).item9;
      if (item9 > 0) parts.push(`PHQ-9 item 9 = ${item9}`);
    }
    if (s.instrumentId === 'cssrs') {
      cssrs = { risk: (result as CssrsResult).risk, total: result.total };
      const yes = s.answers.map((v, k) => (v === true ? (k === 6 ? '6b' : String(k + 1)) : null)).filter((x): x is string => x !== null);
      parts.push(`C-SSRS ${cssrs.risk} risk${yes.length ? ` (items answered yes: ${yes.join(', ')})` : ''}`);
    }
  }
  const t = triageSuicideRisk({ phq9Item9: item9, cssrs });
  return { critical: t.critical, endorsed: t.actions.includes('show-crisis-resources'), level: t.level, summary: parts.join('; '), scores };
}

/**
 * A critical answer inside an instrument the client left incomplete, which cannot be scored: PHQ-9
 * item 9 > 0, or a C-SSRS item 4 or 5 "yes", or item 6 "yes" not said to be older than 3 months.
 * Only answered items are read; an unanswered item is never given a value. Null when nothing
 * critical was answered. `whyNotScored` (the unanswered items, an extra answer) goes into the staff's record.
 */
export function triageIncomplete(s: LateSubmission, whyNotScored: string): LateTriage | null {
  const gaps = ` (${getInstrument(s.instrumentId)?.shortName ?? s.instrumentId} not scored: ${whyNotScored})`;
  if (s.instrumentId === 'phq9') {
    const item9 = s.answers[8];
    if (typeof item9 !== 'number' || !Number.isInteger(item9) || item9 < 1 || item9 > 3) return null;
    const t = triageSuicideRisk({ phq9Item9: item9, cssrs: null });
    return { critical: t.critical, endorsed: true, level: t.level, summary: `PHQ-9 item 9 = ${item9}${gaps}`, scores: [] };
  }
  if (s.instrumentId === 'cssrs') {
    const a = s.answers;
    if (!(a[3] === true || a[4] === true || (a[5] === true && a[6] !== false))) return null;
    const yes = a.map((v, k) => (v === true ? (k === 6 ? '6b' : String(k + 1)) : null)).filter((x): x is string => x !== null);
    return { critical: true, endorsed: true, level: 'high', summary: `C-SSRS high risk (items answered yes: ${yes.join(', ')})${gaps}`, scores: [] };
  }
  return null;
}

export type LateOutcome = { recorded: 'course-hold'; holdId: string } | { recorded: 'ended-course-item'; itemId: string } | { recorded: 'no-course' };

/** Whether the course's workflow has closed (its last run is no longer running). */
async function courseClosed(deps: Pick<ApiDeps, 'temporal'>, courseId: string): Promise<boolean> {
  try {
    const d = await deps.temporal.workflow.getHandle(courseWorkflowId(courseId)).describe();
    return d.status.name !== 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return true;
    throw err;
  }
}

/** Records a critical late answer and raises the safety item and its alerts (see the file comment). */
export async function recordLateCriticalAnswer(deps: Pick<ApiDeps, 'db' | 'temporal' | 'config' | 'log'>, assessmentId: string, submissions: LateSubmission[], triage: LateTriage, now = new Date()): Promise<LateOutcome> {
  const { db } = deps;
  const esc = assessmentId.replace(/[\\%_]/g, (c) => `\\${c}`);
  const course = await db
    .selectFrom('assessments as a')
    .innerJoin('courses as c', 'c.id', 'a.course_id')
    .select(['c.id', 'c.client_id', 'c.clinic_id', 'c.ended_at', 'c.protocol_snapshot', 'a.step_key'])
    .where('a.id', 'like', `${esc}/%`)
    .limit(1)
    .executeTakeFirst();
  if (!course) {
    deps.log.error({ assessmentId }, 'critical answer on a validly signed link whose assessment is unknown');
    return { recorded: 'no-course' };
  }
  // One late answer = one item and one alert per role, however often the same answers are posted.
  const digest = crypto.createHash('sha256').update(JSON.stringify([assessmentId, submissions.map((s) => [s.instrumentId, s.answers])])).digest('base64url').slice(0, 16);
  const key = `late/${assessmentId}/${digest}`;
  const instrumentIds = submissions.map((s) => s.instrumentId);
  // The answers as given, with their scores: the course's record of the late answer.
  // (An incomplete instrument, see triageIncomplete, has no score: its answers are kept as given.)
  const responses = submissions.map((s, i) => {
    const sc = triage.scores[i];
    return { instrumentId: s.instrumentId, ...(sc ? { total: sc.total, band: sc.band } : { scored: false as const }), answers: s.answers };
  });
  await appendAudit(db, {
    actor: { type: 'client', id: course.client_id },
    action: 'assessment.late-critical-answer',
    clinicId: course.clinic_id,
    clientId: course.client_id,
    courseId: course.id,
    eventKey: `late-answer:${key}`,
    detail: { assessmentId, key, instruments: instrumentIds, courseEnded: course.ended_at !== null },
  });

  if (course.ended_at === null) {
    try {
      const r = await deps.temporal.workflow
        .getHandle(courseWorkflowId(course.id))
        .executeUpdate(recordLateCriticalAnswerUpdate, { args: [{ key, assessmentId, instrumentIds, level: triage.level, summary: triage.summary, responses }] });
      if (r.recorded && r.holdId) return { recorded: 'course-hold', holdId: r.holdId };
    } catch (err) {
      // The workflow has closed (the course just ended): record the item here instead. A workflow
      // that still runs keeps its holds to itself (one writer), so any other failure goes up.
      if (!(err instanceof WorkflowNotFoundError) && !(await courseClosed(deps, course.id))) throw err;
    }
  }

  // The course has ended: the item lives in safety_events until a clinician's review closes it.
  const itemId = `${key}/hold`;
  const reason = `critical answer on an old link after the course ended (${course.step_key} assessment): ${triage.summary || 'suicidal thoughts endorsed'}`;
  const inserted = await db
    .insertInto('safety_events')
    .values({
      id: itemId,
      course_id: course.id,
      clinic_id: course.clinic_id,
      kind: 'late-critical-answer',
      level: triage.level,
      step_key: course.step_key,
      assessment_id: assessmentId,
      at: now,
      resolved_at: null,
      detail: JSON.stringify({ reason, suicideRisk: true, closesWhen: 'a clinician reviews it', late: true, scores: triage.scores, answers: submissions.map((s) => ({ instrumentId: s.instrumentId, answers: s.answers })) }),
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (inserted) {
    await db
      .insertInto('course_events')
      .values({
        id: `${key}/event`,
        course_id: course.id,
        clinic_id: course.clinic_id,
        seq: sql<number>`(select coalesce(max(seq), 0) + 1 from course_events where course_id = ${course.id})`,
        at: now.toISOString(),
        type: 'assessment.late-critical-answer',
        step_key: course.step_key,
        actor_type: 'client',
        actor_id: course.client_id,
        detail: JSON.stringify({ summary: `Critical answer on an old link of the ${course.step_key} assessment, after the course ended: ${triage.summary || 'suicidal thoughts endorsed'}`, assessmentId, instruments: instrumentIds, holdId: itemId, responses }),
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }
  const snapshot = (course.protocol_snapshot ?? {}) as { escalation?: { safetyAlertRoles?: string[] } };
  const roles = (snapshot.escalation?.safetyAlertRoles ?? ['prescriber', 'therapist']).filter((r): r is LateAnswerAlertInput['roles'][number] => r !== 'client');
  try {
    await deps.temporal.workflow.start('lateAnswerAlertWorkflow', {
      taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
      workflowId: lateAnswerAlertWorkflowId(key),
      args: [{ key, courseId: course.id, clinicId: course.clinic_id, assessmentId, roles } satisfies LateAnswerAlertInput],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  return { recorded: 'ended-course-item', itemId };
}

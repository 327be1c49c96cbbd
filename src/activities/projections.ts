// Projection activities: the workflow's progress written to PostgreSQL, the clinic's system of record.
// Idempotent: rows are keyed by identifiers the workflow makes deterministically, so a retry or a
// replay writes the same row again instead of a second one.
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../db/connect';
import { AssessmentMachine, type AssessmentInput } from '../workflows/assessment-machine';
import type { StepState } from '../db/schema';
import { type QueryCreator, sql } from 'kysely';
import type { Database } from '../db/schema';
import { assessmentRow, assessmentWrites, type AssessmentRecord, type CourseRecord, courseRecordWrites, fromExcluded, inOneStatement, type RowWrite, uniqueRows } from './course-records';

/** One step row of the course (`course_steps`): as the course stands after the transition. */
export interface StepProjection {
  stepKey: string;
  kind: string;
  state: StepState;
  ownerRole?: string | null;
  ownerStaffId?: string | null;
  /** ISO timestamps from workflow time. */
  enteredAt: string;
  deadlineAt?: string | null;
  completedAt?: string | null;
  escalationLevel?: number;
  outcome?: string | null;
  detail?: Record<string, unknown>;
}

/** Everything one workflow transition changed, written in one transaction (one activity per transition keeps history short). */
export interface CourseProjectionInput {
  courseId: string;
  clinicId: string;
  steps: StepProjection[];
  records: CourseRecord[];
  course?: {
    status: string;
    currentStep: string | null;
    currentStepDeadline: string | null;
    riskLevel: string;
    primaryClinicianId?: string | null;
    /** Set once when the course ends (completed, withdrawn, ineligible). */
    endedAt?: string | null;
    endReason?: string | null;
  };
  /** The course moved to another version of its protocol: the course row's version and snapshot. */
  protocol?: { id: string; version: number; snapshot: unknown };
  /**
   * The course's forms (src/workflows/forms.ts), in the same statement. `invite`: forms this transition
   * opens, whose invitation rows are written once (a replayed or retried projection leaves rows the
   * form has moved on untouched); each carries `invitedAt`, the form's own clock. `record`: instrument
   * rows as they stand after an answer, an expiry or a cancellation (written over, with their items).
   */
  assessments?: { invite: AssessmentInput[]; record: AssessmentRecord[] };
  /**
   * A resync (the course's record written again after a lost workflow task, machine/progression.ts
   * `resync`): what goes besides the timeline entries past `seq` (which every projection removes): the
   * step rows of steps the course has not opened, the session rows of steps without a session.
   */
  resync?: { unopenedSteps: string[]; sessionlessSteps: string[] };
  /**
   * The course's timeline counter after this transition. Entries numbered past it are removed (each a
   * person made marked in the audit log as not held by the course): only a workflow task that was lost
   * after its projection committed can have written them.
   */
  seq: number;
}

/** A transition's rows as the machine makes them (workflows/projection.ts); the workflow adds the counter. */
export type TransitionRows = Omit<CourseProjectionInput, 'seq'>;

export function stepRowId(courseId: string, stepKey: string): string {
  return `${courseId}/${stepKey}`;
}

/** The `course_steps` row of one step. */
function stepRow(courseId: string, clinicId: string, step: StepProjection) {
  return {
    id: stepRowId(courseId, step.stepKey),
    course_id: courseId,
    clinic_id: clinicId,
    step_key: step.stepKey,
    kind: step.kind,
    state: step.state,
    owner_role: step.ownerRole ?? null,
    owner_staff_id: step.ownerStaffId ?? null,
    entered_at: step.enteredAt,
    deadline_at: step.deadlineAt ?? null,
    completed_at: step.completedAt ?? null,
    escalation_level: step.escalationLevel ?? 0,
    outcome: step.outcome ?? null,
    detail: JSON.stringify(step.detail ?? {}),
  };
}

const NOT_RECORDED = 'written by a workflow task that was lost before the course recorded it (the worker stopped): the course does not hold it';

/** An entry's time in ms, as timelineAuditKey (course-records.ts) writes it into the audit key. */
const atMs = (ref: string) => sql.raw(`(floor(extract(epoch from ${ref}) * 1000))::bigint::text`);

/**
 * The course's timeline rows the course does not hold: those numbered past its counter, and those
 * numbered like an entry of this transition but another entry (another time or type). Only a workflow
 * task that was lost after its projection committed writes such rows; a retry of this projection
 * finds its own rows and none of these.
 */
function notHeld(courseId: string, seq: number, events: readonly { id: string; seq: number; at: string; type: string }[]) {
  // Only this transition's numbers and those past the counter are read (course_events_course_idx).
  const from = Math.min(seq, ...events.map((e) => e.seq - 1));
  if (!events.length) return sql<boolean>`lost.course_id = ${courseId} and lost.seq > ${seq}`;
  const incoming = JSON.stringify(events.map((e) => ({ id: e.id, at: e.at, type: e.type })));
  return sql<boolean>`lost.course_id = ${courseId} and lost.seq > ${from} and (lost.seq > ${seq} or exists (select 1 from jsonb_to_recordset(${incoming}::jsonb) as n(id text, at timestamptz, type text) where n.id = lost.id and (n.at, n.type) is distinct from (lost.at, lost.type)))`;
}

/** The name of the statement's CTE of the rows notHeld finds, read by the audit marks and by `lost`. */
const NOT_HELD = 'not_held';

/**
 * The statement's start: the rows notHeld finds, once, from the statement's snapshot (a CTE read twice
 * is materialized once), so the audit marks and the `lost` answer name exactly the rows it replaces.
 */
function withNotHeld(db: Db, courseId: string, seq: number, events: readonly { id: string; seq: number; at: string; type: string }[]): QueryCreator<Database> {
  return db.with(NOT_HELD, (qc) =>
    qc.selectFrom('course_events as lost').where(notHeld(courseId, seq, events)).select(['lost.id', 'lost.seq', 'lost.at', 'lost.type', 'lost.step_key', 'lost.actor_id', 'lost.actor_type']),
  ) as unknown as QueryCreator<Database>;
}

/**
 * The timeline entries of a lost task (withNotHeld): those a person made are marked in the audit log as
 * not held by the course (the log is append-only: their own entries stay). Entries past the counter are
 * removed; those numbered like this transition's are written over by it (courseRecordWrites).
 */
function lostTimelineWrites(courseId: string, clinicId: string, seq: number): RowWrite[] {
  return [
    (qc) =>
      qc
        .insertInto('audit_log')
        .columns(['actor_type', 'actor_id', 'action', 'clinic_id', 'client_id', 'course_id', 'event_key', 'detail'])
        .expression(
          sql`select 'system', null, 'course-event.not-recorded', ${clinicId}::text, (select client_id from courses where id = ${courseId}::text), ${courseId}::text,
            'course-event-not-recorded:' || lost.id || '@' || ${atMs('lost.at')},
            jsonb_build_object('eventKey', 'course-event:' || lost.id || '@' || ${atMs('lost.at')}, 'seq', lost.seq, 'type', lost.type, 'stepKey', lost.step_key, 'by', lost.actor_id, 'summary', ${NOT_RECORDED}::text)
            from ${sql.table(NOT_HELD)} as lost where lost.actor_type in ('staff', 'token')`,
        )
        .onConflict((oc) => oc.column('event_key').doNothing()),
    (qc) => qc.deleteFrom('course_events').where('course_id', '=', courseId).where('seq', '>', seq),
  ];
}

/** The removals of a resync (CourseProjectionInput.resync) besides the timeline's, as writes of the projection's one statement. */
function resyncWrites(courseId: string, r: NonNullable<CourseProjectionInput['resync']>): RowWrite[] {
  const writes: RowWrite[] = [];
  if (r.unopenedSteps.length) writes.push((qc) => qc.deleteFrom('course_steps').where('course_id', '=', courseId).where('step_key', 'in', r.unopenedSteps));
  if (r.sessionlessSteps.length) writes.push((qc) => qc.deleteFrom('course_sessions').where('course_id', '=', courseId).where('step_key', 'in', r.sessionlessSteps));
  return writes;
}

export function createProjectionActivities(deps: { db: Db }) {
  const { db } = deps;
  return {
    /**
     * Steps, clinical records and the course row of one transition, in one statement (one round trip,
     * atomic). Idempotent. Returns whether the clinic has webhook subscriptions, so the caller looks
     * for deliveries to start only when the timeline trigger can have made some, and whether the
     * statement found timeline rows of a lost workflow task (`lost`): the workflow then writes the
     * course's whole record again (machine/progression.ts `resync`), since that task may also have
     * written step, session and course rows this transition did not touch.
     */
    async projectCourse(input: CourseProjectionInput): Promise<{ webhooks: boolean; lost: boolean }> {
      const writes: RowWrite[] = [];
      const steps = uniqueRows(input.steps, (s) => s.stepKey, 'last').map((step) => stepRow(input.courseId, input.clinicId, step));
      if (steps.length) {
        const update = ['state', 'owner_role', 'owner_staff_id', 'entered_at', 'deadline_at', 'completed_at', 'escalation_level', 'outcome', 'detail'] as const;
        writes.push((qc) => qc.insertInto('course_steps').values(steps).onConflict((oc) => oc.column('id').doUpdateSet(fromExcluded(update))));
      }
      writes.push(...courseRecordWrites(input.courseId, input.clinicId, input.records));
      const c = input.course;
      // A move between versions: in the same update of the course row (a row is updated once per statement).
      const moved = input.protocol ? { protocol_version: input.protocol.version, protocol_snapshot: JSON.stringify(input.protocol.snapshot) } : {};
      if (input.protocol && !c) writes.push((qc) => qc.updateTable('courses').set({ ...moved, updated_at: new Date() }).where('id', '=', input.courseId));
      if (c) {
        writes.push((qc) =>
          qc
            .updateTable('courses')
            .set({
              status: c.status,
              current_step: c.currentStep,
              current_step_deadline: c.currentStepDeadline,
              risk_level: c.riskLevel,
              // An unknown clinician id must not fail the projection forever (FK): keep the old one.
              ...(c.primaryClinicianId === undefined
                ? {}
                : { primary_clinician_id: c.primaryClinicianId === null ? null : sql<string>`coalesce((select id from staff where id = ${c.primaryClinicianId}), courses.primary_clinician_id)` }),
              ...(c.endedAt ? { ended_at: c.endedAt, end_reason: c.endReason ?? null } : {}),
              ...moved,
              updated_at: new Date(),
            })
            .where('id', '=', input.courseId),
        );
      }
      // The timeline as the course numbers it, whatever a lost workflow task wrote (see notHeld).
      if (!Number.isSafeInteger(input.seq) || input.seq < 0) throw ApplicationFailure.nonRetryable('a projection needs the course\'s timeline counter (seq)', 'InvalidInput');
      const events = input.records.filter((r): r is Extract<CourseRecord, { table: 'event' }> => r.table === 'event');
      writes.push(...lostTimelineWrites(input.courseId, input.clinicId, input.seq));
      if (input.resync) writes.push(...resyncWrites(input.courseId, input.resync));
      const opening = input.assessments?.invite ?? [];
      if (opening.some((a) => typeof a.invitedAt !== 'number')) throw ApplicationFailure.nonRetryable('an assessment opened by a projection needs invitedAt', 'InvalidInput');
      // A statement touches a row once: a form opened and cancelled by one transition has its record only.
      const recorded = input.assessments?.record ?? [];
      const recordedIds = new Set(recorded.map((r) => r.id));
      const invitations = opening.flatMap((a) => new AssessmentMachine(a, a.invitedAt!).records().filter((r) => !recordedIds.has(r.id)).map(assessmentRow));
      if (invitations.length) writes.push((qc) => qc.insertInto('assessments').values(invitations).onConflict((oc) => oc.column('id').doNothing()));
      writes.push(...assessmentWrites(recorded));
      const row = await inOneStatement(withNotHeld(db, input.courseId, input.seq, events), writes)
        .selectNoFrom((eb) => [
          eb.exists(eb.selectFrom('webhook_subscriptions').select('id').where('clinic_id', '=', input.clinicId)).as('webhooks'),
          sql<boolean>`exists (select 1 from ${sql.table(NOT_HELD)})`.as('lost'),
        ])
        .executeTakeFirstOrThrow();
      return { webhooks: !!row.webhooks, lost: !!row.lost };
    },
  };
}

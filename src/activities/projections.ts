// Projection activities: the workflow's progress written to PostgreSQL, the clinic's system of record.
// Idempotent: rows are keyed by identifiers the workflow makes deterministically, so a retry or a
// replay writes the same row again instead of a second one.
import type { Db } from '../db/connect';
import type { StepState } from '../db/schema';
import { type CourseRecord, writeCourseRecords } from './course-records';

export interface StepProjectionInput {
  courseId: string;
  clinicId: string;
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
  /** Course status and current step, updated together with the step row. */
  course?: { status: string; currentStep: string | null; currentStepDeadline: string | null; riskLevel?: string };
}

/** Everything one workflow transition changed, written in one transaction (one activity per transition keeps history short). */
export interface CourseProjectionInput {
  courseId: string;
  clinicId: string;
  steps: Array<Omit<StepProjectionInput, 'courseId' | 'clinicId' | 'course'>>;
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
}

export function stepRowId(courseId: string, stepKey: string): string {
  return `${courseId}/${stepKey}`;
}

export function createProjectionActivities(deps: { db: Db }) {
  const { db } = deps;
  return {
    /** Upserts one step row and, in the same transaction, the course's current step. */
    async projectStep(input: StepProjectionInput): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const row = {
          id: stepRowId(input.courseId, input.stepKey),
          course_id: input.courseId,
          clinic_id: input.clinicId,
          step_key: input.stepKey,
          kind: input.kind,
          state: input.state,
          owner_role: input.ownerRole ?? null,
          owner_staff_id: input.ownerStaffId ?? null,
          entered_at: input.enteredAt,
          deadline_at: input.deadlineAt ?? null,
          completed_at: input.completedAt ?? null,
          escalation_level: input.escalationLevel ?? 0,
          outcome: input.outcome ?? null,
          detail: JSON.stringify(input.detail ?? {}),
        };
        await trx
          .insertInto('course_steps')
          .values(row)
          .onConflict((oc) =>
            oc.column('id').doUpdateSet({
              state: row.state,
              owner_role: row.owner_role,
              owner_staff_id: row.owner_staff_id,
              deadline_at: row.deadline_at,
              completed_at: row.completed_at,
              escalation_level: row.escalation_level,
              outcome: row.outcome,
              detail: row.detail,
            }),
          )
          .execute();
        if (input.course) {
          await trx
            .updateTable('courses')
            .set({
              status: input.course.status,
              current_step: input.course.currentStep,
              current_step_deadline: input.course.currentStepDeadline,
              ...(input.course.riskLevel ? { risk_level: input.course.riskLevel } : {}),
              updated_at: new Date(),
            })
            .where('id', '=', input.courseId)
            .execute();
        }
      });
    },

    /** Steps, clinical records and the course row of one transition, in one transaction. Idempotent. */
    async projectCourse(input: CourseProjectionInput): Promise<void> {
      await db.transaction().execute(async (trx) => {
        for (const step of input.steps) {
          const row = {
            id: stepRowId(input.courseId, step.stepKey),
            course_id: input.courseId,
            clinic_id: input.clinicId,
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
          const { id: _id, course_id: _c, clinic_id: _cl, step_key: _k, kind: _kind, ...update } = row;
          await trx.insertInto('course_steps').values(row).onConflict((oc) => oc.column('id').doUpdateSet(update)).execute();
        }
        await writeCourseRecords(trx, input.courseId, input.clinicId, input.records);
        const c = input.course;
        if (c) {
          // An unknown clinician id must not fail the projection forever (FK): keep the old one.
          const clinicianKnown =
            c.primaryClinicianId === undefined || c.primaryClinicianId === null
              ? true
              : !!(await trx.selectFrom('staff').select('id').where('id', '=', c.primaryClinicianId).executeTakeFirst());
          await trx
            .updateTable('courses')
            .set({
              status: c.status,
              current_step: c.currentStep,
              current_step_deadline: c.currentStepDeadline,
              risk_level: c.riskLevel,
              ...(c.primaryClinicianId !== undefined && clinicianKnown ? { primary_clinician_id: c.primaryClinicianId } : {}),
              ...(c.endedAt ? { ended_at: c.endedAt, end_reason: c.endReason ?? null } : {}),
              updated_at: new Date(),
            })
            .where('id', '=', input.courseId)
            .execute();
        }
      });
    },
  };
}

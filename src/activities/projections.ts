// Projection activities: the workflow's progress written to PostgreSQL, the clinic's system of record.
// Idempotent: rows are keyed by identifiers the workflow makes deterministically, so a retry or a
// replay writes the same row again instead of a second one.
import type { Db } from '../db/connect';
import type { StepState } from '../db/schema';

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
  };
}

// Clinical records of a course (sessions, vitals, assessments, safety and adverse events, consents,
// REMS monitoring forms, the course timeline), written idempotently: every id is made by the
// workflow from the course id and step key, so a retry or a replay upserts the same row.
// The record types are plain data: workflow code imports them as types.
import type { Transaction } from 'kysely';
import type { Db } from '../db/connect';
import type { Database } from '../db/schema';

export type ActorType = 'staff' | 'client' | 'system';

export type CourseRecord =
  | {
      table: 'session';
      id: string;
      stepKey: string;
      kind: string;
      status: 'unscheduled' | 'scheduled' | 'no-show' | 'checked-in' | 'held' | 'dosed' | 'completed' | 'cancelled';
      startsAt: string | null;
      scheduleCount: number;
      noShowCount: number;
      dosedAt: string | null;
      completedAt: string | null;
      detail: Record<string, unknown>;
    }
  | {
      table: 'vitals';
      id: string;
      stepKey: string;
      phase: 'pre-dose' | 'monitoring' | 'discharge';
      minutesAfterDose: number | null;
      systolic: number;
      diastolic: number;
      heartRate: number | null;
      spo2: number | null;
      takenAt: string;
    }
  | {
      table: 'safety-event';
      id: string;
      kind: string;
      level: string | null;
      stepKey: string | null;
      assessmentId: string | null;
      at: string;
      resolvedAt: string | null;
      detail: Record<string, unknown>;
    }
  | {
      table: 'adverse-event';
      id: string;
      stepKey: string | null;
      category: string;
      severity: 'mild' | 'moderate' | 'severe' | 'life-threatening';
      serious: boolean;
      description: string | null;
      onsetAt: string;
      recordedAt: string;
      recordedBy: string | null;
    }
  | {
      table: 'consent';
      id: string;
      kind: string;
      documentVersion: string;
      signedByClientAt: string;
      prescriberSignedAt: string | null;
      prescriberId: string | null;
      detail: Record<string, unknown>;
    }
  | {
      table: 'rems-form';
      id: string;
      sessionStepKey: string;
      firstTreatment: boolean;
      doseMg: number | null;
      lotNumber: string | null;
      bpPre: string | null;
      bp40: string | null;
      bpDischarge: string | null;
      monitoringMinutes: number | null;
      concomitant: Record<string, boolean>;
      sedation: boolean | null;
      dissociation: boolean | null;
      respiratoryDepression: boolean | null;
      seriousAdverseEvent: boolean | null;
      dueAt: string;
      submittedAt: string | null;
    }
  | {
      table: 'event';
      id: string;
      seq: number;
      type: string;
      stepKey: string | null;
      at: string;
      actorType: ActorType;
      actorId: string | null;
      detail: Record<string, unknown>;
    };

export interface AssessmentRecord {
  /** `<courseId>/<stepKey>/<instrument>` */
  id: string;
  courseId: string;
  clinicId: string;
  stepKey: string;
  instrumentId: string;
  status: 'invited' | 'completed' | 'missed' | 'cancelled';
  trigger: string;
  invitedAt: string;
  expiresAt: string;
  completedAt: string | null;
  total: number | null;
  band: string | null;
  critical: boolean;
  flags: unknown[];
  /** Answers in item order (item labels '1'..'n', and '6b' for the C-SSRS); omitted until answered. */
  answers?: Array<{ item: string; value: unknown }>;
}

export interface RecordAssessmentsInput {
  assessments: AssessmentRecord[];
}

type Trx = Transaction<Database> | Db;
const json = (v: unknown) => JSON.stringify(v ?? {});

/** Writes course records inside the caller's transaction. Upserts: the last write of a row wins. */
export async function writeCourseRecords(trx: Trx, courseId: string, clinicId: string, records: readonly CourseRecord[]): Promise<void> {
  for (const r of records) {
    switch (r.table) {
      case 'session': {
        const row = {
          id: r.id,
          course_id: courseId,
          clinic_id: clinicId,
          step_key: r.stepKey,
          kind: r.kind,
          status: r.status,
          starts_at: r.startsAt,
          schedule_count: r.scheduleCount,
          no_show_count: r.noShowCount,
          dosed_at: r.dosedAt,
          completed_at: r.completedAt,
          detail: json(r.detail),
          updated_at: new Date(),
        };
        const { id: _id, course_id: _c, clinic_id: _cl, ...update } = row;
        await trx.insertInto('course_sessions').values(row).onConflict((oc) => oc.column('id').doUpdateSet(update)).execute();
        break;
      }
      case 'vitals': {
        const row = {
          id: r.id,
          course_id: courseId,
          step_key: r.stepKey,
          phase: r.phase,
          minutes_after_dose: r.minutesAfterDose,
          systolic: r.systolic,
          diastolic: r.diastolic,
          heart_rate: r.heartRate,
          spo2: r.spo2,
          taken_at: r.takenAt,
        };
        await trx.insertInto('course_vitals').values(row).onConflict((oc) => oc.column('id').doNothing()).execute();
        break;
      }
      case 'safety-event': {
        const row = {
          id: r.id,
          course_id: courseId,
          clinic_id: clinicId,
          kind: r.kind,
          level: r.level,
          step_key: r.stepKey,
          assessment_id: r.assessmentId,
          at: r.at,
          resolved_at: r.resolvedAt,
          detail: json(r.detail),
        };
        await trx
          .insertInto('safety_events')
          .values(row)
          .onConflict((oc) => oc.column('id').doUpdateSet({ resolved_at: row.resolved_at, level: row.level, detail: row.detail }))
          .execute();
        break;
      }
      case 'adverse-event':
        await trx
          .insertInto('adverse_events')
          .values({
            id: r.id,
            course_id: courseId,
            clinic_id: clinicId,
            step_key: r.stepKey,
            category: r.category,
            severity: r.severity,
            serious: r.serious,
            description: r.description,
            onset_at: r.onsetAt,
            recorded_at: r.recordedAt,
            recorded_by: r.recordedBy,
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .execute();
        break;
      case 'consent':
        await trx
          .insertInto('consents')
          .values({
            id: r.id,
            course_id: courseId,
            kind: r.kind,
            document_version: r.documentVersion,
            signed_by_client_at: r.signedByClientAt,
            prescriber_signed_at: r.prescriberSignedAt,
            prescriber_id: r.prescriberId,
            detail: json(r.detail),
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .execute();
        break;
      case 'rems-form': {
        const row = {
          id: r.id,
          course_id: courseId,
          clinic_id: clinicId,
          session_step_key: r.sessionStepKey,
          first_treatment: r.firstTreatment,
          dose_mg: r.doseMg,
          lot_number: r.lotNumber,
          bp_pre: r.bpPre,
          bp_40: r.bp40,
          bp_discharge: r.bpDischarge,
          monitoring_minutes: r.monitoringMinutes,
          concomitant: json(r.concomitant),
          sedation: r.sedation,
          dissociation: r.dissociation,
          respiratory_depression: r.respiratoryDepression,
          serious_adverse_event: r.seriousAdverseEvent,
          due_at: r.dueAt,
          submitted_at: r.submittedAt,
        };
        const { id: _id, course_id: _c, clinic_id: _cl, ...update } = row;
        await trx.insertInto('rems_monitoring_forms').values(row).onConflict((oc) => oc.column('id').doUpdateSet(update)).execute();
        break;
      }
      case 'event':
        await trx
          .insertInto('course_events')
          .values({
            id: r.id,
            course_id: courseId,
            clinic_id: clinicId,
            seq: r.seq,
            at: r.at,
            type: r.type,
            step_key: r.stepKey,
            actor_type: r.actorType,
            actor_id: r.actorId,
            detail: json(r.detail),
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .execute();
        break;
    }
  }
}

export function createCourseRecordActivities(deps: { db: Db }) {
  const { db } = deps;
  return {
    /** Assessment rows (one per instrument) and their answers; called by the assessment workflow. */
    async recordAssessments(input: RecordAssessmentsInput): Promise<void> {
      await db.transaction().execute(async (trx) => {
        for (const a of input.assessments) {
          const row = {
            id: a.id,
            course_id: a.courseId,
            clinic_id: a.clinicId,
            step_key: a.stepKey,
            instrument_id: a.instrumentId,
            status: a.status,
            trigger: a.trigger,
            invited_at: a.invitedAt,
            expires_at: a.expiresAt,
            completed_at: a.completedAt,
            total: a.total,
            band: a.band,
            critical: a.critical,
            flags: JSON.stringify(a.flags),
          };
          const { id: _id, course_id: _c, clinic_id: _cl, invited_at: _i, ...update } = row;
          await trx.insertInto('assessments').values(row).onConflict((oc) => oc.column('id').doUpdateSet(update)).execute();
          for (const ans of a.answers ?? []) {
            await trx
              .insertInto('assessment_items')
              .values({ assessment_id: a.id, item: ans.item, value: JSON.stringify(ans.value) })
              .onConflict((oc) => oc.columns(['assessment_id', 'item']).doUpdateSet({ value: JSON.stringify(ans.value) }))
              .execute();
          }
        }
      });
    },
  };
}

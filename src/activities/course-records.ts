// Clinical records of a course (sessions, vitals, assessments, safety and adverse events, consents,
// REMS monitoring forms, the course timeline), written idempotently: every id is made by the
// workflow from the course id and step key, so a retry or a replay upserts the same row.
// The record types are plain data: workflow code imports them as types.
import { type ExpressionBuilder, type OperationNode, type QueryCreator, sql } from 'kysely';
import type { Db } from '../db/connect';
import type { Database } from '../db/schema';
import type { AdverseEventFields, RemsFormFields, SessionStatus, VitalsFields } from '../domain/records';

export type { ActorType } from '../db/schema';
import type { ActorType } from '../db/schema';

export type CourseRecord =
  | {
      table: 'session';
      id: string;
      stepKey: string;
      kind: string;
      status: SessionStatus;
      startsAt: string | null;
      scheduleCount: number;
      noShowCount: number;
      dosedAt: string | null;
      completedAt: string | null;
      detail: Record<string, unknown>;
    }
  | ({ table: 'vitals'; id: string; stepKey: string } & VitalsFields & { takenAt: string })
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
  | ({ table: 'adverse-event' } & AdverseEventFields & { onsetAt: string; recordedAt: string; recordedBy: string | null })
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
  | ({ table: 'rems-form'; id: string; sessionStepKey: string } & RemsFormFields & { dueAt: string; submittedAt: string | null })
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
      /** The acting principal's role, token id and label (staff and token actors): kept in the audit log. */
      by?: { role?: string; tokenId?: string; label?: string };
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

const json = (v: unknown) => JSON.stringify(v ?? {});

/**
 * One multi-row INSERT of a projection (for use alone or as a data-modifying CTE): every row written
 * in one round trip. PGlite serves a single connection, so a round trip saved on the worker's
 * projections is one the API's enrollment and staff actions do not wait behind.
 */
/**
 * The audit log's key of a timeline entry: its id and its time (ms). An entry's id is its number on the
 * course's timeline, which a lost workflow task can have used for another entry (projections.ts).
 */
export function timelineAuditKey(eventId: string, at: string): string {
  return `course-event:${eventId}@${Date.parse(at)}`;
}

export type RowWrite = (qc: QueryCreator<Database>) => { execute(): Promise<unknown>; toOperationNode(): OperationNode };

/**
 * Rows for one statement. A statement may not touch a row twice (ON CONFLICT DO UPDATE fails on it), so
 * duplicates collapse the way separate statements resolved them: the last write wins for upserts, the
 * first for insert-once tables.
 */
export function uniqueRows<R>(rows: readonly R[], key: (r: R) => string, keep: 'first' | 'last'): R[] {
  const byKey = new Map<string, R>();
  for (const r of rows) {
    const k = key(r);
    if (keep === 'first' && byKey.has(k)) continue;
    byKey.delete(k);
    byKey.set(k, r);
  }
  return [...byKey.values()];
}

/** `SET col = excluded.col` for each column: the upsert writes the incoming row's values. */
export function fromExcluded<T extends string>(columns: readonly T[]) {
  return (eb: ExpressionBuilder<any, any>) => Object.fromEntries(columns.map((c) => [c, eb.ref(`excluded.${c}`)]));
}

type Rec<T extends CourseRecord['table']> = Extract<CourseRecord, { table: T }>;

/**
 * The statements that write course records, one per table (the tables in the order they first
 * appear). Upserts: the last write of a row wins; insert-once tables (vitals, adverse events,
 * consents, timeline events) keep the first.
 */
export function courseRecordWrites(courseId: string, clinicId: string, records: readonly CourseRecord[]): RowWrite[] {
  const tables = [...new Set(records.map((r) => r.table))];
  const of = <T extends CourseRecord['table']>(t: T) => records.filter((r): r is Rec<T> => r.table === t);
  return tables.flatMap((table): RowWrite | RowWrite[] => {
    switch (table) {
      case 'session': {
        const rows = uniqueRows(of('session'), (r) => r.id, 'last').map((r) => ({
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
        }));
        const update = ['step_key', 'kind', 'status', 'starts_at', 'schedule_count', 'no_show_count', 'dosed_at', 'completed_at', 'detail', 'updated_at'] as const;
        return (qc) => qc.insertInto('course_sessions').values(rows).onConflict((oc) => oc.column('id').doUpdateSet(fromExcluded(update)));
      }
      case 'vitals': {
        const rows = uniqueRows(of('vitals'), (r) => r.id, 'first').map((r) => ({
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
        }));
        return (qc) => qc.insertInto('course_vitals').values(rows).onConflict((oc) => oc.column('id').doNothing());
      }
      case 'safety-event': {
        const rows = uniqueRows(of('safety-event'), (r) => r.id, 'last').map((r) => ({
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
        }));
        return (qc) => qc.insertInto('safety_events').values(rows).onConflict((oc) => oc.column('id').doUpdateSet(fromExcluded(['resolved_at', 'level', 'detail'] as const)));
      }
      case 'adverse-event': {
        const rows = uniqueRows(of('adverse-event'), (r) => r.id, 'first').map((r) => ({
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
        }));
        return (qc) => qc.insertInto('adverse_events').values(rows).onConflict((oc) => oc.column('id').doNothing());
      }
      case 'consent': {
        const rows = uniqueRows(of('consent'), (r) => r.id, 'first').map((r) => ({
          id: r.id,
          course_id: courseId,
          kind: r.kind,
          document_version: r.documentVersion,
          signed_by_client_at: r.signedByClientAt,
          prescriber_signed_at: r.prescriberSignedAt,
          prescriber_id: r.prescriberId,
          detail: json(r.detail),
        }));
        return (qc) => qc.insertInto('consents').values(rows).onConflict((oc) => oc.column('id').doNothing());
      }
      case 'rems-form': {
        const rows = uniqueRows(of('rems-form'), (r) => r.id, 'last').map((r) => ({
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
        }));
        const update = [
          'session_step_key', 'first_treatment', 'dose_mg', 'lot_number', 'bp_pre', 'bp_40', 'bp_discharge', 'monitoring_minutes', 'concomitant',
          'sedation', 'dissociation', 'respiratory_depression', 'serious_adverse_event', 'due_at', 'submitted_at',
        ] as const;
        return (qc) => qc.insertInto('rems_monitoring_forms').values(rows).onConflict((oc) => oc.column('id').doUpdateSet(fromExcluded(update)));
      }
      case 'event': {
        const rows = uniqueRows(of('event'), (r) => r.id, 'first').map((r) => ({
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
        }));
        // Written over when the row there is another entry: a workflow task that was lost after its
        // projection committed (its worker died) numbered its own entries from the same counter, and
        // the task the course did record numbers its entries there again (projections.ts: `lost`).
        // A retry of the same projection writes the same rows, and changes nothing.
        const update = ['seq', 'at', 'type', 'step_key', 'actor_type', 'actor_id', 'detail'] as const;
        const write: RowWrite = (qc) =>
          qc
            .insertInto('course_events')
            .values(rows)
            .onConflict((oc) =>
              oc
                .column('id')
                .doUpdateSet(fromExcluded(update))
                .where(sql<boolean>`(course_events.at, course_events.type) is distinct from (excluded.at, excluded.type)`),
            );
        // What a person did (a staff member, or a token without one) is also in the audit log, with who
        // it was and the reason given (once per timeline entry: the entry's id and time are the key, so
        // an entry the course numbers where a lost task's was gets its own).
        const audited = uniqueRows(of('event'), (r) => r.id, 'first').filter((r) => r.actorType === 'staff' || r.actorType === 'token');
        if (!audited.length) return write;
        const auditRows = audited.map((r) => ({
          actor_type: r.actorType,
          actor_id: r.actorId,
          action: r.type,
          clinic_id: clinicId,
          client_id: sql<string | null>`(select client_id from courses where id = ${courseId})`,
          course_id: courseId,
          event_key: timelineAuditKey(r.id, r.at),
          at: r.at,
          detail: json({ ...r.detail, stepKey: r.stepKey, ...(r.by ? { by: r.by } : {}) }),
        }));
        return [write, (qc) => qc.insertInto('audit_log').values(auditRows).onConflict((oc) => oc.column('event_key').doNothing())];
      }
    }
  });
}

/**
 * Writes as data-modifying CTEs in front of whatever main query the caller adds: one statement, one
 * round trip, atomic without BEGIN/COMMIT; foreign keys and the timeline's webhook trigger run at the
 * end of the statement and see every row it wrote.
 */
export function inOneStatement(db: Db | QueryCreator<Database>, writes: readonly RowWrite[]): QueryCreator<Database> {
  let qc: QueryCreator<Database> = db;
  writes.forEach((w, i) => {
    qc = qc.with(`w${i}`, (q) => w(q as QueryCreator<Database>) as never) as unknown as QueryCreator<Database>;
  });
  return qc;
}

/** Runs writes as one statement (see inOneStatement); the last write is the main query. */
export async function runWrites(db: Db, writes: readonly RowWrite[]): Promise<void> {
  const last = writes.at(-1);
  if (!last) return;
  await last(inOneStatement(db, writes.slice(0, -1))).execute();
}

/** The writes of instrument rows as they stand (upserts) and their answers; none for no rows. */
export function assessmentWrites(records: readonly AssessmentRecord[]): RowWrite[] {
  const assessments = uniqueRows(records, (a) => a.id, 'last');
  if (assessments.length === 0) return [];
  const rows = assessments.map(assessmentRow);
  const update = ['step_key', 'instrument_id', 'status', 'trigger', 'expires_at', 'completed_at', 'total', 'band', 'critical', 'flags'] as const;
  const writes: RowWrite[] = [(qc) => qc.insertInto('assessments').values(rows).onConflict((oc) => oc.column('id').doUpdateSet(fromExcluded(update)))];
  const items = uniqueRows(
    assessments.flatMap((a) => (a.answers ?? []).map((ans) => ({ assessment_id: a.id, item: ans.item, value: JSON.stringify(ans.value) }))),
    (r) => `${r.assessment_id}\u0000${r.item}`,
    'last',
  );
  if (items.length) writes.push((qc) => qc.insertInto('assessment_items').values(items).onConflict((oc) => oc.columns(['assessment_id', 'item']).doUpdateSet(fromExcluded(['value'] as const))));
  return writes;
}

/** The `assessments` row of one instrument (its answers go to `assessment_items`). */
export function assessmentRow(a: AssessmentRecord) {
  return {
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
}

export function createCourseRecordActivities(deps: { db: Db }) {
  const { db } = deps;
  return {
    /** Instrument rows as they stand, in one statement (the course writes its forms' rows with its projection). Idempotent upserts. */
    async recordAssessments(input: RecordAssessmentsInput): Promise<void> {
      await runWrites(db, assessmentWrites(input.assessments));
    },
  };
}

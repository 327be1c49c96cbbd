// Clinical records of a course, written by the course workflow's projection activities.
// Every row's id is made deterministically by the workflow (`<courseId>/<stepKey>/...`), so a
// retried or replayed activity upserts the same row instead of adding a second one.
// Never edit this migration once it has run anywhere: add a new numbered file instead.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // Appointments: preparation, dosing and integration sessions (one row per course step).
  await db.schema
    .createTable('course_sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('course_id', 'text', (c) => c.notNull().references('courses.id').onDelete('cascade'))
    .addColumn('clinic_id', 'text', (c) => c.notNull())
    .addColumn('step_key', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('unscheduled', 'scheduled', 'no-show', 'checked-in', 'held', 'dosed', 'completed', 'cancelled')`),
    )
    .addColumn('starts_at', 'timestamptz')
    .addColumn('schedule_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('no_show_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('dosed_at', 'timestamptz')
    .addColumn('completed_at', 'timestamptz')
    .addColumn('detail', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('course_sessions_course_idx').on('course_sessions').columns(['course_id', 'step_key']).execute();
  // The clinic's calendar: upcoming sessions by clinic and time.
  await db.schema
    .createIndex('course_sessions_upcoming_idx')
    .on('course_sessions')
    .columns(['clinic_id', 'starts_at'])
    .where(sql.ref('status'), '=', 'scheduled')
    .execute();

  await db.schema
    .createTable('course_vitals')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('course_id', 'text', (c) => c.notNull().references('courses.id').onDelete('cascade'))
    .addColumn('step_key', 'text', (c) => c.notNull())
    .addColumn('phase', 'text', (c) => c.notNull().check(sql`phase in ('pre-dose', 'monitoring', 'discharge')`))
    .addColumn('minutes_after_dose', 'double precision')
    .addColumn('systolic', 'integer', (c) => c.notNull())
    .addColumn('diastolic', 'integer', (c) => c.notNull())
    .addColumn('heart_rate', 'integer')
    .addColumn('spo2', 'double precision')
    .addColumn('taken_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('course_vitals_course_idx').on('course_vitals').columns(['course_id', 'taken_at']).execute();

  // One row per instrument per assessment: id `<courseId>/<stepKey>/<instrument>`.
  await db.schema
    .createTable('assessments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('course_id', 'text', (c) => c.notNull().references('courses.id').onDelete('cascade'))
    .addColumn('clinic_id', 'text', (c) => c.notNull())
    .addColumn('step_key', 'text', (c) => c.notNull())
    .addColumn('instrument_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('invited', 'completed', 'missed', 'cancelled')`))
    .addColumn('trigger', 'text', (c) => c.notNull().defaultTo('scheduled'))
    .addColumn('invited_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('completed_at', 'timestamptz')
    .addColumn('total', 'integer')
    .addColumn('band', 'text')
    .addColumn('critical', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('flags', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .execute();
  await db.schema.createIndex('assessments_course_idx').on('assessments').columns(['course_id', 'invited_at']).execute();
  // Outcomes over time per instrument (dashboard trends).
  await db.schema.createIndex('assessments_instrument_idx').on('assessments').columns(['instrument_id', 'completed_at']).execute();
  await db.schema
    .createIndex('assessments_open_idx')
    .on('assessments')
    .columns(['clinic_id', 'expires_at'])
    .where(sql.ref('status'), '=', 'invited')
    .execute();

  await db.schema
    .createTable('assessment_items')
    .addColumn('assessment_id', 'text', (c) => c.notNull().references('assessments.id').onDelete('cascade'))
    .addColumn('item', 'text', (c) => c.notNull())
    .addColumn('value', 'jsonb', (c) => c.notNull())
    .addPrimaryKeyConstraint('assessment_items_pk', ['assessment_id', 'item'])
    .execute();

  await db.schema
    .createTable('safety_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('course_id', 'text', (c) => c.notNull().references('courses.id').onDelete('cascade'))
    .addColumn('clinic_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('level', 'text')
    .addColumn('step_key', 'text')
    .addColumn('assessment_id', 'text')
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('resolved_at', 'timestamptz')
    .addColumn('detail', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema.createIndex('safety_events_course_idx').on('safety_events').columns(['course_id', 'at']).execute();
  await db.schema
    .createIndex('safety_events_open_idx')
    .on('safety_events')
    .columns(['clinic_id', 'at'])
    .where(sql.ref('resolved_at'), 'is', null)
    .execute();

  await db.schema
    .createTable('adverse_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('course_id', 'text', (c) => c.notNull().references('courses.id').onDelete('cascade'))
    .addColumn('clinic_id', 'text', (c) => c.notNull())
    .addColumn('step_key', 'text')
    .addColumn('category', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull().check(sql`severity in ('mild', 'moderate', 'severe', 'life-threatening')`))
    .addColumn('serious', 'boolean', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('onset_at', 'timestamptz', (c) => c.notNull())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull())
    .addColumn('recorded_by', 'text')
    .execute();
  await db.schema.createIndex('adverse_events_course_idx').on('adverse_events').columns(['course_id', 'onset_at']).execute();
  await db.schema.createIndex('adverse_events_clinic_idx').on('adverse_events').columns(['clinic_id', 'category', 'onset_at']).execute();

  await db.schema
    .createTable('consents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('course_id', 'text', (c) => c.notNull().references('courses.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('document_version', 'text', (c) => c.notNull())
    .addColumn('signed_by_client_at', 'timestamptz', (c) => c.notNull())
    .addColumn('prescriber_signed_at', 'timestamptz')
    .addColumn('prescriber_id', 'text')
    .addColumn('detail', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema.createIndex('consents_course_idx').on('consents').column('course_id').execute();

  // Spravato REMS Patient Monitoring Form, one per treatment session; due within 7 days.
  await db.schema
    .createTable('rems_monitoring_forms')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('course_id', 'text', (c) => c.notNull().references('courses.id').onDelete('cascade'))
    .addColumn('clinic_id', 'text', (c) => c.notNull())
    .addColumn('session_step_key', 'text', (c) => c.notNull())
    .addColumn('first_treatment', 'boolean', (c) => c.notNull())
    .addColumn('dose_mg', 'double precision')
    .addColumn('lot_number', 'text')
    .addColumn('bp_pre', 'text')
    .addColumn('bp_40', 'text')
    .addColumn('bp_discharge', 'text')
    .addColumn('monitoring_minutes', 'double precision')
    .addColumn('concomitant', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('sedation', 'boolean')
    .addColumn('dissociation', 'boolean')
    .addColumn('respiratory_depression', 'boolean')
    .addColumn('serious_adverse_event', 'boolean')
    .addColumn('due_at', 'timestamptz', (c) => c.notNull())
    .addColumn('submitted_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('rems_forms_due_idx')
    .on('rems_monitoring_forms')
    .columns(['clinic_id', 'due_at'])
    .where(sql.ref('submitted_at'), 'is', null)
    .execute();

  // The course timeline: every staff action, decision and system event, in order.
  await db.schema
    .createTable('course_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('course_id', 'text', (c) => c.notNull().references('courses.id').onDelete('cascade'))
    .addColumn('clinic_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('step_key', 'text')
    .addColumn('actor_type', 'text', (c) => c.notNull().check(sql`actor_type in ('staff', 'client', 'system')`))
    .addColumn('actor_id', 'text')
    .addColumn('detail', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema.createIndex('course_events_course_idx').on('course_events').columns(['course_id', 'seq']).execute();
  await db.schema.createIndex('course_events_type_idx').on('course_events').columns(['clinic_id', 'type', 'at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['course_events', 'rems_monitoring_forms', 'consents', 'adverse_events', 'safety_events', 'assessment_items', 'assessments', 'course_vitals', 'course_sessions']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}

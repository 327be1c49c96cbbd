// Foundation: clinics, staff, clients, courses, course steps and the append-only audit log.
// Never edit a migration once it has run anywhere: add a new numbered file instead.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('clinics')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('timezone', 'text', (c) => c.notNull().defaultTo('UTC'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('staff')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull().unique())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) =>
      c.notNull().check(sql`role in ('admin', 'coordinator', 'prescriber', 'therapist')`),
    )
    .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('staff_clinics')
    .addColumn('staff_id', 'text', (c) => c.notNull().references('staff.id').onDelete('cascade'))
    .addColumn('clinic_id', 'text', (c) => c.notNull().references('clinics.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('staff_clinics_pk', ['staff_id', 'clinic_id'])
    .execute();

  await db.schema
    .createTable('clients')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('clinic_id', 'text', (c) => c.notNull().references('clinics.id'))
    .addColumn('given_name', 'text', (c) => c.notNull())
    .addColumn('family_name', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('phone', 'text')
    .addColumn('date_of_birth', 'date')
    .addColumn('external_ref', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('clients_clinic_idx').on('clients').columns(['clinic_id', 'family_name']).execute();
  await db.schema
    .createIndex('clients_external_ref_uq')
    .on('clients')
    .columns(['clinic_id', 'external_ref'])
    .unique()
    .where(sql.ref('external_ref'), 'is not', null)
    .execute();

  await db.schema
    .createTable('courses')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('client_id', 'text', (c) => c.notNull().references('clients.id'))
    .addColumn('clinic_id', 'text', (c) => c.notNull().references('clinics.id'))
    .addColumn('workflow_id', 'text', (c) => c.notNull().unique())
    .addColumn('protocol_id', 'text', (c) => c.notNull())
    .addColumn('protocol_version', 'integer', (c) => c.notNull())
    .addColumn('protocol_snapshot', 'jsonb', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
    .addColumn('current_step', 'text')
    .addColumn('current_step_deadline', 'timestamptz')
    .addColumn('risk_level', 'text', (c) => c.notNull().defaultTo('none'))
    .addColumn('primary_clinician_id', 'text', (c) => c.references('staff.id'))
    .addColumn('enrolled_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('ended_at', 'timestamptz')
    .addColumn('end_reason', 'text')
    .execute();
  // At most one open course per client: a repeated enrollment finds the open one.
  await db.schema
    .createIndex('courses_one_open_per_client_uq')
    .on('courses')
    .column('client_id')
    .unique()
    .where(sql.ref('ended_at'), 'is', null)
    .execute();
  await db.schema.createIndex('courses_clinic_status_idx').on('courses').columns(['clinic_id', 'status']).execute();

  await db.schema
    .createTable('course_steps')
    // Deterministic id `<courseId>/<stepKey>`: a retried or replayed projection writes the same row.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('course_id', 'text', (c) => c.notNull().references('courses.id').onDelete('cascade'))
    .addColumn('clinic_id', 'text', (c) => c.notNull())
    .addColumn('step_key', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) =>
      c.notNull().check(sql`state in ('open', 'overdue', 'done', 'skipped', 'cancelled')`),
    )
    .addColumn('owner_role', 'text')
    .addColumn('owner_staff_id', 'text')
    .addColumn('entered_at', 'timestamptz', (c) => c.notNull())
    .addColumn('deadline_at', 'timestamptz')
    .addColumn('completed_at', 'timestamptz')
    .addColumn('escalation_level', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('outcome', 'text')
    .addColumn('detail', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema.createIndex('course_steps_course_idx').on('course_steps').columns(['course_id', 'entered_at']).execute();
  // The coordinator's questions: open steps by deadline, by clinic, by owner.
  const open = sql<boolean>`state in ('open', 'overdue')`;
  await db.schema.createIndex('course_steps_open_deadline_idx').on('course_steps').column('deadline_at').where(open).execute();
  await db.schema
    .createIndex('course_steps_open_clinic_idx')
    .on('course_steps')
    .columns(['clinic_id', 'deadline_at'])
    .where(open)
    .execute();
  await db.schema
    .createIndex('course_steps_open_owner_idx')
    .on('course_steps')
    .columns(['owner_role', 'deadline_at'])
    .where(open)
    .execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('actor_type', 'text', (c) => c.notNull().check(sql`actor_type in ('staff', 'client', 'system')`))
    .addColumn('actor_id', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('clinic_id', 'text')
    .addColumn('client_id', 'text')
    .addColumn('course_id', 'text')
    // Idempotency key for system entries written by activities (retries never write twice).
    .addColumn('event_key', 'text', (c) => c.unique())
    .addColumn('detail', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema.createIndex('audit_log_client_idx').on('audit_log').columns(['client_id', 'at']).execute();
  await db.schema.createIndex('audit_log_actor_idx').on('audit_log').columns(['actor_id', 'at']).execute();
  // Append-only, whatever role connects: updates and deletes are refused by the database itself.
  await sql`
    create function audit_log_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_log is append-only (% refused)', tg_op using errcode = 'insufficient_privilege';
    end $$`.execute(db);
  await sql`
    create trigger audit_log_no_update_delete before update or delete on audit_log
    for each row execute function audit_log_append_only()`.execute(db);
  await sql`
    create trigger audit_log_no_truncate before truncate on audit_log
    for each statement execute function audit_log_append_only()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_log').execute();
  await sql`drop function if exists audit_log_append_only()`.execute(db);
  await db.schema.dropTable('course_steps').execute();
  await db.schema.dropTable('courses').execute();
  await db.schema.dropTable('clients').execute();
  await db.schema.dropTable('staff_clinics').execute();
  await db.schema.dropTable('staff').execute();
  await db.schema.dropTable('clinics').execute();
}

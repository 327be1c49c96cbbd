// An API token without a staff member is an actor of its own (issue #15): audit entries and timeline
// events it causes are recorded as `token` with the token's id, never as `system` (which means the
// engine itself). Also an index for the admins' audit log, listed per clinic newest first.
// Never edit this migration once it has run anywhere: add a new numbered file.
import { type Kysely, sql } from 'kysely';

const TABLES = ['audit_log', 'course_events'] as const;

export async function up(db: Kysely<any>): Promise<void> {
  for (const t of TABLES) {
    // Adding a CHECK only reads existing rows, so audit_log's append-only triggers are not involved.
    await sql`alter table ${sql.table(t)} drop constraint if exists ${sql.id(`${t}_actor_type_check`)}`.execute(db);
    await sql`alter table ${sql.table(t)} add constraint ${sql.id(`${t}_actor_type_check`)} check (actor_type in ('staff', 'client', 'system', 'token'))`.execute(db);
  }
  await db.schema.createIndex('audit_log_clinic_idx').on('audit_log').columns(['clinic_id', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('audit_log_clinic_idx').execute();
  for (const t of TABLES) {
    await sql`alter table ${sql.table(t)} drop constraint if exists ${sql.id(`${t}_actor_type_check`)}`.execute(db);
    // NOT VALID: token rows already written stay (audit_log cannot be updated); new ones are refused.
    await sql`alter table ${sql.table(t)} add constraint ${sql.id(`${t}_actor_type_check`)} check (actor_type in ('staff', 'client', 'system')) not valid`.execute(db);
  }
}

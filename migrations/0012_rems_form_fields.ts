// The Spravato REMS Patient Monitoring Form's remaining fields (issue #20 item 5): the healthcare
// setting's name and address (clinic settings, edited by the clinic's admin), the monitoring
// clinician's phone (staff), and the patient's sex (client record), so the form is pre-filled from
// the records instead of typed on every session.
// Never edit this migration once it has run anywhere: add a new numbered file.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table clinics add column if not exists rems_setting_name text`.execute(db);
  await sql`alter table clinics add column if not exists address text`.execute(db);
  await sql`alter table staff add column if not exists phone text`.execute(db);
  await sql`alter table clients add column if not exists sex text check (sex in ('female', 'male', 'unknown'))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table clients drop column if exists sex`.execute(db);
  await sql`alter table staff drop column if exists phone`.execute(db);
  await sql`alter table clinics drop column if exists address`.execute(db);
  await sql`alter table clinics drop column if exists rems_setting_name`.execute(db);
}

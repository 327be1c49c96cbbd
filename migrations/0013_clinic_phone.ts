// The clinic's phone number (issue #18 item 1): the client's form names it in the crisis card ("call
// <clinic> on <phone>") instead of "contact <clinic>". Set by the clinic's admin (PATCH /api/clinics/:id).
// Never edit this migration once it has run anywhere: add a new numbered file.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table clinics add column if not exists phone text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table clinics drop column if exists phone`.execute(db);
}

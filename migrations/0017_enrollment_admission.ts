// Enrollment admission (issue #19, back-pressure): the API counts the courses enrolled in the last few
// minutes that have no step yet (the workflow has not run its first task, or its first projection is not
// committed) before it starts another (src/client/admission.ts). This index holds only those rows: a
// course leaves it with its first projection (current_step set) or its end.
// Never edit this migration once it has run anywhere: add a new numbered file.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index courses_awaiting_first_step_idx on courses (enrolled_at) where current_step is null and ended_at is null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists courses_awaiting_first_step_idx`.execute(db);
}

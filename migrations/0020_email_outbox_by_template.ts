// The stuck board reads the outbox by template every time it opens (issue #19, 2026-12-06): safety
// alerts that reached nobody and escalation emails that failed, each in a window of recent days
// (src/api/alert-problems.ts, src/api/stuck.ts). The only indexes were by status and by course, so the
// safety-alert query (whose conditions include `status = 'sent'`) read the whole outbox: every
// invitation and reminder ever sent, a cost that grows with the clinic's history (3.6 ms a request with
// 20,000 emails, on every board and /api/stuck read). By template and time it reads only those rows.
// Never edit this migration once it has run anywhere: add a new numbered file.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index email_outbox_template_idx on email_outbox (template, created_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists email_outbox_template_idx`.execute(db);
}

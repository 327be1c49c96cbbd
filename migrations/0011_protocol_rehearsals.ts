// Rehearsal sandboxes (issue #21): a clinic rehearses a protocol draft on synthetic clients in a
// sandbox clinic of its own. The sandbox's emails never leave the machine: the notify activity stores
// them in the embedded sink's table (smtp_sink_messages) instead of handing them to SMTP
// (src/mail/sandbox.ts). Never edit this migration once it has run anywhere: add a new numbered file.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sandbox_clinics')
    .addColumn('clinic_id', 'text', (c) => c.primaryKey().references('clinics.id').onDelete('cascade'))
    // The clinic whose draft it rehearses, the protocol, and the exact draft (its hash).
    .addColumn('source_clinic_id', 'text', (c) => c.notNull().references('clinics.id').onDelete('cascade'))
    .addColumn('protocol_id', 'text', (c) => c.notNull())
    .addColumn('draft_hash', 'text', (c) => c.notNull())
    .addColumn('created_by_type', 'text', (c) => c.notNull())
    .addColumn('created_by_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('sandbox_clinics_source_idx').on('sandbox_clinics').columns(['source_clinic_id', 'protocol_id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sandbox_clinics').execute();
}

// FHIR bulk export jobs in PostgreSQL (issue #20 item 2): a job started on one API process is served
// (status, manifest, files) by any other, and survives a restart. A job belongs to the principal that
// started it (`owner`: `token:<id>` or `staff:<id>`) and keeps that principal's clinic scope as it was
// at kick-off; its NDJSON files are rows of fhir_export_files (one per resource type), deleted with the
// job (DELETE of the status URL, or expiry: one hour after kick-off).
// Never edit this migration once it has run anywhere: add a new numbered file instead.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('fhir_export_jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner', 'text', (c) => c.notNull())
    // The clinics the export read: a JSON array of clinic ids, or the string "all".
    .addColumn('clinic_scope', 'jsonb', (c) => c.notNull())
    // Who asked (role, staff id or token id), as the audit entry says it.
    .addColumn('requested_by', 'jsonb', (c) => c.notNull())
    .addColumn('level', 'text', (c) => c.notNull().check(sql`level in ('system', 'patient')`))
    .addColumn('request', 'text', (c) => c.notNull())
    .addColumn('types', 'jsonb', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('running', 'done', 'failed')`))
    .addColumn('progress', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // Touched as the export advances: a running job not touched for long was cut off (its process ended).
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('fhir_export_jobs_expires_idx').on('fhir_export_jobs').column('expires_at').execute();
  await db.schema
    .createTable('fhir_export_files')
    .addColumn('job_id', 'text', (c) => c.notNull().references('fhir_export_jobs.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('line_count', 'integer', (c) => c.notNull())
    .addColumn('content', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('fhir_export_files_pk', ['job_id', 'type'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('fhir_export_files').ifExists().execute();
  await db.schema.dropTable('fhir_export_jobs').ifExists().execute();
}

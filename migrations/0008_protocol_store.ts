// The protocol store (issue #21): each clinic's own care-pathway protocols, as data. Per clinic and
// protocol id, a series of published versions, which never change, and at most one draft; who wrote
// each and why; which published version new enrolments use. The shipped protocols stay in the code
// as read-only templates a clinic copies (src/domain/protocols). A course keeps the snapshot it was
// enrolled with (courses.protocol_snapshot), so publishing never changes a running course.
// Never edit this migration once it has run anywhere: add a new numbered file.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('protocol_versions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('clinic_id', 'text', (c) => c.notNull().references('clinics.id').onDelete('cascade'))
    .addColumn('protocol_id', 'text', (c) => c.notNull())
    // The number this version has (a draft: the number it will get when published).
    .addColumn('version', 'integer', (c) => c.notNull().check(sql`version > 0`))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('draft', 'published')`))
    // The protocol as validated (defaults filled in), its id and version equal to the columns.
    .addColumn('definition', 'jsonb', (c) => c.notNull())
    // sha256 of the canonical JSON of the definition: what a rehearsal and a publish refer to.
    .addColumn('hash', 'text', (c) => c.notNull())
    // Where the first draft came from: `template:kap-office@1`, `clinic:kap-office@2`, `file`.
    .addColumn('based_on', 'text')
    .addColumn('created_by_type', 'text', (c) => c.notNull())
    .addColumn('created_by_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('reason', 'text')
    // The last rehearsal's summary (the simulator on the real engine), with the hash it rehearsed.
    .addColumn('rehearsal', 'jsonb')
    .addColumn('published_by_type', 'text')
    .addColumn('published_by_id', 'text')
    .addColumn('published_at', 'timestamptz')
    .addColumn('publish_reason', 'text')
    .addCheckConstraint('protocol_versions_published_fields', sql`(status = 'draft') = (published_at is null)`)
    .execute();
  // At most one draft per clinic and protocol; version numbers unique among published versions.
  await sql`create unique index protocol_versions_one_draft on protocol_versions (clinic_id, protocol_id) where status = 'draft'`.execute(db);
  await sql`create unique index protocol_versions_published on protocol_versions (clinic_id, protocol_id, version) where status = 'published'`.execute(db);

  // A published version never changes and is never deleted (a draft may be edited, published or discarded).
  await sql
    .raw(
      `create or replace function protocol_versions_immutable() returns trigger language plpgsql as $$
begin
  if old.status = 'published' then
    raise exception 'protocol % v% of clinic % is published and cannot change', old.protocol_id, old.version, old.clinic_id
      using errcode = 'check_violation';
  end if;
  if tg_op = 'DELETE' then return old; end if;
  return new;
end $$`,
    )
    .execute(db);
  await sql`create trigger protocol_versions_immutable before update or delete on protocol_versions for each row execute function protocol_versions_immutable()`.execute(db);

  // Which published version a clinic's new enrolments in a protocol use.
  await db.schema
    .createTable('clinic_protocol_choices')
    .addColumn('clinic_id', 'text', (c) => c.notNull().references('clinics.id').onDelete('cascade'))
    .addColumn('protocol_id', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('chosen_by_type', 'text', (c) => c.notNull())
    .addColumn('chosen_by_id', 'text')
    .addColumn('chosen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('clinic_protocol_choices_pk', ['clinic_id', 'protocol_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('clinic_protocol_choices').execute();
  await sql`drop trigger if exists protocol_versions_immutable on protocol_versions`.execute(db);
  await db.schema.dropTable('protocol_versions').execute();
  await sql`drop function if exists protocol_versions_immutable()`.execute(db);
}

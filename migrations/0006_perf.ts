// Performance at scale (docs/performance.md, measured by `npm run bench` at 100,000 courses and
// 1,000,000 step rows). Never edit this migration once it has run anywhere: add a new numbered file.
//
// The stuck board (src/api/stuck.ts) walks the open-step partial indexes of 0001 and joins each step to
// its course to drop ended courses. The planner cannot know how few open steps are past their deadline
// (the table's statistics are dominated by done steps, whose deadlines all lie in the past), so it
// expected thousands of rows and hashed every open course instead of looking up the few it needed:
// ~70-125 ms for one clinic's board on the embedded database, against ~6 ms for the lookup plan.
// Two changes make the lookup plan the cheap one:
//   1. a covering partial index over open courses: the join (and the system-health monitor's walk over
//      open courses by id) reads a small index instead of the courses heap;
//   2. random_page_cost = 1.1 for this database, the usual value when the data is in memory or on SSD
//      (the default of 4 models spinning disks and overprices index lookups). It needs the database's
//      owner; without that privilege the migration leaves a notice and goes on, and an operator sets it
//      in postgresql.conf or the provider's parameter group instead.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index courses_open_idx on courses (id) include (client_id, clinic_id) where ended_at is null`.execute(db);
  await sql`
    do $$
    begin
      execute format('alter database %I set random_page_cost = 1.1', current_database());
    exception when insufficient_privilege then
      raise notice 'random_page_cost not set (not the database owner): set it to 1.1 in the server configuration';
    end $$`.execute(db);
  // The setting applies to new sessions; this one (and the embedded PGlite's single long-lived
  // session) takes it now.
  await sql`set random_page_cost = 1.1`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists courses_open_idx`.execute(db);
  await sql`
    do $$
    begin
      execute format('alter database %I reset random_page_cost', current_database());
    exception when insufficient_privilege then
      null;
    end $$`.execute(db);
}

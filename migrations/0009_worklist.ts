// The courses worklist and the paged client list (issue #18): `GET /courses` and `GET /api/courses`
// page, sort and filter open courses; `GET /clients` pages clients in natural name order. Measured on 100,000
// courses (test/integration/worklist-plan.int.test.ts runs EXPLAIN on SQL-seeded rows).
// Never edit this migration once it has run anywhere: add a new numbered file.
//
//   - open courses by due time (every clinic, and one clinic's): the worklist's default order walks an
//     index and stops after a page instead of sorting every open course;
//   - open courses by risk (high first), then due time;
//   - courses by enrolment (every clinic, and one clinic's): `GET /api/courses`' default order, newest
//     first, over open and ended courses;
//   - clients by name (the worklist's name order), and in natural order, every clinic's and one
//     clinic's (the client list's, paged: "Client 2" before "Client 10");
//   - the lowercase prefixes of given name, family name and "given family" (the worklist's search by
//     name: LIKE 'ann%' uses them whatever the database's collation, thanks to text_pattern_ops).
import { type Kysely, sql } from 'kysely';

// Kept literally here (a migration never changes); worklist.ts has the same text.
const RISK_RANK = "case risk_level when 'high' then 0 when 'moderate' then 1 when 'low' then 2 else 3 end";
const NATURAL_NAME = "lower(regexp_replace(family_name, '[0-9]+', '', 'g')), (nullif(substring(family_name from '[0-9]+'), '')::numeric), lower(given_name)";

const INDEXES: Array<[string, string]> = [
  ['courses_open_due_idx', 'on courses (current_step_deadline, id) where ended_at is null'],
  ['courses_open_clinic_due_idx', 'on courses (clinic_id, current_step_deadline, id) where ended_at is null'],
  // "Highest risk first": the rank expression exactly as src/api/worklist.ts orders by it.
  ['courses_open_risk_idx', `on courses ((${RISK_RANK}), current_step_deadline, id) where ended_at is null`],
  ['courses_open_clinic_risk_idx', `on courses (clinic_id, (${RISK_RANK}), current_step_deadline, id) where ended_at is null`],
  ['courses_enrolled_idx', 'on courses (enrolled_at, id)'],
  ['courses_clinic_enrolled_idx', 'on courses (clinic_id, enrolled_at, id)'],
  ['clients_name_idx', 'on clients (family_name, given_name, id)'],
  // The client list's natural order ("Client 2" before "Client 10"), exactly as src/api/client-list.ts sorts.
  ['clients_natural_name_idx', `on clients (${NATURAL_NAME}, id)`],
  ['clients_clinic_natural_name_idx', `on clients (clinic_id, ${NATURAL_NAME}, id)`],
  ['clients_given_prefix_idx', 'on clients (lower(given_name) text_pattern_ops)'],
  ['clients_family_prefix_idx', 'on clients (lower(family_name) text_pattern_ops)'],
  ['clients_full_name_prefix_idx', "on clients (lower(given_name || ' ' || family_name) text_pattern_ops)"],
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const [name, def] of INDEXES) await sql.raw(`create index if not exists ${name} ${def}`).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const [name] of INDEXES) await sql.raw(`drop index if exists ${name}`).execute(db);
}

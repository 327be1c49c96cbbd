// Seeds the dashboard's tables server-side with generate_series: clinics, staff, clients, courses and
// course steps at the scale of a large clinic group, in a few statements (no rows cross the wire).
//
// Shape (the defaults: 100,000 courses, 10 step rows each = 1,000,000 step rows):
//   - 20 clinics, 10 staff each (coordinators, prescribers, therapists), one client per course, the
//     open courses spread evenly over the clinics;
//   - 75% of courses ended (every step done), 25% open;
//   - an open course has 8 steps done, its current step open with a deadline spread evenly from
//     2 days ago to 38 days ahead (so about 5% of open courses are past their deadline: stuck), one in
//     fifty of those escalated to 'overdue', and a parallel follow-up assessment open with a deadline
//     1 to 30 days ahead;
//   - every step row carries a small `detail` jsonb like the projection writes.
// Ids are prefixed `bench-` so the seed never collides with rows the live phases create.
import { sql } from 'kysely';
import type { Db } from '../src/db/connect';

export interface SeedOptions {
  courses: number;
  stepsPerCourse: number;
  clinics: number;
  /** One course in `openEvery` is open. */
  openEvery: number;
}

export const DEFAULT_SEED: SeedOptions = { courses: 100_000, stepsPerCourse: 10, clinics: 20, openEvery: 4 };

const KINDS = ['screening', 'clearance', 'consent', 'preparation', 'dosing', 'integration', 'dosing', 'integration', 'dosing', 'assessment'];
const OWNERS = ['coordinator', 'prescriber', 'coordinator', 'therapist', 'prescriber', 'therapist', 'prescriber', 'therapist', 'prescriber', 'coordinator'];

export interface SeedResult {
  courses: number;
  openCourses: number;
  stepRows: number;
  openStepRows: number;
  stuckSteps: number;
  ms: number;
}

export async function seedDashboardData(db: Db, opts: SeedOptions = DEFAULT_SEED): Promise<SeedResult> {
  const t0 = Date.now();
  const { courses: n, stepsPerCourse: k, clinics, openEvery } = opts;
  const kinds = sql.raw(`(array[${KINDS.map((x) => `'${x}'`).join(",")}])`);
  const owners = sql.raw(`(array[${OWNERS.map((x) => `'${x}'`).join(",")}])`);
  await sql`insert into clinics (id, name, timezone)
    select 'bench-clinic-' || lpad(i::text, 2, '0'), 'Bench clinic ' || i, 'UTC' from generate_series(1, ${clinics}) i
    on conflict do nothing`.execute(db);
  // Ten staff per clinic: 3 coordinators, 3 prescribers, 4 therapists.
  await sql`insert into staff (id, email, display_name, role)
    select 'bench-staff-' || i, 'bench-staff-' || i || '@bench.local', 'Staff ' || i,
      (array['coordinator','coordinator','coordinator','prescriber','prescriber','prescriber','therapist','therapist','therapist','therapist'])[1 + i % 10]
    from generate_series(0, ${clinics * 10 - 1}) i on conflict do nothing`.execute(db);
  await sql`insert into staff_clinics (staff_id, clinic_id)
    select 'bench-staff-' || i, 'bench-clinic-' || lpad((1 + i / 10)::text, 2, '0') from generate_series(0, ${clinics * 10 - 1}) i on conflict do nothing`.execute(db);
  await sql`insert into clients (id, clinic_id, given_name, family_name, email)
    select 'bench-client-' || i, 'bench-clinic-' || lpad((1 + (i / ${openEvery}) % ${clinics})::text, 2, '0'), 'Given' || i, 'Family' || (i % 997), 'c' || i || '@bench.local'
    from generate_series(0, ${n - 1}) i`.execute(db);
  await sql`insert into courses (id, client_id, clinic_id, workflow_id, protocol_id, protocol_version, protocol_snapshot, status, current_step,
      current_step_deadline, enrolled_at, updated_at, ended_at, end_reason)
    select 'bench-course-' || i, 'bench-client-' || i, 'bench-clinic-' || lpad((1 + (i / ${openEvery}) % ${clinics})::text, 2, '0'), 'course-bench-course-' || i,
      (array['kap-office','iv-series','spravato-rems'])[1 + i % 3], 1, jsonb_build_object('seeded', true),
      case when i % ${openEvery} = 0 then 'active' else 'completed' end,
      case when i % ${openEvery} = 0 then 'step-' || ${k - 2} else null end,
      case when i % ${openEvery} = 0 then now() + (((i / ${openEvery}) % 4000) / 100.0 - 2) * interval '1 day' else null end,
      now() - interval '120 days', now(),
      case when i % ${openEvery} = 0 then null else now() - (i % 60) * interval '1 day' end,
      case when i % ${openEvery} = 0 then null else 'completed' end
    from generate_series(0, ${n - 1}) i`.execute(db);
  // Step j of course i. Open courses: steps 0..k-3 done, k-2 the current step (open or overdue), k-1 a
  // parallel assessment, open. Ended courses: every step done.
  await sql`insert into course_steps (id, course_id, clinic_id, step_key, kind, state, owner_role, owner_staff_id, entered_at, deadline_at,
      completed_at, escalation_level, outcome, detail)
    select 'bench-course-' || i || '/step-' || j, 'bench-course-' || i, 'bench-clinic-' || lpad((1 + (i / ${openEvery}) % ${clinics})::text, 2, '0'), 'step-' || j,
      ${kinds}[1 + j % ${KINDS.length}],
      case
        when i % ${openEvery} <> 0 or j < ${k - 2} then 'done'
        when j = ${k - 2} and (i / ${openEvery}) % 4000 < 200 and (i / ${openEvery}) % 50 = 0 then 'overdue'
        else 'open' end,
      ${owners}[1 + j % ${OWNERS.length}],
      case when j % 3 = 0 then 'bench-staff-' || (((i / ${openEvery}) % ${clinics}) * 10 + j % 10) else null end,
      now() - interval '120 days' + j * interval '7 days',
      case
        when i % ${openEvery} = 0 and j = ${k - 2} then now() + (((i / ${openEvery}) % 4000) / 100.0 - 2) * interval '1 day'
        when i % ${openEvery} = 0 and j = ${k - 1} then now() + (1 + (i % 30)) * interval '1 day'
        else now() - interval '120 days' + (j * 7 + 3) * interval '1 day' end,
      case when i % ${openEvery} <> 0 or j < ${k - 2} then now() - interval '120 days' + (j * 7 + 1) * interval '1 day' else null end,
      case when i % ${openEvery} = 0 and j = ${k - 2} and (i / ${openEvery}) % 4000 < 200 then 1 else 0 end,
      case when i % ${openEvery} <> 0 or j < ${k - 2} then 'done' else null end,
      jsonb_build_object('name', 'Step ' || j, 'phase', 'phase-' || (j / 4))
    from generate_series(0, ${n - 1}) i cross join generate_series(0, ${k - 1}) j
    -- course by course, as a live system appends them: the open rows are spread through the heap.
    order by i, j`.execute(db);
  await sql`analyze`.execute(db);
  const counts = await sql<{ courses: number; open_courses: number; steps: number; open_steps: number; stuck: number }>`
    select (select count(*) from courses where id like 'bench-%')::int as courses,
      (select count(*) from courses where id like 'bench-%' and ended_at is null)::int as open_courses,
      (select count(*) from course_steps where id like 'bench-%')::int as steps,
      (select count(*) from course_steps where id like 'bench-%' and state in ('open', 'overdue'))::int as open_steps,
      (select count(*) from course_steps where id like 'bench-%' and state in ('open', 'overdue') and (state = 'overdue' or deadline_at < now()))::int as stuck`.execute(db);
  const c = counts.rows[0]!;
  return { courses: c.courses, openCourses: c.open_courses, stepRows: c.steps, openStepRows: c.open_steps, stuckSteps: c.stuck, ms: Date.now() - t0 };
}

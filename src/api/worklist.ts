// The courses worklist (issue #18): every course with its client, protocol, current step, owner, due
// time, risk and hold state, filtered, searched, sorted and paged in SQL, with counts per filter.
// One query builder serves `GET /courses` (the dashboard page) and `GET /api/courses` (its JSON twin,
// also `kap courses`). Clinic scope comes from the caller (`clinicFilter`), never from here.
//
// Fast at 100,000 courses (migration 0009; EXPLAIN checked in test/integration/worklist-plan.int.test.ts):
// the default order (soonest due first) walks `courses_open_due_idx` / `courses_open_clinic_due_idx`
// and stops after a page; the current step is one primary-key lookup (`<courseId>/<stepKey>`, the
// projection's deterministic id); the name search is a lowercase prefix match on indexed expressions.
import { type Expression, type SqlBool, sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../db/connect';
import type { Course } from '../db/schema';

export const WORKLIST_SORTS = ['due', '-due', 'name', '-name', 'enrolled', '-enrolled', 'risk'] as const;
export type WorklistSort = (typeof WORKLIST_SORTS)[number];
export const SORT_LABELS: Record<WorklistSort, string> = {
  due: 'Due soonest first',
  '-due': 'Due latest first',
  name: 'Client name, A to Z',
  '-name': 'Client name, Z to A',
  enrolled: 'Enrolled, oldest first',
  '-enrolled': 'Enrolled, newest first',
  risk: 'Highest risk first',
};

const yesNo = z.enum(['true', 'false']);
/** The worklist's filters, as query parameters (the page's form and `GET /api/courses` alike). */
export const WorklistFilters = z.object({
  protocol: z.string().min(1).max(100).optional().describe('protocol id, e.g. kap-office'),
  stepKind: z.string().min(1).max(60).optional().describe('kind of the current step: screening, clearance, consent, dosing, assessment, ...'),
  ownerRole: z.string().min(1).max(40).optional().describe('role that owns the current step: coordinator, prescriber, therapist, client, system'),
  overdue: yesNo.optional().describe('true = only courses whose current step is past its deadline'),
  onHold: yesNo.optional().describe('true = only courses with an open safety hold'),
  q: z.string().trim().min(1).max(100).optional().describe("start of the client's given name, family name or full name (case-insensitive)"),
  sort: z.enum(WORKLIST_SORTS).optional().describe('due, -due, name, -name, enrolled, -enrolled (the default: newest first), risk (highest first, then due)'),
  page: z.coerce.number().int().min(1).max(100_000).default(1).describe('page number, from 1'),
});
export type WorklistFiltersT = z.infer<typeof WorklistFilters>;

export interface WorklistQuery extends Partial<WorklistFiltersT> {
  /** Clinic ids in scope (clinicFilter): undefined = every clinic. */
  clinics?: string[];
  clientId?: string;
  status?: string;
  /** true = open courses only, false = ended only, undefined = both. */
  open?: boolean;
  limit: number;
}

export interface WorklistRow {
  course: Course;
  clientName: string;
  givenName: string;
  familyName: string;
  clinicName: string;
  timeZone: string;
  stepKind: string | null;
  stepState: string | null;
  owner: { role: string | null; staffId: string | null; name: string | null };
  overdue: boolean;
  openHolds: number;
}

export interface WorklistCounts {
  /** Courses matching every filter. */
  total: number;
  /** For each filter, how many courses each of its values would show with the other filters kept. */
  protocol: Record<string, number>;
  stepKind: Record<string, number>;
  ownerRole: Record<string, number>;
  overdue: number;
  onHold: number;
}

const like = (q: string) => `${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function overdueExpr(now: Date) {
  return sql<SqlBool>`(c.ended_at is null and (coalesce(s.state = 'overdue', false) or coalesce(c.current_step_deadline < ${now}, false)))`;
}
const holdExpr = sql<SqlBool>`exists (select 1 from safety_events se where se.course_id = c.id and se.resolved_at is null)`;

/** The rows in scope before the facet filters (clinic, client, status, open, name). */
function scopeWheres(f: WorklistQuery): Expression<SqlBool>[] {
  const wheres: Expression<SqlBool>[] = [];
  if (f.clinics) wheres.push(f.clinics.length ? sql<SqlBool>`c.clinic_id in (${sql.join(f.clinics)})` : sql<SqlBool>`false`);
  if (f.clientId) wheres.push(sql<SqlBool>`c.client_id = ${f.clientId}`);
  if (f.status) wheres.push(sql<SqlBool>`c.status = ${f.status}`);
  if (f.open === true) wheres.push(sql<SqlBool>`c.ended_at is null`);
  if (f.open === false) wheres.push(sql<SqlBool>`c.ended_at is not null`);
  if (f.q) {
    const p = like(f.q);
    // "Lee, Ann" as the list shows names; "ann lee" the full name; otherwise the start of either name.
    const comma = f.q.indexOf(',');
    const match =
      comma >= 0
        ? sql<SqlBool>`(lower(n.family_name) like ${like(f.q.slice(0, comma).trim())} and lower(n.given_name) like ${like(f.q.slice(comma + 1).trim())})`
        : /\s/.test(f.q)
          ? sql<SqlBool>`lower(n.given_name || ' ' || n.family_name) like ${like(f.q.replace(/\s+/g, ' '))}`
          : sql<SqlBool>`(lower(n.given_name) like ${p} or lower(n.family_name) like ${p})`;
    wheres.push(sql<SqlBool>`c.client_id in (select n.id from clients n where ${match})`);
  }
  return wheres;
}

// The current step's row (one primary-key lookup), while it is open: a step done, skipped or cancelled
// is no longer what the course waits for.
const stepJoin = sql<SqlBool>`s.id = c.id || '/' || c.current_step and s.state in ('open', 'overdue')`;

function facetWheres(f: WorklistQuery, now: Date, except?: keyof WorklistCounts): Expression<SqlBool>[] {
  const w: Expression<SqlBool>[] = [];
  if (f.protocol && except !== 'protocol') w.push(sql<SqlBool>`c.protocol_id = ${f.protocol}`);
  if (f.stepKind && except !== 'stepKind') w.push(sql<SqlBool>`s.kind = ${f.stepKind}`);
  if (f.ownerRole && except !== 'ownerRole') w.push(sql<SqlBool>`s.owner_role = ${f.ownerRole}`);
  if (f.overdue && except !== 'overdue') w.push(f.overdue === 'true' ? overdueExpr(now) : sql<SqlBool>`not ${overdueExpr(now)}`);
  if (f.onHold && except !== 'onHold') w.push(f.onHold === 'true' ? holdExpr : sql<SqlBool>`not ${holdExpr}`);
  return w;
}

const and = (w: Expression<SqlBool>[]) => (w.length ? sql<SqlBool>`${sql.join(w, sql` and `)}` : sql<SqlBool>`true`);

function orderBy(sort: WorklistSort) {
  switch (sort) {
    case 'due':
      return sql`c.current_step_deadline asc nulls last, c.id asc`;
    case '-due':
      return sql`c.current_step_deadline desc nulls last, c.id desc`;
    case 'name':
      return sql`cl.family_name asc, cl.given_name asc, c.id asc`;
    case '-name':
      return sql`cl.family_name desc, cl.given_name desc, c.id desc`;
    case 'enrolled':
      return sql`c.enrolled_at asc, c.id asc`;
    case '-enrolled':
      return sql`c.enrolled_at desc, c.id desc`;
    case 'risk':
      // The expression of migration 0009's courses_open_risk_idx, so the order walks that index.
      return sql`(case c.risk_level when 'high' then 0 when 'moderate' then 1 when 'low' then 2 else 3 end), c.current_step_deadline asc nulls last, c.id asc`;
  }
}

/** One page of the worklist: `limit` rows from `(page - 1) * limit`, and whether another page follows. */
export async function worklistPage(db: Db, f: WorklistQuery, now = new Date()): Promise<{ rows: WorklistRow[]; hasMore: boolean; sort: WorklistSort }> {
  const sort: WorklistSort = f.sort ?? '-enrolled';
  const page = f.page ?? 1;
  const rows = await db
    .selectFrom('courses as c')
    .leftJoin('course_steps as s', (j) => j.on(stepJoin))
    .innerJoin('clients as cl', 'cl.id', 'c.client_id')
    .innerJoin('clinics as k', 'k.id', 'c.clinic_id')
    .leftJoin('staff as st', 'st.id', 's.owner_staff_id')
    .selectAll('c')
    .select(['cl.given_name', 'cl.family_name', 'k.name as clinic_name', 'k.timezone', 's.kind as step_kind', 's.state as step_state', 's.owner_role', 's.owner_staff_id', 'st.display_name as owner_name'])
    .select([overdueExpr(now).as('is_overdue'), sql<number>`(select count(*)::int from safety_events se where se.course_id = c.id and se.resolved_at is null)`.as('open_holds')])
    .where(and([...scopeWheres(f), ...facetWheres(f, now)]))
    .orderBy(orderBy(sort))
    .limit(f.limit + 1)
    .offset((page - 1) * f.limit)
    .execute();
  const hasMore = rows.length > f.limit;
  return {
    sort,
    hasMore,
    rows: rows.slice(0, f.limit).map((r) => {
      const { given_name, family_name, clinic_name, timezone, step_kind, step_state, owner_role, owner_staff_id, owner_name, is_overdue, open_holds, ...course } = r;
      return {
        course: course as Course,
        clientName: `${given_name} ${family_name}`,
        givenName: given_name,
        familyName: family_name,
        clinicName: clinic_name,
        timeZone: timezone,
        stepKind: step_kind,
        stepState: step_state,
        owner: { role: owner_role, staffId: owner_staff_id, name: owner_name },
        overdue: !!is_overdue,
        openHolds: Number(open_holds),
      };
    }),
  };
}

/**
 * Counts per filter in one grouped query over the courses in scope: each filter's values are counted
 * with every other filter applied (so "Overdue (12)" is what choosing it would show).
 */
export async function worklistCounts(db: Db, f: WorklistQuery, now = new Date()): Promise<WorklistCounts> {
  const groups = await db
    .selectFrom('courses as c')
    .leftJoin('course_steps as s', (j) => j.on(stepJoin))
    .select([
      'c.protocol_id',
      's.kind',
      's.owner_role',
      overdueExpr(now).as('is_overdue'),
      holdExpr.as('held'),
      sql<number>`count(*)::int`.as('n'),
    ])
    .where(and(scopeWheres(f)))
    .groupBy([sql`1`, sql`2`, sql`3`, sql`4`, sql`5`])
    .execute();
  const rows = groups.map((g) => ({ protocol: g.protocol_id, stepKind: g.kind ?? '', ownerRole: g.owner_role ?? '', overdue: !!g.is_overdue, onHold: !!g.held, n: Number(g.n) }));
  const keep = (r: (typeof rows)[number], except?: string) =>
    (!f.protocol || except === 'protocol' || r.protocol === f.protocol) &&
    (!f.stepKind || except === 'stepKind' || r.stepKind === f.stepKind) &&
    (!f.ownerRole || except === 'ownerRole' || r.ownerRole === f.ownerRole) &&
    (!f.overdue || except === 'overdue' || r.overdue === (f.overdue === 'true')) &&
    (!f.onHold || except === 'onHold' || r.onHold === (f.onHold === 'true'));
  const by = (key: 'protocol' | 'stepKind' | 'ownerRole') => {
    const out: Record<string, number> = {};
    for (const r of rows) if (r[key] && keep(r, key)) out[r[key]] = (out[r[key]] ?? 0) + r.n;
    return out;
  };
  const sum = (pred: (r: (typeof rows)[number]) => boolean) => rows.filter(pred).reduce((a, r) => a + r.n, 0);
  return {
    total: sum((r) => keep(r)),
    protocol: by('protocol'),
    stepKind: by('stepKind'),
    ownerRole: by('ownerRole'),
    overdue: sum((r) => r.overdue && keep(r, 'overdue')),
    onHold: sum((r) => r.onHold && keep(r, 'onHold')),
  };
}

// Due times as staff read them (also the client list's and the `kap` command's).
export { clinicLocalTime, relativeTime } from '../format-time';

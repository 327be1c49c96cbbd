// The dashboard's client list (`GET /clients`, issue #18): paged in SQL, in natural name order
// ("Client 2" before "Client 10"), with each client's course status, a filter by course status and
// clinic, search by name, email or reference, and counts per status. Scope from the caller.
import { type Expression, type SqlBool, sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../db/connect';
import type { Client } from '../db/schema';

export const CLIENT_SORTS = ['name', '-name', 'added', '-added'] as const;
export type ClientSort = (typeof CLIENT_SORTS)[number];
export const CLIENT_SORT_LABELS: Record<ClientSort, string> = { name: 'Name, A to Z', '-name': 'Name, Z to A', added: 'Added, oldest first', '-added': 'Added, newest first' };
export const COURSE_STATES = ['open', 'ended', 'never'] as const;
export type CourseState = (typeof COURSE_STATES)[number];

export const ClientListQuery = z.strictObject({
  q: z.string().trim().min(1).max(100).optional(),
  clinicId: z.string().min(1).max(100).optional(),
  course: z.enum(COURSE_STATES).optional(),
  sort: z.enum(CLIENT_SORTS).optional(),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
});

export interface ClientListRow {
  client: Client;
  course: { id: string; protocolId: string; status: string; currentStep: string | null; deadline: Date | null; endedAt: Date | null; riskLevel: string } | null;
}

// Natural order: the name without its digits, then its first number as a number, then the rest
// (migration 0009's clients_natural_name_idx / clients_clinic_natural_name_idx have these expressions).
const NATURAL = sql`lower(regexp_replace(cl.family_name, '[0-9]+', '', 'g')), (nullif(substring(cl.family_name from '[0-9]+'), ''))::numeric, lower(cl.given_name), cl.id`;
const NATURAL_DESC = sql`lower(regexp_replace(cl.family_name, '[0-9]+', '', 'g')) desc, (nullif(substring(cl.family_name from '[0-9]+'), ''))::numeric desc, lower(cl.given_name) desc, cl.id desc`;
const hasOpen = sql<SqlBool>`exists (select 1 from courses c where c.client_id = cl.id and c.ended_at is null)`;
const hasAny = sql<SqlBool>`exists (select 1 from courses c where c.client_id = cl.id)`;

function wheres(clinics: string[] | undefined, q: string | undefined): Expression<SqlBool>[] {
  const w: Expression<SqlBool>[] = [];
  if (clinics) w.push(clinics.length ? sql<SqlBool>`cl.clinic_id in (${sql.join(clinics)})` : sql<SqlBool>`false`);
  if (q) {
    const like = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    w.push(sql<SqlBool>`(cl.given_name ilike ${like} or cl.family_name ilike ${like} or (cl.given_name || ' ' || cl.family_name) ilike ${like} or cl.email ilike ${like} or cl.external_ref ilike ${like})`);
  }
  return w;
}
const and = (w: Expression<SqlBool>[]) => (w.length ? sql<SqlBool>`${sql.join(w, sql` and `)}` : sql<SqlBool>`true`);
const stateWhere = (s: CourseState | undefined) => (s === 'open' ? hasOpen : s === 'ended' ? sql<SqlBool>`(${hasAny} and not ${hasOpen})` : s === 'never' ? sql<SqlBool>`not ${hasAny}` : sql<SqlBool>`true`);

export async function clientListPage(db: Db, clinics: string[] | undefined, f: z.infer<typeof ClientListQuery>, limit: number) {
  const sort: ClientSort = f.sort ?? 'name';
  const order = sort === 'name' ? NATURAL : sort === '-name' ? NATURAL_DESC : sort === 'added' ? sql`cl.created_at asc, cl.id asc` : sql`cl.created_at desc, cl.id desc`;
  const base = wheres(clinics, f.q);
  const [rows, counts] = await Promise.all([
    db
      .selectFrom('clients as cl')
      .selectAll('cl')
      .where(and([...base, stateWhere(f.course)]))
      .orderBy(order)
      .limit(limit + 1)
      .offset((f.page - 1) * limit)
      .execute(),
    // Three counts as joins (a semi-join for "ever enrolled"), not a subquery per client.
    sql<{ total: number; open: number; ever: number }>`select
        (select count(*) from clients cl where ${and(base)})::int as total,
        (select count(*) from clients cl join courses c on c.client_id = cl.id and c.ended_at is null where ${and(base)})::int as open,
        (select count(*) from clients cl where ${and(base)} and cl.id in (select c.client_id from courses c))::int as ever`
      .execute(db)
      .then((r) => r.rows[0]!),
  ]);
  const page = rows.slice(0, limit);
  // Each client's course: the open one, else the latest.
  const courses = page.length
    ? await db
        .selectFrom('courses')
        .select(['id', 'client_id', 'protocol_id', 'status', 'current_step', 'current_step_deadline', 'ended_at', 'enrolled_at', 'risk_level'])
        .where('client_id', 'in', page.map((c) => c.id))
        .orderBy('enrolled_at', 'desc')
        .execute()
    : [];
  const courseOf = new Map<string, (typeof courses)[number]>();
  for (const c of courses) {
    const cur = courseOf.get(c.client_id);
    if (!cur || (cur.ended_at && !c.ended_at)) courseOf.set(c.client_id, c);
  }
  const total = Number(counts.total);
  const open = Number(counts.open);
  const ever = Number(counts.ever);
  return {
    sort,
    hasMore: rows.length > limit,
    counts: { total, open, ended: ever - open, never: total - ever },
    rows: page.map((client): ClientListRow => {
      const c = courseOf.get(client.id);
      return { client, course: c ? { id: c.id, protocolId: c.protocol_id, status: c.status, currentStep: c.current_step, deadline: c.current_step_deadline, endedAt: c.ended_at, riskLevel: c.risk_level } : null };
    }),
  };
}

// The worklist stays fast at 100,000 courses: EXPLAIN of each of its queries on SQL-seeded rows
// (bench/seed.ts: 100,000 courses over 20 clinics, a quarter open, two step rows each) shows the
// indexes of migration 0009 and primary-key lookups, never a scan of every course, step or client,
// and the page and its counts answer well within a page load. A database of its own (PGlite in this
// process), so the rows never reach the other tests.
import { sql } from 'kysely';
import { seedDashboardData } from '../../bench/seed';
import { NOBODY_IN_ROLE } from '../../src/activities/notify';
import { undeliveredSafetyAlerts } from '../../src/api/alert-problems';
import { clientListPage } from '../../src/api/client-list';
import { failedEscalations } from '../../src/api/stuck';
import { worklistCounts, worklistPage, type WorklistQuery } from '../../src/api/worklist';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDb, type Db } from '../../src/db/connect';
import { migrateToLatest } from '../../src/db/migrate';
import { createScratchDatabase } from '../../src/db/scratch-database';

let child: ChildProcess | undefined;
let dataDir: string | undefined;
let dropScratch: (() => Promise<void>) | undefined;
let db: Db;

/** A database of its own: a scratch database on DATABASE_URL's server, else PGlite in a child process (jest's VM cannot host it). */
async function ownDatabase(): Promise<string> {
  if (process.env.DATABASE_URL) {
    const scratch = await createScratchDatabase(process.env.DATABASE_URL, 'kap_worklist_plan');
    dropScratch = scratch.drop;
    return scratch.url;
  }
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kap-worklist-plan-'));
  const main = path.resolve(__dirname, '../../src/db/embedded-postgres-main.ts');
  child = spawn(process.execPath, ['--import', 'tsx', main, '--data-dir', dataDir, '--port', '0'], { cwd: path.resolve(__dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2000)));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child!.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child!.once('exit', (code) => reject(new Error(`embedded PostgreSQL exited (${code}) before it was ready: ${err}`)));
  });
  return `postgresql://postgres:postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
}
let sent: Array<{ sql: string; parameters: readonly unknown[] }> = [];

beforeAll(async () => {
  db = createDb({ url: await ownDatabase(), poolMax: 1, log: (e) => { if (e.level === 'query') sent.push({ sql: e.query.sql, parameters: e.query.parameters }); } });
  await migrateToLatest(db);
  const seeded = await seedDashboardData(db, { courses: 100_000, stepsPerCourse: 2, clinics: 20, openEvery: 4 });
  expect(seeded.courses).toBe(100_000);
  expect(seeded.openCourses).toBe(25_000);
}, 180_000);

afterAll(async () => {
  // A query left running by a failed test must not keep the pool (and the child) alive.
  await Promise.race([db?.destroy().catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
  await dropScratch?.();
  if (child && child.exitCode === null && child.signalCode === null) {
    // A clean stop, or SIGKILL after 10 s (a loaded machine): the child never outlives the test.
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child!.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

/** EXPLAIN of the last statement `run` sent (of those `which` picks), with its parameters inlined as literals; and run's median time of 5. */
async function planOf(run: () => Promise<unknown>, which: (sql: string) => boolean = () => true): Promise<{ plan: string; ms: number }> {
  const times: number[] = [];
  for (let k = 0; k < 5; k++) {
    sent = [];
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  const q = sent.filter((s) => which(s.sql)).pop()!;
  const literal = (v: unknown) => (v instanceof Date ? `'${v.toISOString()}'` : typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`);
  const text = q.sql.replace(/\$(\d+)/g, (_m, n: string) => literal(q.parameters[Number(n) - 1]));
  const rows = (await sql.raw(`explain ${text}`).execute(db)).rows as Array<Record<string, string>>;
  return { plan: rows.map((r) => r['QUERY PLAN']).join('\n'), ms: times.sort((a, b) => a - b)[2]! };
}

// Medians of 5 runs. The plans are the guard; the bounds leave room for a loaded 2-core CI machine
// (measured unloaded: pages 3-60 ms, counts 10-150 ms; see the README of src/api).
const LIMIT_MS = { page: 500, counts: 1500 };

const page = (f: Partial<WorklistQuery>) => () => worklistPage(db, { open: true, limit: 50, page: 1, ...f });
const noFullScans = (plan: string) => {
  expect(plan).not.toMatch(/Seq Scan on (courses|course_steps|clients)\b/);
};

test.each([
  ['every clinic, soonest due first', 'courses_open_due_idx', { sort: 'due' }],
  ["one clinic's, soonest due first", 'courses_open_clinic_due_idx', { sort: 'due', clinics: ['bench-clinic-03'] }],
  ["one clinic's, overdue only", 'courses_open_clinic_due_idx', { sort: 'due', clinics: ['bench-clinic-03'], overdue: 'true' }],
  ['every clinic, highest risk first', 'courses_open_risk_idx', { sort: 'risk' }],
  ["one clinic's, highest risk first", 'courses_open_clinic_risk_idx', { sort: 'risk', clinics: ['bench-clinic-07'] }],
  ['every clinic, by client name', 'clients_name_idx', { sort: 'name' }],
  ['search by the start of a name', 'clients_given_prefix_idx', { sort: 'due', q: 'given1234' }],
  ['search by full name', 'clients_full_name_prefix_idx', { sort: 'due', q: 'given1234 family' }],
  ['page 20 of every clinic', 'courses_open_due_idx', { sort: 'due', page: 20 }],
] as const)('worklist page, %s: walks %s and stops at the page', async (_name, index, f) => {
  const { plan, ms } = await planOf(page(f as Partial<WorklistQuery>));
  expect(plan).toContain(index);
  expect(plan).toContain('course_steps_pkey');
  noFullScans(plan);
  // An index order, not a sort of every open course (a top-N sort of the few name matches is fine).
  if (!('q' in f)) expect(plan).not.toMatch(/^\s*->\s+Sort\b/m);
  expect(ms).toBeLessThan(LIMIT_MS.page);
});

test("GET /api/courses' default order (newest first, ended courses included) walks the enrolment index", async () => {
  for (const [f, index] of [[{}, 'courses_enrolled_idx'], [{ clinics: ['bench-clinic-03'] }, 'courses_clinic_enrolled_idx']] as Array<[Partial<WorklistQuery>, string]>) {
    const { plan, ms } = await planOf(() => worklistPage(db, { limit: 100, page: 1, ...f }));
    expect(plan).toContain(index);
    noFullScans(plan);
    expect(ms).toBeLessThan(LIMIT_MS.page);
  }
});

test('counts per filter: one grouped query over the open courses in scope, never every step row', async () => {
  for (const f of [{}, { clinics: ['bench-clinic-03'] }, { q: 'given12' }]) {
    const { plan, ms } = await planOf(() => worklistCounts(db, { open: true, limit: 50, ...f }));
    expect(plan).not.toContain('Seq Scan on course_steps');
    // The current steps come from the open-step index or one primary-key lookup each, never a walk of the whole key.
    const lines = plan.split('\n');
    lines.forEach((l, i) => {
      if (l.includes('course_steps_pkey')) expect(lines[i + 1]).toMatch(/Index Cond: \(id = /);
    });
    expect(ms).toBeLessThan(LIMIT_MS.counts);
  }
  const all = await worklistCounts(db, { open: true, limit: 50 });
  expect(all.total).toBe(25_000);
  expect(Object.values(all.protocol).reduce((a, b) => a + b, 0)).toBe(25_000);
});

test('the client list: a page in natural name order walks its index, with counts per course status, every clinic and one', async () => {
  for (const [clinics, index] of [[undefined, 'clients_natural_name_idx'], [['bench-clinic-03'], 'clients_clinic_natural_name_idx']] as Array<[string[] | undefined, string]>) {
    const { plan, ms } = await planOf(() => clientListPage(db, clinics, { page: 2 }, 50), (q) => q.includes('regexp_replace'));
    expect(plan).toContain(index);
    noFullScans(plan);
    expect(plan).not.toMatch(/^\s*->\s+Sort\b/m);
    expect(ms).toBeLessThan(LIMIT_MS.counts);
  }
  const one = await clientListPage(db, ['bench-clinic-03'], { page: 1 }, 50);
  expect(one.counts.total).toBe(5000);
  expect(one.counts.open).toBe(1250);
  expect(one.counts.never).toBe(0);
});

test("the stuck board's outbox reads (safety alerts that reached nobody, escalations that failed) walk the template index, not every email ever sent", async () => {
  // A clinic's history: two sent emails per course (60,000 invitations and reminders), and among them a
  // safety alert that failed, one that went to the admins because nobody held the role, one delivered,
  // and an escalation that failed.
  await sql`insert into email_outbox (key, template, course_id, clinic_id, recipient_kind, message_id, status, attempts, sent_at, created_at)
    select 'plan-' || c.id || '-' || t, t, c.id, c.clinic_id, 'client', 'plan-' || c.id || '-' || t || '@x', 'sent', 1, now(), now() - interval '1 hour'
    from (select * from courses order by id limit 30000) c, unnest(array['assessment-invitation', 'assessment-reminder']) t`.execute(db);
  const course = await db.selectFrom('courses').select(['id', 'clinic_id']).where('ended_at', 'is', null).orderBy('id').executeTakeFirstOrThrow();
  const row = (key: string, template: string, status: string, lastError: string | null) =>
    sql`insert into email_outbox (key, template, course_id, clinic_id, recipient_kind, recipient_ref, message_id, status, attempts, last_error, data, created_at)
      values (${key}, ${template}, ${course.id}, ${course.clinic_id}, 'role', 'prescriber', ${`${key}@x`}, ${status}, 1, ${lastError}, ${JSON.stringify({ stepKey: 'screening' })}::jsonb, now() - interval '2 hours')`.execute(db);
  await row('plan-alert-failed', 'safety-alert', 'failed', 'SMTP 550 mailbox unavailable');
  await row('plan-alert-nobody', 'safety-alert', 'sent', `${NOBODY_IN_ROLE} prescriber`);
  await row('plan-alert-sent', 'safety-alert', 'sent', null);
  await row('plan-escalation-failed', 'step-escalation', 'failed', 'SMTP 550 mailbox unavailable');
  await sql`analyze email_outbox`.execute(db);

  const alerts = await undeliveredSafetyAlerts(db, {});
  expect(alerts.map((a) => a.courseId)).toEqual([course.id, course.id]);
  const escalations = await failedEscalations(db, {});
  expect(escalations.map((e) => e.courseId)).toEqual([course.id]);
  // The alerts' conditions include every sent email: only the template narrows them.
  const alertPlan = await planOf(() => undeliveredSafetyAlerts(db, {}), (q) => q.includes('email_outbox'));
  expect(alertPlan.plan).toContain('email_outbox_template_idx');
  expect(alertPlan.plan).not.toContain('Seq Scan on email_outbox');
  expect(alertPlan.ms).toBeLessThan(LIMIT_MS.page);
  // Failed escalations: the template or the status index (failures are few), never a scan of the outbox.
  const escalationPlan = await planOf(() => failedEscalations(db, {}), (q) => q.includes('email_outbox'));
  expect(escalationPlan.plan).toMatch(/email_outbox_(template|status)_idx/);
  expect(escalationPlan.plan).not.toContain('Seq Scan on email_outbox');
  expect(escalationPlan.ms).toBeLessThan(LIMIT_MS.page);
});

// Course starts per second against a no-op workflow's starts per second, same server, same client,
// same concurrency, rounds in ABBA order so drift in the machine's load hits both alike.
//
// A course start is the real enrollment (src/client/courses.ts enrollClient): the course row and its
// audit entry in one statement, then the workflow start. The course worker runs meanwhile, so every
// started course also runs its first workflow task and writes its first projection, competing for the
// same CPU and database, as it would in production. "Projected" is when the last of them had written
// its current step to PostgreSQL (the dashboard can show it).
import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import { sql } from 'kysely';
import { type CourseServiceDeps, enrollClient } from '../../src/client/courses';
import type { Db } from '../../src/db/connect';
import { pool, sleep, waitIdle } from '../stats';

export interface StartsResult {
  noopPerSec: number;
  coursePerSec: number;
  ratio: number;
  /** Courses started per second counted until each had its first projection in PostgreSQL. */
  courseProjectedPerSec: number;
  /** SQL statements per course from its enrollment until the worker was idle again (API and worker). */
  sqlPerCourse: number;
  /** Where an enrollment's time goes, mean ms: the course row's INSERT, then the workflow start RPC. */
  enrollInsertMs: number;
  courseStartRpcMs: number;
  /** The same start RPC for a no-op workflow, mean ms, in the no-op rounds. */
  noopStartRpcMs: number;
  starts: number;
  concurrency: number;
  rounds: Array<{ kind: 'noop' | 'course'; n: number; ms: number; perSec: number }>;
  courseIds: string[];
}

export async function seedClients(db: Db, clinicId: string, n: number, prefix: string): Promise<string[]> {
  await sql`insert into clinics (id, name) values (${clinicId}, 'Bench live clinic') on conflict do nothing`.execute(db);
  await sql`insert into clients (id, clinic_id, given_name, family_name, email)
    select ${prefix} || i, ${clinicId}, 'Live', 'Client' || i, 'live' || i || '@bench.local' from generate_series(1, ${n}) i`.execute(db);
  return Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
}

export async function benchStarts(opts: {
  db: Db;
  temporal: Client;
  courseTaskQueue: string;
  noopTaskQueue: string;
  /** The course worker: each round starts when it has gone idle, so no round inherits the last one's backlog. */
  courseWorker: { getStatus(): { numInFlightWorkflowActivations: number; numInFlightActivities: number } };
  /** Statements sent through `db` so far. */
  statements: () => number;
  startsPerRound: number;
  rounds: number;
  concurrency: number;
  protocolId?: string;
  log: (msg: string) => void;
}): Promise<StartsResult> {
  const { db, temporal, startsPerRound: n, concurrency } = opts;
  const runId = crypto.randomBytes(3).toString('hex');
  const WARM = 20;
  const seeded = await seedClients(db, 'bench-live', n * opts.rounds + WARM, `bench-live-${runId}-`);
  const warmClients = seeded.slice(0, WARM);
  const clientIds = seeded.slice(WARM);
  const rounds: StartsResult['rounds'] = [];
  const courseIds: string[] = [];

  const timing = { insertMs: 0, courseStartMs: 0, courses: 0, noopStartMs: 0, noops: 0 };
  const enroll = (clientId: string, observe?: CourseServiceDeps['observeEnrollment']) =>
    enrollClient({ db, temporal, taskQueue: opts.courseTaskQueue, observeEnrollment: observe }, { type: 'system', id: 'bench' }, { clientId, protocolId: opts.protocolId ?? 'kap-office' });
  const observeEnrollment = (t: { insertMs: number; startMs: number }) => {
    timing.insertMs += t.insertMs;
    timing.courseStartMs += t.startMs;
    timing.courses++;
  };
  const noopRound = async (r: number) => {
    const ids = Array.from({ length: n }, (_, i) => `noop-${runId}-${r}-${i}`);
    const t0 = Date.now();
    await pool(ids, concurrency, async (workflowId) => {
      const s0 = performance.now();
      await temporal.workflow.start('noopWorkflow', { taskQueue: opts.noopTaskQueue, workflowId, args: [] });
      timing.noopStartMs += performance.now() - s0;
      timing.noops++;
    });
    const ms = Date.now() - t0;
    rounds.push({ kind: 'noop', n, ms, perSec: (n * 1000) / ms });
  };
  let projectedMs = 0;
  let projectedN = 0;
  let courseStatements = 0;
  const courseRound = async (r: number) => {
    const mine = clientIds.slice(r * n, (r + 1) * n);
    const ids: string[] = [];
    const s0 = opts.statements();
    const t0 = Date.now();
    await pool(mine, concurrency, async (clientId) => {
      const { course } = await enroll(clientId, observeEnrollment);
      ids.push(course.id);
    });
    const ms = Date.now() - t0;
    rounds.push({ kind: 'course', n, ms, perSec: (n * 1000) / ms });
    courseIds.push(...ids);
    // Until every course of the round shows its current step in PostgreSQL.
    let polls = 0;
    for (;;) {
      polls++;
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from courses where id = any(${ids}) and current_step is not null`.execute(db);
      if (rows[0]!.n >= ids.length) break;
      if (Date.now() - t0 > 120_000) throw new Error(`only ${rows[0]!.n} of ${ids.length} courses projected after 120 s`);
      await sleep(20);
    }
    projectedMs += Date.now() - t0;
    projectedN += ids.length;
    await waitIdle(opts.courseWorker); // the rest of their first work (mail, assessment children)
    courseStatements += opts.statements() - s0 - polls; // not the benchmark's own polls
  };

  // Warm-up of both kinds, not counted: connections, workflow caches, the first runs of each code path
  // (the first course round used to run a third slower than the second).
  await pool(Array.from({ length: WARM }, (_, i) => `noop-${runId}-warm-${i}`), 5, async (workflowId) => {
    await temporal.workflow.start('noopWorkflow', { taskQueue: opts.noopTaskQueue, workflowId, args: [] });
  });
  await pool(warmClients, 5, async (clientId) => {
    await enroll(clientId);
  });
  // Rounds in ABBA order (no-op, course, course, no-op, ...): the server slows as the run goes on (its
  // in-memory store fills with every workflow started), and a plain alternation would always measure
  // courses one step later than no-ops; in ABBA order a steady drift weighs on both kinds alike.
  for (let r = 0; r < opts.rounds; r++) {
    const order: Array<'noop' | 'course'> = r % 2 === 0 ? ['noop', 'course'] : ['course', 'noop'];
    for (const kind of order) {
      await waitIdle(opts.courseWorker);
      if (kind === 'noop') {
        await noopRound(r);
        opts.log(`  no-op round ${r + 1}: ${rounds.at(-1)!.perSec.toFixed(1)}/s`);
      } else {
        await courseRound(r);
        opts.log(`  course round ${r + 1}: ${rounds.at(-1)!.perSec.toFixed(1)}/s (all projected after ${(projectedMs / (r + 1) / 1000).toFixed(1)} s per round)`);
      }
      await sleep(500);
    }
  }
  const rate = (kind: 'noop' | 'course') => {
    const rs = rounds.filter((x) => x.kind === kind);
    return (rs.reduce((a, x) => a + x.n, 0) * 1000) / rs.reduce((a, x) => a + x.ms, 0);
  };
  const noopPerSec = rate('noop');
  const coursePerSec = rate('course');
  return {
    noopPerSec,
    coursePerSec,
    ratio: coursePerSec / noopPerSec,
    courseProjectedPerSec: (projectedN * 1000) / projectedMs,
    sqlPerCourse: courseStatements / projectedN,
    enrollInsertMs: timing.insertMs / timing.courses,
    courseStartRpcMs: timing.courseStartMs / timing.courses,
    noopStartRpcMs: timing.noopStartMs / timing.noops,
    starts: n * opts.rounds,
    concurrency,
    rounds,
    courseIds,
  };
}

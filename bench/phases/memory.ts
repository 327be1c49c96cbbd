// Worker memory per 1,000 open courses: the process's RSS and V8 heap after a full GC, before and after
// each batch of courses is started and has run its first workflow task (so each sits in the worker's
// workflow cache, waiting on its first step); batches follow one another in the same process and the
// figure is the larger batch's (the first carries what the worker grows once). The process also holds
// the API and the client, which do not grow with open courses; the delta is the worker's.
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { sql } from 'kysely';
import { enrollClient } from '../../src/client/courses';
import type { Db } from '../../src/db/connect';
import { pool, round, sleep } from '../stats';
import { seedClients } from './starts';
import { courseWorkflowId } from '../../src/workflows/workflow-ids';

export interface MemoryBatch {
  courses: number;
  rssMbPer1000: number;
  heapMbPer1000: number;
  rssMbPerCourse: number;
  cachedBefore: number;
  cachedAfter: number;
  rssMbBefore: number;
  rssMbAfter: number;
  /** How long RSS took to stop moving before the batch's first reading (0: the previous batch's last), and before its second. */
  settleMs: number;
  settleAfterMs: number;
  /** Whether each reading found RSS still (false: taken at the limit, still moving). */
  settled: [boolean, boolean];
}

export interface MemoryResult {
  courses: number;
  /** The larger of the batches' figures (the first carries what the worker grows once, the second is the margin). */
  rssMbPer1000: number;
  heapMbPer1000: number;
  rssMbPerCourse: number;
  batches: MemoryBatch[];
}

/**
 * After full GCs, RSS once it has stopped moving: four samples 1 s apart within 2 MB of each other
 * (at most 180 s). A process that has just stopped a dev server's client, a database thread or a worker
 * (the phases before, each on state of its own) returns memory to the system for seconds after; before
 * 2026-12-03 that drop came out as a negative figure per course, and on 2026-12-04 a quick run's 200
 * courses (about 80 MB) were still outweighed by a slow return that passed "two samples within 1 %".
 * The window was then 0.5 % of RSS, 15 MB after the grown phase (3 GB): the full run of 2026-12-04
 * 22:59 saw RSS fall by 86 MB while 1,000 courses were opened. 2 MB is 1 % of what 1,000 courses add.
 */
async function settle(opts: { windowBytes?: number; maxMs?: number } = {}): Promise<{ rss: number; heap: number; settleMs: number; settled: boolean }> {
  const windowBytes = opts.windowBytes ?? 2 * 2 ** 20;
  const maxMs = opts.maxMs ?? 180_000;
  const gc = (globalThis as { gc?: () => void }).gc;
  const t0 = Date.now();
  const window: number[] = [];
  let settled = false;
  for (;;) {
    for (let i = 0; i < 3; i++) {
      gc?.();
      await sleep(300);
    }
    window.push(process.memoryUsage().rss);
    if (window.length > 4) window.shift();
    if (window.length === 4 && Math.max(...window) - Math.min(...window) <= windowBytes) {
      settled = true;
      break;
    }
    if (Date.now() - t0 > maxMs) break;
    await sleep(1000);
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.external, settleMs: Date.now() - t0, settled };
}

/**
 * `batches` batches of `courses` courses, one after the other, each measured from the reading the last one
 * ended on. The first carries what a worker grows once (its workflow threads' heaps, compiled code), the
 * later ones the margin per course; the figure is the larger (a target on it is not met by leaving the
 * one-time growth out).
 */
export async function benchMemory(opts: { db: Db; temporal: Client; worker: Worker; taskQueue: string; courses: number; batches?: number; log: (m: string) => void }): Promise<MemoryResult> {
  if (!(globalThis as { gc?: unknown }).gc) opts.log('  (no --expose-gc: memory figures include garbage; run through npm run bench)');
  const n = opts.batches ?? 2;
  const clientIds = await seedClients(opts.db, 'bench-live', opts.courses * n, `bench-mem-${Date.now().toString(36)}-`);
  await sleep(2000); // let earlier work drain
  let before = await settle();
  const batches: MemoryBatch[] = [];
  for (let b = 0; b < n; b++) {
    const cachedBefore = opts.worker.getStatus().numCachedWorkflows;
    const ids = await openCourses(opts, clientIds.slice(b * opts.courses, (b + 1) * opts.courses));
    await sleep(2000);
    const after = await settle();
    const cachedAfter = opts.worker.getStatus().numCachedWorkflows;
    // Courses were added: RSS that fell is memory the process was still returning, not a figure per course.
    if (after.rss <= before.rss) throw new Error(`batch ${b + 1}: RSS fell from ${Math.round(before.rss / 2 ** 20)} to ${Math.round(after.rss / 2 ** 20)} MB while ${ids.length} courses were opened (settled before: ${before.settled}, after ${before.settleMs} ms): not a measurement (memory still being returned)`);
    const mb = (x: number) => x / 2 ** 20;
    const per1000 = (d: number) => round((mb(d) / opts.courses) * 1000, 1);
    batches.push({
      courses: opts.courses,
      rssMbPer1000: per1000(after.rss - before.rss),
      heapMbPer1000: per1000(after.heap - before.heap),
      rssMbPerCourse: round(mb(after.rss - before.rss) / opts.courses, 3),
      cachedBefore,
      cachedAfter,
      rssMbBefore: round(mb(before.rss)),
      rssMbAfter: round(mb(after.rss)),
      settleMs: b === 0 ? before.settleMs : 0,
      settleAfterMs: after.settleMs,
      settled: [before.settled, after.settled],
    });
    opts.log(`  memory batch ${b + 1}: ${JSON.stringify(batches[b])}`);
    before = after;
  }
  const worst = batches.reduce((a, x) => (x.rssMbPerCourse > a.rssMbPerCourse ? x : a));
  return { courses: opts.courses * n, rssMbPer1000: worst.rssMbPer1000, heapMbPer1000: worst.heapMbPer1000, rssMbPerCourse: worst.rssMbPerCourse, batches };
}

/** Enrolls one course per client (20 at once) and waits until every one has its first step projected. */
async function openCourses(opts: { db: Db; temporal: Client; taskQueue: string }, clientIds: string[]): Promise<string[]> {
  const ids: string[] = [];
  await pool(clientIds, 20, async (clientId) => {
    const { course } = await enrollClient({ db: opts.db, temporal: opts.temporal, taskQueue: opts.taskQueue }, { type: 'system', id: 'bench' }, { clientId, protocolId: 'kap-office' });
    ids.push(course.id);
  });
  const t0 = Date.now();
  for (;;) {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from courses where id = any(${ids}) and current_step is not null`.execute(opts.db);
    if (rows[0]!.n >= ids.length) break;
    if (Date.now() - t0 > Number(process.env.BENCH_PROJECT_TIMEOUT_MS ?? 180_000)) {
      const desc = await opts.temporal.workflow.getHandle(courseWorkflowId(ids[0])).describe();
      const why = desc.status.name === 'FAILED' ? await opts.temporal.workflow.getHandle(courseWorkflowId(ids[0])).result().catch((e: Error & { cause?: Error }) => e.cause?.message ?? e.message) : desc.status.name;
      throw new Error(`only ${rows[0]!.n} of ${ids.length} courses projected (first: ${String(why)})`);
    }
    await sleep(100);
  }
  return ids;
}

// Staff actions as a staff member sees them: POST /api/courses/:id/<action> over real HTTP (auth, the
// clinic check, the course workflow's Update, which answers once its projection is in PostgreSQL),
// and the time until the dashboard's data shows it: GET /api/courses/:id (the course row the
// dashboard and the stuck board read) returning the new status, counted from the moment the action
// was sent. The actions are pause and resume, alternated on open courses: always valid, each a real
// transition that writes the course row and its timeline.
//
// The timed actions follow as many untimed ones on other courses, the same path at the same
// concurrency: the phase runs in a process of its own that has served no HTTP request before it, and
// its first actions carry the process's first route, query and RPC compilations (the first of each
// lane 360-400 ms on 2026-12-07, the first few hundred 1.5-2 times the p95 of the later ones). A
// clinic's API serves for days: the timed window measures that steady state. The warm-up's own
// figures are printed beside it (`warmup`), so what the first actions after a start cost stays visible.
import type { Client } from '@temporalio/client';
import { courseUpdates } from '../../src/workflows/messages';
import { getJson } from '../context';
import { msSince, pool, summarize, type Summary } from '../stats';
import { courseWorkflowId } from '../../src/workflows/workflow-ids';
import { cpuByThreadName, threadCpuSeconds } from '../cpu';

export interface ActionsResult {
  roundTrip: Summary;
  /** The untimed actions before them (`warmupCourseIds`): the process's first HTTP actions. */
  warmup: Summary;
  /** The same Updates sent straight from a Temporal client (no HTTP, auth or course lookup). */
  updateOnly: Summary;
  visible: Summary;
  /**
   * Updates one at a time on one cached course, straight from a Temporal client: what one action costs
   * with nothing else running (wall time, and this process's CPU: client, worker, workflow thread,
   * in-process database). At `concurrency` the round trips above queue behind each other's CPU.
   */
  oneAtATime: { n: number; wallMs: number; processCpuMs: number; /** CPU-ms per Update by thread name (threads of one name summed), the busiest first. */ threadsCpuMs: Record<string, number>; /** The Temporal server's CPU-ms per Update, when its pid is known. */ serverCpuMs?: number };
  /** Visible on the first read after the reply (the Update waits for its projection). */
  visibleOnFirstRead: number;
  concurrency: number;
}

async function post(baseUrl: string, path: string, token: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(baseUrl + path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export async function benchActions(opts: { serverCpuSeconds?: () => number; baseUrl: string; token: string; temporal: Client; courseIds: string[]; warmupCourseIds: string[]; updateOnlyCourseIds: string[]; actionsPerCourse: number; concurrency: number; oneAtATime?: number }): Promise<ActionsResult> {
  const warmup: number[] = [];
  const roundTrip: number[] = [];
  const visible: number[] = [];
  let firstRead = 0;
  let timed = false;
  const act = async (courseId: string, action: 'pause' | 'resume') => {
    const want = action === 'pause' ? 'paused' : 'active';
    const t0 = process.hrtime.bigint();
    const res = await post(opts.baseUrl, `/api/courses/${courseId}/${action}`, opts.token, action === 'pause' ? { reason: 'benchmark' } : {});
    (timed ? roundTrip : warmup).push(msSince(t0));
    if (res.status !== 200) throw new Error(`${action} ${courseId}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    for (let i = 0; ; i++) {
      const view = await getJson(opts.baseUrl, `/api/courses/${courseId}`, opts.token);
      if (view.body?.status === want) {
        if (!timed) return;
        visible.push(msSince(t0));
        if (i === 0) firstRead++;
        return;
      }
      if (msSince(t0) > 30_000) throw new Error(`${action} on ${courseId} not visible after 30 s (status ${view.body?.status})`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const actOn = async (courseId: string) => {
    for (let i = 0; i < opts.actionsPerCourse; i++) await act(courseId, i % 2 === 0 ? 'pause' : 'resume');
    if (opts.actionsPerCourse % 2 === 1) await act(courseId, 'resume');
  };
  await pool(opts.warmupCourseIds, opts.concurrency, actOn);
  timed = true;
  await pool(opts.courseIds, opts.concurrency, actOn);
  const updateOnly: number[] = [];
  await pool(opts.updateOnlyCourseIds, opts.concurrency, async (courseId) => {
    const handle = opts.temporal.workflow.getHandle(courseWorkflowId(courseId));
    for (let i = 0; i < opts.actionsPerCourse + (opts.actionsPerCourse % 2); i++) {
      const t0 = process.hrtime.bigint();
      if (i % 2 === 0) await handle.executeUpdate(courseUpdates.pause, { args: [{ reason: 'benchmark' }] });
      else await handle.executeUpdate(courseUpdates.resume, { args: [{}] });
      updateOnly.push(msSince(t0));
    }
  });
  const one = opts.updateOnlyCourseIds[0];
  const oneAtATime: ActionsResult['oneAtATime'] = { n: 0, wallMs: 0, processCpuMs: 0, threadsCpuMs: {} };
  if (one) {
    const handle = opts.temporal.workflow.getHandle(courseWorkflowId(one));
    const n = opts.oneAtATime ?? 200;
    const cpu0 = process.cpuUsage();
    const threads0 = threadCpuSeconds();
    const server0 = opts.serverCpuSeconds?.();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      if (i % 2 === 0) await handle.executeUpdate(courseUpdates.pause, { args: [{ reason: 'benchmark' }] });
      else await handle.executeUpdate(courseUpdates.resume, { args: [{}] });
    }
    const cpu = process.cpuUsage(cpu0);
    const threads1 = threadCpuSeconds();
    const server1 = opts.serverCpuSeconds?.();
    oneAtATime.threadsCpuMs = Object.fromEntries(cpuByThreadName(threads0, threads1).map(([name, s]) => [name, Math.round((s * 1000 / n) * 100) / 100]));
    if (server0 !== undefined && server1 !== undefined) oneAtATime.serverCpuMs = Math.round(((server1 - server0) * 1000 / n) * 100) / 100;
    Object.assign(oneAtATime, { n, wallMs: Math.round((msSince(t0) / n) * 100) / 100, processCpuMs: Math.round(((cpu.user + cpu.system) / 1000 / n) * 100) / 100 });
    if (n % 2 === 1) await handle.executeUpdate(courseUpdates.resume, { args: [{}] });
  }
  return { roundTrip: summarize(roundTrip), warmup: summarize(warmup), updateOnly: summarize(updateOnly), oneAtATime, visible: summarize(visible), visibleOnFirstRead: firstRead / visible.length, concurrency: opts.concurrency };
}

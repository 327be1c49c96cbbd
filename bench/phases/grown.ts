// Data grown through the engine (issue 19): N courses enrolled with the engine's own `enrollClient` on
// the course worker `npm start` runs (its default workflow cache), closed loop at the machine's pace;
// then, with those N courses open in Temporal,
//   (1) the coordinator's stuck board as a coordinator opens it, the HTML page `GET /` with a
//       dashboard session cookie, and `GET /api/stuck` with a bearer token, alternating, sequential,
//       while enrollments continue open loop at a modest rate;
//   (2) recovery after a worker restart: the course worker is stopped, 50 enrollments and 20 staff
//       Updates (pause over HTTP) arrive while it is down, a new worker starts; until every one of the
//       50 has its first step (the backlog drained) and until each Update has completed, counted from
//       the new worker's start.
// The courses are real workflows in Temporal (not SQL-seeded). Their deadlines are days away, so a
// share of their open steps (1 in 20) have their deadline moved into the past in the projection only
// (the workflows' timers are untouched), so the board has items to show.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import { sql } from 'kysely';
import { createSession, SESSION_COOKIE } from '../../src/auth/sessions';
import { enrollClient } from '../../src/client/courses';
import type { Config } from '../../src/config';
import type { Db } from '../../src/db/connect';
import { startBenchWorker, tokenFor } from '../context';
import { busiestThreads, machineCpuSeconds, selfCpuSeconds, threadCpuSeconds, waitQuiet } from '../cpu';
import { parseExposition } from '../../src/metrics/exposition';
import { fetchSdkMetrics } from '../../src/metrics/sdk';
import { counterDeltas, counterSums, percentile, round, sleep, summarize, waitIdle } from '../stats';
import { seedClients } from './starts';

export interface GrownOptions {
  config: Config;
  /** The API's lane: enrollment, seeding and the polls. */
  db: Db;
  /** The worker's lane. */
  workerDb: Db;
  temporal: Client;
  baseUrl: string;
  courses: number;
  /** Enrollments in flight while growing (each holds its slot until its course's first step is committed). */
  concurrency?: number;
  /** Open-loop enrollments per second while the stuck board is timed, and for how long. */
  loadRate: number;
  loadSeconds: number;
  /** The Temporal server's CPU-seconds so far (its process tree), for the quiet wait and the window's figures. */
  serverCpuSeconds?: () => number;
  log: (msg: string) => void;
}

const mb = (bytes: number) => round(bytes / 2 ** 20, 1);
const pct = (xs: number[], p: number) => (xs.length ? round(percentile(xs, p), 0) : null);

export async function benchGrown(opts: GrownOptions) {
  const { db, workerDb, temporal, baseUrl, log } = opts;
  const runId = crypto.randomBytes(3).toString('hex');
  const clinicId = `bench-grown-${runId}`;
  const taskQueue = `kap-bench-grown-${runId}`;
  const config: Config = { ...opts.config, TEMPORAL_TASK_QUEUE: taskQueue };
  const concurrency = opts.concurrency ?? 16;
  const loadN = Math.round(opts.loadRate * opts.loadSeconds);
  const RESTART_ENROLLMENTS = 50;
  const RESTART_UPDATES = 20;
  const clientIds = await seedClients(db, clinicId, opts.courses + loadN + RESTART_ENROLLMENTS, `bench-grown-${runId}-`);
  let nextClient = 0;
  const enroll = async () => (await enrollClient({ db, temporal, taskQueue, eagerStart: config.TEMPORAL_EAGER_START }, { type: 'system', id: 'bench' }, { clientId: clientIds[nextClient++]!, protocolId: 'kap-office' })).course.id;

  // One poller for every course waiting for its first step (a course_steps row).
  const waiting = new Map<string, Array<() => void>>();
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const ids = [...waiting.keys()];
      if (ids.length) {
        const { rows } = await sql<{ id: string }>`select distinct course_id as id from course_steps where course_id = any(${ids})`.execute(db).catch(() => ({ rows: [] as Array<{ id: string }> }));
        for (const r of rows) {
          for (const done of waiting.get(r.id) ?? []) done();
          waiting.delete(r.id);
        }
      }
      await sleep(100);
    }
  })();
  /** Resolves when the course has its first step; rejects after `limitMs` (a stalled worker must not hang the run). */
  const firstStep = (courseId: string, limitMs = 300_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`course ${courseId} had no first step after ${limitMs / 1000} s`)), limitMs);
      waiting.set(courseId, [...(waiting.get(courseId) ?? []), () => (clearTimeout(timer), resolve())]);
    });
  const withoutFirstStep = async (ids: string[]) => Number((await sql<{ n: number }>`select count(*)::int as n from unnest(${ids}::text[]) as c(id) where not exists (select 1 from course_steps s where s.course_id = c.id)`.execute(db)).rows[0]!.n);

  let worker = await startBenchWorker(config, workerDb);
  const cacheWorkflows = (worker.worker.options as { maxCachedWorkflows?: number }).maxCachedWorkflows;
  try {
    // ---- 1. Grow: closed loop, `concurrency` enrollments in flight, each until its first step is committed.
    log(`grown: enrolling ${opts.courses} courses through the engine, ${concurrency} in flight (closed loop), worker cache ${cacheWorkflows} workflows ...`);
    const grown: string[] = [];
    let growErrors = 0;
    const g0 = Date.now();
    let nextLog = 500;
    let issued = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (issued < opts.courses) {
          issued++;
          try {
            const id = await enroll();
            await firstStep(id);
            grown.push(id);
          } catch {
            growErrors++;
          }
          if (grown.length >= nextLog) {
            nextLog += 500;
            const s = (Date.now() - g0) / 1000;
            log(`  grown ${grown.length}/${opts.courses} in ${round(s, 0)} s (${round(grown.length / s, 1)}/s), RSS ${mb(process.memoryUsage().rss)} MB, load ${round(os.loadavg()[0]!, 2)}`);
          }
        }
      }),
    );
    const growMs = Date.now() - g0;
    if (growErrors) log(`  ${growErrors} enrollments failed while growing`);
    if ((await withoutFirstStep(grown)) > 0) throw new Error('a grown course has no first step');
    log(`grown: ${grown.length} courses in ${round(growMs / 1000, 1)} s (${round((grown.length * 1000) / growMs, 2)}/s)`);

    // Deadlines are days away: move 1 in 20 of the grown courses' open steps past theirs (projection only).
    const aged = await sql`update course_steps set deadline_at = now() - interval '1 hour' * (1 + (abs(hashtext(course_id)) % 48))
      where state = 'open' and deadline_at is not null and course_id in (select id from courses where clinic_id = ${clinicId} and abs(hashtext(id)) % 20 = 0)`.execute(db);

    // ---- 2. The stuck board under load, as a coordinator of the clinic opens it.
    const staffId = `bench-grown-coordinator-${runId}`;
    await db.insertInto('staff').values({ id: staffId, email: `coordinator-${runId}@bench.local`, display_name: 'Bench coordinator', role: 'coordinator', password_hash: null }).execute();
    await db.insertInto('staff_clinics').values({ staff_id: staffId, clinic_id: clinicId }).execute();
    const { sessionId } = await createSession(db, staffId);
    const bearer = await tokenFor(db, 'coordinator', clinicId);
    const getPage = async () => {
      const res = await fetch(`${baseUrl}/`, { headers: { cookie: `${SESSION_COOKIE}=${sessionId}` }, redirect: 'manual' });
      const text = await res.text();
      const m = /(\d+) stuck:/.exec(text);
      return { status: res.status, items: m ? Number(m[1]) : 0, text };
    };
    const getJson = async () => {
      const res = await fetch(`${baseUrl}/api/stuck`, { headers: { authorization: `Bearer ${bearer}` } });
      const text = await res.text();
      return { status: res.status, items: res.status === 200 ? Number((JSON.parse(text) as { count: number }).count) : 0, text };
    };
    for (let i = 0; i < 3; i++) {
      await getPage();
      await getJson();
    }
    // The target's condition is the stuck board under enrollments at half the knee, not under the tail of
    // the growth (the worker's deferred invitations, the server's timer and visibility tasks). As the
    // ladder's staff step does: the worker idle, then a quiet machine (at most 60 s). A guard, recorded
    // with the figure: on 2026-12-04 the machine was quiet 3 s after the growth, and the wait did not
    // move the page's p95 (docs/performance.md, "What a staff action costs").
    const serverCpu = opts.serverCpuSeconds ?? (() => 0);
    const idleMs = await waitIdle(worker.worker);
    const settle = { workerIdleMs: idleMs, ...(await waitQuiet(() => selfCpuSeconds() + serverCpu(), { limitMs: 60_000 })) };
    log(`grown: stuck board under load (${opts.loadRate} enrollments/s open loop for ${opts.loadSeconds} s; ${aged.numAffectedRows ?? 0} step deadlines moved into the past; after ${settle.workerIdleMs} ms for an idle worker and ${settle.ms} ms for a quiet machine, ${settle.coresBusy} cores busy) ...`);
    const loadBefore = os.loadavg()[0]!;
    // How long this process's event loop (the API's and the worker's activities') kept callbacks waiting during the window.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    // Diagnosis: BENCH_GROWN_CPU_PROFILE=<file> writes the main thread's CPU profile of the window (.cpuprofile).
    const profileTo = process.env.BENCH_GROWN_CPU_PROFILE;
    const profiler = profileTo ? new Session() : undefined;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    // The worker's own counters for the window (workflow tasks, sticky-cache hits and misses, replays):
    // the SDK runtime's Prometheus text when this process serves it (bench/run.ts binds it), else none.
    const sdkCounters = async () => {
      const text = await fetchSdkMetrics();
      return text === null ? null : counterSums(parseExposition(text).samples);
    };
    const sdkA = await sdkCounters();
    const threadsA = threadCpuSeconds();
    const cpuA = { self: selfCpuSeconds(), server: serverCpu(), machine: machineCpuSeconds(), t: performance.now() };
    const loadCourses: string[] = [];
    let loadErrors = 0;
    const start = Date.now() + 20;
    const windowEnd = start + opts.loadSeconds * 1000;
    const driver = (async () => {
      const inflight: Array<Promise<void>> = [];
      for (let i = 0; i < loadN; i++) {
        const wait = start + (i * 1000) / opts.loadRate - Date.now();
        if (wait > 0) await sleep(wait);
        inflight.push(enroll().then((id) => void loadCourses.push(id), () => void loadErrors++));
      }
      await Promise.all(inflight);
    })();
    const pageMs: number[] = [];
    const jsonMs: number[] = [];
    let pageItems = 0;
    let jsonItems = 0;
    while (Date.now() < windowEnd) {
      let t0 = performance.now();
      const p = await getPage();
      pageMs.push(performance.now() - t0);
      if (p.status !== 200) throw new Error(`GET / as the coordinator: ${p.status} ${p.text.slice(0, 200)}`);
      pageItems = p.items;
      t0 = performance.now();
      const j = await getJson();
      jsonMs.push(performance.now() - t0);
      if (j.status !== 200) throw new Error(`GET /api/stuck as the coordinator: ${j.status} ${j.text.slice(0, 200)}`);
      jsonItems = j.items;
    }
    await driver;
    loopDelay.disable();
    const eventLoopDelayMs = { p50: round(loopDelay.percentile(50) / 1e6, 1), p95: round(loopDelay.percentile(95) / 1e6, 1), p99: round(loopDelay.percentile(99) / 1e6, 1), max: round(loopDelay.max / 1e6, 1) };
    const windowS = (performance.now() - cpuA.t) / 1000;
    const sdkB = await sdkCounters();
    const machineB = machineCpuSeconds();
    const threads = busiestThreads(threadsA, threadCpuSeconds(), windowS);
    // Cores busy during the window: this process, the Temporal server, the whole machine and steal (bench/cpu.ts).
    const busy = {
      seconds: round(windowS, 1),
      engineProcessCores: round((selfCpuSeconds() - cpuA.self) / windowS, 2),
      temporalServerCores: opts.serverCpuSeconds ? round((serverCpu() - cpuA.server) / windowS, 2) : null,
      machineCores: cpuA.machine && machineB ? round((machineB.busy - cpuA.machine.busy) / windowS, 2) : null,
      stealCores: cpuA.machine && machineB ? round((machineB.steal - cpuA.machine.steal) / windowS, 3) : null,
      eventLoopDelayMs,
      threads,
    };
    // Stopped after the window's figures are read: writing the profile is not the window's work.
    if (profiler && profileTo) {
      const { profile } = await profiler.post('Profiler.stop');
      fs.writeFileSync(profileTo, JSON.stringify(profile));
      profiler.disconnect();
      log(`grown: the window's CPU profile (main thread) in ${profileTo}`);
    }
    const loadAfter = os.loadavg()[0]!;
    const behind = await withoutFirstStep(loadCourses);
    const stuckPage = { ...summarize(pageMs), items: pageItems };
    const stuckJson = { ...summarize(jsonMs), items: jsonItems };
    log(`grown: stuck page p50/p95/max ${stuckPage.p50}/${stuckPage.p95}/${stuckPage.max} ms (${stuckPage.n} requests, ${pageItems} items); /api/stuck ${stuckJson.p50}/${stuckJson.p95}/${stuckJson.max} ms (${jsonItems} items); load ${round(loadBefore, 2)}→${round(loadAfter, 2)}; cores busy: process ${busy.engineProcessCores}, Temporal server ${busy.temporalServerCores ?? '?'}, the whole machine ${busy.machineCores ?? '?'} (steal ${busy.stealCores ?? '?'}); event loop delay p50/p99/max ${eventLoopDelayMs.p50}/${eventLoopDelayMs.p99}/${eventLoopDelayMs.max} ms; busiest threads ${threads.map((t) => `${t.thread} ${t.cores}`).join(', ')}; ${loadCourses.length} enrolled meanwhile, ${behind} without a first step at the window's end`);

    // ---- 3. Recovery after a worker restart with every course open.
    await sleep(2000);
    const openCourses = Number((await sql<{ n: number }>`select count(*)::int as n from courses where ended_at is null`.execute(db)).rows[0]!.n);
    const rssBeforeMb = mb(process.memoryUsage().rss);
    log(`grown: stopping the course worker (${openCourses} open courses, RSS ${rssBeforeMb} MB) ...`);
    await worker.stop();
    const queued: string[] = [];
    for (let i = 0; i < RESTART_ENROLLMENTS; i++) queued.push(await enroll());
    const admin = await tokenFor(db, 'admin');
    const targets = [...grown].sort(() => Math.random() - 0.5).slice(0, RESTART_UPDATES);
    const updateDoneAt: number[] = [];
    const updateErrors: string[] = [];
    const post = async (courseId: string, action: 'pause' | 'resume') => {
      const res = await fetch(`${baseUrl}/api/courses/${courseId}/${action}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify(action === 'pause' ? { reason: 'benchmark' } : {}),
        signal: AbortSignal.timeout(120_000),
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${action} ${res.status} ${text.slice(0, 200)}`);
    };
    const updates = targets.map((id) => post(id, 'pause').then(() => void updateDoneAt.push(Date.now()), (err: unknown) => void updateErrors.push(err instanceof Error ? err.message : String(err))));
    await sleep(1000);
    const earlyUpdates = updateDoneAt.length;
    log(`grown: worker down; ${RESTART_ENROLLMENTS} enrollments and ${RESTART_UPDATES} pause Updates waiting (${earlyUpdates} completed without a worker); starting a new worker ...`);
    const w0 = Date.now();
    worker = await startBenchWorker(config, workerDb);
    const workerStartMs = Date.now() - w0;
    await Promise.all(queued.map((id) => firstStep(id)));
    const drainMs = Date.now() - w0;
    await Promise.all(updates);
    const updateMs = updateDoneAt.map((t) => t - w0);
    const rssAfterMb = mb(process.memoryUsage().rss);
    const recovery = {
      openCourses,
      enrolledWhileDown: RESTART_ENROLLMENTS,
      workerStartMs,
      drainMs,
      updates: RESTART_UPDATES,
      firstUpdateMs: updateMs.length ? Math.min(...updateMs) : null,
      updateP50Ms: pct(updateMs, 50),
      updateP95Ms: pct(updateMs, 95),
      updateMaxMs: updateMs.length ? Math.max(...updateMs) : null,
      errors: updateErrors.length,
      ...(updateErrors.length ? { firstError: updateErrors[0] } : {}),
      rssBeforeMb,
      rssAfterMb,
    };
    log(`grown: recovery ${JSON.stringify(recovery)}`);
    // Put the paused courses back (not measured).
    await Promise.all(targets.map((id) => post(id, 'resume').catch(() => undefined)));

    return {
      courses: grown.length,
      growErrors,
      growSeconds: round(growMs / 1000, 1),
      growPerS: round((grown.length * 1000) / growMs, 2),
      concurrency,
      cacheWorkflows,
      agedSteps: Number(aged.numAffectedRows ?? 0),
      load: { offeredPerS: opts.loadRate, seconds: opts.loadSeconds, enrolled: loadCourses.length, errors: loadErrors, withoutFirstStepAtEnd: behind, loadAvg1m: [round(loadBefore, 2), round(loadAfter, 2)], settle, busy, sdkCounters: sdkA && sdkB ? counterDeltas(sdkA, sdkB) : null },
      stuckPage: { p50Ms: stuckPage.p50, p95Ms: stuckPage.p95, maxMs: stuckPage.max, n: stuckPage.n, items: stuckPage.items },
      stuckJson: { p50Ms: stuckJson.p50, p95Ms: stuckJson.p95, maxMs: stuckJson.max, n: stuckJson.n, items: stuckJson.items },
      recovery,
      loadAvg1m: round(os.loadavg()[0]!, 2),
    };
  } finally {
    polling = false;
    await poller;
    await worker.stop();
  }
}

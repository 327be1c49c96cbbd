// The kill-a-worker test (.ci/run): a simulated clinic on the production topology (the real Temporal
// server on PostgreSQL, two `npm run worker` processes, `npm run api`, mail over SMTP to a counting
// sink), one worker SIGKILLed mid-run and not restarted. Passes when every course ends as its profile
// expects and every check of the chaos harness holds (projection, every email delivered exactly once,
// audit, every history replays: chaos/checks.ts), and the histories show both workers ran workflow
// tasks before the kill and the survivor took over the killed worker's courses after it.
// Fails (exit 1), never skips, when the server cannot be found or built. Prints one JSON line.
//
//   npx tsx scripts/cluster/kill-a-worker.ts [--courses N] [--time-scale T] [--keep]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import { countFailures, runChecks, type CourseUnderTest } from '../../chaos/checks';
import { ENDED } from '../../chaos/course-state';
import { CourseDriver, PROFILES } from '../../chaos/driver';
import { killAllChildren } from '../../chaos/procs';
import { seed } from '../../chaos/seed';
import { enrollClient } from '../../src/client/courses';
import { connectTemporal } from '../../src/client/temporal';
import { PROJECT_ROOT } from '../../src/config';
import { EncryptionCodec, parsePayloadKeys } from '../../src/security/payload-codec';
import { Cluster, removeDir } from './stack';

function num(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const n = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`kill-a-worker: --${name} must be a positive number\n`);
    process.exit(2);
  }
  return n;
}
const opts = {
  courses: Math.floor(num('courses', 10)),
  timeScale: num('time-scale', 864_000),
  /** Seconds for every course to end after the drivers start. */
  deadline: num('deadline', 300),
  keep: process.argv.includes('--keep'),
};
const t0 = Date.now();
const loadAtStart = os.loadavg()[0]!;
const say = (m: string) => process.stderr.write(`[kill-a-worker ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Workflow tasks completed per worker identity (`pid@host`), before `killAt` and from 2 s after it, and the workflows each touched. */
async function tasksByWorker(client: Client, killAt: number): Promise<{ workers: Map<string, { before: number; after: number; courses: Set<string> }>; timedOut: number }> {
  const out = new Map<string, { before: number; after: number; courses: Set<string> }>();
  let timedOut = 0;
  for await (const wf of client.workflow.list({ query: '' })) {
    const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    for (const e of history.events ?? []) {
      if (e.workflowTaskTimedOutEventAttributes) timedOut++;
      const identity = e.workflowTaskCompletedEventAttributes?.identity;
      if (!identity) continue;
      const at = Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
      const w = out.get(identity) ?? { before: 0, after: 0, courses: new Set<string>() };
      // A completion already on the wire when the SIGKILL landed may be recorded a moment after it:
      // the first 2 s after the kill count as neither.
      if (at < killAt) w.before++;
      else if (at > killAt + 2000) w.after++;
      w.courses.add(wf.workflowId);
      out.set(identity, w);
    }
  }
  return { workers: out, timedOut };
}

async function main(): Promise<number> {
  Runtime.install({
    logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as never,
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
  });
  const cluster = new Cluster({ workers: 2, api: true, log: say });
  let client: Client | undefined;
  let passed = false;
  try {
    await cluster.start();
    const [w1, w2] = cluster.workers as [NonNullable<(typeof cluster.workers)[0]>, NonNullable<(typeof cluster.workers)[0]>];
    say(`up: Temporal ${cluster.temporalAddress}, workers pid ${w1.process.pid} and ${w2.process.pid}, API ${cluster.apiUrl}`);
    const health = await fetch(`${cluster.apiUrl}/health`);
    if (health.status !== 200) throw new Error(`the API's /health answered ${health.status}: ${await health.text()}`);

    const db = cluster.db!;
    const codec = new EncryptionCodec(parsePayloadKeys(cluster.payloadKeys));
    client = await connectTemporal({ address: cluster.temporalAddress, namespace: 'default', payloadCodec: codec });
    const { clientIds } = await seed(db, opts.courses);
    const courses: CourseUnderTest[] = [];
    for (let i = 0; i < opts.courses; i++) {
      const profile = PROFILES[i % PROFILES.length]!;
      const { course } = await enrollClient({ db, temporal: client, taskQueue: 'kap-courses' }, { type: 'staff', id: 'staff-chaos-coordinator' }, { clientId: clientIds[i]!, protocolId: profile.protocolId, timeScale: opts.timeScale });
      courses.push({ courseId: course.id, profile });
    }
    say(`${courses.length} courses enrolled (${[...new Set(courses.map((c) => c.profile.name))].join(', ')})`);

    const deadline = Date.now() + opts.deadline * 1000;
    const drivers = courses.map((c) => new CourseDriver(client!, db, c.courseId, c.profile));
    const runs = drivers.map(async (d, i) => {
      await sleep(i * 1500);
      const v = await d.run(deadline);
      if (!v) say(`${d.profile.name} ${d.courseId.slice(0, 8)}: NOT ENDED (${d.last?.status} at ${d.last?.openSteps.map((s) => s.stepKey).join(',') || '-'}; ${d.stats.lastError ?? ''})`);
    });

    // Mid-run: once every course has started and mail is flowing, worker 1 goes (SIGKILL, no restart).
    let killAt = 0;
    let sendingAtKill = -1;
    const killer = (async () => {
      while (Date.now() < deadline) {
        const ended = drivers.filter((d) => d.last && ENDED.has(d.last.status)).length;
        const dosed = drivers.filter((d) => (d.last?.dosesGiven ?? 0) > 0).length;
        if (dosed >= 2 && cluster.sink.received.length >= opts.courses && ended < drivers.length / 2) break;
        await sleep(250);
      }
      killAt = Date.now();
      await w1.kill();
      // Emails claimed when the worker died (some by worker 2, still alive): a claim of the dead worker's
      // holds its row for the outbox lease (src/activities/notify.ts, DEFAULT_LEASE_MS), then a retry sends.
      sendingAtKill = Number((await db.selectFrom('email_outbox').select((eb) => eb.fn.countAll<string>().as('n')).where('status', '=', 'sending').executeTakeFirstOrThrow()).n);
      say(`SIGKILL worker 1 (pid ${w1.process.pid}): ${drivers.filter((d) => d.last && ENDED.has(d.last.status)).length}/${drivers.length} courses ended, ${cluster.sink.received.length} emails received so far`);
    })();
    const progress = setInterval(() => say(`progress: ${drivers.filter((d) => d.last && ENDED.has(d.last.status)).length}/${drivers.length} ended, ${cluster.sink.received.length} emails received`), 20_000);
    await Promise.all([...runs, killer]);
    clearInterval(progress);

    // Courses may still be finishing (their last emails).
    let running = -1;
    for (const until = Date.now() + 120_000; Date.now() < until; await sleep(1000)) {
      running = (await client.workflow.count('ExecutionStatus="Running"')).count;
      if (running === 0) break;
    }
    say(`courses driven; ${running} workflow(s) still running; stopping the surviving worker`);
    await w2.stop(15_000);

    const { workers, timedOut } = await tasksByWorker(client, killAt);
    // Tasks lost with the killed worker, and timeline entries their projections had written that the
    // courses never recorded, removed by a resync (src/workflows/README.md, "A lost task's projection").
    const lastSent = await db.selectFrom('email_outbox').select((eb) => eb.fn.max('sent_at').as('at')).executeTakeFirstOrThrow();
    const notRecorded = await db.selectFrom('audit_log').select((eb) => eb.fn.countAll<string>().as('n')).where('action', '=', 'course-event.not-recorded').executeTakeFirstOrThrow();
    const host = os.hostname();
    const killed = workers.get(`${w1.process.pid}@${host}`);
    const survivor = workers.get(`${w2.process.pid}@${host}`);
    const takenOver = killed && survivor ? [...killed.courses].filter((id) => survivor.courses.has(id)).length : 0;
    const topologyProblems: string[] = [];
    if (!killed?.before) topologyProblems.push('worker 1 completed no workflow task before it was killed');
    if (killed?.after) topologyProblems.push(`worker 1 completed ${killed.after} workflow task(s) after its SIGKILL`);
    if (!survivor?.before) topologyProblems.push('worker 2 completed no workflow task before the kill (the load was not shared)');
    if (!survivor?.after) topologyProblems.push('worker 2 completed no workflow task after the kill');
    if (!takenOver) topologyProblems.push('no workflow had tasks on both workers (nothing was taken over)');

    const artifactsDir = path.join(PROJECT_ROOT, 'test-artifacts', 'cluster-kill', new Date().toISOString().replace(/[:.]/g, '-'));
    const report = await runChecks({ db, client, codec, courses, sinkCounts: cluster.sink.counts(), sinkReceived: cluster.sink.received.length, artifactsDir, payloadKeys: cluster.payloadKeys });
    const failed = countFailures(report) + topologyProblems.length;
    for (const p of report.problems.slice(0, 40)) say(`problem: ${p.kind} ${p.courseId ?? ''} ${p.key ?? ''} ${p.detail}`);
    for (const p of topologyProblems) say(`problem: ${p}`);
    const durationS = Math.round((Date.now() - t0) / 1000);
    const summary = {
      ok: failed === 0,
      durationS,
      topology: { temporalServer: '1.32.2 on PostgreSQL', workers: 2, api: true },
      courses: report.courses,
      projection: report.projection,
      emails: report.emails,
      audit: report.audit,
      replay: report.replay,
      workflowTasks: {
        killedWorker: { before: killed?.before ?? 0, after: killed?.after ?? 0 },
        survivor: { before: survivor?.before ?? 0, after: survivor?.after ?? 0 },
        workflowsOnBoth: takenOver,
      },
      lostTasks: { timedOut, timelineEntriesNotRecorded: Number(notRecorded.n) },
      killAtS: Math.round((killAt - t0) / 1000),
      emailsSendingAtKill: sendingAtKill,
      lastEmailSentAtS: lastSent.at ? Math.round((new Date(lastSent.at as unknown as string).getTime() - t0) / 1000) : null,
      workflowsRunningAtEnd: running,
      host: { cpus: os.cpus().length, loadAvgStart: Number(loadAtStart.toFixed(2)), loadAvgEnd1m: Number(os.loadavg()[0]!.toFixed(2)) },
      problems: report.problems.length + topologyProblems.length,
    };
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    say(`${failed === 0 ? 'PASSED' : 'FAILED'} in ${durationS} s`);
    passed = failed === 0;
    return failed === 0 ? 0 : 1;
  } finally {
    await client?.connection.close().catch(() => undefined);
    await cluster.stop(true);
    // A failed run keeps every process's log (the server, PostgreSQL, each worker, the API) for CI.
    if (!passed) {
      const dir = path.join(PROJECT_ROOT, 'test-artifacts', 'cluster-kill', `logs-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      fs.mkdirSync(dir, { recursive: true });
      for (const f of fs.readdirSync(cluster.root).filter((x) => x.endsWith('.log'))) fs.copyFileSync(path.join(cluster.root, f), path.join(dir, f));
      say(`logs in ${dir}`);
    }
    if (opts.keep) say(`kept ${cluster.root}`);
    else removeDir(cluster.root);
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(`FAILED: ${err instanceof Error ? err.stack : String(err)}`);
    process.stdout.write(`${JSON.stringify({ ok: false, durationS: Math.round((Date.now() - t0) / 1000), error: err instanceof Error ? err.message : String(err) })}\n`);
    killAllChildren();
    process.exit(1);
  },
);

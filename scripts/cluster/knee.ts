// The knee on the production topology (docs/performance.md, "The real server"): the real Temporal
// server on PostgreSQL, N worker processes, an open-loop ladder of enrollment rates. Each enrollment
// (the engine's enrollClient, the code behind POST /api/courses: clients row check, courses row, start
// of the workflow) is timed to its first step committed in PostgreSQL (a course_steps row, polled
// every 50 ms) and to its screening invitation accepted by the SMTP sink. Courses run at real time, so
// after their first step they wait for staff and cost nothing more. Prints one JSON line per rate and a
// summary line with the knee: the highest rate where completions keep up (>= 90 % of the enrollments
// have their first step within the window plus 10 s, at >= 90 % of the offered rate) and first-step
// p95 stays under 1 s.
//
//   npx tsx scripts/cluster/knee.ts [--workers N] [--rates 5,10,15,20] [--seconds 30]
import os from 'node:os';
import { makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import { sql } from 'kysely';
import fs from 'node:fs';
import { descendants, killAllChildren } from '../../chaos/procs';
import { seed } from '../../chaos/seed';
import { enrollClient } from '../../src/client/courses';
import { connectTemporal } from '../../src/client/temporal';
import { EncryptionCodec, parsePayloadKeys } from '../../src/security/payload-codec';
import { Cluster } from './stack';

const argOf = (n: string) => {
  const i = process.argv.indexOf(`--${n}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const workers = Number(argOf('workers') ?? 1);
const rates = (argOf('rates') ?? '5,10,15,20').split(',').map(Number);
const seconds = Number(argOf('seconds') ?? 30);
const DRAIN_MS = 10_000;
const t0 = Date.now();
const say = (m: string) => process.stderr.write(`[knee ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!);
};

/** CPU-seconds a process tree has used: each live process's user+system time plus what its reaped children used. */
function cpuSeconds(root: number | undefined): number {
  if (!root) return 0;
  let ticks = 0;
  for (const pid of [root, ...descendants(root)]) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields 14-17 (utime stime cutime cstime) are at 11-14 after "state"
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks / 100; // USER_HZ
}

async function main(): Promise<void> {
  Runtime.install({
    logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as never,
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
  });
  const cluster = new Cluster({ workers, api: false, log: say });
  try {
    await cluster.start();
    const db = cluster.db!;
    const client = await connectTemporal({ address: cluster.temporalAddress, namespace: 'default', payloadCodec: new EncryptionCodec(parsePayloadKeys(cluster.payloadKeys)) });
    const total = rates.reduce((a, r) => a + Math.ceil(r * seconds), 0);
    const { clientIds } = await seed(db, total);
    say(`${workers} worker(s); ${total} clients seeded; ladder ${rates.join(', ')}/s, ${seconds} s each`);
    let next = 0;
    const results: Array<Record<string, unknown>> = [];
    for (const rate of rates) {
      const n = Math.ceil(rate * seconds);
      const started = new Map<string, number>();
      const firstStep = new Map<string, number>();
      let errors = 0;
      const loadBefore = os.loadavg()[0]!;
      const procs = () => ({
        workers: cluster.workers.reduce((a, w) => a + cpuSeconds(w?.process.pid), 0),
        temporalServer: cpuSeconds(cluster.server?.child?.process.pid),
        postgres: cpuSeconds(cluster.pg?.child?.process.pid),
        driver: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
      });
      const cpuBefore = procs();
      const start = Date.now();
      const inflight: Array<Promise<void>> = [];
      // The poller: courses of this rate whose first step is committed.
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const pending = [...started.keys()].filter((id) => !firstStep.has(id));
          if (pending.length) {
            const rows = await db.selectFrom('course_steps').select('course_id').distinct().where('course_id', 'in', pending).execute().catch(() => []);
            const now = Date.now();
            for (const r of rows) if (!firstStep.has(r.course_id)) firstStep.set(r.course_id, now);
          }
          await sleep(50);
        }
      })();
      for (let i = 0; i < n; i++) {
        const due = start + (i * 1000) / rate;
        if (due > Date.now()) await sleep(due - Date.now());
        const clientId = clientIds[next++]!;
        const at = Date.now();
        inflight.push(
          enrollClient({ db, temporal: client, taskQueue: 'kap-courses' }, { type: 'staff', id: 'staff-chaos-coordinator' }, { clientId, protocolId: 'kap-office' }).then(
            ({ course }) => void started.set(course.id, at),
            () => void errors++,
          ),
        );
      }
      const windowEnd = Date.now();
      await Promise.all(inflight);
      while (Date.now() < windowEnd + DRAIN_MS && firstStep.size < started.size) await sleep(100);
      polling = false;
      await poller;
      const cpuAfter = procs();
      const perCourse = (k: keyof typeof cpuAfter) => Number(((cpuAfter[k] - cpuBefore[k]) / Math.max(started.size, 1)).toFixed(4));
      // Invitations: the outbox row of each course's screening form, and when the sink accepted its Message-ID.
      const ids = [...started.keys()];
      const rows = ids.length ? await db.selectFrom('email_outbox').select(['course_id', 'message_id']).where('course_id', 'in', ids).where(sql<boolean>`template like '%invitation%'`).execute() : [];
      const acceptedAt = new Map(cluster.sink.received.map((r) => [r.messageId, r.at]));
      const invite: number[] = [];
      for (const r of rows) {
        const got = acceptedAt.get(r.message_id);
        if (got && r.course_id) invite.push(got - started.get(r.course_id)!);
      }
      const first = ids.filter((id) => firstStep.has(id)).map((id) => firstStep.get(id)! - started.get(id)!);
      // Achieved rate: first steps committed per second from the first enrollment to the last commit.
      const lastDone = Math.max(start, ...ids.filter((id) => firstStep.has(id)).map((id) => firstStep.get(id)!));
      const achieved = firstStep.size / Math.max((lastDone - start) / 1000, (windowEnd - start) / 1000);
      const r = {
        workers,
        offeredPerS: rate,
        enrolled: started.size,
        errors,
        firstStepCompletedPerS: Number(achieved.toFixed(1)),
        firstStepDone: firstStep.size,
        firstStepMs: { p50: pct(first, 50), p95: pct(first, 95), p99: pct(first, 99) },
        invitationMs: { n: invite.length, p50: pct(invite, 50), p95: pct(invite, 95), p99: pct(invite, 99) },
        cpuSecondsPerCourse: { workers: perCourse('workers'), temporalServer: perCourse('temporalServer'), postgres: perCourse('postgres'), enrollingProcess: perCourse('driver') },
        keptUp: firstStep.size >= 0.9 * n && achieved >= 0.9 * rate && (pct(first, 95) ?? Infinity) < 1000,
        loadAvg1m: { before: Number(loadBefore.toFixed(2)), after: Number(os.loadavg()[0]!.toFixed(2)) },
      };
      results.push(r);
      process.stdout.write(`${JSON.stringify(r)}\n`);
      await sleep(5000);
    }
    const kept = results.filter((r) => r.keptUp).map((r) => r.offeredPerS as number);
    process.stdout.write(`${JSON.stringify({ workers, knee: kept.length ? Math.max(...kept) : null, seconds, loadAvg: os.loadavg().map((x) => Number(x.toFixed(2))), cpus: os.cpus().length })}\n`);
    await client.connection.close();
  } finally {
    await cluster.stop();
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    say(`failed: ${err instanceof Error ? err.stack : String(err)}`);
    killAllChildren();
    process.exit(1);
  },
);

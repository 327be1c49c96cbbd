// `npm run chaos`: a population of time-scaled courses runs while the runner SIGKILLs the worker again
// and again, SIGKILLs the Temporal dev server and starts it again on its SQLite file, SIGKILLs the
// PostgreSQL server (a real one, chaos/postgres.ts) and starts it again on its data directory (crash
// recovery replays its WAL), and takes the SMTP server away for a while; then it waits for every course
// to end and checks that nothing was lost or done twice (chaos/checks.ts). Loopback only, everything in
// a temp folder that is removed at the end, every child in its own process group and killed on exit.
// Prints ONE JSON line at the end (progress goes to stderr); exits 1 when a check fails. See docs/chaos.md.
//
//   npm run chaos -- [--courses N] [--duration S] [--drain S] [--time-scale T] [--seed N] [--keep] [--verbose]
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { enrollClient } from '../src/client/courses';
import { connectTemporal } from '../src/client/temporal';
import { PROJECT_ROOT } from '../src/config';
import { createDb, type Db } from '../src/db/connect';
import { migrateToLatest } from '../src/db/migrate';
import { EncryptionCodec, parsePayloadKeys } from '../src/security/payload-codec';
import { freePort, waitForTemporal } from '../src/temporal/dev-server';
import { resolveToolchain } from '../src/temporal/toolchain';
import { COURSE_SEARCH_ATTRIBUTES } from '../src/workflows/search-attributes';
import { countFailures, runChecks, type CourseUnderTest } from './checks';
import { CourseDriver, PROFILES } from './driver';
import { ENDED } from './course-state';
import { ChaosPostgres } from './postgres';
import { type Child, engineEnv, killAllChildren, startChild } from './procs';
import { ChaosSmtpSink } from './sink';
import { seed } from './seed';

// ------------------------------------------------------------------ options

function option(name: string, env: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const raw = i >= 0 ? process.argv[i + 1] : process.env[env];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`chaos: --${name} must be a non-negative number\n`);
    process.exit(2);
  }
  return n;
}
const flag = (name: string, env: string) => process.argv.includes(`--${name}`) || process.env[env] === '1';

const opts = {
  courses: Math.max(1, Math.floor(option('courses', 'CHAOS_COURSES', 12))),
  /** Seconds of fault injection; the population starts at the beginning of it. */
  duration: option('duration', 'CHAOS_DURATION', 180),
  /**
   * Seconds allowed after the faults for every course to end (a deadline: the run goes on as soon as
   * they have). A worker killed just after claiming an email (the last kill can come 5 s before the
   * window ends) leaves it claimed for the outbox lease (40 s, src/activities/notify.ts); the retry
   * that sends it comes after the attempt's 30 s start-to-close timeout and the backoff (1, 2, 4, 8 s…),
   * and a course waits for its emails before it ends: about 45 s to a minute.
   */
  drain: option('drain', 'CHAOS_DRAIN', 300),
  /** Protocol days per real day: 864,000 = 10 protocol days per second. */
  timeScale: option('time-scale', 'CHAOS_TIME_SCALE', 864_000),
  seed: option('seed', 'CHAOS_SEED', 7),
  pgOutage: option('pg-outage', 'CHAOS_PG_OUTAGE', 30),
  smtpOutage: option('smtp-outage', 'CHAOS_SMTP_OUTAGE', 40),
  temporalOutage: option('temporal-outage', 'CHAOS_TEMPORAL_OUTAGE', 10),
  keep: flag('keep', 'CHAOS_KEEP'),
  verbose: flag('verbose', 'CHAOS_VERBOSE'),
};

// A small seeded PRNG (mulberry32): the same seed gives the same fault timeline.
let rngState = opts.seed >>> 0 || 1;
function rand(): number {
  rngState = (rngState + 0x6d2b79f5) >>> 0;
  let t = rngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const between = (lo: number, hi: number) => lo + (hi - lo) * rand();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const t0 = Date.now();
/** The machine's 1-minute load average when the run started (other work on the box slows every run). */
const loadAtStart = os.loadavg()[0]!;
const elapsed = () => ((Date.now() - t0) / 1000).toFixed(1);
function say(msg: string): void {
  process.stderr.write(`[chaos ${elapsed().padStart(6)}s] ${msg}\n`);
}

// ------------------------------------------------------------------ the stack

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kap-chaos-'));
const payloadKeys = `chaos-1:${crypto.randomBytes(32).toString('base64')}`;
const secretKey = crypto.randomBytes(32).toString('hex');
const tsx = require.resolve('tsx');

/**
 * Removes the run's folder. Right after a SIGKILL (Ctrl-C, a failed run) PostgreSQL's processes may
 * still be dying and writing: retried until the folder is gone, never thrown (the exit goes on).
 */
function removeTemp(): void {
  for (let attempt = 1; attempt <= 20; attempt++) {
    try {
      fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
      if (!fs.existsSync(tmp)) return;
    } catch {
      // ENOTEMPTY while a dying process adds a file: again
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
  process.stderr.write(`chaos: could not remove ${tmp}\n`);
}

interface Ports {
  temporal: number;
  pg: number;
  smtp: number;
}

const faults = {
  workerKills: 0,
  workerRestarts: 0,
  workerUnexpectedExits: 0,
  temporalKills: 0,
  temporalDownS: 0,
  postgresKills: 0,
  postgresDownS: 0,
  /** Crash recoveries PostgreSQL completed on restart (its log's "redo done"): one per kill. */
  postgresRecoveries: 0,
  smtpOutages: 0,
  smtpDownS: 0,
  smtpConnectionsCut: 0,
};

class Stack {
  readonly pg: ChaosPostgres;
  temporal: Child | null = null;
  worker: Child | null = null;
  /** false while the runner deliberately holds the worker down (kill, or the end of the run). */
  workerWanted = false;
  private workerStarting: Promise<void> | null = null;

  constructor(
    readonly ports: Ports,
    readonly sink: ChaosSmtpSink,
  ) {
    this.pg = new ChaosPostgres(tmp, ports.pg);
  }

  get databaseUrl(): string {
    return this.pg.url;
  }
  get temporalAddress(): string {
    return `127.0.0.1:${this.ports.temporal}`;
  }

  async startPg(): Promise<void> {
    await this.pg.start();
  }

  async startTemporal(): Promise<void> {
    const { temporalCli } = resolveToolchain(process.env.TEMPORAL_CLI_PATH || undefined);
    const args = ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(this.ports.temporal), '--log-level', 'warn'];
    args.push('--db-filename', path.join(tmp, 'temporal.sqlite'), '--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=NORMAL');
    for (const [name, type] of Object.entries(COURSE_SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
    const child = await startChild({ name: 'temporal', command: temporalCli, args, logFile: path.join(tmp, 'temporal.log') });
    this.temporal = child;
    await waitForTemporal(this.temporalAddress, 120_000, () => child.alive());
  }

  /** SIGKILL: the dev server gets no chance to flush or close its SQLite file. */
  async killTemporal(): Promise<void> {
    await this.temporal?.kill();
    this.temporal = null;
  }

  async stopTemporal(): Promise<void> {
    await this.temporal?.stop(15_000);
    this.temporal = null;
  }

  workerEnv(): NodeJS.ProcessEnv {
    return engineEnv({ temporalAddress: this.temporalAddress, databaseUrl: this.databaseUrl, smtpUrl: this.sink.url, payloadKeys, secretKey, publicUrl: 'http://127.0.0.1:3999' }, { DATA_DIR: path.join(tmp, 'worker-data') });
  }


  async startWorker(): Promise<void> {
    this.workerWanted = true;
    if (this.workerStarting) return this.workerStarting;
    this.workerStarting = (async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          const child = await startChild({
            name: 'worker',
            command: process.execPath,
            args: ['--import', tsx, path.join(PROJECT_ROOT, 'src/worker/main.ts')],
            cwd: PROJECT_ROOT,
            env: this.workerEnv(),
            logFile: path.join(tmp, 'worker.log'),
            readyWhen: /"msg":"worker started"/,
            readyTimeoutMs: 120_000,
          });
          this.worker = child;
          faults.workerRestarts++;
          void child.exited.then(({ code, signal }) => {
            if (this.worker !== child) return;
            this.worker = null;
            if (this.workerWanted) {
              // Not one of ours: the worker gave up by itself (e.g. the server was away too long).
              faults.workerUnexpectedExits++;
              say(`worker exited by itself (code ${code}, signal ${signal}); restarting`);
              void this.startWorker().catch((err) => say(`worker restart failed: ${String(err)}`));
            }
          });
          return;
        } catch (err) {
          // It cannot start while Temporal is away (it connects first): try again.
          if (!this.workerWanted) return;
          say(`worker start attempt ${attempt} failed: ${String(err).slice(0, 200)}`);
          await sleep(2000);
        }
      }
    })().finally(() => {
      this.workerStarting = null;
    });
    return this.workerStarting;
  }

  async killWorker(): Promise<void> {
    if (this.workerStarting) await this.workerStarting;
    const w = this.worker;
    if (!w) return;
    this.workerWanted = false;
    this.worker = null;
    await w.kill();
    faults.workerKills++;
  }

  async stopWorker(): Promise<void> {
    this.workerWanted = false;
    if (this.workerStarting) await this.workerStarting.catch(() => undefined);
    const w = this.worker;
    this.worker = null;
    await w?.stop(15_000);
  }
}

// ------------------------------------------------------------------ faults

async function faultSchedule(stack: Stack, until: number, abort: { stop: boolean }): Promise<void> {
  const D = opts.duration * 1000;
  const start = Date.now();
  const at = (fraction: number) => start + D * fraction;
  const waitUntil = async (t: number) => {
    while (Date.now() < t && !abort.stop) await sleep(Math.min(500, t - Date.now()));
  };

  // (a) the worker: SIGKILL every 15-35 s, back after 1-5 s, for the whole window.
  const killer = (async () => {
    await waitUntil(start + between(10_000, 20_000));
    while (Date.now() < until - 5000 && !abort.stop) {
      await stack.killWorker();
      say(`SIGKILL worker (#${faults.workerKills})`);
      await sleep(between(1000, 5000));
      await stack.startWorker();
      say('worker restarted');
      await waitUntil(Date.now() + between(15_000, 35_000));
    }
  })();

  // (b) Temporal, (c) PostgreSQL, (d) SMTP: one after the other.
  const outages = (async () => {
    await waitUntil(at(0.2));
    if (abort.stop) return;
    say(`Temporal dev server: SIGKILL, down ${opts.temporalOutage} s`);
    let t = Date.now();
    await stack.killTemporal();
    faults.temporalKills++;
    await sleep(opts.temporalOutage * 1000);
    await stack.startTemporal();
    faults.temporalDownS += Math.round((Date.now() - t) / 1000);
    say(`Temporal dev server back on its SQLite file after ${((Date.now() - t) / 1000).toFixed(1)} s`);

    await waitUntil(at(0.42));
    if (abort.stop) return;
    say(`PostgreSQL: SIGKILL (postmaster and every backend), down ${opts.pgOutage} s`);
    t = Date.now();
    await stack.pg.kill();
    faults.postgresKills++;
    await sleep(opts.pgOutage * 1000);
    await stack.startPg();
    faults.postgresDownS += Math.round((Date.now() - t) / 1000);
    faults.postgresRecoveries = stack.pg.recoveries();
    say(`PostgreSQL back on the same data directory after ${((Date.now() - t) / 1000).toFixed(1)} s (crash recoveries so far: ${faults.postgresRecoveries})`);

    await waitUntil(at(0.65));
    if (abort.stop) return;
    say(`SMTP: down for ${opts.smtpOutage} s (port closed, open connections cut)`);
    t = Date.now();
    const cutBefore = stack.sink.cutConnections;
    await stack.sink.stop();
    faults.smtpConnectionsCut += stack.sink.cutConnections - cutBefore;
    await sleep(opts.smtpOutage * 1000);
    await stack.sink.start();
    faults.smtpOutages++;
    faults.smtpDownS += Math.round((Date.now() - t) / 1000);
    say('SMTP back');
  })();

  await Promise.all([killer, outages]);
}

// ------------------------------------------------------------------ main

async function main(): Promise<number> {
  Runtime.install({
    logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as never,
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
  });
  const ports: Ports = { temporal: await freePort(), pg: await freePort(), smtp: await freePort() };
  const sink = new ChaosSmtpSink(ports.smtp);
  const stack = new Stack(ports, sink);
  const codec = new EncryptionCodec(parsePayloadKeys(payloadKeys));
  say(`temp ${tmp}; ${opts.courses} courses, faults for ${opts.duration} s, drain ${opts.drain} s, time scale ${opts.timeScale}, seed ${opts.seed}`);

  let client: Client | undefined;
  let db: Db | undefined;
  try {
    stack.pg.init();
    await Promise.all([stack.startPg(), stack.startTemporal(), sink.start()]);
    say(`PostgreSQL ${path.basename(path.dirname(stack.pg.bin))} (${stack.pg.bin}) :${ports.pg}, Temporal :${ports.temporal}, SMTP sink :${ports.smtp}`);

    // The runner's own connections (enrolment, the staff drivers' reads, the checks): errors while the
    // server is killed fail the query in flight, which the driver retries.
    db = createDb({ url: stack.databaseUrl, poolMax: 4, onError: () => undefined });
    await migrateToLatest(db);
    const { clientIds } = await seed(db, opts.courses);
    client = await connectTemporal({ address: stack.temporalAddress, namespace: 'default', payloadCodec: codec });
    const courses: CourseUnderTest[] = [];
    for (let i = 0; i < opts.courses; i++) {
      const profile = PROFILES[i % PROFILES.length]!;
      const { course } = await enrollClient({ db, temporal: client, taskQueue: 'kap-courses' }, { type: 'staff', id: 'staff-chaos-coordinator' }, { clientId: clientIds[i]!, protocolId: profile.protocolId, timeScale: opts.timeScale });
      courses.push({ courseId: course.id, profile });
    }
    say(`${courses.length} courses enrolled (${[...new Set(courses.map((c) => c.profile.name))].join(', ')})`);

    await stack.startWorker();
    say('worker started (child process)');

    const faultStart = Date.now();
    const faultEnd = faultStart + opts.duration * 1000;
    const deadline = faultEnd + opts.drain * 1000;
    const abort = { stop: false };
    const faultRun = faultSchedule(stack, faultEnd, abort);

    // The population: staff start working on the courses over the first 40 % of the window.
    const drivers = courses.map((c) => new CourseDriver(client!, db!, c.courseId, c.profile));
    const staggerMs = (opts.duration * 1000 * 0.4) / Math.max(drivers.length, 1);
    let done = 0;
    const runs = drivers.map(async (d, i) => {
      await sleep(i * staggerMs);
      const v = await d.run(deadline);
      done++;
      if (opts.verbose || !v) say(`${d.profile.name} ${d.courseId.slice(0, 8)}: ${v ? `${v.status} (${v.endReason})` : `NOT ENDED (${d.last?.status} at ${d.last?.openSteps.map((s) => `${s.stepKey}${s.session ? `/${s.session.status}` : ''}`).join(',') || '-'}; ${d.stats.lastError ?? ''})`} [${done}/${drivers.length}]`);
    });
    const progress = setInterval(() => {
      const states = drivers.map((d) => d.last?.status ?? 'new');
      const count = (s: string) => states.filter((x) => x === s).length;
      say(`progress: ${states.filter((x) => ENDED.has(x)).length}/${drivers.length} ended, ${count('active') + count('paused')} active, worker ${stack.worker ? 'up' : 'down'}, Temporal ${stack.temporal ? 'up' : 'down'}, PostgreSQL ${stack.pg.up ? 'up' : 'down'}, SMTP ${sink.up ? 'up' : 'down'}, ${sink.received.length} emails received`);
    }, 15_000);
    await faultRun;
    say('fault window over; everything is up; waiting for the courses to end');
    await Promise.all(runs);
    clearInterval(progress);

    // Courses may still be finishing (their last emails): wait for nothing to be running.
    const quietBy = Math.max(deadline, Date.now() + 30_000);
    let running = -1;
    while (Date.now() < quietBy) {
      try {
        running = (await client.workflow.count('ExecutionStatus="Running"')).count;
        if (running === 0) break;
      } catch {
        // visibility briefly unavailable
      }
      await sleep(1000);
    }
    say(`${running} workflow(s) still running; stopping the worker`);
    await stack.stopWorker();

    const artifactsDir = path.join(PROJECT_ROOT, 'test-artifacts', 'chaos', new Date().toISOString().replace(/[:.]/g, '-'));
    const report = await runChecks({ db, client, codec, courses, sinkCounts: sink.counts(), sinkReceived: sink.received.length, artifactsDir, payloadKeys });
    if (report.replay.failures) say(`histories that do not replay: ${artifactsDir}`);

    const driverTotals = drivers.reduce(
      (a, d) => ({ actions: a.actions + d.stats.actions, answers: a.answers + d.stats.answers, transientErrors: a.transientErrors + d.stats.transientErrors, conflicts: a.conflicts + d.stats.conflicts, invalid: a.invalid + d.stats.invalid }),
      { actions: 0, answers: 0, transientErrors: 0, conflicts: 0, invalid: 0 },
    );
    const failed = countFailures(report);
    for (const p of report.problems.slice(0, 40)) say(`problem: ${p.kind} ${p.courseId ?? ''} ${p.key ?? ''} ${p.detail}`);
    const summary = {
      ok: failed === 0,
      durationS: Math.round((Date.now() - t0) / 1000),
      config: { courses: opts.courses, faultWindowS: opts.duration, drainS: opts.drain, timeScale: opts.timeScale, seed: opts.seed, database: `postgresql ${path.basename(path.dirname(stack.pg.bin))}` },
      courses: { ...report.courses, byProfile: Object.fromEntries(PROFILES.map((p) => [p.name, courses.filter((c) => c.profile === p).length]).filter(([, n]) => n)) },
      projection: report.projection,
      emails: report.emails,
      audit: report.audit,
      replay: report.replay,
      faults,
      driver: driverTotals,
      workflowsRunningAtEnd: running,
      host: { cpus: os.cpus().length, loadAvgStart: Number(loadAtStart.toFixed(2)), loadAvgEnd1m: Number(os.loadavg()[0]!.toFixed(2)), loadAvgEnd5m: Number(os.loadavg()[1]!.toFixed(2)) },
      problems: report.problems.length,
    };
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return failed === 0 ? 0 : 1;
  } finally {
    await client?.connection.close().catch(() => undefined);
    await db?.destroy().catch(() => undefined);
    await stack.stopWorker().catch(() => undefined);
    await sink.stop().catch(() => undefined);
    await stack.stopTemporal().catch(() => undefined);
    await stack.pg.stop().catch(() => undefined);
    killAllChildren();
    if (opts.keep) say(`kept ${tmp}`);
    else removeTemp();
  }
}

// Ctrl-C reaches this process twice (from the terminal to the whole group, and relayed by tsx): the
// handler stays installed (a second signal with none would kill the process in the middle of the
// cleanup) and the cleanup runs once.
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping`);
    killAllChildren();
    if (!opts.keep) removeTemp();
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(`failed: ${err instanceof Error ? err.stack : String(err)}`);
    killAllChildren();
    if (!opts.keep) removeTemp();
    process.stdout.write(`${JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err), faults })}\n`);
    process.exit(1);
  },
);

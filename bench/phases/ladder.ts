// The capacity ladder: enrollments offered at fixed rates, open loop, end to end, against a baseline
// workflow on the same server. The headline figures of `npm run bench` (docs/performance.md).
//
// Engine: each enrollment is the engine's `enrollClient` (the code behind POST /api/courses: the
// clients row check, the courses row and its audit entry, the start of the course workflow), issued at
// its scheduled time whether or not the earlier ones have finished (open loop: never waits for a
// completion), timed from its scheduled time (so a late driver counts against the figure, no
// coordinated omission) to
//   (a) its first step committed in PostgreSQL: its first `course_steps` row (the projection activity
//       writes the steps and the courses row in one transaction; src/activities/projections.ts),
//       polled every 50 ms, and
//   (b) its screening invitation accepted by the SMTP sink: the outbox row's Message-ID, as the sink
//       recorded it (chaos/sink.ts in a process of its own, as a clinic's relay is: bench/smtp-sink-process.ts;
//       the worker sends over SMTP as `npm run worker` does).
// The course worker is the one `npm start` runs: `workerSlots`, the SDK's default workflow cache, the
// payload codec, mail over SMTP.
//
// Baseline: a workflow that runs one activity writing one row (bench/workflows/one-row.ts) into a bench
// table of the same database, started by a plain client (no payload codec) on the same server, its
// worker in the same process with the same slots; timed from its scheduled start to the row committed.
//
// One sample of each kind per rate and repeat, the order alternating from one rate to the next (engine
// first, then baseline first, and on across repeats: ABBA over consecutive rates) so drift in the
// machine's load weighs on both alike; the whole ladder repeats `repeats` times. CPU-seconds per completed course
// come from /proc for each process (this one: driver, API-side enrollment, workers and PGlite when
// in-process; the Temporal dev server; the PGlite child or this database's PostgreSQL backends).
import crypto from 'node:crypto';
import os from 'node:os';
import { constants as perfConstants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { sql } from 'kysely';
import { SinkProcess } from '../smtp-sink-process';
import { EnrollmentAdmission, EnrollmentBusyError } from '../../src/client/admission';
import { enrollClient } from '../../src/client/courses';
import { connectTemporal, requestsEagerStart } from '../../src/client/temporal';
import { HARD_STOPS, REVIEW_ITEMS } from '../../src/domain/rules/eligibility';
import type { Config } from '../../src/config';
import type { Db } from '../../src/db/connect';
import { createSmtpMailer } from '../../src/mail/mailer';
import { resolveSecretKey } from '../../src/security/client-links';
import { payloadCodecFor } from '../../src/security/keys';
import { freePort } from '../../src/temporal/dev-server';
import { workerSlots } from '../../src/worker/worker';
import { courseWorkflowId } from '../../src/workflows/workflow-ids';
import { sqlTally, startBenchWorker } from '../context';
import { capacityRange, cpuAtKnees, kneeBracket, machineGauge, nextProbe, UPWARD, type KneeBracket } from '../knee';
import { busiestThreads, cpuByThreadName, machineCpuSeconds, pidsCpuSeconds, procVisible, selfCpuSeconds, threadCpuSeconds, treeCpuSeconds, waitQuiet } from '../cpu';
import type { BenchInfra } from '../infra';
import { median, percentile, round, sleep, waitIdle } from '../stats';
import { seedClients } from './starts';
import { describeSdkWindow, readSdkMetrics, sdkWindow, type PromSample, type SdkWindow } from '../sdk-metrics';

export type LadderKind = 'engine' | 'baseline';

type StaffAction = 'screening' | 'care-team-note' | 'pause' | 'resume';
/** What a coordinator does on a new course, in order (the bodies the dashboard's forms send). */
export const STAFF_TURN: readonly StaffAction[] = ['screening', 'care-team-note', 'pause', 'resume'];
/**
 * The turn's order in the staff step: STAFF_TURN, or (a diagnosis, BENCH_STAFF_TURN=care-team-note,screening,pause,resume)
 * the same four actions in another order, to tell the cost of a turn's first action (its course out of the
 * cache, its start late behind the window's driver) from the cost of the action itself.
 */
export function staffTurnOrder(given = process.env.BENCH_STAFF_TURN): readonly StaffAction[] {
  if (!given) return STAFF_TURN;
  const order = given.split(',').map((a) => a.trim());
  if (order.length !== STAFF_TURN.length || STAFF_TURN.some((a) => !order.includes(a))) throw new Error(`BENCH_STAFF_TURN: expected the four actions ${STAFF_TURN.join(',')} in some order, got "${given}"`);
  return order as StaffAction[];
}
export const STAFF_BODIES: Record<StaffAction, Record<string, unknown>> = {
  screening: { hardStops: Object.fromEntries(Object.keys(HARD_STOPS).map((k) => [k, false])), reviewItems: Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, false])) },
  'care-team-note': { note: 'Called the client to confirm the intake visit (benchmark).' },
  pause: { reason: 'benchmark' },
  resume: {},
};

/**
 * Coordinators' turns per second in the headline staff window (4 actions each): the busiest hour of a
 * network of 100,000 active clients, from the assumptions of docs/performance.md "Scale on paper"
 * (A1-A3: 325,000 courses a year, 9.0 M clinic seconds a year, the busiest hour 5x the average) and
 * the staff actions of a complete course counted in its recorded history (46 for kap-office, 48
 * iv-series, 91 spravato-rems: about 60 with notes and pauses): 325,000 x 60 / 9.0 M x 5 = 10.8
 * actions/s = 2.7 turns/s, rounded up. It is offered beside enrollments at half the engine's knee,
 * which is already dozens of times that network's busiest hour of enrollments.
 */
export const STAFF_TURNS_PER_S_NETWORK_PEAK = 3;

export interface LadderOptions {
  infra: BenchInfra;
  config: Config;
  /** The API's lane: enrollment and the polls. */
  db: Db;
  /** The workers' lane. */
  workerDb: Db;
  /** The engine's client (payload codec). */
  temporal: Client;
  rates: number[];
  seconds: number;
  repeats: number;
  /** After the window, how long completions are waited for before the rest count as backlog. */
  drainMs?: number;
  /** First-step p95 that still counts as bounded. */
  p95LimitMs?: number;
  /** After the fixed rates of each repeat, at most this many bisection steps narrow each kind's knee (bench/knee.ts); 0: none. */
  refineSteps?: number;
  /** When given: staff actions over HTTP at half the engine's knee, on courses the ladder opened (more than the default cache holds). */
  staff?: { baseUrl: string; token: string; concurrency?: number; /** Enrollments/s for the staff step instead of half the knee (a diagnosis). */ rate?: number };
  /** The SDK runtime's Prometheus endpoint in this process (`host:port`): the staff step's windows then report the core's cache hits and misses, replay and task times (bench/sdk-metrics.ts). */
  sdkMetrics?: string;
  /**
   * One ladder in several calls, each on state of its own (bench/run.ts: a fresh dev server and database
   * per repeat): this call's first repeat's number, the samples and the order of the calls before it.
   * The staff step's knee, and the summary returned, cover those samples and this call's.
   */
  firstRepeat?: number;
  priorSamples?: LadderSample[];
  orderTurn?: number;
  log: (msg: string) => void;
}

export interface StaffAtHalfKnee {
  offeredPerS: number;
  /** Half the engine's knee in this run (the target's condition), or a rate given with --staff-rate. */
  rateFrom: 'half the knee' | '--staff-rate';
  /** Each coordinator's turn, in order (STAFF_TURN unless BENCH_STAFF_TURN reorders it: a diagnosis, not counted). */
  turn: readonly StaffAction[];
  /** Open loop (the headline figures below): coordinators' turns (STAFF_TURN) started per second (STAFF_TURNS_PER_S_NETWORK_PEAK). */
  turnsPerS: number;
  /**
   * The same open loop at more turns per second, each in its own window of enrollments at the same rate:
   * twice the network's peak, and one turn per enrolled course (the headline until 2026-12-03, which
   * took the 2 cores past full at half the knee on 2026-12-03: see docs/performance.md).
   */
  heavier: Array<{ turnsPerS: number; actions: number; errors: number; p50Ms: number | null; p95Ms: number | null; p95ByThird: Array<number | null>; maxMs: number | null; stages: ActionStages; busy: WindowBusy; sdk: SdkWindow | null; enrollment: Pick<LadderSample, 'completedPerS' | 'firstStepMs' | 'keptUp'> }>;
  /** `concurrency` staff sending turns back to back, no pause (the load before 2026-12-01), during its own window. */
  closedLoop: { concurrency: number; actions: number; errors: number; p50Ms: number | null; p95Ms: number | null; p95ByThird: Array<number | null>; maxMs: number | null; perAction: Record<string, { n: number } & Pcts>; stages: ActionStages; busy: WindowBusy; sdk: SdkWindow | null; enrollment: Pick<LadderSample, 'completedPerS' | 'firstStepMs' | 'keptUp'> };
  /** Courses the ladder had opened on this worker before the step (the cache holds cacheWorkflows workflows, two per course). */
  openCourses: number;
  cacheWorkflows: number | undefined;
  actions: number;
  errors: number;
  /** Each action's own figures (screening, care-team-note, pause, resume). */
  perAction: Record<string, { n: number } & Pcts>;
  /** Where the actions' time went (actionStages): medians of a random sample and of the slowest. */
  stages: ActionStages;
  /** Cores busy during the window: this process, the Temporal server, and this process's busiest threads. */
  busy: WindowBusy;
  /** The SDK core's own figures for the engine's worker over the window (null without the SDK's metrics endpoint). */
  sdk: SdkWindow | null;
  p50Ms: number | null;
  p95Ms: number | null;
  /** p95 of the actions started in each third of the window (the last with the drain): a start-up transient shows in the first. */
  p95ByThird: Array<number | null>;
  maxMs: number | null;
  enrollment: Pick<LadderSample, 'completedPerS' | 'firstStepMs' | 'keptUp'>;
  /** Waited before the step for the ladder's enrolled courses to have their first step; how many still had none. */
  backlogWaitMs: number;
  backlogLeft: number;
  /** Then waited until this process and the Temporal server were quiet: how long, and their cores busy in the last second. */
  settle: { ms: number; coresBusy: number };
  loadAvg1m: number;
}

type Pcts = { p50: number | null; p95: number | null; p99: number | null };

/** Medians, in ms, of the stages of a course's first step (from its workflow history and the poller's commit time). */
interface StageMedians {
  n: number;
  /** Scheduled enrollment → WorkflowExecutionStarted: the driver, the API's transaction and the start RPC. */
  startedMs: number | null;
  /** → the first workflow task started: the task waiting in matching for a worker's poll. */
  pickupMs: number | null;
  /** → the first step seen committed (50 ms polls): the activation and the projection's local activity. */
  committedMs: number | null;
  /** First task started → completed (the projection, then the invitation's SMTP attempt, then the commands). */
  taskMs: number | null;
  /** Workflow tasks that timed out or failed before the first one completed, in all. */
  retriedTasks: number;
}
interface FirstStepStages {
  /** A random sample of the completed courses. */
  random: StageMedians;
  /** The slowest tenth (at most 10) by first-step time. */
  slowest: StageMedians;
}

/**
 * The sample both stage readouts read histories for: the slowest tenth (at most 10) by `elapsed`, and
 * up to 20 picked at random from the rest. `read` runs one after another (after the window: not the
 * step's work); items it cannot read are left out. `median` gives a field's median over what was read.
 */
async function readSample<T, R>(items: T[], elapsed: (x: T) => number, read: (x: T) => Promise<R | null>): Promise<Record<'random' | 'slowest', { rows: R[]; median: (f: (r: R) => number | null) => number | null }>> {
  const byTime = [...items].sort((a, b) => elapsed(b) - elapsed(a));
  const slowest = byTime.slice(0, Math.min(10, Math.ceil(byTime.length / 10)));
  const rest = byTime.slice(slowest.length);
  const random: T[] = [];
  while (random.length < 20 && rest.length) random.push(rest.splice(Math.floor(Math.random() * rest.length), 1)[0]!);
  const readAll = async (group: T[]) => {
    const rows: R[] = [];
    for (const x of group) {
      const r = await read(x).catch(() => null);
      if (r !== null) rows.push(r);
    }
    const median = (f: (r: R) => number | null) => {
      const xs = rows.map(f).filter((v): v is number => v !== null);
      return xs.length ? round(percentile(xs, 50), 0) : null;
    };
    return { rows, median };
  };
  return { random: await readAll(random), slowest: await readAll(slowest) };
}

/**
 * Where a first step's time went, for a sample of a step's courses: read from each workflow's history
 * after the step (not inside its window). Same machine, one clock: the server's event times and this
 * process's are comparable to a millisecond.
 */
async function firstStepStages(temporal: Client, courses: Array<{ workflowId: string; scheduled: number; done: number }>): Promise<FirstStepStages> {
  const one = async (c: (typeof courses)[number]) => {
    const h = await temporal.workflow.getHandle(c.workflowId).fetchHistory();
    const ev = h.events ?? [];
    const at = (e: (typeof ev)[number] | undefined) => (e?.eventTime ? tsToMs(e.eventTime) : null);
    const started = ev.find((e) => e.workflowExecutionStartedEventAttributes);
    const firstDone = ev.findIndex((e) => e.workflowTaskCompletedEventAttributes);
    const before = firstDone < 0 ? ev : ev.slice(0, firstDone);
    const taskStarted = [...before].reverse().find((e) => e.workflowTaskStartedEventAttributes);
    const scheduled = [...before].reverse().find((e) => e.workflowTaskScheduledEventAttributes);
    const t = { started: at(started), scheduled: at(scheduled), taskStarted: at(taskStarted), completed: firstDone < 0 ? null : at(ev[firstDone]) };
    return {
      startedMs: t.started === null ? null : t.started - c.scheduled,
      pickupMs: t.taskStarted === null || t.scheduled === null ? null : t.taskStarted - t.scheduled,
      committedMs: t.taskStarted === null ? null : c.done - t.taskStarted,
      taskMs: t.completed === null || t.taskStarted === null ? null : t.completed - t.taskStarted,
      retried: before.filter((e) => e.workflowTaskTimedOutEventAttributes || e.workflowTaskFailedEventAttributes).length,
    };
  };
  const sample = await readSample(courses, (c) => c.done - c.scheduled, one);
  const medians = ({ rows, median }: (typeof sample)['random']): StageMedians => ({ n: rows.length, startedMs: median((r) => r.startedMs), pickupMs: median((r) => r.pickupMs), committedMs: median((r) => r.committedMs), taskMs: median((r) => r.taskMs), retriedTasks: rows.reduce((a, r) => a + r.retried, 0) });
  return { random: medians(sample.random), slowest: medians(sample.slowest) };
}

/** Medians, in ms, of where a staff action's time went (from its course's workflow history and this process's clock). */
interface ActionStageMedians {
  n: number;
  /** Sent → the Update's workflow task scheduled: the API (auth, the course row), the Update RPC, the server's history step. */
  toTaskMs: number | null;
  /** → that task started: waiting in matching for a worker's poll. */
  pickupMs: number | null;
  /** → the Update completed: the activation (and the replay of the course's history when it was out of the cache), the handler, the projection's local activity. */
  taskMs: number | null;
  /** → the answer read by the caller: the task's completion RPC, the server answering the Update, the API's reply. */
  answerMs: number | null;
  /**
   * Of the sample, Updates whose task went to the normal queue instead of the worker's sticky queue (the
   * sticky queue timed out or was reset). A course evicted from the cache still gets its task on the
   * sticky queue and replays there, which history does not show: this is not a count of replays.
   */
  normalQueue: number;
  /** Of the sample, Updates that arrived while another task of the course was running (the task was scheduled before the send). */
  queuedBehindTask: number;
}
export interface ActionStages {
  random: ActionStageMedians;
  slowest: ActionStageMedians;
  /** Medians for each action apart, on the random sample's courses: which of the turn's actions takes the time. */
  byAction: Record<string, ActionStageMedians>;
}
/**
 * Cores busy during a window: this process, the Temporal server, this process's busiest threads, and the
 * whole machine (every process, and steal: the hypervisor's), where /proc/stat is readable.
 */
type WindowBusy = { seconds: number; engineProcessCores: number; temporalServerCores: number; threads: Array<{ thread: string; cores: number }>; machineCores: number | null; stealCores: number | null };
type SentAction = { workflowId: string; action: StaffAction; sent: number; answered: number };

/**
 * Where staff actions' time went, for a sample (20 random, and the slowest tenth, at most 10): each
 * Update found in its course's history by name (a course gets one turn, so each name once), with the
 * workflow task that carried it. Read after the window. Same machine, one clock.
 */
async function actionStages(temporal: Client, actions: SentAction[]): Promise<ActionStages> {
  const wallOffset = Date.now() - performance.now();
  // Each course's history read once: the per-action medians below read the random sample's courses again.
  const histories = new Map<string, ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>();
  const historyOf = (workflowId: string) => {
    if (!histories.has(workflowId)) histories.set(workflowId, temporal.workflow.getHandle(workflowId).fetchHistory());
    return histories.get(workflowId)!;
  };
  const one = async (a: SentAction) => {
    const h = await historyOf(a.workflowId);
    const ev = h.events ?? [];
    const at = (e: (typeof ev)[number] | undefined) => (e?.eventTime ? tsToMs(e.eventTime) : null);
    const accepted = ev.findIndex((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === a.action);
    if (accepted < 0) return null;
    const updateId = ev[accepted]!.workflowExecutionUpdateAcceptedEventAttributes!.protocolInstanceId;
    const completed = ev.slice(accepted).find((e) => e.workflowExecutionUpdateCompletedEventAttributes?.meta?.updateId === updateId);
    const before = ev.slice(0, accepted).reverse();
    const taskStarted = before.find((e) => e.workflowTaskStartedEventAttributes);
    const scheduled = before.find((e) => e.workflowTaskScheduledEventAttributes);
    const sent = a.sent + wallOffset;
    const t = { scheduled: at(scheduled), started: at(taskStarted), completed: at(completed) };
    return {
      workflowId: a.workflowId,
      toTaskMs: t.scheduled === null ? null : Math.max(0, t.scheduled - sent),
      pickupMs: t.started === null || t.scheduled === null ? null : t.started - Math.max(t.scheduled, sent),
      taskMs: t.completed === null || t.started === null ? null : t.completed - Math.max(t.started, sent),
      answerMs: t.completed === null ? null : a.answered + wallOffset - t.completed,
      normalQueue: Number(scheduled?.workflowTaskScheduledEventAttributes?.taskQueue?.kind === 1),
      queuedBehindTask: Number(t.scheduled !== null && t.scheduled < sent),
    };
  };
  const sample = await readSample(actions, (a) => a.answered - a.sent, one);
  type Row = NonNullable<Awaited<ReturnType<typeof one>>>;
  const medians = (rows: Row[]): ActionStageMedians => {
    const median = (f: (r: Row) => number | null) => {
      const xs = rows.map(f).filter((v): v is number => v !== null);
      return xs.length ? round(percentile(xs, 50), 0) : null;
    };
    return { n: rows.length, toTaskMs: median((r) => r.toTaskMs), pickupMs: median((r) => r.pickupMs), taskMs: median((r) => r.taskMs), answerMs: median((r) => r.answerMs), normalQueue: rows.reduce((x, r) => x + r.normalQueue, 0), queuedBehindTask: rows.reduce((x, r) => x + r.queuedBehindTask, 0) };
  };
  // Each action apart, on the random sample's courses (a course gets one turn: every action of it is in
  // the one history already read), so the actions are compared on the same courses.
  const courses = new Set(sample.random.rows.map((r) => r.workflowId));
  const byAction: Record<string, ActionStageMedians> = {};
  for (const action of new Set(actions.map((a) => a.action))) {
    const rows = await Promise.all(actions.filter((a) => a.action === action && courses.has(a.workflowId)).map((a) => one(a).catch(() => null)));
    byAction[action] = medians(rows.filter((r): r is Row => r !== null));
  }
  return { random: medians(sample.random.rows), slowest: medians(sample.slowest.rows), byAction };
}

export interface LadderSample {
  kind: LadderKind;
  offeredPerS: number;
  repeat: number;
  /** A rate of the fixed ladder, or one that bisection chose to narrow the knee. */
  probe: 'ladder' | 'bisection';
  enrolled: number;
  errors: number;
  /** Enrollments refused by admission (503: too many new courses waiting for their first step; src/client/admission.ts). */
  refused: number;
  /** Starts the server answered with the first task (eager workflow start, src/client/temporal.ts), of those started. */
  eagerStarts: number;
  /** Completed (first step committed / row written) within the window plus the drain. */
  done: number;
  /** Completions per second, from the first scheduled start to the last completion (at least the window). */
  completedPerS: number;
  /** Completions inside the window alone, per second. */
  completedInWindowPerS: number;
  firstStepMs: Pcts;
  invitationMs?: Pcts & { n: number };
  /** Engine only: where a course's first step spent its time, from the workflow histories of a sample (firstStepStages). */
  stages?: FirstStepStages;
  /** Not completed when the window closed, and when the drain gave up. */
  backlogAtWindowEnd: number;
  backlogAtEnd: number;
  /** Until everything of the step was done, from the window's end (or the drain's limit). */
  drainMs: number;
  /** Until both workers were idle before this step (the previous step's tail). */
  idleWaitMs: number;
  /**
   * Then until this process and the Temporal server were quiet (bench/cpu.ts waitQuiet): how long, and
   * their cores busy in the last second (above a third of a core when it gave up at 30 s). A guard that
   * every rate starts as the staff step's window does: idle workers are not a quiet server. In the runs of
   * 2026-12-06 every wait was 3.0 s at under 0.1 cores (no tail found; docs/performance.md).
   * null: the warm-up and the staff step's windows (the staff step waits for a quiet machine once, before its first window).
   */
  quietWait: { ms: number; coresBusy: number } | null;
  /** engineProcess, temporalServer, database, their total; and for the engine `smtpSink`: the sink's process, standing for a clinic's relay (not in the total). */
  cpuSecondsPerCourse: Record<string, number | null>;
  /** This process's CPU-seconds per course by thread name (threads of one name summed), the six busiest: which thread a costlier course is spent on. */
  threadCpuSecondsPerCourse: Record<string, number>;
  /**
   * This process's main thread during the step (the API side, the activities, the driver): how late
   * its event loop ran (p99, max) and the garbage collector's pauses (total ms, and how many were full
   * mark-compacts). Stalls here are what a first-step p95 far above its p50 points to.
   */
  mainThread: { loopDelayP99Ms: number; loopDelayMaxMs: number; gcPauseMs: number; gcMajor: number };
  loadAvg1m: { before: number; after: number };
  /** The whole machine during the step, cores: every process's CPU (ours and others') and steal (/proc/stat; null where unreadable). */
  machine: { busyCores: number | null; stealCores: number | null };
  keptUp: boolean;
}

const pcts = (xs: number[]): Pcts => ({ p50: xs.length ? round(percentile(xs, 50), 0) : null, p95: xs.length ? round(percentile(xs, 95), 0) : null, p99: xs.length ? round(percentile(xs, 99), 0) : null });
const spread = (xs: number[]) => (xs.length ? [round(Math.min(...xs), 2), round(Math.max(...xs), 2)] : null);

export async function benchLadder(opts: LadderOptions) {
  const { infra, config, db, workerDb, temporal, rates, seconds, repeats, log } = opts;
  const firstRepeat = opts.firstRepeat ?? 0;
  const priorSamples = opts.priorSamples ?? [];
  const repeatsSoFar = firstRepeat + repeats;
  const drainMs = opts.drainMs ?? 10_000;
  const p95LimitMs = opts.p95LimitMs ?? 1000;
  const runId = crypto.randomBytes(3).toString('hex');

  // The baseline's table, in the engine's database.
  await sql`create table if not exists bench_one_row (id text primary key, written_at timestamptz not null default now())`.execute(db);

  // Mail: an SMTP sink that records what it accepts, in a process of its own (a relay is never on the
  // engine's event loop); its CPU is reported beside the engine's, not in it.
  const sink = await SinkProcess.start(await freePort());
  const mailer = createSmtpMailer({ url: sink.url, from: config.MAIL_FROM });
  const engineQueue = `kap-bench-ladder-${runId}`;
  const engineConfig: Config = { ...config, TEMPORAL_TASK_QUEUE: engineQueue };
  // BENCH_WORKER_OPTIONS (a diagnosis, printed below): other SDK worker options for both kinds alike.
  const extraOptions = process.env.BENCH_WORKER_OPTIONS ? (JSON.parse(process.env.BENCH_WORKER_OPTIONS) as Partial<WorkerOptions>) : {};
  const engine = await startBenchWorker(engineConfig, workerDb, extraOptions, { mailer, mail: { publicUrl: config.publicUrl, secretKey: resolveSecretKey(config) } });
  const { bundlerOptions: _bundler, ...engineOptions } = engine.options;
  log(`  worker options (engine and one-row): ${JSON.stringify(engineOptions)}`);
  // Back-pressure as the API applies it (ENROLLMENT_BACKLOG_LIMIT): past the knee the excess is refused, not queued.
  const admission = new EnrollmentAdmission(db, { limit: config.ENROLLMENT_BACKLOG_LIMIT });
  const baselineQueue = `bench-one-row-${runId}`;
  const baselineConnection = await NativeConnection.connect({ address: infra.temporalAddress });
  const baselineWorker = await Worker.create({
    connection: baselineConnection,
    taskQueue: baselineQueue,
    workflowsPath: require.resolve('../workflows/one-row'),
    activities: {
      async benchWriteRow(id: string) {
        await sql`insert into bench_one_row (id) values (${id}) on conflict do nothing`.execute(workerDb);
      },
    },
    ...workerSlots(config, undefined, { eagerStarts: true }),
    ...extraOptions,
    shutdownGraceTime: '2 seconds',
  });
  const baselineRunning = baselineWorker.run();
  baselineRunning.catch(() => undefined);
  // Each kind starts its workflows through a client on its worker's connection, as `npm start`'s API
  // shares its worker's (src/runtime.ts startApi): eager workflow start for both alike, unless
  // TEMPORAL_EAGER_START=off (src/client/temporal.ts requestsEagerStart).
  const engineClient = await connectTemporal({ address: infra.temporalAddress, namespace: config.TEMPORAL_NAMESPACE, payloadCodec: payloadCodecFor(config), workerConnection: engine.connection });
  const plain = new Client({ connection: baselineConnection, namespace: config.TEMPORAL_NAMESPACE });
  const eagerStart = requestsEagerStart(plain, config.TEMPORAL_EAGER_START);
  log(`  eager workflow start: ${eagerStart && requestsEagerStart(engineClient, config.TEMPORAL_EAGER_START) ? 'requested (both kinds)' : 'off'}`);

  // Clients for every engine enrollment of the run, seeded at once (server-side generate_series).
  const WARM_SECONDS = Math.min(seconds, 5);
  // Per repeat: one engine sample per fixed rate, and one per bisection step (each at most the ceiling:
  // a kind that keeps up at the top rate is probed above it, bench/knee.ts nextProbe);
  // then the staff windows at half the knee (open and closed loop). An enrollment refused by admission
  // still takes its client. Running out is a bench error (nextClientId), never counted as the engine's.
  const refineSteps = opts.refineSteps ?? 3;
  const maxRate = Math.max(...rates);
  const ceiling = Math.round(maxRate * UPWARD);
  const perRepeat = rates.reduce((a, r) => a + Math.round(r * seconds), 0) + refineSteps * Math.round(ceiling * seconds);
  // The staff step's windows of enrollments (the headline, at most two heavier loads, the closed loop, and its warm-up),
  // at half the knee (at most half the ceiling) or at --staff-rate.
  const halfKneeClients = opts.staff ? (() => {
    const r = Math.max(ceiling / 2, opts.staff.rate ?? 0);
    return 4 * (Math.ceil(r * seconds) + 1) + Math.ceil(r * WARM_SECONDS) + 1;
  })() : 0;
  const clientIds = await seedClients(db, 'bench-ladder', perRepeat * repeats + Math.round(2 * WARM_SECONDS) + halfKneeClients, `bench-ladder-${runId}-`);
  const engineCourses: string[] = [];
  let nextClient = 0;
  const nextClientId = (): string => {
    const id = clientIds[nextClient++];
    if (id === undefined) throw new Error(`bench: the ${clientIds.length} seeded clients are used up (the seeding in bench/phases/ladder.ts undercounts this run's enrollments)`);
    return id;
  };

  // CPU-seconds by process.
  const devServerPid = infra.devServer?.process.pid;
  const dbCpu = async (): Promise<Map<number, number> | null> => {
    if (infra.database === 'pglite') return infra.pgliteChildPid ? new Map([[infra.pgliteChildPid, treeCpuSeconds(infra.pgliteChildPid)]]) : null;
    const { rows } = await sql<{ pid: number }>`select pid from pg_stat_activity where datname = current_database()`.execute(db);
    const pids = rows.map((r) => Number(r.pid)).filter(procVisible);
    return pids.length ? pidsCpuSeconds(pids) : null;
  };
  const cpuNow = async () => ({ engineProcess: selfCpuSeconds(), temporalServer: treeCpuSeconds(devServerPid), database: await dbCpu(), smtpSink: treeCpuSeconds(sink.pid) });
  const databaseWhere = infra.database === 'pglite' ? (infra.pgliteChildPid ? 'PGlite child process' : `in the engine process (PGlite ${infra.pgliteHost === 'thread' ? 'on a thread, as npm start' : 'on its event loop'})`) : 'PostgreSQL backends of the bench database (read from /proc; absent when the server is on another machine)';

  const runStep = async (kind: LadderKind, rate: number, repeat: number, idleWaitMs: number, quietWait: LadderSample['quietWait'], stepSeconds = seconds, probe: LadderSample['probe'] = 'ladder'): Promise<LadderSample> => {
    const seconds = stepSeconds;
    const n = Math.round(rate * seconds);
    const scheduledOf = new Map<string, number>();
    const workflowOf = new Map<string, string>();
    const doneAt = new Map<string, number>();
    let errors = 0;
    let refused = 0;
    let eagerStarts = 0;
    const loadBefore = os.loadavg()[0]!;
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const gc = { ms: 0, major: 0 };
    const gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        gc.ms += e.duration;
        if (((e as unknown as { detail?: { kind?: number } }).detail)?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) gc.major++;
      }
    });
    gcObserver.observe({ entryTypes: ['gc'] });
    const cpu0 = await cpuNow();
    const threads0 = threadCpuSeconds();
    const sql0 = sqlTally ? new Map(sqlTally) : undefined;
    const machine0 = machineCpuSeconds();
    const machineT0 = performance.now();
    const start = Date.now() + 20;
    const windowEnd = start + seconds * 1000;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const pending = [...scheduledOf.keys()].filter((k) => !doneAt.has(k));
        if (pending.length) {
          const q =
            kind === 'engine'
              ? sql<{ k: string }>`select distinct course_id as k from course_steps where course_id = any(${pending})`
              : sql<{ k: string }>`select id as k from bench_one_row where id = any(${pending})`;
          const { rows } = await q.execute(db).catch(() => ({ rows: [] as Array<{ k: string }> }));
          const now = Date.now();
          for (const r of rows) if (!doneAt.has(r.k)) doneAt.set(r.k, now);
        }
        await sleep(50);
      }
    })();
    const inflight: Array<Promise<void>> = [];
    for (let i = 0; i < n; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      if (kind === 'engine') {
        const clientId = nextClientId();
        inflight.push(
          enrollClient({ db, temporal: engineClient, taskQueue: engineQueue, admission, eagerStart: config.TEMPORAL_EAGER_START, observeEnrollment: (t) => void (t.eager && eagerStarts++) }, { type: 'system', id: 'bench' }, { clientId, clinicId: 'bench-ladder', protocolId: 'kap-office' }).then(
            ({ course }) => {
              scheduledOf.set(course.id, due);
              workflowOf.set(course.id, course.workflow_id);
            },
            (err) => void (err instanceof EnrollmentBusyError ? refused++ : errors++),
          ),
        );
      } else {
        const workflowId = `one-row-${runId}-${repeat}-${rate}-${i}-${crypto.randomBytes(2).toString('hex')}`;
        inflight.push(
          plain.workflow.start('oneRowWorkflow', { taskQueue: baselineQueue, workflowId, args: [workflowId], requestEagerStart: eagerStart }).then(
            (handle) => {
              scheduledOf.set(workflowId, due);
              if (handle.eagerlyStarted) eagerStarts++;
            },
            () => void errors++,
          ),
        );
      }
    }
    await Promise.all(inflight);
    // The drain: until every started one is done (and, for courses, its invitation accepted), at most drainMs past the window.
    const invitationAt = new Map<string, number>();
    const readInvitations = async () => {
      const ids = [...doneAt.keys()].filter((k) => !invitationAt.has(k));
      if (!ids.length) return;
      const { rows } = await sql<{ course_id: string; message_id: string }>`select course_id, message_id from email_outbox where course_id = any(${ids}) and template like '%invitation%'`.execute(db);
      const accepted = new Map((await sink.received()).map((r) => [r.messageId, r.at]));
      for (const r of rows) {
        const at = accepted.get(r.message_id);
        if (at !== undefined && (!invitationAt.has(r.course_id) || at < invitationAt.get(r.course_id)!)) invitationAt.set(r.course_id, at);
      }
    };
    let lastInvitationRead = 0;
    for (;;) {
      const allDone = doneAt.size >= scheduledOf.size;
      if (kind === 'engine' && allDone && Date.now() - lastInvitationRead > 500) {
        await readInvitations();
        lastInvitationRead = Date.now();
      }
      if (allDone && (kind === 'baseline' || invitationAt.size >= doneAt.size)) break;
      if (Date.now() > windowEnd + drainMs) break;
      await sleep(100);
    }
    const drainedAt = Date.now();
    polling = false;
    await poller;
    if (kind === 'engine') await readInvitations();
    const cpu1 = await cpuNow();
    const threads1 = threadCpuSeconds();
    const machine1 = machineCpuSeconds();
    const machineS = (performance.now() - machineT0) / 1000;
    const machine = { busyCores: machine0 && machine1 ? round((machine1.busy - machine0.busy) / machineS, 2) : null, stealCores: machine0 && machine1 ? round((machine1.steal - machine0.steal) / machineS, 3) : null };
    loopDelay.disable();
    gcObserver.disconnect();
    const mainThread = { loopDelayP99Ms: round(loopDelay.percentile(99) / 1e6, 0), loopDelayMaxMs: round(loopDelay.max / 1e6, 0), gcPauseMs: round(gc.ms, 0), gcMajor: gc.major };
    // BENCH_SQL_TALLY (a diagnosis), after the CPU readings: the statements that took the most time in this window, per course.
    if (sql0 && sqlTally) {
      const top = [...sqlTally].map(([k, t]) => ({ k, ms: t.ms - (sql0.get(k)?.ms ?? 0), n: t.n - (sql0.get(k)?.n ?? 0) })).filter((x) => x.n > 0).sort((a, b) => b.ms - a.ms).slice(0, 10);
      const courses = Math.max(scheduledOf.size, 1);
      log(`  ${kind} ${rate}/s SQL by time (ms per course, statements per course, ms each): ${top.map((x) => `\n    ${round(x.ms / courses, 3)} ${round(x.n / courses, 2)} ${round(x.ms / x.n, 2)} ${x.k}`).join('')}`);
    }

    const keys = [...scheduledOf.keys()];
    if (kind === 'engine') engineCourses.push(...keys);
    // Read after the CPU figures are taken: the history reads are not the step's work.
    const stages = kind === 'engine' && repeat >= 0 ? await firstStepStages(temporal, keys.filter((k) => doneAt.has(k) && workflowOf.has(k)).map((k) => ({ workflowId: workflowOf.get(k)!, scheduled: scheduledOf.get(k)!, done: doneAt.get(k)! }))) : undefined;
    const first = keys.filter((k) => doneAt.has(k)).map((k) => doneAt.get(k)! - scheduledOf.get(k)!);
    const lastDone = Math.max(start, ...[...doneAt.values()]);
    const completedPerS = doneAt.size / Math.max(seconds, (lastDone - start) / 1000);
    const inWindow = [...doneAt.values()].filter((t) => t <= windowEnd).length;
    const done = doneAt.size;
    const per = (x: number) => round(x / Math.max(done, 1), 4);
    let database: number | null = null;
    if (cpu0.database && cpu1.database) {
      let s = 0;
      for (const [pid, v] of cpu1.database) s += v - (cpu0.database.get(pid) ?? 0);
      database = s;
    }
    const engineProcess = cpu1.engineProcess - cpu0.engineProcess;
    const temporalServer = cpu1.temporalServer - cpu0.temporalServer;
    const smtpSink = cpu1.smtpSink - cpu0.smtpSink;
    const p95 = percentile(first, 95);
    const sample: LadderSample = {
      kind,
      offeredPerS: rate,
      repeat,
      probe,
      enrolled: scheduledOf.size,
      errors,
      refused,
      eagerStarts,
      done,
      completedPerS: round(completedPerS, 2),
      completedInWindowPerS: round(inWindow / seconds, 2),
      firstStepMs: pcts(first),
      ...(kind === 'engine' ? { invitationMs: { n: invitationAt.size, ...pcts([...invitationAt].map(([k, at]) => at - scheduledOf.get(k)!)) } } : {}),
      ...(stages ? { stages } : {}),
      backlogAtWindowEnd: scheduledOf.size + errors - inWindow,
      backlogAtEnd: scheduledOf.size + errors - done,
      drainMs: Math.max(0, drainedAt - windowEnd),
      idleWaitMs,
      quietWait,
      cpuSecondsPerCourse: { engineProcess: per(engineProcess), temporalServer: per(temporalServer), database: database === null ? null : per(database), total: per(engineProcess + temporalServer + (database ?? 0)), ...(kind === 'engine' ? { smtpSink: per(smtpSink) } : {}) },
      threadCpuSecondsPerCourse: Object.fromEntries(cpuByThreadName(threads0, threads1).slice(0, 6).map(([name, secs]) => [name, per(secs)])),
      mainThread,
      loadAvg1m: { before: round(loadBefore, 2), after: round(os.loadavg()[0]!, 2) },
      machine,
      keptUp: errors === 0 && refused === 0 && done >= 0.95 * n && completedPerS >= 0.95 * rate && Number.isFinite(p95) && p95 < p95LimitMs,
    };
    return sample;
  };

  // Staff actions while enrollments arrive at half the knee: 4 staff (by default) at once, each taking a
  // course picked at random among those the ladder opened through a coordinator's turn (STAFF_TURN: a mix
  // of real actions; most courses are out of the cache, so the first action may replay its course's
  // history), over HTTP as the dashboard sends them.
  let staffAtHalfKnee: StaffAtHalfKnee | undefined;
  const staffStep = async (rate: number, rateFrom: StaffAtHalfKnee['rateFrom']): Promise<StaffAtHalfKnee> => {
    const staff = opts.staff!;
    const concurrency = staff.concurrency ?? 4;
    const turnOrder = staffTurnOrder();
    const pool = [...engineCourses];
    const openCourses = pool.length;
    // The ladder's last steps were past the knee: wait (at most 5 minutes) until every course it enrolled
    // has its first step, so that this step measures half the knee and not the recovery from overload.
    const backlogT0 = Date.now();
    let backlog = 0;
    for (;;) {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from unnest(${pool}::text[]) as c(id) where not exists (select 1 from course_steps s where s.course_id = c.id)`.execute(db);
      backlog = rows[0]!.n;
      if (backlog === 0 || Date.now() - backlogT0 > 300_000) break;
      await sleep(1000);
    }
    const backlogWaitMs = Date.now() - backlogT0;
    // Loads, each during its own window of enrollments at half the knee:
    // - open loop (the headline): coordinators' turns arrive at STAFF_TURNS_PER_S_NETWORK_PEAK, then
    //   (in windows of their own) at twice that and at one turn per enrolled course; each turn issued at
    //   its scheduled time whether or not earlier turns have finished, so a slow engine finds more turns
    //   overlapping (no coordinated omission). Within a turn the coordinator sends each action when the
    //   previous one has answered, as a person at the dashboard does; the turn's first action is timed
    //   from the turn's scheduled time.
    // - closed loop: `concurrency` staff sending turns back to back with no pause, the load before
    //   2026-12-01; as many actions as the engine will take, so it measures queueing behind one another.
    const readSdk = async (): Promise<PromSample[] | null> => (opts.sdkMetrics ? readSdkMetrics(opts.sdkMetrics) : null);
    const load = async (mode: 'open' | 'closed', turnsPerS = rate, windowSeconds = seconds) => {
      const times: number[] = [];
      const byAction = new Map<StaffAction, number[]>();
      let errors = 0;
      let stop = false;
      const sentActions: SentAction[] = [];
      // Each action's start (ms into the window) and time, for the window's thirds.
      const timed: Array<{ at: number; ms: number }> = [];
      const tStart = performance.now();
      const post = async (courseId: string, action: StaffAction, from: number) => {
        const sent = performance.now();
        const res = await fetch(`${staff.baseUrl}/api/courses/${courseId}/${action}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${staff.token}`, 'content-type': 'application/json' },
          body: JSON.stringify(STAFF_BODIES[action]),
        }).catch(() => null);
        await res?.text();
        if (res?.status === 200) {
          const answered = performance.now();
          const ms = answered - from;
          times.push(ms);
          timed.push({ at: from - tStart, ms });
          sentActions.push({ workflowId: courseWorkflowId(courseId), action, sent, answered });
          byAction.set(action, [...(byAction.get(action) ?? []), ms]);
        } else errors++;
      };
      // A coordinator's turn on one course, as the dashboard sends it: screening recorded (the course moves
      // on to clearance: a projection, a new step, its reminders), a care-team note, then a pause and a resume.
      const turn = async (courseId: string, scheduled: number) => {
        let from = scheduled;
        for (const action of turnOrder) {
          if (stop) break;
          await post(courseId, action, from);
          from = performance.now();
        }
      };
      const take = () => pool.splice(Math.floor(Math.random() * pool.length), 1)[0];
      let driver: Promise<unknown>;
      if (mode === 'closed') {
        driver = Promise.all(
          Array.from({ length: concurrency }, async () => {
            for (let c = take(); !stop && c; c = take()) await turn(c, performance.now());
          }),
        );
      } else {
        driver = (async () => {
          const turns: Array<Promise<void>> = [];
          const t0 = performance.now();
          for (let i = 0; !stop; i++) {
            const due = t0 + (i * 1000) / turnsPerS;
            const wait = due - performance.now();
            if (wait > 0) await sleep(wait);
            const c = take();
            if (stop || !c) break;
            turns.push(turn(c, due));
          }
          await Promise.all(turns);
        })();
      }
      const sdkA = await readSdk();
      const cpuA = await cpuNow();
      const threadsA = threadCpuSeconds();
      const machineA = machineCpuSeconds();
      const tA = performance.now();
      const enrollment = await runStep('engine', rate, -2, 0, null, windowSeconds);
      stop = true;
      await driver;
      const windowS = (performance.now() - tA) / 1000;
      const sdkB = await readSdk();
      const cpuB = await cpuNow();
      const machineB = machineCpuSeconds();
      // What was busy during the window (the enrollments, the actions, the drain): cores per process, the busiest threads here, the whole machine.
      const busy: WindowBusy = {
        seconds: round(windowS, 1),
        engineProcessCores: round((cpuB.engineProcess - cpuA.engineProcess) / windowS, 2),
        temporalServerCores: round((cpuB.temporalServer - cpuA.temporalServer) / windowS, 2),
        threads: busiestThreads(threadsA, threadCpuSeconds(), windowS),
        machineCores: machineA && machineB ? round((machineB.busy - machineA.busy) / windowS, 2) : null,
        stealCores: machineA && machineB ? round((machineB.steal - machineA.steal) / windowS, 3) : null,
      };
      const p = pcts(times);
      // p95 of the actions started in each third of the enrollment window (the last takes the drain's too):
      // a start-up transient shows as a first third unlike the others.
      const third = (windowSeconds * 1000) / 3;
      const p95ByThird = [0, 1, 2].map((k) => pcts(timed.filter((t) => (k === 2 ? t.at >= 2 * third : t.at >= k * third && t.at < (k + 1) * third)).map((t) => t.ms)).p95);
      const stages = await actionStages(opts.temporal, sentActions);
      return {
        mode,
        stages,
        busy,
        sdk: sdkA && sdkB ? sdkWindow(sdkA, sdkB, engineQueue, 'courseWorkflow') : null,
        actions: times.length,
        errors,
        p50Ms: p.p50,
        p95Ms: p.p95,
        p95ByThird,
        maxMs: times.length ? round(Math.max(...times), 0) : null,
        perAction: Object.fromEntries([...byAction].map(([a, xs]) => [a, { n: xs.length, ...pcts(xs) }])) as Record<string, { n: number } & Pcts>,
        enrollment: { completedPerS: enrollment.completedPerS, firstStepMs: enrollment.firstStepMs, keptUp: enrollment.keptUp },
      };
    };
    // Warm-up, not counted (as the ladder's): the staff actions' code paths (the API routes, the Update
    // handlers, their projections) have not run in this process before; a few seconds of turns, closed
    // loop, on courses then left out of the pool. Before 2026-12-03 the headline window took that
    // start-up: in a 10 s window its first third's p95 was 153 ms against 92-98 ms in the other two.
    await load('closed', rate, WARM_SECONDS);
    await waitIdleBoth(engine.worker, baselineWorker);
    // Idle workers are not a quiet machine (bench/cpu.ts waitQuiet): at most 30 s until this process and
    // the server together use less than a third of a core, three one-second samples in a row.
    const settle = await waitQuiet(() => selfCpuSeconds() + treeCpuSeconds(devServerPid));
    const loadAvg1m = round(os.loadavg()[0]!, 2);
    const open = await load('open', STAFF_TURNS_PER_S_NETWORK_PEAK);
    const heavier: StaffAtHalfKnee['heavier'] = [];
    for (const turnsPerS of [...new Set([2 * STAFF_TURNS_PER_S_NETWORK_PEAK, rate])].filter((t) => t > STAFF_TURNS_PER_S_NETWORK_PEAK)) {
      await waitIdleBoth(engine.worker, baselineWorker);
      const h = await load('open', turnsPerS);
      heavier.push({ turnsPerS, actions: h.actions, errors: h.errors, p50Ms: h.p50Ms, p95Ms: h.p95Ms, p95ByThird: h.p95ByThird, maxMs: h.maxMs, stages: h.stages, busy: h.busy, sdk: h.sdk, enrollment: h.enrollment });
    }
    await waitIdleBoth(engine.worker, baselineWorker);
    const closed = await load('closed');
    const r: StaffAtHalfKnee = {
      offeredPerS: rate,
      rateFrom,
      turn: turnOrder,
      openCourses,
      cacheWorkflows: (engine.worker.options as { maxCachedWorkflows?: number }).maxCachedWorkflows,
      turnsPerS: STAFF_TURNS_PER_S_NETWORK_PEAK,
      heavier,
      actions: open.actions,
      errors: open.errors,
      p50Ms: open.p50Ms,
      p95Ms: open.p95Ms,
      p95ByThird: open.p95ByThird,
      maxMs: open.maxMs,
      perAction: open.perAction,
      stages: open.stages,
      busy: open.busy,
      sdk: open.sdk,
      closedLoop: { concurrency, actions: closed.actions, errors: closed.errors, p50Ms: closed.p50Ms, p95Ms: closed.p95Ms, p95ByThird: closed.p95ByThird, maxMs: closed.maxMs, perAction: closed.perAction, stages: closed.stages, busy: closed.busy, sdk: closed.sdk, enrollment: closed.enrollment },
      enrollment: open.enrollment,
      backlogWaitMs,
      backlogLeft: backlog,
      settle,
      loadAvg1m,
    };
    const errors = open.errors + closed.errors + heavier.reduce((a, h) => a + h.errors, 0);
    log(`  staff actions at ${rateFrom === 'half the knee' ? 'half the knee' : 'a rate given with --staff-rate'} (${rate}/s enrollments, ${openCourses} courses open, cache ${r.cacheWorkflows} workflows, after ${backlogWaitMs} ms waiting for ${backlog ? `the backlog (${backlog} left)` : 'the backlog'} and ${settle.ms} ms for a quiet machine, ${settle.coresBusy} cores busy): open loop, ${r.turnsPerS} turns/s: ${r.actions} actions p50/p95 ${r.p50Ms}/${r.p95Ms} ms (p50/p95: ${Object.entries(r.perAction).map(([a, x]) => `${a} ${x.p50}/${x.p95}`).join(', ')}); ${heavier.map((h) => `open loop, ${h.turnsPerS} turns/s: ${h.actions} actions p50/p95 ${h.p50Ms}/${h.p95Ms} ms (enrollments ${h.enrollment.completedPerS}/s, first step p95 ${h.enrollment.firstStepMs.p95} ms)`).join('; ')}; closed loop, ${concurrency} staff back to back: ${closed.actions} actions p50/p95 ${closed.p50Ms}/${closed.p95Ms} ms; ${errors} errors`);
    const windows = [[`open loop ${r.turnsPerS}/s`, r.stages, r.busy, r.p95ByThird, r.sdk], ...heavier.map((h) => [`open loop ${h.turnsPerS}/s`, h.stages, h.busy, h.p95ByThird, h.sdk] as const), ['closed loop', closed.stages, closed.busy, closed.p95ByThird, closed.sdk]] as const;
    for (const [name, st, b, thirds, sdk] of windows) {
      log(`    ${name} p95 by third of the window (ms): ${thirds.join(' | ')}`);
      const f = (m: ActionStageMedians) => `to task ${m.toTaskMs} pickup ${m.pickupMs} task ${m.taskMs} answer ${m.answerMs} (normal queue ${m.normalQueue}/${m.n}, behind a running task ${m.queuedBehindTask}/${m.n})`;
      log(`    ${name} stages (median ms), random: ${f(st.random)}; slowest: ${f(st.slowest)}`);
      log(`    ${name} stages by action, in the turn's order (${turnOrder.join(', ')}): ${turnOrder.filter((a) => st.byAction[a]).map((a) => `${a}: ${f(st.byAction[a]!)}`).join('; ')}`);
      if (sdk) log(`    ${name} SDK core (the engine's worker): ${describeSdkWindow(sdk)}`);
      log(`    ${name} busy: process ${b.engineProcessCores} cores, Temporal server ${b.temporalServerCores}, the whole machine ${b.machineCores ?? '?'} (steal ${b.stealCores ?? '?'}); threads ${b.threads.map((t) => `${t.thread} ${t.cores}`).join(', ')}`);
    }
    return r;
  };

  const samples: LadderSample[] = [];
  const skipped: Array<{ kind: LadderKind; offeredPerS: number; repeat: number }> = [];
  const step = async (kind: LadderKind, rate: number, repeat: number, probe: LadderSample['probe']) => {
    const idleWaitMs = await waitIdleBoth(engine.worker, baselineWorker);
    // Every rate's window starts on a quiet machine, as the staff step's does (bisection probes follow steps past the knee).
    const quietWait = await waitQuiet(() => selfCpuSeconds() + treeCpuSeconds(devServerPid));
    const s = await runStep(kind, rate, repeat, idleWaitMs, quietWait, seconds, probe);
    samples.push(s);
    log(
      `  ladder r${repeat + 1} ${kind.padEnd(8)} ${String(rate).padStart(3)}/s${probe === 'bisection' ? ' (bisection)' : ''}: ${s.completedPerS}/s done ${s.done}/${s.enrolled}, first step p50/p95/p99 ${s.firstStepMs.p50}/${s.firstStepMs.p95}/${s.firstStepMs.p99} ms` +
        (s.invitationMs ? `, invitation p95 ${s.invitationMs.p95} ms (${s.invitationMs.n})` : '') +
        (s.stages ? `, stages (median ms, random ${s.stages.random.n} | slowest ${s.stages.slowest.n}): started ${s.stages.random.startedMs}|${s.stages.slowest.startedMs} pickup ${s.stages.random.pickupMs}|${s.stages.slowest.pickupMs} committed ${s.stages.random.committedMs}|${s.stages.slowest.committedMs} task ${s.stages.random.taskMs}|${s.stages.slowest.taskMs} retried tasks ${s.stages.random.retriedTasks}|${s.stages.slowest.retriedTasks}` : '') +
        `, backlog ${s.backlogAtWindowEnd}→${s.backlogAtEnd}${s.refused ? `, refused ${s.refused} (admission)` : ''}${s.eagerStarts ? `, eager starts ${s.eagerStarts}` : ''}${s.errors ? `, ${s.errors} errors` : ''}, CPU-s/course ${s.cpuSecondsPerCourse.total} (process ${s.cpuSecondsPerCourse.engineProcess}: ${Object.entries(s.threadCpuSecondsPerCourse).map(([t, c]) => `${t} ${c}`).join(', ')}; server ${s.cpuSecondsPerCourse.temporalServer}; database ${s.cpuSecondsPerCourse.database ?? '-'})${s.cpuSecondsPerCourse.smtpSink != null ? ` (+ SMTP sink ${s.cpuSecondsPerCourse.smtpSink})` : ''}, main thread loop delay p99/max ${s.mainThread.loopDelayP99Ms}/${s.mainThread.loopDelayMaxMs} ms, GC ${s.mainThread.gcPauseMs} ms (${s.mainThread.gcMajor} major), load ${s.loadAvg1m.before}, quiet after ${s.quietWait?.ms} ms (${s.quietWait?.coresBusy} cores), machine ${s.machine.busyCores ?? '?'} cores busy (steal ${s.machine.stealCores ?? '?'})${s.keptUp ? '' : ', did not keep up'}`,
    );
    return s;
  };
  // One sample of each kind per rate and repeat, the order alternating from one rate to the next and
  // on across repeats and bisection steps (engine first, then baseline first: ABBA over consecutive
  // rates), so that drift in the machine's load weighs on both kinds alike and over three repeats every
  // rate has both orders. (Until 2026-12-03 each rate ran ABBA within a repeat: twice the samples and
  // twice the time, about 3.5 hours for a full run, which no session here could run twice in a row.)
  let orderTurn = opts.orderTurn ?? 0;
  const nextOrder = (): readonly LadderKind[] => (orderTurn++ % 2 === 0 ? ['engine', 'baseline'] : ['baseline', 'engine']);
  const t0 = Date.now();
  try {
    // Warm-up, not counted: both workers' bundles loaded, connections open, the first runs of each path.
    await runStep('engine', 2, -1, 0, null, WARM_SECONDS);
    await runStep('baseline', 2, -1, 0, null, WARM_SECONDS);
    for (let repeat = firstRepeat; repeat < repeatsSoFar; repeat++) {
      // Once a kind has completed under half its offered rate at two rates (one rate past saturation
      // shows whether its throughput holds there), its higher rates are skipped in this repeat: they only add backlog.
      const saturated = new Map<LadderKind, Set<number>>([['engine', new Set()], ['baseline', new Set()]]);
      const collapsed = new Set<LadderKind>();
      for (const rate of rates) {
        for (const kind of nextOrder()) {
          if (collapsed.has(kind) && !samples.some((s) => s.kind === kind && s.repeat === repeat && s.offeredPerS === rate)) {
            if (!skipped.some((s) => s.kind === kind && s.repeat === repeat && s.offeredPerS === rate)) skipped.push({ kind, offeredPerS: rate, repeat });
            continue;
          }
          const s = await step(kind, rate, repeat, 'ladder');
          if (s.completedPerS < 0.5 * rate) saturated.get(kind)!.add(rate);
          if (saturated.get(kind)!.size >= 2) collapsed.add(kind);
        }
      }
      // Bisection: each kind's bracket (highest rate kept up, next rate above) narrowed at its geometric
      // middle, both kinds in the same minutes (the order alternating as above), each at its own middle;
      // a kind that kept up at the top rate is offered more (up to the ceiling) until it does not.
      for (let i = 0; i < refineSteps; i++) {
        const probes = new Map<LadderKind, number>();
        for (const kind of ['engine', 'baseline'] as const) {
          const p = nextProbe(kneeBracket(samples, kind, repeat, rates), undefined, ceiling);
          if (p !== null) probes.set(kind, p);
        }
        if (!probes.size) break;
        for (const kind of nextOrder()) {
          const rate = probes.get(kind);
          if (rate !== undefined) await step(kind, rate, repeat, 'bisection');
        }
      }
      for (const kind of ['engine', 'baseline'] as const) {
        const b = kneeBracket(samples, kind, repeat, rates);
        log(`  ladder r${repeat + 1} ${kind}: knee ${b.lo}/s${b.hi === null ? ' (kept up at every rate offered: at least)' : `, below ${b.hi}/s`}`);
      }
    }
    if (opts.staff) {
      const knee = summarizeLadder([...priorSamples, ...samples], rates, repeatsSoFar).engine.knee;
      if (opts.staff.rate) staffAtHalfKnee = await staffStep(opts.staff.rate, '--staff-rate');
      else if (knee > 0) staffAtHalfKnee = await staffStep(knee / 2, 'half the knee');
    }
  } finally {
    if (baselineWorker.getState() === 'RUNNING') baselineWorker.shutdown();
    await engine.stop();
    await baselineRunning.catch(() => undefined);
    await baselineConnection.close();
    mailer.close();
    await sink.stop();
  }
  const all = [...priorSamples, ...samples];
  return { ...summarizeLadder(all, rates, repeatsSoFar), seconds, repeats: repeatsSoFar, orderTurn, p95LimitMs, drainMs, refineSteps, skipped, cpuDatabase: databaseWhere, engineWorkerCache: (engine.worker.options as { maxCachedWorkflows?: number }).maxCachedWorkflows, minutes: round((Date.now() - t0) / 60_000, 1), ...(staffAtHalfKnee ? { staffAtHalfKnee } : {}), samples: all };
}

async function waitIdleBoth(a: Parameters<typeof waitIdle>[0], b: Parameters<typeof waitIdle>[0]): Promise<number> {
  const t0 = Date.now();
  await waitIdle(a);
  await waitIdle(b);
  await waitIdle(a, 500);
  return Date.now() - t0;
}

/** Per kind and rate, the median and spread of the samples; the knee of each kind; the ratios of the engine to the baseline. */
export function summarizeLadder(samples: LadderSample[], rates: number[], repeats: number) {
  // The fixed rates and the rates bisection chose for this kind.
  const ratesOf = (kind: LadderKind) => [...new Set([...rates, ...samples.filter((s) => s.kind === kind).map((s) => s.offeredPerS)])].sort((a, b) => a - b);
  const perRate = (kind: LadderKind) =>
    ratesOf(kind)
      .map((rate) => {
        const ss = samples.filter((s) => s.kind === kind && s.offeredPerS === rate);
        if (!ss.length) return null;
        const med = (f: (s: LadderSample) => number | null | undefined) => {
          const xs = ss.map(f).filter((x): x is number => typeof x === 'number');
          return xs.length ? round(median(xs), 3) : null;
        };
        return {
          offeredPerS: rate,
          samples: ss.length,
          keptUp: ss.filter((s) => s.keptUp).length,
          completedPerS: med((s) => s.completedPerS),
          completedPerSSpread: spread(ss.map((s) => s.completedPerS)),
          firstStepP50Ms: med((s) => s.firstStepMs.p50),
          firstStepP95Ms: med((s) => s.firstStepMs.p95),
          firstStepP95MsSpread: spread(ss.map((s) => s.firstStepMs.p95).filter((x): x is number => x !== null)),
          firstStepP99Ms: med((s) => s.firstStepMs.p99),
          ...(kind === 'engine' ? { invitationP50Ms: med((s) => s.invitationMs?.p50), invitationP95Ms: med((s) => s.invitationMs?.p95), invitationP99Ms: med((s) => s.invitationMs?.p99) } : {}),
          backlogAtEnd: med((s) => s.backlogAtEnd),
          refused: med((s) => s.refused),
          cpuSecondsPerCourse: Object.fromEntries([...['engineProcess', 'temporalServer', 'database', 'total'], ...(kind === 'engine' ? ['smtpSink'] : [])].map((k) => [k, med((s) => s.cpuSecondsPerCourse[k])])),
          mainThread: { loopDelayP99Ms: med((s) => s.mainThread?.loopDelayP99Ms), loopDelayMaxMs: med((s) => s.mainThread?.loopDelayMaxMs), gcPauseMs: med((s) => s.mainThread?.gcPauseMs), gcMajor: med((s) => s.mainThread?.gcMajor) },
          loadAvg1m: spread(ss.map((s) => s.loadAvg1m.before)),
        };
      })
      .filter((x): x is NonNullable<typeof x> => x !== null);
  // The knee of one repeat: the highest rate whose every sample in that repeat kept up (0: none did),
  // below the next rate offered or planned (bench/knee.ts).
  const brackets = (k: LadderKind): KneeBracket[] => Array.from({ length: repeats }, (_, r) => kneeBracket(samples, k, r, rates));
  const kind = (k: LadderKind) => {
    const rows = perRate(k);
    const kneeBrackets = brackets(k);
    const knees = kneeBrackets.map((b) => b.lo);
    const knee = median(knees);
    const past = rows.filter((r) => r.offeredPerS > knee);
    const peak = Math.max(0, ...rows.map((r) => r.completedPerS ?? 0));
    const peakAt = rows.find((r) => r.completedPerS === peak)?.offeredPerS;
    // Past the knee, throughput should stay at the best the kind reached (back-pressure), not fall away
    // from it (collapse): the lowest completions/s at the peak's rate and above, against the peak.
    const afterPeak = past.filter((r) => r.offeredPerS >= (peakAt ?? 0));
    const minPast = afterPeak.length ? Math.min(...afterPeak.map((r) => r.completedPerS ?? 0)) : null;
    return {
      knee,
      kneeSpread: spread(knees),
      kneePerRepeat: knees,
      /** Per repeat: the knee is at least lo and below hi (null: the top rate kept up). */
      kneeBracketPerRepeat: kneeBrackets,
      /** The repeat the median knee comes from kept up at every rate it was offered (the ceiling included): the true knee is at least this. */
      kneeIsLowerBound: kneeBrackets.some((b) => b.lo === knee && b.hi === null),
      peakCompletedPerS: peak,
      peakAtOfferedPerS: peakAt ?? null,
      pastKnee: past.length && peak > 0 && minPast !== null
        ? {
            offered: past.map((r) => r.offeredPerS),
            completedPerS: past.map((r) => r.completedPerS),
            lowestFromPeakVsPeak: round(minPast / peak, 2),
            verdict: peakAt === Math.max(...rows.map((r) => r.offeredPerS)) ? 'peak at the top rate measured' : minPast >= 0.9 * peak ? 'holds' : 'collapses',
          }
        : { verdict: 'not reached' },
      perRate: rows,
    };
  };
  const engine = kind('engine');
  const baseline = kind('baseline');
  const kneeRatios = Array.from({ length: repeats }, (_, r) => (baseline.kneePerRepeat[r]! > 0 ? engine.kneePerRepeat[r]! / baseline.kneePerRepeat[r]! : NaN)).filter(Number.isFinite);
  // CPU per course compared at the highest rate both kept up (fixed costs such as polling weigh alike there), else the lowest rate.
  const both = engine.perRate.filter((e) => e.keptUp === e.samples && baseline.perRate.some((b) => b.offeredPerS === e.offeredPerS && b.keptUp === b.samples)).map((e) => e.offeredPerS);
  const cpuRate = both.length ? Math.max(...both) : Math.min(...rates);
  const cpuE = engine.perRate.find((r) => r.offeredPerS === cpuRate)?.cpuSecondsPerCourse;
  const cpuB = baseline.perRate.find((r) => r.offeredPerS === cpuRate)?.cpuSecondsPerCourse;
  return {
    engine,
    baseline,
    capacityVsBaseline: baseline.knee > 0 ? round(engine.knee / baseline.knee, 2) : null,
    /** The baseline kept up at the ladder's top rate: its knee is higher, the ratio lower than printed. */
    capacityVsBaselineIsUpperBound: baseline.kneeIsLowerBound && engine.knee > 0,
    capacityVsBaselineSpread: spread(kneeRatios),
    /** Per repeat, the range the ratio lies in given both knees' brackets: [engine lo / baseline hi, engine hi / baseline lo]. */
    capacityVsBaselineRangePerRepeat: Array.from({ length: repeats }, (_, r) => capacityRange(engine.kneeBracketPerRepeat[r]!, baseline.kneeBracketPerRepeat[r]!)),
    peakVsBaseline: baseline.peakCompletedPerS > 0 ? round(engine.peakCompletedPerS / baseline.peakCompletedPerS, 2) : null,
    cpuComparedAtPerS: cpuRate,
    cpuSecondsPerCourse: { engine: cpuE ?? null, baseline: cpuB ?? null },
    cpuVsBaseline: cpuE?.total && cpuB?.total ? round(cpuE.total / cpuB.total, 2) : null,
    /** Each kind's CPU-s per course at its own knee: the capacity ratio comes out near one over their ratio (bench/knee.ts cpuAtKnees). */
    cpuAtKnees: cpuAtKnees({ knee: engine.knee, samples: samples.filter((x) => x.kind === 'engine') }, { knee: baseline.knee, samples: samples.filter((x) => x.kind === 'baseline') }),
    /** The machine's speed in this run, to read the absolute latency targets against (bench/knee.ts machineGauge). */
    machineGauge: machineGauge(baseline.perRate),
  };
}

// The engine under test, wired the way src/runtime.ts wires it (same worker factory, same client,
// same HTTP app), on the benchmark's own infrastructure, with quiet logs.
import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import { type NativeConnection, Runtime, makeTelemetryFilterString, type Worker, type WorkerOptions } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import type { CompiledQuery } from 'kysely';
import type pg from 'pg';
import type { ActivityDeps } from '../src/activities';
import { buildApp } from '../src/api/app';
import { createApiToken } from '../src/auth/tokens';
import { connectTemporal } from '../src/client/temporal';
import { type Config, loadConfig } from '../src/config';
import { createDbLanes, type Db } from '../src/db/connect';
import type { StaffRole } from '../src/db/schema';
import { createLogger } from '../src/log';
import { sdkMetricsOptions } from '../src/metrics/sdk';
import { payloadCodecFor } from '../src/security/keys';
import { createWorker, workerSlots } from '../src/worker/worker';
import { type BenchInfra, startInfra } from './infra';

const silent = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

let runtimeInstalled = false;
/** The SDK runtime, once, quiet; with its Prometheus endpoint when a bind address is given. */
export function installBenchRuntime(prometheusBindAddress?: string): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const warn = (m: string, meta?: Record<string, unknown>) => {
    const err = meta?.error as { message?: string; stack?: string } | undefined;
    process.stderr.write(`[sdk] ${m} ${meta ? JSON.stringify(meta).slice(0, 500) : ''}${err?.message ? ` ${err.stack ?? err.message}` : ''}\n`);
  };
  Runtime.install({
    // BENCH_SDK_LOG=1 shows the SDK's warnings and errors (a workflow task failing, say).
    logger: (process.env.BENCH_SDK_LOG ? { ...silent, log: (level: string, m: string, meta?: Record<string, unknown>) => (level === 'WARN' || level === 'ERROR' ? warn(m, meta) : undefined), warn, error: warn } : silent) as never,
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} },
      ...(prometheusBindAddress ? { metrics: sdkMetricsOptions(prometheusBindAddress) } : {}),
    },
  });
}

export function benchConfig(infra: BenchInfra, taskQueue = 'kap-bench'): Config {
  return loadConfig({
    NODE_ENV: 'development',
    TEMPORAL_ADDRESS: infra.temporalAddress,
    DATABASE_URL: infra.databaseUrl,
    TEMPORAL_TASK_QUEUE: taskQueue,
    DATA_DIR: infra.tmpDir,
    LOG_LEVEL: 'silent',
    SECRET_KEY: crypto.randomBytes(32).toString('hex'),
    PAYLOAD_KEYS: `bench-1:${crypto.randomBytes(32).toString('base64')}`,
    // The engine's own settings an A/B run turns off; the config refuses a value other than on/off.
    DATABASE_PREPARED_STATEMENTS: process.env.DATABASE_PREPARED_STATEMENTS,
    // The worker's settings as `npm start` reads them, so an A/B run can set them (README: Configuration).
    WORKER_WORKFLOW_TASK_SLOTS: process.env.WORKER_WORKFLOW_TASK_SLOTS,
    WORKER_WORKFLOW_TASK_POLLS: process.env.WORKER_WORKFLOW_TASK_POLLS,
    WORKER_LOCAL_ACTIVITY_SLOTS: process.env.WORKER_LOCAL_ACTIVITY_SLOTS,
    WORKER_ACTIVITY_SLOTS: process.env.WORKER_ACTIVITY_SLOTS,
    WORKER_WORKFLOW_THREADS: process.env.WORKER_WORKFLOW_THREADS,
    // A cache other than npm start's is a diagnosis (what a full cache costs): the staff target is then not counted (bench/run.ts).
    WORKER_MAX_CACHED_WORKFLOWS: process.env.WORKER_MAX_CACHED_WORKFLOWS,
  });
}

export interface CapturingDb {
  /** The API's lane (requests, enrollment, seeding). */
  db: Db;
  /** The worker's lane of the same pool, as `npm start` wires them (src/db/lanes.ts). */
  workerDb: Db;
  pool: pg.Pool;
  /** The last compiled query whose SQL matched, for EXPLAIN. */
  lastMatching(re: RegExp): CompiledQuery | undefined;
  /** Statements sent so far through either lane. */
  statements(): number;
}

/**
 * The database exactly as `npm start` opens it (src/db/connect.ts createDbLanes: a pool of one on
 * PGlite, which serves one connection, with the API's lane served first), plus a log hook that counts
 * statements and keeps the recent compiled queries so the benchmark can EXPLAIN the SQL the routes
 * really sent.
 */
/** BENCH_SQL_TALLY=1: every statement's first 90 characters, counted, with the milliseconds Kysely timed for it (one connection to PGlite: its execution and the hop to its thread); printed at the end of the run and per ladder sample. */
export const sqlTally: Map<string, { n: number; ms: number }> | undefined = process.env.BENCH_SQL_TALLY ? new Map() : undefined;

export function benchDb(infra: BenchInfra, config: Pick<Config, 'DATABASE_PREPARED_STATEMENTS'>, poolMax = infra.database === 'pglite' ? 1 : 10): CapturingDb {
  const recent: CompiledQuery[] = [];
  let statements = 0;
  const { interactive, background, pool } = createDbLanes({
    url: infra.databaseUrl,
    poolMax,
    preparedStatements: config.DATABASE_PREPARED_STATEMENTS === 'on',
    log: (event) => {
      if (event.level !== 'query') return;
      statements++;
      if (sqlTally) {
        const k = event.query.sql.replace(/\s+/g, ' ').slice(0, 90);
        const t = sqlTally.get(k) ?? { n: 0, ms: 0 };
        sqlTally.set(k, { n: t.n + 1, ms: t.ms + event.queryDurationMillis });
      }
      recent.push(event.query);
      if (recent.length > 50) recent.shift();
    },
  });
  return {
    db: interactive,
    workerDb: background,
    pool,
    statements: () => statements,
    lastMatching(re) {
      for (let i = recent.length - 1; i >= 0; i--) if (re.test(recent[i]!.sql)) return recent[i];
      return undefined;
    },
  };
}

/** BENCH_LOCAL_FIRST_ATTEMPTS: a whole number of 0 or more, or unset (the default, 2). */
function localFirstAttempts(): { localAttemptsAtOnce?: number } {
  const v = process.env.BENCH_LOCAL_FIRST_ATTEMPTS;
  if (v === undefined || v === '') return {};
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`BENCH_LOCAL_FIRST_ATTEMPTS: a whole number of 0 or more, not "${v}"`);
  return { localAttemptsAtOnce: n };
}

/** A course worker as src/runtime.ts makes one; `mail` = its SMTP transport (default: the in-memory mailer). */
export async function startBenchWorker(config: Config, db: Db, overrides: Partial<WorkerOptions> = {}, mail?: Pick<ActivityDeps, 'mailer' | 'mail'>): Promise<{ worker: Worker; connection: NativeConnection; options: Partial<WorkerOptions>; stop(): Promise<void> }> {
  // A tuner replaces the slot counts (the SDK refuses both).
  const options: Partial<WorkerOptions> = { ...(overrides.tuner ? {} : workerSlots(config, undefined, { eagerStarts: true })), ...overrides };
  const { worker, connection } = await createWorker({
    address: config.TEMPORAL_ADDRESS!,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    db,
    ...mail,
    // The invitation's local first attempts at once (src/activities/notify.ts; default 2), to measure it.
    ...localFirstAttempts(),
    payloadCodec: payloadCodecFor(config),
    overrides: { shutdownGraceTime: '2 seconds', ...options },
  });
  const running = worker.run();
  running.catch(() => undefined);
  return {
    worker,
    connection,
    options,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
    },
  };
}

export async function benchClient(config: Config): Promise<Client> {
  return connectTemporal({ address: config.TEMPORAL_ADDRESS!, namespace: config.TEMPORAL_NAMESPACE, payloadCodec: payloadCodecFor(config) });
}

/** The real HTTP app listening on a free loopback port; requests go through real sockets. */
export async function startBenchApp(config: Config, db: Db, temporal: Client): Promise<{ app: FastifyInstance; baseUrl: string; stop(): Promise<void> }> {
  const app = await buildApp({ config, db, temporal, log: createLogger('silent') });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, baseUrl: address, stop: () => app.close() };
}

export async function tokenFor(db: Db, role: StaffRole, clinicId?: string): Promise<string> {
  return (await createApiToken(db, { role, clinicId: clinicId ?? null, label: `bench ${role}` })).token;
}

export async function getJson(baseUrl: string, path: string, token: string): Promise<{ status: number; body: any }> {
  const res = await fetch(baseUrl + path, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

/** What a benchmark phase runs on: a Temporal dev server, a database, the engine's client and HTTP app. */
export type BenchState = { infra: BenchInfra; config: Config; temporal: Client; api: Awaited<ReturnType<typeof startBenchApp>>; stop(): Promise<void> } & CapturingDb;

/** Starts a fresh state (bench/run.ts opens one per ladder repeat and phase); `stop()` ends it all, last started first. */
export async function openBenchState(): Promise<BenchState> {
  const infra = await startInfra();
  const stops: Array<() => Promise<unknown>> = [() => infra.stop()];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const config = benchConfig(infra);
    const d = benchDb(infra, config);
    stops.push(() => d.db.destroy(), () => d.workerDb.destroy());
    const { migrateToLatest } = await import('../src/db/migrate');
    await migrateToLatest(d.db);
    const temporal = await benchClient(config);
    stops.push(() => temporal.connection.close());
    const api = await startBenchApp(config, d.db, temporal);
    stops.push(() => api.stop());
    return { infra, config, ...d, temporal, api, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

// One helper that removes per-test boilerplate: a real worker (on a task queue of its own), a real
// Temporal client, the real database and the HTTP app, all on what global setup started.
import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, makeTelemetryFilterString, NativeConnection, Runtime, type Worker, type WorkerOptions } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { connectTemporal } from '../../src/client/temporal';
import { type Config, loadConfig } from '../../src/config';
import { createDb, type Db } from '../../src/db/connect';
import { createLogger } from '../../src/log';
import { payloadCodecFor } from '../../src/security/keys';
import { createWorker, WORKFLOW_BUNDLE_OPTIONS } from '../../src/worker/worker';
import type { Mailer } from '../../src/mail/mailer';
import { submitFormAnswers } from '../../src/client/course-actions';

let runtimeReady = false;

/** Fixed test keys (newest first): test-2 seals, test-1 still opens older payloads. */
export const TEST_PAYLOAD_KEYS = `test-2:${Buffer.alloc(32, 2).toString('base64')},test-1:${Buffer.alloc(32, 1).toString('base64')}`;
let bundle: Promise<{ code: string }> | undefined;

export interface TestStack {
  config: Config;
  db: Db;
  temporal: Client;
  worker: Worker;
  app: FastifyInstance;
  taskQueue: string;
  /** With `deferWorker`: starts polling (the worker is created but idle until then). */
  runWorker(): void;
  stop(): Promise<void>;
}

export function testEnv(): { temporalAddress: string; databaseUrl: string } {
  const temporalAddress = process.env.KAP_TEST_TEMPORAL_ADDRESS;
  const databaseUrl = process.env.KAP_TEST_DATABASE_URL;
  if (!temporalAddress || !databaseUrl) throw new Error('integration harness not started (run through jest --selectProjects integration)');
  return { temporalAddress, databaseUrl };
}

/**
 * `clientOnWorkerConnection`: the API's client shares the worker's connection, as `npm start` wires them
 * (src/runtime.ts startApi), so enrollments ask for eager workflow start; by default the client has a
 * connection of its own, as `npm run api` beside separate workers.
 */
export async function startTestStack(opts: { env?: Record<string, string>; workerOptions?: Partial<WorkerOptions>; mailer?: Mailer; deferWorker?: boolean; clientOnWorkerConnection?: boolean } = {}): Promise<TestStack> {
  const { temporalAddress, databaseUrl } = testEnv();
  if (!runtimeReady) {
    // Quiet SDK logs in tests; errors still surface through failing assertions.
    Runtime.install({
      logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as never,
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
    });
    runtimeReady = true;
  }
  const taskQueue = `test-${crypto.randomUUID()}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    TEMPORAL_ADDRESS: temporalAddress,
    DATABASE_URL: databaseUrl,
    TEMPORAL_TASK_QUEUE: taskQueue,
    LOG_LEVEL: 'silent',
    SECRET_KEY: 'test-secret-key-0123456789abcdef0123456789',
    PAYLOAD_KEYS: TEST_PAYLOAD_KEYS,
    // Off unless a test sets it: every suite shares one database, and a course whose test stopped its
    // worker before the first step would count against the next suites' enrollments for 10 minutes.
    ENROLLMENT_BACKLOG_LIMIT: '0',
    ...opts.env,
  });
  const log = createLogger(process.env.KAP_TEST_LOG_LEVEL ?? 'silent');
  // One connection on the embedded PGlite (it serves one at a time), several on a real server.
  const db = createDb({ url: databaseUrl, poolMax: process.env.DATABASE_URL ? 4 : 1 });
  bundle ??= bundleWorkflowCode({ ...WORKFLOW_BUNDLE_OPTIONS, logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as never });
  const connection = await NativeConnection.connect({ address: temporalAddress });
  const { worker } = await createWorker({
    address: temporalAddress,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue,
    db,
    connection,
    secretKey: config.SECRET_KEY,
    webhookPrivateTargets: config.webhookPrivateTargets,
    webhookGiveUpSeconds: config.WEBHOOK_GIVE_UP_SECONDS,
    ...(opts.mailer ? { mailer: opts.mailer } : {}),
    payloadCodec: payloadCodecFor(config),
    overrides: { workflowBundle: await bundle, workflowsPath: undefined, ...opts.workerOptions },
  });
  let running: Promise<void> = Promise.resolve();
  const runWorker = () => void (running = worker.run());
  if (!opts.deferWorker) runWorker();
  const temporal = await connectTemporal({ address: temporalAddress, namespace: config.TEMPORAL_NAMESPACE, payloadCodec: payloadCodecFor(config), ...(opts.clientOnWorkerConnection ? { workerConnection: connection } : {}) });
  const app = await buildApp({ config, db, temporal, log });
  await app.ready();
  return {
    config,
    db,
    temporal,
    worker,
    app,
    taskQueue,
    runWorker,
    async stop() {
      await app.close();
      if (worker.getState() === 'RUNNING') worker.shutdown();
      else if (worker.getState() === 'INITIALIZED') {
        // Never run: run and stop it, so its connection and slots are released.
        runWorker();
        worker.shutdown();
      }
      await running.catch(() => undefined);
      if (!opts.clientOnWorkerConnection) await temporal.connection.close();
      await connection.close();
      await db.destroy();
    },
  };
}

/** Polls until fn returns a truthy value (eventual consistency of projections and visibility). */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 20_000, intervalMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
}

/**
 * The client answers every instrument of a step's assessment, straight through the course's
 * `submitAnswers` Update (`answers` by instrument), once its invitation rows are written (the form is
 * open in the course from the same workflow task). Returns the instruments answered.
 */
export async function answerInvited(stack: Pick<TestStack, 'db' | 'temporal'>, courseId: string, stepKey: string, answers: Record<string, unknown[]>): Promise<string[]> {
  const rows = await eventually(async () => {
    const r = await stack.db.selectFrom('assessments').select(['instrument_id']).where('course_id', '=', courseId).where('step_key', '=', stepKey).execute();
    return r.length ? r : null;
  });
  for (const r of rows) {
    const given = answers[r.instrument_id];
    if (!given) throw new Error(`answerInvited: no answers given for ${r.instrument_id}`);
    await submitFormAnswers(stack.temporal, `${courseId}/${stepKey}`, { instrumentId: r.instrument_id as never, answers: given });
  }
  return rows.map((r) => r.instrument_id);
}

// Composition of the running engine: embedded or external Temporal and PostgreSQL, then the worker
// and the HTTP server. Used by `npm start` (everything in one process), `npm run worker` and `npm run api`.
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { type NativeConnection, Runtime, makeTelemetryFilterString, type Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './api/app';
import { connectTemporal } from './client/temporal';
import type { Config } from './config';
import { createDb, createDbLanes, type Db, type DbLanes } from './db/connect';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './db/embedded-postgres';
import { migrateToLatest } from './db/migrate';
import type { Logger } from './log';
import { type MailProcess, type MailRuntime, startMail } from './mail/setup';
import { type DevServer, startDevServer, stopLeftoverDevServer } from './temporal/dev-server';
import { sdkMetricsOptions } from './metrics/sdk';
import { payloadCodecFor } from './security/keys';
import { resolveToolchain } from './temporal/toolchain';
import { describeTemporalAuth, temporalAuth } from './temporal/auth';
import { createWorker, workerSlots } from './worker/worker';

type Stopper = { name: string; stop: () => Promise<unknown> };

/** Resources started in order and stopped in reverse. */
export class Stack {
  private readonly stoppers: Stopper[] = [];
  constructor(readonly log: Logger) {}
  add(name: string, stop: () => Promise<unknown>): void {
    this.stoppers.push({ name, stop });
  }
  async stop(): Promise<void> {
    while (this.stoppers.length) {
      const s = this.stoppers.pop()!;
      try {
        await s.stop();
        this.log.info({ part: s.name }, 'stopped');
      } catch (err) {
        this.log.warn({ part: s.name, err: String(err) }, 'error while stopping');
      }
    }
  }
}

let runtimeInstalled = false;
/**
 * The SDK's Rust runtime, once per process, logging through our logger at warn and above. With
 * `metricsBindAddress` it also serves the worker's metrics in Prometheus format there (GET /metrics of
 * the API in the same process includes them; see src/metrics/sdk.ts).
 */
export function installTemporalRuntime(log: Logger, opts: { metricsBindAddress?: string } = {}): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  // The SDK is chatty at info (bundle reports, state changes): keep it at warn unless debugging.
  const sdkLog = log.child({ component: 'temporal-sdk' }, { level: log.levelVal <= 20 ? log.level : 'warn' });
  Runtime.install({
    shutdownSignals: [], // the process owns its signals and shuts down in order
    logger: {
      log: (level, message, meta) => sdkLog[level === 'TRACE' ? 'trace' : (level.toLowerCase() as 'debug' | 'info' | 'warn' | 'error')]({ ...meta }, message),
      trace: (m, meta) => sdkLog.trace(meta ?? {}, m),
      debug: (m, meta) => sdkLog.debug(meta ?? {}, m),
      info: (m, meta) => sdkLog.info(meta ?? {}, m),
      warn: (m, meta) => sdkLog.warn(meta ?? {}, m),
      error: (m, meta) => sdkLog.error(meta ?? {}, m),
    },
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
      ...(opts.metricsBindAddress ? { metrics: sdkMetricsOptions(opts.metricsBindAddress) } : {}),
    },
  });
  if (opts.metricsBindAddress) log.info({ url: `http://${opts.metricsBindAddress}/metrics` }, 'Temporal SDK metrics (Prometheus)');
}

export interface Infrastructure {
  temporalAddress: string;
  databaseUrl: string;
  temporalUiUrl?: string;
  devServer?: DevServer;
  embeddedPg?: EmbeddedPostgres;
}

/** Starts the embedded Temporal dev server and PGlite unless TEMPORAL_ADDRESS / DATABASE_URL are set. */
export async function startInfrastructure(config: Config, stack: Stack, log: Logger): Promise<Infrastructure> {
  let temporalAddress = config.TEMPORAL_ADDRESS;
  let devServer: DevServer | undefined;
  if (!temporalAddress) {
    const { temporalCli } = resolveToolchain(config.TEMPORAL_CLI_PATH);
    const t0 = Date.now();
    // A dev server this data folder's previous `npm start` left running (it was killed): stop it first.
    const pidFile = path.join(config.DATA_DIR, 'temporal-dev-server.pid');
    await stopLeftoverDevServer(pidFile, (msg) => log.warn({ pidFile }, msg));
    devServer = await startDevServer({
      cliPath: temporalCli,
      port: config.TEMPORAL_PORT,
      uiPort: config.TEMPORAL_UI_PORT,
      dbFile: path.join(config.DATA_DIR, 'temporal.sqlite'),
      namespace: config.TEMPORAL_NAMESPACE,
      logFile: path.join(config.DATA_DIR, 'temporal.log'),
      uiCodecEndpoint: `${config.publicUrl}/codec`,
      pidFile,
    });
    stack.add('temporal dev server', () => devServer!.stop());
    temporalAddress = devServer.address;
    log.info({ address: temporalAddress, ui: devServer.uiUrl, ms: Date.now() - t0 }, 'Temporal dev server started');
  }
  let databaseUrl = config.DATABASE_URL;
  let embeddedPg: EmbeddedPostgres | undefined;
  if (!databaseUrl) {
    const t0 = Date.now();
    // On a thread of its own: PGlite's WebAssembly off the event loop that answers staff and clients.
    embeddedPg = await startEmbeddedPostgres({
      dataDir: path.join(config.DATA_DIR, 'pg'),
      port: config.EMBEDDED_PG_PORT,
      thread: true,
      onThreadExit: (reason) => {
        // Nothing can be recorded any more: stop loudly rather than answer every request with an error.
        log.fatal({ reason }, 'embedded PostgreSQL stopped unexpectedly; exiting');
        process.exit(1);
      },
    });
    stack.add('embedded PostgreSQL', () => embeddedPg!.stop());
    databaseUrl = embeddedPg.url;
    log.info({ port: embeddedPg.port, ms: Date.now() - t0, thread: true }, 'embedded PostgreSQL (PGlite) started');
  }
  return { temporalAddress, databaseUrl, temporalUiUrl: devServer?.uiUrl, devServer, embeddedPg };
}

function poolOptions(config: Config, url: string, log: Logger) {
  return {
    url,
    // The embedded PGlite serves one connection (see embedded-postgres.ts); never hold a transaction
    // open while awaiting another query on `db`, or a pool of one waits for itself.
    poolMax: config.embeddedDatabase ? 1 : config.DATABASE_POOL_MAX,
    preparedStatements: config.DATABASE_PREPARED_STATEMENTS === 'on',
    onError: (err: Error) => log.warn({ err: err.message }, 'database pool error'),
  };
}

export function openDatabase(config: Config, url: string, stack: Stack, log: Logger): Db {
  const db = createDb(poolOptions(config, url, log));
  stack.add('database pool', () => db.destroy());
  return db;
}

/** One pool for a process that runs the API and the worker: the API's lane goes first (db/lanes.ts). */
export function openDatabaseLanes(config: Config, url: string, stack: Stack, log: Logger): DbLanes {
  const lanes = createDbLanes(poolOptions(config, url, log));
  stack.add('database pool', async () => {
    await lanes.interactive.destroy();
    await lanes.background.destroy();
  });
  return lanes;
}

export async function runMigrations(db: Db, log: Logger): Promise<void> {
  const results = await migrateToLatest(db);
  for (const r of results) log.info({ migration: r.migrationName, status: r.status }, 'migration');
}

/** The mail transport (SMTP_URL, or for `npm start` the embedded SMTP sink when unset); stopped after the worker. */
export async function startMailRuntime(config: Config, db: Db, stack: Stack, log: Logger, who: MailProcess): Promise<MailRuntime> {
  const mail = await startMail(config, db, log, who);
  stack.add('mail', () => mail.stop());
  return mail;
}

/**
 * `eagerStarts`: this process's API starts courses on the worker's connection (`npm start`), so the
 * worker keeps slots for eager workflow starts (src/worker/worker.ts workerSlots).
 */
export async function startWorker(config: Config, address: string, db: Db, stack: Stack, log: Logger, mail?: MailRuntime, opts: { eagerStarts?: boolean } = {}): Promise<{ worker: Worker; connection: NativeConnection }> {
  const t0 = Date.now();
  const auth = temporalAuth(config);
  const { worker, connection } = await createWorker({ address, auth, namespace: config.TEMPORAL_NAMESPACE, taskQueue: config.TEMPORAL_TASK_QUEUE, db, mailer: mail?.mailer, mail: mail?.settings, webhookPrivateTargets: config.webhookPrivateTargets, webhookGiveUpSeconds: config.WEBHOOK_GIVE_UP_SECONDS, payloadCodec: payloadCodecFor(config), overrides: workerSlots(config, undefined, { eagerStarts: opts.eagerStarts }) });
  const running = worker.run();
  running.catch((err) => log.error({ err: String(err) }, 'worker stopped with an error'));
  stack.add('worker connection', () => connection.close());
  stack.add('worker', async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running.catch(() => undefined);
  });
  log.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, temporalAuth: describeTemporalAuth(auth), ms: Date.now() - t0 }, 'worker started');
  return { worker, connection };
}

/**
 * The API. `workerConnection`: the in-process worker's (`npm start`), which the API's client shares so
 * that an enrollment's first task goes straight to that worker (eager workflow start,
 * src/client/temporal.ts); the worker closes it. Without it (`npm run api`) the client connects on its own.
 */
export async function startApi(config: Config, address: string, db: Db, stack: Stack, log: Logger, workerConnection?: NativeConnection): Promise<{ app: FastifyInstance; temporal: Client }> {
  const temporal = await connectTemporal({ address, namespace: config.TEMPORAL_NAMESPACE, ...temporalAuth(config), payloadCodec: payloadCodecFor(config), ...(workerConnection ? { workerConnection } : {}) });
  if (!workerConnection) stack.add('temporal client', () => temporal.connection.close());
  const app = await buildApp({ config, db, temporal, log });
  try {
    await app.listen({ port: config.PORT, host: config.HOST });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new Error(`port ${config.PORT} is in use (set PORT)`);
    throw err;
  }
  stack.add('http server', () => app.close());
  return { app, temporal };
}

/** SIGINT / SIGTERM stop the stack in order; a second signal exits at once. */
export function onShutdownSignal(stack: Stack, log: Logger): void {
  let stoppingSince = 0;
  const handler = (signal: NodeJS.Signals) => {
    // Ctrl-C reaches this process twice when it runs under npm/tsx (the terminal's signal to the
    // group, and the wrapper forwarding it): only a second Ctrl-C after 2 s means "exit now".
    if (stoppingSince && Date.now() - stoppingSince < 2000) return;
    if (stoppingSince) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    stoppingSince = Date.now();
    log.info({ signal }, 'shutting down');
    stack.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

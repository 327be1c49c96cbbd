// The production topology on this machine, every part a process of its own on 127.0.0.1: PostgreSQL
// (Debian's, a fresh cluster; or the server at a URL), the Temporal server on it, N `npm run worker`,
// one `npm run api`, and an SMTP sink that counts what it accepts (chaos/sink.ts) in the calling
// process: the workers send to it over SMTP and never start a sink of their own. Used by
// `npm run cluster`, the kill-a-worker test and the knee measurement (scripts/cluster/README.md).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ChaosPostgres } from '../../chaos/postgres';
import { type Child, engineEnv, startChild } from '../../chaos/procs';
import { ChaosSmtpSink } from '../../chaos/sink';
import { PROJECT_ROOT } from '../../src/config';
import { createDb, type Db } from '../../src/db/connect';
import { migrateToLatest } from '../../src/db/migrate';
import { freePort } from '../../src/temporal/dev-server';
import { ensureServerFiles, pgTarget, TemporalServer } from './temporal-server';

export interface ClusterOptions {
  workers: number;
  /** Start `npm run api` too. */
  api: boolean;
  apiPort?: number;
  temporalPort?: number;
  /** A PostgreSQL server to use (its user may create databases); default a fresh cluster on loopback. */
  postgresUrl?: string;
  historyShards?: number;
  /** Extra environment for the workers (e.g. slot counts). */
  workerEnv?: NodeJS.ProcessEnv;
  log: (m: string) => void;
}

const tsx = require.resolve('tsx');

export class Cluster {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'kap-cluster-'));
  readonly payloadKeys = `cluster-1:${crypto.randomBytes(32).toString('base64')}`;
  readonly secretKey = crypto.randomBytes(32).toString('hex');
  pg: ChaosPostgres | null = null;
  server: TemporalServer | null = null;
  sink!: ChaosSmtpSink;
  workers: Array<Child | null> = [];
  api: Child | null = null;
  apiPort = 0;
  /** The engine's database (the projection, outbox, audit) on the same PostgreSQL. */
  databaseUrl = '';
  db: Db | null = null;

  constructor(readonly opts: ClusterOptions) {}

  get temporalAddress(): string {
    return this.server!.address;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  engineEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return engineEnv({ temporalAddress: this.temporalAddress, databaseUrl: this.databaseUrl, smtpUrl: this.sink.url, payloadKeys: this.payloadKeys, secretKey: this.secretKey, publicUrl: this.apiUrl }, extra);
  }


  /** PostgreSQL, the server binaries (found or built), schemas, server, namespace, engine database, sink. */
  async startInfrastructure(): Promise<void> {
    const { log } = this.opts;
    const files = ensureServerFiles(log);
    let adminUrl = this.opts.postgresUrl;
    if (!adminUrl) {
      this.pg = new ChaosPostgres(this.root, await freePort());
      this.pg.init();
      await this.pg.start();
      adminUrl = this.pg.url;
      log(`PostgreSQL ${path.basename(path.dirname(this.pg.bin))} on 127.0.0.1:${this.pg.port} (data in ${this.root})`);
    }
    const target = pgTarget(adminUrl);
    this.server = new TemporalServer({ files, pg: target, root: this.root, frontendPort: this.opts.temporalPort, historyShards: this.opts.historyShards, log });
    await this.server.start();

    // The engine's own database beside Temporal's two.
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      const { rowCount } = await admin.query("select 1 from pg_database where datname = 'kap'");
      if (!rowCount) await admin.query('create database kap');
    } finally {
      await admin.end();
    }
    const u = new URL(adminUrl);
    u.pathname = '/kap';
    this.databaseUrl = u.toString();
    this.db = createDb({ url: this.databaseUrl, poolMax: 4, onError: () => undefined });
    await migrateToLatest(this.db);
    log(`engine database migrated (${u.host}/kap)`);

    this.sink = new ChaosSmtpSink(await freePort());
    await this.sink.start();
    log(`SMTP sink on ${this.sink.url}`);
  }

  /** Worker `i` (0-based): `npm run worker`, ready once it logs "worker started". */
  async startWorker(i: number): Promise<Child> {
    const child = await startChild({
      name: `worker-${i + 1}`,
      command: process.execPath,
      args: ['--import', tsx, path.join(PROJECT_ROOT, 'src/worker/main.ts')],
      cwd: PROJECT_ROOT,
      env: this.engineEnv({ DATA_DIR: path.join(this.root, `worker-${i + 1}-data`), ...this.opts.workerEnv }),
      logFile: path.join(this.root, `worker-${i + 1}.log`),
      readyWhen: /"msg":"worker started"/,
      readyTimeoutMs: 180_000,
    });
    this.workers[i] = child;
    return child;
  }

  async startApi(): Promise<void> {
    if (!this.apiPort) this.apiPort = this.opts.apiPort ?? (await freePort());
    this.api = await startChild({
      name: 'api',
      command: process.execPath,
      args: ['--import', tsx, path.join(PROJECT_ROOT, 'src/api/main.ts')],
      cwd: PROJECT_ROOT,
      env: this.engineEnv({ PORT: String(this.apiPort), HOST: '127.0.0.1', PUBLIC_URL: `http://127.0.0.1:${this.apiPort}`, DATA_DIR: path.join(this.root, 'api-data') }),
      logFile: path.join(this.root, 'api.log'),
      readyWhen: /"msg":"API listening"/,
      readyTimeoutMs: 180_000,
    });
  }

  /** Workers (in parallel) and the API. */
  async startEngine(): Promise<void> {
    // PUBLIC_URL names the API's port in every process: fix it before the workers start.
    if (this.opts.api) this.apiPort = this.opts.apiPort ?? (await freePort());
    await Promise.all(Array.from({ length: this.opts.workers }, (_, i) => this.startWorker(i)));
    if (this.opts.api) await this.startApi();
  }

  async start(): Promise<void> {
    await this.startInfrastructure();
    await this.startEngine();
  }

  /** Everything down in order (engine, sink, server, PostgreSQL), then the temp folder unless kept. */
  async stop(keep = false): Promise<void> {
    await Promise.all([this.api?.stop(15_000), ...this.workers.map((w) => w?.stop(15_000))].map((p) => p?.catch(() => undefined)));
    await this.db?.destroy().catch(() => undefined);
    await this.sink?.stop().catch(() => undefined);
    await this.server?.stop().catch(() => undefined);
    await this.pg?.stop().catch(() => undefined);
    if (!keep) removeDir(this.root);
  }
}

/** A folder PostgreSQL's dying processes may still write to for a moment: retried, never thrown. */
export function removeDir(dir: string): void {
  for (let attempt = 1; attempt <= 20; attempt++) {
    try {
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
      if (!fs.existsSync(dir)) return;
    } catch {
      // a file appeared meanwhile: again
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
}

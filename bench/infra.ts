// What the benchmark runs on, all on loopback and all its own: an in-memory Temporal dev server on a
// free port, and PostgreSQL (a fresh database on the server in DATABASE_URL, else an in-memory PGlite
// on a thread of this process, served on a loopback port as `npm start` serves it; BENCH_PGLITE=
// in-process runs it on this process's event loop, as `npm start` did before 2026-12-02, and
// BENCH_PGLITE=child in a child process). Everything started here is stopped by `stop()`.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres';
import { createScratchDatabase } from '../src/db/scratch-database';
import { freePort, startDevServer, type DevServer } from '../src/temporal/dev-server';
import { resolveToolchain } from '../src/temporal/toolchain';

export interface BenchInfra {
  temporalAddress: string;
  databaseUrl: string;
  /** 'pglite' (embedded, one connection) or 'postgresql' (DATABASE_URL). */
  database: 'pglite' | 'postgresql';
  /** Where PGlite runs: on a thread of this process (as in `npm start`), on its event loop, or in a child process. */
  pgliteHost?: 'thread' | 'in-process' | 'child';
  /** The PGlite child's pid (BENCH_PGLITE=child), for its CPU-seconds. */
  pgliteChildPid?: number;
  tmpDir: string;
  devServer: DevServer;
  stop(): Promise<void>;
}

async function startPgliteChild(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const tsx = require.resolve('tsx');
  const child = spawn(process.execPath, ['--import', tsx, path.join(__dirname, 'pglite-server.ts'), String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error('PGlite did not start within 60 s')), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/READY \d+/.test(out)) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`PGlite exited (${code})`)));
  });
  return { url: `postgresql://postgres:postgres@127.0.0.1:${port}/postgres?sslmode=disable`, child };
}

export async function startInfra(opts: { temporal?: boolean } = {}): Promise<BenchInfra> {
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kap-bench-'));
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    fs.rmSync(tmpDir, { recursive: true, force: true });
  };
  try {
    let databaseUrl: string;
    let database: BenchInfra['database'];
    let pgliteHost: BenchInfra['pgliteHost'];
    let pgliteChildPid: number | undefined;
    if (process.env.DATABASE_URL) {
      database = 'postgresql';
      const scratch = await createScratchDatabase(process.env.DATABASE_URL, 'kap_bench');
      databaseUrl = scratch.url;
      stops.push(scratch.drop);
    } else if (process.env.BENCH_PGLITE !== 'child') {
      const mode = process.env.BENCH_PGLITE ?? 'thread';
      if (mode !== 'thread' && mode !== 'in-process') throw new Error(`BENCH_PGLITE: thread (the default, as npm start), in-process or child, not "${mode}"`);
      // In this process, as `npm start` hosts it (src/runtime.ts): the API and the worker on one event
      // loop, PGlite on a thread of its own (or on that loop, BENCH_PGLITE=in-process); the figures
      // include it.
      database = 'pglite';
      pgliteHost = mode;
      const pg = await startEmbeddedPostgres({ port: await freePort(), thread: mode === 'thread' });
      databaseUrl = pg.url;
      stops.push(() => pg.stop());
    } else {
      database = 'pglite';
      pgliteHost = 'child';
      const { url, child } = await startPgliteChild();
      databaseUrl = url;
      pgliteChildPid = child.pid;
      stops.push(async () => {
        if (child.exitCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      });
    }
    let devServer: DevServer | undefined;
    if (opts.temporal !== false) {
      const { temporalCli } = resolveToolchain(process.env.TEMPORAL_CLI_PATH || undefined);
      devServer = await startDevServer({ cliPath: temporalCli, port: await freePort(), logFile: path.join(tmpDir, 'temporal.log'), startTimeoutMs: 90_000 });
      stops.push(() => devServer!.stop());
    }
    return { temporalAddress: devServer?.address ?? '', databaseUrl, database, pgliteHost, pgliteChildPid, tmpDir, devServer: devServer!, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

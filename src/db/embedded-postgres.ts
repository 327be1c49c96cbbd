// Embedded PostgreSQL for the zero-configuration default: PGlite (PostgreSQL in WASM), persisted in
// the data folder and served over the PostgreSQL wire protocol (./pglite-wire.cjs), so that the same
// `pg` + Kysely code path serves embedded and real PostgreSQL alike.
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { servePglite } from './pglite-wire.cjs';
import { makePrivate } from '../data-dir';

export interface EmbeddedPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Folder for the database files; omitted = in memory (tests). */
  dataDir?: string;
  port: number;
  host?: string;
  /**
   * Client connections at once. Keep 1: PGlite is one session, so two connections' statements
   * interleave in it (with pglite-socket, which served it before, two connections got each other's
   * results: a row read as missing under three concurrent requests).
   */
  maxConnections?: number;
  /**
   * Run PGlite on a worker thread of this process instead of on its event loop (`npm start` does):
   * its WebAssembly then no longer queues the API's requests and the worker's activities behind it.
   * Same wire protocol, same files, same one connection.
   */
  thread?: boolean;
  /** Thread only: PGlite's thread ended while the database was in use (it cannot serve any more). */
  onThreadExit?: (reason: string) => void;
}

function portInUse(port: number): Error {
  return new Error(`embedded PostgreSQL: port ${port} is in use (set EMBEDDED_PG_PORT to another port)`);
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  if (opts.thread) return startOnThread(opts);
  // Client records: the folder 0700 and its files 0600, before PGlite opens it and again after (its
  // initdb and some of its writes set 0666 themselves, whatever the umask; see src/data-dir.ts).
  if (opts.dataDir) makePrivate(opts.dataDir);
  const db = opts.dataDir ? await PGlite.create(opts.dataDir) : await PGlite.create();
  if (opts.dataDir) makePrivate(opts.dataDir);
  const host = opts.host ?? '127.0.0.1';
  const server = servePglite(db, { port: opts.port, host, maxConnections: opts.maxConnections ?? 1 });
  let port: number;
  try {
    port = await server.start();
  } catch (err) {
    await db.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw portInUse(opts.port);
    throw err;
  }
  let stopped = false;
  return {
    url: `postgresql://postgres:postgres@${host}:${port}/postgres?sslmode=disable`,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await db.close();
      if (opts.dataDir) makePrivate(opts.dataDir);
    },
  };
}

type ThreadMessage = { type: 'ready'; port: number } | { type: 'failed'; code?: string; message: string } | { type: 'stopped'; error?: string };

async function startOnThread(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  if (opts.dataDir) makePrivate(opts.dataDir); // before PGlite opens it, and again once it has (see above)
  const host = opts.host ?? '127.0.0.1';
  const worker = new Worker(path.join(__dirname, 'embedded-postgres-thread.cjs'), {
    workerData: { dataDir: opts.dataDir, port: opts.port, host, maxConnections: opts.maxConnections ?? 1 },
    // Not the parent's flags (tsx's loader among them): the thread's module is plain CommonJS.
    execArgv: [],
    name: 'embedded-postgres',
  });
  let state: 'starting' | 'ready' | 'stopping' | 'stopped' = 'starting';
  const next = (): Promise<ThreadMessage> =>
    new Promise((resolve, reject) => {
      const onMessage = (m: ThreadMessage) => {
        cleanup();
        resolve(m);
      };
      const onError = (err: Error) => {
        cleanup();
        reject(err);
      };
      const onExit = (code: number) => {
        cleanup();
        if (state === 'stopping' && code === 0) resolve({ type: 'stopped' });
        else reject(new Error(`embedded PostgreSQL: its thread exited (${code})`));
      };
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  let first: ThreadMessage;
  try {
    first = await next();
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  if (first.type !== 'ready') {
    await worker.terminate();
    if (first.type === 'failed' && first.code === 'EADDRINUSE') throw portInUse(opts.port);
    throw new Error(`embedded PostgreSQL did not start: ${first.type === 'failed' ? first.message : first.type}`);
  }
  state = 'ready';
  if (opts.dataDir) makePrivate(opts.dataDir);
  const unexpected = (reason: string) => {
    if (state !== 'ready') return;
    state = 'stopped';
    opts.onThreadExit?.(reason);
  };
  worker.on('error', (err) => unexpected(`its thread failed: ${err.message}`));
  worker.on('exit', (code) => unexpected(`its thread exited (${code})`));
  const port = first.port;
  const pg: EmbeddedPostgres = {
    url: `postgresql://postgres:postgres@${host}:${port}/postgres?sslmode=disable`,
    port,
    async stop() {
      if (state !== 'ready') return;
      state = 'stopping';
      const stopped = next();
      worker.postMessage({ type: 'stop' });
      try {
        const m = await Promise.race([stopped, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('embedded PostgreSQL: its thread did not stop within 30 s')), 30_000).unref())]);
        if (m.type === 'stopped' && m.error) throw new Error(`embedded PostgreSQL: error while stopping: ${m.error}`);
      } finally {
        state = 'stopped';
        await worker.terminate();
        if (opts.dataDir) makePrivate(opts.dataDir);
      }
    },
  };
  threads.set(pg, worker);
  return pg;
}

const threads = new WeakMap<EmbeddedPostgres, Worker>();
/** The thread an embedded PostgreSQL runs on (`thread: true`), for tests that end it as a crash would. */
export function threadOf(pg: EmbeddedPostgres): Worker | undefined {
  return threads.get(pg);
}

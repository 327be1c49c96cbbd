// Embedded PostgreSQL for the zero-configuration default: PGlite (PostgreSQL in WASM), persisted in
// the data folder and served over the PostgreSQL wire protocol by pglite-socket, so that the same
// `pg` + Kysely code path serves embedded and real PostgreSQL alike.
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
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
   * Client connections at once. Keep 1: pglite-socket queues protocol messages, not whole extended-query
   * exchanges, so two connections interleave Parse/Bind/Execute outside transactions and get each
   * other's results (seen here: a row read as missing under three concurrent requests).
   */
  maxConnections?: number;
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  // Client records: the folder 0700 and its files 0600, before PGlite opens it and again after (its
  // initdb and some of its writes set 0666 themselves, whatever the umask; see src/data-dir.ts).
  if (opts.dataDir) makePrivate(opts.dataDir);
  const db = opts.dataDir ? await PGlite.create(opts.dataDir) : await PGlite.create();
  if (opts.dataDir) makePrivate(opts.dataDir);
  const host = opts.host ?? '127.0.0.1';
  const server = new PGLiteSocketServer({ db, port: opts.port, host, maxConnections: opts.maxConnections ?? 1 });
  try {
    await server.start();
  } catch (err) {
    await db.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new Error(`embedded PostgreSQL: port ${opts.port} is in use (set EMBEDDED_PG_PORT to another port)`);
    }
    throw err;
  }
  const port = Number(server.getServerConn().split(':').pop());
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

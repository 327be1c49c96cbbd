import { Kysely, type KyselyConfig, PostgresDialect } from 'kysely';
import pg from 'pg';
import { LaneGate, poolLane } from './lanes';
import { prepareRepeatedStatements } from './prepared';
import type { Database } from './schema';

// Return BIGINT (int8) and NUMERIC as numbers where they fit; timestamps stay Date.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

export type Db = Kysely<Database>;

/**
 * Runs `read` on one snapshot: a repeatable-read transaction of its own, or the caller's transaction
 * when `db` already is one (whose isolation the caller chose). For reads of two or more statements that
 * must agree with each other, e.g. a course row and its steps, which the projection writes together.
 */
export function inSnapshot<T>(db: Db, read: (db: Db) => Promise<T>): Promise<T> {
  return db.isTransaction ? read(db) : db.transaction().setIsolationLevel('repeatable read').execute(read);
}

export interface DbOptions {
  url: string;
  poolMax?: number;
  /** Called for pool errors (e.g. the server went away); never throws. */
  onError?: (err: Error) => void;
  /** Kysely's log hook (the benchmark counts and captures statements with it). */
  log?: KyselyConfig['log'];
  /** Prepare each parameterised statement once per connection (prepared.ts); default true. */
  preparedStatements?: boolean;
}

function createPool(opts: DbOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolMax ?? 10,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  // pg-pool listens for errors only on idle clients. A client that is checked out (a transaction
  // between two statements, or a query just finished) emits 'error' on itself when the server goes
  // away, and with no listener that error kills the process: seen in `npm run chaos`, where the worker
  // died the moment PostgreSQL stopped. The query in flight still fails and the pool drops the client.
  pool.on('connect', (client) => {
    client.on('error', (err) => opts.onError?.(err));
    if (opts.preparedStatements !== false) prepareRepeatedStatements(client);
  });
  pool.on('error', (err) => opts.onError?.(err));
  return pool;
}

export function createDb(opts: DbOptions): Db {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: createPool(opts) }), log: opts.log });
}

/** One pool, two lanes (lanes.ts): `interactive` for the API, `background` for the worker. */
export interface DbLanes {
  interactive: Db;
  background: Db;
  /** The pool underneath, outside the lanes: for diagnostics such as EXPLAIN. */
  pool: pg.Pool;
}

/**
 * For a process that hosts both the API and the worker on one pool (`npm start`): when connections
 * are scarce (the embedded PGlite serves one), a staff member's request or an enrollment is handed the
 * next connection before the worker's backlog of projections and outbox writes.
 */
export function createDbLanes(opts: DbOptions): DbLanes {
  const pool = createPool(opts);
  const gate = new LaneGate(opts.poolMax ?? 10);
  const lane = (l: 'interactive' | 'background') => new Kysely<Database>({ dialect: new PostgresDialect({ pool: poolLane(pool, gate, l) }), log: opts.log });
  return { interactive: lane('interactive'), background: lane('background'), pool };
}

/** Cheap liveness probe used by /health. */
export async function pingDb(db: Db, timeoutMs = 2000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      db.selectNoFrom((eb) => eb.lit(1).as('ok')).execute(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

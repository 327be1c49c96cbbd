// Two lanes over one pg.Pool: interactive work (API requests, enrollment, staff actions, dashboard
// reads) is handed a connection before background work (the worker's projections, records and
// outbox writes) whenever both wait. It matters where connections are few: the embedded PGlite serves
// one, which the API and the worker share in `npm start`; without lanes a coordinator's request
// queues behind every projection the worker has backed up. A background waiter is never starved: after
// a run of interactive grants it is served next.
import type pg from 'pg';

export type Lane = 'interactive' | 'background';

/** Interactive grants in a row while background work waits, before background gets one. */
const MAX_INTERACTIVE_RUN = 4;

export class LaneGate {
  private inUse = 0;
  private interactiveRun = 0;
  private readonly waiting: Record<Lane, Array<() => void>> = { interactive: [], background: [] };

  constructor(private readonly max: number) {}

  acquire(lane: Lane): Promise<void> {
    if (this.inUse < this.max && this.waiting.interactive.length === 0 && this.waiting.background.length === 0) {
      this.grant(lane);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting[lane].push(() => resolve()));
  }

  release(): void {
    this.inUse--;
    this.next();
  }

  /** Connections checked out and waiters per lane (for tests and metrics). */
  state(): { inUse: number; interactive: number; background: number } {
    return { inUse: this.inUse, interactive: this.waiting.interactive.length, background: this.waiting.background.length };
  }

  private next(): void {
    while (this.inUse < this.max) {
      const bg = this.waiting.background.length > 0;
      const lane: Lane | null =
        this.waiting.interactive.length > 0 && !(bg && this.interactiveRun >= MAX_INTERACTIVE_RUN) ? 'interactive' : bg ? 'background' : null;
      if (!lane) return;
      this.grant(lane);
      this.waiting[lane].shift()!();
    }
  }

  private grant(lane: Lane): void {
    this.inUse++;
    this.interactiveRun = lane === 'interactive' ? this.interactiveRun + 1 : 0;
  }
}

const endings = new WeakMap<pg.Pool, Promise<void>>();

/** A pg.Pool look-alike for Kysely's PostgresDialect whose connections go through the gate's lane. */
export function poolLane(pool: pg.Pool, gate: LaneGate, lane: Lane): pg.Pool {
  const facade = {
    async connect(): Promise<pg.PoolClient> {
      await gate.acquire(lane);
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        gate.release();
        throw err;
      }
      const release = client.release.bind(client);
      let released = false;
      client.release = ((err?: Error | boolean) => {
        if (released) return release(err);
        released = true;
        client.release = release;
        release(err);
        gate.release();
      }) as pg.PoolClient['release'];
      return client;
    },
    // Both lanes' Kysely instances end the pool on destroy(): end it once.
    end: () => {
      let ending = endings.get(pool);
      if (!ending) endings.set(pool, (ending = pool.end()));
      return ending;
    },
    on: pool.on.bind(pool),
  };
  return facade as unknown as pg.Pool;
}

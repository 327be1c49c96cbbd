import type { EmbeddedPostgres } from '../../src/db/embedded-postgres';
import type { DevServer } from '../../src/temporal/dev-server';

/** What global setup started, for global teardown (they run in the same process). */
export const state: {
  temporal?: DevServer;
  embedded?: EmbeddedPostgres;
  dropDatabase?: () => Promise<void>;
  tmpDir?: string;
} = ((globalThis as Record<string, unknown>).__kapHarness ??= {}) as never;

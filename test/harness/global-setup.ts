// Starts, once for the whole integration tier, a real Temporal dev server and a real PostgreSQL
// database (embedded PGlite by default, a fresh database on the server in DATABASE_URL when set),
// migrates it, and hands the addresses to the tests through the environment.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDb } from '../../src/db/connect';
import { createScratchDatabase } from '../../src/db/scratch-database';
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres';
import { migrateToLatest } from '../../src/db/migrate';
import { freePort, startDevServer } from '../../src/temporal/dev-server';
import { resolveToolchain } from '../../src/temporal/toolchain';
import { state } from './state';

export default async function globalSetup(): Promise<void> {
  const t0 = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kap-it-'));
  const { temporalCli } = resolveToolchain(process.env.TEMPORAL_CLI_PATH || undefined);
  // Free ports are picked, then bound by the server a moment later: another process can take one in
  // between (seen once in CI). Such a start is tried again on other ports, twice at most.
  const start = async (attempt: number): Promise<Awaited<ReturnType<typeof startDevServer>>> => {
    try {
      return await startDevServer({ cliPath: temporalCli, port: await freePort(), logFile: path.join(dir, `temporal${attempt ? `-${attempt}` : ''}.log`), startTimeoutMs: 90_000 });
    } catch (err) {
      if (attempt >= 2 || !/exited during start-up/.test(String(err))) throw err;
      process.stderr.write(`[harness] the Temporal dev server did not start (${String(err)}); again on other ports\n`);
      return start(attempt + 1);
    }
  };
  const server = await start(0);
  state.temporal = server;
  process.env.KAP_TEST_TEMPORAL_ADDRESS = server.address;
  // The dev server runs in its own process group, so a signal that ends jest (a CI timeout's SIGTERM,
  // Ctrl-C) would leave it running: stop it on the way out. (SIGKILL cannot be caught.)
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(signal, () => {
      server.process.kill('SIGKILL');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }

  let url: string;
  if (process.env.DATABASE_URL) {
    const scratch = await createScratchDatabase(process.env.DATABASE_URL, 'kap_test');
    url = scratch.url;
    state.dropDatabase = scratch.drop;
  } else {
    // On a thread, as `npm start` hosts it: the tests' own event loop is not PGlite's.
    const embedded = await startEmbeddedPostgres({ port: await freePort(), thread: true });
    state.embedded = embedded;
    url = embedded.url;
  }
  process.env.KAP_TEST_DATABASE_URL = url;
  const db = createDb({ url, poolMax: 1 });
  await migrateToLatest(db);
  await db.destroy();
  state.tmpDir = dir;
  process.stdout.write(`\n[harness] Temporal ${server.address}, database ${process.env.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : 'embedded PGlite'} ready in ${Date.now() - t0} ms\n`);
}

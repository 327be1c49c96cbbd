// The embedded PGlite (in memory) in a process of its own, for the benchmark with BENCH_PGLITE=child:
// PostgreSQL in WASM runs on the event loop of the process that hosts it; `npm start` hosts it beside
// the worker and the API (the benchmark's default), a deployment runs PostgreSQL elsewhere. Prints
// `READY <port>` on stdout and exits when its parent goes away.
import { startEmbeddedPostgres } from '../src/db/embedded-postgres';

async function main(): Promise<void> {
  const port = Number(process.argv[2] ?? 0);
  const pg = await startEmbeddedPostgres({ port });
  process.stdout.write(`READY ${pg.port}\n`);
  const stop = () => void pg.stop().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
}

main().catch((err) => {
  process.stderr.write(`pglite-server: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});

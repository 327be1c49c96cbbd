// The embedded PostgreSQL (PGlite served by src/db/pglite-wire.cjs) as a process of its own, on a data folder and a
// port, until SIGTERM / SIGINT. `npm run chaos` uses it to make the database unavailable (stop the
// process) and bring it back on the same files and port, as a real server would come back.
//
//   tsx src/db/embedded-postgres-main.ts --data-dir DIR --port PORT
//
// Prints `READY <port>` on stdout once it accepts connections. Like the in-process embedded server it
// serves ONE client connection at a time (see embedded-postgres.ts): a second connection is refused.
import { usePrivateUmask } from '../data-dir';
import { startEmbeddedPostgres } from './embedded-postgres';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  usePrivateUmask(); // the database's new files are the owner's alone (src/data-dir.ts)
  const dataDir = arg('data-dir');
  const port = Number(arg('port') ?? 0);
  if (!dataDir || !Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write('usage: embedded-postgres-main --data-dir DIR --port PORT\n');
    process.exit(2);
  }
  const pg = await startEmbeddedPostgres({ dataDir, port });
  process.stdout.write(`READY ${pg.port}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    // A clean PGlite close flushes its files: the next start on the same folder finds every commit.
    pg.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`embedded-postgres: error while stopping on ${signal}: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`embedded-postgres: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});

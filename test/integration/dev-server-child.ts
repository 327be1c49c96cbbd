// A process that starts the Temporal dev server as `npm start` does (with a pid file) and then waits to
// be killed: dev-server-leftover.int.test.ts SIGKILLs it and checks the next start stops the orphan.
// Not a test file (no .int.test.ts suffix).
import { startDevServer } from '../../src/temporal/dev-server';

async function main(): Promise<void> {
  const [cliPath, port, pidFile] = process.argv.slice(2);
  const server = await startDevServer({ cliPath: cliPath!, port: Number(port), pidFile, startTimeoutMs: 60_000 });
  process.stdout.write(`READY ${server.process.pid}\n`);
  setInterval(() => undefined, 60_000);
}

main().catch((err) => {
  process.stderr.write(`dev-server-child: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

// `npm run cluster`: the production topology on this machine (scripts/cluster/README.md). The real
// Temporal server (pinned, found or built), a PostgreSQL cluster on loopback (or --postgres-url), N
// workers and the API as separate processes with production settings, mail to a local SMTP sink.
// Prints the URLs and stays up until Ctrl-C, then stops every child and removes its temp folder.
//
//   npm run cluster -- [--workers N] [--api-port P] [--temporal-port P] [--postgres-url URL] [--shards N] [--keep]
import { ensureFirstAdmin } from '../src/auth/first-admin';
import { killAllChildren } from '../chaos/procs';
import { Cluster } from './cluster/stack';
import { TEMPORAL_SERVER_VERSION } from './cluster/temporal-server';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
function num(name: string, fallback?: number): number | undefined {
  const raw = arg(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`cluster: --${name} must be a positive whole number\n`);
    process.exit(2);
  }
  return n;
}

const t0 = Date.now();
const say = (m: string) => process.stderr.write(`[cluster ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${m}\n`);
const keep = process.argv.includes('--keep');
const cluster = new Cluster({
  workers: num('workers', 2)!,
  api: true,
  apiPort: num('api-port'),
  temporalPort: num('temporal-port'),
  historyShards: num('shards'),
  postgresUrl: arg('postgres-url') ?? process.env.CLUSTER_POSTGRES_URL,
  log: say,
});

let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return; // the second copy of one Ctrl-C: the first is already stopping everything
  stopping = true;
  say('stopping the API, the workers, the sink, the Temporal server and PostgreSQL');
  await cluster.stop(keep).catch(() => undefined);
  if (keep) say(`kept ${cluster.root}`);
  killAllChildren();
  process.exit(code);
}
// Ctrl-C reaches this process twice (the terminal's signal and tsx relaying it): one shutdown.
for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => void shutdown(130));

async function main(): Promise<void> {
  await cluster.startInfrastructure();
  const admin = await ensureFirstAdmin(cluster.db!, cluster.root);
  await cluster.startEngine();
  // A worker or the API exiting by itself is a failure of the topology: say so and stop everything.
  for (const c of [...cluster.workers, cluster.api]) {
    void c?.exited.then(({ code, signal }) => {
      if (stopping) return;
      say(`${c.name} exited by itself (code ${code}, signal ${signal}); see ${cluster.root}/${c.name}.log`);
      void shutdown(1);
    });
  }
  const lines = [
    '',
    `KAP pathways, production topology (Temporal server ${TEMPORAL_SERVER_VERSION} on PostgreSQL, ${cluster.workers.length} worker process(es), the API)`,
    `  Dashboard and API   ${cluster.apiUrl}/`,
    `  Temporal frontend   ${cluster.temporalAddress}  (namespace default; temporal workflow list --address ${cluster.temporalAddress})`,
    `  Engine database     ${cluster.databaseUrl}`,
    `  SMTP sink           ${cluster.sink.url}  (counts messages; nothing leaves this machine)`,
    `  Logs                ${cluster.root}/{temporal-server,postgres,worker-N,api}.log`,
    admin ? `  First administrator ${admin.email}; password and API token in ${admin.credentialsFile}` : '',
    '  Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(lines.filter((l, i) => l || i === 0 || i === lines.length - 1).join('\n'));
  setInterval(() => say(`${cluster.sink.received.length} emails received by the sink`), 60_000).unref();
  await new Promise(() => undefined);
}

main().catch(async (err: unknown) => {
  say(`failed: ${err instanceof Error ? err.message : String(err)}`);
  if (!keep) {
    await cluster.stop(true).catch(() => undefined);
    say(`logs kept in ${cluster.root} (remove it when done)`);
    killAllChildren();
    process.exit(1);
  }
  await shutdown(1);
});

// `npm run bench`: measures the engine on this machine and prints ONE JSON line at the end (progress
// goes to stderr). Loopback only; it starts its own in-memory Temporal dev server and PostgreSQL
// (PGlite in a child process, or a fresh database on the server in DATABASE_URL) and seeds what it needs.
//
//   npm run bench                      every phase
//   npm run bench -- --only stuck,starts   some phases (stuck, starts, actions, memory, histories)
//   BENCH_QUICK=1 npm run bench        smaller sizes, for trying the harness out
// See docs/performance.md for what each figure means and the targets.
import os from 'node:os';
import { benchClient, benchConfig, benchDb, installBenchRuntime, startBenchApp } from './context';
import { startInfra } from './infra';
import { benchStuckBoard } from './phases/stuck-board';
import { round } from './stats';

const PHASES = ['stuck', 'starts', 'actions', 'memory', 'histories'] as const;
type Phase = (typeof PHASES)[number];

function parseArgs(argv: string[]): { only: Set<Phase> } {
  const i = argv.indexOf('--only');
  if (i < 0) return { only: new Set(PHASES) };
  const list = (argv[i + 1] ?? '').split(',').filter(Boolean);
  for (const p of list) if (!PHASES.includes(p as Phase)) throw new Error(`unknown phase ${p} (${PHASES.join(', ')})`);
  return { only: new Set(list as Phase[]) };
}

const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

async function main(): Promise<void> {
  const { only } = parseArgs(process.argv.slice(2));
  const quick = process.env.BENCH_QUICK === '1';
  const started = Date.now();
  installBenchRuntime();
  log(`starting infrastructure (Temporal dev server in memory, ${process.env.DATABASE_URL ? 'PostgreSQL from DATABASE_URL' : 'PGlite in a child process'})`);
  const infra = await startInfra();
  const out: Record<string, unknown> = {
    machine: { nproc: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', memoryGb: round(os.totalmem() / 2 ** 30), loadAvg1m: round(os.loadavg()[0]!, 2), node: process.version },
    database: infra.database,
  };
  try {
    const config = benchConfig(infra);
    const { db, pool, lastMatching } = benchDb(infra);
    const { migrateToLatest } = await import('../src/db/migrate');
    await migrateToLatest(db);
    const temporal = await benchClient(config);
    const api = await startBenchApp(config, db, temporal);
    try {
      if (only.has('stuck')) {
        const r = await benchStuckBoard({
          db,
          pool,
          baseUrl: api.baseUrl,
          lastStuckQuery: () => lastMatching(/from "course_steps" as "s"/),
          seed: quick ? { courses: 10_000, stepsPerCourse: 10, clinics: 20, openEvery: 4 } : undefined,
          log,
        });
        log(`stuck board: ${JSON.stringify({ ...r, plan: { ...r.plan, allClinics: undefined, oneClinic: undefined } })}`);
        log(`plan (every clinic):\n${r.plan.allClinics}`);
        log(`plan (one clinic):\n${r.plan.oneClinic}`);
        out.stuckBoard = {
          courses: r.seed.courses,
          stepRows: r.seed.stepRows,
          stuckSteps: r.seed.stuckSteps,
          p50Ms: r.allClinics.p50,
          p95Ms: r.allClinics.p95,
          oneClinicP50Ms: r.oneClinic.p50,
          oneClinicP95Ms: r.oneClinic.p95,
          sqlOnlyP95Ms: r.sqlOnly.p95,
          items: r.allClinics.items,
          indexes: r.plan.indexes,
          seqScanOnSteps: r.plan.seqScanOnSteps,
        };
      }
    } finally {
      await api.stop();
      await temporal.connection.close();
      await db.destroy();
    }
  } finally {
    await infra.stop();
  }
  out.totalSeconds = Math.round((Date.now() - started) / 1000);
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    log(`failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);

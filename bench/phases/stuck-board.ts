// The coordinator's stuck board at scale: GET /api/stuck (the route the dashboard reads) over real
// HTTP against 100,000 seeded courses and 1,000,000 step rows; the SQL it sent, EXPLAINed, must use
// the partial indexes for open steps.
import type { CompiledQuery } from 'kysely';
import type pg from 'pg';
import type { Db } from '../../src/db/connect';
import { getJson, tokenFor } from '../context';
import { DEFAULT_SEED, seedDashboardData, type SeedOptions, type SeedResult } from '../seed';
import { msSince, summarize, type Summary } from '../stats';

export interface StuckBoardResult {
  seed: SeedResult;
  /** GET /api/stuck as an organisation-wide admin (every clinic): the headline figure. */
  allClinics: Summary & { items: number };
  /** GET /api/stuck as a coordinator scoped to one clinic. */
  oneClinic: Summary & { items: number };
  /** The SQL alone, run on the pool (no HTTP, no mapping). */
  sqlOnly: Summary;
  /** Index names in the EXPLAIN plan of the route's query, and the planner's own execution time. */
  plan: { indexes: string[]; seqScanOnSteps: boolean; executionMs: number; allClinics: string; oneClinic: string };
}

function indexesIn(node: any, out = new Set<string>(), seq = { steps: false }): { indexes: Set<string>; seq: { steps: boolean } } {
  if (node && typeof node === 'object') {
    if (node['Index Name']) out.add(node['Index Name']);
    if (node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'course_steps') seq.steps = true;
    for (const child of node.Plans ?? []) indexesIn(child, out, seq);
  }
  return { indexes: out, seq };
}

function planText(rows: Array<Record<string, string>>): string {
  return rows.map((r) => Object.values(r)[0]).join('\n');
}

export async function benchStuckBoard(opts: {
  db: Db;
  pool: pg.Pool;
  baseUrl: string;
  lastStuckQuery: () => CompiledQuery | undefined;
  seed?: SeedOptions;
  requests?: number;
  log: (msg: string) => void;
}): Promise<StuckBoardResult> {
  const requests = opts.requests ?? 200;
  opts.log(`seeding ${opts.seed?.courses ?? DEFAULT_SEED.courses} courses with generate_series ...`);
  const seed = await seedDashboardData(opts.db, opts.seed ?? DEFAULT_SEED);
  opts.log(`seeded in ${seed.ms} ms: ${JSON.stringify(seed)}`);
  const admin = await tokenFor(opts.db, 'admin');
  const coordinator = await tokenFor(opts.db, 'coordinator', 'bench-clinic-07');

  const measure = async (token: string, path: string) => {
    for (let i = 0; i < 5; i++) await getJson(opts.baseUrl, path, token); // warm-up (plans, caches, the health monitor's first pass)
    const times: number[] = [];
    let items = 0;
    for (let i = 0; i < requests; i++) {
      const t0 = process.hrtime.bigint();
      const res = await getJson(opts.baseUrl, path, token);
      times.push(msSince(t0));
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      items = res.body.count;
    }
    return { ...summarize(times), items };
  };

  const allClinics = await measure(admin, '/api/stuck');
  const allQuery = opts.lastStuckQuery();
  const oneClinic = await measure(coordinator, '/api/stuck');
  const oneQuery = opts.lastStuckQuery();
  if (!allQuery || !oneQuery) throw new Error('the stuck-board query was not captured');

  const explain = async (q: CompiledQuery) => {
    const json = await opts.pool.query(`explain (analyze, buffers, format json) ${q.sql}`, q.parameters as unknown[]);
    const text = await opts.pool.query(`explain (analyze, costs off, timing off, summary off) ${q.sql}`, q.parameters as unknown[]);
    const plan = (json.rows[0]['QUERY PLAN'] as any[])[0];
    return { plan, text: planText(text.rows) };
  };
  const a = await explain(allQuery);
  const b = await explain(oneQuery);
  const ia = indexesIn(a.plan.Plan);
  const ib = indexesIn(b.plan.Plan);

  const sqlTimes: number[] = [];
  for (let i = 0; i < Math.min(requests, 100); i++) {
    const t0 = process.hrtime.bigint();
    await opts.pool.query(allQuery.sql, allQuery.parameters as unknown[]);
    sqlTimes.push(msSince(t0));
  }
  return {
    seed,
    allClinics,
    oneClinic,
    sqlOnly: summarize(sqlTimes),
    plan: {
      indexes: [...new Set([...ia.indexes, ...ib.indexes])].sort(),
      seqScanOnSteps: ia.seq.steps || ib.seq.steps,
      executionMs: Math.round(a.plan['Execution Time'] * 10) / 10,
      allClinics: a.text,
      oneClinic: b.text,
    },
  };
}

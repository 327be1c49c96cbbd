// A diagnosis beside `npm run bench`: what one coordinator's turn costs, action by action, with nothing
// else running. Each course gets one turn (screening, a care-team note, pause, resume: the staff step's
// mix, bench/phases/ladder.ts STAFF_TURN) over HTTP, one action at a time, on the course worker as
// `npm start` runs it; printed per action: wall time, this process's CPU by thread (/proc/self/task)
// and the Temporal server's CPU. Two rounds, so the second shows the first's warm-up.
//
//   node --import tsx bench/turns.ts                 60 turns a round (240 actions)
//   TURNS=100 WORKER_CACHE=4 node --import tsx bench/turns.ts   every turn's first action replays its course
//
// docs/performance.md "What a staff action costs" has figures from it.
import { cpuByThreadName, threadCpuSeconds, treeCpuSeconds } from './cpu';
import { openBenchState, startBenchWorker, tokenFor } from './context';
import { STAFF_BODIES, STAFF_TURN } from './phases/ladder';
import { benchStarts } from './phases/starts';

const ROUNDS = 2;
const WARM_TURNS = 5;

function positiveInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: a whole number of 1 or more, not "${v}"`);
  return n;
}

async function main(): Promise<void> {
  const turns = positiveInt('TURNS', 60);
  const cache = process.env.WORKER_CACHE ? positiveInt('WORKER_CACHE', 0) : undefined;
  const state = await openBenchState();
  const { infra, config, api, temporal, db, workerDb, statements } = state;
  const stops: Array<() => Promise<unknown>> = [() => state.stop()];
  try {
    const course = await startBenchWorker(config, workerDb, cache ? { maxCachedWorkflows: cache } : {});
    stops.push(() => course.stop());
    const starts = await benchStarts({ db, temporal, courseTaskQueue: config.TEMPORAL_TASK_QUEUE, noopTaskQueue: 'bench-turns-noop' /* no worker: its starts only stand beside the courses' */, courseWorker: course.worker, statements, startsPerRound: ROUNDS * turns + WARM_TURNS, rounds: 1, concurrency: 4, log: () => undefined });
    const token = await tokenFor(db, 'admin');
    const ids = [...starts.courseIds];
    const turn = async (courseId: string) => {
      for (const action of STAFF_TURN) {
        const res = await fetch(`${api.baseUrl}/api/courses/${courseId}/${action}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(STAFF_BODIES[action]) });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`${action} on ${courseId}: ${res.status} ${text.slice(0, 300)}`);
      }
    };
    for (let i = 0; i < WARM_TURNS; i++) await turn(ids.pop()!);
    for (let round = 1; round <= ROUNDS; round++) {
      const threads0 = threadCpuSeconds();
      const server0 = treeCpuSeconds(infra.devServer?.process.pid);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let k = 0; k < turns; k++) await turn(ids.pop()!);
      const wallMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const server = treeCpuSeconds(infra.devServer?.process.pid) - server0;
      const n = turns * STAFF_TURN.length;
      const perAction = (ms: number) => Math.round((ms / n) * 100) / 100;
      process.stdout.write(
        `${JSON.stringify({
          round,
          actions: n,
          workerCache: cache ?? 'the SDK default',
          wallMs: perAction(wallMs),
          processCpuMs: perAction((cpu.user + cpu.system) / 1000),
          serverCpuMs: infra.devServer ? perAction(server * 1000) : null,
          threadsCpuMs: Object.fromEntries(cpuByThreadName(threads0, threadCpuSeconds()).map(([name, s]) => [name, perAction(s * 1000)])),
        })}\n`,
      );
    }
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

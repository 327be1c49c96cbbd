// The SDK defect described in src/workflows/README.md ("Workflow time and the stale-query defect"),
// reproduced for real, and the course's design shown immune to it: a worker is killed with SIGKILL
// while the workflow waits on a timer; a fresh worker receives a query before the timer's workflow task
// (stuck on the dead worker's sticky queue for 10 s) reaches it. The query replays a history that
// already holds the TIMER_FIRED, and sdk-core runs it live with the previous task's Date.now(). The
// probe (test/fixtures/stale-time/workflows.ts) decides on the timer's own target, so the commands it
// sends are the ones a replay of the final history produces: the replay passes.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, makeTelemetryFilterString, Runtime, Worker } from '@temporalio/worker';
import { testEnv } from '../harness/stack';

const fixtures = path.join(__dirname, '../fixtures/stale-time');
const silent = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const children: ChildProcess[] = [];
let bundlePath: string;
let client: Client;
let connection: Connection;

function startWorker(taskQueue: string, slowLocalActivityMs?: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(fixtures, 'worker.ts')], {
    env: {
      ...process.env,
      STALE_TEMPORAL_ADDRESS: testEnv().temporalAddress,
      STALE_TASK_QUEUE: taskQueue,
      STALE_BUNDLE: bundlePath,
      ...(slowLocalActivityMs ? { STALE_SLOW_LA: String(slowLocalActivityMs) } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve(child));
    child.once('exit', (code) => reject(new Error(`fixture worker exited with ${code}`)));
  });
}
function kill(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
}

beforeAll(async () => {
  try {
    Runtime.install({ logger: silent as never, telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } } });
  } catch {
    // already installed in this process
  }
  const { code } = await bundleWorkflowCode({ workflowsPath: path.join(fixtures, 'workflows.ts'), logger: silent as never });
  bundlePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kap-stale-')), 'bundle.js');
  fs.writeFileSync(bundlePath, code);
  connection = await Connection.connect({ address: testEnv().temporalAddress });
  client = new Client({ connection });
}, 60_000);
afterAll(async () => {
  for (const c of children) kill(c);
  await connection?.close();
});

test('a query that reaches a fresh worker before a fired timer: the workflow sends the same commands live and in replay', async () => {
  const taskQueue = `stale-time-${process.pid}-${Date.now()}`;
  const first = await startWorker(taskQueue);
  const handle = await client.workflow.start('staleTimeProbe', { taskQueue, workflowId: `stale-time-probe-${Date.now()}`, args: [] });
  while (!(await handle.query<boolean>('ready'))) await sleep(100);
  const wake = await handle.executeUpdate<number, [number]>('wakeIn', { args: [4000] }); // the timer: 4 s from now
  kill(first); // its sticky queue keeps the timer's task for 10 s
  await startWorker(taskQueue);
  await sleep(1000);
  // Sent before the timer fires; served by the fresh worker after the dead sticky queue gives up.
  // Nothing refuses it any more: whatever time the replaying worker sees, the decision is the same.
  const query = await handle.query<boolean>('ready').then(
    () => 'answered',
    (err: Error) => err.message,
  );
  expect(query).toBe('answered');
  const stale = await handle.query<boolean>('sawStaleTime').catch(() => null);
  const result = await handle.result();
  // The timer was applied at its own target.
  expect(result).toEqual({ wake, firedAt: wake });
  const history = await handle.fetchHistory();
  const types = history.events!.map((e) => String(e.eventType));
  expect(types.filter((t) => t === 'EVENT_TYPE_TIMER_FIRED' || t === '18')).toHaveLength(1);
  // Identical commands: the history the live run wrote replays without a nondeterminism error.
  await expect(Worker.runReplayHistory({ workflowBundle: { code: fs.readFileSync(bundlePath, 'utf8') }, replayName: 'stale-time' }, history)).resolves.toBeUndefined();
  process.stdout.write(`stale-query probe: the live run ${stale ? 'did' : 'did not'} see a stale Date.now() at the timer\n`);
}, 90_000);

test('a worker killed while it holds a started workflow task: the timer that fired meanwhile and the signal are processed once, and the history replays', async () => {
  // Chaos finding 6 (docs/chaos.md) had this shape: a signal woke the loop, the worker ran the
  // task's local activity and was killed holding the task; the loop's timer fired while the task
  // waited out its 10 s timeout. Here the shape is made on purpose.
  const taskQueue = `dead-task-${process.pid}-${Date.now()}`;
  const first = await startWorker(taskQueue, 60_000);
  const handle = await client.workflow.start('deadTaskProbe', { taskQueue, workflowId: `dead-task-probe-${Date.now()}`, args: [5000] });
  while (!(await handle.query<boolean>('ready'))) await sleep(100);
  await handle.signal('poke'); // the task that runs the slow local activity on `first`
  await sleep(1500);
  kill(first);
  await startWorker(taskQueue);
  await expect(handle.result()).resolves.toEqual({ pokes: 1 });
  const history = await handle.fetchHistory();
  const types = history.events!.map((e) => String(e.eventType));
  const timedOut = types.findIndex((t) => t === 'EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT' || t === '8');
  const fired = types.findIndex((t) => t === 'EVENT_TYPE_TIMER_FIRED' || t === '18');
  // The scenario happened: the dead worker's task timed out, and the timer fired while it was held.
  expect(timedOut).toBeGreaterThan(0);
  expect(fired).toBeGreaterThan(timedOut);
  await expect(Worker.runReplayHistory({ workflowBundle: { code: fs.readFileSync(bundlePath, 'utf8') }, replayName: 'dead-task' }, history)).resolves.toBeUndefined();
}, 90_000);

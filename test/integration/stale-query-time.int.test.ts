// The SDK defect behind the chaos run's replay failures (src/workflows/clock.ts), reproduced for real:
// a worker is killed with SIGKILL while the workflow waits on a timer; a fresh worker receives a query
// before the timer's workflow task (stuck on the dead worker's sticky queue for 10 s) reaches it. The
// query replays a history that already holds the TIMER_FIRED, and sdk-core runs it live with the
// previous task's Date.now(). With the defence on, that query fails, the cached run is dropped, the
// real task replays at the right time, and the history replays cleanly afterwards. (With the defence
// off, args [false], the same run ends with earlyFires 1 and its history fails to replay.)
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

function startWorker(taskQueue: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(fixtures, 'worker.ts')], {
    env: { ...process.env, STALE_TEMPORAL_ADDRESS: testEnv().temporalAddress, STALE_TASK_QUEUE: taskQueue, STALE_BUNDLE: bundlePath },
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

test('a query that reaches a fresh worker before a fired timer does not make the workflow decide on stale time', async () => {
  const taskQueue = `stale-time-${process.pid}-${Date.now()}`;
  const first = await startWorker(taskQueue);
  const handle = await client.workflow.start('staleTimeProbe', { taskQueue, workflowId: `stale-time-probe-${Date.now()}`, args: [true] });
  while (!(await handle.query<boolean>('ready'))) await sleep(100);
  await handle.executeUpdate('wakeIn', { args: [4000] }); // the timer: 4 s from now
  kill(first); // its sticky queue keeps the timer's task for 10 s
  await startWorker(taskQueue);
  await sleep(1000);
  // Sent before the timer fires; served by the fresh worker after the dead sticky queue gives up.
  const query = await handle.query<boolean>('ready').then(
    () => 'answered',
    (err: Error) => err.message,
  );
  const result = await handle.result();
  expect(result).toEqual({ earlyFires: 0 });
  // The query either found the right time or was refused by the defence; never answered from a stale run.
  expect(query === 'answered' || /stale workflow time/.test(query)).toBe(true);
  const history = await handle.fetchHistory();
  await expect(Worker.runReplayHistory({ workflowBundle: { code: fs.readFileSync(bundlePath, 'utf8') }, replayName: 'stale-time' }, history)).resolves.toBeUndefined();
}, 90_000);

import { GroupCommit } from '../../../src/db/group-commit';
import { workerSlots } from '../../../src/worker/worker';

/** A write that records each group it was given and waits until released. */
function gatedWriter() {
  const groups: number[][] = [];
  const pending: Array<() => void> = [];
  const write = async (items: number[]): Promise<string[]> => {
    groups.push(items);
    await new Promise<void>((r) => pending.push(r));
    if (items.includes(13)) throw new Error('13 is refused');
    return items.map((i) => `row ${i}`);
  };
  const releaseNext = async () => {
    while (pending.length === 0) await new Promise((r) => setImmediate(r));
    pending.shift()!();
  };
  return { groups, write, releaseNext };
}

describe('GroupCommit: writes that arrive while one is in flight go together in the next', () => {
  test('the first write goes alone at once; those arriving meanwhile share the next statement', async () => {
    const w = gatedWriter();
    const gc = new GroupCommit(w.write);
    const first = gc.submit(1);
    const rest = [2, 3, 4].map((i) => gc.submit(i));
    expect(w.groups).toEqual([[1]]);
    await w.releaseNext();
    expect(await first).toBe('row 1');
    await w.releaseNext();
    expect(await Promise.all(rest)).toEqual(['row 2', 'row 3', 'row 4']);
    expect(w.groups).toEqual([[1], [2, 3, 4]]);
  });

  test('groups are capped at maxGroup items', async () => {
    const w = gatedWriter();
    const gc = new GroupCommit(w.write, 2);
    const all = [1, 2, 3, 4, 5].map((i) => gc.submit(i));
    for (let k = 0; k < 3; k++) await w.releaseNext();
    expect(await Promise.all(all)).toEqual(['row 1', 'row 2', 'row 3', 'row 4', 'row 5']);
    expect(w.groups).toEqual([[1], [2, 3], [4, 5]]);
  });

  test('a failing group is written again item by item: only the bad item fails', async () => {
    const w = gatedWriter();
    const gc = new GroupCommit(w.write);
    const first = gc.submit(1);
    const rest = [12, 13, 14].map((i) => gc.submit(i).then((v) => v, (e: Error) => `error: ${e.message}`));
    for (let k = 0; k < 5; k++) await w.releaseNext(); // [1], [12,13,14] fails, then 12, 13, 14 alone
    expect(await first).toBe('row 1');
    expect(await Promise.all(rest)).toEqual(['row 12', 'error: 13 is refused', 'row 14']);
    expect(w.groups).toEqual([[1], [12, 13, 14], [12], [13], [14]]);
  });

  test('a write returning the wrong number of results fails its items instead of answering them wrongly', async () => {
    const short = new GroupCommit<number, string>(async (items) => items.slice(1).map(String));
    await expect(short.submit(7)).rejects.toThrow('group write returned 0 results for 1 items');
  });

  test('after an idle spell the next write goes at once again', async () => {
    const seen: number[][] = [];
    const gc = new GroupCommit<number, number>(async (items) => {
      seen.push(items);
      return items;
    });
    expect(await gc.submit(1)).toBe(1);
    expect(await gc.submit(2)).toBe(2);
    expect(seen).toEqual([[1], [2]]);
  });
});

describe('workerSlots: sized from the cores unless configured', () => {
  test('four per core for workflow tasks and local activities (4 to 40), 20 activities', () => {
    expect(workerSlots({}, 2)).toEqual({ maxConcurrentWorkflowTaskExecutions: 16, maxConcurrentWorkflowTaskPolls: 4, maxConcurrentLocalActivityExecutions: 8, maxConcurrentActivityTaskExecutions: 20, workflowThreadPoolSize: 2 });
    expect(workerSlots({}, 1)).toEqual({ maxConcurrentWorkflowTaskExecutions: 8, maxConcurrentWorkflowTaskPolls: 2, maxConcurrentLocalActivityExecutions: 4, maxConcurrentActivityTaskExecutions: 20, workflowThreadPoolSize: 1 });
    expect(workerSlots({}, 64)).toMatchObject({ maxConcurrentWorkflowTaskExecutions: 80, maxConcurrentWorkflowTaskPolls: 20 });
  });

  test('two workflow threads where there are two cores or more, one on one core, unless configured', () => {
    expect(workerSlots({}, 64)).toMatchObject({ workflowThreadPoolSize: 2 });
    expect(workerSlots({ WORKER_WORKFLOW_THREADS: 1 }, 2)).toMatchObject({ workflowThreadPoolSize: 1 });
    expect(workerSlots({ WORKER_WORKFLOW_THREADS: 4 }, 1)).toMatchObject({ workflowThreadPoolSize: 4 });
  });

  test('where eager starts can come (npm start), four times the tasks in all: 32 slots on 2 cores', () => {
    expect(workerSlots({}, 2, { eagerStarts: true })).toEqual({ maxConcurrentWorkflowTaskExecutions: 32, maxConcurrentWorkflowTaskPolls: 4, maxConcurrentLocalActivityExecutions: 8, maxConcurrentActivityTaskExecutions: 20, workflowThreadPoolSize: 2 });
    expect(workerSlots({}, 1, { eagerStarts: true })).toMatchObject({ maxConcurrentWorkflowTaskExecutions: 16, maxConcurrentWorkflowTaskPolls: 2 });
    expect(workerSlots({}, 64, { eagerStarts: true })).toMatchObject({ maxConcurrentWorkflowTaskExecutions: 160, maxConcurrentWorkflowTaskPolls: 20 });
    // Many polls: each still has a slot of its own, and as many again are left for eager starts.
    expect(workerSlots({ WORKER_WORKFLOW_TASK_POLLS: 30 }, 2, { eagerStarts: true })).toMatchObject({ maxConcurrentWorkflowTaskExecutions: 68, maxConcurrentWorkflowTaskPolls: 30 });
    expect(workerSlots({ WORKER_WORKFLOW_TASK_SLOTS: 10 }, 2, { eagerStarts: true })).toMatchObject({ maxConcurrentWorkflowTaskExecutions: 40, maxConcurrentWorkflowTaskPolls: 5 });
    // TEMPORAL_EAGER_START=off: no start is eager, so no slots are kept for them.
    expect(workerSlots({ TEMPORAL_EAGER_START: 'off' }, 2, { eagerStarts: true })).toMatchObject({ maxConcurrentWorkflowTaskExecutions: 16, maxConcurrentWorkflowTaskPolls: 4 });
  });

  test('the SDK gets a slot for every poll on top of the tasks that run, and as many again (four times the tasks with eager starts): polls waiting never hold every slot', () => {
    // The SDK's core takes a slot before each poll and keeps it while the poll waits (sdk-core LongPollBuffer).
    for (const cores of [1, 2, 4, 16, 64]) {
      for (const config of [{}, { WORKER_WORKFLOW_TASK_SLOTS: 2 }, { WORKER_WORKFLOW_TASK_SLOTS: 9, WORKER_WORKFLOW_TASK_POLLS: 2 }, { WORKER_WORKFLOW_TASK_POLLS: 30 }]) {
        const run = config.WORKER_WORKFLOW_TASK_SLOTS ?? Math.min(40, 4 * cores);
        const own = workerSlots(config, cores);
        expect(own.maxConcurrentWorkflowTaskExecutions! - 2 * own.maxConcurrentWorkflowTaskPolls!).toBe(run);
        expect(own.maxConcurrentWorkflowTaskPolls!).toBeGreaterThanOrEqual(2); // the SDK's floor with a workflow cache
        const eager = workerSlots(config, cores, { eagerStarts: true });
        expect(eager.maxConcurrentWorkflowTaskPolls).toBe(own.maxConcurrentWorkflowTaskPolls);
        expect(eager.maxConcurrentWorkflowTaskExecutions! - 2 * eager.maxConcurrentWorkflowTaskPolls!).toBeGreaterThanOrEqual(run);
        expect(eager.maxConcurrentWorkflowTaskExecutions!).toBeGreaterThanOrEqual(4 * run);
      }
    }
  });

  test('the settings win', () => {
    expect(workerSlots({ WORKER_WORKFLOW_TASK_SLOTS: 10, WORKER_LOCAL_ACTIVITY_SLOTS: 3, WORKER_ACTIVITY_SLOTS: 50 }, 2)).toEqual({
      maxConcurrentWorkflowTaskExecutions: 20,
      maxConcurrentWorkflowTaskPolls: 5,
      maxConcurrentLocalActivityExecutions: 3,
      maxConcurrentActivityTaskExecutions: 50,
      workflowThreadPoolSize: 2,
    });
    expect(workerSlots({ WORKER_WORKFLOW_TASK_POLLS: 3 }, 2)).toMatchObject({ maxConcurrentWorkflowTaskExecutions: 14, maxConcurrentWorkflowTaskPolls: 3 });
    expect(workerSlots({ WORKER_MAX_CACHED_WORKFLOWS: 20_000 }, 2).maxCachedWorkflows).toBe(20_000);
    expect('maxCachedWorkflows' in workerSlots({}, 2)).toBe(false); // the SDK's default
    expect(workerSlots({ WORKER_WORKFLOW_THREADS: 2 }, 2).workflowThreadPoolSize).toBe(2);
  });
});

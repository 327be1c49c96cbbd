// The action catalogue (zod and every action's schema) is evaluated once per worker, not once per workflow:
// src/workflows/machine/catalogue.ts keeps it in a preloaded module (src/worker/bundle.ts). Three workflows
// on one worker, one after another, must be handed the same catalogue, and zod must still parse and
// explain in each (its parts install on first use, which a frozen catalogue would refuse).
import crypto from 'node:crypto';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { PRELOAD_MODULES } from '../../src/worker/bundle';
import { startHarness, type Harness } from './helpers';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

test('three workflows on one worker share one action catalogue, and each parses and explains with it', async () => {
  const quiet = { trace: () => undefined, debug: () => undefined, info: () => undefined, log: () => undefined, warn: (m: string) => console.warn(m), error: (m: string) => console.error(m) };
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./fixtures/catalogue-probe-workflows'),
    preloadModules: [...PRELOAD_MODULES, require.resolve('./fixtures/catalogue-probe-mark')],
    logger: quiet as never,
  });
  const taskQueue = `catalogue-${crypto.randomUUID()}`;
  const worker = await Worker.create({ connection: h.env.nativeConnection, taskQueue, workflowBundle, reuseV8Context: true });
  const results = await worker.runUntil(async () => {
    const out = [];
    for (let i = 0; i < 3; i++) out.push(await h.env.client.workflow.execute('catalogueProbe', { taskQueue, workflowId: `catalogue-probe-${i}-${crypto.randomUUID()}` }));
    return out;
  });
  const problems = ['note: Too small: expected string to have >=1 characters', 'byRole: not allowed: who acts is taken from your credentials'];
  expect(results).toEqual([
    { distinct: 1, valid: true, problems },
    { distinct: 1, valid: true, problems },
    { distinct: 1, valid: true, problems },
  ]);
});

// The baseline: a workflow that does nothing. Its start rate on the same server, with its own worker
// running, is the platform's limit on this machine, against which course starts are compared.
export async function noopWorkflow(): Promise<void> {
  // returns at once: one workflow task, five history events
}

import { condition } from '@temporalio/workflow';

/** The memory baseline: a workflow that stays open, doing nothing, in the worker's cache. */
export async function idleWorkflow(): Promise<void> {
  await condition(() => false);
}

// The ladder's baseline (bench/phases/ladder.ts): a workflow that runs one activity, which writes one
// row into a bench table of the engine's own database. Its end-to-end capacity on the same Temporal
// server, the same database and the same worker slots is what this platform gives any workflow on this
// machine; the course engine's capacity is compared with it.
import { proxyActivities } from '@temporalio/workflow';

export interface OneRowActivities {
  benchWriteRow(id: string): Promise<void>;
}

const { benchWriteRow } = proxyActivities<OneRowActivities>({ startToCloseTimeout: '30 seconds' });

export async function oneRowWorkflow(id: string): Promise<void> {
  await benchWriteRow(id);
}

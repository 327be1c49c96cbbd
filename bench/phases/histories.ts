// History events per complete course, per protocol: one course of every shipped protocol enrolled on
// the live stack (real activities, projections in PostgreSQL) at a high time scale (protocol days per
// real day) and driven to its end by the course integration tests' driver
// (test/integration/course-driver.ts: intake, preparation, every dose with its integration session
// and REMS form, the maintenance decision; assessments left unanswered expire as missed, a real path).
// Counted per run of the course workflow (it continues as new before a run reaches its event budget),
// walking the chain back from the last run as scripts/record-histories.ts does.
import type { Client } from '@temporalio/client';
import { enrollClient } from '../../src/client/courses';
import type { Db } from '../../src/db/connect';
import { getProtocol, listProtocols } from '../../src/domain';
import { LiveCourse } from '../../test/integration/course-driver';
import { seedClients } from './starts';

export interface ProtocolHistory {
  protocol: string;
  status: string;
  runs: number;
  /** Events of the largest run (the figure the 2,000-events-per-run target is about). */
  maxEventsPerRun: number;
  eventsPerRun: number[];
  totalEvents: number;
  realSeconds: number;
}

/** Events of every run of a course's workflow chain, first run first. */
async function eventsPerRun(temporal: Client, workflowId: string): Promise<number[]> {
  let runId: string | undefined = (await temporal.workflow.getHandle(workflowId).describe()).runId;
  const out: number[] = [];
  while (runId) {
    const h = await temporal.workflow.getHandle(workflowId, runId).fetchHistory();
    out.unshift(h.events?.length ?? 0);
    runId = h.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return out;
}

export async function benchHistories(opts: { db: Db; temporal: Client; taskQueue: string; timeScale: number; protocols?: string[]; log: (m: string) => void }): Promise<ProtocolHistory[]> {
  const protocols = (opts.protocols ?? listProtocols().map((p) => p.id)).map((id) => getProtocol(id)!);
  const clientIds = await seedClients(opts.db, 'bench-live', protocols.length, `bench-hist-${Date.now().toString(36)}-`);
  return Promise.all(
    protocols.map(async (protocol, i) => {
      const t0 = Date.now();
      const { course } = await enrollClient({ db: opts.db, temporal: opts.temporal, taskQueue: opts.taskQueue }, { type: 'system', id: 'bench' }, { clientId: clientIds[i]!, protocolId: protocol.id, protocolVersion: protocol.version, timeScale: opts.timeScale });
      const final = await new LiveCourse(opts.temporal, opts.db, course.id, protocol).runToCompletion();
      const runs = await eventsPerRun(opts.temporal, course.workflow_id);
      const realSeconds = Math.round((Date.now() - t0) / 100) / 10;
      opts.log(`  ${protocol.id}: ${final.status} in ${realSeconds} s, events per run ${runs.join(' + ')}`);
      return { protocol: protocol.id, status: final.status, runs: runs.length, maxEventsPerRun: Math.max(...runs), eventsPerRun: runs, totalEvents: runs.reduce((a, b) => a + b, 0), realSeconds };
    }),
  );
}

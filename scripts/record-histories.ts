// Records the histories of complete courses, one per shipped protocol, from a real Temporal dev
// server (embedded PGlite, real activities, in-memory mailer), for the replay tests in
// test/workflows/replay.test.ts. Prints history events per run and per complete course.
//   npx tsx scripts/record-histories.ts [--time-scale 864000] [--out test/histories]
// Payloads are stored unencrypted (identity codec): the data is synthetic.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import { enrollClient } from '../src/client/courses';
import { connectTemporal } from '../src/client/temporal';
import { createDb } from '../src/db/connect';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres';
import { migrateToLatest } from '../src/db/migrate';
import { listProtocols } from '../src/domain';
import { freePort, startDevServer } from '../src/temporal/dev-server';
import { resolveToolchain } from '../src/temporal/toolchain';
import { createWorker } from '../src/worker/worker';
import { LiveCourse } from '../test/integration/course-driver';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : def;
};

async function main(): Promise<void> {
  const timeScale = Number(arg('--time-scale', '864000'));
  const outDir = path.resolve(arg('--out', 'test/histories'));
  fs.mkdirSync(outDir, { recursive: true });
  const silent = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  Runtime.install({ logger: silent as never, telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } } });

  const cli = resolveToolchain(undefined).temporalCli;
  const server = await startDevServer({ cliPath: cli, port: await freePort(), startTimeoutMs: 90_000 });
  const pg = await startEmbeddedPostgres({ port: await freePort() });
  const db = createDb({ url: pg.url, poolMax: 1 });
  const identity = { encode: async (p: unknown[]) => p, decode: async (p: unknown[]) => p } as never;
  try {
    await migrateToLatest(db);
    const clinicId = 'clinic-histories';
    await db.insertInto('clinics').values({ id: clinicId, name: 'History Clinic' }).execute();
    for (const role of ['coordinator', 'prescriber', 'therapist', 'admin'] as const) {
      await db.insertInto('staff').values({ id: `staff-${role}`, email: `${role}@history.example`, display_name: role, role }).execute();
      await db.insertInto('staff_clinics').values({ staff_id: `staff-${role}`, clinic_id: clinicId }).execute();
    }
    const taskQueue = `histories-${crypto.randomUUID()}`;
    const { worker, connection } = await createWorker({ address: server.address, namespace: 'default', taskQueue, db, payloadCodec: identity });
    const running = worker.run();
    const temporal = await connectTemporal({ address: server.address, namespace: 'default', payloadCodec: identity } as never);
    const figures: Record<string, { runs: number[]; total: number }> = {};
    for (const protocol of listProtocols()) {
      const clientId = `client-${protocol.id}`;
      await db.insertInto('clients').values({ id: clientId, clinic_id: clinicId, given_name: 'Synthetic', family_name: protocol.id, email: `${protocol.id}@history.example`, phone: null, external_ref: null }).execute();
      const { course } = await enrollClient({ db, temporal, taskQueue }, { type: 'system', id: null }, { clientId, protocolId: protocol.id, protocolVersion: protocol.version, timeScale });
      const t0 = Date.now();
      const final = await new LiveCourse(temporal, db, course.id, protocol).runToCompletion((what) => process.stderr.write(`  ${protocol.id}: ${what}\n`));
      // Walk the continue-as-new chain from the first run.
      // Walk the continue-as-new chain back from the latest run to the first.
      let runId: string | undefined = (await temporal.workflow.getHandle(course.workflow_id).describe()).runId;
      const chain: string[] = [];
      while (runId) {
        chain.unshift(runId);
        const h: { events?: Array<{ workflowExecutionStartedEventAttributes?: { continuedExecutionRunId?: string | null } | null }> | null } = await temporal.workflow
          .getHandle(course.workflow_id, runId)
          .fetchHistory();
        runId = h.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
      }
      const runs: number[] = [];
      const children = new Set<string>(); // the course's assessment children, for the assessment workflow's replay
      for (const [k, id] of chain.entries()) {
        const h = await temporal.workflow.getHandle(course.workflow_id, id).fetchHistory();
        runs.push(h.events?.length ?? 0);
        for (const e of h.events ?? []) {
          const c = e.startChildWorkflowExecutionInitiatedEventAttributes;
          if (c?.workflowId) children.add(c.workflowId);
        }
        // Exactly what `temporal workflow show --output json` prints: the format replay tests load.
        const json = execFileSync(cli, ['workflow', 'show', '--address', server.address, '--workflow-id', course.workflow_id, '--run-id', id, '--output', 'json'], { maxBuffer: 256 * 1024 * 1024 });
        fs.writeFileSync(path.join(outDir, `${protocol.id}-v${protocol.version}-run${k + 1}.json`), json);
      }
      for (const childId of children) {
        const stepKey = childId.slice(childId.lastIndexOf('/') + 1);
        const json = execFileSync(cli, ['workflow', 'show', '--address', server.address, '--workflow-id', childId, '--output', 'json'], { maxBuffer: 64 * 1024 * 1024 });
        fs.writeFileSync(path.join(outDir, `assessment-${protocol.id}-${stepKey}-run1.json`), json);
      }
      figures[protocol.id] = { runs, total: runs.reduce((a, b) => a + b, 0) };
      process.stdout.write(`${protocol.id}@${protocol.version}: ${final.status}, ${runs.length} run(s), events per run ${runs.join(' + ')} = ${figures[protocol.id]!.total} (${Date.now() - t0} ms at time scale ${timeScale})\n`);
    }
    fs.writeFileSync(path.join(outDir, 'figures.json'), `${JSON.stringify({ timeScale, figures }, null, 2)}\n`);
    worker.shutdown();
    await running;
    await connection.close();
    await temporal.connection.close();
  } finally {
    await db.destroy();
    await pg.stop();
    await server.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`record-histories: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});

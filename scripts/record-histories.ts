// Records the histories the replay test (test/workflows/replay.test.ts) runs, from the current code on
// a real Temporal dev server (embedded PGlite, real activities, in-memory mailer): one complete course
// per shipped protocol, and the branches that matter (a course holds its assessments: src/workflows/forms.ts):
//   <protocol>-complete          screening to the last follow-up (assessments after the baseline expire as missed)
//   kap-office-critical-hold     a PHQ-9 item 9 answered at screening: the critical answer's alerts, the
//                                suicide-risk hold, a clinician's review releasing it, then a withdrawal
//   kap-office-no-show-pause     a no-show, the session rescheduled, the course paused and resumed, the session held
//   kap-office-withdrawal        withdrawn with the first dose open (its open assessment cancelled)
//   iv-series-continue-as-new    a course continuing as new every ~150 events, then withdrawn
//   kap-office-maintenance-booster  the course in maintenance: the 30-day follow-up's PHQ-9 relapses (8 -> 16),
//                                booster-1 with its before-dose forms, pre-dose check, dose, discharge and
//                                integration, the later follow-ups answered; the course ends in maintenance
//   kap-office-moved             moved after dose 1's discharge (a safe point) to a version 2 snapshot (integration
//                                window 48 -> 24 h, two preparation sessions), then dose 2 and its integration, withdrawn
//   spravato-rems-form-late      the first REMS form left unfiled past its 7-day due date (rems-form.late), then
//                                filed, then withdrawn
// Files: test/histories/<name>-run<k>.json.gz (the course, run k), each the gzipped output of `temporal workflow show --output json`; figures.json: events and bytes.
//   npx tsx scripts/record-histories.ts [--time-scale 216000] [--out test/histories]
// Payloads are stored unencrypted (identity codec): the data is synthetic.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import type { Client } from '@temporalio/client';
import { makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import { executeCourseAction, submitAssessment } from '../src/client/course-actions';
import { enrollClient } from '../src/client/courses';
import { connectTemporal } from '../src/client/temporal';
import { createDb, type Db } from '../src/db/connect';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres';
import { migrateToLatest } from '../src/db/migrate';
import { getProtocol, listProtocols, type Protocol } from '../src/domain';
import { freePort, startDevServer } from '../src/temporal/dev-server';
import { resolveToolchain } from '../src/temporal/toolchain';
import { createWorker } from '../src/worker/worker';
import type { CourseInput } from '../src/workflows/course';
import { courseWorkflowId } from '../src/workflows/workflow-ids';
import { BENIGN_ANSWERS, LiveCourse, NO_HARD_STOPS, NO_REVIEW_ITEMS } from '../test/integration/course-driver';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : def;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const staff = { staffId: 'staff-prescriber', role: 'prescriber' as const, label: 'prescriber' };

interface Ctx {
  db: Db;
  temporal: Client;
  taskQueue: string;
  clinicId: string;
  timeScale: number;
}

/** Enrolls a new synthetic client; `maxEventsPerRun` starts the workflow itself (enrollment never sets it). */
async function newCourse(ctx: Ctx, name: string, protocol: Protocol, maxEventsPerRun?: number): Promise<LiveCourse> {
  const clientId = `client-${name}`;
  await ctx.db.insertInto('clients').values({ id: clientId, clinic_id: ctx.clinicId, given_name: 'Synthetic', family_name: name, email: `${name}@history.example`, phone: null, external_ref: null }).execute();
  if (maxEventsPerRun === undefined) {
    const { course } = await enrollClient({ db: ctx.db, temporal: ctx.temporal, taskQueue: ctx.taskQueue }, { type: 'system', id: null }, { clientId, protocolId: protocol.id, protocolVersion: protocol.version, timeScale: ctx.timeScale });
    return new LiveCourse(ctx.temporal, ctx.db, course.id, protocol);
  }
  const courseId = `course-${name}`;
  await ctx.db
    .insertInto('courses')
    .values({ id: courseId, client_id: clientId, clinic_id: ctx.clinicId, workflow_id: courseWorkflowId(courseId), protocol_id: protocol.id, protocol_version: protocol.version, protocol_snapshot: JSON.stringify(protocol), primary_clinician_id: null, current_step: null, current_step_deadline: null, ended_at: null, end_reason: null })
    .execute();
  const input: CourseInput = { courseId, clientId, clinicId: ctx.clinicId, protocol, timeScale: ctx.timeScale, maxEventsPerRun };
  await ctx.temporal.workflow.start('courseWorkflow', { taskQueue: ctx.taskQueue, workflowId: courseWorkflowId(courseId), args: [input] });
  return new LiveCourse(ctx.temporal, ctx.db, courseId, protocol);
}

async function ended(c: LiveCourse): Promise<void> {
  await c.temporal.workflow.getHandle(courseWorkflowId(c.courseId)).result();
}

const BRANCHES: Array<{ name: string; protocol: string; maxEventsPerRun?: number; run(c: LiveCourse): Promise<void> }> = [
  ...listProtocols().map((p) => ({ name: `${p.id}-complete`, protocol: p.id, run: async (c: LiveCourse) => void (await c.runToCompletion()) })),
  {
    name: 'kap-office-critical-hold',
    protocol: 'kap-office',
    async run(c) {
      await c.waitOpen('screening');
      const id = `${c.courseId}/screening`;
      // PHQ-9 item 9 answered 1: the course alerts and opens the hold in the answer's own task.
      for (let i = 0; ; i++) {
        const ok = await submitAssessment(c.temporal, `${id}/phq9`, [1, 1, 1, 1, 1, 1, 1, 1, 1]).then(
          () => true,
          (err: Error) => (i < 100 && /not found/i.test(err.message) ? false : Promise.reject(err)),
        );
        if (ok) break;
        await sleep(50);
      }
      await c.waitFor((v) => v.safetyHolds.length > 0);
      await c.answerAll('screening', { phq9: [1, 1, 1, 1, 1, 1, 1, 1, 1] });
      await c.act('safety-review', { outcome: 'release', riskLevel: 'low', notes: 'seen today; safety plan in place', actor: staff });
      await c.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
      await c.act('withdraw', { reason: 'recorded branch ends here', actor: staff });
      await ended(c);
    },
  },
  {
    name: 'kap-office-no-show-pause',
    protocol: 'kap-office',
    async run(c) {
      await c.intake(staff);
      await c.act('schedule', { stepKey: 'prep-1', startsInHours: 48 });
      await c.act('no-show', { stepKey: 'prep-1' });
      await c.act('schedule', { stepKey: 'prep-1', startsInHours: 48 });
      await c.act('pause', { reason: 'client travelling' });
      await c.act('resume', {});
      await c.act('session-complete', { stepKey: 'prep-1' });
      await c.act('withdraw', { reason: 'recorded branch ends here' });
      await ended(c);
    },
  },
  {
    name: 'kap-office-withdrawal',
    protocol: 'kap-office',
    async run(c) {
      await c.throughPreparation(staff);
      await c.waitOpen('dose-1');
      await c.waitFor((v) => v.assessments.some((a) => a.stepKey === 'dose-1'));
      await c.act('withdraw', { reason: 'moved away' });
      await ended(c);
    },
  },
  {
    name: 'iv-series-continue-as-new',
    protocol: 'iv-series',
    maxEventsPerRun: 150,
    async run(c) {
      await c.throughPreparation(staff);
      // Time goes by (reminders, escalations) until the course has continued as new at least twice.
      const handle = c.temporal.workflow.getHandle(courseWorkflowId(c.courseId));
      for (let i = 0; i < 600 && (await runChain(c.temporal, courseWorkflowId(c.courseId))).length < 3; i++) {
        await c.act('change-clinician', { clinicianId: `staff-${i % 2 ? 'prescriber' : 'therapist'}`, reason: 'rota' });
      }
      await c.act('withdraw', { reason: 'recorded branch ends here' });
      await handle.result();
    },
  },
  {
    name: 'kap-office-maintenance-booster',
    protocol: 'kap-office',
    async run(c) {
      await c.runThroughDosing();
      await c.answerAll('post-course-assessment'); // PHQ-9 8
      await c.waitOpen('maintenance-decision');
      await c.act('maintenance-decision', { decision: 'maintenance', reason: 'responded; boosters on relapse', actor: staff });
      await c.waitOpen('followup-30d');
      await c.answerAll('followup-30d', { phq9: [2, 2, 2, 2, 2, 2, 2, 2, 0] }); // 16: relapse
      await c.waitOpen('booster-1');
      await c.answerAll('booster-1');
      await c.doseDay('booster-1', 48);
      await c.act('session-complete', { stepKey: 'booster-integration-1' });
      for (const days of [90, 180]) {
        await c.waitFor((v) => v.steps.find((s) => s.id === `followup-${days}d`)?.status === 'open', 120_000);
        await c.answerAll(`followup-${days}d`);
      }
      await ended(c);
      const v = await c.waitFor((x) => x.status === 'completed');
      if (v.endReason !== 'maintenance') throw new Error(`kap-office-maintenance-booster ended as ${v.endReason}`);
    },
  },
  {
    name: 'kap-office-moved',
    protocol: 'kap-office',
    async run(c) {
      await c.throughPreparation(staff);
      await c.waitOpen('dose-1');
      await c.doseDay('dose-1', 48);
      // Discharged: a safe point. The server would add the target snapshot from the clinic's store.
      const moved = await c.act('move-version', { version: 2, reason: 'the clinic published v2', protocol: kapOfficeV2(), actor: { ...staff, staffId: 'staff-coordinator', role: 'coordinator', label: 'coordinator' } } as never);
      if (moved.outcome !== 'moved') throw new Error(`kap-office-moved: move outcome ${moved.outcome}`);
      await c.act('session-complete', { stepKey: 'integration-1' });
      await c.waitOpen('dose-2');
      await c.doseDay('dose-2', 14 * 24);
      await c.act('session-complete', { stepKey: 'integration-2' });
      await c.act('withdraw', { reason: 'recorded branch ends here' });
      await ended(c);
    },
  },
  {
    name: 'spravato-rems-form-late',
    protocol: 'spravato-rems',
    async run(c) {
      await c.throughPreparation(staff);
      await c.waitOpen('dose-1');
      await c.doseDay('dose-1', 48);
      await c.act('session-complete', { stepKey: 'integration-1' });
      await c.waitOpen('rems-form-1');
      // Left unfiled past its 7-day due date: the course records it late, once.
      for (let i = 0; ; i++) {
        const late = await c.db.selectFrom('course_events').select('id').where('course_id', '=', c.courseId).where('type', '=', 'rems-form.late').execute();
        if (late.length > 0) break;
        if (i > 1200) throw new Error('spravato-rems-form-late: no rems-form.late');
        await sleep(50);
      }
      await c.remsForm('rems-form-1');
      await c.act('withdraw', { reason: 'recorded branch ends here' });
      await ended(c);
    },
  },
];

/** Version 2 of office KAP as a clinic would publish it: integration within 24 h, two preparation sessions. */
function kapOfficeV2(): Protocol {
  const v2 = JSON.parse(JSON.stringify(getProtocol('kap-office', 1)!)) as Protocol;
  v2.version = 2;
  v2.course.integrationWindowHours = 24;
  v2.phases.find((ph) => ph.id === 'dosing')!.steps.find((st) => st.kind === 'integration')!.deadlineHours = 24;
  v2.course.preparationSessions = 2;
  return v2;
}

/** The run ids of a workflow, first to latest. */
async function runChain(temporal: Client, workflowId: string): Promise<string[]> {
  let runId: string | undefined = (await temporal.workflow.getHandle(workflowId).describe()).runId;
  const chain: string[] = [];
  while (runId) {
    chain.unshift(runId);
    const h: { events?: Array<{ workflowExecutionStartedEventAttributes?: { continuedExecutionRunId?: string | null } | null }> | null } = await temporal.workflow.getHandle(workflowId, runId).fetchHistory();
    runId = h.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return chain;
}

async function main(): Promise<void> {
  const timeScale = Number(arg('--time-scale', '216000'));
  const outDir = path.resolve(arg('--out', 'test/histories'));
  const only = process.argv.includes('--only') ? arg('--only', '').split(',') : null;
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
    const ctx: Ctx = { db, temporal, taskQueue, clinicId, timeScale };
    const show = (workflowId: string, runId?: string) =>
      execFileSync(cli, ['workflow', 'show', '--address', server.address, '--workflow-id', workflowId, ...(runId ? ['--run-id', runId] : []), '--output', 'json'], { maxBuffer: 256 * 1024 * 1024 });
    const figures: Record<string, { runs: Array<{ events: number; bytes: number; gzipBytes: number }>; seconds: number }> = {};
    for (const branch of BRANCHES) {
      if (only && !only.includes(branch.name)) continue;
      const t0 = Date.now();
      const c = await newCourse(ctx, branch.name, getProtocol(branch.protocol, 1)!, branch.maxEventsPerRun);
      await branch.run(c);
      const workflowId = courseWorkflowId(c.courseId);
      const runs: Array<{ events: number; bytes: number; gzipBytes: number }> = [];
      for (const [k, runId] of (await runChain(temporal, workflowId)).entries()) {
        const json = show(workflowId, runId);
        const events = (JSON.parse(json.toString('utf8')) as { events: unknown[] }).events;
        const gz = zlib.gzipSync(json, { level: 9 });
        fs.writeFileSync(path.join(outDir, `${branch.name}-run${k + 1}.json.gz`), gz);
        runs.push({ events: events.length, bytes: json.length, gzipBytes: gz.length });
      }
      figures[branch.name] = { runs, seconds: Math.round((Date.now() - t0) / 100) / 10 };
      process.stdout.write(`${branch.name}: ${runs.length} run(s), events ${runs.map((r) => r.events).join(' + ')}, ${runs.map((r) => `${Math.round(r.bytes / 1024)} KB`).join(' + ')} (gzip ${runs.map((r) => `${Math.round(r.gzipBytes / 1024)} KB`).join(' + ')})\n`);
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

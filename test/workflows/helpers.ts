// Shared set-up for workflow tests on the time-skipping test server: one prebuilt bundle per file,
// mocked activities that record what the workflow asked for, and a small driver for courses.
import { HARD_STOPS, REVIEW_ITEMS } from '../../src/domain/rules/eligibility';
import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Runtime, makeTelemetryFilterString, Worker } from '@temporalio/worker';
import { PRELOAD_MODULES } from '../../src/worker/bundle';
import { Context } from '@temporalio/activity';
import { AssessmentMachine } from '../../src/workflows/assessment-machine';
import type { NotifyInput } from '../../src/activities/contracts';
import type { CourseRecord, RecordAssessmentsInput } from '../../src/activities/course-records';
import type { CourseProjectionInput } from '../../src/activities/projections';
import { withFirstAttempts } from '../../src/activities/first-attempts';
import { getProtocol } from '../../src/domain';
import type { courseWorkflow, CourseInput } from '../../src/workflows/course';
import { courseUpdates, submitAnswersUpdate, type CourseActionInputs, type CourseActionName, type CourseAnswersInput } from '../../src/workflows/messages';
import { courseWorkflowId } from '../../src/workflows/workflow-ids';

const silent = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
let runtime = false;

export function testServerPath(): string {
  const tc = JSON.parse(fs.readFileSync(path.join(__dirname, '../../.tools/toolchain.json'), 'utf8')) as { temporalTestServer: string };
  return tc.temporalTestServer;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function spawnTestServer(): Promise<{ address: string; process: ChildProcess }> {
  const port = await freePort();
  const logFile = path.join(os.tmpdir(), `kap-test-server-${port}.log`);
  const out = fs.openSync(logFile, 'w');
  const proc = spawn(testServerPath(), [String(port)], { stdio: ['ignore', out, out] });
  proc.on('exit', (code, signal) => {
    if (code !== null || signal !== 'SIGTERM') fs.appendFileSync(logFile, `\n[harness] test server exited: code ${code} signal ${signal}\n`);
  });
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1', () => {
        sock.end();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return { address: `127.0.0.1:${port}`, process: proc };
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  proc.kill();
  throw new Error(`temporal-test-server did not start (log: ${logFile})`);
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** In-memory stand-ins for the activities: they record every call. */
export class FakeActivities {
  projections: CourseProjectionInput[] = [];
  assessments: RecordAssessmentsInput[] = [];
  notifications: NotifyInput[] = [];
  steps = new Map<string, CourseProjectionInput['steps'][number]>();
  course = new Map<string, NonNullable<CourseProjectionInput['course']>>();

  activities() {
    const notify = async (input: NotifyInput) => {
      this.attempts.push({ key: input.key, local: Context.current().info.isLocal });
      const failure = this.failNext.get(input.template);
      if (failure) {
        this.failNext.delete(input.template);
        throw ApplicationFailure.create({ message: `smtp ${failure === 'permanent' ? 'refused' : 'down'}`, type: 'TestSmtpFailure', nonRetryable: failure === 'permanent' });
      }
      // A held template stands for an SMTP send that has not settled (an outage, a send waiting out its lease).
      if (this.heldTemplates.has(input.template)) await this.released;
      // One email per key, as the real activity's outbox row makes it (a second attempt finds it sent).
      if (this.notifications.some((n) => n.key === input.key)) return { status: 'already-sent' };
      this.notifications.push(input);
      return { status: 'queued' };
    };
    return {
      // As the worker composes it (src/activities/index.ts): the invitations' first attempts follow the rows.
      projectCourse: withFirstAttempts(async (input: CourseProjectionInput) => {
        this.projections.push(input);
        for (const s of input.steps) this.steps.set(`${input.courseId}/${s.stepKey}`, s);
        if (input.course) this.course.set(input.courseId, input.course);
        // The course's forms: invitation rows as the real projection writes them (first write wins),
        // then the rows of changed instruments (written over).
        const opening = input.assessments?.invite ?? [];
        const recorded = input.assessments?.record ?? [];
        const written = new Set([...this.assessments.flatMap((a) => a.assessments.map((r) => r.id)), ...recorded.map((r) => r.id)]);
        const rows = opening.flatMap((a) => new AssessmentMachine(a, a.invitedAt!).records()).filter((r) => !written.has(r.id));
        if (rows.length) this.assessments.push({ assessments: rows });
        if (recorded.length) this.assessments.push({ assessments: recorded });
        return { lost: false };
      }, notify),
      recordAssessments: async (input: RecordAssessmentsInput) => {
        this.assessments.push(input);
      },
      notify,
    };
  }

  /** Every call of notify, in order, and whether it ran as a local activity. */
  attempts: Array<{ key: string; local: boolean }> = [];
  /** The next notify of a template fails once: for now (SMTP down) or for good (refused). */
  failNext = new Map<string, 'retryable' | 'permanent'>();

  /** Emails of these templates wait (unsent) until `releaseEmails()`. */
  heldTemplates = new Set<string>();
  private release: () => void = () => undefined;
  private released: Promise<void> = new Promise((r) => (this.release = r));
  holdEmails(...templates: string[]): void {
    for (const t of templates) this.heldTemplates.add(t);
  }
  releaseEmails(): void {
    this.heldTemplates.clear();
    this.release();
  }

  notes(courseId: string, template?: string): NotifyInput[] {
    return this.notifications.filter((n) => n.courseId === courseId && (!template || n.template === template));
  }

  /** A course as its projection wrote it (what PostgreSQL would hold): no query to the workflow. */
  view(courseId: string): ProjectedCourse {
    const course = this.course.get(courseId);
    const records = this.projections.filter((p) => p.courseId === courseId).flatMap((p) => p.records);
    const latest = <T extends { id: string }>(rows: T[]) => [...new Map(rows.map((r) => [r.id, r])).values()];
    const sessions = new Map(latest(records.filter((r): r is Extract<CourseRecord, { table: 'session' }> => r.table === 'session')).map((r) => [r.stepKey, r]));
    const steps = [...this.steps.entries()]
      .filter(([k]) => k.startsWith(`${courseId}/`))
      .map(([, s]) => ({ id: s.stepKey, kind: s.kind, status: s.state === 'overdue' ? 'open' : s.state, overdue: s.state === 'overdue', deadlineAt: s.deadlineAt ?? null, completedAt: s.completedAt ?? null, outcome: s.outcome ?? null, escalationLevel: s.escalationLevel ?? 0, detail: s.detail ?? {}, session: sessionOf(sessions.get(s.stepKey)) }));
    const holds = latest(records.filter((r): r is Extract<CourseRecord, { table: 'safety-event' }> => r.table === 'safety-event'));
    const events = records.filter((r): r is Extract<CourseRecord, { table: 'event' }> => r.table === 'event');
    const rows = latest(this.assessments.flatMap((a) => a.assessments).filter((a) => a.courseId === courseId));
    const forms = new Map<string, typeof rows>();
    for (const r of rows) {
      const formId = r.id.slice(0, r.id.lastIndexOf('/'));
      forms.set(formId, [...(forms.get(formId) ?? []), r]);
    }
    const heard = new Map<string, string>();
    for (const e of events) {
      const m = /^assessment\.(completed|partial|missed|cancelled)$/.exec(e.type);
      if (m && typeof e.detail.assessmentId === 'string') heard.set(e.detail.assessmentId, m[1]!);
    }
    return {
      courseId,
      status: course?.status ?? 'active',
      currentStep: course?.currentStep ?? null,
      riskLevel: course?.riskLevel ?? 'none',
      primaryClinicianId: course?.primaryClinicianId ?? null,
      endedAt: course?.endedAt ?? null,
      endReason: course?.endReason ?? null,
      steps,
      safetyHolds: holds.filter((h) => h.resolvedAt === null).map((h) => ({ id: h.id, kind: h.kind, level: h.level, stepKey: h.stepKey, at: h.at, reason: String(h.detail.reason ?? h.kind) })),
      assessments: [...forms.entries()].map(([id, list]) => ({
        id,
        stepKey: list[0]!.stepKey,
        instruments: list.map((r) => r.instrumentId),
        status: heard.get(id) ?? 'pending',
        results: list.map((r) => ({ instrumentId: r.instrumentId, status: r.status, total: r.total, band: r.band, critical: r.critical })),
      })),
      events,
    };
  }
}

/** A session as its `sessions` row holds it; `preDose` is the last pre-dose decision (null: none, or cleared by a reschedule). */
export interface ProjectedSession {
  status: string;
  startsAt: string | null;
  scheduleCount: number;
  noShowCount: number;
  dosedAt: string | null;
  preDose: string | null;
}

function sessionOf(r: Extract<CourseRecord, { table: 'session' }> | undefined): ProjectedSession | null {
  if (!r) return null;
  return { status: r.status, startsAt: r.startsAt, scheduleCount: r.scheduleCount, noShowCount: r.noShowCount, dosedAt: r.dosedAt, preDose: (r.detail.preDose as string | null | undefined) ?? null };
}

/** A course as its projection (and its assessments' rows) wrote it: what the product reads from PostgreSQL. */
export interface ProjectedCourse {
  courseId: string;
  status: string;
  currentStep: string | null;
  riskLevel: string;
  primaryClinicianId: string | null;
  endedAt: string | null;
  endReason: string | null;
  /** Steps opened so far (a pending step has no row yet); `status` 'open' also when overdue. */
  steps: Array<{ id: string; kind: string; status: string; overdue: boolean; deadlineAt: string | null; completedAt: string | null; outcome: string | null; escalationLevel: number; detail: Record<string, unknown>; session: ProjectedSession | null }>;
  /** Open safety items. */
  safetyHolds: Array<{ id: string; kind: string; level: string | null; stepKey: string | null; at: string; reason: string }>;
  /** Assessments whose rows exist; `status` 'pending' until the course has recorded that it finished. */
  assessments: Array<{ id: string; stepKey: string; instruments: string[]; status: string; results: Array<{ instrumentId: string; status: string; total: number | null; band: string | null; critical: boolean }> }>;
  /** The course's timeline events, in order. */
  events: Array<Extract<CourseRecord, { table: 'event' }>>;
}

export interface Harness {
  env: TestWorkflowEnvironment;
  worker: Worker;
  fakes: FakeActivities;
  taskQueue: string;
  /** How a driver reads a course; default: the fake activities' projection record. A harness on real activities reads PostgreSQL. */
  view?(courseId: string): Promise<ProjectedCourse>;
  stop(): Promise<void>;
}

let bundle: Promise<{ code: string }> | undefined;

/** Waits for `p`, or `ms`, whichever comes first (the timer does not hold the process open). */
const within = (p: Promise<unknown>, ms: number): Promise<unknown> => Promise.race([p, new Promise((r) => setTimeout(r, ms).unref())]);

export async function startHarness(): Promise<Harness> {
  if (!runtime) {
    Runtime.install({ logger: silent as never, telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } } });
    runtime = true;
  }
  // We start the test server ourselves (the SDK allows it only 5 s to come up, which flakes on a
  // loaded box) and keep its log for post-mortems.
  const server = await spawnTestServer();
  const env = await (TestWorkflowEnvironment as unknown as { create(o: unknown): Promise<TestWorkflowEnvironment> }).create({
    server: { type: 'existing' },
    supportsTimeSkipping: true,
    address: server.address,
    namespace: 'default',
  });
  // The test server knows no custom search attributes until they are registered.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: { KapStep: 2, KapStepDeadline: 6, KapClinic: 2, KapStatus: 2, KapProtocol: 2 },
  });
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), preloadModules: [...PRELOAD_MODULES], logger: { ...silent, warn: (m: string) => console.warn(m), error: (m: string) => console.error(m) } as never });
  const fakes = new FakeActivities();
  const taskQueue = `wf-${crypto.randomUUID()}`;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await bundle, activities: fakes.activities() });
  const running = worker.run();
  return {
    env,
    worker,
    fakes,
    taskQueue,
    // Bounded: a test server that stopped answering (it has, twice, in full runs on a loaded machine)
    // must not keep jest alive. Whatever happens, its process is killed.
    async stop() {
      try {
        worker.shutdown();
        await within(running.catch(() => undefined), 20_000);
        await within(env.teardown(), 10_000);
      } finally {
        server.process.kill('SIGKILL');
      }
    },
  };
}

export const BENIGN_ANSWERS: Record<string, unknown[]> = {
  phq9: [1, 1, 1, 1, 1, 1, 1, 1, 0],
  gad7: [1, 1, 1, 1, 1, 1, 1],
  pcl5: Array(20).fill(1),
  cssrs: [false, false, null, null, null, false],
  'qids-sr16': Array(16).fill(0),
};

export const NO_HARD_STOPS = Object.fromEntries(Object.keys(HARD_STOPS).map((k) => [k, false])) as Record<keyof typeof HARD_STOPS, boolean>;
export const NO_REVIEW_ITEMS = Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, false])) as Record<keyof typeof REVIEW_ITEMS, boolean>;

export const GOOD_CHECK = {
  bloodPressure: { systolic: 122, diastolic: 78 },
  hoursSinceFood: 8,
  hoursSinceClearLiquids: 3,
  escortConfirmed: true,
  pregnancy: 'negative' as const,
  cssrsRisk: 'none' as const,
  phq9Item9: 0,
};

export const CHECKLIST = { 'alert-oriented': true, 'minimal-nausea': true, 'walks-steadily': true, 'dissociation-resolved': true, 'written-instructions': true };

/** A course under test: start it, act on it, read it. */
export class CourseDriver {
  readonly courseId: string;
  handle!: WorkflowHandle<typeof courseWorkflow>;
  constructor(
    readonly h: Harness,
    readonly protocolId: string,
    readonly extra: Partial<CourseInput> = {},
  ) {
    this.courseId = `c-${crypto.randomUUID().slice(0, 8)}`;
  }

  async start(): Promise<this> {
    this.handle = await this.h.env.client.workflow.start('courseWorkflow', {
      taskQueue: this.h.taskQueue,
      workflowId: courseWorkflowId(this.courseId),
      args: [{ courseId: this.courseId, clientId: 'client-1', clinicId: 'clinic-1', protocol: getProtocol(this.protocolId, 1)!, ...this.extra }],
    });
    return this;
  }

  async act<K extends CourseActionName>(name: K, input: CourseActionInputs[K]) {
    return this.handle.executeUpdate(courseUpdates[name], { args: [input] } as never);
  }

  /** The rejection of an action: its failure type and message. */
  async reject<K extends CourseActionName>(name: K, input: CourseActionInputs[K]): Promise<{ type: string | undefined; message: string }> {
    try {
      await this.act(name, input);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
        return { type: err.cause.type ?? undefined, message: err.cause.message };
      }
      throw err;
    }
    throw new Error(`${name} was not rejected`);
  }

  /** The course as its projection wrote it (the fake activities' record; never a query to the workflow). */
  async state(): Promise<ProjectedCourse> {
    return this.h.view ? this.h.view(this.courseId) : this.h.fakes.view(this.courseId);
  }

  /** A step as projected; throws while it is still pending (a step has no row until it opens). */
  async step(id: string) {
    const st = (await this.state()).steps.find((s) => s.id === id);
    if (!st) throw new Error(`step ${id} has not opened (no projected row)`);
    return st;
  }

  /** The client answers one instrument of a step's form (the course's `submitAnswers` Update), once its rows are written. */
  async answer(stepKey: string, instrumentId: string, answers?: unknown[]) {
    const a = await this.form(stepKey);
    const input: CourseAnswersInput = { assessmentId: a.id, instrumentId: instrumentId as CourseAnswersInput['instrumentId'], answers: answers ?? BENIGN_ANSWERS[instrumentId]! };
    return this.handle.executeUpdate(submitAnswersUpdate, { args: [input] });
  }

  /** A step's form as projected, once its invitation rows are written (the course opened it in that task). */
  async form(stepKey: string): Promise<ProjectedCourse['assessments'][number]> {
    let a: ProjectedCourse['assessments'][number] | undefined;
    for (let k = 0; k < 250 && !a; k++) {
      const v = await this.state();
      a = v.assessments.find((x) => x.id === `${this.courseId}/${stepKey}`) ?? v.assessments.find((x) => x.stepKey === stepKey);
      if (!a) await new Promise((r) => setTimeout(r, 20));
    }
    if (!a) throw new Error(`no assessment for ${stepKey} (${(await this.step(stepKey))?.status ?? 'pending'})`);
    return a;
  }

  async answerAll(stepKey: string, overrides: Record<string, unknown[]> = {}) {
    const a = await this.form(stepKey);
    for (const i of a.instruments) await this.answer(stepKey, i, overrides[i]);
    await this.heard(a.id);
  }

  /**
   * Waits (real time, bounded) until the course has recorded that the assessment ended; returns how
   * ('completed', 'partial', 'missed', 'cancelled'). The last answer's Update answers once the course
   * has recorded it, so after answerAll this returns at once; after an expiry it waits for the timer's task.
   */
  async heard(assessmentId: string): Promise<string> {
    const until = Date.now() + 15_000;
    for (;;) {
      const status = (await this.state()).assessments.find((x) => x.id === assessmentId)?.status;
      if (status !== undefined && status !== 'pending') return status;
      if (Date.now() > until) throw new Error(`the course did not hear that ${assessmentId} ended within 15 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Waits (in skipped time) until the workflow reports the predicate true. */
  async until(pred: (v: ProjectedCourse) => boolean, stepMs = HOUR, maxSteps = 2000): Promise<ProjectedCourse> {
    for (let i = 0; i < maxSteps; i++) {
      const v = await this.state();
      if (pred(v)) return v;
      await this.h.env.sleep(stepMs);
    }
    throw new Error('condition not reached');
  }

  sleep(ms: number) {
    return this.h.env.sleep(ms);
  }

  /** Screening (baseline answered), clearance, REMS enrollment where required, consent. */
  async intake(): Promise<void> {
    await this.answerAll('screening');
    await this.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
    await this.act('clearance', { decision: 'approved' });
    if (getProtocol(this.protocolId, 1)!.phases.some((ph) => ph.steps.some((s) => s.kind === 'rems-enrollment'))) await this.act('rems-enrollment', { enrolled: true, remsPatientId: 'R-1' });
    await this.act('consent', { documentVersion: 'v1', signedByClient: true, prescriberSigned: true });
  }

  async session(stepKey: string, inHours = 48): Promise<void> {
    await this.act('schedule', { stepKey, startsInHours: inHours });
    await this.sleep(inHours * HOUR);
    await this.act('session-complete', { stepKey });
  }

  /** One dosing session from scheduling to discharge (monitoring for the protocol's minimum). */
  async dose(stepKey: string, opts: { inHours?: number; monitoringMinutes: number; checkMinutes: Array<number | 'discharge'>; route: CourseActionInputs['dose']['route'] }): Promise<void> {
    await this.act('schedule', { stepKey, startsInHours: opts.inHours ?? 48 });
    await this.sleep((opts.inHours ?? 48) * HOUR);
    const check = await this.act('pre-dose-check', { stepKey, ...GOOD_CHECK });
    if (check.outcome !== 'proceed') throw new Error(`pre-dose held: ${JSON.stringify(check.reasons)}`);
    await this.act('dose', { stepKey, route: opts.route, doseMg: 56, lotNumber: 'L1' });
    // Each timed reading at its time after the dose (one taken early is refused).
    let waited = 0;
    for (const m of opts.checkMinutes) {
      if (typeof m !== 'number' || m <= 0) continue;
      await this.sleep((m - waited) * 60_000);
      waited = m;
      await this.act('vitals', { stepKey, atMinutes: m, bloodPressure: { systolic: 130, diastolic: 82 }, spo2: 98 });
    }
    await this.sleep(Math.max(0, opts.monitoringMinutes - waited) * 60_000);
    await this.act('discharge', { stepKey, bloodPressure: { systolic: 124, diastolic: 80 }, spo2: 98, checklist: CHECKLIST, responsibleAdultPresent: true });
  }
}

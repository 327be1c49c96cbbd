// Only the engine can drive a workflow (issue #15, item 3). Someone who reaches the Temporal frontend
// without PAYLOAD_KEYS (a plain SDK client without the codec, the `temporal` CLI, a client with a
// forged ciphertext) sends a course an Update, a signal, or starts a course workflow of its own. The
// worker's codec refuses every payload not sealed with a key (src/security/payload-codec.ts) and the
// workflow turns the refusal into a rejected Update, an ignored signal, a failed start: the course's
// record in PostgreSQL and its history are unchanged, and it goes on working for the real API.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { Client, Connection, WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, type Payload } from '@temporalio/common';
import { HARD_STOPS, REVIEW_ITEMS } from '../../src/domain/rules/eligibility';
import { resolveToolchain } from '../../src/temporal/toolchain';
import { REFUSED_PAYLOAD_FAILURE } from '../../src/workflows/refused';
import { eventually, startTestStack, testEnv, type TestStack } from '../harness/stack';
import { client, personTokenFor, tokenFor, uid } from './api-helpers';

const run = promisify(execFile);

let stack: TestStack;
let call: ReturnType<typeof client>;
let raw: Client;
let rawConnection: Connection;
const clinicId = `side-${uid()}`;
const t: Record<'admin' | 'coordinator' | 'prescriber', string> = { admin: '', coordinator: '', prescriber: '' };
let courseId: string;
let clientId: string;
let workflowId: string;

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  t.admin = await tokenFor(stack.db, 'admin');
  t.coordinator = await tokenFor(stack.db, 'coordinator');
  t.prescriber = await tokenFor(stack.db, 'prescriber');
  expect((await call('POST', '/api/clinics', { token: t.admin, body: { id: clinicId, name: 'Side Door Clinic' } })).status).toBe(201);
  const c = await call('POST', '/api/clients', { token: t.coordinator, body: { clinicId, givenName: 'Ines', familyName: 'Harrow', email: 'ines.harrow@example.org' } });
  expect(c.status).toBe(201);
  clientId = c.body.id;
  const e = await call('POST', `/api/clients/${clientId}/courses`, { token: t.coordinator, body: { protocolId: 'kap-office' } });
  expect(e.status).toBe(201);
  courseId = e.body.id;
  workflowId = e.body.workflowId;
  // Screening done the normal way: the course now waits for the prescriber's clearance decision.
  const hardStops = Object.fromEntries(Object.keys(HARD_STOPS).map((k) => [k, false]));
  const s = await call('POST', `/api/courses/${courseId}/screening`, { token: t.coordinator, body: { hardStops, reviewItems: Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, false])) } });
  if (s.status !== 200) throw new Error(JSON.stringify(s.body));
  await eventually(async () => (await stack.db.selectFrom('courses').select('current_step').where('id', '=', courseId).executeTakeFirst())?.current_step === 'clearance');

  // The side door: the same frontend, the SDK's defaults, no payload codec.
  rawConnection = await Connection.connect({ address: testEnv().temporalAddress });
  raw = new Client({ connection: rawConnection, namespace: stack.config.TEMPORAL_NAMESPACE });
});
afterAll(async () => {
  await stack?.temporal.workflow.getHandle(workflowId).terminate('test cleanup').catch(() => undefined);
  await rawConnection?.close();
  await stack?.stop();
});

/** Waits until the course has nothing in flight (the screening's email, projections), so a snapshot holds still. */
async function settled(): Promise<void> {
  await eventually(async () => {
    const desc = await stack.temporal.workflow.getHandle(workflowId).describe();
    if ((desc.raw.pendingActivities ?? []).length || desc.raw.pendingWorkflowTask) return false;
    const open = await stack.db.selectFrom('email_outbox').select('key').where('course_id', '=', courseId).where('status', 'in', ['pending', 'sending']).execute();
    return open.length === 0;
  });
}

/** What a forged call could change: the course row, its timeline, its audit entries, its workflow state. */
async function snapshot() {
  await settled();
  const course = await stack.db.selectFrom('courses').select(['status', 'current_step', 'current_step_deadline', 'risk_level']).where('id', '=', courseId).executeTakeFirstOrThrow();
  const events = await stack.db.selectFrom('course_events').select(['type', 'step_key']).where('course_id', '=', courseId).orderBy('seq').execute();
  // Emails the course had already asked for keep going out on their own (email.sent): not a change.
  const audit = await stack.db.selectFrom('audit_log').select(['action']).where('course_id', '=', courseId).where('action', 'not like', 'email.%').orderBy('id').execute();
  const view = await stack.temporal.workflow.getHandle(workflowId).query<{ currentStep: string | null; riskLevel: string; safetyHolds: unknown[]; steps: Array<{ id: string; status: string }> }>('getCourseState');
  return {
    course,
    events,
    audit,
    view: { currentStep: view.currentStep, riskLevel: view.riskLevel, safetyHolds: view.safetyHolds, clearance: view.steps.find((s) => s.id === 'clearance')?.status },
  };
}

async function history() {
  const res = await rawConnection.workflowService.getWorkflowExecutionHistory({ namespace: stack.config.TEMPORAL_NAMESPACE, execution: { workflowId } });
  return (res.history?.events ?? []).map((e) => e);
}
const updateEvents = (events: Awaited<ReturnType<typeof history>>) => events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes || e.workflowExecutionUpdateCompletedEventAttributes || e.workflowExecutionUpdateAdmittedEventAttributes);

const forgedClearance = { decision: 'approved', actor: { staffId: 'forger', role: 'prescriber', name: 'Dr Forged' } };

test('a plain-JSON Update from an SDK client without the codec is rejected and changes nothing', async () => {
  const before = await snapshot();
  const historyBefore = await history();
  expect(before.view.currentStep).toBe('clearance');

  const err = await raw.workflow
    .getHandle(workflowId)
    .executeUpdate('clearance', { args: [forgedClearance] })
    .then(
      () => null,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (err as WorkflowUpdateFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect((cause as ApplicationFailure).type).toBe(REFUSED_PAYLOAD_FAILURE);

  // No argument at all (no payload for the codec to refuse): the validator refuses the missing input.
  const empty = await raw.workflow.getHandle(workflowId).executeUpdate('clearance', { args: [] }).then(() => null, (e: unknown) => e);
  expect(empty).toBeInstanceOf(WorkflowUpdateFailedError);
  expect(((empty as WorkflowUpdateFailedError).cause as ApplicationFailure).type).toBe(REFUSED_PAYLOAD_FAILURE);

  // The engine's own resync of the record (no state change, but an Update all the same): refused
  // without a sealed argument, plain or missing.
  for (const args of [[{ reason: 'lost-task' }], []] as Array<[] | [{ reason: string }]>) {
    const resync = await raw.workflow.getHandle(workflowId).executeUpdate('resyncProjection', { args } as never).then(() => null, (e: unknown) => e);
    expect(resync).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(((resync as WorkflowUpdateFailedError).cause as ApplicationFailure).type).toBe(REFUSED_PAYLOAD_FAILURE);
  }

  // A payload dressed as ciphertext under the current key id, made without the key: refused too.
  const forger = new Client({
    connection: rawConnection,
    namespace: stack.config.TEMPORAL_NAMESPACE,
    dataConverter: {
      payloadCodecs: [
        {
          encode: async (ps: Payload[]) => ps.map(() => ({ metadata: { encoding: Buffer.from('binary/encrypted'), 'encryption-key-id': Buffer.from('test-2') }, data: crypto.randomBytes(80) })),
          decode: async (ps: Payload[]) => ps,
        },
      ],
    },
  });
  const forged = await forger.workflow.getHandle(workflowId).executeUpdate('clearance', { args: [forgedClearance] }).then(() => null, (e: unknown) => e);
  expect(forged).toBeInstanceOf(WorkflowUpdateFailedError);
  expect(((forged as WorkflowUpdateFailedError).cause as ApplicationFailure).type).toBe(REFUSED_PAYLOAD_FAILURE);

  expect(await snapshot()).toEqual(before);
  const historyAfter = await history();
  // A rejected Update leaves no event: not admitted, accepted or completed, and no new workflow task.
  expect(updateEvents(historyAfter)).toEqual(updateEvents(historyBefore));
  expect(historyAfter.length).toBe(historyBefore.length);
});

test('the `temporal workflow update execute` CLI without the keys is rejected and changes nothing', async () => {
  const before = await snapshot();
  const historyBefore = await history();
  const { temporalCli } = resolveToolchain(process.env.TEMPORAL_CLI_PATH || undefined);
  const result = await run(temporalCli, [
    'workflow', 'update', 'execute',
    '--address', testEnv().temporalAddress,
    '--namespace', stack.config.TEMPORAL_NAMESPACE,
    '--workflow-id', workflowId,
    '--name', 'clearance',
    '--input', JSON.stringify(forgedClearance),
  ]).then(
    (r) => ({ code: 0, out: `${r.stdout}${r.stderr}` }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
  );
  expect(result.code).not.toBe(0);
  expect(result.out).toMatch(/not sealed with the engine's payload keys/);
  expect(await snapshot()).toEqual(before);
  const historyAfter = await history();
  expect(updateEvents(historyAfter)).toEqual(updateEvents(historyBefore));
  expect(historyAfter.length).toBe(historyBefore.length);
});

test("a forged client answer (plain JSON, an item 9 of 3) is refused before history: the course's Update validator never lets it in", async () => {
  const before = await snapshot();
  const historyBefore = await history();
  const err = await raw.workflow
    .getHandle(workflowId)
    .executeUpdate('submitAnswers', { args: [{ assessmentId: `${courseId}/screening`, instrumentId: 'phq9', answers: [3, 3, 3, 3, 3, 3, 3, 3, 3] }] })
    .then(
      () => null,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  expect(((err as WorkflowUpdateFailedError).cause as ApplicationFailure).type).toBe(REFUSED_PAYLOAD_FAILURE);
  const historyAfter = await history();
  expect(updateEvents(historyAfter)).toEqual(updateEvents(historyBefore));
  expect(await snapshot()).toEqual(before);
});

test('a plain signal (a forged critical assessment, by the name the old assessment workflows used) is ignored: no hold, no risk, the course keeps working', async () => {
  const before = await snapshot();
  const historyBefore = await history();
  await raw.workflow.getHandle(workflowId).signal('assessmentCritical', { assessmentId: `${courseId}/forged`, level: 'high', codes: ['forged'], at: Date.now() });
  await raw.workflow.getHandle(workflowId).signal('assessmentFinished'); // no payload at all
  // The server records a signal before any worker sees it; the workflow task that delivers it completes.
  const historyAfter = await eventually(async () => {
    const h = await history();
    const signals = h.slice(historyBefore.length).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
    const lastDone = h.at(-1)?.workflowTaskCompletedEventAttributes;
    return signals === 2 && lastDone ? h : undefined;
  });
  const added = historyAfter.slice(historyBefore.length);
  expect(added.filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
  // Nothing scheduled in answer: no activity (projection, email), no child, no timer.
  expect(added.filter((e) => e.activityTaskScheduledEventAttributes || e.markerRecordedEventAttributes || e.startChildWorkflowExecutionInitiatedEventAttributes || e.timerStartedEventAttributes)).toEqual([]);
  expect(await snapshot()).toEqual(before);
  const desc = await stack.temporal.workflow.getHandle(workflowId).describe();
  expect(desc.status.name).toBe('RUNNING');
  expect(desc.raw.pendingWorkflowTask ?? null).toBeNull();

  // The real API still drives the course: the prescriber's clearance is applied and recorded as theirs.
  // (A clearance is a clinical judgement by a person: the prescriber's own token.)
  const ok = await call('POST', `/api/courses/${courseId}/clearance`, { token: (await personTokenFor(stack.db, 'prescriber', clinicId)).token, body: { decision: 'approved' } });
  expect(ok.status).toBe(200);
  const after = await snapshot();
  expect(after.view.clearance).not.toBe(before.view.clearance);
  expect(after.view.currentStep).not.toBe('clearance');
  expect(after.view.safetyHolds).toEqual([]);
  expect(after.view.riskLevel).toBe('none');
});

test('a forged start of a course workflow with plain JSON input fails at once and writes nothing', async () => {
  const forgedCourse = `forged-${uid()}`;
  const handle = await raw.workflow.start('courseWorkflow', {
    taskQueue: stack.taskQueue,
    workflowId: `course-${forgedCourse}`,
    args: [{ courseId: forgedCourse, clientId, clinicId, protocolId: 'kap-office', protocolVersion: 1 }],
  });
  const err = await handle.result().then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe(REFUSED_PAYLOAD_FAILURE);
  const events = (await rawConnection.workflowService.getWorkflowExecutionHistory({ namespace: stack.config.TEMPORAL_NAMESPACE, execution: { workflowId: `course-${forgedCourse}` } })).history?.events ?? [];
  expect(events.filter((e) => e.activityTaskScheduledEventAttributes || e.markerRecordedEventAttributes || e.startChildWorkflowExecutionInitiatedEventAttributes)).toEqual([]);
  expect(await stack.db.selectFrom('courses').select('id').where('id', '=', forgedCourse).executeTakeFirst()).toBeUndefined();
  expect(await stack.db.selectFrom('course_events').select('id').where('course_id', '=', forgedCourse).executeTakeFirst()).toBeUndefined();

  // The late-answer alert and webhook workflows refuse a forged start the same way.
  for (const type of ['lateAnswerAlertWorkflow', 'webhookDeliveryWorkflow']) {
    const h = await raw.workflow.start(type, { taskQueue: stack.taskQueue, workflowId: `forged-${type}-${uid()}`, args: [{ assessmentId: 'x', deliveryId: 'x' }] });
    const e = await h.result().then(() => null, (x: unknown) => x);
    expect(((e as WorkflowFailedError).cause as ApplicationFailure).type).toBe(REFUSED_PAYLOAD_FAILURE);
  }
});

test('the codec endpoint decodes for the Web UI but never seals a payload', async () => {
  const res = await stack.app.inject({ method: 'POST', url: '/codec/encode', headers: { authorization: `Bearer ${t.admin}` }, payload: { payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('{}').toString('base64') }] } });
  expect(res.statusCode).toBe(403);
  expect(res.json().message).toMatch(/decodes only/);
});

// The course's projection (a local activity) starts the assessments it opens
// (src/activities/assessment-starts.ts) on the Worker's own client over its NativeConnection. Exactly once rests on the workflow id: a retried
// activity, or a task replayed after a worker died, starts the same assessment again and must succeed
// without a second workflow, also once the first has closed; any other refusal must fail the activity.
import { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { NativeConnection } from '@temporalio/worker';
import { startAssessmentWorkflows } from '../../src/activities/assessment-starts';
import { createProjectionActivities } from '../../src/activities/projections';
import { payloadCodecFor } from '../../src/security/keys';
import { assessmentWorkflowId, type AssessmentInput } from '../../src/workflows/assessment-machine';
import { startTestStack, testEnv, type TestStack } from '../harness/stack';
import { client, tokenFor, uid } from './api-helpers';

let stack: TestStack;
let native: NativeConnection;
// No worker polls this queue: the started assessments wait there untouched until the test ends them.
const idleQueue = `nobody-${uid()}`;
const started: string[] = [];

function input(courseId: string): AssessmentInput {
  return {
    assessmentId: `${courseId}/screening`,
    courseId,
    clinicId: 'c1',
    parentWorkflowId: `course-${courseId}`,
    stepKey: 'screening',
    instruments: ['phq9'],
    trigger: 'scheduled',
    reminders: { everyHours: 24, count: 2 },
    expiryHours: 96,
    timeScale: 1,
    safetyAlertRoles: ['prescriber'],
  };
}

beforeAll(async () => {
  stack = await startTestStack({ deferWorker: true });
  native = await NativeConnection.connect({ address: testEnv().temporalAddress });
}, 120_000);
afterAll(async () => {
  for (const id of started) await stack.temporal.workflow.getHandle(id).terminate('test over').catch(() => undefined);
  await native?.close();
  await stack?.stop();
});

// The Worker's client is built over its NativeConnection; the API's over a gRPC Connection. Both.
const clients = (): Array<[string, Client]> => [
  ['native connection (the Worker)', new Client({ connection: native, namespace: stack.config.TEMPORAL_NAMESPACE, dataConverter: { payloadCodecs: [payloadCodecFor(stack.config)] } })],
  ['gRPC connection', stack.temporal],
];

test.each(['native connection (the Worker)', 'gRPC connection'])('a start repeated (retry, replay) and a start after the assessment closed succeed with one workflow: %s', async (name) => {
  const client = clients().find(([n]) => n === name)![1];
  const courseId = `${uid()}-${uid()}`;
  const id = assessmentWorkflowId(`${courseId}/screening`);
  started.push(id);
  await startAssessmentWorkflows(client, idleQueue, [input(courseId)]);
  const first = await stack.temporal.workflow.getHandle(id).describe();
  await startAssessmentWorkflows(client, idleQueue, [input(courseId)]);
  expect((await stack.temporal.workflow.getHandle(id).describe()).runId).toBe(first.runId);
  // The course's task replayed after the assessment ended: still one run, still success.
  await stack.temporal.workflow.getHandle(id).terminate('closed before the replay');
  await startAssessmentWorkflows(client, idleQueue, [input(courseId)]);
  const after = await stack.temporal.workflow.getHandle(id).describe();
  expect(after.runId).toBe(first.runId);
  expect(after.status.name).toBe('TERMINATED');
  // The input went through the payload codec: the server holds ciphertext, not the course id.
  const raw = await stack.temporal.connection.workflowService.getWorkflowExecutionHistory({ namespace: stack.config.TEMPORAL_NAMESPACE, execution: { workflowId: id } });
  const startedEvent = raw.history!.events![0]!.workflowExecutionStartedEventAttributes!;
  expect(startedEvent.input!.payloads![0]!.metadata!.encoding!.toString()).not.toBe('json/plain');
  expect(Buffer.from(startedEvent.input!.payloads![0]!.data!).toString('utf8')).not.toContain(courseId);
});

test('any other refusal fails the start, so the projection is retried instead of taking it as started', async () => {
  const [, client] = clients()[0]!;
  const bad = new Client({ connection: native, namespace: `no-such-namespace-${uid()}` });
  await expect(startAssessmentWorkflows(bad, idleQueue, [input(uid())])).rejects.toThrow(/namespace/i);
  // The same call on the right namespace goes through.
  const courseId = `${uid()}-${uid()}`;
  started.push(assessmentWorkflowId(`${courseId}/screening`));
  await expect(startAssessmentWorkflows(client, idleQueue, [input(courseId)])).resolves.toBeUndefined();
});

test('the projection writes the invitation rows once and starts the assessment; replayed after an answer, it leaves the answer and the run alone', async () => {
  const call = client(stack.app);
  const root = await tokenFor(stack.db, 'admin');
  const clinicId = `starts-${uid()}`;
  expect((await call('POST', '/api/clinics', { token: root, body: { id: clinicId, name: 'Starts Clinic' } })).status).toBe(201);
  const c = await call('POST', '/api/clients', { token: root, body: { clinicId, givenName: 'Ira', familyName: `Start${uid()}`, email: `ira-${uid()}@example.org`, dateOfBirth: '1979-01-02' } });
  const course = await call('POST', `/api/clients/${c.body.id}/courses`, { token: root, body: { protocolId: 'kap-office' } });
  expect(course.status).toBe(201);
  const courseId: string = course.body.id;
  started.push(course.body.workflowId);
  const { projectCourse } = createProjectionActivities({ db: stack.db });
  const [, workerClient] = clients()[0]!;
  const env = new MockActivityEnvironment({}, { client: workerClient });
  const invitedAt = Date.parse('2026-12-01T09:00:00Z');
  const opening = { ...input(courseId), clinicId, invitedAt, instruments: ['phq9', 'gad7'] as AssessmentInput['instruments'] };
  const projection = { courseId, clinicId, steps: [], records: [], assessments: { taskQueue: idleQueue, start: [opening] } };
  const id = assessmentWorkflowId(opening.assessmentId);
  started.push(id);

  await env.run(projectCourse, projection);
  const rows = () => stack.db.selectFrom('assessments').select(['id', 'status', 'invited_at', 'expires_at']).where('course_id', '=', courseId).orderBy('id').execute();
  expect((await rows()).map((r) => [r.id, r.status, new Date(r.invited_at as unknown as string).toISOString()])).toEqual([
    [`${opening.assessmentId}/gad7`, 'invited', '2026-12-01T09:00:00.000Z'],
    [`${opening.assessmentId}/phq9`, 'invited', '2026-12-01T09:00:00.000Z'],
  ]);
  const run = (await stack.temporal.workflow.getHandle(id).describe()).runId;

  // The client answers the PHQ-9 (the assessment records it), then the course's task is replayed.
  await stack.db.updateTable('assessments').set({ status: 'completed', total: 9 }).where('id', '=', `${opening.assessmentId}/phq9`).execute();
  await env.run(projectCourse, projection);
  expect((await rows()).map((r) => r.status)).toEqual(['invited', 'completed']);
  expect((await stack.temporal.workflow.getHandle(id).describe()).runId).toBe(run);

  // Without the invitation time the projection refuses for good instead of guessing one.
  await expect(env.run(projectCourse, { ...projection, assessments: { taskQueue: idleQueue, start: [{ ...opening, invitedAt: undefined }] } })).rejects.toThrow(/invitedAt/);
});

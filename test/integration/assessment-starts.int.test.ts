// The course starts its assessments with a local activity (src/activities/assessment-starts.ts), on
// the Worker's own client over its NativeConnection. Exactly once rests on the workflow id: a retried
// activity, or a task replayed after a worker died, starts the same assessment again and must succeed
// without a second workflow, also once the first has closed; any other refusal must fail the activity.
import { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { NativeConnection } from '@temporalio/worker';
import { createAssessmentStartActivities } from '../../src/activities/assessment-starts';
import { payloadCodecFor } from '../../src/security/keys';
import { assessmentWorkflowId, type AssessmentInput } from '../../src/workflows/assessment-machine';
import { startTestStack, testEnv, type TestStack } from '../harness/stack';
import { uid } from './api-helpers';

let stack: TestStack;
let native: NativeConnection;
const { startAssessments } = createAssessmentStartActivities();
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
  const env = new MockActivityEnvironment({}, { client });
  const courseId = `${uid()}-${uid()}`;
  const id = assessmentWorkflowId(`${courseId}/screening`);
  started.push(id);
  await env.run(startAssessments, { taskQueue: idleQueue, assessments: [input(courseId)] });
  const first = await stack.temporal.workflow.getHandle(id).describe();
  await env.run(startAssessments, { taskQueue: idleQueue, assessments: [input(courseId)] });
  expect((await stack.temporal.workflow.getHandle(id).describe()).runId).toBe(first.runId);
  // The course's task replayed after the assessment ended: still one run, still success.
  await stack.temporal.workflow.getHandle(id).terminate('closed before the replay');
  await env.run(startAssessments, { taskQueue: idleQueue, assessments: [input(courseId)] });
  const after = await stack.temporal.workflow.getHandle(id).describe();
  expect(after.runId).toBe(first.runId);
  expect(after.status.name).toBe('TERMINATED');
  // The input went through the payload codec: the server holds ciphertext, not the course id.
  const raw = await stack.temporal.connection.workflowService.getWorkflowExecutionHistory({ namespace: stack.config.TEMPORAL_NAMESPACE, execution: { workflowId: id } });
  const startedEvent = raw.history!.events![0]!.workflowExecutionStartedEventAttributes!;
  expect(startedEvent.input!.payloads![0]!.metadata!.encoding!.toString()).not.toBe('json/plain');
  expect(Buffer.from(startedEvent.input!.payloads![0]!.data!).toString('utf8')).not.toContain(courseId);
});

test('any other refusal fails the activity (it is retried, not taken as started)', async () => {
  const [, client] = clients()[0]!;
  const env = new MockActivityEnvironment({}, { client });
  const bad = new Client({ connection: native, namespace: `no-such-namespace-${uid()}` });
  await expect(new MockActivityEnvironment({}, { client: bad }).run(startAssessments, { taskQueue: idleQueue, assessments: [input(uid())] })).rejects.toThrow(/namespace/i);
  // The same call on the right namespace goes through.
  const courseId = `${uid()}-${uid()}`;
  started.push(assessmentWorkflowId(`${courseId}/screening`));
  await expect(env.run(startAssessments, { taskQueue: idleQueue, assessments: [input(courseId)] })).resolves.toBeUndefined();
});

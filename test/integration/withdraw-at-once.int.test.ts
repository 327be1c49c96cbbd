// A coordinator enrols a client by mistake (wrong client, wrong protocol) and withdraws the course at
// once, before the engine has taken its first step. The withdrawal reaches the course in the same
// workflow task that opens its screening assessment, so the course both opens and cancels that form
// in one task. (When the form was a workflow of its own, the server refused a start and a cancel of
// one child in one task and failed the task, losing the withdrawal with it: the coordinator got 409
// "was closing" for a course that was not.) Now the form is cancelled before its invitation goes out.
import { courseWorkflowId } from '../../src/workflows/workflow-ids';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, tokenFor, uid } from './api-helpers';

let stack: TestStack;
let call: ReturnType<typeof client>;
let coordinator: string;
const clinicId = `withdraw-now-${uid()}`;

beforeAll(async () => {
  // The worker is created but does not poll yet: the course's first task waits until the test says.
  stack = await startTestStack({ deferWorker: true });
  call = client(stack.app);
  const root = await tokenFor(stack.db, 'admin');
  expect((await call('POST', '/api/clinics', { token: root, body: { id: clinicId, name: 'Withdraw Clinic' } })).status).toBe(201);
  coordinator = await tokenFor(stack.db, 'coordinator', clinicId);
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

async function enroll(): Promise<string> {
  const c = await call('POST', '/api/clients', { token: coordinator, body: { clinicId, givenName: 'Kai', familyName: `Mistake${uid()}`, email: `kai-${uid()}@example.org`, dateOfBirth: '1980-04-02' } });
  expect(c.status).toBe(201);
  const course = await call('POST', `/api/clients/${c.body.id}/courses`, { token: coordinator, body: { protocolId: 'kap-office' } });
  expect(course.status).toBe(201);
  return course.body.id as string;
}
const withdraw = (courseId: string) => call('POST', `/api/courses/${courseId}/withdraw`, { token: coordinator, body: { reason: 'enrolled the wrong client' } });
/** Event types of a workflow's history, in order (e.g. 'workflowExecutionUpdateAccepted'). */
async function eventTypes(workflowId: string): Promise<string[]> {
  const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).map((e) => Object.keys(e).find((k) => k.endsWith('EventAttributes'))!.replace(/EventAttributes$/, ''));
}

test('a withdrawal sent before the engine took the first step is answered, ends the course and cancels its screening', async () => {
  const courseId = await enroll();
  const answer = withdraw(courseId);
  // The Update reaches the server while no worker polls: the course's first task will carry it.
  await new Promise((r) => setTimeout(r, 1_500));
  stack.runWorker();
  const res = await answer;
  expect({ status: res.status, body: res.body }).toMatchObject({ status: 200, body: { outcome: 'withdrawn' } });

  // The course closes after the answer (it waits for its messages and the screening's cancellation).
  expect(await stack.temporal.workflow.getHandle(courseWorkflowId(courseId)).result()).toMatchObject({ status: 'withdrawn' });
  const events = await eventTypes(courseWorkflowId(courseId));
  // The case under test: the withdrawal came in the course's first workflow task, the one that opens
  // the screening (the projection, one local-activity marker, writes its rows), and cancelled it there.
  const firstTask = events.slice(events.indexOf('workflowTaskCompleted'), events.indexOf('workflowTaskScheduled', events.indexOf('workflowTaskCompleted')));
  expect(firstTask.slice(0, 3)).toEqual(['workflowTaskCompleted', 'workflowExecutionUpdateAccepted', 'markerRecorded']);
  // Answered in that same task; nothing was started or cancelled beside the course.
  expect(firstTask).toContain('workflowExecutionUpdateCompleted');
  expect(events.filter((e) => /External|ChildWorkflow/.test(e))).toEqual([]);
  expect(events).not.toContain('workflowTaskFailed');
  expect(events.at(-1)).toBe('workflowExecutionCompleted');

  const row = await eventually(async () => {
    const r = await stack.db.selectFrom('courses').select(['status', 'end_reason', 'ended_at']).where('id', '=', courseId).executeTakeFirst();
    return r?.ended_at ? r : undefined;
  });
  expect(row).toMatchObject({ status: 'withdrawn', end_reason: 'withdrawn: enrolled the wrong client' });
  // The screening's rows say cancelled, and its invitation never went out.
  const screening = await stack.db.selectFrom('assessments').select(['status']).where('course_id', '=', courseId).where('step_key', '=', 'screening').execute();
  expect(screening.length).toBeGreaterThan(0);
  expect(new Set(screening.map((r) => r.status))).toEqual(new Set(['cancelled']));
  const invitations = await stack.db.selectFrom('email_outbox').select('key').where('course_id', '=', courseId).where('template', '=', 'assessment-invitation').execute();
  expect(invitations).toEqual([]);
}, 60_000);

test('twenty enrolments each withdrawn at once, as a clinic undoing a mistaken import: every withdrawal is answered', async () => {
  const results = await Promise.all(
    Array.from({ length: 20 }, async () => {
      const courseId = await enroll();
      const res = await withdraw(courseId);
      return { courseId, status: res.status, body: res.body };
    }),
  );
  expect(results.filter((r) => r.status !== 200)).toEqual([]);
  const rows = await eventually(async () => {
    const r = await stack.db.selectFrom('courses').select(['id', 'status']).where('id', 'in', results.map((x) => x.courseId)).where('ended_at', 'is not', null).execute();
    return r.length === results.length ? r : undefined;
  });
  expect(new Set(rows.map((r) => r.status))).toEqual(new Set(['withdrawn']));
}, 120_000);

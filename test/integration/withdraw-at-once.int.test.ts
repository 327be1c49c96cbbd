// A coordinator enrols a client by mistake (wrong client, wrong protocol) and withdraws the course at
// once, before the engine has taken its first step. The withdrawal reaches the course in the same
// workflow task that opens its screening assessment, so the course both opens and cancels that form
// in one task. (When the form was a workflow of its own, the server refused a start and a cancel of
// one child in one task and failed the task, losing the withdrawal with it: the coordinator got 409
// "was closing" for a course that was not.) Now the form is cancelled before its invitation goes out.
import { submitAssessment } from '../../src/client/course-actions';
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

test('a withdrawal sent before the engine took the first step is answered, ends the course and cancels its screening; an answer sent then is recorded', async () => {
  const courseId = await enroll();
  const answer = withdraw(courseId);
  // A second course: the client's PHQ-9 reaches the course's first task the same way (as it does when
  // that task was lost after its projection committed, and runs again): its form must be open already.
  const answered = await enroll();
  const phq9 = submitAssessment(stack.temporal, `${answered}/screening/phq9`, [1, 1, 1, 1, 1, 1, 1, 1, 0]);
  // The Updates reach the server while no worker polls: each course's first task will carry its own.
  await new Promise((r) => setTimeout(r, 1_500));
  stack.runWorker();
  const res = await answer;
  expect({ status: res.status, body: res.body }).toMatchObject({ status: 200, body: { outcome: 'withdrawn' } });
  const reply = await phq9;
  expect(reply).toMatchObject({ instrumentId: 'phq9', total: 8 });
  expect([...reply.remaining].sort()).toEqual(['cssrs', 'gad7', 'pcl5']);
  const row = await stack.db.selectFrom('assessments').select(['status', 'total']).where('id', '=', `${answered}/screening/phq9`).executeTakeFirstOrThrow();
  expect(row).toMatchObject({ status: 'completed', total: 8 });

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

  const ended = await eventually(async () => {
    const r = await stack.db.selectFrom('courses').select(['status', 'end_reason', 'ended_at']).where('id', '=', courseId).executeTakeFirst();
    return r?.ended_at ? r : undefined;
  });
  expect(ended).toMatchObject({ status: 'withdrawn', end_reason: 'withdrawn: enrolled the wrong client' });
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

// An assessment's invitation, sent by the course that holds the form (src/workflows/forms.ts): when no
// Update waits on the task that opens the form (the course's first task, a timer's), its first attempt
// is a local activity inside that task (src/workflows/activity-proxies.ts, notifyLocalFirst) and its
// retries the regular activity's; a staff member's 'send-assessment' gets the regular activity, so the
// action's answer never waits for SMTP. The email goes out once either way; a permanent failure is not retried.
import { temporal } from '@temporalio/proto';
import { CourseDriver, startHarness, type Harness } from './helpers';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
}, 60_000);
afterEach(async () => h?.stop());

const { EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: SCHEDULED, EVENT_TYPE_MARKER_RECORDED: MARKER } = temporal.api.enums.v1.EventType;

/** The course's history once `n` markers are recorded (the projection's, then the invitation's first attempt). */
async function courseHistory(c: CourseDriver, n = 2): Promise<temporal.api.history.v1.IHistoryEvent[]> {
  const until = Date.now() + 30_000;
  for (;;) {
    const events = await c.handle
      .fetchHistory()
      .then((x) => x.events ?? [])
      .catch(() => []);
    if (events.filter((e) => e.eventType === MARKER).length >= n) return events;
    if (Date.now() > until) throw new Error(`course ${c.courseId} recorded fewer than ${n} markers within 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Regular `notify` activity tasks for one outbox key (the harness's payloads are plain JSON). */
const notifyTasks = (events: temporal.api.history.v1.IHistoryEvent[], key: string) =>
  events.filter((e) => {
    const a = e.activityTaskScheduledEventAttributes;
    if (e.eventType !== SCHEDULED || a?.activityType?.name !== 'notify') return false;
    const data = a.input?.payloads?.[0]?.data;
    return !!data && (JSON.parse(Buffer.from(data).toString('utf8')) as { key?: string }).key === key;
  });

async function invitations(courseId: string, n: number) {
  const until = Date.now() + 30_000;
  while (h.fakes.notes(courseId, 'assessment-invitation').length < n) {
    if (Date.now() > until) throw new Error(`fewer than ${n} invitations for ${courseId} within 30 s`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return h.fakes.notes(courseId, 'assessment-invitation');
}

test("the screening's invitation goes out from the course's first task as a local activity: no activity task is scheduled for it", async () => {
  const c = await new CourseDriver(h, 'kap-office').start();
  const sent = await invitations(c.courseId, 1);
  const key = `${c.courseId}/screening/invitation`;
  expect(sent.map((n) => n.key)).toEqual([key]);
  expect(h.fakes.attempts.filter((a) => a.key === key)).toEqual([{ key, local: true }]);
  const events = await courseHistory(c);
  expect(notifyTasks(events, key)).toEqual([]);
  // One execution per course: no assessment workflow was started.
  const child = await h.env.client.workflow
    .getHandle(`assessment-${c.courseId}/screening`)
    .describe()
    .then(
      () => 'found',
      (err: Error) => err.name,
    );
  expect(child).toBe('WorkflowNotFoundError');
  await c.act('withdraw', { reason: 'test over' });
});

test("a staff member's 'send-assessment' is answered without waiting for SMTP: its invitation is a regular activity", async () => {
  const c = await new CourseDriver(h, 'kap-office').start();
  await invitations(c.courseId, 1);
  const r = await c.act('send-assessment', { instruments: ['phq9'], reason: 'check-in' });
  const id = r.ids!.assessmentId!;
  const key = `${id}/invitation`;
  await invitations(c.courseId, 2);
  expect(h.fakes.attempts.filter((a) => a.key === key)).toEqual([{ key, local: false }]);
  expect(notifyTasks((await c.handle.fetchHistory()).events ?? [], key)).toHaveLength(1);
  await c.act('withdraw', { reason: 'test over' });
});

test('a first attempt that fails for now (SMTP down) is retried by the regular activity, and the client gets one email', async () => {
  h.fakes.failNext.set('assessment-invitation', 'retryable');
  const c = await new CourseDriver(h, 'kap-office').start();
  const sent = await invitations(c.courseId, 1);
  const key = `${c.courseId}/screening/invitation`;
  expect(sent.map((n) => n.key)).toEqual([key]);
  expect(h.fakes.attempts.filter((a) => a.key === key)).toEqual([
    { key, local: true },
    { key, local: false },
  ]);
  expect(notifyTasks(await courseHistory(c), key)).toHaveLength(1);
  await c.act('withdraw', { reason: 'test over' });
});

test('a first attempt refused for good (a 5xx, a blocked message) is not retried, and the form stays open', async () => {
  h.fakes.failNext.set('assessment-invitation', 'permanent');
  const c = await new CourseDriver(h, 'kap-office').start();
  const key = `${c.courseId}/screening/invitation`;
  // The marker holds the failed attempt; a retry would have been scheduled in the same task.
  const events = await courseHistory(c);
  expect(notifyTasks(events, key)).toEqual([]);
  expect(h.fakes.attempts.filter((a) => a.key === key)).toEqual([{ key, local: true }]);
  expect(h.fakes.notes(c.courseId, 'assessment-invitation')).toEqual([]);
  // The form stays open (the outbox page shows the failure): it takes the client's answers, and once
  // all four are in it ends as completed and completes its step.
  const reply = await c.answer('screening', 'gad7', [1, 1, 1, 1, 1, 1, 1]);
  expect(reply).toMatchObject({ instrumentId: 'gad7', total: 7 });
  for (const i of ['phq9', 'pcl5', 'cssrs']) await c.answer('screening', i);
  expect(await c.heard(`${c.courseId}/screening`)).toBe('completed');
  await c.act('withdraw', { reason: 'test over' });
});

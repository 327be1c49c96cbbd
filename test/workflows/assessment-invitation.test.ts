// An assessment's invitation, sent by the course that holds the form (src/workflows/forms.ts): when no
// Update waits on the task that opens the form (the course's first task, a timer's), its first attempt
// runs in that task's projection, the same local activity, once the rows are written
// (src/activities/first-attempts.ts), and its retries are the regular activity's; a staff member's
// 'send-assessment' gets the regular activity, so the action's answer never waits for SMTP. The email goes out once either way; a permanent failure is not retried.
import { temporal } from '@temporalio/proto';
import { CourseDriver, startHarness, type Harness } from './helpers';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
}, 60_000);
afterEach(async () => h?.stop());

const { EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: SCHEDULED, EVENT_TYPE_MARKER_RECORDED: MARKER } = temporal.api.enums.v1.EventType;

/** The course's history once `n` markers are recorded (the first: the projection's, with the invitation's first attempt). */
async function courseHistory(c: CourseDriver, n = 1): Promise<temporal.api.history.v1.IHistoryEvent[]> {
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

/** The first attempts the projection's marker records (its result: plain JSON in the harness). */
function firstAttempts(events: temporal.api.history.v1.IHistoryEvent[]): unknown[] {
  return events.flatMap((e) => {
    const m = e.markerRecordedEventAttributes;
    const data = m?.details?.result?.payloads?.[0]?.data;
    if (e.eventType !== MARKER || !data) return [];
    return (JSON.parse(Buffer.from(data).toString('utf8')) as { firstAttempts?: unknown[] }).firstAttempts ?? [];
  });
}

test("the screening's invitation goes out from the course's first task, in its projection's local activity: one marker, no activity task", async () => {
  const c = await new CourseDriver(h, 'kap-office').start();
  const sent = await invitations(c.courseId, 1);
  const key = `${c.courseId}/screening/invitation`;
  expect(sent.map((n) => n.key)).toEqual([key]);
  expect(h.fakes.attempts.filter((a) => a.key === key)).toEqual([{ key, local: true }]);
  const events = await courseHistory(c);
  expect(notifyTasks(events, key)).toEqual([]);
  // The first task's one local activity: the projection, then the email; the marker says it went.
  const { EVENT_TYPE_WORKFLOW_TASK_COMPLETED: TASK_DONE, EVENT_TYPE_WORKFLOW_TASK_SCHEDULED: TASK_NEXT } = temporal.api.enums.v1.EventType;
  const done = events.findIndex((e) => e.eventType === TASK_DONE);
  const next = events.findIndex((e, i) => i > done && e.eventType === TASK_NEXT);
  const firstTask = events.slice(done + 1, next < 0 ? undefined : next);
  expect(firstTask.filter((e) => e.eventType === MARKER)).toHaveLength(1);
  expect(firstAttempts(events)).toEqual([{ key, outcome: 'sent' }]);
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
  const events = await courseHistory(c);
  expect(firstAttempts(events)).toEqual([{ key, outcome: 'retry' }]);
  expect(notifyTasks(events, key)).toHaveLength(1);
  await c.act('withdraw', { reason: 'test over' });
});

test("a first attempt that hangs (a relay that does not answer) holds the course's first task for FIRST_ATTEMPT_MS at most, then the regular activity takes it: one email", async () => {
  h.fakes.holdEmails('assessment-invitation');
  const c = await new CourseDriver(h, 'kap-office').start();
  const key = `${c.courseId}/screening/invitation`;
  try {
    const events = await courseHistory(c);
    expect(firstAttempts(events)).toEqual([{ key, outcome: 'retry' }]);
    // The retry was scheduled by the same task, and it waits (the held send) as the outbox lease would make it.
    expect(notifyTasks(events, key)).toHaveLength(1);
    expect(h.fakes.notes(c.courseId, 'assessment-invitation')).toEqual([]);
    // Both attempts are in flight before the relay answers (the given-up one still sending).
    const until = Date.now() + 30_000;
    while (!h.fakes.attempts.some((a) => a.key === key && !a.local)) {
      if (Date.now() > until) throw new Error('the regular activity did not start within 30 s');
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    h.fakes.releaseEmails();
  }
  expect((await invitations(c.courseId, 1)).map((n) => n.key)).toEqual([key]);
  expect(h.fakes.attempts.filter((a) => a.key === key)).toEqual([
    { key, local: true },
    { key, local: false },
  ]);
  await c.act('withdraw', { reason: 'test over' });
});

test('a first attempt refused for good (a 5xx, a blocked message) is not retried, and the form stays open', async () => {
  h.fakes.failNext.set('assessment-invitation', 'permanent');
  const c = await new CourseDriver(h, 'kap-office').start();
  const key = `${c.courseId}/screening/invitation`;
  // The marker holds the failed attempt; a retry would have been scheduled in the same task.
  const events = await courseHistory(c);
  expect(firstAttempts(events)).toEqual([{ key, outcome: 'failed' }]);
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

// An assessment's invitation: its first attempt is a local activity inside the assessment's first task
// (src/workflows/activity-proxies.ts, notifyLocalFirst), its retries the regular activity's; the email
// goes out once either way, and a permanent failure is not retried.
import { temporal } from '@temporalio/proto';
import { CourseDriver, startHarness, type Harness } from './helpers';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
}, 60_000);
afterEach(async () => h?.stop());

const { EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: SCHEDULED, EVENT_TYPE_MARKER_RECORDED: MARKER } = temporal.api.enums.v1.EventType;

/** The screening assessment's history once its first task has completed (its invitation marker recorded). */
async function screeningHistory(courseId: string): Promise<temporal.api.history.v1.IHistoryEvent[]> {
  const handle = h.env.client.workflow.getHandle(`assessment-${courseId}/screening`);
  const until = Date.now() + 30_000;
  for (;;) {
    const events = await handle
      .fetchHistory()
      .then((x) => x.events ?? [])
      .catch(() => []);
    if (events.some((e) => e.eventType === MARKER)) return events;
    if (Date.now() > until) throw new Error(`the screening assessment of ${courseId} recorded no marker within 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const notifyTasks = (events: temporal.api.history.v1.IHistoryEvent[]) => events.filter((e) => e.eventType === SCHEDULED && e.activityTaskScheduledEventAttributes?.activityType?.name === 'notify');

async function invitations(courseId: string, n: number) {
  const until = Date.now() + 30_000;
  while (h.fakes.notes(courseId, 'assessment-invitation').length < n) {
    if (Date.now() > until) throw new Error(`fewer than ${n} invitations for ${courseId} within 30 s`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return h.fakes.notes(courseId, 'assessment-invitation');
}

test('the invitation goes out from the assessment first task as a local activity: no activity task is scheduled for it', async () => {
  const c = await new CourseDriver(h, 'kap-office').start();
  const sent = await invitations(c.courseId, 1);
  const key = `${c.courseId}/screening/invitation`;
  expect(sent.map((n) => n.key)).toEqual([key]);
  expect(h.fakes.attempts.filter((a) => a.key === key)).toEqual([{ key, local: true }]);
  const events = await screeningHistory(c.courseId);
  expect(notifyTasks(events)).toEqual([]);
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
  expect(notifyTasks(await screeningHistory(c.courseId))).toHaveLength(1);
  await c.act('withdraw', { reason: 'test over' });
});

test('a first attempt refused for good (a 5xx, a blocked message) is not retried, and the assessment goes on', async () => {
  h.fakes.failNext.set('assessment-invitation', 'permanent');
  const c = await new CourseDriver(h, 'kap-office').start();
  const key = `${c.courseId}/screening/invitation`;
  // The marker holds the failed attempt; a retry would have been scheduled in the same task.
  const events = await screeningHistory(c.courseId);
  expect(notifyTasks(events)).toEqual([]);
  expect(h.fakes.attempts.filter((a) => a.key === key)).toEqual([{ key, local: true }]);
  expect(h.fakes.notes(c.courseId, 'assessment-invitation')).toEqual([]);
  // The assessment goes on (the outbox page shows the failure): it takes the client's answers, and
  // once all four are in it ends as completed and tells the course.
  const reply = await c.answer('screening', 'gad7', [1, 1, 1, 1, 1, 1, 1]);
  expect(reply).toMatchObject({ instrumentId: 'gad7', total: 7 });
  for (const i of ['phq9', 'pcl5', 'cssrs']) await c.answer('screening', i);
  expect(await c.heard(`${c.courseId}/screening`)).toBe('completed');
  await c.act('withdraw', { reason: 'test over' });
});

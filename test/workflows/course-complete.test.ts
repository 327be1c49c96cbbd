// Every shipped protocol's complete course, six months and more, on the time-skipping server.
import { getProtocol, listProtocols } from '../../src/domain';
import { CourseDriver, DAY, startHarness, type Harness } from './helpers';

let h: Harness;
const events: Record<string, number> = {};
afterAll(() => process.stdout.write(`history events per complete course (one run, time-skipping): ${JSON.stringify(events)}\n`));
beforeAll(async () => {
  h = await startHarness();
}, 60_000);
afterAll(async () => h?.stop());

export async function completeCourse(c: CourseDriver): Promise<void> {
  const p = getProtocol(c.protocolId, 1)!;
  await c.intake();
  for (let n = 1; n <= p.course.preparationSessions; n++) await c.session(`prep-${n}`, 48);
  for (let n = 1; n <= p.course.dosingSessions; n++) {
    // Keep the protocol's minimum spacing between doses.
    const gap = n === 1 ? 48 : Math.max(p.course.minDaysBetweenDoses * 24, 24);
    await c.dose(`dose-${n}`, { inHours: gap, monitoringMinutes: p.safety.minMonitoringMinutes, checkMinutes: p.safety.bloodPressure.checkMinutes, route: p.routes[0]! });
    await c.session(`integration-${n}`, 12);
    if (p.rems) await c.act('rems-form', { stepKey: `rems-form-${n}`, doseMg: 56, lotNumber: 'L1', concomitant: { benzodiazepines: false, sedativeHypnotics: false, psychostimulants: false, maois: false, opioids: false }, sedation: false, dissociation: true, respiratoryDepression: false, seriousAdverseEvent: false });
  }
  await c.answerAll('post-course-assessment');
  await c.act('maintenance-decision', { decision: 'complete' });
  for (const f of p.assessments.followUps) {
    const key = `followup-${f.afterCourseDays}d`;
    await c.until((v) => v.steps.find((s) => s.id === key)?.status === 'open', DAY);
    await c.answerAll(key);
  }
}

test.each(listProtocols().map((p) => p.id))('%s: a complete course, from screening to the 6-month follow-up', async (protocolId) => {
  // One run per course here: continue-as-new is tested on the real dev server (the time-skipping
  // test server dies on it mid-course; see README.md).
  const c = await new CourseDriver(h, protocolId, { maxEventsPerRun: 50_000 }).start();
  await completeCourse(c);
  const hist = await c.handle.fetchHistory();
  events[protocolId] = hist.events?.length ?? 0;
  const result = await c.handle.result();
  expect(result.status).toBe('completed');
  expect(result.endReason).toBe('course-complete');
  const p = getProtocol(protocolId, 1)!;
  expect(result.dosesGiven).toBe(p.course.dosingSessions);
  // The result is a short summary, not the course's state.
  expect(Object.keys(result).sort()).toEqual(['courseId', 'dosesGiven', 'endReason', 'endedAt', 'seq', 'status']);
  // Every step done, as projected.
  const projected = await c.state();
  expect(projected.steps.length).toBeGreaterThan(0);
  expect(projected.steps.every((s) => s.status === 'done')).toBe(true);
  // More than six months of protocol time went by.
  const opened = projected.events.find((e) => e.type === 'course.started')!;
  expect(Date.parse(result.endedAt!) - Date.parse(opened.at)).toBeGreaterThan(180 * DAY);
  // Projections: the course row ended, with no current step.
  const course = h.fakes.course.get(c.courseId)!;
  expect(course).toMatchObject({ status: 'completed', currentStep: null, endReason: 'course-complete' });
  expect(course.endedAt).toBeTruthy();
  // Reminders went out 48 h and 24 h before sessions, the day-before one for a dose with fasting data.
  const reminders = h.fakes.notes(c.courseId, 'appointment-reminder');
  const dayBefore = reminders.find((n) => n.key === `${c.courseId}/dose-1/s1/reminder-24h`)!;
  expect(dayBefore.data).toMatchObject({ dayBeforeDosing: true, fastingFoodHours: p.safety.fasting.foodHours, escortRequired: true });
  if (p.course.minDaysBetweenDoses * 24 > 48) expect(reminders.some((n) => n.key === `${c.courseId}/dose-2/s1/reminder-48h`)).toBe(true);
  // Exactly-once keys: no key was sent twice by the workflow.
  const keys = h.fakes.notes(c.courseId).map((n) => n.key);
  expect(new Set(keys).size).toBe(keys.length);
}, 180_000);

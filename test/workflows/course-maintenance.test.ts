// A course in maintenance on the time-skipping server (issue #20 item 6): the prescriber chooses
// maintenance, the 30-day follow-up's PHQ-9 relapses (8 after the course, 16 now), the booster rule
// adds booster-1 with its before-dose forms; it is scheduled, checked, dosed, monitored and discharged
// like any dose, its integration follows, and the course ends after the 6-month follow-up.
import { getProtocol } from '../../src/domain';
import { CourseDriver, DAY, startHarness, type Harness } from './helpers';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
}, 60_000);
afterAll(async () => h?.stop());

test('kap-office in maintenance: a relapse on the 30-day follow-up adds booster-1, which is dosed and discharged; the course ends in maintenance after the last follow-up', async () => {
  const p = getProtocol('kap-office', 1)!;
  const c = await new CourseDriver(h, 'kap-office', { maxEventsPerRun: 50_000 }).start();
  await c.intake();
  for (let n = 1; n <= p.course.preparationSessions; n++) await c.session(`prep-${n}`, 48);
  const dose = { monitoringMinutes: p.safety.minMonitoringMinutes, checkMinutes: p.safety.bloodPressure.checkMinutes, route: p.routes[0]! };
  for (let n = 1; n <= p.course.dosingSessions; n++) {
    await c.dose(`dose-${n}`, { ...dose, inHours: n === 1 ? 48 : Math.max(p.course.minDaysBetweenDoses * 24, 24) });
    await c.session(`integration-${n}`, 12);
  }
  await c.answerAll('post-course-assessment'); // PHQ-9 8 (the benign answers)
  expect((await c.act('maintenance-decision', { decision: 'maintenance', reason: 'responded; boosters on relapse' })).outcome).toBe('maintenance');
  // Maintenance keeps the course open; no booster yet.
  expect((await c.state()).steps.some((s) => s.id.startsWith('booster'))).toBe(false);

  await c.until((v) => v.steps.find((s) => s.id === 'followup-30d')?.status === 'open', DAY);
  await c.answerAll('followup-30d', { phq9: [2, 2, 2, 2, 2, 2, 2, 2, 0] }); // 16: a rise of 8, back above 10
  const v = await c.until((x) => x.steps.some((s) => s.id === 'booster-1'), 60_000, 50);
  expect(v.steps.find((s) => s.id === 'booster-1')).toMatchObject({ kind: 'dosing', status: 'open', detail: expect.objectContaining({ name: 'Booster session 1', phase: 'maintenance' }) });
  expect(v.currentStep).toBe('booster-1');
  expect(v.events.filter((e) => e.type.startsWith('booster.')).map((e) => e.type)).toEqual(['booster.rule', 'booster.added']);

  // Its before-dose C-SSRS and PHQ-9, then the dose day as for any dose.
  await c.answerAll('booster-1');
  await c.dose('booster-1', { ...dose, inHours: 48 });
  const after = await c.step('booster-1');
  expect(after.status).toBe('done');
  expect(after.session).toMatchObject({ status: 'completed' });
  await c.session('booster-integration-1', 12);

  for (const days of [90, 180]) {
    await c.until((x) => x.steps.find((s) => s.id === `followup-${days}d`)?.status === 'open', DAY);
    await c.answerAll(`followup-${days}d`);
  }
  const result = await c.handle.result();
  expect(result).toMatchObject({ status: 'completed', endReason: 'maintenance', dosesGiven: p.course.dosingSessions + 1 });
  const course = h.fakes.course.get(c.courseId)!;
  expect(course).toMatchObject({ status: 'completed', currentStep: null, endReason: 'maintenance' });
  const types = (await c.state()).events.map((e) => e.type);
  expect(types.filter((t) => t === 'session.discharged')).toHaveLength(p.course.dosingSessions + 1);
  expect(types.slice(-2)).toEqual(['maintenance.ended', 'course.completed']);
}, 120_000);

// The checks every shipped protocol's complete course must pass on the machine (one test file per
// protocol calls it and adds that protocol's own checks). Imports the machine only through helpers.
import { Course, DAY, type ProtocolId } from './helpers';

export function completeCourse(id: ProtocolId): Course {
  const c = new Course(id).record();
  c.complete();
  const p = c.p;
  const all = c.all;

  // Completed, every step done, every dose given, more than six months of protocol time.
  expect(c.view()).toMatchObject({ status: 'completed', endReason: 'course-complete', currentStep: null, dosesGiven: p.course.dosingSessions, safetyHolds: [], riskLevel: 'none' });
  expect(c.view().steps.filter((s) => s.status !== 'done').map((s) => s.id)).toEqual([]);
  expect(c.now - c.m.state.startedAt).toBeGreaterThan(180 * DAY);
  expect(c.m.nextWakeAt(c.now)).toBeNull();
  expect(all.courses.at(-1)).toMatchObject({ status: 'completed', currentStep: null, endReason: 'course-complete' });

  // Every step projected done at the end.
  const last = new Map(all.steps.map((s) => [s.stepKey, s.state]));
  expect([...last.values()].every((s) => s === 'done')).toBe(true);
  expect(last.size).toBe(c.view().steps.length);

  // On time all the way: no escalation, no safety alert, nothing cancelled.
  const templates = (t: string) => all.notifications.filter((n) => n.template === t);
  expect(templates('step-escalation').map((n) => n.key)).toEqual([]);
  expect(templates('safety-alert')).toEqual([]);
  expect(all.cancelled).toEqual([]);

  // Exactly-once keys: no key asked for twice.
  const keys = all.notifications.map((n) => n.key);
  expect(new Set(keys).size).toBe(keys.length);

  // Reminders 48 h and 24 h before every session (each scheduled three days ahead); the day-before-dosing one with the protocol's safety rules.
  const dayBefore = templates('appointment-reminder').find((n) => n.key === `${c.id}/dose-1/s1/reminder-24h`)!;
  expect(dayBefore.data).toMatchObject({ dayBeforeDosing: true, fastingFoodHours: p.safety.fasting.foodHours, fastingClearLiquidsHours: p.safety.fasting.clearLiquidsHours, escortRequired: p.safety.escortRequired, noDrivingHours: p.safety.noDrivingHours });
  for (let n = 1; n <= p.course.preparationSessions; n++) expect(keys).toEqual(expect.arrayContaining([`${c.id}/prep-${n}/s1/reminder-48h`, `${c.id}/prep-${n}/s1/reminder-24h`]));
  for (let n = 1; n <= p.course.dosingSessions; n++) expect(keys).toEqual(expect.arrayContaining([`${c.id}/dose-${n}/s1/reminder-48h`, `${c.id}/dose-${n}/s1/reminder-24h`]));

  // Assessments: the baseline, one before each dose, after the course, each follow-up.
  expect(all.started.map((a) => a.stepKey)).toEqual(['screening', ...Array.from({ length: p.course.dosingSessions }, (_, k) => `dose-${k + 1}`), 'post-course-assessment', ...p.assessments.followUps.map((f) => `followup-${f.afterCourseDays}d`)]);

  // The record: one dose given and one discharge per session, a vitals row per protocol check time.
  const events = all.records.filter((r) => r.table === 'event').map((r) => (r as { type: string }).type);
  expect(events.filter((t) => t === 'dose.given')).toHaveLength(p.course.dosingSessions);
  expect(events.filter((t) => t === 'session.discharged')).toHaveLength(p.course.dosingSessions);
  expect(events.at(-1)).toBe('course.completed');
  const vitals = all.records.filter((r) => r.table === 'vitals');
  expect(vitals).toHaveLength(p.course.dosingSessions * p.safety.bloodPressure.checkMinutes.length);
  const seqs = all.records.filter((r) => r.table === 'event').map((r) => (r as { seq: number }).seq);
  expect(seqs).toEqual(seqs.map((_, k) => k + 1));
  return c;
}

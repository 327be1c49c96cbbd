// An assessment records C-SSRS items 3-5 as not asked (null) after a "no" to item 2, whether
// the client's form left them blank or recorded "no" (the screener's skip rule: "If NO to 2, go
// directly to question 6"; see test/unit/domain/cssrs-skip-rule.test.ts); a "yes" there is refused.
import { AssessmentMachine, rejection, T0, H, type AssessmentInput } from './helpers';

const input: AssessmentInput = {
  assessmentId: 'c1/dose-1',
  courseId: 'c1',
  clinicId: 'x1',
  stepKey: 'dose-1',
  instruments: ['cssrs'],
  trigger: 'scheduled',
  reminders: { everyHours: 24, count: 3 },
  expiryHours: 96,
  timeScale: 1,
  safetyAlertRoles: ['prescriber', 'therapist'],
};

test('a "no" to item 2 with 3-5 recorded "no": accepted, no risk, and kept as not asked', () => {
  const a = new AssessmentMachine(input, T0);
  const r = a.accept({ instrumentId: 'cssrs', answers: [false, false, false, false, false, false] }, T0 + H);
  expect(r.reply).toMatchObject({ instrumentId: 'cssrs', total: 0, band: 'none', showCrisisResources: false, remaining: [] });
  expect(r.becameCritical).toBe(false);
  expect(a.instruments[0]!.answers).toEqual([false, false, null, null, null, false]);
});

test('a "yes" to item 4 after a "no" to item 2 is refused as inconsistent, naming item 4; nothing recorded', () => {
  const a = new AssessmentMachine(input, T0);
  const e = rejection(() => a.accept({ instrumentId: 'cssrs', answers: [false, false, false, true, false, false] }, T0 + H));
  expect(e.type).toBe('InvalidAnswers');
  expect(e.reasons).toEqual([{ code: 'item-4', message: 'must be blank or "no": skipped because item 2 is "no" (a "yes" here contradicts item 2)', blocking: true }]);
  expect(a.instruments[0]).toMatchObject({ status: 'invited', answers: null });
});

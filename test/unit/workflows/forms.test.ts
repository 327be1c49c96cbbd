// The course's open forms (src/workflows/forms.ts), without Temporal: what opening, answering, a
// critical answer, reminders, expiry and cancelling write, send and report to the course machine, and
// that an open form crosses continue-as-new intact.
import type { AssessmentInput } from '../../../src/workflows/assessment-machine';
import { Forms } from '../../../src/workflows/forms';
import { rejection } from './machine/helpers';

const H = 3_600_000;
const T0 = Date.parse('2026-12-02T09:00:00Z');
const input = (o: Partial<AssessmentInput> = {}): AssessmentInput => ({
  assessmentId: 'c1/followup-30d',
  courseId: 'c1',
  clinicId: 'x1',
  stepKey: 'followup-30d',
  instruments: ['phq9', 'gad7'],
  trigger: 'scheduled',
  reminders: { everyHours: 24, count: 2 },
  expiryHours: 96,
  timeScale: 1,
  safetyAlertRoles: ['prescriber', 'therapist'],
  ...o,
});
const PHQ9_OK = [1, 1, 1, 1, 1, 1, 1, 1, 0];
const GAD7_OK = [1, 1, 1, 1, 1, 1, 1];
test('opening a form: its invitation rows and its one invitation email, keyed for exactly once', () => {
  const f = new Forms();
  f.start(input(), T0);
  f.start(input(), T0 + 1); // opened twice by a replayed output: still one form, one invitation
  const out = f.take();
  expect(out.opened).toEqual([{ ...input(), invitedAt: T0 }]);
  expect(out.invitations.map((n) => [n.key, n.template, n.recipient])).toEqual([['c1/followup-30d/invitation', 'assessment-invitation', { kind: 'client' }]]);
  expect(out.invitations[0]!.data).toEqual({ assessmentId: 'c1/followup-30d', instrumentIds: 'phq9,gad7', expiresAt: new Date(T0 + 96 * H).toISOString() });
  expect(f.hasOutput()).toBe(false);
  expect(f.nextWake()).toMatchObject({ at: T0 + 24 * H });
});

test('answers: each instrument recorded as it stands; the last one closes the form and reports it finished', () => {
  const f = new Forms();
  f.start(input(), T0);
  f.take();
  const first = f.answer({ assessmentId: 'c1/followup-30d', instrumentId: 'phq9', answers: PHQ9_OK }, T0 + H);
  expect(first.reply).toMatchObject({ instrumentId: 'phq9', total: 8, showCrisisResources: false, remaining: ['gad7'] });
  expect(first.finished).toEqual([]);
  expect(f.take().records.map((r) => [r.id, r.status])).toEqual([['c1/followup-30d/phq9', 'completed']]);
  const last = f.answer({ assessmentId: 'c1/followup-30d', instrumentId: 'gad7', answers: GAD7_OK }, T0 + 2 * H);
  expect(last.finished).toEqual([expect.objectContaining({ assessmentId: 'c1/followup-30d', status: 'completed', at: T0 + 2 * H })]);
  expect(f.size).toBe(0);
  expect(f.nextWake()).toBeNull();
  // A closed form refuses more answers (409), and so does a form of another course.
  expect(rejection(() => f.validate({ assessmentId: 'c1/followup-30d', instrumentId: 'gad7', answers: GAD7_OK }, T0 + 3 * H)).type).toBe('InvalidTransition');
  expect(rejection(() => f.validate({ assessmentId: 'c2/screening', instrumentId: 'phq9', answers: PHQ9_OK }, T0)).type).toBe('InvalidTransition');
});

test('answers that do not fit are refused by validate, which changes nothing', () => {
  const f = new Forms();
  f.start(input(), T0);
  f.take();
  expect(rejection(() => f.validate({ assessmentId: 'c1/followup-30d', instrumentId: 'phq9', answers: [1, 2] }, T0 + H)).type).toBe('InvalidAnswers');
  expect(rejection(() => f.validate({ assessmentId: 'c1/followup-30d', instrumentId: 'pcl5', answers: [] }, T0 + H)).type).toBe('InvalidInput');
  expect(f.hasOutput()).toBe(false);
  expect(f.answer({ assessmentId: 'c1/followup-30d', instrumentId: 'phq9', answers: PHQ9_OK }, T0 + H).reply.remaining).toEqual(['gad7']);
});

test('a critical answer (PHQ-9 item 9 = 2): the safety alerts to each role, and the critical report, once', () => {
  const f = new Forms();
  f.start(input(), T0);
  f.take();
  const r = f.answer({ assessmentId: 'c1/followup-30d', instrumentId: 'phq9', answers: [1, 1, 1, 1, 1, 1, 1, 1, 2] }, T0 + H);
  expect(r.reply.showCrisisResources).toBe(true);
  expect(r.critical).toEqual([expect.objectContaining({ assessmentId: 'c1/followup-30d', at: T0 + H })]);
  const out = f.take();
  expect(out.notifications.map((n) => [n.key, n.recipient])).toEqual([
    ['c1/followup-30d/safety-alert-prescriber', { kind: 'role', role: 'prescriber' }],
    ['c1/followup-30d/safety-alert-therapist', { kind: 'role', role: 'therapist' }],
  ]);
  // The alert names no answer.
  expect(JSON.stringify(out.notifications)).not.toContain('item');
  const next = f.answer({ assessmentId: 'c1/followup-30d', instrumentId: 'gad7', answers: GAD7_OK }, T0 + 2 * H);
  expect(next.critical).toEqual([]);
  expect(f.take().notifications).toEqual([]);
});

test('reminders on cadence, then the expiry marks the open instruments missed and reports the form finished', () => {
  const f = new Forms();
  f.start(input(), T0);
  f.take();
  f.answer({ assessmentId: 'c1/followup-30d', instrumentId: 'phq9', answers: PHQ9_OK }, T0 + H);
  f.take();
  expect(f.fire(T0 + 24 * H)).toEqual([]);
  expect(f.fire(T0 + 48 * H)).toEqual([]);
  expect(f.take().notifications.map((n) => n.key)).toEqual(['c1/followup-30d/reminder-1', 'c1/followup-30d/reminder-2']);
  expect(f.nextWake()).toMatchObject({ at: T0 + 96 * H });
  const ended = f.fire(T0 + 96 * H);
  expect(ended).toEqual([expect.objectContaining({ assessmentId: 'c1/followup-30d', status: 'partial', at: T0 + 96 * H })]);
  expect(f.take().records.map((r) => [r.instrumentId, r.status]).sort()).toEqual([
    ['gad7', 'missed'],
    ['phq9', 'completed'],
  ]);
  expect(f.size).toBe(0);
});

test('cancelled in the output that opened it: its rows say cancelled, and no invitation goes out', () => {
  const f = new Forms();
  f.start(input(), T0);
  f.cancel('c1/followup-30d');
  const out = f.take();
  expect(out.invitations).toEqual([]);
  expect(out.records.map((r) => r.status)).toEqual(['cancelled', 'cancelled']);
  expect(f.size).toBe(0);
  expect(rejection(() => f.validate({ assessmentId: 'c1/followup-30d', instrumentId: 'phq9', answers: PHQ9_OK }, T0)).type).toBe('InvalidTransition');
});

test('an open form crosses continue-as-new intact: its answers, reminders sent and critical state', () => {
  const f = new Forms();
  f.start(input(), T0);
  f.answer({ assessmentId: 'c1/followup-30d', instrumentId: 'phq9', answers: [1, 1, 1, 1, 1, 1, 1, 1, 2] }, T0 + H);
  f.fire(T0 + 24 * H);
  const carried = JSON.parse(JSON.stringify(f.carried())) as ReturnType<Forms['carried']>;
  const g = new Forms(carried);
  expect(g.size).toBe(1);
  expect(g.nextWake()).toMatchObject({ at: T0 + 48 * H });
  expect(rejection(() => g.validate({ assessmentId: 'c1/followup-30d', instrumentId: 'phq9', answers: PHQ9_OK }, T0 + 25 * H)).message).toMatch(/already answered/);
  // The critical answer was raised before: not raised again by the rest of the form.
  const r = g.answer({ assessmentId: 'c1/followup-30d', instrumentId: 'gad7', answers: GAD7_OK }, T0 + 26 * H);
  expect(r.critical).toEqual([]);
  expect(r.finished).toEqual([expect.objectContaining({ status: 'completed' })]);
});

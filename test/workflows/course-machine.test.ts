// The course state machine on its own: no Temporal, no clock (time is an argument).
import { getProtocol } from '../../src/domain';
import { CourseMachine, Rejection } from '../../src/workflows/course-machine';
import { assignProfiles } from '../../src/cli/commands/simulate';
import { NO_HARD_STOPS, NO_REVIEW_ITEMS } from './helpers';

const T0 = Date.parse('2026-01-05T09:00:00Z');
const H = 3_600_000;
const make = (protocol = 'kap-office', timeScale = 1) => CourseMachine.create(getProtocol(protocol, 1)!, { courseId: 'c1', clientId: 'k1', clinicId: 'x1', timeScale }, T0);

test('a new course opens screening and asks for the baseline assessment', () => {
  const m = make();
  const out = m.takeOutput();
  expect(m.current()).toEqual({ currentStep: 'screening', currentStepDeadline: new Date(T0 + 168 * H).toISOString() });
  expect(out.startAssessments.map((a) => [a.assessmentId, a.instruments])).toEqual([['c1/screening', ['phq9', 'gad7', 'pcl5', 'cssrs']]]);
  expect(out.projection!.steps.map((s) => [s.stepKey, s.state])).toEqual([['screening', 'open']]);
});

test('validators reject without changing state, with the reason', () => {
  const m = make();
  const before = JSON.stringify(m.state);
  expect(() => m.validate('dose', { stepKey: 'dose-1', route: 'sublingual' }, T0)).toThrow(Rejection);
  try {
    m.validate('clearance', { decision: 'approved' }, T0);
  } catch (e) {
    expect(e).toMatchObject({ type: 'InvalidTransition', message: 'clearance is not open yet: waiting for screening (Screening and intake)' });
  }
  expect(JSON.stringify(m.state)).toBe(before);
});

test('deadlines escalate owner first, then coordinator, with time scaled', () => {
  const m = make('kap-office', 24); // one protocol day per real hour
  m.apply('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS }, T0);
  m.takeOutput();
  expect(m.nextWakeAt(T0)).toBe(T0 + 3 * H + 1); // 72 protocol hours = 3 real hours
  m.tick(T0 + 3 * H + 1);
  expect(m.takeOutput().notifications.map((n) => [n.template, n.recipient])).toEqual([['step-escalation', { kind: 'role', role: 'prescriber' }]]);
  m.tick(T0 + 4 * H + 2);
  expect(m.takeOutput().notifications.map((n) => n.recipient)).toEqual([{ kind: 'role', role: 'coordinator' }]);
});

test('the state survives a JSON round trip (continue-as-new)', () => {
  const m = make();
  m.apply('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS }, T0);
  const copy = new CourseMachine(getProtocol('kap-office', 1)!, JSON.parse(JSON.stringify(m.state)));
  expect(copy.view(T0)).toEqual(m.view(T0));
});

test('simulation profiles: a seed gives a fixed, realistic mix', () => {
  const p = assignProfiles(30, 1);
  expect(p).toEqual(assignProfiles(30, 1));
  const count = (x: string) => p.filter((y) => y === x).length;
  expect(count('ineligible')).toBe(3);
  expect(count('safety-escalation')).toBe(1);
  expect(count('completes')).toBeGreaterThan(10);
});

// No dose without its checks, and timed readings at their time: the course machine on its own
// (no Temporal; time is an argument). Issue #16 items 5 and 6.
import { getProtocol } from '../../src/domain';
import { CourseMachine, Rejection } from '../../src/workflows/course-machine';
import type { AssessmentInstrumentResult } from '../../src/workflows/messages';
import { NO_HARD_STOPS, NO_REVIEW_ITEMS } from './helpers';

const T0 = Date.parse('2026-01-05T09:00:00Z');
const H = 3_600_000;
const DAY = 24 * H;
const CHECK = { bloodPressure: { systolic: 122, diastolic: 78 }, hoursSinceFood: 8, hoursSinceClearLiquids: 3, escortConfirmed: true, pregnancy: 'negative' as const };

const benign = (at: number, item9 = 0, risk: 'none' | 'low' | 'moderate' | 'high' = 'none'): AssessmentInstrumentResult[] => [
  { instrumentId: 'phq9', status: 'completed', total: 8, band: 'mild', critical: false, phq9Item9: item9, answeredAt: at },
  { instrumentId: 'gad7', status: 'completed', total: 7, band: 'mild', critical: false, answeredAt: at },
  { instrumentId: 'pcl5', status: 'completed', total: 20, band: 'below', critical: false, answeredAt: at },
  { instrumentId: 'cssrs', status: 'completed', total: 0, band: 'none', critical: false, cssrsRisk: risk, answeredAt: at },
];

function rejection(f: () => unknown): Rejection {
  try {
    f();
  } catch (e) {
    if (e instanceof Rejection) return e;
    throw e;
  }
  throw new Error('not rejected');
}

/** A course through intake and preparation with dose-1 scheduled; the baseline answered at `answeredAt` (or not). */
function toDose(answeredAt: number | null, t = T0): CourseMachine {
  const m = CourseMachine.create(getProtocol('kap-office', 1)!, { courseId: 'c1', clientId: 'k1', clinicId: 'x1', timeScale: 1 }, t);
  if (answeredAt !== null) m.onAssessmentFinished({ assessmentId: 'c1/screening', status: 'completed', results: benign(answeredAt), at: answeredAt }, answeredAt);
  m.apply('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS }, t);
  m.apply('clearance', { decision: 'approved' }, t);
  m.apply('consent', { documentVersion: 'v1', signedByClient: true }, t);
  for (const n of [1, 2, 3]) m.apply('session-complete', { stepKey: `prep-${n}` }, t);
  m.apply('schedule', { stepKey: 'dose-1', startsInHours: 1 }, t);
  m.takeOutput();
  return m;
}

describe('no dose without the baseline C-SSRS and PHQ-9 answered by the client', () => {
  test('with nothing answered, the dose is refused naming both, and the typed "none" does not stand in for them', () => {
    const m = toDose(null);
    const check = m.apply('pre-dose-check', { stepKey: 'dose-1', ...CHECK, cssrsRisk: 'none', phq9Item9: 0 }, T0 + H);
    expect(check.outcome).toBe('hold');
    const codes = check.reasons!.filter((r) => r.blocking).map((r) => r.code);
    expect(codes).toEqual(expect.arrayContaining(['baseline-missing', 'cssrs-missing', 'phq9-missing']));
    const r = rejection(() => m.validate('dose', { stepKey: 'dose-1', route: 'sublingual' }, T0 + H));
    expect(r.type).toBe('ClinicallyRefused');
    expect(r.message).toMatch(/no baseline C-SSRS answered by the client/);
    expect(r.message).toMatch(/no baseline PHQ-9 answered by the client/);
    expect(r.message).toMatch(/the pre-dose check held this dose: C-SSRS not answered by the client; PHQ-9 \(item 9\) not answered by the client/);
  });

  test('a baseline outside the protocol window (30 days) is refused with its age; a fresh one lets the dose go ahead', () => {
    const m = toDose(T0, T0 + 40 * DAY);
    const r = rejection(() => m.validate('dose', { stepKey: 'dose-1', route: 'sublingual' }, T0 + 40 * DAY));
    expect(r.message).toMatch(/baseline C-SSRS was answered 40 days ago, outside the protocol's 30-day window/);
    // A new C-SSRS and PHQ-9 sent by staff and answered by the client.
    m.apply('send-assessment', { instruments: ['cssrs', 'phq9'] }, T0 + 40 * DAY);
    m.onAssessmentFinished({ assessmentId: 'c1/adhoc-1', status: 'completed', results: benign(T0 + 40 * DAY).filter((x) => x.instrumentId === 'cssrs' || x.instrumentId === 'phq9'), at: T0 + 40 * DAY }, T0 + 40 * DAY);
    expect(m.baselineProblems(T0 + 40 * DAY + H)).toEqual([]);
    expect(m.apply('pre-dose-check', { stepKey: 'dose-1', ...CHECK }, T0 + 40 * DAY + H).outcome).toBe('proceed');
    expect(m.apply('dose', { stepKey: 'dose-1', route: 'sublingual' }, T0 + 40 * DAY + H).outcome).toBe('dosed');
  });

  test('the pre-dose check uses the client answers; a typed value may only make it stricter', () => {
    const m = CourseMachine.create(getProtocol('kap-office', 1)!, { courseId: 'c1', clientId: 'k1', clinicId: 'x1', timeScale: 1 }, T0);
    m.onAssessmentFinished({ assessmentId: 'c1/screening', status: 'completed', results: benign(T0, 0, 'none'), at: T0 }, T0);
    m.apply('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS }, T0);
    m.apply('clearance', { decision: 'approved' }, T0);
    m.apply('consent', { documentVersion: 'v1', signedByClient: true }, T0);
    for (const n of [1, 2, 3]) m.apply('session-complete', { stepKey: `prep-${n}` }, T0);
    m.apply('schedule', { stepKey: 'dose-1', startsInHours: 1 }, T0);
    // The client answered item 9 = 2 before this dose: a typed 0 does not lower it.
    m.onAssessmentFinished({ assessmentId: 'c1/dose-1', status: 'completed', results: benign(T0 + H, 2, 'none').filter((x) => x.instrumentId === 'cssrs' || x.instrumentId === 'phq9'), at: T0 + H }, T0 + H);
    const held = m.apply('pre-dose-check', { stepKey: 'dose-1', ...CHECK, cssrsRisk: 'none', phq9Item9: 0 }, T0 + H);
    expect(held.outcome).toBe('hold');
    expect(held.reasons!.map((r) => r.code)).toContain('suicide-risk-critical');
  });

  test('a typed higher risk than the answers holds the dose', () => {
    const m = toDose(T0);
    const held = m.apply('pre-dose-check', { stepKey: 'dose-1', ...CHECK, cssrsRisk: 'high' }, T0 + H);
    expect(held.outcome).toBe('hold');
    expect(held.reasons!.map((r) => r.code)).toContain('suicide-risk-critical');
  });

  test('a dose without a pre-dose check of the session is refused naming it', () => {
    const m = toDose(T0);
    const r = rejection(() => m.validate('dose', { stepKey: 'dose-1', route: 'sublingual' }, T0 + H));
    expect(r.type).toBe('ClinicallyRefused');
    expect(r.message).toBe('dose refused: no passing pre-dose check recorded for this session of dose-1 (session is scheduled)');
  });
});

describe('timed readings are taken at their time', () => {
  test('a 30-minute reading at 0 and at 29 minutes is refused with the time left; at 30 it is accepted', () => {
    const m = toDose(T0);
    m.apply('pre-dose-check', { stepKey: 'dose-1', ...CHECK }, T0 + H);
    m.apply('dose', { stepKey: 'dose-1', route: 'sublingual' }, T0 + H);
    const at0 = rejection(() => m.validate('vitals', { stepKey: 'dose-1', atMinutes: 30, bloodPressure: { systolic: 130, diastolic: 80 } }, T0 + H));
    expect(at0.type).toBe('ClinicallyRefused');
    expect(at0.message).toBe('the 30-minute reading is taken 30 min after the dose: 0 min have passed, 30 min left');
    expect(rejection(() => m.validate('vitals', { stepKey: 'dose-1', atMinutes: 30, bloodPressure: { systolic: 130, diastolic: 80 } }, T0 + H + 29 * 60_000)).message).toMatch(/1 min left/);
    expect(m.apply('vitals', { stepKey: 'dose-1', atMinutes: 30, bloodPressure: { systolic: 130, diastolic: 80 } }, T0 + H + 30 * 60_000).outcome).toBe('recorded');
    const early = rejection(() =>
      m.validate('discharge', { stepKey: 'dose-1', bloodPressure: { systolic: 124, diastolic: 80 }, spo2: 98, checklist: { 'alert-oriented': true, 'minimal-nausea': true, 'walks-steadily': true, 'dissociation-resolved': true, 'written-instructions': true }, responsibleAdultPresent: true }, T0 + H + 45 * 60_000),
    );
    expect(early.message).toMatch(/Monitored 45 min; at least 120 min required \(75 min left\)/);
  });
});

describe('a critical answer on a closed link (the course machine)', () => {
  const late = { key: 'late/c1/screening/abc', assessmentId: 'c1/screening', instrumentIds: ['phq9' as const], level: 'moderate' as const, summary: 'PHQ-9 item 9 = 3' };
  test('opens a suicide-risk hold and alerts each safety role once; the same late answer again changes nothing; the dose is refused until a review', () => {
    const m = toDose(T0);
    expect(m.onLateCriticalAnswer(late, T0 + H)).toBe('late/c1/screening/abc/hold');
    const out = m.takeOutput();
    expect(out.notifications.map((n) => [n.key, n.template, n.recipient])).toEqual([
      ['late/c1/screening/abc/safety-alert-prescriber', 'safety-alert', { kind: 'role', role: 'prescriber' }],
      ['late/c1/screening/abc/safety-alert-therapist', 'safety-alert', { kind: 'role', role: 'therapist' }],
    ]);
    const hold = m.view(T0 + H).safetyHolds[0]!;
    expect(hold).toMatchObject({ kind: 'critical-answer', suicideRisk: true, level: 'moderate' });
    expect(hold.reason).toMatch(/old link.*PHQ-9 item 9 = 3/);
    expect(m.onLateCriticalAnswer(late, T0 + 2 * H)).toBe('late/c1/screening/abc/hold');
    expect(m.hasOutput()).toBe(false);
    m.apply('pre-dose-check', { stepKey: 'dose-1', ...CHECK }, T0 + 2 * H);
    expect(rejection(() => m.validate('dose', { stepKey: 'dose-1', route: 'sublingual' }, T0 + 2 * H)).message).toMatch(/safety hold open \(critical answer on an old link/);
  });

  test('on a course that has ended it records nothing and says so (the API records the item itself)', () => {
    const m = toDose(T0);
    m.apply('withdraw', { reason: 'moved away' }, T0 + H);
    m.takeOutput();
    expect(m.onLateCriticalAnswer(late, T0 + 2 * H)).toBeNull();
    expect(m.hasOutput()).toBe(false);
  });
});

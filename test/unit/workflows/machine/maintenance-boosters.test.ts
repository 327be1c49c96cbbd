// Maintenance boosters (issue #20 item 6): a course whose prescriber chose maintenance stays open
// through its follow-ups; the protocol's booster rule adds booster sessions (by relapse on a PHQ-9, or
// by interval), each with every safety step of a dose; the course ends after its last follow-up with
// the boosters not given cancelled. The rule itself is tested in test/unit/domain/booster-rule.test.ts.
import { assertProtocol } from '../../../../src/domain';
import { answers, CourseMachine, Course, GOOD_CHECK, protocol, REMS_FORM, type Protocol } from './helpers';

type AssessmentInstrumentResult = ReturnType<typeof answers>[number];

/** A shipped protocol with its maintenance section changed. */
function withMaintenance(id: 'kap-office' | 'spravato-rems', change: Record<string, unknown>): Protocol {
  const raw = JSON.parse(JSON.stringify(protocol(id))) as { maintenance: Record<string, unknown> };
  Object.assign(raw.maintenance, change);
  return assertProtocol(raw);
}

/** The step's instruments answered, with this PHQ-9 total. */
function withPhq9(c: Course, stepKey: string, total: number): AssessmentInstrumentResult[] {
  const a = c.m.state.assessments[`${c.id}/${stepKey}`]!;
  return answers(a.instruments, c.now).map((r) => (r.instrumentId === 'phq9' ? { ...r, total } : r));
}

/** Through the doses, the post-course PHQ-9 at `post`, and the prescriber's decision for maintenance. */
function inMaintenance(c: Course, post = 4): Course {
  c.throughDoses();
  c.finish('post-course-assessment', { results: withPhq9(c, 'post-course-assessment', post) });
  expect(c.act('maintenance-decision', { decision: 'maintenance' }).outcome).toBe('maintenance');
  return c;
}

/** Time moves (every wake on the way) to the day-N follow-up, which the client answers with this PHQ-9 total. */
function followUp(c: Course, days: number, phq9: number): void {
  c.wakeUntil(c.m.state.courseEndAt! + c.hours(days * 24));
  expect(c.status(`followup-${days}d`)).toBe('open');
  c.finish(`followup-${days}d`, { results: withPhq9(c, `followup-${days}d`, phq9) });
}

const types = (c: Course) => c.all.records.filter((r) => r.table === 'event').map((r) => (r as { type: string; stepKey: string | null; detail: Record<string, unknown> }));

describe('a relapse on a follow-up PHQ-9 adds a booster with all the safety of a dose', () => {
  test('kap-office: the 30-day follow-up PHQ-9 rose from 4 to 12, booster-1 opens with its before-dose forms; a high blood pressure at its pre-dose check holds it, a later check proceeds, dose, discharge', () => {
    const c = inMaintenance(new Course('kap-office').record());
    // Maintenance keeps the course open: no end after the decision, no booster before a relapse.
    expect(c.view()).toMatchObject({ status: 'active', maintenance: 'maintenance' });
    expect(c.view().steps.some((s) => s.id.startsWith('booster'))).toBe(false);
    followUp(c, 30, 12);

    const booster = c.step('booster-1');
    expect(booster).toMatchObject({ name: 'Booster session 1', kind: 'dosing', phase: 'maintenance', owner: 'prescriber', status: 'open' });
    expect(c.step('booster-integration-1')).toMatchObject({ name: 'Integration session (booster 1)', kind: 'integration', status: 'pending' });
    expect(c.view().currentStep).toBe('booster-1');
    expect(types(c).filter((e) => e.type.startsWith('booster.')).map((e) => [e.type, e.stepKey, e.detail.decision ?? e.detail.rule])).toEqual([
      ['booster.rule', 'followup-30d', 'suggest-booster'],
      ['booster.added', 'booster-1', 'relapse'],
    ]);
    // The rule's reasons reach the timeline as codes, never the scores.
    expect(JSON.stringify(types(c).filter((e) => e.type.startsWith('booster.')))).not.toMatch(/12/);
    // The coordinator is told to schedule it (no clinical value in the notice).
    expect(c.all.notifications.filter((n) => n.key.includes('booster'))).toEqual([expect.objectContaining({ key: `${c.id}/booster-1/added`, template: 'course-notice', recipient: { kind: 'role', role: 'coordinator' }, data: { subjectKey: 'schedule-needed', courseId: c.id, stepKey: 'booster-1' } })]);
    // Its before-dose assessment (C-SSRS and PHQ-9 per the protocol) starts as the booster opens.
    expect(c.all.started.at(-1)).toMatchObject({ stepKey: 'booster-1', instruments: c.p.assessments.beforeEachDose });

    // No dose without a passing pre-dose check; a high blood pressure holds it.
    c.act('schedule', { stepKey: 'booster-1', startsInHours: 2 });
    c.finish('booster-1');
    c.wakeUntil(c.now + c.hours(2));
    expect(c.reject('dose', { stepKey: 'booster-1', route: 'sublingual', doseMg: 300 }).message).toMatch(/no passing pre-dose check/);
    const held = c.act('pre-dose-check', { stepKey: 'booster-1', ...GOOD_CHECK, bloodPressure: { systolic: 162, diastolic: 96 } });
    expect(held.outcome).toBe('hold');
    expect(c.view().safetyHolds).toEqual([expect.objectContaining({ kind: 'pre-dose-hold', stepKey: 'booster-1' })]);
    expect(c.reject('dose', { stepKey: 'booster-1', route: 'sublingual', doseMg: 300 }).message).toMatch(/the pre-dose check held this dose/);
    c.advance(c.hours(0.5));
    expect(c.act('pre-dose-check', { stepKey: 'booster-1', ...GOOD_CHECK }).outcome).toBe('proceed');
    expect(c.view().safetyHolds).toEqual([]);

    const dosesBefore = c.m.state.dosesGiven;
    const courseEnd = c.m.state.courseEndAt;
    c.act('dose', { stepKey: 'booster-1', route: 'sublingual', doseMg: 300 });
    // Discharge needs the protocol's monitoring time, as for any dose.
    expect(c.reject('discharge', { stepKey: 'booster-1', ...{ bloodPressure: { systolic: 124, diastolic: 80 }, spo2: 98, checklist: { 'alert-oriented': true, 'minimal-nausea': true, 'walks-steadily': true, 'dissociation-resolved': true, 'written-instructions': true }, responsibleAdultPresent: true } }).type).toBe('ClinicallyRefused');
    c.wakeUntil(c.now + c.hours(0.5));
    c.act('vitals', { stepKey: 'booster-1', atMinutes: 30, bloodPressure: { systolic: 130, diastolic: 82 }, spo2: 97 });
    c.wakeUntil(c.now + c.hours(c.p.safety.minMonitoringMinutes / 60));
    expect(c.act('discharge', { stepKey: 'booster-1', bloodPressure: { systolic: 124, diastolic: 80 }, spo2: 98, checklist: { 'alert-oriented': true, 'minimal-nausea': true, 'walks-steadily': true, 'dissociation-resolved': true, 'written-instructions': true }, responsibleAdultPresent: true }).outcome).toBe('discharged');
    expect(c.m.state.dosesGiven).toBe(dosesBefore + 1);
    // The follow-ups stay counted from the course's end, not from the booster.
    expect(c.m.state.courseEndAt).toBe(courseEnd);
    expect(c.status('booster-integration-1')).toBe('open');
    c.session('booster-integration-1', 12);
    expect(c.status('booster-integration-1')).toBe('done');
    expect(c.view().status).toBe('active');
  });

  test('a PHQ-9 back at or above the threshold after a course that never got below it opens a booster review for the prescriber, not a booster', () => {
    const c = inMaintenance(new Course('kap-office').record(), 14);
    followUp(c, 30, 15);
    expect(c.all.notifications.filter((n) => n.key.includes('booster'))).toEqual([expect.objectContaining({ key: `${c.id}/booster-review-1/added`, recipient: { kind: 'role', role: 'prescriber' }, data: expect.objectContaining({ subjectKey: 'maintenance-review' }) })]);
    expect(c.view().steps.filter((s) => s.id.startsWith('booster')).map((s) => [s.id, s.name, s.kind, s.owner, s.status])).toEqual([['booster-review-1', 'Booster review 1', 'task', 'prescriber', 'open']]);
    expect(c.act('task-complete', { stepKey: 'booster-review-1', outcome: 'plan changed' }).outcome).toBe('done');
    expect(c.status('booster-review-1')).toBe('done');
  });

  test('no post-course PHQ-9 to compare against (the form was missed): a follow-up PHQ-9 at or above 10 opens a booster review, below it nothing', () => {
    const c = new Course('kap-office').record();
    c.throughDoses();
    c.finish('post-course-assessment', { status: 'missed' });
    c.act('maintenance-decision', { decision: 'maintenance' });
    followUp(c, 30, 9);
    expect(c.view().steps.filter((s) => s.id.startsWith('booster'))).toEqual([]);
    followUp(c, 90, 11);
    expect(c.view().steps.filter((s) => s.id.startsWith('booster')).map((s) => `${s.id}:${s.status}`)).toEqual(['booster-review-1:open']);
    expect(types(c).filter((e) => e.type === 'booster.rule').map((e) => e.detail)).toEqual([
      { decision: 'no-booster', codes: ['no-post-course-phq9'] },
      { decision: 'review', codes: ['no-post-course-phq9'] },
    ]);
  });

  test('spravato-rems: a booster has its own REMS monitoring form, which keeps the course open after the last follow-up until it is filed', () => {
    const c = inMaintenance(new Course('spravato-rems'));
    followUp(c, 30, 13);
    expect(c.step('booster-rems-form-1')).toMatchObject({ name: 'REMS patient monitoring form (booster 1)', kind: 'rems-monitoring-form', status: 'pending' });
    c.doseDay('booster-1', 24);
    expect(c.status('booster-rems-form-1')).toBe('open');
    c.session('booster-integration-1', 12);
    followUp(c, 90, 5);
    followUp(c, 180, 5);
    // Every follow-up answered, the booster's REMS form still due: the course waits for it.
    expect(c.view().status).toBe('active');
    expect(c.act('rems-form', { stepKey: 'booster-rems-form-1', ...REMS_FORM }).outcome).toBe('submitted');
    expect(c.view()).toMatchObject({ status: 'completed', endReason: 'maintenance' });
  });
});

describe('boosters by interval, and the spacing between boosters', () => {
  test('an interval protocol: a booster falls due maxDaysBetweenBoosters after the last dose (a timer wakes the course for it), the next one that long after the booster', () => {
    const p = withMaintenance('kap-office', { boosterRule: 'interval' });
    const c = inMaintenance(new Course('kap-office', { protocol: p }));
    const lastDose = c.m.state.lastDoseAt!;
    const due = lastDose + c.hours(60 * 24);
    followUp(c, 30, 4); // no relapse
    c.wakeUntil(due - 1);
    expect(c.view().steps.some((s) => s.id === 'booster-1')).toBe(false);
    expect(c.m.nextWake(c.now)).toEqual({ at: due, summary: 'due: Booster session 1' });
    c.wakeUntil(due);
    expect(c.status('booster-1')).toBe('open');
    expect(c.step('booster-1').openedAt).toBe(new Date(due).toISOString());
    c.doseDay('booster-1', 24);
    const boosterDose = c.m.state.lastDoseAt!;
    expect(boosterDose).toBeGreaterThan(due);
    expect(c.m.nextWakeAt(c.now)).not.toBeNull();
    c.wakeUntil(boosterDose + c.hours(60 * 24) - 1);
    expect(c.view().steps.some((s) => s.id === 'booster-2')).toBe(false);
    c.wakeUntil(boosterDose + c.hours(60 * 24));
    expect(c.status('booster-2')).toBe('open');
  });

  test('a relapse sooner than minDaysBetweenBoosters after the last dose waits: the booster is added when the spacing allows, not before', () => {
    const c = inMaintenance(new Course('kap-office').record());
    const lastDose = c.m.state.lastDoseAt!;
    // Day 10 after the last dose: the prescriber sends a PHQ-9, answered 14 (4 after the course).
    c.wakeUntil(lastDose + c.hours(10 * 24));
    const sent = c.act('send-assessment', { instruments: ['phq9'] });
    c.finish('adhoc-1', { results: withPhq9(c, 'adhoc-1', 14) });
    expect(sent.outcome).toBe('invited');
    expect(types(c).filter((e) => e.type === 'booster.rule').map((e) => e.detail)).toEqual([{ decision: 'not-yet', codes: ['phq9-rise', 'phq9-back-above-threshold', 'too-soon'] }]);
    expect(c.view().steps.filter((s) => s.id.startsWith('booster'))).toEqual([]);
    const allowed = lastDose + c.hours(30 * 24);
    expect(c.m.nextWake(c.now)).toEqual({ at: allowed, summary: 'due: Booster session 1' });
    c.wakeUntil(allowed - 1);
    expect(c.view().steps.some((s) => s.id === 'booster-1')).toBe(false);
    c.wakeUntil(allowed);
    expect(c.status('booster-1')).toBe('open');
    // Scheduling before the spacing is refused (the booster opened exactly at it, so an hour back is too soon).
    expect(c.reject('schedule', { stepKey: 'booster-1', startsAt: new Date(allowed - c.hours(0.5)).toISOString() }).message).toMatch(/a booster comes at least 30 day\(s\) apart/);
  });

  test('no second booster while one is outstanding; maxBoosters caps them (a relapse then goes to review)', () => {
    const c = inMaintenance(new Course('kap-office', { protocol: withMaintenance('kap-office', { maxBoosters: 1 }) }));
    followUp(c, 30, 12);
    expect(c.status('booster-1')).toBe('open');
    c.act('send-assessment', { instruments: ['phq9'] });
    c.finish('adhoc-1', { results: withPhq9(c, 'adhoc-1', 16) });
    expect(c.view().steps.filter((s) => s.id.startsWith('booster-') && s.kind === 'dosing').map((s) => s.id)).toEqual(['booster-1']);
    c.doseDay('booster-1', 24);
    c.session('booster-integration-1', 12);
    followUp(c, 90, 14);
    expect(c.view().steps.filter((s) => s.id.startsWith('booster')).map((s) => `${s.id}:${s.status}`)).toEqual(['booster-1:done', 'booster-integration-1:done', 'booster-review-1:open']);
  });
});

describe('the end of maintenance', () => {
  test('the course ends after the last follow-up; a booster not given (scheduled) and its integration are cancelled, with its before-dose form', () => {
    const c = inMaintenance(new Course('kap-office').record());
    followUp(c, 30, 4);
    followUp(c, 90, 4);
    c.wakeUntil(c.m.state.courseEndAt! + c.hours(179 * 24));
    // Day 179: a relapse on a PHQ-9 the prescriber sent adds booster-1; it is scheduled, not given.
    c.act('send-assessment', { instruments: ['phq9'] });
    c.finish('adhoc-1', { results: withPhq9(c, 'adhoc-1', 13) });
    expect(c.status('booster-1')).toBe('open');
    c.act('schedule', { stepKey: 'booster-1', startsInHours: 72 });
    followUp(c, 180, 4);
    expect(c.view()).toMatchObject({ status: 'completed', endReason: 'maintenance', currentStep: null });
    expect(c.step('booster-1')).toMatchObject({ status: 'cancelled', outcome: 'maintenance-ended' });
    expect(c.step('booster-1').session?.status).toBe('cancelled');
    expect(c.step('booster-integration-1')).toMatchObject({ status: 'cancelled', outcome: 'maintenance-ended' });
    expect(c.all.cancelled).toContain(`${c.id}/booster-1`);
    expect(types(c).slice(-2).map((e) => [e.type, e.detail])).toEqual([
      ['maintenance.ended', { boosters: 1, cancelled: ['booster-1', 'booster-integration-1'] }],
      ['course.completed', { reason: 'maintenance' }],
    ]);
    expect(c.m.nextWakeAt(c.now)).toBeNull();
  });

  test('a booster in monitoring at the last follow-up keeps the course open until its discharge (and integration)', () => {
    const c = inMaintenance(new Course('kap-office'));
    followUp(c, 30, 4);
    followUp(c, 90, 4);
    c.wakeUntil(c.m.state.courseEndAt! + c.hours(179 * 24));
    c.act('send-assessment', { instruments: ['phq9'] });
    c.finish('adhoc-1', { results: withPhq9(c, 'adhoc-1', 13) });
    c.scheduledDose('booster-1', 20);
    c.act('pre-dose-check', { stepKey: 'booster-1', ...GOOD_CHECK });
    c.act('dose', { stepKey: 'booster-1', route: 'sublingual', doseMg: 300 });
    followUp(c, 180, 4);
    expect(c.view().status).toBe('active');
    c.act('vitals', { stepKey: 'booster-1', atMinutes: 30, bloodPressure: { systolic: 130, diastolic: 82 }, spo2: 97 });
    c.wakeUntil(c.now + c.hours(2));
    c.act('discharge', { stepKey: 'booster-1', bloodPressure: { systolic: 124, diastolic: 80 }, spo2: 98, checklist: { 'alert-oriented': true, 'minimal-nausea': true, 'walks-steadily': true, 'dissociation-resolved': true, 'written-instructions': true }, responsibleAdultPresent: true });
    expect(c.view().status).toBe('active');
    c.session('booster-integration-1', 12);
    expect(c.view()).toMatchObject({ status: 'completed', endReason: 'maintenance' });
  });

  test('a decision to complete adds no booster even on a relapse, and the course ends with its last follow-up as before', () => {
    const c = new Course('kap-office');
    c.throughDoses();
    c.finish('post-course-assessment', { results: withPhq9(c, 'post-course-assessment', 4) });
    c.act('maintenance-decision', { decision: 'complete' });
    followUp(c, 30, 20);
    expect(c.view().steps.some((s) => s.id.startsWith('booster'))).toBe(false);
    expect(c.m.state.boosters).toBeUndefined();
    followUp(c, 90, 4);
    followUp(c, 180, 4);
    expect(c.view()).toMatchObject({ status: 'completed', endReason: 'course-complete' });
  });

  test('a relapse at the last follow-up adds no booster (maintenance ends with it) but the prescriber is told; no relapse, no notice', () => {
    const relapse = (phq9: number) => {
      const c = inMaintenance(new Course('kap-office'), 4);
      c.record();
      followUp(c, 30, 4);
      followUp(c, 90, 4);
      followUp(c, 180, phq9);
      expect(c.view()).toMatchObject({ status: 'completed', endReason: 'maintenance' });
      expect(c.view().steps.some((s) => s.id.startsWith('booster'))).toBe(false);
      const rule = types(c).filter((e) => e.type === 'booster.rule' && e.stepKey === 'followup-180d');
      const notices = c.all.notifications.filter((n) => n.template === 'course-notice' && (n.data as { subjectKey?: string }).subjectKey === 'relapse-at-end');
      return { rule: rule.map((e) => e.detail), notices };
    };
    const r = relapse(16);
    expect(r.rule).toEqual([{ decision: 'not-applied', codes: ['maintenance-period-over', 'relapse-signal'] }]);
    expect(r.notices.map((n) => [n.recipient, JSON.stringify(n.data)])).toEqual([[{ kind: 'role', role: 'prescriber' }, expect.not.stringMatching(/16/)]]);
    const none = relapse(5);
    expect(none.rule).toEqual([{ decision: 'not-applied', codes: ['maintenance-period-over'] }]);
    expect(none.notices).toEqual([]);
  });

  test('a withdrawal in maintenance cancels the open booster', () => {
    const c = inMaintenance(new Course('kap-office'));
    followUp(c, 30, 12);
    c.act('withdraw', { reason: 'moved away' });
    expect(c.view().status).toBe('withdrawn');
    expect(c.status('booster-1')).toBe('cancelled');
  });
});

test('continue-as-new: a course in maintenance carries its boosters (the plan is rebuilt from the state)', () => {
  const c = inMaintenance(new Course('kap-office'));
  followUp(c, 30, 12);
  const carried = JSON.parse(JSON.stringify(c.m.state));
  const next = new CourseMachine(c.p, carried);
  expect(next.view(c.now).steps.filter((s) => s.id.startsWith('booster')).map((s) => `${s.id}:${s.status}:${s.name}`)).toEqual([
    'booster-1:open:Booster session 1',
    'booster-integration-1:pending:Integration session (booster 1)',
  ]);
  expect(next.view(c.now).currentStep).toBe('booster-1');
  // A state from before (no `boosters` field) still reads, with the plan of old.
  const old = JSON.parse(JSON.stringify(new Course('kap-office').m.state));
  expect(old.boosters).toBeUndefined();
  expect(new CourseMachine(c.p, old).view(c.now).steps).toHaveLength(c.view().steps.length - 2);
});

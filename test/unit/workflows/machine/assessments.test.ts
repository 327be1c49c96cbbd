// Assessments: the scheduled sends at each assessment point, staff-sent ones, results, missed and
// partial notices, critical answers (from an open form and on an old link), and the
// form's own machine (reminders, expiry, scoring, triage).
import { AssessmentMachine, Course, DAY, GOOD_CHECK, H, NO_HARD_STOPS, NO_REVIEW_ITEMS, Rejection, answers, eventTypes, iso, notes, rejection, rows, stepStates, T0, type AssessmentInput } from './helpers';

describe('scheduled sends', () => {
  test('each step with an assessment point starts its assessment when it opens: baseline, before each dose', () => {
    const c = new Course();
    expect(c.out().startAssessments.map((a) => a.assessmentId)).toEqual(['c1/screening']);
    c.readyToDose();
    const out = c.out();
    expect(out.startAssessments.map((a) => [a.assessmentId, a.stepKey, a.instruments, a.trigger])).toEqual([['c1/dose-1', 'dose-1', ['phq9', 'cssrs'], 'scheduled']]);
    expect(c.step('dose-1').assessmentId).toBe('c1/dose-1');
    expect(out.projection!.steps.find((s) => s.stepKey === 'dose-1')!.detail).toMatchObject({ assessmentId: 'c1/dose-1' });
  });

  test("an assessment step (post-course) completes when its assessment finishes, with the assessment's status", () => {
    const c = new Course('iv-series').readyToDose();
    for (let n = 1; n <= 6; n++) {
      c.doseDay(`dose-${n}`, n === 1 ? 1 : 48);
      c.act('session-complete', { stepKey: `integration-${n}` });
    }
    c.out();
    expect(c.m.state.assessments['c1/post-course-assessment']!.instruments).toEqual(['phq9', 'gad7', 'pcl5']);
    c.finish('post-course-assessment', { status: 'partial', results: answers(['phq9'], c.now) });
    const out = c.out();
    expect(stepStates(out)).toMatchObject({ 'post-course-assessment': 'done', 'maintenance-decision': 'open' });
    expect(c.step('post-course-assessment').outcome).toBe('partial');
  });

  test('a finished assessment of a non-assessment step (screening) records results and leaves the step to staff', () => {
    const c = new Course();
    c.out();
    c.finish('screening');
    const out = c.out();
    expect(eventTypes(out)).toEqual(['assessment.completed']);
    expect(rows(out, 'event')[0]!.detail).toEqual({ assessmentId: 'c1/screening', instruments: ['phq9:completed', 'gad7:completed', 'pcl5:completed', 'cssrs:completed'] });
    expect(c.status('screening')).toBe('open');
    expect(c.view().assessments[0]).toMatchObject({ id: 'c1/screening', status: 'completed', finishedAt: T0 });
  });

  test('a result for an unknown or already finished assessment changes nothing', () => {
    const c = new Course();
    c.finish('screening');
    c.out();
    const before = JSON.stringify(c.m.state);
    c.m.onAssessmentFinished({ assessmentId: 'c1/screening', status: 'missed', results: [], at: c.now }, c.now);
    c.m.onAssessmentFinished({ assessmentId: 'c1/nope', status: 'completed', results: [], at: c.now }, c.now);
    expect(JSON.stringify(c.m.state)).toBe(before);
    expect(c.m.hasOutput()).toBe(false);
  });
});

describe('missed and partial notices', () => {
  test('a missed assessment tells the coordinator once, keyed on the assessment', () => {
    const c = new Course();
    c.out();
    c.advance(96 * H);
    c.finish('screening', { status: 'missed' });
    const out = c.out();
    expect(notes(out).map((n) => [n.key, n.template, n.recipient, n.data.subjectKey, n.data.assessmentId])).toEqual([['c1/screening/missed-notice', 'course-notice', { kind: 'role', role: 'coordinator' }, 'assessment-missed', 'c1/screening']]);
    expect(eventTypes(out)).toEqual(['assessment.missed']);
    expect(c.view().assessments[0]!.status).toBe('missed');
  });

  test('a partial one says partial', () => {
    const c = new Course();
    c.out();
    c.finish('screening', { status: 'partial', results: answers(['phq9'], c.now) });
    expect(notes(c.out()).map((n) => [n.key, n.data.subjectKey])).toEqual([['c1/screening/missed-notice', 'assessment-partial']]);
  });

  test('a completed one sends nothing', () => {
    const c = new Course();
    c.out();
    c.finish('screening');
    expect(c.out().notifications).toEqual([]);
  });
});

describe('send-assessment (staff)', () => {
  test('starts an ad-hoc assessment with its own id, once per instrument', () => {
    const c = new Course();
    c.out();
    const r = c.act('send-assessment', { instruments: ['gad7', 'gad7', 'phq9'], reason: 'check-in call' });
    expect(r).toEqual({ outcome: 'invited', assessmentId: 'c1/adhoc-1' });
    const out = c.out();
    expect(out.startAssessments.map((a) => [a.assessmentId, a.stepKey, a.instruments, a.trigger])).toEqual([['c1/adhoc-1', 'adhoc-1', ['gad7', 'phq9'], 'staff']]);
    expect(rows(out, 'event')).toEqual([expect.objectContaining({ type: 'assessment.triggered', stepKey: 'adhoc-1', detail: { assessmentId: 'c1/adhoc-1', instruments: ['gad7', 'gad7', 'phq9'], reason: 'check-in call' } })]);
    expect(c.act('send-assessment', { instruments: ['cssrs'] }).assessmentId).toBe('c1/adhoc-2');
  });

  test('needs known instruments', () => {
    const c = new Course();
    expect(c.reject('send-assessment', { instruments: [] }).type).toBe('InvalidInput');
    expect(c.reject('send-assessment', { instruments: ['madrs'] }).type).toBe('InvalidInput');
    expect(c.reject('send-assessment', { instruments: ['phq9'], extra: true } as never).message).toBe('send-assessment: extra: unknown field');
    // No instruments named: the catalogue's default, PHQ-9 and GAD-7 (as the API has always sent).
    c.out();
    c.act('send-assessment', {});
    expect(c.out().startAssessments.map((a) => a.instruments)).toEqual([['phq9', 'gad7']]);
  });

  test('a finished ad-hoc assessment keeps its status and, of its results, the C-SSRS and PHQ-9 the risk checks read (the rest is in its rows)', () => {
    const c = new Course();
    c.act('send-assessment', { instruments: ['gad7', 'phq9'] });
    c.finish('adhoc-1', { item9: 1 });
    expect(c.view().assessments.find((a) => a.id === 'c1/adhoc-1')).toMatchObject({ status: 'completed', results: [expect.objectContaining({ instrumentId: 'phq9', phq9Item9: 1 })] });
    expect(c.m.state.assessments['c1/adhoc-1']!.results.map((r) => r.instrumentId)).toEqual(['phq9']);
  });
});

describe('critical answers from an open form', () => {
  const signal = (at: number) => ({ assessmentId: 'c1/dose-1', level: 'moderate' as const, codes: ['phq9-item9-positive'], summary: 'PHQ-9 item 9 = 2 (thoughts of death or self-harm)', at });

  test('open a suicide-risk hold (the form alerts the clinicians itself), raise the risk, hold the next pre-dose check and the dose', () => {
    const c = new Course().readyToDose();
    c.act('schedule', { stepKey: 'dose-1', startsInHours: 24 });
    c.out();
    c.m.onAssessmentCritical(signal(c.now), c.now);
    const out = c.out();
    expect(notes(out)).toEqual([]);
    expect(rows(out, 'safety-event')).toEqual([expect.objectContaining({ id: 'c1/dose-1/hold', kind: 'critical-answer', level: 'moderate', assessmentId: 'c1/dose-1', resolvedAt: null })]);
    expect(c.view().safetyHolds).toEqual([expect.objectContaining({ id: 'c1/dose-1/hold', suicideRisk: true, reason: 'critical answer on the dose-1 assessment: PHQ-9 item 9 = 2 (thoughts of death or self-harm)', closesWhen: 'a clinician reviews it' })]);
    expect(out.projection!.course!.riskLevel).toBe('moderate');
    c.finish('dose-1', { item9: 0 });
    const check = c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK });
    expect(check.outcome).toBe('hold');
    expect(check.reasons!.map((r) => r.code)).toContain('safety-hold-open');
    expect(c.reject('dose', { stepKey: 'dose-1', route: 'sublingual' }).message).toMatch(/safety hold open \(critical answer on the dose-1 assessment/);
    // Only a clinician's review closes it; release at the assessed risk.
    c.act('safety-review', { outcome: 'release', riskLevel: 'low' });
    expect(c.view()).toMatchObject({ safetyHolds: [], riskLevel: 'low' });
  });

  test('the same signal twice opens one hold; a signal without a summary names its codes; unknown assessments and ended courses are ignored', () => {
    const c = new Course().readyToDose();
    c.m.onAssessmentCritical(signal(c.now), c.now);
    c.m.onAssessmentCritical(signal(c.now), c.now);
    expect(c.view().safetyHolds).toHaveLength(1);
    c.m.onAssessmentCritical({ assessmentId: 'c1/screening', level: 'high', codes: ['cssrs-high'], at: c.now }, c.now);
    expect(c.view().safetyHolds.map((h) => h.reason)).toContain('critical answer on the screening assessment: cssrs-high');
    c.out();
    c.m.onAssessmentCritical({ ...signal(c.now), assessmentId: 'c1/other' }, c.now);
    expect(c.m.hasOutput()).toBe(false);
    c.act('withdraw', { reason: 'moved' });
    c.out();
    c.m.onAssessmentCritical({ ...signal(c.now), assessmentId: 'c1/screening' }, c.now);
    expect(c.m.hasOutput()).toBe(false);
  });

  test('a high C-SSRS at baseline: a hold the review can end by withdrawing the course', () => {
    const c = new Course();
    c.m.onAssessmentCritical({ assessmentId: 'c1/screening', level: 'high', codes: ['cssrs-high'], summary: 'C-SSRS items answered yes: 1, 2, 3, 4', at: c.now }, c.now);
    expect(c.view().riskLevel).toBe('high');
    c.act('safety-review', { outcome: 'withdraw', notes: 'referred to crisis care' });
    expect(c.view()).toMatchObject({ status: 'withdrawn', safetyHolds: [] });
  });

  test('when the course ends, suicide-risk holds stay open for a review; other holds close with the course', () => {
    const c = new Course().readyToDose().scheduledDose();
    c.m.onAssessmentCritical(signal(c.now), c.now);
    c.act('adverse-event', { category: 'hypertension', severity: 'severe', serious: true });
    c.out();
    c.act('withdraw', { reason: 'moved away' });
    const out = c.out();
    expect(rows(out, 'safety-event').map((r) => [r.id, r.resolvedAt, r.detail.resolution])).toEqual([['c1/ae-1/hold', iso(c.now), 'the course ended (withdrawn)']]);
    expect(c.view().safetyHolds.map((h) => h.id)).toEqual(['c1/dose-1/hold']);
  });

  test('a screening clinician finding of intent opens no second item when the client’s own answers already opened one', () => {
    const c = new Course();
    c.m.onAssessmentCritical({ assessmentId: 'c1/screening', level: 'high', codes: ['cssrs-high'], at: c.now }, c.now);
    c.act('screening', { hardStops: { ...NO_HARD_STOPS, 'suicidal-ideation-with-intent': true }, reviewItems: NO_REVIEW_ITEMS });
    expect(c.view().safetyHolds.map((h) => h.kind)).toEqual(['critical-answer']);
  });
});

describe('a critical answer on a closed link (late answer)', () => {
  const late = { key: 'late/c1/screening/abc', assessmentId: 'c1/screening', instrumentIds: ['phq9' as const], level: 'moderate' as const, summary: 'PHQ-9 item 9 = 3' };

  test('opens a suicide-risk hold and alerts each safety role once; the same late answer again changes nothing; the dose is refused until a review', () => {
    const c = new Course().readyToDose().scheduledDose();
    c.out();
    expect(c.m.onLateCriticalAnswer(late, c.now)).toBe('late/c1/screening/abc/hold');
    const out = c.out();
    expect(out.notifications.map((n) => [n.key, n.template, n.recipient])).toEqual([
      ['late/c1/screening/abc/safety-alert-prescriber', 'safety-alert', { kind: 'role', role: 'prescriber' }],
      ['late/c1/screening/abc/safety-alert-therapist', 'safety-alert', { kind: 'role', role: 'therapist' }],
    ]);
    expect(rows(out, 'event').find((e) => e.type === 'assessment.late-critical-answer')).toMatchObject({ stepKey: 'screening', detail: { holdId: 'late/c1/screening/abc/hold', instruments: ['phq9'] } });
    const hold = c.view().safetyHolds[0]!;
    expect(hold).toMatchObject({ kind: 'critical-answer', suicideRisk: true, level: 'moderate' });
    expect(hold.reason).toBe('critical answer on an old link (screening assessment, answered after it closed): PHQ-9 item 9 = 3');
    expect(c.m.onLateCriticalAnswer(late, c.now + H)).toBe('late/c1/screening/abc/hold');
    expect(c.m.hasOutput()).toBe(false);
    c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK });
    expect(c.reject('dose', { stepKey: 'dose-1', route: 'sublingual' }).message).toMatch(/safety hold open \(critical answer on an old link/);
  });

  test('on a course that has ended it records nothing and returns null (the API records the item itself)', () => {
    const c = new Course();
    c.act('withdraw', { reason: 'moved away' });
    c.out();
    expect(c.m.onLateCriticalAnswer(late, c.now + H)).toBeNull();
    expect(c.m.hasOutput()).toBe(false);
  });
});

describe('ending a course cancels pending assessments', () => {
  test('withdrawal cancels the pending before-dose assessment and the steps', () => {
    const c = new Course().readyToDose();
    c.out();
    c.act('withdraw', { reason: 'moved away' });
    const out = c.out();
    expect(out.cancelAssessments).toEqual(['c1/dose-1']);
    expect(c.view().assessments.find((a) => a.id === 'c1/dose-1')!.status).toBe('cancelled');
  });
});

describe('the assessment machine (one open form)', () => {
  const input = (o: Partial<AssessmentInput> = {}): AssessmentInput => ({
    assessmentId: 'c1/dose-1',
    courseId: 'c1',
    clinicId: 'x1',
    stepKey: 'dose-1',
    instruments: ['phq9', 'cssrs'],
    trigger: 'scheduled',
    reminders: { everyHours: 24, count: 3 },
    expiryHours: 96,
    timeScale: 1,
    safetyAlertRoles: ['prescriber', 'therapist'],
    ...o,
  });

  test('reminders every 24 h, three of them, all before the 96 h expiry; scaled by the time scale', () => {
    const a = new AssessmentMachine(input(), T0);
    expect(a.expiresAt).toBe(T0 + 96 * H);
    const at: number[] = [];
    for (let r = a.nextReminderAt(); r !== null; r = a.nextReminderAt()) {
      at.push(r);
      a.remindersSent++;
    }
    expect(at).toEqual([T0 + 24 * H, T0 + 48 * H, T0 + 72 * H]);
    const fast = new AssessmentMachine(input({ timeScale: 24 }), T0);
    expect([fast.nextReminderAt(), fast.expiresAt]).toEqual([T0 + H, T0 + 4 * H]);
    // Reminders that would fall at or after the expiry are not sent.
    expect(new AssessmentMachine(input({ expiryHours: 24 }), T0).nextReminderAt()).toBeNull();
  });

  test('answers are scored; all answered is completed; a second answer of the same instrument is refused', () => {
    const a = new AssessmentMachine(input(), T0);
    const r = a.accept({ instrumentId: 'phq9', answers: [1, 1, 1, 1, 1, 1, 1, 1, 0] }, T0 + H);
    expect(r.reply).toEqual({ instrumentId: 'phq9', total: 8, band: 'mild', showCrisisResources: false, remaining: ['cssrs'] });
    expect(r.becameCritical).toBe(false);
    expect(rejection(() => a.accept({ instrumentId: 'phq9', answers: [0, 0, 0, 0, 0, 0, 0, 0, 0] }, T0 + H))).toMatchObject({ type: 'InvalidTransition', message: 'phq9 was already answered' });
    a.accept({ instrumentId: 'cssrs', answers: [false, false, null, null, null, false] }, T0 + 2 * H);
    expect(a.done).toBe(true);
    expect(a.overallStatus()).toBe('completed');
    expect(a.results().map((x) => [x.instrumentId, x.status, x.answeredAt])).toEqual([
      ['phq9', 'completed', T0 + H],
      ['cssrs', 'completed', T0 + 2 * H],
    ]);
  });

  test('PHQ-9 item 9 > 0 makes it critical once, with what was endorsed, and shows crisis resources', () => {
    const a = new AssessmentMachine(input(), T0);
    const r = a.accept({ instrumentId: 'phq9', answers: [2, 2, 2, 2, 2, 2, 2, 2, 2] }, T0);
    expect(r.becameCritical).toBe(true);
    expect(r.reply.showCrisisResources).toBe(true);
    expect(a.critical).toMatchObject({ level: 'moderate' });
    expect(a.critical!.summary).toMatch(/item 9/i);
    expect(a.accept({ instrumentId: 'cssrs', answers: [true, true, true, true, false, false] }, T0).becameCritical).toBe(false);
  });

  test('a high-risk C-SSRS names the items answered yes', () => {
    const a = new AssessmentMachine(input({ instruments: ['cssrs'] }), T0);
    expect(a.accept({ instrumentId: 'cssrs', answers: [true, true, true, true, false, false] }, T0).becameCritical).toBe(true);
    expect(a.critical).toMatchObject({ level: 'high', summary: expect.stringContaining('C-SSRS items answered yes: 1, 2, 3, 4') });
  });

  test('after the expiry answers are refused; expire() marks the rest missed: partial or missed', () => {
    const a = new AssessmentMachine(input(), T0);
    a.accept({ instrumentId: 'phq9', answers: [0, 0, 0, 0, 0, 0, 0, 0, 0] }, T0);
    expect(rejection(() => a.score({ instrumentId: 'cssrs', answers: [false, false, null, null, null, false] }, T0 + 96 * H)).message).toBe(`this assessment expired at ${iso(T0 + 96 * H)}`);
    a.expire();
    expect(a.overallStatus()).toBe('partial');
    const none = new AssessmentMachine(input(), T0);
    none.expire();
    expect(none.overallStatus()).toBe('missed');
    expect(none.results().map((x) => x.status)).toEqual(['missed', 'missed']);
  });

  test('bad answers and other instruments are refused; a cancelled one takes nothing', () => {
    const a = new AssessmentMachine(input(), T0);
    expect(rejection(() => a.score({ instrumentId: 'phq9', answers: [9] }, T0)).type).toBe('InvalidAnswers');
    expect(rejection(() => a.score({ instrumentId: 'gad7', answers: [0, 0, 0, 0, 0, 0, 0] }, T0)).type).toBe('InvalidInput');
    a.cancel();
    expect(rejection(() => a.score({ instrumentId: 'phq9', answers: [0, 0, 0, 0, 0, 0, 0, 0, 0] }, T0))).toBeInstanceOf(Rejection);
    expect(a.overallStatus()).toBe('cancelled');
    void DAY;
  });
});

// Sessions (schedule, attend, no-show), the dose day (pre-dose check, dose, timed vitals, discharge),
// adverse events and the clinician's safety review: every rule, on the machine alone.
import { CHECKLIST, Course, DAY, DISCHARGE, GOOD_CHECK, H, MIN, NO_HARD_STOPS, NO_REVIEW_ITEMS, eventTypes, iso, notes, rows, stepStates, T0 } from './helpers';

/** kap-office with dose-1 scheduled an hour from now and its before-dose answers in. */
const atDose = () => {
  const c = new Course().readyToDose().scheduledDose();
  c.out();
  return c;
};
/** kap-office with dose-1 given now. */
const dosed = () => {
  const c = atDose();
  c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK });
  c.act('dose', { stepKey: 'dose-1', route: 'sublingual', doseMg: 200, lotNumber: 'L7' });
  c.out();
  return c;
};

describe('schedule', () => {
  const prep = () => {
    const c = new Course().intake();
    c.out();
    return c;
  };

  test('schedules a session: session row, timeline event, deadline at least a day after its start, reminders 48 h and 24 h before', () => {
    const c = prep();
    expect(c.act('schedule', { stepKey: 'prep-1', startsInHours: 72 }).outcome).toBe('scheduled');
    const out = c.out();
    expect(rows(out, 'session')).toEqual([expect.objectContaining({ id: 'c1/prep-1', status: 'scheduled', startsAt: iso(T0 + 72 * H), scheduleCount: 1 })]);
    expect(rows(out, 'event')).toEqual([expect.objectContaining({ type: 'session.scheduled', stepKey: 'prep-1', detail: { startsAt: iso(T0 + 72 * H) } })]);
    // The 336 h preparation deadline is later than start + 24 h: it stays.
    expect(c.step('prep-1').deadlineAt).toBe(iso(T0 + 336 * H));
    expect(c.m.state.steps['prep-1']!.session!.reminders).toEqual([
      { hoursBefore: 48, at: T0 + 24 * H, sent: false },
      { hoursBefore: 24, at: T0 + 48 * H, sent: false },
    ]);
    expect(c.m.nextWakeAt(c.now)).toBe(T0 + 24 * H);
  });

  test('a session starting after its deadline moves the deadline to a day after the start', () => {
    const c = prep();
    c.act('schedule', { stepKey: 'prep-1', startsInHours: 400 });
    expect(c.step('prep-1').deadlineAt).toBe(iso(T0 + 424 * H));
  });

  test('an absolute start time is accepted; reminders already due are marked sent', () => {
    const c = prep();
    c.act('schedule', { stepKey: 'prep-1', startsAt: iso(T0 + 30 * H) });
    expect(c.m.state.steps['prep-1']!.session!.reminders.map((r) => r.sent)).toEqual([true, false]);
  });

  test('input rules: exactly one of startsAt or startsInHours, a valid time not in the past, a session step', () => {
    const c = prep();
    expect(c.reject('schedule', { stepKey: 'prep-1' }).type).toBe('InvalidInput');
    expect(c.reject('schedule', { stepKey: 'prep-1', startsInHours: 1, startsAt: iso(T0 + H) }).type).toBe('InvalidInput');
    expect(c.reject('schedule', { stepKey: 'prep-1', startsAt: 'next tuesday' }).type).toBe('InvalidInput');
    const past = c.reject('schedule', { stepKey: 'prep-1', startsAt: iso(T0 - 2 * H) });
    expect(past.type).toBe('InvalidInput');
    expect(past.message).toMatch(/in the past/);
    expect(c.reject('schedule', { stepKey: 'prep-9', startsInHours: 1 })).toMatchObject({ type: 'InvalidInput', message: expect.stringMatching(/prep-9/) });
    expect(c.reject('schedule', { stepKey: 'clearance', startsInHours: 1 })).toMatchObject({ type: 'InvalidInput', message: expect.stringMatching(/clearance/) });
  });

  test('rescheduling counts, clears the pre-dose check and restarts the reminders', () => {
    const c = atDose();
    c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK, bloodPressure: { systolic: 160, diastolic: 100 } });
    expect(c.act('schedule', { stepKey: 'dose-1', startsInHours: 48 }).outcome).toBe('rescheduled');
    expect(c.step('dose-1').session).toMatchObject({ status: 'scheduled', scheduleCount: 2, preDose: null });
    expect(eventTypes(c.out())).toContain('session.rescheduled');
    expect(c.reject('dose', { stepKey: 'dose-1', route: 'sublingual' }).message).toMatch(/no passing pre-dose check recorded for this session of dose-1 \(session is scheduled\)/);
  });

  test('a completed or dosed session cannot be rescheduled', () => {
    const c = dosed();
    expect(c.reject('schedule', { stepKey: 'dose-1', startsInHours: 24 })).toMatchObject({ type: 'InvalidTransition', message: 'dose-1 cannot be (re)scheduled: its session is dosed' });
  });
});

describe('session-complete and no-show', () => {
  const prep = () => {
    const c = new Course().intake();
    c.out();
    return c;
  };

  test('attended: the step is done and the next session opens', () => {
    const c = prep();
    c.act('schedule', { stepKey: 'prep-1', startsInHours: 24 });
    c.advance(24 * H);
    c.out();
    expect(c.act('session-complete', { stepKey: 'prep-1' }).outcome).toBe('completed');
    const out = c.out();
    expect(stepStates(out)).toEqual({ 'prep-1': 'done', 'prep-2': 'open' });
    expect(rows(out, 'session')).toEqual([expect.objectContaining({ id: 'c1/prep-1', status: 'completed', completedAt: iso(T0 + 24 * H) }), expect.objectContaining({ id: 'c1/prep-2', status: 'unscheduled' })]);
    expect(c.step('prep-1')).toMatchObject({ status: 'done', outcome: 'attended' });
  });

  test('session-complete applies to preparation and integration sessions only', () => {
    const c = new Course().readyToDose();
    expect(c.reject('session-complete', { stepKey: 'dose-1' }).type).toBe('InvalidInput');
  });

  test('a no-show tells the coordinator, restarts the step deadline, and must be rescheduled before it is attended', () => {
    const c = prep();
    c.act('schedule', { stepKey: 'prep-1', startsInHours: 72 });
    c.wakeUntil(T0 + 73 * H);
    c.out();
    expect(c.act('no-show', { stepKey: 'prep-1' }).outcome).toBe('no-show');
    const out = c.out();
    expect(notes(out).map((n) => [n.key, n.template, n.recipient, n.data.subjectKey, n.data.noShows])).toEqual([['c1/prep-1/no-show-1', 'course-notice', { kind: 'role', role: 'coordinator' }, 'no-show', 1]]);
    expect(rows(out, 'session')).toEqual([expect.objectContaining({ status: 'no-show', noShowCount: 1 })]);
    expect(c.step('prep-1').deadlineAt).toBe(iso(T0 + 73 * H + 336 * H));
    expect(c.reject('session-complete', { stepKey: 'prep-1' })).toMatchObject({ type: 'InvalidTransition', message: 'prep-1 was a no-show: reschedule it first' });
    expect(c.reject('no-show', { stepKey: 'prep-1' })).toMatchObject({ type: 'InvalidTransition', message: 'prep-1 has no scheduled session to miss (session is no-show)' });
    c.act('schedule', { stepKey: 'prep-1', startsInHours: 24 });
    c.act('session-complete', { stepKey: 'prep-1' });
    // A second no-show gets its own key.
    c.act('schedule', { stepKey: 'prep-2', startsInHours: 24 });
    c.out();
    c.act('no-show', { stepKey: 'prep-2' });
    expect(notes(c.out()).map((n) => n.key)).toEqual(['c1/prep-2/no-show-1']);
  });

  test('the reschedule after a no-show has its own deadline: breached, it escalates with a new key', () => {
    const c = prep();
    c.act('schedule', { stepKey: 'prep-1', startsInHours: 24 });
    c.act('no-show', { stepKey: 'prep-1' });
    c.out();
    c.wakeUntil(T0 + 337 * H);
    expect(c.step('prep-1').overdue).toBe(true);
    expect(notes(c.out(), 'step-escalation').map((n) => [n.key, n.recipient])).toEqual([['c1/prep-1/d2/escalation-0', { kind: 'role', role: 'therapist' }]]);
  });

  test('no-show needs a scheduled session', () => {
    expect(prep().reject('no-show', { stepKey: 'prep-1' })).toMatchObject({ type: 'InvalidTransition', message: 'prep-1 has no scheduled session to miss (session is unscheduled)' });
  });
});

describe('pre-dose check', () => {
  test('needs a scheduled session and a blood pressure', () => {
    const c = new Course().readyToDose();
    expect(c.reject('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK })).toMatchObject({ type: 'InvalidTransition', message: 'dose-1: schedule the session before the pre-dose check (session is unscheduled)' });
    c.scheduledDose();
    const { bloodPressure: _bp, ...noBp } = GOOD_CHECK;
    expect(c.reject('pre-dose-check', { stepKey: 'dose-1', ...noBp }).type).toBe('InvalidInput');
    expect(c.reject('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK, bloodPressure: { systolic: 'high', diastolic: 80 } }).type).toBe('InvalidInput');
  });

  test('passing: checked in, a pre-dose vitals row, no hold', () => {
    const c = atDose();
    const r = c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK });
    expect(r.outcome).toBe('proceed');
    expect(r.reasons!.filter((x) => x.blocking)).toEqual([]);
    const out = c.out();
    expect(rows(out, 'vitals')).toEqual([expect.objectContaining({ id: 'c1/dose-1/s1/v1', phase: 'pre-dose', minutesAfterDose: null, systolic: 122, diastolic: 78, heartRate: 72, spo2: 98 })]);
    expect(rows(out, 'session')).toEqual([expect.objectContaining({ status: 'checked-in', detail: { preDose: 'proceed' } })]);
    expect(eventTypes(out)).toEqual(['pre-dose.proceed']);
    expect(c.view().safetyHolds).toEqual([]);
  });

  test('blood pressure above the limits holds the dose with a pre-dose hold (no alert); a re-check that proceeds closes it', () => {
    const c = atDose();
    const held = c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK, bloodPressure: { systolic: 152, diastolic: 94 } });
    expect(held.outcome).toBe('hold');
    expect(held.reasons!.filter((r) => r.blocking).map((r) => r.code)).toEqual(['bp-systolic-high', 'bp-diastolic-high']);
    let out = c.out();
    expect(notes(out)).toEqual([]);
    expect(c.view().safetyHolds).toEqual([
      expect.objectContaining({
        id: 'c1/dose-1/pre-dose-hold-1',
        kind: 'pre-dose-hold',
        level: null,
        suicideRisk: false,
        reason: 'pre-dose check of dose-1 held the dose (blood pressure 152/94 mmHg): Systolic 152 mmHg is above the limit of 140; Diastolic 94 mmHg is above the limit of 90',
        closesWhen: 'a pre-dose check of this session that proceeds, a clinician reviews it, or the course ends',
      }),
    ]);
    expect(c.step('dose-1').session!.status).toBe('held');
    const refused = c.reject('dose', { stepKey: 'dose-1', route: 'sublingual' });
    expect(refused).toMatchObject({ type: 'ClinicallyRefused', message: 'dose refused: the pre-dose check held this dose: Systolic 152 mmHg is above the limit of 140; Diastolic 94 mmHg is above the limit of 90' });
    // A second held check brings the same hold's reason up to date (no second hold).
    c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK, bloodPressure: { systolic: 146, diastolic: 88 } });
    expect(c.view().safetyHolds.map((h) => [h.id, h.reason])).toEqual([['c1/dose-1/pre-dose-hold-1', expect.stringContaining('146/88')]]);
    c.out();
    expect(c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK, bloodPressure: { systolic: 134, diastolic: 84 } }).outcome).toBe('proceed');
    out = c.out();
    expect(rows(out, 'safety-event')).toEqual([expect.objectContaining({ id: 'c1/dose-1/pre-dose-hold-1', resolvedAt: iso(c.now), detail: expect.objectContaining({ resolution: 'a later pre-dose check of this session proceeded' }) })]);
    expect(c.view().safetyHolds).toEqual([]);
    expect(c.act('dose', { stepKey: 'dose-1', route: 'sublingual' }).outcome).toBe('dosed');
  });

  test.each([
    ['fasting from food not met (kap-office: 4 h)', { hoursSinceFood: 3 }, 'fasting-food-not-met'],
    ['fasting unconfirmed', { hoursSinceFood: undefined }, 'fasting-food-unconfirmed'],
    ['no escort', { escortConfirmed: false }, 'no-escort'],
    ['pregnancy status unknown', { pregnancy: 'unknown' }, 'pregnancy-status-unknown'],
    ['pregnant', { pregnancy: 'positive' }, 'pregnancy'],
    ['benzodiazepine within the 24 h pause', { benzodiazepine: { taking: true, hoursSinceLastDose: 10 } }, 'benzodiazepine-not-paused'],
    ['a new interacting medication', { newInteractingMedications: ['lamotrigine'] }, 'new-interacting-medication'],
  ])('%s holds the dose', (_what, change, code) => {
    const c = atDose();
    const r = c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK, ...change } as never);
    expect(r.outcome).toBe('hold');
    expect(r.reasons!.filter((x) => x.blocking).map((x) => x.code)).toEqual([code]);
    expect(c.view().safetyHolds.map((h) => h.kind)).toEqual(['pre-dose-hold']);
  });

  test.each([
    ['iv-series', { hoursSinceFood: 5 }, 'fasting-food-not-met'],
    ['spravato-rems', { hoursSinceFood: 2, hoursSinceClearLiquids: 0.25 }, 'fasting-liquids-not-met'],
    ['spravato-rems', { bloodPressure: { systolic: 141, diastolic: 80 } }, 'bp-systolic-high'],
  ] as const)('%s: the protocol decides the limits (%j holds)', (id, change, code) => {
    const c = new Course(id).readyToDose().scheduledDose();
    const r = c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK, ...change });
    expect(r.reasons!.filter((x) => x.blocking).map((x) => x.code)).toEqual([code]);
  });

  test('spravato-rems: 2 h from food is enough (kap-office would hold at 4 h)', () => {
    const c = new Course('spravato-rems').readyToDose().scheduledDose();
    expect(c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK, hoursSinceFood: 2, hoursSinceClearLiquids: 0.5 }).outcome).toBe('proceed');
  });

  test('a second critical check of the session opens no second risk hold', () => {
    const c = atDose();
    c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK, cssrsRisk: 'high' });
    c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK, cssrsRisk: 'high' });
    expect(c.view().safetyHolds.map((h) => h.id)).toEqual(['c1/dose-1/risk-hold']);
  });

  test("the client's answers decide suicide risk; a typed value may only make it stricter", () => {
    const c = new Course().readyToDose();
    c.act('schedule', { stepKey: 'dose-1', startsInHours: 1 });
    // The client answered item 9 = 2 before this dose: a typed 0 does not lower it.
    c.finish('dose-1', { item9: 2 });
    c.out();
    const held = c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK, cssrsRisk: 'none', phq9Item9: 0 });
    expect(held.outcome).toBe('hold');
    expect(held.reasons!.map((r) => r.code)).toContain('suicide-risk-critical');
    // A pre-dose risk hold: suicide risk, alerting both clinicians.
    const out = c.out();
    expect(c.view().safetyHolds).toEqual([expect.objectContaining({ id: 'c1/dose-1/risk-hold', kind: 'pre-dose-risk', suicideRisk: true, level: 'moderate', reason: expect.stringContaining('PHQ-9 item 9 = 2') })]);
    expect(notes(out, 'safety-alert').map((n) => n.key)).toEqual(['c1/dose-1/risk-hold/alert-prescriber', 'c1/dose-1/risk-hold/alert-therapist']);
    expect(c.view().riskLevel).toBe('moderate');
  });

  test('a typed higher C-SSRS risk than the answers holds the dose with a high risk hold', () => {
    const c = atDose();
    const held = c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK, cssrsRisk: 'high' });
    expect(held.outcome).toBe('hold');
    expect(c.view().safetyHolds).toEqual([expect.objectContaining({ kind: 'pre-dose-risk', level: 'high' })]);
  });

  test('another open hold (an adverse event) holds the check with safety-hold-open, and is not closed by it', () => {
    const c = atDose();
    c.act('adverse-event', { category: 'hypertension', severity: 'severe', serious: true });
    const r = c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK });
    expect(r.outcome).toBe('hold');
    expect(r.reasons!.filter((x) => x.blocking).map((x) => x.code)).toEqual(['safety-hold-open']);
    expect(c.view().safetyHolds.map((h) => h.kind)).toEqual(['adverse-event']);
  });
});

describe('no dose without the baseline C-SSRS and PHQ-9 answered by the client (within 30 days)', () => {
  test('with nothing answered, the check holds and the dose is refused naming both; a typed "none" does not stand in', () => {
    const c = new Course();
    c.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
    c.act('clearance', { decision: 'approved' });
    c.act('consent', { documentVersion: 'v1', signedByClient: true });
    for (const n of [1, 2, 3]) c.act('session-complete', { stepKey: `prep-${n}` });
    c.act('schedule', { stepKey: 'dose-1', startsInHours: 1 });
    c.advance(H);
    const check = c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK, cssrsRisk: 'none', phq9Item9: 0 });
    expect(check.outcome).toBe('hold');
    expect(check.reasons!.filter((r) => r.blocking).map((r) => r.code)).toEqual(expect.arrayContaining(['baseline-missing', 'cssrs-missing', 'phq9-missing']));
    const r = c.reject('dose', { stepKey: 'dose-1', route: 'sublingual' });
    expect(r.type).toBe('ClinicallyRefused');
    expect(r.message).toMatch(/no baseline C-SSRS answered by the client/);
    expect(r.message).toMatch(/no baseline PHQ-9 answered by the client/);
    expect(r.message).toMatch(/the pre-dose check held this dose: C-SSRS not answered by the client; PHQ-9 \(item 9\) not answered by the client/);
  });

  test('a baseline answered 40 days before is refused with its age; a fresh one sent by staff lets the dose go ahead', () => {
    const c = new Course();
    c.finish('screening');
    c.to(T0 + 40 * DAY);
    c.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
    c.act('clearance', { decision: 'approved' });
    c.act('consent', { documentVersion: 'v1', signedByClient: true });
    for (const n of [1, 2, 3]) c.act('session-complete', { stepKey: `prep-${n}` });
    c.act('schedule', { stepKey: 'dose-1', startsInHours: 1 });
    const r = c.reject('dose', { stepKey: 'dose-1', route: 'sublingual' });
    expect(r.message).toMatch(/the client's baseline C-SSRS was answered 40 days ago, outside the protocol's 30-day window: send a new one/);
    expect(r.message).toMatch(/baseline PHQ-9 was answered 40 days ago/);
    c.act('send-assessment', { instruments: ['cssrs', 'phq9'] });
    c.finish('adhoc-1');
    c.advance(H);
    expect(c.m.baselineProblems(c.now)).toEqual([]);
    expect(c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK }).outcome).toBe('proceed');
    expect(c.act('dose', { stepKey: 'dose-1', route: 'sublingual' }).outcome).toBe('dosed');
  });

  test('at 29 days the baseline still counts', () => {
    const c = new Course();
    c.finish('screening');
    c.to(T0 + 29 * DAY);
    c.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
    expect(c.m.baselineProblems(c.now)).toEqual([]);
  });
});


describe('dose', () => {
  test('without a pre-dose check of the session: refused, naming it', () => {
    const c = atDose();
    expect(c.reject('dose', { stepKey: 'dose-1', route: 'sublingual' })).toMatchObject({ type: 'ClinicallyRefused', message: 'dose refused: no passing pre-dose check recorded for this session of dose-1 (session is scheduled)' });
  });

  test('the route must be one of the protocol routes', () => {
    const c = atDose();
    c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK });
    expect(c.reject('dose', { stepKey: 'dose-1', route: 'intravenous' })).toMatchObject({ type: 'ClinicallyRefused', message: "route intravenous is not one of this protocol's routes (sublingual, intramuscular)" });
    expect(c.reject('dose', { stepKey: 'dose-1' }).type).toBe('InvalidInput');
  });

  test('dosed: the session row, the timeline, the first-dose time; the step deadline moves to monitoring + a day', () => {
    const c = atDose();
    c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK });
    c.out();
    expect(c.act('dose', { stepKey: 'dose-1', route: 'sublingual', doseMg: 200, lotNumber: 'L7' }).outcome).toBe('dosed');
    const out = c.out();
    expect(rows(out, 'session')).toEqual([expect.objectContaining({ status: 'dosed', dosedAt: iso(c.now), detail: { route: 'sublingual', doseMg: 200, lotNumber: 'L7', preDose: 'proceed' } })]);
    expect(rows(out, 'event')).toEqual([expect.objectContaining({ type: 'dose.given', detail: { route: 'sublingual', doseMg: 200 } })]);
    expect(c.m.state.firstDoseAt).toBe(c.now);
    expect(c.step('dose-1').deadlineAt).toBe(iso(c.now + 26 * H)); // 120 min monitoring + 24 h
    expect(c.reject('dose', { stepKey: 'dose-1', route: 'sublingual' }).message).toMatch(/session is dosed/);
  });
});

describe('timed vitals and discharge', () => {
  test('monitoring vitals come after the dose', () => {
    const c = atDose();
    expect(c.reject('vitals', { stepKey: 'dose-1', atMinutes: 30, bloodPressure: { systolic: 130, diastolic: 80 } })).toMatchObject({ type: 'InvalidTransition', message: 'dose-1: monitoring vitals are recorded after the dose (session is scheduled)' });
    expect(c.reject('discharge', { stepKey: 'dose-1', ...DISCHARGE })).toMatchObject({ type: 'InvalidTransition', message: 'dose-1: discharge comes after the dose (session is scheduled)' });
  });

  test('a 30-minute reading at 0 and 29 minutes is refused with the time left; at 30 it is recorded', () => {
    const c = dosed();
    const doseAt = c.now;
    const bp = { systolic: 130, diastolic: 80 };
    expect(c.reject('vitals', { stepKey: 'dose-1', atMinutes: 30, bloodPressure: bp })).toMatchObject({ type: 'ClinicallyRefused', message: 'the 30-minute reading is taken 30 min after the dose: 0 min have passed, 30 min left' });
    c.to(doseAt + 29 * MIN);
    expect(c.reject('vitals', { stepKey: 'dose-1', atMinutes: 30, bloodPressure: bp }).message).toBe('the 30-minute reading is taken 30 min after the dose: 29 min have passed, 1 min left');
    expect(c.reject('vitals', { stepKey: 'dose-1', atMinutes: -5, bloodPressure: bp }).type).toBe('InvalidInput');
    c.to(doseAt + 30 * MIN);
    expect(c.act('vitals', { stepKey: 'dose-1', atMinutes: 30, bloodPressure: bp, spo2: 96, heartRate: 80 }).outcome).toBe('recorded');
    expect(rows(c.out(), 'vitals')).toEqual([expect.objectContaining({ id: 'c1/dose-1/s1/v2', phase: 'monitoring', minutesAfterDose: 30, systolic: 130, spo2: 96 })]);
  });

  test('the time scale applies: at 3600 (a protocol hour per second) the 30-minute reading is due after 0.5 s', () => {
    const c = new Course('kap-office', { timeScale: 3600 }).readyToDose().scheduledDose();
    c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK });
    c.act('dose', { stepKey: 'dose-1', route: 'sublingual' });
    const doseAt = c.now;
    c.to(doseAt + 499);
    expect(c.reject('vitals', { stepKey: 'dose-1', atMinutes: 30, bloodPressure: { systolic: 130, diastolic: 80 } }).message).toMatch(/1 min left/);
    c.to(doseAt + 500);
    expect(c.act('vitals', { stepKey: 'dose-1', atMinutes: 30, bloodPressure: { systolic: 130, diastolic: 80 } }).outcome).toBe('recorded');
    c.to(doseAt + 1999);
    expect(c.reject('discharge', { stepKey: 'dose-1', ...DISCHARGE }).message).toMatch(/Monitored 119 min; at least 120 min required \(1 min left\)/);
    c.to(doseAt + 2000);
    expect(c.act('discharge', { stepKey: 'dose-1', ...DISCHARGE }).outcome).toBe('discharged');
  });

  test('discharge before the minimum monitoring time is refused with the time left', () => {
    const c = dosed();
    const doseAt = c.now;
    c.to(doseAt + 30 * MIN);
    c.act('vitals', { stepKey: 'dose-1', atMinutes: 30, bloodPressure: { systolic: 130, diastolic: 80 } });
    c.to(doseAt + 45 * MIN);
    const r = c.reject('discharge', { stepKey: 'dose-1', ...DISCHARGE });
    expect(r.type).toBe('ClinicallyRefused');
    expect(r.message).toBe('not ready for discharge: Monitored 45 min; at least 120 min required (75 min left)');
    expect(r.reasons.map((x) => x.code)).toEqual(['monitoring-time']);
  });

  test('discharge needs every timed reading, the checklist, SpO2, a responsible adult and blood pressure near baseline', () => {
    const c = dosed();
    c.to(c.now + 120 * MIN);
    const r = c.reject('discharge', { stepKey: 'dose-1', bloodPressure: { systolic: 150, diastolic: 95 }, spo2: 90, checklist: { ...CHECKLIST, 'walks-steadily': false }, responsibleAdultPresent: false });
    expect(r.reasons.map((x) => x.code)).toEqual(['bp-check-missing', 'bp-not-near-baseline', 'bp-not-near-baseline', 'spo2-low', 'checklist:walks-steadily', 'no-responsible-adult']);
    expect(r.message).toMatch(/Blood pressure at 30 min not taken/);
    expect(r.message).toMatch(/SpO2 90% is below 92%/);
    expect(r.message).toMatch(/Not done: Walks steadily without help/);
  });

  test('discharged: session completed, the integration opens with its 48 h window, the dose counts', () => {
    const c = dosed();
    const doseAt = c.now;
    c.to(doseAt + 30 * MIN);
    c.act('vitals', { stepKey: 'dose-1', atMinutes: 30, bloodPressure: { systolic: 130, diastolic: 80 } });
    c.to(doseAt + 120 * MIN);
    c.out();
    expect(c.act('discharge', { stepKey: 'dose-1', ...DISCHARGE }).outcome).toBe('discharged');
    const out = c.out();
    expect(stepStates(out)).toMatchObject({ 'dose-1': 'done', 'integration-1': 'open' });
    expect(rows(out, 'vitals')).toEqual([expect.objectContaining({ phase: 'discharge', minutesAfterDose: 120 })]);
    expect(rows(out, 'event').find((e) => e.type === 'session.discharged')).toMatchObject({ detail: { monitoringMinutes: 120 } });
    expect(c.view()).toMatchObject({ dosesGiven: 1, courseEndAt: null });
    expect(c.step('integration-1').deadlineAt).toBe(iso(c.now + 48 * H));
    // A discharged session carries no readings any more (kap-office has no REMS form to fill from them): they are in its vitals rows.
    expect(c.step('dose-1').session).toMatchObject({ status: 'completed', dischargedAt: iso(c.now), readings: [] });
    expect(c.m.state.steps['dose-1']!.session!.reminders).toEqual([]);
  });
});

describe('spacing of doses and the integration window', () => {
  test('integration must be scheduled within 48 h of the dose; the next dose at least 7 days after the last', () => {
    const c = new Course().readyToDose();
    c.doseDay('dose-1', 1);
    const r = c.reject('schedule', { stepKey: 'integration-1', startsInHours: 72 });
    expect(r.type).toBe('ClinicallyRefused');
    expect(r.message).toMatch(/^integration must take place within 48 h of the dose: by /);
    c.act('schedule', { stepKey: 'integration-1', startsInHours: 24 });
    c.act('session-complete', { stepKey: 'integration-1' });
    const doseAt = c.m.state.lastDoseAt!;
    const soon = c.reject('schedule', { stepKey: 'dose-2', startsInHours: 72 });
    expect(soon).toMatchObject({ type: 'ClinicallyRefused', message: `doses must be at least 7 day(s) apart: earliest ${iso(doseAt + 7 * DAY)}` });
    expect(c.act('schedule', { stepKey: 'dose-2', startsAt: iso(doseAt + 7 * DAY) }).outcome).toBe('scheduled');
  });

  test('dose-2 opens once integration-1 is done, its deadline counted from its target day (first dose + 14 days)', () => {
    const c = new Course().readyToDose();
    c.doseDay('dose-1', 1);
    const firstDose = c.m.state.firstDoseAt!;
    expect(c.status('dose-2')).toBe('pending');
    c.act('session-complete', { stepKey: 'integration-1' });
    expect(c.step('dose-2')).toMatchObject({ status: 'open', deadlineAt: iso(firstDose + 14 * DAY + 168 * H) });
  });
});

describe('adverse events', () => {
  test('a mild event is recorded (adverse-event row, timeline) without a hold', () => {
    const c = dosed();
    const r = c.act('adverse-event', { stepKey: 'dose-1', category: 'nausea-vomiting', severity: 'mild', serious: false, description: 'nausea at 20 min' });
    expect(r.outcome).toBe('recorded');
    const out = c.out();
    expect(rows(out, 'adverse-event')).toEqual([expect.objectContaining({ id: 'c1/ae-1', stepKey: 'dose-1', category: 'nausea-vomiting', severity: 'mild', serious: false, description: 'nausea at 20 min', recordedBy: 'staff-p' })]);
    expect(eventTypes(out)).toEqual(['adverse-event.recorded']);
    expect(notes(out)).toEqual([]);
    expect(c.view().safetyHolds).toEqual([]);
  });

  test('a serious event alerts both clinicians and holds dosing until a safety review', () => {
    const c = atDose();
    expect(c.act('adverse-event', { stepKey: 'dose-1', category: 'hypertension', severity: 'severe', serious: true, description: 'BP 190/110 at 30 min' }).outcome).toBe('serious-escalated');
    const out = c.out();
    expect(notes(out, 'safety-alert').map((n) => [n.key, n.recipient, n.data.reason])).toEqual([
      ['c1/ae-1/hold/alert-prescriber', { kind: 'role', role: 'prescriber' }, 'adverse-event'],
      ['c1/ae-1/hold/alert-therapist', { kind: 'role', role: 'therapist' }, 'adverse-event'],
    ]);
    expect(c.view().safetyHolds).toEqual([expect.objectContaining({ id: 'c1/ae-1/hold', kind: 'adverse-event', level: null, suicideRisk: false, reason: 'serious adverse event c1/ae-1 (hypertension, severe): BP 190/110 at 30 min' })]);
    c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK });
    expect(c.reject('dose', { stepKey: 'dose-1', route: 'sublingual' }).message).toMatch(/^dose refused: safety hold open \(serious adverse event c1\/ae-1/);
    c.act('safety-review', { outcome: 'release', riskLevel: 'low', notes: 'resolved' });
    c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK });
    expect(c.act('dose', { stepKey: 'dose-1', route: 'sublingual' }).outcome).toBe('dosed');
  });

  test('severity severe or life-threatening is serious even when not flagged; a serious psychiatric event is a high suicide-risk hold', () => {
    const c = atDose();
    expect(c.act('adverse-event', { category: 'other', severity: 'life-threatening', serious: false }).outcome).toBe('serious-escalated');
    c.act('adverse-event', { category: 'psychiatric', severity: 'severe', serious: true });
    expect(c.view().safetyHolds.map((h) => [h.id, h.level, h.suicideRisk])).toEqual([
      ['c1/ae-1/hold', null, false],
      ['c1/ae-2/hold', 'high', true],
    ]);
    expect(c.view().riskLevel).toBe('high');
  });

  test('input rules: a known category, severity and step', () => {
    const c = atDose();
    expect(c.reject('adverse-event', { category: 'headache', severity: 'mild', serious: false }).type).toBe('InvalidInput');
    expect(c.reject('adverse-event', { category: 'other', severity: 'awful', serious: false }).type).toBe('InvalidInput');
    expect(c.reject('adverse-event', { stepKey: 'dose-99', category: 'other', severity: 'mild', serious: false }).type).toBe('InvalidInput');
  });
});

describe('safety review', () => {
  test('needs an open hold', () => {
    expect(atDose().reject('safety-review', { outcome: 'release' })).toMatchObject({ type: 'InvalidTransition', message: 'no safety hold is open' });
  });

  test('a release at high assessed risk is refused; an unknown outcome is InvalidInput', () => {
    const c = atDose();
    c.act('adverse-event', { category: 'psychiatric', severity: 'severe', serious: true });
    expect(c.reject('safety-review', { outcome: 'release', riskLevel: 'high' })).toMatchObject({ type: 'ClinicallyRefused', message: 'a hold cannot be released while the assessed risk is high' });
    expect(c.reject('safety-review', { outcome: 'ignore' }).type).toBe('InvalidInput');
    expect(c.reject('safety-review', { outcome: 'release', riskLevel: 'extreme' }).type).toBe('InvalidInput');
  });

  test('release closes every open hold in the same projection and sets the assessed risk', () => {
    const c = atDose();
    c.act('adverse-event', { category: 'psychiatric', severity: 'severe', serious: true });
    c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK, bloodPressure: { systolic: 160, diastolic: 100 } });
    c.out();
    c.act('safety-review', { outcome: 'release', riskLevel: 'low', notes: '  reviewed   with the client  ' });
    const out = c.out();
    expect(rows(out, 'safety-event').map((r) => [r.id, r.resolvedAt, r.detail.resolution, r.detail.reviewedBy, r.detail.notesSummary])).toEqual([
      ['c1/ae-1/hold', iso(c.now), 'clinician review: release', 'staff-p', 'reviewed with the client'],
      ['c1/dose-1/pre-dose-hold-1', iso(c.now), 'clinician review: release', 'staff-p', 'reviewed with the client'],
    ]);
    expect(rows(out, 'event')[0]).toMatchObject({ type: 'safety-review.release', detail: { holds: ['c1/ae-1/hold', 'c1/dose-1/pre-dose-hold-1'], riskLevel: 'low' } });
    expect(c.view()).toMatchObject({ safetyHolds: [], riskLevel: 'low' });
    expect(out.projection!.course!.riskLevel).toBe('low');
  });

  test('keep-hold closes none', () => {
    const c = atDose();
    c.act('adverse-event', { category: 'hypertension', severity: 'severe', serious: true });
    c.out();
    expect(c.act('safety-review', { outcome: 'keep-hold', notes: 'recheck next week' }).outcome).toBe('keep-hold');
    expect(rows(c.out(), 'safety-event')).toEqual([]);
    expect(c.view().safetyHolds).toHaveLength(1);
  });

  test('withdraw closes every hold by the review and ends the course', () => {
    const c = atDose();
    c.act('adverse-event', { category: 'psychiatric', severity: 'severe', serious: true });
    c.out();
    c.act('safety-review', { outcome: 'withdraw', notes: 'referred to crisis care' });
    const out = c.out();
    expect(c.view()).toMatchObject({ status: 'withdrawn', endReason: 'withdrawn: safety-review: referred to crisis care', safetyHolds: [] });
    expect(rows(out, 'safety-event')).toEqual([expect.objectContaining({ detail: expect.objectContaining({ resolution: 'clinician review: withdraw' }) })]);
    expect(out.cancelAssessments).toEqual([]);
    expect(c.status('dose-1')).toBe('cancelled');
  });

  test('a review is possible while the course is paused', () => {
    const c = atDose();
    c.act('adverse-event', { category: 'hypertension', severity: 'severe', serious: true });
    c.act('pause', { reason: 'hospitalised' });
    expect(c.act('safety-review', { outcome: 'release', riskLevel: 'low' }).outcome).toBe('release');
  });
});

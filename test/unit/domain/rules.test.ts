import {
  HARD_STOPS,
  REVIEW_ITEMS,
  assessmentSchedule,
  boosterSuggestion,
  checkEligibility,
  dischargeReadiness,
  getProtocol,
  overdueSteps,
  planCourse,
  preDoseCheck,
  riskRank,
  triageSuicideRisk,
  type CssrsRisk,
  type HardStop,
  type PreDoseInput,
  type Protocol,
  type ScreeningRecord,
  type DischargeInput,
} from '../../../src/domain';
import { forAll, randomInt } from './prng';

const kap = getProtocol('kap-office')!;
const spravato = getProtocol('spravato-rems')!;
const iv = getProtocol('iv-series')!;
const codes = (r: { reasons: Array<{ code: string; blocking: boolean }> }) => r.reasons.filter((x) => x.blocking).map((x) => x.code);
const ALL_CLEAR: Record<HardStop, boolean> = Object.fromEntries(Object.keys(HARD_STOPS).map((k) => [k, false])) as Record<HardStop, boolean>;
const NO_REVIEW = Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, false]));

describe('eligibility', () => {
  test('nothing found => eligible', () => {
    expect(checkEligibility({ reviewItems: NO_REVIEW, hardStops: ALL_CLEAR })).toEqual({ decision: 'eligible', reasons: [] });
  });

  test.each(Object.keys(HARD_STOPS) as HardStop[])('hard stop %s => ineligible', (stop) => {
    const r = checkEligibility({ reviewItems: NO_REVIEW, hardStops: { ...ALL_CLEAR, [stop]: true } });
    expect(r.decision).toBe('ineligible');
    expect(codes(r)).toEqual([`hard-stop:${stop}`]);
  });

  test('unanswered hard-stop questions => incomplete, naming each', () => {
    const { pregnancy: _p, 'acute-mania': _m, ...rest } = ALL_CLEAR;
    const r = checkEligibility({ reviewItems: NO_REVIEW, hardStops: rest });
    expect(r.decision).toBe('incomplete');
    expect(codes(r).sort()).toEqual(['not-assessed:acute-mania', 'not-assessed:pregnancy']);
  });

  test('C-SSRS high at screening counts as the suicidal-ideation hard stop', () => {
    const r = checkEligibility({ reviewItems: NO_REVIEW, hardStops: ALL_CLEAR, cssrsRisk: 'high' });
    expect(r.decision).toBe('ineligible');
    expect(codes(r)).toEqual(['hard-stop:suicidal-ideation-with-intent']);
  });

  const withOverride = (o: Partial<NonNullable<ScreeningRecord['overrides']>[number]>): ScreeningRecord => ({
    hardStops: { ...ALL_CLEAR, 'uncontrolled-glaucoma': true },
    reviewItems: NO_REVIEW,
    overrides: [{ hardStop: 'uncontrolled-glaucoma', byRole: 'prescriber', byUserId: 'dr-lee', reason: 'Ophthalmology letter: pressure controlled since March', ...o }],
  });
  test('a prescriber override with a reason clears the hard stop and is recorded', () => {
    const r = checkEligibility(withOverride({ byUserId: 'dr-lee' }));
    expect(r.decision).toBe('eligible');
    expect(r.reasons).toEqual([expect.objectContaining({ code: 'hard-stop-overridden:uncontrolled-glaucoma', blocking: false, message: expect.stringContaining('dr-lee: Ophthalmology letter') })]);
  });
  test.each([
    ['not a prescriber', { byRole: 'therapist' as const }, /only a prescriber/],
    ['empty reason', { reason: '' }, /a reason must be recorded/],
    ['blank reason', { reason: '   ' }, /a reason must be recorded/],
    ['an API token with no staff member', { byUserId: 'token:tok-1' }, /a clinical judgement by a person; this API token belongs to no staff member/],
    ['no staff member named', { byUserId: undefined }, /a clinical judgement by a person/],
  ])('override rejected: %s', (_name, o, message) => {
    const r = checkEligibility(withOverride(o));
    expect(r.decision).toBe('ineligible');
    expect(r.reasons).toContainEqual(expect.objectContaining({ code: 'override-rejected', message: expect.stringMatching(message) }));
  });
  test("the protocol's override roles decide who may override; the default is prescribers only", () => {
    const byAdmin = withOverride({ byRole: 'admin' });
    expect(checkEligibility(byAdmin).decision).toBe('ineligible');
    expect(checkEligibility(byAdmin).reasons).toContainEqual(expect.objectContaining({ code: 'override-rejected', message: expect.stringMatching(/only a prescriber may override a hard stop \(was admin\)/) }));
    const allowed = checkEligibility(byAdmin, { overrideRoles: ['prescriber', 'admin'] });
    expect(allowed.decision).toBe('eligible');
    expect(allowed.reasons).toEqual([expect.objectContaining({ code: 'hard-stop-overridden:uncontrolled-glaucoma', blocking: false, message: expect.stringMatching(/overridden by admin/) })]);
    // A protocol that names only admins refuses a prescriber.
    const r = checkEligibility(withOverride({}), { overrideRoles: ['admin'] });
    expect(r.decision).toBe('ineligible');
    expect(r.reasons).toContainEqual(expect.objectContaining({ code: 'override-rejected', message: expect.stringMatching(/only an admin may override/) }));
  });
  test('an override only clears the hard stop it names', () => {
    const r = checkEligibility({ ...withOverride({}), hardStops: { ...ALL_CLEAR, 'uncontrolled-glaucoma': true, pregnancy: true } });
    expect(r.decision).toBe('ineligible');
    expect(codes(r)).toEqual(['hard-stop:pregnancy']);
  });

  test.each(['bipolar-disorder', 'psychosis-first-degree-relative', 'liver-disease', 'cystitis', 'hyperthyroidism', 'prior-ketamine-use', 'breastfeeding'] as const)('review item %s => needs-review', (item) => {
    const r = checkEligibility({ hardStops: ALL_CLEAR, reviewItems: { ...NO_REVIEW, [item]: true } });
    expect(r.decision).toBe('needs-review');
    expect(codes(r)).toEqual([`review:${item}`]);
  });

  test.each([
    ['benzodiazepine at 8 mg (not above the limit)', { name: 'clonazepam', class: 'benzodiazepine' as const, diazepamEquivalentMgPerDay: 8 }, 'eligible', []],
    ['benzodiazepine above 8 mg', { name: 'clonazepam', class: 'benzodiazepine' as const, diazepamEquivalentMgPerDay: 8.5 }, 'needs-review', ['interaction:benzodiazepine-high-dose']],
    ['benzodiazepine dose unknown', { name: 'lorazepam', class: 'benzodiazepine' as const }, 'needs-review', ['interaction:benzodiazepine-dose-unknown']],
    ['lamotrigine', { name: 'lamotrigine', class: 'lamotrigine' as const }, 'needs-review', ['interaction:lamotrigine']],
    ['MAOI', { name: 'phenelzine', class: 'maoi' as const }, 'needs-review', ['interaction:maoi']],
    ['opioid', { name: 'oxycodone', class: 'opioid' as const }, 'needs-review', ['interaction:opioid']],
    ['psychostimulant', { name: 'methylphenidate', class: 'psychostimulant' as const }, 'needs-review', ['interaction:psychostimulant']],
    ['other sedative', { name: 'zolpidem', class: 'other-sedative' as const }, 'needs-review', ['interaction:other-sedative']],
    ['non-interacting', { name: 'sertraline', class: 'other' as const }, 'eligible', []],
  ])('medication: %s', (_name, med, decision, blocking) => {
    const r = checkEligibility({ reviewItems: NO_REVIEW, hardStops: ALL_CLEAR, medications: [med] });
    expect(r.decision).toBe(decision);
    expect(codes(r)).toEqual(blocking);
  });

  test('baseline PHQ-9 item 9 > 0 or C-SSRS moderate => needs-review', () => {
    expect(checkEligibility({ reviewItems: NO_REVIEW, hardStops: ALL_CLEAR, phq9Item9: 1 }).decision).toBe('needs-review');
    expect(checkEligibility({ reviewItems: NO_REVIEW, hardStops: ALL_CLEAR, cssrsRisk: 'moderate' }).decision).toBe('needs-review');
    expect(checkEligibility({ reviewItems: NO_REVIEW, hardStops: ALL_CLEAR, cssrsRisk: 'low', phq9Item9: 0 }).decision).toBe('eligible');
  });

  test('precedence: ineligible > incomplete > needs-review', () => {
    const { pregnancy: _p, ...rest } = ALL_CLEAR;
    expect(checkEligibility({ hardStops: { ...rest, 'acute-mania': true }, reviewItems: { ...NO_REVIEW, cystitis: true } }).decision).toBe('ineligible');
    expect(checkEligibility({ hardStops: rest, reviewItems: { ...NO_REVIEW, cystitis: true } }).decision).toBe('incomplete');
  });
});

describe('suicide-risk triage', () => {
  test.each<[string, number | null, CssrsRisk | null, CssrsRisk, boolean, string[]]>([
    ['nothing endorsed', 0, 'none', 'none', false, []],
    ['no data at all', null, null, 'none', false, []],
    ['PHQ-9 item 9 = 0 alone', 0, null, 'none', false, []],
    ['PHQ-9 item 9 = 1 alone => moderate, critical, do a C-SSRS', 1, null, 'moderate', true, ['clinician-alert', 'safety-hold', 'show-crisis-resources', 'complete-cssrs']],
    ['PHQ-9 item 9 = 3 alone', 3, null, 'moderate', true, ['clinician-alert', 'safety-hold', 'show-crisis-resources', 'complete-cssrs']],
    ['item 9 > 0, C-SSRS none => low, still critical', 1, 'none', 'low', true, ['clinician-alert', 'safety-hold', 'show-crisis-resources']],
    ['C-SSRS low alone', 0, 'low', 'low', false, ['show-crisis-resources']],
    ['C-SSRS moderate alone', 0, 'moderate', 'moderate', false, ['show-crisis-resources']],
    ['C-SSRS high', 0, 'high', 'high', true, ['clinician-alert', 'safety-hold', 'show-crisis-resources']],
    ['C-SSRS high, no PHQ-9', null, 'high', 'high', true, ['clinician-alert', 'safety-hold', 'show-crisis-resources']],
    ['both positive', 2, 'high', 'high', true, ['clinician-alert', 'safety-hold', 'show-crisis-resources']],
  ])('%s', (_name, item9, risk, level, critical, actions) => {
    const t = triageSuicideRisk({ phq9Item9: item9, cssrs: risk ? { risk } : null });
    expect(t.level).toBe(level);
    expect(t.critical).toBe(critical);
    expect(t.actions).toEqual(actions);
    expect(t.reasons.length).toBeGreaterThan(0);
  });

  test('rejects an impossible item 9', () => {
    expect(() => triageSuicideRisk({ phq9Item9: 4 })).toThrow(RangeError);
  });

  test('property: monotone: a higher item 9 or a higher C-SSRS risk never lowers level or criticality', () => {
    const risks: Array<CssrsRisk | null> = [null, 'none', 'low', 'moderate', 'high'];
    const rank = (r: CssrsRisk | null) => (r === null ? -1 : riskRank(r));
    forAll(300, (rand) => {
      const a9 = rand() < 0.2 ? null : randomInt(rand, 0, 3);
      const ar = risks[randomInt(rand, 0, 4)]!;
      const b9 = a9 === null ? (rand() < 0.5 ? null : randomInt(rand, 0, 3)) : randomInt(rand, a9, 3);
      // only compare C-SSRS risks when both were done (doing a C-SSRS can rightly refine "unassessed")
      const br = ar === null ? null : risks[randomInt(rand, rank(ar) + 1, 4)]!;
      const ta = triageSuicideRisk({ phq9Item9: a9, cssrs: ar ? { risk: ar } : null });
      const tb = triageSuicideRisk({ phq9Item9: b9, cssrs: br ? { risk: br } : null });
      if (b9 === null && a9 !== null) return;
      expect(riskRank(tb.level)).toBeGreaterThanOrEqual(riskRank(ta.level));
      if (ta.critical) expect(tb.critical).toBe(true);
    });
  });
});

describe('pre-dose check', () => {
  const ok: PreDoseInput = {
    bloodPressure: { systolic: 128, diastolic: 82 },
    hoursSinceFood: 8,
    hoursSinceClearLiquids: 3,
    escortConfirmed: true,
    openSafetyHolds: [],
    cssrsRisk: 'none',
    phq9Item9: 0,
    benzodiazepine: { taking: false },
    pregnancy: 'negative',
  };
  test('all clear => proceed', () => {
    for (const p of [kap, iv, spravato]) expect(preDoseCheck(p, ok)).toEqual({ decision: 'proceed', reasons: [] });
  });

  test.each<[string, Partial<PreDoseInput>, string[]]>([
    ['systolic 141', { bloodPressure: { systolic: 141, diastolic: 80 } }, ['bp-systolic-high']],
    ['diastolic 91', { bloodPressure: { systolic: 120, diastolic: 91 } }, ['bp-diastolic-high']],
    ['both high', { bloodPressure: { systolic: 160, diastolic: 100 } }, ['bp-systolic-high', 'bp-diastolic-high']],
    ['no BP', { bloodPressure: null }, ['bp-missing']],
    ['ate 3.5 h ago (KAP needs 4 h)', { hoursSinceFood: 3.5 }, ['fasting-food-not-met']],
    ['food fasting unconfirmed', { hoursSinceFood: undefined }, ['fasting-food-unconfirmed']],
    ['drank 20 min ago', { hoursSinceClearLiquids: 1 / 3 }, ['fasting-liquids-not-met']],
    ['no escort', { escortConfirmed: false }, ['no-escort']],
    ['safety hold open', { openSafetyHolds: [{ id: 'h1', reason: 'PHQ-9 item 9 = 2 on 3 May' }] }, ['safety-hold-open']],
    ['C-SSRS high since last visit', { cssrsRisk: 'high' }, ['suicide-risk-critical']],
    ['PHQ-9 item 9 positive', { phq9Item9: 1 }, ['suicide-risk-critical']],
    ['C-SSRS not done', { cssrsRisk: undefined }, ['cssrs-missing']],
    ['PHQ-9 not done', { phq9Item9: null }, ['phq9-missing']],
    ['benzodiazepine 12 h ago', { benzodiazepine: { taking: true, hoursSinceLastDose: 12 } }, ['benzodiazepine-not-paused']],
    ['benzodiazepine pause unconfirmed', { benzodiazepine: { taking: true } }, ['benzodiazepine-pause-unconfirmed']],
    ['pregnant', { pregnancy: 'positive' }, ['pregnancy']],
    ['pregnancy unknown', { pregnancy: 'unknown' }, ['pregnancy-status-unknown']],
    ['new MAOI', { newInteractingMedications: ['phenelzine'] }, ['new-interacting-medication']],
  ])('hold: %s', (_name, change, expected) => {
    const r = preDoseCheck(kap, { ...ok, ...change });
    expect(r.decision).toBe('hold');
    expect(codes(r)).toEqual(expected);
  });

  test.each<[string, Partial<PreDoseInput>]>([
    ['BP exactly 140/90', { bloodPressure: { systolic: 140, diastolic: 90 } }],
    ['ate exactly 4 h ago', { hoursSinceFood: 4 }],
    ['benzodiazepine paused exactly 24 h', { benzodiazepine: { taking: true, hoursSinceLastDose: 24 } }],
    ['pregnancy not applicable', { pregnancy: 'not-applicable' }],
    ['C-SSRS moderate (note, not a hold)', { cssrsRisk: 'moderate' }],
  ])('proceed at the boundary: %s', (_name, change) => {
    expect(preDoseCheck(kap, { ...ok, ...change }).decision).toBe('proceed');
  });

  test('fasting thresholds follow the protocol: 2 h food is enough for Spravato, not for IV', () => {
    expect(preDoseCheck(spravato, { ...ok, hoursSinceFood: 2 }).decision).toBe('proceed');
    expect(codes(preDoseCheck(iv, { ...ok, hoursSinceFood: 2 }))).toEqual(['fasting-food-not-met']);
  });

  test('every problem is listed at once', () => {
    const r = preDoseCheck(kap, { bloodPressure: { systolic: 150, diastolic: 95 }, hoursSinceFood: 1, escortConfirmed: false, cssrsRisk: 'high', phq9Item9: 2, pregnancy: 'unknown' });
    expect(codes(r)).toEqual(['bp-systolic-high', 'bp-diastolic-high', 'fasting-food-not-met', 'fasting-liquids-unconfirmed', 'no-escort', 'suicide-risk-critical', 'pregnancy-status-unknown']);
  });

  test('property: monotone in blood pressure (a higher reading never turns hold into proceed)', () => {
    forAll(300, (rand) => {
      const p = [kap, iv, spravato][randomInt(rand, 0, 2)]!;
      const a = { systolic: randomInt(rand, 90, 180), diastolic: randomInt(rand, 50, 120) };
      const b = { systolic: a.systolic + randomInt(rand, 0, 30), diastolic: a.diastolic + randomInt(rand, 0, 20) };
      const ra = preDoseCheck(p, { ...ok, bloodPressure: a });
      const rb = preDoseCheck(p, { ...ok, bloodPressure: b });
      if (ra.decision === 'hold') expect(rb.decision).toBe('hold');
      expect(ra.decision).toBe(a.systolic > 140 || a.diastolic > 90 ? 'hold' : 'proceed');
    });
  });
});

describe('discharge readiness', () => {
  const checklist = Object.fromEntries(spravato.safety.dischargeChecklist.map((i) => [i.id, true]));
  const ready: DischargeInput = {
    minutesSinceDoseStart: 125,
    readings: [
      { at: 0, systolic: 124, diastolic: 80 },
      { at: 40, systolic: 142, diastolic: 86 },
      { at: 'discharge', systolic: 130, diastolic: 82 },
    ],
    spo2Percent: 97,
    checklist,
    responsibleAdultPresent: true,
  };
  test('all done => ready', () => {
    expect(dischargeReadiness(spravato, ready)).toEqual({ decision: 'ready', reasons: [] });
  });
  test.each<[string, Partial<DischargeInput>, string[]]>([
    ['119 min on site under REMS (needs 120)', { minutesSinceDoseStart: 119 }, ['monitoring-time']],
    ['40 min BP missing', { readings: ready.readings.filter((r) => r.at !== 40) }, ['bp-check-missing']],
    ['discharge BP missing', { readings: ready.readings.filter((r) => r.at !== 'discharge') }, ['bp-check-missing']],
    ['systolic 145 vs baseline 124 (+21 > 20)', { readings: [...ready.readings.slice(0, 2), { at: 'discharge', systolic: 145, diastolic: 82 }] }, ['bp-not-near-baseline']],
    ['diastolic 91 vs baseline 80 (+11 > 10)', { readings: [...ready.readings.slice(0, 2), { at: 'discharge', systolic: 130, diastolic: 91 }] }, ['bp-not-near-baseline']],
    ['SpO2 91%', { spo2Percent: 91 }, ['spo2-low']],
    ['SpO2 not recorded', { spo2Percent: null }, ['spo2-missing']],
    ['checklist item not done', { checklist: { ...checklist, 'minimal-nausea': false } }, ['checklist:minimal-nausea']],
    ['no responsible adult', { responsibleAdultPresent: false }, ['no-responsible-adult']],
  ])('not ready: %s', (_name, change, expected) => {
    const r = dischargeReadiness(spravato, { ...ready, ...change });
    expect(r.decision).toBe('not-ready');
    expect(codes(r)).toEqual(expected);
  });
  test('boundaries: exactly 120 min, exactly +20/+10 over baseline => ready', () => {
    const r = dischargeReadiness(spravato, { ...ready, minutesSinceDoseStart: 120, readings: [...ready.readings.slice(0, 2), { at: 'discharge', systolic: 144, diastolic: 90 }] });
    expect(r.decision).toBe('ready');
  });
  test('IV: 70 minutes is enough', () => {
    const readings = [0, 20, 40, 'discharge' as const].map((at) => ({ at, systolic: 120, diastolic: 80 }));
    expect(dischargeReadiness(iv, { ...ready, minutesSinceDoseStart: 70, readings }).decision).toBe('ready');
  });
});

describe('assessment schedule', () => {
  const doses = kap.course.doseScheduleDays.map((d) => new Date(Date.UTC(2026, 0, 5 + d, 15)).toISOString());
  test('baseline, before each dose, after the course, then 30/90/180 days after the last dose', () => {
    const s = assessmentSchedule(kap, { startedAt: '2025-12-20T10:00:00Z', doseTimes: doses });
    expect(s.items.map((i) => [i.stepId, i.dueAt.slice(0, 10)])).toEqual([
      ['screening', '2025-12-20'],
      ['dose-1', '2026-01-05'],
      ['dose-2', '2026-01-19'],
      ['dose-3', '2026-02-02'],
      ['dose-4', '2026-02-16'],
      ['dose-5', '2026-03-02'],
      ['dose-6', '2026-03-16'],
      ['post-course-assessment', '2026-03-16'],
      ['followup-30d', '2026-04-15'],
      ['followup-90d', '2026-06-14'],
      ['followup-180d', '2026-09-12'],
    ]);
    expect(s.byInstrument.pcl5).toEqual(['2025-12-20T10:00:00.000Z', '2026-03-16T15:00:00.000Z', '2026-04-15T15:00:00.000Z', '2026-06-14T15:00:00.000Z', '2026-09-12T15:00:00.000Z']);
    expect(s.byInstrument.cssrs).toHaveLength(7);
    expect(s.byInstrument.phq9).toHaveLength(11);
  });
  test('reminders every 24 h x3, expiry at 96 h', () => {
    const [baseline] = assessmentSchedule(kap, { startedAt: '2026-01-01T09:00:00Z' }).items;
    expect(baseline!.reminderTimes).toEqual(['2026-01-02T09:00:00.000Z', '2026-01-03T09:00:00.000Z', '2026-01-04T09:00:00.000Z']);
    expect(baseline!.expiresAt).toBe('2026-01-05T09:00:00.000Z');
  });
  test('no follow-ups until the course is complete; an explicit completion date wins', () => {
    expect(assessmentSchedule(kap, { doseTimes: doses.slice(0, 3) }).items.map((i) => i.point)).toEqual(['before-dose', 'before-dose', 'before-dose']);
    const s = assessmentSchedule(kap, { doseTimes: doses.slice(0, 3), completedAt: '2026-02-10T00:00:00Z' });
    expect(s.items.find((i) => i.stepId === 'followup-30d')!.dueAt).toBe('2026-03-12T00:00:00.000Z');
  });
  test('step ids match planCourse', () => {
    const ids = new Set(planCourse(spravato).map((s) => s.id));
    const times = spravato.course.doseScheduleDays.map((d) => new Date(Date.UTC(2026, 0, 1 + d)).toISOString());
    for (const item of assessmentSchedule(spravato, { startedAt: '2025-12-01T00:00:00Z', doseTimes: times }).items) expect(ids.has(item.stepId)).toBe(true);
  });
  test('rejects invalid dates', () => {
    expect(() => assessmentSchedule(kap, { startedAt: 'yesterday' })).toThrow(RangeError);
  });
});

describe('booster suggestion', () => {
  test.each<[number, number, number | null, string, string[]]>([
    [3, 7, null, 'no-booster', []],
    [3, 8, null, 'suggest-booster', ['phq9-rise']],
    [6, 9, null, 'no-booster', []],
    [6, 10, null, 'suggest-booster', ['phq9-back-above-threshold']],
    [7, 10, null, 'suggest-booster', ['phq9-back-above-threshold']],
    [9, 10, null, 'suggest-booster', ['phq9-back-above-threshold']],
    [4, 12, null, 'suggest-booster', ['phq9-rise', 'phq9-back-above-threshold']],
    [4, 12, 20, 'not-yet', ['phq9-rise', 'phq9-back-above-threshold']],
    [4, 12, 30, 'suggest-booster', ['phq9-rise', 'phq9-back-above-threshold']],
    [12, 13, null, 'review', []],
    [10, 16, null, 'suggest-booster', ['phq9-rise']],
  ])('post-course %i, now %i, days since dose %p => %s', (post, now, days, decision, blocking) => {
    const r = boosterSuggestion(kap, { postCoursePhq9: post, currentPhq9: now, daysSinceLastDose: days });
    expect(r.decision).toBe(decision);
    expect(codes(r)).toEqual(blocking);
  });
  test('protocol without boosters => review on a relapse signal, never a suggestion', () => {
    const noBoosters = { ...kap, maintenance: { ...kap.maintenance, boostersOffered: false } } as Protocol;
    expect(boosterSuggestion(noBoosters, { postCoursePhq9: 3, currentPhq9: 12 }).decision).toBe('review');
    expect(boosterSuggestion(noBoosters, { postCoursePhq9: 3, currentPhq9: 4 }).decision).toBe('no-booster');
  });
  test('rejects impossible PHQ-9 totals', () => {
    expect(() => boosterSuggestion(kap, { postCoursePhq9: 28, currentPhq9: 3 })).toThrow(RangeError);
  });
});

describe('overdue steps', () => {
  const opened = '2026-03-01T12:00:00Z';
  const steps = [
    { id: 'clearance', status: 'open' as const, openedAt: opened, deadlineHours: 72, owner: 'prescriber' as const },
    { id: 'consent', status: 'open' as const, openedAt: opened, deadlineHours: 168, owner: 'client' as const },
    { id: 'screening', status: 'done' as const, openedAt: '2026-01-01T00:00:00Z', deadlineHours: 1, owner: 'coordinator' as const },
    { id: 'prep-1', status: 'pending' as const, deadlineHours: 1, owner: 'therapist' as const },
    { id: 'sys', status: 'open' as const, openedAt: '2026-01-01T00:00:00Z', deadlineHours: null },
  ];
  test.each<[string, string[], Array<[string, number, string[]]>]>([
    ['2026-03-04T12:00:00Z', [], []], // exactly at the deadline: not yet overdue
    ['2026-03-04T12:00:01Z', ['clearance'], [['clearance', 0, ['prescriber']]]],
    ['2026-03-05T12:00:00Z', ['clearance'], [['clearance', 1, ['prescriber', 'coordinator']]]],
    ['2026-03-08T12:00:00Z', ['clearance'], [['clearance', 2, ['prescriber', 'coordinator', 'admin']]]],
    ['2026-03-09T12:00:00Z', ['clearance', 'consent'], [['clearance', 2, ['prescriber', 'coordinator', 'admin']], ['consent', 1, ['client', 'coordinator']]]],
  ])('at %s', (now, ids, detail) => {
    const out = overdueSteps(kap.escalation, steps, now);
    expect(out.map((o) => o.id)).toEqual(ids);
    expect(out.map((o) => [o.id, o.escalationLevel, o.notify])).toEqual(detail);
  });
  test('reports due time and hours overdue; accepts Date', () => {
    const [o] = overdueSteps(kap.escalation, steps, new Date('2026-03-04T18:00:00Z'));
    expect(o).toMatchObject({ id: 'clearance', dueAt: '2026-03-04T12:00:00.000Z', hoursOverdue: 6, owner: 'prescriber' });
  });
  test('rejects an invalid now', () => {
    expect(() => overdueSteps(kap.escalation, steps, 'soon')).toThrow(RangeError);
  });
});

// Maintenance boosters (issue #20 item 6): the booster rule (relapse or interval, with the spacing and
// the most boosters), the booster steps a course in maintenance plans, and the protocol fields, their
// diff labels and guard rail.
//
// Sources (clinical.md): 10 is the PHQ-9's "moderate" cut-point (Kroenke 2001; section 5); booster
// spacing as clinics practise it: IV every 2-6 weeks, KAP every 1-2 months, Spravato every 1-2 weeks
// from week 9 (section 1; the Spravato figure is the label's maintenance schedule, weekly or every
// 2 weeks, so never closer than 7 days). The relapse rule itself (a rise of 5 over the post-course
// PHQ-9, or back at 10 or above), the interval rule and maxBoosters are a clinic's choice: no
// published standard for ketamine boosters fixes them, which is why each is a protocol field.
import { assertProtocol, getProtocol, kapOfficeV1, parseProtocol, planCourse, plannedStepName, spravatoRemsV1, type Protocol, type ProtocolInput } from '../../../src/domain';
import { boosterDueDays, boosterRuleOf, boosterSuggestion } from '../../../src/domain/rules/booster';
import { checkGuardRails } from '../../../src/domain/protocol-guard-rails';
import { diffProtocols } from '../../../src/domain/protocol-diff';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Mutable = any;
const edit = (p: ProtocolInput | Protocol, f: (m: Mutable) => void): Mutable => {
  const copy = JSON.parse(JSON.stringify(p)) as Mutable;
  f(copy);
  return copy;
};
const kap = getProtocol('kap-office', 1)!; // boosters 30-60 days apart, rule: relapse (field absent)
const withRule = (boosterRule: string, more: Record<string, unknown> = {}) => assertProtocol(edit(kap, (m) => Object.assign(m.maintenance, { boosterRule, ...more })));

describe('the protocol fields', () => {
  test('a protocol from before (no boosterRule, no maxBoosters) stays valid and means relapse only', () => {
    expect(kap.maintenance.boosterRule).toBeUndefined();
    expect(parseProtocol(JSON.parse(JSON.stringify(kapOfficeV1))).ok).toBe(true);
    expect(boosterRuleOf(kap)).toBe('relapse');
  });
  test('a rule outside relapse / interval / relapse-or-interval, or a maxBoosters of 0, is refused with its path', () => {
    const r = parseProtocol(edit(kap, (m) => Object.assign(m.maintenance, { boosterRule: 'monthly', maxBoosters: 0 })));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.path)).toEqual(['maintenance.boosterRule', 'maintenance.maxBoosters']);
    expect(r.problems[0]!.message).toMatch(/"relapse", "interval", "relapse-or-interval"/);
  });
  test('the diff names them in clinical words', () => {
    const after = withRule('relapse-or-interval', { maxBoosters: 3 });
    expect(diffProtocols(kap, after).map((c) => c.text)).toEqual([
      'Booster rule (relapse, interval or relapse-or-interval; not set = relapse) changed from not set to relapse-or-interval',
      'Most boosters in maintenance changed from not set to 3',
    ]);
  });
  test('guard rail: Spravato boosters no closer than 7 days (the label: weekly or every 2 weeks in maintenance)', () => {
    expect(checkGuardRails(spravatoRemsV1)).toEqual([]);
    const v = checkGuardRails(edit(spravatoRemsV1, (m) => (m.maintenance.minDaysBetweenBoosters = 3)));
    expect(v).toEqual([{ rule: 'booster-spacing', path: 'maintenance.minDaysBetweenBoosters', message: expect.stringContaining('once a week'), source: expect.stringContaining('Spravato label') }]);
    // Ketamine protocols have no label schedule for boosters: the spacing is the clinic's.
    expect(checkGuardRails(edit(kapOfficeV1, (m) => (m.maintenance.minDaysBetweenBoosters = 3)))).toEqual([]);
  });
});

describe('boosterSuggestion (relapse)', () => {
  test('relapse rule: a rise of 5 or back at 10 suggests a booster once the last dose is 30 days back; sooner it is not-yet', () => {
    expect(boosterSuggestion(kap, { postCoursePhq9: 4, currentPhq9: 12, daysSinceLastDose: 30 }).decision).toBe('suggest-booster');
    const soon = boosterSuggestion(kap, { postCoursePhq9: 4, currentPhq9: 12, daysSinceLastDose: 29 });
    expect(soon.decision).toBe('not-yet');
    expect(soon.reasons.at(-1)).toMatchObject({ code: 'too-soon', message: expect.stringContaining('in 1 day(s)') });
    expect(boosterSuggestion(kap, { postCoursePhq9: 4, currentPhq9: 8, daysSinceLastDose: 40 }).decision).toBe('no-booster');
  });
  test('maxBoosters reached: a relapse goes to the prescriber (review), not to another booster', () => {
    const p = withRule('relapse', { maxBoosters: 2 });
    expect(boosterSuggestion(p, { postCoursePhq9: 4, currentPhq9: 12, daysSinceLastDose: 40, boostersSoFar: 1 }).decision).toBe('suggest-booster');
    const capped = boosterSuggestion(p, { postCoursePhq9: 4, currentPhq9: 12, daysSinceLastDose: 40, boostersSoFar: 2 });
    expect(capped.decision).toBe('review');
    expect(capped.reasons.map((r) => r.code)).toEqual(['phq9-rise', 'phq9-back-above-threshold', 'max-boosters-reached']);
  });
  test('interval-only protocol: a relapse is reviewed by the prescriber, not a booster by rule; no signal is still no booster', () => {
    const p = withRule('interval');
    expect(boosterSuggestion(p, { postCoursePhq9: 4, currentPhq9: 12, daysSinceLastDose: 40 })).toMatchObject({ decision: 'review', reasons: expect.arrayContaining([expect.objectContaining({ code: 'relapse-rule-off' })]) });
    expect(boosterSuggestion(p, { postCoursePhq9: 4, currentPhq9: 5, daysSinceLastDose: 40 }).decision).toBe('no-booster');
    expect(boosterSuggestion(withRule('relapse-or-interval'), { postCoursePhq9: 4, currentPhq9: 12, daysSinceLastDose: 40 }).decision).toBe('suggest-booster');
  });
});

describe('boosterDueDays (interval, and a relapse waiting for the spacing)', () => {
  test.each([
    ['relapse', false, null],
    ['relapse', true, 30],
    ['interval', false, 60],
    ['interval', true, 60],
    ['relapse-or-interval', false, 60],
    ['relapse-or-interval', true, 30],
  ] as const)('%s, relapse waiting %s: due %s days after the last dose', (rule, relapseWaiting, days) => {
    expect(boosterDueDays(withRule(rule), { boostersSoFar: 0, relapseWaiting })).toBe(days);
  });
  test('never closer than minDaysBetweenBoosters, never past maxBoosters, never when boosters are not offered', () => {
    expect(boosterDueDays(withRule('interval', { maxBoosters: 2 }), { boostersSoFar: 2, relapseWaiting: false })).toBeNull();
    expect(boosterDueDays(withRule('interval', { maxBoosters: 2 }), { boostersSoFar: 1, relapseWaiting: false })).toBe(60);
    expect(boosterDueDays(assertProtocol(edit(kap, (m) => Object.assign(m.maintenance, { boosterRule: 'interval', boostersOffered: false }))), { boostersSoFar: 0, relapseWaiting: true })).toBeNull();
    // minDays == maxDays: the interval and the spacing agree.
    expect(boosterDueDays(withRule('interval', { minDaysBetweenBoosters: 45, maxDaysBetweenBoosters: 45 }), { boostersSoFar: 0, relapseWaiting: false })).toBe(45);
  });
});

describe('planCourse with boosters', () => {
  test('kap-office: booster n is a dosing session with its before-dose forms and an integration after it; reviews are the prescriber\'s; the course\'s own plan is unchanged', () => {
    const plain = planCourse(kap);
    const plan = planCourse(kap, { boosters: 2, reviews: 1 });
    expect(plan.slice(0, plain.length)).toEqual(plain);
    const before = kap.assessments.beforeEachDose;
    expect(before).toEqual(expect.arrayContaining(['cssrs', 'phq9']));
    expect(plan.slice(plain.length).map((s) => [s.id, s.name, s.kind, s.owner, s.phaseId, s.timing, s.instruments])).toEqual([
      ['booster-1', 'Booster session 1', 'dosing', 'prescriber', 'maintenance', { anchor: 'step', stepId: 'maintenance-decision' }, before],
      ['booster-integration-1', 'Integration session (booster 1)', 'integration', 'therapist', 'maintenance', { anchor: 'step', stepId: 'booster-1' }, []],
      ['booster-2', 'Booster session 2', 'dosing', 'prescriber', 'maintenance', { anchor: 'step', stepId: 'maintenance-decision' }, before],
      ['booster-integration-2', 'Integration session (booster 2)', 'integration', 'therapist', 'maintenance', { anchor: 'step', stepId: 'booster-2' }, []],
      ['booster-review-1', 'Booster review 1', 'task', 'prescriber', 'maintenance', { anchor: 'step', stepId: 'maintenance-decision' }, []],
    ]);
  });
  test('spravato-rems: a booster has its REMS monitoring form, after its dose', () => {
    const p = getProtocol('spravato-rems', 1)!;
    expect(planCourse(p, { boosters: 1 }).filter((s) => s.maintenance).map((s) => [s.id, s.kind])).toEqual([
      ['booster-1', 'dosing'],
      ['booster-integration-1', 'integration'],
      ['booster-rems-form-1', 'rems-monitoring-form'],
    ]);
  });
  test('plannedStepName names booster steps for readers that plan from a snapshot', () => {
    expect(plannedStepName(kap, 'booster-3')).toBe('Booster session 3');
    expect(plannedStepName(kap, 'booster-integration-2')).toBe('Integration session (booster 2)');
    expect(plannedStepName(kap, 'booster-review-1')).toBe('Booster review 1');
    expect(plannedStepName(kap, 'dose-2')).toBe('Dosing session 2');
    expect(plannedStepName(kap, 'booster-nope')).toBeNull();
  });
});

test('kap protocol show names the booster rule (relapse when not set) and the most boosters', async () => {
  const { describeProtocol } = await import('../../../src/cli/commands/protocol');
  expect(describeProtocol(kap).split('\n').find((l) => l.includes('booster rule'))).toMatch(/booster rule relapse$/);
  expect(describeProtocol(withRule('relapse-or-interval', { maxBoosters: 4 }))).toMatch(/booster rule relapse-or-interval, at most 4$/m);
});

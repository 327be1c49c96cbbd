import {
  SHIPPED_PROTOCOLS,
  createProtocolRegistry,
  getProtocol,
  kapOfficeV1,
  listProtocols,
  parseProtocol,
  pinProtocol,
  planCourse,
  spravatoRemsV1,
  type ProtocolInput,
  type Problem,
} from '../../../src/domain';

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Mutable = any;

function problemsOf(input: unknown): Problem[] {
  const r = parseProtocol(input);
  if (r.ok) throw new Error('expected the protocol to be invalid');
  return r.problems;
}

describe('shipped protocols', () => {
  test.each(SHIPPED_PROTOCOLS.map((p) => [`${p.id}@${p.version}`, p] as const))('%s validates', (_name, p) => {
    const r = parseProtocol(p);
    expect(r.ok ? [] : r.problems).toEqual([]);
  });

  test('each survives a JSON round trip (what a clinic would export and edit)', () => {
    for (const p of SHIPPED_PROTOCOLS) expect(parseProtocol(JSON.parse(JSON.stringify(p))).ok).toBe(true);
  });

  test('kap-office: 3 preparation sessions, 6 doses, integration within 48 h', () => {
    const p = getProtocol('kap-office')!;
    expect(p.routes).toEqual(['sublingual', 'intramuscular']);
    expect(p.course.preparationSessions).toBe(3);
    expect(p.course.dosingSessions).toBe(6);
    expect(p.course.integrationWindowHours).toBe(48);
    const gaps = p.course.doseScheduleDays.slice(1).map((d, i) => d - p.course.doseScheduleDays[i]!);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(7);
    for (const g of gaps) expect(g).toBeLessThanOrEqual(14);
  });

  test('iv-series: 6 infusions within 2-3 weeks, 40 min infusion, at least 30 min recovery', () => {
    const p = getProtocol('iv-series')!;
    expect(p.course.dosingSessions).toBe(6);
    const last = p.course.doseScheduleDays[5]!;
    expect(last).toBeGreaterThanOrEqual(11);
    expect(last).toBeLessThanOrEqual(21);
    expect(p.course.administrationMinutes).toBe(40);
    expect(p.safety.minMonitoringMinutes).toBeGreaterThanOrEqual(40 + 30);
    expect(p.safety.minMonitoringMinutes).toBeLessThanOrEqual(40 + 60);
  });

  test('spravato-rems: twice weekly weeks 1-4, weekly weeks 5-8, REMS monitoring and form', () => {
    const p = getProtocol('spravato-rems')!;
    const days = p.course.doseScheduleDays;
    expect(days).toHaveLength(12);
    for (let week = 0; week < 8; week++) {
      const inWeek = days.filter((d) => d >= week * 7 && d < (week + 1) * 7).length;
      expect(inWeek).toBe(week < 4 ? 2 : 1);
    }
    expect(p.safety.minMonitoringMinutes).toBeGreaterThanOrEqual(120);
    expect(p.safety.bloodPressure.checkMinutes).toEqual([0, 40, 'discharge']);
    expect(p.rems?.monitoringFormDeadlineHours).toBe(168);
    const forms = planCourse(p).filter((s) => s.kind === 'rems-monitoring-form');
    expect(forms).toHaveLength(12);
    for (const f of forms) expect(f.deadlineHours!).toBeLessThanOrEqual(168);
  });

  test('thresholds from the reference: BP 140/90, fasting per modality, benzodiazepine pause 24 h', () => {
    expect(listProtocols().map((p) => [p.id, p.safety.bloodPressure.maxSystolic, p.safety.bloodPressure.maxDiastolic, p.safety.fasting.foodHours])).toEqual([
      ['iv-series', 140, 90, 6],
      ['kap-office', 140, 90, 4],
      ['spravato-rems', 140, 90, 2],
    ]);
    for (const p of listProtocols()) expect(p.safety.benzodiazepinePauseHours).toBe(24);
  });

  test('assessment schedule: reminders daily x3, follow-ups at 30/90/180 days', () => {
    for (const p of listProtocols()) {
      expect(p.assessments.reminders).toEqual({ everyHours: 24, count: 3 });
      expect(p.assessments.followUps.map((f) => f.afterCourseDays)).toEqual([30, 90, 180]);
      expect(p.assessments.beforeEachDose).toEqual(expect.arrayContaining(['phq9', 'cssrs']));
    }
  });
});

describe('planCourse', () => {
  test('kap-office expands to the ordered step ids', () => {
    expect(planCourse(getProtocol('kap-office')!).map((s) => s.id)).toEqual([
      'screening', 'clearance', 'consent', 'prep-1', 'prep-2', 'prep-3',
      'dose-1', 'integration-1', 'dose-2', 'integration-2', 'dose-3', 'integration-3',
      'dose-4', 'integration-4', 'dose-5', 'integration-5', 'dose-6', 'integration-6',
      'post-course-assessment', 'maintenance-decision', 'followup-30d', 'followup-90d', 'followup-180d',
    ]);
  });

  test('every person step has an owner and a positive deadline; ids are unique', () => {
    for (const p of listProtocols()) {
      const plan = planCourse(p);
      expect(new Set(plan.map((s) => s.id)).size).toBe(plan.length);
      for (const s of plan.filter((x) => x.waitsOn === 'person')) {
        expect(s.owner).not.toBeNull();
        expect(s.deadlineHours).toBeGreaterThan(0);
      }
    }
  });

  test('timing and instruments', () => {
    const plan = planCourse(getProtocol('kap-office')!);
    const byId = new Map(plan.map((s) => [s.id, s]));
    expect(byId.get('dose-1')!.timing).toEqual({ anchor: 'previous-step' });
    expect(byId.get('dose-3')!.timing).toEqual({ anchor: 'first-dose', offsetDays: 28 });
    expect(byId.get('integration-3')!.timing).toEqual({ anchor: 'step', stepId: 'dose-3' });
    expect(byId.get('integration-3')!).toMatchObject({ owner: 'therapist', deadlineHours: 48, session: 3, kind: 'integration' });
    expect(byId.get('followup-90d')!.timing).toEqual({ anchor: 'course-end', offsetDays: 90 });
    expect(byId.get('screening')!.instruments).toEqual(['phq9', 'gad7', 'pcl5', 'cssrs']);
    expect(byId.get('dose-2')!.instruments).toEqual(['phq9', 'cssrs']);
    expect(byId.get('post-course-assessment')!.instruments).toEqual(['phq9', 'gad7', 'pcl5']);
    expect(byId.get('followup-180d')!.instruments).toEqual(['phq9', 'gad7', 'pcl5']);
    expect(byId.get('clearance')!.instruments).toEqual([]);
  });

  test('is deterministic and does not share arrays with the protocol', () => {
    const p = getProtocol('spravato-rems')!;
    const a = planCourse(p);
    a[0]!.instruments.push('qids-sr16');
    expect(planCourse(p)).not.toEqual(a);
    expect(p.assessments.baseline).not.toContain('qids-sr16');
  });
});

describe('registry and pinning', () => {
  const v2: ProtocolInput = { ...clone(kapOfficeV1), version: 2, name: 'In-office KAP (v2)' };

  test('latest version by default, exact version on request, undefined when unknown', () => {
    const reg = createProtocolRegistry([kapOfficeV1, v2, spravatoRemsV1]);
    expect(reg.get('kap-office')!.version).toBe(2);
    expect(reg.get('kap-office', 1)!.name).toBe(kapOfficeV1.name);
    expect(reg.get('kap-office', 3)).toBeUndefined();
    expect(reg.get('nope')).toBeUndefined();
    expect(reg.list().map((p) => `${p.id}@${p.version}`)).toEqual(['kap-office@1', 'kap-office@2', 'spravato-rems@1']);
  });

  test('rejects duplicates and invalid protocols', () => {
    expect(() => createProtocolRegistry([kapOfficeV1, kapOfficeV1])).toThrow(/kap-office@1 is registered twice/);
    expect(() => createProtocolRegistry([{ ...clone(kapOfficeV1), version: 0 }])).toThrow(/version: must be > 0/);
  });

  test('registered protocols are frozen; a pin is a detached snapshot', () => {
    const p = getProtocol('kap-office', 1)!;
    expect(Object.isFrozen(p.safety.bloodPressure)).toBe(true);
    const pin = pinProtocol(p);
    expect(pin).toMatchObject({ protocolId: 'kap-office', protocolVersion: 1 });
    expect(pin.snapshot).toEqual(p);
    (pin.snapshot as Mutable).safety.bloodPressure.maxSystolic = 200;
    expect(p.safety.bloodPressure.maxSystolic).toBe(140);
  });
});

describe('parseProtocol: every problem, with its path', () => {
  // Each case breaks one thing; the problem list must contain exactly that path and message.
  const cases: Array<[string, (p: Mutable) => void, string, RegExp]> = [
    ['deadline zero', (p) => (p.phases[2].steps[0].deadlineHours = 0), 'phases[2].steps[0].deadlineHours', /must be > 0/],
    ['deadline missing on a person step', (p) => delete p.phases[0].steps[1].deadlineHours, 'phases[0].steps[1].deadlineHours', /required for a step that waits on a person/],
    ['owner missing on a person step', (p) => delete p.phases[0].steps[1].owner, 'phases[0].steps[1].owner', /required for a step that waits on a person/],
    ['unknown owner role', (p) => (p.phases[0].steps[0].owner = 'nurse'), 'phases[0].steps[0].owner', /must be one of "coordinator", "prescriber", "therapist", "client", "admin", got "nurse"/],
    ['unknown key (typo)', (p) => (p.phases[0].steps[0].deadlineHour = 3), 'phases[0].steps[0]', /unknown key\(s\) "deadlineHour"/],
    ['missing id', (p) => delete p.id, 'id', /is required/],
    ['id not kebab-case', (p) => (p.id = 'KAP Office'), 'id', /kebab-case/],
    ['version not an integer', (p) => (p.version = 1.5), 'version', /whole number/],
    ['version a string', (p) => (p.version = '1'), 'version', /must be a number, got "1"/],
    ['duplicate step id', (p) => (p.phases[1].steps[0].id = 'consent'), 'phases[1].steps[0].id', /duplicate step id "consent" \(first at phases\[0\]\.steps\[2\]\)/],
    ['duplicate phase id', (p) => (p.phases[4].id = 'intake'), 'phases[4].id', /duplicate phase id "intake"/],
    ['once-step id colliding with a planned id', (p) => (p.phases[3].steps[0].id = 'dose-2'), 'phases[3].steps[0].id', /collides/],
    ['empty steps', (p) => (p.phases[3].steps = []), 'phases[3].steps', /at least 1/],
    ['schedule shorter than dosing sessions', (p) => p.course.doseScheduleDays.pop(), 'course.doseScheduleDays', /has 5 day\(s\) but course.dosingSessions is 6/],
    ['schedule not from day 0', (p) => (p.course.doseScheduleDays[0] = 1), 'course.doseScheduleDays[0]', /must be 0/],
    ['schedule not increasing', (p) => (p.course.doseScheduleDays[2] = 14), 'course.doseScheduleDays[2]', /must be after the previous dose \(day 14\)/],
    ['doses too close', (p) => (p.course.doseScheduleDays[1] = 3), 'course.doseScheduleDays[1]', /below course.minDaysBetweenDoses \(7\)/],
    ['doses too far apart', (p) => (p.course.doseScheduleDays = [0, 30, 44, 58, 72, 86]), 'course.doseScheduleDays[1]', /above course.maxDaysBetweenDoses \(21\)/],
    ['min spacing above max', (p) => (p.course.minDaysBetweenDoses = 30), 'course.minDaysBetweenDoses', /must be <= course.maxDaysBetweenDoses/],
    ['zero dosing sessions', (p) => (p.course.dosingSessions = 0), 'course.dosingSessions', /must be >= 1/],
    ['prep sessions but no prep phase', (p) => p.phases.splice(1, 1), 'course.preparationSessions', /no phase has repeat "per-preparation-session"/],
    ['prep phase but zero sessions', (p) => (p.course.preparationSessions = 0), 'phases[1].repeat', /course.preparationSessions is 0/],
    ['no dosing phase', (p) => (p.phases[2].repeat = 'once'), 'phases', /needs one phase with repeat "per-dosing-session"/],
    ['dose not first in its phase', (p) => p.phases[2].steps.reverse(), 'phases[2].steps[0].kind', /dose must be the first step/],
    ['integration outside the dosing phase', (p) => (p.phases[3].steps[0].kind = 'integration'), 'phases[3].steps[0].kind', /belongs in the phase that repeats per dosing session/],
    ['consent after dosing', (p) => (p.phases[3].steps[1].kind = 'consent'), 'phases[3].steps[1].kind', /must come before the dosing phase/],
    ['integration deadline beyond the window', (p) => (p.phases[2].steps[1].deadlineHours = 72), 'phases[2].steps[1].deadlineHours', /must be <= course.integrationWindowHours \(48\)/],
    ['integration without a window', (p) => delete p.course.integrationWindowHours, 'course.integrationWindowHours', /required because phases\[2\]\.steps\[1\] is an integration step/],
    ['BP checks without a pre-dose reading', (p) => (p.safety.bloodPressure.checkMinutes = [30, 'discharge']), 'safety.bloodPressure.checkMinutes', /must include 0/],
    ['BP check not a number', (p) => (p.safety.bloodPressure.checkMinutes = [0, 'soon']), 'safety.bloodPressure.checkMinutes[1]', /must be a number or "discharge", got "soon"/],
    ['BP checks out of order', (p) => (p.safety.bloodPressure.checkMinutes = [0, 30, 20]), 'safety.bloodPressure.checkMinutes[2]', /must be after the previous check/],
    ['discharge check not last', (p) => (p.safety.bloodPressure.checkMinutes = [0, 'discharge', 30]), 'safety.bloodPressure.checkMinutes[1]', /must be the last check/],
    ['BP check after monitoring ends', (p) => (p.safety.bloodPressure.checkMinutes = [0, 150]), 'safety.bloodPressure.checkMinutes[1]', /after safety.minMonitoringMinutes/],
    ['negative BP limit', (p) => (p.safety.bloodPressure.maxSystolic = -1), 'safety.bloodPressure.maxSystolic', /must be > 0/],
    ['negative fasting', (p) => (p.safety.fasting.foodHours = -2), 'safety.fasting.foodHours', /must be >= 0/],
    ['duplicate checklist item', (p) => (p.safety.dischargeChecklist[1].id = 'alert-oriented'), 'safety.dischargeChecklist[1].id', /duplicate checklist item/],
    ['empty checklist', (p) => (p.safety.dischargeChecklist = []), 'safety.dischargeChecklist', /at least 1/],
    ['unknown instrument', (p) => (p.assessments.baseline = ['phq10']), 'assessments.baseline[0]', /got "phq10"/],
    ['follow-ups out of order', (p) => (p.assessments.followUps[2].afterCourseDays = 60), 'assessments.followUps[2].afterCourseDays', /must be after the previous follow-up \(day 90\)/],
    ['expiry before the last reminder', (p) => (p.assessments.expiryHours = 72), 'assessments.expiryHours', /must be later than the last reminder \(3 x 24 h = 72 h\)/],
    ['follow-ups but no follow-up phase', (p) => p.phases.splice(4, 1), 'assessments.followUps', /no phase has repeat "per-follow-up"/],
    ['baseline scheduled but collected nowhere', (p) => delete p.phases[0].steps[0].assessmentPoint, 'assessments.baseline', /no step has assessmentPoint "baseline"/],
    ['before-dose point outside the dosing phase', (p) => (p.phases[3].steps[0].assessmentPoint = 'before-dose'), 'phases[3].steps[0].assessmentPoint', /belongs on a step in a phase with repeat "per-dosing-session"/],
    ['escalation levels out of order', (p) => (p.escalation.levels[2].afterBreachHours = 12), 'escalation.levels[2].afterBreachHours', /must be after the previous level \(24 h\)/],
    ['no safety alert roles', (p) => (p.escalation.safetyAlertRoles = []), 'escalation.safetyAlertRoles', /at least 1/],
    ['booster interval inverted', (p) => (p.maintenance.minDaysBetweenBoosters = 90), 'maintenance.minDaysBetweenBoosters', /must be <= maintenance.maxDaysBetweenBoosters \(60\)/],
    ['REMS form step without REMS', (p) => p.phases[2].steps.push({ id: 'rems-form', name: 'Form', kind: 'rems-monitoring-form', owner: 'coordinator', deadlineHours: 100 }), 'phases[2].steps[2].kind', /needs a "rems" section/],
    ['esketamine without REMS', (p) => (p.modality = 'intranasal-esketamine'), 'rems', /required for intranasal esketamine/],
  ];

  test.each(cases)('%s', (_name, mutate, path, message) => {
    const p = clone(kapOfficeV1) as Mutable;
    mutate(p);
    const problems = problemsOf(p);
    expect(problems).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  const remsCases: Array<[string, (p: Mutable) => void, string, RegExp]> = [
    ['monitoring under 2 h', (p) => (p.safety.minMonitoringMinutes = 90), 'safety.minMonitoringMinutes', /must be >= 120 under the Spravato REMS/],
    ['no 40-minute BP check', (p) => (p.safety.bloodPressure.checkMinutes = [0, 60, 'discharge']), 'safety.bloodPressure.checkMinutes', /must include 40/],
    ['no discharge BP check', (p) => (p.safety.bloodPressure.checkMinutes = [0, 40]), 'safety.bloodPressure.checkMinutes', /must include "discharge"/],
    ['form deadline beyond 7 days', (p) => (p.rems.monitoringFormDeadlineHours = 200), 'rems.monitoringFormDeadlineHours', /must be <= 168/],
    ['form step deadline beyond the REMS deadline', (p) => (p.phases[2].steps[2].deadlineHours = 170), 'phases[2].steps[2].deadlineHours', /must be <= rems.monitoringFormDeadlineHours \(168\)/],
    ['no form step', (p) => p.phases[2].steps.pop(), 'phases[2].steps', /needs a "rems-monitoring-form" step/],
    ['no enrollment step', (p) => p.phases[0].steps.splice(2, 1), 'phases', /needs a "rems-enrollment" step/],
  ];
  test.each(remsCases)('spravato: %s', (_name, mutate, path, message) => {
    const p = clone(spravatoRemsV1) as Mutable;
    mutate(p);
    expect(problemsOf(p)).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  test('lists every problem at once, shape and cross-field together', () => {
    const p = clone(kapOfficeV1) as Mutable;
    p.version = '2';
    p.phases[2].steps[0].deadlineHours = 0;
    p.phases[1].steps[0].id = 'screening';
    delete p.phases[0].steps[1].owner;
    p.course.doseScheduleDays = [0, 14];
    p.assessments.expiryHours = 10;
    p.extra = true;
    const paths = problemsOf(p).map((x) => x.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'version',
        'phases[2].steps[0].deadlineHours',
        'phases[1].steps[0].id',
        'phases[0].steps[1].owner',
        'course.doseScheduleDays',
        'assessments.expiryHours',
        '(root)',
      ]),
    );
  });

  test('non-objects are rejected without throwing', () => {
    for (const v of [null, 42, 'kap', [], undefined]) expect(problemsOf(v).length).toBeGreaterThan(0);
  });
});

// The clinical floor a clinic's own protocol cannot author away (issue #21): each rule refuses with
// its id, the path, a plain-language message and its source; the shipped protocols pass all of them.
import { assertProtocol, ivSeriesV1, kapOfficeV1, parseProtocol, SHIPPED_PROTOCOLS, spravatoRemsV1, type ProtocolInput } from '../../../src/domain';
import { checkGuardRails } from '../../../src/domain/protocol-guard-rails';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Mutable = any;
const edit = (p: ProtocolInput, f: (m: Mutable) => void): Mutable => {
  const copy = JSON.parse(JSON.stringify(p)) as Mutable;
  f(copy);
  return copy;
};
const rulesAt = (input: unknown) => checkGuardRails(input).map((v) => `${v.rule} @ ${v.path}`);

test.each(SHIPPED_PROTOCOLS.map((p) => [`${p.id}@${p.version}`, p] as const))('shipped %s keeps every guard rail', (_n, p) => {
  expect(checkGuardRails(assertProtocol(p))).toEqual([]);
  expect(checkGuardRails(p)).toEqual([]);
});

describe('the pre-dose check', () => {
  test('a dosing step run by the system (no clinician records the check) is refused', () => {
    const p = edit(kapOfficeV1, (m) => (m.phases[2].steps[0].waitsOn = 'system'));
    expect(parseProtocol(p).ok).toBe(true); // the schema alone would accept it
    const [v, ...rest] = checkGuardRails(p);
    expect(rest).toEqual([]);
    expect(v).toEqual({ rule: 'pre-dose-check', path: 'phases[2].steps[0].waitsOn', message: expect.stringContaining('pre-dose check'), source: expect.stringContaining('Spravato label') });
  });
  test('no reading before the dose, a raised hold threshold, or no escort are each refused', () => {
    expect(rulesAt(edit(kapOfficeV1, (m) => (m.safety.bloodPressure.checkMinutes = [30, 'discharge'])))).toEqual(['pre-dose-check @ safety.bloodPressure.checkMinutes']);
    expect(rulesAt(edit(kapOfficeV1, (m) => Object.assign(m.safety.bloodPressure, { maxSystolic: 160, maxDiastolic: 100 })))).toEqual([
      'pre-dose-check @ safety.bloodPressure.maxSystolic',
      'pre-dose-check @ safety.bloodPressure.maxDiastolic',
    ]);
    expect(rulesAt(edit(kapOfficeV1, (m) => (m.safety.escortRequired = false)))).toEqual(['pre-dose-check @ safety.escortRequired']);
  });
  test('a stricter threshold is allowed', () => {
    expect(checkGuardRails(edit(kapOfficeV1, (m) => Object.assign(m.safety.bloodPressure, { maxSystolic: 130, maxDiastolic: 85 })))).toEqual([]);
  });
  test('a dosing phase without its dosing step is refused', () => {
    expect(rulesAt(edit(kapOfficeV1, (m) => (m.phases[2].steps = m.phases[2].steps.slice(1))))).toContain('pre-dose-check @ phases[2].steps');
  });
});

describe('the suicide-risk screen', () => {
  test('dropping the C-SSRS before each dose, or from the baseline, is refused with its source', () => {
    const before = checkGuardRails(edit(kapOfficeV1, (m) => (m.assessments.beforeEachDose = ['phq9'])));
    expect(before).toEqual([{ rule: 'suicide-risk-screen', path: 'assessments.beforeEachDose', message: expect.stringContaining('C-SSRS'), source: expect.stringContaining('Columbia') }]);
    expect(rulesAt(edit(kapOfficeV1, (m) => (m.assessments.baseline = ['gad7', 'pcl5'])))).toEqual(['suicide-risk-screen @ assessments.baseline', 'suicide-risk-screen @ assessments.baseline']);
  });
  test('a dosing step that no longer collects the before-dose assessments is refused', () => {
    expect(rulesAt(edit(kapOfficeV1, (m) => delete m.phases[2].steps[0].assessmentPoint))).toEqual(['suicide-risk-screen @ phases[2].steps[0].assessmentPoint']);
  });
  test('safety alerts that reach no clinician are refused', () => {
    expect(rulesAt(edit(kapOfficeV1, (m) => (m.escalation.safetyAlertRoles = ['coordinator'])))).toEqual(['suicide-risk-screen @ escalation.safetyAlertRoles']);
  });
});

describe('post-dose monitoring', () => {
  test('Spravato below the 120-minute label minimum is refused; at 120 it passes', () => {
    const short = checkGuardRails(edit(spravatoRemsV1, (m) => (m.safety.minMonitoringMinutes = 90)));
    expect(short).toEqual([{ rule: 'post-dose-monitoring', path: 'safety.minMonitoringMinutes', message: '90 min is below the Spravato label minimum of 120 min on site after each session', source: expect.stringContaining('REMS') }]);
    expect(checkGuardRails(edit(spravatoRemsV1, (m) => (m.safety.minMonitoringMinutes = 150)))).toEqual([]);
  });
  test('IV: less than 30 minutes of recovery after the infusion is refused', () => {
    expect(rulesAt(edit(ivSeriesV1, (m) => (m.safety.minMonitoringMinutes = 60)))).toEqual(['post-dose-monitoring @ safety.minMonitoringMinutes']);
  });
  test('office KAP has no label minimum: a shorter stay is the clinic\'s choice', () => {
    expect(checkGuardRails(edit(kapOfficeV1, (m) => (m.safety.minMonitoringMinutes = 90)))).toEqual([]);
  });
});

describe('the REMS form for esketamine', () => {
  test('removing the monitoring form step, the REMS section, or enrollment is refused', () => {
    expect(rulesAt(edit(spravatoRemsV1, (m) => (m.phases[2].steps = m.phases[2].steps.filter((s: Mutable) => s.kind !== 'rems-monitoring-form'))))).toEqual(['rems-form @ phases[2].steps']);
    expect(rulesAt(edit(spravatoRemsV1, (m) => delete m.rems))).toEqual(['rems-form @ rems']);
    expect(rulesAt(edit(spravatoRemsV1, (m) => (m.rems.patientEnrollmentRequired = false)))).toEqual(['rems-enrollment @ rems.patientEnrollmentRequired']);
    expect(rulesAt(edit(spravatoRemsV1, (m) => (m.rems.monitoringFormDeadlineHours = 240)))).toEqual(['rems-form @ rems.monitoringFormDeadlineHours']);
  });
  test('another modality needs no REMS', () => {
    expect(checkGuardRails(edit(kapOfficeV1, (m) => delete m.rems))).toEqual([]);
  });
});

test('a draft whose shape is wrong still gets its guard rails checked', () => {
  expect(rulesAt({ modality: 'intranasal-esketamine', safety: { minMonitoringMinutes: 60 }, phases: 'nope' })).toEqual([
    'pre-dose-check @ phases',
    'post-dose-monitoring @ safety.minMonitoringMinutes',
    'rems-form @ rems',
    'rems-form @ phases',
    'rems-enrollment @ phases',
  ]);
  expect(checkGuardRails(null)).toEqual([]);
});

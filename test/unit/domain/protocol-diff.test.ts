// The clinical diff between two protocol versions (issue #21): each change one plain sentence.
import { assertProtocol, kapOfficeV1, spravatoRemsV1, type Protocol, type ProtocolInput } from '../../../src/domain';
import { diffProtocols } from '../../../src/domain/protocol-diff';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Mutable = any;
const base = assertProtocol(kapOfficeV1);
const edit = (p: ProtocolInput | Protocol, f: (m: Mutable) => void): Protocol => {
  const copy = JSON.parse(JSON.stringify(p)) as Mutable;
  f(copy);
  return assertProtocol(copy);
};
const texts = (a: Protocol, b: Protocol) => diffProtocols(a, b).map((c) => c.text);

test('identical versions: no changes', () => {
  expect(diffProtocols(base, assertProtocol(kapOfficeV1))).toEqual([]);
});

test('an integration window shortened from 72 h to 48 h, with the step deadline', () => {
  const a = edit(base, (m) => {
    m.course.integrationWindowHours = 72;
    m.phases[2].steps[1].deadlineHours = 72;
  });
  const changes = diffProtocols(a, base);
  expect(changes).toEqual([
    { area: 'course', change: 'changed', path: 'course.integrationWindowHours', text: 'Integration window after each dose shortened from 72 h to 48 h' },
    { area: 'step', change: 'changed', path: 'phases[2].steps[1].deadlineHours', text: '"Integration session": deadline shortened from 72 h to 48 h' },
  ]);
  expect(texts(base, a)).toEqual(['Integration window after each dose lengthened from 48 h to 72 h', '"Integration session": deadline lengthened from 48 h to 72 h']);
});

test('a step added and one removed, an owner changed', () => {
  const b = edit(base, (m) => {
    m.phases[0].steps.push({ id: 'intake-call', name: 'Intake call', kind: 'task', owner: 'coordinator', deadlineHours: 48 });
    m.phases[3].steps = m.phases[3].steps.filter((s: Mutable) => s.id !== 'maintenance-decision');
    m.phases[1].steps[0].owner = 'coordinator';
  });
  expect(diffProtocols(base, b)).toEqual([
    { area: 'step', change: 'added', path: 'phases[0].steps[3]', text: 'Step added: "Intake call" (task) in Screening, clearance and consent: owner coordinator, due within 48 h' },
    { area: 'step', change: 'changed', path: 'phases[1].steps[0].owner', text: '"Preparation session": owner changed from therapist to coordinator' },
    { area: 'step', change: 'removed', path: 'phases[3].steps[1]', text: 'Step removed: "Response review and maintenance decision" (maintenance-decision) in End of course: owner prescriber, due within 168 h' },
  ]);
});

test('counts, a threshold moved and the schedule changed', () => {
  const b = edit(base, (m) => {
    m.course.preparationSessions = 4;
    m.course.doseScheduleDays = [0, 7, 21, 35, 49, 63];
    m.safety.bloodPressure.maxSystolic = 130;
    m.assessments.followUps[1].afterCourseDays = 60;
    m.assessments.beforeEachDose = ['phq9', 'cssrs', 'gad7'];
  });
  expect(texts(base, b)).toEqual([
    'Preparation sessions raised from 3 to 4',
    'Dose schedule (days from the first dose) changed from 0, 14, 28, 42, 56, 70 to 0, 7, 21, 35, 49, 63',
    'Pre-dose hold threshold (systolic) lowered from 140 mmHg to 130 mmHg',
    'Assessments before each dose: added gad7',
    'Follow-up schedule changed from day 30 (phq9, gad7, pcl5); day 90 (phq9, gad7, pcl5); day 180 (phq9, gad7, pcl5) to day 30 (phq9, gad7, pcl5); day 60 (phq9, gad7, pcl5); day 180 (phq9, gad7, pcl5) (days after the last dose)',
  ]);
});

test('phases, escalation, the discharge checklist and REMS', () => {
  const b = edit(base, (m) => {
    m.phases[1].name = 'Getting ready';
    m.escalation.levels = [{ afterBreachHours: 0, notify: 'owner' }, { afterBreachHours: 12, notify: 'coordinator' }];
    m.safety.dischargeChecklist.push({ id: 'ride-home', label: 'Ride home confirmed' });
  });
  expect(texts(base, b)).toEqual([
    'Phase "Preparation" renamed to "Getting ready"',
    'Discharge checklist item added: Ride home confirmed',
    'Escalation after a missed deadline changed from owner at +0 h, then coordinator at +24 h, then admin at +72 h to owner at +0 h, then coordinator at +12 h',
  ]);
  const s = assertProtocol(spravatoRemsV1);
  const s2 = edit(s, (m) => (m.rems.monitoringFormDeadlineHours = 120));
  expect(texts(s, s2)).toEqual(['REMS monitoring form due within shortened from 168 h to 120 h']);
});

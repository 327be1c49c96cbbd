// Moving a running course to another version of its protocol (handlers/versions.ts, issue #21 item 4):
// at a safe point the course follows the new version from where it stands (steps added pending, removed
// ones cancelled, open deadlines re-timed), with one course.moved entry and the course row's new
// version; inside a dosing session or with an open hold it is refused with the reason, nothing changed.
import { COORDINATOR, Course, GOOD_CHECK, H, eventTypes, protocol, rows, stepStates, type Protocol } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const version = (n: number, f: (m: any) => void): Protocol => {
  const copy = JSON.parse(JSON.stringify(protocol('kap-office')));
  copy.version = n;
  f(copy);
  return copy as Protocol;
};
/** Integration window 48 -> 24 h and two preparation sessions instead of three. */
const v2 = version(2, (m) => {
  m.course.integrationWindowHours = 24;
  m.phases[2].steps[1].deadlineHours = 24;
  m.course.preparationSessions = 2;
});
const move = (c: Course, p: Protocol, reason = 'the clinic published v2') => c.act('move-version', { version: p.version, reason, protocol: p } as never, COORDINATOR);

test('after a dose: the open integration session gets the new window, later ones open with it, and the course row follows v2', () => {
  const c = new Course().readyToDose();
  c.doseDay('dose-1', 72);
  expect(c.status('integration-1')).toBe('open');
  const before = c.m.state.steps['integration-1']!;
  const oldDeadline = before.deadlineAt!;
  const seq = before.deadlineSeq;
  c.out();

  expect(move(c, v2).outcome).toBe('moved');
  const out = c.out();
  const s = c.m.state.steps['integration-1']!;
  expect(s.deadlineAt).toBe(oldDeadline - 24 * H);
  expect(s.deadlineSeq).toBe(seq + 1);
  expect(c.m.protocol.version).toBe(2);
  expect(out.projection!.protocol).toEqual({ id: 'kap-office', version: 2, snapshot: v2 });
  const moved = rows(out, 'event').find((e) => e.type === 'course.moved')!;
  expect(moved).toMatchObject({ actorType: 'staff', actorId: COORDINATOR.staffId, detail: { from: 'kap-office@1', to: 'kap-office@2', added: [], removed: [], reason: 'the clinic published v2' } });
  expect((moved.detail.retimed as Array<{ stepKey: string }>).map((r) => r.stepKey)).toEqual(['integration-1', 'integration-2', 'integration-3', 'integration-4', 'integration-5', 'integration-6']);
  expect(out.projection!.steps.find((x) => x.stepKey === 'integration-1')!.deadlineAt).toBe(new Date(oldDeadline - 24 * H).toISOString());
  // prep-3 is done: it stays in the record.
  expect(c.m.state.steps['prep-3']!.status).toBe('done');

  // The next integration session opens with the new 24-hour window after its dose.
  c.session('integration-1', 12);
  c.doseDay('dose-2', 14 * 24);
  const i2 = c.m.state.steps['integration-2']!;
  expect(i2.deadlineAt).toBe(c.m.state.steps['dose-2']!.completedAt! + 24 * H);
  // And the same version again is refused.
  expect(c.reject('move-version', { version: 2, reason: 'again', protocol: v2 }, COORDINATOR)).toMatchObject({ type: 'InvalidTransition', message: 'not moved to kap-office@2: the course already follows kap-office@2' });
});

test('early in the course: a preparation session the new version drops is cancelled; one it adds becomes pending and opens in turn', () => {
  const c = new Course().intake();
  c.act('session-complete', { stepKey: 'prep-1' });
  c.out();
  move(c, v2);
  const out = c.out();
  expect(c.m.state.steps['prep-3']!).toMatchObject({ status: 'cancelled', outcome: 'moved to kap-office@2' });
  expect(stepStates(out)['prep-3']).toBe('cancelled');
  c.act('session-complete', { stepKey: 'prep-2' });
  expect(c.status('dose-1')).toBe('open');

  const v3 = version(3, (m) => (m.course.preparationSessions = 3));
  c.out();
  move(c, v3, 'back to three sessions');
  const back = c.out();
  expect(rows(back, 'event').find((e) => e.type === 'course.moved')!.detail).toMatchObject({ from: 'kap-office@2', to: 'kap-office@3', added: ['prep-3'] });
  // prep-3 is new again: it opens at once (everything before it is done), and dose-1 stays open.
  expect(c.status('prep-3')).toBe('open');
});

test('never inside a dosing session: checked in, and dosed but not discharged, are refused with the reason and nothing changes', () => {
  const c = new Course().readyToDose();
  c.scheduledDose('dose-1', 2);
  expect(c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK }).outcome).toBe('proceed');
  const checkedIn = c.reject('move-version', { version: 2, reason: 'now', protocol: v2 }, COORDINATOR);
  expect(checkedIn.type).toBe('ClinicallyRefused');
  expect(checkedIn.message).toBe('not moved to kap-office@2: dose-1 is in progress (checked in): a course never moves inside a dosing session; move it after discharge');
  expect(checkedIn.reasons).toEqual([{ code: 'inside-dosing-session', message: expect.any(String), blocking: true }]);
  c.act('dose', { stepKey: 'dose-1', route: 'sublingual', doseMg: 200, lotNumber: 'L1' });
  expect(c.reject('move-version', { version: 2, reason: 'now', protocol: v2 }, COORDINATOR).message).toMatch(/dose-1 is in progress \(dosed, not yet discharged\)/);
  expect(c.m.protocol.version).toBe(1);
});

test('an open safety hold is not a safe point', () => {
  const c = new Course().readyToDose();
  c.scheduledDose('dose-1', 2);
  expect(c.act('pre-dose-check', { stepKey: 'dose-1', ...GOOD_CHECK, bloodPressure: { systolic: 170, diastolic: 100 } }).outcome).toBe('hold');
  const r = c.reject('move-version', { version: 2, reason: 'now', protocol: v2 }, COORDINATOR);
  expect(r.type).toBe('ClinicallyRefused');
  expect(r.message).toMatch(/a safety hold is open \(pre-dose-hold\)/);
});

test('the target protocol must be there (the server sets it) and be the version named; another protocol is refused', () => {
  const c = new Course().intake();
  expect(c.reject('move-version', { version: 2, reason: 'x' }, COORDINATOR)).toMatchObject({ type: 'InvalidInput' });
  expect(c.reject('move-version', { version: 3, reason: 'x', protocol: v2 }, COORDINATOR).message).toMatch(/version: 3 is not the version of the protocol given/);
  expect(c.reject('move-version', { version: 2, reason: 'x', protocol: { id: 'x' } }, COORDINATOR).message).toMatch(/protocol\.version/);
  const other = version(2, (m) => (m.id = 'north-kap'));
  expect(c.reject('move-version', { version: 2, reason: 'x', protocol: other }, COORDINATOR).message).toMatch(/another protocol/);
  expect(eventTypes(c.out())).not.toContain('course.moved');
});

test('a step touched before the move in the same flush and removed by it: its row is the move\'s (cancelled), nothing breaks', () => {
  const c = new Course().intake();
  c.act('session-complete', { stepKey: 'prep-1' });
  c.out();
  // prep-2 opened and prep-3 is pending; a schedule touches prep-2, then (before the workflow flushes) the move.
  c.act('schedule', { stepKey: 'prep-2', startsInHours: 48 });
  const v1only = version(2, (m) => (m.course.preparationSessions = 1));
  move(c, v1only, 'one preparation session');
  const out = c.out();
  expect(stepStates(out)).toMatchObject({ 'prep-2': 'cancelled', 'prep-3': 'cancelled' });
  expect(out.projection!.steps.filter((s) => s.stepKey === 'prep-2')).toHaveLength(1);
  expect(rows(out, 'session').filter((r) => r.stepKey === 'prep-2').pop()).toMatchObject({ status: 'cancelled' });
  expect(c.status('dose-1')).toBe('open');
});

test('a paused course is not a safe point: refused by the same rule as the preview, in its words', () => {
  const c = new Course().intake();
  c.act('pause', { reason: 'client travelling' }, COORDINATOR);
  expect(c.reject('move-version', { version: 2, reason: 'x', protocol: v2 }, COORDINATOR)).toMatchObject({
    type: 'InvalidTransition',
    message: 'not moved to kap-office@2: the course is paused: resume it before moving it to another version',
  });
});

test('an open step the new version does not have is cancelled with its scheduled session and its unanswered questionnaire', () => {
  const c = new Course().readyToDose();
  c.act('schedule', { stepKey: 'dose-1', startsInHours: 48 });
  const assessment = c.m.state.steps['dose-1']!.assessmentId!;
  expect(c.m.state.assessments[assessment]!.status).toBe('pending');
  c.out();
  // Version 2 names its dosing step `ketamine`: dose-1..6 are not in it, ketamine-1..6 are.
  const renamed = version(2, (m) => {
    const dose = m.phases[2].steps.find((s: { kind: string }) => s.kind === 'dosing');
    dose.id = 'ketamine';
  });
  move(c, renamed, 'renamed dosing sessions');
  const out = c.out();
  expect(c.m.state.steps['dose-1']).toMatchObject({ status: 'cancelled', session: expect.objectContaining({ status: 'cancelled', reminders: [] }) });
  expect(c.m.state.assessments[assessment]!.status).toBe('cancelled');
  expect(out.cancelAssessments).toEqual([assessment]);
  expect(rows(out, 'event').find((e) => e.type === 'course.moved')!.detail).toMatchObject({ removed: ['dose-1', 'dose-2', 'dose-3', 'dose-4', 'dose-5', 'dose-6'], added: ['ketamine-1', 'ketamine-2', 'ketamine-3', 'ketamine-4', 'ketamine-5', 'ketamine-6'] });
  // The new first dosing session opens at once (everything before it is done), with its own questionnaire.
  expect(c.status('ketamine-1')).toBe('open');
  expect(out.startAssessments.map((a) => a.stepKey)).toEqual(['ketamine-1']);
});

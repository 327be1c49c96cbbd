// Moving a running course to another version (issue #21 item 4): the preview from the course's
// position, and the one safe-point rule (never inside a dosing session, never with an open hold).
import { assertProtocol, kapOfficeV1, type Protocol } from '../../../src/domain';
import { previewMove, safePointRefusals, type CoursePosition } from '../../../src/domain/protocol-move';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Mutable = any;
const v1 = assertProtocol(kapOfficeV1);
const edit = (f: (m: Mutable) => void, version = 2): Protocol => {
  const copy = JSON.parse(JSON.stringify(v1)) as Mutable;
  copy.version = version;
  f(copy);
  return assertProtocol(copy);
};
/** Office KAP v2: integration window 48 -> 24 h, two preparation sessions instead of three. */
const v2 = edit((m) => {
  m.course.integrationWindowHours = 24;
  m.phases[2].steps[1].deadlineHours = 24;
  m.course.preparationSessions = 2;
});
const done = { status: 'done' as const };
/** After dose 1 and its integration session opened: screening .. prep-3 and dose-1 done. */
const afterDose1: CoursePosition = {
  status: 'active',
  steps: { screening: done, clearance: done, consent: done, 'prep-1': done, 'prep-2': done, 'prep-3': done, 'dose-1': { status: 'done', session: 'completed' }, 'integration-1': { status: 'open', session: 'unscheduled' } },
  openHolds: [],
};

test('after a dose: the open integration session and the later ones are re-timed, the done steps kept, nothing refused', () => {
  const p = previewMove(v1, v2, afterDose1);
  expect(p.allowed).toBe(true);
  expect(p.refusals).toEqual([]);
  expect(p.from).toBe('kap-office@1');
  expect(p.to).toBe('kap-office@2');
  const retimed = p.retimed.filter((r) => r.what === 'deadline');
  expect(retimed.map((r) => r.stepKey)).toEqual(['integration-1', 'integration-2', 'integration-3', 'integration-4', 'integration-5', 'integration-6']);
  expect(retimed[0]).toMatchObject({ status: 'open', unit: 'h', from: 48, to: 24 });
  expect(retimed[0]!.text).toBe('Integration session 1 (integration-1): deadline shortened from 48 h to 24 h (it is open: its deadline moves by the difference)');
  expect(retimed[1]).toMatchObject({ status: 'pending', from: 48, to: 24 });
  // prep-3 is not in v2, but it is done: it stays in the record; nothing pending or open is removed.
  expect(p.keptDone.map((s) => s.stepKey)).toEqual(['prep-3']);
  expect(p.removed).toEqual([]);
  expect(p.unchangedDone.map((s) => s.stepKey)).toEqual(['screening', 'clearance', 'consent', 'prep-1', 'prep-2', 'dose-1']);
  expect(p.added).toEqual([]);
});

test('early in the course: a preparation session the new version drops is cancelled, one it adds is pending', () => {
  const early: CoursePosition = { status: 'active', steps: { screening: done, clearance: { status: 'open' } }, openHolds: [] };
  const fewer = previewMove(v1, v2, early);
  expect(fewer.allowed).toBe(true);
  expect(fewer.removed).toEqual([{ stepKey: 'prep-3', name: 'Preparation session 3', kind: 'preparation', status: 'pending', text: 'Preparation session 3 (prep-3) is not in kap-office@2: it is cancelled' }]);

  const more = edit((m) => (m.course.preparationSessions = 4), 3);
  const p = previewMove(v1, more, early);
  expect(p.added).toEqual([{ stepKey: 'prep-4', name: 'Preparation session 4', kind: 'preparation', beforeCurrent: false, text: 'Preparation session 4 (prep-4) is added' }]);
  // Once dosing began, a preparation session added before it is the next thing to do.
  const late = previewMove(v1, more, afterDose1);
  expect(late.added[0]).toMatchObject({ stepKey: 'prep-4', beforeCurrent: true });
  expect(late.added[0]!.text).toMatch(/already passed where it sits/);
});

test('a schedule change of a step not yet open: when it opens, in days', () => {
  const later = edit((m) => (m.course.doseScheduleDays = [0, 21, 42, 63, 84, 105]), 2);
  const p = previewMove(v1, later, afterDose1);
  expect(p.retimed.filter((r) => r.what === 'opens').map((r) => [r.stepKey, r.from, r.to])).toEqual([
    ['dose-2', 14, 21],
    ['dose-3', 28, 42],
    ['dose-4', 42, 63],
    ['dose-5', 56, 84],
    ['dose-6', 70, 105],
  ]);
});

test('refused: another protocol, the same version, a draft target', () => {
  const other = edit((m) => (m.id = 'north-kap'));
  expect(previewMove(v1, other, afterDose1).refusals.map((r) => r.code)).toEqual(['other-protocol']);
  expect(previewMove(v1, v1, afterDose1).refusals.map((r) => r.code)).toEqual(['same-version']);
  const draft = previewMove(v1, v2, afterDose1, { published: false });
  expect(draft.allowed).toBe(false);
  expect(draft.refusals[0]!.message).toBe('kap-office@2 is not published: a course moves only to a published version');
});

test.each([
  ['checked-in', 'checked in'],
  ['held', 'held at the pre-dose check'],
  ['dosed', 'dosed, not yet discharged'],
])('never inside a dosing session: %s', (session, words) => {
  const pos: CoursePosition = { ...afterDose1, steps: { ...afterDose1.steps, 'dose-1': { status: 'open', session } } };
  const r = safePointRefusals(pos);
  expect(r).toEqual([{ code: 'inside-dosing-session', clinical: true, message: `dose-1 is in progress (${words}): a course never moves inside a dosing session; move it after discharge` }]);
  expect(previewMove(v1, v2, pos).allowed).toBe(false);
});

test('a scheduled or completed session is a safe point; an open hold, a pause or an end is not', () => {
  expect(safePointRefusals({ ...afterDose1, steps: { ...afterDose1.steps, 'integration-1': { status: 'open', session: 'scheduled' } } })).toEqual([]);
  const hold = safePointRefusals({ ...afterDose1, openHolds: [{ kind: 'critical-answer' }] });
  expect(hold).toEqual([{ code: 'safety-hold-open', clinical: true, message: 'a safety hold is open (critical-answer): a course never moves with an open safety hold; move it once the hold is reviewed and closed' }]);
  expect(safePointRefusals({ ...afterDose1, status: 'paused' })[0]!.message).toBe('the course is paused: resume it before moving it to another version');
  expect(safePointRefusals({ ...afterDose1, status: 'completed' })[0]).toMatchObject({ code: 'course-not-active', clinical: false });
});

test('a done step whose kind the new version changes is refused: the record would not match', () => {
  const swapped = edit((m) => (m.phases[0].steps[1].kind = 'task'));
  const p = previewMove(v1, swapped, afterDose1);
  expect(p.refusals.map((r) => r.code)).toEqual(['step-kind-changed']);
  expect(p.refusals[0]!.message).toMatch(/^clearance is a clearance step the course has done, and a task step in kap-office@2/);
  // Not yet reached: nothing to contradict.
  expect(previewMove(v1, swapped, { status: 'active', steps: {}, openHolds: [] }).refusals).toEqual([]);
});

test('a course in maintenance: both versions plan its boosters, so a booster is neither added nor removed, and its integration is re-timed', () => {
  const inMaintenance: CoursePosition = { ...afterDose1, maintenance: { boosters: 1 } };
  const p = previewMove(v1, v2, inMaintenance);
  expect(p.added).toEqual([]);
  expect(p.removed).toEqual([]);
  expect(p.retimed.find((r) => r.stepKey === 'booster-integration-1')).toMatchObject({ from: 48, to: 24, status: 'pending' });
  expect(previewMove(v1, v2, afterDose1).retimed.map((r) => r.stepKey)).not.toContain('booster-integration-1');
});

test('a removed open step says what goes with it: its scheduled session, its unanswered questionnaire', () => {
  const renamed = edit((m) => (m.phases[2].steps.find((s: { kind: string }) => s.kind === 'dosing').id = 'ketamine'));
  const pos: CoursePosition = { ...afterDose1, steps: { ...afterDose1.steps, 'dose-1': { status: 'open', session: 'scheduled' } } };
  const p = previewMove(v1, renamed, pos);
  expect(p.removed[0]).toEqual({ stepKey: 'dose-1', name: 'Dosing session 1', kind: 'dosing', status: 'open', text: 'Dosing session 1 (dose-1) is not in kap-office@2: it is cancelled, and its scheduled session and its questionnaire if still unanswered with it' });
  expect(p.removed[1]!.text).toBe('Dosing session 2 (dose-2) is not in kap-office@2: it is cancelled');
});

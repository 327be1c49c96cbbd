// Who acted, at the workflow's own seam (issue #15): an override is judged on the Update's actor
// (set by the server from the credential), never on fields a raw Update carries; a token without a
// staff member is recorded as that token; no actor means the engine itself.
import { getProtocol, type Protocol } from '../../src/domain';
import type { CourseRecord } from '../../src/activities/course-records';
import { HARD_STOPS, REVIEW_ITEMS } from '../../src/domain/rules/eligibility';
import { CourseMachine, Rejection } from '../../src/workflows/course-machine';

const NO_HARD_STOPS = Object.fromEntries(Object.keys(HARD_STOPS).map((k) => [k, false])) as Record<keyof typeof HARD_STOPS, boolean>;
const NO_REVIEW_ITEMS = Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, false])) as Record<keyof typeof REVIEW_ITEMS, boolean>;

const T0 = Date.parse('2026-01-05T09:00:00Z');
const make = (protocol: Protocol = getProtocol('kap-office', 1)!) => {
  const m = CourseMachine.create(protocol, { courseId: 'c1', clientId: 'k1', clinicId: 'x1', timeScale: 1 }, T0);
  m.takeOutput();
  return m;
};
const events = (m: CourseMachine) => (m.takeOutput().projection?.records ?? []).filter((r): r is Extract<CourseRecord, { table: 'event' }> => r.table === 'event');
const glaucoma = { hardStops: { ...NO_HARD_STOPS, 'uncontrolled-glaucoma': true }, reviewItems: NO_REVIEW_ITEMS };
const reason = 'Ophthalmology letter: pressure controlled since March';

test('a raw Update naming who overrides (byRole, byUserId) is refused by the action schema, naming each field; nothing is recorded', () => {
  const m = make();
  m.takeOutput();
  const forged = { hardStop: 'uncontrolled-glaucoma', reason, byRole: 'prescriber', byUserId: 'staff-prescriber' } as never;
  const input = { ...glaucoma, overrides: [forged], actor: { staffId: 'staff-coord', role: 'coordinator' as const } };
  expect(() => m.validate('screening', input, T0)).toThrow(Rejection);
  let err: Rejection | undefined;
  try {
    m.apply('screening', input, T0);
  } catch (e) {
    err = e as Rejection;
  }
  expect(err).toMatchObject({ type: 'InvalidInput', message: 'screening: overrides.0.byRole: not allowed: who acts is taken from your credentials; overrides.0.byUserId: not allowed: who acts is taken from your credentials' });
  expect(err!.reasons.map((r) => r.code)).toEqual(['overrides.0.byRole', 'overrides.0.byUserId']);
  expect(events(m)).toEqual([]);
});

test("an override is judged on its actor's role: refused for a coordinator (recorded as refused, the course ineligible)", () => {
  const m = make();
  const r = m.apply('screening', { ...glaucoma, overrides: [{ hardStop: 'uncontrolled-glaucoma', reason }], actor: { staffId: 'staff-coord', role: 'coordinator' } }, T0) as { outcome: string };
  expect(r.outcome).toBe('ineligible');
  const e = events(m);
  const refused = e.find((x) => x.type === 'hard-stop.override-refused')!;
  expect(refused).toMatchObject({ actorType: 'staff', actorId: 'staff-coord', detail: { hardStop: 'uncontrolled-glaucoma', byRole: 'coordinator', reason, accepted: false }, by: { role: 'coordinator' } });
  expect(e.some((x) => x.type === 'hard-stop.overridden')).toBe(false);
});

test("a prescriber's override clears the hard stop and names the prescriber", () => {
  const m = make();
  const r = m.apply('screening', { ...glaucoma, overrides: [{ hardStop: 'uncontrolled-glaucoma', reason }], actor: { staffId: 'staff-p', role: 'prescriber', label: 'Dr P' } }, T0) as { outcome: string; reasons: Array<{ code: string; message: string }> };
  expect(r.outcome).toBe('eligible');
  expect(r.reasons).toContainEqual(expect.objectContaining({ code: 'hard-stop-overridden:uncontrolled-glaucoma', message: expect.stringContaining('overridden by prescriber staff-p') }));
  expect(events(m).find((x) => x.type === 'hard-stop.overridden')).toMatchObject({ actorType: 'staff', actorId: 'staff-p', detail: { accepted: true, reason }, by: { role: 'prescriber', label: 'Dr P' } });
});

test('an override without an actor is refused before anything changes', () => {
  const m = make();
  const before = JSON.stringify(m.state);
  expect(() => m.validate('screening', { ...glaucoma, overrides: [{ hardStop: 'uncontrolled-glaucoma', reason }] }, T0)).toThrow(Rejection);
  expect(JSON.stringify(m.state)).toBe(before);
});

test("the protocol's hardStopOverrideRoles decide: a protocol naming only admins refuses a prescriber", () => {
  const base = getProtocol('kap-office', 1)!;
  const m = make({ ...base, safety: { ...base.safety, hardStopOverrideRoles: ['admin'] } });
  const r = m.apply('screening', { ...glaucoma, overrides: [{ hardStop: 'uncontrolled-glaucoma', reason }], actor: { staffId: 'staff-p', role: 'prescriber' } }, T0) as { outcome: string };
  expect(r.outcome).toBe('ineligible');
  expect(getProtocol('kap-office', 1)!.safety.hardStopOverrideRoles).toEqual(['prescriber']);
});

test('a token without a staff member is recorded as the token; no actor is the engine', () => {
  const m = make();
  m.apply('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS, actor: { role: 'coordinator', tokenId: 'tok-1', label: 'intake system' } }, T0);
  const screening = events(m).find((x) => x.type === 'screening.recorded')!;
  expect(screening).toMatchObject({ actorType: 'token', actorId: 'tok-1', by: { role: 'coordinator', tokenId: 'tok-1', label: 'intake system' } });
  m.apply('pause', { reason: 'travel' }, T0 + 1000);
  expect(events(m).find((x) => x.type === 'course.paused')).toMatchObject({ actorType: 'system', actorId: null });
});

// A Spravato clinic files the REMS Patient Monitoring Form through the real API (worker, Temporal dev
// server, database, HTTP app), issue #20: the form's dose and lot must be the session's; the step's
// owner (the coordinator) may file it and who filed it is recorded; on the stuck board an unfiled
// form's age counts from its 7-day REMS due date, not the step's (5-day) deadline.
import { clinicLocalTime } from '../../src/format-time';
import { HARD_STOPS, REVIEW_ITEMS } from '../../src/domain/rules/eligibility';
import { STAFF_ROLES } from '../../src/auth/roles';
import type { StaffRole } from '../../src/db/schema';
import { deadlineBreaches } from '../../src/api/stuck';
import { answerInvited, eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, personTokenFor, tokenFor, uid } from './api-helpers';

// Protocol days per real day: one protocol day lasts one second.
const TIME_SCALE = 86_400;
const NO_REVIEW_ITEMS = Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, false]));
const NO_HARD_STOPS = Object.fromEntries(Object.keys(HARD_STOPS).map((k) => [k, false]));
const BENIGN: Record<string, unknown[]> = { phq9: [1, 1, 1, 1, 1, 1, 1, 1, 0], gad7: [1, 1, 1, 1, 1, 1, 1], pcl5: Array(20).fill(1), cssrs: [false, false, null, null, null, false], 'qids-sr16': Array(16).fill(0) };
const CHECKLIST = { 'alert-oriented': true, 'minimal-nausea': true, 'walks-steadily': true, 'dissociation-resolved': true, 'written-instructions': true };
const ANSWERS = { concomitant: { benzodiazepines: false, sedativeHypnotics: false, psychostimulants: false, maois: false, opioids: false }, sedation: false, dissociation: true, respiratoryDepression: false, seriousAdverseEvent: false };
const HOUR = 3_600_000;

let stack: TestStack;
let call: ReturnType<typeof client>;
const t = {} as Record<StaffRole, string>;
const clinicId = `rems-session-${uid()}`;
let clearanceToken: string;
let coordinator: { token: string; staffId: string };
let courseId: string;

async function act(action: string, body: unknown) {
  const token = action === 'clearance' ? clearanceToken : t.admin;
  const res = await call('POST', `/api/courses/${courseId}/${action}`, { token, body });
  if (res.status !== 200) throw new Error(`${action}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}
async function stepState(stepKey: string) {
  return (await stack.db.selectFrom('course_steps').select('state').where('id', '=', `${courseId}/${stepKey}`).executeTakeFirst())?.state;
}
const form = () => stack.db.selectFrom('rems_monitoring_forms').selectAll().where('course_id', '=', courseId).where('session_step_key', '=', 'dose-1').executeTakeFirst();

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  for (const role of STAFF_ROLES) t[role] = await tokenFor(stack.db, role);
  expect((await call('POST', '/api/clinics', { token: t.admin, body: { id: clinicId, name: 'Spravato Clinic' } })).status).toBe(201);
  for (const role of STAFF_ROLES) {
    expect((await call('POST', '/api/staff', { token: t.admin, body: { email: `${role}-${uid()}@rems.example.org`, displayName: `Rems ${role}`, role, clinicIds: [clinicId] } })).status).toBe(201);
  }
  clearanceToken = (await personTokenFor(stack.db, 'admin')).token;
  coordinator = await personTokenFor(stack.db, 'coordinator', clinicId);

  // A client through intake to a first Spravato session: 56 mg, lot L1, monitored and discharged.
  const cl = await call('POST', '/api/clients', { token: t.coordinator, body: { clinicId, givenName: 'Esk', familyName: `Etamine-${uid()}`, email: 'esk@example.org', dateOfBirth: '1979-03-14' } });
  expect(cl.status).toBe(201);
  const en = await call('POST', `/api/clients/${cl.body.id}/courses`, { token: t.coordinator, body: { protocolId: 'spravato-rems', timeScale: TIME_SCALE } });
  expect(en.status).toBe(201);
  courseId = en.body.id;
  await answerInvited(stack, courseId, 'screening', BENIGN);
  await act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
  await act('clearance', { decision: 'approved' });
  await act('rems-enrollment', { enrolled: true, remsPatientId: 'R-20' });
  await act('consent', { documentVersion: 'v1', signedByClient: true, prescriberSigned: true });
  await act('schedule', { stepKey: 'prep-1', startsInHours: 0 });
  await act('session-complete', { stepKey: 'prep-1' });
  await eventually(async () => ['open', 'overdue'].includes((await stepState('dose-1')) ?? ''));
  await act('schedule', { stepKey: 'dose-1', startsInHours: 0 });
  await act('pre-dose-check', { stepKey: 'dose-1', bloodPressure: { systolic: 122, diastolic: 78 }, hoursSinceFood: 8, hoursSinceClearLiquids: 3, escortConfirmed: true, pregnancy: 'negative', cssrsRisk: 'none', phq9Item9: 0 });
  await act('dose', { stepKey: 'dose-1', route: 'intranasal', doseMg: 56, lotNumber: 'L1' });
  await new Promise((r) => setTimeout(r, 100)); // 40 protocol minutes are ~28 ms here
  await act('vitals', { stepKey: 'dose-1', atMinutes: 40, bloodPressure: { systolic: 130, diastolic: 82 }, spo2: 98 });
  await new Promise((r) => setTimeout(r, 200)); // 120 protocol minutes are ~83 ms here
  await act('discharge', { stepKey: 'dose-1', bloodPressure: { systolic: 124, diastolic: 80 }, spo2: 98, checklist: CHECKLIST, responsibleAdultPresent: true });
  await eventually(form);
}, 120_000);

afterAll(async () => {
  for (const c of await stack.db.selectFrom('courses').select('workflow_id').where('clinic_id', '=', clinicId).where('ended_at', 'is', null).execute()) {
    await stack.temporal.workflow.getHandle(c.workflow_id).terminate('test cleanup').catch(() => undefined);
  }
  await stack?.stop();
});

test('an unfiled form on the stuck board: its age counts from the 7-day REMS due date, not the 5-day step deadline', async () => {
  const row = (await form())!;
  const step = await stack.db.selectFrom('course_steps').select(['deadline_at']).where('id', '=', `${courseId}/rems-form-1`).executeTakeFirstOrThrow();
  expect(row.due_at.getTime() - step.deadline_at!.getTime()).toBe(Math.round((48 * HOUR) / TIME_SCALE)); // 7 days less 5 days, time-scaled
  const item = async (now: Date) => (await deadlineBreaches(stack.db, { clinics: [clinicId] }, now)).find((i) => i.courseId === courseId && i.stepKey === 'rems-form-1');
  // Past the step's deadline, before the REMS due date: listed (the clinic's own deadline), age 0.
  const early = await item(new Date(step.deadline_at!.getTime() + 500));
  expect(early).toMatchObject({ stepKind: 'rems-monitoring-form', stuckSince: row.due_at.toISOString(), ageSeconds: 0, deadlineAt: step.deadline_at!.toISOString() });
  // An hour past the due date: an hour old (it would be 49 h counted from the step deadline).
  const late = await item(new Date(row.due_at.getTime() + HOUR));
  expect(late).toMatchObject({ stuckSince: row.due_at.toISOString(), ageSeconds: 3600 });
  const zone = (await stack.db.selectFrom('clinics').select('timezone').where('id', '=', clinicId).executeTakeFirstOrThrow()).timezone;
  expect(late!.problem).toContain(`REMS form for dose-1 was due by ${clinicLocalTime(row.due_at, zone)} (7-day REMS deadline; clinic time)`);
  expect(late!.problem).not.toMatch(/\d{4}-\d{2}-\d{2}T/);
});

test('the clinic files the form with 84 mg and lot OTHER for a session that recorded 56 mg and lot L1: refused naming both; the coordinator files the matching form: accepted and the filer recorded', async () => {
  const url = `/api/courses/${courseId}/rems/dose-1`;
  const wrong = await call('POST', url, { token: t.prescriber, body: { doseMg: 84, lotNumber: 'OTHER', ...ANSWERS } });
  expect(wrong.status).toBe(422);
  expect(wrong.body.message).toContain('the session dose-1 recorded 56 mg, lot L1; the form says 84 mg, lot OTHER');
  expect(wrong.body.problems).toEqual([
    { field: 'doseMg', message: 'doseMg: the session dose-1 recorded 56 mg; the form says 84 mg' },
    { field: 'lotNumber', message: 'lotNumber: the session dose-1 recorded lot L1; the form says lot OTHER' },
  ]);
  const onlyLot = await call('POST', url, { token: t.prescriber, body: { doseMg: 56, lotNumber: 'L2', ...ANSWERS } });
  expect(onlyLot.status).toBe(422);
  expect(onlyLot.body.problems.map((p: { field: string }) => p.field)).toEqual(['lotNumber']);
  // Nothing was filed: the form and its step are still open, no submitted event.
  expect((await form())!.submitted_at).toBeNull();
  expect(await stepState('rems-form-1')).not.toBe('done');
  expect(await stack.db.selectFrom('course_events').select('id').where('course_id', '=', courseId).where('type', '=', 'rems-form.submitted').execute()).toEqual([]);
  // A therapist may not file it.
  expect((await call('POST', url, { token: t.therapist, body: { doseMg: 56, lotNumber: 'L1', ...ANSWERS } })).status).toBe(403);

  // The coordinator (the step's owner) files the matching form.
  const ok = await call('POST', url, { token: coordinator.token, body: { doseMg: 56, lotNumber: 'L1', ...ANSWERS } });
  expect(ok.status).toBe(200);
  expect(ok.body).toMatchObject({ session: 'dose-1', doseMg: 56, lotNumber: 'L1', status: 'filed', filedBy: { actorType: 'staff', id: coordinator.staffId, name: expect.stringContaining('Test coordinator') } });
  await eventually(async () => (await stepState('rems-form-1')) === 'done');
  const events = await stack.db.selectFrom('course_events').select(['type', 'actor_type', 'actor_id']).where('course_id', '=', courseId).where('type', '=', 'rems-form.submitted').execute();
  expect(events).toEqual([{ type: 'rems-form.submitted', actor_type: 'staff', actor_id: coordinator.staffId }]);
  const audit = await stack.db.selectFrom('audit_log').select(['actor_type', 'actor_id']).where('course_id', '=', courseId).where('action', '=', 'rems-form.submitted').execute();
  expect(audit).toEqual([{ actor_type: 'staff', actor_id: coordinator.staffId }]);
  const list = await call('GET', `/api/courses/${courseId}/rems`, { token: t.therapist });
  expect(list.body.forms).toEqual([expect.objectContaining({ session: 'dose-1', status: 'filed', filedBy: expect.objectContaining({ id: coordinator.staffId }) })]);
  // The stuck board no longer lists it.
  expect((await deadlineBreaches(stack.db, { clinics: [clinicId] }, new Date((await form())!.due_at.getTime() + HOUR))).filter((i) => i.stepKey === 'rems-form-1')).toEqual([]);
});

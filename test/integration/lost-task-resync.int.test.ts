// A worker dies between a dose's projection and the end of the workflow task that carried it (the
// kill-a-worker run on the real cluster found it: a course stuck with "dosed" on screen while the course
// held "checked-in"). The server drops the Update with the task; the rows the task's projection had
// committed stay. Through the real API, worker, Temporal dev server and database: the rows of such a
// lost task (written here as its projection wrote them) are replaced by what the course holds once the
// course's record is written again (src/client/course-actions.ts resyncCourseProjection, which the
// client sends itself when an Update comes back lost or refused), the lost entry is marked in the audit
// log, and the prescriber then gives the dose for real.
import { HARD_STOPS, REVIEW_ITEMS } from '../../src/domain/rules/eligibility';
import { STAFF_ROLES } from '../../src/auth/roles';
import type { StaffRole } from '../../src/db/schema';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { courseWorkflowId, resyncCourseProjection } from '../../src/client/course-actions';
import { WORKFLOW_BUNDLE_OPTIONS } from '../../src/worker/bundle';
import { payloadCodecFor } from '../../src/security/keys';
import { answerInvited, eventually, startTestStack, type TestStack } from '../harness/stack';
import { timelineAuditKey } from '../../src/activities/course-records';
import { client, personTokenFor, tokenFor, uid } from './api-helpers';

const TIME_SCALE = 86_400;
const NO_REVIEW_ITEMS = Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, false]));
const NO_HARD_STOPS = Object.fromEntries(Object.keys(HARD_STOPS).map((k) => [k, false]));
const BENIGN: Record<string, unknown[]> = { phq9: [1, 1, 1, 1, 1, 1, 1, 1, 0], gad7: [1, 1, 1, 1, 1, 1, 1], pcl5: Array(20).fill(1), cssrs: [false, false, null, null, null, false], 'qids-sr16': Array(16).fill(0) };
const CHECK = { bloodPressure: { systolic: 122, diastolic: 78 }, hoursSinceFood: 8, hoursSinceClearLiquids: 3, escortConfirmed: true, pregnancy: 'negative', cssrsRisk: 'none', phq9Item9: 0 };

let stack: TestStack;
let call: ReturnType<typeof client>;
const t = {} as Record<StaffRole, string>;
const clinicId = `lost-task-${uid()}`;
let prescriber: { token: string; staffId: string };
let courseId: string;

async function act(action: string, body: unknown, token = t.admin) {
  const res = await call('POST', `/api/courses/${courseId}/${action}`, { token, body });
  if (res.status !== 200) throw new Error(`${action}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}
const session = (stepKey: string) => stack.db.selectFrom('course_sessions').select(['status', 'dosed_at']).where('id', '=', `${courseId}/${stepKey}`).executeTakeFirst();
const stepRow = (stepKey: string) => stack.db.selectFrom('course_steps').select(['state']).where('id', '=', `${courseId}/${stepKey}`).executeTakeFirst();
const timeline = () => stack.db.selectFrom('course_events').select(['id', 'seq', 'type']).where('course_id', '=', courseId).orderBy('seq').execute();

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  for (const role of STAFF_ROLES) t[role] = await tokenFor(stack.db, role);
  expect((await call('POST', '/api/clinics', { token: t.admin, body: { id: clinicId, name: 'Lost Task Clinic' } })).status).toBe(201);
  for (const role of STAFF_ROLES) {
    expect((await call('POST', '/api/staff', { token: t.admin, body: { email: `${role}-${uid()}@lost.example.org`, displayName: `Lost ${role}`, role, clinicIds: [clinicId] } })).status).toBe(201);
  }
  prescriber = await personTokenFor(stack.db, 'prescriber', clinicId);
  const cl = await call('POST', '/api/clients', { token: t.coordinator, body: { clinicId, givenName: 'Lea', familyName: `Lost-${uid()}`, email: 'lea@example.org', dateOfBirth: '1984-02-11' } });
  expect(cl.status).toBe(201);
  const en = await call('POST', `/api/clients/${cl.body.id}/courses`, { token: t.coordinator, body: { protocolId: 'spravato-rems', timeScale: TIME_SCALE } });
  expect(en.status).toBe(201);
  courseId = en.body.id;
  await answerInvited(stack, courseId, 'screening', BENIGN);
  await act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
  await act('clearance', { decision: 'approved' }, prescriber.token);
  await act('rems-enrollment', { enrolled: true, remsPatientId: 'REMS-7781' });
  await act('consent', { documentVersion: 'v1', signedByClient: true, prescriberSigned: true });
  await act('schedule', { stepKey: 'prep-1', startsInHours: 0 });
  await act('session-complete', { stepKey: 'prep-1' });
  await eventually(async () => ['open', 'overdue'].includes((await stepRow('dose-1'))?.state ?? ''));
  await act('schedule', { stepKey: 'dose-1', startsInHours: 0 });
  await act('pre-dose-check', { stepKey: 'dose-1', ...CHECK }, prescriber.token);
  expect(await session('dose-1')).toMatchObject({ status: 'checked-in', dosed_at: null });
}, 120_000);

afterAll(async () => {
  for (const c of (await stack?.db.selectFrom('courses').select('workflow_id').where('clinic_id', '=', clinicId).where('ended_at', 'is', null).execute()) ?? []) {
    await stack.temporal.workflow.getHandle(c.workflow_id).terminate('test cleanup').catch(() => undefined);
  }
  await stack?.stop();
});

test("a dose the course never recorded leaves the screen once the course's record is written again; the prescriber then gives it for real", async () => {
  const before = await timeline();
  const last = before.at(-1)!.seq;
  // What the lost task's projection committed: the dose on the session and the timeline (with its
  // audit entry), and a step the course has not opened.
  const phantomId = `${courseId}/e${last + 1}`;
  const at = new Date();
  await stack.db.updateTable('course_sessions').set({ status: 'dosed', dosed_at: at }).where('id', '=', `${courseId}/dose-1`).execute();
  await stack.db.insertInto('course_events').values({ id: phantomId, course_id: courseId, clinic_id: clinicId, seq: last + 1, at, type: 'dose.given', step_key: 'dose-1', actor_type: 'staff', actor_id: prescriber.staffId, detail: JSON.stringify({ route: 'intranasal', doseMg: 56 }) }).execute();
  await stack.db.insertInto('audit_log').values({ actor_type: 'staff', actor_id: prescriber.staffId, action: 'dose.given', clinic_id: clinicId, course_id: courseId, event_key: timelineAuditKey(phantomId, at.toISOString()), at, detail: JSON.stringify({ stepKey: 'dose-1' }) }).execute();
  await stack.db.insertInto('course_steps').values({ id: `${courseId}/rems-form-1`, course_id: courseId, clinic_id: clinicId, step_key: 'rems-form-1', kind: 'rems-monitoring-form', state: 'open', entered_at: at, detail: JSON.stringify({}) }).execute();
  // The screen shows dosed; the prescriber records the 40-minute vitals and the course refuses them
  // (it holds checked-in). By the time the refusal is answered, the record is the course's again.
  expect(await session('dose-1')).toMatchObject({ status: 'dosed' });
  const refused = await call('POST', `/api/courses/${courseId}/vitals`, { token: prescriber.token, body: { stepKey: 'dose-1', atMinutes: 40, bloodPressure: { systolic: 130, diastolic: 82 }, spo2: 98 } });
  expect(refused.status).toBe(409);
  expect(refused.body.message).toMatch(/checked-in/);
  expect(await session('dose-1')).toMatchObject({ status: 'checked-in', dosed_at: null });
  expect(await stepRow('rems-form-1')).toBeUndefined();
  expect(await stepRow('dose-1')).toMatchObject({ state: expect.stringMatching(/^(open|overdue)$/) });
  expect(await timeline()).toEqual(before);
  // The audit log keeps the lost entry (append-only) and says the course does not hold it.
  const marks = await stack.db.selectFrom('audit_log').select(['actor_type', 'action', 'detail']).where('course_id', '=', courseId).where('event_key', '=', `course-event-not-recorded:${phantomId}@${at.getTime()}`).execute();
  expect(marks).toHaveLength(1);
  expect(marks[0]).toMatchObject({ actor_type: 'system', action: 'course-event.not-recorded', detail: expect.objectContaining({ eventKey: timelineAuditKey(phantomId, at.toISOString()), seq: last + 1, type: 'dose.given', by: prescriber.staffId }) });
  const view = await call('GET', `/api/courses/${courseId}`, { token: prescriber.token });
  expect(view.status).toBe(200);
  expect(view.body.currentStep).toBe('dose-1');

  // A resync now (as the client sends when an Update comes back lost) changes nothing and marks nothing again.
  expect((await resyncCourseProjection(stack.temporal, courseId, 'lost-task')).seq).toBe(last);
  expect(await timeline()).toEqual(before);
  expect(await stack.db.selectFrom('audit_log').select('id').where('course_id', '=', courseId).where('action', '=', 'course-event.not-recorded').execute()).toHaveLength(1);

  // The dose, given for real: the course numbers it where the lost one was.
  await act('dose', { stepKey: 'dose-1', route: 'intranasal', doseMg: 56, lotNumber: 'L1' }, prescriber.token);
  expect(await session('dose-1')).toMatchObject({ status: 'dosed' });
  expect((await timeline()).at(-1)).toMatchObject({ id: phantomId, seq: last + 1, type: 'dose.given' });
  // The real dose has its own audit entry beside the lost one's: same number on the timeline, another entry.
  const doses = await stack.db.selectFrom('audit_log').select(['event_key', 'at']).where('course_id', '=', courseId).where('action', '=', 'dose.given').orderBy('id').execute();
  expect(doses).toHaveLength(2);
  expect(doses[0]!.event_key).toBe(timelineAuditKey(phantomId, at.toISOString()));
  const real = await stack.db.selectFrom('course_events').select('at').where('id', '=', phantomId).executeTakeFirstOrThrow();
  expect(doses[1]!.event_key).toBe(timelineAuditKey(phantomId, new Date(real.at).toISOString()));
  expect(new Date(real.at).getTime()).not.toBe(at.getTime());
}, 60_000);

test("a lost timer's task numbered entries the course then numbers again: the course's next task writes them over and its whole record again, with no refusal and no resync from a caller", async () => {
  await new Promise((r) => setTimeout(r, 100)); // 40 protocol minutes are ~28 ms here
  await act('vitals', { stepKey: 'dose-1', atMinutes: 40, bloodPressure: { systolic: 130, diastolic: 82 }, spo2: 98 }, prescriber.token);
  await new Promise((r) => setTimeout(r, 200)); // 120 protocol minutes are ~83 ms here
  const before = await timeline();
  const last = before.at(-1)!.seq;
  // What a lost task's projection committed: two timeline entries (one a person's, one the engine's)
  // numbered after the course's, and the row of a step the course has not opened.
  const lostAt = new Date(Date.now() - 60_000);
  const lost = [
    { id: `${courseId}/e${last + 1}`, seq: last + 1, type: 'adverse-event.recorded', actor_type: 'staff' as const, actor_id: prescriber.staffId },
    { id: `${courseId}/e${last + 2}`, seq: last + 2, type: 'step.escalated', actor_type: 'system' as const, actor_id: null },
  ];
  for (const e of lost) {
    await stack.db.insertInto('course_events').values({ ...e, course_id: courseId, clinic_id: clinicId, at: lostAt, step_key: 'dose-1', detail: JSON.stringify({}) }).execute();
  }
  await stack.db.insertInto('course_steps').values({ id: `${courseId}/dose-3`, course_id: courseId, clinic_id: clinicId, step_key: 'dose-3', kind: 'dosing-session', state: 'open', entered_at: lostAt, detail: JSON.stringify({}) }).execute();

  // The prescriber discharges the client, which the course accepts: no refusal, so no caller resyncs.
  const checklist = { 'alert-oriented': true, 'minimal-nausea': true, 'walks-steadily': true, 'dissociation-resolved': true, 'written-instructions': true };
  const ok = await call('POST', `/api/courses/${courseId}/discharge`, { token: prescriber.token, body: { stepKey: 'dose-1', bloodPressure: { systolic: 124, diastolic: 80 }, spo2: 98, checklist, responsibleAdultPresent: true } });
  expect(ok.status).toBe(200);
  const counter = Number(ok.body.seq);
  expect(counter).toBeGreaterThan(last);

  // By the time the action is answered the timeline is the course's: numbered 1..counter, the lost
  // entries written over or removed, and the step the course has not opened gone (its whole record was written again).
  const after = await timeline();
  expect(after.map((e) => e.seq)).toEqual(Array.from({ length: counter }, (_, i) => i + 1));
  expect(after.slice(0, before.length)).toEqual(before);
  const numbered = await stack.db.selectFrom('course_events').select(['type', 'at']).where('id', '=', lost[0]!.id).executeTakeFirstOrThrow();
  expect(numbered.type).not.toBe('adverse-event.recorded');
  expect(new Date(numbered.at).getTime()).not.toBe(lostAt.getTime());
  expect(after.filter((e) => e.type === 'adverse-event.recorded')).toEqual([]);
  expect(await stepRow('dose-3')).toBeUndefined();
  // The person's lost entry is marked as not held by the course; the engine's is not an audit matter.
  const marks = await stack.db.selectFrom('audit_log').select(['event_key', 'detail']).where('course_id', '=', courseId).where('action', '=', 'course-event.not-recorded').orderBy('id').execute();
  expect(marks).toHaveLength(2);
  expect(marks[1]).toMatchObject({ event_key: `course-event-not-recorded:${lost[0]!.id}@${lostAt.getTime()}`, detail: expect.objectContaining({ type: 'adverse-event.recorded', by: prescriber.staffId, seq: last + 1 }) });
  // The course reads as it holds it: dose-1 done and discharged.
  expect(await session('dose-1')).toMatchObject({ status: 'completed' });
  expect(await stepRow('dose-1')).toMatchObject({ state: 'done' });
}, 60_000);

test("the course's history, resyncs and all, replays on the current workflow code (the committed histories hold no resync)", async () => {
  const handle = stack.temporal.workflow.getHandle(courseWorkflowId(courseId));
  const history = await handle.fetchHistory();
  const updates = (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'resyncProjection');
  // The refused vitals' resync and the explicit one.
  expect(updates.length).toBe(2);
  const workflowBundle = await bundleWorkflowCode({ ...WORKFLOW_BUNDLE_OPTIONS, logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as never });
  await expect(Worker.runReplayHistory({ workflowBundle, dataConverter: { payloadCodecs: [payloadCodecFor(stack.config)] }, replayName: 'lost-task-resync' }, history)).resolves.toBeUndefined();
}, 60_000);

test('a resync of a course that does not exist is a 404-class error, not a crash', async () => {
  await expect(resyncCourseProjection(stack.temporal, `missing-${uid()}`, 'lost-task')).rejects.toMatchObject({ code: 'not_found' });
});

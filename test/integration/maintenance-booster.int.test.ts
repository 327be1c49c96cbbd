// Issue #20 item 6, as a clinic would tell it: an IV series ends, the prescriber chooses maintenance
// (boosters on relapse). At the 30-day follow-up the client's PHQ-9 is back up (8 after the course,
// 16 now): the course adds "Booster session 1", which the client page shows as the current step with a
// maintenance row in the pathway. Its pre-dose check holds it for a blood pressure of 165/100 and the
// dose is refused; a later check proceeds, the booster is given, monitored and discharged.
// Real routes (fastify inject), real Temporal dev server, real PostgreSQL; 216,000 protocol seconds per
// second (the 30-day follow-up comes after 12 s).
import { createSession, SESSION_COOKIE } from '../../src/auth/sessions';
import { createApiToken } from '../../src/auth/tokens';
import type { StaffRole } from '../../src/db/schema';
import { getProtocol } from '../../src/domain';
import { HARD_STOPS, REVIEW_ITEMS } from '../../src/domain/rules/eligibility';
import { startTestStack, type TestStack } from '../harness/stack';
import { client, uid } from './api-helpers';
import { LiveCourse } from './course-driver';

const U = uid();
const CLINIC = `mb-${U}`;
let stack: TestStack;
let call: ReturnType<typeof client>;
type Person = { id: string; token: string; session: string };

async function makeStaff(role: StaffRole): Promise<Person> {
  const id = `staff-${role}-${CLINIC}`;
  await stack.db.insertInto('staff').values({ id, email: `${role}-${CLINIC}@example.org`, display_name: `Dr ${role} ${U}`, role, password_hash: null }).execute();
  await stack.db.insertInto('staff_clinics').values({ staff_id: id, clinic_id: CLINIC }).execute();
  const { token } = await createApiToken(stack.db, { role, clinicId: CLINIC, staffId: id, label: `${role} personal` });
  const { sessionId } = await createSession(stack.db, id);
  return { id, token, session: sessionId };
}
const ok = async (method: string, u: string, token: string, body?: unknown) => {
  const r = await call(method, u, { token, ...(body !== undefined ? { body } : {}) });
  if (r.status >= 300) throw new Error(`${method} ${u}: ${r.status} ${r.text}`);
  return r.body;
};

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  await stack.db.insertInto('clinics').values({ id: CLINIC, name: `Maintenance ${U}`, timezone: 'UTC' }).execute();
}, 120_000);
afterAll(async () => {
  if (!stack) return;
  for (const c of await stack.db.selectFrom('courses').select('workflow_id').where('clinic_id', '=', CLINIC).where('ended_at', 'is', null).execute()) {
    await stack.temporal.workflow.getHandle(c.workflow_id).terminate('test cleanup').catch(() => undefined);
  }
  await stack.stop();
});

test('a relapse at the 30-day follow-up of an IV series in maintenance adds Booster session 1, held by its pre-dose check, then given and discharged', async () => {
  const p = getProtocol('iv-series', 1)!;
  const [prescriber, coordinator, therapist] = [await makeStaff('prescriber'), await makeStaff('coordinator'), await makeStaff('therapist')];
  const cl = await ok('POST', '/api/clients', coordinator.token, { clinicId: CLINIC, givenName: 'Ida', familyName: `Booster-${U}`, email: `ida-${U}@example.org` });
  const course = await ok('POST', `/api/clients/${cl.id}/courses`, coordinator.token, { protocolId: 'iv-series', timeScale: 216_000 });
  const api = (action: string, who: Person, body: unknown) => ok('POST', `/api/courses/${course.id}/${action}`, who.token, body);
  const live = new LiveCourse(stack.temporal, stack.db, course.id, p);

  await live.waitOpen('screening');
  await live.answerAll('screening');
  await api('screening', coordinator, { hardStops: Object.fromEntries(Object.keys(HARD_STOPS).map((k) => [k, false])), reviewItems: Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, false])) });
  await api('clearance', prescriber, { decision: 'approved' });
  await api('consent', coordinator, { documentVersion: 'v1', signedByClient: true, prescriberSigned: true });
  await api('schedule', coordinator, { stepKey: 'prep-1', startsInHours: 1 });
  await api('session-complete', therapist, { stepKey: 'prep-1' });
  const check = { bloodPressure: { systolic: 122, diastolic: 78 }, hoursSinceFood: 8, hoursSinceClearLiquids: 3, escortConfirmed: true, pregnancy: 'negative' };
  const doseDay = async (stepKey: string) => {
    for (const m of p.safety.bloodPressure.checkMinutes) {
      if (typeof m === 'number' && m > 0) await live.whenDue('vitals', { stepKey, atMinutes: m, bloodPressure: { systolic: 128, diastolic: 80 }, spo2: 98 });
    }
    await live.whenDue('discharge', { stepKey, bloodPressure: { systolic: 124, diastolic: 79 }, spo2: 98, checklist: { 'alert-oriented': true, 'minimal-nausea': true, 'walks-steadily': true, 'dissociation-resolved': true, 'written-instructions': true }, responsibleAdultPresent: true });
  };
  for (let n = 1; n <= p.course.dosingSessions; n++) {
    await live.waitOpen(`dose-${n}`);
    await api('schedule', coordinator, { stepKey: `dose-${n}`, startsInHours: 48 });
    expect((await api('pre-dose-check', prescriber, { stepKey: `dose-${n}`, ...check })).outcome).toBe('proceed');
    await api('dose', prescriber, { stepKey: `dose-${n}`, route: 'intravenous', doseMg: 35 });
    await doseDay(`dose-${n}`);
    await api('session-complete', therapist, { stepKey: `integration-${n}` });
  }
  await live.answerAll('post-course-assessment'); // PHQ-9 8
  expect((await api('maintenance-decision', prescriber, { decision: 'maintenance', reason: 'responded; boosters on relapse' })).outcome).toBe('maintenance');

  await live.waitFor((v) => v.steps.find((s) => s.id === 'followup-30d')?.status === 'open', 60_000);
  await live.answerAll('followup-30d', { phq9: [2, 2, 2, 2, 2, 2, 2, 2, 0] }); // 16
  const v = await live.waitOpen('booster-1');
  expect(v.steps.find((s) => s.id === 'booster-1')).toMatchObject({ kind: 'dosing', status: 'open' });
  expect(v.currentStep).toBe('booster-1');

  // The client page names it as the plan does and draws it in the pathway's maintenance row.
  const page = await stack.app.inject({ method: 'GET', url: `/clients/${cl.id}`, headers: { cookie: `${SESSION_COOKIE}=${prescriber.session}` } });
  expect(page.statusCode).toBe(200);
  expect(page.body).toContain('<dd data-step="booster-1"><strong>Booster session 1</strong>');
  expect(page.body).toMatch(/Maintenance boosters[\s\S]*<title>Booster session 1: open \(current step\)<\/title>/);

  // All of a dose's safety: its before-dose forms, a pre-dose check that holds it, no dose while held.
  await live.answerAll('booster-1');
  await api('schedule', coordinator, { stepKey: 'booster-1', startsInHours: 48 });
  const held = await api('pre-dose-check', prescriber, { stepKey: 'booster-1', ...check, bloodPressure: { systolic: 165, diastolic: 100 } });
  expect(held.outcome).toBe('hold');
  const refused = await call('POST', `/api/courses/${course.id}/dose`, { token: prescriber.token, body: { stepKey: 'booster-1', route: 'intravenous', doseMg: 35 } });
  expect(refused.status).toBe(422);
  expect(refused.text).toMatch(/the pre-dose check held this dose/);
  expect((await api('pre-dose-check', prescriber, { stepKey: 'booster-1', ...check })).outcome).toBe('proceed');
  expect((await api('dose', prescriber, { stepKey: 'booster-1', route: 'intravenous', doseMg: 35 })).outcome).toBe('dosed');
  await doseDay('booster-1');
  const after = await live.waitFor((x) => x.steps.find((s) => s.id === 'booster-1')?.status === 'done');
  expect(after.steps.find((s) => s.id === 'booster-integration-1')?.status).toBe('open');
  expect(after.status).toBe('active');
  const discharged = await stack.db.selectFrom('course_sessions').select(['status', 'dosed_at']).where('course_id', '=', course.id).where('step_key', '=', 'booster-1').executeTakeFirstOrThrow();
  expect(discharged.status).toBe('completed');
  expect(discharged.dosed_at).not.toBeNull();
  await api('withdraw', coordinator, { reason: 'test over' });
}, 90_000);

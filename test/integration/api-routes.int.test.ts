// Route tests for the API: for each route its happy path, 400, 401/403, 404 and, for course actions,
// 409 with the workflow's reason. The role matrix as a whole is covered in api-auth.int.test.ts.
import { HARD_STOPS, REVIEW_ITEMS } from '../../src/domain/rules/eligibility';
import { STAFF_ROLES } from '../../src/auth/roles';
import { enrollClient } from '../../src/client/courses';
import type { StaffRole } from '../../src/db/schema';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, personTokenFor, tokenFor, uid } from './api-helpers';

let stack: TestStack;
let call: ReturnType<typeof client>;
const t = {} as Record<StaffRole, string>;
const clinicId = `api-${uid()}`;
const otherClinic = `api-other-${uid()}`;
let clientId: string;
let courseId: string;
let prescriberPerson: string;

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  for (const role of STAFF_ROLES) t[role] = await tokenFor(stack.db, role);
  expect((await call('POST', '/api/clinics', { token: t.admin, body: { id: clinicId, name: 'API Clinic', timezone: 'Europe/London' } })).status).toBe(201);
  expect((await call('POST', '/api/clinics', { token: t.admin, body: { id: otherClinic, name: 'Other Clinic' } })).status).toBe(201);
  // Clearance is a clinical judgement by a person: a prescriber's own token (a bare one gets 403).
  prescriberPerson = (await personTokenFor(stack.db, 'prescriber', clinicId)).token;
});
afterAll(async () => {
  for (const c of await stack.db.selectFrom('courses').select('workflow_id').where('clinic_id', 'in', [clinicId, otherClinic]).where('ended_at', 'is', null).execute()) {
    await stack.temporal.workflow.getHandle(c.workflow_id).terminate('test cleanup').catch(() => undefined);
  }
  await stack?.stop();
});

describe('clinics', () => {
  test('create is idempotent on id; bad time zone is a 400; unknown is a 404', async () => {
    expect((await call('POST', '/api/clinics', { token: t.admin, body: { id: clinicId, name: 'Again' } })).status).toBe(200);
    const bad = await call('POST', '/api/clinics', { token: t.admin, body: { name: '', timezone: 'Mars/Olympus' } });
    expect(bad.status).toBe(400);
    expect(bad.body.problems.map((p: { field: string }) => p.field).sort()).toEqual(['name', 'timezone']);
    expect((await call('GET', '/api/clinics/nope-nope', { token: t.admin })).status).toBe(404);
    expect((await call('GET', `/api/clinics/${clinicId}`, { token: t.therapist })).body.timezone).toBe('Europe/London');
    expect((await call('POST', '/api/clinics', { token: t.coordinator, body: { name: 'X' } })).status).toBe(403);
    expect((await call('GET', '/api/clinics')).status).toBe(401);
  });
});

describe('staff', () => {
  test('create with a generated password; duplicate email 409; bad role 400; unknown 404', async () => {
    const email = `coord-${uid()}@example.org`;
    const res = await call('POST', '/api/staff', { token: t.admin, body: { email, displayName: 'Casey Coordinator', role: 'coordinator', clinicIds: [clinicId] } });
    expect(res.status).toBe(201);
    expect(res.body.initialPassword).toMatch(/^[\w-]{20,}$/);
    expect(res.body.staff).toMatchObject({ role: 'coordinator', clinicIds: [clinicId], canLogIn: true });
    expect((await call('POST', '/api/staff', { token: t.admin, body: { email, displayName: 'Again', role: 'coordinator' } })).status).toBe(409);
    const bad = await call('POST', '/api/staff', { token: t.admin, body: { email: 'x', displayName: '', role: 'nurse', clinicIds: ['no-such'] } });
    expect(bad.status).toBe(400);
    expect(bad.body.problems.map((p: { field: string }) => p.field).sort()).toEqual(['displayName', 'email', 'role']);
    expect((await call('GET', `/api/staff/${res.body.staff.id}`, { token: t.coordinator })).status).toBe(200);
    expect((await call('GET', '/api/staff/staff-nope', { token: t.coordinator })).status).toBe(404);
    expect((await call('POST', '/api/staff', { token: t.coordinator, body: {} })).status).toBe(403);
    const scoped = await tokenFor(stack.db, 'coordinator', otherClinic);
    expect((await call('GET', `/api/staff/${res.body.staff.id}`, { token: scoped })).status).toBe(404); // outside its clinics: not found
  });
});

describe('clients and enrollment', () => {
  test('create, find, list, 400 per field, 404', async () => {
    const res = await call('POST', '/api/clients', { token: t.coordinator, body: { clinicId, givenName: 'Ada', familyName: 'Quill', email: 'ada@example.org', externalRef: `ext-${uid()}` } });
    expect(res.status).toBe(201);
    clientId = res.body.id;
    const again = await call('POST', '/api/clients', { token: t.coordinator, body: { clinicId, givenName: 'Ada', familyName: 'Quill', email: 'ada@example.org', externalRef: res.body.externalRef } });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(clientId);
    const bad = await call('POST', '/api/clients', { token: t.coordinator, body: { clinicId: 'no-such-clinic', givenName: 'A', familyName: 'B', email: 'a@example.org', dateOfBirth: '2999-01-01' } });
    expect(bad.status).toBe(400);
    expect((await call('GET', `/api/clients/${clientId}`, { token: t.therapist })).body.givenName).toBe('Ada');
    expect((await call('GET', '/api/clients/00000000-0000-0000-0000-000000000000', { token: t.therapist })).status).toBe(404);
    const list = await call('GET', `/api/clients?clinicId=${clinicId}&q=quil`, { token: t.therapist });
    expect(list.body.clients.map((c: { id: string }) => c.id)).toContain(clientId);
    expect((await call('GET', '/api/clients?limit=0', { token: t.therapist })).status).toBe(400);
    expect((await call('POST', '/api/clients', { token: t.therapist, body: {} })).status).toBe(403);
  });

  test('enroll: 201 then 200 (idempotent); unknown protocol 400; unknown client 404; therapist 403', async () => {
    expect((await call('POST', `/api/clients/${clientId}/courses`, { token: t.coordinator, body: { protocolId: 'no-such' } })).body.problems[0].field).toBe('protocolId');
    expect((await call('POST', '/api/clients/nope/courses', { token: t.coordinator, body: { protocolId: 'kap-office' } })).status).toBe(404);
    expect((await call('POST', `/api/clients/${clientId}/courses`, { token: t.therapist, body: { protocolId: 'kap-office' } })).status).toBe(403);
    const res = await call('POST', `/api/clients/${clientId}/courses`, { token: t.coordinator, body: { protocolId: 'kap-office' } });
    expect(res.status).toBe(201);
    courseId = res.body.id;
    expect((await call('POST', `/api/clients/${clientId}/courses`, { token: t.coordinator, body: { protocolId: 'kap-office' } })).status).toBe(200);
    const course = await eventually(async () => {
      const r = await call('GET', `/api/courses/${courseId}`, { token: t.therapist });
      return r.body.currentStep === 'screening' ? r.body : undefined;
    });
    expect(course.steps.find((s: { key: string }) => s.key === 'screening').state).toBe('open');
    expect((await call('GET', '/api/courses/nope', { token: t.therapist })).status).toBe(404);
    const list = await call('GET', `/api/courses?clinicId=${clinicId}&open=true`, { token: t.therapist });
    expect(list.body.courses.map((c: { id: string }) => c.id)).toContain(courseId);
    expect((await call('GET', '/api/protocols', { token: t.therapist })).body.protocols.length).toBeGreaterThanOrEqual(3);
  });

  test('eight enrollments of one client at once: one course, one audit entry, every answer names it', async () => {
    const created = await call('POST', '/api/clients', { token: t.coordinator, body: { clinicId, givenName: 'Race', familyName: 'Condition', email: `race-${uid()}@example.test` } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const answers = await Promise.all(Array.from({ length: 8 }, () => call('POST', `/api/clients/${id}/courses`, { token: t.coordinator, body: { protocolId: 'kap-office' } })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    const courses = await stack.db.selectFrom('courses').select('id').where('client_id', '=', id).execute();
    expect(courses.map((c) => c.id)).toEqual([answers[0]!.body.id]);
    const audit = await stack.db.selectFrom('audit_log').select('course_id').where('client_id', '=', id).where('action', '=', 'course.enroll').execute();
    expect(audit).toEqual([{ course_id: answers[0]!.body.id }]);
  });

  test('a burst of enrollments shares statements: each client its own course and audit entry; a row the database refuses fails alone', async () => {
    const ids: string[] = [];
    for (let k = 0; k < 9; k++) {
      const c = await call('POST', '/api/clients', { token: t.coordinator, body: { clinicId, givenName: 'Burst', familyName: `Client ${k}`, email: `burst-${k}-${uid()}@example.test` } });
      expect(c.status).toBe(201);
      ids.push(c.body.id as string);
    }
    const deps = { db: stack.db, temporal: stack.temporal, taskQueue: stack.taskQueue };
    const actor = { type: 'staff' as const, id: null };
    // The last names a clinician that is not there (removed after the route checked it): the foreign key refuses it.
    const results = await Promise.allSettled(ids.map((id, k) => enrollClient(deps, actor, { clientId: id, protocolId: 'kap-office', ...(k === 8 ? { primaryClinicianId: `gone-${uid()}` } : {}) })));
    expect(results.slice(0, 8).map((r) => r.status)).toEqual(Array(8).fill('fulfilled'));
    expect(results[8]!.status).toBe('rejected');
    const made = results.slice(0, 8).map((r) => (r as PromiseFulfilledResult<Awaited<ReturnType<typeof enrollClient>>>).value);
    expect(made.every((m) => m.created)).toBe(true);
    expect(made.map((m) => m.course.client_id)).toEqual(ids.slice(0, 8));
    expect(new Set(made.map((m) => m.course.id)).size).toBe(8);
    const rows = await stack.db.selectFrom('courses').select(['id', 'client_id', 'protocol_id']).where('client_id', 'in', ids).execute();
    expect(rows.map((r) => r.client_id).sort()).toEqual(ids.slice(0, 8).sort());
    expect(rows.every((r) => r.protocol_id === 'kap-office')).toBe(true);
    const audit = await stack.db.selectFrom('audit_log').select(['client_id', 'course_id']).where('client_id', 'in', ids).where('action', '=', 'course.enroll').execute();
    expect(audit.map((a) => `${a.client_id}:${a.course_id}`).sort()).toEqual(made.map((m) => `${m.course.client_id}:${m.course.id}`).sort());
    // Every course's workflow runs: each shows its first step.
    const shown = await eventually(async () => {
      const rows = await stack.db.selectFrom('courses').select('current_step').where('client_id', 'in', ids).where('current_step', 'is not', null).execute();
      return rows.length === 8 && rows;
    });
    expect(shown.map((c) => c.current_step)).toEqual(Array(8).fill('screening'));
  });
});

describe('staff actions', () => {
  const allAbsent = { hardStops: Object.fromEntries(Object.keys(HARD_STOPS).map((k) => [k, false])) };

  test('an action out of order is a 409 with the reason; bad body 400; wrong role 403; unknown course 404', async () => {
    const early = await call('POST', `/api/courses/${courseId}/clearance`, { token: prescriberPerson, body: { decision: 'approved' } });
    expect(early.status).toBe(409);
    expect(early.body.error).toBe('conflict');
    expect(early.body.message.length).toBeGreaterThan(5);
    expect((await call('POST', `/api/courses/${courseId}/clearance`, { token: prescriberPerson, body: { decision: 'maybe' } })).body.problems[0].field).toBe('decision');
    expect((await call('POST', `/api/courses/${courseId}/clearance`, { token: t.therapist, body: { decision: 'approved' } })).status).toBe(403);
    // A prescriber token bound to no staff member: a clearance is a clinical judgement by a person.
    const bare = await call('POST', `/api/courses/${courseId}/clearance`, { token: t.prescriber, body: { decision: 'approved' } });
    expect(bare.status).toBe(403);
    expect(bare.body.message).toMatch(/a clearance is a clinical judgement by a person: this API token belongs to no staff member/);
    expect((await call('POST', '/api/courses/nope/clearance', { token: prescriberPerson, body: { decision: 'approved' } })).status).toBe(404);
    const dose = await call('POST', `/api/courses/${courseId}/dose`, { token: t.prescriber, body: { stepKey: 'dose-1', route: 'sublingual' } });
    expect(dose.status).toBe(409);
  });

  test('screening then clearance move the course on', async () => {
    const hardStops = { ...allAbsent.hardStops };
    const s = await call('POST', `/api/courses/${courseId}/screening`, { token: t.coordinator, body: { hardStops, reviewItems: Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, false])) } });
    if (s.status !== 200) throw new Error(JSON.stringify(s.body));
    const c = await call('POST', `/api/courses/${courseId}/clearance`, { token: prescriberPerson, body: { decision: 'approved' } });
    expect(c.status).toBe(200);
    expect(c.body.outcome).toBeTruthy();
    // An acknowledgement (the course's event counter moved on) and the course as read back from
    // PostgreSQL after the action's projection: the clearance is done there already.
    expect(c.body.state).toBeUndefined();
    expect(c.body.seq).toBeGreaterThan(s.body.seq);
    expect(c.body.course).toMatchObject({ id: courseId, status: 'active' });
    expect(c.body.course.steps.find((st: { key: string }) => st.key === 'clearance')).toMatchObject({ state: 'done', outcome: 'approved' });
    expect(c.body.course.currentStep).not.toBe('clearance');
    const timeline = await eventually(async () => {
      const r = await call('GET', `/api/clients/${clientId}/timeline`, { token: t.therapist });
      return r.body.entries.some((e: { stepKey: string | null; type: string }) => e.stepKey === 'clearance' && e.type !== 'step.opened') ? r.body : undefined;
    });
    expect(timeline.entries.length).toBeGreaterThan(2);
    expect((await call('GET', '/api/clients/nope/timeline', { token: t.therapist })).status).toBe(404);
  });

  test('trigger an assessment now; list it; scores; 400 for an unknown instrument', async () => {
    expect((await call('POST', `/api/courses/${courseId}/send-assessment`, { token: t.therapist, body: { instruments: ['phq10'] } })).status).toBe(400);
    const res = await call('POST', `/api/courses/${courseId}/send-assessment`, { token: t.therapist, body: { instruments: ['phq9', 'gad7'] } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ outcome: 'invited', ids: { assessmentId: `${courseId}/adhoc-1` }, seq: expect.any(Number), course: { id: courseId } });
    const list = await eventually(async () => {
      const r = await call('GET', `/api/courses/${courseId}/assessments`, { token: t.therapist });
      return r.body.assessments.length >= 2 ? r.body : undefined;
    });
    expect(list.assessments.map((a: { instrumentId: string }) => a.instrumentId).sort()).toEqual(expect.arrayContaining(['gad7', 'phq9']));
    const queue = await call('GET', `/api/assessments?clinicId=${clinicId}`, { token: t.coordinator });
    expect(queue.body.items.some((i: { courseId: string }) => i.courseId === courseId)).toBe(true);
    expect((await call('GET', '/api/assessments?status=bogus', { token: t.coordinator })).status).toBe(400);
    expect((await call('GET', `/api/clients/${clientId}/scores`, { token: t.therapist })).status).toBe(200);
    expect((await call('GET', '/api/courses/nope/assessments', { token: t.therapist })).status).toBe(404);
  });
});

describe('queues and outcomes', () => {
  test('stuck board lists a breached step with its owner and unsticking action; filters; clinic scope', async () => {
    const c = await call('POST', '/api/clients', { token: t.coordinator, body: { clinicId, givenName: 'Bo', familyName: 'Late', email: 'bo@example.org' } });
    // 86,400 protocol days per real day: the 168 h screening deadline passes in 7 s.
    const e = await call('POST', `/api/clients/${c.body.id}/courses`, { token: t.coordinator, body: { protocolId: 'kap-office', timeScale: 86400 } });
    expect(e.status).toBe(201);
    const item = await eventually(async () => {
      const r = await call('GET', `/api/stuck?clinicId=${clinicId}&step=screening&owner=coordinator`, { token: t.coordinator });
      return r.body.items.find((i: { courseId: string }) => i.courseId === e.body.id);
    }, 40_000, 500);
    expect(item).toMatchObject({ type: 'deadline', stepKey: 'screening', owner: { role: 'coordinator' }, action: { id: 'screening' } });
    // Named as the course's plan names the step (a booster: "Booster session 1 (booster-1)").
    expect(item).toMatchObject({ stepName: 'Screening and intake', problem: expect.stringMatching(/^Screening and intake \(screening\) is past its deadline, waiting on /) });
    expect(item.ageSeconds).toBeGreaterThanOrEqual(0);
    const other = await call('GET', `/api/stuck?clinicId=${clinicId}&owner=prescriber`, { token: t.coordinator });
    expect(other.body.items.find((i: { courseId: string }) => i.courseId === e.body.id)).toBeUndefined();
    const scoped = await tokenFor(stack.db, 'coordinator', otherClinic);
    expect((await call('GET', `/api/stuck?clinicId=${clinicId}`, { token: scoped })).status).toBe(403);
    expect((await call('GET', '/api/stuck', { token: scoped })).body.items.find((i: { courseId: string }) => i.courseId === e.body.id)).toBeUndefined();
    expect((await call('GET', '/api/stuck?limit=abc', { token: t.coordinator })).status).toBe(400);
    expect((await call('GET', '/api/stuck')).status).toBe(401);
  }, 60_000);

  test('safety queue and outcomes', async () => {
    const s = await call('GET', `/api/safety?clinicId=${clinicId}`, { token: t.therapist });
    expect(s.status).toBe(200);
    expect(Array.isArray(s.body.items)).toBe(true);
    expect((await call('GET', '/api/safety?unknown=1', { token: t.therapist })).status).toBe(400);
    const o = await call('GET', `/api/clinics/${clinicId}/outcomes`, { token: t.prescriber });
    expect(o.status).toBe(200);
    // No completed course yet: no protocols to report (by protocol and date range: outcomes.int.test.ts).
    expect(o.body).toMatchObject({ clinicId, completedCourses: 0, protocols: [] });
    expect((await call('GET', `/api/clinics/${clinicId}/outcomes?to=31-03-2026`, { token: t.prescriber })).body.problems).toEqual([{ field: 'to', message: 'must be a date, YYYY-MM-DD' }]);
    expect((await call('GET', '/api/clinics/nope/outcomes', { token: t.prescriber })).status).toBe(404);
    expect((await call('GET', `/api/clinics/${clinicId}/outcomes`, { token: t.therapist })).status).toBe(403);
  });
});

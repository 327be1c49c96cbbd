// Issue #18 item 2, "forms that keep what was typed", as a clinic would tell it, through the real
// dashboard routes (fastify inject, a real Temporal dev server and PostgreSQL): a refused form comes
// back with the refusal's status (never a redirect with the error in the URL), every typed value in
// its field and each problem beside its field; an empty screening form records nothing and names
// every unanswered question; a double submit of one form is recorded once; the clinician is picked by
// name; a session time typed on the dashboard is the clinic's wall clock.
import { createSession, SESSION_COOKIE } from '../../src/auth/sessions';
import { createApiToken } from '../../src/auth/tokens';
import type { StaffRole } from '../../src/db/schema';
import { HARD_STOPS, REVIEW_ITEMS } from '../../src/domain/rules/eligibility';
import { getProtocol } from '../../src/domain';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, uid } from './api-helpers';
import { LiveCourse } from './course-driver';

const U = uid();
const NO_HARD_STOPS = Object.fromEntries(Object.keys(HARD_STOPS).map((k) => [k, false]));
const NO_REVIEW_ITEMS = Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, false]));

let stack: TestStack;
let call: ReturnType<typeof client>;
type Person = { id: string; token: string; session: string; name: string };
let clinicId: string;
let staff: Record<'prescriber' | 'coordinator' | 'therapist', Person>;

async function makeStaff(role: StaffRole, clinic: string, name: string): Promise<Person> {
  const id = `staff-${role}-${clinic}`;
  await stack.db.insertInto('staff').values({ id, email: `${role}-${clinic}@example.org`, display_name: name, role, password_hash: null }).execute();
  await stack.db.insertInto('staff_clinics').values({ staff_id: id, clinic_id: clinic }).execute();
  const { token } = await createApiToken(stack.db, { role, clinicId: clinic, staffId: id, label: `${role} personal` });
  const { sessionId } = await createSession(stack.db, id);
  return { id, token, session: sessionId, name };
}

const get = async (url: string, who: Person) => stack.app.inject({ method: 'GET', url, headers: { cookie: `${SESSION_COOKIE}=${who.session}` } });
const csrfOf = async (who: Person) => /name="_csrf" value="([^"]+)"/.exec((await get('/account', who)).body)![1]!;
async function post(url: string, who: Person, fields: Array<[string, string]>) {
  const form = new URLSearchParams([...fields, ['_csrf', await csrfOf(who)]]);
  return stack.app.inject({ method: 'POST', url, headers: { cookie: `${SESSION_COOKIE}=${who.session}`, 'content-type': 'application/x-www-form-urlencoded' }, payload: form.toString() });
}
const ok = async (method: string, u: string, token: string, body?: unknown) => {
  const r = await call(method, u, { token, ...(body !== undefined ? { body } : {}) });
  if (r.status >= 300) throw new Error(`${method} ${u}: ${r.status} ${r.text}`);
  return r.body;
};
/** The value attribute of the input with this id, as the page holds it. */
const valueIn = (body: string, id: string) => new RegExp(`<input id="${id}"[^>]*\\svalue="([^"]*)"`).exec(body)?.[1];

async function enrolled(): Promise<{ clientId: string; courseId: string }> {
  const cl = await ok('POST', '/api/clients', staff.coordinator.token, { clinicId, givenName: 'Ada', familyName: `Form-${uid()}`, email: `ada-${uid()}@example.org` });
  const course = await ok('POST', `/api/clients/${cl.id}/courses`, staff.coordinator.token, { protocolId: 'kap-office' });
  await new LiveCourse(stack.temporal, stack.db, course.id, getProtocol('kap-office', 1)!).answerAll('screening');
  return { clientId: cl.id, courseId: course.id };
}

/** Screening, clearance, consent and preparation through the API, then dose-1 scheduled: the pre-dose check is next. */
async function readyToDose(courseId: string) {
  await ok('POST', `/api/courses/${courseId}/screening`, staff.prescriber.token, { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
  await ok('POST', `/api/courses/${courseId}/clearance`, staff.prescriber.token, { decision: 'approved', reason: 'cleared' });
  await ok('POST', `/api/courses/${courseId}/consent`, staff.coordinator.token, { documentVersion: 'v1', signedByClient: true, prescriberSigned: true });
  for (const n of [1, 2, 3]) {
    await ok('POST', `/api/courses/${courseId}/schedule`, staff.coordinator.token, { stepKey: `prep-${n}`, startsInHours: 1 });
    await ok('POST', `/api/courses/${courseId}/session-complete`, staff.therapist.token, { stepKey: `prep-${n}` });
  }
  await ok('POST', `/api/courses/${courseId}/schedule`, staff.coordinator.token, { stepKey: 'dose-1', startsInHours: 1 });
}

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  clinicId = `forms-${U}`;
  // A clinic on New York time: the dashboard reads and shows times in it.
  await stack.db.insertInto('clinics').values({ id: clinicId, name: `Forms clinic ${U}`, timezone: 'America/New_York' }).execute();
  staff = {
    prescriber: await makeStaff('prescriber', clinicId, 'Dr Priya Shah'),
    coordinator: await makeStaff('coordinator', clinicId, 'Cole Coordinator'),
    therapist: await makeStaff('therapist', clinicId, 'Theo Therapist'),
  };
}, 120_000);
afterAll(async () => {
  if (!stack) return;
  for (const c of await stack.db.selectFrom('courses').select('workflow_id').where('clinic_id', '=', clinicId).where('ended_at', 'is', null).execute()) {
    await stack.temporal.workflow.getHandle(c.workflow_id).terminate('test cleanup').catch(() => undefined);
  }
  await stack.stop();
});

test('a new client with a bad email: 400, the same page again with every field as typed and the email marked; nothing added', async () => {
  const family = `Keep-${uid()}`;
  const res = await post('/clients', staff.coordinator, [['clinicId', clinicId], ['givenName', 'Robin'], ['familyName', family], ['email', 'robin-at-example.org'], ['phone', '+1 555 010 0199'], ['dateOfBirth', '1990-04-02']]);
  expect(res.statusCode).toBe(400);
  expect(res.headers.location).toBeUndefined();
  expect(valueIn(res.body, 'given')).toBe('Robin');
  expect(valueIn(res.body, 'family')).toBe(family);
  expect(valueIn(res.body, 'cemail')).toBe('robin-at-example.org');
  expect(valueIn(res.body, 'phone')).toBe('+1 555 010 0199');
  expect(valueIn(res.body, 'dob')).toBe('1990-04-02');
  expect(res.body).toMatch(new RegExp(`<option value="${clinicId}" selected>`));
  expect(res.body).toMatch(/<input id="cemail" name="email"[^>]* aria-invalid="true" aria-describedby="cemail-error">/);
  expect(res.body).toMatch(/<p class="field-error" id="cemail-error">[^<]*email[^<]*<\/p>/i);
  expect(res.body).toContain('id="error-summary"');
  expect(res.body).toContain('<a href="#cemail">Email:');
  // Only the bad field is marked.
  expect(res.body).not.toMatch(/id="given"[^>]*aria-invalid/);
  expect(await stack.db.selectFrom('clients').select('id').where('family_name', '=', family).execute()).toEqual([]);
  // Corrected, it goes through and redirects to the client's page.
  const fixed = await post('/clients', staff.coordinator, [['clinicId', clinicId], ['givenName', 'Robin'], ['familyName', family], ['email', 'robin@example.org']]);
  expect(fixed.statusCode).toBe(303);
  expect(String(fixed.headers.location)).toMatch(/^\/clients\/[^?]+\?ok=/);
});

test('an empty screening form records nothing: 400 naming every unanswered question beside it, and the course stays at screening', async () => {
  const { clientId, courseId } = await enrolled();
  const res = await post(`/courses/${courseId}/actions/screening`, staff.prescriber, [['stepKey', 'screening'], ['_form', 'screening']]);
  expect(res.statusCode).toBe(400);
  for (const q of [...Object.keys(HARD_STOPS).map((k) => `hardStops.${k}`), ...Object.keys(REVIEW_ITEMS).map((k) => `reviewItems.${k}`)]) {
    const id = `screening-${q.replace('.', '-')}`;
    expect({ q, marked: new RegExp(`<fieldset class="q" id="${id}" tabindex="-1" aria-invalid="true" aria-describedby="${id}-error">`).test(res.body) }).toEqual({ q, marked: true });
    expect(res.body).toContain(`<p class="field-error" id="${id}-error">required: answer yes, no`);
  }
  expect(res.body).toContain(`<a href="#screening-hardStops-${Object.keys(HARD_STOPS)[0]}">`);
  const course = await stack.db.selectFrom('courses').select(['current_step', 'status']).where('id', '=', courseId).executeTakeFirstOrThrow();
  expect(course.current_step).toBe('screening');
  expect(await stack.db.selectFrom('course_events').select('type').where('course_id', '=', courseId).where('type', 'like', 'screening%').execute()).toEqual([]);
  // Half answered: what was chosen comes back chosen, a "not assessed" without its reason is named.
  const [first, second] = Object.keys(HARD_STOPS);
  const half = await post(`/courses/${courseId}/actions/screening`, staff.prescriber, [['stepKey', 'screening'], ['_form', 'screening'], [`hardStops.${first}:answer`, 'no'], [`hardStops.${second}:answer`, 'not-assessed'], [`hardStops.${second}:reason`, '']]);
  expect(half.statusCode).toBe(400);
  expect(half.body).toMatch(new RegExp(`id="screening-hardStops-${first}-no" name="hardStops.${first}:answer" value="no" checked`));
  expect(half.body).toMatch(new RegExp(`id="screening-hardStops-${second}-not-assessed" name="hardStops.${second}:answer" value="not-assessed" checked`));
  expect(half.body).toContain(`id="screening-hardStops-${second}-error">say why it was not assessed`);
  expect(half.body).not.toContain(`id="screening-hardStops-${first}-error"`);
  expect((await get(`/clients/${clientId}`, staff.prescriber)).statusCode).toBe(200);
});

test('pre-dose check with one value out of range: 400, the seven numbers kept, the error beside that field; nothing recorded', async () => {
  const { courseId } = await enrolled();
  await readyToDose(courseId);
  const typed: Array<[string, string, string]> = [
    ['bloodPressure.systolic:number', 'pre-dose-check-bloodPressure-systolic', '128'],
    ['bloodPressure.diastolic:number', 'pre-dose-check-bloodPressure-diastolic', '82'],
    ['heartRate:number', 'pre-dose-check-heartRate', '74'],
    ['spo2:number', 'pre-dose-check-spo2', '97'],
    ['hoursSinceFood:number', 'pre-dose-check-hoursSinceFood', '300'],
    ['hoursSinceClearLiquids:number', 'pre-dose-check-hoursSinceClearLiquids', '3'],
    ['benzodiazepine.hoursSinceLastDose:number', 'pre-dose-check-benzodiazepine-hoursSinceLastDose', '40'],
  ];
  const res = await post(`/courses/${courseId}/actions/pre-dose-check`, staff.prescriber, [
    ['stepKey', 'dose-1'],
    ['_form', 'pre-dose-check'],
    ...typed.map(([name, , v]) => [name, v] as [string, string]),
    ['escortConfirmed:bool', 'true'],
    ['benzodiazepine.taking:bool', 'false'],
    ['benzodiazepine.taking:bool', 'true'],
    ['pregnancy', 'negative'],
  ]);
  expect(res.statusCode).toBe(400);
  for (const [, id, v] of typed) expect({ id, value: valueIn(res.body, id) }).toEqual({ id, value: v });
  expect(res.body).toMatch(/<input id="pre-dose-check-hoursSinceFood"[^>]* aria-invalid="true" aria-describedby="pre-dose-check-hoursSinceFood-error">/);
  expect(res.body).toMatch(/<p class="field-error" id="pre-dose-check-hoursSinceFood-error">must be 240 or less<\/p>/);
  expect(res.body.match(/aria-invalid="true"/g)).toHaveLength(1);
  expect(res.body).toContain('<a href="#pre-dose-check-hoursSinceFood">Vitals and fasting: Hours since food: must be 240 or less');
  expect(res.body).toMatch(/id="pre-dose-check-escortConfirmed-yes" name="escortConfirmed:bool" value="true" checked/);
  expect(res.body).toMatch(/id="pre-dose-check-benzodiazepine-taking" name="benzodiazepine.taking:bool" value="true" checked/);
  expect(res.body).toMatch(/<option value="negative" selected>/);
  expect(res.body).toMatch(/<details id="action-pre-dose-check" open>/);
  expect(await stack.db.selectFrom('course_vitals').select('id').where('course_id', '=', courseId).execute()).toEqual([]);
});

test('a suicide risk the prescriber hears at check-in, entered on the pre-dose form, opens a suicide-risk hold at its level', async () => {
  const { courseId } = await enrolled();
  await readyToDose(courseId);
  const page = await get(`/clients/${(await stack.db.selectFrom('courses').select('client_id').where('id', '=', courseId).executeTakeFirstOrThrow()).client_id}`, staff.prescriber);
  expect(page.body).toMatch(/<label for="pre-dose-check-cssrsRisk">C-SSRS risk at check-in<\/label>/);
  expect(page.body).toMatch(/<label for="pre-dose-check-phq9Item9">PHQ-9 item 9 at check-in \(0-3\)<\/label>/);
  const res = await post(`/courses/${courseId}/actions/pre-dose-check`, staff.prescriber, [
    ['stepKey', 'dose-1'],
    ['_form', 'pre-dose-check'],
    ['bloodPressure.systolic:number', '122'],
    ['bloodPressure.diastolic:number', '78'],
    ['hoursSinceFood:number', '8'],
    ['hoursSinceClearLiquids:number', '3'],
    ['escortConfirmed:bool', 'true'],
    ['benzodiazepine.taking:bool', 'false'],
    ['pregnancy', 'negative'],
    ['cssrsRisk', 'high'],
    ['phq9Item9:number', ''],
  ]);
  expect(res.statusCode).toBeLessThan(400);
  const hold = await eventually(async () => (await stack.db.selectFrom('safety_events').select(['kind', 'level', 'resolved_at']).where('course_id', '=', courseId).where('kind', '=', 'pre-dose-risk').executeTakeFirst()) ?? undefined);
  expect(hold).toEqual({ kind: 'pre-dose-risk', level: 'high', resolved_at: null });
});

test('a schema refusal (400) and a workflow refusal (409) come back on the page with its status and message, the form open with its values', async () => {
  const { courseId } = await enrolled();
  // Refused by the form's schema (400), then by the course itself: resuming a course that is not paused (409).
  const res = await post(`/courses/${courseId}/actions/care-team-note`, staff.therapist, [['_form', 'care-team-note'], ['note', 'x'.repeat(2001)]]);
  expect(res.statusCode).toBe(400);
  expect(res.body).toContain('id="care-team-note-note-error"');
  expect(res.body).toContain('x'.repeat(2001));
  const resume = await post(`/courses/${courseId}/actions/resume`, staff.coordinator, [['_form', 'resume']]);
  expect(resume.statusCode).toBe(409);
  expect(resume.body).toContain('id="error-summary"');
  expect(resume.body).toContain('Not recorded: Resume a paused course');
});

test('a double submit of one form is recorded once; a new rendering of the form records again', async () => {
  const { clientId, courseId } = await enrolled();
  const page = (await get(`/clients/${clientId}`, staff.therapist)).body;
  const submission = /<details id="action-care-team-note"[\s\S]*?name="_submission" value="([0-9a-f-]{36})"/.exec(page)![1]!;
  const fields: Array<[string, string]> = [['_form', 'care-team-note'], ['_submission', submission], ['note', 'Prefers mornings']];
  const first = await post(`/courses/${courseId}/actions/care-team-note`, staff.therapist, fields);
  const second = await post(`/courses/${courseId}/actions/care-team-note`, staff.therapist, fields);
  expect([first.statusCode, second.statusCode]).toEqual([303, 303]);
  const notes = () => stack.db.selectFrom('course_events').select('id').where('course_id', '=', courseId).where('type', '=', 'care-team.note').execute();
  expect(await notes()).toHaveLength(1);
  const again = /<details id="action-care-team-note"[\s\S]*?name="_submission" value="([0-9a-f-]{36})"/.exec((await get(`/clients/${clientId}`, staff.therapist)).body)![1]!;
  expect(again).not.toBe(submission);
  expect((await post(`/courses/${courseId}/actions/care-team-note`, staff.therapist, [['_form', 'care-team-note'], ['_submission', again], ['note', 'Prefers mornings']])).statusCode).toBe(303);
  expect(await notes()).toHaveLength(2);
});

test('the clinician is picked by name from the clinic\'s clinicians; REMS and category labels are words', async () => {
  const { clientId, courseId } = await enrolled();
  const page = (await get(`/clients/${clientId}`, staff.coordinator)).body;
  const select = /<select id="change-clinician-clinicianId" name="clinicianId" required>([\s\S]*?)<\/select>/.exec(page)?.[1] ?? '';
  expect(select).toContain(`<option value="${staff.prescriber.id}">Dr Priya Shah (prescriber)</option>`);
  expect(select).toContain(`<option value="${staff.therapist.id}">Theo Therapist (therapist)</option>`);
  expect(select).not.toContain(staff.coordinator.id);
  expect(page).not.toContain('staff id');
  expect(page).toContain('>nausea or vomiting</option>');
  const res = await post(`/courses/${courseId}/actions/change-clinician`, staff.coordinator, [['_form', 'change-clinician'], ['clinicianId', staff.therapist.id], ['reason', 'client asked']]);
  expect(res.statusCode).toBe(303);
  const course = await stack.db.selectFrom('courses').select('primary_clinician_id').where('id', '=', courseId).executeTakeFirstOrThrow();
  expect(course.primary_clinician_id).toBe(staff.therapist.id);
});

test("'Starts at' is the clinic's wall clock (New York), and the page shows times in the clinic's zone", async () => {
  const { clientId, courseId } = await enrolled();
  await ok('POST', `/api/courses/${courseId}/screening`, staff.prescriber.token, { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
  await ok('POST', `/api/courses/${courseId}/clearance`, staff.prescriber.token, { decision: 'approved', reason: 'cleared' });
  await ok('POST', `/api/courses/${courseId}/consent`, staff.coordinator.token, { documentVersion: 'v1', signedByClient: true, prescriberSigned: true });
  const page = (await get(`/clients/${clientId}`, staff.coordinator)).body;
  expect(page).toContain('Starts at (clinic time, America/New_York)');
  const year = new Date().getUTCFullYear() + 1;
  // 09:30 on 1 December in New York is 14:30 UTC (EST, UTC-5); 09:30 on 1 July is 13:30 UTC (EDT).
  for (const [wall, utc] of [[`${year}-12-01T09:30`, `${year}-12-01T14:30:00.000Z`], [`${year}-07-01T09:30`, `${year}-07-01T13:30:00.000Z`]] as const) {
    const res = await post(`/courses/${courseId}/actions/schedule`, staff.coordinator, [['stepKey', 'prep-1'], ['_form', 'schedule'], ['startsAt:datetime', wall]]);
    expect(res.statusCode).toBe(303);
    const session = await stack.db.selectFrom('course_sessions').select('starts_at').where('course_id', '=', courseId).where('step_key', '=', 'prep-1').executeTakeFirstOrThrow();
    expect(session.starts_at?.toISOString()).toBe(utc);
  }
  const after = (await get(`/clients/${clientId}`, staff.coordinator)).body;
  expect(after).toContain('times in America/New_York');
  expect(after).toMatch(/<time datetime="[^"]+">\d{4}-\d{2}-\d{2} \d{2}:\d{2} E[SD]T<\/time>/);
  expect(after).not.toMatch(/<time datetime="[^"]+">[^<]* UTC<\/time>/);
});

test('enroll: a refused time scale keeps the protocol and clinician chosen; enrolled, the clinician picked by name is the course\'s', async () => {
  const cl = await ok('POST', '/api/clients', staff.coordinator.token, { clinicId, givenName: 'Eli', familyName: `Enroll-${uid()}`, email: `eli-${uid()}@example.org` });
  const page = (await get(`/clients/${cl.id}`, staff.coordinator)).body;
  expect(page).toContain(`<option value="${staff.prescriber.id}">Dr Priya Shah (prescriber)</option>`);
  const refused = await post(`/clients/${cl.id}/enroll`, staff.coordinator, [['protocolId', 'kap-office'], ['primaryClinicianId', staff.prescriber.id], ['timeScale:number', '2000000']]);
  expect(refused.statusCode).toBe(400);
  expect(refused.body).toMatch(/<input id="ts" name="timeScale:number"[^>]*value="2000000" aria-invalid="true" aria-describedby="ts-error">/);
  expect(refused.body).toContain(`<option value="${staff.prescriber.id}" selected>`);
  expect(refused.body).toContain('<option value="kap-office" selected>');
  expect(refused.body).toContain('<a href="#ts">Time scale:');
  expect(await stack.db.selectFrom('courses').select('id').where('client_id', '=', cl.id).execute()).toEqual([]);
  const enrolledRes = await post(`/clients/${cl.id}/enroll`, staff.coordinator, [['protocolId', 'kap-office'], ['primaryClinicianId', staff.prescriber.id], ['timeScale:number', '']]);
  expect(enrolledRes.statusCode).toBe(303);
  const course = await stack.db.selectFrom('courses').select('primary_clinician_id').where('client_id', '=', cl.id).executeTakeFirstOrThrow();
  expect(course.primary_clinician_id).toBe(staff.prescriber.id);
});

test('staff: a new staff member refused (an email already used) comes back with the name, role and clinics as chosen', async () => {
  const admin = await makeStaff('admin', clinicId, 'Ari Admin');
  const res = await post('/staff', admin, [['displayName', 'Dup Licate'], ['email', `prescriber-${clinicId}@example.org`], ['role', 'therapist'], ['clinicIds', clinicId]]);
  expect(res.statusCode).toBe(409);
  expect(valueIn(res.body, 'sname')).toBe('Dup Licate');
  expect(valueIn(res.body, 'semail')).toBe(`prescriber-${clinicId}@example.org`);
  expect(res.body).toContain('<option selected>therapist</option>');
  expect(res.body).toMatch(new RegExp(`name="clinicIds" value="${clinicId}" checked`));
  expect(res.body).toContain('already exists');
});

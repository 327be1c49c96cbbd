// Moving running courses to a new version of the clinic's pathway (issue #21 items 4 and 6), through
// the real API, worker, Temporal dev server and database, as a clinic would tell it: two clients are
// on the shipped office KAP protocol (version 1); the coordinator copies the template, shortens the
// integration window from 48 to 24 hours and drops the third preparation session, the draft is
// rehearsed and the admin publishes it as version 2; a new client enrolls on it. Anna has had her first
// dose and been discharged (a safe point): the coordinator previews the move (the open integration
// session's deadline shortened, the done preparation session kept in the record), moves her, and the
// course follows version 2 (its integration deadline 24 hours after the dose, `course.moved` on the
// timeline and in the audit log with who and why). Ben is in the middle of his first dose (checked in,
// then dosed and not discharged): his move is refused with the reason, through the API, the dashboard
// and the CLI, and his course stays on version 1. Later the clinic publishes version 3, and Carl, who
// enrolled on version 2, is moved from his page in the dashboard (preview, reason, confirm).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { createSession, SESSION_COOKIE } from '../../src/auth/sessions';
import type { Protocol } from '../../src/domain';
import { HARD_STOPS, REVIEW_ITEMS } from '../../src/domain/rules/eligibility';
import { answerInvited, eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, personTokenFor, uid } from './api-helpers';

// One protocol hour per real second: 120 minutes of monitoring take 2 s, the 48-hour window 48 s.
const TIME_SCALE = 3600;
const HOUR_MS = 3_600_000 / TIME_SCALE;
const NO_HARD_STOPS = Object.fromEntries(Object.keys(HARD_STOPS).map((k) => [k, false]));
const NO_REVIEW_ITEMS = Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, false]));
const BENIGN: Record<string, unknown[]> = { phq9: [1, 1, 1, 1, 1, 1, 1, 1, 0], gad7: [1, 1, 1, 1, 1, 1, 1], pcl5: Array(20).fill(1), cssrs: [false, false, null, null, null, false], 'qids-sr16': Array(16).fill(0) };
const CHECK = { bloodPressure: { systolic: 122, diastolic: 78 }, hoursSinceFood: 8, hoursSinceClearLiquids: 3, escortConfirmed: true, pregnancy: 'negative', cssrsRisk: 'none', phq9Item9: 0 };
const CHECKLIST = { 'alert-oriented': true, 'minimal-nausea': true, 'walks-steadily': true, 'dissociation-resolved': true, 'written-instructions': true };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const exec = promisify(execFile);

let stack: TestStack;
let call: ReturnType<typeof client>;
let url: string;
const clinic = `move-${uid()}`;
let admin: string;
let coordinator: { token: string; staffId: string };
let prescriber: string;
let therapist: string;
let anna: { clientId: string; courseId: string };
let ben: { clientId: string; courseId: string };

async function ok(method: string, u: string, token: string, body?: unknown) {
  const r = await call(method, u, { token, ...(body !== undefined ? { body } : {}) });
  if (r.status >= 300) throw new Error(`${method} ${u}: ${r.status} ${r.text}`);
  return r.body;
}
const act = (courseId: string, action: string, token: string, body: unknown) => ok('POST', `/api/courses/${courseId}/${action}`, token, body);
const courseRow = (id: string) => stack.db.selectFrom('courses').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const step = (courseId: string, key: string) => stack.db.selectFrom('course_steps').selectAll().where('id', '=', `${courseId}/${key}`).executeTakeFirstOrThrow();

/** A client enrolled on office KAP (whatever version the clinic uses now), the screening assessment answered. */
async function enrolled(name: string) {
  const cl = await ok('POST', '/api/clients', coordinator.token, { clinicId: clinic, givenName: name, familyName: `Move-${uid()}`, email: `${name.toLowerCase()}-${uid()}@example.org` });
  const course = await ok('POST', `/api/clients/${cl.id}/courses`, coordinator.token, { protocolId: 'kap-office', timeScale: TIME_SCALE });
  await answerInvited(stack, course.id, 'screening', BENIGN);
  return { clientId: cl.id as string, courseId: course.id as string };
}

/** Intake and the three preparation sessions of version 1, then dose 1 checked in (the pre-dose check passed). */
async function checkedIn(courseId: string) {
  await act(courseId, 'screening', prescriber, { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
  await act(courseId, 'clearance', prescriber, { decision: 'approved' });
  await act(courseId, 'consent', coordinator.token, { documentVersion: 'v1', signedByClient: true, prescriberSigned: true });
  for (const n of [1, 2, 3]) {
    await act(courseId, 'schedule', coordinator.token, { stepKey: `prep-${n}`, startsInHours: 0 });
    await act(courseId, 'session-complete', therapist, { stepKey: `prep-${n}` });
  }
  await act(courseId, 'schedule', coordinator.token, { stepKey: 'dose-1', startsInHours: 0 });
  expect((await act(courseId, 'pre-dose-check', prescriber, { stepKey: 'dose-1', ...CHECK })).outcome).toBe('proceed');
}

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  url = await stack.app.listen({ port: 0, host: '127.0.0.1' });
  const root = (await personTokenFor(stack.db, 'admin')).token;
  expect((await call('POST', '/api/clinics', { token: root, body: { id: clinic, name: 'Move Clinic' } })).status).toBe(201);
  admin = (await personTokenFor(stack.db, 'admin', clinic)).token;
  coordinator = await personTokenFor(stack.db, 'coordinator', clinic);
  prescriber = (await personTokenFor(stack.db, 'prescriber', clinic)).token;
  therapist = (await personTokenFor(stack.db, 'therapist', clinic)).token;
  // Both clients start on the shipped template: the clinic has no version of its own yet.
  [anna, ben] = await Promise.all([enrolled('Anna'), enrolled('Ben')]);
  for (const c of [anna, ben]) expect((await courseRow(c.courseId)).protocol_version).toBe(1);
}, 120_000);

afterAll(async () => {
  if (!stack) return;
  for (const c of await stack.db.selectFrom('courses').select('workflow_id').where('clinic_id', '=', clinic).where('ended_at', 'is', null).execute()) {
    await stack.temporal.workflow.getHandle(c.workflow_id).terminate('test cleanup').catch(() => undefined);
  }
  await stack.stop();
});

test('the clinic copies office KAP, shortens the integration window to 24 h, drops a preparation session, publishes it as version 2, and a new client enrolls on it', async () => {
  const base = `/api/clinics/${clinic}/protocols`;
  const draft = await call('POST', base, { token: coordinator.token, body: { template: 'kap-office', reason: 'integration the day after each dose; two preparation sessions' } });
  expect(draft.status).toBe(201);
  expect(draft.body.version).toBe(2);
  const def = draft.body.definition as Protocol;
  def.course.integrationWindowHours = 24;
  def.phases.find((p) => p.id === 'dosing')!.steps.find((s) => s.kind === 'integration')!.deadlineHours = 24;
  def.course.preparationSessions = 2;
  expect((await call('PUT', `${base}/kap-office/draft`, { token: coordinator.token, body: { protocol: def, reason: 'window 24 h, two preparation sessions' } })).status).toBe(200);
  const diff = await ok('GET', `${base}/kap-office/diff?from=template&to=draft`, coordinator.token);
  expect(diff.changes.map((c: { text: string }) => c.text)).toEqual(expect.arrayContaining(['Integration window after each dose shortened from 48 h to 24 h', 'Preparation sessions lowered from 3 to 2']));
  // Rehearsed and passed, as `kap protocol rehearse` leaves it (the rehearsal on the simulator has its own
  // scenario, protocol-rehearsal.int.test.ts: a full office KAP course takes minutes to simulate).
  const hash = (await stack.db.selectFrom('protocol_versions').select('hash').where('clinic_id', '=', clinic).where('status', '=', 'draft').executeTakeFirstOrThrow()).hash;
  await stack.db.updateTable('protocol_versions').set({ rehearsal: JSON.stringify({ passed: true, hash, clients: 5, reasons: [] }) }).where('clinic_id', '=', clinic).where('status', '=', 'draft').execute();
  const published = await call('POST', `${base}/kap-office/publish`, { token: admin, body: { reason: 'integration the next day' } });
  expect(published.status).toBe(200);
  expect(published.body.version).toBe(2);

  const carl = await ok('POST', '/api/clients', coordinator.token, { clinicId: clinic, givenName: 'Carl', familyName: `New-${uid()}`, email: `carl-${uid()}@example.org` });
  const course = await ok('POST', `/api/clients/${carl.id}/courses`, coordinator.token, { protocolId: 'kap-office', timeScale: TIME_SCALE });
  const row = await courseRow(course.id);
  expect(row.protocol_version).toBe(2);
  expect((row.protocol_snapshot as unknown as Protocol).course.integrationWindowHours).toBe(24);
}, 60_000);

test('Ben is in the middle of his first dose: the move is refused with the reason, and his course stays on version 1', async () => {
  await checkedIn(ben.courseId);
  const before = await courseRow(ben.courseId);
  // Checked in: the preview says it may not move, and why; the move itself is refused the same way.
  const preview = await ok('GET', `/api/courses/${ben.courseId}/move-preview?version=2`, coordinator.token);
  expect(preview).toMatchObject({ from: 'kap-office@1', to: 'kap-office@2', allowed: false });
  expect(preview.refusals).toEqual([{ code: 'inside-dosing-session', clinical: true, message: 'dose-1 is in progress (checked in): a course never moves inside a dosing session; move it after discharge' }]);
  const refused = await call('POST', `/api/courses/${ben.courseId}/move-version`, { token: coordinator.token, body: { version: 2, reason: 'the new pathway' } });
  expect(refused.status).toBe(422);
  expect(refused.body.message).toContain('dose-1 is in progress (checked in): a course never moves inside a dosing session');

  // Dosed, not discharged: refused again, through the CLI too (exit code 3, the reason on stderr).
  await act(ben.courseId, 'dose', prescriber, { stepKey: 'dose-1', route: 'sublingual', doseMg: 200, lotNumber: 'L1' });
  const cli = await exec(path.resolve(__dirname, '../../bin/kap'), ['course', 'move', ben.courseId, '--version', '2', '--reason', 'the new pathway'], { env: { ...process.env, KAP_URL: url, KAP_TOKEN: coordinator.token }, timeout: 60_000 }).then(
    () => ({ code: 0, stderr: '' }),
    (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
  );
  expect(cli.code).toBe(3);
  expect(cli.stderr).toContain('dose-1 is in progress (dosed, not yet discharged)');

  // The dashboard's move page says the same, and offers no confirm form.
  const { sessionId } = await createSession(stack.db, coordinator.staffId);
  const pageRes = await stack.app.inject({ method: 'GET', url: `/courses/${ben.courseId}/move?version=2`, headers: { cookie: `${SESSION_COOKIE}=${sessionId}` } });
  expect(pageRes.statusCode).toBe(200);
  expect(pageRes.body).toContain('This course cannot move now');
  expect(pageRes.body).toContain('dose-1 is in progress (dosed, not yet discharged)');
  expect(pageRes.body).not.toContain('id="move-form"');

  const after = await courseRow(ben.courseId);
  expect({ version: after.protocol_version, snapshot: after.protocol_snapshot }).toEqual({ version: before.protocol_version, snapshot: before.protocol_snapshot });
  expect(after.protocol_version).toBe(1);
  const moved = await stack.db.selectFrom('course_events').select('type').where('course_id', '=', ben.courseId).where('type', '=', 'course.moved').execute();
  expect(moved).toEqual([]);
}, 90_000);

test('Anna, discharged after her first dose, is moved to version 2 with a preview: her integration deadline is the new one, and the move is on the timeline and in the audit log', async () => {
  await checkedIn(anna.courseId);
  await act(anna.courseId, 'dose', prescriber, { stepKey: 'dose-1', route: 'sublingual', doseMg: 200, lotNumber: 'L1' });
  await sleep(31 * 60_000 / TIME_SCALE);
  await act(anna.courseId, 'vitals', prescriber, { stepKey: 'dose-1', atMinutes: 30, bloodPressure: { systolic: 128, diastolic: 80 }, spo2: 97 });
  await sleep(92 * 60_000 / TIME_SCALE);
  expect((await act(anna.courseId, 'discharge', prescriber, { stepKey: 'dose-1', bloodPressure: { systolic: 124, diastolic: 80 }, spo2: 98, checklist: CHECKLIST, responsibleAdultPresent: true })).outcome).toBe('discharged');
  const integration = await step(anna.courseId, 'integration-1');
  expect(integration.state).toBe('open');
  const dischargedAt = (await step(anna.courseId, 'dose-1')).completed_at!.getTime();
  expect(integration.deadline_at!.getTime()).toBe(dischargedAt + 48 * HOUR_MS);

  // The client page offers the move; a therapist may not preview or move.
  const { sessionId, csrfToken } = await createSession(stack.db, coordinator.staffId);
  const clientPage = await stack.app.inject({ method: 'GET', url: `/clients/${anna.clientId}`, headers: { cookie: `${SESSION_COOKIE}=${sessionId}` } });
  expect(clientPage.body).toContain(`<a href="/courses/${anna.courseId}/move?version=2">Move to version 2</a>`);
  expect((await call('GET', `/api/courses/${anna.courseId}/move-preview`, { token: therapist })).status).toBe(403);

  // The preview, from where she stands (default: the clinic's newest version).
  const preview = await ok('GET', `/api/courses/${anna.courseId}/move-preview`, coordinator.token);
  expect(preview).toMatchObject({ from: 'kap-office@1', to: 'kap-office@2', allowed: true, refusals: [], added: [], removed: [], versions: [2], currentVersion: 1 });
  expect(preview.retimed[0]).toMatchObject({ stepKey: 'integration-1', status: 'open', what: 'deadline', from: 48, to: 24, text: 'Integration session 1 (integration-1): deadline shortened from 48 h to 24 h (it is open: its deadline moves by the difference)' });
  expect(preview.keptDone.map((s: { stepKey: string }) => s.stepKey)).toEqual(['prep-3']);
  const movePage = await stack.app.inject({ method: 'GET', url: `/courses/${anna.courseId}/move?version=2`, headers: { cookie: `${SESSION_COOKIE}=${sessionId}` } });
  expect(movePage.statusCode).toBe(200);
  expect(movePage.body).toContain('deadline shortened from 48 h to 24 h');
  expect(movePage.body).toContain('Not in kap-office@2, kept in the record: Preparation session 3');
  expect(movePage.body).toContain('id="move-form"');
  // The confirm form needs a reason: refused next to its field, nothing moved.
  const blank = await stack.app.inject({
    method: 'POST',
    url: `/courses/${anna.courseId}/move`,
    headers: { cookie: `${SESSION_COOKIE}=${sessionId}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ version: '2', reason: ' ', _csrf: csrfToken }).toString(),
  });
  expect(blank.statusCode).toBe(400);
  expect(blank.body).toContain('<p class="field-error" id="move-reason-error">');
  expect((await courseRow(anna.courseId)).protocol_version).toBe(1);

  // A move needs a reason, and a version the clinic published.
  const noReason = await call('POST', `/api/courses/${anna.courseId}/move-version`, { token: coordinator.token, body: { version: 2 } });
  expect(noReason.status).toBe(400);
  expect(noReason.body.problems.map((p: { field: string }) => p.field)).toEqual(['reason']);
  const noVersion = await call('POST', `/api/courses/${anna.courseId}/move-version`, { token: coordinator.token, body: { version: 7, reason: 'x' } });
  expect(noVersion.status).toBe(400);
  expect(noVersion.body.problems).toEqual([{ field: 'version', message: `clinic ${clinic} has no published version 7 of kap-office` }]);
  const forged = await call('POST', `/api/courses/${anna.courseId}/move-version`, { token: coordinator.token, body: { version: 2, reason: 'x', protocol: { id: 'kap-office', version: 2 } } });
  expect(forged.status).toBe(400);
  expect(forged.body.problems).toEqual([{ field: 'protocol', message: 'unknown field' }]);

  const moved = await ok('POST', `/api/courses/${anna.courseId}/move-version`, coordinator.token, { version: 2, reason: 'the clinic moved to next-day integration' });
  expect(moved.outcome).toBe('moved');
  expect(moved.course.protocol).toEqual({ id: 'kap-office', version: 2 });
  const row = await courseRow(anna.courseId);
  expect(row.protocol_version).toBe(2);
  expect((row.protocol_snapshot as unknown as Protocol).course.integrationWindowHours).toBe(24);
  // The open integration session's deadline: 24 hours after the dose's discharge, not 48.
  expect((await step(anna.courseId, 'integration-1')).deadline_at!.getTime()).toBe(dischargedAt + 24 * HOUR_MS);
  const event = await stack.db.selectFrom('course_events').selectAll().where('course_id', '=', anna.courseId).where('type', '=', 'course.moved').executeTakeFirstOrThrow();
  expect(event).toMatchObject({ actor_type: 'staff', actor_id: coordinator.staffId });
  expect(event.detail).toMatchObject({ from: 'kap-office@1', to: 'kap-office@2', added: [], removed: [], reason: 'the clinic moved to next-day integration' });
  const audit = await stack.db.selectFrom('audit_log').selectAll().where('course_id', '=', anna.courseId).where('action', '=', 'course.moved').executeTakeFirstOrThrow();
  expect(audit).toMatchObject({ actor_type: 'staff', actor_id: coordinator.staffId, clinic_id: clinic });
  expect(audit.detail).toMatchObject({ reason: 'the clinic moved to next-day integration', from: 'kap-office@1', to: 'kap-office@2' });
  // The workflow's search attribute names the version it follows now.
  await eventually(async () => {
    const d = await stack.temporal.workflow.getHandle(row.workflow_id).describe();
    return (d.searchAttributes as Record<string, unknown[]>).KapProtocol?.[0] === 'kap-office@2';
  });
  // Moved once: the same move again is refused, and the client page no longer offers it.
  const again = await call('POST', `/api/courses/${anna.courseId}/move-version`, { token: coordinator.token, body: { version: 2, reason: 'again' } });
  expect(again.status).toBe(409);
  expect(again.body.message).toContain('the course already follows kap-office@2');
  const pageAfter = await stack.app.inject({ method: 'GET', url: `/clients/${anna.clientId}`, headers: { cookie: `${SESSION_COOKIE}=${sessionId}` } });
  expect(pageAfter.body).not.toContain('Move to version 2');
  expect(pageAfter.body).toContain('Moved from kap-office@1 to kap-office@2 (6 steps re-timed): the clinic moved to next-day integration');
  expect(pageAfter.body).toContain('v2');
  // And the course goes on on version 2: integration session 1 recorded.
  await act(anna.courseId, 'schedule', coordinator.token, { stepKey: 'integration-1', startsInHours: 0 });
  expect((await act(anna.courseId, 'session-complete', therapist, { stepKey: 'integration-1' })).outcome).toBeDefined();
}, 90_000);

test("from the dashboard: the clinic publishes version 3 (four preparation sessions; version 2 had two), and Carl's course, enrolled on version 2, is moved from his page's link", async () => {
  const base = `/api/clinics/${clinic}/protocols`;
  const draft = await ok('POST', base, coordinator.token, { copyOf: 'kap-office', reason: 'four preparation sessions again' });
  const def = draft.definition as Protocol;
  def.course.preparationSessions = 4;
  await ok('PUT', `${base}/kap-office/draft`, coordinator.token, { protocol: def, reason: 'four preparation sessions' });
  const hash = (await stack.db.selectFrom('protocol_versions').select('hash').where('clinic_id', '=', clinic).where('status', '=', 'draft').executeTakeFirstOrThrow()).hash;
  await stack.db.updateTable('protocol_versions').set({ rehearsal: JSON.stringify({ passed: true, hash, clients: 5, reasons: [] }) }).where('clinic_id', '=', clinic).where('status', '=', 'draft').execute();
  expect((await ok('POST', `${base}/kap-office/publish`, admin, { reason: 'four sessions' })).version).toBe(3);

  const carl = await stack.db.selectFrom('courses').selectAll().where('clinic_id', '=', clinic).where('protocol_version', '=', 2).where('id', 'not in', [anna.courseId]).executeTakeFirstOrThrow();
  const { sessionId, csrfToken } = await createSession(stack.db, coordinator.staffId);
  const cookie = `${SESSION_COOKIE}=${sessionId}`;
  const clientPage = await stack.app.inject({ method: 'GET', url: `/clients/${carl.client_id}`, headers: { cookie } });
  expect(clientPage.body).toContain(`<a href="/courses/${carl.id}/move?version=3">Move to version 3</a>`);
  const preview = await stack.app.inject({ method: 'GET', url: `/courses/${carl.id}/move?version=3`, headers: { cookie } });
  expect(preview.body).toContain('Preparation session 3 (prep-3) is added');
  expect(preview.body).toContain('Preparation session 4 (prep-4) is added');
  const moved = await stack.app.inject({
    method: 'POST',
    url: `/courses/${carl.id}/move`,
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ version: '3', reason: 'Carl needs more preparation', _csrf: csrfToken }).toString(),
  });
  expect(moved.statusCode).toBe(303);
  expect(String(moved.headers.location)).toBe(`/clients/${carl.client_id}?ok=${encodeURIComponent('Moved to kap-office@3')}#course`);
  const row = await courseRow(carl.id);
  expect(row.protocol_version).toBe(3);
  expect((row.protocol_snapshot as unknown as Protocol).course.preparationSessions).toBe(4);
  const event = await stack.db.selectFrom('course_events').selectAll().where('course_id', '=', carl.id).where('type', '=', 'course.moved').executeTakeFirstOrThrow();
  expect(event.detail).toMatchObject({ from: 'kap-office@2', to: 'kap-office@3', added: ['prep-3', 'prep-4'], removed: [], reason: 'Carl needs more preparation' });
}, 60_000);

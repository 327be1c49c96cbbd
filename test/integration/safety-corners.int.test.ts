// Clinical safety in the corners (issue #16 items 3 to 6), told as a clinic would tell it, on the real
// dev server, database and API: a crisis answer on an old link is never lost, an alert that reaches
// nobody is on the stuck board, no dose goes ahead without the client's own baseline, nothing is
// assumed at screening, timed readings wait for their time, and a form refuses answers it did not ask.
import { HARD_STOPS, REVIEW_ITEMS } from '../../src/domain/rules/eligibility';
import { createStaff } from '../../src/api/routes/staff';
import { getCourseState } from '../../src/client/course-actions';
import { createClientLinks } from '../../src/security/client-links';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, personTokenFor, uid } from './api-helpers';

let stack: TestStack;
let call: ReturnType<typeof client>;
let admin: string;
let links: ReturnType<typeof createClientLinks>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const NO_HARD_STOPS = Object.fromEntries(Object.keys(HARD_STOPS).map((k) => [k, 'no']));
const NO_REVIEW_ITEMS = Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, 'no']));
const CHECK = { bloodPressure: { systolic: 122, diastolic: 78 }, hoursSinceFood: 8, hoursSinceClearLiquids: 3, escortConfirmed: true, pregnancy: 'negative' };
const CHECKLIST = { 'alert-oriented': true, 'minimal-nausea': true, 'walks-steadily': true, 'dissociation-resolved': true, 'written-instructions': true };

/** Form fields as the client page posts them. */
const phq9 = (item9: number) => Object.fromEntries([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => [`phq9.${n}`, String(n === 9 ? item9 : 1)]));
const gad7 = () => Object.fromEntries([1, 2, 3, 4, 5, 6, 7].map((n) => [`gad7.${n}`, '1']));
const pcl5 = () => Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`pcl5.${i + 1}`, '1']));
const cssrsNo = { 'cssrs.1': 'false', 'cssrs.2': 'false', 'cssrs.6': 'false' };
const baselineForm = (item9 = 0) => ({ ...phq9(item9), ...gad7(), ...pcl5(), ...cssrsNo });

const post = (url: string, form: Record<string, string>) => stack.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(form).toString() });

async function clinicWith(roles: Array<'prescriber' | 'therapist' | 'coordinator'>): Promise<string> {
  const id = `corner-${uid()}`;
  expect((await call('POST', '/api/clinics', { token: admin, body: { id, name: `Corner Clinic ${id}` } })).status).toBe(201);
  for (const role of roles) {
    await createStaff(stack.db, { email: `${role}-${uid()}@corner.example`, displayName: `${role} ${id}`, role, clinicIds: [id], password: `tidal ${uid()} harbour lantern` });
  }
  return id;
}

async function enroll(clinicId: string, body: Record<string, unknown> = { protocolId: 'kap-office' }): Promise<{ clientId: string; courseId: string }> {
  const c = await call('POST', '/api/clients', { token: admin, body: { clinicId, givenName: 'Jo', familyName: `Corner ${uid()}`, email: `jo-${uid()}@example.org` } });
  expect(c.status).toBe(201);
  const course = await call('POST', `/api/clients/${c.body.id}/courses`, { token: admin, body });
  expect(course.status).toBe(201);
  const courseId = course.body.id as string;
  // The baseline invitation is out once its rows are in.
  await eventually(async () => (await stack.db.selectFrom('assessments').select('id').where('id', 'like', `${courseId}/screening/%`).execute()).length >= 4, 30_000, 100);
  return { clientId: c.body.id, courseId };
}

/** The link the client received for an assessment (valid, or already expired). */
const linkFor = (assessmentId: string, expiresInMs = 3_600_000) => `/a/${links.createClientLink({ assessmentId, expiresAt: new Date(Date.now() + expiresInMs) }).token}`;

const act = (courseId: string, action: string, body: unknown, token = admin) => call('POST', `/api/courses/${courseId}/${action}`, { token, body });

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  // A person (a staff member's token): safety reviews are a clinician's judgement, never a bare token's.
  admin = (await personTokenFor(stack.db, 'admin')).token;
  links = createClientLinks({ db: stack.db, secretKey: stack.config.SECRET_KEY!, publicUrl: 'http://x' });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

describe('a crisis answer on an old link is never lost', () => {
  test('a withdrawn client answers an old link with item 9 = 3: the page shows crisis resources, the queue lists a high-risk item, the prescriber is alerted', async () => {
    const clinicId = await clinicWith(['prescriber', 'therapist', 'coordinator']);
    const { courseId } = await enroll(clinicId);
    const url = linkFor(`${courseId}/screening`);
    expect((await act(courseId, 'withdraw', { reason: 'client moved away' })).status).toBe(200);
    await eventually(async () => (await stack.db.selectFrom('courses').select('ended_at').where('id', '=', courseId).executeTakeFirst())?.ended_at, 30_000, 100);
    await eventually(async () => (await stack.db.selectFrom('assessments').select('id').where('id', 'like', `${courseId}/screening/%`).where('status', '=', 'invited').execute()).length === 0, 30_000, 100);

    // The old link: closed, with the crisis resources and the suicide-risk questions still offered.
    const page = await stack.app.inject({ method: 'GET', url });
    expect(page.statusCode).toBe(410);
    expect(page.body).toContain('988');
    expect(page.body).toContain('name="phq9.9"');

    const sent = await post(url, phq9(3));
    expect(sent.statusCode).toBe(200);
    expect(sent.body).toContain('role="alert"');
    expect(sent.body).toContain('988');
    expect(sent.body).toContain('alerted');

    // The queue lists an open suicide-risk item for this withdrawn client, with the endorsed item.
    const queue = await eventually(async () => {
      const r = await call('GET', `/api/safety?clinicId=${clinicId}`, { token: admin });
      return (r.body.items as Array<Record<string, unknown>>).filter((i) => i.courseId === courseId && i.kind === 'late-critical-answer');
    }, 30_000, 200);
    expect(queue).toHaveLength(1);
    expect(JSON.stringify(queue[0])).toContain('PHQ-9 item 9 = 3');
    const item = await stack.db.selectFrom('safety_events').selectAll().where('course_id', '=', courseId).where('kind', '=', 'late-critical-answer').executeTakeFirstOrThrow();
    expect(item.resolved_at).toBeNull();
    expect(item.level).toBe('moderate');

    // The prescriber and the therapist are alerted, once each, through the outbox.
    const alerts = await eventually(async () => {
      const rows = await stack.db.selectFrom('email_outbox').select(['key', 'recipient_ref', 'status']).where('course_id', '=', courseId).where('template', '=', 'safety-alert').execute();
      return rows.length === 2 && rows.every((r) => r.status === 'sent') ? rows : undefined;
    }, 30_000, 200);
    expect(alerts.map((r) => r.recipient_ref).sort()).toEqual(['prescriber', 'therapist']);

    // The same answers posted again: no second item, no second alert.
    expect((await post(url, phq9(3))).statusCode).toBe(200);
    await sleep(1000);
    expect(await stack.db.selectFrom('safety_events').select('id').where('course_id', '=', courseId).where('kind', '=', 'late-critical-answer').execute()).toHaveLength(1);
    expect(await stack.db.selectFrom('email_outbox').select('key').where('course_id', '=', courseId).where('template', '=', 'safety-alert').execute()).toHaveLength(2);
    // Recorded in the audit log, without the answers themselves.
    const audit = await stack.db.selectFrom('audit_log').select(['action', 'detail']).where('course_id', '=', courseId).where('action', '=', 'assessment.late-critical-answer').execute();
    expect(audit.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(audit[0]!.detail)).not.toContain('"answers"');

    // A clinician reviews it: the item closes.
    const review = await act(courseId, 'safety-review', { outcome: 'release', riskLevel: 'moderate', notes: 'called the client; safety plan in place' });
    expect(review.status).toBe(200);
    expect((await stack.db.selectFrom('safety_events').select('resolved_at').where('id', '=', item.id).executeTakeFirstOrThrow()).resolved_at).not.toBeNull();
  }, 120_000);

  test('the course ended a moment ago and its record does not show it yet: the late answer is still recorded as an open item', async () => {
    const clinicId = await clinicWith(['prescriber', 'therapist', 'coordinator']);
    const { courseId } = await enroll(clinicId);
    const url = linkFor(`${courseId}/screening`);
    expect((await act(courseId, 'withdraw', { reason: 'client moved away' })).status).toBe(200);
    // The workflow has closed; the projection lags (as it would for an instant).
    await eventually(async () => (await stack.temporal.workflow.getHandle(`course-${courseId}`).describe()).status.name !== 'RUNNING', 30_000, 100);
    await stack.db.updateTable('courses').set({ ended_at: null }).where('id', '=', courseId).execute();
    const sent = await post(url, phq9(2));
    expect(sent.statusCode).toBe(200);
    expect(sent.body).toContain('alerted');
    const item = await stack.db.selectFrom('safety_events').select(['kind', 'resolved_at']).where('course_id', '=', courseId).where('kind', '=', 'late-critical-answer').executeTakeFirst();
    expect(item).toEqual({ kind: 'late-critical-answer', resolved_at: null });
  }, 120_000);

  test('an expired link on a running course with item 9 = 2 opens a hold on the course at once; an answer without risk on it is not recorded; a tampered link stays refused', async () => {
    const clinicId = await clinicWith(['prescriber', 'therapist', 'coordinator']);
    const { courseId } = await enroll(clinicId);
    const expired = linkFor(`${courseId}/screening`, -60_000);

    const calm = await post(expired, phq9(0));
    expect(calm.statusCode).toBe(410);
    expect(calm.body).toContain('not recorded');
    expect(calm.body).toContain('988');

    const token = expired.slice(3);
    const tampered = `/a/${token.slice(0, -4)}${token.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    expect((await post(tampered, phq9(3))).statusCode).toBe(404);
    await sleep(500);
    expect(await stack.db.selectFrom('safety_events').select('id').where('course_id', '=', courseId).execute()).toHaveLength(0);

    const sent = await post(expired, phq9(2));
    expect(sent.statusCode).toBe(200);
    expect(sent.body).toContain('alerted');
    const state = await eventually(async () => {
      const v = await getCourseState(stack.temporal, courseId);
      return v.safetyHolds.length ? v : undefined;
    }, 30_000, 200);
    expect(state.safetyHolds[0]!.reason).toMatch(/old link.*PHQ-9 item 9 = 2/);
    expect(state.status).toBe('active');
    // The late answers are in the course's record (its timeline event), with their score.
    const event = await eventually(async () => stack.db.selectFrom('course_events').select('detail').where('course_id', '=', courseId).where('type', '=', 'assessment.late-critical-answer').executeTakeFirst(), 30_000, 200);
    expect(event.detail).toMatchObject({ summary: expect.stringMatching(/^Critical answer on an old link of the screening assessment, after it closed: PHQ-9 item 9 = 2/), responses: [{ instrumentId: 'phq9', total: 10, answers: [1, 1, 1, 1, 1, 1, 1, 1, 2] }] });
    await eventually(async () => (await stack.db.selectFrom('email_outbox').select('key').where('course_id', '=', courseId).where('template', '=', 'safety-alert').execute()).length === 2, 30_000, 200);

    // The client answers the baseline (the link is spent), then days later uses the same link again with item 9 = 3.
    const url = linkFor(`${courseId}/screening`);
    expect((await post(url, baselineForm(0))).statusCode).toBe(200);
    const again = await post(url, phq9(3));
    expect(again.statusCode).toBe(200);
    expect(again.body).toContain('alerted');
    const two = await eventually(async () => {
      const v = await getCourseState(stack.temporal, courseId);
      return v.safetyHolds.length === 2 ? v : undefined;
    }, 30_000, 200);
    expect(two.safetyHolds.map((h) => h.reason).join(' | ')).toMatch(/PHQ-9 item 9 = 3/);
  }, 120_000);
});

describe('an alert always reaches someone, or the board says it did not', () => {
  test('a clinic with no active prescriber: shown on the stuck board before it matters, and a critical answer\'s alert shows as a system item', async () => {
    const clinicId = await clinicWith(['therapist', 'coordinator']);
    const before = await call('GET', `/api/stuck?clinicId=${clinicId}`, { token: admin });
    expect(before.status).toBe(200);
    const setup = (before.body.items as Array<Record<string, unknown>>).filter((i) => i.courseId === null);
    expect(setup).toHaveLength(1);
    expect(setup[0]!.type).toBe('system');
    expect(setup[0]!.problem).toMatch(/no active prescriber/);

    const { courseId } = await enroll(clinicId);
    const answered = await post(linkFor(`${courseId}/screening`), baselineForm(2));
    expect(answered.statusCode).toBe(200);
    const items = await eventually(async () => {
      const r = await call('GET', `/api/stuck?clinicId=${clinicId}`, { token: admin });
      const mine = (r.body.items as Array<Record<string, unknown>>).filter((i) => i.courseId === courseId && i.type === 'system');
      return mine.length ? mine : undefined;
    }, 30_000, 250);
    expect(items[0]!.problem).toMatch(/safety alert for the prescriber reached no prescriber/);
    // The therapist's alert went through and is not on the board.
    expect(items.some((i) => /for the therapist/.test(String(i.problem)))).toBe(false);
  }, 120_000);

  test('mail failing: a safety alert still being retried is a system item at once, naming the failure', async () => {
    const clinicId = await clinicWith(['prescriber', 'therapist', 'coordinator']);
    const { courseId } = await enroll(clinicId);
    // What the notify activity leaves while the relay refuses connections: the row pending, its attempts counted.
    await stack.db
      .insertInto('email_outbox')
      .values({ key: `${courseId}/test/safety-alert-prescriber`, template: 'safety-alert', course_id: courseId, clinic_id: clinicId, recipient_kind: 'role', recipient_ref: 'prescriber', audience: 'staff', message_id: `<${uid()}@kap.local>`, data: JSON.stringify({}), status: 'pending', attempts: 3, last_error: 'connect ECONNREFUSED 127.0.0.1:25' })
      .execute();
    const r = await call('GET', `/api/stuck?clinicId=${clinicId}`, { token: admin });
    const mine = (r.body.items as Array<Record<string, unknown>>).filter((i) => i.courseId === courseId && i.type === 'system');
    expect(mine.map((i) => i.problem)).toEqual([expect.stringMatching(/safety alert for the prescriber reached no prescriber: mail is failing \(3 attempts so far: connect ECONNREFUSED/)]);
    // Nothing about staffing: this clinic has every role.
    expect((r.body.items as Array<Record<string, unknown>>).some((i) => i.courseId === null)).toBe(false);
  }, 60_000);

  test('a clinic with no therapist but an admin: the therapist\'s alert goes to the admin, and the board says no therapist got it', async () => {
    const clinicId = await clinicWith(['prescriber', 'coordinator']);
    await createStaff(stack.db, { email: `admin-${uid()}@corner.example`, displayName: 'Clinic Admin', role: 'admin', clinicIds: [clinicId], password: `tidal ${uid()} harbour lantern` });
    const { courseId } = await enroll(clinicId);
    expect((await post(linkFor(`${courseId}/screening`), baselineForm(1))).statusCode).toBe(200);
    const row = await eventually(async () => stack.db.selectFrom('email_outbox').select(['status', 'last_error', 'to_addresses']).where('course_id', '=', courseId).where('template', '=', 'safety-alert').where('recipient_ref', '=', 'therapist').where('status', '=', 'sent').executeTakeFirst(), 30_000, 200);
    expect(JSON.stringify(row.to_addresses)).toMatch(/admin-/);
    expect(row.last_error).toMatch(/^nobody active in role therapist/);
    const r = await call('GET', `/api/stuck?clinicId=${clinicId}`, { token: admin });
    const mine = (r.body.items as Array<Record<string, unknown>>).filter((i) => i.courseId === courseId && i.type === 'system');
    expect(mine.map((i) => i.problem)).toEqual([expect.stringMatching(/safety alert for the therapist reached no therapist: nobody active holds the therapist role in this clinic, so it went to the clinic's admins instead/)]);
    expect((r.body.items as Array<Record<string, unknown>>).some((i) => i.courseId === null && /no active therapist/.test(String(i.problem)))).toBe(true);
  }, 120_000);
});

describe('no dose without its checks; timed readings at their time', () => {
  test('dose refused until the baseline C-SSRS and PHQ-9 are answered; a 40-minute reading at 0 minutes is refused with the time left', async () => {
    const clinicId = await clinicWith(['prescriber', 'therapist', 'coordinator']);
    // One protocol hour per real second.
    const { courseId } = await enroll(clinicId, { protocolId: 'spravato-rems', timeScale: 3600 });
    expect((await act(courseId, 'screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS })).status).toBe(200);
    expect((await act(courseId, 'clearance', { decision: 'approved' })).status).toBe(200);
    expect((await act(courseId, 'rems-enrollment', { enrolled: true })).status).toBe(200);
    expect((await act(courseId, 'consent', { documentVersion: 'v1', signedByClient: true, prescriberSigned: true })).status).toBe(200);
    expect((await act(courseId, 'session-complete', { stepKey: 'prep-1' })).status).toBe(200);
    expect((await act(courseId, 'schedule', { stepKey: 'dose-1', startsInHours: 1 })).status).toBe(200);

    const held = await act(courseId, 'pre-dose-check', { stepKey: 'dose-1', ...CHECK, cssrsRisk: 'none', phq9Item9: 0 });
    expect(held.status).toBe(200);
    expect(held.body.outcome).toBe('hold');
    const refused = await act(courseId, 'dose', { stepKey: 'dose-1', route: 'intranasal', doseMg: 56 });
    expect(refused.status).toBe(422);
    expect(refused.body.message).toMatch(/no baseline C-SSRS answered by the client/);
    expect(refused.body.message).toMatch(/no baseline PHQ-9 answered by the client/);

    // The client answers the baseline from the emailed link; the course hears it.
    expect((await post(linkFor(`${courseId}/screening`), baselineForm(0))).statusCode).toBe(200);
    await eventually(async () => (await getCourseState(stack.temporal, courseId)).assessments.find((a) => a.id === `${courseId}/screening`)?.status === 'completed', 30_000, 100);
    const ok = await act(courseId, 'pre-dose-check', { stepKey: 'dose-1', ...CHECK });
    expect(ok.body.outcome).toBe('proceed');
    expect((await act(courseId, 'dose', { stepKey: 'dose-1', route: 'intranasal', doseMg: 56, lotNumber: 'L-1' })).status).toBe(200);

    const early = await act(courseId, 'vitals', { stepKey: 'dose-1', atMinutes: 40, bloodPressure: { systolic: 130, diastolic: 82 }, spo2: 98 });
    expect(early.status).toBe(422);
    expect(early.body.message).toMatch(/the 40-minute reading is taken 40 min after the dose: \d+ min have passed, \d+ min left/);
    const tooSoon = await act(courseId, 'discharge', { stepKey: 'dose-1', bloodPressure: { systolic: 124, diastolic: 80 }, spo2: 98, checklist: CHECKLIST, responsibleAdultPresent: true });
    expect(tooSoon.status).toBe(422);
    expect(tooSoon.body.message).toMatch(/at least 120 min required \(\d+ min left\)/);
    await sleep(800); // 48 protocol minutes
    expect((await act(courseId, 'vitals', { stepKey: 'dose-1', atMinutes: 40, bloodPressure: { systolic: 130, diastolic: 82 }, spo2: 98 })).status).toBe(200);
  }, 120_000);
});

describe('nothing is assumed', () => {
  test('an empty screening is a 400 naming every missing item and the course is unchanged; a hard stop not assessed keeps it open with the reason', async () => {
    const clinicId = await clinicWith(['prescriber', 'therapist', 'coordinator']);
    const { courseId } = await enroll(clinicId);
    const empty = await act(courseId, 'screening', { hardStops: {} });
    expect(empty.status).toBe(400);
    const fields = (empty.body.problems as Array<{ field: string }>).map((p) => p.field).sort();
    expect(fields).toEqual([...Object.keys(HARD_STOPS).map((k) => `hardStops.${k}`), ...Object.keys(REVIEW_ITEMS).map((k) => `reviewItems.${k}`)].sort());
    const partial = await act(courseId, 'screening', { hardStops: { ...NO_HARD_STOPS, pregnancy: undefined }, reviewItems: NO_REVIEW_ITEMS });
    expect(partial.status).toBe(400);
    expect((partial.body.problems as Array<{ field: string }>).map((p) => p.field)).toEqual(['hardStops.pregnancy']);
    const notAssessed = await act(courseId, 'screening', { hardStops: { ...NO_HARD_STOPS, pregnancy: { notAssessed: 'test result not back yet' } }, reviewItems: NO_REVIEW_ITEMS });
    expect(notAssessed.status).toBe(422);
    expect(notAssessed.body.message).toContain('Not assessed: Pregnancy (test result not back yet)');
    const v = await getCourseState(stack.temporal, courseId);
    expect(v.status).toBe('active');
    expect(v.currentStep).toBe('screening');
    expect(v.steps.find((s) => s.id === 'screening')!.status).toBe('open');
    expect((await act(courseId, 'screening', { hardStops: NO_HARD_STOPS, reviewItems: { ...NO_REVIEW_ITEMS, 'prior-ketamine-use': { notAssessed: 'client unsure' } } })).body.outcome).toBe('needs-review');
  }, 120_000);

  test('an extra GAD-7 answer is refused and nothing is recorded; the same form without it is accepted', async () => {
    const clinicId = await clinicWith(['prescriber', 'therapist', 'coordinator']);
    const { courseId } = await enroll(clinicId);
    expect((await call('POST', `/api/courses/${courseId}/send-assessment`, { token: admin, body: { instruments: ['gad7'] } })).status).toBe(200);
    const assessmentId = await eventually(async () => (await stack.db.selectFrom('assessments').select('id').where('course_id', '=', courseId).where('instrument_id', '=', 'gad7').where('id', 'not like', `${courseId}/screening/%`).executeTakeFirst())?.id, 30_000, 100);
    const url = linkFor(assessmentId.slice(0, assessmentId.lastIndexOf('/')));
    const extra = await post(url, { ...gad7(), 'gad7.8': '3' });
    expect(extra.statusCode).toBe(400);
    expect(extra.body).toContain('gad7.8');
    expect(extra.body).toContain('GAD-7, which has 7 questions');
    expect(extra.body).toContain('role="alert"');
    const stray = await post(url, { ...gad7(), q8: '3' });
    expect(stray.statusCode).toBe(400);
    expect(stray.body).toContain('&#34;q8&#34; is not a question of this form');
    expect((await stack.db.selectFrom('assessments').select('status').where('id', '=', assessmentId).executeTakeFirstOrThrow()).status).toBe('invited');
    expect((await post(url, gad7())).statusCode).toBe(200);
    await eventually(async () => (await stack.db.selectFrom('assessments').select('status').where('id', '=', assessmentId).executeTakeFirstOrThrow()).status === 'completed', 30_000, 100);
  }, 120_000);
});

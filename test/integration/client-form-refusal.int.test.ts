// A client form refused for missing or extra answers still shows the crisis resources (issue #16 item 3:
// "a page that refuses anything still shows the crisis resources"), at the top and urgent when the
// answers sent endorse suicidal thoughts. Found by a black-box review: a PHQ-9 with item 9 = 3 sent
// with the GAD-7 left unanswered came back as "Some answers are missing" with no crisis information,
// and nothing was recorded: no hold, no alert. Now what is complete is recorded (the PHQ-9 scored, its
// hold and alerts as usual), a critical answer in an incomplete PHQ-9 raises a safety item and the
// alerts anyway, and the page asks for the rest with the answers typed and the crisis resources.
import { createStaff } from '../../src/api/routes/staff';
import { createClientLinks } from '../../src/security/client-links';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, tokenFor, uid } from './api-helpers';

let stack: TestStack;
let call: ReturnType<typeof client>;
let admin: string;
let links: ReturnType<typeof createClientLinks>;

const phq9 = (item9: number) => Object.fromEntries([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => [`phq9.${n}`, String(n === 9 ? item9 : 1)]));
const gad7 = () => Object.fromEntries([1, 2, 3, 4, 5, 6, 7].map((n) => [`gad7.${n}`, '1']));
const post = (url: string, form: Record<string, string>) => stack.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(form).toString() });
const LIFELINE = '988 Suicide &amp; Crisis Lifeline';
const URGENT = '<section class="crisis" role="alert"';

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  admin = await tokenFor(stack.db, 'admin');
  links = createClientLinks({ db: stack.db, secretKey: stack.config.SECRET_KEY!, publicUrl: 'http://x' });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

/** A clinic with its prescriber, therapist and coordinator, a client's course, and a PHQ-9 + GAD-7 link. */
async function courseWithForm() {
  const clinicId = `refusal-${uid()}`;
  expect((await call('POST', '/api/clinics', { token: admin, body: { id: clinicId, name: `Refusal Clinic ${clinicId}` } })).status).toBe(201);
  for (const role of ['prescriber', 'therapist', 'coordinator'] as const) {
    await createStaff(stack.db, { email: `${role}-${uid()}@refusal.example`, displayName: `${role} ${clinicId}`, role, clinicIds: [clinicId], password: `tidal ${uid()} harbour lantern` });
  }
  const c = await call('POST', '/api/clients', { token: admin, body: { clinicId, givenName: 'Jo', familyName: `Refusal ${uid()}`, email: `jo-${uid()}@example.org` } });
  expect(c.status).toBe(201);
  const course = await call('POST', `/api/clients/${c.body.id}/courses`, { token: admin, body: { protocolId: 'kap-office' } });
  expect(course.status).toBe(201);
  const courseId = course.body.id as string;
  expect((await call('POST', `/api/courses/${courseId}/send-assessment`, { token: admin, body: { instruments: ['phq9', 'gad7'] } })).status).toBe(200);
  const row = await eventually(
    async () => (await stack.db.selectFrom('assessments').select('id').where('course_id', '=', courseId).where('instrument_id', '=', 'phq9').where('id', 'not like', `${courseId}/screening/%`).executeTakeFirst())?.id,
    30_000,
    100,
  );
  const assessmentId = row.slice(0, row.lastIndexOf('/'));
  const url = `/a/${links.createClientLink({ assessmentId, expiresAt: new Date(Date.now() + 3_600_000) }).token}`;
  return { clinicId, courseId, assessmentId, url, status: async (instrument: string) => (await stack.db.selectFrom('assessments').select('status').where('id', '=', `${assessmentId}/${instrument}`).executeTakeFirstOrThrow()).status };
}

/** The course's suicide-risk items in the clinic's safety queue. */
async function suicideRiskItems(clinicId: string, courseId: string) {
  const r = await call('GET', `/api/safety?clinicId=${clinicId}`, { token: admin });
  expect(r.status).toBe(200);
  return (r.body.items as Array<Record<string, unknown>>).filter((i) => i.courseId === courseId && JSON.stringify(i).includes('PHQ-9 item 9 = 3'));
}
const safetyAlerts = async (courseId: string) => stack.db.selectFrom('email_outbox').select(['recipient_ref']).where('course_id', '=', courseId).where('template', '=', 'safety-alert').execute();

test('a client answers PHQ-9 item 9 = 3 and leaves the GAD-7 blank: the PHQ-9 is recorded and scored, the safety queue lists a suicide-risk item and the prescriber\'s alert is in the outbox, the page asks for the GAD-7 with crisis resources', async () => {
  const f = await courseWithForm();
  const first = await stack.app.inject({ method: 'GET', url: f.url });
  expect(first.statusCode).toBe(200);
  // The crisis resources are on the form from the start (issue #18: reachable from every part), quietly.
  expect(first.body).toContain(LIFELINE);
  expect(first.body).not.toContain(URGENT);

  const page = await post(f.url, phq9(3));
  expect(page.statusCode).toBe(400);
  // Crisis resources urgent, at the top; the page names what is still missing and asks only for it.
  expect(page.body).toContain(URGENT);
  expect(page.body.indexOf(URGENT)).toBeLessThan(page.body.indexOf('<form'));
  expect(page.body).toContain('Some answers are missing: “About worry and anxiety” (all 7 questions)');
  expect(page.body).toContain('Your answers to “About your mood” have been sent to your care team.');
  expect(page.body).toContain('name="gad7.1"');
  expect(page.body).not.toContain('name="phq9.1"');

  // The PHQ-9 is recorded and scored; the GAD-7 is still open on the same link.
  expect(await f.status('phq9')).toBe('completed');
  expect(await f.status('gad7')).toBe('invited');
  const phq = await stack.db.selectFrom('assessments').selectAll().where('id', '=', `${f.assessmentId}/phq9`).executeTakeFirstOrThrow();
  expect(phq.total).toBe(11);
  expect(phq.critical).toBe(true);

  // The safety queue lists the suicide-risk item; the prescriber and the therapist are alerted.
  const items = await eventually(async () => { const i = await suicideRiskItems(f.clinicId, f.courseId); return i.length ? i : undefined; }, 30_000, 200);
  expect(items.length).toBeGreaterThanOrEqual(1);
  const alerts = await eventually(async () => { const a = await safetyAlerts(f.courseId); return a.some((x) => x.recipient_ref === 'prescriber') ? a : undefined; }, 30_000, 200);
  expect(alerts.map((a) => a.recipient_ref)).toEqual(expect.arrayContaining(['prescriber', 'therapist']));

  // The client answers the GAD-7 on the same link: taken, and the link is then spent.
  const rest = await post(f.url, gad7());
  expect(rest.statusCode).toBe(200);
  expect(rest.body).toContain('Thank you');
  expect(await f.status('gad7')).toBe('completed');
  expect((await post(f.url, gad7())).body).not.toContain('name="gad7.1"');
}, 120_000);

test('PHQ-9 with item 9 = 3 and item 4 blank: a safety item and alert anyway, no score invented; the form comes back with the typed answers and the crisis resources', async () => {
  const f = await courseWithForm();
  const form = { ...phq9(3), ...gad7() };
  delete form['phq9.4'];
  const page = await post(f.url, form);
  expect(page.statusCode).toBe(400);
  expect(page.body).toContain(URGENT);
  expect(page.body).toContain('Some answers are missing: “About your mood” (question 4)');
  expect(page.body).toContain('they have been alerted');
  // The answers typed are kept: item 9 = 3 is still checked.
  expect(page.body).toMatch(/name="phq9\.9" value="3" checked/);
  // The GAD-7 was complete on its own: recorded. The PHQ-9 is not scored (item 4 unanswered) and stays open.
  expect(await f.status('gad7')).toBe('completed');
  expect(await f.status('phq9')).toBe('invited');

  const items = await eventually(async () => { const i = await suicideRiskItems(f.clinicId, f.courseId); return i.length ? i : undefined; }, 30_000, 200);
  expect(items).toHaveLength(1);
  expect(JSON.stringify(items[0])).toContain('item 4 unanswered');
  const alerts = await eventually(async () => { const a = await safetyAlerts(f.courseId); return a.some((x) => x.recipient_ref === 'prescriber') ? a : undefined; }, 30_000, 200);
  expect(alerts.map((a) => a.recipient_ref)).toEqual(expect.arrayContaining(['prescriber', 'therapist']));
  // The same answers sent again raise no second item.
  expect((await post(f.url, form)).statusCode).toBe(400);
  await new Promise((r) => setTimeout(r, 1_000));
  expect(await suicideRiskItems(f.clinicId, f.courseId)).toHaveLength(1);
}, 120_000);

test('an extra GAD-7 answer refuses the GAD-7 by name but the PHQ-9 with item 9 = 2 is recorded; an answer missing without risk shows the quieter crisis section', async () => {
  const f = await courseWithForm();
  const extra = await post(f.url, { ...phq9(2), ...gad7(), 'gad7.8': '1' });
  expect(extra.statusCode).toBe(400);
  expect(extra.body).toContain('gad7.8');
  expect(extra.body).toContain(URGENT);
  expect(await f.status('phq9')).toBe('completed');
  expect(await f.status('gad7')).toBe('invited');

  const g = await courseWithForm();
  const quiet = await post(g.url, phq9(0));
  expect(quiet.statusCode).toBe(400);
  expect(quiet.body).toContain(LIFELINE);
  expect(quiet.body).not.toContain(URGENT);
  expect(await g.status('phq9')).toBe('completed');
  expect(await suicideRiskItems(g.clinicId, g.courseId)).toHaveLength(0);
  // An empty form records nothing and names everything missing.
  const h = await courseWithForm();
  const empty = await post(h.url, {});
  expect(empty.statusCode).toBe(400);
  expect(empty.body).toContain('“About your mood” (all 9 questions), “About worry and anxiety” (all 7 questions)');
  expect(await h.status('phq9')).toBe('invited');
  expect(await h.status('gad7')).toBe('invited');
}, 180_000);

test('a stray answer that belongs to no questionnaire ("q8") refuses the whole form, nothing is scored, but PHQ-9 item 9 = 3 in it still raises a safety item and the alerts', async () => {
  const f = await courseWithForm();
  const page = await post(f.url, { ...phq9(3), ...gad7(), q8: '3' });
  expect(page.statusCode).toBe(400);
  expect(page.body).toContain('&#34;q8&#34; is not a question of this form');
  expect(page.body).toContain(URGENT);
  expect(page.body).toContain('they have been alerted');
  expect(await f.status('phq9')).toBe('invited');
  expect(await f.status('gad7')).toBe('invited');
  const items = await eventually(async () => { const i = await suicideRiskItems(f.clinicId, f.courseId); return i.length ? i : undefined; }, 30_000, 200);
  expect(items).toHaveLength(1);
  await eventually(async () => (await safetyAlerts(f.courseId)).some((x) => x.recipient_ref === 'prescriber') || undefined, 30_000, 200);
  // The same form without the stray answer is accepted whole.
  expect((await post(f.url, { ...phq9(3), ...gad7() })).statusCode).toBe(200);
  expect(await f.status('phq9')).toBe('completed');
  expect(await f.status('gad7')).toBe('completed');
}, 120_000);

test('on a link already used, PHQ-9 item 9 = 3 with item 4 blank still raises a safety item and the alerts, with crisis resources', async () => {
  const f = await courseWithForm();
  expect((await post(f.url, { ...phq9(0), ...gad7() })).statusCode).toBe(200);
  const form = phq9(3);
  delete form['phq9.4'];
  const late = await post(f.url, form);
  expect(late.statusCode).toBe(400);
  expect(late.body).toContain(LIFELINE);
  expect(late.body).toContain('they have been alerted');
  const items = await eventually(async () => { const i = await suicideRiskItems(f.clinicId, f.courseId); return i.length ? i : undefined; }, 30_000, 200);
  expect(items).toHaveLength(1);
  expect(JSON.stringify(items[0])).toContain('item 4 unanswered');
  await eventually(async () => (await safetyAlerts(f.courseId)).some((x) => x.recipient_ref === 'prescriber') || undefined, 30_000, 200);
}, 120_000);

// A client form refused for missing or extra answers still shows the crisis resources (issue #16 item 3:
// "a page that refuses anything still shows the crisis resources"), at the top and urgent when the
// answers sent endorse suicidal thoughts. Found by a black-box review: a PHQ-9 with item 9 = 3 sent
// with the GAD-7 left unanswered came back as "Some answers are missing" with no crisis information.
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

test('a refused PHQ-9 / GAD-7 form shows the crisis resources: urgent at the top when item 9 is endorsed, quieter otherwise; the first form has none', async () => {
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
  expect((await call('POST', `/api/courses/${courseId}/assessments`, { token: admin, body: { instruments: ['phq9', 'gad7'] } })).status).toBe(201);
  const row = await eventually(
    async () => (await stack.db.selectFrom('assessments').select('id').where('course_id', '=', courseId).where('instrument_id', '=', 'phq9').where('id', 'not like', `${courseId}/screening/%`).executeTakeFirst())?.id,
    30_000,
    100,
  );
  const url = `/a/${links.createClientLink({ assessmentId: row.slice(0, row.lastIndexOf('/')), expiresAt: new Date(Date.now() + 3_600_000) }).token}`;

  const first = await stack.app.inject({ method: 'GET', url });
  expect(first.statusCode).toBe(200);
  expect(first.body).not.toContain(LIFELINE);

  // Item 9 = 3 with the GAD-7 left unanswered: refused (nothing recorded), crisis resources urgent, first.
  const missing = await post(url, phq9(3));
  expect(missing.statusCode).toBe(400);
  expect(missing.body).toContain('Some answers are missing');
  expect(missing.body).toContain(URGENT);
  expect(missing.body.indexOf(URGENT)).toBeLessThan(missing.body.indexOf('<form'));

  // Item 9 = 2 with an extra GAD-7 answer: refused for the extra answer, crisis resources urgent.
  const extra = await post(url, { ...phq9(2), ...gad7(), 'gad7.8': '1' });
  expect(extra.statusCode).toBe(400);
  expect(extra.body).toContain('gad7.8');
  expect(extra.body).toContain(URGENT);

  // Nothing endorsed, an answer missing: the quieter crisis section, still there.
  const quiet = await post(url, phq9(0));
  expect(quiet.statusCode).toBe(400);
  expect(quiet.body).toContain(LIFELINE);
  expect(quiet.body).not.toContain(URGENT);

  // Nothing was recorded by the refusals: the form is still open and takes the complete answers.
  expect((await stack.db.selectFrom('assessments').select('status').where('id', '=', row).executeTakeFirstOrThrow()).status).toBe('invited');
  expect((await post(url, { ...phq9(0), ...gad7() })).statusCode).toBe(200);
}, 120_000);

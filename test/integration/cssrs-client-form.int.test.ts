// The client's own form (the HTML page a client link opens, submitted without the page's script):
// C-SSRS items 3-5 are not asked after a "no" to item 2 (the screener's skip rule, "If NO to 2, go
// directly to question 6"). A form that sends them as "no" is accepted and the record keeps them as
// not asked; a "yes" there contradicts item 2 and is refused, nothing recorded (issue #20 item 6).
import { createClientLinks } from '../../src/security/client-links';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, tokenFor, uid } from './api-helpers';

let stack: TestStack;
let call: ReturnType<typeof client>;
let admin: string;
let links: ReturnType<typeof createClientLinks>;
const clinicId = `cssrs-form-${uid()}`;

const post = (url: string, form: Record<string, string>) => stack.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(form).toString() });
const cssrs = (answers: Record<number, 'true' | 'false'>) => Object.fromEntries(Object.entries(answers).map(([n, v]) => [`cssrs.${n}`, v]));

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  admin = await tokenFor(stack.db, 'admin');
  links = createClientLinks({ db: stack.db, secretKey: stack.config.SECRET_KEY!, publicUrl: 'http://x' });
  expect((await call('POST', '/api/clinics', { token: admin, body: { id: clinicId, name: 'C-SSRS Form Clinic' } })).status).toBe(201);
}, 120_000);
afterAll(async () => {
  for (const c of await stack.db.selectFrom('courses').select('workflow_id').where('clinic_id', '=', clinicId).where('ended_at', 'is', null).execute()) {
    await stack.temporal.workflow.getHandle(c.workflow_id).terminate('test cleanup').catch(() => undefined);
  }
  await stack?.stop();
});

/** A client's course with a C-SSRS sent now, and its link. */
async function cssrsLink() {
  const c = await call('POST', '/api/clients', { token: admin, body: { clinicId, givenName: 'Cy', familyName: `Screen ${uid()}`, email: `cy-${uid()}@example.org` } });
  expect(c.status).toBe(201);
  const course = await call('POST', `/api/clients/${c.body.id}/courses`, { token: admin, body: { protocolId: 'kap-office' } });
  expect(course.status).toBe(201);
  const courseId = course.body.id as string;
  expect((await call('POST', `/api/courses/${courseId}/send-assessment`, { token: admin, body: { instruments: ['cssrs'] } })).status).toBe(200);
  const row = await eventually(
    async () => (await stack.db.selectFrom('assessments').select('id').where('course_id', '=', courseId).where('instrument_id', '=', 'cssrs').where('id', 'not like', `${courseId}/screening/%`).executeTakeFirst())?.id,
    30_000,
    100,
  );
  const url = `/a/${links.createClientLink({ assessmentId: row.slice(0, row.lastIndexOf('/')), expiresAt: new Date(Date.now() + 3_600_000) }).token}`;
  const status = async () => (await stack.db.selectFrom('assessments').select('status').where('id', '=', row).executeTakeFirstOrThrow()).status;
  const items = async () => Object.fromEntries((await stack.db.selectFrom('assessment_items').select(['item', 'value']).where('assessment_id', '=', row).execute()).map((r) => [r.item, r.value]));
  return { url, status, items };
}

test('"no" to item 2 and "no" to items 3-5: accepted (thank you), scored no risk, items 3-5 kept as not asked', async () => {
  const f = await cssrsLink();
  const res = await post(f.url, cssrs({ 1: 'false', 2: 'false', 3: 'false', 4: 'false', 5: 'false', 6: 'false' }));
  expect(res.statusCode).toBe(200);
  expect(res.body).toContain('Your answers have been sent to your care team');
  await eventually(async () => (await f.status()) === 'completed');
  expect(await f.items()).toMatchObject({ '1': false, '2': false, '3': null, '4': null, '5': null, '6': false });
});

test('"no" to item 2 with "yes" to item 4: refused as inconsistent, naming item 4; nothing recorded', async () => {
  const f = await cssrsLink();
  const res = await post(f.url, cssrs({ 1: 'false', 2: 'false', 3: 'false', 4: 'true', 5: 'false', 6: 'false' }));
  expect(res.body).not.toContain('Your answers have been sent to your care team');
  // The page marks question 4 alone as in error (its error element f-cssrs-4-err); the "no" answers to
  // 3 and 5 are not.
  const flagged = (n: number) => res.body.includes(`id="f-cssrs-${n}-err"`);
  expect([3, 4, 5].map(flagged)).toEqual([false, true, false]);
  expect(await f.status()).toBe('invited');
  expect(await f.items()).toEqual({});
});

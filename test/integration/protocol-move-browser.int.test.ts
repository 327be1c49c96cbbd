// Moving a running course to the clinic's new version from the dashboard alone (issue #21, "Done when"),
// in Debian's chromium: the clinic has published version 2 of office KAP (integration within 24 h);
// the coordinator logs in, opens Robin's page (Robin is on the shipped version 1), follows "Move to
// version 2", reads what changes, sends the confirm form once without a reason (refused next to the
// field) and then with one, and is back on Robin's page, which says version 2. The move page has no
// serious or critical axe violation at desktop and phone width; screenshots in test-artifacts/moves/.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { createStaff } from '../../src/api/routes/staff';
import { getProtocol, type Protocol } from '../../src/domain';
import { startTestStack, type TestStack } from '../harness/stack';
import { client, personTokenFor, uid } from './api-helpers';
import { launchChromium, seriousAxeViolations } from './browser';
import { LiveCourse } from './course-driver';

const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts/moves');
const run = uid();
const clinicId = `moves-${run}`;
const password = `harbour lantern ${run} tidal`;
const email = `moves-coordinator-${run}@example.org`;

let stack: TestStack;
let browser: Browser;
let base: string;
let clientId: string;
let courseId: string;

beforeAll(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  stack = await startTestStack();
  base = await stack.app.listen({ port: 0, host: '127.0.0.1' });
  const call = client(stack.app);
  const root = (await personTokenFor(stack.db, 'admin')).token;
  expect((await call('POST', '/api/clinics', { token: root, body: { id: clinicId, name: 'Harbour Ketamine Clinic' } })).status).toBe(201);
  await createStaff(stack.db, { email, displayName: 'Cam Coordinator', role: 'coordinator', clinicIds: [clinicId], password });
  const coordinator = (await personTokenFor(stack.db, 'coordinator', clinicId)).token;
  const admin = (await personTokenFor(stack.db, 'admin', clinicId)).token;
  const c = await call('POST', '/api/clients', { token: coordinator, body: { clinicId, givenName: 'Robin', familyName: 'Vale', email: `robin-${run}@example.org` } });
  clientId = c.body.id;
  const course = await call('POST', `/api/clients/${clientId}/courses`, { token: coordinator, body: { protocolId: 'kap-office' } });
  expect(course.status).toBe(201);
  courseId = course.body.id;
  await new LiveCourse(stack.temporal, stack.db, courseId, getProtocol('kap-office', 1)!).answerAll('screening');
  // The clinic's version 2: integration within 24 h, rehearsed (as `kap protocol rehearse` leaves it) and published.
  const draft = await call('POST', `/api/clinics/${clinicId}/protocols`, { token: coordinator, body: { template: 'kap-office', reason: 'next-day integration' } });
  const def = draft.body.definition as Protocol;
  def.course.integrationWindowHours = 24;
  def.phases.find((ph) => ph.id === 'dosing')!.steps.find((st) => st.kind === 'integration')!.deadlineHours = 24;
  expect((await call('PUT', `/api/clinics/${clinicId}/protocols/kap-office/draft`, { token: coordinator, body: { protocol: def, reason: 'window 24 h' } })).status).toBe(200);
  const { hash } = await stack.db.selectFrom('protocol_versions').select('hash').where('clinic_id', '=', clinicId).where('status', '=', 'draft').executeTakeFirstOrThrow();
  await stack.db.updateTable('protocol_versions').set({ rehearsal: JSON.stringify({ passed: true, hash, clients: 5, reasons: [] }) }).where('clinic_id', '=', clinicId).where('status', '=', 'draft').execute();
  expect((await call('POST', `/api/clinics/${clinicId}/protocols/kap-office/publish`, { token: admin, body: { reason: 'approved' } })).status).toBe(200);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (stack && courseId) await stack.temporal.workflow.getHandle(`course-${courseId}`).terminate('test cleanup').catch(() => undefined);
  await stack?.stop();
});

test('a coordinator moves a course to version 2 from the client page, with the preview and a reason', async () => {
  const found: Record<string, string[]> = {};
  for (const [width, viewport] of [['phone', { width: 390, height: 844 }], ['desktop', { width: 1280, height: 900 }]] as const) {
    const context = await browser.newContext({ viewport, bypassCSP: true });
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.fill('#email', email);
    await page.fill('#password', password);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/`);
    await page.goto(`${base}/clients/${clientId}`);
    await page.getByRole('link', { name: 'Move to version 2' }).click();
    await page.waitForURL(`${base}/courses/${courseId}/move?version=2`);
    await page.getByRole('heading', { name: 'Move to kap-office@2' }).waitFor();
    expect(await page.locator('#retimed + ul').innerText()).toContain('Integration session 1 (integration-1): deadline shortened from 48 h to 24 h');
    await page.screenshot({ path: path.join(ARTIFACTS, `move-preview-${width}.png`), fullPage: true });
    const preview = await seriousAxeViolations(page);
    if (preview.length) found[`preview @${width}`] = preview;
    // Sent without a reason (the browser's own check off): refused next to the field, nothing moved.
    await page.evaluate(`document.querySelector('#move-form').noValidate = true`);
    await page.click('#move-form button[type=submit]');
    await page.locator('#move-reason-error').waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, `move-refused-${width}.png`), fullPage: true });
    const refused = await seriousAxeViolations(page);
    if (refused.length) found[`refused @${width}`] = refused;
    expect((await stack.db.selectFrom('courses').select('protocol_version').where('id', '=', courseId).executeTakeFirstOrThrow()).protocol_version).toBe(1);
    if (width === 'desktop') {
      await page.fill('#move-reason', 'the clinic moved to next-day integration');
      await page.click('#move-form button[type=submit]');
      await page.waitForURL(new RegExp(`/clients/${clientId}\\?ok=`));
      expect(await page.locator('.flash.ok').innerText()).toBe('Moved to kap-office@2');
      expect(await page.locator('#state').innerText()).toContain('v2');
      expect(await page.getByRole('link', { name: 'Move to version 2' }).count()).toBe(0);
    }
    await context.close();
  }
  expect(found).toEqual({});
  expect((await stack.db.selectFrom('courses').select('protocol_version').where('id', '=', courseId).executeTakeFirstOrThrow()).protocol_version).toBe(2);
}, 90_000);

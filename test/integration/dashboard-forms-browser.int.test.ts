// Issue #18 item 2 in a real browser (Debian's chromium driven by playwright-core): a prescriber at
// the pre-dose check types seven numbers, one out of range, and gets the page back with a 400, the
// error beside that field and all seven values still there; on the client page every control has
// exactly one label and no id repeats; a coordinator's new-client form with a bad email comes back
// with every field as typed; a double-clicked form is recorded once. Screenshots go to
// test-artifacts/forms/.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './browser';
import { createSession, SESSION_COOKIE } from '../../src/auth/sessions';
import { createApiToken } from '../../src/auth/tokens';
import type { StaffRole } from '../../src/db/schema';
import { getProtocol } from '../../src/domain';
import { HARD_STOPS, REVIEW_ITEMS } from '../../src/domain/rules/eligibility';
import { freePort } from '../../src/temporal/dev-server';
import { startTestStack, type TestStack } from '../harness/stack';
import { client, uid } from './api-helpers';
import { LiveCourse } from './course-driver';

const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts/forms');
const U = uid();
const clinicId = `formsb-${U}`;
const NO_HARD_STOPS = Object.fromEntries(Object.keys(HARD_STOPS).map((k) => [k, false]));
const NO_REVIEW_ITEMS = Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, false]));

type Person = { id: string; token: string; session: string };
let stack: TestStack;
let browser: Browser;
let base: string;
let call: ReturnType<typeof client>;
let staff: Record<'prescriber' | 'coordinator' | 'therapist', Person>;

async function makeStaff(role: StaffRole, name: string): Promise<Person> {
  const id = `staff-${role}-${clinicId}`;
  await stack.db.insertInto('staff').values({ id, email: `${role}-${clinicId}@example.org`, display_name: name, role, password_hash: null }).execute();
  await stack.db.insertInto('staff_clinics').values({ staff_id: id, clinic_id: clinicId }).execute();
  const { token } = await createApiToken(stack.db, { role, clinicId, staffId: id, label: `${role} personal` });
  const { sessionId } = await createSession(stack.db, id);
  return { id, token, session: sessionId };
}
const ok = async (method: string, u: string, token: string, body?: unknown) => {
  const r = await call(method, u, { token, ...(body !== undefined ? { body } : {}) });
  if (r.status >= 300) throw new Error(`${method} ${u}: ${r.status} ${r.text}`);
  return r.body;
};
async function signedIn(who: Person): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await ctx.addCookies([{ name: SESSION_COOKIE, value: who.session, url: base }]);
  return { ctx, page: await ctx.newPage() };
}
const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

/** A client enrolled through the API, screening answered, cleared, consented, prepared; dose-1 scheduled. */
async function readyToDose(): Promise<{ clientId: string; courseId: string }> {
  const cl = await ok('POST', '/api/clients', staff.coordinator.token, { clinicId, givenName: 'Vera', familyName: `Vitals-${uid()}`, email: `vera-${uid()}@example.org` });
  const course = await ok('POST', `/api/clients/${cl.id}/courses`, staff.coordinator.token, { protocolId: 'kap-office' });
  await new LiveCourse(stack.temporal, stack.db, course.id, getProtocol('kap-office', 1)!).answerAll('screening');
  await ok('POST', `/api/courses/${course.id}/screening`, staff.prescriber.token, { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
  await ok('POST', `/api/courses/${course.id}/clearance`, staff.prescriber.token, { decision: 'approved', reason: 'cleared' });
  await ok('POST', `/api/courses/${course.id}/consent`, staff.coordinator.token, { documentVersion: 'v1', signedByClient: true, prescriberSigned: true });
  for (const n of [1, 2, 3]) {
    await ok('POST', `/api/courses/${course.id}/schedule`, staff.coordinator.token, { stepKey: `prep-${n}`, startsInHours: 1 });
    await ok('POST', `/api/courses/${course.id}/session-complete`, staff.therapist.token, { stepKey: `prep-${n}` });
  }
  await ok('POST', `/api/courses/${course.id}/schedule`, staff.coordinator.token, { stepKey: 'dose-1', startsInHours: 1 });
  return { clientId: cl.id, courseId: course.id };
}

describe('dashboard forms keep what was typed, in headless Chromium', () => {
  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    stack = await startTestStack({ env: { PUBLIC_URL: base } });
    call = client(stack.app);
    await stack.app.listen({ port, host: '127.0.0.1' });
    await stack.db.insertInto('clinics').values({ id: clinicId, name: `Browser forms ${U}`, timezone: 'America/Chicago' }).execute();
    staff = { prescriber: await makeStaff('prescriber', 'Dr Pat Reyes'), coordinator: await makeStaff('coordinator', 'Cam Coordinator'), therapist: await makeStaff('therapist', 'Tess Therapist') };
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    for (const c of (await stack?.db.selectFrom('courses').select('workflow_id').where('clinic_id', '=', clinicId).where('ended_at', 'is', null).execute()) ?? []) {
      await stack.temporal.workflow.getHandle(c.workflow_id).terminate('test cleanup').catch(() => undefined);
    }
    await stack?.stop();
  });

  test('a prescriber types seven pre-dose numbers, one out of range: 400, the error beside it, all seven kept; every control labelled once, no id repeated', async () => {
    const { clientId, courseId } = await readyToDose();
    const { ctx, page } = await signedIn(staff.prescriber);
    await page.goto(`${base}/clients/${clientId}`);
    await page.locator('#action-pre-dose-check form').waitFor({ state: 'attached' });

    // Every visible control of the client page (pre-dose, dose, vitals, discharge, no-show and the
    // course's other forms together) has exactly one label, and no id repeats.
    const audit = (await page.evaluate(`(() => {
      const ids = Array.from(document.querySelectorAll('[id]')).map((e) => e.id);
      const repeated = ids.filter((id, i) => ids.indexOf(id) !== i);
      const controls = Array.from(document.querySelectorAll('input, select, textarea')).filter((e) => e.type !== 'hidden');
      const badly = controls.filter((c) => !c.labels || c.labels.length !== 1).map((c) => c.name + ' (' + (c.labels ? c.labels.length : 0) + ' labels)');
      return { controls: controls.length, repeated, badly, vitalsLegends: Array.from(document.querySelectorAll('#action-vitals legend')).map((l) => l.textContent) };
    })()`)) as { controls: number; repeated: string[]; badly: string[]; vitalsLegends: string[] };
    expect(audit.controls).toBeGreaterThan(30);
    expect(audit.repeated).toEqual([]);
    expect(audit.badly).toEqual([]);
    expect(audit.vitalsLegends).toEqual(['Blood pressure', 'Heart rate and oxygen']);
    // A click on a label focuses its own form's field (ids used to repeat across pre-dose, vitals and discharge).
    await page.click('#action-vitals summary');
    await page.click('label[for="vitals-bloodPressure-diastolic"]');
    expect(await page.evaluate('document.activeElement && document.activeElement.id')).toBe('vitals-bloodPressure-diastolic');

    await page.click('#action-pre-dose-check summary');
    const typed: Array<[string, string]> = [
      ['#pre-dose-check-bloodPressure-systolic', '132'],
      ['#pre-dose-check-bloodPressure-diastolic', '84'],
      ['#pre-dose-check-heartRate', '76'],
      ['#pre-dose-check-spo2', '98'],
      ['#pre-dose-check-hoursSinceFood', '9'],
      ['#pre-dose-check-hoursSinceClearLiquids', '3'],
      ['#pre-dose-check-benzodiazepine-hoursSinceLastDose', '20000'],
    ];
    for (const [sel, v] of typed) await page.fill(sel, v);
    await page.check('#pre-dose-check-escortConfirmed-yes');
    await page.check('#pre-dose-check-benzodiazepine-taking');
    await page.selectOption('#pre-dose-check-pregnancy', 'not-applicable');
    await shot(page, '01-pre-dose-typed');
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/courses/${courseId}/actions/pre-dose-check`)),
      page.click('#action-pre-dose-check button[type=submit]'),
    ]);
    expect(response.status()).toBe(400);
    await page.locator('#error-summary').waitFor();
    await shot(page, '02-pre-dose-refused');
    for (const [sel, v] of typed) expect({ sel, value: await page.inputValue(sel) }).toEqual({ sel, value: v });
    expect(await page.isChecked('#pre-dose-check-escortConfirmed-yes')).toBe(true);
    expect(await page.isChecked('#pre-dose-check-benzodiazepine-taking')).toBe(true);
    expect(await page.inputValue('#pre-dose-check-pregnancy')).toBe('not-applicable');
    const bad = page.locator('#pre-dose-check-benzodiazepine-hoursSinceLastDose');
    expect(await bad.getAttribute('aria-invalid')).toBe('true');
    const described = await bad.getAttribute('aria-describedby');
    expect(await page.locator(`#${described}`).innerText()).toBe('must be 10000 or less');
    expect(await page.locator('[aria-invalid="true"]').count()).toBe(1);
    // The summary has the focus and links to the field.
    expect(await page.evaluate('document.activeElement && document.activeElement.id')).toBe('error-summary');
    await page.click('#error-summary a[href="#pre-dose-check-benzodiazepine-hoursSinceLastDose"]');
    expect(await page.evaluate('document.activeElement && document.activeElement.id')).toBe('pre-dose-check-benzodiazepine-hoursSinceLastDose');
    expect(await stack.db.selectFrom('course_vitals').select('id').where('course_id', '=', courseId).execute()).toEqual([]);

    // Corrected in place, it is recorded.
    await page.fill('#pre-dose-check-benzodiazepine-hoursSinceLastDose', '20');
    await page.click('#action-pre-dose-check button[type=submit]');
    await page.locator('.flash.ok').waitFor();
    expect(await stack.db.selectFrom('course_vitals').select(['systolic', 'diastolic', 'heart_rate', 'spo2']).where('course_id', '=', courseId).execute()).toEqual([{ systolic: 132, diastolic: 84, heart_rate: 76, spo2: 98 }]);
    await ctx.close();
  });

  test('a double-clicked note is recorded once', async () => {
    const cl = await ok('POST', '/api/clients', staff.coordinator.token, { clinicId, givenName: 'Nia', familyName: `Note-${uid()}`, email: `nia-${uid()}@example.org` });
    const course = await ok('POST', `/api/clients/${cl.id}/courses`, staff.coordinator.token, { protocolId: 'kap-office' });
    const { ctx, page } = await signedIn(staff.therapist);
    await page.goto(`${base}/clients/${cl.id}`);
    await page.click('#action-care-team-note summary');
    await page.fill('#care-team-note-note', 'Asked for morning sessions');
    await page.dblclick('#action-care-team-note button[type=submit]');
    await page.locator('.flash.ok').waitFor();
    const notes = await stack.db.selectFrom('course_events').select('id').where('course_id', '=', course.id).where('type', '=', 'care-team.note').execute();
    expect(notes).toHaveLength(1);
    await ctx.close();
  });

  test('a new client with a bad email comes back with every field as typed and the email marked', async () => {
    const { ctx, page } = await signedIn(staff.coordinator);
    await page.goto(`${base}/clients`);
    await page.selectOption('#clinic', clinicId);
    await page.fill('#given', 'Robin');
    await page.fill('#family', `Vale-${U}`);
    // Passes the browser's own check (no dot needed there), refused by the server.
    await page.fill('#cemail', 'robin@example');
    await page.fill('#phone', '+1 555 010 0199');
    await page.fill('#dob', '1991-03-04');
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/clients')), page.click('#new-client button[type=submit]')]);
    expect(response.status()).toBe(400);
    await page.locator('#error-summary').waitFor();
    await shot(page, '03-new-client-refused');
    expect(page.url()).toBe(`${base}/clients`);
    expect({ clinic: await page.inputValue('#clinic'), given: await page.inputValue('#given'), family: await page.inputValue('#family'), email: await page.inputValue('#cemail'), phone: await page.inputValue('#phone'), dob: await page.inputValue('#dob') }).toEqual({
      clinic: clinicId,
      given: 'Robin',
      family: `Vale-${U}`,
      email: 'robin@example',
      phone: '+1 555 010 0199',
      dob: '1991-03-04',
    });
    expect(await page.getAttribute('#cemail', 'aria-invalid')).toBe('true');
    expect(await page.locator('#cemail-error').innerText()).toMatch(/email/i);
    await page.fill('#cemail', 'robin@example.org');
    await page.click('#new-client button[type=submit]');
    await page.waitForURL(/\/clients\/[0-9a-f-]{36}\?ok=/);
    await ctx.close();
  });
});

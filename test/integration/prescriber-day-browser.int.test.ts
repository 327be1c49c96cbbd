// Issue #18 item 8, a prescriber's day end to end in a real browser (Debian's chromium driven by
// playwright-core, launched as in e2e-dashboard; axe-core run as in a11y-browser). The clinic, the
// client, the enrollment and everything other roles and the client do are seeded through the API;
// the prescriber's own actions go through the pages only: log in, find the client, record medical
// clearance, then on the first dosing session the pre-dose check, the dose, the timed vitals and the
// discharge, reading back on the client page after each that the course moved on. The course runs at
// 3600× (a protocol hour per second) so the 30-minute reading and the 120-minute discharge fall due
// within seconds; a reading refused only because its time has not come ("min left") is sent again,
// as LiveCourse.whenDue does. Every page visited is screenshot at 1280 and 390 px into
// test-artifacts/prescriber-day/ and must have no serious or critical axe violation.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, seriousAxeViolations } from './browser';
import { createStaff } from '../../src/api/routes/staff';
import { getProtocol } from '../../src/domain';
import { freePort } from '../../src/temporal/dev-server';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, tokenFor, uid } from './api-helpers';
import { LiveCourse, NO_HARD_STOPS, NO_REVIEW_ITEMS } from './course-driver';

const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts/prescriber-day');

let stack: TestStack;
let browser: Browser;
let base: string;
const run = uid();
const clinicId = `rx-day-${run}`;
const password = `juniper lighthouse ${run} ferry`;
const prescriberEmail = `rx-day-${run}@example.org`;

describe("a prescriber's clinical day in headless Chromium", () => {
  let courseId = '';
  let clientUrl = '';
  let live: LiveCourse;
  const violations: Record<string, string[]> = {};

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startTestStack();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    await stack.app.listen({ port, host: '127.0.0.1' });
    const call = client(stack.app);
    const admin = await tokenFor(stack.db, 'admin');
    expect((await call('POST', '/api/clinics', { token: admin, body: { id: clinicId, name: 'Juniper Ketamine Clinic', timezone: 'America/Denver' } })).status).toBe(201);
    await createStaff(stack.db, { email: prescriberEmail, displayName: 'Dr Rae Okafor', role: 'prescriber', clinicIds: [clinicId], password });
    const c = await call('POST', '/api/clients', { token: admin, body: { clinicId, givenName: 'Mira', familyName: `Stone ${run}`, email: `mira-${run}@example.org` } });
    expect(c.status).toBe(201);
    clientUrl = `${base}/clients/${c.body.id}`;
    const course = await call('POST', `/api/clients/${c.body.id}/courses`, { token: admin, body: { protocolId: 'kap-office', timeScale: 3600 } });
    expect(course.status).toBe(201);
    courseId = course.body.id;
    live = new LiveCourse(stack.temporal, stack.db, courseId, getProtocol('kap-office', 1)!);
    // The client answers the baseline; the coordinator records screening: clearance is the prescriber's.
    await live.waitOpen('screening');
    await live.answerAll('screening');
    expect((await call('POST', `/api/courses/${courseId}/screening`, { token: admin, body: { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS } })).status).toBe(200);
    await live.waitOpen('clearance');
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (courseId) await stack?.temporal.workflow.getHandle((await stack.db.selectFrom('courses').select('workflow_id').where('id', '=', courseId).executeTakeFirstOrThrow()).workflow_id).terminate('prescriber-day cleanup').catch(() => undefined);
    await stack?.stop();
  });

  /** Screenshots the page at 390 and 1280 px and collects its serious and critical axe findings. */
  async function record(page: Page, name: string): Promise<void> {
    for (const width of [390, 1280]) {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
      await page.screenshot({ path: path.join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
      const v = await seriousAxeViolations(page);
      if (v.length) violations[`${name} @${width}px`] = v;
    }
  }

  /** Reloads the client page until its current state shows this step (and this session status); returns the state section's text. */
  async function currentStepIs(page: Page, step: string, session?: string): Promise<string> {
    await eventually(async () => {
      await page.goto(clientUrl);
      if ((await page.locator('#state dd[data-step]').getAttribute('data-step')) !== step) return false;
      return session === undefined || (await page.locator('#state #session').getAttribute('data-session')) === session;
    }, 30_000, 250);
    return page.locator('#state').innerText();
  }

  /** Opens an action's form on the client page, lets `fill` fill it, sends it; retries while it is refused only as not yet due. */
  async function submit(page: Page, action: string, fill: () => Promise<void>): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const form = page.locator(`#action-${action}`);
      if ((await form.getAttribute('open')) === null) await form.locator('summary').click();
      await fill();
      await form.locator('button[type=submit]').click();
      // Recorded (a flash on the page it comes back to) or refused (the form re-rendered with its problems).
      await page.locator('.flash.ok, .flash.error, #error-summary, .field-error[role=alert]').first().waitFor();
      const flash = page.locator('.flash.ok');
      if ((await flash.count()) > 0) return flash.innerText();
      const refused = await page.locator('main').innerText();
      if (!/min left/.test(refused) || attempt > 200) throw new Error(`${action} not recorded:\n${refused.slice(0, 1500)}`);
      await new Promise((r) => setTimeout(r, 250));
      await page.goto(clientUrl);
    }
  }

  test('logs in, records clearance, then the pre-dose check, the dose, the timed vitals and the discharge of the first dosing session', async () => {
    const call = client(stack.app);
    const admin = await tokenFor(stack.db, 'admin');
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    const page = await context.newPage();

    // Log in, and find the client from the clients list.
    await page.goto(`${base}/`);
    await page.waitForURL(/\/login/);
    await record(page, '01-login');
    await page.fill('#email', prescriberEmail);
    await page.fill('#password', password);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/`);
    await record(page, '02-home');
    await page.goto(`${base}/clients`);
    await record(page, '03-clients');
    await page.getByRole('link', { name: `Stone ${run}, Mira` }).first().click();
    await page.waitForURL(new RegExp(`/clients/[0-9a-f-]{36}`));
    expect(page.url().split(/[?#]/)[0]).toBe(clientUrl);

    // Medical clearance: the course moves on to consent.
    expect(await currentStepIs(page, 'clearance')).toMatch(/Medical clearance/);
    await record(page, '04-client-clearance');
    expect(await submit(page, 'clearance', () => page.check('#action-clearance input[name=decision][value=approved]'))).toMatch(/Recorded/);
    expect(await currentStepIs(page, 'consent')).toMatch(/Informed consent/);
    await record(page, '05-client-cleared');

    // Consent and the three preparation sessions are other people's work (seeded); the client answers
    // the before-dose questions (no dose without her own C-SSRS and PHQ-9).
    const act = async (action: string, body: unknown) => {
      const res = await call('POST', `/api/courses/${courseId}/${action}`, { token: admin, body });
      expect(`${action} → ${res.status}`).toBe(`${action} → 200`);
    };
    await act('consent', { documentVersion: 'v1', signedByClient: true });
    for (const n of [1, 2, 3]) {
      await live.waitOpen(`prep-${n}`);
      await act('schedule', { stepKey: `prep-${n}`, startsInHours: 0 });
      await act('session-complete', { stepKey: `prep-${n}` });
    }
    await live.waitOpen('dose-1');
    await act('schedule', { stepKey: 'dose-1', startsInHours: 0 });
    await live.answerAll('dose-1');

    // The dosing session, through the client page.
    const state = await currentStepIs(page, 'dose-1', 'scheduled');
    expect(state).toMatch(/Dosing session 1/);
    expect(state).toMatch(/Session\s+scheduled for \d{4}-\d\d-\d\d \d\d:\d\d M[SD]T\n/);
    await record(page, '06-client-dose-1');
    expect(await submit(page, 'pre-dose-check', async () => {
      await page.fill('#pre-dose-check-bloodPressure-systolic', '124');
      await page.fill('#pre-dose-check-bloodPressure-diastolic', '78');
      await page.fill('#pre-dose-check-hoursSinceFood', '6');
      await page.fill('#pre-dose-check-hoursSinceClearLiquids', '2');
      await page.check('#pre-dose-check-escortConfirmed-yes');
      await page.selectOption('#pre-dose-check-pregnancy', 'negative');
    })).toMatch(/Recorded/);
    expect(await currentStepIs(page, 'dose-1', 'checked-in')).toMatch(/Session\s+pre-dose check passed, not dosed yet/);
    await record(page, '07-client-pre-dose-checked');

    expect(await submit(page, 'dose', async () => {
      await page.selectOption('#dose-route', 'sublingual');
      await page.fill('#dose-doseMg', '100');
      await page.fill('#dose-lotNumber', 'KL-2291');
    })).toMatch(/Recorded/);
    const dosed = await currentStepIs(page, 'dose-1', 'dosed');
    expect(dosed).toMatch(/Session\s+in monitoring; dosed \d{4}-\d\d-\d\d \d\d:\d\d M[SD]T\n/);
    expect(dosed).not.toMatch(/readings after the dose/);
    await record(page, '08-client-dosed');

    expect(await submit(page, 'vitals', async () => {
      await page.fill('#vitals-atMinutes', '30');
      await page.fill('#vitals-bloodPressure-systolic', '132');
      await page.fill('#vitals-bloodPressure-diastolic', '84');
      await page.fill('#vitals-spo2', '97');
    })).toMatch(/Recorded/);
    await eventually(async () => {
      await page.goto(clientUrl);
      return /readings after the dose at 30 min/.test(await page.locator('#state #session').innerText());
    }, 30_000, 250);
    expect(await page.locator('#state dd[data-step]').getAttribute('data-step')).toBe('dose-1');
    await record(page, '09-client-vitals-30');

    expect(await submit(page, 'discharge', async () => {
      await page.fill('#discharge-bloodPressure-systolic', '126');
      await page.fill('#discharge-bloodPressure-diastolic', '80');
      await page.fill('#discharge-spo2', '98');
      const boxes = page.locator('#action-discharge input[type=checkbox]');
      for (let i = 0, n = await boxes.count(); i < n; i++) await boxes.nth(i).check();
      await page.check('#discharge-responsibleAdultPresent-yes');
    })).toMatch(/Recorded/);
    const after = await currentStepIs(page, 'integration-1');
    expect(after).toMatch(/Integration session 1/);
    expect(after).not.toMatch(/Session\s/); // an integration step has no dosing session row
    expect(await page.locator('#timeline + table tbody').innerText()).toMatch(/session discharged\s+Dr Rae Okafor \(prescriber\)/);
    await record(page, '10-client-discharged');

    expect(violations).toEqual({});
    await context.close();
  }, 150_000);
});

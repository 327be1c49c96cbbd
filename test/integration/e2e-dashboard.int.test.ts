// End to end in a real browser (Debian's chromium driven by playwright-core, no browser download):
// a coordinator logs in, adds and enrolls a client, records screening and clearance, finds a breached
// step on the stuck board and unsticks it, sends an assessment, and the client opens the link from
// the delivered email (embedded SMTP sink) and submits it. Screenshots go to test-artifacts/e2e/.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser';
import { createActivities } from '../../src/activities';
import { createStaff } from '../../src/api/routes/staff';
import type { Db } from '../../src/db/connect';
import { createSmtpMailer } from '../../src/mail/mailer';
import { startSmtpSink, type SmtpSink } from '../../src/mail/sink';
import { freePort } from '../../src/temporal/dev-server';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { uid } from './api-helpers';

const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts/e2e');

/** Ticks "Absent" for every screening question (the form offers present / absent / not assessed, none chosen). */
async function answerScreeningAbsent(page: Page): Promise<void> {
  const absent = page.locator('#action-screening input[type=radio][value=no]');
  for (let i = 0, n = await absent.count(); i < n; i++) await absent.nth(i).check();
}

let stack: TestStack;
let sink: SmtpSink;
let browser: Browser;
let base: string;
const clinicId = `e2e-${uid()}`;
const password = 'correct-horse-battery-e2e';
const email = `coordinator-${uid()}@example.org`;
const clientEmail = `robin-${uid()}@example.org`;

async function shot(page: Page, name: string) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

describe('dashboard and client page in headless Chromium', () => {
  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const appPort = await freePort();
    const smtpPort = await freePort();
    base = `http://127.0.0.1:${appPort}`;
    // The worker's activities send through a real SMTP sink on loopback. The database handle is
    // bound late (the embedded PGlite serves one connection, so everything shares the stack's pool).
    const dbRef: { db?: Db } = {};
    const lateDb = new Proxy({} as Db, { get: (_t, k) => { const v = (dbRef.db as any)[k]; return typeof v === 'function' ? v.bind(dbRef.db) : v; } });
    const mailer = createSmtpMailer({ url: `smtp://127.0.0.1:${smtpPort}`, from: 'KAP Clinic <no-reply@kap.local>', timeoutSeconds: 5 });
    const secretKey = 'test-secret-key-0123456789abcdef0123456789';
    stack = await startTestStack({
      env: { PUBLIC_URL: base, SMTP_URL: `smtp://127.0.0.1:${smtpPort}` },
      workerOptions: { activities: createActivities({ db: lateDb, mailer, mail: { publicUrl: base, secretKey }, secretKey }) },
    });
    dbRef.db = stack.db;
    sink = await startSmtpSink({ db: stack.db, port: smtpPort });
    await stack.app.listen({ port: appPort, host: '127.0.0.1' });
    await stack.db.insertInto('clinics').values({ id: clinicId, name: 'E2E Clinic', timezone: 'UTC' }).execute();
    await createStaff(stack.db, { email, displayName: 'Casey Admin', role: 'admin', clinicIds: [clinicId], password });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    for (const c of (await stack?.db.selectFrom('courses').select('workflow_id').where('clinic_id', '=', clinicId).execute()) ?? []) {
      await stack.temporal.workflow.getHandle(c.workflow_id).terminate('e2e cleanup').catch(() => undefined);
    }
    await sink?.stop();
    await stack?.stop();
  });

  test('enroll, screening and clearance, unstick a breached step, assessment from the email', async () => {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();

    // Log in.
    await page.goto(`${base}/`);
    await page.waitForURL(/\/login/);
    await shot(page, '01-login');
    await page.fill('#email', email);
    await page.fill('#password', password);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/`);
    await page.getByRole('heading', { name: 'Stuck board' }).waitFor();

    // Add a client and enroll them (real time scale).
    await page.goto(`${base}/clients`);
    await page.selectOption('#clinic', clinicId);
    await page.fill('#given', 'Robin');
    await page.fill('#family', 'Vale');
    await page.fill('#cemail', clientEmail);
    await page.click('#new-client button[type=submit]');
    await page.waitForURL(/\/clients\/[0-9a-f-]{36}/, { timeout: 5000 }).catch(async (e) => {
      throw new Error(`${page.url()}\n${await page.locator('main').innerText()}\n${e}`);
    });
    const clientUrl = page.url().split('?')[0]!;
    await page.selectOption('#protocol', 'kap-office');
    await page.click('#enroll button[type=submit]');
    await page.getByText('Enrolled').first().waitFor();

    // Screening (every hard stop assessed and absent) and clearance.
    await eventually(async () => {
      await page.goto(clientUrl);
      return (await page.locator('#action-screening form').count()) > 0;
    }, 30_000, 500);
    await shot(page, '02-client-screening');
    // Nothing is assumed: every hard stop and review item is answered (here: absent).
    await answerScreeningAbsent(page);
    await page.click('#action-screening button[type=submit]');
    await page.locator('.flash.ok').waitFor();
    await eventually(async () => {
      await page.goto(clientUrl);
      return (await page.locator('#action-clearance form').count()) > 0;
    }, 30_000, 500);
    await page.check('#action-clearance input[name=decision][value=approved]');
    await page.click('#action-clearance button[type=submit]');
    await page.locator('.flash.ok').waitFor();
    expect(await page.locator('.flash.ok').innerText()).toMatch(/Recorded/);

    // A second client on a fast clock (a protocol day per second): screening breaches in ~7 s.
    await page.goto(`${base}/clients`);
    await page.selectOption('#clinic', clinicId);
    await page.fill('#given', 'Sam');
    await page.fill('#family', 'Late');
    await page.fill('#cemail', `sam-${uid()}@example.org`);
    await page.click('#new-client button[type=submit]');
    await page.waitForURL(/\/clients\/[0-9a-f-]{36}/);
    const samUrl = page.url().split('?')[0]!;
    await page.click('#enroll summary');
    await page.fill('#ts', '86400');
    await page.click('#enroll button[type=submit]');
    await page.getByText('Enrolled').first().waitFor();

    // The stuck board shows the breached step with its owner and the action that unsticks it.
    const row = page.locator('#stuck tr', { hasText: 'Sam Late' });
    await eventually(async () => {
      await page.goto(`${base}/?clinicId=${clinicId}&step=screening`);
      return (await row.count()) > 0;
    }, 45_000, 1000);
    expect(await row.innerText()).toMatch(/screening/);
    expect(await row.innerText()).toMatch(/coordinator/);
    await shot(page, '03-stuck-board');
    await row.getByRole('link', { name: 'Record screening' }).click();
    await page.waitForURL(new RegExp(`${samUrl.split('/').pop()}#action-screening`));
    await answerScreeningAbsent(page);
    await page.click('#action-screening button[type=submit]');
    await page.locator('.flash.ok').waitFor();
    await eventually(async () => {
      await page.goto(`${base}/?clinicId=${clinicId}&step=screening`);
      return (await row.count()) === 0;
    }, 20_000, 500);

    // Send Robin an assessment now; it arrives in the outbox of the embedded SMTP sink.
    await page.goto(clientUrl);
    await page.click('#action-send-assessment summary');
    await page.click('#action-send-assessment button[type=submit]');
    await page.locator('.flash.ok').waitFor();
    // Wait for the invitation of the assessment just sent (the baseline invitation came at screening).
    let link = '';
    await eventually(async () => {
      await page.goto(`${base}/outbox`);
      const rows = page.locator('#outbox tr', { hasText: clientEmail });
      if ((await rows.count()) < 2) return false;
      await rows.first().locator('a[href^="/outbox/"]').click();
      const found = (await page.locator('#message-text').innerText()).match(/https?:\/\/\S+\/a\/[A-Za-z0-9_.-]+/g);
      link = found?.[found.length - 1] ?? '';
      return !!link;
    }, 40_000, 1000);
    await page.goto(`${base}/outbox`);
    await shot(page, '04-outbox');
    expect(link.startsWith(base)).toBe(true);

    // The client opens the link on a phone-sized screen, with no session.
    const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true })).newPage();
    await phone.goto(link);
    await phone.getByRole('heading', { name: 'A few questions from your clinic' }).waitFor({ timeout: 10_000 }).catch(async (e) => {
      throw new Error(`${link}\n${await phone.locator('body').innerText()}\n${e}`);
    });
    await shot(phone, '05-client-form');
    // Answer every question with its first option, and PHQ-9 item 9 "Several days".
    // (A string, so this file needs no DOM types: it runs in the page.)
    await phone.evaluate(`(() => {
      const names = new Set(Array.from(document.querySelectorAll('input[type=radio]')).map((i) => i.name));
      for (const n of names) {
        const first = document.querySelector('input[name="' + n + '"][value="0"], input[name="' + n + '"][value="false"]');
        if (first && !first.disabled) first.checked = true;
      }
    })()`);
    if ((await phone.locator('input[name="phq9.9"]').count()) > 0) await phone.check('input[name="phq9.9"][value="1"]');
    await phone.click('button[type=submit]');
    await phone.getByRole('heading', { name: 'Thank you' }).waitFor();
    const thanks = await phone.locator('main').innerText();
    expect(thanks).toMatch(/may not be watching in real time/);
    expect(thanks).toMatch(/988/);
    expect(thanks).not.toMatch(/score|total|band/i);
    await shot(phone, '06-client-thanks-crisis');
    // The link is single use.
    await phone.goto(link);
    await phone.getByRole('heading', { name: 'Already answered' }).waitFor();

    // Back in the dashboard: the answers came back scored, and the safety queue holds the course.
    await eventually(async () => {
      const done = await stack.db.selectFrom('assessments').select('id').where('status', '=', 'completed').where('instrument_id', '=', 'phq9').where('course_id', 'in', stack.db.selectFrom('courses').select('id').where('clinic_id', '=', clinicId)).executeTakeFirst();
      return !!done;
    }, 30_000, 500);
    await page.goto(clientUrl);
    await page.locator('figure svg[aria-labelledby^="chart-phq9"]').waitFor();
    await shot(page, '07-client-page');
    await page.goto(`${base}/safety`);
    await eventually(async () => {
      await page.goto(`${base}/safety`);
      return (await page.locator('tr', { hasText: 'Robin Vale' }).count()) > 0;
    }, 30_000, 1000);
    await shot(page, '08-safety-queue');
    await page.goto(`${base}/assessments`);
    await shot(page, '09-assessments');
    await page.goto(`${base}/outcomes`);
    await shot(page, '10-outcomes');
  }, 300_000);
});

// The courses worklist in a real browser (Debian's chromium through playwright-core), as a coordinator
// finds a client: log in, open Courses, filter and search by name, one click to the client's page; and
// the same page at phone width. Screenshots in test-artifacts/worklist.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from './browser';
import { createStaff } from '../../src/api/routes/staff';
import { getProtocol } from '../../src/domain';
import { freePort } from '../../src/temporal/dev-server';
import { startTestStack, type TestStack } from '../harness/stack';
import { uid } from './api-helpers';

const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts/worklist');

let stack: TestStack;
let browser: Browser;
let base: string;
const run = uid();
const clinicId = `wlb-${run}`;
const email = `wl-coordinator-${run}@example.org`;
const password = 'worklist-browser-passphrase';
const N = 60;

describe('the courses worklist in headless Chromium', () => {
  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startTestStack();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    await stack.app.listen({ port, host: '127.0.0.1' });
    await stack.db.insertInto('clinics').values({ id: clinicId, name: 'Harbour Clinic', timezone: 'America/Los_Angeles' }).execute();
    await createStaff(stack.db, { email, displayName: 'Cam Coordinator', role: 'coordinator', clinicIds: [clinicId], password });
    const snapshot = JSON.stringify(getProtocol('kap-office'));
    const rows = Array.from({ length: N }, (_, i) => i);
    await stack.db.insertInto('clients').values(rows.map((i) => ({ id: `wlb-client-${run}-${i}`, clinic_id: clinicId, given_name: `Alex${i}`, family_name: i === 42 ? 'Marchetti' : `Rowe${i}`, email: `wlb-${i}-${run}@example.org` }))).execute();
    await stack.db
      .insertInto('courses')
      .values(rows.map((i) => ({ id: `wlb-course-${run}-${i}`, client_id: `wlb-client-${run}-${i}`, clinic_id: clinicId, workflow_id: `course-wlb-course-${run}-${i}`, protocol_id: 'kap-office', protocol_version: 1, protocol_snapshot: snapshot, current_step: 'clearance', current_step_deadline: new Date(Date.now() + (i - 5) * 3_600_000 + 1_800_000) })))
      .execute();
    await stack.db
      .insertInto('course_steps')
      .values(rows.map((i) => ({ id: `wlb-course-${run}-${i}/clearance`, course_id: `wlb-course-${run}-${i}`, clinic_id: clinicId, step_key: 'clearance', kind: 'clearance', state: 'open' as const, owner_role: 'prescriber', entered_at: new Date(Date.now() - 86_400_000), deadline_at: new Date(Date.now() + (i - 5) * 3_600_000 + 1_800_000) })))
      .execute();
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (stack) {
      await stack.db.deleteFrom('courses').where('clinic_id', '=', clinicId).execute();
      await stack.db.deleteFrom('clients').where('clinic_id', '=', clinicId).execute();
    }
    await stack?.stop();
  });

  test('a coordinator filters, searches by name and reaches the client in two clicks; pages; phone width', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    // Script errors (a CSP refusal among them) and failed requests, but the browser's own favicon probe.
    page.on('console', (m) => (m.type() === 'error' && !m.text().startsWith('Failed to load resource') ? problems.push(m.text()) : undefined));
    page.on('response', (r) => (r.status() >= 400 && !r.url().endsWith('/favicon.ico') ? problems.push(`${r.status()} ${r.url()}`) : undefined));
    await page.goto(`${base}/courses`);
    await page.waitForURL(/\/login/);
    await page.fill('#email', email);
    await page.fill('#password', password);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/courses`);
    await page.getByRole('heading', { name: 'Courses' }).waitFor();
    expect(await page.getByRole('link', { name: 'Courses', exact: true }).getAttribute('aria-current')).toBe('page');
    expect(await page.locator('#worklist tbody tr').count()).toBe(50);
    expect(await page.getByRole('status').first().innerText()).toContain(`${N} open courses`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'courses-desktop.png'), fullPage: true });

    // Overdue only: the five courses past their deadline, labelled with the filter's count.
    await page.getByLabel('Overdue only (5)').check();
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(/overdue=true/);
    expect(await page.locator('#worklist tbody tr').count()).toBe(5);
    expect(await page.locator('#worklist tbody tr').first().locator('.badge.bad').innerText()).toBe('overdue');

    // Next page, then search by name: click one is the search, click two the client's row.
    await page.goto(`${base}/courses`);
    await page.getByRole('link', { name: 'Next page' }).click();
    expect(await page.locator('#worklist tbody tr').count()).toBe(N - 50);
    await page.getByLabel('Client name').fill('marchetti');
    await page.getByLabel('Client name').press('Enter');
    await page.waitForURL(/q=marchetti/);
    expect(await page.locator('#worklist tbody tr').count()).toBe(1);
    await page.getByRole('link', { name: 'Marchetti, Alex42' }).click();
    await page.waitForURL(`${base}/clients/wlb-client-${run}-42`);
    await page.getByRole('heading', { name: 'Alex42 Marchetti' }).waitFor();

    // A search that finds nothing says what it hid and how to clear it.
    await page.goto(`${base}/courses?q=nobody&overdue=true`);
    expect(await page.locator('.empty').innerText()).toContain(`No open course named “nobody…”, overdue. The filters hide all ${N} open courses in your clinics`);
    await page.getByRole('link', { name: 'clear the filters' }).click();
    expect(await page.locator('#worklist tbody tr').count()).toBe(50);

    // Phone width: the page still lays out (no horizontal overflow of the page itself).
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/courses`);
    const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(overflow).toBeLessThanOrEqual(1);
    await page.screenshot({ path: path.join(ARTIFACTS, 'courses-phone.png'), fullPage: true });
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);
});

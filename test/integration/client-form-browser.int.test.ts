// Issue #18 item 1 in a real browser (Debian's chromium driven by playwright-core, as in
// e2e-dashboard): a client on a 390×844 phone completes the four screening forms with the keyboard
// only (Tab, Space, arrow keys, Enter). C-SSRS 6b appears only once 6 is Yes and goes again when 6 is
// cleared with "Clear this answer"; she answers 6 = No and her answers go through on the first try.
// axe-core runs on this form in a11y-browser.int.test.ts; here the page is also checked
// structurally: a label for every input, unique ids, a legend for every question, one
// h1, nothing wider than the screen. Screenshots go to test-artifacts/client-form/.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser';
import { createStaff } from '../../src/api/routes/staff';
import { createClientLinks } from '../../src/security/client-links';
import { freePort } from '../../src/temporal/dev-server';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, tokenFor, uid } from './api-helpers';

const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts/client-form');

let stack: TestStack;
let browser: Browser;
let base: string;

/** Structural accessibility checks run in the page (a string, so this file needs no DOM types). */
const STRUCTURE = `(() => {
  const problems = [];
  const ids = new Map();
  for (const el of Array.from(document.querySelectorAll('[id]'))) ids.set(el.id, (ids.get(el.id) || 0) + 1);
  for (const [id, n] of ids) if (n > 1) problems.push('id ' + id + ' used ' + n + ' times');
  for (const i of Array.from(document.querySelectorAll('input, select, textarea, button'))) {
    if (i.type === 'hidden') continue;
    const named = i.tagName === 'BUTTON' ? (i.textContent || '').trim() : Array.from(i.labels || []).map((l) => l.textContent.trim()).join('');
    if (!named) problems.push('no label for ' + (i.id || i.name || i.outerHTML.slice(0, 60)));
  }
  for (const r of Array.from(document.querySelectorAll('input[type=radio]'))) {
    const fs = r.closest('fieldset');
    if (!fs || !fs.querySelector(':scope > legend') || !fs.querySelector(':scope > legend').textContent.trim()) problems.push('radio ' + r.id + ' outside a fieldset with a legend');
  }
  for (const fs of Array.from(document.querySelectorAll('fieldset[aria-describedby]'))) {
    for (const id of fs.getAttribute('aria-describedby').split(' ')) if (!document.getElementById(id)) problems.push(fs.id + ' described by missing ' + id);
  }
  if (document.querySelectorAll('h1').length !== 1) problems.push(document.querySelectorAll('h1').length + ' h1');
  if (document.documentElement.lang !== 'en') problems.push('no lang');
  if (document.documentElement.scrollWidth > window.innerWidth) problems.push('page ' + document.documentElement.scrollWidth + ' px wide on a ' + window.innerWidth + ' px screen');
  return problems;
})()`;

const focused = (page: Page) =>
  page.evaluate(`(() => { const e = document.activeElement; return e ? { tag: e.tagName, type: e.getAttribute('type') || '', name: e.getAttribute('name') || '', value: e.getAttribute('value'), text: (e.textContent || '').trim() } : null; })()`) as Promise<{ tag: string; type: string; name: string; value: string | null; text: string } | null>;
/** The values offered by a radio group, in order, skipping disabled ones (the keyboard cannot reach them). */
const groupValues = (page: Page, name: string) => page.evaluate(`Array.from(document.querySelectorAll('input[type=radio][name="${name}"]:not([disabled])')).map((i) => i.value)`) as Promise<string[]>;
const visible = (page: Page, id: string) => page.locator(`#${id}`).isVisible();

describe('the client form in headless Chromium on a phone', () => {
  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startTestStack();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    await stack.app.listen({ port, host: '127.0.0.1' });
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test('a client completes the screening forms with the keyboard only, 6 = No, and they go through on the first try', async () => {
    const call = client(stack.app);
    const admin = await tokenFor(stack.db, 'admin');
    const clinicId = `kbd-${uid()}`;
    expect((await call('POST', '/api/clinics', { token: admin, body: { id: clinicId, name: 'Riverside Ketamine Clinic', timezone: 'America/Los_Angeles' } })).status).toBe(201);
    for (const role of ['prescriber', 'therapist', 'coordinator'] as const) {
      await createStaff(stack.db, { email: `${role}-${uid()}@kbd.example`, displayName: `${role} ${clinicId}`, role, clinicIds: [clinicId], password: `tidal ${uid()} harbour lantern` });
    }
    const c = await call('POST', '/api/clients', { token: admin, body: { clinicId, givenName: 'Ana', familyName: `Keys ${uid()}`, email: `ana-${uid()}@example.org` } });
    const course = await call('POST', `/api/clients/${c.body.id}/courses`, { token: admin, body: { protocolId: 'kap-office' } });
    const courseId = course.body.id as string;
    expect((await call('POST', `/api/courses/${courseId}/send-assessment`, { token: admin, body: { instruments: ['cssrs', 'phq9', 'gad7', 'pcl5'] } })).status).toBe(200);
    const row = await eventually(
      async () => (await stack.db.selectFrom('assessments').select('id').where('course_id', '=', courseId).where('instrument_id', '=', 'pcl5').where('id', 'not like', `${courseId}/screening/%`).executeTakeFirst())?.id,
      30_000,
      100,
    );
    const assessmentId = row.slice(0, row.lastIndexOf('/'));
    const links = createClientLinks({ db: stack.db, secretKey: stack.config.SECRET_KEY!, publicUrl: base });
    const link = `${base}/a/${links.createClientLink({ assessmentId, expiresAt: new Date(Date.now() + 3 * 86_400_000) }).token}`;

    const page = await (await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })).newPage();
    await page.goto(link);
    await page.getByRole('heading', { name: 'A few questions from your clinic' }).waitFor();
    expect(await page.title()).toBe('A few questions from your clinic · Riverside Ketamine Clinic');
    expect(await page.locator('h2', { hasText: 'About your mood' }).isVisible()).toBe(true);
    expect(await page.locator('.progress').first().innerText()).toMatch(/^Part 1 of 4/);
    await page.screenshot({ path: path.join(ARTIFACTS, '00-form-first-screen-phone.png') });
    await page.screenshot({ path: path.join(ARTIFACTS, '01-form-phone.png'), fullPage: true });
    expect(await page.evaluate(STRUCTURE)).toEqual([]);
    // The conditional questions are hidden until their condition holds; nothing is answered yet.
    for (const id of ['f-cssrs-3', 'f-cssrs-4', 'f-cssrs-5', 'f-cssrs-6b']) expect(await visible(page, id)).toBe(false);
    expect(await page.locator('[data-clear]:visible').count()).toBe(0);

    // Her honest answers: a little low mood, some worry, no stressful experience, C-SSRS all No.
    const want: Record<string, string> = {
      ...Object.fromEntries([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => [`phq9.${n}`, n === 9 ? '0' : '1'])),
      ...Object.fromEntries([1, 2, 3, 4, 5, 6, 7].map((n) => [`gad7.${n}`, n <= 2 ? '2' : '0'])),
      ...Object.fromEntries(Array.from({ length: 20 }, (_, k) => [`pcl5.${k + 1}`, '0'])),
      'cssrs.1': 'false',
      'cssrs.2': 'false',
      'cssrs.6': 'false',
    };
    const answered = new Set<string>();
    let clearedSix = false;
    /** Chooses a value in the focused radio group: Space checks the first option, each ArrowDown the next. */
    const choose = async (name: string, value: string) => {
      const k = (await groupValues(page, name)).indexOf(value);
      expect(k).toBeGreaterThanOrEqual(0);
      await page.keyboard.press('Space');
      for (let i = 0; i < k; i++) await page.keyboard.press('ArrowDown');
    };
    let submit = false;
    for (let steps = 0; steps < 400 && !submit; steps++) {
      await page.keyboard.press('Tab');
      const f = await focused(page);
      if (f?.tag === 'BUTTON' && f.type === 'submit') submit = true;
      else if (f?.type === 'radio' && f.name in want && !answered.has(f.name)) {
        if (f.name === 'cssrs.6' && !clearedSix) {
          // She first picks Yes: 6b appears. Then she clears it with the keyboard: 6b goes again.
          await choose('cssrs.6', 'true');
          expect(await visible(page, 'f-cssrs-6b')).toBe(true);
          await page.screenshot({ path: path.join(ARTIFACTS, '02-cssrs-6b-shown-phone.png') });
          await page.keyboard.press('Tab');
          expect(await focused(page)).toMatchObject({ tag: 'BUTTON', text: 'Clear this answer' });
          await page.keyboard.press('Enter');
          expect(await page.locator('input[name="cssrs.6"]:checked').count()).toBe(0);
          expect(await visible(page, 'f-cssrs-6b')).toBe(false);
          expect(await focused(page)).toMatchObject({ type: 'radio', name: 'cssrs.6' });
          clearedSix = true;
        }
        await choose(f.name, want[f.name]!);
        answered.add(f.name);
      }
    }
    expect(submit).toBe(true);
    expect(clearedSix).toBe(true);
    expect([...answered].sort()).toEqual(Object.keys(want).sort());
    const checked = (await page.evaluate(`Object.fromEntries(Array.from(document.querySelectorAll('input[type=radio]:checked')).map((i) => [i.name, i.value]))`)) as Record<string, string>;
    expect(checked).toEqual(want);
    expect(await visible(page, 'f-cssrs-6b')).toBe(false);
    await page.screenshot({ path: path.join(ARTIFACTS, '03-form-answered-phone.png'), fullPage: true });
    expect(await page.evaluate(STRUCTURE)).toEqual([]);

    // Enter on "Send my answers": thanks on the first try, every questionnaire recorded.
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Thank you' }).waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, '04-thanks-phone.png'), fullPage: true });
    const rows = await stack.db.selectFrom('assessments').select(['instrument_id', 'status', 'band', 'total']).where('id', 'like', `${assessmentId}/%`).execute();
    expect(Object.fromEntries(rows.map((r) => [r.instrument_id, r.status]))).toEqual({ cssrs: 'completed', phq9: 'completed', gad7: 'completed', pcl5: 'completed' });
    expect(rows.find((r) => r.instrument_id === 'cssrs')!.band).toBe('none');
    expect(rows.find((r) => r.instrument_id === 'phq9')!.total).toBe(8);
    expect(rows.find((r) => r.instrument_id === 'gad7')!.total).toBe(4);
  }, 240_000);
});

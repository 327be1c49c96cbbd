// Issue #18 item 8, the accessibility half: every staff page and the client's form, in a real browser
// (Debian's chromium driven by playwright-core, as in e2e-dashboard), checked with axe-core at desktop
// (1280 px) and phone (390 px) width. A small clinic: one course through the engine (its baseline
// answered with PHQ-9 item 9 endorsed, so a safety hold is open; a later invitation e-mailed to the
// embedded SMTP sink, whose link the client opens); a second client on the Spravato REMS pathway
// through one dose (its REMS monitoring form's print page). A coordinator, a prescriber and an admin
// (only an admin may open /staff) each log in and open the pages their role may see, a protocol's page
// and an outbox message among them. Every page must have NO serious or critical axe violation (no
// allow-list). Screenshots of every page at both widths go to test-artifacts/a11y/.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, seriousAxeViolations } from './browser';
import { createActivities } from '../../src/activities';
import { createStaff } from '../../src/api/routes/staff';
import type { Db } from '../../src/db/connect';
import { createSmtpMailer } from '../../src/mail/mailer';
import { startSmtpSink, type SmtpSink } from '../../src/mail/sink';
import { freePort } from '../../src/temporal/dev-server';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { getProtocol } from '../../src/domain';
import { client, personTokenFor, tokenFor, uid } from './api-helpers';
import { LiveCourse, NO_HARD_STOPS, NO_REVIEW_ITEMS } from './course-driver';

const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts/a11y');

let stack: TestStack;
let sink: SmtpSink;
let browser: Browser;
let base: string;
const run = uid();
const clinicId = `a11y-${run}`;
const password = `lantern harbour ${run} tidal`;
const users = {
  coordinator: `a11y-coordinator-${run}@example.org`,
  prescriber: `a11y-prescriber-${run}@example.org`,
  admin: `a11y-admin-${run}@example.org`,
};
const clientEmail = `a11y-robin-${run}@example.org`;
let clientId = '';
let formLink = '';
let remsCourseId = '';

async function login(page: Page, email: string): Promise<void> {
  await page.goto(`${base}/login`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/`);
}

/** Opens each path, checks it answered 200, saves a screenshot and collects its axe findings. */
async function checkPages(page: Page, who: string, width: 'desktop' | 'phone', paths: string[], found: Record<string, string[]>): Promise<void> {
  for (const p of paths) {
    const res = await page.goto(`${base}${p}`);
    const label = `${who} ${p.replace(clientId, ':id').replace(remsCourseId, ':course').replace(clinicId, ':clinic').replace(/\/a\/.*/, '/a/:token')} @${width}`;
    expect(`${label} → ${res?.status()}`).toBe(`${label} → 200`);
    const name = `${who}-${p.replace(clientId, 'client').replace(remsCourseId, 'course').replace(clinicId, 'clinic').replace(/\/a\/.*/, '/a-token').replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '') || 'home'}-${width}.png`;
    await page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: true });
    const v = await seriousAxeViolations(page);
    if (v.length) found[label] = v;
  }
}

const coordinatorPages = () => ['/', '/courses', '/clients', `/clients/${clientId}`, '/safety', '/assessments', '/outcomes', '/outbox', '/protocols', '/webhooks', '/account', `/courses/${remsCourseId}/rems/dose-1/print`];
const prescriberPages = () => ['/', '/courses', '/clients', `/clients/${clientId}`, '/safety', '/assessments', '/outcomes', '/protocols', '/account', `/courses/${remsCourseId}/rems/dose-1/print`];

type Width = 'desktop' | 'phone';
const viewportOf = (width: Width) => (width === 'desktop' ? { viewport: { width: 1280, height: 900 } } : { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });

/** The staff pages of these roles at this width: the serious and critical violations by page. */
async function sweepStaff(width: Width, roles: Array<'coordinator' | 'prescriber' | 'admin'>): Promise<Record<string, string[]>> {
  const found: Record<string, string[]> = {};
  const pagesOf = { coordinator: coordinatorPages(), prescriber: prescriberPages(), admin: ['/staff'] };
  for (const who of roles) {
    const pages = pagesOf[who];
    // bypassCSP: the pages' CSP forbids the injected axe script tag; it changes nothing axe checks.
    const context = await browser.newContext({ ...viewportOf(width), bypassCSP: true });
    const page = await context.newPage();
    await login(page, users[who]);
    // The first outbox message's own page, as the coordinator reaches it from the list.
    const extra: string[] = [];
    if (who === 'coordinator') {
      await page.goto(`${base}/outbox`);
      const href = await page.locator('a[href^="/outbox/"]').first().getAttribute('href');
      expect(href).toMatch(/^\/outbox\/\d+/);
      extra.push(href!);
    }
    // A protocol's own page (its timeline of phases and steps), from the Protocols list.
    if (who !== 'admin') {
      await page.goto(`${base}/protocols`);
      const href = await page.locator('main a[href^="/protocols/"]').first().getAttribute('href');
      expect(href).toMatch(/^\/protocols\/[^/]+\/[^/]+/);
      extra.push(href!);
    }
    await checkPages(page, who, width, [...pages, ...extra], found);
    if (who === 'coordinator') {
      // A refused form, as re-rendered with the typed values and its error summary (browser-side
      // validation off, so the server's refusal is what is shown).
      await page.goto(`${base}/clients`);
      await page.fill('#given', 'Noor');
      await page.evaluate(`document.querySelector('#new-client').noValidate = true`);
      await page.click('#new-client button[type=submit]');
      await page.locator('#error-summary').waitFor();
      expect(await page.inputValue('#given')).toBe('Noor');
      await page.screenshot({ path: path.join(ARTIFACTS, `coordinator-clients-refused-${width}.png`), fullPage: true });
      const v = await seriousAxeViolations(page);
      if (v.length) found[`coordinator POST /clients refused @${width}`] = v;
    }
    await context.close();
  }
  return found;
}

/** The client's form, from the e-mailed link, with no session; then as refused when sent empty. */
async function sweepClient(width: Width): Promise<Record<string, string[]>> {
  const found: Record<string, string[]> = {};
  const context = await browser.newContext({ ...viewportOf(width), bypassCSP: true });
  const page = await context.newPage();
  await checkPages(page, 'client', width, [formLink.slice(base.length)], found);
  await page.getByRole('heading', { name: 'A few questions from your clinic' }).waitFor();
  // Sent with nothing answered: refused, every question marked, nothing recorded (the link still works).
  await page.click('button[type=submit]');
  await page.locator('#error-summary').waitFor();
  await page.screenshot({ path: path.join(ARTIFACTS, `client-a-token-refused-${width}.png`), fullPage: true });
  const v = await seriousAxeViolations(page);
  if (v.length) found[`client POST /a/:token refused @${width}`] = v;
  await context.close();
  return found;
}

describe('axe-core on every page, desktop and phone', () => {
  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const appPort = await freePort();
    const smtpPort = await freePort();
    base = `http://127.0.0.1:${appPort}`;
    // As in e2e-dashboard: the worker's activities send through a real SMTP sink on loopback; the
    // database handle is bound late (the embedded PGlite serves one connection).
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

    const call = client(stack.app);
    const admin = await tokenFor(stack.db, 'admin');
    expect((await call('POST', '/api/clinics', { token: admin, body: { id: clinicId, name: 'Harbour Ketamine Clinic', timezone: 'America/Los_Angeles' } })).status).toBe(201);
    await createStaff(stack.db, { email: users.coordinator, displayName: 'Cam Coordinator', role: 'coordinator', clinicIds: [clinicId], password });
    await createStaff(stack.db, { email: users.prescriber, displayName: 'Dr Pat Prescriber', role: 'prescriber', clinicIds: [clinicId], password });
    await createStaff(stack.db, { email: users.admin, displayName: 'Ada Admin', role: 'admin', clinicIds: [clinicId], password });
    await createStaff(stack.db, { email: `a11y-therapist-${run}@example.org`, displayName: 'Theo Therapist', role: 'therapist', clinicIds: [clinicId], password });
    const c = await call('POST', '/api/clients', { token: admin, body: { clinicId, givenName: 'Robin', familyName: 'Vale', email: clientEmail } });
    expect(c.status).toBe(201);
    clientId = c.body.id;
    const sam = await call('POST', '/api/clients', { token: admin, body: { clinicId, givenName: 'Sam', familyName: 'Norcross', email: `a11y-sam-${run}@example.org` } });
    expect(sam.status).toBe(201);
    const course = await call('POST', `/api/clients/${clientId}/courses`, { token: admin, body: { protocolId: 'kap-office' } });
    expect(course.status).toBe(201);
    // Robin answers the baseline with PHQ-9 item 9 endorsed: scores, item answers, a chart and an open
    // safety hold fill the client page and the safety queue (empty pages would check little).
    const live = new LiveCourse(stack.temporal, stack.db, course.body.id, getProtocol('kap-office', 1)!);
    await live.answerAll('screening', { phq9: [2, 2, 1, 1, 1, 1, 1, 1, 2] });
    await eventually(async () => (await live.state()).safetyHolds.length > 0 || undefined, 30_000, 100);
    // Mail already delivered (the baseline's invitation, answered now) is not the link wanted.
    const sentBefore = Number((await stack.db.selectFrom('smtp_sink_messages').select((eb) => eb.fn.max('id').as('max')).executeTakeFirst())?.max ?? 0);
    expect((await call('POST', `/api/courses/${course.body.id}/send-assessment`, { token: admin, body: { instruments: ['phq9', 'gad7'] } })).status).toBe(200);
    // The invitation as delivered: its link is the one the client opens.
    formLink = await eventually(async () => {
      const rows = await stack.db.selectFrom('smtp_sink_messages').select(['text_body', 'envelope_to']).where('id', '>', sentBefore).orderBy('id', 'desc').execute();
      const mine = rows.find((r) => JSON.stringify(r.envelope_to).includes(clientEmail) && /\/a\/[A-Za-z0-9_.-]+/.test(r.text_body ?? ''));
      return mine?.text_body?.match(/https?:\/\/\S+\/a\/[A-Za-z0-9_.-]+/)?.[0];
    }, 40_000, 250);
    expect(formLink.startsWith(`${base}/a/`)).toBe(true);
    // Sam on the Spravato REMS pathway, fast clock, through one dose: its REMS monitoring form is printable.
    const rems = await call('POST', `/api/clients/${sam.body.id}/courses`, { token: admin, body: { protocolId: 'spravato-rems', timeScale: 86_400 } });
    expect(rems.status).toBe(201);
    remsCourseId = rems.body.id;
    const prescriber = await personTokenFor(stack.db, 'prescriber', clinicId);
    const act = async (action: string, body: unknown, token = prescriber.token) => {
      const res = await call('POST', `/api/courses/${remsCourseId}/${action}`, { token, body });
      expect(`${action} → ${res.status}`).toBe(`${action} → 200`);
    };
    await new LiveCourse(stack.temporal, stack.db, remsCourseId, getProtocol('spravato-rems', 1)!).answerAll('screening');
    await act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS }, admin);
    await act('clearance', { decision: 'approved' });
    await act('rems-enrollment', { enrolled: true, remsPatientId: 'REMS-4417' }, admin);
    await act('consent', { documentVersion: 'v1', signedByClient: true, prescriberSigned: true }, admin);
    await act('schedule', { stepKey: 'prep-1', startsInHours: 0 }, admin);
    await act('session-complete', { stepKey: 'prep-1' }, admin);
    await eventually(async () => (await stack.db.selectFrom('course_steps').select('state').where('id', '=', `${remsCourseId}/dose-1`).where('state', 'in', ['open', 'overdue']).executeTakeFirst()) ?? undefined, 20_000, 50);
    await act('schedule', { stepKey: 'dose-1', startsInHours: 0 }, admin);
    await act('pre-dose-check', { stepKey: 'dose-1', bloodPressure: { systolic: 122, diastolic: 78 }, hoursSinceFood: 8, hoursSinceClearLiquids: 3, escortConfirmed: true, pregnancy: 'negative', cssrsRisk: 'none', phq9Item9: 0 });
    await act('dose', { stepKey: 'dose-1', route: 'intranasal', doseMg: 56, lotNumber: 'L1' });
    await new Promise((r) => setTimeout(r, 100)); // 40 protocol minutes are ~28 ms here
    await act('vitals', { stepKey: 'dose-1', atMinutes: 40, bloodPressure: { systolic: 130, diastolic: 82 }, spo2: 98 });
    await new Promise((r) => setTimeout(r, 200));
    await act('discharge', { stepKey: 'dose-1', bloodPressure: { systolic: 124, diastolic: 80 }, spo2: 98, checklist: { 'alert-oriented': true, 'minimal-nausea': true, 'walks-steadily': true, 'dissociation-resolved': true, 'written-instructions': true }, responsibleAdultPresent: true });
    await eventually(async () => (await stack.db.selectFrom('rems_monitoring_forms').select('id').where('course_id', '=', remsCourseId).executeTakeFirst()) ?? undefined, 20_000, 100);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    for (const c of (await stack?.db.selectFrom('courses').select('workflow_id').where('clinic_id', '=', clinicId).execute()) ?? []) {
      await stack.temporal.workflow.getHandle(c.workflow_id).terminate('a11y cleanup').catch(() => undefined);
    }
    await sink?.stop();
    await stack?.stop();
  });

  for (const width of ['desktop', 'phone'] as const) {
    const px = width === 'desktop' ? '1280 px' : '390 px';
    test(`${width} (${px}): a coordinator's pages, an outbox message, a refused form: no serious or critical axe violation`, async () => {
      expect(await sweepStaff(width, ['coordinator'])).toEqual({});
    }, 120_000);
    test(`${width} (${px}): a prescriber's pages and the admin's staff page: no serious or critical axe violation`, async () => {
      expect(await sweepStaff(width, ['prescriber', 'admin'])).toEqual({});
    }, 120_000);
    test(`${width} (${px}): the client's form, and refused when sent empty: no serious or critical axe violation`, async () => {
      expect(await sweepClient(width)).toEqual({});
    }, 120_000);
  }

  test('the check itself can fail: a page given an unlabelled field and an image without alt text is reported', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    const page = await context.newPage();
    await login(page, users.coordinator);
    await page.goto(`${base}/account`);
    await page.evaluate(`document.querySelector('main').insertAdjacentHTML('beforeend', '<input type="text" name="canary"><img src="/assets/none.png">')`);
    const found = await seriousAxeViolations(page);
    expect(found.map((l) => l.split(' ').slice(0, 2).join(' ')).sort()).toEqual(['critical image-alt', 'critical label']);
    await context.close();
  }, 60_000);
});

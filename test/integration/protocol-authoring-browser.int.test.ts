// A clinic's operations lead authors a pathway from the dashboard alone (issue #21), in Debian's
// chromium: logs in as the clinic's admin, copies the office KAP template, changes it with the draft's
// form (four preparation sessions instead of three, a 24 h integration window instead of 48 h, the
// preparation session's owner, the follow-up schedule; and, to keep the rehearsal to seconds, two doses
// three days apart), sees a refused edit come back with what was typed and the problem beside its
// field, rehearses the draft on synthetic clients from the page (the simulator in the background
// against this server; 10 clients here, the page's default is 50), reads the result, publishes it,
// and enrolls a client on the new version from the client page: the course has four preparation
// sessions. A draft of the Spravato template with 60 minutes of monitoring cannot be rehearsed or
// published, and the page says why with the rule's source. axe on every page; screenshots in
// test-artifacts/protocol-authoring/.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createActivities } from '../../src/activities';
import { createStaff } from '../../src/api/routes/staff';
import type { Db } from '../../src/db/connect';
import { planCourse, type Protocol } from '../../src/domain';
import type { Mailer } from '../../src/mail/mailer';
import { freePort } from '../../src/temporal/dev-server';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { uid } from './api-helpers';
import { launchChromium, seriousAxeViolations } from './browser';

const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts/protocol-authoring');
let stack: TestStack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let base: string;
const clinicId = `ops-${uid()}`;
const email = `ops-lead-${uid()}@example.org`;
const password = 'correct-horse-battery-ops';
const smtpSends: string[] = [];
const draftUrl = () => `${base}/protocols/${clinicId}/kap-office?version=draft`;

/** Screenshots and axe at 1280 and 390 px (the a11y tests' widths): no serious or critical violation. */
async function checkPage(name: string) {
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
    expect(await seriousAxeViolations(page)).toEqual([]);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

const draftRow = (protocolId: string) => stack.db.selectFrom('protocol_versions').select(['definition', 'hash', 'rehearsal']).where('clinic_id', '=', clinicId).where('protocol_id', '=', protocolId).where('status', '=', 'draft').executeTakeFirstOrThrow();

beforeAll(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const appPort = await freePort();
  base = `http://127.0.0.1:${appPort}`;
  // The worker's activities write links to this server; its mailer counts what would leave the machine
  // (the sandbox's mail never reaches it). The database handle is bound late (one shared pool).
  const dbRef: { db?: Db } = {};
  const lateDb = new Proxy({} as Db, { get: (_t, k) => { const v = (dbRef.db as never)[k] as unknown; return typeof v === 'function' ? v.bind(dbRef.db) : v; } });
  const mailer: Mailer = {
    from: 'KAP Clinic <no-reply@kap.local>',
    async send(mail) {
      smtpSends.push(mail.messageId);
      return { accepted: [...mail.to], rejected: [], response: '250 test', providerMessageId: mail.messageId };
    },
    close() {},
  };
  const secretKey = 'test-secret-key-0123456789abcdef0123456789';
  stack = await startTestStack({ env: { PUBLIC_URL: base }, workerOptions: { activities: createActivities({ db: lateDb, mailer, mail: { publicUrl: base, secretKey }, secretKey }) } });
  dbRef.db = stack.db;
  await stack.app.listen({ port: appPort, host: '127.0.0.1' });
  await stack.db.insertInto('clinics').values({ id: clinicId, name: 'Harbour Clinic', timezone: 'UTC' }).execute();
  await createStaff(stack.db, { email, displayName: 'Olu Ops', role: 'admin', clinicIds: [clinicId], password });
  browser = await launchChromium();
  // bypassCSP: the pages' CSP forbids the injected axe script tag; it changes nothing axe checks.
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/`);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  for (const c of (await stack?.db.selectFrom('courses').select('workflow_id').where('clinic_id', '=', clinicId).execute()) ?? []) {
    await stack.temporal.workflow.getHandle(c.workflow_id).terminate('test cleanup').catch(() => undefined);
  }
  await stack?.stop();
});

test('copy the office KAP template and change it with the form; a refused edit keeps what was typed', async () => {
  await page.goto(`${base}/protocols`);
  await page.fill('#reason-kap-office', 'our own office pathway');
  await page.locator('#templates tr', { hasText: 'kap-office' }).locator('button[type=submit]').click();
  await page.waitForURL(/\/protocols\/[^/]+\/kap-office/);
  expect(await page.locator('.flash.ok').innerText()).toMatch(/Draft v2 of kap-office started from the template/); // v2: after the template's v1
  // The form shows the draft as it is.
  expect(await page.inputValue('#edit-course-preparationSessions')).toBe('3');
  expect(await page.inputValue('#edit-course-integrationWindowHours')).toBe('48');
  expect(await page.inputValue('#edit-assessments-followUps')).toBe('30, 90, 180');
  expect(await page.inputValue('#edit-phases-1-steps-0-owner')).toBe('therapist');
  await checkPage('01-draft-form');

  // Four things changed, and the integration window typed as 0: refused, nothing saved.
  await page.fill('#edit-course-preparationSessions', '4');
  await page.fill('#edit-course-integrationWindowHours', '0');
  await page.selectOption('#edit-phases-1-steps-0-owner', 'coordinator');
  await page.fill('#edit-assessments-followUps', '3');
  await page.fill('#edit-course-dosingSessions', '2');
  await page.fill('#edit-course-doseScheduleDays', '0, 3');
  await page.fill('#edit-course-minDaysBetweenDoses', '2');
  await page.fill('#edit-reason', 'four preparation sessions, a 24 h integration window');
  const [refused] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/protocols/' + clinicId + '/kap-office/draft')), page.click('#edit button[type=submit]')]);
  expect(refused.status()).toBe(400);
  await page.locator('#error-summary').waitFor();
  expect(await page.locator('#error-summary').innerText()).toMatch(/Integration window \(hours after each dose\): must be > 0/);
  expect(await page.getAttribute('#edit-course-integrationWindowHours', 'aria-invalid')).toBe('true');
  expect(await page.locator('#edit-course-integrationWindowHours-error').innerText()).toMatch(/must be > 0/);
  // What was typed is back in its fields; the draft is unchanged.
  expect(await page.inputValue('#edit-course-preparationSessions')).toBe('4');
  expect(await page.inputValue('#edit-course-integrationWindowHours')).toBe('0');
  expect(await page.inputValue('#edit-phases-1-steps-0-owner')).toBe('coordinator');
  expect(await page.inputValue('#edit-assessments-followUps')).toBe('3');
  expect(await page.inputValue('#edit-reason')).toBe('four preparation sessions, a 24 h integration window');
  expect(((await draftRow('kap-office')).definition as unknown as Protocol).course.preparationSessions).toBe(3);
  await checkPage('02-refused-edit');

  // A number that is not one is named too.
  await page.fill('#edit-course-integrationWindowHours', 'two days');
  await page.click('#edit button[type=submit]');
  await page.locator('#edit-course-integrationWindowHours-error').waitFor();
  expect(await page.locator('#edit-course-integrationWindowHours-error').innerText()).toMatch(/must be a number/);

  // 24 h, but the integration step is still due within 48 h: refused, naming that step's deadline.
  await page.fill('#edit-course-integrationWindowHours', '24');
  await page.click('#edit button[type=submit]');
  await page.locator('#edit-phases-2-steps-1-deadlineHours-error').waitFor();
  expect(await page.locator('#edit-phases-2-steps-1-deadlineHours-error').innerText()).toMatch(/must be <= course.integrationWindowHours \(24\)/);
  expect(await page.locator('#error-summary').innerText()).toMatch(/Due within \(hours\): Integration session: must be <= course.integrationWindowHours \(24\)/);
  expect(await page.inputValue('#edit-course-integrationWindowHours')).toBe('24');
  await page.fill('#edit-phases-2-steps-1-deadlineHours', '24');
  await page.click('#edit button[type=submit]');
  await page.waitForURL(/version=draft/, { timeout: 10_000 }).catch(async (e) => {
    throw new Error(`${page.url()}\n${await page.locator('main').innerText()}\n${e}`);
  });
  expect(await page.locator('.flash.ok').innerText()).toMatch(/Draft saved/);
  const def = (await draftRow('kap-office')).definition as unknown as Protocol;
  expect(def.course).toMatchObject({ preparationSessions: 4, integrationWindowHours: 24, dosingSessions: 2, doseScheduleDays: [0, 3], minDaysBetweenDoses: 2 });
  expect(def.phases[1]!.steps[0]!.owner).toBe('coordinator');
  expect(def.assessments.followUps).toEqual([{ afterCourseDays: 3, instruments: ['phq9', 'gad7', 'pcl5'] }]);
  // The clinical diff against the template, in words.
  const changes = await page.locator('#changes').innerText();
  expect(changes).toMatch(/against template kap-office@1/);
  expect(changes).toMatch(/"Preparation session": owner changed from therapist to coordinator/);
  expect(changes).toMatch(/48.*24/);
  expect(changes).toMatch(/Follow-up schedule changed/);
  expect(await page.locator('#check').innerText()).toMatch(/no problems[\s\S]*every guard rail kept/);
  // Not rehearsed: no publishing yet.
  expect(await page.locator('#publish').innerText()).toMatch(/needs a passing rehearsal/);
  await checkPage('03-draft-saved');
}, 60_000);

test('rehearse the draft from the page, read the result, publish it', async () => {
  await page.goto(draftUrl());
  expect(await page.inputValue('#rehearse-clients')).toBe('50');
  expect(await page.locator('#rehearse button[type=submit]').innerText()).toBe('Rehearse on 50 clients');
  // Publishing before a rehearsal is refused, and the page says so.
  await page.fill('#publish-reason', 'too early');
  await page.click('#publish button[type=submit]');
  await page.locator('#error-summary').waitFor();
  expect(await page.locator('#error-summary').innerText()).toMatch(/rehearsal: no rehearsal of this exact draft/);

  await page.fill('#rehearse-clients', '10');
  await page.click('#rehearse summary');
  await page.fill('#rehearse-ts', '108000'); // 1.25 protocol days a second: slow enough for a loaded machine
  await page.click('#rehearse button[type=submit]');
  await page.waitForURL(/version=draft/);
  expect(await page.locator('.flash.ok').innerText()).toMatch(/Rehearsal started on 10 synthetic clients/);
  // Running: progress on the page, no second start of the same draft.
  expect(await page.locator('#rehearsal-running').innerText()).toMatch(/running \d+ of 10 synthetic clients enrolled, \d+ course\(s\) ended so far/);
  expect(await page.locator('#rehearse').count()).toBe(0);
  const csrf = await page.locator('#edit input[name=_csrf]').getAttribute('value');
  const again = await page.request.post(`${base}/protocols/${clinicId}/kap-office/rehearse`, { form: { _csrf: csrf!, clients: '10' }, maxRedirects: 0 });
  expect(again.status()).toBe(409);
  expect(await again.text()).toContain('a rehearsal of this draft is already running');
  await eventually(async () => {
    await page.goto(draftUrl());
    return (await page.locator('#rehearsal-verdict').count()) > 0;
  }, 170_000, 1000).catch(async (e) => {
    // Where the sandbox's courses stand, to say why.
    const sandbox = await stack.db.selectFrom('sandbox_clinics').select('clinic_id').where('source_clinic_id', '=', clinicId).executeTakeFirst();
    const courses = sandbox ? await stack.db.selectFrom('courses').select(['status', 'current_step', 'ended_at']).where('clinic_id', '=', sandbox.clinic_id).execute() : [];
    throw new Error(`${await page.locator('#rehearsal').innerText()}\n${JSON.stringify(courses)}\n${e}`);
  });
  const verdict = await page.locator('#rehearsal-verdict').innerText();
  expect(verdict).toMatch(/passed 10 of 10 synthetic clients ended as their profile predicts/);
  // At 108,000x a tenth of a real second is 3 protocol hours: the page says so, so that lateness of that order is not read as the protocol's.
  expect(verdict).toMatch(/a tenth of a real second, about what one step of the synthetic staff takes, is 3 protocol hours/);
  expect(await page.locator('#rehearsal-profiles').innerText()).toMatch(/completes the course/);
  expect(await page.locator('#rehearsal-waits').innerText()).toMatch(/Waiting for/);
  expect(await page.locator('#rehearsal-stuck').innerText()).toMatch(/stuck board/);
  expect(await page.locator('#rehearsal-emails').innerText()).toMatch(/Each synthetic client received \d+( to \d+)? emails/);
  const row = await draftRow('kap-office');
  expect(row.rehearsal).toMatchObject({ passed: true, clients: 10, matched: 10, hash: row.hash });
  expect(smtpSends).toEqual([]); // the sandbox's mail stayed on the machine
  await checkPage('04-rehearsed');

  await page.fill('#publish-reason', 'rehearsed on 10 synthetic clients');
  await page.click('#publish button[type=submit]');
  await page.waitForURL(/ok=/);
  expect(await page.locator('.flash.ok').innerText()).toMatch(/Published v2/);
  const chosen = await stack.db.selectFrom('clinic_protocol_choices').select('version').where('clinic_id', '=', clinicId).where('protocol_id', '=', 'kap-office').executeTakeFirstOrThrow();
  expect(chosen.version).toBe(2);
  const audit = await stack.db.selectFrom('audit_log').select('action').where('clinic_id', '=', clinicId).where('action', 'like', 'protocol.%').orderBy('id').execute();
  expect(audit.map((a) => a.action)).toEqual(['protocol.draft', 'protocol.draft.edit', 'protocol.rehearsal.open', 'protocol.rehearse', 'protocol.publish']);
}, 200_000);

test('a client enrolled from the client page follows the published version', async () => {
  await page.goto(`${base}/clients`);
  await page.fill('#given', 'Noor');
  await page.fill('#family', 'Haddad');
  await page.fill('#cemail', `noor-${uid()}@example.org`);
  await page.click('#new-client button[type=submit]');
  await page.waitForURL(/\/clients\/[0-9a-f-]{36}/);
  const options = await page.locator('#protocol option').allInnerTexts();
  expect(options[0]).toBe("In-office ketamine-assisted psychotherapy (this clinic's v2, in use)");
  expect(options.filter((o) => /kap|office/i.test(o) && /template/.test(o))).toEqual([]); // the template it replaced is not offered beside it
  expect(options.some((o) => /template v1/.test(o))).toBe(true); // the others are
  await page.selectOption('#protocol', 'kap-office');
  await page.click('#enroll button[type=submit]');
  await page.getByText('Enrolled').first().waitFor();
  const course = await eventually(async () => stack.db.selectFrom('courses').select(['id', 'protocol_id', 'protocol_version', 'protocol_snapshot']).where('clinic_id', '=', clinicId).executeTakeFirst(), 20_000, 250);
  expect(course).toMatchObject({ protocol_id: 'kap-office', protocol_version: 2 });
  const snapshot = course.protocol_snapshot as unknown as Protocol;
  expect(snapshot.course).toMatchObject({ preparationSessions: 4, integrationWindowHours: 24 });
  expect(planCourse(snapshot).map((s) => s.id)).toEqual(expect.arrayContaining(['prep-1', 'prep-4', 'dose-2']));
  expect(planCourse(snapshot).map((s) => s.id)).not.toContain('dose-3');
  // The client page's pathway is the new version's: four preparation sessions.
  await page.reload();
  expect(await page.locator('#state').innerText()).toMatch(/v2/);
  expect(await page.locator('svg text', { hasText: 'prep-4' }).count()).toBe(1);
  await checkPage('05-enrolled');
}, 60_000);

test('a Spravato draft cannot author the floor away: monitoring below 120 min is refused at the edit, and a draft without the pre-dose check cannot be rehearsed or published, with the rule and its source', async () => {
  await page.goto(`${base}/protocols`);
  await page.fill('#reason-spravato-rems', 'shorter chair time');
  await page.locator('#templates tr', { hasText: 'spravato-rems' }).locator('button[type=submit]').click();
  await page.waitForURL(/\/protocols\/[^/]+\/spravato-rems/);
  expect(await page.inputValue('#edit-safety-minMonitoringMinutes')).toBe('120');
  await page.fill('#edit-safety-minMonitoringMinutes', '60');
  await page.fill('#edit-reason', 'one hour in the chair');
  await page.click('#edit button[type=submit]');
  await page.locator('#error-summary').waitFor();
  expect(await page.locator('#edit-safety-minMonitoringMinutes-error').innerText()).toMatch(/must be >= 120 under the Spravato REMS/);
  expect(await page.inputValue('#edit-safety-minMonitoringMinutes')).toBe('60');
  expect(((await draftRow('spravato-rems')).definition as unknown as Protocol).safety.minMonitoringMinutes).toBe(120);

  // The pre-dose check dropped in an uploaded file (the dosing step no longer waits on a clinician):
  // a well-formed protocol, so it is saved, but it breaks the floor.
  const def = structuredClone((await draftRow('spravato-rems')).definition) as unknown as Protocol;
  const dosing = def.phases.find((ph) => ph.repeat === 'per-dosing-session')!;
  dosing.steps[0]!.waitsOn = 'system';
  await page.goto(`${base}/protocols/${clinicId}/spravato-rems?version=draft`);
  // Not JSON: refused beside the box, what was pasted kept.
  await page.fill('#upload-protocol', '{ "name": ');
  await page.fill('#upload-reason', 'the chair nurse checks, not the prescriber');
  await page.click('#upload button[type=submit]');
  await page.locator('#upload-protocol-error').waitFor();
  expect(await page.locator('#upload-protocol-error').innerText()).toMatch(/is not JSON/);
  expect(await page.inputValue('#upload-protocol')).toBe('{ "name": ');
  expect(await page.getAttribute('#upload-protocol', 'aria-invalid')).toBe('true');
  // Chosen as a file: its text goes into the box (what is sent).
  await page.setInputFiles('#upload-file', { name: 'spravato-no-check.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(def, null, 2)) });
  await eventually(async () => (await page.inputValue('#upload-protocol')).includes('"waitsOn": "system"'), 5000, 100);
  await page.fill('#upload-reason', 'the chair nurse checks, not the prescriber');
  await page.click('#upload button[type=submit]');
  await page.waitForURL(/version=draft/, { timeout: 10_000 }).catch(async (e) => {
    throw new Error(`${page.url()}\n${await page.locator('main').innerText()}\n${e}`);
  });
  expect(await page.locator('.flash.ok').innerText()).toMatch(/Draft replaced/);
  const rails = await page.locator('#guard-rails').innerText();
  expect(rails).toMatch(/pre-dose-check at phases\[2\]\.steps\[0\]\.waitsOn: the dosing step must wait on a person/);
  expect(rails).toMatch(/Source: Spravato label .*clinical\.md section 3/);
  expect(await page.locator('#rehearse').count()).toBe(0);
  expect(await page.locator('#publish-refused').innerText()).toMatch(/Cannot be published: it breaks the clinical floor \(pre-dose-check at phases\[2\]\.steps\[0\]\.waitsOn: .*source: Spravato label/);
  await checkPage('06-guard-rail');
  // Posted anyway (a stale page, a script): refused with the rule and its source, nothing published or rehearsed.
  const csrf = await page.locator('#edit input[name=_csrf]').getAttribute('value');
  const pub = await page.request.post(`${base}/protocols/${clinicId}/spravato-rems/publish`, { form: { _csrf: csrf!, reason: 'try anyway' }, maxRedirects: 0 });
  expect(pub.status()).toBe(422);
  expect(await pub.text()).toMatch(/rule pre-dose-check; source: Spravato label/);
  const reh = await page.request.post(`${base}/protocols/${clinicId}/spravato-rems/rehearse`, { form: { _csrf: csrf!, clients: '10' }, maxRedirects: 0 });
  expect(reh.status()).toBe(422);
  expect(await stack.db.selectFrom('protocol_versions').select('id').where('clinic_id', '=', clinicId).where('protocol_id', '=', 'spravato-rems').where('status', '=', 'published').execute()).toEqual([]);
  expect(await stack.db.selectFrom('sandbox_clinics').select('clinic_id').where('source_clinic_id', '=', clinicId).where('protocol_id', '=', 'spravato-rems').execute()).toEqual([]);
}, 60_000);

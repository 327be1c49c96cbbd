// A Spravato clinic's day with the REMS Patient Monitoring Form, through the real API (worker, Temporal
// dev server, database, HTTP app), issue #20 item 5: the clinic's admin enters the healthcare setting's
// name and address, the prescriber's phone is on their staff record, the client's sex on theirs; after
// two monitored sessions the forms come pre-filled with every field of the real form (treatment date,
// patient, REMS id, setting, monitoring clinician, vitals and whether they were acceptable, when the
// patient was ready to leave). The prescriber files the first as pre-filled; the second needs a
// documented correction of the lot: refused without an amendment, accepted and audited with one. The
// printed form has every field and, printed (Debian's chromium), is one page without the navigation.
import type { Browser } from 'playwright-core';
import { launchChromium } from './browser';
import { HARD_STOPS, REVIEW_ITEMS } from '../../src/domain/rules/eligibility';
import { STAFF_ROLES } from '../../src/auth/roles';
import type { StaffRole } from '../../src/db/schema';
import { freePort } from '../../src/temporal/dev-server';
import { answerInvited, eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, personTokenFor, tokenFor, uid } from './api-helpers';

const TIME_SCALE = 86_400; // one protocol day per second
const NO_REVIEW_ITEMS = Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, false]));
const NO_HARD_STOPS = Object.fromEntries(Object.keys(HARD_STOPS).map((k) => [k, false]));
const BENIGN: Record<string, unknown[]> = { phq9: [1, 1, 1, 1, 1, 1, 1, 1, 0], gad7: [1, 1, 1, 1, 1, 1, 1], pcl5: Array(20).fill(1), cssrs: [false, false, null, null, null, false], 'qids-sr16': Array(16).fill(0) };
const CHECKLIST = { 'alert-oriented': true, 'minimal-nausea': true, 'walks-steadily': true, 'dissociation-resolved': true, 'written-instructions': true };
const ANSWERS = { concomitant: { benzodiazepines: false, sedativeHypnotics: true, psychostimulants: false, maois: false, opioids: false }, sedation: false, dissociation: true, respiratoryDepression: false, seriousAdverseEvent: false };
const TZ = 'America/Chicago';
const ADDRESS = '12 Lakeshore Drive, Suite 300, Chicago, IL 60601';
/** Every field of the Spravato REMS Patient Monitoring Form, as the print page labels its rows. */
const PRINTED_FIELDS = [
  'setting.name', 'setting.address', 'clinician.name', 'clinician.phone', 'clinician.email',
  'patient.name', 'patient.dateOfBirth', 'patient.sex', 'patient.remsPatientId',
  'treatmentDate', 'firstTreatment', 'doseMg', 'lotNumber',
  'concomitant.benzodiazepines', 'concomitant.sedativeHypnotics', 'concomitant.psychostimulants', 'concomitant.maois', 'concomitant.opioids',
  'bpPre', 'vitalsAcceptable.preDose', 'bp40', 'vitalsAcceptable.at40', 'bpDischarge', 'vitalsAcceptable.discharge',
  'readyToLeaveAt', 'monitoringMinutes', 'sedation', 'dissociation', 'respiratoryDepression', 'seriousAdverseEvent', 'signature',
];

let stack: TestStack;
let call: ReturnType<typeof client>;
let base: string;
const t = {} as Record<StaffRole, string>;
const clinicId = `rems-fields-${uid()}`;
let prescriber: { token: string; staffId: string };
let clinicAdmin: { token: string; staffId: string };
let clientId: string;
let courseId: string;
const familyName = `Okafor-${uid()}`;

async function act(action: string, body: unknown, token = prescriber.token) {
  const res = await call('POST', `/api/courses/${courseId}/${action}`, { token, body });
  if (res.status !== 200) throw new Error(`${action}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}
async function stepState(stepKey: string) {
  return (await stack.db.selectFrom('course_steps').select('state').where('id', '=', `${courseId}/${stepKey}`).executeTakeFirst())?.state;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const localDate = (d: Date) => new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);

beforeAll(async () => {
  const appPort = await freePort();
  base = `http://127.0.0.1:${appPort}`;
  stack = await startTestStack({ env: { PUBLIC_URL: base } });
  await stack.app.listen({ port: appPort, host: '127.0.0.1' });
  call = client(stack.app);
  for (const role of STAFF_ROLES) t[role] = await tokenFor(stack.db, role);
  expect((await call('POST', '/api/clinics', { token: t.admin, body: { id: clinicId, name: 'Lakeside Clinic', timezone: TZ } })).status).toBe(201);
  for (const role of STAFF_ROLES) {
    expect((await call('POST', '/api/staff', { token: t.admin, body: { email: `${role}-${uid()}@lakeside.example.org`, displayName: `Lakeside ${role}`, role, clinicIds: [clinicId] } })).status).toBe(201);
  }
  prescriber = await personTokenFor(stack.db, 'prescriber', clinicId);
  clinicAdmin = await personTokenFor(stack.db, 'admin', clinicId);

  const cl = await call('POST', '/api/clients', { token: t.coordinator, body: { clinicId, givenName: 'Ada', familyName, email: 'ada@example.org', dateOfBirth: '1979-03-14', sex: 'female' } });
  expect(cl.status).toBe(201);
  expect(cl.body.sex).toBe('female');
  clientId = cl.body.id;
  const en = await call('POST', `/api/clients/${clientId}/courses`, { token: t.coordinator, body: { protocolId: 'spravato-rems', timeScale: TIME_SCALE } });
  expect(en.status).toBe(201);
  courseId = en.body.id;
  await answerInvited(stack, courseId, 'screening', BENIGN);
  await act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS }, t.admin);
  await act('clearance', { decision: 'approved' });
  await act('rems-enrollment', { enrolled: true, remsPatientId: 'REMS-4417' }, t.admin);
  await act('consent', { documentVersion: 'v1', signedByClient: true, prescriberSigned: true }, t.admin);
  await act('schedule', { stepKey: 'prep-1', startsInHours: 0 }, t.admin);
  await act('session-complete', { stepKey: 'prep-1' }, t.admin);
  // Three sessions, each monitored and discharged by the prescriber; dose-2 with a high 40-minute reading.
  for (const n of [1, 2, 3]) {
    const dose = `dose-${n}`;
    await eventually(async () => ['open', 'overdue'].includes((await stepState(dose)) ?? ''));
    await act('schedule', { stepKey: dose, startsInHours: n === 1 ? 0 : 49 }, t.admin); // doses 2 protocol days apart
    if (n > 1) await sleep(2200);
    await act('pre-dose-check', { stepKey: dose, bloodPressure: { systolic: 122, diastolic: 78 }, hoursSinceFood: 8, hoursSinceClearLiquids: 3, escortConfirmed: true, pregnancy: 'negative', cssrsRisk: 'none', phq9Item9: 0 });
    await act('dose', { stepKey: dose, route: 'intranasal', doseMg: 56, lotNumber: `L${n}` });
    await sleep(100); // 40 protocol minutes are ~28 ms here
    await act('vitals', { stepKey: dose, atMinutes: 40, bloodPressure: n === 2 ? { systolic: 152, diastolic: 94 } : { systolic: 130, diastolic: 82 }, spo2: 98 });
    await sleep(200); // 120 protocol minutes are ~83 ms here
    await act('discharge', { stepKey: dose, bloodPressure: { systolic: 124, diastolic: 80 }, spo2: 98, checklist: CHECKLIST, responsibleAdultPresent: true });
    if (n < 3) await act('session-complete', { stepKey: `integration-${n}` }, t.admin);
  }
  await eventually(async () => (await stack.db.selectFrom('rems_monitoring_forms').select('id').where('course_id', '=', courseId).execute()).length === 3);
}, 150_000);

afterAll(async () => {
  for (const c of (await stack?.db.selectFrom('courses').select('workflow_id').where('clinic_id', '=', clinicId).where('ended_at', 'is', null).execute()) ?? []) {
    await stack.temporal.workflow.getHandle(c.workflow_id).terminate('test cleanup').catch(() => undefined);
  }
  await stack?.stop();
});

test("the clinic's admin enters the healthcare setting and the prescriber's phone; a coordinator may not; bad input is named", async () => {
  const url = `/api/clinics/${clinicId}`;
  expect((await call('PATCH', url, { token: t.coordinator, body: { address: ADDRESS } })).status).toBe(403);
  const bad = await call('PATCH', url, { token: clinicAdmin.token, body: { address: '' } });
  expect(bad.status).toBe(400);
  expect(JSON.stringify(bad.body)).toContain('address');
  const ok = await call('PATCH', url, { token: clinicAdmin.token, body: { remsSettingName: 'Lakeside Spravato Treatment Center', address: ADDRESS } });
  expect(ok.status).toBe(200);
  expect(ok.body).toMatchObject({ id: clinicId, name: 'Lakeside Clinic', timezone: TZ, remsSettingName: 'Lakeside Spravato Treatment Center', address: ADDRESS });
  const audit = await stack.db.selectFrom('audit_log').select(['actor_id', 'detail']).where('clinic_id', '=', clinicId).where('action', '=', 'clinic.update').execute();
  expect(audit).toEqual([{ actor_id: clinicAdmin.staffId, detail: expect.objectContaining({ changes: { rems_setting_name: { from: null, to: 'Lakeside Spravato Treatment Center' }, address: { from: null, to: ADDRESS } } }) }]);
  // An admin of another clinic does not reach this one.
  const other = `rems-other-${uid()}`;
  await call('POST', '/api/clinics', { token: t.admin, body: { id: other, name: 'Elsewhere' } });
  const otherAdmin = await personTokenFor(stack.db, 'admin', other);
  expect([403, 404]).toContain((await call('PATCH', url, { token: otherAdmin.token, body: { address: 'x street 1' } })).status);

  expect((await call('PATCH', `/api/staff/${prescriber.staffId}`, { token: clinicAdmin.token, body: { phone: 'call me' } })).status).toBe(400);
  const phone = await call('PATCH', `/api/staff/${prescriber.staffId}`, { token: clinicAdmin.token, body: { phone: '+1 312 555 0142' } });
  expect(phone.status).toBe(200);
  expect(phone.body.staff.phone).toBe('+1 312 555 0142');
});

test('the prescriber finds both forms pre-filled with every field the records hold, and files the first one as pre-filled', async () => {
  const list = await call('GET', `/api/courses/${courseId}/rems`, { token: prescriber.token });
  expect(list.status).toBe(200);
  const sessions = await stack.db.selectFrom('course_sessions').select(['step_key', 'dosed_at', 'completed_at']).where('course_id', '=', courseId).where('step_key', 'in', ['dose-1', 'dose-2']).orderBy('step_key').execute();
  const prescriberRow = await stack.db.selectFrom('staff').select(['display_name', 'email']).where('id', '=', prescriber.staffId).executeTakeFirstOrThrow();
  const common = {
    patient: { name: `Ada ${familyName}`, dateOfBirth: '1979-03-14', sex: 'female', remsPatientId: 'REMS-4417' },
    setting: { id: clinicId, name: 'Lakeside Spravato Treatment Center', address: ADDRESS },
    monitoringClinician: { id: prescriber.staffId, name: prescriberRow.display_name, phone: '+1 312 555 0142', email: prescriberRow.email },
    vitalsAcceptableSource: 'engine',
    status: expect.stringMatching(/^(due|late)$/), // 7 protocol days are 7 s here
    submittedAt: null,
    amendment: null,
  };
  expect(list.body.forms.filter((f: { session: string }) => f.session !== 'dose-3')).toEqual([
    expect.objectContaining({ ...common, session: 'dose-1', firstTreatment: true, doseMg: 56, lotNumber: 'L1', bpPre: '122/78', bp40: '130/82', bpDischarge: '124/80', treatmentDate: localDate(sessions[0]!.dosed_at!), readyToLeaveAt: sessions[0]!.completed_at!.toISOString(), vitalsAcceptable: { preDose: true, at40: true, discharge: true } }),
    // 152/94 at 40 minutes is above the protocol's 140/90: pre-filled "not acceptable" for the clinician to confirm.
    expect.objectContaining({ ...common, session: 'dose-2', firstTreatment: false, doseMg: 56, lotNumber: 'L2', bp40: '152/94', treatmentDate: localDate(sessions[1]!.dosed_at!), readyToLeaveAt: sessions[1]!.completed_at!.toISOString(), vitalsAcceptable: { preDose: true, at40: false, discharge: true } }),
  ]);
  expect(list.body.forms[0].monitoringMinutes).toBeGreaterThanOrEqual(120);

  // The prescriber confirms the pre-filled dose and lot and answers what no record holds.
  const pre = list.body.forms[0];
  const res = await call('POST', `/api/courses/${courseId}/rems/dose-1`, { token: prescriber.token, body: { doseMg: pre.doseMg, lotNumber: pre.lotNumber, ...ANSWERS } });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ ...common, status: 'filed', submittedAt: expect.any(String), vitalsAcceptableSource: 'filed', vitalsAcceptable: { preDose: true, at40: true, discharge: true }, concomitant: ANSWERS.concomitant, filedBy: { actorType: 'staff', id: prescriber.staffId } });
  await eventually(async () => (await stepState('rems-form-1')) === 'done');
  const submitted = await stack.db.selectFrom('course_events').select(['actor_id', 'detail']).where('course_id', '=', courseId).where('type', '=', 'rems-form.submitted').execute();
  expect(submitted).toEqual([{ actor_id: prescriber.staffId, detail: { vitalsAcceptable: { preDose: true, at40: true, discharge: true } } }]);
});

test('dose-2: a different lot without an amendment is refused naming both; an amendment with its reason is filed and audited', async () => {
  const url = `/api/courses/${courseId}/rems/dose-2`;
  const refused = await call('POST', url, { token: prescriber.token, body: { doseMg: 56, lotNumber: 'L2B', ...ANSWERS } });
  expect(refused.status).toBe(422);
  expect(refused.body.message).toContain('the session dose-2 recorded 56 mg, lot L2; the form says 56 mg, lot L2B');
  expect(refused.body.problems).toEqual([{ field: 'lotNumber', message: 'lotNumber: the session dose-2 recorded lot L2; the form says lot L2B' }]);
  // A reason too short to say anything, and an "amendment" of a form that matches: refused, naming the field.
  const short = await call('POST', url, { token: prescriber.token, body: { doseMg: 56, lotNumber: 'L2B', amendmentReason: 'typo', ...ANSWERS } });
  expect(short.status).toBe(400);
  expect(JSON.stringify(short.body)).toContain('amendmentReason');
  const nothing = await call('POST', url, { token: prescriber.token, body: { doseMg: 56, lotNumber: 'L2', amendmentReason: 'the device box was relabelled by pharmacy', ...ANSWERS } });
  expect(nothing.status).toBe(400);
  expect(nothing.body.message).toContain('amendmentReason');
  expect(nothing.body.message).toContain('nothing to amend');
  expect((await stack.db.selectFrom('rems_monitoring_forms').select('submitted_at').where('course_id', '=', courseId).where('session_step_key', '=', 'dose-2').executeTakeFirstOrThrow()).submitted_at).toBeNull();

  const reason = 'Second device came from lot L2B (pharmacy log 2026-11-30); the dose record listed only the first device';
  const ok = await call('POST', url, { token: prescriber.token, body: { doseMg: 56, lotNumber: 'L2B', amendmentReason: reason, ...ANSWERS } });
  expect(ok.status).toBe(200);
  expect(ok.body).toMatchObject({
    session: 'dose-2',
    lotNumber: 'L2B',
    status: 'filed',
    vitalsAcceptable: { preDose: true, at40: false, discharge: true },
    amendment: { reason, recorded: { doseMg: 56, lotNumber: 'L2' }, filed: { doseMg: 56, lotNumber: 'L2B' }, by: { actorType: 'staff', id: prescriber.staffId } },
  });
  await eventually(async () => (await stepState('rems-form-2')) === 'done');
  const audit = await eventually(async () => {
    const r = await stack.db.selectFrom('audit_log').select(['actor_type', 'actor_id', 'detail']).where('course_id', '=', courseId).where('action', '=', 'rems-form.amended').execute();
    return r.length ? r : null;
  });
  expect(audit).toEqual([{ actor_type: 'staff', actor_id: prescriber.staffId, detail: expect.objectContaining({ session: 'dose-2', recorded: { doseMg: 56, lotNumber: 'L2' }, filed: { doseMg: 56, lotNumber: 'L2B' }, reason }) }]);
  // The session's dose record itself is unchanged: the amendment is the REMS form's.
  const ses = await stack.db.selectFrom('course_sessions').select('detail').where('course_id', '=', courseId).where('step_key', '=', 'dose-2').executeTakeFirstOrThrow();
  expect(JSON.stringify(ses.detail)).not.toContain('L2B');
});

test('on the dashboard: the unfiled form comes pre-filled under the printed one; refusals are shown again with what was typed; the prescriber files dose-3 there', async () => {
  const print = await call('GET', `/courses/${courseId}/rems/dose-3/print`, { token: prescriber.token });
  expect(print.status).toBe(200);
  expect(print.text).toContain('File this form');
  expect(print.text).toMatch(/name="doseMg"[^>]*value="56"/);
  expect(print.text).toMatch(/name="lotNumber"[^>]*value="L3"/);
  for (const k of ['preDose', 'at40', 'discharge']) expect(print.text).toMatch(new RegExp(`name="vitalsAcceptable.${k}" value="yes" checked`));
  // A therapist sees the form to print but no filing form.
  expect((await call('GET', `/courses/${courseId}/rems/dose-3/print`, { token: t.therapist })).text).not.toContain('File this form');

  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const post = (body: string, token = prescriber.token) => stack.app.inject({ method: 'POST', url: `/courses/${courseId}/rems/dose-3`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, payload: body });
  const wrongLot = await post(form({ doseMg: '56', lotNumber: 'L9', 'vitalsAcceptable.preDose': 'yes', 'vitalsAcceptable.at40': 'yes', 'vitalsAcceptable.discharge': 'yes' }));
  expect(wrongLot.statusCode).toBe(422);
  expect(wrongLot.body).toContain('lotNumber: the session dose-3 recorded lot L3; the form says lot L9');
  expect(wrongLot.body).toMatch(/name="lotNumber"[^>]*value="L9"/); // what was typed is kept
  const badDose = await post(form({ doseMg: 'fifty', lotNumber: 'L3' }));
  expect(badDose.statusCode).toBe(400);
  expect(badDose.body).toContain('doseMg');
  expect((await post(form({ doseMg: '56', lotNumber: 'L3' }), t.therapist)).statusCode).toBe(403);
  expect((await stack.db.selectFrom('rems_monitoring_forms').select('submitted_at').where('course_id', '=', courseId).where('session_step_key', '=', 'dose-3').executeTakeFirstOrThrow()).submitted_at).toBeNull();

  // Filed as pre-filled, with an opioid and sedation ticked and the 40-minute reading judged not acceptable.
  const ok = await post(form({ doseMg: '56', lotNumber: 'L3', 'concomitant.opioids': 'yes', sedation: 'yes', 'vitalsAcceptable.preDose': 'yes', 'vitalsAcceptable.discharge': 'yes' }));
  expect(ok.statusCode).toBe(303);
  expect(ok.headers.location).toBe(`/courses/${courseId}/rems/dose-3/print`);
  const filed = (await call('GET', `/api/courses/${courseId}/rems`, { token: prescriber.token })).body.forms.find((f: { session: string }) => f.session === 'dose-3');
  expect(filed).toMatchObject({
    status: 'filed',
    doseMg: 56,
    lotNumber: 'L3',
    concomitant: { benzodiazepines: false, sedativeHypnotics: false, psychostimulants: false, maois: false, opioids: true },
    sedation: true,
    dissociation: false,
    respiratoryDepression: false,
    seriousAdverseEvent: false,
    vitalsAcceptable: { preDose: true, at40: false, discharge: true },
    vitalsAcceptableSource: 'filed',
    filedBy: { actorType: 'staff', id: prescriber.staffId },
  });
  expect((await call('GET', `/courses/${courseId}/rems/dose-3/print`, { token: prescriber.token })).text).not.toContain('File this form');
});

test('the print page has every field of the real form, the amendment, and no clinic id in place of the setting', async () => {
  const res = await call('GET', `/courses/${courseId}/rems/dose-2/print`, { token: t.therapist });
  expect(res.status).toBe(200);
  const fields = [...res.text.matchAll(/data-field="([^"]+)"/g)].map((m) => m[1]);
  expect(fields.filter((f) => f !== 'session' && f !== 'amendment').sort()).toEqual([...PRINTED_FIELDS].sort());
  for (const text of ['Lakeside Spravato Treatment Center', ADDRESS, '+1 312 555 0142', 'REMS-4417', 'Female', '152/94 mmHg', 'L2B', 'Amended:', 'lot L2;']) expect(res.text).toContain(text);
  expect(res.text).not.toContain(`<td>${clinicId}</td>`);
});

test('printed (Debian chromium): the form alone, on one Letter page, without the navigation', async () => {
  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, extraHTTPHeaders: { authorization: `Bearer ${prescriber.token}` } });
    const page = await context.newPage();
    expect((await page.goto(`${base}/courses/${courseId}/rems/dose-2/print`))!.status()).toBe(200);
    // On screen the navigation is there; printed it is not, and every field row is.
    await expect(page.locator('header nav').isVisible()).resolves.toBe(true);
    await page.emulateMedia({ media: 'print' });
    await expect(page.locator('header').isVisible()).resolves.toBe(false);
    await expect(page.locator('.no-print').isVisible()).resolves.toBe(false);
    for (const f of PRINTED_FIELDS) await expect(page.locator(`[data-field="${f}"]`).isVisible()).resolves.toBe(true);
    const pdf = (await page.pdf({ format: 'Letter' })).toString('latin1');
    const pages = pdf.match(/\/Type\s*\/Page(?!s)/g) ?? [];
    expect(pages.length).toBe(1);
  } finally {
    await browser?.close();
  }
}, 60_000);

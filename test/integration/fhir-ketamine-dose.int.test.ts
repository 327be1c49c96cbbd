// An office KAP clinic's first dose as its EHR receives it (issue #20 item 1), through the real API
// (worker, Temporal dev server, database, HTTP app): racemic ketamine given intramuscularly, 35 mg from
// lot KET-2291, after its three preparation sessions, recorded with the dose action alone (no REMS form: only esketamine has one). The FHIR
// MedicationAdministration carries the RxNorm ingredient code, the SNOMED CT route code, and the dose
// and lot exactly as the session recorded them; the course's bundle passes the HAPI FHIR R4 validator.
import { HARD_STOPS, REVIEW_ITEMS } from '../../src/domain/rules/eligibility';
import { STAFF_ROLES } from '../../src/auth/roles';
import type { StaffRole } from '../../src/db/schema';
import { hapiErrors, hapiValidate } from '../fhir-validator/hapi';
import { answerInvited, eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, personTokenFor, tokenFor, uid } from './api-helpers';

const NO_REVIEW_ITEMS = Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, false]));
const NO_HARD_STOPS = Object.fromEntries(Object.keys(HARD_STOPS).map((k) => [k, false]));
const BENIGN: Record<string, unknown[]> = { phq9: [1, 1, 1, 1, 1, 1, 1, 1, 0], gad7: [1, 1, 1, 1, 1, 1, 1], pcl5: Array(20).fill(1), cssrs: [false, false, null, null, null, false], 'qids-sr16': Array(16).fill(0) };

let stack: TestStack;
let call: ReturnType<typeof client>;
const t = {} as Record<StaffRole, string>;
const clinicId = `ket-dose-${uid()}`;
let prescriber: { token: string; staffId: string };
let clientId: string;
let courseId: string;

async function act(action: string, body: unknown, token = prescriber.token) {
  const res = await call('POST', `/api/courses/${courseId}/${action}`, { token, body });
  if (res.status !== 200) throw new Error(`${action}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}
const stepState = async (stepKey: string) => (await stack.db.selectFrom('course_steps').select('state').where('id', '=', `${courseId}/${stepKey}`).executeTakeFirst())?.state;

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  for (const role of STAFF_ROLES) t[role] = await tokenFor(stack.db, role);
  expect((await call('POST', '/api/clinics', { token: t.admin, body: { id: clinicId, name: 'Riverside KAP' } })).status).toBe(201);
  for (const role of STAFF_ROLES) {
    expect((await call('POST', '/api/staff', { token: t.admin, body: { email: `${role}-${uid()}@riverside.example.org`, displayName: `Riverside ${role}`, role, clinicIds: [clinicId] } })).status).toBe(201);
  }
  prescriber = await personTokenFor(stack.db, 'prescriber', clinicId);
  const cl = await call('POST', '/api/clients', { token: t.coordinator, body: { clinicId, givenName: 'Noor', familyName: `Haddad-${uid()}`, email: 'noor@example.org', dateOfBirth: '1988-09-02' } });
  expect(cl.status).toBe(201);
  clientId = cl.body.id;
  const en = await call('POST', `/api/clients/${clientId}/courses`, { token: t.coordinator, body: { protocolId: 'kap-office' } });
  expect(en.status).toBe(201);
  courseId = en.body.id;
  await answerInvited(stack, courseId, 'screening', BENIGN);
  await act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS }, t.admin);
  await act('clearance', { decision: 'approved' });
  await act('consent', { documentVersion: 'v1', signedByClient: true, prescriberSigned: true }, t.admin);
  for (const prep of ['prep-1', 'prep-2', 'prep-3']) {
    await eventually(async () => ['open', 'overdue'].includes((await stepState(prep)) ?? ''));
    await act('schedule', { stepKey: prep, startsInHours: 0 }, t.admin);
    await act('session-complete', { stepKey: prep }, t.admin);
  }
  await eventually(async () => ['open', 'overdue'].includes((await stepState('dose-1')) ?? ''));
  await act('schedule', { stepKey: 'dose-1', startsInHours: 0 }, t.admin);
  await act('pre-dose-check', { stepKey: 'dose-1', bloodPressure: { systolic: 124, diastolic: 80 }, hoursSinceFood: 8, hoursSinceClearLiquids: 3, escortConfirmed: true, pregnancy: 'negative', cssrsRisk: 'none', phq9Item9: 0 });
  await act('dose', { stepKey: 'dose-1', route: 'intramuscular', doseMg: 35, lotNumber: 'KET-2291' });
}, 150_000);

afterAll(async () => {
  for (const c of await stack.db.selectFrom('courses').select('workflow_id').where('clinic_id', '=', clinicId).where('ended_at', 'is', null).execute()) {
    await stack.temporal.workflow.getHandle(c.workflow_id).terminate('test cleanup').catch(() => undefined);
  }
  await stack?.stop();
});

test('the ketamine dose reaches the EHR as recorded: RxNorm ingredient, SNOMED CT route, dose and lot from the session; 0 HAPI errors', async () => {
  // The session's own record holds the lot (no REMS form exists for this protocol).
  const session = await eventually(async () => {
    const s = await stack.db.selectFrom('course_sessions').select(['status', 'detail']).where('id', '=', `${courseId}/dose-1`).executeTakeFirst();
    return s?.status === 'dosed' ? s : null;
  });
  expect(session.detail).toMatchObject({ route: 'intramuscular', doseMg: 35, lotNumber: 'KET-2291' });
  expect(await stack.db.selectFrom('rems_monitoring_forms').select('id').where('course_id', '=', courseId).execute()).toEqual([]);

  const res = await call('GET', `/api/courses/${courseId}/fhir`, { token: prescriber.token });
  expect(res.status).toBe(200);
  const bundle = JSON.parse(res.text);
  const [ma] = bundle.entry.map((e: { resource: { resourceType: string } }) => e.resource).filter((r: { resourceType: string }) => r.resourceType === 'MedicationAdministration');
  expect(ma.medicationCodeableConcept).toEqual({ coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '6130', display: 'ketamine' }], text: 'ketamine' });
  expect(ma.dosage.route).toEqual({ coding: [{ system: 'http://snomed.info/sct', code: '78421000', display: 'Intramuscular route' }], text: 'intramuscular' });
  expect(ma.dosage.dose).toEqual({ value: 35, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' });
  expect(ma.note).toEqual([{ text: 'Lot number: KET-2291' }]);

  // The same resource through the FHIR API, by patient.
  const patientId = bundle.entry.find((e: { resource: { resourceType: string } }) => e.resource.resourceType === 'Patient').resource.id;
  const search = await call('GET', `/fhir/MedicationAdministration?patient=${patientId}`, { token: prescriber.token });
  expect(search.status).toBe(200);
  expect(search.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual([ma.id]);

  expect(hapiErrors(hapiValidate({ 'ketamine-course': bundle }))).toEqual([]);
}, 180_000);

// Interoperability against the real stack (worker, Temporal dev server, database, HTTP app):
//  - webhooks to real HTTP receivers on loopback, one failing twice per event then recovering;
//  - the Spravato REMS monitoring form: 422 hard stop, filing, print page, and an unfiled form on
//    the stuck board after 7 (time-scaled) days;
//  - the FHIR export routes, checked by the independent validators.
import { clinicLocalTime } from '../../src/format-time';
import { HARD_STOPS, REVIEW_ITEMS } from '../../src/domain/rules/eligibility';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { STAFF_ROLES } from '../../src/auth/roles';
import type { StaffRole } from '../../src/db/schema';
import { verifySignature } from '../../src/webhooks/signature';
import { answerInvited, eventually, startTestStack, type TestStack } from '../harness/stack';
import { hapiErrors, hapiValidate } from '../fhir-validator/hapi';
import { errorsOf, validateFhir } from '../unit/fhir/fhir-validator';
import { client, personTokenFor, tokenFor, uid } from './api-helpers';

// Protocol days per real day: one protocol day lasts one second.
const TIME_SCALE = 86_400;
const NO_REVIEW_ITEMS = Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, false]));
const NO_HARD_STOPS = Object.fromEntries(
  Object.keys(HARD_STOPS).map((k) => [k, false]),
);
const BENIGN: Record<string, unknown[]> = { phq9: [1, 1, 1, 1, 1, 1, 1, 1, 0], gad7: [1, 1, 1, 1, 1, 1, 1], pcl5: Array(20).fill(1), cssrs: [false, false, null, null, null, false], 'qids-sr16': Array(16).fill(0) };
const CHECKLIST = { 'alert-oriented': true, 'minimal-nausea': true, 'walks-steadily': true, 'dissociation-resolved': true, 'written-instructions': true };
const FULL_FORM = { doseMg: 56, lotNumber: 'LOT-7', concomitant: { benzodiazepines: false, sedativeHypnotics: false, psychostimulants: false, maois: false, opioids: false }, sedation: false, dissociation: true, respiratoryDepression: false, seriousAdverseEvent: false };

let stack: TestStack;
let call: ReturnType<typeof client>;
const t = {} as Record<StaffRole, string>;
const clinicId = `interop-${uid()}`;
const otherClinic = `interop-other-${uid()}`;

interface Received {
  eventId: string;
  type: string;
  status: number;
  verified: boolean;
  body: any;
}
/** A loopback receiver that verifies signatures; `failFirst` answers 500 to the first n requests of each event id. */
async function receiver(failFirst: number) {
  let secret = '';
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const eventId = String(req.headers['x-kap-event-id']);
      const verified = verifySignature(secret, req.headers['x-kap-signature'] as string, raw).ok;
      const seen = got.filter((g) => g.eventId === eventId).length;
      const status = !verified ? 401 : seen < failFirst ? 500 : 204;
      got.push({ eventId, type: String(req.headers['x-kap-event-type']), status, verified, body: JSON.parse(raw) });
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    got,
    setSecret: (s: string) => void (secret = s),
    acked: () => got.filter((g) => g.status >= 200 && g.status < 300),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function newClient(): Promise<string> {
  const res = await call('POST', '/api/clients', { token: t.coordinator, body: { clinicId, givenName: 'Rem', familyName: `Sato-${uid()}`, email: 'rem@example.org', dateOfBirth: '1980-04-02' } });
  expect(res.status).toBe(201);
  return res.body.id;
}
async function enroll(clientId: string, protocolId: string): Promise<string> {
  const res = await call('POST', `/api/clients/${clientId}/courses`, { token: t.coordinator, body: { protocolId, timeScale: TIME_SCALE } });
  expect(res.status).toBe(201);
  return res.body.id;
}
let person: string | undefined;
async function act(courseId: string, action: string, body: unknown, role: StaffRole = 'admin') {
  // Clearance is a clinical judgement by a person: an admin's own token (a bare one gets 403).
  const token = action === 'clearance' ? (person ??= (await personTokenFor(stack.db, 'admin')).token) : t[role];
  const res = await call('POST', `/api/courses/${courseId}/${action}`, { token, body });
  if (res.status !== 200) throw new Error(`${action}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}
async function answerAll(courseId: string, stepKey: string) {
  await answerInvited(stack, courseId, stepKey, BENIGN);
}
async function stepState(courseId: string, stepKey: string) {
  return (await stack.db.selectFrom('course_steps').select('state').where('id', '=', `${courseId}/${stepKey}`).executeTakeFirst())?.state;
}

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  for (const role of STAFF_ROLES) t[role] = await tokenFor(stack.db, role);
  expect((await call('POST', '/api/clinics', { token: t.admin, body: { id: clinicId, name: 'Interop Clinic' } })).status).toBe(201);
  expect((await call('POST', '/api/clinics', { token: t.admin, body: { id: otherClinic, name: 'Other Clinic' } })).status).toBe(201);
  // Staff to alert (safety alerts and escalations go to roles in the clinic).
  for (const role of STAFF_ROLES) {
    const res = await call('POST', '/api/staff', { token: t.admin, body: { email: `${role}-${uid()}@interop.example.org`, displayName: `Interop ${role}`, role, clinicIds: [clinicId] } });
    expect(res.status).toBe(201);
  }
});
afterAll(async () => {
  for (const c of await stack.db.selectFrom('courses').select('workflow_id').where('clinic_id', '=', clinicId).where('ended_at', 'is', null).execute()) {
    await stack.temporal.workflow.getHandle(c.workflow_id).terminate('test cleanup').catch(() => undefined);
  }
  await stack?.stop();
});

describe('webhooks', () => {
  test('subscription routes: roles, validation, secret shown once, scope', async () => {
    const body = { clinicId, url: 'http://127.0.0.1:9/x', eventTypes: ['step.entered'] };
    expect((await call('POST', '/api/webhooks', { token: t.therapist, body })).status).toBe(403);
    expect((await call('POST', '/api/webhooks', { body })).status).toBe(401);
    const bad = await call('POST', '/api/webhooks', { token: t.coordinator, body: { clinicId, url: 'ftp://x', eventTypes: ['nope'] } });
    expect(bad.status).toBe(400);
    expect(bad.body.problems.map((p: { field: string }) => p.field).sort()).toEqual(['eventTypes.0', 'url']);
    expect((await call('POST', '/api/webhooks', { token: t.coordinator, body: { ...body, clinicId: 'no-such-clinic' } })).status).toBe(404);
    const created = await call('POST', '/api/webhooks', { token: t.coordinator, body });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    const row = await stack.db.selectFrom('webhook_subscriptions').select('secret_sealed').where('id', '=', created.body.id).executeTakeFirstOrThrow();
    expect(row.secret_sealed).not.toContain(created.body.secret.slice(6)); // sealed at rest
    const got = await call('GET', `/api/webhooks/${created.body.id}`, { token: t.admin });
    expect(got.status).toBe(200);
    expect(got.body.secret).toBeUndefined();
    const scoped = await tokenFor(stack.db, 'coordinator', otherClinic);
    expect((await call('GET', `/api/webhooks/${created.body.id}`, { token: scoped })).status).toBe(404); // outside its clinics: not found
    expect((await call('GET', '/api/webhooks/whk_nope', { token: t.admin })).status).toBe(404);
    const rotated = await call('POST', `/api/webhooks/${created.body.id}/rotate-secret`, { token: t.admin });
    expect(rotated.body.secret).not.toBe(created.body.secret);
    expect((await call('PATCH', `/api/webhooks/${created.body.id}`, { token: t.admin, body: { active: false } })).body.active).toBe(false);
    expect((await call('DELETE', `/api/webhooks/${created.body.id}`, { token: t.admin })).status).toBe(204);
    expect((await call('GET', `/api/webhooks/${created.body.id}`, { token: t.admin })).status).toBe(404);
  });

  test('a receiver failing twice per event gets each event exactly once after recovery; a healthy one is unaffected; signatures verify', async () => {
    const flaky = await receiver(2);
    const healthy = await receiver(0);
    try {
      const allTypes = ['step.entered', 'step.overdue', 'assessment.completed', 'safety.escalation'];
      for (const r of [flaky, healthy]) {
        const res = await call('POST', '/api/webhooks', { token: t.coordinator, body: { clinicId, url: r.url, eventTypes: allTypes, description: 'test receiver' } });
        expect(res.status).toBe(201);
        r.setSecret(res.body.secret);
        (r as { id?: string }).id = res.body.id;
      }
      const courseId = await enroll(await newClient(), 'kap-office');
      await answerAll(courseId, 'screening'); // assessment.completed
      await act(courseId, 'screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS }); // clearance entered
      await act(courseId, 'adverse-event', { category: 'psychiatric', severity: 'severe', serious: true, description: 'test' }); // safety.escalation
      // clearance is due in 72 protocol hours (3 s): it goes overdue on its own.
      await eventually(async () => (await stepState(courseId, 'clearance')) === 'overdue', 30_000, 250);

      const types = (r: typeof flaky) => new Set(r.acked().filter((g) => g.body.courseId === courseId).map((g) => g.type));
      await eventually(async () => allTypes.every((ty) => types(flaky).has(ty) && types(healthy).has(ty)), 60_000, 250);
      // Let every delivery that is due settle, then count.
      await eventually(async () => {
        const pending = await stack.db.selectFrom('webhook_deliveries as d').innerJoin('webhook_events as e', 'e.id', 'd.event_id').select('d.id').where('e.course_id', '=', courseId).where('d.status', '=', 'pending').execute();
        return pending.length === 0;
      }, 60_000, 250);
      await new Promise((r) => setTimeout(r, 1500)); // a duplicate, if any, would arrive now

      const events = await stack.db.selectFrom('webhook_events').selectAll().where('course_id', '=', courseId).execute();
      expect(events.length).toBeGreaterThanOrEqual(4);
      for (const r of [flaky, healthy]) {
        const mine = r.got.filter((g) => g.body.courseId === courseId);
        expect(mine.every((g) => g.verified)).toBe(true);
        const ackedPerEvent = new Map<string, number>();
        for (const g of r.acked().filter((x) => x.body.courseId === courseId)) ackedPerEvent.set(g.eventId, (ackedPerEvent.get(g.eventId) ?? 0) + 1);
        expect([...ackedPerEvent.keys()].sort()).toEqual(events.map((e) => e.id).sort());
        expect([...ackedPerEvent.values()].every((n) => n === 1)).toBe(true);
      }
      // The flaky receiver saw exactly three attempts per event (500, 500, 204); the healthy one, one.
      for (const e of events) {
        expect(flaky.got.filter((g) => g.eventId === e.id).map((g) => g.status)).toEqual([500, 500, 204]);
        expect(healthy.got.filter((g) => g.eventId === e.id).map((g) => g.status)).toEqual([204]);
      }
      // Payloads: identifiers and codes only.
      const overdue = healthy.acked().find((g) => g.type === 'step.overdue' && g.body.courseId === courseId)!;
      expect(overdue.body).toMatchObject({ type: 'step.overdue', clinicId, courseId, data: { stepKey: 'clearance', stepKind: 'clearance', ownerRole: 'prescriber' } });
      expect(JSON.stringify(healthy.got.map((g) => g.body))).not.toMatch(/answers|Sato/);
      // The delivery log.
      const log = await call('GET', `/api/webhooks/${(flaky as { id?: string }).id}/deliveries`, { token: t.coordinator });
      expect(log.status).toBe(200);
      const forCourse = log.body.deliveries.filter((d: { courseId: string }) => d.courseId === courseId);
      expect(forCourse.length).toBe(events.length);
      expect(forCourse.every((d: { status: string; attempts: number; lastStatusCode: number }) => d.status === 'delivered' && d.attempts === 3 && d.lastStatusCode === 204)).toBe(true);
      expect((await call('GET', `/api/webhooks/${(flaky as { id?: string }).id}/deliveries`, { token: t.prescriber })).status).toBe(403);
    } finally {
      for (const r of [flaky, healthy]) if ((r as { id?: string }).id) await call('DELETE', `/api/webhooks/${(r as { id?: string }).id}`, { token: t.admin });
      await flaky.close();
      await healthy.close();
    }
  }, 150_000);
});

describe('Spravato REMS monitoring form', () => {
  let courseId: string;
  let clientId: string;

  beforeAll(async () => {
    clientId = await newClient();
    courseId = await enroll(clientId, 'spravato-rems');
    await answerAll(courseId, 'screening');
    await act(courseId, 'screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
    await act(courseId, 'clearance', { decision: 'approved' });
    await act(courseId, 'rems-enrollment', { enrolled: true, remsPatientId: 'R-1' });
    await act(courseId, 'consent', { documentVersion: 'v1', signedByClient: true, prescriberSigned: true });
    await act(courseId, 'schedule', { stepKey: 'prep-1', startsInHours: 0 });
    await act(courseId, 'session-complete', { stepKey: 'prep-1' });
    for (const n of [1, 2]) {
      const dose = `dose-${n}`;
      await eventually(async () => (await stepState(courseId, dose)) === 'open' || (await stepState(courseId, dose)) === 'overdue');
      // Doses at least 2 protocol days apart: schedule dose-2 two days out (2 s here) and let it come.
      await act(courseId, 'schedule', { stepKey: dose, startsInHours: n === 1 ? 0 : 49 });
      if (n > 1) await new Promise((r) => setTimeout(r, 2200));
      await act(courseId, 'pre-dose-check', { stepKey: dose, bloodPressure: { systolic: 122, diastolic: 78 }, hoursSinceFood: 8, hoursSinceClearLiquids: 3, escortConfirmed: true, pregnancy: 'negative', cssrsRisk: 'none', phq9Item9: 0 });
      await act(courseId, 'dose', { stepKey: dose, route: 'intranasal', doseMg: 56, lotNumber: 'LOT-7' });
      // A 40-minute reading is refused before 40 minutes have passed (~28 ms here).
      await new Promise((r) => setTimeout(r, 100));
      await act(courseId, 'vitals', { stepKey: dose, atMinutes: 40, bloodPressure: { systolic: 130, diastolic: 82 }, spo2: 98 });
      await new Promise((r) => setTimeout(r, 200)); // 120 protocol minutes are ~83 ms here
      await act(courseId, 'discharge', { stepKey: dose, bloodPressure: { systolic: 124, diastolic: 80 }, spo2: 98, checklist: CHECKLIST, responsibleAdultPresent: true });
      if (n === 1) await act(courseId, 'session-complete', { stepKey: 'integration-1' });
    }
    await eventually(async () => (await stack.db.selectFrom('rems_monitoring_forms').select('id').where('course_id', '=', courseId).execute()).length === 2);
  }, 120_000);

  test('hard stop: 422 names every missing required field; wrong types are 400; filing needs the right role', async () => {
    const url = `/api/courses/${courseId}/rems/dose-1`;
    const empty = await call('POST', url, { token: t.prescriber, body: {} });
    expect(empty.status).toBe(422);
    expect(empty.body.problems.map((p: { field: string }) => p.field).sort()).toEqual(
      ['concomitant.benzodiazepines', 'concomitant.maois', 'concomitant.opioids', 'concomitant.psychostimulants', 'concomitant.sedativeHypnotics', 'dissociation', 'doseMg', 'lotNumber', 'respiratoryDepression', 'sedation', 'seriousAdverseEvent'].sort(),
    );
    const partial = await call('POST', url, { token: t.prescriber, body: { ...FULL_FORM, concomitant: { benzodiazepines: true }, sedation: undefined } });
    expect(partial.status).toBe(422);
    expect(partial.body.problems.map((p: { field: string }) => p.field).sort()).toEqual(['concomitant.maois', 'concomitant.opioids', 'concomitant.psychostimulants', 'concomitant.sedativeHypnotics', 'sedation']);
    expect((await call('POST', url, { token: t.prescriber, body: { ...FULL_FORM, sedation: 'no' } })).status).toBe(400);
    expect((await call('POST', url, { token: t.therapist, body: FULL_FORM })).status).toBe(403);
    expect((await call('POST', `/api/courses/${courseId}/rems/dose-9`, { token: t.prescriber, body: FULL_FORM })).status).toBe(404);
  });

  test('a complete form files: recorded vitals and answers, step done, 409 on a second filing; print page', async () => {
    const res = await call('POST', `/api/courses/${courseId}/rems/dose-1`, { token: t.prescriber, body: FULL_FORM });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ session: 'dose-1', firstTreatment: true, doseMg: 56, lotNumber: 'LOT-7', bpPre: '122/78', bp40: '130/82', bpDischarge: '124/80', dissociation: true, status: 'filed' });
    expect(res.body.monitoringMinutes).toBeGreaterThanOrEqual(120);
    await eventually(async () => (await stepState(courseId, 'rems-form-1')) === 'done');
    expect((await call('POST', `/api/courses/${courseId}/rems/dose-1`, { token: t.prescriber, body: FULL_FORM })).status).toBe(409);
    const print = await call('GET', `/courses/${courseId}/rems/dose-1/print`, { token: t.therapist });
    expect(print.status).toBe(200);
    expect(String(print.headers['content-type'])).toMatch(/text\/html/);
    expect(print.text).toContain('REMS Patient Monitoring Form');
    expect(print.text).toContain('LOT-7');
    expect(print.text).toContain('130/82');
    expect(print.text).toMatch(/Filed/);
    expect((await call('GET', `/courses/${courseId}/rems/dose-1/print`)).status).toBe(303); // to the login page
  });

  test('an unfiled form is on the stuck board after 7 days, and late in the course\'s form list', async () => {
    const form = await stack.db.selectFrom('rems_monitoring_forms').selectAll().where('course_id', '=', courseId).where('session_step_key', '=', 'dose-2').executeTakeFirstOrThrow();
    expect(form.submitted_at).toBeNull();
    // 7 protocol days are 7 s here: wait for the due date to pass.
    const wait = form.due_at.getTime() - Date.now() + 500;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const stuck = await eventually(async () => {
      const res = await call('GET', `/api/stuck?clinicId=${clinicId}`, { token: t.coordinator });
      return res.body.items?.find((i: { courseId: string; stepKey: string }) => i.courseId === courseId && i.stepKey === 'rems-form-2');
    });
    expect(stuck).toMatchObject({ type: 'deadline', stepKind: 'rems-monitoring-form', action: expect.objectContaining({ id: 'rems-form' }) });
    const zone = (await stack.db.selectFrom('clinics').select('timezone').where('id', '=', clinicId).executeTakeFirstOrThrow()).timezone;
    expect(stuck.problem).toContain(`REMS form for dose-2 was due by ${clinicLocalTime(form.due_at, zone)} (7-day REMS deadline; clinic time)`);
    const list = await call('GET', `/api/courses/${courseId}/rems`, { token: t.coordinator });
    expect(list.body.forms.map((f: { session: string; status: string }) => [f.session, f.status])).toEqual([
      ['dose-1', 'filed'],
      ['dose-2', 'late'],
    ]);
  }, 60_000);

  test('FHIR export of the course and of the client passes the independent validators; reads are audited and scoped', async () => {
    const res = await call('GET', `/api/courses/${courseId}/fhir`, { token: t.therapist });
    expect(res.status).toBe(200);
    expect(String(res.headers['content-type'])).toMatch(/^application\/fhir\+json/);
    const bundle = JSON.parse(res.text);
    expect(errorsOf(validateFhir(bundle))).toEqual([]);
    // The real course (esketamine doses, vital signs, encounters, responses) through the HAPI FHIR R4 validator too.
    expect(hapiErrors(hapiValidate({ 'rems-course': bundle }))).toEqual([]);
    const types = bundle.entry.map((e: { resource: { resourceType: string } }) => e.resource.resourceType);
    for (const ty of ['Patient', 'Questionnaire', 'QuestionnaireResponse', 'Observation', 'CarePlan', 'Task']) expect(types).toContain(ty);
    const tasks = bundle.entry.filter((e: { resource: { resourceType: string } }) => e.resource.resourceType === 'Task').map((e: { resource: unknown }) => e.resource);
    const steps = await stack.db.selectFrom('course_steps').select('id').where('course_id', '=', courseId).execute();
    expect(tasks.length).toBe(steps.length);
    const patient = bundle.entry.find((e: { resource: { resourceType: string } }) => e.resource.resourceType === 'Patient').resource;
    expect(patient.birthDate).toBe('1980-04-02');
    // Identifier systems from the stable FHIR_SYSTEM_BASE (its default here), never from the public URL.
    expect(patient.identifier[0].system).toBe('https://kap-pathways.example.org/fhir/client-id');
    // The treatment as recorded: an Encounter for the session, the esketamine dose (RxNorm 2201623) with
    // the dose and lot as the session recorded them, and the vital signs on the R4 core profiles.
    const of = (ty: string) => bundle.entry.map((e: { resource: { resourceType: string } }) => e.resource).filter((r: { resourceType: string }) => r.resourceType === ty);
    expect(of('Encounter').map((e: { identifier: Array<{ value: string }> }) => e.identifier[0]!.value)).toContain(`${courseId}/dose-1`);
    const [ma] = of('MedicationAdministration');
    expect(ma.medicationCodeableConcept.coding[0].code).toBe('2201623');
    expect(ma.dosage.dose.value).toBe(56);
    expect(ma.note[0].text).toBe('Lot number: LOT-7');
    const vitalCodes = of('Observation').filter((o: { category: Array<{ coding: Array<{ code: string }> }> }) => o.category[0]!.coding[0]!.code === 'vital-signs').map((o: { code: { coding: Array<{ code: string }> } }) => o.code.coding[0]!.code);
    expect(vitalCodes).toContain('85354-9');
    expect(vitalCodes).toContain('2708-6');

    const whole = await call('GET', `/api/clients/${clientId}/fhir`, { token: t.coordinator });
    expect(whole.status).toBe(200);
    expect(errorsOf(validateFhir(JSON.parse(whole.text)))).toEqual([]);

    const audit = await stack.db.selectFrom('audit_log').select(['action', 'detail', 'course_id']).where('client_id', '=', clientId).where('action', '=', 'client.read').execute();
    // Every read of the record is audited: the REMS forms read earlier in this file, and both exports.
    expect(audit.map((a) => (a.detail as { what: string }).what).sort()).toEqual(['api rems forms', 'fhir-export-client', 'fhir-export-course', 'rems form print dose-1']);
    expect((await call('GET', `/api/courses/${courseId}/fhir`)).status).toBe(401);
    expect((await call('GET', `/api/courses/${courseId}/fhir`, { token: await tokenFor(stack.db, 'therapist', otherClinic) })).status).toBe(404); // outside its clinics: not found
    expect((await call('GET', '/api/courses/nope/fhir', { token: t.admin })).status).toBe(404);
    expect((await call('GET', '/api/clients/nope/fhir', { token: t.admin })).status).toBe(404);
  }, 180_000); // one JVM run of the HAPI validator
});

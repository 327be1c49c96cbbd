// The EHR integrator's day against the read-only FHIR R4 API (src/fhir/api.ts), with two clinics: the
// integrator holds a token limited to the Harbour clinic. It reads the CapabilityStatement, finds its
// patients, reads one, searches a patient's care plan and tasks by date, and pulls everything with a
// bulk $export (kick-off, status polling, NDJSON download). Nothing of the Hill clinic appears anywhere;
// every read of a client's record and every export is in the audit trail; bad search parameters are
// 400 OperationOutcomes naming the parameter.
import { buildApp } from '../../src/api/app';
import { STAFF_ROLES } from '../../src/auth/roles';
import { createLogger } from '../../src/log';
import { fhirId } from '../../src/fhir/ids';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, tokenFor, uid } from './api-helpers';

let stack: TestStack;
let call: ReturnType<typeof client>;
const U = uid();
const harbour = `harbour-${U}`;
const hill = `hill-${U}`;
let admin: string;
const ids = {} as Record<'harbour' | 'hill', { clientId: string; courseId: string; family: string }>;

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  admin = await tokenFor(stack.db, 'admin');
  for (const [key, clinicId, name] of [['harbour', harbour, 'Harbour Clinic'], ['hill', hill, 'Hill Clinic']] as const) {
    expect((await call('POST', '/api/clinics', { token: admin, body: { id: clinicId, name } })).status).toBe(201);
    for (const role of STAFF_ROLES) {
      expect((await call('POST', '/api/staff', { token: admin, body: { email: `${role}-${uid()}@fhir.example.org`, displayName: `${name} ${role}`, role, clinicIds: [clinicId] } })).status).toBe(201);
    }
    const family = `${key === 'harbour' ? 'Harbourson' : 'Hillsdottir'}-${U}`;
    const c = await call('POST', '/api/clients', { token: admin, body: { clinicId, givenName: key === 'harbour' ? 'Ada' : 'Bea', familyName: family, email: `${key}@example.org`, dateOfBirth: '1981-06-15', ...(key === 'harbour' ? { sex: 'female' } : {}) } });
    expect(c.status).toBe(201);
    const course = await call('POST', `/api/clients/${c.body.id}/courses`, { token: admin, body: { protocolId: 'kap-office' } });
    expect(course.status).toBe(201);
    ids[key] = { clientId: c.body.id, courseId: course.body.id, family };
    await eventually(async () => (await stack.db.selectFrom('course_steps').select('id').where('course_id', '=', course.body.id).execute()).length > 0);
  }
}, 120_000);

afterAll(async () => {
  for (const c of await stack.db.selectFrom('courses').select('workflow_id').where('clinic_id', 'in', [harbour, hill]).where('ended_at', 'is', null).execute()) {
    await stack.temporal.workflow.getHandle(c.workflow_id).terminate('test cleanup').catch(() => undefined);
  }
  await stack?.stop();
});

const hillMarkers = () => [hill, ids.hill.clientId, ids.hill.courseId, ids.hill.family, fhirId('Patient', ids.hill.clientId)];
const expectNoHill = (text: string) => {
  for (const m of hillMarkers()) expect({ marker: m, found: text.includes(m) }).toEqual({ marker: m, found: false });
};

test("the integrator's day: metadata, patient search, read, search by patient and date, bulk export: Harbour's records only, audited", async () => {
  const ehr = await tokenFor(stack.db, 'coordinator', harbour);

  // 1. What the server can do: public, FHIR R4, the types and the bulk operations.
  const meta = await call('GET', '/fhir/metadata');
  expect(meta.status).toBe(200);
  expect(String(meta.headers['content-type'])).toMatch(/^application\/fhir\+json/);
  expect(meta.body).toMatchObject({ resourceType: 'CapabilityStatement', fhirVersion: '4.0.1', kind: 'instance' });
  const types = meta.body.rest[0].resource.map((r: { type: string }) => r.type);
  for (const ty of ['Patient', 'Observation', 'QuestionnaireResponse', 'CarePlan', 'Task', 'MedicationAdministration', 'Encounter', 'Flag']) expect(types).toContain(ty);
  expect(meta.body.rest[0].operation.map((o: { name: string }) => o.name)).toEqual(['export', 'patient-export']);

  // 2. Its patients: exactly Harbour's client; none of Hill's, even asked for by identifier.
  const patients = await call('GET', '/fhir/Patient', { token: ehr });
  expect(patients.status).toBe(200);
  expect(patients.body).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 1 });
  const patient = patients.body.entry[0].resource;
  expect(patient.identifier[0]).toEqual({ system: 'https://kap-pathways.example.org/fhir/client-id', value: ids.harbour.clientId });
  expect(patient.gender).toBe('female'); // as the client record holds it
  expectNoHill(patients.text);
  const byIdentifier = await call('GET', `/fhir/Patient?identifier=${ids.hill.clientId}`, { token: ehr });
  expect(byIdentifier.body.total).toBe(0);
  expect((await call('GET', `/fhir/Patient?identifier=${ids.harbour.clientId}&birthdate=1981-06-15`, { token: ehr })).body.total).toBe(1);

  // 3. Read: its patient; Hill's patient is not found (the same answer as a made-up id).
  const read = await call('GET', `/fhir/Patient/${patient.id}`, { token: ehr });
  expect(read.status).toBe(200);
  expect(read.body.id).toBe(patient.id);
  const hillRead = await call('GET', `/fhir/Patient/${fhirId('Patient', ids.hill.clientId)}`, { token: ehr });
  expect(hillRead.status).toBe(404);
  expect(hillRead.body.resourceType).toBe('OperationOutcome');
  expect((await call('GET', `/fhir/Patient/${fhirId('Patient', 'made-up')}`, { token: ehr })).status).toBe(404);

  // 4. The care plan and its tasks, by patient and date; references are relative and resolve by read.
  const today = new Date().toISOString().slice(0, 10);
  const plans = await call('GET', `/fhir/CarePlan?patient=Patient/${patient.id}&date=ge${today}`, { token: ehr });
  expect(plans.status).toBe(200);
  expect(plans.body.total).toBe(1);
  expect(plans.body.entry[0].resource.subject.reference).toBe(`Patient/${patient.id}`);
  expect((await call('GET', `/fhir/CarePlan?patient=Patient/${patient.id}&date=lt2000-01-01`, { token: ehr })).body.total).toBe(0);
  const tasks = await call('GET', `/fhir/Task?patient=${patient.id}`, { token: ehr });
  expect(tasks.body.total).toBeGreaterThan(0);
  const taskRead = await call('GET', `/fhir/Task/${tasks.body.entry[0].resource.id}`, { token: ehr });
  expect(taskRead.status).toBe(200);
  // Hill's patient as a search parameter: nothing, not an error that says it exists.
  const hillTasks = await call('GET', `/fhir/Task?patient=Patient/${fhirId('Patient', ids.hill.clientId)}`, { token: ehr });
  expect(hillTasks.body.total).toBe(0);
  // Every search without a patient still only reads Harbour.
  for (const ty of ['Task', 'CarePlan', 'Observation', 'QuestionnaireResponse', 'Encounter', 'MedicationAdministration', 'Flag']) {
    const all = await call('GET', `/fhir/${ty}`, { token: ehr });
    expect(all.status).toBe(200);
    expectNoHill(all.text);
  }

  // 5. Bulk export: kick-off, poll, download: Harbour's resources, nothing of Hill's.
  const kick = await call('POST', '/fhir/$export', { token: ehr, headers: { prefer: 'respond-async', accept: 'application/fhir+json' } });
  expect(kick.status).toBe(202);
  const statusUrl = String(kick.headers['content-location']);
  expect(statusUrl).toMatch(/\/fhir\/\$export-status\/[0-9a-f-]{36}$/);
  const path = new URL(statusUrl).pathname;
  const manifest = await eventually(async () => {
    const s = await call('GET', path, { token: ehr });
    return s.status === 200 ? s.body : undefined;
  });
  expect(manifest.requiresAccessToken).toBe(true);
  const files = new Map<string, string>();
  for (const o of manifest.output as Array<{ type: string; url: string; count: number }>) {
    const dl = await call('GET', new URL(o.url).pathname, { token: ehr });
    expect(dl.status).toBe(200);
    expect(String(dl.headers['content-type'])).toMatch(/^application\/fhir\+ndjson/);
    const lines = dl.text.trim().split('\n');
    expect(lines.length).toBe(o.count);
    for (const l of lines) expect(JSON.parse(l).resourceType).toBe(o.type);
    files.set(o.type, dl.text);
  }
  for (const ty of ['Patient', 'CarePlan', 'Task', 'Organization']) expect([...files.keys()]).toContain(ty);
  expect(files.get('Patient')!.trim().split('\n').map((l) => JSON.parse(l).id)).toEqual([patient.id]);
  expectNoHill([...files.values()].join('\n'));
  // Another principal cannot see the job; the owner can delete it.
  const other = await tokenFor(stack.db, 'coordinator', harbour);
  expect((await call('GET', path, { token: other })).status).toBe(404);
  expect((await call('DELETE', path, { token: ehr })).status).toBe(202);
  expect((await call('GET', path, { token: ehr })).status).toBe(404);

  // 6. The audit trail: the export, and reads of Harbour's client only.
  const audit = await stack.db.selectFrom('audit_log').select(['action', 'client_id', 'detail']).where((eb) => eb.or([eb('client_id', 'in', [ids.harbour.clientId, ids.hill.clientId]), eb('action', '=', 'fhir.export')])).execute();
  expect(audit.filter((a) => a.action === 'fhir.export').length).toBeGreaterThanOrEqual(1);
  const reads = audit.filter((a) => a.action === 'client.read');
  expect(new Set(reads.map((r) => r.client_id))).toEqual(new Set([ids.harbour.clientId]));
  const what = new Set(reads.map((r) => (r.detail as { what: string }).what));
  for (const w of ['fhir-search Patient', 'fhir-read Patient', 'fhir-search CarePlan', 'fhir-bulk-export']) expect(what).toContain(w);
}, 120_000);

test('an export outlives the API process that started it: a restarted API serves its status and files; another clinic\'s token, or another principal, gets 404', async () => {
  const ehr = await tokenFor(stack.db, 'coordinator', harbour);
  // The API process that takes the kick-off (a second instance on the same database), stopped once the
  // export is done: the job and its files are in PostgreSQL, not in that process.
  const first = await buildApp({ config: stack.config, db: stack.db, temporal: stack.temporal, log: createLogger('silent') });
  await first.ready();
  const callFirst = client(first);
  const kick = await callFirst('POST', '/fhir/Patient/$export?_type=Patient,CarePlan', { token: ehr });
  expect(kick.status).toBe(202);
  const path = new URL(String(kick.headers['content-location'])).pathname;
  const jobId = path.split('/').pop()!;
  await eventually(async () => (await callFirst('GET', path, { token: ehr })).status === 200);
  await first.close();

  // The restarted API (the stack's own app): the same manifest, and the files download.
  const status = await call('GET', path, { token: ehr });
  expect(status.status).toBe(200);
  expect(status.body.request).toMatch(/\/fhir\/Patient\/\$export$/);
  expect(status.body.output.map((o: { type: string }) => o.type)).toEqual(['Patient', 'CarePlan']);
  const patientFile = status.body.output.find((o: { type: string }) => o.type === 'Patient');
  const dl = await call('GET', new URL(patientFile.url).pathname, { token: ehr });
  expect(dl.status).toBe(200);
  expect(String(dl.headers['content-type'])).toMatch(/^application\/fhir\+ndjson/);
  expect(dl.text.trim().split('\n').map((l) => JSON.parse(l).identifier[0].value)).toEqual([ids.harbour.clientId]);
  expect(patientFile.count).toBe(1);
  expectNoHill(dl.text);

  // Hill's integrator, Harbour's other staff, an all-clinic admin: not their job, not found.
  const hillToken = await tokenFor(stack.db, 'coordinator', hill);
  for (const token of [hillToken, await tokenFor(stack.db, 'coordinator', harbour), admin]) {
    for (const url of [path, new URL(patientFile.url).pathname]) {
      const res = await call('GET', url, { token });
      expect({ url, status: res.status, type: res.body.resourceType }).toEqual({ url, status: 404, type: 'OperationOutcome' });
    }
    expect((await call('DELETE', path, { token })).status).toBe(404);
  }

  // What PostgreSQL keeps: who asked, the clinic scope, when, the expiry; and the kick-off is audited.
  const row = await stack.db.selectFrom('fhir_export_jobs').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
  expect(row).toMatchObject({ level: 'patient', status: 'done', clinic_scope: [harbour], types: ['Patient', 'CarePlan'], requested_by: expect.objectContaining({ role: 'coordinator' }) });
  expect(row.owner).toMatch(/^token:/);
  expect(row.finished_at).not.toBeNull();
  expect(row.expires_at.getTime() - row.created_at.getTime()).toBe(3600_000);
  const audited = await stack.db.selectFrom('audit_log').select('detail').where('action', '=', 'fhir.export').execute();
  expect(audited.map((a) => (a.detail as { job: string }).job)).toContain(jobId);

  // A job whose process ended mid-export says so (not "running" for an hour); an expired job is gone.
  await stack.db.updateTable('fhir_export_jobs').set({ status: 'running', updated_at: new Date(Date.now() - 10 * 60_000) }).where('id', '=', jobId).execute();
  const cut = await call('GET', path, { token: ehr });
  expect(cut.status).toBe(500);
  expect(cut.body.issue[0].diagnostics).toContain('cut off');
  await stack.db.updateTable('fhir_export_jobs').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', jobId).execute();
  expect((await call('GET', path, { token: ehr })).status).toBe(404);
  // The next kick-off sweeps expired jobs, files included.
  const next = await call('POST', '/fhir/$export?_type=Patient', { token: ehr });
  expect(next.status).toBe(202);
  await eventually(async () => (await call('GET', new URL(String(next.headers['content-location'])).pathname, { token: ehr })).status === 200);
  expect(await stack.db.selectFrom('fhir_export_files').select('type').where('job_id', '=', jobId).execute()).toEqual([]);
}, 120_000);

test('an all-clinic admin sees both clinics (the scoping above can fail)', async () => {
  const all = await call('GET', '/fhir/Patient', { token: admin });
  expect(all.status).toBe(200);
  const values = all.body.entry.map((e: { resource: { identifier: Array<{ value: string }> } }) => e.resource.identifier[0]!.value);
  expect(values).toEqual(expect.arrayContaining([ids.harbour.clientId, ids.hill.clientId]));
  // Hill's client has no recorded sex: no gender is guessed.
  const hillPatient = all.body.entry.find((e: { resource: { identifier: Array<{ value: string }> } }) => e.resource.identifier[0]!.value === ids.hill.clientId).resource;
  expect(hillPatient.gender).toBeUndefined();
});

test('bad input: OperationOutcome 4xx naming the parameter, never 5xx; roles and credentials enforced', async () => {
  const ehr = await tokenFor(stack.db, 'coordinator', harbour);
  const cases: Array<[string, string, number, string]> = [
    ['GET', '/fhir/Observation?date=yesterday', 400, 'date'],
    ['GET', '/fhir/Observation?date=2026-13-01', 400, 'date'],
    ['GET', '/fhir/Observation?date=2026-01-01T10:00', 400, 'date'],
    ['GET', '/fhir/Task?patient=Patient/not%20an%20id', 400, 'patient'],
    ['GET', '/fhir/Task?_count=-1', 400, '_count'],
    ['GET', '/fhir/Patient?date=2026', 400, 'date'],
    ['GET', '/fhir/Banana', 404, 'Banana'],
    ['POST', '/fhir/$export?_type=Banana', 400, '_type'],
    ['POST', '/fhir/$export?_since=2026-01-01T00:00:00Z', 400, '_since'],
    ['POST', '/fhir/$export?_outputFormat=text/csv', 400, '_outputFormat'],
    ['GET', '/fhir/$export-status/nope', 404, 'nope'],
  ];
  for (const [method, url, status, names] of cases) {
    const res = await call(method, url, { token: ehr });
    expect({ url, status: res.status }).toEqual({ url, status });
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].diagnostics).toContain(names);
  }
  const unauth = await call('GET', '/fhir/Patient');
  expect(unauth.status).toBe(401);
  expect(unauth.body.resourceType).toBe('OperationOutcome');
  const therapist = await tokenFor(stack.db, 'therapist', harbour);
  const refused = await call('POST', '/fhir/$export', { token: therapist });
  expect(refused.status).toBe(403);
  expect(refused.body.resourceType).toBe('OperationOutcome');
  expect((await call('GET', '/fhir/Patient', { token: therapist })).status).toBe(200);
});

// Back-pressure at enrollment (issue #19): a clinic network imports its client list faster than the
// workers start courses. While ENROLLMENT_BACKLOG_LIMIT newly enrolled courses still wait for their first
// step, POST /api/clients/:id/courses answers 503 with Retry-After and writes nothing; once the workers
// have caught up, the same request enrolls. Only enrollment is admitted this way (staff actions are not).
// The backlog is shared by clinic: at the limit, another clinic's single enrollment still gets in.
import { sql } from 'kysely';
import { EnrollmentAdmission } from '../../src/client/admission';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, insertClient, tokenFor, uid } from './api-helpers';

let stack: TestStack;
const clinicId = `clinic-adm-${uid()}`;
const otherClinicId = `clinic-adm-other-${uid()}`;
/**
 * Courses already waiting (other suites share the database, and the test before this one leaves its
 * courses waiting) count too: read now, the limit is set above them.
 */
const waitingNow = () => new EnrollmentAdmission(stack.db, { limit: 1, refreshMs: 0 }).waiting();

beforeAll(async () => {
  // The worker is created but does not poll yet: enrolled courses wait for their first step.
  stack = await startTestStack({ deferWorker: true });
  await stack.db.insertInto('clinics').values([{ id: clinicId, name: 'Admission Clinic' }, { id: otherClinicId, name: 'Admission Clinic (other)' }]).execute();
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

const newClient = (n: string, clinic = clinicId) => insertClient(stack.db, clinic, `${n}-${uid()}`);

test("one clinic's import fills the backlog: that clinic is refused, another clinic enrolling one client is admitted", async () => {
  const { buildApp } = await import('../../src/api/app');
  const { createLogger } = await import('../../src/log');
  const before = await waitingNow();
  // Room for four of the importing clinic's courses above what already waits; at the limit two or
  // more clinics share it, so the importer (with at least half of it) is refused.
  const limit = 2 * before + 4;
  const admission = new EnrollmentAdmission(stack.db, { limit, refreshMs: 200, retryAfterSeconds: 3 });
  const app = await buildApp({ config: stack.config, db: stack.db, temporal: stack.temporal, log: createLogger('silent'), admission });
  await app.ready();
  try {
    const call = client(app);
    const importer = await tokenFor(stack.db, 'coordinator', clinicId);
    const other = await tokenFor(stack.db, 'coordinator', otherClinicId);
    const imported = await Promise.all(Array.from({ length: limit - before + 3 }, (_, i) => newClient(`import${i}`)));
    const results = await Promise.all(imported.map((id) => call('POST', `/api/clients/${id}/courses`, { token: importer, body: { protocolId: 'kap-office' } })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(limit - before);
    expect(results.filter((r) => r.status === 503)).toHaveLength(3);
    // The backlog is at the limit; the other clinic enrolls its one client.
    const single = await call('POST', `/api/clients/${await newClient('single', otherClinicId)}/courses`, { token: other, body: { protocolId: 'kap-office' } });
    expect(single.status).toBe(201);
    // The importer is still refused, and told how much of the backlog is its own.
    const again = await call('POST', `/api/clients/${await newClient('again')}/courses`, { token: importer, body: { protocolId: 'kap-office' } });
    expect(again.status).toBe(503);
    expect(again.body.message).toMatch(new RegExp(`, ${limit - before} of them this clinic's \\(the limit is ${limit}, ENROLLMENT_BACKLOG_LIMIT; at the limit each clinic waiting may have \\d+\\): nothing was enrolled`));
    expect(admission.refusals).toBe(4);
  } finally {
    await app.close();
  }
}, 60_000);

test('a bulk import while the worker is behind: as many enrollments as the limit leaves room for admitted, the rest refused with 503 and Retry-After, nothing written for them; after the worker catches up the same request enrolls', async () => {
  const { buildApp } = await import('../../src/api/app');
  const { createLogger } = await import('../../src/log');
  // What waits already (the test above leaves its courses waiting, other suites may): room for
  // `room` of this clinic's above it. At the limit this clinic (room courses) is at or past its share
  // (at most half the limit when another clinic waits too, all of it when none does).
  const before = await waitingNow();
  const limit = 2 * before + 2;
  const room = limit - before;
  const admission = new EnrollmentAdmission(stack.db, { limit, refreshMs: 200, retryAfterSeconds: 3 });
  const app = await buildApp({ config: stack.config, db: stack.db, temporal: stack.temporal, log: createLogger('silent'), admission });
  await app.ready();
  try {
    const call = client(app);
    const token = await tokenFor(stack.db, 'coordinator', clinicId);
    const clients = await Promise.all(Array.from({ length: room + 3 }, (_, i) => newClient(`bulk${i}`)));
    // All at once, as an import script sends them: only as many as the limit leaves room for get in.
    const results = await Promise.all(clients.map((id) => call('POST', `/api/clients/${id}/courses`, { token, body: { protocolId: 'kap-office' } })));
    const admitted = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status === 503);
    expect(admitted).toHaveLength(room);
    expect(refused).toHaveLength(3);
    for (const r of refused) {
      expect(r.headers['retry-after']).toBe('3');
      expect(r.body.error).toBe('unavailable');
      expect(r.body.message).toMatch(/waiting for their first step.*ENROLLMENT_BACKLOG_LIMIT.*nothing was enrolled/);
    }
    expect(admission.refusals).toBe(3);

    // Nothing half-applied: no course and no audit entry for a refused client.
    const refusedClients = clients.filter((_, i) => results[i]!.status === 503);
    const courses = await stack.db.selectFrom('courses').select(['client_id']).where('client_id', 'in', clients).execute();
    expect(courses.map((c) => c.client_id).sort()).toEqual(clients.filter((c) => !refusedClients.includes(c)).sort());
    const audits = await stack.db.selectFrom('audit_log').select('client_id').where('action', '=', 'course.enroll').where('client_id', 'in', refusedClients).execute();
    expect(audits).toEqual([]);

    // Operations see it in GET /metrics: the refusals, and the courses counted as waiting.
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(new RegExp(`^kap_enrollments_refused 3$`, 'm'));
    const waiting = Number(/^kap_enrollments_waiting_first_step (\d+)$/m.exec(metrics.body)?.[1]);
    expect(waiting).toBeGreaterThanOrEqual(limit);

    // The workers catch up: the admitted courses get their first step, and the refused request now enrolls.
    stack.runWorker();
    const admittedIds = admitted.map((r) => r.body.id as string);
    await eventually(async () => {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from courses where id = any(${admittedIds}) and current_step is not null`.execute(stack.db);
      return rows[0]!.n === admittedIds.length;
    }, 30_000);
    await new Promise((r) => setTimeout(r, 250)); // past the admission's refresh
    const retry = await call('POST', `/api/clients/${refusedClients[0]}/courses`, { token, body: { protocolId: 'kap-office' } });
    expect(retry.status).toBe(201);
    expect(retry.body.clientId).toBe(refusedClients[0]);
  } finally {
    await app.close();
  }
}, 60_000);

test('ENROLLMENT_BACKLOG_LIMIT=0 never refuses, and the config refuses a negative limit naming the variable', async () => {
  const admission = new EnrollmentAdmission(stack.db, { limit: 0 });
  await expect(admission.admit(clinicId)).resolves.toBeUndefined();
  expect(admission.refusals).toBe(0);
  const { loadConfig } = await import('../../src/config');
  expect(() => loadConfig({ ...process.env, NODE_ENV: 'test', ENROLLMENT_BACKLOG_LIMIT: '-1' })).toThrow(/ENROLLMENT_BACKLOG_LIMIT/);
  expect(loadConfig({ NODE_ENV: 'test' }).ENROLLMENT_BACKLOG_LIMIT).toBe(50);
});

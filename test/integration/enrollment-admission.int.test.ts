// Back-pressure at enrollment (issue #19): a clinic network imports its client list faster than the
// workers start courses. While ENROLLMENT_BACKLOG_LIMIT newly enrolled courses still wait for their first
// step, POST /api/clients/:id/courses answers 503 with Retry-After and writes nothing; once the workers
// have caught up, the same request enrolls. Only enrollment is admitted this way (staff actions are not).
import { sql } from 'kysely';
import { EnrollmentAdmission } from '../../src/client/admission';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, insertClient, tokenFor, uid } from './api-helpers';

let stack: TestStack;
const clinicId = `clinic-adm-${uid()}`;
/** Courses of earlier suites (one shared database) that never got a step count too: the limit is set above them. */
let before = 0;
const LIMIT_ABOVE = 2;

beforeAll(async () => {
  // The worker is created but does not poll yet: enrolled courses wait for their first step.
  stack = await startTestStack({ deferWorker: true });
  await stack.db.insertInto('clinics').values({ id: clinicId, name: 'Admission Clinic' }).execute();
  before = await new EnrollmentAdmission(stack.db, { limit: 1, refreshMs: 0 }).waiting();
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

const newClient = (n: string) => insertClient(stack.db, clinicId, n);

test('a bulk import while the worker is behind: two enrollments admitted, the rest refused with 503 and Retry-After, nothing written for them; after the worker catches up the same request enrolls', async () => {
  const { buildApp } = await import('../../src/api/app');
  const { createLogger } = await import('../../src/log');
  const admission = new EnrollmentAdmission(stack.db, { limit: before + LIMIT_ABOVE, refreshMs: 200, retryAfterSeconds: 3 });
  const app = await buildApp({ config: stack.config, db: stack.db, temporal: stack.temporal, log: createLogger('silent'), admission });
  await app.ready();
  try {
    const call = client(app);
    const token = await tokenFor(stack.db, 'coordinator', clinicId);
    const clients = await Promise.all(['a', 'b', 'c', 'd', 'e'].map(newClient));
    // Five at once, as an import script sends them: only as many as the limit leaves room for get in.
    const results = await Promise.all(clients.map((id) => call('POST', `/api/clients/${id}/courses`, { token, body: { protocolId: 'kap-office' } })));
    const admitted = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status === 503);
    expect(admitted).toHaveLength(LIMIT_ABOVE);
    expect(refused).toHaveLength(5 - LIMIT_ABOVE);
    for (const r of refused) {
      expect(r.headers['retry-after']).toBe('3');
      expect(r.body.error).toBe('unavailable');
      expect(r.body.message).toMatch(/waiting for their first step.*ENROLLMENT_BACKLOG_LIMIT.*nothing was enrolled/);
    }
    expect(admission.refusals).toBe(5 - LIMIT_ABOVE);

    // Nothing half-applied: no course and no audit entry for a refused client.
    const refusedClients = clients.filter((_, i) => results[i]!.status === 503);
    const courses = await stack.db.selectFrom('courses').select(['client_id']).where('client_id', 'in', clients).execute();
    expect(courses.map((c) => c.client_id).sort()).toEqual(clients.filter((c) => !refusedClients.includes(c)).sort());
    const audits = await stack.db.selectFrom('audit_log').select('client_id').where('action', '=', 'course.enroll').where('client_id', 'in', refusedClients).execute();
    expect(audits).toEqual([]);

    // Operations see it in GET /metrics: the refusals, and the courses counted as waiting.
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(new RegExp(`^kap_enrollments_refused ${5 - LIMIT_ABOVE}$`, 'm'));
    const waiting = Number(/^kap_enrollments_waiting_first_step (\d+)$/m.exec(metrics.body)?.[1]);
    expect(waiting).toBeGreaterThanOrEqual(before + LIMIT_ABOVE);

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
  await expect(admission.admit()).resolves.toBeUndefined();
  expect(admission.refusals).toBe(0);
  const { loadConfig } = await import('../../src/config');
  expect(() => loadConfig({ ...process.env, NODE_ENV: 'test', ENROLLMENT_BACKLOG_LIMIT: '-1' })).toThrow(/ENROLLMENT_BACKLOG_LIMIT/);
  expect(loadConfig({ NODE_ENV: 'test' }).ENROLLMENT_BACKLOG_LIMIT).toBe(50);
});

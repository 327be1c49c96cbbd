// The first vertical slice through every layer, on a real Temporal dev server and a real database.
import { createApiToken } from '../../src/auth/tokens';
import { pingDb } from '../../src/db/connect';
import { KapClinic, KapStep } from '../../src/workflows/search-attributes';
import { eventually, startTestStack, type TestStack } from '../harness/stack';

let stack: TestStack;
let token: string;
const clinicId = `clinic-${Date.now().toString(36)}`;

beforeAll(async () => {
  stack = await startTestStack();
  ({ token } = await createApiToken(stack.db, { role: 'admin', label: 'foundation test' }));
});
afterAll(async () => {
  await stack?.db.deleteFrom('course_steps').where('clinic_id', '=', clinicId).execute();
  await stack?.db.deleteFrom('courses').where('clinic_id', '=', clinicId).execute();
  await stack?.db.deleteFrom('clients').where('clinic_id', '=', clinicId).execute();
  await stack?.db.deleteFrom('clinics').where('id', '=', clinicId).execute();
  await stack?.stop();
});

async function post(url: string, payload: unknown) {
  const res = await stack.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}` }, payload: payload as Record<string, unknown> });
  return { status: res.statusCode, body: res.json() };
}

test('health reports both parts ok when Temporal and the database answer', async () => {
  const res = await stack.app.inject({ method: 'GET', url: '/health' });
  expect(res.statusCode).toBe(200);
  expect(res.json()).toEqual({ status: 'ok', temporal: 'ok', database: 'ok' });
});

test('enrolling a client starts one course workflow whose first step is projected to PostgreSQL', async () => {
  const clinic = await post('/api/clinics', { id: clinicId, name: 'Slice Clinic', timezone: 'America/New_York' });
  expect(clinic.status).toBe(201);
  const client = await post('/api/clients', { clinicId, givenName: 'Robin', familyName: 'Vale', email: 'robin@example.org' });
  expect(client.status).toBe(201);

  const first = await post(`/api/clients/${client.body.id}/courses`, { protocolId: 'kap-office' });
  expect(first.status).toBe(201);
  expect(first.body.workflowId).toBe(`course-${first.body.id}`);

  // A repeated request returns the same course and never starts a second workflow.
  const again = await Promise.all([1, 2, 3].map(() => post(`/api/clients/${client.body.id}/courses`, { protocolId: 'kap-office' })));
  for (const r of again) {
    expect([r.status, r.body.message]).toEqual([200, undefined]);
    expect(r.body.id).toBe(first.body.id);
  }
  const courses = await stack.db.selectFrom('courses').select('id').where('client_id', '=', client.body.id).execute();
  expect(courses).toHaveLength(1);

  // The workflow's first step, screening, is written by an activity and read back through the API.
  const course = await eventually(async () => {
    const res = await stack.app.inject({ method: 'GET', url: `/api/courses/${first.body.id}`, headers: { authorization: `Bearer ${token}` } });
    const body = res.json();
    return body.currentStep === 'screening' ? body : undefined;
  });
  expect(course.status).toBe('active');
  expect(course.steps.map((s: { key: string }) => s.key)).toContain('screening');
  const screening = course.steps.find((s: { key: string }) => s.key === 'screening');
  expect(screening.state).toBe('open');

  // Temporal's own tools can find the course by its search attributes, which hold no personal data.
  const handle = stack.temporal.workflow.getHandle(first.body.workflowId);
  const desc = await eventually(async () => {
    const d = await handle.describe();
    return d.typedSearchAttributes.get(KapStep) ? d : undefined;
  });
  expect(desc.status.name).toBe('RUNNING');
  expect(desc.typedSearchAttributes.get(KapClinic)).toBe(clinicId);
  expect(desc.typedSearchAttributes.get(KapStep)).toBe('screening');
  const raw = JSON.stringify(desc.raw.workflowExecutionInfo?.searchAttributes ?? {});
  expect(raw).not.toMatch(/Robin|Vale|robin@example/);
  await handle.terminate('test cleanup');
});

test('bad input is a 400 naming each field; unknown ids are 404; malformed JSON is a 400', async () => {
  const bad = await post('/api/clients', { clinicId: 7, email: 'not-an-email', dateOfBirth: '1990-13-45' });
  expect(bad.status).toBe(400);
  const fields = bad.body.problems.map((p: { field: string }) => p.field).sort();
  expect(fields).toEqual(['clinicId', 'dateOfBirth', 'email', 'familyName', 'givenName']);

  const missing = await stack.app.inject({ method: 'GET', url: '/api/courses/00000000-0000-0000-0000-000000000000', headers: { authorization: `Bearer ${token}` } });
  expect(missing.statusCode).toBe(404);

  const someone = await post('/api/clients', { clinicId, givenName: 'Kai', familyName: 'Moss', email: 'kai@example.org' });
  const unknownProtocol = await post(`/api/clients/${someone.body.id}/courses`, { protocolId: 'no-such-protocol' });
  expect(unknownProtocol.status).toBe(400);
  expect(unknownProtocol.body.problems[0].field).toBe('protocolId');

  const malformed = await stack.app.inject({ method: 'POST', url: '/api/clients', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, payload: '{"clinicId":' });
  expect(malformed.statusCode).toBe(400);
});

test('health answers 503 naming the database when it is unreachable', async () => {
  const { buildApp } = await import('../../src/api/app');
  const { createDb } = await import('../../src/db/connect');
  const { createLogger } = await import('../../src/log');
  const deadDb = createDb({ url: 'postgresql://postgres:postgres@127.0.0.1:1/postgres', poolMax: 1 });
  const app = await buildApp({ config: stack.config, db: deadDb, temporal: stack.temporal, log: createLogger('silent') });
  try {
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(503);
    const body = res.json();
    expect(body.status).toBe('unavailable');
    expect(body.temporal).toBe('ok');
    expect(body.database).toMatch(/^unreachable/);
  } finally {
    await app.close();
    await deadDb.destroy();
  }
  await expect(pingDb(stack.db)).resolves.toBeUndefined();
});

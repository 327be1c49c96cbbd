// GET /metrics: valid Prometheus exposition with the API's metrics (request latency, courses by step,
// stuck count, emails sent and failed) and the Temporal SDK runtime's, and its access rule (loopback
// only without METRICS_TOKEN, the bearer token with it). Timings belong to `npm run bench`, not here.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../../src/api/app';
import type { Config } from '../../src/config';
import { createLogger } from '../../src/log';
import { parseExposition } from '../../src/metrics/exposition';
import { sdkMetricsOptions } from '../../src/metrics/sdk';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, tokenFor, uid } from './api-helpers';

let stack: TestStack;
let sdkServer: http.Server;
const clinicId = `metrics-${uid()}`;

beforeAll(async () => {
  // Stands in for the SDK runtime's Prometheus endpoint (Runtime.install happens once per process, in
  // the harness, without one); the route must fetch it and append it unchanged.
  sdkServer = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(req.url === '/metrics' ? '# HELP temporal_worker_task_slots_available Slots.\n# TYPE temporal_worker_task_slots_available gauge\ntemporal_worker_task_slots_available{worker_type="WorkflowWorker"} 200\n' : '');
  });
  await new Promise<void>((r) => sdkServer.listen(0, '127.0.0.1', r));
  sdkMetricsOptions(`127.0.0.1:${(sdkServer.address() as AddressInfo).port}`);
  stack = await startTestStack();
});
afterAll(async () => {
  for (const c of await stack.db.selectFrom('courses').select('workflow_id').where('clinic_id', '=', clinicId).where('ended_at', 'is', null).execute()) {
    await stack.temporal.workflow.getHandle(c.workflow_id).terminate('test cleanup').catch(() => undefined);
  }
  await stack?.stop();
  await new Promise((r) => sdkServer.close(r));
});

test('serves valid exposition text with the expected metric names and values', async () => {
  const call = client(stack.app);
  const admin = await tokenFor(stack.db, 'admin');
  expect((await call('POST', '/api/clinics', { token: admin, body: { id: clinicId, name: 'Metrics Clinic' } })).status).toBe(201);
  const created = await call('POST', '/api/clients', { token: admin, body: { clinicId, givenName: 'Mia', familyName: 'Metric', email: 'mia@example.org' } });
  expect(created.status).toBe(201);
  const enrolled = await call('POST', `/api/clients/${created.body.id}/courses`, { token: admin, body: { protocolId: 'kap-office' } });
  expect(enrolled.status).toBe(201);
  // The workflow's first projection names the step the course waits on.
  await eventually(async () => (await stack.db.selectFrom('courses').select('current_step').where('id', '=', enrolled.body.id).executeTakeFirst())?.current_step);
  for (const [status, n] of [['sent', 2], ['failed', 1]] as const) {
    for (let i = 0; i < n; i++) {
      const key = `metrics-test-${uid()}`;
      await stack.db
        .insertInto('email_outbox')
        .values({ key, template: 'test', clinic_id: clinicId, recipient_kind: 'staff', message_id: `<${key}@kap.local>`, status } as never)
        .execute();
    }
  }

  const res = await stack.app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  const parsed = parseExposition(res.body);
  expect(parsed.errors).toEqual([]);
  expect(Object.fromEntries(parsed.families)).toMatchObject({
    kap_http_request_duration_seconds: 'histogram',
    kap_courses: 'gauge',
    kap_courses_open_by_step: 'gauge',
    kap_stuck_steps: 'gauge',
    kap_stuck_steps_by_clinic: 'gauge',
    kap_email_outbox_messages: 'gauge',
    kap_emails_sent: 'gauge',
    kap_emails_failed: 'gauge',
    kap_temporal_sdk_metrics_up: 'gauge',
    temporal_worker_task_slots_available: 'gauge',
  });
  // Exactly the families served before the registry moved to prom-client (dashboards depend on them),
  // the webhook deliveries by status and given up on (issue #20 item 4), and enrollment admission (issue #19).
  expect([...parsed.families.keys()].filter((n) => n.startsWith('kap_')).sort()).toEqual(
    [
      'kap_http_request_duration_seconds', 'kap_courses', 'kap_courses_open_by_step', 'kap_stuck_steps', 'kap_stuck_steps_by_clinic', 'kap_email_outbox_messages',
      'kap_emails_sent', 'kap_emails_failed', 'kap_metrics_database_read_seconds', 'kap_metrics_database_errors_total', 'kap_temporal_sdk_metrics_up',
      'kap_webhook_deliveries', 'kap_webhook_deliveries_given_up', 'kap_enrollments_refused', 'kap_enrollments_waiting_first_step',
    ].sort(),
  );
  const sample = (name: string, labels: Record<string, string> = {}) =>
    parsed.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  // Request latency by route pattern: the enrollment above, never the raw URL with its ids.
  expect(sample('kap_http_request_duration_seconds_count', { method: 'POST', route: '/api/clients/:id/courses', status_code: '201' })[0]?.value).toBeGreaterThanOrEqual(1);
  expect(parsed.samples.some((s) => (s.labels.route ?? '').includes(created.body.id))).toBe(false);
  expect(sample('kap_courses_open_by_step', { protocol: 'kap-office' }).reduce((a, s) => a + s.value, 0)).toBeGreaterThanOrEqual(1);
  expect(sample('kap_courses', { status: 'active', protocol: 'kap-office' })[0]?.value ?? sample('kap_courses', { protocol: 'kap-office' })[0]?.value).toBeGreaterThanOrEqual(1);
  expect(sample('kap_stuck_steps')[0]?.value).toBeGreaterThanOrEqual(0);
  expect(sample('kap_emails_sent')[0]?.value).toBeGreaterThanOrEqual(2);
  expect(sample('kap_emails_failed')[0]?.value).toBeGreaterThanOrEqual(1);
  expect(sample('kap_email_outbox_messages', { status: 'failed' })[0]?.value).toBeGreaterThanOrEqual(1);
  expect(sample('kap_temporal_sdk_metrics_up')[0]?.value).toBe(1);
  expect(sample('kap_webhook_deliveries_given_up')[0]?.value).toBeGreaterThanOrEqual(0);
  expect(sample('temporal_worker_task_slots_available', { worker_type: 'WorkflowWorker' })[0]?.value).toBe(200);
});

test('without METRICS_TOKEN: direct loopback only; a proxied or remote request is refused', async () => {
  expect((await stack.app.inject({ method: 'GET', url: '/metrics', headers: { 'x-forwarded-for': '203.0.113.9' } })).statusCode).toBe(403);
  expect((await stack.app.inject({ method: 'GET', url: '/metrics', headers: { forwarded: 'for=203.0.113.9' } })).statusCode).toBe(403);
  expect((await stack.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '203.0.113.9' })).statusCode).toBe(403);
});

test('with METRICS_TOKEN: the bearer token from anywhere, nothing else', async () => {
  const token = 'metrics-token-0123456789';
  const app = await buildApp({ config: { ...stack.config, METRICS_TOKEN: token } as Config, db: stack.db, temporal: stack.temporal, log: createLogger('silent') });
  try {
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer wrong-token-0123456789' } })).statusCode).toBe(401);
    const ok = await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '203.0.113.9', headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': '203.0.113.9' } });
    expect(ok.statusCode).toBe(200);
    expect(parseExposition(ok.body).errors).toEqual([]);
  } finally {
    await app.close();
  }
});

// A clinic's admin subscribes a webhook: the engine must not become a port scanner into its own host or
// network. With the production setting (WEBHOOK_PRIVATE_TARGETS unset = refuse), targets on loopback,
// link-local (cloud metadata) and private addresses are a 400 naming `url`, and nothing is saved.
import { startTestStack, type TestStack } from '../harness/stack';
import { client, tokenFor, uid } from './api-helpers';

let stack: TestStack;
let call: ReturnType<typeof client>;

beforeAll(async () => {
  stack = await startTestStack({ env: { WEBHOOK_PRIVATE_TARGETS: 'refuse' } });
  call = client(stack.app);
});
afterAll(async () => {
  await stack?.stop();
});

test('a one-clinic admin cannot point a webhook at this machine or a private network', async () => {
  const root = await tokenFor(stack.db, 'admin');
  const clinicId = `wt-${uid()}`;
  expect((await call('POST', '/api/clinics', { token: root, body: { id: clinicId, name: 'Webhook targets' } })).status).toBe(201);
  const admin = await tokenFor(stack.db, 'admin', clinicId);
  for (const url of ['http://127.0.0.1:8300/', 'http://localhost:3100/api/clients', 'http://169.254.169.254/latest/meta-data', 'http://[::1]:7233/', 'http://0.0.0.0:5500/', 'http://10.0.0.8/hook', 'http://192.168.1.20/hook']) {
    const res = await call('POST', '/api/webhooks', { token: admin, body: { clinicId, url, eventTypes: ['safety.escalation'] } });
    expect({ url, status: res.status, problems: res.body.problems }).toEqual({ url, status: 400, problems: [{ field: 'url', message: expect.stringMatching(/^must be a public address/) }] });
  }
  const saved = await stack.db.selectFrom('webhook_subscriptions').select('id').where('clinic_id', '=', clinicId).execute();
  expect(saved).toEqual([]);
  // A public address is accepted (nothing is delivered in this test), and cannot be moved inside later.
  const ok = await call('POST', '/api/webhooks', { token: admin, body: { clinicId, url: 'https://93.184.216.34/kap-hook', eventTypes: ['safety.escalation'] } });
  expect(ok.status).toBe(201);
  const moved = await call('PATCH', `/api/webhooks/${ok.body.subscription?.id ?? ok.body.id}`, { token: admin, body: { url: 'http://127.0.0.1:8233/' } });
  expect(moved.status).toBe(400);
  expect(moved.body.problems[0].field).toBe('url');
});

test("a clinic's admin may allow one subscription a private target, explicitly and audited; nobody else may", async () => {
  const root = await tokenFor(stack.db, 'admin');
  const clinicId = `wt-allow-${uid()}`;
  expect((await call('POST', '/api/clinics', { token: root, body: { id: clinicId, name: 'Own network' } })).status).toBe(201);
  const admin = await tokenFor(stack.db, 'admin', clinicId);
  const coordinator = await tokenFor(stack.db, 'coordinator', clinicId);
  const url = 'http://10.0.0.8/kap-hook';
  // Without the allowance: refused, and the message says how to allow it.
  const refused = await call('POST', '/api/webhooks', { token: admin, body: { clinicId, url, eventTypes: ['course.ended'] } });
  expect(refused.status).toBe(400);
  expect(refused.body.problems[0].message).toMatch(/^must be a public address .*a clinic admin can allow it for this subscription with allowPrivateTarget: true$/);
  // A coordinator cannot allow it.
  const byCoordinator = await call('POST', '/api/webhooks', { token: coordinator, body: { clinicId, url, eventTypes: ['course.ended'], allowPrivateTarget: true } });
  expect(byCoordinator.status).toBe(403);
  expect(byCoordinator.body.message).toMatch(/^allowPrivateTarget: only a clinic admin/);
  // The clinic's admin can, explicitly; it is audited.
  const allowed = await call('POST', '/api/webhooks', { token: admin, body: { clinicId, url, eventTypes: ['course.ended'], allowPrivateTarget: true } });
  expect(allowed.status).toBe(201);
  expect(allowed.body.allowPrivateTarget).toBe(true);
  const audit = await call('GET', `/api/audit?clinicId=${clinicId}&action=webhook.private-target-allowed`, { token: root });
  expect(audit.body.entries).toHaveLength(1);
  expect(audit.body.entries[0].detail.subscriptionId).toBe(allowed.body.id);
  // A coordinator cannot set it either; withdrawing the allowance re-checks the URL (refused here, nothing changed).
  expect((await call('PATCH', `/api/webhooks/${allowed.body.id}`, { token: coordinator, body: { allowPrivateTarget: true } })).status).toBe(403);
  const withdrawn = await call('PATCH', `/api/webhooks/${allowed.body.id}`, { token: admin, body: { allowPrivateTarget: false } });
  expect(withdrawn.status).toBe(400);
  expect(withdrawn.body.problems[0].field).toBe('url');
  expect((await stack.db.selectFrom('webhook_subscriptions').select('allow_private_target').where('id', '=', allowed.body.id).executeTakeFirstOrThrow()).allow_private_target).toBe(true);
});

// Temporal keeps every workflow input and result in its history. These tests read the raw history
// straight from the server, with no codec, and find only ciphertext; then decrypt it through the
// codec endpoint that the Temporal Web UI uses, as an authorised member of staff.
import { Connection } from '@temporalio/client';
import { createApiToken } from '../../src/auth/tokens';
import { eventually, startTestStack, testEnv, type TestStack } from '../harness/stack';

let stack: TestStack;
let admin: string;
let scopedCoordinator: string;
const clinicId = `enc-${Date.now().toString(36)}`;

beforeAll(async () => {
  stack = await startTestStack({ env: { TEMPORAL_UI_URL: 'http://127.0.0.1:8233' } });
  admin = (await createApiToken(stack.db, { role: 'admin', label: 'encryption test' })).token;
  await stack.db.insertInto('clinics').values({ id: clinicId, name: 'Encryption Clinic' }).execute();
  scopedCoordinator = (await createApiToken(stack.db, { role: 'coordinator', clinicId, label: 'scoped' })).token;
});
afterAll(async () => {
  await stack?.stop();
});

const auth = (t: string) => ({ authorization: `Bearer ${t}` });

async function enroll(): Promise<{ workflowId: string; clientId: string }> {
  const c = await stack.app.inject({ method: 'POST', url: '/api/clients', headers: auth(admin), payload: { clinicId, givenName: 'Marisol', familyName: 'Quennell', email: 'marisol.quennell@example.org' } });
  expect(c.statusCode).toBe(201);
  const e = await stack.app.inject({ method: 'POST', url: `/api/clients/${c.json().id}/courses`, headers: auth(admin), payload: { protocolId: 'kap-office' } });
  expect(e.statusCode).toBe(201);
  return { workflowId: e.json().workflowId, clientId: c.json().id };
}

async function rawHistory(workflowId: string) {
  const conn = await Connection.connect({ address: testEnv().temporalAddress });
  try {
    const res = await conn.workflowService.getWorkflowExecutionHistory({ namespace: stack.config.TEMPORAL_NAMESPACE, execution: { workflowId } });
    return res.history!.events!;
  } finally {
    await conn.close();
  }
}

/** Every payload in the events, with where it sits; search attributes are left out (never encrypted, and never hold PHI). */
function payloadsOf(events: unknown): Array<{ metadata?: Record<string, Uint8Array>; data?: Uint8Array; path: string }> {
  const out: Array<{ metadata?: Record<string, Uint8Array>; data?: Uint8Array; path: string }> = [];
  const walk = (v: unknown, path: string) => {
    if (!v || typeof v !== 'object') return;
    if (v instanceof Uint8Array) return;
    const o = v as Record<string, unknown>;
    if (o.metadata && typeof o.metadata === 'object' && 'data' in o) out.push({ ...(o as object), path });
    for (const [k, x] of Object.entries(o)) if (k !== 'searchAttributes') walk(x, `${path}.${k}`);
  };
  walk(events, 'history');
  return out;
}

test('every payload in the raw history is encrypted and no plaintext identifier appears', async () => {
  const { workflowId, clientId } = await enroll();
  const events = await eventually(async () => {
    const ev = await rawHistory(workflowId);
    // The projection has run: a local activity's marker (or, for older courses, an activity's result).
    return ev.some((e) => e.markerRecordedEventAttributes || e.activityTaskCompletedEventAttributes) ? ev : undefined;
  });
  const all = payloadsOf(events).filter((p) => p.data && p.data.length > 0);
  // Markers' own metadata is written by the SDK's core, past the codec: a patch marker holds its patch
  // id, a local activity's marker its sequence, attempt, activity type and times; nothing else.
  const coreMeta = (p: { path: string }) => p.path.includes('.patch-data.') || p.path.includes('.details.data.');
  for (const p of all.filter(coreMeta)) {
    const keys = Object.keys(JSON.parse(Buffer.from(p.data!).toString())).sort();
    expect([['deprecated', 'id'], ['activity_id', 'activity_type', 'attempt', 'backoff', 'complete_time', 'original_schedule_time', 'seq']]).toContainEqual(keys);
  }
  const payloads = all.filter((p) => !coreMeta(p));
  expect(payloads.length).toBeGreaterThan(2);
  // The timer's summary (what the Web UI names the timer by) is a payload like any other: sealed.
  expect(payloads.filter((p) => /timerStartedEventAttributes|userMetadata\.summary/.test(p.path)).length).toBeGreaterThan(0);
  for (const p of payloads) expect(`${p.path}: ${Buffer.from(p.metadata!.encoding!).toString()}`).toBe(`${p.path}: binary/encrypted`);
  const dump = Buffer.concat(payloads.map((p) => Buffer.from(p.data!))).toString('latin1');
  for (const secret of [clientId, clinicId, 'kap-office', 'screening', 'Marisol', 'Quennell', 'marisol.quennell']) {
    expect(dump).not.toContain(secret);
  }
  await stack.temporal.workflow.getHandle(workflowId).terminate('test cleanup');
});

test('the codec endpoint decrypts for staff with access to every clinic, and audits the read', async () => {
  const { workflowId, clientId } = await enroll();
  const events = await rawHistory(workflowId);
  const started = events[0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  const body = {
    payloads: [{ metadata: Object.fromEntries(Object.entries(started.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(started.data!).toString('base64') }],
  };
  const res = await stack.app.inject({ method: 'POST', url: '/codec/decode', headers: { ...auth(admin), 'x-namespace': 'default' }, payload: body });
  expect(res.statusCode).toBe(200);
  const decoded = res.json().payloads[0];
  expect(Buffer.from(decoded.metadata.encoding, 'base64').toString()).toBe('json/plain');
  expect(JSON.parse(Buffer.from(decoded.data, 'base64').toString())).toMatchObject({ clientId, clinicId });

  const audited = await stack.db.selectFrom('audit_log').select(['action', 'detail']).where('action', '=', 'temporal.payloads.decode').execute();
  expect(audited.length).toBeGreaterThan(0);

  // Refusals: no credentials, a clinic-scoped token, a cookie-less call with a bad token.
  expect((await stack.app.inject({ method: 'POST', url: '/codec/decode', payload: body })).statusCode).toBe(401);
  const scoped = await stack.app.inject({ method: 'POST', url: '/codec/decode', headers: auth(scopedCoordinator), payload: body });
  expect(scoped.statusCode).toBe(403);
  expect(scoped.json().message).toMatch(/every clinic/);
  expect((await stack.app.inject({ method: 'POST', url: '/codec/decode', headers: auth('kap_nope'), payload: body })).statusCode).toBe(401);
  // Malformed input is a 400 naming the field.
  const bad = await stack.app.inject({ method: 'POST', url: '/codec/decode', headers: auth(admin), payload: { payloads: [{ data: '***' }] } });
  expect(bad.statusCode).toBe(400);
  expect(bad.json().problems[0].field).toBe('payloads.0.data');

  // CORS preflight from the Temporal Web UI's origin.
  const pre = await stack.app.inject({ method: 'OPTIONS', url: '/codec/decode', headers: { origin: 'http://127.0.0.1:8233', 'access-control-request-method': 'POST' } });
  expect(pre.statusCode).toBe(204);
  expect(pre.headers['access-control-allow-origin']).toBe('http://127.0.0.1:8233');
  expect(pre.headers['access-control-allow-credentials']).toBe('true');
  // Before login the Web UI's call gets a refusal it can read (CORS headers on the 401 too; without
  // them the browser hides it and the UI says "could not connect"), saying what to do.
  const anon = await stack.app.inject({ method: 'POST', url: '/codec/decode', headers: { origin: 'http://127.0.0.1:8233' }, payload: body });
  expect(anon.statusCode).toBe(401);
  expect(anon.headers['access-control-allow-origin']).toBe('http://127.0.0.1:8233');
  expect(anon.headers['access-control-allow-credentials']).toBe('true');
  expect(anon.json().message).toMatch(/log in to the dashboard/);
  const other = await stack.app.inject({ method: 'OPTIONS', url: '/codec/decode', headers: { origin: 'http://evil.example' } });
  expect(other.headers['access-control-allow-origin']).toBeUndefined();
  await stack.temporal.workflow.getHandle(workflowId).terminate('test cleanup');
});

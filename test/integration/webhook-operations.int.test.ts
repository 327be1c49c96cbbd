// Webhooks an operator can run (issue #20 item 4), through the real API, worker and Temporal: a
// receiver that was down (time-scaled: deliveries are given up after 2 s instead of ~12 h) gets every
// event in sequence after one redeliver; what was given up on is a stuck-board item, a metric and an
// audit entry until then; a paused subscription holds its deliveries and sends them in order when
// resumed; step.completed and course.ended (withdrawn) are published; REMS form due and late events.
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { createProjectionActivities } from '../../src/activities/projections';
import { ACTIONS } from '../../src/domain/actions/catalogue';
import { verifySignature } from '../../src/webhooks/signature';
import { answerInvited, eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, tokenFor, uid } from './api-helpers';
import { createStaffMember, loggedInBrowser } from './scope-helpers';

const ALL_TYPES = ['step.entered', 'step.overdue', 'step.completed', 'course.ended', 'assessment.completed', 'safety.escalation', 'rems.form-due', 'rems.form-late'];
const BENIGN: Record<string, unknown[]> = { phq9: [1, 1, 1, 1, 1, 1, 1, 1, 0], gad7: [1, 1, 1, 1, 1, 1, 1], pcl5: Array(20).fill(1), cssrs: [false, false, null, null, null, false], 'qids-sr16': Array(16).fill(0) };

let stack: TestStack;
let call: ReturnType<typeof client>;
let root: string;
let coordinator: string;
const clinicId = `hooks-${uid()}`;

interface Got {
  seq: number;
  headerSeq: string | undefined;
  occurredAt: string | undefined;
  type: string;
  verified: boolean;
  body: any;
}
/** A loopback receiver: while down it drops every connection (the sender sees "fetch failed"); up, it answers 204. */
async function receiver() {
  let secret = '';
  let up = false;
  let refused = 0;
  const got: Got[] = [];
  const server = http.createServer((req, res) => {
    if (!up) {
      refused++;
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const body = JSON.parse(raw);
      got.push({ seq: body.sequence, headerSeq: req.headers['x-kap-sequence'] as string | undefined, occurredAt: req.headers['x-kap-occurred-at'] as string | undefined, type: String(req.headers['x-kap-event-type']), verified: verifySignature(secret, req.headers['x-kap-signature'] as string, raw).ok, body });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    got,
    refused: () => refused,
    setSecret: (s: string) => void (secret = s),
    setUp: (v: boolean) => void (up = v),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function enroll(timeScale: number, clinic = clinicId, token = coordinator): Promise<{ clientId: string; courseId: string }> {
  const c = await call('POST', '/api/clients', { token, body: { clinicId: clinic, givenName: 'Kai', familyName: `Hook${uid()}`, email: `kai-${uid()}@example.org`, dateOfBirth: '1980-04-02' } });
  expect(c.status).toBe(201);
  const course = await call('POST', `/api/clients/${c.body.id}/courses`, { token, body: { protocolId: 'kap-office', timeScale } });
  expect(course.status).toBe(201);
  return { clientId: c.body.id, courseId: course.body.id };
}
async function withdraw(courseId: string) {
  const res = await call('POST', `/api/courses/${courseId}/withdraw`, { token: root, body: { reason: 'moved away' } });
  expect({ status: res.status, body: res.body }).toMatchObject({ status: 200 });
}
const deliveries = (subscriptionId: string) => stack.db.selectFrom('webhook_deliveries').select(['id', 'status', 'seq']).where('subscription_id', '=', subscriptionId).orderBy('seq').execute();

beforeAll(async () => {
  stack = await startTestStack({ env: { WEBHOOK_GIVE_UP_SECONDS: '2' } });
  call = client(stack.app);
  root = await tokenFor(stack.db, 'admin');
  expect((await call('POST', '/api/clinics', { token: root, body: { id: clinicId, name: 'Hook Clinic' } })).status).toBe(201);
  for (const role of ['admin', 'coordinator', 'prescriber', 'therapist'] as const) await createStaffMember(stack.app, root, role, [clinicId]);
  coordinator = await tokenFor(stack.db, 'coordinator', clinicId);
});
afterAll(async () => {
  for (const c of await stack.db.selectFrom('courses').select('workflow_id').where('clinic_id', '=', clinicId).where('ended_at', 'is', null).execute()) {
    await stack.temporal.workflow.getHandle(c.workflow_id).terminate('test cleanup').catch(() => undefined);
  }
  await stack?.stop();
});

test('a webhook receiver that was down for a day gets every event in sequence after one redeliver; meanwhile the stuck board, the metrics and the audit log show what was given up', async () => {
  const r = await receiver();
  try {
    const sub = await call('POST', '/api/webhooks', { token: coordinator, body: { clinicId, url: r.url, eventTypes: ALL_TYPES } });
    expect(sub.status).toBe(201);
    r.setSecret(sub.body.secret);
    const subId: string = sub.body.id;

    // The receiver is down: a course starts, its screening is answered and recorded, it goes on to clearance, and it is withdrawn.
    const { courseId } = await enroll(86_400);
    await answerInvited(stack, courseId, 'screening', BENIGN);
    const screened = await call('POST', `/api/courses/${courseId}/screening`, { token: root, body: ACTIONS.screening.example });
    expect(screened.status).toBe(200);
    await eventually(async () => (await stack.db.selectFrom('course_steps').select('state').where('id', '=', `${courseId}/clearance`).executeTakeFirst())?.state === 'open');
    await withdraw(courseId);

    // Every delivery is tried, refused, and given up on.
    const failed = await eventually(async () => {
      const rows = await deliveries(subId);
      const types = new Set((await stack.db.selectFrom('webhook_events').select('type').where('course_id', '=', courseId).execute()).map((e) => e.type));
      return types.has('course.ended') && rows.length >= 5 && rows.every((d) => d.status === 'failed') ? rows : null;
    }, 60_000, 250);
    expect(r.refused()).toBeGreaterThanOrEqual(failed.length);
    expect(r.got).toEqual([]);
    expect(failed.map((d) => Number(d.seq))).toEqual(failed.map((_, i) => i + 1));

    // The stuck board: one system item for the subscription, with the redeliver action.
    const board = await call('GET', `/api/stuck?clinicId=${clinicId}`, { token: coordinator });
    const item = board.body.items.find((i: { webhookSubscriptionId?: string }) => i.webhookSubscriptionId === subId);
    expect(item).toMatchObject({ type: 'system', courseId: null, clinicId, action: { id: 'redeliver-webhooks', roles: ['admin', 'coordinator'] } });
    expect(item.problem).toContain(`${failed.length} deliveries were given up on`);
    expect(item.problem).toMatch(/last error: TypeError: fetch failed \((ECONNRESET|UND_ERR_SOCKET): [^)]+\)/);
    // The metric and the audit log.
    const metrics = await stack.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain(`kap_webhook_deliveries{clinic="${clinicId}",status="failed"} ${failed.length}`);
    expect(Number(/^kap_webhook_deliveries_given_up (\d+)$/m.exec(metrics.body)![1])).toBeGreaterThanOrEqual(failed.length);
    const audit = await call('GET', `/api/audit?clinicId=${clinicId}&action=webhook.given-up`, { token: root });
    expect(audit.status).toBe(200);
    expect(audit.body.entries.filter((e: { detail: { subscriptionId: string } }) => e.detail.subscriptionId === subId)).toHaveLength(failed.length);

    // Roles: a therapist may not redeliver; a coordinator of another clinic does not find it.
    expect((await call('POST', `/api/webhooks/${subId}/redeliver`, { token: await tokenFor(stack.db, 'therapist', clinicId), body: {} })).status).toBe(403);
    const otherClinic = `hooks-other-${uid()}`;
    expect((await call('POST', '/api/clinics', { token: root, body: { id: otherClinic, name: 'Other' } })).status).toBe(201);
    expect((await call('POST', `/api/webhooks/${subId}/redeliver`, { token: await tokenFor(stack.db, 'coordinator', otherClinic), body: {} })).status).toBe(404);
    // A delivery that is not failed cannot be named.
    expect((await call('POST', `/api/webhooks/${subId}/redeliver`, { token: coordinator, body: { deliveryIds: ['dlv_nope'] } })).status).toBe(404);

    // The receiver is back: one redeliver, from the stuck board's button, as the clinic's coordinator.
    r.setUp(true);
    const coord = await loggedInBrowser(stack.app, await createStaffMember(stack.app, root, 'coordinator', [clinicId]));
    const boardPage = await coord.get('/');
    expect(boardPage.body).toContain(`action="/webhooks/${subId}/redeliver"`);
    const pressed = await coord.post(`/webhooks/${subId}/redeliver`, {}, { csrfFrom: '/' });
    expect(pressed.statusCode).toBe(303);
    expect(decodeURIComponent(pressed.headers.location as string)).toContain(`Redelivering ${failed.length} webhook deliveries in sequence order.`);

    await eventually(async () => r.got.length >= failed.length, 30_000, 200);
    await new Promise((res) => setTimeout(res, 500)); // a duplicate, if any, would arrive now
    expect(r.got.map((g) => g.seq)).toEqual(failed.map((d) => Number(d.seq)));
    for (const g of r.got) {
      expect(g.verified).toBe(true);
      expect(g.headerSeq).toBe(String(g.seq));
      expect(g.occurredAt).toBe(g.body.occurredAt);
      expect(Date.parse(g.body.occurredAt)).toBeLessThan(Date.now());
    }
    const types = r.got.map((g) => g.type);
    expect(types[0]).toBe('step.entered');
    expect(types).toEqual(expect.arrayContaining(['assessment.completed', 'step.completed', 'course.ended']));
    expect(r.got.find((g) => g.type === 'step.completed' && g.body.data.stepKey === 'screening')?.body.data).toMatchObject({ stepKind: 'screening', state: 'done' });
    expect(r.got.find((g) => g.type === 'course.ended')!.body.data).toEqual({ status: 'withdrawn', protocolId: 'kap-office' });
    expect(JSON.stringify(r.got.map((g) => g.body))).not.toContain('moved away'); // the withdrawal's reason is staff's free text: never sent
    // Events happen in the order of their sequence numbers.
    const times = r.got.map((g) => Date.parse(g.body.occurredAt));
    expect([...times].sort((a, b) => a - b)).toEqual(times);

    const after = await deliveries(subId);
    expect(after.every((d) => d.status === 'delivered')).toBe(true);
    const cleared = await call('GET', `/api/stuck?clinicId=${clinicId}`, { token: coordinator });
    expect(cleared.body.items.some((i: { webhookSubscriptionId?: string }) => i.webhookSubscriptionId === subId)).toBe(false);
    const redelivered = await call('GET', `/api/audit?clinicId=${clinicId}&action=webhook.redelivered`, { token: root });
    expect(redelivered.body.entries[0].detail).toMatchObject({ subscriptionId: subId, deliveries: failed.length });
    await call('DELETE', `/api/webhooks/${subId}`, { token: root });
  } finally {
    await r.close();
  }
}, 120_000);

test('pausing a subscription holds its deliveries (nothing sent, nothing dropped); resuming sends them in sequence order', async () => {
  const r = await receiver();
  r.setUp(true);
  try {
    const sub = await call('POST', '/api/webhooks', { token: coordinator, body: { clinicId, url: r.url, eventTypes: ['step.entered', 'course.ended'] } });
    expect(sub.status).toBe(201);
    r.setSecret(sub.body.secret);
    const subId: string = sub.body.id;
    expect((await call('PATCH', `/api/webhooks/${subId}`, { token: coordinator, body: { active: false } })).body.active).toBe(false);

    const a = await enroll(1);
    const b = await enroll(1);
    await withdraw(a.courseId);
    await withdraw(b.courseId);
    const held = await eventually(async () => {
      const rows = await deliveries(subId);
      return rows.length === 4 && rows.every((d) => d.status === 'held') ? rows : null;
    }, 20_000, 200);
    await new Promise((res) => setTimeout(res, 1000));
    expect(r.got).toEqual([]);
    const log = await call('GET', `/api/webhooks/${subId}/deliveries?status=held`, { token: coordinator });
    expect(log.body.deliveries.map((d: { sequence: number }) => d.sequence)).toEqual([4, 3, 2, 1]);

    expect((await call('PATCH', `/api/webhooks/${subId}`, { token: coordinator, body: { active: true } })).body.active).toBe(true);
    await eventually(async () => r.got.length === 4, 20_000, 200);
    expect(r.got.map((g) => g.seq)).toEqual(held.map((d) => Number(d.seq)));
    expect(r.got.map((g) => g.seq)).toEqual([1, 2, 3, 4]);
    expect(r.got.map((g) => g.type).filter((ty) => ty === 'course.ended')).toHaveLength(2);
    expect((await deliveries(subId)).every((d) => d.status === 'delivered')).toBe(true);
    await call('DELETE', `/api/webhooks/${subId}`, { token: root });
  } finally {
    await r.close();
  }
}, 120_000);

test('a REMS monitoring form opened is "rems.form-due" with its due date; unfiled at that date the course records it late and the webhook says "rems.form-late", once', async () => {
  const sub = await call('POST', '/api/webhooks', { token: coordinator, body: { clinicId, url: 'http://127.0.0.1:9/rems', eventTypes: ['rems.form-due', 'rems.form-late'] } });
  expect(sub.status).toBe(201);
  // Paused: the events are recorded and held, nothing is sent.
  await call('PATCH', `/api/webhooks/${sub.body.id}`, { token: coordinator, body: { active: false } });
  const { courseId } = await enroll(1);
  const stepKey = 'rems-form-dose-1';
  const due = new Date(Date.now() - 3600_000);
  await stack.db.insertInto('course_steps').values({ id: `${courseId}/${stepKey}`, course_id: courseId, clinic_id: clinicId, step_key: stepKey, kind: 'rems-monitoring-form', state: 'open', owner_role: 'coordinator', entered_at: new Date(Date.now() - 8 * 86_400_000) } as never).execute();
  await stack.db.insertInto('rems_monitoring_forms').values({ id: `${courseId}/${stepKey}`, course_id: courseId, clinic_id: clinicId, session_step_key: 'dose-1', first_treatment: true, due_at: due } as never).execute();
  const events = () => stack.db.selectFrom('webhook_events').select(['type', 'payload']).where('course_id', '=', courseId).where('type', 'like', 'rems.%').execute();
  expect((await events()).map((e) => e.type)).toEqual(['rems.form-due']);
  expect((await events())[0]!.payload).toMatchObject({ data: { stepKey, sessionStepKey: 'dose-1', dueAt: due.toISOString() } });
  // The course workflow wakes at the due date and records the form late (its timeline entry).
  const lateAt = new Date();
  await stack.db.insertInto('course_events').values({ id: `${courseId}/e-test-0`, course_id: courseId, clinic_id: clinicId, seq: 9000, at: lateAt, type: 'rems-form.late', step_key: stepKey, actor_type: 'system', detail: JSON.stringify({ dueAt: due.toISOString(), sessionStepKey: 'dose-1' }) } as never).execute();
  const late = (await events()).filter((e) => e.type === 'rems.form-late');
  expect(late.map((e) => e.payload)).toEqual([expect.objectContaining({ occurredAt: lateAt.toISOString(), data: { stepKey, sessionStepKey: 'dose-1', dueAt: due.toISOString() } })]);
  // Escalations of the unfiled form's step after its due date (the path of courses projected before): still late once.
  await stack.db.insertInto('course_events').values({ id: `${courseId}/e-test-1`, course_id: courseId, clinic_id: clinicId, seq: 9001, at: new Date(), type: 'step.escalated', step_key: stepKey, actor_type: 'system', detail: JSON.stringify({ level: 1 }) } as never).execute();
  await stack.db.insertInto('course_events').values({ id: `${courseId}/e-test-2`, course_id: courseId, clinic_id: clinicId, seq: 9002, at: new Date(), type: 'step.escalated', step_key: stepKey, actor_type: 'system', detail: JSON.stringify({ level: 2 }) } as never).execute();
  const all = await events();
  expect(all.map((e) => e.type).sort()).toEqual(['rems.form-due', 'rems.form-late']); // late once, however often escalated
  const held = await deliveries(sub.body.id);
  expect(held.map((d) => [d.status, Number(d.seq)])).toEqual([['held', 1], ['held', 2]]);
  await call('DELETE', `/api/webhooks/${sub.body.id}`, { token: root });
}, 30_000);

test.each([
  ['a minute apart', 60_000],
  // One workflow task opened the first step and took the withdrawal: both events carry its time (CI, 2026-12-06).
  ['at the same instant', 0],
])('a course whose start and withdrawal are projected in one statement, %s: its subscription numbers step.entered before course.ended', async (_when, apartMs) => {
  // A withdrawal that reaches the workflow before its first projection commits is written with it in one
  // statement; PostgreSQL fires that statement's triggers in an order of its own (a CI run numbered
  // course.ended 1 and the earlier step.entered 2). Here that statement is made directly: the course's
  // workflow is ended first so nothing else writes its rows.
  const own = `hooks-one-${uid()}`;
  expect((await call('POST', '/api/clinics', { token: root, body: { id: own, name: 'Hook Clinic (one statement)' } })).status).toBe(201);
  const ownCoordinator = await tokenFor(stack.db, 'coordinator', own);
  const { courseId } = await enroll(1, own, ownCoordinator);
  await eventually(async () => !!(await stack.db.selectFrom('courses').select('current_step').where('id', '=', courseId).executeTakeFirst())?.current_step, 30_000, 100);
  const { workflow_id } = await stack.db.selectFrom('courses').select('workflow_id').where('id', '=', courseId).executeTakeFirstOrThrow();
  await stack.temporal.workflow.getHandle(workflow_id).terminate('test: the projection below is written by hand');
  // Paused: the deliveries are numbered and held, nothing is sent.
  const sub = await call('POST', '/api/webhooks', { token: ownCoordinator, body: { clinicId: own, url: 'http://127.0.0.1:9/one-statement', eventTypes: ['step.entered', 'course.ended'] } });
  expect(sub.status).toBe(201);
  expect((await call('PATCH', `/api/webhooks/${sub.body.id}`, { token: ownCoordinator, body: { active: false } })).status).toBe(200);
  const endedAt = Date.now();
  const entered = new Date(endedAt - apartMs).toISOString();
  const ended = new Date(endedAt).toISOString();
  const { seq } = await stack.db.selectFrom('course_events').select((eb) => eb.fn.max('seq').as('seq')).where('course_id', '=', courseId).executeTakeFirstOrThrow();
  const next = Number(seq) + 1;
  await createProjectionActivities({ db: stack.db }).projectCourse({
    courseId,
    clinicId: own,
    seq: next,
    steps: [],
    records: [{ table: 'event', id: `${courseId}/e${next}`, seq: next, type: 'step.opened', stepKey: 'screening-again', at: entered, actorType: 'system', actorId: null, detail: {} }],
    course: { status: 'withdrawn', currentStep: null, currentStepDeadline: null, riskLevel: 'none', endedAt: ended, endReason: 'withdrawn' },
  });
  const rows = await stack.db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
    .select(['d.seq', 'd.status', 'e.type', 'e.occurred_at'])
    .where('d.subscription_id', '=', sub.body.id)
    .orderBy('d.seq')
    .execute();
  expect(rows.map((r) => [Number(r.seq), r.status, r.type, r.occurred_at.toISOString()])).toEqual([
    [1, 'held', 'step.entered', entered],
    [2, 'held', 'course.ended', ended],
  ]);
  await call('DELETE', `/api/webhooks/${sub.body.id}`, { token: root });
}, 60_000);

test('`kap webhooks redeliver` sends what was given up on, in sequence order; `kap webhooks deliveries` shows the log', async () => {
  // A clinic of its own: the other tests' courses (time-scaled, still running in the shared clinic)
  // open steps whose events would reach this subscription too (a CI run saw a third delivery).
  const own = `hooks-kap-${uid()}`;
  expect((await call('POST', '/api/clinics', { token: root, body: { id: own, name: 'Hook Clinic (shell)' } })).status).toBe(201);
  const ownCoordinator = await tokenFor(stack.db, 'coordinator', own);
  const r = await receiver();
  const url = await stack.app.listen({ port: 0, host: '127.0.0.1' });
  const kap = async (args: string[]) => {
    try {
      const out = await promisify(execFile)(path.resolve(__dirname, '../../bin/kap'), args, { env: { ...process.env, KAP_URL: url, KAP_TOKEN: ownCoordinator }, timeout: 60_000 });
      return { code: 0, out: out.stdout };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, out: `${err.stdout}${err.stderr}` };
    }
  };
  try {
    const sub = await call('POST', '/api/webhooks', { token: ownCoordinator, body: { clinicId: own, url: r.url, eventTypes: ['step.entered', 'course.ended'] } });
    r.setSecret(sub.body.secret);
    const subId: string = sub.body.id;
    const { courseId } = await enroll(1, own, ownCoordinator);
    await withdraw(courseId);
    await eventually(async () => {
      const rows = await deliveries(subId);
      return rows.length === 2 && rows.every((d) => d.status === 'failed');
    }, 60_000, 250).catch(async (err) => {
      throw new Error(`${String(err)}: ${JSON.stringify(await stack.db.selectFrom('webhook_deliveries as d').innerJoin('webhook_events as e', 'e.id', 'd.event_id').select(['d.status', 'd.seq', 'd.attempts', 'd.last_error', 'e.type', 'd.dispatched_at']).where('d.subscription_id', '=', subId).execute())}`);
    });
    const before = await kap(['webhooks', 'deliveries', subId, '--status', 'failed']);
    expect(before.out).toMatch(/#2  failed +course\.ended/);
    r.setUp(true);
    // One delivery from the dashboard's webhooks page (the first in sequence), the rest from the shell.
    const coord = await loggedInBrowser(stack.app, await createStaffMember(stack.app, root, 'coordinator', [own]));
    const pageBefore = await coord.get('/webhooks');
    expect(pageBefore.statusCode).toBe(200);
    expect(pageBefore.body).toContain('Redeliver all 2 failed in order');
    const [first, second] = await deliveries(subId);
    expect(pageBefore.body).toContain(`name="deliveryId" value="${first!.id}"`);
    const one = await coord.post(`/webhooks/${subId}/redeliver`, { deliveryId: first!.id, _back: '/webhooks' }, { csrfFrom: '/webhooks' });
    expect(one.statusCode).toBe(303);
    expect(decodeURIComponent(one.headers.location as string)).toMatch(/^\/webhooks\?ok=Redelivering 1 webhook delivery in sequence order\.$/);
    await eventually(async () => r.got.length === 1, 20_000, 200);
    expect(r.got[0]!.seq).toBe(1);
    const redelivered = await kap(['webhooks', 'redeliver', subId, '--json']);
    expect(redelivered.code).toBe(0);
    expect(JSON.parse(redelivered.out)).toEqual({ redelivered: 1, deliveryIds: [second!.id] });
    await eventually(async () => r.got.length === 2, 20_000, 200);
    expect(r.got.map((g) => [g.seq, g.type])).toEqual([[1, 'step.entered'], [2, 'course.ended']]);
    const after = await kap(['webhooks', 'deliveries', subId]);
    expect(after.out).toMatch(/#2  delivered course\.ended/);
    await call('DELETE', `/api/webhooks/${subId}`, { token: root });
  } finally {
    await r.close();
  }
}, 120_000);

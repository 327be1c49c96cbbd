// Eager workflow start (docs/performance.md, "Eager workflow start"): in `npm start` the API's client
// shares the in-process worker's connection, so the server hands a new course's first workflow task
// back in the start's reply instead of through matching, where near the knee it waited seconds for a
// poll. The API on that shared connection must behave as on a connection of its own: enrollment over
// HTTP, the first step projected, a staff Update answered. `npm run api` (its own connection) and
// TEMPORAL_EAGER_START=off start courses the ordinary way.
import type { Client } from '@temporalio/client';
import { enrollClient } from '../../src/client/courses';
import { connectTemporal, requestsEagerStart } from '../../src/client/temporal';
import { payloadCodecFor } from '../../src/security/keys';
import { workerSlots } from '../../src/worker/worker';
import { eventually, startTestStack, testEnv, type TestStack } from '../harness/stack';
import { client, insertClient, tokenFor, uid } from './api-helpers';

const clinicId = `clinic-eager-${uid()}`;
let shared: TestStack;
/** A client with a connection of its own, as `npm run api` has, on the same server and task queue (one stack: the embedded database serves one connection). */
let own: Client;

beforeAll(async () => {
  // The worker's slots as npm start sizes them (src/worker/worker.ts workerSlots): the SDK grants an eager
  // start only with a slot free beyond the waiting polls' (none was with 8 + 4 slots on 2 cores).
  shared = await startTestStack({ clientOnWorkerConnection: true, workerOptions: workerSlots({}, undefined, { eagerStarts: true }) });
  own = await connectTemporal({ address: testEnv().temporalAddress, namespace: shared.config.TEMPORAL_NAMESPACE, payloadCodec: payloadCodecFor(shared.config) });
  await shared.db.insertInto('clinics').values({ id: clinicId, name: 'Eager Start Clinic' }).execute();
}, 120_000);
afterAll(async () => {
  await own?.connection.close();
  await shared?.stop();
});

const firstStep = (stack: TestStack, courseId: string) =>
  eventually(async () => (await stack.db.selectFrom('courses').select('current_step').where('id', '=', courseId).executeTakeFirst())?.current_step);

test('as npm start wires it: the enrollment is started eagerly on the worker in the process, its first step is projected, and a coordinator pauses it over the same connection', async () => {
  expect(requestsEagerStart(shared.temporal)).toBe(true);
  const clientId = await insertClient(shared.db, clinicId, 'Eager One');
  const seen: boolean[] = [];
  const { course } = await enrollClient({ db: shared.db, temporal: shared.temporal, taskQueue: shared.taskQueue, observeEnrollment: (t) => void seen.push(t.eager) }, { type: 'system', id: 'test' }, { clientId, protocolId: 'kap-office' });
  expect(seen).toEqual([true]);
  expect(await firstStep(shared, course.id)).toBeTruthy();

  // Through the HTTP API, as the dashboard sends them: an enrollment, then a pause (an Update).
  const call = client(shared.app);
  const token = await tokenFor(shared.db, 'coordinator', clinicId);
  const other = await insertClient(shared.db, clinicId, 'Eager Two');
  const enrolled = await call('POST', `/api/clients/${other}/courses`, { token, body: { protocolId: 'kap-office' } });
  expect(enrolled.status).toBe(201);
  const courseId = enrolled.body.id as string;
  expect(await firstStep(shared, courseId)).toBeTruthy();
  const paused = await call('POST', `/api/courses/${courseId}/pause`, { token, body: { reason: 'client travelling' } });
  expect(paused.status).toBe(200);
  const events = await eventually(async () => {
    const rows = await shared.db.selectFrom('course_events').select('type').where('course_id', '=', courseId).where('type', '=', 'course.paused').execute();
    return rows.length ? rows : undefined;
  });
  expect(events).toEqual([{ type: 'course.paused' }]);
});

test('a client with a connection of its own (npm run api) starts courses the ordinary way, and so does npm start with TEMPORAL_EAGER_START=off', async () => {
  expect(requestsEagerStart(own)).toBe(false);
  expect(requestsEagerStart(shared.temporal, 'off')).toBe(false);
  // The setting is the parsed configuration's, not whatever the environment holds at the time.
  const before = process.env.TEMPORAL_EAGER_START;
  process.env.TEMPORAL_EAGER_START = 'off';
  try {
    expect(requestsEagerStart(shared.temporal, shared.config.TEMPORAL_EAGER_START)).toBe(true);
  } finally {
    if (before === undefined) delete process.env.TEMPORAL_EAGER_START;
    else process.env.TEMPORAL_EAGER_START = before;
  }
  const seen: boolean[] = [];
  const observe = { observeEnrollment: (t: { eager: boolean }) => void seen.push(t.eager) };
  const a = await insertClient(shared.db, clinicId, 'Own One');
  const viaOwn = await enrollClient({ db: shared.db, temporal: own, taskQueue: shared.taskQueue, ...observe }, { type: 'system', id: 'test' }, { clientId: a, protocolId: 'kap-office' });
  const b = await insertClient(shared.db, clinicId, 'Eager Off');
  const viaShared = await enrollClient({ db: shared.db, temporal: shared.temporal, taskQueue: shared.taskQueue, eagerStart: 'off', ...observe }, { type: 'system', id: 'test' }, { clientId: b, protocolId: 'kap-office' });
  expect(seen).toEqual([false, false]);
  expect(await firstStep(shared, viaOwn.course.id)).toBeTruthy();
  expect(await firstStep(shared, viaShared.course.id)).toBeTruthy();
});

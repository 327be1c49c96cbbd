// A client answers the baseline from the email link, PHQ-9 item 9 = 2, while the worker recording it
// stops: the server answers the PHQ-9's Update with "unexpected workflow task failure" (the task that
// carried it was lost; its projection may have committed, the course does not hold it). Through
// the real API, dev server, worker and database, with the app's Temporal client losing that one
// Update: the page is not an error, it shows the crisis resources and says the care team was alerted,
// the answer is on the safety queue for the course, and the client is told part of the answers could
// not be recorded. The other instruments of the form are recorded as usual.
import type { Client } from '@temporalio/client';
import { buildApp } from '../../src/api/app';
import { createLogger } from '../../src/log';
import { createClientLinks } from '../../src/security/client-links';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, personTokenFor, uid } from './api-helpers';

let stack: TestStack;
let app: Awaited<ReturnType<typeof buildApp>>;
let call: ReturnType<typeof client>;
let admin: string;
/** Instruments whose submitAnswers Update the app's client loses, as the server answers a lost task. */
const losing = new Set<string>();
let lostCount = 0;

const lostTask = () => new Error('Unexpected error while making gRPC request', { cause: Object.assign(new Error('9 FAILED_PRECONDITION: Unable to perform workflow execution update due to unexpected workflow task failure.'), { code: 9, details: 'Unable to perform workflow execution update due to unexpected workflow task failure.' }) });

/** The real client, except that a course's submitAnswers for an instrument in `losing` comes back lost (and is not sent). */
function losingAnswers(real: Client): Client {
  const bind = <T extends object>(o: T, k: PropertyKey) => {
    const v = Reflect.get(o, k, o) as unknown;
    return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(o) : v;
  };
  const workflow = new Proxy(real.workflow, {
    get(w, k) {
      if (k !== 'getHandle') return bind(w, k);
      return (id: string, ...rest: unknown[]) => {
        const h = (w.getHandle as (...a: unknown[]) => object)(id, ...rest);
        return new Proxy(h, {
          get(hh, k2) {
            if (k2 !== 'executeUpdate') return bind(hh, k2);
            return async (def: string | { name: string }, opts: { args: Array<{ instrumentId?: string }> }) => {
              const name = typeof def === 'string' ? def : def.name;
              if (name === 'submitAnswers' && losing.has(opts.args[0]?.instrumentId ?? '')) {
                lostCount++;
                throw lostTask();
              }
              return (hh as { executeUpdate: (...a: unknown[]) => Promise<unknown> }).executeUpdate(def, opts);
            };
          },
        });
      };
    },
  });
  return new Proxy(real, { get: (t, k) => (k === 'workflow' ? workflow : bind(t, k)) });
}

const post = (url: string, form: Record<string, string>) => app.inject({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(form).toString() });
const phq9 = (item9: number) => Object.fromEntries([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => [`phq9.${n}`, String(n === 9 ? item9 : 1)]));
const gad7 = () => Object.fromEntries([1, 2, 3, 4, 5, 6, 7].map((n) => [`gad7.${n}`, '1']));
const pcl5 = () => Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`pcl5.${i + 1}`, '1']));
const cssrsNo = { 'cssrs.1': 'false', 'cssrs.2': 'false', 'cssrs.6': 'false' };

beforeAll(async () => {
  stack = await startTestStack();
  app = await buildApp({ config: stack.config, db: stack.db, temporal: losingAnswers(stack.temporal), log: createLogger('silent') });
  call = client(app);
  admin = (await personTokenFor(stack.db, 'admin')).token;
}, 120_000);
afterAll(async () => {
  for (const c of (await stack?.db.selectFrom('courses').select('workflow_id').where('ended_at', 'is', null).execute()) ?? []) {
    await stack.temporal.workflow.getHandle(c.workflow_id).terminate('test cleanup').catch(() => undefined);
  }
  await app?.close();
  await stack?.stop();
});

test('item 9 = 2 on a PHQ-9 lost with its workflow task: no error page, the care team alerted, the answer on the safety queue, the rest recorded', async () => {
  const clinicId = `lost-answer-${uid()}`;
  expect((await call('POST', '/api/clinics', { token: admin, body: { id: clinicId, name: 'Lost Answer Clinic' } })).status).toBe(201);
  for (const role of ['prescriber', 'therapist'] as const) {
    expect((await call('POST', '/api/staff', { token: admin, body: { email: `${role}-${uid()}@lost.example.org`, displayName: `Lost ${role}`, role, clinicIds: [clinicId] } })).status).toBe(201);
  }
  const c = await call('POST', '/api/clients', { token: admin, body: { clinicId, givenName: 'Sam', familyName: `Wifi-${uid()}`, email: `sam-${uid()}@example.org` } });
  expect(c.status).toBe(201);
  const course = await call('POST', `/api/clients/${c.body.id}/courses`, { token: admin, body: { protocolId: 'kap-office' } });
  expect(course.status).toBe(201);
  const courseId = course.body.id as string;
  await eventually(async () => (await stack.db.selectFrom('assessments').select('id').where('id', 'like', `${courseId}/screening/%`).execute()).length >= 4, 30_000, 100);
  const links = createClientLinks({ db: stack.db, secretKey: stack.config.SECRET_KEY!, publicUrl: 'http://x' });
  const url = `/a/${links.createClientLink({ assessmentId: `${courseId}/screening`, expiresAt: new Date(Date.now() + 3_600_000) }).token}`;

  losing.add('phq9');
  const res = await post(url, { ...phq9(2), ...gad7(), ...pcl5(), ...cssrsNo });
  expect(lostCount).toBe(1);
  expect(res.statusCode).toBe(200);
  expect(res.body).toContain('988');
  expect(res.body).toContain('they have been alerted');
  expect(res.body).toContain('could not be recorded just now');

  // The answer is on the safety queue for this course, and the prescriber and therapist are alerted.
  const items = await eventually(async () => {
    const r = await call('GET', `/api/safety?clinicId=${clinicId}`, { token: admin });
    const mine = (r.body.items as Array<Record<string, unknown>>).filter((i) => i.courseId === courseId);
    return mine.length ? mine : null;
  }, 30_000, 200);
  expect(JSON.stringify(items)).toContain('PHQ-9 item 9 = 2');
  const alerts = await eventually(async () => {
    const rows = await stack.db.selectFrom('email_outbox').select(['recipient_ref']).where('course_id', '=', courseId).where('template', '=', 'safety-alert').execute();
    return rows.length >= 2 ? rows : null;
  }, 30_000, 200);
  expect(alerts.map((r) => r.recipient_ref).sort()).toEqual(['prescriber', 'therapist']);
  // The other instruments went through as usual.
  const rows = await eventually(async () => {
    const r = await stack.db.selectFrom('assessments').select(['instrument_id', 'status']).where('id', 'like', `${courseId}/screening/%`).execute();
    return r.filter((x) => x.status === 'completed').length === 3 ? r : null;
  }, 30_000, 100);
  expect(rows.find((r) => r.instrument_id === 'phq9')?.status).toBe('invited');
}, 90_000);

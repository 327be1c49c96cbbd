// Rehearsing a draft before publishing it (issue #21): the clinic's draft runs through the simulator
// on the real engine (synthetic clients of seeded profiles, time-scaled) in a sandbox clinic whose
// emails never leave the machine; the engine summarises the sandbox's own records, keeps the summary
// on that exact draft, and only then may the clinic's admin publish it. The worker's mailer fails every
// send: the sandbox's mail never reaches it. A short pathway (one preparation session, two doses three
// days apart, one follow-up three days after) keeps the rehearsal to seconds.
import { Writable } from 'node:stream';
import { createActivities } from '../../src/activities';
import { simulate } from '../../src/cli/commands/simulate';
import type { Db } from '../../src/db/connect';
import type { Protocol } from '../../src/domain';
import type { Mailer } from '../../src/mail/mailer';
import { freePort } from '../../src/temporal/dev-server';
import { startTestStack, type TestStack } from '../harness/stack';
import { client, personTokenFor, tokenFor, uid } from './api-helpers';

let stack: TestStack;
let base: string;
let call: ReturnType<typeof client>;
const smtpSends: string[] = [];

beforeAll(async () => {
  const appPort = await freePort();
  base = `http://127.0.0.1:${appPort}`;
  const dbRef: { db?: Db } = {};
  const lateDb = new Proxy({} as Db, { get: (_t, k) => { const v = (dbRef.db as never)[k] as unknown; return typeof v === 'function' ? v.bind(dbRef.db) : v; } });
  // The configured transport: any message handed to it would leave the machine.
  const mailer: Mailer = {
    from: 'KAP Clinic <no-reply@kap.local>',
    async send(mail) {
      smtpSends.push(mail.messageId);
      throw new Error('this test sends nothing over SMTP');
    },
    close() {},
  };
  const secretKey = 'test-secret-key-0123456789abcdef0123456789';
  stack = await startTestStack({ env: { PUBLIC_URL: base }, workerOptions: { activities: createActivities({ db: lateDb, mailer, mail: { publicUrl: base, secretKey }, secretKey }) } });
  dbRef.db = stack.db;
  call = client(stack.app);
  await stack.app.listen({ port: appPort, host: '127.0.0.1' });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

test('a draft rehearsed on synthetic clients in a sandbox whose mail stays on the machine, then published', async () => {
  const clinic = `east-${uid()}`;
  const root = await tokenFor(stack.db, 'admin');
  expect((await call('POST', '/api/clinics', { token: root, body: { id: clinic, name: 'East' } })).status).toBe(201);
  const coordinator = (await personTokenFor(stack.db, 'coordinator', clinic)).token;
  const admin = (await personTokenFor(stack.db, 'admin', clinic)).token;
  const path = `/api/clinics/${clinic}/protocols`;

  const draft = await call('POST', path, { token: coordinator, body: { template: 'kap-office', protocolId: 'east-short', reason: 'a short pathway for a pilot' } });
  expect(draft.status).toBe(201);
  const def = draft.body.definition as Protocol;
  Object.assign(def.course, { preparationSessions: 1, dosingSessions: 2, doseScheduleDays: [0, 3], minDaysBetweenDoses: 2 });
  def.assessments.followUps = [{ afterCourseDays: 3, instruments: ['phq9'] }];
  expect((await call('PUT', `${path}/east-short/draft`, { token: coordinator, body: { protocol: def, reason: 'pilot: two doses' } })).status).toBe(200);
  expect((await call('POST', `${path}/east-short/publish`, { token: admin, body: { reason: 'go' } })).status).toBe(422); // not rehearsed

  // The rehearsal, as `kap protocol rehearse` runs it: a sandbox, the simulator, the engine's summary.
  const sandbox = await call('POST', `${path}/east-short/draft/sandbox`, { token: coordinator, body: {} });
  expect(sandbox.status).toBe(201);
  const { sandboxClinicId, token } = sandbox.body;
  expect(sandboxClinicId).toMatch(/^rehearsal-/);
  // The sandbox's clinician reaches the sandbox alone.
  expect((await call('GET', `/api/clinics/${clinic}`, { token })).status).toBe(404);
  const timeScale = 108_000; // 1.25 protocol days a second: slow enough for a loaded machine
  const quiet = new Writable({ write: (_c, _e, cb) => cb() });
  const sim = await simulate({ clients: 6, protocol: 'east-short', timeScale, seed: 3, url: base, token, concurrency: 6, rehearsal: { clinicId: sandboxClinicId, definition: sandbox.body.definition } }, quiet);
  expect(sim.summary).toMatchObject({ mismatches: [] });
  const recorded = await call('POST', `${path}/east-short/draft/rehearsal`, { token: coordinator, body: { sandboxClinicId, timeScale } });
  expect(recorded.status).toBe(200);
  const s = recorded.body.summary;
  expect(s).toMatchObject({ passed: true, clients: 6, matched: 6, unfinished: 0, reasons: [] });
  expect(Object.keys(s.byProfile).sort()).toEqual(['bp-hold', 'completes', 'ineligible', 'no-show']);
  expect(s.byProfile.ineligible).toEqual({ expected: 'ineligible', count: 1, matched: 1, finals: { ineligible: 1 } });
  expect(s.emailsPerClient.min).toBeGreaterThan(0);
  expect(s.waits.length).toBeGreaterThan(0);
  expect(recorded.body.stored).toBe(true);

  // The sandbox's mail stayed on the machine: stored in the sink's table, never handed to SMTP.
  expect(smtpSends).toEqual([]);
  const sent = await stack.db.selectFrom('email_outbox').select(['message_id', 'status']).where('clinic_id', '=', sandboxClinicId).execute();
  expect(sent.length).toBeGreaterThanOrEqual(6);
  const stored = await stack.db.selectFrom('smtp_sink_messages').select('message_id').where('message_id', 'in', sent.map((m) => m.message_id)).execute();
  expect(stored.length).toBe(sent.filter((m) => m.status === 'sent').length);
  // The sandbox is closed: its clinician's token stops.
  expect((await call('GET', `/api/clinics/${sandboxClinicId}`, { token })).status).toBe(401);
  // The sandbox is not one of the clinic's protocols.
  expect((await call('GET', '/api/protocols', { token: root })).body.clinicProtocols.map((p: { clinicId: string }) => p.clinicId)).not.toContain(sandboxClinicId);

  // Kept on the draft; now the clinic's admin may publish, and the audit log tells the story.
  const read = await call('GET', `${path}/east-short/draft`, { token: admin });
  expect(read.body.rehearsal).toMatchObject({ passed: true, hash: read.body.hash, clients: 6 });
  expect(recorded.body.hash).toBe(read.body.hash);
  const published = await call('POST', `${path}/east-short/publish`, { token: admin, body: { reason: 'rehearsed on 6 synthetic clients' } });
  expect(published.status).toBe(200);
  const audit = await stack.db.selectFrom('audit_log').select(['action', 'detail']).where('clinic_id', '=', clinic).where('action', 'like', 'protocol.%').orderBy('id').execute();
  expect(audit.map((a) => a.action)).toEqual(['protocol.draft', 'protocol.draft.edit', 'protocol.rehearsal.open', 'protocol.rehearse', 'protocol.publish']);
  expect(audit[3]!.detail).toMatchObject({ passed: true, clients: 6, matched: 6, sandboxClinicId, stored: true });
}, 240_000); // ~15 s; the simulator waits up to 2 min for a stuck course before it reports it

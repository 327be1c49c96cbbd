// `kap simulate` through the real engine over HTTP: synthetic clients answer their baseline, the
// post-course assessment and the follow-ups from the emailed links (read from the SMTP sink), with
// scores from seeded trajectories, so every dose has the client's own C-SSRS and PHQ-9, the clinic's
// outcomes have an n, the
// screening answers every item, timed readings wait for their time, and every course completes.
import { Writable } from 'node:stream';
import { createActivities } from '../../src/activities';
import { simulate } from '../../src/cli/commands/simulate';
import { clientTrajectory } from '../../src/cli/commands/simulate-trajectory';
import type { Db } from '../../src/db/connect';
import { createSmtpMailer } from '../../src/mail/mailer';
import { startSmtpSink, type SmtpSink } from '../../src/mail/sink';
import { freePort } from '../../src/temporal/dev-server';
import { startTestStack, type TestStack } from '../harness/stack';
import { personTokenFor } from './api-helpers';

let stack: TestStack;
let sink: SmtpSink;
let base: string;

beforeAll(async () => {
  const appPort = await freePort();
  const smtpPort = await freePort();
  base = `http://127.0.0.1:${appPort}`;
  // The worker sends through a real SMTP sink on loopback; the database handle is bound late (the
  // embedded PGlite serves one connection, so everything shares the stack's pool).
  const dbRef: { db?: Db } = {};
  const lateDb = new Proxy({} as Db, { get: (_t, k) => { const v = (dbRef.db as never)[k] as unknown; return typeof v === 'function' ? v.bind(dbRef.db) : v; } });
  const mailer = createSmtpMailer({ url: `smtp://127.0.0.1:${smtpPort}`, from: 'KAP Clinic <no-reply@kap.local>', timeoutSeconds: 5 });
  const secretKey = 'test-secret-key-0123456789abcdef0123456789';
  stack = await startTestStack({
    env: { PUBLIC_URL: base, SMTP_URL: `smtp://127.0.0.1:${smtpPort}` },
    workerOptions: { activities: createActivities({ db: lateDb, mailer, mail: { publicUrl: base, secretKey }, secretKey }) },
  });
  dbRef.db = stack.db;
  sink = await startSmtpSink({ db: stack.db, port: smtpPort });
  await stack.app.listen({ port: appPort, host: '127.0.0.1' });
}, 120_000);

afterAll(async () => {
  await sink?.stop();
  await stack?.stop();
});

test('a small synthetic clinic: clients answer the baseline from their emailed links and every course completes with its doses', async () => {
  const { token } = await personTokenFor(stack.db, 'admin'); // a person: the simulator records safety reviews
  let progress = '';
  const notATerminal = new Writable({ write: (c, _e, cb) => ((progress += String(c)), cb()) });
  const { ok, summary } = await simulate({ clients: 3, protocol: 'kap-office', timeScale: 216_000, seed: 7, url: base, token, concurrency: 3 }, notATerminal);
  expect(summary).toMatchObject({ mismatches: [] });
  expect(ok).toBe(true);
  // Not a terminal: no progress frames (no carriage returns, no bar), a line per phase saying what it waits for.
  expect(progress).not.toMatch(/\r|\[#/);
  expect(progress).toContain('3 synthetic clients in clinic');
  expect(progress).toContain('enrolling kap-office courses and recording every staff action, 3 courses at once');
  expect(progress).toContain('staff actions recorded; waiting for every course to end');
  expect(progress).toMatch(/courses ended; waiting for \d courses? at (followup|post-course)/);
  expect(progress).toMatch(/all 3 courses ended\n$/);
  const courses = await stack.db.selectFrom('courses').select(['id', 'status']).where('clinic_id', '=', (summary as { clinicId: string }).clinicId).execute();
  expect(courses.map((c) => c.status)).toEqual(['completed', 'completed', 'completed']);
  // The baseline was answered by each client through the page: a C-SSRS and a PHQ-9 completed before
  // the first dose. On a loaded machine the screening form can close before the simulated client gets
  // to it (a protocol week is ~2.8 s here); the simulator then has staff send a fresh C-SSRS and PHQ-9,
  // as a clinic would, so the answers may sit on the screening step or on a later one.
  for (const c of courses) {
    const rows = await stack.db.selectFrom('assessments').select(['instrument_id', 'status', 'completed_at']).where('course_id', '=', c.id).where('status', '=', 'completed').execute();
    const firstDose = await stack.db.selectFrom('course_steps').select('completed_at').where('course_id', '=', c.id).where('step_key', '=', 'dose-1').executeTakeFirstOrThrow();
    const before = rows.filter((r) => r.completed_at && firstDose.completed_at && r.completed_at <= firstDose.completed_at).map((r) => r.instrument_id);
    expect(before).toEqual(expect.arrayContaining(['cssrs', 'phq9']));
    // The baseline PHQ-9 is the client's seeded trajectory's (client n of seed 7), not a fixed form.
    const n = Number((await stack.db.selectFrom('courses as c').innerJoin('clients as k', 'k.id', 'c.client_id').select('k.family_name').where('c.id', '=', c.id).executeTakeFirstOrThrow()).family_name.replace('Client ', ''));
    const phq9 = await stack.db.selectFrom('assessments').select('total').where('course_id', '=', c.id).where('instrument_id', '=', 'phq9').where('status', '=', 'completed').orderBy('completed_at').executeTakeFirstOrThrow();
    expect(phq9.total).toBe(clientTrajectory(7, n).baseline.phq9);
  }
  // Outcomes that mean something: after the course the clients answered from their links (PHQ-9,
  // GAD-7 and PCL-5 from their trajectories), so the clinic's outcomes have courses in their n. A
  // form can close before a client gets to it on a loaded machine: at least one of the twelve.
  const later = await stack.db.selectFrom('assessments').select(['instrument_id']).where('course_id', 'in', courses.map((c) => c.id)).where('status', '=', 'completed').where('step_key', 'in', ['post-course-assessment', 'followup-30d', 'followup-90d', 'followup-180d']).execute();
  expect(new Set(later.map((r) => r.instrument_id))).toEqual(new Set(['phq9', 'gad7', 'pcl5']));
  const outcomes = (await (await fetch(`${base}/api/clinics/${(summary as { clinicId: string }).clinicId}/outcomes`, { headers: { authorization: `Bearer ${token}` } })).json()) as { protocols: Array<{ protocolId: string; rates: Array<{ instrumentId: string; courses: number }> }> };
  expect(outcomes.protocols[0]!.protocolId).toBe('kap-office');
  expect(outcomes.protocols[0]!.rates.find((r) => r.instrumentId === 'phq9')!.courses).toBeGreaterThan(0);
}, 240_000);

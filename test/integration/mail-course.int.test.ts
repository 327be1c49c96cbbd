// End to end: a course driven through intake, preparation, a dosing session, its integration session
// and the assessment that follows, on the time-skipping Temporal test server with the REAL activities
// (database projections, the notify activity, a real SMTP server on loopback). What the SMTP server
// received must be exactly what the workflow asked for, each message once, none carrying clinical
// detail; the outbox, the projection rows and the audit rows must agree with the workflow.
import crypto from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, makeTelemetryFilterString, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import type { Db } from '../../src/db/connect';
import { findForbiddenTerms } from '../../src/mail/guard';
import { createSmtpMailer, type Mailer } from '../../src/mail/mailer';
import { getProtocol } from '../../src/domain';
import { CourseDriver, HOUR, type Harness, testServerPath } from '../workflows/helpers';
import { LiveCourse } from './course-driver';
import { clinicalTermsIn, openTestDb, seedClinic, type Seeded, startTestSmtp, type TestSmtp } from './mail-helpers';

const silent = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

let db: Db;
let smtp: TestSmtp;
let mailer: Mailer;
let seed: Seeded;
let h: Harness;
let running: Promise<void>;

beforeAll(async () => {
  try {
    Runtime.install({ logger: silent as never, telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } } });
  } catch {
    // already installed by another file in this process
  }
  db = await openTestDb();
  smtp = await startTestSmtp();
  mailer = createSmtpMailer({ url: smtp.url, from: 'Riverside Wellness <no-reply@kap.example>', timeoutSeconds: 10 });
  seed = await seedClinic(db);
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: testServerPath() } } });
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: { KapStep: 2, KapStepDeadline: 6, KapClinic: 2, KapStatus: 2, KapProtocol: 2 },
  });
  const taskQueue = `mail-course-${crypto.randomUUID()}`;
  const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: silent as never });
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: createActivities({ db, mailer, mail: { publicUrl: 'https://kap.example', secretKey: 'z'.repeat(40) } }),
  });
  running = worker.run();
  h = {
    env,
    worker,
    fakes: undefined as never,
    taskQueue,
    // The course as PostgreSQL holds it (the real activities wrote it), in the drivers' shape.
    async view(courseId) {
      const v = await new LiveCourse(env.client, db, courseId, getProtocol('kap-office', 1)!).state();
      return {
        courseId,
        status: v.status,
        currentStep: v.currentStep,
        riskLevel: v.riskLevel,
        primaryClinicianId: null,
        endedAt: null,
        endReason: v.endReason,
        steps: v.steps.map((st) => ({ ...st, deadlineAt: null, completedAt: null, escalationLevel: 0, detail: {}, session: null })),
        safetyHolds: v.safetyHolds.map((hd) => ({ ...hd, stepKey: null, at: '' })),
        assessments: v.assessments.map((a) => ({ ...a, results: [] })),
        events: [],
      };
    },
    async stop() {
      worker.shutdown();
      await running.catch(() => undefined);
      await env.teardown();
    },
  };
}, 120_000);

afterAll(async () => {
  await h?.stop();
  mailer?.close();
  await smtp?.stop();
  await db?.destroy();
});

test('dosing session and the assessment after it: exactly the expected messages, once each, nothing clinical', async () => {
  const c = new CourseDriver(h, 'kap-office', { clientId: seed.clientId, clinicId: seed.clinicId } as never);
  (c as { courseId: string }).courseId = seed.courseId;
  await c.start();

  await c.intake();
  for (const prep of ['prep-1', 'prep-2', 'prep-3']) await c.session(prep, 48);
  // dose-1, three days out: the 48 h and the day-before (24 h) reminders fire in skipped time.
  const p = getProtocol('kap-office', 1)!;
  await c.dose('dose-1', { inHours: 72, monitoringMinutes: p.safety.minMonitoringMinutes, checkMinutes: p.safety.bloodPressure.checkMinutes, route: p.routes[0]! });
  await c.session('integration-1', 12);
  // The assessment that follows the first dose (before the next one): invitation, answered.
  // dose-2's pre-dose assessment is the one that follows the dosing session.
  const v = await c.until((s) => s.assessments.some((a) => a.id === `${seed.courseId}/dose-2` && a.status === 'pending'), HOUR, 24 * 30);
  const followUp = v.assessments.find((a) => a.id === `${seed.courseId}/dose-2`)!;
  await c.answerAll('dose-2');
  expect((await c.state()).assessments.find((a) => a.id === followUp.id)!.status).not.toBe('pending');
  await c.act('withdraw', { reason: 'end of test' });
  await c.handle.result().catch(() => undefined);

  // --- what the workflow asked for (the outbox holds one row per notify key) ---
  const rows = await db.selectFrom('email_outbox').selectAll().where('course_id', '=', seed.courseId).orderBy('created_at').execute();
  if (process.env.KAP_DEBUG_MAIL) console.log(rows.map((r) => `${r.key} ${r.template} ${r.audience} ${r.status}`).join('\n'), smtp.received.length);
  expect(rows.filter((r) => r.status !== 'sent').map((r) => [r.key, r.status, r.last_error])).toEqual([]);

  // --- what arrived: exactly those messages, each once ---
  const mine = smtp.received.filter((m) => rows.some((r) => r.message_id === m.parsed.messageId));
  expect(mine).toHaveLength(smtp.received.length);
  expect(smtp.received.map((m) => m.parsed.messageId).sort()).toEqual(rows.map((r) => r.message_id).sort());

  const keys = rows.map((r) => r.key);
  const byKey = (k: string) => smtp.received.find((m) => m.parsed.messageId === rows.find((r) => r.key === k)!.message_id)!;
  // Exactly the expected messages: the screening invitation; a 24 h reminder per preparation session
  // (booked 48 h ahead, so the 48 h reminder time has already come); the pre-dose assessment's
  // invitation and its three daily reminders (left unanswered); dose-1's 48 h and day-before
  // reminders; the next assessment's invitation (answered at once, so no reminder).
  const k = (s: string) => `${seed.courseId}/${s}`;
  expect([...keys].sort()).toEqual(
    [
      k('screening/invitation'),
      k('prep-1/s1/reminder-24h'),
      k('prep-2/s1/reminder-24h'),
      k('prep-3/s1/reminder-24h'),
      k('dose-1/invitation'),
      k('dose-1/reminder-1'),
      k('dose-1/reminder-2'),
      k('dose-1/reminder-3'),
      k('dose-1/s1/reminder-48h'),
      k('dose-1/s1/reminder-24h'),
      `${followUp.id}/invitation`,
    ].sort(),
  );

  const dayBefore = byKey(`${seed.courseId}/dose-1/s1/reminder-24h`).parsed;
  expect(dayBefore.text).toContain('Do not eat for');
  expect(dayBefore.text).toContain('Arrange for an adult to drive you home afterwards.');
  expect(dayBefore.attachments.map((a) => a.contentType)).toEqual(['text/calendar']);
  expect(byKey(`${seed.courseId}/dose-1/s1/reminder-48h`).parsed.text).not.toContain('Do not eat');
  const invite = byKey(`${followUp.id}/invitation`).parsed;
  expect(invite.text).toMatch(/https:\/\/kap\.example\/a\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/);

  // Recipients and content: client templates to the client only; nothing clinical anywhere for clients.
  for (const r of rows) {
    const m = smtp.received.find((x) => x.parsed.messageId === r.message_id)!;
    if (r.audience === 'client') {
      expect(m.envelopeTo).toEqual([seed.clientEmail]);
      expect(clinicalTermsIn(m.parsed)).toEqual([]);
    } else {
      expect(m.envelopeTo).not.toContain(seed.clientEmail);
      // Staff email: no answers or scores either.
      expect([m.parsed.subject ?? '', m.parsed.text ?? ''].flatMap(findForbiddenTerms).filter((t) => ['score', 'mg', 'dose'].includes(t))).toEqual([]);
    }
  }

  // --- audit and projections agree ---
  const sentAudit = await db.selectFrom('audit_log').select(['event_key']).where('course_id', '=', seed.courseId).where('action', '=', 'email.sent').execute();
  expect(sentAudit.map((a) => a.event_key).sort()).toEqual(rows.map((r) => `email.sent:${r.key}`).sort());
  const final = await c.state();
  const steps = await db.selectFrom('course_steps').select(['step_key', 'state']).where('course_id', '=', seed.courseId).execute();
  const dose1 = steps.find((s) => s.step_key === 'dose-1');
  expect(dose1?.state).toBe('done');
  expect(final.steps.find((s) => s.id === 'dose-1')!.status).toBe('done');
  const course = await db.selectFrom('courses').select(['status']).where('id', '=', seed.courseId).executeTakeFirstOrThrow();
  expect(course.status).toBe(final.status);
}, 300_000);

// The embedded SMTP sink (`npm start` without SMTP_URL): what notify sends arrives there, is parsed
// and stored, and is listed by the sink API and by GET /api/outbox[/:id] within the caller's clinics.
import Fastify, { type FastifyInstance } from 'fastify';
import { createNotifyActivities } from '../../src/activities/notify';
import { installErrorHandling } from '../../src/api/errors';
import { outboxRoutes } from '../../src/api/routes/outbox';
import type { Principal } from '../../src/auth/roles';
import { loadConfig } from '../../src/config';
import { createDb, type Db } from '../../src/db/connect';
import { createSmtpMailer, type Mailer } from '../../src/mail/mailer';
import { getSinkMessage, listSinkMessages, type SmtpSink, startSmtpSink } from '../../src/mail/sink';
import { createClientLinks } from '../../src/security/client-links';
import { clinicalTermsIn, openTestDb, seedClinic, type Seeded } from './mail-helpers';
import { simpleParser } from 'mailparser';

let db: Db;
let sink: SmtpSink;
let mailer: Mailer;
let seed: Seeded;
let app: FastifyInstance;
let principal: Principal;

beforeAll(async () => {
  db = await openTestDb();
  sink = await startSmtpSink({ db, port: 0 });
  mailer = createSmtpMailer({ url: sink.url, from: 'KAP Clinic <no-reply@kap.local>', timeoutSeconds: 5 });
  seed = await seedClinic(db);
  app = Fastify();
  installErrorHandling(app);
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req) => {
    req.principal = principal;
  });
  outboxRoutes(app, { db, config: loadConfig({ NODE_ENV: 'test' }) });
  await app.ready();
});
afterAll(async () => {
  await app.close();
  mailer.close();
  await sink.stop();
  await db.destroy();
});

const coordinator = (clinics: Principal['clinics']): Principal => ({ role: 'coordinator', clinics, staffId: 'x', via: 'token', displayName: 'x' });

test('notify through the sink: stored, parsed, listed, and served by the outbox routes within scope', async () => {
  const links = createClientLinks({ db, secretKey: 'y'.repeat(40), publicUrl: 'http://127.0.0.1:3000' });
  const { notify } = createNotifyActivities({ db, mailer, links, publicUrl: 'http://127.0.0.1:3000' });
  const key = `${seed.courseId}/dose-1/s1/reminder-48h`;
  const res = await notify({ key, template: 'appointment-reminder', courseId: seed.courseId, clinicId: seed.clinicId, recipient: { kind: 'client' }, data: { sessionKey: 'dose-1', startsAt: '2026-06-02T14:00:00Z', kind: 'dosing', hoursBefore: 48, dayBeforeDosing: false } });
  expect(res.status).toBe('sent');

  const row = await db.selectFrom('email_outbox').select(['provider_message_id']).where('key', '=', key).executeTakeFirstOrThrow();
  expect(row.provider_message_id).toMatch(/^sink-\d+$/);
  const list = await listSinkMessages(db, { messageIds: [res.messageId] });
  expect(list).toHaveLength(1);
  expect(list[0]).toMatchObject({ messageId: res.messageId, to: [seed.clientEmail], subject: 'Reminder: your appointment on Tuesday, June 2, 2026' });
  expect(list[0]!.attachments).toEqual([{ filename: 'appointment.ics', contentType: 'text/calendar', size: expect.any(Number) }]);
  const full = await getSinkMessage(db, list[0]!.id);
  expect(full!.text).toContain('This is a reminder of your appointment with Riverside Wellness');
  expect(clinicalTermsIn(await simpleParser(full!.raw))).toEqual([]);

  principal = coordinator([seed.clinicId]);
  const r1 = await app.inject({ method: 'GET', url: `/api/outbox?courseId=${seed.courseId}` });
  expect(r1.statusCode).toBe(200);
  const body = r1.json();
  expect(body.items).toHaveLength(1);
  expect(body.items[0]).toMatchObject({ key, status: 'sent', attempts: 1, audience: 'client', recipient: { kind: 'client', ref: null }, sinkMessageId: list[0]!.id });
  expect(JSON.stringify(body)).not.toContain(seed.clientEmail); // the list names the kind of recipient, not the address

  const r2 = await app.inject({ method: 'GET', url: `/api/outbox/${list[0]!.id}` });
  expect(r2.statusCode).toBe(200);
  expect(r2.json()).toMatchObject({ id: list[0]!.id, outboxKey: key, to: [seed.clientEmail] });
  expect(r2.json().attachments[0].contentType).toBe('text/calendar');

  // Another clinic's coordinator: nothing listed, the message is "not found", asking for the clinic is 403.
  principal = coordinator([seed.otherClinicId]);
  expect((await app.inject({ method: 'GET', url: `/api/outbox?courseId=${seed.courseId}` })).json().items).toEqual([]);
  expect((await app.inject({ method: 'GET', url: `/api/outbox/${list[0]!.id}` })).statusCode).toBe(404);
  expect((await app.inject({ method: 'GET', url: `/api/outbox?clinicId=${seed.clinicId}` })).statusCode).toBe(403);
  // Bad input.
  expect((await app.inject({ method: 'GET', url: '/api/outbox/abc' })).statusCode).toBe(400);
  expect((await app.inject({ method: 'GET', url: '/api/outbox?status=lost' })).statusCode).toBe(400);
  expect((await app.inject({ method: 'GET', url: '/api/outbox/999999999' })).statusCode).toBe(404);
});

test('the sink answers 451 when it cannot store, so the outbox does not count the message sent', async () => {
  const broken = createDb({ url: 'postgresql://nobody@127.0.0.1:1/none', poolMax: 1 }); // nothing listens on port 1
  const badSink = await startSmtpSink({ db: broken, port: 0 });
  const m = createSmtpMailer({ url: badSink.url, from: 'KAP Clinic <no-reply@kap.local>', timeoutSeconds: 5 });
  try {
    await expect(m.send({ to: ['a@b.test'], subject: 's', text: 't', messageId: '<x@kap.local>', date: new Date() })).rejects.toMatchObject({ responseCode: 451, ambiguous: false });
  } finally {
    m.close();
    await badSink.stop();
    await broken.destroy();
  }
});

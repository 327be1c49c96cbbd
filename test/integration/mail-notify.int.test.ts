// The notify activity against a real SMTP server on loopback and the real database: what arrives
// (recipients, content, .ics, no clinical detail), exactly once under repeated and concurrent calls,
// a failure between send and record, SMTP down then back, and refusals.
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { NotifyInput } from '../../src/activities/contracts';
import { createNotifyActivities, type NotifyResult } from '../../src/activities/notify';
import type { Db } from '../../src/db/connect';
import { createSmtpMailer, type Mailer, messageIdForKey } from '../../src/mail/mailer';
import { createClientLinks } from '../../src/security/client-links';
import { clinicalTermsIn, openTestDb, seedClinic, type Seeded, sleep, startTestSmtp, type TestSmtp } from './mail-helpers';

const SECRET = 'mail-test-secret-0123456789abcdef0123456789';
const PUBLIC_URL = 'https://kap.example';

let db: Db;
let smtp: TestSmtp;
let mailer: Mailer;
let seed: Seeded;

beforeAll(async () => {
  db = await openTestDb();
  smtp = await startTestSmtp();
  mailer = createSmtpMailer({ url: smtp.url, from: 'Riverside Wellness <no-reply@kap.example>', timeoutSeconds: 5 });
  seed = await seedClinic(db);
});
afterAll(async () => {
  mailer.close();
  await smtp.stop();
  await db.destroy();
});
beforeEach(() => {
  smtp.received.length = 0;
  smtp.failData = null;
  smtp.failRcpt = null;
  smtp.onData = null;
  smtp.onConnect = null;
});

function activities(opts: { leaseMs?: number; afterSend?: (key: string) => void | Promise<void>; links?: ReturnType<typeof createClientLinks>; mailer?: Mailer } = {}) {
  const links = opts.links ?? createClientLinks({ db, secretKey: SECRET, publicUrl: PUBLIC_URL });
  return createNotifyActivities({ db, mailer, publicUrl: PUBLIC_URL, ...opts, links });
}

let n = 0;
function reminder(over: Partial<NotifyInput> = {}): NotifyInput {
  n += 1;
  return {
    key: `${seed.courseId}/dose-1/s1/reminder-24h/${n}`,
    template: 'appointment-reminder',
    courseId: seed.courseId,
    clinicId: seed.clinicId,
    recipient: { kind: 'client' },
    data: { sessionKey: 'dose-1', startsAt: '2026-06-02T14:00:00Z', kind: 'dosing', hoursBefore: 24, dayBeforeDosing: true, fastingFoodHours: 4, fastingClearLiquidsHours: 0.5, escortRequired: true, noDrivingHours: 24 },
    ...over,
  };
}

async function outbox(key: string) {
  return db.selectFrom('email_outbox').selectAll().where('key', '=', key).executeTakeFirstOrThrow();
}

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }
  throw new Error('expected the activity to fail');
}

describe('notify: what is delivered', () => {
  test('day-before dosing reminder to the client: one recipient, instructions, .ics, deterministic Message-ID, no clinical detail', async () => {
    const input = reminder();
    const res = await activities().notify(input);
    expect(res.status).toBe('sent');
    expect(smtp.received).toHaveLength(1);
    const [m] = smtp.received;
    expect(m!.envelopeTo).toEqual([seed.clientEmail]);
    expect(m!.envelopeFrom).toBe('no-reply@kap.example');
    const p = m!.parsed;
    expect((p.to as { value: Array<{ address: string }> }).value.map((v) => v.address)).toEqual([seed.clientEmail]);
    expect(p.messageId).toBe(messageIdForKey(input.key, 'kap.example'));
    expect(p.subject).toBe('Tomorrow: your appointment at 10:00 AM EDT - how to prepare');
    expect(p.text).toContain('Hello Alex,');
    expect(p.text).toContain('Do not eat for 4 hours before your session. You may drink clear fluids until 30 minutes before.');
    expect(p.text).toContain('Arrange for an adult to drive you home afterwards.');
    expect(p.html).toContain('<li>Do not eat for 4 hours before your session.');
    const ics = p.attachments.find((a) => a.contentType === 'text/calendar');
    expect(ics?.filename).toBe('appointment.ics');
    const cal = ics!.content.toString('utf8');
    expect(cal).toContain('DTSTART:20260602T140000Z');
    expect(cal).toMatch(/UID:[0-9a-f]{32}@kap\.example/);
    expect(cal).toContain('SUMMARY:Appointment - Riverside Wellness');
    expect(clinicalTermsIn(p)).toEqual([]);
    // No internal detail leaks into headers either.
    expect(m!.raw.toString('utf8')).not.toMatch(/dose-1|kap-office|X-KAP/i);

    const row = await outbox(input.key);
    expect(row).toMatchObject({ status: 'sent', attempts: 1, audience: 'client', recipient_kind: 'client', subject: p.subject, provider_message_id: 'T1' });
    expect(row.to_addresses).toEqual([seed.clientEmail]);
    const audit = await db.selectFrom('audit_log').selectAll().where('event_key', '=', `email.sent:${input.key}`).execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: 'email.sent', actor_type: 'system', client_id: seed.clientId, course_id: seed.courseId, clinic_id: seed.clinicId });
    expect(JSON.stringify(audit[0]!.detail)).not.toContain(seed.clientEmail);
  });

  test('assessment invitation: a signed, single-use link that verifies', async () => {
    const input: NotifyInput = { key: `${seed.courseId}/assess-1/invite`, template: 'assessment-invitation', courseId: seed.courseId, clinicId: seed.clinicId, recipient: { kind: 'client' }, data: { assessmentId: `${seed.courseId}/assess-1`, instrumentIds: 'phq9,gad7', expiresAt: new Date(Date.now() + 3 * 86400_000).toISOString() } };
    await activities().notify(input);
    const p = smtp.received[0]!.parsed;
    expect(clinicalTermsIn(p)).toEqual([]);
    const url = /https:\/\/kap\.example\/a\/([A-Za-z0-9_.-]+)/.exec(p.text ?? '');
    expect(url).not.toBeNull();
    const links = createClientLinks({ db, secretKey: SECRET, publicUrl: PUBLIC_URL });
    const token = url![1]!;
    expect(await links.verifyClientLink(token)).toMatchObject({ ok: true, assessmentId: `${seed.courseId}/assess-1` });
    expect(await links.consumeClientLink(token)).toMatchObject({ ok: true });
    expect(await links.consumeClientLink(token)).toEqual({ ok: false, reason: 'used' });
    expect(await links.verifyClientLink(token)).toEqual({ ok: false, reason: 'used' });
    // Another link for the same assessment (a reminder) is spent too.
    const other = links.createClientLink({ assessmentId: `${seed.courseId}/assess-1`, expiresAt: new Date(Date.now() + 86400_000) });
    expect(await links.verifyClientLink(other.token)).toEqual({ ok: false, reason: 'used' });
    const tampered = `${token.slice(0, -10)}${token[token.length - 10] === 'A' ? 'B' : 'A'}${token.slice(-9)}`;
    expect(await links.verifyClientLink(tampered)).toEqual({ ok: false, reason: 'tampered' });
  });

  test('a link token that happens to spell a forbidden term ("…-5mg", "phq…") does not block the invitation', async () => {
    // Tokens are random base64url; chaos found one invitation in about 500 blocked by chance. Here the
    // chance is made certain: the real link maker, with its tokens given an unlucky ending.
    const real = createClientLinks({ db, secretKey: SECRET, publicUrl: PUBLIC_URL });
    const unlucky: typeof real = {
      ...real,
      createClientLink: (i) => {
        const link = real.createClientLink(i);
        return { ...link, token: `${link.token}-5mg-phq9`, url: `${link.url}-5mg-phq9` };
      },
    };
    const input: NotifyInput = { key: `${seed.courseId}/assess-2/invite`, template: 'assessment-invitation', courseId: seed.courseId, clinicId: seed.clinicId, recipient: { kind: 'client' }, data: { assessmentId: `${seed.courseId}/assess-2`, instrumentIds: 'phq9', expiresAt: new Date(Date.now() + 86400_000).toISOString() } };
    await expect(activities({ links: unlucky }).notify(input)).resolves.toMatchObject({ status: 'sent' });
    expect(smtp.received[0]!.parsed.text).toMatch(/https:\/\/kap\.example\/a\/\S+-5mg-phq9/);
    expect((await outbox(input.key)).status).toBe('sent');
  });

  test('safety alert to a role: active staff of that role in this clinic only, no answers or scores', async () => {
    const input: NotifyInput = { key: `${seed.courseId}/hold-1/alert-prescriber`, template: 'safety-alert', courseId: seed.courseId, clinicId: seed.clinicId, recipient: { kind: 'role', role: 'prescriber' }, data: { reason: 'critical-answer', courseId: seed.courseId } };
    await activities().notify(input);
    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0]!.envelopeTo).toEqual([seed.emails.prescriber]);
    const p = smtp.received[0]!.parsed;
    expect(p.subject).toBe(`Safety review needed: course ${seed.courseId.slice(0, 8)}`);
    expect(p.text).toContain(`A critical answer on a client questionnaire in course ${seed.courseId} needs clinician review.`);
    expect(p.text).not.toMatch(/critical-answer|score|item/i);
    expect(p.text).not.toContain('Alex');
  });

  test('a staff member outside the clinic is never a recipient; a role nobody holds falls back to the admins', async () => {
    const other = await failureOf(activities().notify({ key: `${seed.courseId}/x/staff-other`, template: 'course-notice', courseId: seed.courseId, clinicId: seed.clinicId, recipient: { kind: 'staff', staffId: seed.staff.otherClinicPrescriber }, data: { subjectKey: 'course-ended', courseId: seed.courseId } }));
    expect(other.type).toBe('NoRecipient');
    expect(other.nonRetryable).toBe(true);
    const s2 = await seedClinic(db, { roles: ['coordinator', 'admin'] });
    await activities().notify({ key: `${s2.courseId}/x/therapists`, template: 'step-escalation', courseId: s2.courseId, clinicId: s2.clinicId, recipient: { kind: 'role', role: 'therapist' }, data: { stepKey: 'integration-1', deadlineAt: '2026-06-03T14:00:00Z', level: 1 } });
    expect(smtp.received.map((r) => r.envelopeTo)).toEqual([[s2.emails.admin]]);
  });

  test('the recipient read with the claim: a course of another clinic, a client no longer in that clinic or an unknown clinic fail for good, nothing is sent, the row says failed', async () => {
    const s = await seedClinic(db);
    // The course exists, but not in the clinic the message names.
    const wrongClinic = reminder({ courseId: s.courseId, clinicId: s.otherClinicId, key: `${s.courseId}/r/wrong-clinic` });
    expect(await failureOf(activities().notify(wrongClinic))).toMatchObject({ type: 'NoRecipient', nonRetryable: true });
    expect((await outbox(wrongClinic.key)).status).toBe('failed');
    // The course's client is no longer the clinic's: no address to send to.
    await db.updateTable('clients').set({ clinic_id: s.otherClinicId }).where('id', '=', s.clientId).execute();
    const noAddress = reminder({ courseId: s.courseId, clinicId: s.clinicId, key: `${s.courseId}/r/no-address` });
    expect(await failureOf(activities().notify(noAddress))).toMatchObject({ type: 'NoRecipient', nonRetryable: true });
    expect((await outbox(noAddress.key)).status).toBe('failed');
    // No such clinic: the claim's row is made, the message fails for good.
    const noClinic = reminder({ courseId: s.courseId, clinicId: `${s.clinicId}-gone`, key: `${s.courseId}/r/no-clinic` });
    expect(await failureOf(activities().notify(noClinic))).toMatchObject({ type: 'NoRecipient', nonRetryable: true });
    expect(smtp.received).toHaveLength(0);
    // The client back in the clinic: the same course's next message goes to the client, named from the same read.
    await db.updateTable('clients').set({ clinic_id: s.clinicId }).where('id', '=', s.clientId).execute();
    await expect(activities().notify(reminder({ courseId: s.courseId, clinicId: s.clinicId, key: `${s.courseId}/r/after` }))).resolves.toMatchObject({ status: 'sent' });
    expect(smtp.received.map((r) => r.envelopeTo)).toEqual([[s.clientEmail]]);
    expect(smtp.received[0]!.parsed.text).toContain('Alex');
  });

  test('a client message that would carry clinical detail is blocked, non-retryably, and nothing is sent', async () => {
    const s = await seedClinic(db, { clientGivenName: 'Spravato' });
    const input = reminder({ courseId: s.courseId, clinicId: s.clinicId, key: `${s.courseId}/r/blocked` });
    const f = await failureOf(activities().notify(input));
    expect(f.type).toBe('ClinicalDetailInMessage');
    expect(f.nonRetryable).toBe(true);
    expect(smtp.received).toHaveLength(0);
    expect((await outbox(input.key)).status).toBe('blocked');
    // A retry anyway (e.g. a reset workflow) stays blocked.
    expect((await failureOf(activities().notify(input))).type).toBe('ClinicalDetailInMessage');
    expect(smtp.received).toHaveLength(0);
    expect(await db.selectFrom('audit_log').select('action').where('event_key', '=', `email.blocked:${input.key}`).execute()).toEqual([{ action: 'email.blocked' }]);
  });
});

describe('notify: exactly once', () => {
  test('the same key sent again, and twice at once, delivers one message', async () => {
    const input = reminder();
    const a = activities();
    expect((await a.notify(input)).status).toBe('sent');
    expect((await a.notify(input)).status).toBe('already-sent');
    expect(smtp.received).toHaveLength(1);

    const input2 = reminder();
    const both = await Promise.allSettled([a.notify(input2), activities().notify(input2)]);
    // One sends; the other finds it sent, or finds the claim held (a retryable failure Temporal would retry).
    const ok = both.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ status: string }>).value.status);
    expect(ok).toContain('sent');
    for (const r of both) if (r.status === 'rejected') expect((r.reason as ApplicationFailure).type).toBe('NotifyInProgress');
    expect((await a.notify(input2)).status).toBe('already-sent');
    expect(smtp.received).toHaveLength(2);
    expect(new Set(smtp.received.map((r) => r.parsed.messageId)).size).toBe(2);
  });

  test('an attempt still alive after its lease ran out, whose row a retry took over: the retry sends once, the late attempt hands nothing over', async () => {
    const input = reminder();
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    // The late attempt claims the row, then stalls before the SMTP conversation (a paused process, a
    // pool queue behind a slow relay) for longer than its lease.
    const stalled: Mailer = { from: mailer.from, close: () => undefined, send: async (mail, hooks) => (await gate, mailer.send(mail, hooks)) };
    // The lease is long enough for the retry below to find it live on a loaded machine, and short for the test.
    const late = activities({ mailer: stalled, leaseMs: 1500 }).notify(input);
    for (let i = 0; i < 100 && (await db.selectFrom('email_outbox').select('status').where('key', '=', input.key).executeTakeFirst())?.status !== 'sending'; i++) await sleep(20);
    expect((await outbox(input.key)).status).toBe('sending');
    // While the lease holds, a retry waits.
    expect((await failureOf(activities({ leaseMs: 1500 }).notify(input))).type).toBe('NotifyInProgress');
    await sleep(1600);
    expect((await activities({ leaseMs: 1500 }).notify(input)).status).toBe('sent');

    open();
    const failure = await failureOf(late);
    expect(failure.type).toBe('NotifyClaimLost');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).not.toContain('@');
    expect(smtp.received).toHaveLength(1);
    const row = await outbox(input.key);
    expect(row.status).toBe('sent');
    expect(row.claim_token).toBeNull();
    // Temporal's retry of the late attempt settles on the row.
    expect((await activities().notify(input)).status).toBe('already-sent');
    expect(smtp.received).toHaveLength(1);
  });

  test('first attempts as local activities: two at once; the next is handed back before its row, a regular attempt is never held back', async () => {
    // Sends held after the server's 250, before the record: two local attempts in flight.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const a = activities({ afterSend: () => held });
    const local = new MockActivityEnvironment({ isLocal: true });
    const regular = new MockActivityEnvironment({ isLocal: false });
    const [k1, k2, k3, k4] = [reminder(), reminder(), reminder(), reminder()];
    const receivedAtLeast = async (count: number) => {
      for (const until = Date.now() + 10_000; smtp.received.length < count; await sleep(10)) if (Date.now() > until) throw new Error(`fewer than ${count} messages received`);
    };
    const send = (env: MockActivityEnvironment, input: NotifyInput): Promise<NotifyResult> => env.run(a.notify, input);
    const first = [send(local, k1), send(local, k2)];
    await receivedAtLeast(2);
    const deferred = await send(local, k3).catch((e: unknown) => e);
    expect(deferred).toBeInstanceOf(ApplicationFailure);
    expect(deferred).toMatchObject({ type: 'NotifyDeferred', nonRetryable: false });
    expect((deferred as Error).message).not.toContain(k3.key);
    expect(await db.selectFrom('email_outbox').select('key').where('key', '=', k3.key).executeTakeFirst()).toBeUndefined();
    // The regular activity has slots of its own: it sends while the two local attempts are held.
    const retried = send(regular, k4);
    await receivedAtLeast(3);
    release();
    expect((await Promise.all([...first, retried])).map((r) => r.status)).toEqual(['sent', 'sent', 'sent']);
    // Once they have returned, a local attempt runs again.
    expect((await send(local, k3)).status).toBe('sent');
    expect(smtp.received).toHaveLength(4);
  });

  test('a failure after the server accepted and before the record: the retry never sends again (uncertain, audited)', async () => {
    const input = reminder();
    const crashing = activities({ leaseMs: 400, afterSend: () => Promise.reject(new Error('simulated crash after send')) });
    await expect(crashing.notify(input)).rejects.toThrow('simulated crash after send');
    expect(smtp.received).toHaveLength(1);
    const row = await outbox(input.key);
    expect(row.status).toBe('sending');
    expect(row.submitted_at).not.toBeNull();

    // Retried at once: the claim is still held.
    expect((await failureOf(activities({ leaseMs: 400 }).notify(input))).type).toBe('NotifyInProgress');
    await sleep(600);
    // Retried after the lease: the message may have been delivered, so it is not sent again.
    expect((await activities({ leaseMs: 400 }).notify(input)).status).toBe('uncertain');
    expect((await activities({ leaseMs: 400 }).notify(input)).status).toBe('uncertain');
    expect(smtp.received).toHaveLength(1);
    expect((await outbox(input.key)).status).toBe('uncertain');
    expect(await db.selectFrom('audit_log').select('action').where('event_key', '=', `email.uncertain:${input.key}`).execute()).toEqual([{ action: 'email.uncertain' }]);
  });

  test('SMTP down: retryable failure, nothing recorded as sent; after recovery delivered once', async () => {
    const input = reminder();
    await smtp.down();
    try {
      for (let i = 0; i < 2; i++) {
        const f = await failureOf(activities().notify(input));
        expect(f.type).toBe('SmtpUnavailable');
        expect(f.nonRetryable).toBe(false);
      }
      const row = await outbox(input.key);
      expect(row).toMatchObject({ status: 'pending', attempts: 2, submitted_at: null, claim_token: null });
      expect(row.last_error).toMatch(/ECONNREFUSED|connect/i);
    } finally {
      await smtp.up();
    }
    expect((await activities().notify(input)).status).toBe('sent');
    expect((await activities().notify(input)).status).toBe('already-sent');
    expect(smtp.received).toHaveLength(1);
    expect((await outbox(input.key)).attempts).toBe(3);
  });

  test('a transient refusal of the data (451) is retried; a permanent refusal (550) fails for good', async () => {
    const input = reminder();
    smtp.failData = 451;
    expect((await failureOf(activities().notify(input))).type).toBe('SmtpUnavailable');
    expect(smtp.received).toHaveLength(0);
    smtp.failData = null;
    expect((await activities().notify(input)).status).toBe('sent');
    expect(smtp.received).toHaveLength(1);

    const input2 = reminder();
    smtp.failRcpt = 550;
    const f = await failureOf(activities().notify(input2));
    expect(f.type).toBe('SmtpRejected');
    expect(f.nonRetryable).toBe(true);
    expect((await outbox(input2.key)).status).toBe('failed');
  });

  test('a failure while preparing the message (worth retrying) gives the row back: the next attempt sends it once; another message under its key is refused and takes nothing', async () => {
    const input: NotifyInput = { key: `${seed.courseId}/assess-prep/invite`, template: 'assessment-invitation', courseId: seed.courseId, clinicId: seed.clinicId, recipient: { kind: 'client' }, data: { assessmentId: `${seed.courseId}/assess-prep`, instrumentIds: 'phq9', expiresAt: new Date(Date.now() + 3 * 86400_000).toISOString() } };
    const real = createClientLinks({ db, secretKey: SECRET, publicUrl: PUBLIC_URL });
    const broken = { ...real, createClientLink: () => { throw new Error('link service unavailable'); } };
    const f = await failureOf(activities({ links: broken }).notify(input));
    expect(f.type).toBe('NotifyPrepareFailed');
    expect(f.nonRetryable).toBe(false);
    expect(f.message).not.toContain('link service unavailable');
    expect(smtp.received).toHaveLength(0);
    expect(await outbox(input.key)).toMatchObject({ status: 'pending', attempts: 1, claim_token: null, claimed_until: null, submitted_at: null });

    // The same key for another message while the row waits: refused, and the row is left as it was.
    const other = await failureOf(activities().notify({ ...input, template: 'course-notice', recipient: { kind: 'role', role: 'coordinator' }, data: { subjectKey: 'course-ended' } }));
    expect(other.type).toBe('NotifyKeyConflict');
    expect(await outbox(input.key)).toMatchObject({ status: 'pending', attempts: 1, claim_token: null });

    expect((await activities().notify(input)).status).toBe('sent');
    expect((await activities().notify(input)).status).toBe('already-sent');
    expect(smtp.received).toHaveLength(1);
    expect(await outbox(input.key)).toMatchObject({ status: 'sent', attempts: 2, claim_token: null });
  });

  test('a key reused for a different message is refused', async () => {
    const input = reminder();
    await activities().notify(input);
    const f = await failureOf(activities().notify({ ...input, template: 'course-notice', recipient: { kind: 'role', role: 'coordinator' }, data: { subjectKey: 'course-ended' } }));
    expect(f.type).toBe('NotifyKeyConflict');
  });
});

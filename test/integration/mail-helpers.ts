// Helpers for the mail integration tests: a real SMTP server on loopback (smtp-server) whose received
// messages are parsed with mailparser, fault switches for it, and seed rows for a clinic with staff,
// a client and a course. Not a test file (no .int.test.ts suffix).
import crypto from 'node:crypto';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { createDb, type Db } from '../../src/db/connect';
import { findForbiddenTerms } from '../../src/mail/guard';

export function testDatabaseUrl(): string {
  const url = process.env.KAP_TEST_DATABASE_URL;
  if (!url) throw new Error('integration harness not started (run through jest --selectProjects integration)');
  return url;
}

/**
 * One connection on the embedded PGlite (it serves one at a time), a few on a real server. Waits
 * until the database answers: the embedded server refuses a new connection for a moment after the
 * previous one (global setup's migration) closed.
 */
export async function openTestDb(): Promise<Db> {
  const t0 = Date.now();
  for (;;) {
    const db = createDb({ url: testDatabaseUrl(), poolMax: process.env.DATABASE_URL ? 4 : 1 });
    try {
      await db.selectNoFrom((eb) => eb.lit(1).as('ok')).execute();
      return db;
    } catch (err) {
      await db.destroy().catch(() => undefined);
      if (Date.now() - t0 > 15_000) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export interface Received {
  envelopeFrom: string | null;
  envelopeTo: string[];
  raw: Buffer;
  parsed: ParsedMail;
}

export interface TestSmtp {
  port: number;
  url: string;
  received: Received[];
  /** Refuse connections (the server stops listening). */
  down(): Promise<void>;
  /** Listen again on the same port. */
  up(): Promise<void>;
  /** The next message(s) get this reply to RCPT TO (e.g. 550) or to the data (e.g. 451). */
  failRcpt: number | null;
  failData: number | null;
  /** Called when a client connects, before the greeting: a test can hold or observe the connection. */
  onConnect: (() => Promise<void> | void) | null;
  /** Called when the message data has arrived, before the server replies 250. */
  onData: ((r: Received) => Promise<void> | void) | null;
  stop(): Promise<void>;
}

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

export async function startTestSmtp(port = 0): Promise<TestSmtp> {
  let server: SMTPServer | undefined;
  const t: TestSmtp = {
    port,
    url: '',
    received: [],
    failRcpt: null,
    failData: null,
    onConnect: null,
    onData: null,
    async down() {
      const s = server;
      server = undefined;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    async up() {
      server = create();
      await new Promise<void>((resolve, reject) => {
        server!.server.once('error', reject);
        server!.listen(t.port, '127.0.0.1', () => resolve());
      });
      t.port = (server.server.address() as { port: number }).port;
      t.url = `smtp://127.0.0.1:${t.port}`;
    },
    async stop() {
      await t.down();
    },
  };
  function create(): SMTPServer {
    return new SMTPServer({
      disabledCommands: ['AUTH', 'STARTTLS'],
      authOptional: true,
      logger: false,
      onConnect(_session, cb) {
        Promise.resolve(t.onConnect?.()).then(() => cb(), (err: Error) => cb(err));
      },
      onRcptTo(addr, _session, cb) {
        // Like a real relay, the refusal names the recipient: it must stay out of Temporal (failure-scrub test).
        if (t.failRcpt) return cb(smtpError(t.failRcpt, `<${addr.address}>: mailbox unavailable (test)`));
        cb();
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', async () => {
          if (t.failData) return cb(smtpError(t.failData, 'try again later (test)'));
          const raw = Buffer.concat(chunks);
          const r: Received = {
            envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
            envelopeTo: session.envelope.rcptTo.map((a) => a.address),
            raw,
            parsed: await simpleParser(raw),
          };
          t.received.push(r);
          try {
            await t.onData?.(r);
            cb(null, `Ok: queued as T${t.received.length}` as never);
          } catch (err) {
            cb(err as Error);
          }
        });
      },
    });
  }
  await t.up();
  return t;
}

/** Every forbidden term anywhere in a delivered message: subject, text, HTML, attachments and their names. */
export function clinicalTermsIn(m: ParsedMail): string[] {
  const parts = [m.subject ?? '', m.text ?? '', typeof m.html === 'string' ? m.html : '', ...m.attachments.flatMap((a) => [a.filename ?? '', a.content.toString('utf8')])];
  return [...new Set(parts.flatMap(findForbiddenTerms))];
}

export interface Seeded {
  clinicId: string;
  otherClinicId: string;
  clientId: string;
  clientEmail: string;
  courseId: string;
  staff: { coordinator: string; prescriber: string; therapist: string; admin: string; inactivePrescriber: string; otherClinicPrescriber: string };
  emails: Record<string, string>;
}

/** A clinic with staff in each role (one inactive, one in another clinic), a client and an open course. */
export async function seedClinic(db: Db, opts: { clinicName?: string; clientGivenName?: string; roles?: Array<'coordinator' | 'prescriber' | 'therapist' | 'admin'> } = {}): Promise<Seeded> {
  const s = crypto.randomBytes(4).toString('hex');
  const clinicId = `clinic-${s}`;
  const otherClinicId = `clinic-${s}-other`;
  await db.insertInto('clinics').values([{ id: clinicId, name: opts.clinicName ?? 'Riverside Wellness', timezone: 'America/New_York' }, { id: otherClinicId, name: 'Elsewhere', timezone: 'UTC' }]).execute();
  const roles = opts.roles ?? ['coordinator', 'prescriber', 'therapist', 'admin'];
  const emails: Record<string, string> = {};
  const staff: Record<string, string> = {};
  const add = async (key: string, role: 'coordinator' | 'prescriber' | 'therapist' | 'admin', clinic: string, active = true) => {
    const id = `staff-${s}-${key}`;
    emails[key] = `${key}.${s}@clinic.test`;
    staff[key] = id;
    await db.insertInto('staff').values({ id, email: emails[key]!, display_name: key, role, active }).execute();
    await db.insertInto('staff_clinics').values({ staff_id: id, clinic_id: clinic }).execute();
  };
  for (const r of roles) await add(r, r, clinicId);
  await add('inactivePrescriber', 'prescriber', clinicId, false);
  await add('otherClinicPrescriber', 'prescriber', otherClinicId);
  const clientId = `client-${s}`;
  const clientEmail = `alex.${s}@client.test`;
  await db.insertInto('clients').values({ id: clientId, clinic_id: clinicId, given_name: opts.clientGivenName ?? 'Alex', family_name: 'Doe', email: clientEmail, phone: null, date_of_birth: null, external_ref: null }).execute();
  const courseId = `course-${s}`;
  await db
    .insertInto('courses')
    .values({ id: courseId, client_id: clientId, clinic_id: clinicId, workflow_id: `wf-${courseId}`, protocol_id: 'kap-office', protocol_version: 1, protocol_snapshot: JSON.stringify({}), current_step: null, current_step_deadline: null, primary_clinician_id: null, ended_at: null, end_reason: null })
    .execute();
  return { clinicId, otherClinicId, clientId, clientEmail, courseId, staff: staff as Seeded['staff'], emails };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v as T;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

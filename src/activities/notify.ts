// The `notify` activity: one email per key, ever.
//
// 1. The outbox row is inserted keyed by the workflow's deterministic key, already claimed (`sending`,
//    a claim token, a lease), in one statement; an existing row for the same message is claimed by the
//    same statement only if it is `pending` or a crashed attempt's expired claim that had not started
//    handing the message over. A row already `sent` (or finally failed) ends the activity: retries and
//    replays send nothing. One attempt at a time may send: a concurrent attempt (Temporal retried after
//    a timeout while the first still runs) finds a live lease and fails retryably; it gets the row only
//    if the lease expires. The lease decides only how soon a crashed attempt's email goes out (DEFAULT_LEASE_MS);
//    exactly once rests on the claim token, which step 3 checks before the message is handed over.
// 2. Recipients are resolved from the database (workflows never hold addresses), the message is
//    rendered, and a client-facing message passes the clinical-detail guard or is `blocked`. A failure
//    worth retrying puts the row back to `pending`.
// 3. The SMTP conversation opens (connect, EHLO, AUTH); only then, before one byte of the message is
//    handed over, the row records `submitted_at` (src/mail/mailer.ts awaits this hook).
// 4. After the server's 250, the row becomes `sent` with the provider's reply, and an `email.sent`
//    audit entry is written, in one transaction.
//
// Failure handling:
// - SMTP down, 4xx, a drop before the message data: nothing was delivered; the claim is released and
//   a retryable failure lets Temporal's activity retry back off. Delivered once after recovery.
// - 5xx refusal: `failed`, non-retryable (SmtpRejected).
// - A crash (worker killed) before `submitted_at`: the lease expires and a retry sends. Correct.
// - THE RESIDUAL WINDOW: a crash after `submitted_at`, i.e. while the server receives the data or
//   between its 250 and our record, or a connection that drops after the data without a reply.
//   Whether the message was delivered is unknowable from here (SMTP's own ambiguity, RFC 1047).
//   We choose never to send twice: the next attempt marks the row `uncertain`, writes an
//   `email.uncertain` audit entry, and returns { status: 'uncertain' } without sending. The outbox
//   page lists uncertain rows for a person to check the relay's log and resend by hand if needed.
//   The window is the data transfer plus one UPDATE (milliseconds), not the whole SMTP dialogue.
//   Every message carries a Message-ID derived from the key, so even a manual resend is recognisable.
//
// Permanent failures (blocked, no recipient, bad template data, SMTP 5xx) throw non-retryable
// ApplicationFailures with a type naming the cause; workflows should catch an ActivityFailure from
// notify and carry on (the outbox row and the audit trail record what happened).
//
// A failure's message reaches Temporal's history (and the pending activity that the stuck board
// shows), where it is not a place for client data: an SMTP server's refusal names the recipient's
// address, the clinical-detail guard quotes what it found. So every failure that follows an outbox row
// says only `<code>: outbox <key>` (failureMessage below); the full text stays in PostgreSQL, in the
// row's last_error, for the outbox page.
import crypto from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { sql } from 'kysely';
import type { Db } from '../db/connect';
import { appendAudit, auditInsert } from '../db/audit';
import type { OutboxRow } from '../db/schema';
import type { Logger } from '../log';
import { assertClientSafe, ClinicalDetailError } from '../mail/guard';
import { addressOf, createMemoryMailer, domainOf, type Mailer, MailSendError, messageIdForKey } from '../mail/mailer';
import { createSandboxMailer, sandboxLookup } from '../mail/sandbox';
import type { MailSettings } from '../mail/setup';
import { type Audience, renderMessage, TemplateError } from '../mail/templates';
import { type ClientLinks, createClientLinks } from '../security/client-links';
import { createAuditActivities } from './audit';
import type { MessageTemplate, NotifyInput, Recipient } from './contracts';

export type NotifyStatus = 'sent' | 'already-sent' | 'uncertain';

export interface NotifyResult {
  key: string;
  status: NotifyStatus;
  messageId: string;
}

export interface NotifyDeps {
  db: Db;
  mailer: Mailer;
  links: ClientLinks;
  /** Base URL of the dashboard, for links in staff email. */
  publicUrl: string;
  log?: Logger;
  /** How long a claim holds the row (DEFAULT_LEASE_MS). */
  leaseMs?: number;
  /** Test seam: runs after the server accepted the message and before it is recorded. */
  afterSend?: (key: string) => Promise<void> | void;
  /** How many first attempts may run as local activities at once in this process (default 2; below). */
  localAttemptsAtOnce?: number;
}

/** The type of the failure that hands a local first attempt to the regular activity at once. */
export const NOTIFY_DEFERRED = 'NotifyDeferred';

/** Whether this call runs as a local activity (an invitation's first attempt); false outside an activity. */
function runsAsLocalActivity(): boolean {
  try {
    return Context.current().info.isLocal;
  } catch {
    return false;
  }
}

const TEMPLATES: ReadonlySet<MessageTemplate> = new Set(['appointment-reminder', 'assessment-invitation', 'assessment-reminder', 'safety-alert', 'step-escalation', 'course-notice']);

const permanent = (message: string, type: string) => ApplicationFailure.nonRetryable(message, type);

/** What history may hold about a failed message: a code and the outbox row's key, never an address or a server's text. */
export function failureMessage(code: string, key: string, extra?: string): string {
  return `${code}: outbox ${key}${extra ? ` (${extra})` : ''}`;
}

/** Marks (in last_error) a message sent to the clinic's admins because nobody active held its role: the stuck board lists such safety alerts. */
export const NOBODY_IN_ROLE = 'nobody active in role';

/** A message's clinic, and its course and client where they exist (left joins). */
interface RecipientRow {
  name: string;
  timezone: string;
  client_id: string | null;
  clinic_id: string | null;
  email: string | null;
  given_name: string | null;
}

interface Resolved {
  /** Set when the role had nobody and the clinic's admins got the message instead. */
  note?: string;
  audience: Audience;
  to: string[];
  clientId: string | null;
  staffIds: string[];
  recipientName: string | null;
  clinic: { name: string; timezone: string };
}

/**
 * How long a claim holds its outbox row: the delay before a retry may send the email of an attempt
 * whose worker died holding the claim (a safety alert's too). It is not what keeps an email from going
 * twice: an attempt still alive past its lease, whose row another attempt has claimed, finds its claim
 * token gone when it records `submitted_at` and hands nothing over (test/integration/mail-notify.int.test.ts,
 * "lease ran out"). So the lease only needs to outlast what Temporal itself waits before it retries a
 * live attempt (the activity's 30 s start-to-close timeout) so healthy attempts are not taken over; with
 * the retry's backoff (1, 2, 4, 8 s…) a crashed attempt's email goes out about 45 s after the crash
 * (with 2 minutes, as before, about 2.5: the cluster chaos test measured it, docs/performance.md).
 */
export const DEFAULT_LEASE_MS = 40_000;

export function createNotifyActivities(deps: NotifyDeps) {
  const { db, mailer, log } = deps;
  // A rehearsal's sandbox clinic: its mail is stored on this machine, never sent (src/mail/sandbox.ts).
  const isSandbox = sandboxLookup(db);
  const sandboxMailer = createSandboxMailer(db, mailer.from);
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const domain = domainOf(mailer.from);
  const base = deps.publicUrl.replace(/\/+$/, '');

  /** Clinic, course and client in one round trip (the claim below reads the same row in its own statement). */
  async function readRecipientRow(input: NotifyInput): Promise<RecipientRow | undefined> {
    return db
      .selectFrom('clinics as cl')
      .leftJoin('courses as co', (join) => join.on('co.id', '=', input.courseId))
      .leftJoin('clients as c', (join) => join.onRef('c.id', '=', 'co.client_id').on('c.clinic_id', '=', input.clinicId))
      .select(['cl.name', 'cl.timezone', 'co.client_id', 'co.clinic_id', 'c.email', 'c.given_name'])
      .where('cl.id', '=', input.clinicId)
      .executeTakeFirst();
  }

  /** The recipients of a message, from its clinic/course/client row (undefined: no such clinic). */
  async function resolve(input: NotifyInput, prefetched?: { row: RecipientRow | undefined }): Promise<Resolved> {
    const found = prefetched ? prefetched.row : await readRecipientRow(input);
    if (!found) throw permanent(`clinic ${input.clinicId} not found`, 'NoRecipient');
    const clinic = { name: found.name, timezone: found.timezone };
    const course = found.client_id !== null && found.clinic_id !== null ? { client_id: found.client_id, clinic_id: found.clinic_id } : undefined;
    if (course && course.clinic_id !== input.clinicId) throw permanent(`course ${input.courseId} is not in clinic ${input.clinicId}`, 'NoRecipient');
    const r: Recipient = input.recipient;
    if (r.kind === 'client') {
      if (!course) throw permanent(`course ${input.courseId} not found`, 'NoRecipient');
      if (!found.email) throw permanent(`no email address for the client of course ${input.courseId}`, 'NoRecipient');
      return { audience: 'client', to: [found.email], clientId: course.client_id, staffIds: [], recipientName: found.given_name, clinic };
    }
    // Staff: only active staff who belong to the course's clinic.
    const inClinic = db
      .selectFrom('staff')
      .innerJoin('staff_clinics', 'staff_clinics.staff_id', 'staff.id')
      .select(['staff.id', 'staff.email'])
      .where('staff_clinics.clinic_id', '=', input.clinicId)
      .where('staff.active', '=', true);
    let staff =
      r.kind === 'staff' ? await inClinic.where('staff.id', '=', r.staffId).execute() : await inClinic.where('staff.role', '=', r.role).orderBy('staff.id').execute();
    let note: string | undefined;
    if (staff.length === 0 && r.kind === 'role' && r.role !== 'admin') {
      // Nobody holds the role in this clinic: the clinic's admins hear about it rather than nobody.
      staff = await inClinic.where('staff.role', '=', 'admin').orderBy('staff.id').execute();
      note = `${NOBODY_IN_ROLE} ${r.role} in clinic ${input.clinicId}: sent to the clinic's admins instead`;
    }
    if (staff.length === 0) {
      throw permanent(`no active staff ${r.kind === 'staff' ? r.staffId : `with role ${r.role}`} in clinic ${input.clinicId}`, 'NoRecipient');
    }
    return { audience: 'staff', to: staff.map((s) => s.email), clientId: course?.client_id ?? null, staffIds: staff.map((s) => s.id), recipientName: null, clinic, ...(note ? { note } : {}) };
  }

  async function readRow(key: string): Promise<OutboxRow> {
    return db.selectFrom('email_outbox').selectAll().where('key', '=', key).executeTakeFirstOrThrow();
  }

  async function auditOutcome(row: Pick<OutboxRow, 'key' | 'template' | 'clinic_id' | 'course_id' | 'message_id' | 'recipient_kind' | 'recipient_ref'>, action: string, extra: Record<string, unknown>, clientId: string | null) {
    await appendAudit(db, {
      actor: { type: 'system', id: null },
      action,
      clinicId: row.clinic_id,
      clientId,
      courseId: row.course_id,
      eventKey: `${action}:${row.key}`,
      detail: { key: row.key, template: row.template, messageId: row.message_id, recipientKind: row.recipient_kind, recipientRef: row.recipient_ref, ...extra },
    });
  }

  /** Terminal states end the activity; a live claim by another attempt is retryable. */
  async function settle(row: OutboxRow): Promise<NotifyResult | null> {
    switch (row.status) {
      case 'sent':
        return { key: row.key, status: 'already-sent', messageId: row.message_id };
      case 'uncertain':
        return { key: row.key, status: 'uncertain', messageId: row.message_id };
      case 'blocked':
        throw permanent(failureMessage('clinical-detail-blocked', row.key), 'ClinicalDetailInMessage');
      case 'failed':
        throw permanent(failureMessage('notify-failed', row.key), 'NotifyFailed');
      default:
        return null;
    }
  }

  async function markFinal(key: string, status: 'blocked' | 'failed', error: string) {
    await db
      .updateTable('email_outbox')
      .set({ status, last_error: error.slice(0, 1000), claim_token: null, claimed_until: null, updated_at: sql`now()` })
      .where('key', '=', key)
      .where('status', '<>', 'sent')
      .execute();
  }

  /** Back to `pending` for the next attempt (nothing was handed over); the lease ends the claim by itself if the database is down too. */
  async function releaseClaim(key: string, claimToken: string, err: unknown) {
    await db
      .updateTable('email_outbox')
      .set({ status: 'pending', claim_token: null, claimed_until: null, submitted_at: null, last_error: String(err instanceof Error ? err.message : err).slice(0, 1000), updated_at: sql`now()` })
      .where('key', '=', key)
      .where('claim_token', '=', claimToken)
      .execute()
      .catch(() => undefined);
  }

  /** A crashed attempt's expired claim that had started handing over the message: never resend. */
  async function takeOverUncertain(key: string, clientId: string | null): Promise<NotifyResult | null> {
    const row = await db
      .updateTable('email_outbox')
      .set({ status: 'uncertain', claim_token: null, claimed_until: null, last_error: 'an attempt stopped after handing the message to the SMTP server and before recording the reply; not resent', updated_at: sql`now()` })
      .where('key', '=', key)
      .where('status', '=', 'sending')
      .where('submitted_at', 'is not', null)
      .where('claimed_until', '<', sql<Date>`now()`)
      .returningAll()
      .executeTakeFirst();
    if (!row) return null;
    log?.warn({ key, messageId: row.message_id }, 'email delivery uncertain after a crashed attempt; not resent');
    await auditOutcome(row, 'email.uncertain', {}, clientId);
    return { key, status: 'uncertain', messageId: row.message_id };
  }

  // A local activity holds a local-activity slot, and its workflow task, for as long as it runs: the
  // slots the course's projections (every staff action's answer) need too. A slow or hung relay must
  // not hold them all (the regular activity has slots of its own for that), so only this many first
  // attempts run at once; the next one fails at once, before its outbox row, and is handed to the
  // regular activity (src/activities/first-attempts.ts: the projection's local activity runs an
  // invitation's first attempt). An attempt past FIRST_ATTEMPT_MS still counts until its send returns.
  const localAttemptsAtOnce = deps.localAttemptsAtOnce ?? 2;
  let localInFlight = 0;

  async function notify(input: NotifyInput): Promise<NotifyResult> {
    if (!runsAsLocalActivity()) return send(input);
    if (localInFlight >= localAttemptsAtOnce) throw ApplicationFailure.retryable(`notify-deferred: ${localInFlight} local attempts in flight`, NOTIFY_DEFERRED);
    localInFlight++;
    try {
      return await send(input);
    } finally {
      localInFlight--;
    }
  }

  async function send(input: NotifyInput): Promise<NotifyResult> {
    if (!input?.key || input.key.length > 300) throw permanent('key is required (at most 300 characters)', 'InvalidNotifyInput');
    if (!TEMPLATES.has(input.template)) throw permanent(`unknown template ${String(input.template)}`, 'InvalidNotifyInput');
    const r = input.recipient;
    if (!r || !['client', 'staff', 'role'].includes(r.kind)) throw permanent('recipient is required', 'InvalidNotifyInput');
    const messageId = messageIdForKey(input.key, domain);

    // 1. The row, once per key, and the claim on it, in one statement: a new row is inserted claimed
    //    (`sending`, a claim token, a lease); an existing one for the same message is claimed if it is
    //    `pending` or a crashed attempt's expired claim that had not started handing the message over.
    //    Nothing comes back when the row is settled, held by a live claim, or was made for another message.
    //    The same statement reads the message's clinic, course and client (the recipients, step 2):
    //    one round trip fewer for every email. Those tables are not written here, so reading them in
    //    the statement's snapshot is reading them just before the claim, as a separate query would.
    const claimToken = crypto.randomUUID();
    const lease = sql<Date>`now() + ${leaseMs} * interval '1 millisecond'`;
    const claimedWithRecipient = await db
      .with('claimed', (qc) =>
        qc
          .insertInto('email_outbox')
          .values({
            key: input.key,
            template: input.template,
            course_id: input.courseId,
            clinic_id: input.clinicId,
            recipient_kind: r.kind,
            recipient_ref: r.kind === 'staff' ? r.staffId : r.kind === 'role' ? r.role : null,
            audience: r.kind === 'client' ? 'client' : 'staff',
            message_id: messageId,
            data: JSON.stringify(input.data ?? {}),
            status: 'sending',
            claim_token: claimToken,
            claimed_until: lease,
            attempts: 1,
          })
          .onConflict((oc) =>
            oc
              .column('key')
              .doUpdateSet({ status: 'sending', claim_token: claimToken, claimed_until: lease, attempts: sql<number>`email_outbox.attempts + 1`, submitted_at: null, updated_at: sql`now()` })
              .where((eb) =>
                eb.and([
                  eb('email_outbox.template', '=', input.template),
                  eb('email_outbox.course_id', '=', input.courseId),
                  eb('email_outbox.recipient_kind', '=', r.kind),
                  eb.or([eb('email_outbox.status', '=', 'pending'), eb.and([eb('email_outbox.status', '=', 'sending'), eb('email_outbox.submitted_at', 'is', null), eb('email_outbox.claimed_until', '<', sql<Date>`now()`)])]),
                ]),
              ),
          )
          .returningAll(),
      )
      .selectFrom('claimed')
      .leftJoin('clinics as cl', (join) => join.on('cl.id', '=', input.clinicId))
      .leftJoin('courses as co', (join) => join.on('co.id', '=', input.courseId))
      .leftJoin('clients as c', (join) => join.onRef('c.id', '=', 'co.client_id').on('c.clinic_id', '=', input.clinicId))
      .selectAll('claimed')
      .select(['cl.name as r_clinic_name', 'cl.timezone as r_clinic_timezone', 'co.client_id as r_course_client_id', 'co.clinic_id as r_course_clinic_id', 'c.email as r_client_email', 'c.given_name as r_client_given_name'])
      .executeTakeFirst();
    if (!claimedWithRecipient) {
      const row = await readRow(input.key);
      if (row.template !== input.template || row.course_id !== input.courseId || row.recipient_kind !== r.kind) {
        throw permanent(`key ${input.key} was already used for a different message (${row.template} to ${row.recipient_kind})`, 'NotifyKeyConflict');
      }
      const done = await settle(row);
      if (done) return done;
      // A crashed attempt's claim that had started handing the message over: never resend.
      const clientId = row.submitted_at ? await resolve(input).then((x) => x.clientId, () => null) : null;
      const uncertain = await takeOverUncertain(input.key, clientId);
      if (uncertain) return uncertain;
      const again = await readRow(input.key);
      const settled = await settle(again);
      if (settled) return settled;
      throw ApplicationFailure.retryable(failureMessage('notify-in-progress', input.key, `claim held until ${again.claimed_until?.toISOString()}`), 'NotifyInProgress');
    }
    const { r_clinic_name, r_clinic_timezone, r_course_client_id, r_course_clinic_id, r_client_email, r_client_given_name, ...claimed } = claimedWithRecipient;
    const row: OutboxRow = claimed;
    const recipientRow: RecipientRow | undefined =
      r_clinic_name === null || r_clinic_timezone === null
        ? undefined
        : { name: r_clinic_name, timezone: r_clinic_timezone, client_id: r_course_client_id, clinic_id: r_course_clinic_id, email: r_client_email, given_name: r_client_given_name };

    // 2. Recipients, rendering and the guard. A failure here ends the claim: a final row for a
    //    permanent one, the row back to `pending` for one worth retrying (the lease ends it otherwise).
    let resolved: Resolved;
    let rendered: ReturnType<typeof renderMessage>;
    // Signed link tokens are random base64url: one can spell "…5mg" or "phq…" by chance. The guard
    // reads the message with them blanked out (the rest of each URL is still read).
    const tokens: string[] = [];
    const blankTokens = (text: string) => tokens.reduce((t, token) => t.split(token).join('link-token'), text);
    try {
      resolved = await resolve(input, { row: recipientRow });
      rendered = renderMessage(input.template, {
        audience: resolved.audience,
        key: input.key,
        courseId: input.courseId,
        data: input.data ?? {},
        clinic: resolved.clinic,
        recipientName: resolved.recipientName,
        courseUrl: resolved.clientId ? `${base}/clients/${encodeURIComponent(resolved.clientId)}` : base,
        domain,
        fromAddress: addressOf(mailer.from),
        createdAt: row.created_at,
        assessmentLink: (assessmentId, expiresAt) => {
          const link = deps.links.createClientLink({ assessmentId, expiresAt });
          tokens.push(link.token);
          return link.url;
        },
      });
      if (resolved.audience === 'client') {
        assertClientSafe({
          subject: blankTokens(rendered.subject),
          text: blankTokens(rendered.text),
          html: blankTokens(rendered.html),
          ...Object.fromEntries(rendered.attachments.flatMap((a, i) => [[`attachment${i}.name`, a.filename], [`attachment${i}`, blankTokens(String(a.content))]])),
        });
      }
    } catch (err) {
      if (err instanceof ClinicalDetailError) {
        await markFinal(input.key, 'blocked', err.message);
        await auditOutcome(row, 'email.blocked', { terms: err.terms }, null);
        log?.error({ key: input.key, template: input.template, terms: err.terms }, 'client email blocked: clinical detail');
        throw permanent(failureMessage('clinical-detail-blocked', input.key), 'ClinicalDetailInMessage');
      }
      if (err instanceof TemplateError) {
        await markFinal(input.key, 'failed', err.message);
        throw permanent(failureMessage('template-error', input.key), 'TemplateError');
      }
      if (err instanceof ApplicationFailure && err.nonRetryable) {
        await markFinal(input.key, 'failed', err.message);
        await auditOutcome(row, 'email.failed', { reason: err.type }, null);
        throw permanent(failureMessage(err.type === 'NoRecipient' ? 'no-recipient' : 'notify-failed', input.key), err.type ?? 'NotifyFailed');
      }
      // Anything else (the database, a bug) is retried; its text stays in the worker's log.
      await releaseClaim(input.key, claimToken, err);
      log?.warn({ key: input.key, err: err instanceof Error ? err.name : typeof err }, 'email not prepared; will retry');
      throw ApplicationFailure.retryable(failureMessage('notify-prepare-failed', input.key, err instanceof Error ? err.name : undefined), 'NotifyPrepareFailed');
    }

    // 3. Send; the row records the hand-over before the message data goes out, if the claim is still ours.
    let result;
    let claimLost = false;
    try {
      result = await ((await isSandbox(claimed.clinic_id)) ? sandboxMailer : mailer).send(
        {
          to: resolved.to,
          subject: rendered.subject,
          text: rendered.text,
          html: rendered.html,
          messageId,
          date: claimed.created_at,
          attachments: rendered.attachments,
          headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' },
        },
        {
          beforeData: async () => {
            const marked = await db
              .updateTable('email_outbox')
              .set({ submitted_at: sql`now()`, updated_at: sql`now()` })
              .where('key', '=', input.key)
              .where('claim_token', '=', claimToken)
              .where('status', '=', 'sending')
              .executeTakeFirst();
            if (Number(marked.numUpdatedRows) !== 1) {
              claimLost = true;
              throw new Error('claim lost before the message was handed over');
            }
          },
        },
      );
    } catch (err) {
      if (err instanceof MailSendError && err.ambiguous) {
        // The data may have reached the server: same rule as a crash in the window, never resend.
        await db
          .updateTable('email_outbox')
          .set({ status: 'uncertain', claim_token: null, claimed_until: null, last_error: `connection lost after the message data: ${err.message}`.slice(0, 1000), updated_at: sql`now()` })
          .where('key', '=', input.key)
          .where('claim_token', '=', claimToken)
          .execute();
        await auditOutcome(claimed, 'email.uncertain', { error: err.code ?? null }, resolved.clientId);
        log?.warn({ key: input.key, messageId, code: err.code }, 'email delivery uncertain: connection lost after the data');
        return { key: input.key, status: 'uncertain', messageId };
      }
      if (err instanceof MailSendError && err.permanent) {
        await markFinal(input.key, 'failed', `SMTP ${err.responseCode}: ${err.message}`);
        await auditOutcome(claimed, 'email.failed', { smtp: err.responseCode ?? null }, resolved.clientId);
        log?.error({ key: input.key, messageId, smtp: err.responseCode }, 'email refused by the SMTP server');
        throw permanent(failureMessage('smtp-refused', input.key, err.responseCode ? `SMTP ${err.responseCode}` : undefined), 'SmtpRejected');
      }
      if (claimLost) {
        // This attempt outlived its lease and another claimed the row: that one sends. A retry of this
        // attempt finds the row settled (or still claimed, and waits).
        log?.warn({ key: input.key }, 'email claim taken over by another attempt before the hand-over; not sent by this one');
        throw ApplicationFailure.retryable(failureMessage('notify-claim-lost', input.key), 'NotifyClaimLost');
      }
      // Nothing was delivered: release the claim so the next retry can take it at once.
      await releaseClaim(input.key, claimToken, err);
      log?.warn({ key: input.key, code: (err as MailSendError).code }, 'email not sent; will retry');
      const code = err instanceof MailSendError ? (err.responseCode ? `SMTP ${err.responseCode}` : err.code) : undefined;
      throw ApplicationFailure.retryable(failureMessage('smtp-unavailable', input.key, code && /^[A-Z0-9 ]{1,20}$/.test(code) ? code : undefined), 'SmtpUnavailable');
    }

    // 4. Record. Retried in place: after the 250, a lost record is the only way to an 'uncertain'.
    await deps.afterSend?.(input.key);
    let lastError: unknown;
    for (const delay of [0, 250, 1000, 3000]) {
      if (delay) await new Promise((r) => setTimeout(r, delay));
      try {
        // The row and its audit entry in one statement (one round trip, atomic).
        await auditInsert(
          db.with('sent', (qc) =>
            qc
              .updateTable('email_outbox')
              .set({
                status: 'sent',
                sent_at: sql`now()`,
                claim_token: null,
                claimed_until: null,
                to_addresses: JSON.stringify(resolved.to),
                subject: rendered.subject,
                provider_message_id: result.providerMessageId,
                provider_response: result.response.slice(0, 500),
                last_error: resolved.note ?? null,
                updated_at: sql`now()`,
              })
              .where('key', '=', input.key)
              // 'uncertain' too: if our lease ran out and another attempt marked the row, we know better now.
              .where('status', 'in', ['sending', 'uncertain'])
              .returning('key'),
          ),
          {
            actor: { type: 'system', id: null },
            action: 'email.sent',
            clinicId: input.clinicId,
            clientId: resolved.clientId,
            courseId: input.courseId,
            eventKey: `email.sent:${input.key}`,
            detail: { key: input.key, template: input.template, messageId, audience: resolved.audience, recipientKind: r.kind, staffIds: resolved.staffIds, accepted: result.accepted.length, rejected: result.rejected.length },
          },
        ).execute();
        log?.info({ key: input.key, template: input.template, messageId, recipients: resolved.to.length }, 'email sent');
        return { key: input.key, status: 'sent', messageId };
      } catch (err) {
        lastError = err;
      }
    }
    log?.error({ key: input.key, messageId, err: lastError instanceof Error ? lastError.message : String(lastError) }, 'email sent but not recorded; the retry will mark it uncertain');
    throw ApplicationFailure.retryable(failureMessage('notify-record-failed', input.key), 'NotifyRecordFailed');
  }

  return { notify };
}

/** Mail dependencies as the worker passes them (ActivityDeps): the transport and the settings. */
export interface MailActivityDeps {
  db: Db;
  /** The transport, created once; absent = an in-memory mailer (tests that never look at email). */
  mailer?: Mailer;
  mail?: MailSettings;
  /** NotifyDeps.localAttemptsAtOnce (default 2). */
  localAttemptsAtOnce?: number;
}

export function createMailActivities(deps: MailActivityDeps) {
  const mailer = deps.mailer ?? createMemoryMailer();
  const settings: MailSettings = deps.mail ?? { publicUrl: 'http://127.0.0.1:3000', secretKey: crypto.randomBytes(32).toString('hex') };
  return {
    ...createNotifyActivities({
      db: deps.db,
      mailer,
      links: createClientLinks({ db: deps.db, secretKey: settings.secretKey, publicUrl: settings.publicUrl }),
      publicUrl: settings.publicUrl,
      leaseMs: settings.leaseMs,
      log: settings.log,
      afterSend: settings.afterSend,
      ...(deps.localAttemptsAtOnce !== undefined ? { localAttemptsAtOnce: deps.localAttemptsAtOnce } : {}),
    }),
    ...createAuditActivities({ db: deps.db }),
  };
}

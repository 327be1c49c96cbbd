// The email checks of a chaos run (chaos/checks.ts gathers the inputs): what the histories asked
// `notify` for, against the outbox rows and what the SMTP sink received. Pure, so that each rule has a
// test that makes it fail (test/unit/chaos/email-checks.test.ts).
import { defaultPayloadConverter, type PayloadCodec } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';

export interface Problem {
  kind: string;
  courseId?: string;
  key?: string;
  detail: string;
}

export interface OutboxRowForCheck {
  key: string;
  status: string;
  message_id: string;
  course_id: string | null;
  template: string;
  data: unknown;
  claim_token: string | null;
  claimed_until: Date | null;
  last_error: string | null;
  /** claimed_until has passed (by the database's clock). */
  lease_over: boolean;
}

export interface EmailReport {
  /** Distinct notify keys the histories asked for. */
  requested: number;
  outboxRows: number;
  sent: number;
  uncertain: number;
  /** Uncertain rows the sink received exactly once. */
  uncertainDelivered: number;
  /** Uncertain rows not received, with the reason they were not resent (last_error) and their email.uncertain audit entry. */
  uncertainRecorded: number;
  /** Uncertain rows neither delivered exactly once nor recorded with a reason: must be 0. */
  uncertainUnaccounted: number;
  failedOrBlocked: number;
  /** failed / blocked rows the run did not expect (it expects none): must be 0. */
  failedOrBlockedUnexpected: number;
  /** Rows with no course, assessment or notify request they belong to, or still claimed past their lease after the drain: must be 0. */
  orphans: number;
  unsettled: number;
  received: number;
  missing: number;
  duplicated: number;
  unexpected: number;
}

export function emptyEmailReport(received: number): EmailReport {
  return { requested: 0, outboxRows: 0, sent: 0, uncertain: 0, uncertainDelivered: 0, uncertainRecorded: 0, uncertainUnaccounted: 0, failedOrBlocked: 0, failedOrBlockedUnexpected: 0, orphans: 0, unsettled: 0, received, missing: 0, duplicated: 0, unexpected: 0 };
}

/**
 * Outbox keys that may end `failed` or `blocked` in a chaos run: none. The sink accepts every message
 * and the population's messages carry nothing the clinical-detail guard stops, so any final failure is
 * a finding (e.g. docs/chaos.md finding 7). A profile that provokes one on purpose lists its key here.
 */
export const EXPECTED_FINAL_FAILURES: RegExp[] = [];

export interface EmailCheckInput {
  outbox: OutboxRowForCheck[];
  /** notify keys scheduled in any history, and those whose activity completed. */
  scheduled: Set<string>;
  completed: Set<string>;
  /** How many times the sink received each Message-ID. */
  sinkCounts: Map<string, number>;
  courseIds: Set<string>;
  /** `<courseId>/<stepKey>` of every assessment form with rows. */
  formIds: Set<string>;
  /** event_key of every email.uncertain audit entry (`email.uncertain:<key>`). */
  uncertainAudit: Set<string | null>;
  expectedFailures?: RegExp[];
}

export function checkEmails(input: EmailCheckInput, r: EmailReport, problems: Problem[]): void {
  const { outbox, scheduled, completed, sinkCounts } = input;
  const expected = input.expectedFailures ?? EXPECTED_FINAL_FAILURES;
  r.requested = scheduled.size;
  r.outboxRows = outbox.length;
  const outboxByKey = new Map(outbox.map((o) => [o.key, o]));
  for (const key of scheduled) {
    const o = outboxByKey.get(key);
    if (!o) {
      r.missing++;
      problems.push({ kind: 'email-no-outbox-row', key, detail: 'notify scheduled in a history, no outbox row' });
    } else if (completed.has(key) && o.status !== 'sent' && o.status !== 'uncertain') {
      r.missing++;
      problems.push({ kind: 'email-completed-not-sent', key, detail: `notify completed, outbox row ${o.status}` });
    }
  }
  const known = new Set<string>();
  for (const o of outbox) {
    known.add(o.message_id);
    // Orphans: a row must belong to a course, to the assessment it names, and to a notify some history
    // asked for; and after the drain no row may still hold a claim whose lease has run out.
    const data = (o.data ?? {}) as { assessmentId?: unknown };
    const orphan =
      !o.course_id || !input.courseIds.has(o.course_id)
        ? `course ${o.course_id ?? '(none)'} not in courses`
        : typeof data.assessmentId === 'string' && !input.formIds.has(data.assessmentId)
          ? `assessment ${data.assessmentId} has no rows`
          : !scheduled.has(o.key)
            ? 'no history asked for it'
            : (o.status === 'sending' || o.claim_token !== null) && o.lease_over
              ? `still ${o.status}, claimed past its lease (${o.claimed_until?.toISOString()}) after the drain`
              : null;
    if (orphan) {
      r.orphans++;
      problems.push({ kind: 'email-outbox-orphan', key: o.key, detail: `${o.template} row ${o.status}: ${orphan}` });
    }
    const n = sinkCounts.get(o.message_id) ?? 0;
    switch (o.status) {
      case 'sent':
        r.sent++;
        if (n === 0) {
          r.missing++;
          problems.push({ kind: 'email-sent-not-received', key: o.key, detail: o.message_id });
        }
        if (n > 1) {
          r.duplicated += n - 1;
          problems.push({ kind: 'email-received-twice', key: o.key, detail: `${o.message_id} x${n}` });
        }
        break;
      case 'uncertain': {
        // Accounted for: delivered exactly once, or not delivered and recorded (the reason it was not
        // resent in last_error, and the email.uncertain audit entry a person works from).
        r.uncertain++;
        const audited = input.uncertainAudit.has(`email.uncertain:${o.key}`);
        if (n === 1) r.uncertainDelivered++;
        else if (n === 0 && o.last_error && audited) r.uncertainRecorded++;
        else {
          r.uncertainUnaccounted++;
          problems.push({ kind: 'email-uncertain-unaccounted', key: o.key, detail: `uncertain row, received x${n}, reason ${o.last_error ? 'recorded' : 'missing'}, audit entry ${audited ? 'present' : 'missing'}` });
        }
        if (n > 1) {
          r.duplicated += n - 1;
          problems.push({ kind: 'email-received-twice', key: o.key, detail: `uncertain row, ${o.message_id} x${n}` });
        }
        break;
      }
      case 'failed':
      case 'blocked':
        r.failedOrBlocked++;
        if (!expected.some((re) => re.test(o.key))) r.failedOrBlockedUnexpected++;
        problems.push({ kind: `email-${o.status}`, key: o.key, detail: `final failure: ${(o.last_error ?? 'no reason recorded').slice(0, 120)}` });
        if (n > 0) {
          r.duplicated += n;
          problems.push({ kind: 'email-received-but-not-sent', key: o.key, detail: `${o.status} row, received x${n}` });
        }
        break;
      default:
        r.unsettled++;
        r.missing++;
        problems.push({ kind: 'email-unsettled', key: o.key, detail: `outbox row still ${o.status} at the end (received x${n})` });
    }
  }
  for (const [messageId, n] of sinkCounts) {
    if (!known.has(messageId)) {
      r.unexpected += n;
      problems.push({ kind: 'email-unexpected', detail: `${messageId} x${n} received, no outbox row` });
    }
  }
}

/**
 * The invitations' first attempts a projection's marker records (src/activities/first-attempts.ts: the
 * projection's local activity runs them once its rows are written; the marker holds no input, so they
 * come from its sealed result). `sent`: the attempt settled the email as sent; a `failed` one was
 * refused for good (its outbox row says so); a `retry` one is the regular activity's, with the same key
 * (counted from its ActivityTaskScheduled event), and is left out here. Undefined: not a projection's
 * marker, or one that tried no email; null: a result the checks cannot read (reported, not passed over).
 */
export async function firstAttemptKeys(m: temporal.api.history.v1.IMarkerRecordedEventAttributes, codec: PayloadCodec): Promise<Array<{ key: string; sent: boolean }> | null | undefined> {
  const decode = async (p: temporal.api.common.v1.IPayload | null | undefined): Promise<unknown> => {
    if (!p) return undefined;
    const encoding = Buffer.from(p.metadata?.encoding ?? new Uint8Array()).toString();
    const [plain] = encoding === 'json/plain' ? [p] : await codec.decode([p as never]);
    return plain ? defaultPayloadConverter.fromPayload(plain as never) : undefined;
  };
  const data = (await decode(m.details?.data?.payloads?.[0])) as { activity_type?: string } | undefined;
  if (data?.activity_type !== 'projectCourse' || m.failure) return undefined;
  const result = (await decode(m.details?.result?.payloads?.[0])) as { firstAttempts?: unknown } | undefined;
  if (result?.firstAttempts === undefined) return undefined;
  if (!Array.isArray(result.firstAttempts)) return null;
  const out: Array<{ key: string; sent: boolean }> = [];
  for (const a of result.firstAttempts as Array<{ key?: unknown; outcome?: unknown }>) {
    if (typeof a?.key !== 'string' || !['sent', 'failed', 'retry'].includes(String(a.outcome))) return null;
    if (a.outcome !== 'retry') out.push({ key: a.key, sent: a.outcome === 'sent' });
  }
  return out;
}

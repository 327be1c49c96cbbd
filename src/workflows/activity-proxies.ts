// The one set of activity options every workflow here uses: 30 s per attempt, retried with backoff
// (1 s up to 1 min) until it succeeds or fails for good (ApplicationFailure.nonRetryable).
import { RetryState } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, isCancellation, proxyActivities, proxyLocalActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { NotifyInput } from '../activities/contracts';

export const ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
};

type NotifyActivities = { notify(input: NotifyInput): Promise<unknown> };

/** Regular activities (emails, which may wait on a mail server). */
export const acts = proxyActivities<Activities & NotifyActivities>(ACTIVITY_OPTIONS);

/**
 * Short idempotent database writes that a waiting caller needs (the course's projection, an
 * assessment's rows): local activities run inside the workflow task, two server round trips sooner
 * and with fewer history events than regular ones.
 */
export const local = proxyLocalActivities<Activities>({ ...ACTIVITY_OPTIONS, localRetryThreshold: '10 seconds' });

/**
 * How long an email's first attempt may hold its workflow task: a pooled send to a relay takes
 * milliseconds, a new TLS connection to a remote one well under a second. A relay that hangs holds the
 * task this long at most (under the task's 10 s timeout, so the task needs no heartbeat), then the
 * regular activity takes over. The activity runs two first attempts at once per process and hands the
 * next straight back (src/activities/notify.ts, NotifyDeferred), so a slow relay never holds more than
 * two of the local-activity slots and workflow tasks the projections need.
 */
export const FIRST_ATTEMPT_TIMEOUT = '3 seconds';

const firstAttempt = proxyLocalActivities<NotifyActivities>({ startToCloseTimeout: FIRST_ATTEMPT_TIMEOUT, retry: { maximumAttempts: 1 } });

/**
 * An email whose first attempt runs as a local activity inside the workflow task that sends it, and
 * whose retries are the regular activity's. Used only where nothing waits on that task (an
 * assessment's invitation, sent by its first task): a local activity holds the task's other commands
 * until it ends, so a safety alert, a reminder beside a client's answers or a course's messages stay
 * regular activities. An Update that reaches the assessment during the attempt waits for it,
 * FIRST_ATTEMPT_TIMEOUT at most; only the client answers an assessment, from the link this email
 * carries, so in practice none does. One attempt saves the regular activity's task and the workflow
 * task that its completion schedules (five history events and two server round trips per email).
 *
 * Exactly once still holds (src/activities/notify.ts): both attempts claim the same outbox row by the
 * message's key. A first attempt that timed out while still sending keeps its lease, so the regular
 * activity fails retryably until that attempt has recorded the send, then finds the row sent. A
 * permanent failure (blocked, no recipient, an SMTP 5xx) is not retried: it is the caller's to handle,
 * as the regular activity's would be.
 */
export async function notifyLocalFirst(n: NotifyInput): Promise<unknown> {
  try {
    return await firstAttempt.notify(n);
  } catch (err) {
    if (isCancellation(err)) throw err;
    // A local activity's failure reaches the workflow as the activity's own error, not wrapped in an
    // ActivityFailure as a regular activity's is; callers handle notify's failures as ActivityFailures.
    const cause = err instanceof ActivityFailure ? err.cause : err;
    if (cause instanceof ApplicationFailure && cause.nonRetryable) {
      throw err instanceof ActivityFailure ? err : new ActivityFailure('local activity failed', 'notify', undefined, RetryState.NON_RETRYABLE_FAILURE, undefined, cause);
    }
    return acts.notify(n);
  }
}

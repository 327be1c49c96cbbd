// An invitation's first attempt, run by the projection's local activity once its rows are committed:
// one local activity for both instead of two in a row (src/workflows/course.ts, flush). The course's
// first task, and a timer's that opens a form, then costs one activation, one local dispatch and one
// history marker fewer, and holds its workflow task (and a local-activity slot) for one round trip
// fewer: the first task's length is what decides whether the next enrollment's eager start is taken
// (docs/performance.md, "One local activity for the course's first task").
//
// Used only where nothing waits on the task (the workflow decides, with allHandlersFinished()): a local
// activity holds the task's other commands until it ends, and a staff action's answer must never wait
// for SMTP. Exactly once is the notify activity's (src/activities/notify.ts): the first attempt and any
// retry claim the same outbox row by the message's key; a first attempt still sending when it is given
// up keeps its lease, so the retry (the regular activity) waits for it and then finds the row sent.
// notify itself hands the attempt back at once, before its outbox row, when two first attempts are
// already in flight in this process (NotifyDeferred): a slow relay never holds more of the slots.
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from '../log';
import type { NotifyInput } from './contracts';

/**
 * How long the emails' first attempts may hold the projection's activity (and its workflow task): a
 * pooled send to a relay takes milliseconds, a new TLS connection to a remote one well under a second.
 * Past it, the attempt is handed to the regular activity (it still counts against notify's cap until
 * its send returns). Well under the workflow task's 10 s timeout and the activity's 30 s.
 */
export const FIRST_ATTEMPT_MS = 3_000;

/**
 * What became of an email's first attempt: `sent` (or found sent by an earlier attempt), `failed` for
 * good (recorded in its outbox row and the audit log: blocked, no recipient, an SMTP 5xx; not retried,
 * as the regular activity's permanent failure is not), or `retry`: the regular activity takes it over
 * (SMTP down, deferred, too slow). Only the key and the outcome: the result is in history (sealed).
 */
export interface FirstAttempt {
  key: string;
  outcome: 'sent' | 'failed' | 'retry';
}

/** The projection's input with the emails whose first attempts follow it. */
export type WithFirstAttempts<I> = I & { firstAttempts?: NotifyInput[] };

/**
 * The projection activity `project`, followed, once it has returned (its rows committed: the
 * invitation's link reads them), by one attempt of each email in `firstAttempts`, at once. A failed
 * projection throws before any email: its retry runs them. The emails never fail the activity.
 * `log` hears of an attempt that failed with anything but an ApplicationFailure (the database, a bug):
 * notify turns every failure it expects into one, and the regular activity that takes the email over
 * may well succeed, so without this line the first failure would leave no trace. Its name only: an
 * error's message can quote a row.
 */
export function withFirstAttempts<I extends object, R extends object>(
  project: (input: I) => Promise<R>,
  notify: (n: NotifyInput) => Promise<unknown>,
  timeoutMs: number = FIRST_ATTEMPT_MS,
  log?: Pick<Logger, 'warn'>,
): (input: WithFirstAttempts<I>) => Promise<R & { firstAttempts?: FirstAttempt[] }> {
  return async (input) => {
    const { firstAttempts, ...projection } = input;
    const written = await project(projection as I);
    if (!firstAttempts?.length) return written;
    return { ...written, firstAttempts: await Promise.all(firstAttempts.map((n) => attempt(n, notify, timeoutMs, log))) };
  };
}

async function attempt(n: NotifyInput, notify: (n: NotifyInput) => Promise<unknown>, timeoutMs: number, log?: Pick<Logger, 'warn'>): Promise<FirstAttempt> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<FirstAttempt['outcome']>((resolve) => (timer = setTimeout(() => resolve('retry'), timeoutMs)));
  const sent = Promise.resolve()
    .then(() => notify(n))
    .then(
      (): FirstAttempt['outcome'] => 'sent',
      (err: unknown): FirstAttempt['outcome'] => {
        if (err instanceof ApplicationFailure) return err.nonRetryable ? 'failed' : 'retry';
        log?.warn({ key: n.key, err: err instanceof Error ? err.name : typeof err }, 'invitation first attempt failed unexpectedly; the regular activity takes it over');
        return 'retry';
      },
    );
  try {
    return { key: n.key, outcome: await Promise.race([sent, late]) };
  } finally {
    clearTimeout(timer);
  }
}

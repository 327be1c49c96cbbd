// The one set of activity options every workflow here uses: 30 s per attempt, retried with backoff
// (1 s up to 1 min) until it succeeds or fails for good (ApplicationFailure.nonRetryable).
import { proxyActivities, proxyLocalActivities, type ActivityOptions } from '@temporalio/workflow';
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
 * and with fewer history events than regular ones. The projection's also runs the first attempt of
 * the invitations it is handed (src/activities/first-attempts.ts), when nothing waits on its task.
 */
export const local = proxyLocalActivities<Activities>({ ...ACTIVITY_OPTIONS, localRetryThreshold: '10 seconds' });

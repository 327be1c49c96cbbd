// Workflow time that replays the same way even when the SDK hands an activation a stale Date.now().
//
// The defect (TypeScript SDK 1.24.0, sdk-core): a query that reaches a worker which does not hold the
// workflow in its cache is answered by replaying the history. If that history already holds events no
// workflow task has processed yet (typically a TIMER_FIRED while the task waits on the sticky queue of
// a worker that was killed), the worker runs them live, with Date.now() still at the previous task's
// time, keeps the result in its cache and sends the commands with the next real workflow task. A later
// replay processes the same event at the real task's time, decides differently, and the workflow is
// stuck on a nondeterminism error. Reproduced by `npm run chaos` and by
// test/integration/stale-query-time.test.ts; reported upstream as an SDK bug.
//
// Two defences:
// 1. `checkTimerTime`: a timer cannot fire before its target. If a live activation sees Date.now()
//    well before the target of the timer that just fired, the time is stale: throw, which fails that
//    activation (the query, when it is the query path), and the worker drops the cached run. The next
//    real task replays from history at the right time. Never thrown while replaying, so it changes no
//    command and needs no patch.
// 2. Patch `timer-driven-clock`: decisions use a clock fed only by values the history holds (the
//    target of a fired timer, the time a signal carries, an Update's task time), so a stale Date.now()
//    that slips under the tolerance cannot change what the workflow decides.
import { workflowInfo } from '@temporalio/workflow';

export const TIMER_CLOCK_PATCH = 'timer-driven-clock';

/**
 * How far before its target a timer may appear to fire before the time is called stale. Covers clock
 * skew between the worker (local activity completion times) and the Temporal server (task times).
 * Keep worker and server clocks synchronised (NTP) well within this.
 */
export const STALE_TIME_TOLERANCE_MS = 100;

export class StaleWorkflowTimeError extends Error {
  constructor(now: number, target: number) {
    super(`stale workflow time: a timer for ${new Date(target).toISOString()} fired at workflow time ${new Date(now).toISOString()}; dropping this cached run so the task replays from history`);
    this.name = 'StaleWorkflowTimeError';
  }
}

/** Call right after a wait on a timer timed out (the timer fired), with the timer's target time. */
export function checkTimerTime(target: number): void {
  const now = Date.now();
  if (!workflowInfo().unsafe.isReplaying && now + STALE_TIME_TOLERANCE_MS < target) throw new StaleWorkflowTimeError(now, target);
}

/** A clock that only moves forward. */
export class WorkflowClock {
  constructor(private t: number) {}
  get now(): number {
    return this.t;
  }
  advance(to: number): number {
    if (to > this.t) this.t = to;
    return this.t;
  }
}

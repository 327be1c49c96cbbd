// Workflow time that replays the same way even when the SDK hands an activation a stale Date.now().
//
// The defect (TypeScript SDK 1.24.0, sdk-core): a query that reaches a worker which does not hold the
// workflow in its cache is answered by replaying the history. If that history already holds events no
// workflow task has processed yet (typically a TIMER_FIRED while the task waits on the sticky queue of
// a worker that was killed), the worker runs them live, with Date.now() still at the previous task's
// time, keeps the result in its cache and sends the commands with the next real workflow task. A later
// replay processes the same event at the real task's time, decides differently, and the workflow is
// stuck on a nondeterminism error. Reproduced by `npm run chaos` and by
// test/integration/stale-query-time.int.test.ts; not yet reported upstream (no way out from here).
//
// Two defences:
// 1. `LiveTimes.checkTimer`: a timer cannot fire before its target. If a live activation sees
//    Date.now() well before the target of the timer that just fired, and no later than an activation
//    the code already saw, the time is stale: throw, which fails that activation (the query, on the
//    query path), and the worker drops the cached run. The next real task replays from history at the
//    right time. Never thrown while replaying, so it changes no command and needs no patch.
// 2. Patch `timer-driven-clock`: decisions use a clock fed only by values the history holds (the
//    target of a fired timer, the time a signal carries, an Update's task time), so a stale Date.now()
//    that slips under the tolerance cannot change what the workflow decides.
import { workflowInfo } from '@temporalio/workflow';

export const TIMER_CLOCK_PATCH = 'timer-driven-clock';

/**
 * How far before its target a timer may appear to fire before the time is called stale. Covers clock
 * skew between the worker (local activity completion times) and the Temporal server (task times).
 */
export const STALE_TIME_TOLERANCE_MS = 100;

export class StaleWorkflowTimeError extends Error {
  constructor(now: number, target: number) {
    super(`stale workflow time: a timer for ${new Date(target).toISOString()} fired at workflow time ${new Date(now).toISOString()}; dropping this cached run so the task replays from history`);
    this.name = 'StaleWorkflowTimeError';
  }
}

/**
 * The latest workflow time this run's code has seen, to tell a stale activation from clock skew.
 * A stale activation carries exactly the time of an activation before it; a real task carries the
 * server's task time, later than anything seen before. Requiring both (the timer fired before its
 * target, and time did not move since the last activation this code saw) means a worker whose clock
 * runs ahead of the server's is not mistaken for the defect, except for timers shorter than the skew
 * and longer than the tolerance. Call `saw()` wherever the workflow's code runs in an activation and
 * `track()` on every promise it awaits; an activation it misses only weakens the defence (the time
 * then looks advanced), it never makes it fire wrongly.
 */
export class LiveTimes {
  private last = -Infinity;

  saw(): void {
    const now = Date.now();
    if (now > this.last) this.last = now;
  }

  track<T>(p: Promise<T>): Promise<T> {
    const saw = () => this.saw();
    p.then(saw, saw);
    return p;
  }

  /** Right after a wait on a timer timed out (the timer fired), with the timer's target time. */
  checkTimer(target: number): void {
    const now = Date.now();
    if (!workflowInfo().unsafe.isReplaying && now + STALE_TIME_TOLERANCE_MS < target && now <= this.last) throw new StaleWorkflowTimeError(now, target);
    this.saw();
  }
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

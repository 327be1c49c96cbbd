// One durable timer for a workflow's next wake-up, shared by the course and the assessment.
//
// `rearm()` is called after every change to the workflow's machine. It asks the machine for its next
// wake-up; when that target differs from the armed timer's, it cancels that timer and starts one for
// the new target. When a timer fires, its own callback applies the wake-up at the timer's target (never
// at `Date.now()` on waking: see the stale-query note in src/workflows/README.md), whatever else the
// activation holds, then re-arms. A workflow thus has at most one timer pending, and history gets a
// new timer only when the next wake-up actually moves.
//
// Each timer carries a one-line summary (Temporal's timer summary; the payload codec encrypts it like
// any payload), so the Web UI shows "reminder 1 of 2: PHQ-9 follow-up-30d" instead of a bare timer
// number.
import { CancellationScope, isCancellation, sleep } from '@temporalio/workflow';

export interface Wake {
  /** Workflow time (ms) to wake at. */
  at: number;
  /** What the wake-up is for, in a few words; no client data. */
  summary: string;
}

export interface WakeTimerOptions {
  /** The machine's next wake-up, or null when nothing is due (finished, paused). */
  next(): Wake | null;
  /** Applies the wake-up at its target time. */
  fire(target: number): void;
  /** The latest time an input was applied at: a timer never sleeps less than 1 ms from there. */
  notBefore(): number;
}

/** Returns `rearm`. Call it in the workflow's root scope, before any handler can run. */
export function wakeTimer(opts: WakeTimerOptions): () => void {
  const root = CancellationScope.current();
  let armed: { target: number; scope: CancellationScope } | null = null;
  const rearm = (): void => {
    const wake = opts.next();
    if (armed && armed.target === (wake?.at ?? null)) return;
    armed?.scope.cancel();
    armed = null;
    if (wake === null) return;
    const timer = { target: wake.at, scope: new CancellationScope({ cancellable: true, parent: root }) };
    armed = timer;
    timer.scope
      .run(() => sleep(Math.max(wake.at - Math.max(Date.now(), opts.notBefore()), 1), { summary: wake.summary }))
      .then(
        () => {
          if (armed === timer) armed = null;
          opts.fire(wake.at);
          rearm();
        },
        (err) => {
          if (!isCancellation(err)) throw err;
        },
      );
  };
  return rearm;
}

// Patches folded into a baseline, so that new runs do not pay for them.
//
// `patched(id)` records a marker in every new run the first time it is asked, and sdk-core follows
// each marker with an upsert of the `TemporalChangeVersion` search attribute: two history events and a
// visibility write per patch, in every course and every assessment started (eight events and four
// visibility writes per enrollment with the patches below). A run started by code that knows
// baseline N carries `baseline: N` in its input and takes the branches of every patch in that
// baseline without asking; a run without it (started before) still asks `patched(id)`, so its history
// replays exactly as it was recorded.
//
// A new behaviour change is a new `patched('id')` as usual (src/workflows/README.md). Later, when the
// next baseline is cut, its patch moves into BASELINE_PATCHES under the new number, and starters pass it.
import { patched } from '@temporalio/workflow';
import { TIMER_CLOCK_PATCH } from './clock';

/** The course's projection as a local activity (course.ts). */
export const LOCAL_PROJECTION_PATCH = 'projection-as-local-activity';
/** A staff action answers before its emails are sent (course.ts). */
export const DETACHED_NOTIFY_PATCH = 'notify-detached-from-updates';
/** An assessment's emails are not cancelled with it (assessment.ts). */
export const NOTIFY_OUTLIVES_CANCEL_PATCH = 'notify-outlives-cancel';

/** The baseline that code starting courses and assessments now passes in their input. */
export const BASELINE = 1;

/** Each patch folded into a baseline, with the baseline that folded it. */
export const BASELINE_PATCHES: Readonly<Record<string, number>> = {
  [LOCAL_PROJECTION_PATCH]: 1,
  [DETACHED_NOTIFY_PATCH]: 1,
  [TIMER_CLOCK_PATCH]: 1,
  [NOTIFY_OUTLIVES_CANCEL_PATCH]: 1,
};

/** Whether a patch is on for this run: folded into the run's baseline, or recorded by `patched()`. */
export function patchOn(baseline: number | undefined, patchId: string): boolean {
  const since = BASELINE_PATCHES[patchId];
  if (since !== undefined && (baseline ?? 0) >= since) return true;
  return patched(patchId);
}

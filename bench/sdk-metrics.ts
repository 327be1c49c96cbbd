// What the Temporal SDK's core says about a window of the bench: its Prometheus endpoint (the bench
// process installs the SDK runtime with one: bench/context.ts installBenchRuntime) read before and
// after, and the difference kept for one worker's task queue. A diagnosis beside the staff step's own
// clocks: how many of the window's workflow tasks found their workflow in the worker's cache (sticky
// cache hits) and how many had to fetch the history and replay it (misses), what the replay and the
// whole task took in the core's own measure, and what the history fetches took.
import { parseExposition, type ParsedExposition } from '../src/metrics/exposition';
import { fetchSdkMetrics } from '../src/metrics/sdk';

/** One sample of the SDK's exposition text (src/metrics/exposition.ts parses it, as for GET /metrics). */
export type PromSample = ParsedExposition['samples'][number];

/** The SDK's metrics now, from its Prometheus endpoint (`host:port`); null when it does not answer (the window then has no SDK figures, and nothing else changes). */
export async function readSdkMetrics(address: string): Promise<PromSample[] | null> {
  const text = await fetchSdkMetrics(address, 5000);
  return text === null ? null : parseExposition(text).samples;
}

type Match = (labels: Readonly<Record<string, string>>) => boolean;

function total(samples: readonly PromSample[], name: string, match: Match): number {
  let t = 0;
  for (const s of samples) if (s.name === name && match(s.labels)) t += s.value;
  return t;
}

export interface Timed {
  /** Observations in the window. */
  n: number;
  /** Their mean, ms (null without any). */
  meanMs: number | null;
  /** Their sum, ms. */
  totalMs: number;
}

function histogram(before: readonly PromSample[], after: readonly PromSample[], base: string, match: Match): Timed {
  const n = total(after, `${base}_count`, match) - total(before, `${base}_count`, match);
  const totalMs = (total(after, `${base}_sum`, match) - total(before, `${base}_sum`, match)) * 1000;
  return { n, meanMs: n > 0 ? Math.round((totalMs / n) * 10) / 10 : null, totalMs: Math.round(totalMs) };
}

export interface SdkWindow {
  /** Workflow tasks whose workflow was in the worker's cache. */
  stickyHits: number;
  /** Workflow tasks whose workflow was not: its history fetched and replayed from the start. */
  stickyMisses: number;
  /** Evictions the cache forced to make room. */
  forcedEvictions: number;
  /** The core's replay time per workflow task (near 0 for a cached workflow), and the window's replay time divided by its misses (an upper bound per miss: hits add their near-0). */
  replay: Timed & { perMissMs: number | null };
  /** A workflow task from the core's receipt to its completion (replay, activations, local activities). */
  taskExecution: Timed;
  /** Local activities (the projection's statement, the first attempts of emails). */
  localActivity: Timed;
  /** The core's GetWorkflowExecutionHistory calls (a miss fetches the whole history): every worker of the process. */
  historyFetch: Timed;
  /** The core's RespondWorkflowTaskCompleted calls: every worker of the process. */
  respondCompleted: Timed;
}

/** The difference between two readings, for the workers on `taskQueue` running `workflowType`. */
export function sdkWindow(before: readonly PromSample[], after: readonly PromSample[], taskQueue: string, workflowType: string): SdkWindow {
  const worker: Match = (l) => l.task_queue === taskQueue && (l.workflow_type === undefined || l.workflow_type === workflowType);
  const op = (operation: string): Match => (l) => l.operation === operation;
  const count = (name: string) => total(after, name, worker) - total(before, name, worker);
  const stickyMisses = count('temporal_sticky_cache_miss_total');
  const replay = histogram(before, after, 'temporal_workflow_task_replay_latency_seconds', worker);
  return {
    stickyHits: count('temporal_sticky_cache_hit_total'),
    stickyMisses,
    forcedEvictions: count('temporal_sticky_cache_total_forced_eviction_total'),
    replay: { ...replay, perMissMs: stickyMisses > 0 ? Math.round((replay.totalMs / stickyMisses) * 10) / 10 : null },
    taskExecution: histogram(before, after, 'temporal_workflow_task_execution_latency_seconds', worker),
    localActivity: histogram(before, after, 'temporal_local_activity_execution_latency_seconds', (l) => l.task_queue === taskQueue),
    historyFetch: histogram(before, after, 'temporal_request_latency_seconds', op('GetWorkflowExecutionHistory')),
    respondCompleted: histogram(before, after, 'temporal_request_latency_seconds', op('RespondWorkflowTaskCompleted')),
  };
}

/** One line for the log. */
export function describeSdkWindow(w: SdkWindow): string {
  const t = (x: Timed) => `${x.n} × ${x.meanMs ?? '-'} ms`;
  return `sticky cache hits ${w.stickyHits}, misses ${w.stickyMisses} (forced evictions ${w.forcedEvictions}); replay ${t(w.replay)} = ${w.replay.perMissMs ?? '-'} ms per miss; workflow task ${t(w.taskExecution)}; local activity ${t(w.localActivity)}; history fetch ${t(w.historyFetch)}; task completion RPC ${t(w.respondCompleted)}`;
}

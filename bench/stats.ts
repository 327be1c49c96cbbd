// Small statistics helpers for the benchmark (nearest-rank percentiles, millisecond timing).

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  max: number;
}

export function summarize(values: number[]): Summary {
  return { n: values.length, p50: round(percentile(values, 50)), p95: round(percentile(values, 95)), max: round(Math.max(...values)) };
}

export const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Milliseconds since `t0` (a process.hrtime.bigint() reading). */
export const msSince = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

/** Runs `fn` over items with at most `concurrency` in flight. */
export async function pool<T>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the worker has had no activation or activity in flight for `quietMs` (at most `maxMs`). */
export async function waitIdle(worker: { getStatus(): { numInFlightWorkflowActivations: number; numInFlightActivities: number } }, quietMs = 1500, maxMs = 120_000): Promise<number> {
  const t0 = Date.now();
  let quietSince = Date.now();
  while (Date.now() - t0 < maxMs) {
    const s = worker.getStatus();
    if (s.numInFlightWorkflowActivations > 0 || s.numInFlightActivities > 0) quietSince = Date.now();
    else if (Date.now() - quietSince >= quietMs) break;
    await sleep(50);
  }
  return Date.now() - t0;
}

/**
 * The SDK runtime's counters (families ending in `_total`, and histograms' `_count`), each summed over
 * its labels, from one Prometheus text; and what moved between two such readings. Diagnosis only: which
 * worker work (workflow tasks, sticky-cache misses and their replays, polls) a window cost.
 */
export function counterSums(samples: Array<{ name: string; value: number }>): Map<string, number> {
  const sums = new Map<string, number>();
  for (const s of samples) {
    if (!s.name.endsWith('_total') && !s.name.endsWith('_count')) continue;
    sums.set(s.name, (sums.get(s.name) ?? 0) + s.value);
  }
  return sums;
}

export function counterDeltas(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, v] of [...after].sort(([a], [b]) => a.localeCompare(b))) {
    const d = v - (before.get(name) ?? 0);
    if (d !== 0) out[name] = round(d, 3);
  }
  return out;
}

/** The median (the mean of the two middle values of an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// The knee of one kind in one repeat of the ladder, and where to probe next to narrow it.
//
// A ladder of fixed rates brackets the knee between the highest rate that kept up and the next rate
// above it, and those are a factor of 2 apart (10 and 20/s): a capacity ratio read off such knees can
// only take a few values (0.33, 0.5, 0.67, 1), so the same code printed 0.33 in one run and 0.50 in the
// next. The ladder therefore narrows each kind's bracket by bisection after its fixed rates: the
// geometric middle of the bracket is run (both kinds in the same minutes, in alternating order, each at its own middle),
// and the bracket moves to the half it falls in, until it is narrower than `resolution` of its lower end.

import { median, round } from './stats';

export interface KneeSample {
  kind: string;
  repeat: number;
  offeredPerS: number;
  keptUp: boolean;
}

/** Highest rate at which every sample kept up (0: none), and the lowest rate above it that was offered or planned. */
export interface KneeBracket {
  lo: number;
  /** null: the top rate kept up, so the knee is at least `lo`. */
  hi: number | null;
}

const keptUpAt = (samples: readonly KneeSample[], kind: string, repeat: number, rate: number) => {
  const ss = samples.filter((s) => s.kind === kind && s.repeat === repeat && s.offeredPerS === rate);
  return ss.length > 0 && ss.every((s) => s.keptUp);
};

/**
 * The bracket around one repeat's knee: `lo` is the highest rate whose every sample kept up, `hi` the
 * lowest rate above it that was sampled (and did not keep up) or that the fixed ladder planned (a rate
 * skipped after the kind saturated counts as not kept up).
 */
export function kneeBracket(samples: readonly KneeSample[], kind: string, repeat: number, plannedRates: readonly number[]): KneeBracket {
  const sampled = [...new Set(samples.filter((s) => s.kind === kind && s.repeat === repeat).map((s) => s.offeredPerS))];
  const lo = Math.max(0, ...sampled.filter((r) => keptUpAt(samples, kind, repeat, r)));
  const above = [...new Set([...sampled, ...plannedRates])].filter((r) => r > lo);
  return { lo, hi: above.length ? Math.min(...above) : null };
}

/**
 * The next rate to offer inside the bracket, or null when it is narrow enough. The geometric middle,
 * rounded to a whole rate from 4/s up (a tenth below), so that it stays strictly inside. A bracket open
 * above (the kind kept up at every rate it was offered) is probed upward, at `UPWARD` times its lower end,
 * up to `ceiling` (none given: not at all): a knee read as "at least the top rate" makes the capacity
 * ratio an upper bound whenever it is the baseline's (2026-12-04: the one-row workflow kept up at the
 * ladder's 40/s on a fast minute, and the ratio 0.60 compared the engine with a lower bound).
 */
export function nextProbe(b: KneeBracket, resolution = 0.15, ceiling?: number): number | null {
  if (b.hi === null) {
    if (ceiling === undefined || b.lo <= 0 || b.lo >= ceiling) return null;
    return Math.min(ceiling, Math.round(b.lo * UPWARD));
  }
  if (b.lo > 0 && (b.hi - b.lo) / b.lo <= resolution) return null;
  const mid = b.lo > 0 ? Math.sqrt(b.lo * b.hi) : b.hi / 2;
  const rounded = mid >= 4 ? Math.round(mid) : Math.round(mid * 10) / 10;
  return rounded > b.lo && rounded < b.hi ? rounded : null;
}

/** An open bracket's next rate, as a multiple of the highest rate that kept up. */
export const UPWARD = 1.5;

/** The range the capacity ratio (engine knee / baseline knee) lies in, from the two brackets; null when a bracket is open or empty. */
export function capacityRange(engine: KneeBracket, baseline: KneeBracket): [number, number | null] | null {
  if (baseline.lo <= 0 && baseline.hi === null) return null;
  const low = baseline.hi === null ? null : engine.lo / baseline.hi;
  const high = engine.hi === null || baseline.lo <= 0 ? null : engine.hi / baseline.lo;
  return low === null ? null : [Math.round(low * 100) / 100, high === null ? null : Math.round(high * 100) / 100];
}

/** The rate the hour's gauge is read at: the one-row workflow kept up there in every full run on record. */
export const GAUGE_RATE_PER_S = 20;

export interface GaugeRow {
  offeredPerS: number;
  samples: number;
  keptUp: number;
  cpuSecondsPerCourse: Record<string, number | null>;
}

/**
 * How fast the machine was in this run: the one-row workflow's CPU-seconds per course at
 * GAUGE_RATE_PER_S (its process and the Temporal server, the median of its samples). Its code does not
 * change between runs, so across runs this figure moves with the machine alone, and so do the targets
 * that are absolute latencies rather than ratios. null when the one-row workflow was not offered that
 * rate or did not keep up in every sample there (then its CPU per course includes a backlog).
 */
export function machineGauge(baselineRows: readonly GaugeRow[]): { offeredPerS: number; oneRowCpuSecondsPerCourse: number; process: number | null; temporalServer: number | null } | null {
  const row = baselineRows.find((r) => r.offeredPerS === GAUGE_RATE_PER_S);
  const total = row?.cpuSecondsPerCourse.total;
  if (!row || row.samples === 0 || row.keptUp !== row.samples || typeof total !== 'number') return null;
  return { offeredPerS: GAUGE_RATE_PER_S, oneRowCpuSecondsPerCourse: total, process: row.cpuSecondsPerCourse.engineProcess ?? null, temporalServer: row.cpuSecondsPerCourse.temporalServer ?? null };
}

export interface KneeCpuSample {
  offeredPerS: number;
  keptUp: boolean;
  cpuSecondsPerCourse: Record<string, number | null | undefined>;
}

/**
 * Each kind's CPU-seconds per course at its own knee, and their ratio. On a machine whose cores are
 * the limit, the knee is where a kind's courses use the cores it can get, so the capacity ratio
 * (engine knee / one-row knee) comes out near one over this ratio (docs/performance.md, "A faster
 * night on the AMD machine"): it says what the engine's knee costs, where the CPU target (both kinds at
 * one rate) does not. Read from the samples at the knee's rate that kept up (the median of their
 * totals): a sample that fell behind there, in another repeat, carries its backlog's cost. null when a
 * knee is 0, or no sample at its rate kept up with a CPU figure (an even number of repeats can put the
 * median knee between rates).
 */
export function cpuAtKnees(
  engine: { knee: number; samples: readonly KneeCpuSample[] },
  baseline: { knee: number; samples: readonly KneeCpuSample[] },
): { engine: { atPerS: number; cpuSecondsPerCourse: number; samples: number }; baseline: { atPerS: number; cpuSecondsPerCourse: number; samples: number }; ratio: number; capacityImplied: number } | null {
  const at = (k: { knee: number; samples: readonly KneeCpuSample[] }) => {
    const totals = k.samples
      .filter((x) => k.knee > 0 && x.offeredPerS === k.knee && x.keptUp)
      .map((x) => x.cpuSecondsPerCourse.total)
      .filter((t): t is number => typeof t === 'number' && t > 0);
    return totals.length ? { atPerS: k.knee, cpuSecondsPerCourse: round(median(totals), 4), samples: totals.length } : null;
  };
  const e = at(engine);
  const b = at(baseline);
  if (!e || !b) return null;
  const ratio = e.cpuSecondsPerCourse / b.cpuSecondsPerCourse;
  return { engine: e, baseline: b, ratio: round(ratio, 2), capacityImplied: round(1 / ratio, 2) };
}

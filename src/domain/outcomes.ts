// Change over time on an instrument: response, remission, and reliable change on the PCL-5.

export interface ResponseResult {
  /** Drop from baseline in percent of the baseline (negative = worse); null when baseline is 0. */
  changePercent: number | null;
  /** True when the score fell by at least half of the baseline (the standard >= 50% definition). */
  response: boolean;
}

export const RESPONSE_DROP_FRACTION = 0.5;

/** Response: a drop of >= 50% from baseline. A baseline of 0 cannot respond (nothing to drop). */
export function response(baseline: number, current: number): ResponseResult {
  assertScore('baseline', baseline);
  assertScore('current', current);
  if (baseline === 0) return { changePercent: null, response: false };
  const drop = baseline - current;
  return { changePercent: (drop / baseline) * 100, response: drop >= baseline * RESPONSE_DROP_FRACTION };
}

/** Remission thresholds: PHQ-9 < 5 (NCQA/HEDIS); GAD-7 < 5; QIDS-SR16 <= 5 (the "none" band). */
export const REMISSION_BELOW = { phq9: 5, gad7: 5, 'qids-sr16': 6 } as const;
export type RemissionInstrument = keyof typeof REMISSION_BELOW;

/** Remission: total below the instrument's threshold (default PHQ-9: < 5). */
export function remission(total: number, instrument: RemissionInstrument = 'phq9'): boolean {
  assertScore('total', total);
  return total < REMISSION_BELOW[instrument];
}

export const PCL5_RELIABLE_CHANGE = 5;
export const PCL5_CLINICALLY_MEANINGFUL_CHANGE = 10;

export type Pcl5ChangeCategory = 'clinically-meaningful-improvement' | 'reliable-improvement' | 'no-reliable-change' | 'reliable-worsening' | 'clinically-meaningful-worsening';

export interface Pcl5ChangeResult {
  /** baseline - current: positive = improvement. */
  improvement: number;
  /** |change| >= 5 points */
  reliable: boolean;
  /** |change| >= 10 points */
  clinicallyMeaningful: boolean;
  category: Pcl5ChangeCategory;
}

/** PCL-5 change: 5 points = reliable change, 10 points = clinically meaningful (NCPTSD guidance). */
export function pcl5Change(baseline: number, current: number): Pcl5ChangeResult {
  assertScore('baseline', baseline);
  assertScore('current', current);
  const improvement = baseline - current;
  const size = Math.abs(improvement);
  const reliable = size >= PCL5_RELIABLE_CHANGE;
  const clinicallyMeaningful = size >= PCL5_CLINICALLY_MEANINGFUL_CHANGE;
  const dir = improvement > 0 ? 'improvement' : 'worsening';
  const category: Pcl5ChangeCategory = clinicallyMeaningful ? `clinically-meaningful-${dir}` : reliable ? `reliable-${dir}` : 'no-reliable-change';
  return { improvement, reliable, clinicallyMeaningful, category };
}

function assertScore(name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a non-negative number, got ${String(v)}`);
}

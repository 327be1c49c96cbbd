// How a synthetic client's symptoms move through a course, for `kap simulate`: a seeded baseline
// severity per instrument, a response curve over the doses with noise, some non-responders, and a
// slow drift back after the course for some. Pure and deterministic: the same seed and client give
// the same scores at every time point, in any order of asking.
//
// The shape is loosely calibrated on the published figures in /work/shared/reference/clinical.md
// (about 6 in 10 responding and 3 in 10 remitting on the PHQ-9 after a course); it is synthetic data
// for exercising the engine and the outcomes page, not a model of any real population.
import { mulberry32 } from '../../prng';

export type TrajectoryInstrument = 'phq9' | 'gad7' | 'pcl5';
export const TRAJECTORY_INSTRUMENTS: readonly TrajectoryInstrument[] = ['phq9', 'gad7', 'pcl5'];

/** When the client answers: at screening, before dose n of a course of `of`, after the course, or days after it. */
export type TimePoint = { kind: 'baseline' } | { kind: 'dose'; n: number; of: number } | { kind: 'post-course' } | { kind: 'follow-up'; days: number };

export interface ClientTrajectory {
  seed: number;
  client: number;
  responder: boolean;
  /** Baseline total per instrument. */
  baseline: Record<TrajectoryInstrument, number>;
  /** Share of the baseline left at the end of the course, per instrument (0.15-0.5 responders, 0.6-1.05 not). */
  endFraction: Record<TrajectoryInstrument, number>;
  /** Share of the baseline that comes back per month after the course (0 for a durable response). */
  relapsePerMonth: number;
}

/** Item count and item maximum of the form as the client answers it. PHQ-9 item 9 is always answered 0 (see itemAnswers). */
const FORM: Record<TrajectoryInstrument, { items: number; itemMax: number; scoredItems: number }> = {
  phq9: { items: 9, itemMax: 3, scoredItems: 8 },
  gad7: { items: 7, itemMax: 3, scoredItems: 7 },
  pcl5: { items: 20, itemMax: 4, scoredItems: 20 },
};
/** The highest total a synthetic client can reach (PHQ-9: 24, item 9 being 0). */
export const maxTotal = (i: TrajectoryInstrument) => FORM[i].scoredItems * FORM[i].itemMax;

/** Baseline severity: mean, spread and floor per instrument (a clinic's intake: moderate to severe). */
const BASELINE: Record<TrajectoryInstrument, { mean: number; sd: number; min: number }> = {
  phq9: { mean: 16, sd: 4, min: 10 },
  gad7: { mean: 13, sd: 3.5, min: 6 },
  pcl5: { mean: 42, sd: 12, min: 15 },
};
export const RESPONDER_SHARE = 0.62;

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
/** A standard normal draw from two uniforms (Box-Muller). */
const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
/** A stable 32-bit hash of the parts (FNV-1a), so each time point has its own noise whatever the order of asking. */
function hash(...parts: Array<string | number>): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join('|')) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

/** The trajectory of synthetic client number `client` (1-based) in a simulation run with `seed`. */
export function clientTrajectory(seed: number, client: number): ClientTrajectory {
  const r = mulberry32(hash('trajectory', seed, client));
  const responder = r() < RESPONDER_SHARE;
  const baseline = {} as Record<TrajectoryInstrument, number>;
  const endFraction = {} as Record<TrajectoryInstrument, number>;
  const shared = responder ? 0.15 + r() * 0.35 : 0.6 + r() * 0.45;
  for (const i of TRAJECTORY_INSTRUMENTS) {
    const b = BASELINE[i];
    baseline[i] = Math.round(clamp(b.mean + gauss(r) * b.sd, b.min, maxTotal(i)));
    endFraction[i] = clamp(shared + (r() - 0.5) * 0.2, 0.05, 1.1);
  }
  const relapsePerMonth = r() < 0.5 ? 0 : r() * 0.06;
  return { seed, client, responder, baseline, endFraction, relapsePerMonth };
}

/** Share of the course's improvement reached at progress x (0 = baseline, 1 = end of course): fast early, then levelling. */
const curve = (x: number) => (1 - Math.exp(-3 * x)) / (1 - Math.exp(-3));

/** The total the client answers on `instrument` at `point`: whole, within 0..maxTotal, with noise (none at baseline). */
export function scoreAt(t: ClientTrajectory, instrument: TrajectoryInstrument, point: TimePoint): number {
  const base = t.baseline[instrument];
  if (point.kind === 'baseline') return base;
  const end = t.endFraction[instrument];
  let fraction: number;
  if (point.kind === 'dose') fraction = 1 - (1 - end) * curve(clamp((point.n - 1) / Math.max(1, point.of), 0, 1));
  else if (point.kind === 'post-course') fraction = end;
  else fraction = Math.min(1.1, end + t.relapsePerMonth * (point.days / 30));
  const key = point.kind === 'dose' ? `dose-${point.n}` : point.kind === 'follow-up' ? `followup-${point.days}` : point.kind;
  const noise = gauss(mulberry32(hash('noise', t.seed, t.client, instrument, key))) * 0.04 * maxTotal(instrument);
  return Math.round(clamp(base * fraction + noise, 0, maxTotal(instrument)));
}

/**
 * Form fields (as the client's page posts them) whose items add up to `total`: spread evenly, the
 * remainder on the first items. PHQ-9 item 9 (thoughts of self-harm) is always 0: suicide risk in a
 * simulation comes from the safety-escalation profile, never from a symptom score.
 */
export function itemAnswers(instrument: TrajectoryInstrument, total: number): Record<string, string> {
  const f = FORM[instrument];
  const t = clamp(Math.round(total), 0, maxTotal(instrument));
  const each = Math.floor(t / f.scoredItems);
  const extra = t % f.scoredItems;
  return Object.fromEntries(Array.from({ length: f.items }, (_, k) => [`${instrument}.${k + 1}`, String(k < f.scoredItems ? each + (k < extra ? 1 : 0) : 0)]));
}

/** The time point of a step's assessment, from its key: `screening`, `dose-3`, `post-course-assessment`, `followup-90d`. */
export function timePointOf(stepKey: string, dosingSessions: number): TimePoint | null {
  if (stepKey === 'screening') return { kind: 'baseline' };
  if (stepKey === 'post-course-assessment') return { kind: 'post-course' };
  const dose = /^dose-(\d+)$/.exec(stepKey);
  if (dose) return { kind: 'dose', n: Number(dose[1]), of: dosingSessions };
  const follow = /^followup-(\d+)d$/.exec(stepKey);
  if (follow) return { kind: 'follow-up', days: Number(follow[1]) };
  return null;
}

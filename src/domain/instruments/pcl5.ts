// PCL-5 (Weathers et al., National Center for PTSD, 2013). Item texts are short paraphrases.
// Provisional PTSD: total at or above a cut-off; the literature gives 31-33 (33 is the shipped
// default, configurable via createPcl5). DSM-5 rule: an item rated >= 2 ("moderately") counts as a
// symptom; needs >= 1 B (items 1-5), >= 1 C (6-7), >= 2 D (8-14), >= 2 E (15-20).
import type { Band, Instrument, ScoreFlag, ScoreResult } from './types';
import { bandFor } from './types';
import { sum, validateIntegerAnswers } from './validate';

export const PCL5_DEFAULT_CUTOFF = 33;
/** Cut-offs reported for a provisional PTSD diagnosis; a clinic picks one. */
export const PCL5_CUTOFF_RANGE = { min: 31, max: 33 } as const;

export const PCL5_CLUSTERS = {
  B: { label: 'Intrusion', items: [1, 2, 3, 4, 5], required: 1 },
  C: { label: 'Avoidance', items: [6, 7], required: 1 },
  D: { label: 'Negative alterations in cognition and mood', items: [8, 9, 10, 11, 12, 13, 14], required: 2 },
  E: { label: 'Alterations in arousal and reactivity', items: [15, 16, 17, 18, 19, 20], required: 2 },
} as const;
export type Pcl5Cluster = keyof typeof PCL5_CLUSTERS;
/** An item rated at or above this counts as an endorsed symptom for the DSM-5 rule. */
export const PCL5_SYMPTOM_THRESHOLD = 2;

export interface Pcl5Result extends ScoreResult {
  instrumentId: 'pcl5';
  cutoff: number;
  /** total >= cutoff */
  provisionalPtsd: boolean;
  /** Endorsed symptoms (item >= 2) per DSM-5 cluster, and the cluster scores (sums). */
  clusters: Record<Pcl5Cluster, { endorsed: number; required: number; met: boolean; score: number }>;
  dsm5CriteriaMet: boolean;
}

const ITEMS = [
  'Repeated, disturbing, unwanted memories of the stressful experience',
  'Repeated, disturbing dreams of the stressful experience',
  'Suddenly feeling or acting as if the stressful experience were happening again',
  'Feeling very upset when something reminded you of the stressful experience',
  'Strong physical reactions when something reminded you of the experience (pounding heart, trouble breathing, sweating)',
  'Avoiding memories, thoughts, or feelings related to the stressful experience',
  'Avoiding external reminders of the experience (people, places, conversations, activities, objects, situations)',
  'Trouble remembering important parts of the stressful experience',
  'Strong negative beliefs about yourself, other people, or the world',
  'Blaming yourself or someone else for the experience or what happened after it',
  'Strong negative feelings such as fear, horror, anger, guilt, or shame',
  'Loss of interest in activities that you used to enjoy',
  'Feeling distant or cut off from other people',
  'Trouble experiencing positive feelings (e.g. being unable to feel happiness or love)',
  'Irritable behaviour, angry outbursts, or acting aggressively',
  'Taking too many risks or doing things that could cause you harm',
  'Being "superalert", watchful, or on guard',
  'Feeling jumpy or easily startled',
  'Having difficulty concentrating',
  'Trouble falling or staying asleep',
];

export interface Pcl5Options {
  /** Provisional PTSD cut-off on the total (integer 1-80); default 33. */
  cutoff?: number;
}

export function createPcl5(options: Pcl5Options = {}): Instrument<Pcl5Result> {
  const cutoff = options.cutoff ?? PCL5_DEFAULT_CUTOFF;
  if (!Number.isInteger(cutoff) || cutoff < 1 || cutoff > 80) throw new RangeError(`PCL-5 cut-off must be a whole number 1-80, got ${cutoff}`);
  const bands: Band[] = [
    { id: 'below-cutoff', label: `Below the provisional PTSD cut-off (${cutoff})`, min: 0, max: cutoff - 1 },
    { id: 'provisional-ptsd', label: `Provisional PTSD (total >= ${cutoff})`, min: cutoff, max: 80 },
  ];
  return {
    id: 'pcl5',
    name: 'PTSD Checklist for DSM-5',
    shortName: 'PCL-5',
    prompt: 'In the past month, how much were you bothered by:',
    answerKind: 'integer',
    itemTextSource: 'paraphrase',
    items: ITEMS.map((text, i) => ({ number: i + 1, text })),
    options: [
      { value: 0, label: 'Not at all' },
      { value: 1, label: 'A little bit' },
      { value: 2, label: 'Moderately' },
      { value: 3, label: 'Quite a bit' },
      { value: 4, label: 'Extremely' },
    ],
    minTotal: 0,
    maxTotal: 80,
    bands,
    score(answers) {
      const a = validateIntegerAnswers('pcl5', answers, 20, 0, 4, 'PCL-5');
      const total = sum(a);
      const clusters = {} as Pcl5Result['clusters'];
      for (const [key, c] of Object.entries(PCL5_CLUSTERS) as Array<[Pcl5Cluster, (typeof PCL5_CLUSTERS)[Pcl5Cluster]]>) {
        const values = c.items.map((n) => a[n - 1]!);
        const endorsed = values.filter((v) => v >= PCL5_SYMPTOM_THRESHOLD).length;
        clusters[key] = { endorsed, required: c.required, met: endorsed >= c.required, score: sum(values) };
      }
      const dsm5CriteriaMet = Object.values(clusters).every((c) => c.met);
      const provisionalPtsd = total >= cutoff;
      const band = bandFor(bands, total);
      const flags: ScoreFlag[] = [];
      if (provisionalPtsd) flags.push({ code: 'pcl5-provisional-ptsd', severity: 'warning', message: `Total ${total} is at or above the provisional PTSD cut-off (${cutoff})` });
      if (dsm5CriteriaMet) flags.push({ code: 'pcl5-dsm5-criteria-met', severity: 'warning', message: 'Symptom pattern meets the DSM-5 cluster rule (B>=1, C>=1, D>=2, E>=2 items rated >= 2)' });
      return { instrumentId: 'pcl5', total, maxTotal: 80, band: band.id, bandLabel: band.label, flags, criticalItems: [], critical: false, cutoff, provisionalPtsd, clusters, dsm5CriteriaMet };
    },
  };
}

/** The PCL-5 with the default cut-off (33). */
export const pcl5: Instrument<Pcl5Result> = createPcl5();

// Columbia Suicide Severity Rating Scale, screener version (Posner et al.; Columbia Lighthouse
// Project). Item texts are short paraphrases. Answers are yes/no (true/false) in item order:
//   1-5 about the past month; 6 = suicidal behaviour ever; an optional 7th answer "6b" says whether
//   that behaviour was within the past 3 months.
// Skip rule (the screener's own skip logic: "If NO to 2, go directly to question 6"; Columbia
// Lighthouse Project, C-SSRS Screen Version): if item 2 is "no", items 3-5 are not asked. A form
// may leave them blank (null/absent) or record them as "no", which says nothing contradictory; a
// "yes" there contradicts item 2 and is refused. Either way they are recorded as not asked (null,
// `cssrsAsRecorded`).
// Triage (Columbia triage guidance): item 1 or 2 => low; item 3, or behaviour more than 3 months ago
// => moderate; item 4 or 5, or behaviour in the past 3 months => high (safety precautions until
// evaluated by a mental-health professional). When item 6 is "yes" and 6b is blank, the behaviour
// is treated as recent (high): the safe reading of a missing answer.
import { InvalidAnswersError, type AnswerProblem, type Instrument, type ScoreFlag, type ScoreResult } from './types';

export const CSSRS_RISK_LEVELS = ['none', 'low', 'moderate', 'high'] as const;
export type CssrsRisk = (typeof CSSRS_RISK_LEVELS)[number];

/** Answers in item order: 1..6, then optional 6b. null/undefined = not answered (skipped). */
export type CssrsAnswers = ReadonlyArray<boolean | null | undefined>;

export interface CssrsResult extends ScoreResult {
  instrumentId: 'cssrs';
  risk: CssrsRisk;
  /** Items that set the risk level. */
  triggeredBy: Array<number | '6b'>;
  /** item 6 was "yes" but 6b (past 3 months?) was blank, so it was treated as recent. */
  recencyAssumed: boolean;
  answers: { items: Array<boolean | null>; item6b: boolean | null };
}

const LABELS: Record<CssrsRisk, string> = {
  none: 'No risk identified',
  low: 'Low risk',
  moderate: 'Moderate risk',
  high: 'High risk',
};

export const cssrs: Instrument<CssrsResult> = {
  id: 'cssrs',
  name: 'Columbia Suicide Severity Rating Scale (screener)',
  shortName: 'C-SSRS',
  prompt: 'Answer yes or no. Questions 1-5 ask about the past month.',
  answerKind: 'yes-no',
  itemTextSource: 'paraphrase',
  items: [
    { number: 1, text: 'Have you wished you were dead, or wished you could go to sleep and not wake up?' },
    { number: 2, text: 'Have you actually had any thoughts of killing yourself?' },
    { number: 3, text: 'Have you been thinking about how you might do this? (asked only if 2 is yes)' },
    { number: 4, text: 'Have you had these thoughts and had some intention of acting on them? (asked only if 2 is yes)' },
    { number: 5, text: 'Have you started to work out, or worked out, the details of how to kill yourself, and do you intend to carry out this plan? (asked only if 2 is yes)' },
    { number: 6, text: 'Have you ever done anything, started to do anything, or prepared to do anything to end your life? (6b: if yes, was this within the past 3 months?)' },
  ],
  options: [
    { value: 1, label: 'Yes' },
    { value: 0, label: 'No' },
  ],
  minTotal: 0,
  maxTotal: 6,
  // C-SSRS triages by rule (see above), not by a total; `band` is the risk level.
  bands: [],
  score(answers) {
    const { items, item6b } = validateCssrs(answers);
    const [q1, q2, q3, q4, q5, q6] = items;
    const triggers: Record<CssrsRisk, Array<number | '6b'>> = { none: [], low: [], moderate: [], high: [] };
    if (q1) triggers.low.push(1);
    if (q2) triggers.low.push(2);
    if (q3) triggers.moderate.push(3);
    if (q4) triggers.high.push(4);
    if (q5) triggers.high.push(5);
    const recencyAssumed = q6 === true && item6b === null;
    if (q6 && item6b === false) triggers.moderate.push(6);
    if (q6 && item6b !== false) triggers.high.push(6);
    const risk: CssrsRisk = triggers.high.length ? 'high' : triggers.moderate.length ? 'moderate' : triggers.low.length ? 'low' : 'none';

    const flags: ScoreFlag[] = [];
    const severityOf = (level: CssrsRisk): ScoreFlag['severity'] => (level === 'high' ? 'critical' : 'warning');
    for (const level of ['low', 'moderate', 'high'] as const) {
      for (const item of triggers[level]) {
        flags.push({ code: `cssrs-item${item}-yes`, severity: severityOf(level), item: item as number, message: `Item ${item} answered yes (${LABELS[level].toLowerCase()})` });
      }
    }
    if (recencyAssumed) flags.push({ code: 'cssrs-item6-recency-unknown', severity: 'critical', item: 6, message: 'Behaviour reported without saying whether it was in the past 3 months: treated as recent' });
    if (risk === 'high') flags.push({ code: 'cssrs-high-risk', severity: 'critical', message: 'High risk: safety precautions until evaluated by a mental-health professional' });

    return {
      instrumentId: 'cssrs',
      total: items.filter((x) => x === true).length,
      maxTotal: 6,
      band: risk,
      bandLabel: LABELS[risk],
      flags,
      criticalItems: risk === 'high' ? (triggers.high.filter((x) => typeof x === 'number') as number[]) : [],
      critical: risk === 'high',
      risk,
      triggeredBy: triggers[risk],
      recencyAssumed,
      answers: { items, item6b },
    };
  },
};

function validateCssrs(answers: unknown): { items: Array<boolean | null>; item6b: boolean | null } {
  if (!Array.isArray(answers)) throw new InvalidAnswersError('cssrs', [{ item: null, reason: 'answers must be a list of yes/no (true/false) values' }]);
  const problems: AnswerProblem[] = [];
  const at = (i: number): unknown => answers[i];
  const blank = (v: unknown) => v === null || v === undefined;
  const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
  const bad = (v: unknown) => `must be yes or no, got ${JSON.stringify(v)}`;

  for (const n of [1, 2, 6]) {
    const v = at(n - 1);
    if (blank(v)) problems.push({ item: n, reason: 'missing' });
    else if (!isBool(v)) problems.push({ item: n, reason: bad(v) });
  }
  const q2 = at(1);
  for (const n of [3, 4, 5]) {
    const v = at(n - 1);
    if (q2 === false) {
      if (v === true) problems.push({ item: n, reason: 'must be blank or "no": skipped because item 2 is "no" (a "yes" here contradicts item 2)' });
      else if (!blank(v) && !isBool(v)) problems.push({ item: n, reason: bad(v) });
    } else if (q2 === true) {
      if (blank(v)) problems.push({ item: n, reason: 'missing (item 2 is "yes", so items 3-5 are asked)' });
      else if (!isBool(v)) problems.push({ item: n, reason: bad(v) });
    } else if (!blank(v) && !isBool(v)) problems.push({ item: n, reason: bad(v) });
  }
  const v6b = at(6);
  if (at(5) === false && !blank(v6b)) problems.push({ item: '6b', reason: 'must be blank: item 6 is "no"' });
  else if (!blank(v6b) && !isBool(v6b)) problems.push({ item: '6b', reason: bad(v6b) });
  for (let i = 7; i < answers.length; i++) problems.push({ item: i + 1, reason: 'unexpected answer (C-SSRS screener has items 1-6 and 6b)' });
  if (problems.length > 0) throw new InvalidAnswersError('cssrs', problems);

  const items = [0, 1, 2, 3, 4, 5].map((i) => (blank(at(i)) || (q2 === false && i >= 2 && i <= 4) ? null : (at(i) as boolean)));
  return { items, item6b: blank(v6b) ? null : (v6b as boolean) };
}

/**
 * The answers as the record keeps them: items 3-5 skipped (null) when item 2 is "no", whether the
 * form left them blank or recorded "no" (they were not asked). Other answers unchanged; call it on
 * answers `cssrs.score` accepted.
 */
export function cssrsAsRecorded<T>(answers: readonly T[]): Array<T | null> {
  return answers.map((v, i) => (answers[1] === false && i >= 2 && i <= 4 ? null : v));
}

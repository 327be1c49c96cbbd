// Suicide-risk triage combining PHQ-9 item 9 and the C-SSRS screener (clinical.md section 4).
//
// Decisions, exactly:
// - The C-SSRS, when present, sets the level (none / low / moderate / high).
// - PHQ-9 item 9 > 0 raises the level to at least 'low' when a C-SSRS was done, and to 'moderate'
//   when it was not: a positive screen without a structured assessment cannot be called low.
// - critical = level 'high' OR PHQ-9 item 9 > 0. Critical means: clinician alert now and a safety
//   hold on dosing until a clinician reviews and releases it (releasing is not this function's job).
// - Any suicidal content endorsed by the client => show crisis resources at once.
// - PHQ-9 item 9 > 0 and no C-SSRS => complete a C-SSRS before the visit ends.
import type { CssrsRisk } from '../instruments/cssrs';
import { note, type Reason } from './decision';

export type RiskLevel = CssrsRisk;
const RANK: Record<RiskLevel, number> = { none: 0, low: 1, moderate: 2, high: 3 };
const max = (a: RiskLevel, b: RiskLevel): RiskLevel => (RANK[a] >= RANK[b] ? a : b);

export type TriageAction = 'clinician-alert' | 'safety-hold' | 'show-crisis-resources' | 'complete-cssrs';

export interface SuicideRiskInput {
  /** PHQ-9 item 9 answer (0-3), if a PHQ-9 was done. */
  phq9Item9?: number | null;
  /** C-SSRS screener result (or just its risk level), if done. */
  cssrs?: { risk: CssrsRisk; total?: number } | null;
}

export interface SuicideRiskTriage {
  level: RiskLevel;
  critical: boolean;
  actions: TriageAction[];
  reasons: Reason[];
}

export function triageSuicideRisk(input: SuicideRiskInput): SuicideRiskTriage {
  const item9 = input.phq9Item9 ?? null;
  if (item9 !== null && (!Number.isInteger(item9) || item9 < 0 || item9 > 3)) throw new RangeError(`PHQ-9 item 9 must be 0-3, got ${item9}`);
  const cssrs = input.cssrs ?? null;
  const reasons: Reason[] = [];
  let level: RiskLevel = 'none';

  if (cssrs) {
    level = cssrs.risk;
    reasons.push(note(`cssrs-${cssrs.risk}`, `C-SSRS screener: ${cssrs.risk} risk`));
  }
  const item9Positive = item9 !== null && item9 > 0;
  if (item9Positive) {
    level = max(level, cssrs ? 'low' : 'moderate');
    reasons.push(note('phq9-item9-positive', `PHQ-9 item 9 = ${item9} (thoughts of death or self-harm)${cssrs ? '' : '; no C-SSRS yet, so risk is treated as at least moderate'}`));
  } else if (item9 === 0) {
    reasons.push(note('phq9-item9-zero', 'PHQ-9 item 9 = 0'));
  }
  if (!cssrs && item9 === null) reasons.push(note('no-data', 'Neither PHQ-9 item 9 nor a C-SSRS was given'));

  const critical = level === 'high' || item9Positive;
  const actions: TriageAction[] = [];
  if (critical) actions.push('clinician-alert', 'safety-hold');
  const endorsed = item9Positive || (cssrs !== null && (cssrs.risk !== 'none' || (cssrs.total ?? 0) > 0));
  if (endorsed) actions.push('show-crisis-resources');
  if (item9Positive && !cssrs) actions.push('complete-cssrs');
  for (const r of reasons) r.blocking = critical && r.code !== 'phq9-item9-zero';
  return { level, critical, actions, reasons };
}

export function riskRank(level: RiskLevel): number {
  return RANK[level];
}

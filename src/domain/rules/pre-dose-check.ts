// The check before each dose (clinical.md section 3): proceed, or hold with every reason.
// Thresholds come from the course's pinned protocol. Anything required but not recorded holds:
// a missing answer is never read as a safe one.
import type { CssrsRisk } from '../instruments/cssrs';
import type { Protocol } from '../protocol';
import { block, note, type Decision, type Reason } from './decision';
import { triageSuicideRisk } from './suicide-risk';

export interface BloodPressure {
  systolic: number;
  diastolic: number;
}

export interface PreDoseInput {
  /** Resting reading before the dose. */
  bloodPressure?: BloodPressure | null;
  /** Hours since the client last ate, and last drank clear liquids (as confirmed at check-in). */
  hoursSinceFood?: number | null;
  hoursSinceClearLiquids?: number | null;
  escortConfirmed?: boolean;
  /** Any open safety hold on the course (e.g. from a critical answer) blocks until released. */
  openSafetyHolds?: ReadonlyArray<{ id: string; reason: string }>;
  /** What the client's baseline lacks (no baseline C-SSRS / PHQ-9, or one outside the protocol's window): each holds. */
  missingBaseline?: readonly string[];
  /** C-SSRS risk and PHQ-9 item 9 from the client's latest answers (a typed value may only raise them). */
  cssrsRisk?: CssrsRisk | null;
  phq9Item9?: number | null;
  benzodiazepine?: { taking: boolean; hoursSinceLastDose?: number | null };
  pregnancy?: 'negative' | 'positive' | 'unknown' | 'not-applicable';
  /** Interacting drugs started since clearance: a prescriber reviews them first. */
  newInteractingMedications?: readonly string[];
}

export type PreDoseDecision = 'proceed' | 'hold';

export function preDoseCheck(protocol: Protocol, input: PreDoseInput): Decision<PreDoseDecision> {
  const s = protocol.safety;
  const reasons: Reason[] = [];

  const bp = input.bloodPressure;
  if (!bp) reasons.push(block('bp-missing', 'No pre-dose blood pressure recorded'));
  else {
    if (bp.systolic > s.bloodPressure.maxSystolic) reasons.push(block('bp-systolic-high', `Systolic ${bp.systolic} mmHg is above the limit of ${s.bloodPressure.maxSystolic}`));
    if (bp.diastolic > s.bloodPressure.maxDiastolic) reasons.push(block('bp-diastolic-high', `Diastolic ${bp.diastolic} mmHg is above the limit of ${s.bloodPressure.maxDiastolic}`));
  }

  const fasting: Array<[number | null | undefined, number, string, string]> = [
    [input.hoursSinceFood, s.fasting.foodHours, 'food', 'fasting-food'],
    [input.hoursSinceClearLiquids, s.fasting.clearLiquidsHours, 'clear liquids', 'fasting-liquids'],
  ];
  for (const [hours, needed, what, code] of fasting) {
    if (needed <= 0) continue;
    if (hours === undefined || hours === null) reasons.push(block(`${code}-unconfirmed`, `Fasting from ${what} not confirmed (${needed} h required)`));
    else if (hours < needed) reasons.push(block(`${code}-not-met`, `Last ${what} ${hours} h ago; ${needed} h required`));
  }

  if (s.escortRequired && input.escortConfirmed !== true) reasons.push(block('no-escort', 'No escort / ride home confirmed'));

  for (const hold of input.openSafetyHolds ?? []) reasons.push(block('safety-hold-open', `Safety hold ${hold.id} is open: ${hold.reason}`));

  for (const m of input.missingBaseline ?? []) reasons.push(block('baseline-missing', `Baseline: ${m}`));
  const wants = protocol.assessments.beforeEachDose;
  if (wants.includes('cssrs') && (input.cssrsRisk === undefined || input.cssrsRisk === null)) reasons.push(block('cssrs-missing', 'C-SSRS not answered by the client'));
  if (wants.includes('phq9') && (input.phq9Item9 === undefined || input.phq9Item9 === null)) reasons.push(block('phq9-missing', 'PHQ-9 (item 9) not answered by the client'));
  const triage = triageSuicideRisk({ phq9Item9: input.phq9Item9 ?? null, cssrs: input.cssrsRisk ? { risk: input.cssrsRisk } : null });
  if (triage.critical) {
    reasons.push(block('suicide-risk-critical', `Suicide-risk triage is critical (${triage.level}): clinician review before dosing`));
  } else if (triage.level === 'moderate') {
    reasons.push(note('suicide-risk-moderate', 'Suicide-risk triage moderate: clinician to review at this visit'));
  }

  const benzo = input.benzodiazepine;
  if (benzo?.taking && s.benzodiazepinePauseHours > 0) {
    const h = benzo.hoursSinceLastDose;
    if (h === undefined || h === null) reasons.push(block('benzodiazepine-pause-unconfirmed', `Benzodiazepine pause not confirmed (${s.benzodiazepinePauseHours} h required)`));
    else if (h < s.benzodiazepinePauseHours) reasons.push(block('benzodiazepine-not-paused', `Last benzodiazepine ${h} h ago; pause of ${s.benzodiazepinePauseHours} h required`));
  }

  if (input.pregnancy === 'positive') reasons.push(block('pregnancy', 'Pregnant: ketamine/esketamine not recommended'));
  else if (s.pregnancyCheck && (input.pregnancy === undefined || input.pregnancy === 'unknown')) {
    reasons.push(block('pregnancy-status-unknown', 'Pregnancy status not confirmed (record negative or not applicable)'));
  }

  for (const med of input.newInteractingMedications ?? []) reasons.push(block('new-interacting-medication', `New interacting medication since clearance: ${med}`));

  return { decision: reasons.some((r) => r.blocking) ? 'hold' : 'proceed', reasons };
}

// Discharge readiness after a dose (clinical.md section 3): minimum monitoring time, every required
// BP check taken, vitals back near the pre-dose baseline, checklist done, responsible adult present.
import type { Protocol } from '../protocol';
import { block, type Decision, type Reason } from './decision';
import type { BloodPressure } from './pre-dose-check';

export interface BpReading extends BloodPressure {
  /** Which scheduled check this reading is: minutes after the start of dosing (0 = pre-dose), or 'discharge'. */
  at: number | 'discharge';
}

export interface DischargeInput {
  /** Minutes since dosing started. */
  minutesSinceDoseStart: number;
  readings: readonly BpReading[];
  /** Latest SpO2, %, where the protocol sets a minimum. */
  spo2Percent?: number | null;
  /** Checklist item id -> done. */
  checklist: Readonly<Record<string, boolean>>;
  responsibleAdultPresent: boolean;
}

export type DischargeDecision = 'ready' | 'not-ready';

export function dischargeReadiness(protocol: Protocol, input: DischargeInput): Decision<DischargeDecision> {
  const s = protocol.safety;
  const reasons: Reason[] = [];

  if (!(input.minutesSinceDoseStart >= s.minMonitoringMinutes)) {
    const left = Math.max(1, Math.ceil(s.minMonitoringMinutes - input.minutesSinceDoseStart));
    reasons.push(block('monitoring-time', `Monitored ${input.minutesSinceDoseStart} min; at least ${s.minMonitoringMinutes} min required (${left} min left)`));
  }
  const readingAt = (at: number | 'discharge') => [...input.readings].reverse().find((r) => r.at === at);
  for (const at of s.bloodPressure.checkMinutes) {
    if (!readingAt(at)) reasons.push(block('bp-check-missing', at === 'discharge' ? 'Blood pressure before discharge not taken' : at === 0 ? 'Pre-dose blood pressure not recorded' : `Blood pressure at ${at} min not taken`));
  }
  const baseline = readingAt(0);
  const last = readingAt('discharge');
  if (baseline && last) {
    const maxS = baseline.systolic + s.bloodPressure.dischargeMaxAboveBaselineSystolic;
    const maxD = baseline.diastolic + s.bloodPressure.dischargeMaxAboveBaselineDiastolic;
    if (last.systolic > maxS) reasons.push(block('bp-not-near-baseline', `Systolic ${last.systolic} is more than ${s.bloodPressure.dischargeMaxAboveBaselineSystolic} above baseline ${baseline.systolic}`));
    if (last.diastolic > maxD) reasons.push(block('bp-not-near-baseline', `Diastolic ${last.diastolic} is more than ${s.bloodPressure.dischargeMaxAboveBaselineDiastolic} above baseline ${baseline.diastolic}`));
  }
  if (s.minSpO2Percent !== undefined) {
    const spo2 = input.spo2Percent;
    if (spo2 === undefined || spo2 === null) reasons.push(block('spo2-missing', 'SpO2 not recorded'));
    else if (spo2 < s.minSpO2Percent) reasons.push(block('spo2-low', `SpO2 ${spo2}% is below ${s.minSpO2Percent}%`));
  }
  for (const item of s.dischargeChecklist) {
    if (input.checklist[item.id] !== true) reasons.push(block(`checklist:${item.id}`, `Not done: ${item.label}`));
  }
  if (s.escortRequired && !input.responsibleAdultPresent) reasons.push(block('no-responsible-adult', 'No responsible adult present to take the client home'));

  return { decision: reasons.length > 0 ? 'not-ready' : 'ready', reasons };
}

// What a course carries: the state of the course machine, as plain JSON (it crosses continue-as-new).
// Types only, plus the two rules that read a hold's kind. Imports nothing above the domain.
import type { Reason } from '../../domain/rules/decision';
import type { RiskLevel } from '../../domain/rules/suicide-risk';
import type { BpReading } from '../../domain/rules/discharge-readiness';
import type { InstrumentId } from '../../domain/instruments/instrument-id';
import type { AssessmentInstrumentResult } from '../contracts';
import type { SessionDose, SessionStatus } from '../../domain/records';

export type CourseStatus = 'active' | 'paused' | 'completed' | 'withdrawn' | 'ineligible';
export type { SessionStatus };
export type StepStatus = 'pending' | 'open' | 'done' | 'skipped' | 'cancelled';

export interface SessionState {
  status: SessionStatus;
  startsAt: number | null;
  scheduleCount: number;
  noShowCount: number;
  reminders: Array<{ hoursBefore: number; at: number; sent: boolean }>;
  preDose: { decision: 'proceed' | 'hold'; reasons: Reason[]; at: number; count: number } | null;
  readings: BpReading[];
  spo2: number | null;
  doseAt: number | null;
  dose: SessionDose | null;
  dischargedAt: number | null;
  vitalsCount: number;
}

export interface StepRuntime {
  id: string;
  status: StepStatus;
  openedAt: number | null;
  deadlineAt: number | null;
  /** Bumped whenever the deadline moves, so escalation keys restart for the new deadline. */
  deadlineSeq: number;
  overdue: boolean;
  escalationsSent: number;
  completedAt: number | null;
  outcome: string | null;
  session: SessionState | null;
  assessmentId: string | null;
  detail: Record<string, unknown>;
}

export interface AssessmentRuntime {
  id: string;
  stepKey: string;
  instruments: InstrumentId[];
  trigger: 'scheduled' | 'staff';
  status: 'pending' | 'completed' | 'partial' | 'missed' | 'cancelled';
  results: AssessmentInstrumentResult[];
  /** Workflow time it finished (the signal's time); an instrument's answeredAt is used when present. */
  finishedAt?: number;
}

/**
 * An open safety hold. The workflow is the one source of truth: every hold is opened and closed here,
 * and each change is projected (table safety_events) in the same transition's projection write.
 *   pre-dose-hold   a pre-dose check held the dose (blood pressure, fasting, escort...): closes when a
 *                   later pre-dose check of that session proceeds, a clinician's review, or the course ends.
 *   pre-dose-risk   the pre-dose check's suicide-risk triage was critical.
 *   critical-answer a critical answer on an assessment (PHQ-9 item 9, C-SSRS).
 *   adverse-event   a serious adverse event.
 *   screening-risk  a suicide-related hard stop answered yes at screening (active suicidal ideation
 *                   with intent), whether the course then ends ineligible or goes on by an override.
 * Holds about suicide risk (`suicideRisk`) close only by a clinician's review: when the course ends
 * they stay open (handed over to the review route on ended courses, see src/api/README.md); every
 * other hold closes when the course ends.
 */
export interface SafetyHold {
  id: string;
  kind: 'critical-answer' | 'adverse-event' | 'pre-dose-risk' | 'pre-dose-hold' | 'screening-risk';
  /** In full: the values or the endorsed items that opened it. */
  reason: string;
  /** Suicide-risk level; null for holds that carry none (a blood-pressure hold). */
  level: RiskLevel | null;
  at: number;
  stepKey: string | null;
  /** About suicide risk: only a clinician's review closes it (absent in states carried from before: see isSuicideRiskHold). */
  suicideRisk?: boolean;
  assessmentId?: string | null;
}

/** Whether only a clinician's review closes this hold. */
export function isSuicideRiskHold(h: Pick<SafetyHold, 'kind' | 'suicideRisk'>): boolean {
  return h.suicideRisk ?? (h.kind === 'critical-answer' || h.kind === 'pre-dose-risk');
}

/** What closes a hold, as staff read it in the queue. */
export function holdClosesWhen(h: Pick<SafetyHold, 'kind' | 'suicideRisk'>): string {
  if (isSuicideRiskHold(h)) return 'a clinician reviews it';
  if (h.kind === 'pre-dose-hold') return 'a pre-dose check of this session that proceeds, a clinician reviews it, or the course ends';
  return 'a clinician reviews it, or the course ends';
}

/** Everything a course carries across continue-as-new. Plain JSON. */
export interface CourseMachineState {
  version: 1;
  courseId: string;
  clientId: string;
  clinicId: string;
  timeScale: number;
  startedAt: number;
  status: CourseStatus;
  pausedAt: number | null;
  pauseReason: string | null;
  endedAt: number | null;
  endReason: string | null;
  riskLevel: RiskLevel;
  primaryClinicianId: string | null;
  steps: Record<string, StepRuntime>;
  firstDoseAt: number | null;
  lastDoseAt: number | null;
  dosesGiven: number;
  courseEndAt: number | null;
  screening: { decision: string; codes: string[] } | null;
  clearance: { decision: string; reason: string | null } | null;
  remsEnrolled: boolean;
  consented: boolean;
  maintenance: 'maintenance' | 'complete' | null;
  /**
   * Maintenance, once the prescriber chose it: how many boosters (`booster-1..n`) and booster reviews
   * (`booster-review-1..n`) the booster rule added to the plan, and whether a relapse waits for the
   * boosters' minimum spacing. Absent on every other course (and on states from before it).
   */
  boosters?: MaintenanceState;
  holds: SafetyHold[];
  assessments: Record<string, AssessmentRuntime>;
  counters: { event: number; adhoc: number; adverse: number; hold: number };
}

export interface MaintenanceState {
  added: number;
  reviews: number;
  relapseWaiting: boolean;
}

export interface CourseInit {
  courseId: string;
  clientId: string;
  clinicId: string;
  timeScale: number;
  primaryClinicianId?: string | null;
}

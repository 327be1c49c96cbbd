// What the course looks like from outside: the step it waits on, and the full view (the course state
// query, the workflow's tests). Pure functions of the plan and the state; below the progression.
import type { PlannedStep } from '../../domain/plan-course';
import type { Protocol, Role } from '../../domain/protocol';
import type { Reason } from '../../domain/rules/decision';
import type { RiskLevel } from '../../domain/rules/suicide-risk';
import { isoTime as iso } from '../../domain/time';
import { holdClosesWhen, isSuicideRiskHold, type AssessmentRuntime, type CourseMachineState, type CourseStatus, type SessionState, type StepStatus } from './state';

export interface StepView {
  id: string;
  name: string;
  kind: string;
  phase: string;
  status: StepStatus;
  overdue: boolean;
  owner: Role | null;
  openedAt: string | null;
  deadlineAt: string | null;
  completedAt: string | null;
  outcome: string | null;
  escalationLevel: number;
  session: (Omit<SessionState, 'startsAt' | 'doseAt' | 'dischargedAt' | 'reminders' | 'preDose'> & {
    startsAt: string | null;
    doseAt: string | null;
    dischargedAt: string | null;
    preDose: { decision: string; reasons: Reason[] } | null;
  }) | null;
  assessmentId: string | null;
}

export interface CourseView {
  courseId: string;
  clinicId: string;
  protocol: string;
  status: CourseStatus;
  currentStep: string | null;
  currentStepDeadline: string | null;
  riskLevel: RiskLevel;
  safetyHolds: Array<{ id: string; kind: string; reason: string; level: RiskLevel | null; at: string; stepKey: string | null; suicideRisk: boolean; closesWhen: string }>;
  primaryClinicianId: string | null;
  pauseReason: string | null;
  endReason: string | null;
  endedAt: string | null;
  dosesGiven: number;
  courseEndAt: string | null;
  maintenance: string | null;
  steps: StepView[];
  assessments: AssessmentRuntime[];
  /** Workflow time of this view. */
  asOf: string;
}

const ENDED: ReadonlySet<CourseStatus> = new Set(['completed', 'withdrawn', 'ineligible']);

/** Steps that later steps in the main line wait for: everything but paperwork side-branches and follow-ups. */
export function blocksMainLine(p: PlannedStep): boolean {
  return p.kind !== 'rems-monitoring-form' && p.timing.anchor !== 'course-end';
}

/** The step the course waits on now: the first open step of the main line, else the next pending one. */
export function waitingOn(plan: readonly PlannedStep[], state: CourseMachineState): { stepKey: string | null; deadlineAt: number | null } {
  if (ENDED.has(state.status)) return { stepKey: null, deadlineAt: null };
  const open = plan.filter((p) => state.steps[p.id]!.status === 'open');
  const main = open.find((p) => blocksMainLine(p)) ?? open[0];
  if (main) return { stepKey: main.id, deadlineAt: state.steps[main.id]!.deadlineAt };
  const next = plan.find((p) => state.steps[p.id]!.status === 'pending');
  return { stepKey: next?.id ?? null, deadlineAt: null };
}

/** `waitingOn`, as the search attributes and the course row show it. */
export function currentStep(plan: readonly PlannedStep[], state: CourseMachineState): { currentStep: string | null; currentStepDeadline: string | null } {
  const w = waitingOn(plan, state);
  return { currentStep: w.stepKey, currentStepDeadline: iso(w.deadlineAt) };
}

export function courseView(protocol: Protocol, plan: readonly PlannedStep[], state: CourseMachineState, now: number): CourseView {
  const cur = currentStep(plan, state);
  return {
    courseId: state.courseId,
    clinicId: state.clinicId,
    protocol: `${protocol.id}@${protocol.version}`,
    status: state.status,
    currentStep: cur.currentStep,
    currentStepDeadline: cur.currentStepDeadline,
    riskLevel: state.riskLevel,
    safetyHolds: state.holds.map((h) => ({ id: h.id, kind: h.kind, reason: h.reason, level: h.level, at: iso(h.at), stepKey: h.stepKey, suicideRisk: isSuicideRiskHold(h), closesWhen: holdClosesWhen(h) })),
    primaryClinicianId: state.primaryClinicianId,
    pauseReason: state.pauseReason,
    endReason: state.endReason,
    endedAt: iso(state.endedAt),
    dosesGiven: state.dosesGiven,
    courseEndAt: iso(state.courseEndAt),
    maintenance: state.maintenance,
    steps: plan.map((p) => stepView(p, state)),
    assessments: Object.values(state.assessments),
    asOf: iso(now),
  };
}

function stepView(p: PlannedStep, state: CourseMachineState): StepView {
  const s = state.steps[p.id]!;
  const ses = s.session;
  return {
    id: p.id,
    name: p.name,
    kind: p.kind,
    phase: p.phaseId,
    status: s.status,
    overdue: s.overdue,
    owner: p.owner,
    openedAt: iso(s.openedAt),
    deadlineAt: iso(s.deadlineAt),
    completedAt: iso(s.completedAt),
    outcome: s.outcome,
    escalationLevel: s.escalationsSent,
    assessmentId: s.assessmentId,
    session: ses
      ? {
          status: ses.status,
          scheduleCount: ses.scheduleCount,
          noShowCount: ses.noShowCount,
          readings: ses.readings,
          spo2: ses.spo2,
          dose: ses.dose,
          vitalsCount: ses.vitalsCount,
          startsAt: iso(ses.startsAt),
          doseAt: iso(ses.doseAt),
          dischargedAt: iso(ses.dischargedAt),
          preDose: ses.preDose ? { decision: ses.preDose.decision, reasons: ses.preDose.reasons } : null,
        }
      : null,
  };
}

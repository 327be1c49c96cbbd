// Expands a protocol into the ordered, concrete steps of one course: the list a workflow walks.
import type { InstrumentId } from './instruments/instrument-id';
import type { AssessmentPoint, Protocol, ProtocolStep, Role, StepKind } from './protocol';

/** When a planned step may open (become actionable). Its deadline counts from that moment. */
export type StepTiming =
  /** As soon as the step before it in the plan is done. */
  | { anchor: 'previous-step' }
  /** On the target day counted from the first dose (doses 2..n); never before the previous step is done. */
  | { anchor: 'first-dose'; offsetDays: number }
  /** As soon as the named step (this session's dose) is done: integration, REMS form. */
  | { anchor: 'step'; stepId: string }
  /** This many days after the course ends (the last dose is done): follow-ups. */
  | { anchor: 'course-end'; offsetDays: number };

export interface PlannedStep {
  /** Unique within the course: `screening`, `prep-2`, `dose-3`, `integration-3`, `followup-90d`. */
  id: string;
  /** The protocol step it came from (`dose` for `dose-3`). */
  templateId: string;
  phaseId: string;
  kind: StepKind;
  name: string;
  waitsOn: 'person' | 'system';
  /** Who the course waits on; null for system steps. */
  owner: Role | null;
  /** Hours from opening until the step is overdue; null for system steps without one. */
  deadlineHours: number | null;
  /** 1-based session number for repeated steps (prep-2 => 2); days for follow-ups; null otherwise. */
  session: number | null;
  timing: StepTiming;
  assessmentPoint: AssessmentPoint | null;
  /** Instruments to collect at this step (from the protocol's assessment schedule). */
  instruments: InstrumentId[];
  /** A step of maintenance, added to a running course: a booster's steps, or a prescriber's booster review. */
  maintenance?: 'booster' | 'review';
}

/** What a course in maintenance has added to its plan (the course machine's state counts them). */
export interface MaintenanceSteps {
  /** Booster sessions added: `booster-1..n`, each with the protocol's other per-dose steps (`booster-integration-1`...). */
  boosters?: number;
  /** Prescriber reviews the booster rule opened: `booster-review-1..n`. */
  reviews?: number;
}

/** The phase every maintenance step belongs to. */
export const MAINTENANCE_PHASE_ID = 'maintenance';

/**
 * The ordered step list for a course on `protocol`, with the maintenance steps a course in maintenance
 * has added (none by default). Pure and deterministic.
 */
export function planCourse(protocol: Protocol, maintenance: MaintenanceSteps = {}): PlannedStep[] {
  const out: PlannedStep[] = [];
  const { course, assessments } = protocol;
  for (const phase of protocol.phases) {
    switch (phase.repeat) {
      case 'once':
        for (const step of phase.steps) out.push(planned(protocol, phase.id, step, step.id, null, { anchor: 'previous-step' }));
        break;
      case 'per-preparation-session':
        for (let n = 1; n <= course.preparationSessions; n++) {
          for (const step of phase.steps) out.push(planned(protocol, phase.id, step, `${step.id}-${n}`, n, { anchor: 'previous-step' }));
        }
        break;
      case 'per-dosing-session':
        for (let n = 1; n <= course.dosingSessions; n++) {
          const dose = phase.steps.find((s) => s.kind === 'dosing') ?? phase.steps[0]!;
          const doseId = `${dose.id}-${n}`;
          for (const step of phase.steps) {
            const timing: StepTiming =
              step === dose
                ? n === 1
                  ? { anchor: 'previous-step' }
                  : { anchor: 'first-dose', offsetDays: course.doseScheduleDays[n - 1] ?? 0 }
                : { anchor: 'step', stepId: doseId };
            out.push(planned(protocol, phase.id, step, `${step.id}-${n}`, n, timing));
          }
        }
        break;
      case 'per-follow-up':
        for (const [k, followUp] of assessments.followUps.entries()) {
          for (const step of phase.steps) {
            const p = planned(protocol, phase.id, step, `${step.id}-${followUp.afterCourseDays}d`, followUp.afterCourseDays, {
              anchor: 'course-end',
              offsetDays: followUp.afterCourseDays,
            });
            if (step.assessmentPoint === 'follow-up') p.instruments = [...(assessments.followUps[k]?.instruments ?? [])];
            out.push(p);
          }
        }
        break;
    }
  }
  if (maintenance.boosters || maintenance.reviews) out.push(...planMaintenance(protocol, out, maintenance));
  return out;
}

/**
 * Maintenance steps, after the course's own: booster n is a dosing session with every step the
 * protocol gives each dose (the pre-dose check, the before-dose assessments, monitoring, discharge;
 * integration and the REMS form where the protocol has them, opening after that booster's dose), named
 * "Booster session n"; a booster review is the prescriber's task, owned and timed like the
 * maintenance decision (a `task` step, closed by task-complete). All of them open once the maintenance
 * decision is done (the course adds them when the booster rule says so); a protocol without a maintenance decision or a dosing phase has none.
 */
function planMaintenance(protocol: Protocol, plan: readonly PlannedStep[], { boosters = 0, reviews = 0 }: MaintenanceSteps): PlannedStep[] {
  const decision = plan.find((p) => p.kind === 'maintenance-decision');
  const phase = protocol.phases.find((ph) => ph.repeat === 'per-dosing-session');
  const dose = phase?.steps.find((s) => s.kind === 'dosing');
  if (!decision || !phase || !dose) return [];
  const out: PlannedStep[] = [];
  const afterDecision: StepTiming = { anchor: 'step', stepId: decision.id };
  for (let n = 1; n <= boosters; n++) {
    const doseId = `booster-${n}`;
    for (const step of phase.steps) {
      const p = planned(protocol, MAINTENANCE_PHASE_ID, step, step === dose ? doseId : `booster-${step.id}-${n}`, n, step === dose ? afterDecision : { anchor: 'step', stepId: doseId });
      p.name = step === dose ? `Booster session ${n}` : `${step.name} (booster ${n})`;
      p.maintenance = 'booster';
      out.push(p);
    }
  }
  for (let n = 1; n <= reviews; n++) {
    out.push({
      id: `booster-review-${n}`,
      templateId: decision.templateId,
      phaseId: MAINTENANCE_PHASE_ID,
      // A task (closed by task-complete, the dashboard's "Mark done"): a 'review' step's action is the safety review.
      kind: 'task',
      name: `Booster review ${n}`,
      waitsOn: 'person',
      owner: decision.owner ?? 'prescriber',
      deadlineHours: decision.deadlineHours,
      session: n,
      timing: afterDecision,
      assessmentPoint: null,
      instruments: [],
      maintenance: 'review',
    });
  }
  return out;
}

/**
 * A step's name by its key on a course of `protocol`, maintenance steps included ("Booster session 2"
 * for `booster-2`); null for a key the protocol does not plan. For readers that plan from a snapshot.
 */
export function plannedStepName(protocol: Protocol, stepKey: string): string | null {
  const n = /^booster-(?:[a-z0-9-]+-)?(\d+)$/.exec(stepKey);
  const k = n ? Number(n[1]) : 0;
  if (k > 1000) return null;
  return planCourse(protocol, { boosters: k, reviews: k }).find((p) => p.id === stepKey)?.name ?? null;
}

function planned(protocol: Protocol, phaseId: string, step: ProtocolStep, id: string, session: number | null, timing: StepTiming): PlannedStep {
  return {
    id,
    templateId: step.id,
    phaseId,
    kind: step.kind,
    name: session === null ? step.name : `${step.name} ${timing.anchor === 'course-end' ? `(day ${session})` : session}`,
    waitsOn: step.waitsOn,
    owner: step.owner ?? null,
    deadlineHours: step.deadlineHours ?? null,
    session,
    timing,
    assessmentPoint: step.assessmentPoint ?? null,
    instruments: instrumentsAt(protocol, step.assessmentPoint),
  };
}

function instrumentsAt(protocol: Protocol, point: AssessmentPoint | undefined): InstrumentId[] {
  const a = protocol.assessments;
  switch (point) {
    case 'baseline':
      return [...a.baseline];
    case 'before-dose':
      return [...a.beforeEachDose];
    case 'after-course':
      return [...a.afterCourse];
    default:
      return []; // follow-up instruments are filled per follow-up by the caller
  }
}

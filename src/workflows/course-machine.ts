// The state and rules of one course of care, as a plain class: no Temporal imports, no I/O, no clock
// (every method takes `now`). The workflow (course.ts) feeds it messages and time and executes the
// output it produces (projections, notifications, assessment children). Unit-testable on its own.
//
// Time: protocol durations (hours/days/minutes) are divided by `timeScale` to get real durations, so a
// course at timeScale 86400 lives one protocol day per second. Stored times are epoch ms of workflow time.
import type { CourseRecord } from '../activities/course-records';
import type { NotifyInput, Recipient } from '../activities/contracts';
import type { CourseProjectionInput } from '../activities/projections';
import type { StepState as ProjectedStepState } from '../db/schema';
import { planCourse, type PlannedStep } from '../domain/plan-course';
import type { Protocol, Role } from '../domain/protocol';
import { checkEligibility, HARD_STOPS, readAnswer, SUICIDE_HARD_STOPS, type HardStopOverride, type ScreeningRecord } from '../domain/rules/eligibility';
import { preDoseCheck } from '../domain/rules/pre-dose-check';
import { dischargeReadiness, type BpReading } from '../domain/rules/discharge-readiness';
import { riskRank, type RiskLevel } from '../domain/rules/suicide-risk';
import type { Reason } from '../domain/rules/decision';
import { isInstrumentId, type InstrumentId } from '../domain/instruments/instrument-id';
import {
  ADVERSE_EVENT_CATEGORIES,
  type ActorRef,
  type AssessmentCriticalSignal,
  type AssessmentFinishedSignal,
  type LateCriticalAnswerInput,
  type AssessmentInstrumentResult,
  type CourseActionInputs,
  type CourseActionName,
  type RejectionType,
} from './messages';
import type { AssessmentInput } from './assessment-machine';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** A scheduled session not recorded this long after its start time is overdue. */
const SESSION_GRACE_HOURS = 24;
/** Reminders before each session, in protocol hours. */
const REMINDER_HOURS_BEFORE = [48, 24] as const;

export class Rejection extends Error {
  constructor(
    readonly type: RejectionType,
    message: string,
    readonly reasons: Reason[] = [],
  ) {
    super(message);
    this.name = 'Rejection';
  }
}

export type CourseStatus = 'active' | 'paused' | 'completed' | 'withdrawn' | 'ineligible';
export type SessionStatus = 'unscheduled' | 'scheduled' | 'no-show' | 'checked-in' | 'held' | 'dosed' | 'completed' | 'cancelled';
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
  dose: { route: string; doseMg: number | null; lotNumber: string | null } | null;
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
  holds: SafetyHold[];
  assessments: Record<string, AssessmentRuntime>;
  counters: { event: number; adhoc: number; adverse: number; hold: number };
}

export interface CourseInit {
  courseId: string;
  clientId: string;
  clinicId: string;
  timeScale: number;
  primaryClinicianId?: string | null;
}

/** What the workflow must do after a transition. */
export interface MachineOutput {
  projection: CourseProjectionInput | null;
  notifications: NotifyInput[];
  startAssessments: AssessmentInput[];
  cancelAssessments: string[];
}

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

const iso = (t: number | null | undefined) => (t === null || t === undefined ? null : new Date(t).toISOString());
const SESSION_KINDS = new Set(['preparation', 'dosing', 'integration']);
const PAUSE_EXEMPT: ReadonlySet<CourseActionName> = new Set(['resume', 'withdraw', 'adverse-event', 'safety-review', 'change-clinician', 'send-assessment', 'rems-form']);

type Outcome = { outcome: string; reasons?: Reason[]; assessmentId?: string };
type Plan = () => Outcome;

/** The id a record names for an actor: the staff member, or `token:<id>` for a token without one. */
function actorRefId(actor: ActorRef | undefined): string | null {
  return actor?.staffId ?? (actor?.tokenId ? `token:${actor.tokenId}` : null);
}

/** A review's notes, shortened for the timeline and the audit log (the full text stays in the workflow). */
function notesSummary(notes: string | undefined): { notesSummary?: string } {
  const t = notes?.trim().replace(/\s+/g, ' ');
  if (!t) return {};
  return { notesSummary: t.length > 200 ? `${t.slice(0, 199)}…` : t };
}

export class CourseMachine {
  readonly plan: PlannedStep[];
  private readonly byId: Map<string, PlannedStep>;
  private out: { steps: Set<string>; records: CourseRecord[]; notifications: NotifyInput[]; start: AssessmentInput[]; cancel: string[]; course: boolean } = {
    steps: new Set(),
    records: [],
    notifications: [],
    start: [],
    cancel: [],
    course: false,
  };

  constructor(
    readonly protocol: Protocol,
    readonly state: CourseMachineState,
  ) {
    this.plan = planCourse(protocol);
    this.byId = new Map(this.plan.map((p) => [p.id, p]));
  }

  static create(protocol: Protocol, init: CourseInit, now: number): CourseMachine {
    const steps: Record<string, StepRuntime> = {};
    const m = new CourseMachine(protocol, {
      version: 1,
      courseId: init.courseId,
      clientId: init.clientId,
      clinicId: init.clinicId,
      timeScale: init.timeScale > 0 ? init.timeScale : 1,
      startedAt: now,
      status: 'active',
      pausedAt: null,
      pauseReason: null,
      endedAt: null,
      endReason: null,
      riskLevel: 'none',
      primaryClinicianId: init.primaryClinicianId ?? null,
      steps,
      firstDoseAt: null,
      lastDoseAt: null,
      dosesGiven: 0,
      courseEndAt: null,
      screening: null,
      clearance: null,
      remsEnrolled: !protocol.rems?.patientEnrollmentRequired,
      consented: false,
      maintenance: null,
      holds: [],
      assessments: {},
      counters: { event: 0, adhoc: 0, adverse: 0, hold: 0 },
    });
    for (const p of m.plan) {
      steps[p.id] = { id: p.id, status: 'pending', openedAt: null, deadlineAt: null, deadlineSeq: 0, overdue: false, escalationsSent: 0, completedAt: null, outcome: null, session: null, assessmentId: null, detail: {} };
    }
    m.event('course.started', null, undefined, { protocol: `${protocol.id}@${protocol.version}`, timeScale: m.state.timeScale }, now);
    m.out.course = true;
    m.tick(now);
    return m;
  }

  // ---------------------------------------------------------------- time

  /** Real milliseconds for protocol hours. */
  hours(h: number): number {
    return (h * HOUR) / this.state.timeScale;
  }
  /** Protocol minutes elapsed in a real interval. */
  protocolMinutes(ms: number): number {
    return (ms * this.state.timeScale) / 60_000;
  }

  get finished(): boolean {
    return this.state.status === 'completed' || this.state.status === 'withdrawn' || this.state.status === 'ineligible';
  }

  /** Advance everything time-driven up to `now`: open steps, send reminders, escalate breaches, finish. */
  tick(now: number): void {
    if (this.finished || this.state.status === 'paused') return;
    let changed = true;
    while (changed) {
      changed = false;
      for (const p of this.plan) {
        const s = this.state.steps[p.id]!;
        if (s.status === 'pending' && this.canOpen(p, now)) {
          this.openStep(p, now);
          changed = true;
        }
      }
    }
    for (const p of this.plan) {
      const s = this.state.steps[p.id]!;
      if (s.status !== 'open') continue;
      const ses = s.session;
      if (ses && ses.status === 'scheduled') {
        for (const r of ses.reminders) {
          if (!r.sent && now >= r.at) {
            r.sent = true;
            this.sendReminder(p, s, r.hoursBefore);
          }
        }
      }
      this.escalate(p, s, now);
    }
    if (this.plan.every((p) => ['done', 'skipped', 'cancelled'].includes(this.state.steps[p.id]!.status))) {
      this.end('completed', this.state.maintenance === 'maintenance' ? 'maintenance' : 'course-complete', now);
    }
  }

  /** The next time `tick` has something to do, or null (wait for messages only). */
  nextWakeAt(now: number): number | null {
    if (this.finished || this.state.status === 'paused') return null;
    let next = Infinity;
    const consider = (t: number | null) => {
      if (t !== null && t > now && t < next) next = t;
    };
    for (const p of this.plan) {
      const s = this.state.steps[p.id]!;
      if (s.status === 'pending' && p.timing.anchor === 'course-end' && this.state.courseEndAt !== null) {
        consider(this.state.courseEndAt + this.hours(p.timing.offsetDays * 24));
      }
      if (s.status !== 'open') continue;
      if (s.session?.status === 'scheduled') for (const r of s.session.reminders) if (!r.sent) consider(r.at);
      const levels = this.protocol.escalation.levels;
      if (s.deadlineAt !== null && p.kind !== 'assessment' && s.escalationsSent < levels.length) {
        consider(s.deadlineAt + this.hours(levels[s.escalationsSent]!.afterBreachHours) + 1);
      }
    }
    return next === Infinity ? null : next;
  }

  // ---------------------------------------------------------------- opening steps

  private isDone(id: string): boolean {
    const st = this.state.steps[id]!.status;
    return st === 'done' || st === 'skipped';
  }

  /** Steps that later steps in the main line wait for: everything but paperwork side-branches and follow-ups. */
  private blocking(p: PlannedStep): boolean {
    return p.kind !== 'rems-monitoring-form' && p.timing.anchor !== 'course-end';
  }

  /** The first earlier step this one waits for, if any. */
  private waitingFor(p: PlannedStep): PlannedStep | null {
    const t = p.timing;
    if (t.anchor === 'step') return this.isDone(t.stepId) ? null : this.byId.get(t.stepId)!;
    if (t.anchor === 'course-end') return null;
    for (const q of this.plan) {
      if (q === p) break;
      if (this.blocking(q) && !this.isDone(q.id)) return q;
    }
    return null;
  }

  private canOpen(p: PlannedStep, now: number): boolean {
    const t = p.timing;
    if (t.anchor === 'course-end') return this.state.courseEndAt !== null && now >= this.state.courseEndAt + this.hours(t.offsetDays * 24);
    return this.waitingFor(p) === null;
  }

  private targetAt(p: PlannedStep): number | null {
    if (p.timing.anchor === 'first-dose' && this.state.firstDoseAt !== null) return this.state.firstDoseAt + this.hours(p.timing.offsetDays * 24);
    return null;
  }

  private openStep(p: PlannedStep, now: number): void {
    const s = this.state.steps[p.id]!;
    s.status = 'open';
    s.openedAt = now;
    let deadlineFrom = now;
    const target = this.targetAt(p);
    if (target !== null && target > now) deadlineFrom = target;
    let deadlineHours = p.deadlineHours;
    if (p.kind === 'integration' && this.protocol.course.integrationWindowHours) deadlineHours = this.protocol.course.integrationWindowHours;
    s.deadlineAt = deadlineHours !== null ? deadlineFrom + this.hours(deadlineHours) : null;
    if (target !== null) s.detail.targetAt = iso(target);
    if (SESSION_KINDS.has(p.kind)) {
      s.session = { status: 'unscheduled', startsAt: null, scheduleCount: 0, noShowCount: 0, reminders: [], preDose: null, readings: [], spo2: null, doseAt: null, dose: null, dischargedAt: null, vitalsCount: 0 };
      this.sessionRecord(p, s);
    }
    if (p.kind === 'rems-monitoring-form') this.remsRecord(p, s, now, null);
    this.touch(p.id);
    this.event('step.opened', p.id, undefined, { deadlineAt: iso(s.deadlineAt) }, now);
    if (p.instruments.length > 0) {
      this.startAssessment(`${this.state.courseId}/${p.id}`, p.id, p.instruments, 'scheduled', now);
      s.assessmentId = `${this.state.courseId}/${p.id}`;
    } else if (p.kind === 'assessment') {
      this.complete(p, s, 'no-instruments', now);
    }
  }

  private complete(p: PlannedStep, s: StepRuntime, outcome: string, now: number, status: StepStatus = 'done'): void {
    s.status = status;
    s.completedAt = now;
    s.outcome = outcome;
    s.overdue = false;
    this.touch(p.id);
  }

  // ---------------------------------------------------------------- deadlines and escalation

  private escalate(p: PlannedStep, s: StepRuntime, now: number): void {
    if (s.deadlineAt === null || p.kind === 'assessment') return;
    const levels = this.protocol.escalation.levels;
    while (s.escalationsSent < levels.length && now > s.deadlineAt + this.hours(levels[s.escalationsSent]!.afterBreachHours)) {
      const level = levels[s.escalationsSent]!;
      const role: Role = level.notify === 'owner' ? (p.owner && p.owner !== 'client' ? p.owner : 'coordinator') : level.notify;
      this.notify(`${this.state.courseId}/${p.id}/d${s.deadlineSeq}/escalation-${s.escalationsSent}`, 'step-escalation', { kind: 'role', role: role as Exclude<Role, 'client'> }, {
        stepKey: p.id,
        deadlineAt: iso(s.deadlineAt),
        level: s.escalationsSent,
      });
      if (!s.overdue) this.event('step.overdue', p.id, undefined, { deadlineAt: iso(s.deadlineAt) }, now);
      s.overdue = true;
      s.escalationsSent++;
      this.event('step.escalated', p.id, undefined, { level: s.escalationsSent - 1, notify: role }, now);
      this.touch(p.id);
    }
  }

  private setDeadline(p: PlannedStep, s: StepRuntime, at: number | null): void {
    s.deadlineAt = at;
    s.deadlineSeq++;
    s.escalationsSent = 0;
    s.overdue = false;
    this.touch(p.id);
  }

  // ---------------------------------------------------------------- messages

  /** Throws a Rejection when the action is not allowed now. Never changes state. */
  validate<K extends CourseActionName>(name: K, input: CourseActionInputs[K], now: number): void {
    this.prepare(name, input, now);
  }

  /** Validates and applies an action; the workflow then flushes `takeOutput()`. */
  apply<K extends CourseActionName>(name: K, input: CourseActionInputs[K], now: number): Outcome {
    const commit = this.prepare(name, input, now);
    const result = commit();
    this.out.course = true;
    this.tick(now);
    return result;
  }

  private prepare<K extends CourseActionName>(name: K, input: CourseActionInputs[K], now: number): Plan {
    if (typeof input !== 'object' || input === null) throw new Rejection('InvalidInput', `${name}: input must be an object`);
    if (this.finished) throw new Rejection('InvalidTransition', `the course is ${this.state.status}${this.state.endReason ? ` (${this.state.endReason})` : ''}`);
    if (this.state.status === 'paused' && !PAUSE_EXEMPT.has(name)) throw new Rejection('InvalidTransition', `the course is paused (${this.state.pauseReason}): resume it first`);
    const handler = (this.handlers as Record<string, (i: unknown, n: number) => Plan>)[name];
    if (!handler) throw new Rejection('InvalidInput', `unknown action ${name}`);
    return handler(input, now);
  }

  onAssessmentCritical(sig: AssessmentCriticalSignal, now: number): void {
    const a = this.state.assessments[sig.assessmentId];
    if (!a || this.finished) return;
    const holdId = `${sig.assessmentId}/hold`;
    if (this.state.holds.some((h) => h.id === holdId)) return;
    const what = sig.summary?.trim() || sig.codes.join(', ');
    this.addHold({ id: holdId, kind: 'critical-answer', reason: `critical answer on the ${a.stepKey} assessment: ${what}`, level: sig.level, at: now, stepKey: a.stepKey, suicideRisk: true }, now, sig.assessmentId);
    this.out.course = true;
  }

  /**
   * A critical answer on a link that had closed (expired, used, its assessment cancelled): a
   * suicide-risk hold that only a clinician's review closes, and the safety alerts at once (keyed on
   * the late answer: one email per role, ever). Null when the course has ended: no hold can be opened
   * here any more, and the caller records the item itself.
   */
  onLateCriticalAnswer(input: LateCriticalAnswerInput, now: number): string | null {
    if (this.finished) return null;
    const holdId = `${input.key}/hold`;
    if (this.state.holds.some((h) => h.id === holdId)) return holdId;
    const stepKey = this.state.assessments[input.assessmentId]?.stepKey ?? null;
    const what = input.summary.trim() || 'suicidal thoughts endorsed';
    this.addHold({ id: holdId, kind: 'critical-answer', reason: `critical answer on an old link (${stepKey ?? input.assessmentId} assessment, answered after it closed): ${what}`, level: input.level, at: now, stepKey, suicideRisk: true }, now, input.assessmentId);
    this.event('assessment.late-critical-answer', stepKey, undefined, { summary: `Critical answer on an old link of the ${stepKey ?? input.assessmentId} assessment, after it closed: ${what}`, assessmentId: input.assessmentId, instruments: input.instrumentIds, holdId, ...(input.responses ? { responses: input.responses } : {}) }, now);
    for (const role of this.protocol.escalation.safetyAlertRoles) {
      if (role === 'client') continue;
      this.notify(`${input.key}/safety-alert-${role}`, 'safety-alert', { kind: 'role', role }, { reason: 'critical-answer', courseId: this.state.courseId, assessmentId: input.assessmentId });
    }
    return holdId;
  }

  onAssessmentFinished(sig: AssessmentFinishedSignal, now: number): void {
    const a = this.state.assessments[sig.assessmentId];
    if (!a || a.status !== 'pending') return;
    a.status = sig.status;
    a.results = sig.results;
    a.finishedAt = sig.at ?? now;
    this.event(`assessment.${sig.status}`, a.stepKey, undefined, { assessmentId: a.id, instruments: sig.results.map((r) => `${r.instrumentId}:${r.status}`) }, now);
    if (sig.status === 'missed' || sig.status === 'partial') {
      this.notify(`${a.id}/missed-notice`, 'course-notice', { kind: 'role', role: 'coordinator' }, { subjectKey: `assessment-${sig.status}`, courseId: this.state.courseId, assessmentId: a.id });
    }
    const p = this.byId.get(a.stepKey);
    const s = this.state.steps[a.stepKey];
    if (p && s && p.kind === 'assessment' && s.status === 'open' && !this.finished) {
      this.complete(p, s, sig.status, now);
    }
    this.out.course = true;
    this.tick(now);
  }

  // ---------------------------------------------------------------- action handlers

  private readonly handlers: { [K in CourseActionName]: (input: CourseActionInputs[K], now: number) => Plan } = {
    'screening': (input, now) => {
      const [p, s] = this.stepOfKind('screening');
      if (typeof input.hardStops !== 'object' || input.hardStops === null) throw new Rejection('InvalidInput', 'hardStops: an object of hard-stop answers is required');
      const baseline = this.assessmentResults(`${this.state.courseId}/${p.id}`);
      // Who overrides is the Update's actor (set by the server from the credential); anything else an
      // override carries (byRole / byUserId from older clients) is ignored. The role is checked
      // against the protocol's override roles by the eligibility rule.
      const by = input.actor;
      const requested = input.overrides ?? [];
      if (requested.length && !by?.role) throw new Rejection('InvalidInput', 'overrides: a hard-stop override needs an authenticated staff member or token');
      const overrides: HardStopOverride[] = requested.map((o) => ({
        hardStop: o.hardStop,
        reason: o.reason,
        byRole: by!.role!,
        ...(by?.staffId ? { byUserId: by.staffId } : by?.tokenId ? { byUserId: `token:${by.tokenId}` } : {}),
      }));
      const record: ScreeningRecord = {
        hardStops: input.hardStops,
        reviewItems: input.reviewItems,
        medications: input.medications,
        overrides,
        ...(baseline.cssrsRisk ? { cssrsRisk: baseline.cssrsRisk } : {}),
        ...(baseline.phq9Item9 !== undefined ? { phq9Item9: baseline.phq9Item9 } : {}),
      };
      let decision;
      try {
        decision = checkEligibility(record, { overrideRoles: this.protocol.safety.hardStopOverrideRoles });
      } catch (err) {
        throw new Rejection('InvalidInput', `screening: ${(err as Error).message}`);
      }
      if (decision.decision === 'incomplete') {
        throw new Rejection('ClinicallyRefused', `screening is incomplete: ${decision.reasons.filter((r) => r.blocking).map((r) => r.message).join('; ')}`, decision.reasons);
      }
      return () => {
        const codes = decision.reasons.map((r) => r.code);
        this.state.screening = { decision: decision.decision, codes };
        this.event('screening.recorded', p.id, input.actor, { decision: decision.decision, codes }, now);
        // Each override of a hard stop that was present: accepted or refused, with the principal and the reason.
        for (const o of overrides) {
          const accepted = codes.includes(`hard-stop-overridden:${o.hardStop}`);
          if (!accepted && !codes.includes(`hard-stop:${o.hardStop}`)) continue; // not present: nothing overridden
          this.event(accepted ? 'hard-stop.overridden' : 'hard-stop.override-refused', p.id, input.actor, { hardStop: o.hardStop, byRole: o.byRole, reason: o.reason.trim(), accepted }, now);
        }
        // A suicide-related hard stop answered yes by staff is a suicide-risk signal: it opens a high
        // suicide-risk item that only a clinician's review closes, whether the course ends
        // ineligible or goes on by an override (then it holds dosing until reviewed like any other).
        // When a suicide-risk item is already open (the client's own screening C-SSRS or PHQ-9 item 9),
        // the clinician's finding is the same episode: that item already waits for the same review.
        for (const stop of SUICIDE_HARD_STOPS) {
          if (readAnswer(input.hardStops[stop]).kind !== 'present') continue;
          if (this.state.holds.some((h) => h.suicideRisk)) continue;
          const holdId = `${this.state.courseId}/${p.id}/screening-risk-${stop}`;
          if (this.state.holds.some((h) => h.id === holdId)) continue;
          const overridden = codes.includes(`hard-stop-overridden:${stop}`);
          this.addHold({ id: holdId, kind: 'screening-risk', reason: `Screening: ${HARD_STOPS[stop].toLowerCase()}${overridden ? ' (hard stop overridden; the course goes on)' : ' (the course is ineligible)'}`, level: 'high', at: now, stepKey: p.id, suicideRisk: true }, now, null);
        }
        if (decision.decision === 'ineligible') {
          this.complete(p, s, 'ineligible', now);
          this.end('ineligible', `ineligible: ${codes.filter((c) => c.startsWith('hard-stop:')).join(', ')}`, now);
        } else this.complete(p, s, decision.decision, now);
        return { outcome: decision.decision, reasons: decision.reasons };
      };
    },

    'clearance': (input, now) => {
      const [p, s] = this.stepOfKind('clearance');
      if (!['approved', 'denied', 'needs-records'].includes(input.decision)) throw new Rejection('InvalidInput', 'decision must be approved, denied or needs-records');
      const reason = input.reason?.trim() || null;
      if (input.decision === 'denied' && !reason) throw new Rejection('InvalidInput', 'reason: a denial needs a recorded reason');
      if (input.decision === 'approved' && this.state.screening?.decision === 'needs-review' && !reason) {
        const items = this.state.screening.codes.filter((c) => c.startsWith('review:') || c.startsWith('interaction:'));
        throw new Rejection('ClinicallyRefused', `screening asked for prescriber review (${items.join(', ')}): record the reason for approving`);
      }
      return () => {
        this.state.clearance = { decision: input.decision, reason };
        this.event(`clearance.${input.decision}`, p.id, input.actor, { reason }, now);
        if (input.decision === 'approved') this.complete(p, s, 'approved', now);
        else if (input.decision === 'denied') {
          this.complete(p, s, 'denied', now);
          this.end('ineligible', `clearance-denied: ${reason}`, now, input.actor);
        } else {
          s.outcome = 'needs-records';
          this.touch(p.id);
        }
        return { outcome: input.decision };
      };
    },

    'rems-enrollment': (input, now) => {
      const [p, s] = this.stepOfKind('rems-enrollment');
      if (input.enrolled !== true) throw new Rejection('ClinicallyRefused', 'the client must be enrolled in the REMS before treatment (enrolled: true)');
      return () => {
        this.state.remsEnrolled = true;
        this.event('rems.enrolled', p.id, input.actor, { remsPatientId: input.remsPatientId ?? null }, now);
        this.complete(p, s, 'enrolled', now);
        return { outcome: 'enrolled' };
      };
    },

    'consent': (input, now) => {
      const [p, s] = this.stepOfKind('consent');
      if (typeof input.documentVersion !== 'string' || !input.documentVersion.trim()) throw new Rejection('InvalidInput', 'documentVersion is required');
      if (input.signedByClient !== true) throw new Rejection('ClinicallyRefused', 'informed consent must be signed by the client');
      if (this.protocol.rems && input.prescriberSigned !== true) throw new Rejection('ClinicallyRefused', 'under the Spravato REMS the prescriber must sign the consent too');
      return () => {
        this.state.consented = true;
        this.out.records.push({
          table: 'consent',
          id: `${this.state.courseId}/${p.id}`,
          kind: this.protocol.rems ? 'treatment-and-rems' : 'treatment',
          documentVersion: input.documentVersion,
          signedByClientAt: iso(now)!,
          prescriberSignedAt: input.prescriberSigned ? iso(now) : null,
          prescriberId: input.prescriberSigned ? (input.actor?.staffId ?? null) : null,
          detail: {},
        });
        this.event('consent.signed', p.id, input.actor, { documentVersion: input.documentVersion }, now);
        this.complete(p, s, 'signed', now);
        return { outcome: 'signed' };
      };
    },

    'schedule': (input, now) => {
      const [p, s] = this.openStep_(input.stepKey, ['preparation', 'dosing', 'integration'], 'schedule');
      const ses = s.session!;
      if (!['unscheduled', 'scheduled', 'no-show', 'held'].includes(ses.status)) throw new Rejection('InvalidTransition', `${p.id} cannot be (re)scheduled: its session is ${ses.status}`);
      const hasAt = typeof input.startsAt === 'string';
      const hasIn = typeof input.startsInHours === 'number';
      if (hasAt === hasIn) throw new Rejection('InvalidInput', 'give exactly one of startsAt (ISO time) or startsInHours');
      const startsAt = hasAt ? Date.parse(input.startsAt!) : now + this.hours(input.startsInHours!);
      if (!Number.isFinite(startsAt)) throw new Rejection('InvalidInput', `startsAt is not a valid time: ${input.startsAt}`);
      if (startsAt < now - this.hours(1)) throw new Rejection('InvalidInput', `startsAt ${iso(startsAt)} is in the past`);
      if (p.kind === 'dosing' && this.state.lastDoseAt !== null) {
        const earliest = this.state.lastDoseAt + this.hours(this.protocol.course.minDaysBetweenDoses * 24);
        if (startsAt < earliest) throw new Rejection('ClinicallyRefused', `doses must be at least ${this.protocol.course.minDaysBetweenDoses} day(s) apart: earliest ${iso(earliest)}`);
      }
      if (p.kind === 'integration' && s.deadlineAt !== null && startsAt > s.deadlineAt) {
        throw new Rejection('ClinicallyRefused', `integration must take place within ${this.protocol.course.integrationWindowHours ?? p.deadlineHours} h of the dose: by ${iso(s.deadlineAt)}`);
      }
      return () => {
        const rescheduled = ses.scheduleCount > 0;
        ses.status = 'scheduled';
        ses.startsAt = startsAt;
        ses.scheduleCount++;
        ses.preDose = null;
        ses.reminders = REMINDER_HOURS_BEFORE.map((h) => ({ hoursBefore: h, at: startsAt - this.hours(h), sent: startsAt - this.hours(h) <= now }));
        this.setDeadline(p, s, Math.max(s.deadlineAt ?? 0, startsAt + this.hours(SESSION_GRACE_HOURS)));
        if (p.kind === 'integration') s.deadlineAt = Math.min(s.deadlineAt!, this.integrationDeadline(p, s));
        this.sessionRecord(p, s);
        this.event(rescheduled ? 'session.rescheduled' : 'session.scheduled', p.id, input.actor, { startsAt: iso(startsAt) }, now);
        return { outcome: rescheduled ? 'rescheduled' : 'scheduled' };
      };
    },

    'session-complete': (input, now) => {
      const [p, s] = this.openStep_(input.stepKey, ['preparation', 'integration'], 'session-complete');
      const ses = s.session!;
      if (ses.status === 'no-show') throw new Rejection('InvalidTransition', `${p.id} was a no-show: reschedule it first`);
      return () => {
        ses.status = 'completed';
        this.sessionRecord(p, s, now);
        this.event('session.completed', p.id, input.actor, {}, now);
        this.complete(p, s, 'attended', now);
        return { outcome: 'completed' };
      };
    },

    'no-show': (input, now) => {
      const [p, s] = this.openStep_(input.stepKey, ['preparation', 'dosing', 'integration'], 'no-show');
      const ses = s.session!;
      if (ses.status !== 'scheduled' && ses.status !== 'held') throw new Rejection('InvalidTransition', `${p.id} has no scheduled session to miss (session is ${ses.status})`);
      return () => {
        ses.status = 'no-show';
        ses.noShowCount++;
        // The no-show path: the coordinator reschedules (or withdraws) within the step's own deadline.
        const base = p.deadlineHours ?? 72;
        let deadline = now + this.hours(base);
        if (p.kind === 'integration') deadline = Math.min(deadline, this.integrationDeadline(p, s));
        this.setDeadline(p, s, Math.max(deadline, now + 1));
        this.sessionRecord(p, s);
        this.notify(`${this.state.courseId}/${p.id}/no-show-${ses.noShowCount}`, 'course-notice', { kind: 'role', role: 'coordinator' }, { subjectKey: 'no-show', courseId: this.state.courseId, stepKey: p.id, noShows: ses.noShowCount });
        this.event('session.no-show', p.id, input.actor, { noShows: ses.noShowCount }, now);
        return { outcome: 'no-show' };
      };
    },

    'pre-dose-check': (input, now) => {
      const [p, s] = this.openStep_(input.stepKey, ['dosing'], 'pre-dose-check');
      const ses = s.session!;
      if (ses.status !== 'scheduled' && ses.status !== 'held') throw new Rejection('InvalidTransition', `${p.id}: schedule the session before the pre-dose check (session is ${ses.status})`);
      this.bp(input.bloodPressure, 'bloodPressure');
      // Suicide risk from the client's own answers (the latest C-SSRS and PHQ-9 of this course); a value
      // typed at check-in may only make it stricter, never stand in for the answers.
      const fromAssessment = this.checkInRisk(input);
      const decision = preDoseCheck(this.protocol, {
        bloodPressure: input.bloodPressure,
        hoursSinceFood: input.hoursSinceFood ?? null,
        hoursSinceClearLiquids: input.hoursSinceClearLiquids ?? null,
        escortConfirmed: input.escortConfirmed,
        // This session's own pre-dose hold is what this check re-decides, not a reason to hold it.
        openSafetyHolds: this.state.holds.filter((h) => !(h.kind === 'pre-dose-hold' && h.stepKey === p.id)).map((h) => ({ id: h.id, reason: h.reason })),
        cssrsRisk: fromAssessment.cssrsRisk ?? null,
        phq9Item9: fromAssessment.phq9Item9 ?? null,
        missingBaseline: this.baselineProblems(now),
        benzodiazepine: input.benzodiazepine,
        pregnancy: input.pregnancy,
        newInteractingMedications: input.newInteractingMedications,
      });
      return () => {
        ses.preDose = { decision: decision.decision, reasons: decision.reasons, at: now, count: (ses.preDose?.count ?? 0) + 1 };
        ses.status = decision.decision === 'proceed' ? 'checked-in' : 'held';
        ses.readings = [...ses.readings.filter((r) => r.at !== 0), { at: 0, ...input.bloodPressure }];
        this.vitals(p, s, 'pre-dose', null, input.bloodPressure, input.heartRate, input.spo2, now);
        // This session's pre-dose hold: opened (or its reason brought up to date) by a check that holds for
        // reasons of its own, closed by one that proceeds. Holds that are already open (a critical answer,
        // an adverse event) are theirs to close, and suicide risk gets its own hold below.
        const own = this.state.holds.find((h) => h.kind === 'pre-dose-hold' && h.stepKey === p.id);
        const mine = decision.reasons.filter((r) => r.blocking && r.code !== 'safety-hold-open' && r.code !== 'suicide-risk-critical');
        if (decision.decision === 'proceed' && own) this.closeHold(own, now, 'a later pre-dose check of this session proceeded', input.actor);
        if (decision.decision === 'hold' && mine.length) {
          const bpText = `blood pressure ${input.bloodPressure.systolic}/${input.bloodPressure.diastolic} mmHg`;
          const reason = `pre-dose check of ${p.id} held the dose (${bpText}): ${mine.map((r) => r.message).join('; ')}`;
          if (own) {
            own.reason = reason;
            this.holdRecord(own, null);
          } else {
            this.addHold({ id: `${this.state.courseId}/${p.id}/pre-dose-hold-${ses.preDose.count}`, kind: 'pre-dose-hold', reason, level: null, at: now, stepKey: p.id, suicideRisk: false }, now, null, false);
          }
        }
        if (decision.decision === 'hold') {
          const critical = decision.reasons.find((r) => r.code === 'suicide-risk-critical');
          if (critical && !this.state.holds.some((h) => h.stepKey === p.id && h.kind === 'pre-dose-risk')) {
            const cssrs = fromAssessment.cssrsRisk ?? null;
            const item9 = fromAssessment.phq9Item9 ?? null;
            const values = [cssrs ? `C-SSRS ${cssrs} risk` : null, item9 !== null ? `PHQ-9 item 9 = ${item9}` : null].filter(Boolean).join(', ');
            this.addHold({ id: `${this.state.courseId}/${p.id}/risk-hold`, kind: 'pre-dose-risk', reason: `${critical.message}${values ? ` (${values})` : ''}`, level: cssrs === 'high' ? 'high' : 'moderate', at: now, stepKey: p.id, suicideRisk: true }, now, null);
          }
        }
        this.sessionRecord(p, s);
        this.event(`pre-dose.${decision.decision}`, p.id, input.actor, { codes: decision.reasons.map((r) => r.code) }, now);
        return { outcome: decision.decision, reasons: decision.reasons };
      };
    },

    'dose': (input, now) => {
      const [p, s] = this.openStep_(input.stepKey, ['dosing'], 'dose');
      const ses = s.session!;
      // No dose without its checks: every missing one is named in one refusal.
      const missing: string[] = [];
      const reasons: Reason[] = [];
      // This session's own pre-dose hold is named below with the check that held it.
      const others = this.state.holds.filter((h) => !(h.kind === 'pre-dose-hold' && h.stepKey === p.id));
      if (others.length > 0) missing.push(`safety hold open (${others.map((h) => h.reason).join('; ')}): no dosing until a clinician records a safety review`);
      for (const m of this.baselineProblems(now)) missing.push(m);
      if (ses.status === 'held') {
        const held = ses.preDose!.reasons.filter((r) => r.blocking && r.code !== 'baseline-missing');
        if (held.length) missing.push(`the pre-dose check held this dose: ${held.map((r) => r.message).join('; ')}`);
        else missing.push(`no passing pre-dose check recorded for this session of ${p.id} (the last one held it)`);
        reasons.push(...ses.preDose!.reasons);
      } else if (ses.status !== 'checked-in') {
        missing.push(ses.status === 'unscheduled' || ses.status === 'no-show' ? `no session scheduled and no pre-dose check recorded for ${p.id} (session is ${ses.status})` : `no passing pre-dose check recorded for this session of ${p.id} (session is ${ses.status})`);
      }
      if (missing.length) throw new Rejection('ClinicallyRefused', `dose refused: ${missing.join('; ')}`, reasons.length ? reasons : missing.map((m) => ({ code: 'dose-check-missing', message: m, blocking: true })));
      if (typeof input.route !== 'string' || !input.route) throw new Rejection('InvalidInput', 'route is required');
      if (!(this.protocol.routes as string[]).includes(input.route)) throw new Rejection('ClinicallyRefused', `route ${input.route} is not one of this protocol's routes (${this.protocol.routes.join(', ')})`);
      return () => {
        ses.status = 'dosed';
        ses.doseAt = now;
        ses.dose = { route: input.route, doseMg: input.doseMg ?? null, lotNumber: input.lotNumber ?? null };
        if (this.state.firstDoseAt === null) this.state.firstDoseAt = now;
        this.setDeadline(p, s, now + this.hours(Math.max(this.protocol.safety.minMonitoringMinutes / 60, 1) + SESSION_GRACE_HOURS));
        this.sessionRecord(p, s);
        this.event('dose.given', p.id, input.actor, { route: input.route, doseMg: input.doseMg ?? null }, now);
        return { outcome: 'dosed' };
      };
    },

    'vitals': (input, now) => {
      const [p, s] = this.openStep_(input.stepKey, ['dosing'], 'vitals');
      const ses = s.session!;
      if (ses.status !== 'dosed') throw new Rejection('InvalidTransition', `${p.id}: monitoring vitals are recorded after the dose (session is ${ses.status})`);
      this.bp(input.bloodPressure, 'bloodPressure');
      if (typeof input.atMinutes !== 'number' || input.atMinutes < 0) throw new Rejection('InvalidInput', 'atMinutes must be minutes after the start of dosing');
      // A timed reading is taken at its time: a "40-minute" reading before 40 minutes is not one.
      const elapsed = this.protocolMinutes(now - ses.doseAt!);
      if (input.atMinutes > elapsed) {
        const left = Math.ceil(input.atMinutes - elapsed);
        throw new Rejection('ClinicallyRefused', `the ${input.atMinutes}-minute reading is taken ${input.atMinutes} min after the dose: ${Math.floor(elapsed)} min have passed, ${left} min left`);
      }
      return () => {
        ses.readings = [...ses.readings, { at: input.atMinutes, ...input.bloodPressure }];
        if (typeof input.spo2 === 'number') ses.spo2 = input.spo2;
        this.vitals(p, s, 'monitoring', input.atMinutes, input.bloodPressure, input.heartRate, input.spo2, now);
        this.sessionRecord(p, s);
        return { outcome: 'recorded' };
      };
    },

    discharge: (input, now) => {
      const [p, s] = this.openStep_(input.stepKey, ['dosing'], 'discharge');
      const ses = s.session!;
      if (ses.status !== 'dosed') throw new Rejection('InvalidTransition', `${p.id}: discharge comes after the dose (session is ${ses.status})`);
      this.bp(input.bloodPressure, 'bloodPressure');
      const minutes = Math.floor(this.protocolMinutes(now - ses.doseAt!));
      const readiness = dischargeReadiness(this.protocol, {
        minutesSinceDoseStart: minutes,
        readings: [...ses.readings, { at: 'discharge', ...input.bloodPressure }],
        spo2Percent: input.spo2 ?? ses.spo2,
        checklist: input.checklist ?? {},
        responsibleAdultPresent: input.responsibleAdultPresent === true,
      });
      if (readiness.decision !== 'ready') {
        throw new Rejection('ClinicallyRefused', `not ready for discharge: ${readiness.reasons.map((r) => r.message).join('; ')}`, readiness.reasons);
      }
      return () => {
        ses.readings = [...ses.readings, { at: 'discharge', ...input.bloodPressure }];
        ses.status = 'completed';
        ses.dischargedAt = now;
        this.vitals(p, s, 'discharge', minutes, input.bloodPressure, input.heartRate, input.spo2, now);
        this.state.lastDoseAt = ses.doseAt;
        this.state.dosesGiven++;
        if (this.state.dosesGiven >= this.protocol.course.dosingSessions || this.plan.filter((q) => q.kind === 'dosing').every((q) => q.id === p.id || this.isDone(q.id))) {
          this.state.courseEndAt = now;
        }
        this.sessionRecord(p, s, now);
        this.event('session.discharged', p.id, input.actor, { monitoringMinutes: minutes }, now);
        this.complete(p, s, 'dosed', now);
        // The REMS form of this session opens now (tick), pre-filled from the session.
        return { outcome: 'discharged' };
      };
    },

    'adverse-event': (input, now) => {
      if (!(ADVERSE_EVENT_CATEGORIES as readonly string[]).includes(input.category)) throw new Rejection('InvalidInput', `category must be one of ${ADVERSE_EVENT_CATEGORIES.join(', ')}`);
      if (!['mild', 'moderate', 'severe', 'life-threatening'].includes(input.severity)) throw new Rejection('InvalidInput', 'severity must be mild, moderate, severe or life-threatening');
      if (input.stepKey !== undefined && !this.byId.has(input.stepKey)) throw new Rejection('InvalidInput', `unknown step ${input.stepKey}`);
      return () => {
        const n = ++this.state.counters.adverse;
        const id = `${this.state.courseId}/ae-${n}`;
        const serious = input.serious === true || input.severity === 'severe' || input.severity === 'life-threatening';
        this.out.records.push({ table: 'adverse-event', id, stepKey: input.stepKey ?? null, category: input.category, severity: input.severity, serious, description: input.description ?? null, onsetAt: iso(now)!, recordedAt: iso(now)!, recordedBy: actorRefId(input.actor) });
        this.event('adverse-event.recorded', input.stepKey ?? null, input.actor, { id, category: input.category, severity: input.severity, serious }, now);
        if (serious) {
          // Serious events escalate at once, and no further dosing until a clinician reviews.
          // A psychiatric event is about suicide risk until a clinician has reviewed it.
          const psychiatric = input.category === 'psychiatric';
          const described = input.description?.trim() ? `: ${input.description.trim()}` : '';
          this.addHold({ id: `${id}/hold`, kind: 'adverse-event', reason: `serious adverse event ${id} (${input.category}, ${input.severity})${described}`, level: psychiatric ? 'high' : null, at: now, stepKey: input.stepKey ?? null, suicideRisk: psychiatric }, now, null);
        }
        return { outcome: serious ? 'serious-escalated' : 'recorded' };
      };
    },

    'safety-review': (input, now) => {
      if (this.state.holds.length === 0) throw new Rejection('InvalidTransition', 'no safety hold is open');
      if (!['release', 'keep-hold', 'withdraw'].includes(input.outcome)) throw new Rejection('InvalidInput', 'outcome must be release, keep-hold or withdraw');
      if (input.riskLevel !== undefined && !['none', 'low', 'moderate', 'high'].includes(input.riskLevel)) throw new Rejection('InvalidInput', 'riskLevel must be none, low, moderate or high');
      if (input.outcome === 'release' && input.riskLevel === 'high') throw new Rejection('ClinicallyRefused', 'a hold cannot be released while the assessed risk is high');
      return () => {
        this.event(`safety-review.${input.outcome}`, null, input.actor, { holds: this.state.holds.map((h) => h.id), riskLevel: input.riskLevel ?? null, ...notesSummary(input.notes) }, now);
        // A review that releases, or that withdraws the client (referred on), closes every open hold, in
        // the same projection as the review; keep-hold closes none.
        if (input.outcome !== 'keep-hold') {
          for (const h of [...this.state.holds]) this.closeHold(h, now, `clinician review: ${input.outcome}`, input.actor, input.notes);
        }
        if (input.outcome === 'release') {
          this.state.riskLevel = input.riskLevel ?? 'low';
        } else if (input.outcome === 'withdraw') {
          this.withdraw(`safety-review: ${input.notes ?? 'withdrawn after safety review'}`, now, input.actor);
        }
        return { outcome: input.outcome };
      };
    },

    'rems-form': (input, now) => {
      const [p, s] = this.openStep_(input.stepKey, ['rems-monitoring-form'], 'rems-form');
      if (typeof input.lotNumber !== 'string' || !input.lotNumber.trim()) throw new Rejection('InvalidInput', 'lotNumber is required on the REMS monitoring form');
      if (typeof input.doseMg !== 'number' || input.doseMg <= 0) throw new Rejection('InvalidInput', 'doseMg is required on the REMS monitoring form');
      if (typeof input.concomitant !== 'object' || input.concomitant === null) throw new Rejection('InvalidInput', 'concomitant medications must be answered');
      for (const k of ['sedation', 'dissociation', 'respiratoryDepression', 'seriousAdverseEvent'] as const) {
        if (typeof input[k] !== 'boolean') throw new Rejection('InvalidInput', `${k} must be answered yes or no`);
      }
      return () => {
        this.remsRecord(p, s, now, input);
        this.event('rems-form.submitted', p.id, input.actor, {}, now);
        this.complete(p, s, 'submitted', now);
        return { outcome: 'submitted' };
      };
    },

    'maintenance-decision': (input, now) => {
      const [p, s] = this.stepOfKind('maintenance-decision');
      if (input.decision !== 'maintenance' && input.decision !== 'complete') throw new Rejection('InvalidInput', 'decision must be maintenance or complete');
      if (input.decision === 'maintenance' && !this.protocol.maintenance.boostersOffered) throw new Rejection('ClinicallyRefused', 'this protocol does not offer maintenance boosters');
      return () => {
        this.state.maintenance = input.decision;
        this.event(`maintenance.${input.decision}`, p.id, input.actor, { reason: input.reason ?? null }, now);
        this.complete(p, s, input.decision, now);
        return { outcome: input.decision };
      };
    },

    'task-complete': (input, now) => {
      const [p, s] = this.openStep_(input.stepKey, ['review', 'task'], 'task-complete');
      return () => {
        this.event('task.completed', p.id, input.actor, { outcome: input.outcome ?? null }, now);
        this.complete(p, s, input.outcome ?? 'done', now);
        return { outcome: 'done' };
      };
    },

    'send-assessment': (input, now) => {
      if (!Array.isArray(input.instruments) || input.instruments.length === 0) throw new Rejection('InvalidInput', 'instruments: at least one instrument id is required');
      const bad = input.instruments.filter((i) => !isInstrumentId(i));
      if (bad.length) throw new Rejection('InvalidInput', `unknown instrument(s): ${bad.join(', ')}`);
      return () => {
        const n = ++this.state.counters.adhoc;
        const stepKey = `adhoc-${n}`;
        const id = `${this.state.courseId}/${stepKey}`;
        this.startAssessment(id, stepKey, [...new Set(input.instruments)], 'staff', now);
        this.event('assessment.triggered', stepKey, input.actor, { assessmentId: id, instruments: input.instruments, reason: input.reason ?? null }, now);
        return { outcome: 'invited', assessmentId: id };
      };
    },

    'pause': (input, now) => {
      if (typeof input.reason !== 'string' || !input.reason.trim()) throw new Rejection('InvalidInput', 'reason is required to pause a course');
      return () => {
        this.state.status = 'paused';
        this.state.pausedAt = now;
        this.state.pauseReason = input.reason.trim();
        this.event('course.paused', null, input.actor, { reason: input.reason }, now);
        return { outcome: 'paused' };
      };
    },

    'resume': (input, now) => {
      if (this.state.status !== 'paused') throw new Rejection('InvalidTransition', 'the course is not paused');
      return () => {
        const pausedFor = now - this.state.pausedAt!;
        this.state.status = 'active';
        this.state.pausedAt = null;
        this.state.pauseReason = null;
        // Deadlines and the follow-up clock stand still while a course is paused.
        for (const p of this.plan) {
          const s = this.state.steps[p.id]!;
          if (s.status === 'open' && s.deadlineAt !== null) {
            s.deadlineAt += pausedFor;
            this.touch(p.id);
          }
        }
        if (this.state.courseEndAt !== null) this.state.courseEndAt += pausedFor;
        this.event('course.resumed', null, input.actor, { pausedMs: pausedFor }, now);
        return { outcome: 'resumed' };
      };
    },

    'withdraw': (input, now) => {
      if (typeof input.reason !== 'string' || !input.reason.trim()) throw new Rejection('InvalidInput', 'reason is required to withdraw a course');
      return () => {
        // end() records the one course.withdrawn event (recording it here too wrote it twice).
        this.withdraw(input.reason.trim(), now, input.actor);
        return { outcome: 'withdrawn' };
      };
    },

    'change-clinician': (input, now) => {
      if (typeof input.clinicianId !== 'string' || !input.clinicianId.trim()) throw new Rejection('InvalidInput', 'clinicianId is required');
      if (input.clinicianId === this.state.primaryClinicianId) throw new Rejection('InvalidTransition', `${input.clinicianId} is already the course's clinician`);
      return () => {
        const from = this.state.primaryClinicianId;
        this.state.primaryClinicianId = input.clinicianId;
        this.event('clinician.changed', null, input.actor, { from, to: input.clinicianId, reason: input.reason ?? null }, now);
        return { outcome: 'changed' };
      };
    },
  };

  // ---------------------------------------------------------------- helpers

  private stepOfKind(kind: string): [PlannedStep, StepRuntime] {
    const p = this.plan.find((q) => q.kind === kind);
    if (!p) throw new Rejection('InvalidTransition', `this protocol (${this.protocol.id}@${this.protocol.version}) has no ${kind} step`);
    return this.requireOpen(p);
  }

  private openStep_(stepKey: string, kinds: string[], action: string): [PlannedStep, StepRuntime] {
    if (typeof stepKey !== 'string') throw new Rejection('InvalidInput', 'stepKey is required');
    const p = this.byId.get(stepKey);
    if (!p) throw new Rejection('InvalidInput', `unknown step ${stepKey}`);
    if (!kinds.includes(p.kind)) throw new Rejection('InvalidInput', `${action} applies to ${kinds.join('/')} steps; ${stepKey} is a ${p.kind} step`);
    return this.requireOpen(p);
  }

  private requireOpen(p: PlannedStep): [PlannedStep, StepRuntime] {
    const s = this.state.steps[p.id]!;
    if (s.status === 'open') return [p, s];
    if (s.status === 'pending') {
      if (p.kind === 'dosing') {
        const clearance = this.plan.find((q) => q.kind === 'clearance');
        if (clearance && !this.isDone(clearance.id)) throw new Rejection('InvalidTransition', `no dosing before medical clearance: ${clearance.id} is ${this.state.steps[clearance.id]!.status}`);
        const consent = this.plan.find((q) => q.kind === 'consent');
        if (consent && !this.isDone(consent.id)) throw new Rejection('InvalidTransition', `no dosing before informed consent: ${consent.id} is ${this.state.steps[consent.id]!.status}`);
      }
      const w = this.waitingFor(p);
      const why = w ? `waiting for ${w.id} (${w.name})` : p.timing.anchor === 'course-end' ? 'waiting for its follow-up date' : 'waiting';
      throw new Rejection('InvalidTransition', `${p.id} is not open yet: ${why}`);
    }
    throw new Rejection('InvalidTransition', `${p.id} is already ${s.status}${s.outcome ? ` (${s.outcome})` : ''}`);
  }

  private bp(v: unknown, field: string): void {
    const b = v as { systolic?: unknown; diastolic?: unknown } | null;
    const ok = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 20 && x < 300;
    if (!b || !ok(b.systolic) || !ok(b.diastolic)) throw new Rejection('InvalidInput', `${field}: systolic and diastolic in mmHg are required`);
  }

  private integrationDeadline(p: PlannedStep, s: StepRuntime): number {
    const dose = p.timing.anchor === 'step' ? this.state.steps[p.timing.stepId] : undefined;
    const from = dose?.completedAt ?? s.openedAt!;
    return from + this.hours(this.protocol.course.integrationWindowHours ?? p.deadlineHours ?? 48);
  }

  /** The client's latest completed answer to an instrument in this course (any assessment), with its time. */
  private latestAnswer(instrumentId: 'cssrs' | 'phq9', before = Infinity): { at: number; cssrsRisk?: RiskLevel; phq9Item9?: number } | null {
    let best: { at: number; cssrsRisk?: RiskLevel; phq9Item9?: number } | null = null;
    for (const a of Object.values(this.state.assessments)) {
      for (const r of a.results) {
        if (r.instrumentId !== instrumentId || r.status !== 'completed') continue;
        const at = r.answeredAt ?? a.finishedAt;
        if (at === undefined || at > before) continue;
        if (!best || at >= best.at) best = { at, ...(r.cssrsRisk ? { cssrsRisk: r.cssrsRisk } : {}), ...(r.phq9Item9 !== undefined ? { phq9Item9: r.phq9Item9 } : {}) };
      }
    }
    return best;
  }

  /**
   * What the baseline lacks for a dose: the client's own C-SSRS and PHQ-9, answered at most the
   * protocol's `baselineWindowDays` before the first dose (before it is given: before now).
   */
  baselineProblems(now: number): string[] {
    const windowDays = this.protocol.assessments.baselineWindowDays ?? 30;
    const doseAt = this.state.firstDoseAt ?? now;
    const out: string[] = [];
    for (const [id, name] of [['cssrs', 'C-SSRS'], ['phq9', 'PHQ-9']] as const) {
      const last = this.latestAnswer(id, doseAt);
      if (!last) out.push(`no baseline ${name} answered by the client`);
      else if (doseAt - last.at > this.hours(windowDays * 24)) {
        const days = Math.floor(((doseAt - last.at) * this.state.timeScale) / DAY);
        out.push(`the client's baseline ${name} was answered ${days} days ago, outside the protocol's ${windowDays}-day window: send a new one`);
      }
    }
    return out;
  }

  /** Suicide risk for a pre-dose check: the client's latest answers; typed values only make it stricter. */
  private checkInRisk(input: { cssrsRisk?: RiskLevel; phq9Item9?: number }): { cssrsRisk?: RiskLevel; phq9Item9?: number } {
    const cssrs = this.latestAnswer('cssrs')?.cssrsRisk;
    const item9 = this.latestAnswer('phq9')?.phq9Item9;
    const out: { cssrsRisk?: RiskLevel; phq9Item9?: number } = {};
    // Without the client's answer a typed value counts only when it raises the risk (a typed "none" is not an answer).
    if (cssrs !== undefined) out.cssrsRisk = input.cssrsRisk !== undefined && riskRank(input.cssrsRisk) > riskRank(cssrs) ? input.cssrsRisk : cssrs;
    else if (input.cssrsRisk !== undefined && riskRank(input.cssrsRisk) > riskRank('none')) out.cssrsRisk = input.cssrsRisk;
    if (item9 !== undefined) out.phq9Item9 = typeof input.phq9Item9 === 'number' && input.phq9Item9 > item9 ? input.phq9Item9 : item9;
    else if (typeof input.phq9Item9 === 'number' && input.phq9Item9 > 0) out.phq9Item9 = input.phq9Item9;
    return out;
  }

  private assessmentResults(id: string | null): { cssrsRisk?: RiskLevel; phq9Item9?: number } {
    const a = id ? this.state.assessments[id] : undefined;
    const out: { cssrsRisk?: RiskLevel; phq9Item9?: number } = {};
    for (const r of a?.results ?? []) {
      if (r.status !== 'completed') continue;
      if (r.cssrsRisk) out.cssrsRisk = r.cssrsRisk;
      if (r.phq9Item9 !== undefined) out.phq9Item9 = r.phq9Item9;
    }
    return out;
  }

  private startAssessment(id: string, stepKey: string, instruments: InstrumentId[], trigger: 'scheduled' | 'staff', _now: number): void {
    this.state.assessments[id] = { id, stepKey, instruments, trigger, status: 'pending', results: [] };
    const a = this.protocol.assessments;
    this.out.start.push({
      assessmentId: id,
      courseId: this.state.courseId,
      clinicId: this.state.clinicId,
      parentWorkflowId: `course-${this.state.courseId}`,
      stepKey,
      instruments,
      trigger,
      reminders: { everyHours: a.reminders.everyHours, count: a.reminders.count },
      expiryHours: a.expiryHours,
      timeScale: this.state.timeScale,
      safetyAlertRoles: this.protocol.escalation.safetyAlertRoles.filter((r): r is Exclude<Role, 'client'> => r !== 'client'),
    });
  }

  /** The projected row of a hold: open (resolvedAt null) or closed, with its full reason and what closes it. */
  private holdRecord(h: SafetyHold, closed: { at: number; resolution: string; actor?: ActorRef; notes?: string } | null): void {
    this.out.records.push({
      table: 'safety-event',
      id: h.id,
      kind: h.kind,
      level: h.level,
      stepKey: h.stepKey,
      assessmentId: h.assessmentId ?? null,
      at: iso(h.at)!,
      resolvedAt: closed ? iso(closed.at) : null,
      detail: {
        reason: h.reason,
        suicideRisk: isSuicideRiskHold(h),
        closesWhen: holdClosesWhen(h),
        ...(closed ? { resolution: closed.resolution, ...(closed.actor ? { reviewedBy: actorRefId(closed.actor) } : {}), ...notesSummary(closed.notes) } : {}),
      },
    });
    this.out.course = true;
  }

  /** Closes one open hold: drops it from the state and projects it closed in the same transition. */
  private closeHold(h: SafetyHold, now: number, resolution: string, actor?: ActorRef, notes?: string): void {
    const i = this.state.holds.findIndex((x) => x.id === h.id);
    if (i < 0) return;
    this.state.holds.splice(i, 1);
    this.holdRecord(h, { at: now, resolution, actor, notes });
    this.event('safety-hold.closed', h.stepKey, actor, { holdId: h.id, kind: h.kind, resolution }, now);
  }

  private addHold(h: SafetyHold, now: number, assessmentId: string | null, alert = true): void {
    h.assessmentId = assessmentId;
    h.suicideRisk ??= isSuicideRiskHold(h);
    this.state.holds.push(h);
    if (h.level && riskRank(h.level) > riskRank(this.state.riskLevel)) this.state.riskLevel = h.level;
    this.holdRecord(h, null);
    this.event('safety-hold.opened', h.stepKey, undefined, { holdId: h.id, kind: h.kind, level: h.level, reason: h.reason }, now);
    // Critical answers are alerted by the assessment itself (at once); other holds alert from here.
    if (h.kind !== 'critical-answer' && alert) {
      for (const role of this.protocol.escalation.safetyAlertRoles) {
        if (role === 'client') continue;
        this.notify(`${h.id}/alert-${role}`, 'safety-alert', { kind: 'role', role }, { reason: h.kind, courseId: this.state.courseId });
      }
    }
    this.out.course = true;
  }

  private withdraw(reason: string, now: number, actor?: ActorRef): void {
    this.end('withdrawn', `withdrawn: ${reason}`, now, actor);
  }

  private end(status: 'completed' | 'withdrawn' | 'ineligible', reason: string, now: number, actor?: ActorRef): void {
    if (this.finished) return;
    this.state.status = status;
    this.state.endedAt = now;
    this.state.endReason = reason;
    for (const p of this.plan) {
      const s = this.state.steps[p.id]!;
      if (s.status === 'open') {
        s.status = 'cancelled';
        s.completedAt = now;
        s.outcome = status;
        if (s.session && !['completed', 'cancelled'].includes(s.session.status)) {
          s.session.status = 'cancelled';
          this.sessionRecord(p, s);
        }
        this.touch(p.id);
      }
    }
    for (const a of Object.values(this.state.assessments)) {
      if (a.status === 'pending') {
        a.status = 'cancelled';
        this.out.cancel.push(a.id);
      }
    }
    // Holds that are not about suicide risk end with the course. Suicide-risk holds stay open (in the
    // state and in safety_events) until a clinician reviews them: on an ended course the API records
    // that review in PostgreSQL, since this workflow no longer runs (src/api/safety-review.ts).
    for (const h of this.state.holds.filter((x) => !isSuicideRiskHold(x))) this.closeHold(h, now, `the course ended (${status})`);
    this.event(`course.${status}`, null, actor, { reason }, now);
    this.out.course = true;
  }

  private notify(key: string, template: NotifyInput['template'], recipient: Recipient, data: NotifyInput['data']): void {
    this.out.notifications.push({ key, template, courseId: this.state.courseId, clinicId: this.state.clinicId, recipient, data });
  }

  private sendReminder(p: PlannedStep, s: StepRuntime, hoursBefore: number): void {
    const ses = s.session!;
    const dayBeforeDosing = p.kind === 'dosing' && hoursBefore <= 24;
    const data: NotifyInput['data'] = { sessionKey: p.id, startsAt: iso(ses.startsAt), kind: p.kind, hoursBefore, dayBeforeDosing };
    if (dayBeforeDosing) {
      data.fastingFoodHours = this.protocol.safety.fasting.foodHours;
      data.fastingClearLiquidsHours = this.protocol.safety.fasting.clearLiquidsHours;
      data.escortRequired = this.protocol.safety.escortRequired;
      data.noDrivingHours = this.protocol.safety.noDrivingHours;
    }
    this.notify(`${this.state.courseId}/${p.id}/s${ses.scheduleCount}/reminder-${hoursBefore}h`, 'appointment-reminder', { kind: 'client' }, data);
  }

  private event(type: string, stepKey: string | null, actor: ActorRef | undefined, detail: Record<string, unknown>, now: number): void {
    const seq = ++this.state.counters.event;
    this.out.records.push({
      table: 'event',
      id: `${this.state.courseId}/e${seq}`,
      seq,
      type,
      stepKey,
      at: iso(now)!,
      // An actor is a staff member or, without one, the API token it acted with; no actor = the engine.
      actorType: actor ? (actor.staffId ? 'staff' : 'token') : 'system',
      actorId: actor ? (actor.staffId ?? actor.tokenId ?? null) : null,
      detail,
      ...(actor ? { by: { ...(actor.role ? { role: actor.role } : {}), ...(actor.tokenId ? { tokenId: actor.tokenId } : {}), ...(actor.label ? { label: actor.label } : {}) } } : {}),
    });
  }

  private vitals(p: PlannedStep, s: StepRuntime, phase: 'pre-dose' | 'monitoring' | 'discharge', minutes: number | null, bp: { systolic: number; diastolic: number }, hr: number | undefined, spo2: number | undefined, now: number): void {
    const ses = s.session!;
    const n = ++ses.vitalsCount;
    this.out.records.push({ table: 'vitals', id: `${this.state.courseId}/${p.id}/s${ses.scheduleCount}/v${n}`, stepKey: p.id, phase, minutesAfterDose: minutes, systolic: bp.systolic, diastolic: bp.diastolic, heartRate: hr ?? null, spo2: spo2 ?? null, takenAt: iso(now)! });
  }

  private sessionRecord(p: PlannedStep, s: StepRuntime, completedAt?: number): void {
    const ses = s.session!;
    this.out.records.push({
      table: 'session',
      id: `${this.state.courseId}/${p.id}`,
      stepKey: p.id,
      kind: p.kind,
      status: ses.status,
      startsAt: iso(ses.startsAt),
      scheduleCount: ses.scheduleCount,
      noShowCount: ses.noShowCount,
      dosedAt: iso(ses.doseAt),
      completedAt: iso(completedAt ?? null),
      detail: ses.dose ? { route: ses.dose.route, doseMg: ses.dose.doseMg, preDose: ses.preDose?.decision ?? null } : { preDose: ses.preDose?.decision ?? null },
    });
  }

  private remsRecord(p: PlannedStep, s: StepRuntime, now: number, input: CourseActionInputs['rems-form'] | null): void {
    const doseKey = p.timing.anchor === 'step' ? p.timing.stepId : p.id;
    const ses = this.state.steps[doseKey]?.session ?? null;
    const reading = (at: number | 'discharge') => {
      const r = ses?.readings.filter((x) => x.at === at).pop();
      return r ? `${r.systolic}/${r.diastolic}` : null;
    };
    const openedAt = s.openedAt ?? now;
    this.out.records.push({
      table: 'rems-form',
      id: `${this.state.courseId}/${p.id}`,
      sessionStepKey: doseKey,
      firstTreatment: doseKey === this.plan.find((q) => q.kind === 'dosing')?.id,
      doseMg: input?.doseMg ?? ses?.dose?.doseMg ?? null,
      lotNumber: input?.lotNumber ?? ses?.dose?.lotNumber ?? null,
      bpPre: reading(0),
      bp40: reading(40),
      bpDischarge: reading('discharge'),
      monitoringMinutes: ses?.doseAt && ses.dischargedAt ? Math.floor(this.protocolMinutes(ses.dischargedAt - ses.doseAt)) : null,
      concomitant: input?.concomitant ?? {},
      sedation: input?.sedation ?? null,
      dissociation: input?.dissociation ?? null,
      respiratoryDepression: input?.respiratoryDepression ?? null,
      seriousAdverseEvent: input?.seriousAdverseEvent ?? null,
      dueAt: iso(openedAt + this.hours(this.protocol.rems?.monitoringFormDeadlineHours ?? 168))!,
      submittedAt: input ? iso(now) : null,
    });
  }

  private touch(stepId: string): void {
    this.out.steps.add(stepId);
    this.out.course = true;
  }

  // ---------------------------------------------------------------- output and views

  hasOutput(): boolean {
    const o = this.out;
    return o.course || o.steps.size > 0 || o.records.length > 0 || o.notifications.length > 0 || o.start.length > 0 || o.cancel.length > 0;
  }

  /** Takes what the workflow must do now and resets the buffer. */
  takeOutput(): MachineOutput {
    const o = this.out;
    this.out = { steps: new Set(), records: [], notifications: [], start: [], cancel: [], course: false };
    const view = o.course ? this.current() : null;
    const steps = [...o.steps].map((id) => this.stepProjection(this.byId.get(id)!, this.state.steps[id]!));
    const projection: CourseProjectionInput | null =
      steps.length || o.records.length || view
        ? {
            courseId: this.state.courseId,
            clinicId: this.state.clinicId,
            steps,
            records: o.records,
            ...(view
              ? {
                  course: {
                    status: this.state.status,
                    currentStep: view.currentStep,
                    currentStepDeadline: view.currentStepDeadline,
                    riskLevel: this.state.riskLevel,
                    primaryClinicianId: this.state.primaryClinicianId,
                    endedAt: iso(this.state.endedAt),
                    endReason: this.state.endReason,
                  },
                }
              : {}),
          }
        : null;
    return { projection, notifications: o.notifications, startAssessments: o.start, cancelAssessments: o.cancel };
  }

  private stepProjection(p: PlannedStep, s: StepRuntime): CourseProjectionInput['steps'][number] {
    const state: ProjectedStepState = s.status === 'open' ? (s.overdue ? 'overdue' : 'open') : s.status === 'pending' ? 'open' : s.status;
    return {
      stepKey: p.id,
      kind: p.kind,
      state,
      ownerRole: p.owner,
      ownerStaffId: null,
      enteredAt: iso(s.openedAt ?? s.completedAt)!,
      deadlineAt: iso(s.deadlineAt),
      completedAt: iso(s.completedAt),
      escalationLevel: s.escalationsSent,
      outcome: s.outcome,
      detail: {
        name: p.name,
        phase: p.phaseId,
        ...(s.session ? { session: s.session.status, startsAt: iso(s.session.startsAt), noShows: s.session.noShowCount } : {}),
        ...(s.assessmentId ? { assessmentId: s.assessmentId } : {}),
        ...(s.detail.targetAt ? { targetAt: s.detail.targetAt } : {}),
      },
    };
  }

  /** The step the course waits on now: the first open step of the main line, else the next pending one. */
  current(): { currentStep: string | null; currentStepDeadline: string | null } {
    if (this.finished) return { currentStep: null, currentStepDeadline: null };
    const open = this.plan.filter((p) => this.state.steps[p.id]!.status === 'open');
    const main = open.find((p) => this.blocking(p)) ?? open[0];
    if (main) return { currentStep: main.id, currentStepDeadline: iso(this.state.steps[main.id]!.deadlineAt) };
    const next = this.plan.find((p) => this.state.steps[p.id]!.status === 'pending');
    return { currentStep: next?.id ?? null, currentStepDeadline: null };
  }

  view(now: number): CourseView {
    const cur = this.current();
    return {
      courseId: this.state.courseId,
      clinicId: this.state.clinicId,
      protocol: `${this.protocol.id}@${this.protocol.version}`,
      status: this.state.status,
      currentStep: cur.currentStep,
      currentStepDeadline: cur.currentStepDeadline,
      riskLevel: this.state.riskLevel,
      safetyHolds: this.state.holds.map((h) => ({ id: h.id, kind: h.kind, reason: h.reason, level: h.level, at: iso(h.at)!, stepKey: h.stepKey, suicideRisk: isSuicideRiskHold(h), closesWhen: holdClosesWhen(h) })),
      primaryClinicianId: this.state.primaryClinicianId,
      pauseReason: this.state.pauseReason,
      endReason: this.state.endReason,
      endedAt: iso(this.state.endedAt),
      dosesGiven: this.state.dosesGiven,
      courseEndAt: iso(this.state.courseEndAt),
      maintenance: this.state.maintenance,
      steps: this.plan.map((p) => {
        const s = this.state.steps[p.id]!;
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
      }),
      assessments: Object.values(this.state.assessments),
      asOf: iso(now)!,
    };
  }
}

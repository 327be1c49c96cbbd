// The course's progression, as a plain class: steps open when what they wait for is done, deadlines
// escalate, sessions are reminded, holds open and close, the course ends. No Temporal, no I/O, no
// clock: every method takes `now`. It also holds the rules the action handlers share (which step an
// action may act on, the client's latest answers, the baseline) and the buffer of what a transition
// emitted: domain events (events.ts), messages to send, assessments to start or cancel.
//
// Time: protocol durations (hours/days/minutes) are divided by `timeScale` to get real durations, so a
// course at timeScale 86400 lives one protocol day per second. Stored times are epoch ms of workflow time.
import { planCourse, type PlannedStep } from '../../domain/plan-course';
import { boosterDueDays } from '../../domain/rules/booster';
import type { Protocol, Role } from '../../domain/protocol';
import { riskRank, type RiskLevel } from '../../domain/rules/suicide-risk';
import type { InstrumentId } from '../../domain/instruments/instrument-id';
import { isoTime as iso } from '../../domain/time';
import type { AssessmentInput } from '../assessment-machine';
import type { BpReading } from '../../domain/rules/discharge-readiness';
import type { ActorRef, AssessmentInstrumentResult, CourseActionInputs, CourseActionName } from '../contracts';
import { Rejection } from '../rejection';
import type { DomainEvent, Notification, StepEvent } from './events';
import { isSuicideRiskHold, type CourseInit, type CourseMachineState, type SafetyHold, type StepRuntime, type StepStatus } from './state';
import { blocksMainLine, waitingOn } from './views';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** A scheduled session not recorded this long after its start time is overdue. */
export const SESSION_GRACE_HOURS = 24;
/** Reminders before each session, in protocol hours. */
export const REMINDER_HOURS_BEFORE = [48, 24] as const;
const SESSION_KINDS = new Set(['preparation', 'dosing', 'integration']);

/** What an action answers: a short outcome, clinical reasons where a rule decided, the ids it made. */
export type Outcome = { outcome: string; reasons?: Array<{ code: string; message: string; blocking: boolean }>; assessmentId?: string };
/** What a handler returns once its checks pass: the change, applied only when the action is applied. */
export type Plan = () => Outcome;
/**
 * An action's handler: checks the input against the course's state (throwing a Rejection, never
 * changing state) and returns the change to make. Handlers live in handlers/<group>.ts.
 */
export type Handler<K extends CourseActionName> = (m: Progression, input: CourseActionInputs[K], now: number) => Plan;
/** A group's handlers, keyed by action name (the machine assembles the groups). */
export type HandlerTable = { [K in CourseActionName]?: Handler<K> };

/** What one or more transitions emitted, taken by the workflow at once. */
export interface MachineEvents {
  events: DomainEvent[];
  notifications: Notification[];
  startAssessments: AssessmentInput[];
  cancelAssessments: string[];
  /** Set by `resync`: what the projection removes so the rows say what the course holds (see `resync`). */
  resync?: ResyncFence;
}

/**
 * What a resync removes besides the timeline entries past the course's counter (every projection
 * removes those, from its own `seq`): rows of steps not opened, session rows of steps without a session.
 */
export interface ResyncFence {
  unopenedSteps: string[];
  sessionlessSteps: string[];
}

interface Buffer {
  steps: Set<string>;
  events: DomainEvent[];
  notifications: Notification[];
  start: AssessmentInput[];
  cancel: string[];
  course: boolean;
  resync: boolean;
}
const emptyBuffer = (): Buffer => ({ steps: new Set(), events: [], notifications: [], start: [], cancel: [], course: false, resync: false });

export class Progression {
  /** The course's protocol: the snapshot it was enrolled on, or the version a coordinator moved it to. */
  get protocol(): Protocol {
    return this.currentProtocol;
  }
  /** The course's steps in order, from the protocol (and what the state adds to it). Rebuilt by `replan`. */
  get plan(): readonly PlannedStep[] {
    return this.currentPlan;
  }
  get byId(): ReadonlyMap<string, PlannedStep> {
    return this.stepsById;
  }
  private currentProtocol: Protocol;
  private currentPlan: PlannedStep[] = [];
  private stepsById = new Map<string, PlannedStep>();
  private out: Buffer = emptyBuffer();

  constructor(
    protocol: Protocol,
    readonly state: CourseMachineState,
  ) {
    this.currentProtocol = protocol;
    this.replan();
  }

  /**
   * Rebuilds the plan from the protocol (a new one, for a move between versions) and the state. The
   * one place the plan is made: a change that adds steps to a running course (a move, a booster) changes
   * the protocol or the state, then calls this.
   */
  protected replan(protocol: Protocol = this.currentProtocol): void {
    this.currentProtocol = protocol;
    // A course in maintenance has the booster and review steps its state counts (plan-course.ts).
    this.currentPlan = planCourse(protocol, { boosters: this.state.boosters?.added ?? 0, reviews: this.state.boosters?.reviews ?? 0 });
    this.stepsById = new Map(this.currentPlan.map((p) => [p.id, p]));
  }

  /** A move between versions (handlers/versions.ts): from now on the course follows `protocol`. */
  followProtocol(protocol: Protocol): void {
    this.replan(protocol);
  }

  /** A new course's state: every step pending. */
  static initialState(protocol: Protocol, init: CourseInit, now: number): CourseMachineState {
    const steps: Record<string, StepRuntime> = {};
    for (const p of planCourse(protocol)) {
      steps[p.id] = { id: p.id, status: 'pending', openedAt: null, deadlineAt: null, deadlineSeq: 0, overdue: false, escalationsSent: 0, completedAt: null, outcome: null, session: null, assessmentId: null, detail: {} };
    }
    return {
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
    };
  }

  /** The first transition of a new course: `course.started`, then the steps that open at once. */
  protected start(now: number): void {
    this.event('course.started', null, undefined, { protocol: `${this.protocol.id}@${this.protocol.version}`, timeScale: this.state.timeScale }, now);
    this.out.course = true;
    this.tick(now);
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
    this.boosterByTime(now);
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
      this.remsFormLate(p, s, now);
    }
    if (this.state.boosters && this.state.maintenance === 'maintenance') {
      if (this.maintenanceOver()) this.endMaintenance(now);
    } else if (this.plan.every((p) => ['done', 'skipped', 'cancelled'].includes(this.state.steps[p.id]!.status))) {
      this.end('completed', this.state.maintenance === 'maintenance' ? 'maintenance' : 'course-complete', now);
    }
  }

  /** The next time `tick` has something to do, or null (wait for messages only). */
  nextWakeAt(now: number): number | null {
    return this.nextWake(now)?.at ?? null;
  }

  /** The machine's next wake-up after `now`, with what it is for (the timer's summary), or null. */
  nextWake(now: number): { at: number; summary: string } | null {
    if (this.finished || this.state.status === 'paused') return null;
    let next: { at: number; summary: string } | null = null;
    const consider = (t: number | null, summary: () => string) => {
      if (t !== null && t > now && (next === null || t < next.at)) next = { at: t, summary: summary() };
    };
    consider(this.boosterDueAt(), () => `due: Booster session ${(this.state.boosters?.added ?? 0) + 1}`);
    for (const p of this.plan) {
      const s = this.state.steps[p.id]!;
      if (s.status === 'pending' && p.timing.anchor === 'course-end' && this.state.courseEndAt !== null) {
        consider(this.state.courseEndAt + this.hours(p.timing.offsetDays * 24), () => `opens: ${p.name}`);
      }
      if (s.status !== 'open') continue;
      if (s.session?.status === 'scheduled') {
        const reminders = s.session.reminders;
        reminders.forEach((r, i) => {
          if (!r.sent) consider(r.at, () => `reminder ${i + 1} of ${reminders.length}: ${p.name}`);
        });
      }
      const remsDue = this.remsFormDueAt(p, s);
      if (remsDue !== null && s.detail.lateAt === undefined) consider(remsDue, () => `REMS form due: ${p.name}`);
      const levels = this.protocol.escalation.levels;
      if (s.deadlineAt !== null && p.kind !== 'assessment' && s.escalationsSent < levels.length) {
        consider(s.deadlineAt + this.hours(levels[s.escalationsSent]!.afterBreachHours) + 1, () => `escalation ${s.escalationsSent + 1} of ${levels.length}: ${p.name} overdue`);
      }
    }
    return next;
  }

  // ---------------------------------------------------------------- opening steps

  isDone(id: string): boolean {
    const st = this.state.steps[id]!.status;
    return st === 'done' || st === 'skipped';
  }

  /** The first earlier step this one waits for, if any. */
  waitingFor(p: PlannedStep): PlannedStep | null {
    const t = p.timing;
    if (t.anchor === 'step') return this.isDone(t.stepId) ? null : this.byId.get(t.stepId)!;
    if (t.anchor === 'course-end') return null;
    for (const q of this.plan) {
      if (q === p) break;
      if (blocksMainLine(q) && !this.isDone(q.id)) return q;
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

  complete(p: PlannedStep, s: StepRuntime, outcome: string, now: number, status: StepStatus = 'done'): void {
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

  setDeadline(p: PlannedStep, s: StepRuntime, at: number | null): void {
    s.deadlineAt = at;
    s.deadlineSeq++;
    s.escalationsSent = 0;
    s.overdue = false;
    this.touch(p.id);
  }

  /** An integration session's deadline: the protocol's window after its dose. */
  integrationDeadline(p: PlannedStep, s: StepRuntime): number {
    const dose = p.timing.anchor === 'step' ? this.state.steps[p.timing.stepId] : undefined;
    const from = dose?.completedAt ?? s.openedAt!;
    return from + this.hours(this.protocol.course.integrationWindowHours ?? p.deadlineHours ?? 48);
  }

  // ---------------------------------------------------------------- which step an action acts on

  /** The protocol's one step of this kind, open. */
  stepOfKind(kind: string): [PlannedStep, StepRuntime] {
    const p = this.plan.find((q) => q.kind === kind);
    if (!p) throw new Rejection('InvalidTransition', `this protocol (${this.protocol.id}@${this.protocol.version}) has no ${kind} step`);
    return this.requireOpen(p);
  }

  /** The named step, of one of these kinds, open. */
  openStepOf(stepKey: string, kinds: string[], action: string): [PlannedStep, StepRuntime] {
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

  // ---------------------------------------------------------------- bounded state
  // The state carries what a later decision reads, nothing more: every reading, result and reason is in
  // the projection already (vitals, assessment and session rows). See README.md, "Carried state".

  /**
   * The readings a decision still reads: the latest at each of the protocol's check times (the discharge
   * rule), and at 0 and 40 min and discharge (the REMS form). Others are in the vitals rows only.
   */
  keepReadings(readings: readonly BpReading[]): BpReading[] {
    const wanted = new Set<number | 'discharge'>([...this.protocol.safety.bloodPressure.checkMinutes, 0, 'discharge', ...(this.protocol.rems ? [40] : [])]);
    const latest = new Map<number | 'discharge', BpReading>();
    for (const r of readings) {
      if (!wanted.has(r.at)) continue;
      latest.delete(r.at);
      latest.set(r.at, r);
    }
    return [...latest.values()];
  }

  /**
   * A session that ended (completed or cancelled) keeps its status, times, dose and counters; its
   * reminders, the pre-dose check's reasons and its readings go (a REMS form still to be submitted for
   * it keeps the three readings it reads until then: `formSubmitted`).
   */
  foldSession(p: PlannedStep, s: StepRuntime): void {
    const ses = s.session;
    if (!ses) return;
    ses.reminders = [];
    if (ses.preDose) ses.preDose = { ...ses.preDose, reasons: [] };
    const form = this.plan.find((q) => q.kind === 'rems-monitoring-form' && q.timing.anchor === 'step' && q.timing.stepId === p.id);
    const formOutstanding = form !== undefined && !['done', 'skipped', 'cancelled'].includes(this.state.steps[form.id]!.status);
    ses.readings = formOutstanding ? ses.readings.filter((r) => r.at === 0 || r.at === 40 || r.at === 'discharge') : [];
  }

  /** A REMS form was submitted: its session's readings are no longer read. */
  formSubmitted(form: PlannedStep): void {
    if (form.timing.anchor !== 'step') return;
    const ses = this.state.steps[form.timing.stepId]?.session;
    if (ses && (ses.status === 'completed' || ses.status === 'cancelled')) ses.readings = [];
  }

  /** An assessment's results as carried once it finished: the completed C-SSRS and PHQ-9 (what the baseline and risk checks read). */
  foldResults(results: readonly AssessmentInstrumentResult[]): AssessmentInstrumentResult[] {
    return results.filter((r) => r.status === 'completed' && (r.instrumentId === 'cssrs' || r.instrumentId === 'phq9'));
  }

  // ---------------------------------------------------------------- the client's answers

  /** The client's latest completed answer to an instrument in this course (any assessment), with its time. */
  latestAnswer(instrumentId: 'cssrs' | 'phq9', before = Infinity): { at: number; cssrsRisk?: RiskLevel; phq9Item9?: number } | null {
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
  checkInRisk(input: { cssrsRisk?: RiskLevel; phq9Item9?: number }): { cssrsRisk?: RiskLevel; phq9Item9?: number } {
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

  /** The suicide-risk answers of one assessment. */
  assessmentResults(id: string | null): { cssrsRisk?: RiskLevel; phq9Item9?: number } {
    const a = id ? this.state.assessments[id] : undefined;
    const out: { cssrsRisk?: RiskLevel; phq9Item9?: number } = {};
    for (const r of a?.results ?? []) {
      if (r.status !== 'completed') continue;
      if (r.cssrsRisk) out.cssrsRisk = r.cssrsRisk;
      if (r.phq9Item9 !== undefined) out.phq9Item9 = r.phq9Item9;
    }
    return out;
  }

  /** Withdraws a pending assessment (a step a move between versions removed): its child is cancelled when the workflow flushes. */
  cancelAssessment(id: string): void {
    const a = this.state.assessments[id];
    if (a?.status !== 'pending') return;
    a.status = 'cancelled';
    this.out.cancel.push(a.id);
  }

  startAssessment(id: string, stepKey: string, instruments: InstrumentId[], trigger: 'scheduled' | 'staff', _now: number): void {
    this.state.assessments[id] = { id, stepKey, instruments, trigger, status: 'pending', results: [] };
    const a = this.protocol.assessments;
    this.out.start.push({
      assessmentId: id,
      courseId: this.state.courseId,
      clinicId: this.state.clinicId,
      stepKey,
      instruments,
      trigger,
      reminders: { everyHours: a.reminders.everyHours, count: a.reminders.count },
      expiryHours: a.expiryHours,
      timeScale: this.state.timeScale,
      safetyAlertRoles: this.protocol.escalation.safetyAlertRoles.filter((r): r is Exclude<Role, 'client'> => r !== 'client'),
    });
  }

  // ---------------------------------------------------------------- safety holds

  /** A hold opened, changed (closed null) or closed: the event the projection writes as its row. */
  holdChanged(h: SafetyHold, closed: { at: number; resolution: string; actor?: ActorRef; notes?: string } | null): void {
    this.emit({ kind: 'hold', hold: { ...h }, closed });
    this.out.course = true;
  }

  /** Closes one open hold: drops it from the state and projects it closed in the same transition. */
  closeHold(h: SafetyHold, now: number, resolution: string, actor?: ActorRef, notes?: string): void {
    const i = this.state.holds.findIndex((x) => x.id === h.id);
    if (i < 0) return;
    this.state.holds.splice(i, 1);
    this.holdChanged(h, { at: now, resolution, actor, notes });
    this.event('safety-hold.closed', h.stepKey, actor, { holdId: h.id, kind: h.kind, resolution }, now);
  }

  addHold(h: SafetyHold, now: number, assessmentId: string | null, alert = true): void {
    h.assessmentId = assessmentId;
    h.suicideRisk ??= isSuicideRiskHold(h);
    this.state.holds.push(h);
    if (h.level && riskRank(h.level) > riskRank(this.state.riskLevel)) this.state.riskLevel = h.level;
    this.holdChanged(h, null);
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

  // ---------------------------------------------------------------- maintenance boosters
  // A course whose prescriber chose maintenance stays open through its follow-ups; the booster rule
  // (domain/rules/booster.ts) adds booster sessions (by relapse: handlers/maintenance.ts; by interval,
  // or a relapse that waited for the spacing: here, by time) and booster reviews. Each is added to the
  // state's count and the plan rebuilt (`replan`), so it crosses continue-as-new with the state.

  /** Adds the next booster (its dose and the protocol's per-dose steps) or booster review; returns its main step. */
  addMaintenanceStep(kind: 'booster' | 'review', now: number, detail: Record<string, unknown>): PlannedStep {
    const b = (this.state.boosters ??= { added: 0, reviews: 0, relapseWaiting: false });
    if (kind === 'booster') {
      b.added++;
      b.relapseWaiting = false;
    } else b.reviews++;
    this.replan();
    for (const p of this.plan) {
      this.state.steps[p.id] ??= { id: p.id, status: 'pending', openedAt: null, deadlineAt: null, deadlineSeq: 0, overdue: false, escalationsSent: 0, completedAt: null, outcome: null, session: null, assessmentId: null, detail: {} };
    }
    const p = this.byId.get(kind === 'booster' ? `booster-${b.added}` : `booster-review-${b.reviews}`)!;
    this.event(kind === 'booster' ? 'booster.added' : 'booster.review-opened', p.id, undefined, detail, now);
    // The coordinator schedules the booster; the prescriber reviews (the step's owner).
    const [role, subjectKey] = kind === 'booster' ? (['coordinator', 'schedule-needed'] as const) : ([p.owner && p.owner !== 'client' ? p.owner : 'prescriber', 'maintenance-review'] as const);
    this.notify(`${this.state.courseId}/${p.id}/added`, 'course-notice', { kind: 'role', role }, { subjectKey, courseId: this.state.courseId, stepKey: p.id });
    this.courseChanged();
    return p;
  }

  /** Whether the maintenance period still runs: some follow-up is still to come or open. */
  maintenanceRunning(): boolean {
    return this.plan.some((p) => p.timing.anchor === 'course-end' && !['done', 'skipped', 'cancelled'].includes(this.state.steps[p.id]!.status));
  }

  /** A booster added and not yet given (or given and not yet discharged). */
  boosterOutstanding(): PlannedStep | null {
    return this.plan.find((p) => p.maintenance === 'booster' && p.kind === 'dosing' && !['done', 'skipped', 'cancelled'].includes(this.state.steps[p.id]!.status)) ?? null;
  }

  /** When the next booster falls due by time (the interval, or a relapse waiting for the spacing), or null. */
  boosterDueAt(): number | null {
    const b = this.state.boosters;
    if (!b || this.state.maintenance !== 'maintenance' || this.finished || this.state.lastDoseAt === null) return null;
    if (!this.maintenanceRunning() || this.boosterOutstanding()) return null;
    const days = boosterDueDays(this.protocol, { boostersSoFar: b.added, relapseWaiting: b.relapseWaiting });
    return days === null ? null : this.state.lastDoseAt + this.hours(days * 24);
  }

  private boosterByTime(now: number): void {
    const at = this.boosterDueAt();
    if (at === null || now < at) return;
    const relapse = this.state.boosters!.relapseWaiting;
    this.addMaintenanceStep('booster', now, { rule: relapse ? 'relapse' : 'interval', ...(relapse ? {} : { afterDays: this.protocol.maintenance.maxDaysBetweenBoosters }) });
  }

  /**
   * Maintenance ends after the last follow-up, once no booster is in the middle of its session (checked
   * in or dosed) and every step of a booster given (its integration, its REMS form) is done.
   */
  private maintenanceOver(): boolean {
    const finished = (id: string) => ['done', 'skipped', 'cancelled'].includes(this.state.steps[id]!.status);
    for (const p of this.plan) {
      if (p.maintenance === undefined) {
        if (!finished(p.id)) return false;
        continue;
      }
      const s = this.state.steps[p.id]!;
      if (p.kind === 'dosing' && (s.session?.status === 'checked-in' || s.session?.status === 'dosed')) return false;
      // A booster given: its integration and REMS form are still to be done.
      if (p.maintenance === 'booster' && p.kind !== 'dosing' && p.timing.anchor === 'step' && this.state.steps[p.timing.stepId]?.status === 'done' && !finished(p.id)) return false;
    }
    return true;
  }

  /** The course ends in maintenance: boosters not given (and their steps) and open reviews are cancelled. */
  private endMaintenance(now: number): void {
    const cancelled: string[] = [];
    for (const p of this.plan) {
      const s = this.state.steps[p.id]!;
      if (p.maintenance === undefined || ['done', 'skipped', 'cancelled'].includes(s.status)) continue;
      const wasOpen = s.status === 'open';
      this.cancelStep(p, s, 'maintenance-ended', now);
      if (wasOpen) this.touch(p.id);
      cancelled.push(p.id);
    }
    if (this.state.boosters) this.state.boosters.relapseWaiting = false;
    this.event('maintenance.ended', null, undefined, { boosters: this.state.boosters?.added ?? 0, cancelled }, now);
    this.end('completed', 'maintenance', now);
  }

  // ---------------------------------------------------------------- the course's end

  withdraw(reason: string, now: number, actor?: ActorRef): void {
    this.end('withdrawn', `withdrawn: ${reason}`, now, actor);
  }

  /** A step cancelled (the course ended, maintenance ended, a move removed it), with its session if not yet held. */
  cancelStep(p: PlannedStep, s: StepRuntime, outcome: string, now: number): void {
    s.status = 'cancelled';
    s.completedAt = now;
    s.outcome = outcome;
    if (s.session && !['completed', 'cancelled'].includes(s.session.status)) {
      s.session.status = 'cancelled';
      this.sessionRecord(p, s);
      this.foldSession(p, s);
    }
  }

  end(status: 'completed' | 'withdrawn' | 'ineligible', reason: string, now: number, actor?: ActorRef): void {
    if (this.finished) return;
    this.state.status = status;
    this.state.endedAt = now;
    this.state.endReason = reason;
    for (const p of this.plan) {
      const s = this.state.steps[p.id]!;
      if (s.status === 'open') {
        this.cancelStep(p, s, status, now);
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

  // ---------------------------------------------------------------- what a transition emits

  notify(key: string, template: Notification['template'], recipient: Notification['recipient'], data: Notification['data']): void {
    this.out.notifications.push({ key, template, courseId: this.state.courseId, clinicId: this.state.clinicId, recipient, data });
  }

  private sendReminder(p: PlannedStep, s: StepRuntime, hoursBefore: number): void {
    const ses = s.session!;
    const dayBeforeDosing = p.kind === 'dosing' && hoursBefore <= 24;
    const data: Notification['data'] = { sessionKey: p.id, startsAt: iso(ses.startsAt), kind: p.kind, hoursBefore, dayBeforeDosing };
    if (dayBeforeDosing) {
      data.fastingFoodHours = this.protocol.safety.fasting.foodHours;
      data.fastingClearLiquidsHours = this.protocol.safety.fasting.clearLiquidsHours;
      data.escortRequired = this.protocol.safety.escortRequired;
      data.noDrivingHours = this.protocol.safety.noDrivingHours;
    }
    this.notify(`${this.state.courseId}/${p.id}/s${ses.scheduleCount}/reminder-${hoursBefore}h`, 'appointment-reminder', { kind: 'client' }, data);
  }

  /** Emits a domain event of this transition. */
  emit(e: DomainEvent): void {
    this.out.events.push(e);
  }

  /** Marks the course row as changed by this transition. */
  courseChanged(): void {
    this.out.course = true;
  }

  /** One timeline entry: `type` as staff read it on the course's timeline (and in the audit log). */
  event(type: string, stepKey: string | null, actor: ActorRef | undefined, detail: Record<string, unknown>, now: number): void {
    const seq = ++this.state.counters.event;
    this.emit({ kind: 'timeline', seq, type, stepKey, at: now, ...(actor ? { actor } : {}), detail });
  }

  vitals(p: PlannedStep, s: StepRuntime, phase: 'pre-dose' | 'monitoring' | 'discharge', minutes: number | null, bp: { systolic: number; diastolic: number }, hr: number | undefined, spo2: number | undefined, now: number): void {
    const ses = s.session!;
    const n = ++ses.vitalsCount;
    this.emit({ kind: 'vitals', stepKey: p.id, scheduleCount: ses.scheduleCount, n, phase, minutesAfterDose: minutes, systolic: bp.systolic, diastolic: bp.diastolic, heartRate: hr ?? null, spo2: spo2 ?? null, at: now });
  }

  sessionRecord(p: PlannedStep, s: StepRuntime, completedAt?: number): void {
    const ses = s.session!;
    this.emit({
      kind: 'session',
      stepKey: p.id,
      stepKind: p.kind,
      status: ses.status,
      startsAt: ses.startsAt,
      scheduleCount: ses.scheduleCount,
      noShowCount: ses.noShowCount,
      doseAt: ses.doseAt,
      completedAt: completedAt ?? null,
      dose: ses.dose ? { route: ses.dose.route, doseMg: ses.dose.doseMg, lotNumber: ses.dose.lotNumber } : null,
      preDose: ses.preDose?.decision ?? null,
    });
  }

  /** When an open REMS monitoring form is due (the program's 7 days from its session), else null. */
  remsFormDueAt(p: PlannedStep, s: StepRuntime): number | null {
    if (p.kind !== 'rems-monitoring-form' || s.status !== 'open' || s.openedAt === null) return null;
    return s.openedAt + this.hours(this.protocol.rems?.monitoringFormDeadlineHours ?? 168);
  }

  /**
   * An unfiled REMS form past its due date is late, once, at the due date itself (`rems-form.late` on
   * the timeline; the webhook `rems.form-late` follows from it, migration 0016), whatever the step's
   * escalation ladder says.
   */
  private remsFormLate(p: PlannedStep, s: StepRuntime, now: number): void {
    const due = this.remsFormDueAt(p, s);
    if (due === null || now < due || s.detail.lateAt !== undefined) return;
    s.detail.lateAt = now;
    const session = p.timing.anchor === 'step' ? p.timing.stepId : null;
    const days = (this.protocol.rems?.monitoringFormDeadlineHours ?? 168) / 24;
    this.event('rems-form.late', p.id, undefined, { summary: `REMS Patient Monitoring Form not filed within ${days} days of the session: late`, dueAt: iso(due), sessionStepKey: session }, now);
    this.touch(p.id);
  }

  /** A REMS monitoring form: pre-filled from its session when it opens (`input` null), then as submitted. */
  remsRecord(p: PlannedStep, s: StepRuntime, now: number, input: CourseActionInputs['rems-form'] | null): void {
    const doseKey = p.timing.anchor === 'step' ? p.timing.stepId : p.id;
    const ses = this.state.steps[doseKey]?.session ?? null;
    const reading = (at: number | 'discharge') => {
      const r = ses?.readings.filter((x) => x.at === at).pop();
      return r ? `${r.systolic}/${r.diastolic}` : null;
    };
    const openedAt = s.openedAt ?? now;
    this.emit({
      kind: 'rems-form',
      stepKey: p.id,
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
      dueAt: openedAt + this.hours(this.protocol.rems?.monitoringFormDeadlineHours ?? 168),
      submittedAt: input ? now : null,
    });
  }

  /** Marks a step (and so the course row) as changed by this transition. */
  touch(stepId: string): void {
    this.out.steps.add(stepId);
    this.out.course = true;
  }

  /**
   * Takes only the assessments to open and to cancel, leaving the rest of the output buffered: the
   * workflow opens its forms at once, before any other input can arrive (src/workflows/course.ts).
   */
  takeFormChanges(): { start: AssessmentInput[]; cancel: string[] } {
    const { start, cancel } = this.out;
    this.out.start = [];
    this.out.cancel = [];
    return { start, cancel };
  }

  hasOutput(): boolean {
    const o = this.out;
    return o.course || o.resync || o.steps.size > 0 || o.events.length > 0 || o.notifications.length > 0 || o.start.length > 0 || o.cancel.length > 0;
  }

  /**
   * The course's record written again as the course holds it: every opened step, every session, the
   * course row. For a workflow task that was lost after its projection had committed (the worker died
   * before it reported the task done): the server dropped the Update that task carried, the rows kept
   * what it did. The projection also removes what the course does not hold: timeline entries past its
   * counter (each with an entry in the audit log saying so), the rows of steps it has not opened, the
   * session rows of steps without a session. Changes no state and records no event.
   */
  resync(): void {
    for (const p of this.plan) {
      const s = this.state.steps[p.id]!;
      if (s.status === 'pending') continue;
      this.out.steps.add(p.id);
      if (s.session) this.sessionRecord(p, s, s.session.status === 'completed' ? (s.completedAt ?? undefined) : undefined);
    }
    this.out.course = true;
    this.out.resync = true;
  }

  /**
   * Takes what the transitions since the last call emitted and resets the buffer: their events, then
   * each changed step as it stands now, then the course as it stands now (when anything changed it).
   */
  takeEvents(): MachineEvents {
    const o = this.out;
    this.out = emptyBuffer();
    const events = [...o.events];
    for (const id of o.steps) {
      // A step a move between versions removed since it was touched: the move wrote its row (handlers/versions.ts).
      const p = this.byId.get(id);
      if (p) events.push(this.stepEvent(p, this.state.steps[id]!));
    }
    if (o.course) {
      const w = waitingOn(this.plan, this.state);
      const c = this.state;
      events.push({ kind: 'course', status: c.status, currentStep: w.stepKey, currentStepDeadline: w.deadlineAt, riskLevel: c.riskLevel, primaryClinicianId: c.primaryClinicianId, endedAt: c.endedAt, endReason: c.endReason });
    }
    const resync: ResyncFence | undefined = o.resync
      ? {
          unopenedSteps: this.plan.filter((p) => this.state.steps[p.id]!.status === 'pending').map((p) => p.id),
          sessionlessSteps: this.plan.filter((p) => !this.state.steps[p.id]!.session).map((p) => p.id),
        }
      : undefined;
    return { events, notifications: o.notifications, startAssessments: o.start, cancelAssessments: o.cancel, ...(resync ? { resync } : {}) };
  }

  /** A step's row as the projection writes it (a move writes those of the steps it removed from the plan). */
  stepEvent(p: PlannedStep, s: StepRuntime): StepEvent {
    return {
      kind: 'step',
      stepKey: p.id,
      stepKind: p.kind,
      name: p.name,
      phase: p.phaseId,
      owner: p.owner,
      status: s.status,
      overdue: s.overdue,
      openedAt: s.openedAt,
      deadlineAt: s.deadlineAt,
      completedAt: s.completedAt,
      escalationLevel: s.escalationsSent,
      outcome: s.outcome,
      session: s.session ? { status: s.session.status, startsAt: s.session.startsAt, noShows: s.session.noShowCount } : null,
      assessmentId: s.assessmentId,
      targetAt: typeof s.detail.targetAt === 'string' ? s.detail.targetAt : null,
    };
  }
}

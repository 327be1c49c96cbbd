// Shared set-up for the course machine's unit tests: the machine on its own (no Temporal, no clock,
// time is an argument), driven the way the workflow drives it. The ONLY file here that imports the
// machine and the protocols: when the machine moves, change the import lines below and nothing else.
import { CourseMachine, Rejection, type MachineOutput, type StepView } from '../../../../src/workflows/course-machine';
import { AssessmentMachine, type AssessmentInput } from '../../../../src/workflows/assessment-machine';
import { assertProtocol, getProtocol, type Protocol } from '../../../../src/domain';
import { HARD_STOPS, REVIEW_ITEMS } from '../../../../src/domain/rules/eligibility';
import type { ActorRef, AssessmentInstrumentResult, CourseActionInputs, CourseActionName, CourseActionRequests } from '../../../../src/workflows/messages';

export { AssessmentMachine, CourseMachine, Rejection };
export type { AssessmentInput, MachineOutput, Protocol, StepView };

export const MIN = 60_000;
export const H = 60 * MIN;
export const DAY = 24 * H;
/** A Monday morning, UTC. */
export const T0 = Date.parse('2026-01-05T09:00:00Z');
export const iso = (t: number) => new Date(t).toISOString();

export type ProtocolId = 'kap-office' | 'iv-series' | 'spravato-rems';
export const PROTOCOL_IDS: readonly ProtocolId[] = ['kap-office', 'iv-series', 'spravato-rems'];
export const protocol = (id: ProtocolId): Protocol => getProtocol(id, 1)!;

export const NO_HARD_STOPS = Object.fromEntries(Object.keys(HARD_STOPS).map((k) => [k, false])) as Record<keyof typeof HARD_STOPS, boolean>;
export const NO_REVIEW_ITEMS = Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, false])) as Record<keyof typeof REVIEW_ITEMS, boolean>;
export const CHECKLIST = { 'alert-oriented': true, 'minimal-nausea': true, 'walks-steadily': true, 'dissociation-resolved': true, 'written-instructions': true };
/** A pre-dose check that passes on every shipped protocol (the client's answers supply the suicide-risk part). */
export const GOOD_CHECK = { bloodPressure: { systolic: 122, diastolic: 78 }, heartRate: 72, spo2: 98, hoursSinceFood: 8, hoursSinceClearLiquids: 3, escortConfirmed: true, pregnancy: 'negative' as const };
export const DISCHARGE = { bloodPressure: { systolic: 124, diastolic: 80 }, spo2: 98, heartRate: 70, checklist: CHECKLIST, responsibleAdultPresent: true };
export const REMS_FORM = {
  doseMg: 56,
  lotNumber: 'L1',
  concomitant: { benzodiazepines: false, sedativeHypnotics: false, psychostimulants: false, maois: false, opioids: false },
  sedation: false,
  dissociation: true,
  respiratoryDepression: false,
  seriousAdverseEvent: false,
};
export const PRESCRIBER: ActorRef = { staffId: 'staff-p', role: 'prescriber', label: 'Dr P' };
export const COORDINATOR: ActorRef = { staffId: 'staff-c', role: 'coordinator', label: 'C Coord' };

/** Completed results for these instruments, with the suicide-risk answers a dose needs. */
export function answers(instruments: readonly string[], at: number, o: { item9?: number; risk?: 'none' | 'low' | 'moderate' | 'high' } = {}): AssessmentInstrumentResult[] {
  const one = (instrumentId: string): AssessmentInstrumentResult => {
    const base = { instrumentId: instrumentId as AssessmentInstrumentResult['instrumentId'], status: 'completed' as const, critical: false, answeredAt: at };
    if (instrumentId === 'phq9') return { ...base, total: 6, band: 'mild', phq9Item9: o.item9 ?? 0 };
    if (instrumentId === 'cssrs') return { ...base, total: 0, band: 'none', cssrsRisk: o.risk ?? 'none' };
    return { ...base, total: 5, band: 'minimal' };
  };
  return instruments.map(one);
}

/** The Rejection `f` throws (fails the test when it throws nothing or something else). */
export function rejection(f: () => unknown): Rejection {
  try {
    f();
  } catch (e) {
    if (e instanceof Rejection) return e;
    throw e;
  }
  throw new Error('expected a Rejection, nothing was thrown');
}

type Notification = MachineOutput['notifications'][number];
type ProjectionRecord = NonNullable<MachineOutput['projection']>['records'][number];

/** Notifications of a template (all when none given). */
export const notes = (out: MachineOutput, template?: string): Notification[] => out.notifications.filter((n) => !template || n.template === template);
/** Projected records of one table. */
export const rows = <T extends ProjectionRecord['table']>(out: MachineOutput, table: T): Array<Extract<ProjectionRecord, { table: T }>> =>
  (out.projection?.records ?? []).filter((r): r is Extract<ProjectionRecord, { table: T }> => r.table === table);
/** Timeline event types, in order. */
export const eventTypes = (out: MachineOutput): string[] => rows(out, 'event').map((e) => e.type);
/** Projected step rows: stepKey -> state. */
export const stepStates = (out: MachineOutput): Record<string, string> => Object.fromEntries((out.projection?.steps ?? []).map((s) => [s.stepKey, s.state]));

/**
 * One course on the machine with its own "now". `act` applies an action at now (with a staff actor),
 * `reject` expects a Rejection from both validate and apply and checks the state did not change,
 * `to`/`advance` move time and tick, `out` takes what the workflow would execute.
 */
export class Course {
  readonly m: CourseMachine;
  readonly p: Protocol;
  now: number;
  readonly id: string;
  /** When set (`record()`), every transition's output is taken and kept here, in order. */
  log: MachineOutput[] | null = null;

  constructor(
    readonly protocolId: ProtocolId = 'kap-office',
    o: { timeScale?: number; at?: number; courseId?: string; primaryClinicianId?: string; protocol?: Protocol } = {},
  ) {
    this.p = o.protocol ?? protocol(protocolId);
    this.now = o.at ?? T0;
    this.id = o.courseId ?? 'c1';
    this.m = CourseMachine.create(this.p, { courseId: this.id, clientId: 'k1', clinicId: 'x1', timeScale: o.timeScale ?? 1, ...(o.primaryClinicianId ? { primaryClinicianId: o.primaryClinicianId } : {}) }, this.now);
  }

  act<K extends CourseActionName>(name: K, input: Omit<CourseActionRequests[K], 'actor'>, actor: ActorRef | null = PRESCRIBER) {
    const r = this.m.apply(name, { ...input, ...(actor ? { actor } : {}) } as CourseActionInputs[K], this.now);
    this.keep();
    return r;
  }

  /** Keeps every output from now on in `log` (what the workflow would have executed, in order). */
  record(): this {
    this.log = [this.m.takeOutput()];
    return this;
  }
  private keep(): void {
    if (this.log) this.log.push(this.m.takeOutput());
  }
  /** Everything recorded: notifications, projected records and steps, assessments started and cancelled. */
  get all() {
    const log = this.log ?? [];
    return {
      notifications: log.flatMap((o) => o.notifications),
      records: log.flatMap((o) => o.projection?.records ?? []),
      steps: log.flatMap((o) => o.projection?.steps ?? []),
      courses: log.flatMap((o) => (o.projection?.course ? [o.projection.course] : [])),
      started: log.flatMap((o) => o.startAssessments),
      cancelled: log.flatMap((o) => o.cancelAssessments),
    };
  }

  /** The Rejection of an action now; validate and apply both refuse it and the state stays as it was. */
  reject<K extends CourseActionName>(name: K, input: unknown, actor: ActorRef | null = PRESCRIBER): Rejection {
    const full = (typeof input === 'object' && input !== null && actor ? { ...input, actor } : input) as CourseActionInputs[K];
    const before = JSON.stringify(this.m.state);
    const v = rejection(() => this.m.validate(name, full, this.now));
    const a = rejection(() => this.m.apply(name, full, this.now));
    expect({ type: a.type, message: a.message }).toEqual({ type: v.type, message: v.message });
    expect(JSON.stringify(this.m.state)).toBe(before);
    return a;
  }

  out(): MachineOutput {
    return this.m.takeOutput();
  }

  /** Moves time to `t` and ticks (as the workflow's timer would). */
  to(t: number): this {
    this.now = t;
    this.m.tick(t);
    this.keep();
    return this;
  }
  advance(ms: number): this {
    return this.to(this.now + ms);
  }
  /** Protocol hours in real milliseconds (the course's time scale). */
  hours(h: number): number {
    return this.m.hours(h);
  }
  /** Ticks at every wake the machine asks for, up to `t` (what the workflow's one durable timer does). */
  wakeUntil(t: number): number[] {
    const wakes: number[] = [];
    for (let w = this.m.nextWakeAt(this.now); w !== null && w <= t; w = this.m.nextWakeAt(this.now)) {
      wakes.push(w);
      this.to(w);
    }
    this.to(Math.max(t, this.now));
    return wakes;
  }

  view() {
    return this.m.view(this.now);
  }
  step(id: string): StepView {
    const s = this.view().steps.find((x) => x.id === id);
    if (!s) throw new Error(`no step ${id}`);
    return s;
  }
  status(id: string): string {
    return this.step(id).status;
  }

  /** The form of a step (or ad-hoc) finishes: answered (default), or partial/missed with the given results. */
  finish(stepKey: string, o: { status?: 'completed' | 'partial' | 'missed'; item9?: number; risk?: 'none' | 'low' | 'moderate' | 'high'; results?: AssessmentInstrumentResult[] } = {}): void {
    const id = `${this.id}/${stepKey}`;
    const a = this.m.state.assessments[id];
    if (!a) throw new Error(`no assessment ${id}`);
    const results = o.results ?? (o.status === 'missed' ? a.instruments.map((instrumentId) => ({ instrumentId, status: 'missed' as const, total: null, band: null, critical: false })) : answers(a.instruments, this.now, o));
    this.m.onAssessmentFinished({ assessmentId: id, status: o.status ?? 'completed', results, at: this.now }, this.now);
    this.keep();
  }

  /** Baseline answered, screening eligible, clearance approved, REMS enrolment (Spravato) and consent. */
  intake(): this {
    this.finish('screening');
    this.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
    this.act('clearance', { decision: 'approved' });
    if (this.p.rems) this.act('rems-enrollment', { enrolled: true, remsPatientId: 'R-1' });
    this.act('consent', { documentVersion: 'v1', signedByClient: true, prescriberSigned: true });
    return this;
  }

  /** Schedules a session in `inHours`, moves time to it and records it attended. */
  session(stepKey: string, inHours = 48): this {
    this.act('schedule', { stepKey, startsInHours: inHours });
    this.wakeUntil(this.now + this.hours(inHours));
    this.act('session-complete', { stepKey });
    return this;
  }

  /** Intake and every preparation session done: dose-1 is open. */
  readyToDose(): this {
    this.intake();
    for (let n = 1; n <= this.p.course.preparationSessions; n++) this.act('session-complete', { stepKey: `prep-${n}` });
    return this;
  }

  /** dose-1 scheduled in 1 h and its before-dose answers in: next is the pre-dose check. */
  scheduledDose(stepKey = 'dose-1', inHours = 1): this {
    this.act('schedule', { stepKey, startsInHours: inHours });
    const a = this.m.state.assessments[`${this.id}/${stepKey}`];
    if (a?.status === 'pending') this.finish(stepKey);
    this.wakeUntil(this.now + this.hours(inHours));
    return this;
  }

  /** A dose day by the protocol: schedule, pre-dose check, dose, every timed reading at its time, discharge at the minimum monitoring time. */
  doseDay(stepKey: string, inHours = 48): this {
    this.scheduledDose(stepKey, inHours);
    expect(this.act('pre-dose-check', { stepKey, ...GOOD_CHECK }).outcome).toBe('proceed');
    this.act('dose', { stepKey, route: this.p.routes[0]!, doseMg: 56, lotNumber: 'L1' });
    const doseAt = this.now;
    for (const at of this.p.safety.bloodPressure.checkMinutes) {
      if (typeof at !== 'number' || at === 0) continue;
      this.wakeUntil(doseAt + this.hours(at / 60));
      this.act('vitals', { stepKey, atMinutes: at, bloodPressure: { systolic: 128, diastolic: 80 }, spo2: 97 });
    }
    this.wakeUntil(doseAt + this.hours(this.p.safety.minMonitoringMinutes / 60));
    expect(this.act('discharge', { stepKey, ...DISCHARGE }).outcome).toBe('discharged');
    return this;
  }

  /** From intake to the last integration (and REMS form): every session on time, the protocol's minimum spacing between doses. */
  throughDoses(): this {
    this.intake();
    // Three days ahead: both reminders (48 h and 24 h before) go out for every session.
    for (let n = 1; n <= this.p.course.preparationSessions; n++) this.session(`prep-${n}`, 72);
    for (let n = 1; n <= this.p.course.dosingSessions; n++) {
      this.doseDay(`dose-${n}`, Math.max(this.p.course.minDaysBetweenDoses * 24, 72));
      this.session(`integration-${n}`, 12);
      if (this.p.rems) this.act('rems-form', { stepKey: `rems-form-${n}`, ...REMS_FORM });
    }
    return this;
  }

  /** A complete course: through the doses, the post-course assessment, the maintenance decision and every follow-up at its date. */
  complete(): this {
    this.throughDoses();
    this.finish('post-course-assessment');
    this.act('maintenance-decision', { decision: 'complete' });
    for (const f of this.p.assessments.followUps) {
      const key = `followup-${f.afterCourseDays}d`;
      this.wakeUntil(this.m.state.courseEndAt! + this.hours(f.afterCourseDays * 24));
      expect(this.status(key)).toBe('open');
      this.finish(key);
    }
    return this;
  }
}

/** A shipped protocol with one more step (a task or review) added to a phase, validated by the protocol schema. */
export function withStep(id: ProtocolId, phaseId: string, step: Record<string, unknown>, change: (p: Record<string, unknown>) => void = () => undefined): Protocol {
  const raw = JSON.parse(JSON.stringify(protocol(id))) as { phases: Array<{ id: string; steps: unknown[] }> } & Record<string, unknown>;
  raw.phases.find((ph) => ph.id === phaseId)!.steps.push(step);
  change(raw);
  return assertProtocol(raw);
}

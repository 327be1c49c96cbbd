// The course's open assessments ("forms"), held in the course workflow's own state: one
// AssessmentMachine per form, from its invitation to its last answer, its expiry or its cancellation.
// Until 2026-12-02 each form was a workflow of its own; the course now answers the client's Update
// itself, so a course is one execution and one cache entry (README.md, "Assessments inside the course").
//
// Pure and clock-free like the machines: every method takes the time it applies at. What a change
// must write or send is buffered (`take()`); what the course machine must hear (a critical answer, a
// form's end) is returned to the caller, which applies it to the machine in the same handler.
import type { NotifyInput } from '../activities/contracts';
import type { AssessmentRecord } from '../activities/course-records';
import { isoTime as iso } from '../domain/time';
import { AssessmentMachine, type AssessmentInput, type AssessmentState } from './assessment-machine';
import type { AssessmentCriticalSignal, AssessmentFinishedSignal, CourseAnswersInput, SubmitAnswersResult } from './contracts';
import { Rejection } from './rejection';
import type { Wake } from './wake-timer';

/** What the course machine hears from its forms. */
export interface FormReports {
  critical: AssessmentCriticalSignal[];
  finished: AssessmentFinishedSignal[];
}

/** What the workflow writes and sends for its forms, taken once per flush. */
export interface FormOutput {
  /** Forms opened: their invitation rows go into the projection, their invitations out once it has committed. */
  opened: Array<AssessmentInput & { invitedAt: number }>;
  invitations: NotifyInput[];
  /** Rows of instruments that changed (answered, missed, cancelled), as they stand now. */
  records: AssessmentRecord[];
  /** Reminders and safety alerts. */
  notifications: NotifyInput[];
}

export class Forms {
  private readonly open = new Map<string, AssessmentMachine>();
  private out: FormOutput = empty();

  constructor(carried: readonly AssessmentState[] = []) {
    for (const s of carried) this.open.set(s.input.assessmentId, AssessmentMachine.restore(s));
  }

  /** The open forms, for continue-as-new. */
  carried(): AssessmentState[] {
    return [...this.open.values()].map((f) => f.state());
  }

  get size(): number {
    return this.open.size;
  }

  has(id: string): boolean {
    return this.open.has(id);
  }

  /** Opens a form the course machine started; its invitation goes out once its rows are written. */
  start(a: AssessmentInput, at: number): void {
    if (this.open.has(a.assessmentId)) return;
    const input = { ...a, invitedAt: at };
    const f = new AssessmentMachine(input, at);
    this.open.set(a.assessmentId, f);
    this.out.opened.push(input);
    this.out.invitations.push({
      ...base(input),
      key: `${a.assessmentId}/invitation`,
      template: 'assessment-invitation',
      recipient: { kind: 'client' },
      data: { assessmentId: a.assessmentId, instrumentIds: a.instruments.join(','), expiresAt: iso(f.expiresAt) },
    });
  }

  /** Cancels an open form (the course ended, or its step was moved away): its rows say cancelled. */
  cancel(id: string): void {
    const f = this.open.get(id);
    if (!f) return;
    this.open.delete(id);
    f.cancel();
    // Opened by this same output: no invitation for a form that is already cancelled.
    const i = this.out.invitations.findIndex((n) => n.key === `${id}/invitation`);
    if (i >= 0) this.out.invitations.splice(i, 1);
    this.out.records.push(...f.records());
  }

  /** Throws a Rejection when the answers cannot be accepted now; changes nothing. */
  validate(sub: CourseAnswersInput, now: number): void {
    this.form(sub).score(sub, now);
  }

  /** Records scored answers; returns the client's reply and what the course machine must hear. */
  answer(sub: CourseAnswersInput, now: number): { reply: SubmitAnswersResult } & FormReports {
    const f = this.form(sub);
    const r = f.accept(sub, now);
    const id = f.input.assessmentId;
    this.out.records.push(...f.records(new Set([sub.instrumentId])));
    const reports: FormReports = { critical: [], finished: [] };
    if (r.becameCritical && f.critical) {
      // Clinicians first (the email names no answer), and the course's safety hold at once, with what was endorsed.
      for (const role of f.input.safetyAlertRoles) {
        this.out.notifications.push({ ...base(f.input), key: `${id}/safety-alert-${role}`, template: 'safety-alert', recipient: { kind: 'role', role }, data: { reason: 'critical-answer', courseId: f.input.courseId, assessmentId: id } });
      }
      reports.critical.push({ assessmentId: id, level: f.critical.level, codes: f.critical.codes, ...(f.critical.summary ? { summary: f.critical.summary } : {}), at: now });
    }
    if (f.done) reports.finished.push(this.close(f, now));
    return { reply: r.reply, ...reports };
  }

  /** Applies every reminder and expiry due at `now`; returns the forms that ended (expired). */
  fire(now: number): AssessmentFinishedSignal[] {
    const finished: AssessmentFinishedSignal[] = [];
    for (const f of [...this.open.values()]) {
      if (now >= f.expiresAt) {
        f.expire();
        this.out.records.push(...f.records());
        finished.push(this.close(f, now));
        continue;
      }
      const reminder = f.nextReminderAt();
      if (reminder !== null && now >= reminder) {
        const n = ++f.remindersSent;
        const id = f.input.assessmentId;
        this.out.notifications.push({ ...base(f.input), key: `${id}/reminder-${n}`, template: 'assessment-reminder', recipient: { kind: 'client' }, data: { assessmentId: id, expiresAt: iso(f.expiresAt), reminderNumber: n } });
      }
    }
    return finished;
  }

  /** The earliest reminder or expiry of the open forms. */
  nextWake(): Wake | null {
    let next: Wake | null = null;
    for (const f of this.open.values()) {
      const w = f.nextWake();
      if (!next || w.at < next.at) next = w;
    }
    return next;
  }

  hasOutput(): boolean {
    const o = this.out;
    return o.opened.length > 0 || o.invitations.length > 0 || o.records.length > 0 || o.notifications.length > 0;
  }

  take(): FormOutput {
    const o = this.out;
    this.out = empty();
    return o;
  }

  private form(sub: CourseAnswersInput): AssessmentMachine {
    if (typeof sub !== 'object' || sub === null) throw new Rejection('InvalidInput', 'input must be an object');
    if (typeof sub.assessmentId !== 'string') throw new Rejection('InvalidInput', 'assessmentId must be a string');
    const f = this.open.get(sub.assessmentId);
    if (!f) throw new Rejection('InvalidTransition', `assessment ${sub.assessmentId} is not open (answered, expired, cancelled, or not of this course)`);
    return f;
  }

  private close(f: AssessmentMachine, at: number): AssessmentFinishedSignal {
    this.open.delete(f.input.assessmentId);
    return { assessmentId: f.input.assessmentId, status: f.overallStatus(), results: f.results(), at };
  }
}

const empty = (): FormOutput => ({ opened: [], invitations: [], records: [], notifications: [] });
const base = (a: AssessmentInput) => ({ courseId: a.courseId, clinicId: a.clinicId });


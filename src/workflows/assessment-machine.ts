// One assessment (a set of instruments sent together), as a plain class: invitation, reminders on the
// protocol's cadence, expiry as missed, scoring through the domain instruments, suicide-risk triage.
// The course workflow holds one per open form (forms.ts); `state()` is what crosses continue-as-new.
import type { AssessmentRecord } from '../activities/course-records';
import type { Role } from '../domain/protocol';
import { isoTime as iso } from '../domain/time';
import type { InstrumentId } from '../domain/instruments/instrument-id';
import { getInstrument } from '../domain/instruments/registry';
import { InvalidAnswersError, type ScoreResult } from '../domain/instruments/types';
import { cssrsAsRecorded, type CssrsResult } from '../domain/instruments/cssrs';
import type { Phq9Result } from '../domain/instruments/phq9';
import { triageSuicideRisk, type RiskLevel } from '../domain/rules/suicide-risk';
import type { AssessmentInstrumentResult, SubmitAnswersInput, SubmitAnswersResult } from './contracts';
import { Rejection } from './rejection';

export interface AssessmentInput {
  /** `<courseId>/<stepKey>`; each instrument's id is `<assessmentId>/<instrument>`. */
  assessmentId: string;
  courseId: string;
  clinicId: string;
  stepKey: string;
  instruments: InstrumentId[];
  trigger: 'scheduled' | 'staff';
  reminders: { everyHours: number; count: number };
  expiryHours: number;
  timeScale: number;
  safetyAlertRoles: Array<Exclude<Role, 'client'>>;
  /**
   * When the invitation went out, in workflow time: set when the course opens the form, whose
   * projection writes the invitation rows (one per instrument, `records()` at this time).
   */
  invitedAt?: number;
}

/** An open form as the course carries it across continue-as-new (plain data). */
export interface AssessmentState {
  input: AssessmentInput;
  invitedAt: number;
  instruments: InstrumentState[];
  remindersSent: number;
  cancelled: boolean;
  critical: { level: RiskLevel; codes: string[]; summary?: string } | null;
}

export interface InstrumentState {
  instrumentId: InstrumentId;
  status: 'invited' | 'completed' | 'missed' | 'cancelled';
  answeredAt: number | null;
  score: { total: number; band: string; critical: boolean; flags: ScoreResult['flags']; item9?: number; risk?: RiskLevel } | null;
  answers: unknown[] | null;
}

export const instrumentAssessmentId = (assessmentId: string, instrumentId: string) => `${assessmentId}/${instrumentId}`;

export class AssessmentMachine {
  readonly instruments: InstrumentState[];
  remindersSent = 0;
  cancelled = false;
  /** `summary`: what was endorsed, in words staff read on the hold (item numbers and values). */
  critical: { level: RiskLevel; codes: string[]; summary?: string } | null = null;
  readonly expiresAt: number;

  constructor(
    readonly input: AssessmentInput,
    readonly invitedAt: number,
  ) {
    this.instruments = input.instruments.map((instrumentId) => ({ instrumentId, status: 'invited', answeredAt: null, score: null, answers: null }));
    this.expiresAt = invitedAt + this.hours(input.expiryHours);
  }

  /** A form carried over from the course's previous run. */
  static restore(s: AssessmentState): AssessmentMachine {
    const m = new AssessmentMachine(s.input, s.invitedAt);
    m.instruments.splice(0, m.instruments.length, ...s.instruments);
    m.remindersSent = s.remindersSent;
    m.cancelled = s.cancelled;
    m.critical = s.critical;
    return m;
  }

  state(): AssessmentState {
    return { input: this.input, invitedAt: this.invitedAt, instruments: this.instruments, remindersSent: this.remindersSent, cancelled: this.cancelled, critical: this.critical };
  }

  /** The `assessments` rows of its instruments as they stand (all, or only those named). */
  records(only?: ReadonlySet<string>): AssessmentRecord[] {
    const input = this.input;
    return this.instruments
      .filter((i) => !only || only.has(i.instrumentId))
      .map((i) => ({
        id: instrumentAssessmentId(input.assessmentId, i.instrumentId),
        courseId: input.courseId,
        clinicId: input.clinicId,
        stepKey: input.stepKey,
        instrumentId: i.instrumentId,
        status: i.status,
        trigger: input.trigger,
        invitedAt: iso(this.invitedAt),
        expiresAt: iso(this.expiresAt),
        completedAt: i.answeredAt !== null ? iso(i.answeredAt) : null,
        total: i.score?.total ?? null,
        band: i.score?.band ?? null,
        critical: i.score?.critical ?? false,
        flags: i.score?.flags ?? [],
        ...(i.answers ? { answers: i.answers.map((value, k) => ({ item: i.instrumentId === 'cssrs' && k === 6 ? '6b' : String(k + 1), value })) } : {}),
      }));
  }

  hours(h: number): number {
    return (h * 3_600_000) / (input_scale(this.input));
  }

  get remaining(): InstrumentId[] {
    return this.instruments.filter((i) => i.status === 'invited').map((i) => i.instrumentId);
  }

  get done(): boolean {
    return this.cancelled || this.remaining.length === 0;
  }

  nextReminderAt(): number | null {
    if (this.remindersSent >= this.input.reminders.count) return null;
    const at = this.invitedAt + this.hours(this.input.reminders.everyHours * (this.remindersSent + 1));
    return at < this.expiresAt ? at : null;
  }

  /** The next reminder or the expiry, whichever comes first, with a one-line summary for its timer. */
  nextWake(): { at: number; summary: string } {
    const what = `${this.input.instruments.map((i) => getInstrument(i)?.shortName ?? i).join(', ')} ${this.input.stepKey}`;
    const reminder = this.nextReminderAt();
    if (reminder !== null && reminder < this.expiresAt) return { at: reminder, summary: `reminder ${this.remindersSent + 1} of ${this.input.reminders.count}: ${what}` };
    return { at: this.expiresAt, summary: `expiry: ${what}` };
  }

  /** Scores the answers (pure); throws a Rejection when they cannot be accepted now. */
  score(sub: SubmitAnswersInput, now: number): { result: ScoreResult; state: InstrumentState } {
    if (typeof sub !== 'object' || sub === null) throw new Rejection('InvalidInput', 'input must be an object');
    const state = this.instruments.find((i) => i.instrumentId === sub.instrumentId);
    if (!state) throw new Rejection('InvalidInput', `instrument ${String(sub.instrumentId)} is not part of assessment ${this.input.assessmentId} (${this.input.instruments.join(', ')})`);
    if (this.cancelled) throw new Rejection('InvalidTransition', 'this assessment was cancelled');
    if (state.status === 'completed') throw new Rejection('InvalidTransition', `${sub.instrumentId} was already answered`);
    if (state.status === 'missed' || now >= this.expiresAt) throw new Rejection('InvalidTransition', `this assessment expired at ${new Date(this.expiresAt).toISOString()}`);
    const instrument = getInstrument(sub.instrumentId)!;
    try {
      return { result: instrument.score(sub.answers), state };
    } catch (err) {
      if (err instanceof InvalidAnswersError) throw new Rejection('InvalidAnswers', err.message, err.problems.map((p) => ({ code: `item-${p.item ?? 'all'}`, message: p.reason, blocking: true })));
      throw err;
    }
  }

  /** Records scored answers. Returns the answer for the client and whether this made the assessment critical. */
  accept(sub: SubmitAnswersInput, now: number): { reply: SubmitAnswersResult; becameCritical: boolean } {
    const { result, state } = this.score(sub, now);
    state.status = 'completed';
    state.answeredAt = now;
    // C-SSRS items 3-5 recorded "no" after a "no" to item 2 were not asked: kept as skipped (null).
    state.answers = sub.instrumentId === 'cssrs' && Array.isArray(sub.answers) ? cssrsAsRecorded(sub.answers) : sub.answers;
    state.score = {
      total: result.total,
      band: result.band,
      critical: result.critical,
      flags: result.flags,
      ...(result.instrumentId === 'phq9' ? { item9: (result as Phq9Result).item9 } : {}),
      ...(result.instrumentId === 'cssrs' ? { risk: (result as CssrsResult).risk } : {}),
    };
    const triage = this.triage();
    let becameCritical = false;
    if (triage.critical && !this.critical) {
      this.critical = { level: triage.level, codes: triage.reasons.map((r) => r.code), summary: this.endorsed(triage.reasons) };
      becameCritical = true;
    }
    return {
      reply: {
        instrumentId: sub.instrumentId,
        total: result.total,
        band: result.band,
        showCrisisResources: triage.actions.includes('show-crisis-resources'),
        remaining: this.remaining,
      },
      becameCritical,
    };
  }

  /** The hold's reason in full: the triage's findings and the C-SSRS items answered yes. */
  private endorsed(reasons: ReadonlyArray<{ code: string; message: string }>): string {
    const parts = reasons.filter((r) => r.code !== 'phq9-item9-zero' && r.code !== 'no-data').map((r) => r.message);
    const cssrs = this.instruments.find((i) => i.instrumentId === 'cssrs' && i.status === 'completed');
    if (cssrs?.answers) {
      const yes = cssrs.answers.map((v, k) => (v === true ? (k === 6 ? '6b' : String(k + 1)) : null)).filter((x): x is string => x !== null);
      if (yes.length) parts.push(`C-SSRS items answered yes: ${yes.join(', ')}`);
    }
    return parts.join('; ');
  }

  triage() {
    const phq9 = this.instruments.find((i) => i.instrumentId === 'phq9' && i.status === 'completed');
    const cssrs = this.instruments.find((i) => i.instrumentId === 'cssrs' && i.status === 'completed');
    return triageSuicideRisk({
      phq9Item9: phq9?.score?.item9 ?? null,
      cssrs: cssrs?.score?.risk ? { risk: cssrs.score.risk, total: cssrs.score.total } : null,
    });
  }

  expire(): void {
    for (const i of this.instruments) if (i.status === 'invited') i.status = 'missed';
  }

  cancel(): void {
    this.cancelled = true;
    for (const i of this.instruments) if (i.status === 'invited') i.status = 'cancelled';
  }

  overallStatus(): 'completed' | 'partial' | 'missed' | 'cancelled' {
    if (this.cancelled) return 'cancelled';
    const answered = this.instruments.filter((i) => i.status === 'completed').length;
    return answered === this.instruments.length ? 'completed' : answered === 0 ? 'missed' : 'partial';
  }

  results(): AssessmentInstrumentResult[] {
    return this.instruments.map((i) => ({
      instrumentId: i.instrumentId,
      status: i.status === 'invited' ? 'missed' : i.status,
      total: i.score?.total ?? null,
      band: i.score?.band ?? null,
      critical: i.score?.critical ?? false,
      ...(i.score?.item9 !== undefined ? { phq9Item9: i.score.item9 } : {}),
      ...(i.score?.risk !== undefined ? { cssrsRisk: i.score.risk } : {}),
      ...(i.answeredAt !== null ? { answeredAt: i.answeredAt } : {}),
    }));
  }
}

function input_scale(input: AssessmentInput): number {
  return input.timeScale > 0 ? input.timeScale : 1;
}

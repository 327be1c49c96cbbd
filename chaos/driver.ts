// Drives one simulated course through the engine's public client functions (src/client), as staff
// would, while the runner breaks things underneath. A reconciler, not a script: every round reads what
// staff would see, the course's rows in PostgreSQL (chaos/course-state.ts; the running workflow is
// never queried), and does the one next thing those rows ask for. An Update answers only once its
// projection is written, so after a lost reply (the Update went through, the answer did not come back)
// the next round reads the change and moves on; no action is repeated blindly. Update results are not
// read at all: whatever they carry (an acknowledgement), the database says what happened.
import { HARD_STOPS, REVIEW_ITEMS } from '../src/domain/rules/eligibility';
import type { Client } from '@temporalio/client';
import { executeCourseAction, submitAssessment, type CourseActionInputs, type CourseActionName } from '../src/client/course-actions';
import { getProtocol } from '../src/domain';
import type { Protocol } from '../src/domain/protocol';
import type { Db } from '../src/db/connect';
import { AppError } from '../src/errors';
import { type CourseSnapshot, ENDED, readCourse } from './course-state';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Every hard stop the eligibility rule asks about, all absent.
const HARD_STOP_IDS = Object.keys(HARD_STOPS);
const NO_HARD_STOPS = Object.fromEntries(HARD_STOP_IDS.map((k) => [k, false]));
const NO_REVIEW_ITEMS = Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, false]));
const CHECK = { bloodPressure: { systolic: 122, diastolic: 78 }, heartRate: 72, spo2: 98, hoursSinceFood: 8, hoursSinceClearLiquids: 3, escortConfirmed: true, pregnancy: 'negative' as const, cssrsRisk: 'none' as const, phq9Item9: 0 };
const CHECKLIST = { 'alert-oriented': true, 'minimal-nausea': true, 'walks-steadily': true, 'dissociation-resolved': true, 'written-instructions': true };
const ACTOR = { role: 'coordinator' as const };

/** A synthetic client: the protocol, what staff do, and the final state that must follow. */
export interface Profile {
  name: string;
  protocolId: string;
  /** A hard stop recorded at screening (the course ends ineligible). */
  hardStop?: string;
  /** Clearance denied with this reason (the course ends ineligible). */
  denyClearance?: string;
  /** Withdraw once this many doses were given. */
  withdrawAfterDoses?: number;
  /** Pause once this many doses were given, then resume. */
  pauseAfterDoses?: number;
  expected: { status: 'completed' | 'withdrawn' | 'ineligible'; endReason: string; dosesGiven?: number };
}

export const PROFILES: Profile[] = [
  { name: 'kap-office-complete', protocolId: 'kap-office', expected: { status: 'completed', endReason: 'course-complete', dosesGiven: 6 } },
  { name: 'iv-series-complete', protocolId: 'iv-series', expected: { status: 'completed', endReason: 'course-complete', dosesGiven: 6 } },
  { name: 'hard-stop-ineligible', protocolId: 'kap-office', hardStop: 'psychotic-disorder', expected: { status: 'ineligible', endReason: 'ineligible: hard-stop:psychotic-disorder', dosesGiven: 0 } },
  { name: 'withdrawn-after-dose-2', protocolId: 'kap-office', withdrawAfterDoses: 2, expected: { status: 'withdrawn', endReason: 'withdrawn: client moved away', dosesGiven: 2 } },
  { name: 'clearance-denied', protocolId: 'iv-series', denyClearance: 'cardiology advises against', expected: { status: 'ineligible', endReason: 'clearance-denied: cardiology advises against', dosesGiven: 0 } },
  { name: 'paused-resumed-complete', protocolId: 'iv-series', pauseAfterDoses: 3, expected: { status: 'completed', endReason: 'course-complete', dosesGiven: 6 } },
  { name: 'spravato-rems-complete', protocolId: 'spravato-rems', expected: { status: 'completed', endReason: 'course-complete', dosesGiven: 12 } },
];

export interface DriverStats {
  actions: number;
  /** Errors of the transport kind (server, worker or database away): retried. */
  transientErrors: number;
  /** 409/422 answers: the state moved on (e.g. a lost reply of an Update that did apply); re-read. */
  conflicts: number;
  /** 400s: the driver asked for something malformed (a driver bug); re-read and carry on. */
  invalid: number;
  /** Client answers submitted (one instrument each). */
  answers: number;
  lastError: string | null;
}

type Next = { action: CourseActionName; input: unknown; note?: string } | { wait: number } | { answer: Array<{ id: string; instrumentId: string }> };

/** A client doing well (no dose goes ahead without the baseline answered by the client). */
const BENIGN: Record<string, unknown[]> = { phq9: [1, 1, 1, 1, 1, 1, 1, 1, 0], gad7: [1, 1, 1, 1, 1, 1, 1], pcl5: Array(20).fill(1), cssrs: [false, false, null, null, null, false], 'qids-sr16': Array(16).fill(0) };

export class CourseDriver {
  readonly protocol: Protocol;
  readonly stats: DriverStats = { actions: 0, transientErrors: 0, conflicts: 0, invalid: 0, answers: 0, lastError: null };
  /**
   * Dosing steps whose dose the course refused for a baseline out of its window, with the timeline
   * position of the last form sent before that refusal (an Update's answer: nothing is recorded).
   */
  private readonly doseRefusedForBaseline = new Map<string, number>();
  last: CourseSnapshot | null = null;

  constructor(
    readonly temporal: Client,
    readonly db: Db,
    readonly courseId: string,
    readonly profile: Profile,
  ) {
    this.protocol = getProtocol(profile.protocolId)!;
  }

  /** Runs until the course has ended (returns its last snapshot) or the deadline passes (returns null). */
  async run(deadline: number): Promise<CourseSnapshot | null> {
    while (Date.now() < deadline) {
      let view: CourseSnapshot | null;
      try {
        view = await readCourse(this.db, this.courseId);
      } catch (err) {
        this.transient(err);
        await sleep(1000);
        continue;
      }
      if (!view) {
        this.stats.lastError = 'no courses row';
        await sleep(1000);
        continue;
      }
      this.last = view;
      if (ENDED.has(view.status)) return view;
      const next = this.next(view);
      if ('wait' in next) {
        await sleep(next.wait);
        continue;
      }
      if ('answer' in next) {
        // The client answers the form; an instrument already answered (or closed) is refused and skipped.
        for (const row of next.answer) {
          try {
            await submitAssessment(this.temporal, row.id, BENIGN[row.instrumentId] ?? []);
            this.stats.answers++;
          } catch (err) {
            if (!(err instanceof AppError)) this.transient(err);
          }
        }
        await sleep(200);
        continue;
      }
      try {
        const ack = await executeCourseAction(this.temporal, this.courseId, next.action, next.input as CourseActionInputs[typeof next.action]);
        this.stats.actions++;
        // A fresh C-SSRS and PHQ-9 stay open for 4 protocol days (0.4 s at the default time scale): the
        // client answers at once, on the form the acknowledgement names (a lost reply falls back to the
        // rows, read on the next round).
        if (next.action === 'send-assessment' && ack.ids?.assessmentId) await this.answerFresh(ack.ids.assessmentId, ['cssrs', 'phq9']);
      } catch (err) {
        if (err instanceof AppError && (err.code === 'conflict' || err.code === 'unprocessable')) {
          // Not ready for discharge yet is expected at a high time scale only for a few ms; anything
          // else means the state moved on without us (a lost reply): re-read.
          this.stats.conflicts++;
          this.stats.lastError = `${next.action}: ${err.message}`;
          if (next.action === 'dose' && err.code === 'unprocessable' && /baseline/i.test(err.message)) {
            this.doseRefusedForBaseline.set((next.input as { stepKey: string }).stepKey, Math.max(0, ...view.triggeredSeq.values()));
          }
          await sleep(100);
        } else if (err instanceof AppError && err.code === 'invalid_input') {
          this.stats.invalid++;
          this.stats.lastError = `${next.action}: ${err.message}`;
          await sleep(1000);
        } else {
          this.transient(err);
          await sleep(1000);
        }
      }
    }
    return null;
  }

  /**
   * A fresh C-SSRS and PHQ-9, sent after timeline position `afterSeq`: staff send the pair, the client
   * answers it, and once the course has heard it finished (its timeline says so) null: go on with the
   * check or the dose (before that they would be refused again). All of it read from the timeline, so
   * a lost reply repeats nothing.
   */
  private freshBaseline(v: CourseSnapshot, afterSeq: number): Next | null {
    const sent = v.forms.find((f) => f.trigger === 'staff' && (v.triggeredSeq.get(f.stepKey) ?? 0) > afterSeq && f.instruments.includes('cssrs') && f.instruments.includes('phq9'));
    const asked = [...v.triggeredSeq.values()].some((seq) => seq > afterSeq);
    if (sent && sent.invited.length) return { answer: sent.invited };
    if (sent && !sent.heard) return { wait: 200 };
    if (!sent && asked) return { wait: 50 }; // sent, its rows not written yet
    if (!sent) return { action: 'send-assessment', input: { instruments: ['cssrs', 'phq9'], reason: 'C-SSRS and PHQ-9 before the dose', actor: ACTOR } };
    return null;
  }

  /** Answers each instrument of a form just sent (open in the course once the action has answered). */
  private async answerFresh(formId: string, instruments: string[]): Promise<void> {
    for (const instrumentId of instruments) {
      for (let attempt = 1; attempt <= 20; attempt++) {
        try {
          await submitAssessment(this.temporal, `${formId}/${instrumentId}`, BENIGN[instrumentId] ?? []);
          this.stats.answers++;
          break;
        } catch (err) {
          if (err instanceof AppError && err.code !== 'not_found') break; // answered, closed or refused: the rows will say
          if (!(err instanceof AppError)) this.transient(err);
          await sleep(25);
        }
      }
    }
  }

  private transient(err: unknown): void {
    this.stats.transientErrors++;
    this.stats.lastError = err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 300) : String(err);
  }

  /** The one next thing staff would do, from the course's rows alone. */
  next(v: CourseSnapshot): Next {
    const p = this.profile;
    if (v.status === 'paused') return { action: 'resume', input: { actor: ACTOR } };
    if (p.withdrawAfterDoses !== undefined && v.dosesGiven >= p.withdrawAfterDoses) return { action: 'withdraw', input: { reason: 'client moved away', actor: ACTOR } };
    if (p.pauseAfterDoses !== undefined && !v.paused && v.dosesGiven >= p.pauseAfterDoses) return { action: 'pause', input: { reason: 'client travelling', actor: ACTOR } };
    for (const s of v.openSteps) {
      const ses = s.session;
      switch (s.kind) {
        case 'screening': {
          const form = v.forms.find((f) => f.id === `${this.courseId}/${s.stepKey}` && f.invited.length > 0);
          if (form) return { answer: form.invited };
          return { action: 'screening', input: { hardStops: p.hardStop ? { ...NO_HARD_STOPS, [p.hardStop]: true } : NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS, actor: ACTOR } };
        }
        case 'clearance':
          return { action: 'clearance', input: p.denyClearance ? { decision: 'denied', reason: p.denyClearance, actor: { role: 'prescriber' } } : { decision: 'approved', actor: { role: 'prescriber' } } };
        case 'rems-enrollment':
          return { action: 'rems-enrollment', input: { enrolled: true, remsPatientId: `REMS-${this.courseId.slice(0, 8)}`, actor: { role: 'prescriber' } } };
        case 'consent':
          return { action: 'consent', input: { documentVersion: 'v1', signedByClient: true, prescriberSigned: true, actor: ACTOR } };
        case 'preparation':
          if (!ses || ses.status === 'unscheduled' || ses.status === 'no-show') return { action: 'schedule', input: { stepKey: s.stepKey, startsInHours: 48, actor: ACTOR } };
          return { action: 'session-complete', input: { stepKey: s.stepKey, actor: { role: 'therapist' } } };
        case 'integration':
          return { action: 'session-complete', input: { stepKey: s.stepKey, actor: { role: 'therapist' } } };
        case 'dosing': {
          const st = ses?.status ?? 'unscheduled';
          if (st === 'unscheduled' || st === 'no-show') return { action: 'schedule', input: { stepKey: s.stepKey, startsInHours: Math.max(this.protocol.course.minDaysBetweenDoses * 24, 48), actor: ACTOR } };
          if (st === 'held' && ses!.preDoseCodes.includes('baseline-missing')) {
            // The client's C-SSRS and PHQ-9 are missing or older than the protocol's window (30
            // protocol days are 3 s at the default time scale, less than one fault): a fresh pair
            // after the check that held, then the check again.
            const fresh = this.freshBaseline(v, ses!.preDoseSeq);
            if (fresh) return fresh;
          }
          if (st === 'scheduled' || st === 'held') return { action: 'pre-dose-check', input: { stepKey: s.stepKey, ...CHECK, actor: { role: 'prescriber' } } };
          if (st === 'checked-in') {
            // Checked in, but the dose was refused because the baseline went out of its window since
            // (3 s at the default scale: a slow moment between the check and the dose is enough): a
            // fresh pair sent after that refusal, then the dose again.
            const refusedAfter = this.doseRefusedForBaseline.get(s.stepKey);
            const fresh = refusedAfter === undefined ? null : this.freshBaseline(v, refusedAfter);
            if (fresh) return fresh;
            return { action: 'dose', input: { stepKey: s.stepKey, route: this.protocol.routes[0]!, doseMg: 56, lotNumber: 'L-1', actor: { role: 'prescriber' } } };
          }
          if (st === 'dosed') {
            for (const m of this.protocol.safety.bloodPressure.checkMinutes) {
              if (typeof m === 'number' && m > 0 && !ses!.readings.has(m)) return { action: 'vitals', input: { stepKey: s.stepKey, atMinutes: m, bloodPressure: { systolic: 128, diastolic: 80 }, spo2: 98, actor: { role: 'prescriber' } } };
            }
            return { action: 'discharge', input: { stepKey: s.stepKey, bloodPressure: { systolic: 124, diastolic: 79 }, spo2: 98, checklist: CHECKLIST, responsibleAdultPresent: true, actor: { role: 'prescriber' } } };
          }
          continue;
        }
        case 'rems-monitoring-form':
          return {
            action: 'rems-form',
            input: { stepKey: s.stepKey, doseMg: 56, lotNumber: 'L-1', concomitant: { benzodiazepines: false, sedativeHypnotics: false, psychostimulants: false, maois: false, opioids: false }, sedation: false, dissociation: true, respiratoryDepression: false, seriousAdverseEvent: false, actor: ACTOR },
          };
        case 'maintenance-decision':
          return { action: 'maintenance-decision', input: { decision: 'complete', actor: { role: 'prescriber' } } };
        case 'task':
          return { action: 'task-complete', input: { stepKey: s.stepKey, actor: ACTOR } };
        default:
          // Assessments are left to expire (missed): a real path, and it exercises reminders and notices.
          continue;
      }
    }
    return { wait: 400 };
  }
}

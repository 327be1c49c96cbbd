// Drives one course from enrollment to its end through the real service functions
// (src/client/course-actions.ts), in real time at a high time scale, reading the course from
// PostgreSQL as the product does (never a query to the running workflow). Shared by the course
// integration tests and scripts/record-histories.ts. The client answers the baseline (no dose goes
// ahead without the client's own C-SSRS and PHQ-9); every later assessment is left unanswered on
// purpose (they expire as missed, a real path).
import { HARD_STOPS, REVIEW_ITEMS } from '../../src/domain/rules/eligibility';
import type { Client } from '@temporalio/client';
import { AppError } from '../../src/errors';
import type { Protocol } from '../../src/domain/protocol';
import { executeCourseAction, submitFormAnswers, type CourseActionInputs, type CourseActionName } from '../../src/client/course-actions';
import { getCourse } from '../../src/client/courses';
import type { Db } from '../../src/db/connect';
import type { CourseResult, SubmitAnswersInput } from '../../src/workflows/messages';
import { courseWorkflowId } from '../../src/workflows/workflow-ids';

/** Answers of a client doing well, per instrument (C-SSRS: no ideation). */
export const BENIGN_ANSWERS: Record<string, unknown[]> = {
  phq9: [1, 1, 1, 1, 1, 1, 1, 1, 0],
  gad7: [1, 1, 1, 1, 1, 1, 1],
  pcl5: Array(20).fill(1),
  cssrs: [false, false, null, null, null, false],
  'qids-sr16': Array(16).fill(0),
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const NO_HARD_STOPS = Object.fromEntries(
  Object.keys(HARD_STOPS).map((k) => [k, false]),
) as Record<keyof typeof HARD_STOPS, boolean>;
export const NO_REVIEW_ITEMS = Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, false])) as Record<keyof typeof REVIEW_ITEMS, boolean>;
const CHECK = { bloodPressure: { systolic: 122, diastolic: 78 }, hoursSinceFood: 8, hoursSinceClearLiquids: 3, escortConfirmed: true, pregnancy: 'negative' as const, cssrsRisk: 'none' as const, phq9Item9: 0 };
const CHECKLIST = { 'alert-oriented': true, 'minimal-nausea': true, 'walks-steadily': true, 'dissociation-resolved': true, 'written-instructions': true };

/** A course as PostgreSQL holds it (the projection the workflow writes, and its assessments' rows). */
export interface LiveView {
  status: string;
  currentStep: string | null;
  riskLevel: string;
  endReason: string | null;
  /** Steps opened so far; `status` 'open' also when overdue. */
  steps: Array<{ id: string; kind: string; status: string; overdue: boolean; outcome: string | null }>;
  /** Assessment form sets with rows; `status` 'pending' until the course recorded that it finished. */
  assessments: Array<{ id: string; stepKey: string; instruments: string[]; status: string }>;
  /** Open safety items. */
  safetyHolds: Array<{ id: string; kind: string; level: string | null; reason: string }>;
}

export class LiveCourse {
  constructor(
    readonly temporal: Client,
    readonly db: Db,
    readonly courseId: string,
    readonly protocol: Protocol,
  ) {}

  act<K extends CourseActionName>(name: K, input: CourseActionInputs[K]) {
    return executeCourseAction(this.temporal, this.courseId, name, input);
  }

  async state(): Promise<LiveView> {
    // One snapshot (repeatable read): the projection writes a transition's steps, records and course
    // row in one statement, so a view read across several queries outside a transaction could see a
    // safety hold without the risk level the same transition set (a CI failure on a loaded machine).
    return this.db.transaction().setIsolationLevel('repeatable read').execute((trx) => this.read(trx));
  }

  private async read(db: Db): Promise<LiveView> {
    const { course, steps } = await getCourse(db, this.courseId);
    const [rows, events, holds] = await Promise.all([
      db.selectFrom('assessments').select(['id', 'step_key', 'instrument_id']).where('course_id', '=', this.courseId).orderBy('id').execute(),
      db.selectFrom('course_events').select(['type', 'detail']).where('course_id', '=', this.courseId).where('type', 'like', 'assessment.%').execute(),
      db.selectFrom('safety_events').select(['id', 'kind', 'level', 'detail']).where('course_id', '=', this.courseId).where('resolved_at', 'is', null).orderBy('at').execute(),
    ]);
    const heard = new Map<string, string>();
    for (const e of events) {
      const m = /^assessment\.(completed|partial|missed|cancelled)$/.exec(e.type);
      const id = (e.detail as Record<string, unknown>).assessmentId;
      if (m && typeof id === 'string') heard.set(id, m[1]!);
    }
    const forms = new Map<string, LiveView['assessments'][number]>();
    for (const r of rows) {
      const id = r.id.slice(0, r.id.lastIndexOf('/'));
      const f = forms.get(id) ?? { id, stepKey: r.step_key, instruments: [], status: heard.get(id) ?? 'pending' };
      f.instruments.push(r.instrument_id);
      forms.set(id, f);
    }
    return {
      status: course.status,
      currentStep: course.current_step,
      riskLevel: course.risk_level,
      endReason: course.end_reason,
      steps: steps.map((s) => ({ id: s.step_key, kind: s.kind, status: s.state === 'overdue' ? 'open' : s.state, overdue: s.state === 'overdue', outcome: s.outcome })),
      assessments: [...forms.values()],
      safetyHolds: holds.map((h) => ({ id: h.id, kind: h.kind, level: h.level, reason: String((h.detail as Record<string, unknown>).reason ?? h.kind) })),
    };
  }

  async waitFor(pred: (v: LiveView) => boolean, timeoutMs = 60_000): Promise<LiveView> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = await this.state();
      if (pred(v)) return v;
      if (Date.now() > until) throw new Error(`course ${this.courseId}: condition not met (current ${v.currentStep}, status ${v.status})`);
      await sleep(50);
    }
  }

  /** The client answers every instrument of a step's assessment; waits until the course has heard it finished. */
  async answerAll(stepKey: string, overrides: Record<string, unknown[]> = {}): Promise<void> {
    const id = `${this.courseId}/${stepKey}`;
    // The baseline's instruments are the protocol's (no wait for the child's rows: at a high time scale
    // the form closes within a second); any other step's are read from its rows.
    let instruments: string[] = [...this.protocol.assessments.baseline];
    if (stepKey !== 'screening') {
      const a = (await this.waitFor((v) => v.assessments.some((x) => x.id === id))).assessments.find((x) => x.id === id)!;
      if (a.status !== 'pending') return; // the course has heard it finished already (answered by the test)
      instruments = a.instruments;
    }
    // The form is open in the course from the task that opened its step (the step's row and the
    // form's rows are written by one projection). Right after enrolment that task may not have run
    // yet (an Update that reaches the course's first task is validated before the form opens): a form
    // refused as not open whose instrument has no row, or a row still 'invited', is not open *yet*.
    answering: for (const instrumentId of instruments) {
      const input: SubmitAnswersInput = { instrumentId: instrumentId as SubmitAnswersInput['instrumentId'], answers: overrides[instrumentId] ?? BENIGN_ANSWERS[instrumentId]! };
      for (let i = 0; ; i++) {
        try {
          await submitFormAnswers(this.temporal, id, input);
          break;
        } catch (err) {
          const why = err instanceof Error && err.name === 'WorkflowUpdateFailedError' ? String((err as { cause?: Error }).cause?.message) : '';
          // Answered already (by the test itself, before the driver took over): nothing to do.
          if (/already answered/.test(why)) break;
          if (/is not open/.test(why)) {
            const row = await this.db.selectFrom('assessments').select('status').where('id', '=', `${id}/${instrumentId}`).executeTakeFirst();
            // Answered, missed or cancelled: the form has closed.
            if (row && row.status !== 'invited') break answering;
            if (i < 500) {
              await sleep(10);
              continue;
            }
          }
          throw err;
        }
      }
    }
    await this.waitFor((v) => v.assessments.find((x) => x.id === id)?.status !== 'pending');
  }

  /** Retries an action refused only because its time has not come yet (a timed reading, discharge). */
  async whenDue<K extends CourseActionName>(name: K, input: CourseActionInputs[K]) {
    for (;;) {
      try {
        return await this.act(name, input);
      } catch (err) {
        if (!(err instanceof AppError && err.code === 'unprocessable' && /min left/.test(err.message))) throw err;
        await sleep(20);
      }
    }
  }

  waitOpen(stepKey: string) {
    return this.waitFor((v) => v.steps.find((s) => s.id === stepKey)?.status === 'open');
  }

  /** A dose day: scheduled, checked (proceed), dosed, each timed reading, discharged once the monitoring time has passed. */
  async doseDay(stepKey: string, startsInHours = 48): Promise<void> {
    const p = this.protocol;
    await this.act('schedule', { stepKey, startsInHours });
    await this.act('pre-dose-check', { stepKey, ...CHECK });
    await this.act('dose', { stepKey, route: p.routes[0]!, doseMg: 56, lotNumber: 'L-1' });
    for (const m of p.safety.bloodPressure.checkMinutes) {
      if (typeof m === 'number' && m > 0) await this.whenDue('vitals', { stepKey, atMinutes: m, bloodPressure: { systolic: 128, diastolic: 80 }, spo2: 98 });
    }
    // Discharge once the (scaled) minimum monitoring time has passed.
    await this.whenDue('discharge', { stepKey, bloodPressure: { systolic: 124, diastolic: 79 }, spo2: 98, checklist: CHECKLIST, responsibleAdultPresent: true });
  }

  /** Files a REMS Patient Monitoring Form (no concomitant medicines, dissociation only). */
  remsForm(stepKey: string) {
    return this.act('rems-form', { stepKey, doseMg: 56, lotNumber: 'L-1', concomitant: { benzodiazepines: false, sedativeHypnotics: false, psychostimulants: false, maois: false, opioids: false }, sedation: false, dissociation: true, respiratoryDepression: false, seriousAdverseEvent: false });
  }

  /** Intake: the baseline answered, screening, clearance (by `clearedBy` when given), REMS enrollment where the protocol has it, consent. */
  async intake(clearedBy?: CourseActionInputs['clearance']['actor']): Promise<void> {
    await this.waitOpen('screening');
    await this.answerAll('screening');
    await this.act('screening', { hardStops: NO_HARD_STOPS, reviewItems: NO_REVIEW_ITEMS });
    await this.act('clearance', { decision: 'approved', ...(clearedBy ? { actor: clearedBy } : {}) });
    if (this.protocol.phases.some((ph) => ph.steps.some((s) => s.kind === 'rems-enrollment'))) await this.act('rems-enrollment', { enrolled: true });
    await this.act('consent', { documentVersion: 'v1', signedByClient: true, prescriberSigned: true });
  }

  /** Intake, then every preparation session scheduled and held. */
  async throughPreparation(clearedBy?: CourseActionInputs['clearance']['actor']): Promise<void> {
    await this.intake(clearedBy);
    for (let n = 1; n <= this.protocol.course.preparationSessions; n++) {
      await this.act('schedule', { stepKey: `prep-${n}`, startsInHours: 48 });
      await this.act('session-complete', { stepKey: `prep-${n}` });
    }
  }

  /** Intake, preparation, every dose with integration (and REMS form); returns once the last one is done. */
  async runThroughDosing(onProgress?: (what: string) => void): Promise<void> {
    const p = this.protocol;
    await this.throughPreparation();
    for (let n = 1; n <= p.course.dosingSessions; n++) {
      const dose = `dose-${n}`;
      await this.waitOpen(dose);
      await this.doseDay(dose, Math.max(p.course.minDaysBetweenDoses * 24, 48));
      await this.act('session-complete', { stepKey: `integration-${n}` });
      if (p.rems) await this.remsForm(`rems-form-${n}`);
      onProgress?.(dose);
    }
  }

  /** Intake, preparation, every dose with integration (and REMS form), maintenance decision; then waits for the end. */
  async runToCompletion(onProgress?: (what: string) => void): Promise<LiveView & { result: CourseResult }> {
    await this.runThroughDosing(onProgress);
    await this.waitOpen('maintenance-decision');
    await this.act('maintenance-decision', { decision: 'complete' });
    onProgress?.('follow-ups');
    const result = await this.temporal.workflow.getHandle(courseWorkflowId(this.courseId)).result();
    return { ...(await this.waitFor((v) => v.status === 'completed', 120_000)), result };
  }
}

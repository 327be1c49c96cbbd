// What staff see of a course, read from PostgreSQL (the projection the course workflow writes, which
// the API reads too): never from the running workflow. One REPEATABLE READ transaction, so the rows of
// one projection write (a single statement) are seen together or not at all.
import type { Db } from '../src/db/connect';

export interface SessionSnapshot {
  status: string;
  /** Reason codes of this session's latest pre-dose check (its `pre-dose.*` timeline event). */
  preDoseCodes: string[];
  /** seq of that event (0: no check yet). */
  preDoseSeq: number;
  /** Minutes after the dose of the monitoring readings recorded. */
  readings: Set<number>;
}

export interface StepSnapshot {
  stepKey: string;
  kind: string;
  /** open | overdue | done | skipped | cancelled (course_steps.state) */
  state: string;
  session: SessionSnapshot | null;
}

export interface FormSnapshot {
  /** `<courseId>/<stepKey>`: the form set (held by the course, src/workflows/forms.ts). */
  id: string;
  stepKey: string;
  trigger: string;
  /** Instrument rows still waiting for the client's answers (their ids, `<courseId>/<stepKey>/<instrument>`). */
  invited: Array<{ id: string; instrumentId: string }>;
  instruments: string[];
  /** The course has recorded the form's end (`assessment.<status>` on its timeline). */
  heard: boolean;
}

export interface CourseSnapshot {
  status: string;
  endReason: string | null;
  /** Dosing sessions discharged (completed). */
  dosesGiven: number;
  /** Steps that are open (or overdue), in the order they opened. */
  openSteps: StepSnapshot[];
  forms: FormSnapshot[];
  /** Timeline facts the driver decides from. */
  paused: boolean;
  /** seq of each staff-triggered form's `assessment.triggered` event, by step key. */
  triggeredSeq: Map<string, number>;
}

const FORM_ENDS = /^assessment\.(completed|missed|partial|cancelled|expired)$/;

export async function readCourse(db: Db, courseId: string): Promise<CourseSnapshot | null> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const course = await trx.selectFrom('courses').select(['status', 'end_reason']).where('id', '=', courseId).executeTakeFirst();
      if (!course) return null;
      const [steps, sessions, vitals, forms, events] = await Promise.all([
        trx.selectFrom('course_steps').select(['step_key', 'kind', 'state', 'entered_at']).where('course_id', '=', courseId).orderBy('entered_at').orderBy('step_key').execute(),
        trx.selectFrom('course_sessions').select(['step_key', 'kind', 'status']).where('course_id', '=', courseId).execute(),
        trx.selectFrom('course_vitals').select(['step_key', 'minutes_after_dose']).where('course_id', '=', courseId).where('phase', '=', 'monitoring').execute(),
        trx.selectFrom('assessments').select(['id', 'step_key', 'instrument_id', 'status', 'trigger']).where('course_id', '=', courseId).orderBy('id').execute(),
        trx
          .selectFrom('course_events')
          .select(['seq', 'type', 'step_key', 'detail'])
          .where('course_id', '=', courseId)
          .where((eb) => eb.or([eb('type', 'like', 'pre-dose.%'), eb('type', 'like', 'assessment.%'), eb('type', '=', 'course.paused')]))
          .orderBy('seq')
          .execute(),
      ]);
      const preDose = new Map<string, { seq: number; codes: string[] }>();
      const heard = new Set<string>();
      const triggeredSeq = new Map<string, number>();
      let paused = false;
      for (const e of events) {
        const detail = (e.detail ?? {}) as { codes?: unknown; assessmentId?: unknown };
        if (e.type.startsWith('pre-dose.') && e.step_key) preDose.set(e.step_key, { seq: Number(e.seq), codes: Array.isArray(detail.codes) ? detail.codes.map(String) : [] });
        else if (e.type === 'assessment.triggered' && e.step_key) triggeredSeq.set(e.step_key, Number(e.seq));
        else if (FORM_ENDS.test(e.type) && typeof detail.assessmentId === 'string') heard.add(detail.assessmentId);
        else if (e.type === 'course.paused') paused = true;
      }
      const sessionOf = new Map(sessions.map((s) => [s.step_key, s]));
      const readings = new Map<string, Set<number>>();
      for (const v of vitals) {
        if (v.minutes_after_dose === null) continue;
        const set = readings.get(v.step_key) ?? new Set<number>();
        set.add(Number(v.minutes_after_dose));
        readings.set(v.step_key, set);
      }
      const openSteps: StepSnapshot[] = steps
        .filter((s) => s.state === 'open' || s.state === 'overdue')
        .map((s) => {
          const ses = sessionOf.get(s.step_key);
          const pd = preDose.get(s.step_key);
          const hasSession = s.kind === 'dosing' || s.kind === 'preparation' || s.kind === 'integration' || ses !== undefined;
          return {
            stepKey: s.step_key,
            kind: s.kind,
            state: s.state,
            session: hasSession ? { status: ses?.status ?? 'unscheduled', preDoseCodes: pd?.codes ?? [], preDoseSeq: pd?.seq ?? 0, readings: readings.get(s.step_key) ?? new Set() } : null,
          };
        });
      const byForm = new Map<string, FormSnapshot>();
      for (const a of forms) {
        const id = `${courseId}/${a.step_key}`;
        let f = byForm.get(id);
        if (!f) {
          f = { id, stepKey: a.step_key, trigger: a.trigger, invited: [], instruments: [], heard: heard.has(id) };
          byForm.set(id, f);
        }
        f.instruments.push(a.instrument_id);
        if (a.status === 'invited') f.invited.push({ id: a.id, instrumentId: a.instrument_id });
      }
      const dosesGiven = sessions.filter((s) => s.kind === 'dosing' && s.status === 'completed').length;
      return { status: course.status, endReason: course.end_reason, dosesGiven, openSteps, forms: [...byForm.values()], paused, triggeredSeq };
    });
}

export const ENDED = new Set(['completed', 'withdrawn', 'ineligible']);

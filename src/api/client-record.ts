// The client page's clinical read models: every dose given (for the score charts' dose markers) and
// every completed assessment's answers per item, with the question text from the instrument
// definitions and critical answers (PHQ-9 item 9 above 0, a C-SSRS "yes") marked. Read-only; the
// caller has checked the client is in the viewer's scope and audits the read (recordClientRead).
import type { Db } from '../db/connect';
import { getInstrument } from '../domain';

/** A dose given in one of the client's courses (course_sessions.dosed_at), oldest first. */
export interface DoseMark {
  courseId: string;
  stepKey: string;
  dosedAt: string;
}

export async function clientDoses(db: Db, clientId: string): Promise<DoseMark[]> {
  const rows = await db
    .selectFrom('course_sessions as s')
    .innerJoin('courses as c', 'c.id', 's.course_id')
    .select(['s.course_id', 's.step_key', 's.dosed_at'])
    .where('c.client_id', '=', clientId)
    .where('s.dosed_at', 'is not', null)
    .orderBy('s.dosed_at')
    .execute();
  return rows.map((r) => ({ courseId: r.course_id, stepKey: r.step_key, dosedAt: r.dosed_at!.toISOString() }));
}

export interface ItemAnswer {
  /** "1".."n", or "6b" on the C-SSRS. */
  item: string;
  question: string;
  /** The answer in words ("More than half the days", "Yes"), or "not asked". */
  answer: string;
  value: unknown;
  /** A critical answer: PHQ-9 item 9 above 0; a "yes" on any C-SSRS ideation or behaviour item. */
  critical: boolean;
}

export interface AnsweredAssessment {
  assessmentId: string;
  courseId: string;
  stepKey: string;
  instrumentId: string;
  name: string;
  completedAt: string;
  total: number | null;
  band: string | null;
  items: ItemAnswer[];
}

const CSSRS_6B = 'Was this within the past 3 months? (asked only if 6 is yes)';

/** Whether an answer needs a clinician's eye (the same rule as the instruments' critical flags). */
export function criticalAnswer(instrumentId: string, item: string, value: unknown): boolean {
  if (instrumentId === 'phq9') return item === '9' && typeof value === 'number' && value > 0;
  if (instrumentId === 'cssrs') return value === true;
  return false;
}

/** Every completed assessment of the client with its answers per item, newest first. */
export async function clientAnswers(db: Db, clientId: string): Promise<AnsweredAssessment[]> {
  const rows = await db
    .selectFrom('assessments as a')
    .innerJoin('courses as c', 'c.id', 'a.course_id')
    .select(['a.id', 'a.course_id', 'a.step_key', 'a.instrument_id', 'a.completed_at', 'a.total', 'a.band'])
    .where('c.client_id', '=', clientId)
    .where('a.status', '=', 'completed')
    .orderBy('a.completed_at', 'desc')
    .orderBy('a.id')
    .execute();
  if (!rows.length) return [];
  const items = await db.selectFrom('assessment_items').select(['assessment_id', 'item', 'value']).where('assessment_id', 'in', rows.map((r) => r.id)).execute();
  const byId = new Map<string, Map<string, unknown>>();
  for (const it of items) {
    const m = byId.get(it.assessment_id) ?? new Map<string, unknown>();
    m.set(it.item, it.value);
    byId.set(it.assessment_id, m);
  }
  return rows.map((r) => {
    const inst = getInstrument(r.instrument_id);
    const answers = byId.get(r.id) ?? new Map<string, unknown>();
    const keys = inst ? inst.items.map((q) => String(q.number)) : [...answers.keys()].sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
    if (r.instrument_id === 'cssrs' && answers.has('6b')) keys.push('6b');
    const list: ItemAnswer[] = keys.map((key) => {
      const q = inst?.items.find((x) => String(x.number) === key);
      const value = answers.has(key) ? answers.get(key) : null;
      const options = q?.options ?? inst?.options ?? [];
      const answer =
        value === null || value === undefined ? 'not asked' : typeof value === 'boolean' ? (value ? 'Yes' : 'No') : typeof value === 'number' ? `${options.find((o) => o.value === value)?.label ?? value} (${value})` : String(value);
      return { item: key, question: key === '6b' ? CSSRS_6B : q?.text ?? `Item ${key}`, answer, value, critical: criticalAnswer(r.instrument_id, key, value) };
    });
    return { assessmentId: r.id, courseId: r.course_id, stepKey: r.step_key, instrumentId: r.instrument_id, name: inst?.shortName ?? r.instrument_id, completedAt: r.completed_at?.toISOString() ?? '', total: r.total, band: r.band, items: list };
  });
}

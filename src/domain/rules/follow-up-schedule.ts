// When each assessment is due, computed from course events and the protocol's assessment schedule.
// Times are ISO strings (UTC); calendar offsets are whole 24 h days from the event.
import type { InstrumentId } from '../instruments/instrument-id';
import type { AssessmentPoint, Protocol } from '../protocol';
import { DAY_MS, HOUR_MS, toTime } from './decision';
import { isoTime as iso } from '../time';

export interface CourseEvents {
  /** When the course started (screening opened): baseline assessments are due then. */
  startedAt?: Date | string;
  /** Scheduled or actual dose times, in order: pre-dose assessments are due at each. */
  doseTimes?: ReadonlyArray<Date | string>;
  /** When the course ended; defaults to the last dose once all planned doses are given. */
  completedAt?: Date | string;
}

export interface DueAssessment {
  point: AssessmentPoint;
  /** Plan step the assessment belongs to (`screening`, `dose-2`, `post-course-assessment`, `followup-30d`). */
  stepId: string;
  instruments: InstrumentId[];
  dueAt: string;
  /** Reminder times while unanswered, then expiry. */
  reminderTimes: string[];
  expiresAt: string;
}

export interface AssessmentSchedule {
  items: DueAssessment[];
  /** Due times per instrument, ascending. */
  byInstrument: Partial<Record<InstrumentId, string[]>>;
}

export function assessmentSchedule(protocol: Protocol, events: CourseEvents): AssessmentSchedule {
  const a = protocol.assessments;
  const items: DueAssessment[] = [];
  const stepFor = (point: AssessmentPoint) => {
    for (const phase of protocol.phases) for (const step of phase.steps) if (step.assessmentPoint === point) return step.id;
    return point;
  };
  const add = (point: AssessmentPoint, stepId: string, instruments: readonly InstrumentId[], at: number) => {
    if (instruments.length === 0) return;
    items.push({
      point,
      stepId,
      instruments: [...instruments],
      dueAt: iso(at),
      reminderTimes: Array.from({ length: a.reminders.count }, (_, k) => iso(at + (k + 1) * a.reminders.everyHours * HOUR_MS)),
      expiresAt: iso(at + a.expiryHours * HOUR_MS),
    });
  };

  if (events.startedAt !== undefined) add('baseline', stepFor('baseline'), a.baseline, toTime(events.startedAt, 'startedAt'));
  const doses = (events.doseTimes ?? []).map((d, i) => toTime(d, `doseTimes[${i}]`));
  const doseStep = stepFor('before-dose');
  doses.forEach((t, i) => add('before-dose', `${doseStep}-${i + 1}`, a.beforeEachDose, t));

  let end: number | undefined;
  if (events.completedAt !== undefined) end = toTime(events.completedAt, 'completedAt');
  else if (doses.length >= protocol.course.dosingSessions) end = Math.max(...doses);
  if (end !== undefined) {
    add('after-course', stepFor('after-course'), a.afterCourse, end);
    const followStep = stepFor('follow-up');
    for (const f of a.followUps) add('follow-up', `${followStep}-${f.afterCourseDays}d`, f.instruments, end + f.afterCourseDays * DAY_MS);
  }

  items.sort((x, y) => (x.dueAt < y.dueAt ? -1 : x.dueAt > y.dueAt ? 1 : 0));
  const byInstrument: Partial<Record<InstrumentId, string[]>> = {};
  for (const item of items) for (const id of item.instruments) (byInstrument[id] ??= []).push(item.dueAt);
  return { items, byInstrument };
}


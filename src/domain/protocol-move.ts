// Moving a running course to another published version of its protocol (issue #21 item 4): what the
// move does from the course's current position (steps added, removed, re-timed, done steps kept), and
// whether the course may move now. `safePointRefusals` is THE safe-point rule: `previewMove` applies
// it, and the course workflow's validator, the API and the dashboard all call `previewMove`, so they
// refuse for the same reasons in the same words. Pure and deterministic.
import { planCourse, type MaintenanceSteps, type PlannedStep } from './plan-course';
import type { Protocol } from './protocol';

export type MoveStepStatus = 'pending' | 'open' | 'done' | 'skipped' | 'cancelled';

/**
 * Where a course stands, as the workflow's state or the projection knows it: its status, each step it
 * has a record of (absent = pending) with its session's status, and its open safety holds.
 */
export interface CoursePosition {
  status: string;
  steps: Readonly<Record<string, { status: MoveStepStatus; session?: string | null }>>;
  openHolds: ReadonlyArray<{ kind: string }>;
  /** A course in maintenance: the boosters and booster reviews it has (both versions plan them). */
  maintenance?: MaintenanceSteps;
}

export type MoveRefusalCode = 'other-protocol' | 'same-version' | 'not-published' | 'course-not-active' | 'inside-dosing-session' | 'safety-hold-open' | 'step-kind-changed';

export interface MoveRefusal {
  code: MoveRefusalCode;
  message: string;
  /** Clinical (a dose in progress, a safety hold: 422) rather than a state that does not allow it (409). */
  clinical: boolean;
}

export interface MoveStep {
  stepKey: string;
  name: string;
  kind: string;
}

export interface RetimedStep extends MoveStep {
  status: 'pending' | 'open';
  what: 'deadline' | 'opens';
  unit: 'h' | 'days';
  from: number | null;
  to: number | null;
  text: string;
}

export interface MovePreview {
  from: string;
  to: string;
  allowed: boolean;
  refusals: MoveRefusal[];
  /** Steps of the new version the course never had: pending. `beforeCurrent`: the course already did a later step, so this one comes next. */
  added: Array<MoveStep & { beforeCurrent: boolean; text: string }>;
  /** Pending or open steps the new version does not have: cancelled. */
  removed: Array<MoveStep & { status: 'pending' | 'open'; text: string }>;
  retimed: RetimedStep[];
  /** Done (or skipped) steps the new version also has: unchanged. */
  unchangedDone: MoveStep[];
  /** Done (or skipped) steps the new version does not have: they stay in the course's record. */
  keptDone: MoveStep[];
}

/** Session statuses inside a dosing session: checked in, held at the pre-dose check, or dosed and not discharged. */
export const SESSION_IN_PROGRESS: ReadonlySet<string> = new Set(['checked-in', 'held', 'dosed']);

const label = (p: Protocol) => `${p.id}@${p.version}`;
const statusOf = (pos: CoursePosition, id: string): MoveStepStatus => pos.steps[id]?.status ?? 'pending';
const isDone = (s: MoveStepStatus) => s === 'done' || s === 'skipped';

/**
 * THE safe-point rule: a course moves between versions only while it is active, with no session in
 * progress (checked in, held at the pre-dose check, dosed and not discharged) and no open safety hold.
 */
export function safePointRefusals(pos: CoursePosition): MoveRefusal[] {
  const out: MoveRefusal[] = [];
  if (pos.status !== 'active') {
    out.push({ code: 'course-not-active', clinical: false, message: pos.status === 'paused' ? 'the course is paused: resume it before moving it to another version' : `the course is ${pos.status}: only an active course moves to another version` });
  }
  const inSession = Object.entries(pos.steps).filter(([, s]) => s.session && SESSION_IN_PROGRESS.has(s.session));
  for (const [key, s] of inSession) {
    out.push({ code: 'inside-dosing-session', clinical: true, message: `${key} is in progress (${s.session === 'held' ? 'held at the pre-dose check' : s.session === 'dosed' ? 'dosed, not yet discharged' : 'checked in'}): a course never moves inside a dosing session; move it after discharge` });
  }
  if (pos.openHolds.length) {
    const kinds = [...new Set(pos.openHolds.map((h) => h.kind))].join(', ');
    out.push({ code: 'safety-hold-open', clinical: true, message: `${pos.openHolds.length === 1 ? 'a safety hold is' : `${pos.openHolds.length} safety holds are`} open (${kinds}): a course never moves with an open safety hold; move it once the hold is reviewed and closed` });
  }
  return out;
}

/** A step's deadline in protocol hours, as the course applies it (an integration session: the protocol's window). */
export function effectiveDeadlineHours(protocol: Protocol, p: PlannedStep): number | null {
  if (p.kind === 'integration' && protocol.course.integrationWindowHours) return protocol.course.integrationWindowHours;
  return p.deadlineHours;
}

const offsetDays = (p: PlannedStep): number | null => (p.timing.anchor === 'first-dose' || p.timing.anchor === 'course-end' ? p.timing.offsetDays : null);

/**
 * What moving a course from `from` to `to` does from where it stands, and whether it may move now.
 * `published: false` (the caller looked the target up and it is a draft) refuses too.
 */
export function previewMove(from: Protocol, to: Protocol, pos: CoursePosition, opts: { published?: boolean } = {}): MovePreview {
  const refusals: MoveRefusal[] = [];
  if (from.id !== to.id) refusals.push({ code: 'other-protocol', clinical: false, message: `the course follows ${from.id}; ${label(to)} is another protocol (a course moves only between versions of its own protocol)` });
  else if (from.version === to.version) refusals.push({ code: 'same-version', clinical: false, message: `the course already follows ${label(to)}` });
  if (opts.published === false) refusals.push({ code: 'not-published', clinical: false, message: `${label(to)} is not published: a course moves only to a published version` });
  refusals.push(...safePointRefusals(pos));

  const oldPlan = planCourse(from, pos.maintenance);
  const newPlan = planCourse(to, pos.maintenance);
  const oldById = new Map(oldPlan.map((p) => [p.id, p]));
  const newById = new Map(newPlan.map((p) => [p.id, p]));
  const step = (p: PlannedStep): MoveStep => ({ stepKey: p.id, name: p.name, kind: p.kind });

  const added: MovePreview['added'] = [];
  const retimed: RetimedStep[] = [];
  const unchangedDone: MoveStep[] = [];
  newPlan.forEach((p, i) => {
    const old = oldById.get(p.id);
    if (!old) {
      const beforeCurrent = newPlan.slice(i + 1).some((q) => oldById.has(q.id) && statusOf(pos, q.id) !== 'pending');
      added.push({ ...step(p), beforeCurrent, text: `${p.name} (${p.id}) is added${beforeCurrent ? ': the course has already passed where it sits, so it is the next thing to do' : ''}` });
      return;
    }
    const st = statusOf(pos, p.id);
    if (old.kind !== p.kind && st !== 'pending' && st !== 'cancelled') {
      refusals.push({ code: 'step-kind-changed', clinical: false, message: `${p.id} is a ${old.kind} step the course has ${st === 'open' ? 'open' : 'done'}, and a ${p.kind} step in ${label(to)}: the course's record would no longer match its protocol` });
    }
    if (isDone(st)) {
      unchangedDone.push(step(p));
      return;
    }
    if (st !== 'pending' && st !== 'open') return;
    const [a, b] = [effectiveDeadlineHours(from, old), effectiveDeadlineHours(to, p)];
    if (a !== b) {
      const verb = a !== null && b !== null ? (b < a ? 'shortened' : 'lengthened') : 'changed';
      const fmt = (h: number | null) => (h === null ? 'none' : `${h} h`);
      retimed.push({ ...step(p), status: st, what: 'deadline', unit: 'h', from: a, to: b, text: `${p.name} (${p.id}): deadline ${verb} from ${fmt(a)} to ${fmt(b)}${st === 'open' ? ' (it is open: its deadline moves by the difference)' : ''}` });
    }
    const [da, db] = [offsetDays(old), offsetDays(p)];
    if (da !== db && st === 'pending') {
      const anchor = p.timing.anchor === 'course-end' ? 'after the course ends' : 'after the first dose';
      retimed.push({ ...step(p), status: st, what: 'opens', unit: 'days', from: da, to: db, text: `${p.name} (${p.id}): opens ${db ?? '?'} days ${anchor} instead of ${da ?? '?'}` });
    }
  });

  const removed: MovePreview['removed'] = [];
  const keptDone: MoveStep[] = [];
  for (const p of oldPlan) {
    if (newById.has(p.id)) continue;
    const st = statusOf(pos, p.id);
    if (st === 'pending' || st === 'open') {
      const session = pos.steps[p.id]?.session;
      const withIt = [session === 'scheduled' ? 'its scheduled session' : '', st === 'open' && p.instruments.length ? 'its questionnaire if still unanswered' : ''].filter(Boolean).join(' and ');
      removed.push({ ...step(p), status: st, text: `${p.name} (${p.id}) is not in ${label(to)}: it is cancelled${withIt ? `, and ${withIt} with it` : ''}` });
    } else if (isDone(st)) keptDone.push(step(p));
  }
  return { from: label(from), to: label(to), allowed: refusals.length === 0, refusals, added, removed, retimed, unchangedDone, keptDone };
}

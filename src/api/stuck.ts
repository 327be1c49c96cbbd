// The stuck board: every open course whose current step is past its deadline (waiting on a person),
// and every course whose system work is failing (from Temporal, via SystemHealthMonitor).
import { sql } from 'kysely';
import { ACTION_ROLES, type CourseAction } from '../auth/role-matrix';
import type { Db } from '../db/connect';
import type { SystemHealthMonitor } from './system-health';
import { safetyQueue } from './records';
import { clinicStaffingProblems, undeliveredSafetyAlerts } from './alert-problems';

/** The one action that unsticks a step of this kind (what the board's button does). */
export const UNSTICK_ACTION: Record<string, { action: CourseAction; label: string }> = {
  screening: { action: 'screening', label: 'Record screening' },
  clearance: { action: 'clearance', label: 'Record clearance decision' },
  consent: { action: 'consent', label: 'Record consent' },
  'rems-enrollment': { action: 'rems-enrollment', label: 'Record REMS enrollment' },
  preparation: { action: 'session-complete', label: 'Record preparation session' },
  dosing: { action: 'dose', label: 'Record dose' },
  integration: { action: 'session-complete', label: 'Record integration session' },
  'rems-monitoring-form': { action: 'rems-form', label: 'Submit REMS monitoring form' },
  assessment: { action: 'send-assessment', label: 'Send assessment again now' },
  review: { action: 'safety-review', label: 'Record safety review' },
  'maintenance-decision': { action: 'maintenance-decision', label: 'Record maintenance decision' },
  task: { action: 'task-complete', label: 'Mark done' },
};

export interface StuckFilters {
  clinics?: string[];
  step?: string;
  owner?: string;
  limit?: number;
}

export interface StuckItem {
  /** deadline: a step past its deadline; system: work failing in Temporal; safety: an open safety hold awaiting a clinician. */
  type: 'deadline' | 'system' | 'safety';
  /** Null for a clinic's configuration problem (no course involved: alert-problems.ts). */
  courseId: string | null;
  clientId: string | null;
  clientName: string | null;
  clinicId: string;
  stepKey: string | null;
  stepKind: string | null;
  owner: { role: string | null; staffId: string | null; name: string | null };
  deadlineAt: string | null;
  /** Since when it has been stuck: the deadline (a REMS form: its 7-day REMS due date), or when the failing work started. */
  stuckSince: string | null;
  ageSeconds: number | null;
  escalationLevel: number;
  problem: string;
  action: { id: string; label: string; roles: readonly string[] } | null;
}

export async function deadlineBreaches(db: Db, f: StuckFilters, now = new Date()): Promise<StuckItem[]> {
  let q = db
    .selectFrom('course_steps as s')
    .innerJoin('courses as c', 'c.id', 's.course_id')
    .innerJoin('clients as cl', 'cl.id', 'c.client_id')
    .leftJoin('staff as st', 'st.id', 's.owner_staff_id')
    // A REMS monitoring form step shares its id with its form row: show the form's 7-day REMS due date.
    .leftJoin('rems_monitoring_forms as rf', 'rf.id', 's.id')
    .select(['s.course_id', 's.clinic_id', 's.step_key', 's.kind', 's.state', 's.owner_role', 's.owner_staff_id', 's.deadline_at', 's.escalation_level', 'c.client_id', 'cl.given_name', 'cl.family_name', 'st.display_name', 'rf.due_at as rems_due_at', 'rf.session_step_key as rems_session'])
    .where(sql<boolean>`s.state in ('open', 'overdue')`)
    .where((eb) => eb.or([eb('s.state', '=', 'overdue'), eb('s.deadline_at', '<', now)]))
    .where('c.ended_at', 'is', null)
    .orderBy('s.deadline_at', 'asc')
    .limit(f.limit ?? 500);
  if (f.clinics) q = f.clinics.length ? q.where('s.clinic_id', 'in', f.clinics) : q.where(({ lit }) => lit(false));
  if (f.step) q = q.where((eb) => eb.or([eb('s.kind', '=', f.step!), eb('s.step_key', '=', f.step!)]));
  if (f.owner) q = q.where((eb) => eb.or([eb('s.owner_role', '=', f.owner!), eb('s.owner_staff_id', '=', f.owner!)]));
  const rows = await q.execute();
  return rows.map((r) => {
    const unstick = UNSTICK_ACTION[r.kind];
    // A REMS form's age counts from its 7-day REMS due date (0 until then), not the step's deadline.
    const since = r.rems_due_at ?? r.deadline_at;
    return {
      type: 'deadline' as const,
      courseId: r.course_id,
      clientId: r.client_id,
      clientName: `${r.given_name} ${r.family_name}`,
      clinicId: r.clinic_id,
      stepKey: r.step_key,
      stepKind: r.kind,
      owner: { role: r.owner_role, staffId: r.owner_staff_id, name: r.display_name },
      deadlineAt: r.deadline_at ? r.deadline_at.toISOString() : null,
      stuckSince: since ? since.toISOString() : null,
      ageSeconds: since ? Math.max(0, Math.round((now.getTime() - since.getTime()) / 1000)) : null,
      escalationLevel: r.escalation_level,
      problem:
        `${r.step_key} is past its deadline, waiting on ${r.display_name ?? r.owner_role ?? 'someone'}` +
        (r.rems_due_at ? `; REMS form for ${r.rems_session} ${r.rems_due_at.getTime() < now.getTime() ? 'was due' : 'is due'} by ${r.rems_due_at.toISOString()} (7-day REMS deadline)` : ''),
      action: unstick ? { id: unstick.action, label: unstick.label, roles: ACTION_ROLES[unstick.action] } : null,
    };
  });
}

export async function systemFailures(db: Db, monitor: SystemHealthMonitor, f: StuckFilters, now = new Date()): Promise<StuckItem[]> {
  const problems = await monitor.current();
  if (!problems.length) return [];
  let q = db
    .selectFrom('courses as c')
    .innerJoin('clients as cl', 'cl.id', 'c.client_id')
    .select(['c.id', 'c.clinic_id', 'c.client_id', 'c.current_step', 'cl.given_name', 'cl.family_name'])
    .where('c.id', 'in', [...new Set(problems.map((p) => p.courseId))]);
  if (f.clinics) q = f.clinics.length ? q.where('c.clinic_id', 'in', f.clinics) : q.where(({ lit }) => lit(false));
  const courses = new Map((await q.execute()).map((c) => [c.id, c]));
  const out: StuckItem[] = [];
  for (const p of problems) {
    const c = courses.get(p.courseId);
    if (!c) continue;
    if (f.step && c.current_step !== f.step) continue;
    if (f.owner && f.owner !== 'system') continue;
    out.push({
      type: 'system',
      courseId: c.id,
      clientId: c.client_id,
      clientName: `${c.given_name} ${c.family_name}`,
      clinicId: c.clinic_id,
      stepKey: c.current_step,
      stepKind: null,
      owner: { role: 'system', staffId: null, name: 'system (engineering)' },
      deadlineAt: null,
      stuckSince: p.since,
      ageSeconds: p.since ? Math.max(0, Math.round((now.getTime() - Date.parse(p.since)) / 1000)) : null,
      escalationLevel: 0,
      problem:
        p.kind === 'activity-retrying'
          ? `${p.what} has failed ${p.attempt - 1} time(s) and is retrying${p.lastFailure ? `: ${p.lastFailure}` : ''}`
          : `the workflow task has failed ${p.attempt - 1} time(s)${p.lastFailure ? `: ${p.lastFailure}` : ''}`,
      action: { id: 'open-in-temporal', label: p.kind === 'activity-retrying' ? 'Fix the failing dependency, then check the workflow in Temporal' : 'Open the workflow in Temporal (needs an engineer)', roles: ['admin', 'coordinator'] },
    });
  }
  return out;
}

/** Every open safety hold (the same open set as the safety queue), waiting on a clinician's review or what else closes it. */
export async function safetyHolds(db: Db, f: StuckFilters, now = new Date()): Promise<StuckItem[]> {
  if (f.owner && f.owner !== 'prescriber' && f.owner !== 'therapist') return [];
  const items = (await safetyQueue(db, f.clinics, now)).filter((i) => i.type === 'safety-hold' && (!f.step || i.stepKey === f.step || i.kind === f.step));
  return items.slice(0, f.limit ?? 500).map((i) => ({
    type: 'safety' as const,
    courseId: i.courseId,
    clientId: i.clientId,
    clientName: i.clientName,
    clinicId: i.clinicId,
    stepKey: i.stepKey,
    stepKind: null,
    owner: { role: 'prescriber', staffId: null, name: 'a clinician (prescriber or therapist)' },
    deadlineAt: null,
    stuckSince: i.at,
    ageSeconds: i.ageSeconds,
    escalationLevel: 0,
    problem: `safety hold open${i.courseEnded ? ' (course ended)' : ''}: ${i.summary}; closes when ${i.closesWhen}`,
    action: { id: 'safety-review', label: 'Record safety review', roles: ACTION_ROLES['safety-review'] },
  }));
}

export async function stuckBoard(db: Db, monitor: SystemHealthMonitor, f: StuckFilters): Promise<StuckItem[]> {
  const now = new Date();
  const sys = !f.owner || f.owner === 'system';
  const [deadline, system, safety, alerts, staffing] = await Promise.all([
    deadlineBreaches(db, f, now),
    sys ? systemFailures(db, monitor, f, now) : Promise.resolve([]),
    safetyHolds(db, f, now),
    // Alerts that reached nobody, and clinics missing a role alerts go to (alert-problems.ts).
    sys ? undeliveredSafetyAlerts(db, f, now) : Promise.resolve([]),
    sys ? clinicStaffingProblems(db, f, now) : Promise.resolve([]),
  ]);
  return [...alerts, ...staffing, ...system, ...safety, ...deadline];
}

// The stuck board: every open course whose current step is past its deadline (waiting on a person),
// and every course whose system work is failing (from Temporal, via SystemHealthMonitor).
import { clinicLocalTime } from '../format-time';
import { sql } from 'kysely';
import { ACTION_ROLES, type CourseAction } from '../auth/role-matrix';
import type { Db } from '../db/connect';
import type { SystemHealthMonitor } from './system-health';
import { safetyQueue } from './records';
import { clinicStaffingProblems, undeliveredSafetyAlerts } from './alert-problems';
import { ageSeconds, CLINIC_ADMIN, clinicSubject, courseSubject, inClinics, recentOutbox, systemItem } from './stuck-items';

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
  /** The step's name as the course's plan gives it ("Booster session 1"), where the step has a row. */
  stepName?: string;
  owner: { role: string | null; staffId: string | null; name: string | null };
  deadlineAt: string | null;
  /** Since when it has been stuck: the deadline (a REMS form: its 7-day REMS due date), or when the failing work started. */
  stuckSince: string | null;
  ageSeconds: number | null;
  escalationLevel: number;
  /** Of the escalation emails sent for this step's current deadline, how many reached nobody (failed, blocked, uncertain). */
  escalationsFailed?: number;
  /** A webhook subscription whose deliveries were given up on (the board's Redeliver button). */
  webhookSubscriptionId?: string;
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
    .innerJoin('clinics as k', 'k.id', 's.clinic_id')
    .select(['s.course_id', 's.clinic_id', 's.step_key', 's.kind', 's.state', 's.owner_role', 's.owner_staff_id', 's.deadline_at', 's.escalation_level', 'c.client_id', 'cl.given_name', 'cl.family_name', 'st.display_name', 'rf.due_at as rems_due_at', 'rf.session_step_key as rems_session', 'k.timezone', sql<string | null>`s.detail->>'name'`.as('step_name')])
    .where(sql<boolean>`s.state in ('open', 'overdue')`)
    .where((eb) => eb.or([eb('s.state', '=', 'overdue'), eb('s.deadline_at', '<', now)]))
    .where('c.ended_at', 'is', null)
    .orderBy('s.deadline_at', 'asc')
    .limit(f.limit ?? 500);
  if (f.clinics) q = q.where(inClinics('s.clinic_id', f.clinics));
  if (f.step) q = q.where((eb) => eb.or([eb('s.kind', '=', f.step!), eb('s.step_key', '=', f.step!)]));
  if (f.owner) q = q.where((eb) => eb.or([eb('s.owner_role', '=', f.owner!), eb('s.owner_staff_id', '=', f.owner!)]));
  const rows = await q.execute();
  const failed = await failedEscalationCounts(db, rows.map((r) => r.course_id));
  return rows.map((r) => {
    const unstick = UNSTICK_ACTION[r.kind];
    const escalationsFailed = failed.get(`${r.course_id}/${r.step_key}`) ?? 0;
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
      ...(r.step_name ? { stepName: r.step_name } : {}),
      owner: { role: r.owner_role, staffId: r.owner_staff_id, name: r.display_name },
      deadlineAt: r.deadline_at ? r.deadline_at.toISOString() : null,
      stuckSince: since ? since.toISOString() : null,
      ageSeconds: since ? ageSeconds(since, now) : null,
      escalationLevel: r.escalation_level,
      escalationsFailed,
      problem:
        `${r.step_name ? `${r.step_name} (${r.step_key})` : r.step_key} is past its deadline, waiting on ${r.display_name ?? r.owner_role ?? 'someone'}` +
        (escalationsFailed ? `; ${escalationsFailed >= r.escalation_level ? (escalationsFailed === 1 ? 'its escalation email' : 'every escalation email') : `${escalationsFailed} of its ${r.escalation_level} escalation emails`} reached nobody (see the outbox)` : '') +
        (r.rems_due_at ? `; REMS form for ${r.rems_session} ${r.rems_due_at.getTime() < now.getTime() ? 'was due' : 'is due'} by ${clinicLocalTime(r.rems_due_at, r.timezone)} (7-day REMS deadline; clinic time)` : ''),
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
  if (f.clinics) q = q.where(inClinics('c.clinic_id', f.clinics));
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
      ageSeconds: p.since ? ageSeconds(new Date(p.since), now) : null,
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

/** Escalation emails that reached nobody, per `${courseId}/${stepKey}` (the step's current and earlier deadlines alike). */
async function failedEscalationCounts(db: Db, courseIds: string[]): Promise<Map<string, number>> {
  if (!courseIds.length) return new Map();
  const rows = await db
    .selectFrom('email_outbox')
    .select(['course_id', sql<string>`data->>'stepKey'`.as('step_key'), (eb) => eb.fn.countAll<string>().as('n')])
    .where('template', '=', 'step-escalation')
    .where('status', 'in', ['failed', 'blocked', 'uncertain'])
    // One array parameter, not one per course: the statement's text (and its prepared plan) is the same whatever the count.
    .where(sql<boolean>`course_id = any(${[...new Set(courseIds)]})`)
    .groupBy(['course_id', sql`data->>'stepKey'`])
    .execute();
  return new Map(rows.map((r) => [`${r.course_id}/${r.step_key}`, Number(r.n)]));
}

/** Failed escalations stay on the board this long after the newest one (the outbox keeps them after). */
export const ESCALATION_WINDOW_DAYS = 14;

/**
 * Escalation emails about an overdue step that reached nobody (failed: e.g. the clinic has no active
 * coordinator and no admin; blocked; uncertain), one item per course and step of an open course: the
 * step's "escalated ×3" otherwise reads as if someone had been told.
 */
export async function failedEscalations(db: Db, f: StuckFilters, now = new Date()): Promise<StuckItem[]> {
  let q = recentOutbox(db, 'step-escalation', ESCALATION_WINDOW_DAYS, now)
    .select([
      'o.course_id',
      'o.clinic_id',
      sql<string>`o.data->>'stepKey'`.as('step_key'),
      'c.client_id',
      'cl.given_name',
      'cl.family_name',
      sql<number>`count(*)`.as('n'),
      sql<Date>`min(o.created_at)`.as('first_at'),
      sql<string | null>`(array_agg(o.last_error order by o.created_at desc))[1]`.as('last_error'),
      sql<string | null>`string_agg(distinct o.recipient_ref, ', ')`.as('roles'),
    ])
    .where('o.status', 'in', ['failed', 'blocked', 'uncertain'])
    .where('c.ended_at', 'is', null)
    .groupBy(['o.course_id', 'o.clinic_id', sql`o.data->>'stepKey'`, 'c.client_id', 'cl.given_name', 'cl.family_name'])
    .orderBy(sql`min(o.created_at)`)
    .limit(f.limit ?? 500);
  if (f.clinics) q = q.where(inClinics('o.clinic_id', f.clinics));
  if (f.step) q = q.where(sql<string>`o.data->>'stepKey'`, '=', f.step);
  const rows = await q.execute();
  return rows.map((r) => {
    const since = new Date(r.first_at as unknown as string);
    const n = Number(r.n);
    return systemItem(courseSubject(r, r.step_key), since, now, {
      owner: CLINIC_ADMIN,
      escalationsFailed: n,
      problem: `${n} escalation email${n === 1 ? '' : 's'} about overdue ${r.step_key} (to the ${r.roles ?? 'owner'}) reached nobody${r.last_error ? `: ${r.last_error}` : ''}. Nobody has been told this step is overdue.`,
      action: { id: 'manage-staff', label: 'Tell the step\'s owner now; add or reactivate staff in the role (Staff page)', roles: ['admin'] },
    });
  });
}

/** Webhook deliveries given up on (after every retry, or a 410), one item per subscription, until redelivered. */
export async function givenUpWebhooks(db: Db, f: StuckFilters, now = new Date()): Promise<StuckItem[]> {
  if (f.step) return [];
  let q = db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_subscriptions as s', 's.id', 'd.subscription_id')
    .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
    .select([
      's.id',
      's.clinic_id',
      's.url',
      sql<number>`count(*)`.as('n'),
      sql<Date>`min(coalesce(d.last_attempt_at, d.created_at))`.as('first_at'),
      sql<string | null>`(array_agg(d.last_error order by d.last_attempt_at desc nulls last))[1]`.as('last_error'),
      sql<string>`string_agg(distinct e.type, ', ')`.as('types'),
    ])
    .where('d.status', '=', 'failed')
    .groupBy(['s.id', 's.clinic_id', 's.url'])
    .orderBy(sql`min(coalesce(d.last_attempt_at, d.created_at))`)
    .limit(f.limit ?? 500);
  if (f.clinics) q = q.where(inClinics('s.clinic_id', f.clinics));
  const rows = await q.execute();
  return rows.map((r) => {
    const since = new Date(r.first_at as unknown as string);
    const n = Number(r.n);
    let host = 'its receiver';
    try {
      host = new URL(r.url).host;
    } catch {
      /* stored URLs were validated; keep the generic name */
    }
    return systemItem(clinicSubject(r.clinic_id), since, now, {
      owner: { role: 'system', staffId: null, name: 'clinic admin or coordinator (integrations)' },
      webhookSubscriptionId: r.id,
      problem: `webhook ${r.id} to ${host}: ${n} deliver${n === 1 ? 'y was' : 'ies were'} given up on (${r.types})${r.last_error ? `; last error: ${r.last_error}` : ''}. The receiver has missed these events.`,
      action: { id: 'redeliver-webhooks', label: `Redeliver ${n} failed deliver${n === 1 ? 'y' : 'ies'} in order`, roles: ['admin', 'coordinator'] },
    });
  });
}

export async function stuckBoard(db: Db, monitor: SystemHealthMonitor, f: StuckFilters): Promise<StuckItem[]> {
  const now = new Date();
  const sys = !f.owner || f.owner === 'system';
  const [deadline, system, safety, alerts, staffing, escalations, webhooks] = await Promise.all([
    deadlineBreaches(db, f, now),
    sys ? systemFailures(db, monitor, f, now) : Promise.resolve([]),
    safetyHolds(db, f, now),
    // Alerts that reached nobody, and clinics missing a role alerts go to (alert-problems.ts).
    sys ? undeliveredSafetyAlerts(db, f, now) : Promise.resolve([]),
    sys ? clinicStaffingProblems(db, f, now) : Promise.resolve([]),
    // Escalations that reached nobody and webhook deliveries given up on (issue #18 item 5, #20 item 4).
    sys ? failedEscalations(db, f, now) : Promise.resolve([]),
    sys ? givenUpWebhooks(db, f, now) : Promise.resolve([]),
  ]);
  return [...alerts, ...staffing, ...escalations, ...webhooks, ...system, ...safety, ...deadline];
}

// Read models over the clinic's record (PostgreSQL): a client's timeline and scores, the assessment
// and safety queues (clinic outcomes: ./outcomes.ts). Read-only; every function takes the clinic filter it is given.
import { sql } from 'kysely';
import { clinicLocalTime } from '../format-time';
import type { Db } from '../db/connect';
import { getInstrument, planCourse, plannedStepName, remission, response, pcl5Change, REMISSION_BELOW, type Protocol, type RemissionInstrument } from '../domain';
import { closesWhen, riskRank } from './safety-review';
import { decisionSummary, pcl5ClusterText, pcl5Clusters } from './decisions';

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
const none = <T>(q: T & { where: (...a: never[]) => T }, clinics: string[] | undefined, column: string): T =>
  clinics === undefined ? q : clinics.length ? (q as any).where(column, 'in', clinics) : (q as any).where(sql<boolean>`false`);

export interface TimelineEntry {
  at: string;
  courseId: string;
  type: string;
  stepKey: string | null;
  /** The step's name in the course's protocol (null for course-level entries). */
  stepName: string | null;
  /** Who, as recorded: `staff:<id>`, `token:<id>`, `client`, `system`, or the owning role of a step. */
  actor: string | null;
  /** Who, in words: the staff member's name and role, the API token's label, "client", "engine". */
  actorName: string | null;
  /** A sentence without raw timestamps (times are in `at` and `detail`). */
  summary: string;
  detail: Record<string, unknown>;
}

const COURSE_END_EVENTS = new Set(['course.completed', 'course.withdrawn', 'course.ineligible']);

/**
 * Every step and event of every course of a client, oldest first, once each: a step's completion is
 * listed from the action's own event when the course recorded one at that moment (not twice), and
 * the enrolment and the end come from the course's own events where it has them.
 */
export async function clientTimeline(db: Db, clientId: string): Promise<TimelineEntry[]> {
  const courses = await db.selectFrom('courses').select(['id', 'protocol_id', 'protocol_version', 'protocol_snapshot', 'enrolled_at', 'ended_at', 'end_reason']).where('client_id', '=', clientId).execute();
  if (!courses.length) return [];
  const ids = courses.map((c) => c.id);
  const [steps, events] = await Promise.all([
    db.selectFrom('course_steps').selectAll().where('course_id', 'in', ids).execute(),
    db.selectFrom('course_events').selectAll().where('course_id', 'in', ids).orderBy('seq').execute(),
  ]);
  const staffIds = [...new Set(events.filter((e) => e.actor_type === 'staff' && e.actor_id).map((e) => e.actor_id!))];
  const tokenIds = [...new Set(events.filter((e) => e.actor_type === 'token' && e.actor_id).map((e) => e.actor_id!))];
  const [staff, tokens] = await Promise.all([
    staffIds.length ? db.selectFrom('staff').select(['id', 'display_name', 'role']).where('id', 'in', staffIds).execute() : [],
    tokenIds.length ? db.selectFrom('api_tokens').select(['id', 'label']).where('id', 'in', tokenIds).execute() : [],
  ]);
  const staffName = new Map(staff.map((x) => [x.id, `${x.display_name} (${x.role})`]));
  const tokenName = new Map(tokens.map((x) => [x.id, `API token "${x.label}"`]));
  const actorName = (type: string | null, id: string | null): string | null => {
    if (type === 'staff' && id) return staffName.get(id) ?? 'a former staff member';
    if (type === 'token' && id) return tokenName.get(id) ?? 'an API token';
    if (type === 'client') return 'client';
    if (type === 'system') return 'engine';
    return type;
  };
  const stepNames = new Map<string, string>();
  for (const c of courses) {
    try {
      for (const p of planCourse(c.protocol_snapshot as Protocol)) stepNames.set(`${c.id}/${p.id}`, p.name);
    } catch {
      // A snapshot this code cannot plan (none in practice): the step's key stands in for its name.
    }
  }
  // Steps a course added in maintenance (booster-1, booster-review-1) are not in the snapshot's plan.
  const snapshots = new Map(courses.map((c) => [c.id, c.protocol_snapshot as Protocol]));
  const added = (courseId: string, key: string): string | null => {
    try {
      return key.startsWith('booster-') && snapshots.has(courseId) ? plannedStepName(snapshots.get(courseId)!, key) : null;
    } catch {
      return null;
    }
  };
  const stepName = (courseId: string, key: string | null) => (key === null ? null : (stepNames.get(`${courseId}/${key}`) ?? added(courseId, key) ?? key));
  const eventsOf = new Set(events.map((e) => e.type.startsWith('course.') ? `${e.course_id}|${e.type}` : `${e.course_id}|${e.step_key}|${e.at.getTime()}`));
  const hasStart = (id: string) => eventsOf.has(`${id}|course.started`);
  const hasEnd = (id: string) => [...COURSE_END_EVENTS].some((t) => eventsOf.has(`${id}|${t}`));

  const out: TimelineEntry[] = [];
  const push = (e: Omit<TimelineEntry, 'stepName' | 'actorName'> & { actorName?: string | null }) =>
    out.push({ ...e, stepName: stepName(e.courseId, e.stepKey), actorName: e.actorName ?? e.actor });
  for (const c of courses) {
    if (!hasStart(c.id)) push({ at: c.enrolled_at.toISOString(), courseId: c.id, type: 'course.enrolled', stepKey: null, actor: null, summary: `Enrolled in ${c.protocol_id} v${c.protocol_version}`, detail: {} });
    if (c.ended_at && !hasEnd(c.id)) push({ at: c.ended_at.toISOString(), courseId: c.id, type: 'course.ended', stepKey: null, actor: null, summary: `Course ended${c.end_reason ? `: ${c.end_reason}` : ''}`, detail: {} });
  }
  for (const s of steps) {
    const name = stepName(s.course_id, s.step_key)!;
    push({ at: s.entered_at.toISOString(), courseId: s.course_id, type: 'step.opened', stepKey: s.step_key, actor: s.owner_role, summary: `${name} opened${s.owner_role ? ` for the ${s.owner_role}` : ''}`, detail: { kind: s.kind, deadlineAt: iso(s.deadline_at) } });
    if (s.state === 'overdue') push({ at: (s.deadline_at ?? s.entered_at).toISOString(), courseId: s.course_id, type: 'step.overdue', stepKey: s.step_key, actor: s.owner_role, summary: `${name} passed its deadline${s.escalation_level ? ` (escalated ${s.escalation_level}×)` : ''}`, detail: { escalationLevel: s.escalation_level } });
    // The action that completed the step has its own event at that moment (who, what): no second line.
    if (s.completed_at && !eventsOf.has(`${s.course_id}|${s.step_key}|${s.completed_at.getTime()}`)) {
      push({ at: s.completed_at.toISOString(), courseId: s.course_id, type: `step.${s.state}`, stepKey: s.step_key, actor: null, summary: `${name} ${s.state}${s.outcome ? `: ${s.outcome}` : ''}`, detail: { outcome: s.outcome } });
    }
  }
  for (const e of events) {
    const d = (e.detail ?? {}) as Record<string, unknown>;
    const summary = typeof d.summary === 'string' ? d.summary : typeof d.message === 'string' ? d.message : (decisionSummary(e.type, d) ?? e.type.replace(/[.-]/g, ' '));
    push({ at: e.at.toISOString(), courseId: e.course_id, type: e.type, stepKey: e.step_key, actor: e.actor_id ? `${e.actor_type}:${e.actor_id}` : e.actor_type, actorName: actorName(e.actor_type, e.actor_id), summary, detail: d });
  }
  // The PCL-5's DSM-5 cluster result, where it was decided (scored from the stored answers).
  for (const p of await pcl5Clusters(db, ids)) {
    if (p.completedAt) push({ at: p.completedAt, courseId: p.courseId, type: 'pcl5.dsm5-clusters', stepKey: p.stepKey, actor: 'client', summary: pcl5ClusterText(p), detail: { assessmentId: p.assessmentId, dsm5CriteriaMet: p.dsm5CriteriaMet, clusters: p.clusters } });
  }
  return out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

export interface ScorePoint {
  assessmentId: string;
  courseId: string;
  stepKey: string;
  instrumentId: string;
  completedAt: string;
  total: number;
  band: string | null;
  critical: boolean;
}

export interface InstrumentTrend {
  instrumentId: string;
  name: string;
  maxTotal: number;
  bands: Array<{ id: string; label: string; min: number; max: number }>;
  points: ScorePoint[];
  baseline: number | null;
  latest: number | null;
  changePercent: number | null;
  response: boolean | null;
  remission: boolean | null;
  /** Totals below this are remission (PHQ-9, GAD-7). */
  remissionBelow: number | null;
  /** PCL-5: reliable / clinically meaningful change. */
  changeCategory: string | null;
}

export async function clientScores(db: Db, clientId: string, courseId?: string): Promise<InstrumentTrend[]> {
  let q = db
    .selectFrom('assessments as a')
    .innerJoin('courses as c', 'c.id', 'a.course_id')
    .select(['a.id', 'a.course_id', 'a.step_key', 'a.instrument_id', 'a.completed_at', 'a.total', 'a.band', 'a.critical'])
    .where('c.client_id', '=', clientId)
    .where('a.status', '=', 'completed')
    .where('a.total', 'is not', null)
    .orderBy('a.completed_at');
  if (courseId) q = q.where('a.course_id', '=', courseId);
  const rows = await q.execute();
  const byInstrument = new Map<string, ScorePoint[]>();
  for (const r of rows) {
    if (!r.completed_at || r.total === null) continue;
    const list = byInstrument.get(r.instrument_id) ?? [];
    list.push({ assessmentId: r.id, courseId: r.course_id, stepKey: r.step_key, instrumentId: r.instrument_id, completedAt: r.completed_at.toISOString(), total: r.total, band: r.band, critical: r.critical });
    byInstrument.set(r.instrument_id, list);
  }
  const out: InstrumentTrend[] = [];
  for (const [instrumentId, points] of byInstrument) {
    const inst = getInstrument(instrumentId);
    const baseline = points[0]!.total;
    const latest = points[points.length - 1]!.total;
    const hasChange = points.length > 1;
    const rem = instrumentId in REMISSION_BELOW ? instrumentId as RemissionInstrument : null;
    out.push({
      instrumentId,
      name: inst?.shortName ?? instrumentId,
      maxTotal: inst?.maxTotal ?? Math.max(...points.map((p) => p.total)),
      bands: (inst?.bands ?? []).map((b) => ({ id: b.id, label: b.label, min: b.min, max: b.max })),
      points,
      baseline,
      latest,
      changePercent: hasChange ? response(baseline, latest).changePercent : null,
      response: hasChange && instrumentId !== 'cssrs' ? response(baseline, latest).response : null,
      remission: hasChange && rem ? remission(latest, rem) : null,
      remissionBelow: rem ? REMISSION_BELOW[rem] : null,
      changeCategory: hasChange && instrumentId === 'pcl5' ? pcl5Change(baseline, latest).category : null,
    });
  }
  const order = ['phq9', 'gad7', 'pcl5', 'qids-sr16', 'cssrs'];
  return out.sort((a, b) => order.indexOf(a.instrumentId) - order.indexOf(b.instrumentId));
}

export interface AssessmentQueueItem {
  courseId: string;
  clientId: string;
  clientName: string;
  clinicId: string;
  stepKey: string | null;
  instruments: string[];
  status: 'overdue' | 'awaiting' | 'missed' | 'due-soon';
  invitedAt: string | null;
  expiresAt: string | null;
  lastCompletedAt: string | null;
  note: string;
}

/** Assessments overdue (unanswered > 24 h, or missed in the last 30 days), awaiting, and due soon (no assessment for 12+ days). */
export async function assessmentQueue(db: Db, clinics: string[] | undefined, now = new Date()): Promise<AssessmentQueueItem[]> {
  const since = new Date(now.getTime() - 30 * 86_400_000);
  let q = db
    .selectFrom('assessments as a')
    .innerJoin('courses as c', 'c.id', 'a.course_id')
    .innerJoin('clients as cl', 'cl.id', 'c.client_id')
    .innerJoin('clinics as k', 'k.id', 'c.clinic_id')
    .select(['a.course_id', 'a.step_key', 'a.instrument_id', 'a.status', 'a.invited_at', 'a.expires_at', 'c.client_id', 'c.clinic_id', 'cl.given_name', 'cl.family_name', 'k.timezone'])
    .where('c.ended_at', 'is', null)
    .where((eb) => eb.or([eb('a.status', '=', 'invited'), eb.and([eb('a.status', '=', 'missed'), eb('a.expires_at', '>', since)])]))
    .orderBy('a.invited_at')
    .limit(1000);
  q = none(q, clinics, 'c.clinic_id');
  const rows = await q.execute();
  const grouped = new Map<string, AssessmentQueueItem>();
  for (const r of rows) {
    const key = `${r.course_id}/${r.step_key}/${r.status}`;
    const existing = grouped.get(key);
    if (existing) {
      existing.instruments.push(r.instrument_id);
      continue;
    }
    const ageH = (now.getTime() - r.invited_at.getTime()) / 3_600_000;
    const status = r.status === 'missed' ? 'missed' : ageH > 24 ? 'overdue' : 'awaiting';
    grouped.set(key, {
      courseId: r.course_id,
      clientId: r.client_id,
      clientName: `${r.given_name} ${r.family_name}`,
      clinicId: r.clinic_id,
      stepKey: r.step_key,
      instruments: [r.instrument_id],
      status,
      invitedAt: r.invited_at.toISOString(),
      expiresAt: r.expires_at.toISOString(),
      lastCompletedAt: null,
      note: status === 'missed' ? `expired unanswered ${clinicLocalTime(r.expires_at, r.timezone)}` : status === 'overdue' ? `unanswered for ${Math.floor(ageH)} h` : `sent ${Math.max(0, Math.floor(ageH))} h ago`,
    });
  }
  // Due soon: active courses with nothing sent for 12+ days (measurement every 14 days is the norm).
  const stale = new Date(now.getTime() - 12 * 86_400_000);
  let dq = db
    .selectFrom('courses as c')
    .innerJoin('clients as cl', 'cl.id', 'c.client_id')
    .leftJoin(
      (eb) => eb.selectFrom('assessments').select(['course_id', sql<Date>`max(invited_at)`.as('last_invited'), sql<Date | null>`max(completed_at)`.as('last_completed')]).groupBy('course_id').as('a'),
      (j) => j.onRef('a.course_id', '=', 'c.id'),
    )
    .select(['c.id', 'c.client_id', 'c.clinic_id', 'c.enrolled_at', 'cl.given_name', 'cl.family_name', 'a.last_invited', 'a.last_completed'])
    .where('c.ended_at', 'is', null)
    .where('c.status', '=', 'active')
    .where((eb) => eb.or([eb('a.last_invited', '<', stale), eb.and([eb('a.last_invited', 'is', null), eb('c.enrolled_at', '<', stale)])]))
    .limit(500);
  dq = none(dq, clinics, 'c.clinic_id');
  for (const r of await dq.execute()) {
    const last = r.last_invited ? new Date(r.last_invited) : null;
    grouped.set(`${r.id}/due`, {
      courseId: r.id,
      clientId: r.client_id,
      clientName: `${r.given_name} ${r.family_name}`,
      clinicId: r.clinic_id,
      stepKey: null,
      instruments: [],
      status: 'due-soon',
      invitedAt: iso(last),
      expiresAt: null,
      lastCompletedAt: r.last_completed ? new Date(r.last_completed).toISOString() : null,
      note: last ? `last sent ${Math.floor((now.getTime() - last.getTime()) / 86_400_000)} days ago` : 'no assessment sent yet',
    });
  }
  const rank = { overdue: 0, missed: 1, 'due-soon': 2, awaiting: 3 } as const;
  return [...grouped.values()].sort((a, b) => rank[a.status] - rank[b.status] || (a.invitedAt ?? '').localeCompare(b.invitedAt ?? ''));
}

export interface SafetyItem {
  type: 'safety-hold' | 'adverse-event';
  id: string;
  courseId: string;
  clientId: string;
  clientName: string;
  clinicId: string;
  kind: string;
  level: string | null;
  stepKey: string | null;
  at: string;
  ageSeconds: number;
  serious: boolean;
  /** The hold's reason in full (values, endorsed items), or the adverse event. */
  summary: string;
  /** The hold's own reason, in full (the summary adds the level). */
  reason: string;
  /** About suicide risk: only a clinician's review closes it. */
  suicideRisk: boolean;
  /** What closes it: "a clinician reviews it", "a pre-dose check of this session that proceeds, ...". */
  closesWhen: string;
  /** The course has ended (the item outlives it until reviewed). */
  courseEnded: boolean;
}

/**
 * Open safety holds (exactly the workflow's open set, as projected: see src/api/safety-review.ts),
 * then adverse events (moderate or worse, or serious) of the last 30 days. Holds are sorted by risk
 * (suicide risk first, then level) and age (oldest first).
 */
export async function safetyQueue(db: Db, clinics: string[] | undefined, now = new Date(), clientId?: string): Promise<SafetyItem[]> {
  let hq = db
    .selectFrom('safety_events as s')
    .innerJoin('courses as c', 'c.id', 's.course_id')
    .innerJoin('clients as cl', 'cl.id', 'c.client_id')
    .select(['s.id', 's.course_id', 's.clinic_id', 's.kind', 's.level', 's.step_key', 's.at', 's.detail', 'c.client_id', 'c.ended_at', 'cl.given_name', 'cl.family_name'])
    .where('s.resolved_at', 'is', null)
    .orderBy('s.at')
    .limit(500);
  hq = none(hq, clinics, 's.clinic_id');
  if (clientId) hq = hq.where('c.client_id', '=', clientId);
  const since = new Date(now.getTime() - 30 * 86_400_000);
  let aq = db
    .selectFrom('adverse_events as e')
    .innerJoin('courses as c', 'c.id', 'e.course_id')
    .innerJoin('clients as cl', 'cl.id', 'c.client_id')
    .select(['e.id', 'e.course_id', 'e.clinic_id', 'e.category', 'e.severity', 'e.serious', 'e.step_key', 'e.onset_at', 'c.client_id', 'cl.given_name', 'cl.family_name'])
    .where('e.recorded_at', '>', since)
    .where((eb) => eb.or([eb('e.serious', '=', true), eb('e.severity', 'in', ['moderate', 'severe', 'life-threatening'])]))
    .orderBy('e.onset_at', 'desc')
    .limit(500);
  aq = none(aq, clinics, 'e.clinic_id');
  if (clientId) aq = aq.where('c.client_id', '=', clientId);
  const [holds, adverse] = await Promise.all([hq.execute(), aq.execute()]);
  const age = (d: Date) => Math.max(0, Math.round((now.getTime() - d.getTime()) / 1000));
  const items = holds.map((h) => {
    const d = (h.detail ?? {}) as Record<string, unknown>;
    const suicideRisk = d.suicideRisk === true || (d.suicideRisk === undefined && (h.kind === 'critical-answer' || h.kind === 'pre-dose-risk'));
    const reason = typeof d.reason === 'string' && d.reason ? d.reason : h.kind.replace(/[-_]/g, ' ');
    return {
      type: 'safety-hold' as const,
      id: h.id,
      courseId: h.course_id,
      clientId: h.client_id,
      clientName: `${h.given_name} ${h.family_name}`,
      clinicId: h.clinic_id,
      kind: h.kind,
      level: h.level,
      stepKey: h.step_key,
      at: h.at.toISOString(),
      ageSeconds: age(h.at),
      serious: h.level === 'high' || suicideRisk,
      summary: `${h.level ? `${h.level} risk: ` : ''}${reason}`,
      reason,
      suicideRisk,
      closesWhen: closesWhen(h.kind, d, h.ended_at !== null),
      courseEnded: h.ended_at !== null,
    };
  });
  items.sort((a, b) => riskRank(b.level, b.suicideRisk) - riskRank(a.level, a.suicideRisk) || a.at.localeCompare(b.at));
  return [
    ...items,
    ...adverse.map((e) => ({
      type: 'adverse-event' as const,
      id: e.id,
      courseId: e.course_id,
      clientId: e.client_id,
      clientName: `${e.given_name} ${e.family_name}`,
      clinicId: e.clinic_id,
      kind: e.category,
      level: e.severity,
      stepKey: e.step_key,
      at: e.onset_at.toISOString(),
      ageSeconds: age(e.onset_at),
      serious: e.serious,
      summary: `${e.severity}${e.serious ? ' serious' : ''} adverse event: ${e.category.replace(/-/g, ' ')}`,
      reason: `${e.severity}${e.serious ? ' serious' : ''} adverse event: ${e.category.replace(/-/g, ' ')}`,
      suicideRisk: false,
      closesWhen: `leaves this list 30 days after it was recorded${e.serious ? ' (its safety hold is listed above until closed)' : ''}`,
      courseEnded: false,
    })),
  ];
}

// Clinic outcomes (by protocol and enrolment dates, beside published figures per route): ./outcomes.ts.

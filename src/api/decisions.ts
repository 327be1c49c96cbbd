// What was decided on a course, read back from the record so staff can see it: hard-stop overrides
// (accepted or refused) with the reason given, clearance and maintenance decisions with their reason,
// safety reviews with their notes summary, holds opened and closed, and the PCL-5's DSM-5 cluster
// result. Shared by the course API (GET /api/courses/:id), the client page's timeline and the FHIR export.
import type { Db } from '../db/connect';
import { getInstrument } from '../domain/instruments/registry';
import type { Pcl5Result } from '../domain/instruments/pcl5';

export interface Decision {
  courseId: string;
  at: string;
  type: string;
  stepKey: string | null;
  /** `staff:<id>`, `token:<id>` or `system`. */
  actor: string;
  summary: string;
  reason: string | null;
  notesSummary: string | null;
}

const DECISION_TYPES = [
  'screening.recorded',
  'hard-stop.overridden',
  'hard-stop.override-refused',
  'clearance.approved',
  'clearance.denied',
  'clearance.needs-records',
  'safety-review.release',
  'safety-review.keep-hold',
  'safety-review.withdraw',
  'safety-hold.opened',
  'safety-hold.closed',
  'maintenance.maintenance',
  'maintenance.complete',
  'course.paused',
  'course.withdrawn',
  'course.moved',
] as const;

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? v : null);

/** The one-line text of a decision event (also the timeline's summary). Null for other event types. */
export function decisionSummary(type: string, d: Record<string, unknown>): string | null {
  const reason = str(d.reason);
  const notes = str(d.notesSummary);
  switch (type) {
    case 'screening.recorded':
      return `Screening recorded: ${String(d.decision ?? '')}${Array.isArray(d.codes) && d.codes.length ? ` (${(d.codes as string[]).join(', ')})` : ''}`;
    case 'hard-stop.overridden':
      return `Hard stop ${String(d.hardStop)} overridden by ${String(d.byRole ?? 'a clinician')}: ${reason ?? '(no reason)'}`;
    case 'hard-stop.override-refused':
      return `Override of hard stop ${String(d.hardStop)} by ${String(d.byRole ?? 'a clinician')} refused (role not allowed); reason given: ${reason ?? '(none)'}`;
    case 'clearance.approved':
    case 'clearance.denied':
    case 'clearance.needs-records':
      return `Medical clearance ${type.split('.')[1]}${reason ? `: ${reason}` : ''}`;
    case 'safety-review.release':
    case 'safety-review.keep-hold':
    case 'safety-review.withdraw':
      return `Safety review (${type.split('.')[1]})${str(d.riskLevel) ? `, risk assessed ${String(d.riskLevel)}` : ''}${d.afterCourseEnded ? ', after the course ended' : ''}${notes ? `: ${notes}` : ''}`;
    case 'safety-hold.opened':
      return `Safety hold opened${str(d.level) ? ` (${String(d.level)} risk)` : ''}: ${reason ?? String(d.kind ?? '')}`;
    case 'safety-hold.closed':
      return `Safety hold closed (${String(d.kind ?? '')}): ${str(d.resolution) ?? 'closed'}`;
    case 'maintenance.maintenance':
    case 'maintenance.complete':
      return `Maintenance decision: ${type.split('.')[1]}${reason ? `: ${reason}` : ''}`;
    case 'course.paused':
      return `Course paused${reason ? `: ${reason}` : ''}`;
    case 'course.withdrawn':
      return `Course withdrawn${reason ? `: ${reason}` : ''}`;
    case 'course.moved': {
      // A move to another version of the protocol (src/workflows/machine/handlers/versions.ts).
      const keys = (v: unknown) => (Array.isArray(v) ? (v as unknown[]).map(String) : []);
      const [added, removed, retimed] = [keys(d.added), keys(d.removed), Array.isArray(d.retimed) ? d.retimed.length : 0];
      const what = [added.length ? `added ${added.join(', ')}` : '', removed.length ? `cancelled ${removed.join(', ')}` : '', retimed ? `${retimed} step${retimed === 1 ? '' : 's'} re-timed` : ''].filter(Boolean);
      return `Moved from ${String(d.from ?? '?')} to ${String(d.to ?? '?')}${what.length ? ` (${what.join('; ')})` : ''}${reason ? `: ${reason}` : ''}`;
    }
    default:
      return null;
  }
}

/** Every decision on these courses, oldest first. */
export async function courseDecisions(db: Db, courseIds: readonly string[]): Promise<Decision[]> {
  if (!courseIds.length) return [];
  const rows = await db
    .selectFrom('course_events')
    .select(['course_id', 'at', 'type', 'step_key', 'actor_type', 'actor_id', 'detail'])
    .where('course_id', 'in', [...courseIds])
    .where('type', 'in', [...DECISION_TYPES])
    .orderBy('at')
    .orderBy('seq')
    .execute();
  return rows.map((r) => {
    const d = (r.detail ?? {}) as Record<string, unknown>;
    return {
      courseId: r.course_id,
      at: r.at.toISOString(),
      type: r.type,
      stepKey: r.step_key,
      actor: r.actor_id ? `${r.actor_type}:${r.actor_id}` : r.actor_type,
      summary: decisionSummary(r.type, d) ?? r.type,
      reason: str(d.reason),
      notesSummary: str(d.notesSummary),
    };
  });
}

export interface Pcl5ClusterResult {
  courseId: string;
  assessmentId: string;
  stepKey: string;
  completedAt: string | null;
  total: number;
  provisionalPtsd: boolean;
  /** The DSM-5 cluster rule: B >= 1, C >= 1, D >= 2, E >= 2 items rated 2 or more. */
  dsm5CriteriaMet: boolean;
  clusters: Pcl5Result['clusters'];
}

/** The DSM-5 cluster result of every completed PCL-5 of these courses, scored again from the stored answers. */
export async function pcl5Clusters(db: Db, courseIds: readonly string[]): Promise<Pcl5ClusterResult[]> {
  if (!courseIds.length) return [];
  const rows = await db
    .selectFrom('assessments')
    .select(['id', 'course_id', 'step_key', 'completed_at'])
    .where('course_id', 'in', [...courseIds])
    .where('instrument_id', '=', 'pcl5')
    .where('status', '=', 'completed')
    .orderBy('completed_at')
    .execute();
  if (!rows.length) return [];
  const items = await db.selectFrom('assessment_items').select(['assessment_id', 'item', 'value']).where('assessment_id', 'in', rows.map((r) => r.id)).execute();
  const pcl5 = getInstrument('pcl5')!;
  const out: Pcl5ClusterResult[] = [];
  for (const r of rows) {
    const answers: unknown[] = [];
    for (const it of items) if (it.assessment_id === r.id) answers[Number(it.item) - 1] = it.value;
    try {
      const s = pcl5.score(answers) as Pcl5Result;
      out.push({ courseId: r.course_id, assessmentId: r.id, stepKey: r.step_key, completedAt: r.completed_at?.toISOString() ?? null, total: s.total, provisionalPtsd: s.provisionalPtsd, dsm5CriteriaMet: s.dsm5CriteriaMet, clusters: s.clusters });
    } catch {
      // answers not stored (older rows): nothing to show
    }
  }
  return out;
}

/** "DSM-5 cluster rule met (B 3/1, C 2/1, D 4/2, E 3/2)". */
export function pcl5ClusterText(p: Pcl5ClusterResult): string {
  const c = Object.entries(p.clusters).map(([k, v]) => `${k} ${v.endorsed}/${v.required}`).join(', ');
  return `PCL-5 total ${p.total}${p.provisionalPtsd ? ' (at or above the provisional PTSD cut-off)' : ''}; DSM-5 cluster rule ${p.dsm5CriteriaMet ? 'met' : 'not met'} (${c})`;
}

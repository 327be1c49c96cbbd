// Clinic outcomes read model: response and remission on the PHQ-9, GAD-7 and PCL-5 of a clinic's
// completed courses, by protocol and by the date the courses were enrolled, each beside a published
// figure for the same route of administration (only figures in /work/shared/reference/clinical.md;
// where it has none for a route and instrument, the answer says so instead of borrowing one).
import { z } from 'zod';
import type { Db } from '../db/connect';
import { getProtocol, PCL5_DEFAULT_CUTOFF, pcl5Change, remission, response } from '../domain';

export type OutcomeInstrument = 'phq9' | 'gad7' | 'pcl5';
export const OUTCOME_INSTRUMENTS: readonly OutcomeInstrument[] = ['phq9', 'gad7', 'pcl5'];
export const INSTRUMENT_LABEL: Record<OutcomeInstrument, string> = { phq9: 'PHQ-9 (depression)', gad7: 'GAD-7 (anxiety)', pcl5: 'PCL-5 (post-traumatic stress)' };

/** What response and remission mean on each instrument. */
export const OUTCOME_DEFINITIONS: Record<OutcomeInstrument, { response: string; remission: string }> = {
  phq9: { response: 'a drop of at least 50% from the course baseline', remission: 'last score below 5 (NCQA/HEDIS)' },
  gad7: { response: 'a drop of at least 50% from the course baseline', remission: 'last score below 5' },
  pcl5: { response: `a drop of at least 10 points from the course baseline (clinically meaningful change, NCPTSD)`, remission: `last score below ${PCL5_DEFAULT_CUTOFF}, the provisional-PTSD cut-off` },
};

/** A published figure to compare a clinic against: its route of administration, instrument, rates and source. */
export interface PublishedFigure {
  route: string;
  instrumentId: OutcomeInstrument;
  response: number;
  remission: number;
  source: string;
}

/** Every published figure in /work/shared/reference/clinical.md (section 5). None for IV, IM, intranasal or the PCL-5. */
export const PUBLISHED_OUTCOMES: readonly PublishedFigure[] = [
  { route: 'sublingual', instrumentId: 'phq9', response: 62.8, remission: 32.6, source: 'Mindbloom, at-home sublingual ketamine-assisted therapy, n=1,247, after 4 weeks' },
  { route: 'sublingual', instrumentId: 'gad7', response: 62.9, remission: 31.3, source: 'Mindbloom, at-home sublingual ketamine-assisted therapy, n=1,247, after 4 weeks' },
];
export const NO_COMPARATOR = 'no published comparator here';

/** The published figure for a protocol's routes on an instrument, if there is one. */
export function comparatorFor(routes: readonly string[], instrumentId: OutcomeInstrument): PublishedFigure | null {
  return PUBLISHED_OUTCOMES.find((f) => f.instrumentId === instrumentId && routes.includes(f.route)) ?? null;
}

const day = z.iso.date({ error: 'must be a date, YYYY-MM-DD' });
/** The query of GET /api/clinics/:id/outcomes and GET /outcomes: a protocol, and enrolment dates from and to (inclusive, UTC). */
export const OutcomesQuery = z
  .strictObject({
    protocolId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be a protocol id (lower-case letters, digits, hyphens)').optional(),
    from: day.optional(),
    to: day.optional(),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { path: ['to'], message: 'must be on or after from' });
export type OutcomesFilter = z.infer<typeof OutcomesQuery>;

export interface OutcomeRate {
  instrumentId: OutcomeInstrument;
  label: string;
  /** Courses with a baseline and a later score on this instrument (n). */
  courses: number;
  responders: number;
  remitters: number;
  responseRate: number | null;
  remissionRate: number | null;
  /** The published figure for this protocol's route, or null (then `comparatorNote` says there is none). */
  published: PublishedFigure | null;
  comparatorNote: string;
}

export interface ProtocolOutcomes {
  protocolId: string;
  name: string;
  routes: string[];
  completedCourses: number;
  rates: OutcomeRate[];
}

const pct = (k: number, n: number) => (n ? Math.round((k / n) * 1000) / 10 : null);

/**
 * Response and remission of a clinic's completed courses (completed or in maintenance), per protocol,
 * for courses enrolled between `from` and `to`: baseline = the course's first completed score on the
 * instrument, outcome = its last. Courses without two scores on an instrument are not in its n.
 */
export async function clinicOutcomes(db: Db, clinicId: string, filter: OutcomesFilter = {}) {
  let courses = db.selectFrom('courses').select(['id', 'protocol_id']).where('clinic_id', '=', clinicId).where('status', 'in', ['completed', 'maintenance']);
  if (filter.protocolId) courses = courses.where('protocol_id', '=', filter.protocolId);
  if (filter.from) courses = courses.where('enrolled_at', '>=', new Date(`${filter.from}T00:00:00Z`));
  if (filter.to) courses = courses.where('enrolled_at', '<', new Date(Date.parse(`${filter.to}T00:00:00Z`) + 86_400_000));
  const list = await courses.execute();
  const ids = list.map((c) => c.id);
  const rows = ids.length
    ? await db
        .selectFrom('assessments')
        .select(['course_id', 'instrument_id', 'total'])
        .where('course_id', 'in', ids)
        .where('status', '=', 'completed')
        .where('total', 'is not', null)
        .where('instrument_id', 'in', [...OUTCOME_INSTRUMENTS])
        .orderBy('completed_at')
        .orderBy('id')
        .execute()
    : [];
  const scores = new Map<string, number[]>();
  for (const r of rows) {
    const k = `${r.course_id}|${r.instrument_id}`;
    scores.set(k, [...(scores.get(k) ?? []), r.total!]);
  }
  const protocolIds = [...new Set([...list.map((c) => c.protocol_id), ...(filter.protocolId ? [filter.protocolId] : [])])].sort();
  const protocols: ProtocolOutcomes[] = [];
  for (const protocolId of protocolIds) {
    const { name, routes } = await protocolFacts(db, protocolId);
    const mine = list.filter((c) => c.protocol_id === protocolId);
    const rates = OUTCOME_INSTRUMENTS.map((instrumentId): OutcomeRate => {
      let n = 0;
      let responders = 0;
      let remitters = 0;
      for (const c of mine) {
        const pts = scores.get(`${c.id}|${instrumentId}`) ?? [];
        if (pts.length < 2) continue;
        const baseline = pts[0]!;
        const last = pts[pts.length - 1]!;
        n++;
        if (instrumentId === 'pcl5' ? pcl5Change(baseline, last).clinicallyMeaningful && last < baseline : response(baseline, last).response) responders++;
        if (instrumentId === 'pcl5' ? last < PCL5_DEFAULT_CUTOFF : remission(last, instrumentId)) remitters++;
      }
      const published = comparatorFor(routes, instrumentId);
      const comparatorNote = published
        ? `${published.route}${routes.length > 1 ? ` (this protocol: ${routes.join(', ')})` : ''}: ${published.source}`
        : `${NO_COMPARATOR} (${routes.join(', ') || 'route unknown'}, ${INSTRUMENT_LABEL[instrumentId].replace(/ \(.*/, '')})`;
      return { instrumentId, label: INSTRUMENT_LABEL[instrumentId], courses: n, responders, remitters, responseRate: pct(responders, n), remissionRate: pct(remitters, n), published, comparatorNote };
    });
    protocols.push({ protocolId, name, routes, completedCourses: mine.length, rates });
  }
  return { clinicId, filter: { protocolId: filter.protocolId ?? null, from: filter.from ?? null, to: filter.to ?? null }, completedCourses: list.length, protocols, definitions: OUTCOME_DEFINITIONS };
}

/** A protocol's name and routes: the shipped definition, else the snapshot pinned in one of its courses. */
async function protocolFacts(db: Db, protocolId: string): Promise<{ name: string; routes: string[] }> {
  const shipped = getProtocol(protocolId);
  if (shipped) return { name: shipped.name, routes: [...shipped.routes] };
  const row = await db.selectFrom('courses').select('protocol_snapshot').where('protocol_id', '=', protocolId).limit(1).executeTakeFirst();
  const snap = (row?.protocol_snapshot ?? {}) as { name?: unknown; routes?: unknown };
  return { name: typeof snap.name === 'string' ? snap.name : protocolId, routes: Array.isArray(snap.routes) ? snap.routes.filter((r): r is string => typeof r === 'string') : [] };
}

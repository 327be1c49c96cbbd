// Loads what the FHIR export needs from the database: the client, their courses with steps (names
// from the pinned protocol), and their assessments with answers. Read-only; no Temporal involved:
// PostgreSQL is the system of record the workflows project into.
import type { Db } from '../db/connect';
import { planCourse, plannedStepName } from '../domain/plan-course';
import type { Protocol } from '../domain/protocol';
import { notFound } from '../errors';
import { courseDecisions, pcl5Clusters } from '../api/decisions';
import { safetyQueue } from '../api/records';
import type { FhirAssessment, FhirCourse, FhirExportInput, FhirStep } from './model';

const dateOnly = (d: Date | string | null): string | null => {
  if (d === null) return null;
  if (typeof d === 'string') return d.slice(0, 10);
  // `date` columns arrive as local-midnight Dates from pg: read the local calendar date back.
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
};
const iso = (d: Date | null) => (d ? d.toISOString() : null);

function stepNames(snapshot: unknown): Map<string, string> {
  try {
    return new Map(planCourse(snapshot as Protocol).map((p) => [p.id, p.name]));
  } catch {
    return new Map();
  }
}

/** A step the course added in maintenance (booster-1, booster-review-1): named as the course names it. */
function addedStepName(snapshot: unknown, key: string): string | null {
  try {
    return key.startsWith('booster-') ? plannedStepName(snapshot as Protocol, key) : null;
  } catch {
    return null;
  }
}

/** Every course of a client (or only `courseIds`), oldest first. Throws not_found for an unknown client. */
export async function loadFhirExport(db: Db, clientId: string, courseIds?: readonly string[]): Promise<FhirExportInput> {
  const client = await db.selectFrom('clients').select(['id', 'clinic_id', 'given_name', 'family_name', 'date_of_birth', 'sex']).where('id', '=', clientId).executeTakeFirst();
  if (!client) throw notFound(`client ${clientId}`);
  let cq = db.selectFrom('courses').selectAll().where('client_id', '=', clientId).orderBy('enrolled_at', 'asc');
  if (courseIds) {
    if (courseIds.length === 0) return { client: clientOf(client), courses: [] };
    cq = cq.where('id', 'in', [...courseIds]);
  }
  const courses = await cq.execute();
  const ids = courses.map((c) => c.id);
  const [steps, assessments] = ids.length
    ? await Promise.all([
        db
          .selectFrom('course_steps as s')
          .leftJoin('staff as st', 'st.id', 's.owner_staff_id')
          .select(['s.id', 's.course_id', 's.step_key', 's.kind', 's.state', 's.owner_role', 's.owner_staff_id', 's.entered_at', 's.deadline_at', 's.completed_at', 's.outcome', 'st.display_name'])
          .where('s.course_id', 'in', ids)
          .orderBy('s.entered_at', 'asc')
          .orderBy('s.id', 'asc')
          .execute(),
        db.selectFrom('assessments').selectAll().where('course_id', 'in', ids).orderBy('invited_at', 'asc').orderBy('id', 'asc').execute(),
      ])
    : [[], []];
  const items = assessments.length
    ? await db.selectFrom('assessment_items').selectAll().where('assessment_id', 'in', assessments.map((a) => a.id)).execute()
    : [];
  const [safety, decisions, pcl5] = await Promise.all([
    ids.length ? safetyQueue(db, undefined, new Date(), clientId) : Promise.resolve([]),
    courseDecisions(db, ids),
    pcl5Clusters(db, ids),
  ]);
  const [clinic, sessions, vitals, adverse, consents, rems] = await Promise.all([
    db.selectFrom('clinics').select(['id', 'name']).where('id', '=', client.clinic_id).executeTakeFirst(),
    ids.length ? db.selectFrom('course_sessions').selectAll().where('course_id', 'in', ids).orderBy('id', 'asc').execute() : Promise.resolve([]),
    ids.length ? db.selectFrom('course_vitals').selectAll().where('course_id', 'in', ids).orderBy('taken_at', 'asc').orderBy('id', 'asc').execute() : Promise.resolve([]),
    ids.length
      ? db.selectFrom('adverse_events as a').leftJoin('staff as st', 'st.id', 'a.recorded_by').selectAll('a').select('st.display_name').where('a.course_id', 'in', ids).orderBy('a.onset_at', 'asc').orderBy('a.id', 'asc').execute()
      : Promise.resolve([]),
    ids.length
      ? db.selectFrom('consents as c').leftJoin('staff as st', 'st.id', 'c.prescriber_id').selectAll('c').select('st.display_name').where('c.course_id', 'in', ids).orderBy('c.signed_by_client_at', 'asc').orderBy('c.id', 'asc').execute()
      : Promise.resolve([]),
    // The session record keeps route, dose and lot as the dose action recorded them; for a session
    // projected before the lot was, an esketamine session's lot is on its REMS monitoring form.
    ids.length ? db.selectFrom('rems_monitoring_forms').select(['course_id', 'session_step_key', 'lot_number']).where('course_id', 'in', ids).execute() : Promise.resolve([]),
  ]);
  const lotOf = new Map(rems.filter((r) => r.lot_number).map((r) => [`${r.course_id}/${r.session_step_key}`, r.lot_number!]));
  const answers = new Map<string, Record<string, unknown>>();
  for (const it of items) (answers.get(it.assessment_id) ?? answers.set(it.assessment_id, {}).get(it.assessment_id)!)[it.item] = it.value;

  const out: FhirCourse[] = courses.map((c) => {
    const names = stepNames(c.protocol_snapshot);
    const snap = c.protocol_snapshot as { name?: unknown; modality?: unknown } | null;
    return {
      id: c.id,
      clinicId: c.clinic_id,
      protocol: { id: c.protocol_id, version: c.protocol_version, name: typeof snap?.name === 'string' ? snap.name : c.protocol_id },
      status: c.status,
      enrolledAt: c.enrolled_at.toISOString(),
      endedAt: iso(c.ended_at),
      endReason: c.end_reason,
      steps: steps
        .filter((s) => s.course_id === c.id)
        .map(
          (s): FhirStep => ({
            id: s.id,
            stepKey: s.step_key,
            kind: s.kind,
            name: names.get(s.step_key) ?? addedStepName(c.protocol_snapshot, s.step_key) ?? s.step_key,
            state: s.state,
            ownerRole: s.owner_role,
            ownerStaff: s.owner_staff_id ? { id: s.owner_staff_id, name: s.display_name } : null,
            enteredAt: s.entered_at.toISOString(),
            deadlineAt: iso(s.deadline_at),
            completedAt: iso(s.completed_at),
            outcome: s.outcome,
          }),
        ),
      assessments: assessments
        .filter((a) => a.course_id === c.id)
        .map(
          (a): FhirAssessment => ({
            id: a.id,
            stepKey: a.step_key,
            instrumentId: a.instrument_id,
            status: a.status,
            completedAt: iso(a.completed_at),
            total: a.total,
            band: a.band,
            answers: answers.get(a.id) ?? {},
          }),
        ),
      drug: snap?.modality === 'intranasal-esketamine' ? 'esketamine' : 'ketamine',
      sessions: sessions
        .filter((x) => x.course_id === c.id)
        .map((x) => {
          const d = x.detail as { route?: unknown; doseMg?: unknown; lotNumber?: unknown } | null;
          const lot = typeof d?.lotNumber === 'string' ? d.lotNumber : (lotOf.get(`${c.id}/${x.step_key}`) ?? null);
          return {
            id: x.id,
            stepKey: x.step_key,
            status: x.status,
            startsAt: iso(x.starts_at),
            dosedAt: iso(x.dosed_at),
            completedAt: iso(x.completed_at),
            dose: typeof d?.route === 'string' ? { route: d.route, doseMg: typeof d.doseMg === 'number' ? d.doseMg : null, lotNumber: lot } : null,
          };
        }),
      vitals: vitals
        .filter((v) => v.course_id === c.id)
        .map((v) => ({ id: v.id, stepKey: v.step_key, phase: v.phase, minutesAfterDose: v.minutes_after_dose, systolic: v.systolic, diastolic: v.diastolic, heartRate: v.heart_rate, spo2: v.spo2, takenAt: v.taken_at.toISOString() })),
      adverseEvents: adverse
        .filter((a) => a.course_id === c.id)
        .map((a) => ({
          id: a.id,
          stepKey: a.step_key,
          category: a.category,
          severity: a.severity,
          serious: a.serious,
          description: a.description,
          onsetAt: a.onset_at.toISOString(),
          recordedAt: a.recorded_at.toISOString(),
          recordedBy: a.recorded_by ? { id: a.recorded_by, name: a.display_name } : null,
        })),
      consents: consents
        .filter((k) => k.course_id === c.id)
        .map((k) => ({
          id: k.id,
          kind: k.kind,
          documentVersion: k.document_version,
          signedByClientAt: k.signed_by_client_at.toISOString(),
          prescriberSignedAt: iso(k.prescriber_signed_at),
          prescriber: k.prescriber_id ? { id: k.prescriber_id, name: k.display_name } : null,
        })),
      safetyItems: safety
        .filter((h) => h.type === 'safety-hold' && h.courseId === c.id)
        .map((h) => ({ id: h.id, kind: h.kind, level: h.level, at: h.at, reason: h.reason, suicideRisk: h.suicideRisk, closesWhen: h.closesWhen })),
      decisions: decisions.filter((d) => d.courseId === c.id).map((d) => ({ at: d.at, type: d.type, summary: d.summary })),
      pcl5Clusters: Object.fromEntries(pcl5.filter((p) => p.courseId === c.id).map((p) => [p.assessmentId, { dsm5CriteriaMet: p.dsm5CriteriaMet, clusters: p.clusters }])),
    };
  });
  return { client: clientOf(client), ...(clinic ? { clinic } : {}), courses: out };
}

function clientOf(c: { id: string; clinic_id: string; given_name: string; family_name: string; date_of_birth: Date | null; sex: 'female' | 'male' | 'unknown' | null }) {
  return { id: c.id, clinicId: c.clinic_id, givenName: c.given_name, familyName: c.family_name, birthDate: dateOnly(c.date_of_birth), sex: c.sex };
}

// Spravato REMS monitoring forms over HTTP: list a course's forms with their 7-day due dates, file
// one (hard stop: 422 naming every missing required field, or a dose/lot that contradicts the
// session's dose record), and a print-ready page per session.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { assertRecordInScope, type Principal } from '../auth/roles';
import { recordClientRead } from '../db/audit';
import type { Db } from '../db/connect';
import { AppError, conflict, notFound } from '../errors';
import { performAction } from '../api/actions';
import type { ApiDeps } from '../api/context';
import { fmtTime, html, page, type SafeHtml } from '../api/html';
import { principalOf } from '../api/auth';
import { apiRoute } from '../api/route';
import { Id } from '../api/schemas';
import { CONCOMITANT_FIELDS, missingRecordedFields, missingSubmissionFields, RemsFormDraft, type RemsFormSubmission, remsFormView, type RemsFormView } from './form';

const SessionKey = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a session (dosing step) key such as dose-2');
const Params = z.strictObject({ id: Id, session: SessionKey });
const FormView = z.object({
  id: z.string(),
  courseId: z.string(),
  session: z.string(),
  stepKey: z.string(),
  firstTreatment: z.boolean(),
  doseMg: z.number().nullable(),
  lotNumber: z.string().nullable(),
  bpPre: z.string().nullable(),
  bp40: z.string().nullable(),
  bpDischarge: z.string().nullable(),
  monitoringMinutes: z.number().nullable(),
  concomitant: z.record(z.string(), z.unknown()),
  sedation: z.boolean().nullable(),
  dissociation: z.boolean().nullable(),
  respiratoryDepression: z.boolean().nullable(),
  seriousAdverseEvent: z.boolean().nullable(),
  dueAt: z.string(),
  submittedAt: z.string().nullable(),
  status: z.enum(['filed', 'due', 'late']),
  /** Who filed it: the actor of its `rems-form.submitted` timeline event (a staff member, or an API token without one); null until filed. */
  filedBy: z.object({ actorType: z.string(), id: z.string().nullable(), name: z.string().nullable() }).nullable(),
});
type FiledBy = { actorType: string; id: string | null; name: string | null };

/** Who filed each of a course's forms, by form step key, from the timeline (the form row has no column for it). */
async function filers(db: Db, courseId: string): Promise<Map<string, FiledBy>> {
  const rows = await db
    .selectFrom('course_events as e')
    .leftJoin('staff as st', (j) => j.onRef('st.id', '=', 'e.actor_id').on('e.actor_type', '=', 'staff'))
    .select(['e.step_key', 'e.actor_type', 'e.actor_id', 'st.display_name'])
    .where('e.course_id', '=', courseId)
    .where('e.type', '=', 'rems-form.submitted')
    .execute();
  return new Map(rows.filter((r) => r.step_key !== null).map((r) => [r.step_key!, { actorType: r.actor_type, id: r.actor_id, name: r.display_name ?? null }]));
}
const withFiler = (f: RemsFormView, by: Map<string, FiledBy>) => ({ ...f, filedBy: by.get(f.stepKey) ?? null });

async function loadCourse(db: Db, principal: Principal, id: string) {
  const course = await db.selectFrom('courses as c').innerJoin('clients as cl', 'cl.id', 'c.client_id').select(['c.id', 'c.clinic_id', 'c.client_id', 'c.protocol_id', 'cl.given_name', 'cl.family_name', 'cl.date_of_birth']).where('c.id', '=', id).executeTakeFirst();
  if (!course) throw notFound(`course ${id}`);
  assertRecordInScope(principal, course.clinic_id, `course ${id}`);
  return course;
}

async function loadForm(db: Db, courseId: string, session: string) {
  const row = await db.selectFrom('rems_monitoring_forms').selectAll().where('course_id', '=', courseId).where('session_step_key', '=', session).executeTakeFirst();
  if (!row) throw notFound(`REMS monitoring form for session ${session} of course ${courseId} (it opens when the session is discharged)`);
  return row;
}

export function remsRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { db } = deps;

  apiRoute(app, { method: 'GET', url: '/api/courses/:id/rems', tag: 'rems', summary: "A course's REMS monitoring forms, one per Spravato session, with the 7-day due date and status", params: z.strictObject({ id: Id }), errors: [404], response: z.object({ forms: z.array(FormView) }) }, async ({ params, principal }) => {
    const course = await loadCourse(db, principal, params.id);
    await recordClientRead(db, principal, { clientId: course.client_id, clinicId: course.clinic_id, courseId: course.id, what: 'api rems forms' });
    const rows = await db.selectFrom('rems_monitoring_forms').selectAll().where('course_id', '=', params.id).orderBy('due_at').execute();
    const by = await filers(db, params.id);
    return { forms: rows.map((r) => withFiler(remsFormView(r), by)) };
  });

  apiRoute(
    app,
    {
      method: 'POST',
      url: '/api/courses/:id/rems/:session',
      tag: 'rems',
      summary:
        "File the REMS Patient Monitoring Form of one Spravato session (coordinator, prescriber or admin; who filed it is in `filedBy`). Hard stop: 422 lists every missing required field (answers, and vitals the session has not recorded); 422 also when the dose or lot differs from the session's dose record, naming both",
      params: Params,
      body: RemsFormDraft,
      errors: [404, 409, 422],
      response: FormView,
    },
    async ({ params, body, principal }) => {
      await loadCourse(db, principal, params.id);
      const row = await loadForm(db, params.id, params.session);
      if (row.submitted_at) throw conflict(`the REMS form for ${params.session} was filed at ${row.submitted_at.toISOString()}`);
      const missing = [...missingSubmissionFields(body), ...missingRecordedFields(row)];
      if (missing.length) throw new AppError('unprocessable', `the REMS monitoring form cannot be filed: ${missing.length} required field(s) missing`, missing);
      const submission = body as RemsFormSubmission;
      await performAction(deps, principal, params.id, 'rems-form', { stepKey: remsFormView(row).stepKey, ...submission });
      return withFiler(remsFormView(await loadForm(db, params.id, params.session)), await filers(db, params.id));
    },
  );

  // Dashboard-style HTML, for printing or faxing; same access as the rest of the record.
  app.get('/courses/:id/rems/:session/print', async (req, reply) => {
    const p = Params.safeParse(req.params);
    if (!p.success) throw new AppError('invalid_input', 'bad course id or session key');
    const principal = principalOf(req);
    const course = await loadCourse(db, principal, p.data.id);
    const form = remsFormView(await loadForm(db, p.data.id, p.data.session));
    await recordClientRead(db, principal, { clientId: course.client_id, clinicId: course.clinic_id, courseId: course.id, what: `rems form print ${form.session}` });
    const staff = principal.staffId ? await db.selectFrom('staff').select('display_name').where('id', '=', principal.staffId).executeTakeFirst() : undefined;
    const body = printBody(form, { name: `${course.given_name} ${course.family_name}`, dateOfBirth: course.date_of_birth, clinicId: course.clinic_id }, staff?.display_name ?? null);
    return reply.type('text/html; charset=utf-8').send(page({ title: `REMS Patient Monitoring Form: ${form.session}`, principal }, body));
  });
}

const yn = (v: unknown): SafeHtml => (v === true ? html`<strong>Yes</strong>` : v === false ? html`No` : html`<em>not answered</em>`);
const dob = (d: Date | null) => (d ? `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}` : 'not recorded');
const CONCOMITANT_LABEL: Record<(typeof CONCOMITANT_FIELDS)[number], string> = {
  benzodiazepines: 'Benzodiazepines',
  sedativeHypnotics: 'Non-benzodiazepine sedative hypnotics',
  psychostimulants: 'Psychostimulants',
  maois: 'Monoamine oxidase inhibitors (MAOIs)',
  opioids: 'Opioids',
};

function printBody(f: RemsFormView, patient: { name: string; dateOfBirth: Date | null; clinicId: string }, preparedBy: string | null): SafeHtml {
  const status =
    f.status === 'filed'
      ? html`<p class="flash ok" role="status">Filed ${fmtTime(f.submittedAt)}</p>`
      : html`<p class="flash ${f.status === 'late' ? 'error' : 'ok'}" role="status">${f.status === 'late' ? 'LATE: ' : ''}Not yet filed. Due by ${fmtTime(f.dueAt)} (within 7 days of the session).</p>`;
  return html`${status}
<section aria-labelledby="pt"><h2 id="pt">Patient and session</h2>
<table><tbody>
<tr><th scope="row">Patient</th><td>${patient.name}</td></tr>
<tr><th scope="row">Date of birth</th><td>${dob(patient.dateOfBirth)}</td></tr>
<tr><th scope="row">Clinic</th><td>${patient.clinicId}</td></tr>
<tr><th scope="row">Session</th><td>${f.session}</td></tr>
<tr><th scope="row">First treatment</th><td>${yn(f.firstTreatment)}</td></tr>
</tbody></table></section>
<section aria-labelledby="dose"><h2 id="dose">Dose</h2>
<table><tbody>
<tr><th scope="row">Dose</th><td>${f.doseMg === null ? html`<em>not recorded</em>` : f.doseMg === 56 || f.doseMg === 84 ? `${f.doseMg} mg` : `Other: ${f.doseMg} mg`}</td></tr>
<tr><th scope="row">Lot number</th><td>${f.lotNumber ?? html`<em>not recorded</em>`}</td></tr>
</tbody></table></section>
<section aria-labelledby="meds"><h2 id="meds">Concomitant medications</h2>
<table><tbody>${CONCOMITANT_FIELDS.map((k) => html`<tr><th scope="row">${CONCOMITANT_LABEL[k]}</th><td>${yn(f.concomitant[k])}</td></tr>`)}</tbody></table></section>
<section aria-labelledby="mon"><h2 id="mon">Monitoring</h2>
<table><tbody>
<tr><th scope="row">Blood pressure before dose</th><td>${f.bpPre ?? html`<em>not recorded</em>`}</td></tr>
<tr><th scope="row">Blood pressure ~40 min after dose</th><td>${f.bp40 ?? html`<em>not recorded</em>`}</td></tr>
<tr><th scope="row">Blood pressure before discharge</th><td>${f.bpDischarge ?? html`<em>not recorded</em>`}</td></tr>
<tr><th scope="row">Total monitoring time</th><td>${f.monitoringMinutes === null ? html`<em>not recorded</em>` : `${f.monitoringMinutes} min${f.monitoringMinutes < 120 ? ' (below the 2 h REMS minimum)' : ''}`}</td></tr>
<tr><th scope="row">Sedation</th><td>${yn(f.sedation)}</td></tr>
<tr><th scope="row">Dissociation</th><td>${yn(f.dissociation)}</td></tr>
<tr><th scope="row">Respiratory depression</th><td>${yn(f.respiratoryDepression)}</td></tr>
<tr><th scope="row">Serious adverse event</th><td>${yn(f.seriousAdverseEvent)}</td></tr>
</tbody></table></section>
<section aria-labelledby="sig"><h2 id="sig">Healthcare setting</h2>
<p>Prepared by: ${preparedBy ?? '____________________'}</p>
<p>Signature: ______________________________ Date: ______________</p></section>`;
}

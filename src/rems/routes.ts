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
import { csrfField, html, page, type SafeHtml } from '../api/html';
import { ACTIONS } from '../domain/actions/catalogue';
import { principalOf } from '../api/auth';
import { apiRoute } from '../api/route';
import { Id } from '../api/schemas';
import type { Protocol } from '../domain/protocol';
import { CONCOMITANT_FIELDS, engineVitalsAcceptable, localDate, missingRecordedFields, missingSubmissionFields, RemsFormDraft, type RemsFormRecordFields, type RemsFormSubmission, remsFormView, type RemsFormView, VITALS_ITEMS } from './form';

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
  treatmentDate: z.string().nullable().describe("the session's date (its dose), YYYY-MM-DD in the clinic's time zone"),
  readyToLeaveAt: z.string().nullable().describe("when the patient was ready to leave: the session's recorded discharge"),
  patient: z.object({ name: z.string(), dateOfBirth: z.string().nullable(), sex: z.enum(['female', 'male', 'unknown']).nullable(), remsPatientId: z.string().nullable() }),
  setting: z.object({ id: z.string(), name: z.string(), address: z.string().nullable() }).describe('the healthcare setting: clinic settings (PATCH /api/clinics/:id)'),
  monitoringClinician: z.object({ id: z.string(), name: z.string(), phone: z.string().nullable(), email: z.string() }).nullable().describe("the staff member who recorded the session's discharge; null when a token without a staff member did"),
  vitalsAcceptable: z.object({ preDose: z.boolean().nullable(), at40: z.boolean().nullable(), discharge: z.boolean().nullable() }),
  vitalsAcceptableSource: z.enum(['filed', 'engine']),
  amendment: z
    .object({ reason: z.string(), recorded: z.object({ doseMg: z.number().nullable(), lotNumber: z.string().nullable() }), filed: z.object({ doseMg: z.number(), lotNumber: z.string() }), at: z.string(), by: z.object({ actorType: z.string(), id: z.string().nullable() }) })
    .nullable()
    .describe("filed as an amendment: the form's dose or lot differs from the session's dose record, with the reason"),
});
type Course = Awaited<ReturnType<typeof loadCourse>>;
type FormRow = Awaited<ReturnType<typeof loadForm>>;

/** The form's fields beyond the session row, for each of a course's forms (by session key), from the records that hold them. */
async function recordFields(db: Db, course: Course, rows: FormRow[]): Promise<Map<string, RemsFormRecordFields>> {
  const [clinic, sessions, events] = await Promise.all([
    db.selectFrom('clinics').select(['id', 'name', 'timezone', 'rems_setting_name', 'address']).where('id', '=', course.clinic_id).executeTakeFirstOrThrow(),
    db.selectFrom('course_sessions').select(['step_key', 'dosed_at', 'completed_at', 'status']).where('course_id', '=', course.id).execute(),
    db
      .selectFrom('course_events')
      .select(['type', 'step_key', 'actor_type', 'actor_id', 'detail', 'at', 'seq'])
      .where('course_id', '=', course.id)
      .where('type', 'in', ['rems.enrolled', 'session.discharged', 'rems-form.submitted', 'rems-form.amended'])
      .orderBy('seq')
      .execute(),
  ]);
  const dischargedBy = new Map(events.filter((e) => e.type === 'session.discharged' && e.actor_type === 'staff' && e.actor_id && e.step_key).map((e) => [e.step_key!, e.actor_id!]));
  const staffIds = [...new Set(dischargedBy.values())];
  const staff = staffIds.length ? await db.selectFrom('staff').select(['id', 'display_name', 'phone', 'email']).where('id', 'in', staffIds).execute() : [];
  const enrolled = events.filter((e) => e.type === 'rems.enrolled').pop();
  const remsPatientId = ((enrolled?.detail ?? {}) as { remsPatientId?: string | null }).remsPatientId ?? null;
  const bp = ((course.protocol_snapshot ?? {}) as Partial<Protocol>).safety?.bloodPressure;
  const limits = bp ? { maxSystolic: bp.maxSystolic, maxDiastolic: bp.maxDiastolic } : null;
  const out = new Map<string, RemsFormRecordFields>();
  for (const row of rows) {
    const stepKey = remsFormView(row).stepKey;
    const ses = sessions.find((x) => x.step_key === row.session_step_key);
    const clinicianId = dischargedBy.get(row.session_step_key);
    const clinician = clinicianId ? staff.find((x) => x.id === clinicianId) : undefined;
    const submitted = events.filter((e) => e.type === 'rems-form.submitted' && e.step_key === stepKey).pop();
    const confirmed = ((submitted?.detail ?? {}) as { vitalsAcceptable?: Record<string, boolean> }).vitalsAcceptable;
    const amended = events.filter((e) => e.type === 'rems-form.amended' && e.step_key === stepKey).pop();
    const a = amended?.detail as { reason: string; recorded: { doseMg: number | null; lotNumber: string | null }; filed: { doseMg: number; lotNumber: string } } | undefined;
    out.set(row.session_step_key, {
      treatmentDate: ses?.dosed_at ? localDate(ses.dosed_at, clinic.timezone) : null,
      readyToLeaveAt: ses?.status === 'completed' && ses.completed_at ? ses.completed_at.toISOString() : null,
      patient: { name: `${course.given_name} ${course.family_name}`, dateOfBirth: course.date_of_birth ? dob(course.date_of_birth) : null, sex: course.sex, remsPatientId },
      setting: { id: clinic.id, name: clinic.rems_setting_name ?? clinic.name, address: clinic.address },
      monitoringClinician: clinician ? { id: clinician.id, name: clinician.display_name, phone: clinician.phone, email: clinician.email } : null,
      vitalsAcceptable: confirmed ? { preDose: confirmed.preDose ?? null, at40: confirmed.at40 ?? null, discharge: confirmed.discharge ?? null } : engineVitalsAcceptable(row, limits),
      vitalsAcceptableSource: confirmed ? 'filed' : 'engine',
      amendment: a && amended ? { reason: a.reason, recorded: a.recorded, filed: a.filed, at: amended.at.toISOString(), by: { actorType: amended.actor_type, id: amended.actor_id } } : null,
    });
  }
  return out;
}
const withRecord = (f: RemsFormView & { filedBy: FiledBy | null }, rec: Map<string, RemsFormRecordFields>) => ({ ...f, ...rec.get(f.session)! });
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
  const course = await db.selectFrom('courses as c').innerJoin('clients as cl', 'cl.id', 'c.client_id').select(['c.id', 'c.clinic_id', 'c.client_id', 'c.protocol_id', 'c.protocol_snapshot', 'cl.given_name', 'cl.family_name', 'cl.date_of_birth', 'cl.sex']).where('c.id', '=', id).executeTakeFirst();
  if (!course) throw notFound(`course ${id}`);
  assertRecordInScope(principal, course.clinic_id, `course ${id}`);
  return course;
}

async function loadForm(db: Db, courseId: string, session: string) {
  const row = await db.selectFrom('rems_monitoring_forms').selectAll().where('course_id', '=', courseId).where('session_step_key', '=', session).executeTakeFirst();
  if (!row) throw notFound(`REMS monitoring form for session ${session} of course ${courseId} (it opens when the session is discharged)`);
  return row;
}

/** Files one session's form (the JSON API and the dashboard's form): the hard stops, then the course's `rems-form` Update. */
async function fileRemsForm(deps: ApiDeps, principal: Principal, courseId: string, session: string, body: z.infer<typeof RemsFormDraft>) {
  const { db } = deps;
  const course = await loadCourse(db, principal, courseId);
  const row = await loadForm(db, courseId, session);
  if (row.submitted_at) throw conflict(`the REMS form for ${session} was filed at ${row.submitted_at.toISOString()}`);
  const missing = [...missingSubmissionFields(body), ...missingRecordedFields(row)];
  // Vital signs acceptable: the engine's pre-fill stands unless the person filing says otherwise.
  const prefill = (await recordFields(db, course, [row])).get(row.session_step_key)!.vitalsAcceptable;
  const vitalsAcceptable = body.vitalsAcceptable ?? prefill;
  for (const k of VITALS_ITEMS) if (vitalsAcceptable[k] === null) missing.push({ field: `vitalsAcceptable.${k}`, message: 'required on the REMS monitoring form: were the vital signs acceptable (yes or no)' });
  if (missing.length) throw new AppError('unprocessable', `the REMS monitoring form cannot be filed: ${missing.length} required field(s) missing`, missing);
  const submission = { ...(body as RemsFormSubmission), vitalsAcceptable: vitalsAcceptable as Required<RemsFormSubmission>['vitalsAcceptable'] };
  await performAction(deps, principal, courseId, 'rems-form', { stepKey: remsFormView(row).stepKey, ...submission });
  const filed = await loadForm(db, courseId, session);
  return withRecord(withFiler(remsFormView(filed), await filers(db, courseId)), await recordFields(db, course, [filed]));
}

/** The dashboard form's fields as the JSON body: checkboxes are present when ticked (then true), absent when not (false). */
export function formToDraft(form: Record<string, unknown>): Record<string, unknown> {
  const str = (k: string) => (typeof form[k] === 'string' ? (form[k] as string).trim() : '');
  const tick = (k: string) => form[k] !== undefined && form[k] !== '' && form[k] !== 'false';
  return {
    ...(str('doseMg') !== '' ? { doseMg: Number.isFinite(Number(str('doseMg'))) ? Number(str('doseMg')) : str('doseMg') } : {}),
    ...(str('lotNumber') !== '' ? { lotNumber: str('lotNumber') } : {}),
    concomitant: Object.fromEntries(CONCOMITANT_FIELDS.map((k) => [k, tick(`concomitant.${k}`)])),
    sedation: tick('sedation'),
    dissociation: tick('dissociation'),
    respiratoryDepression: tick('respiratoryDepression'),
    seriousAdverseEvent: tick('seriousAdverseEvent'),
    vitalsAcceptable: Object.fromEntries(VITALS_ITEMS.map((k) => [k, tick(`vitalsAcceptable.${k}`)])),
    ...(str('amendmentReason') !== '' ? { amendmentReason: str('amendmentReason') } : {}),
  };
}

export function remsRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { db } = deps;

  apiRoute(app, { method: 'GET', url: '/api/courses/:id/rems', tag: 'rems', summary: "A course's REMS monitoring forms, one per Spravato session, with the 7-day due date and status", params: z.strictObject({ id: Id }), errors: [404], response: z.object({ forms: z.array(FormView) }) }, async ({ params, principal }) => {
    const course = await loadCourse(db, principal, params.id);
    await recordClientRead(db, principal, { clientId: course.client_id, clinicId: course.clinic_id, courseId: course.id, what: 'api rems forms' });
    const rows = await db.selectFrom('rems_monitoring_forms').selectAll().where('course_id', '=', params.id).orderBy('due_at').execute();
    const [by, rec] = await Promise.all([filers(db, params.id), recordFields(db, course, rows)]);
    return { forms: rows.map((r) => withRecord(withFiler(remsFormView(r), by), rec)) };
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
    async ({ params, body, principal }) => fileRemsForm(deps, principal, params.id, params.session, body),
  );

  // Dashboard-style HTML, for printing or faxing; same access as the rest of the record.
  app.get('/courses/:id/rems/:session/print', async (req, reply) => {
    const p = Params.safeParse(req.params);
    if (!p.success) throw new AppError('invalid_input', 'bad course id or session key');
    const principal = principalOf(req);
    const course = await loadCourse(db, principal, p.data.id);
    const row = await loadForm(db, p.data.id, p.data.session);
    const form = withRecord(withFiler(remsFormView(row), await filers(db, course.id)), await recordFields(db, course, [row]));
    await recordClientRead(db, principal, { clientId: course.client_id, clinicId: course.clinic_id, courseId: course.id, what: `rems form print ${form.session}` });
    const tz = (await db.selectFrom('clinics').select('timezone').where('id', '=', course.clinic_id).executeTakeFirstOrThrow()).timezone;
    return reply.type('text/html; charset=utf-8').send(page({ title: `Spravato REMS Patient Monitoring Form: ${form.session}`, principal }, html`${printBody(form, tz)}${filingForm(form, principal)}`));
  });

  // The same form filed from the dashboard (screen only, never printed): pre-filled with what the
  // records hold; a refusal is shown again with the values typed and each problem named.
  app.post('/courses/:id/rems/:session', async (req, reply) => {
    const p = Params.safeParse(req.params);
    if (!p.success) throw new AppError('invalid_input', 'bad course id or session key');
    const principal = principalOf(req);
    const raw = (req.body ?? {}) as Record<string, unknown>;
    const draft = formToDraft(raw);
    const url = `/courses/${p.data.id}/rems/${p.data.session}/print`;
    try {
      const parsed = RemsFormDraft.safeParse(draft);
      if (!parsed.success) throw new AppError('invalid_input', 'the REMS monitoring form has invalid fields', parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })));
      await fileRemsForm(deps, principal, p.data.id, p.data.session, parsed.data);
      return reply.redirect(url, 303);
    } catch (e) {
      if (!(e instanceof AppError) || !['invalid_input', 'unprocessable', 'conflict'].includes(e.code)) throw e;
      const course = await loadCourse(db, principal, p.data.id);
      const row = await loadForm(db, p.data.id, p.data.session);
      const form = withRecord(withFiler(remsFormView(row), await filers(db, course.id)), await recordFields(db, course, [row]));
      const tz = (await db.selectFrom('clinics').select('timezone').where('id', '=', course.clinic_id).executeTakeFirstOrThrow()).timezone;
      const problems = e.problems.length ? e.problems : [{ field: '', message: e.message }];
      const status = e.code === 'invalid_input' ? 400 : e.code === 'conflict' ? 409 : 422;
      return reply
        .code(status)
        .type('text/html; charset=utf-8')
        .send(page({ title: `Spravato REMS Patient Monitoring Form: ${form.session}`, principal }, html`${printBody(form, tz)}${filingForm(form, principal, { problems, values: raw })}`));
    }
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

/** A time on the printed form, in the clinic's time zone: "2026-11-30 09:05 CST". */
function localTime(iso: string | null, timeZone: string): SafeHtml {
  if (!iso) return html``;
  const d = new Date(iso);
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' }).formatToParts(d);
  const get = (t: string) => parts.find((x) => x.type === t)?.value ?? '';
  return html`<time datetime="${d.toISOString()}">${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')} ${get('timeZoneName')}</time>`;
}

type PrintForm = RemsFormView & { filedBy: FiledBy | null } & RemsFormRecordFields;

/** The printed form: every field of the Spravato REMS Patient Monitoring Form, each labelled `data-field` for checks; a blank line where no record holds the answer. */
function printBody(f: PrintForm, tz: string): SafeHtml {
  const blank = html`<span class="muted">____________________ (not on record: fill in)</span>`;
  const text = (v: string | null | undefined) => (v ? html`${v}` : blank);
  const row = (field: string, label: string, value: SafeHtml | string) => html`<tr data-field="${field}"><th scope="row">${label}</th><td>${value}</td></tr>`;
  const bp = (v: string | null) => (v ? html`${v} mmHg` : blank);
  const status =
    f.status === 'filed'
      ? html`<p class="flash ok" role="status">Filed ${localTime(f.submittedAt, tz)}${f.filedBy?.name ? ` by ${f.filedBy.name}` : ''}</p>`
      : html`<p class="flash ${f.status === 'late' ? 'error' : 'ok'}" role="status">${f.status === 'late' ? 'LATE: ' : ''}Not yet filed. Due by ${localTime(f.dueAt, tz)} (within 7 days of the session).</p>`;
  const vitalsSrc = f.vitalsAcceptableSource === 'engine' ? html` <span class="muted">(pre-filled from the session's checks: confirm)</span>` : html``;
  const sex = f.patient.sex === 'female' ? 'Female' : f.patient.sex === 'male' ? 'Male' : f.patient.sex === 'unknown' ? 'Unknown' : null;
  return html`<article class="rems-print">${status}
<div class="cols">
<section aria-labelledby="hcs"><h2 id="hcs">Healthcare setting</h2>
<table><tbody>
${row('setting.name', 'Healthcare setting name', text(f.setting.name))}
${row('setting.address', 'Address', text(f.setting.address))}
${row('clinician.name', 'Monitoring clinician', text(f.monitoringClinician?.name))}
${row('clinician.phone', 'Clinician phone', text(f.monitoringClinician?.phone))}
${row('clinician.email', 'Clinician email', text(f.monitoringClinician?.email))}
</tbody></table></section>
<section aria-labelledby="pt"><h2 id="pt">Patient</h2>
<table><tbody>
${row('patient.name', 'Patient name', f.patient.name)}
${row('patient.dateOfBirth', 'Date of birth', text(f.patient.dateOfBirth))}
${row('patient.sex', 'Sex', text(sex))}
${row('patient.remsPatientId', 'REMS patient ID', text(f.patient.remsPatientId))}
</tbody></table></section>
<section aria-labelledby="tx"><h2 id="tx">Treatment</h2>
<table><tbody>
${row('treatmentDate', 'Treatment date', text(f.treatmentDate))}
${row('session', 'Session', f.session)}
${row('firstTreatment', 'First treatment session', yn(f.firstTreatment))}
${row('doseMg', 'Dose', f.doseMg === null ? blank : f.doseMg === 56 || f.doseMg === 84 ? `${f.doseMg} mg` : `Other: ${f.doseMg} mg`)}
${row('lotNumber', 'Lot number', text(f.lotNumber))}
${f.amendment ? row('amendment', 'Amendment', html`<strong>Amended:</strong> the session recorded ${f.amendment.recorded.doseMg ?? '?'} mg, lot ${f.amendment.recorded.lotNumber ?? '?'}; this form reports ${f.amendment.filed.doseMg} mg, lot ${f.amendment.filed.lotNumber}. Reason: ${f.amendment.reason}`) : html``}
</tbody></table></section>
<section aria-labelledby="meds"><h2 id="meds">Concomitant medications</h2>
<table><tbody>${CONCOMITANT_FIELDS.map((k) => row(`concomitant.${k}`, CONCOMITANT_LABEL[k], yn(f.concomitant[k])))}</tbody></table></section>
<section aria-labelledby="vs"><h2 id="vs">Vital signs</h2>
<table><tbody>
${row('bpPre', 'Blood pressure before the dose', bp(f.bpPre))}
${row('vitalsAcceptable.preDose', 'Acceptable before the dose', yn(f.vitalsAcceptable.preDose))}
${row('bp40', 'Blood pressure ~40 min after the dose', bp(f.bp40))}
${row('vitalsAcceptable.at40', 'Acceptable at ~40 min', yn(f.vitalsAcceptable.at40))}
${row('bpDischarge', 'Blood pressure before discharge', bp(f.bpDischarge))}
${row('vitalsAcceptable.discharge', 'Acceptable before discharge', yn(f.vitalsAcceptable.discharge))}
</tbody></table>${vitalsSrc}</section>
<section aria-labelledby="mon"><h2 id="mon">Monitoring</h2>
<table><tbody>
${row('readyToLeaveAt', 'Time the patient was ready to leave', f.readyToLeaveAt ? localTime(f.readyToLeaveAt, tz) : blank)}
${row('monitoringMinutes', 'Total monitoring time', f.monitoringMinutes === null ? blank : `${f.monitoringMinutes} min${f.monitoringMinutes < 120 ? ' (below the 2 h REMS minimum)' : ''}`)}
${row('sedation', 'Sedation', yn(f.sedation))}
${row('dissociation', 'Dissociation', yn(f.dissociation))}
${row('respiratoryDepression', 'Respiratory depression', yn(f.respiratoryDepression))}
${row('seriousAdverseEvent', 'Serious adverse event', yn(f.seriousAdverseEvent))}
</tbody></table></section>
</div>
<p class="sig" data-field="signature">Clinician signature: ______________________________ Date: ______________</p>
<p class="no-print"><a href="/courses/${f.courseId}">Back to the course</a></p>
</article>`;
}

const FILERS: readonly string[] = ACTIONS['rems-form'].roles;

/** The dashboard's filing form under the printed one (class no-print): dose, lot and the vital-signs items pre-filled; what no record holds left to answer. */
function filingForm(f: PrintForm, principal: Principal, state?: { problems: Array<{ field: string; message: string }>; values: Record<string, unknown> }): SafeHtml {
  if (f.status === 'filed' || !principal.role || !FILERS.includes(principal.role)) return html``;
  const v = state?.values;
  const val = (k: string, prefill: string) => (v ? (typeof v[k] === 'string' ? (v[k] as string) : '') : prefill);
  const checked = (k: string, prefill: boolean) => ((v ? v[k] !== undefined : prefill) ? html` checked` : html``);
  const box = (name: string, label: string, prefill = false) => html`<label class="check"><input type="checkbox" name="${name}" value="yes"${checked(name, prefill)}> ${label}</label>`;
  const errors = state
    ? html`<div class="error-summary" role="alert" tabindex="-1"><h2>Not filed</h2><ul>${state.problems.map((p) => html`<li>${p.field ? `${p.field}: ` : ''}${p.message}</li>`)}</ul></div>`
    : html``;
  return html`<section class="no-print" aria-labelledby="file-form"><h2 id="file-form">File this form</h2>${errors}
<p class="muted">Pre-filled from the session and the records: confirm or correct, and answer the questions no record holds.</p>
<form method="post" action="/courses/${f.courseId}/rems/${f.session}">${csrfField(principal)}
<label for="rems-dose">Dose (mg)</label><input id="rems-dose" name="doseMg" type="number" min="1" max="1000" step="any" value="${val('doseMg', f.doseMg === null ? '' : String(f.doseMg))}" required>
<label for="rems-lot">Lot number</label><input id="rems-lot" name="lotNumber" value="${val('lotNumber', f.lotNumber ?? '')}" required>
<fieldset><legend>Concomitant medications the patient currently takes</legend>${CONCOMITANT_FIELDS.map((k) => box(`concomitant.${k}`, CONCOMITANT_LABEL[k]))}</fieldset>
<fieldset><legend>Vital signs acceptable</legend>${box('vitalsAcceptable.preDose', 'Before the dose', f.vitalsAcceptable.preDose === true)}${box('vitalsAcceptable.at40', 'At ~40 minutes', f.vitalsAcceptable.at40 === true)}${box('vitalsAcceptable.discharge', 'Before discharge', f.vitalsAcceptable.discharge === true)}</fieldset>
<fieldset><legend>Observed during monitoring</legend>${box('sedation', 'Sedation')}${box('dissociation', 'Dissociation')}${box('respiratoryDepression', 'Respiratory depression')}${box('seriousAdverseEvent', 'A serious adverse event')}</fieldset>
<label for="rems-amend">Amendment: why the dose or lot differs from the session record (only for a documented correction)</label><textarea id="rems-amend" name="amendmentReason" rows="2" cols="60">${val('amendmentReason', '')}</textarea>
<p><button type="submit">File the REMS form</button></p></form></section>`;
}

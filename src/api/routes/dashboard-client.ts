// The dashboard's client page and the forms posted from it (action forms, enroll) and from the
// client list (new client). A refused form (any 4xx) is rendered again with the refusal's status,
// the values typed and each problem next to its field (src/api/form-state.ts); a success redirects
// to the page with a flash (redirect-after-POST).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { CourseAction } from '../../auth/role-matrix';
import { assertRecordInScope, type Principal } from '../../auth/roles';
import { recordClientRead } from '../../db/audit';
import { inSnapshot } from '../../db/connect';
import { MAINTENANCE_PHASE_ID, planCourse, plannedStepName, type Protocol } from '../../domain';
import { ACTIONS, ACTION_NAMES, type ActionSpec } from '../../domain/actions/catalogue';
import { AppError } from '../../errors';
import { ACTIONS_FOR_KIND, actionForm, courseActions, formToBody, problemAnchor, problemLabel } from '../action-forms';
import { performAction } from '../actions';
import { principalOf } from '../auth';
import { pathwayDiagram, scoreChart } from '../charts';
import { clinicsInScope } from '../clinics-in-scope';
import type { AppDeps } from '../context';
import { errorSummary, fieldError, fieldsErrorSummary, invalidAttrs, newClientForm, problemsFor, refusal, submissionOf, valueOf, zoneOrUtc, type FormState } from '../form-state';
import { csrfField, fmtTime, html, page, raw, type SafeHtml } from '../html';
import { clientAnswers, clientDoses, type AnsweredAssessment } from '../client-record';
import { clientScores, clientTimeline, safetyQueue } from '../records';
import { parse } from '../validation';
import { createClient, CreateClientBody, loadClient } from './clients';
import { enroll, EnrollBody } from './courses';
import { enrollChoices } from './dashboard-protocols';
import { publishedVersions } from '../course-moves';
import { staffWithClinics } from './staff';

const FLASH_MAX = 2000;

/** A dosing session's status, in the words of the client page's current state. */
const SESSION_STATUS: Record<string, string> = {
  unscheduled: 'not scheduled yet',
  scheduled: 'scheduled',
  'no-show': 'missed; reschedule it',
  'checked-in': 'pre-dose check passed, not dosed yet',
  held: 'held at the pre-dose check',
  dosed: 'in monitoring',
  completed: 'discharged',
  cancelled: 'cancelled',
};

function flashFrom(req: FastifyRequest): { kind: 'ok' | 'error'; text: string } | null {
  const q = req.query as Record<string, unknown>;
  if (typeof q.ok === 'string' && q.ok.length <= FLASH_MAX) return { kind: 'ok', text: q.ok };
  if (typeof q.error === 'string' && q.error.length <= FLASH_MAX) return { kind: 'error', text: q.error };
  return null;
}

const send = (reply: FastifyReply, body: string, status = 200) => reply.code(status).type('text/html; charset=utf-8').send(body);

// Paths carry ids from the request: percent-encode anything outside a plain path.
const safePath = (url: string) =>
  url.replace(/[^A-Za-z0-9\-._~/#?=&]/gu, (c) => {
    try {
      return encodeURIComponent(c);
    } catch {
      return '%EF%BF%BD';
    }
  });
/** Redirect-after-POST on success, with the message as a flash. */
const ok = (url: string, text: string) => `${safePath(url)}${url.includes('?') ? '&' : '?'}ok=${encodeURIComponent(text.length > FLASH_MAX ? `${text.slice(0, FLASH_MAX - 1)}…` : text)}`;

/** The clinic's time zone (UTC when unset or unknown). */
async function clinicZone(deps: AppDeps, clinicId: string): Promise<string> {
  const row = await deps.db.selectFrom('clinics').select('timezone').where('id', '=', clinicId).executeTakeFirst();
  return zoneOrUtc(row?.timezone);
}

const FORM_NAME = /^[a-z0-9-]{1,150}$/;

/** One completed assessment's answers per item; critical answers (PHQ-9 item 9 above 0, a C-SSRS "yes") marked. */
function answersTable(a: AnsweredAssessment, t: (d: string) => SafeHtml | string): SafeHtml {
  const critical = a.items.filter((i) => i.critical);
  return html`<details class="card answers" data-assessment="${a.assessmentId}"${critical.length ? html` open` : ''}><summary>${a.name} · ${t(a.completedAt)} · ${a.stepKey}${a.total !== null ? ` · total ${a.total}` : ''}${a.band ? ` (${a.band})` : ''}${critical.length ? html` <span class="badge bad">critical: item ${critical.map((i) => i.item).join(', ')}</span>` : ''}</summary>
<table class="responsive"><caption class="sr-only">${a.name} answers, ${t(a.completedAt)}</caption><thead><tr><th scope="col">Item</th><th scope="col">Question</th><th scope="col">Answer</th></tr></thead><tbody>${a.items.map((i) => html`<tr${i.critical ? html` class="critical" data-critical="${a.instrumentId}-${i.item}"` : ''}><td>${i.item}</td><td>${i.question}</td><td>${i.answer}${i.critical ? html` <strong class="badge bad">critical</strong>` : ''}</td></tr>`)}</tbody></table></details>`;
}
const ENROLL_FIELDS: Record<string, { id: string; label: string }> = { protocolId: { id: 'protocol', label: 'Protocol' }, timeScale: { id: 'ts', label: 'Time scale' }, primaryClinicianId: { id: 'enroll-clinician', label: 'Primary clinician' } };

export function dashboardClientRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { db, config } = deps;
  const footer = config.embeddedTemporal ? html`<a href="http://127.0.0.1:${config.TEMPORAL_UI_PORT}">Temporal Web UI</a> · <a href="/api/openapi.json">API (OpenAPI)</a>` : html`<a href="/api/openapi.json">API (OpenAPI)</a>`;

  /** The enroll form of a client without a running course. */
  const enrollForm = (p: Principal, clientId: string, staff: Array<{ id: string; displayName: string; role: string }>, state: FormState | undefined, choices: Array<{ id: string; label: string }>) => {
    const s = state?.form === 'enroll' ? state : undefined;
    const chosen = valueOf(s, 'protocolId');
    const pp = problemsFor(s, 'protocolId');
    const tp = problemsFor(s, 'timeScale');
    const cp = problemsFor(s, 'primaryClinicianId');
    const clinician = valueOf(s, 'primaryClinicianId');
    const clinicians = staff.filter((x) => x.role === 'prescriber' || x.role === 'therapist');
    return html`<form method="post" action="/clients/${clientId}/enroll" class="card" id="enroll">${csrfField(p)}<label for="protocol">Protocol</label><select id="protocol" name="protocolId"${invalidAttrs('protocol', pp)}>${choices.map((pr) => html`<option value="${pr.id}"${pr.id === chosen ? html` selected` : ''}>${pr.label}</option>`)}</select>${fieldError('protocol', pp)}
<label for="enroll-clinician">Primary clinician (optional)</label><select id="enroll-clinician" name="primaryClinicianId"${invalidAttrs('enroll-clinician', cp)}><option value="">(none yet)</option>${clinicians.map((x) => html`<option value="${x.id}"${x.id === clinician ? html` selected` : ''}>${x.displayName} (${x.role})</option>`)}</select>${fieldError('enroll-clinician', cp)}
<details${tp.length ? html` open` : ''}><summary>Demo and simulation</summary>${raw('<label for="ts">Time scale (protocol days per real day; 1 = real time)</label>')}<input id="ts" name="timeScale:number" type="number" min="1" max="864000" step="any" placeholder="1" value="${valueOf(s, 'timeScale:number') ?? ''}"${invalidAttrs('ts', tp)}>${fieldError('ts', tp)}</details><p><button type="submit">Enroll</button></p></form>`;
  };

  /** The client page; `state` is a refused form of it, rendered again with its values and problems. */
  async function clientPage(req: FastifyRequest, reply: FastifyReply, id: string, state?: FormState) {
    const p = principalOf(req);
    let client;
    try {
      client = await loadClient(db, p, id);
    } catch (err) {
      if (!(err instanceof AppError) || (err.code !== 'not_found' && err.code !== 'forbidden')) throw err;
      const status = err.code === 'not_found' ? 404 : 403;
      return send(reply, page({ title: status === 404 ? 'Client not found' : 'Not allowed', principal: p, flash: { kind: 'error', text: err.message }, footer }, html`<p><a href="/clients">All clients</a></p>`), status);
    }
    await recordClientRead(db, p, { clientId: client.id, clinicId: client.clinic_id, what: 'dashboard client page' });
    const tz = await clinicZone(deps, client.clinic_id);
    // One audited read (above) covers everything on the page, the item-level answers included. One
    // snapshot (repeatable read) for all of it: the projection writes a transition's steps, holds and
    // course row (its risk level) in one statement, and the page must never show one without the other.
    const { courses, course, timeline, scores, steps, holds, staff, answered, doses, session, readings } = await inSnapshot(db, async (trx) => {
      const courses = await trx.selectFrom('courses').selectAll().where('client_id', '=', client.id).orderBy('enrolled_at', 'desc').execute();
      const course = courses.find((c) => !c.ended_at) ?? courses[0];
      const [timeline, scores, steps, holds, staff, answered, doses, session, readings] = await Promise.all([
        clientTimeline(trx, client.id),
        clientScores(trx, client.id),
        course ? trx.selectFrom('course_steps').selectAll().where('course_id', '=', course.id).execute() : Promise.resolve([]),
        // Every open safety item of the client, whichever course it came from: a suicide-risk item
        // outlives its course until a clinician reviews it.
        safetyQueue(trx, undefined, new Date(), client.id).then((items) => items.filter((i) => i.type === 'safety-hold')),
        staffWithClinics(trx, { clinics: [client.clinic_id] }).then((list) => list.filter((s) => s.active).map((s) => ({ id: s.id, displayName: s.displayName, role: s.role }))),
        clientAnswers(trx, client.id),
        clientDoses(trx, client.id),
        // The current step's session and its readings after the dose: where a dosing session stands.
        course?.current_step ? trx.selectFrom('course_sessions').select(['status', 'starts_at', 'dosed_at']).where('course_id', '=', course.id).where('step_key', '=', course.current_step).executeTakeFirst() : Promise.resolve(undefined),
        course?.current_step ? trx.selectFrom('course_vitals').select('minutes_after_dose').where('course_id', '=', course.id).where('step_key', '=', course.current_step).where('phase', '=', 'monitoring').orderBy('taken_at').execute() : Promise.resolve([]),
      ]);
      return { courses, course, timeline, scores, steps, holds, staff, answered, doses, session, readings };
    });
    const t = (d: Date | string | null | undefined) => fmtTime(d, tz);
    const holdsOf = (courseId: string) => holds.filter((h) => h.courseId === courseId);
    // A suicide-risk hold names what was endorsed: the critical answers of the client's latest PHQ-9 and C-SSRS, with their questions.
    const latestCritical = holds.some((h) => h.suicideRisk)
      ? (['phq9', 'cssrs'] as const).flatMap((id) => {
          const a = answered.find((x) => x.instrumentId === id);
          return a ? a.items.filter((i) => i.critical).map((i) => ({ a, i })) : [];
        })
      : [];
    const holdsHtml = holds.length
      ? html`<div class="flash error" role="alert"><strong>Open safety items:</strong><ul>${holds.map((h) => html`<li>${h.summary}${h.courseEnded ? html` <span class="badge muted">course ${h.courseId} ended</span>` : ''} <span class="muted">(since ${t(h.at)}; closes when ${h.closesWhen})</span></li>`)}</ul>${latestCritical.length ? html`<p id="endorsed"><strong>Endorsed in the latest answers:</strong></p><ul>${latestCritical.map(({ a, i }) => html`<li>${a.name} item ${i.item}, “${i.question}”: <strong>${i.answer}</strong> <span class="muted">(${t(a.completedAt)})</span></li>`)}</ul><p><a href="#answers">All answers</a></p>` : ''}No dosing until a clinician records a review.</div>`
      : html``;
    const base = { principal: p, state, staff, timeZone: tz };
    // Reviews of items whose course has ended (no workflow left): one form per such course, each with its own ids.
    const endedCourses = [...new Set(holds.filter((h) => h.courseEnded).map((h) => h.courseId))];
    const liveReview = !!course && !course.ended_at && holdsOf(course.id).length > 0;
    const endedReviewForms = endedCourses.map((courseId, i) =>
      actionForm('safety-review', { ...base, courseId, stepKey: null, dischargeChecklist: [], routes: [], idPrefix: i === 0 && !liveReview ? 'safety-review' : `safety-review-${courseId}` }, true),
    );
    const canEnroll = p.role === 'admin' || p.role === 'coordinator';
    // Clinical facts first (state and holds), the forms that change them last.
    let courseHtml: SafeHtml;
    let actionsHtml: SafeHtml;
    if (!course || course.ended_at) {
      courseHtml = html`${course ? html`<p>Last course ended ${t(course.ended_at)}${course.end_reason ? `: ${course.end_reason}` : ''}.</p>` : html`<p>Not enrolled in a course.</p>`}
${holdsHtml}`;
      actionsHtml = html`${endedReviewForms}${canEnroll ? enrollForm(p, client.id, staff, state, await enrollChoices(db, client.clinic_id)) : ''}`;
    } else {
      const protocol = course.protocol_snapshot as Protocol;
      // With the steps the course added in maintenance (booster-1, booster-review-1), as its rows show them.
      const added = (re: RegExp) => Math.max(0, ...steps.map((s) => Number(re.exec(s.step_key)?.[1] ?? 0)));
      const plan = planCourse(protocol, { boosters: added(/^booster-(\d+)$/), reviews: added(/^booster-review-(\d+)$/) });
      const states = new Map(steps.map((s) => [s.step_key, s.state as string]));
      const current = steps.find((s) => s.step_key === course.current_step);
      const kind = current?.kind ?? plan.find((s) => s.id === course.current_step)?.kind ?? '';
      const ctx = { ...base, courseId: course.id, stepKey: course.current_step, dischargeChecklist: protocol.safety?.dischargeChecklist ?? [], routes: protocol.routes ?? [] };
      const nextActions = ACTIONS_FOR_KIND[kind] ?? [];
      const forms: SafeHtml[] = nextActions.map((a, i) => actionForm(a, ctx, i === 0));
      if (liveReview && !nextActions.includes('safety-review')) forms.unshift(actionForm('safety-review', ctx, true));
      const other = courseActions(course.status === 'paused').filter((a) => !nextActions.includes(a));
      const overdue = current && (current.state === 'overdue' || (current.deadline_at && current.deadline_at.getTime() < Date.now()));
      // A step the course added in maintenance (booster-1) is not in the snapshot's plan: named as the course names it.
      const stepName = plan.find((s) => s.id === course.current_step)?.name ?? (course.current_step ? plannedStepName(protocol, course.current_step) : null) ?? course.current_step;
      const ownerStaff = current?.owner_staff_id ? staff.find((x) => x.id === current.owner_staff_id) : undefined;
      const owner = ownerStaff ? `${ownerStaff.displayName} (${ownerStaff.role})` : current?.owner_role ? `any ${current.owner_role}` : null;
      // A newer published version of the course's protocol: the way to move the course to it, preview first (dashboard-moves.ts).
      const newest = ACTIONS['move-version'].roles.includes(p.role) ? (await publishedVersions(db, course))[0] : undefined;
      const moveLink = newest !== undefined && newest > course.protocol_version ? html`<p id="move"><a href="/courses/${course.id}/move?version=${newest}">Move to version ${newest}</a> <span class="muted">(see first what changes from where the course stands)</span></p>` : html``;
      courseHtml = html`<dl class="state" id="state"><dt>Status</dt><dd><span class="badge ${course.status === 'active' ? 'ok' : 'muted'}">${course.status}</span> ${protocol.name} v${course.protocol_version}, enrolled ${t(course.enrolled_at)}</dd>
<dt>Current step</dt><dd data-step="${course.current_step ?? ''}"><strong>${stepName ?? '(starting)'}</strong>${overdue ? html` <span class="badge bad">overdue</span>` : ''}</dd>
${kind === 'dosing' && session ? html`<dt>Session</dt><dd id="session" data-session="${session.status}">${SESSION_STATUS[session.status] ?? session.status}${session.status === 'scheduled' && session.starts_at ? html` for ${t(session.starts_at)}` : ''}${session.dosed_at ? html`; dosed ${t(session.dosed_at)}` : ''}${readings.length ? `; readings after the dose at ${readings.map((r) => `${r.minutes_after_dose ?? '?'} min`).join(', ')}` : ''}</dd>` : ''}
<dt>Owner</dt><dd>${owner ?? html`<span class="muted">none</span>`}</dd>
<dt>Due</dt><dd>${course.current_step_deadline ? t(course.current_step_deadline) : html`<span class="muted">no deadline</span>`}</dd>
<dt>Risk</dt><dd>${course.risk_level !== 'none' ? html`<span class="badge ${course.risk_level === 'high' ? 'bad' : 'warn'}">${course.risk_level}</span>` : 'none recorded'}</dd></dl>
${holdsHtml}
<details><summary>Pathway (${[...states.values()].filter((v) => v === 'done').length} of ${plan.length} steps done)</summary>${pathwayDiagram(plan, states, course.current_step, [...protocol.phases.map((ph) => ({ id: ph.id, name: ph.name })), ...(plan.some((s) => s.maintenance) ? [{ id: MAINTENANCE_PHASE_ID, name: 'Maintenance boosters' }] : [])])}</details>${moveLink}`;
      actionsHtml = html`${endedReviewForms}<h3>Next</h3>${forms.length ? forms : html`<p class="muted">${kind === 'assessment' ? 'Waiting for the client to answer the assessment.' : 'Nothing to record for this step from your role.'}</p>`}
<h3>Other actions</h3>${other.map((a) => actionForm(a, ctx))}`;
    }
    // A refused action form: the summary at the top names each problem and links to its field.
    let summary: SafeHtml = html``;
    const action = state?.values._action?.[0];
    if (state && action && (ACTION_NAMES as string[]).includes(action)) {
      const spec: ActionSpec = ACTIONS[action as CourseAction];
      summary = errorSummary(state, `Not recorded: ${spec.summary.split(' (')[0]}`, (f) => problemAnchor(spec, state.form, f), (f) => problemLabel(spec, f));
    } else if (state?.form === 'enroll') {
      summary = fieldsErrorSummary(state, 'Not enrolled', ENROLL_FIELDS);
    }
    const charts = scores.filter((s) => s.instrumentId !== 'cssrs' && s.points.length > 0);
    const body = html`${summary}<p>${client.email}${client.phone ? ` · ${client.phone}` : ''} · clinic ${client.clinic_id}${client.date_of_birth ? ` · born ${client.date_of_birth.toISOString().slice(0, 10)}` : ''} · times in ${tz}</p>
<h2 id="course">Current state</h2>${courseHtml}
<h2 id="scores">Scores</h2>${charts.length ? charts.map((s) => scoreChart(s, 'chart', doses, tz)) : html`<p class="empty">No completed assessments yet.</p>`}
<h2 id="answers">Answers</h2>${answered.length ? answered.map((a) => answersTable(a, t)) : html`<p class="empty">No completed assessments yet.</p>`}
<h2 id="timeline">Timeline</h2>${timeline.length ? html`<table class="responsive"><thead><tr><th scope="col">When</th><th scope="col">Step</th><th scope="col">What</th><th scope="col">By</th></tr></thead><tbody>${[...timeline].reverse().map((e) => html`<tr><td>${t(e.at)}</td><td>${e.stepName ?? ''}</td><td>${e.summary}${e.type === 'step.opened' && typeof e.detail.deadlineAt === 'string' ? html`, due ${t(e.detail.deadlineAt)}` : ''}</td><td>${e.actorName ?? ''}</td></tr>`)}</tbody></table>` : html`<p class="empty">Nothing yet.</p>`}
<h2 id="actions">Actions</h2>${actionsHtml}`;
    return send(reply, page({ title: `${client.given_name} ${client.family_name}`, principal: p, active: '/clients', flash: state ? null : flashFrom(req), footer }, body), state?.status ?? 200);
  }

  app.get('/clients/:id', async (req, reply) => {
    const { id } = parse(z.object({ id: z.string().min(1).max(100) }), req.params, 'params');
    return clientPage(req, reply, id);
  });

  app.post('/courses/:id/actions/:action', async (req, reply) => {
    const p = principalOf(req);
    const params = parse(z.object({ id: z.string().min(1).max(100), action: z.enum(ACTION_NAMES as [CourseAction, ...CourseAction[]]) }), req.params, 'params');
    const course = await db.selectFrom('courses').select(['client_id', 'clinic_id']).where('id', '=', params.id).executeTakeFirst();
    if (!course) throw new AppError('not_found', `course ${params.id} not found`);
    assertRecordInScope(p, course.clinic_id, `course ${params.id}`);
    // The assessments page and the stuck board send an assessment from their own lists and come back to them.
    const form = (req.body ?? {}) as Record<string, unknown>;
    const to = typeof form._back === 'string' && /^\/[a-z0-9/_-]*$/i.test(form._back) ? form._back : `/clients/${course.client_id}`;
    try {
      const tz = await clinicZone(deps, course.clinic_id);
      const body = parse(ACTIONS[params.action].schema as z.ZodType, formToBody(form, { timeZone: tz }));
      // The form's one-time submission id, per person: a double submit is one Update, recorded once.
      const submission = submissionOf(form);
      const updateId = submission ? `dashboard-${p.staffId ?? p.tokenId ?? 'anon'}-${params.action}-${submission}` : undefined;
      const result = (await performAction(deps, p, params.id, params.action, body as Record<string, unknown>, { updateId })) as { outcome?: string; reasons?: Array<{ message: string }> };
      const reasons = result?.reasons?.length ? ` (${result.reasons.map((r) => r.message).join('; ')})` : '';
      return reply.redirect(ok(to, `Recorded: ${result?.outcome ?? params.action}${reasons}`), 303);
    } catch (err) {
      const formName = typeof form._form === 'string' && FORM_NAME.test(form._form) ? form._form : params.action;
      const state = refusal(formName, form, err);
      if (!state) throw err;
      state.values._action = [params.action];
      return clientPage(req, reply, course.client_id, state);
    }
  });

  app.post('/clients', async (req, reply) => {
    const p = principalOf(req);
    try {
      const body = parse(CreateClientBody, formToBody(req.body as Record<string, unknown>));
      const { client } = await createClient(db, p, body);
      return reply.redirect(ok(`/clients/${client.id}`, 'Client added. Enroll them in a course below.'), 303);
    } catch (err) {
      const state = refusal('new-client', req.body, err);
      if (!state) throw err;
      const clinics = await clinicsInScope(db, p);
      return send(reply, page({ title: 'New client', principal: p, active: '/clients', footer }, html`${newClientForm(p, clinics, state)}<p><a href="/clients">All clients</a></p>`), state.status);
    }
  });

  app.post('/clients/:id/enroll', async (req, reply) => {
    const { id } = parse(z.object({ id: z.string().min(1).max(100) }), req.params, 'params');
    const p = principalOf(req);
    try {
      const body = parse(EnrollBody, formToBody(req.body as Record<string, unknown>));
      await enroll(deps, p, id, body);
      return reply.redirect(ok(`/clients/${id}`, 'Enrolled: the course has started at screening.'), 303);
    } catch (err) {
      const state = refusal('enroll', req.body, err);
      if (!state) throw err;
      return clientPage(req, reply, id, state);
    }
  });
}

// The coordinator's dashboard: server-rendered HTML from the same read models as the API, forms
// posting to the same services (CSRF token in every form, session cookie only).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ACTION_ROLES, type CourseAction } from '../../auth/role-matrix';
import { assertRecordInScope, clinicFilter, type Principal } from '../../auth/roles';
import { recordClientRead } from '../../db/audit';
import { planCourse, type Protocol } from '../../domain';
import { AppError } from '../../errors';
import { ACTIONS, ACTION_NAMES } from '../../domain/actions/catalogue';
import { ACTIONS_FOR_KIND, actionForm, courseActions, formToBody } from '../action-forms';
import { performAction } from '../actions';
import { principalOf } from '../auth';
import { DASHBOARD_CSS, DASHBOARD_JS } from '../assets';
import { pathwayDiagram, scoreChart } from '../charts';
import type { AppDeps } from '../context';
import { csrfField, fmtAge, fmtTime, html, page, raw, type SafeHtml } from '../html';
import { assessmentQueue, clientScores, clientTimeline, clinicOutcomes, safetyQueue } from '../records';
import { stuckBoard, UNSTICK_ACTION } from '../stuck';
import { clinicStaffingProblems } from '../alert-problems';
import { parse } from '../validation';
import { ClientListQuery, clientListPage } from '../client-list';
import { assessmentsHtml, AssessmentsQuery, clientListHtml, formQuery, PAGE_SIZE } from './dashboard-worklist';
import { createClient, CreateClientBody, listClients, loadClient } from './clients';
import { enroll, EnrollBody } from './courses';
import { changeOwnPassword, resetStaffPassword, updateStaff } from '../../auth/accounts';
import { STAFF_ROLES } from '../../auth/roles';
import { canManageStaff } from '../../auth/scope';
import { sinkMessageInScope } from './outbox';
import { CreateStaffBody, createStaffAs, staffInScope, UpdateStaffBody } from './staff';
import { ChangePasswordBody } from './tokens';
import { listProtocols } from '../../domain';

type Flash = { kind: 'ok' | 'error'; text: string } | null;
const FLASH_MAX = 2000;

function flashFrom(req: FastifyRequest): Flash {
  const q = req.query as Record<string, unknown>;
  // Long enough for a pre-dose hold's every reason with its values (a longer text was dropped whole).
  if (typeof q.ok === 'string' && q.ok.length <= FLASH_MAX) return { kind: 'ok', text: q.ok };
  if (typeof q.error === 'string' && q.error.length <= FLASH_MAX) return { kind: 'error', text: q.error };
  return null;
}

function send(reply: FastifyReply, body: string, status = 200) {
  return reply.code(status).type('text/html; charset=utf-8').send(body);
}

/** A 4xx for a dashboard form: the message of an AppError, shown on the page it came from. */
function errorText(err: unknown): { status: number; text: string } | null {
  if (!(err instanceof AppError)) return null;
  const status = { invalid_input: 400, unauthenticated: 401, forbidden: 403, not_found: 404, conflict: 409, unprocessable: 422, rate_limited: 429, unavailable: 503 }[err.code];
  return { status, text: err.message };
}

// Paths carry ids from the request: percent-encode anything outside a plain path (a Location header
// with a raw non-ASCII or control character cannot be sent at all).
const safePath = (url: string) =>
  url.replace(/[^A-Za-z0-9\-._~/#?=&]/gu, (c) => {
    try {
      return encodeURIComponent(c);
    } catch {
      return '%EF%BF%BD'; // a lone surrogate: the replacement character
    }
  });
const back = (url: string, kind: 'ok' | 'error', text: string) => `${safePath(url)}${url.includes('?') ? '&' : '?'}${kind}=${encodeURIComponent(text.length > FLASH_MAX ? `${text.slice(0, FLASH_MAX - 1)}…` : text)}`;

async function clinicsFor(deps: AppDeps, p: Principal) {
  const ids = clinicFilter(p);
  let q = deps.db.selectFrom('clinics').select(['id', 'name']).orderBy('name');
  if (ids) q = ids.length ? q.where('id', 'in', ids) : q.where(({ lit }) => lit(false));
  return q.execute();
}

const STEP_KINDS = ['screening', 'clearance', 'consent', 'rems-enrollment', 'preparation', 'dosing', 'integration', 'rems-monitoring-form', 'assessment', 'review', 'maintenance-decision', 'task'];
const OWNERS = ['coordinator', 'prescriber', 'therapist', 'client', 'admin', 'system'];

export function dashboardRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { db, config } = deps;
  const footer = config.embeddedTemporal ? html`<a href="http://127.0.0.1:${config.TEMPORAL_UI_PORT}">Temporal Web UI</a> · <a href="/api/openapi.json">API (OpenAPI)</a>` : html`<a href="/api/openapi.json">API (OpenAPI)</a>`;

  app.get('/assets/:file', async (req, reply) => {
    const file = (req.params as { file: string }).file;
    if (file === 'dashboard.css') return reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=300').send(DASHBOARD_CSS);
    if (file === 'dashboard.js') return reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=300').send(DASHBOARD_JS);
    return reply.code(404).send({ error: 'not_found', message: `no asset ${file}` });
  });

  // ---- Stuck board ---------------------------------------------------------------------------
  const StuckFilters = z.object({ clinicId: z.string().max(100).optional().transform((v) => v || undefined), step: z.string().max(100).optional().transform((v) => v || undefined), owner: z.string().max(100).optional().transform((v) => v || undefined) });
  app.get('/', async (req, reply) => {
    const p = principalOf(req);
    const f = StuckFilters.safeParse(req.query);
    const filters: { clinicId?: string; step?: string; owner?: string } = f.success ? f.data : {};
    const clinics = await clinicsFor(deps, p);
    let items: Awaited<ReturnType<typeof stuckBoard>> = [];
    let hidden = 0;
    let flash = flashFrom(req);
    try {
      items = await stuckBoard(db, deps.systemHealth, { clinics: clinicFilter(p, filters.clinicId), step: filters.step, owner: filters.owner });
      // What the filter hides: the board in the viewer's whole scope, counted.
      if (filters.clinicId || filters.step || filters.owner) hidden = Math.max(0, (await stuckBoard(db, deps.systemHealth, { clinics: clinicFilter(p) })).length - items.length);
    } catch (err) {
      const e = errorText(err);
      if (!e) throw err;
      flash = { kind: 'error', text: e.text };
    }
    const opt = (v: string, cur: string | undefined, label = v) => html`<option value="${v}"${v === cur ? html` selected` : ''}>${label}</option>`;
    const rows = items.map((it) => {
      const action = it.action;
      let cell: SafeHtml = html``;
      if (action?.id === 'redeliver-webhooks' && it.webhookSubscriptionId) cell = (action.roles as readonly string[]).includes(p.role) ? html`<form method="post" action="/webhooks/${it.webhookSubscriptionId}/redeliver" class="inline">${csrfField(p)}<button type="submit">${action.label}</button></form>` : html`<span class="muted">${action.label} (admin or coordinator)</span>`;
      else if (action?.id === 'manage-staff') cell = (action.roles as readonly string[]).includes(p.role) ? html`<a class="button" href="/staff">${action.label}</a>` : html`<span class="muted">${action.label} (admin)</span>`;
      else if (it.type === 'system') cell = config.embeddedTemporal ? html`<a class="button secondary" href="http://127.0.0.1:${config.TEMPORAL_UI_PORT}/namespaces/${config.TEMPORAL_NAMESPACE}/workflows/course-${it.courseId}">${action?.label}</a>` : html`${action?.label}`;
      else if (action?.id === 'send-assessment') cell = html`<form method="post" action="/courses/${it.courseId}/actions/send-assessment" class="inline">${csrfField(p)}<input type="hidden" name="_back" value="/"><button type="submit">${action.label}</button></form>`;
      else if (action && (action.roles as readonly string[]).includes(p.role)) cell = html`<a class="button" href="/clients/${it.clientId}#action-${action.id}">${action.label}</a>`;
      else if (action) cell = html`<span class="muted">${action.label} (${action.roles.filter((r) => r !== 'admin').join(' or ')})</span>`;
      return html`<tr><td>${it.clientId ? html`<a href="/clients/${it.clientId}">${it.clientName}</a>` : html`<span class="muted">${it.webhookSubscriptionId ? 'integration (webhook)' : 'clinic set-up'}</span>`}</td><td>${it.clinicId}</td><td>${it.stepKey ?? ''}${it.type === 'system' ? html` <span class="badge bad">system</span>` : it.type === 'safety' ? html` <span class="badge bad">safety hold</span>` : ''}</td>
<td>${it.owner.name ?? it.owner.role ?? ''}</td><td>${it.ageSeconds !== null ? fmtAge(it.ageSeconds) : ''}${it.escalationLevel ? html` <span class="badge warn">escalated ×${it.escalationLevel}</span>` : ''}${it.type === 'deadline' && it.escalationsFailed ? html` <span class="badge bad">${it.escalationsFailed} escalation${it.escalationsFailed === 1 ? '' : 's'} reached nobody</span>` : ''}</td><td>${it.problem}</td><td>${cell}</td></tr>`;
    });
    const body = html`<form method="get" action="/" class="filters" aria-label="Filter the stuck board">
<div><label for="clinicId">Clinic</label><select id="clinicId" name="clinicId">${opt('', filters.clinicId, 'All clinics')}${clinics.map((c) => opt(c.id, filters.clinicId, c.name))}</select></div>
<div><label for="step">Step</label><select id="step" name="step">${opt('', filters.step, 'Any step')}${STEP_KINDS.map((s) => opt(s, filters.step))}</select></div>
<div><label for="owner">Owner</label><select id="owner" name="owner">${opt('', filters.owner, 'Anyone')}${OWNERS.map((o) => opt(o, filters.owner))}</select></div>
<div><button type="submit">Filter</button> <a href="/">Clear</a></div></form>
<p role="status">${items.length === 0 ? (hidden ? `Nothing matches this filter; ${hidden} item${hidden === 1 ? '' : 's'} hidden by the filter.` : 'Nothing is stuck.') : `${items.length} stuck: ${items.filter((i) => i.type === 'system').length} failing in the system, ${items.filter((i) => i.type === 'safety').length} on a safety hold, ${items.filter((i) => i.type === 'deadline').length} past a deadline.${hidden ? ` ${hidden} more hidden by the filter.` : ''}`}</p>
${items.length ? html`<table class="responsive" id="stuck"><caption>Courses past a deadline or failing in the system, oldest first</caption><thead><tr><th scope="col">Client</th><th scope="col">Clinic</th><th scope="col">Step</th><th scope="col">Owner</th><th scope="col">Stuck for</th><th scope="col">Problem</th><th scope="col">Unstick</th></tr></thead><tbody>${rows}</tbody></table>` : hidden ? html`<p class="empty">${hidden} item${hidden === 1 ? ' is' : 's are'} hidden by the filter: <a href="/">clear the filter</a> to see ${hidden === 1 ? 'it' : 'them'}.</p>` : html`<p class="empty">Every open course is within its deadlines and no system work is failing.</p>`}`;
    return send(reply, page({ title: 'Stuck board', principal: p, active: '/', flash, footer }, body));
  });

  // ---- Safety queue --------------------------------------------------------------------------
  app.get('/safety', async (req, reply) => {
    const p = principalOf(req);
    const items = await safetyQueue(db, clinicFilter(p));
    const canReview = (ACTION_ROLES['safety-review'] as readonly string[]).includes(p.role);
    const body = items.length
      ? html`<table class="responsive"><caption>Open safety holds (highest risk, then oldest, first) and recent adverse events</caption><thead><tr><th scope="col">Client</th><th scope="col">Clinic</th><th scope="col">What</th><th scope="col">Step</th><th scope="col">Since</th><th scope="col">Closes when</th><th scope="col">Action</th></tr></thead><tbody>${items.map(
          (i) => html`<tr><td><a href="/clients/${i.clientId}">${i.clientName}</a></td><td>${i.clinicId}</td><td>${i.serious ? html`<span class="badge bad">${i.type === 'safety-hold' ? (i.suicideRisk ? 'suicide risk' : 'hold') : 'serious'}</span> ` : html`<span class="badge warn">${i.type === 'safety-hold' ? 'hold' : 'adverse event'}</span> `}${i.courseEnded ? html`<span class="badge muted">course ended</span> ` : ''}${i.summary}</td><td>${i.stepKey ?? ''}</td><td>${fmtAge(i.ageSeconds)} ago</td><td>${i.closesWhen}</td>
<td>${i.type === 'safety-hold' && canReview ? html`<a class="button" href="/clients/${i.clientId}#action-safety-review">Record safety review</a>` : html`<a href="/clients/${i.clientId}">Open</a>`}</td></tr>`,
        )}</tbody></table>`
      : html`<p class="empty">No open safety holds and no adverse events awaiting review.</p>`;
    return send(reply, page({ title: 'Safety queue', principal: p, active: '/safety', flash: flashFrom(req), footer }, body));
  });

  // ---- Assessments ---------------------------------------------------------------------------
  app.get('/assessments', async (req, reply) => {
    const p = principalOf(req);
    // Counts per status, a filter by status, clinic and name, paged sections (dashboard-worklist.ts).
    const current = formQuery(req.query);
    const f = parse(AssessmentsQuery, current, 'query');
    const [items, clinics] = await Promise.all([assessmentQueue(db, clinicFilter(p, f.clinicId)), clinicsFor(deps, p)]);
    const body = assessmentsHtml(p, f, current, items, clinics);
    return send(reply, page({ title: 'Assessments', principal: p, active: '/assessments', flash: flashFrom(req), footer }, body));
  });

  // ---- Clients -------------------------------------------------------------------------------
  app.get('/clients', async (req, reply) => {
    const p = principalOf(req);
    // Paged in natural name order, with course status, filters and counts (src/api/client-list.ts, list markup in dashboard-worklist.ts).
    const current = formQuery(req.query);
    const f = parse(ClientListQuery, current, 'query');
    const [list, clinics] = await Promise.all([clientListPage(db, clinicFilter(p, f.clinicId), f, PAGE_SIZE), clinicsFor(deps, p)]);
    const canCreate = p.role === 'admin' || p.role === 'coordinator';
    const body = html`${clientListHtml(f, current, list, clinics)}
${canCreate ? html`<h2 id="new">New client</h2>${clinics.length ? html`<form method="post" action="/clients" class="card" id="new-client">${csrfField(p)}
<label for="clinic">Clinic</label><select id="clinic" name="clinicId" required>${clinics.map((c) => html`<option value="${c.id}">${c.name}</option>`)}</select>
<div class="grid"><div><label for="given">Given name</label><input id="given" name="givenName" required autocomplete="off"></div><div><label for="family">Family name</label><input id="family" name="familyName" required autocomplete="off"></div></div>
<label for="cemail">Email</label><input id="cemail" name="email" type="email" required autocomplete="off">
<div class="grid"><div><label for="phone">Phone (optional)</label><input id="phone" name="phone" type="tel"></div><div><label for="dob">Date of birth (optional)</label><input id="dob" name="dateOfBirth" type="date"></div></div>
<p><button type="submit">Add client</button></p></form>` : html`<p class="empty">Create a clinic first (API: POST /api/clinics, admin).</p>`}` : ''}`;
    return send(reply, page({ title: 'Clients', principal: p, active: '/clients', flash: flashFrom(req), footer }, body));
  });

  app.post('/clients', async (req, reply) => {
    const p = principalOf(req);
    try {
      const body = parse(CreateClientBody, formToBody(req.body as Record<string, unknown>));
      const { client } = await createClient(db, p, body);
      return reply.redirect(back(`/clients/${client.id}`, 'ok', 'Client added. Enroll them in a course below.'), 303);
    } catch (err) {
      const e = errorText(err);
      if (!e) throw err;
      return reply.redirect(back('/clients#new', 'error', e.text), 303);
    }
  });

  app.post('/clients/:id/enroll', async (req, reply) => {
    const p = principalOf(req);
    const { id } = parse(z.object({ id: z.string().min(1).max(100) }), req.params, 'params');
    try {
      const form = formToBody(req.body as Record<string, unknown>);
      const body = parse(EnrollBody, form);
      await enroll(deps, p, id, body);
      return reply.redirect(back(`/clients/${id}`, 'ok', 'Enrolled: the course has started at screening.'), 303);
    } catch (err) {
      const e = errorText(err);
      if (!e) throw err;
      return reply.redirect(back(`/clients/${id}`, 'error', e.text), 303);
    }
  });

  app.get('/clients/:id', async (req, reply) => {
    const p = principalOf(req);
    const { id } = parse(z.object({ id: z.string().min(1).max(100) }), req.params, 'params');
    let client;
    try {
      client = await loadClient(db, p, id);
    } catch (err) {
      const e = errorText(err);
      if (!e) throw err;
      return send(reply, page({ title: e.status === 404 ? 'Client not found' : 'Not allowed', principal: p, flash: { kind: 'error', text: e.text }, footer }, html`<p><a href="/clients">All clients</a></p>`), e.status);
    }
    await recordClientRead(db, p, { clientId: client.id, clinicId: client.clinic_id, what: 'dashboard client page' });
    const courses = await db.selectFrom('courses').selectAll().where('client_id', '=', client.id).orderBy('enrolled_at', 'desc').execute();
    const course = courses.find((c) => !c.ended_at) ?? courses[0];
    const [timeline, scores, steps, holds] = await Promise.all([
      clientTimeline(db, client.id),
      clientScores(db, client.id),
      course ? db.selectFrom('course_steps').selectAll().where('course_id', '=', course.id).execute() : Promise.resolve([]),
      // Every open safety item of the client, whichever course it came from: a suicide-risk item
      // outlives its course until a clinician reviews it.
      safetyQueue(db, undefined, new Date(), client.id).then((items) => items.filter((i) => i.type === 'safety-hold')),
    ]);
    const holdsOf = (courseId: string) => holds.filter((h) => h.courseId === courseId);
    const holdsHtml = holds.length
      ? html`<div class="flash error" role="alert"><strong>Open safety items:</strong><ul>${holds.map((h) => html`<li>${h.summary}${h.courseEnded ? html` <span class="badge muted">course ${h.courseId} ended</span>` : ''} <span class="muted">(since ${fmtTime(h.at)}; closes when ${h.closesWhen})</span></li>`)}</ul>No dosing until a clinician records a review.</div>`
      : html``;
    // Reviews of items whose course has ended (no workflow left): one form per such course.
    const endedReviewForms = [...new Set(holds.filter((h) => h.courseEnded).map((h) => h.courseId))].map((courseId) =>
      actionForm('safety-review', { courseId, stepKey: null, principal: p, dischargeChecklist: [], routes: [] }, true),
    );
    const canEnroll = p.role === 'admin' || p.role === 'coordinator';
    let courseHtml: SafeHtml;
    if (!course || course.ended_at) {
      courseHtml = html`${course ? html`<p>Last course ended ${fmtTime(course.ended_at)}${course.end_reason ? `: ${course.end_reason}` : ''}.</p>` : html`<p>Not enrolled in a course.</p>`}
${holdsHtml}${endedReviewForms}
${canEnroll ? html`<form method="post" action="/clients/${client.id}/enroll" class="card" id="enroll">${csrfField(p)}<label for="protocol">Protocol</label><select id="protocol" name="protocolId">${listProtocols().map((pr) => html`<option value="${pr.id}">${pr.name} (v${pr.version})</option>`)}</select>
<details><summary>Demo and simulation</summary>${raw('<label for="ts">Time scale (protocol days per real day; 1 = real time)</label>')}<input id="ts" name="timeScale:number" type="number" min="1" max="864000" step="any" placeholder="1"></details><p><button type="submit">Enroll</button></p></form>` : ''}`;
    } else {
      const protocol = course.protocol_snapshot as Protocol;
      const plan = planCourse(protocol);
      const states = new Map(steps.map((s) => [s.step_key, s.state as string]));
      const current = steps.find((s) => s.step_key === course.current_step);
      const kind = current?.kind ?? plan.find((s) => s.id === course.current_step)?.kind ?? '';
      const ctx = { courseId: course.id, stepKey: course.current_step, principal: p, dischargeChecklist: protocol.safety?.dischargeChecklist ?? [], routes: protocol.routes ?? [] };
      const nextActions = ACTIONS_FOR_KIND[kind] ?? [];
      const forms: SafeHtml[] = nextActions.map((a, i) => actionForm(a, ctx, i === 0));
      if (holdsOf(course.id).length && !nextActions.includes('safety-review')) forms.unshift(actionForm('safety-review', ctx, true));
      const other = courseActions(course.status === 'paused').filter((a) => !nextActions.includes(a));
      const overdue = current && (current.state === 'overdue' || (current.deadline_at && current.deadline_at.getTime() < Date.now()));
      courseHtml = html`<p><span class="badge ${course.status === 'active' ? 'ok' : 'muted'}">${course.status}</span> ${course.risk_level !== 'none' ? html`<span class="badge ${course.risk_level === 'high' ? 'bad' : 'warn'}">risk: ${course.risk_level}</span> ` : ''}
${protocol.name} v${course.protocol_version} · enrolled ${fmtTime(course.enrolled_at)} · current step <strong>${course.current_step ?? '(starting)'}</strong>${course.current_step_deadline ? html`, due ${fmtTime(course.current_step_deadline)}` : ''} ${overdue ? html`<span class="badge bad">overdue</span>` : ''}</p>
${holdsHtml}${endedReviewForms}
<h2>Next</h2>${forms.length ? forms : html`<p class="muted">${kind === 'assessment' ? 'Waiting for the client to answer the assessment.' : 'Nothing to record for this step from your role.'}</p>`}
<h2>Other actions</h2>${other.map((a) => actionForm(a, ctx))}
${pathwayDiagram(plan, states, course.current_step, protocol.phases.map((ph) => ({ id: ph.id, name: ph.name })))}`;
    }
    const charts = scores.filter((t) => t.instrumentId !== 'cssrs' && t.points.length > 0);
    const body = html`<p>${client.email}${client.phone ? ` · ${client.phone}` : ''} · clinic ${client.clinic_id}${client.date_of_birth ? ` · born ${client.date_of_birth.toISOString().slice(0, 10)}` : ''}</p>
<h2>Course</h2>${courseHtml}
<h2>Scores</h2>${charts.length ? html`<div class="grid">${charts.map((t) => scoreChart(t, 'chart'))}</div>` : html`<p class="empty">No completed assessments yet.</p>`}
<h2 id="timeline">Timeline</h2>${timeline.length ? html`<table class="responsive"><thead><tr><th scope="col">When</th><th scope="col">Step</th><th scope="col">What</th><th scope="col">By</th></tr></thead><tbody>${[...timeline].reverse().map((e) => html`<tr><td>${fmtTime(e.at)}</td><td>${e.stepKey ?? ''}</td><td>${e.summary}</td><td>${e.actor ?? ''}</td></tr>`)}</tbody></table>` : html`<p class="empty">Nothing yet.</p>`}`;
    return send(reply, page({ title: `${client.given_name} ${client.family_name}`, principal: p, active: '/clients', flash: flashFrom(req), footer }, body));
  });

  app.post('/courses/:id/actions/:action', async (req, reply) => {
    const p = principalOf(req);
    const params = parse(z.object({ id: z.string().min(1).max(100), action: z.enum(ACTION_NAMES as [CourseAction, ...CourseAction[]]) }), req.params, 'params');
    const course = await db.selectFrom('courses').select(['client_id', 'clinic_id']).where('id', '=', params.id).executeTakeFirst();
    if (!course) throw new AppError('not_found', `course ${params.id} not found`);
    assertRecordInScope(p, course.clinic_id, `course ${params.id}`);
    // The assessments page sends an assessment from its own list and comes back to it.
    const form = (req.body ?? {}) as Record<string, unknown>;
    const to = typeof form._back === 'string' && /^\/[a-z0-9/_-]*$/i.test(form._back) ? form._back : `/clients/${course.client_id}`;
    try {
      const body = parse(ACTIONS[params.action].schema as z.ZodType, formToBody(req.body as Record<string, unknown>));
      const result = (await performAction(deps, p, params.id, params.action, body as Record<string, unknown>)) as { outcome?: string; reasons?: Array<{ message: string }> };
      const reasons = result?.reasons?.length ? ` (${result.reasons.map((r) => r.message).join('; ')})` : '';
      return reply.redirect(back(to, 'ok', `Recorded: ${result?.outcome ?? params.action}${reasons}`), 303);
    } catch (err) {
      const e = errorText(err);
      if (!e) throw err;
      return reply.redirect(back(`${to}`, 'error', `Not recorded: ${e.text}`), 303);
    }
  });

  // ---- Outcomes ------------------------------------------------------------------------------
  app.get('/outcomes', async (req, reply) => {
    const p = principalOf(req);
    const clinics = await clinicsFor(deps, p);
    const results = await Promise.all(clinics.map((c) => clinicOutcomes(db, c.id).then((o) => ({ clinic: c, o }))));
    const pct = (v: number | null) => (v === null ? '–' : `${v.toFixed(1)}%`);
    const body = html`<p>Completed courses only. Response: a drop of at least 50% from the course's first score. Remission: a last score below 5. Published comparison: ${results[0]?.o.publishedSource ?? 'Mindbloom at-home sublingual KAT, n=1,247, 4 weeks'}.</p>
${results.length ? html`<table class="responsive"><caption>Response and remission beside published figures</caption><thead><tr><th scope="col">Clinic</th><th scope="col">Instrument</th><th scope="col">Courses evaluable</th><th scope="col">Response</th><th scope="col">Published response</th><th scope="col">Remission</th><th scope="col">Published remission</th></tr></thead><tbody>${results.flatMap(({ clinic, o }) =>
      o.rates.map((r) => html`<tr><td>${clinic.name}</td><td>${r.instrumentId === 'phq9' ? 'PHQ-9' : 'GAD-7'}</td><td>${r.courses} of ${o.completedCourses}</td><td>${pct(r.responseRate)}${r.courses ? ` (${r.responders})` : ''}</td><td>${r.published.response}%</td><td>${pct(r.remissionRate)}${r.courses ? ` (${r.remitters})` : ''}</td><td>${r.published.remission}%</td></tr>`),
    )}</tbody></table><p class="muted">Small numbers swing widely: read rates from fewer than 20 courses with care.</p>` : html`<p class="empty">No clinics in your scope.</p>`}`;
    return send(reply, page({ title: 'Clinic outcomes', principal: p, active: '/outcomes', footer }, body));
  });

  // ---- Outbox (embedded SMTP sink) -----------------------------------------------------------
  // GET /outbox (the send records, paged): src/api/routes/dashboard-ops.ts.

  app.get('/outbox/:id', async (req, reply) => {
    const p = principalOf(req);
    const { id } = parse(z.object({ id: z.coerce.number().int().positive() }), req.params, 'params');
    // Outside the viewer's clinics is "not found", exactly as a message that does not exist.
    const m = (await sinkMessageInScope(db, p, id))?.message;
    if (!m) return send(reply, page({ title: 'Message not found', principal: p, active: '/outbox', footer }, html`<p><a href="/outbox">Back to the outbox</a></p>`), 404);
    // Links in the text body are made clickable; the HTML body is not rendered (it is untrusted markup).
    const text = (m.text ?? '').split(/(https?:\/\/[^\s<>"]+)/g).map((part, i) => (i % 2 ? html`<a href="${part}">${part}</a>` : html`${part}`));
    const body = html`<p><a href="/outbox">Back to the outbox</a></p><dl><dt>From</dt><dd>${m.from ?? ''}</dd><dt>To</dt><dd>${m.to.join(', ')}</dd><dt>Subject</dt><dd>${m.subject ?? ''}</dd><dt>Received</dt><dd>${fmtTime(m.receivedAt)}</dd></dl><pre id="message-text">${text}</pre>
${m.attachments.length ? html`<p>Attachments: ${m.attachments.map((a) => `${a.filename ?? 'unnamed'} (${a.contentType}, ${a.size} bytes)`).join(', ')}</p>` : ''}`;
    return send(reply, page({ title: m.subject ?? 'Message', principal: p, active: '/outbox', footer }, body));
  });

  // ---- Staff (admin) -------------------------------------------------------------------------
  app.get('/staff', async (req, reply) => {
    const p = principalOf(req);
    // The same scope as GET /api/staff: staff of the admin's clinics only, their clinics as the admin may see them.
    const [staff, clinics, unstaffed] = await Promise.all([staffInScope(db, p), clinicsFor(deps, p), clinicStaffingProblems(db, { clinics: clinicFilter(p) })]);
    // A clinic with nobody active in a role that owns steps or receives safety alerts (the stuck board lists it too).
    const staffingFlag = unstaffed.length ? html`<div class="flash error" role="alert" id="staffing-problems"><p>Roles nobody active holds:</p><ul>${unstaffed.map((u) => html`<li>${u.problem}.</li>`)}</ul></div>` : html``;
    const controls = (s: (typeof staff)[number]) => {
      if (s.id === p.staffId) return html`<a href="/account">Your account</a>`;
      if (!canManageStaff(p, s)) return html`<span class="muted">also works in other clinics</span>`;
      const roleOpts = STAFF_ROLES.map((r) => html`<option value="${r}"${r === s.role ? html` selected` : ''}>${r}</option>`);
      return html`<form method="post" action="/staff/${s.id}" class="inline">${csrfField(p)}<label for="role-${s.id}" class="sr-only">Role of ${s.displayName}</label><select id="role-${s.id}" name="role">${roleOpts}</select> <button type="submit" class="secondary">Change role</button></form>
<form method="post" action="/staff/${s.id}" class="inline">${csrfField(p)}<input type="hidden" name="active" value="${s.active ? 'false' : 'true'}"><button type="submit" class="secondary">${s.active ? 'Deactivate' : 'Reactivate'}</button></form>
<form method="post" action="/staff/${s.id}/reset-password" class="inline">${csrfField(p)}<button type="submit" class="secondary">Reset password</button></form>`;
    };
    const body = html`${staffingFlag}<table class="responsive" id="staff"><thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Clinics</th><th scope="col">Status</th><th scope="col">Manage</th></tr></thead><tbody>${staff.map((s) => html`<tr id="staff-${s.id}"><td>${s.displayName}</td><td>${s.email}</td><td>${s.role}</td><td>${s.clinicIds.join(', ') || (s.role === 'admin' ? 'all' : 'none')}</td><td>${s.active ? (s.canLogIn ? 'active' : 'active (no password)') : html`<span class="badge muted">deactivated</span>`}</td><td>${controls(s)}</td></tr>`)}</tbody></table>
<p class="muted">Deactivating ends the person's sessions and revokes their API tokens at once. A password reset shows a new password once and ends their sessions.</p>
<h2 id="new">New staff member</h2><form method="post" action="/staff" class="card">${csrfField(p)}<label for="sname">Name</label><input id="sname" name="displayName" required><label for="semail">Email</label><input id="semail" name="email" type="email" required>
<label for="srole">Role</label><select id="srole" name="role"><option>coordinator</option><option>prescriber</option><option>therapist</option><option>admin</option></select>
<fieldset><legend>Clinics</legend>${clinics.map((c) => html`<label class="check"><input type="checkbox" name="clinicIds" value="${c.id}"> ${c.name}</label>`)}</fieldset><p class="muted">A password is generated and shown once.</p><p><button type="submit">Create</button></p></form>`;
    return send(reply, page({ title: 'Staff', principal: p, active: '/staff', flash: flashFrom(req), footer }, body));
  });

  app.post('/staff', async (req, reply) => {
    const p = principalOf(req);
    const form = (req.body ?? {}) as Record<string, unknown>;
    try {
      const ids = form.clinicIds === undefined ? [] : [form.clinicIds].flat();
      const body = parse(CreateStaffBody, { email: form.email, displayName: form.displayName, role: form.role, clinicIds: ids });
      const { staff, initialPassword } = await createStaffAs(db, p, body);
      return send(reply, page({ title: 'Staff member created', principal: p, active: '/staff', footer }, html`<div class="flash ok" role="status">Created ${staff.displayName} (${staff.role}).</div><p>Give them this password now; it is not shown again:</p><pre id="initial-password">${initialPassword ?? ''}</pre><p><a href="/staff">Back to staff</a></p>`), 201);
    } catch (err) {
      const e = errorText(err);
      if (!e) throw err;
      return reply.redirect(back('/staff', 'error', e.text), 303);
    }
  });

  // Role, active state, name and clinics of one staff member (the same service as PATCH /api/staff/:id).
  app.post('/staff/:id', async (req, reply) => {
    const p = principalOf(req);
    const { id } = parse(z.object({ id: z.string().min(1).max(100) }), req.params, 'params');
    const form = (req.body ?? {}) as Record<string, unknown>;
    try {
      const change: Record<string, unknown> = {};
      if (form.role !== undefined) change.role = form.role;
      if (form.displayName !== undefined) change.displayName = form.displayName;
      if (form.active !== undefined) change.active = form.active === 'true' ? true : form.active === 'false' ? false : form.active;
      if (form._clinics !== undefined) change.clinicIds = form.clinicIds === undefined ? [] : [form.clinicIds].flat();
      const { staff } = await updateStaff(db, p, id, parse(UpdateStaffBody, change));
      const what = change.active === false ? 'Deactivated' : change.active === true ? 'Reactivated' : 'Updated';
      return reply.redirect(back('/staff', 'ok', `${what} ${staff.displayName} (${staff.role}).`), 303);
    } catch (err) {
      const e = errorText(err);
      if (!e) throw err;
      if (e.status === 404) return send(reply, page({ title: 'Staff member not found', principal: p, active: '/staff', flash: { kind: 'error', text: e.text }, footer }, html`<p><a href="/staff">Back to staff</a></p>`), 404);
      return reply.redirect(back('/staff', 'error', e.text), 303);
    }
  });

  app.post('/staff/:id/reset-password', async (req, reply) => {
    const p = principalOf(req);
    const { id } = parse(z.object({ id: z.string().min(1).max(100) }), req.params, 'params');
    try {
      const { staff, password } = await resetStaffPassword(db, p, id);
      return send(reply, page({ title: 'Password reset', principal: p, active: '/staff', footer }, html`<div class="flash ok" role="status">New password for ${staff.displayName}; their sessions have ended.</div><p>Give them this password now; it is not shown again:</p><pre id="reset-password">${password}</pre><p><a href="/staff">Back to staff</a></p>`));
    } catch (err) {
      const e = errorText(err);
      if (!e) throw err;
      if (e.status === 404) return send(reply, page({ title: 'Staff member not found', principal: p, active: '/staff', flash: { kind: 'error', text: e.text }, footer }, html`<p><a href="/staff">Back to staff</a></p>`), 404);
      return reply.redirect(back('/staff', 'error', e.text), 303);
    }
  });

  // ---- Your account ----------------------------------------------------------------------------
  app.get('/account', async (req, reply) => {
    const p = principalOf(req);
    const clinics = await clinicsFor(deps, p);
    const body = html`<dl><dt>Name</dt><dd>${p.displayName}</dd><dt>Role</dt><dd>${p.role}</dd><dt>Clinics</dt><dd>${p.clinics === 'all' ? 'every clinic' : clinics.map((c) => c.name).join(', ') || 'none'}</dd></dl>
${p.staffId ? html`<h2 id="password">Change your password</h2><form method="post" action="/account/password" class="card">${csrfField(p)}
<label for="current">Current password</label><input id="current" name="currentPassword" type="password" autocomplete="current-password" required>
<label for="newpw">New password (at least 12 characters, not a common one)</label><input id="newpw" name="newPassword" type="password" autocomplete="new-password" minlength="12" required>
<label for="confirm">New password again</label><input id="confirm" name="confirmPassword" type="password" autocomplete="new-password" minlength="12" required>
<p class="muted">Every session of yours ends, this one too: you log in again with the new password.</p><p><button type="submit">Change password</button></p></form>` : html`<p class="muted">This credential belongs to no staff member.</p>`}`;
    return send(reply, page({ title: 'Your account', principal: p, flash: flashFrom(req), footer }, body));
  });

  app.post('/account/password', async (req, reply) => {
    const p = principalOf(req);
    const form = (req.body ?? {}) as Record<string, unknown>;
    try {
      const body = parse(ChangePasswordBody, { currentPassword: form.currentPassword, newPassword: form.newPassword });
      if (form.confirmPassword !== body.newPassword) throw new AppError('invalid_input', 'confirmPassword: does not match the new password', [{ field: 'confirmPassword', message: 'does not match the new password' }]);
      await changeOwnPassword(db, p, body);
      return send(reply, page({ title: 'Password changed', principal: null, footer }, html`<div class="flash ok" role="status">Your password is changed and your sessions have ended.</div><p><a href="/login">Log in</a> with the new password.</p>`));
    } catch (err) {
      const e = errorText(err);
      if (!e) throw err;
      return reply.redirect(back('/account', 'error', e.text), 303);
    }
  });
}

// The coordinator's dashboard: server-rendered HTML from the same read models as the API, forms
// posting to the same services (CSRF token in every form, session cookie only).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ACTION_ROLES } from '../../auth/role-matrix';
import { clinicFilter } from '../../auth/roles';
import { AppError } from '../../errors';
import { principalOf } from '../auth';
import { DASHBOARD_CSS, DASHBOARD_JS } from '../assets';
import { clinicsInScope } from '../clinics-in-scope';
import type { AppDeps } from '../context';
import { csrfField, fmtAge, fmtTime, html, page, type SafeHtml } from '../html';
import { assessmentQueue, safetyQueue } from '../records';
import { clinicOutcomes, NO_COMPARATOR, OUTCOME_DEFINITIONS, OutcomesQuery, type ProtocolOutcomes } from '../outcomes';
import { listProtocols } from '../../domain';
import { stuckBoard, UNSTICK_ACTION } from '../stuck';
import { clinicStaffingProblems } from '../alert-problems';
import { parse } from '../validation';
import { ClientListQuery, clientListPage } from '../client-list';
import { assessmentsHtml, AssessmentsQuery, clientListHtml, formQuery, PAGE_SIZE } from './dashboard-worklist';
import { changeOwnPassword, resetStaffPassword, updateStaff } from '../../auth/accounts';
import { STAFF_ROLES } from '../../auth/roles';
import { canManageStaff } from '../../auth/scope';
import { sinkMessageInScope } from './outbox';
import { CreateStaffBody, createStaffAs, staffInScope, UpdateStaffBody } from './staff';
import { ChangePasswordBody } from './tokens';
import { errorSummary, fieldError, invalidAttrs, newClientForm, newStaffForm, passwordForm, problemsFor, refusal, valueOf, type FormState } from '../form-state';

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
    // The filter's clinic list is read beside the board, not before it: under load each read waits its
    // turn at the database, so one round of waiting fewer (docs/performance.md, "The page's rounds").
    const board = stuckBoard(db, deps.systemHealth, { clinics: clinicFilter(p, filters.clinicId), step: filters.step, owner: filters.owner });
    board.catch(() => undefined); // awaited below; this only keeps a rejection from being unhandled while the clinic list is read
    const clinics = await clinicsInScope(db, p);
    let items: Awaited<ReturnType<typeof stuckBoard>> = [];
    let hidden = 0;
    let flash = flashFrom(req);
    try {
      items = await board;
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
      if (action?.id === 'redeliver-webhooks' && it.webhookSubscriptionId) cell = (action.roles as readonly string[]).includes(p.role) ? html`<form method="post" action="/webhooks/${it.webhookSubscriptionId}/redeliver" class="inline">${csrfField(p)}<button type="submit">${action.label}</button></form> <a href="/webhooks#webhook-${it.webhookSubscriptionId}">Deliveries</a>` : html`<span class="muted">${action.label} (admin or coordinator)</span>`;
      else if (action?.id === 'manage-staff') cell = (action.roles as readonly string[]).includes(p.role) ? html`<a class="button" href="/staff">${action.label}</a>` : html`<span class="muted">${action.label} (admin)</span>`;
      else if (it.type === 'system') cell = config.embeddedTemporal ? html`<a class="button secondary" href="http://127.0.0.1:${config.TEMPORAL_UI_PORT}/namespaces/${config.TEMPORAL_NAMESPACE}/workflows/course-${it.courseId}">${action?.label}</a>` : html`${action?.label}`;
      else if (action?.id === 'send-assessment') cell = html`<form method="post" action="/courses/${it.courseId}/actions/send-assessment" class="inline">${csrfField(p)}<input type="hidden" name="_back" value="/"><button type="submit">${action.label}</button></form>`;
      else if (action && (action.roles as readonly string[]).includes(p.role)) cell = html`<a class="button" href="/clients/${it.clientId}#action-${action.id}">${action.label}</a>`;
      else if (action) cell = html`<span class="muted">${action.label} (${action.roles.filter((r) => r !== 'admin').join(' or ')})</span>`;
      return html`<tr><td>${it.clientId ? html`<a href="/clients/${it.clientId}">${it.clientName}</a>` : html`<span class="muted">${it.webhookSubscriptionId ? 'integration (webhook)' : 'clinic set-up'}</span>`}</td><td>${it.clinicId}</td><td>${it.stepName ? `${it.stepName} (${it.stepKey})` : (it.stepKey ?? '')}${it.type === 'system' ? html` <span class="badge bad">system</span>` : it.type === 'safety' ? html` <span class="badge bad">safety hold</span>` : ''}</td>
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
    const [items, clinics] = await Promise.all([assessmentQueue(db, clinicFilter(p, f.clinicId)), clinicsInScope(db, p)]);
    const body = assessmentsHtml(p, f, current, items, clinics);
    return send(reply, page({ title: 'Assessments', principal: p, active: '/assessments', flash: flashFrom(req), footer }, body));
  });

  // ---- Clients -------------------------------------------------------------------------------
  app.get('/clients', async (req, reply) => {
    const p = principalOf(req);
    // Paged in natural name order, with course status, filters and counts (src/api/client-list.ts, list markup in dashboard-worklist.ts).
    const current = formQuery(req.query);
    const f = parse(ClientListQuery, current, 'query');
    const [list, clinics] = await Promise.all([clientListPage(db, clinicFilter(p, f.clinicId), f, PAGE_SIZE), clinicsInScope(db, p)]);
    const canCreate = p.role === 'admin' || p.role === 'coordinator';
    const body = html`${clientListHtml(f, current, list, clinics)}
${canCreate ? html`<h2 id="new">New client</h2>${clinics.length ? newClientForm(p, clinics) : html`<p class="empty">Create a clinic first (API: POST /api/clinics, admin).</p>`}` : ''}`;
    return send(reply, page({ title: 'Clients', principal: p, active: '/clients', flash: flashFrom(req), footer }, body));
  });

  // POST /clients, POST /clients/:id/enroll, GET /clients/:id and POST /courses/:id/actions/:action:
  // src/api/routes/dashboard-client.ts (refused forms come back with their values and problems).

  // ---- Outcomes ------------------------------------------------------------------------------
  app.get('/outcomes', async (req, reply) => {
    const p = principalOf(req);
    const clinics = await clinicsInScope(db, p);
    // A protocol and enrolment dates (the same query as GET /api/clinics/:id/outcomes); a refused
    // filter comes back with what was typed and the problem beside its field, and nothing computed.
    const raw = req.query as Record<string, unknown>;
    const typed = (k: string) => (typeof raw[k] === 'string' ? (raw[k] as string) : '');
    const query = Object.fromEntries(Object.entries({ protocolId: typed('protocolId'), from: typed('from'), to: typed('to') }).filter(([, v]) => v !== ''));
    const parsed = OutcomesQuery.safeParse(query);
    const problems = parsed.success ? [] : parsed.error.issues.map((i) => ({ field: String(i.path[0] ?? 'query'), message: i.message }));
    const at = (f: string) => problems.filter((x) => x.field === f);
    const results = parsed.success ? await Promise.all(clinics.map((c) => clinicOutcomes(db, c.id, parsed.data).then((o) => ({ clinic: c, o })))) : [];
    const pct = (v: number | null) => (v === null ? '–' : `${v.toFixed(1)}%`);
    const opt = (v: string, label: string) => html`<option value="${v}"${typed('protocolId') === v ? ' selected' : ''}>${label}</option>`;
    const dateField = (name: 'from' | 'to', label: string) =>
      html`<div><label for="oc-${name}">${label}</label><input type="date" id="oc-${name}" name="${name}" value="${typed(name)}"${invalidAttrs(`oc-${name}`, at(name))}>${fieldError(`oc-${name}`, at(name))}</div>`;
    const form = html`<form method="get" action="/outcomes" class="filters" aria-label="Outcomes by protocol and enrolment dates">
<div><label for="oc-protocolId">Protocol</label><select id="oc-protocolId" name="protocolId"${invalidAttrs('oc-protocolId', at('protocolId'))}>${opt('', 'Every protocol')}${listProtocols().filter((x, i, all) => all.findIndex((y) => y.id === x.id) === i).map((x) => opt(x.id, x.name))}</select>${fieldError('oc-protocolId', at('protocolId'))}</div>
${dateField('from', 'Enrolled from')}${dateField('to', 'Enrolled to (inclusive)')}
<div><button type="submit">Show</button> <a href="/outcomes">Clear</a></div></form>`;
    const d = OUTCOME_DEFINITIONS;
    const intro = html`<p>Completed courses, by protocol, for courses enrolled in the dates chosen (UTC dates). Each instrument's baseline is the course's first score, its outcome the last (follow-ups included); n is the courses with both. Response: PHQ-9 and GAD-7 ${d.phq9.response}, PCL-5 ${d.pcl5.response}. Remission: PHQ-9 ${d.phq9.remission}, GAD-7 ${d.gad7.remission}, PCL-5 ${d.pcl5.remission}. Each rate is shown beside a published figure for the same route of administration, with its source, where one is known; otherwise "${NO_COMPARATOR}".</p>`;
    const table = (clinic: { name: string }, pr: ProtocolOutcomes) =>
      html`<table class="responsive"><caption>${clinic.name}: ${pr.name} (${pr.routes.join(', ') || 'route unknown'}), ${pr.completedCourses} completed course${pr.completedCourses === 1 ? '' : 's'}</caption><thead><tr><th scope="col">Instrument</th><th scope="col">n</th><th scope="col">Response</th><th scope="col">Published response</th><th scope="col">Remission</th><th scope="col">Published remission</th><th scope="col">Published source</th></tr></thead><tbody>${pr.rates.map(
        (r) =>
          html`<tr><th scope="row">${r.label}</th><td>${r.courses} of ${pr.completedCourses}</td><td>${pct(r.responseRate)}${r.courses ? ` (${r.responders})` : ''}</td>${
            r.published ? html`<td>${r.published.response}%</td><td>${pct(r.remissionRate)}${r.courses ? ` (${r.remitters})` : ''}</td><td>${r.published.remission}%</td><td>${r.comparatorNote}</td>` : html`<td class="muted">–</td><td>${pct(r.remissionRate)}${r.courses ? ` (${r.remitters})` : ''}</td><td class="muted">–</td><td>${r.comparatorNote}</td>`
          }</tr>`,
      )}</tbody></table>`;
    const sections = results.flatMap(({ clinic, o }) => (o.protocols.length ? o.protocols.map((pr) => table(clinic, pr)) : [html`<p class="empty">${clinic.name}: no completed courses${parsed.success && (parsed.data.protocolId || parsed.data.from || parsed.data.to) ? ' for this protocol and these dates' : ''}.</p>`]));
    const body = html`${intro}${form}${
      !parsed.success
        ? html`<p class="empty" role="alert">Nothing computed: correct the filter above.</p>`
        : clinics.length
          ? html`${sections}<p class="muted">Small numbers swing widely: read rates from fewer than 20 courses with care. A published figure comes from another setting and population; it is a point of reference, not a target.</p>`
          : html`<p class="empty">No clinics in your scope.</p>`
    }`;
    return send(reply, page({ title: 'Clinic outcomes', principal: p, active: '/outcomes', footer }, body), parsed.success ? 200 : 400);
  });

  // ---- Outbox (embedded SMTP sink) -----------------------------------------------------------
  // GET /outbox (the send records, paged): src/api/routes/dashboard-ops.ts.

  app.get('/outbox/:id', async (req, reply) => {
    const p = principalOf(req);
    const { id } = parse(z.object({ id: z.coerce.number().int().positive() }), req.params, 'params');
    // Outside the viewer's clinics is "not found", exactly as a message that does not exist.
    const found = await sinkMessageInScope(db, p, id);
    const m = found?.message;
    if (!m) return send(reply, page({ title: 'Message not found', principal: p, active: '/outbox', footer }, html`<p><a href="/outbox">Back to the outbox</a></p>`), 404);
    // Links in the text body are made clickable; the HTML body is not rendered (it is untrusted markup).
    const text = (m.text ?? '').split(/(https?:\/\/[^\s<>"]+)/g).map((part, i) => (i % 2 ? html`<a href="${part}">${part}</a>` : html`${part}`));
    const body = html`<p><a href="/outbox">Back to the outbox</a></p><dl><dt>From</dt><dd>${m.from ?? ''}</dd><dt>To</dt><dd>${m.to.join(', ')}</dd><dt>Subject</dt><dd>${m.subject ?? ''}</dd><dt>Received</dt><dd>${fmtTime(m.receivedAt, found?.clinicId ? (await db.selectFrom('clinics').select('timezone').where('id', '=', found.clinicId).executeTakeFirst())?.timezone : undefined)}</dd></dl><pre id="message-text">${text}</pre>
${m.attachments.length ? html`<p>Attachments: ${m.attachments.map((a) => `${a.filename ?? 'unnamed'} (${a.contentType}, ${a.size} bytes)`).join(', ')}</p>` : ''}`;
    return send(reply, page({ title: m.subject ?? 'Message', principal: p, active: '/outbox', footer }, body));
  });

  // ---- Staff (admin) -------------------------------------------------------------------------
  app.get('/staff', async (req, reply) => {
    const p = principalOf(req);
    // The same scope as GET /api/staff: staff of the admin's clinics only, their clinics as the admin may see them.
    const [staff, clinics, unstaffed] = await Promise.all([staffInScope(db, p), clinicsInScope(db, p), clinicStaffingProblems(db, { clinics: clinicFilter(p) })]);
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
<h2 id="new">New staff member</h2>${newStaffForm(p, clinics)}`;
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
      // Refused: the form again, with what was typed and each problem beside its field.
      const state = refusal('new-staff', form, err);
      if (!state) throw err;
      return send(reply, page({ title: 'New staff member', principal: p, active: '/staff', footer }, html`${newStaffForm(p, await clinicsInScope(db, p), state)}<p><a href="/staff">Back to staff</a></p>`), state.status);
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
      // Refused: the change again, with what was chosen and the problem beside it.
      const state = refusal('staff-change', form, err)!;
      const roleProblems = problemsFor(state, 'role');
      const chosen = valueOf(state, 'role');
      const again = form.role !== undefined ? html`<form method="post" action="/staff/${id}" class="card">${csrfField(p)}<label for="role-${id}">Role</label><select id="role-${id}" name="role"${invalidAttrs(`role-${id}`, roleProblems)}>${STAFF_ROLES.map((r) => html`<option value="${r}"${r === chosen ? html` selected` : ''}>${r}</option>`)}</select>${fieldError(`role-${id}`, roleProblems)} <button type="submit" class="secondary">Change role</button></form>` : html``;
      return send(reply, page({ title: 'Staff member not changed', principal: p, active: '/staff', footer }, html`${errorSummary(state, 'Not changed', (f) => (f === 'role' && form.role !== undefined ? `role-${id}` : undefined))}${again}<p><a href="/staff">Back to staff</a></p>`), e.status);
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
      return send(reply, page({ title: 'Password not reset', principal: p, active: '/staff', flash: { kind: 'error', text: e.text }, footer }, html`<p><a href="/staff">Back to staff</a></p>`), e.status);
    }
  });

  // ---- Your account ----------------------------------------------------------------------------
  const accountPage = async (req: FastifyRequest, reply: FastifyReply, state?: FormState) => {
    const p = principalOf(req);
    const clinics = await clinicsInScope(db, p);
    const body = html`<dl><dt>Name</dt><dd>${p.displayName}</dd><dt>Role</dt><dd>${p.role}</dd><dt>Clinics</dt><dd>${p.clinics === 'all' ? 'every clinic' : clinics.map((c) => c.name).join(', ') || 'none'}</dd></dl>
${p.staffId ? html`<h2 id="password">Change your password</h2>${passwordForm(p, state)}` : html`<p class="muted">This credential belongs to no staff member.</p>`}`;
    return send(reply, page({ title: 'Your account', principal: p, flash: state ? null : flashFrom(req), footer }, body), state?.status ?? 200);
  };
  app.get('/account', async (req, reply) => accountPage(req, reply));

  app.post('/account/password', async (req, reply) => {
    const p = principalOf(req);
    const form = (req.body ?? {}) as Record<string, unknown>;
    try {
      const body = parse(ChangePasswordBody, { currentPassword: form.currentPassword, newPassword: form.newPassword });
      if (form.confirmPassword !== body.newPassword) throw new AppError('invalid_input', 'confirmPassword: does not match the new password', [{ field: 'confirmPassword', message: 'does not match the new password' }]);
      await changeOwnPassword(db, p, body);
      return send(reply, page({ title: 'Password changed', principal: null, footer }, html`<div class="flash ok" role="status">Your password is changed and your sessions have ended.</div><p><a href="/login">Log in</a> with the new password.</p>`));
    } catch (err) {
      // Refused: the page again with each problem beside its field (the passwords are not sent back).
      const state = refusal('password', form, err);
      if (!state) throw err;
      return accountPage(req, reply, state);
    }
  });
}

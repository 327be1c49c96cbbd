// The courses worklist page (`GET /courses`, issue #18): every open course of the viewer's clinics
// with its client, protocol, current step, owner, due time, risk and hold state; filters with their
// counts, search by client name, sortable columns and pages of 50, all in SQL (src/api/worklist.ts).
// The JSON twin is `GET /api/courses` (routes/courses.ts). Also the paging and count helpers the
// client list and the assessments page share (`pager`, `pageLink`, `formQuery`).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { clinicFilter, type Principal } from '../../auth/roles';
import { listProtocols } from '../../domain';
import { principalOf } from '../auth';
import { clinicsInScope } from '../clinics-in-scope';
import type { AppDeps } from '../context';
import { ClientListQuery, clientListPage, CLIENT_SORT_LABELS, CLIENT_SORTS, COURSE_STATES, type CourseState } from '../client-list';
import { csrfField, html, page, raw, type SafeHtml } from '../html';
import type { AssessmentQueueItem } from '../records';
import { parse } from '../validation';
import { clinicLocalTime, relativeTime, SORT_LABELS, WORKLIST_SORTS, WorklistFilters, worklistCounts, worklistPage, type WorklistSort } from '../worklist';

export const PAGE_SIZE = 50;

/** A query string from a form: empty fields dropped (a select left at "Any" sends ""), and the flash message a form's redirect carries (`ok`, `error`). */
export function formQuery(query: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    if (k === 'ok' || k === 'error') continue;
    const s = Array.isArray(v) ? v[v.length - 1] : v;
    if (typeof s === 'string' && s.trim() !== '') out[k] = s;
  }
  return out;
}

/** The same page with some parameters changed (undefined removes one); page 1 unless given. */
export function pageLink(path: string, current: Record<string, string | undefined>, change: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...current, page: undefined, ...change })) if (v !== undefined && v !== '' && !(k === 'page' && String(v) === '1')) q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** "Showing 51-100 of 1,234" with previous / next links (a nav landmark named after the list). */
export function pager(opts: { path: string; current: Record<string, string | undefined>; page: number; pageSize: number; shown: number; total: number | null; hasMore: boolean; label: string }): SafeHtml {
  const { page: n, pageSize, shown, total } = opts;
  if (shown === 0 && n === 1) return html``;
  const from = (n - 1) * pageSize + 1;
  const to = (n - 1) * pageSize + shown;
  const pages = total === null ? null : Math.max(1, Math.ceil(total / pageSize));
  return html`<nav class="pager" aria-label="Pages of ${opts.label}"><p>${shown ? `Showing ${from.toLocaleString('en')}–${to.toLocaleString('en')}` : 'Nothing on this page'}${total !== null ? ` of ${total.toLocaleString('en')}` : ''}${pages ? ` · page ${n} of ${pages}` : ''}</p>
<p>${n > 1 ? html`<a rel="prev" href="${pageLink(opts.path, opts.current, { page: n - 1 })}">Previous page</a>` : ''}${n > 1 && opts.hasMore ? ' · ' : ''}${opts.hasMore ? html`<a rel="next" href="${pageLink(opts.path, opts.current, { page: n + 1 })}">Next page</a>` : ''}${n > 2 ? html` · <a href="${pageLink(opts.path, opts.current, {})}">First page</a>` : ''}</p></nav>`;
}

const PageQuery = WorklistFilters.extend({ clinicId: z.string().min(1).max(100).optional() }).strict();

const STEP_KIND_LABELS: Record<string, string> = {
  screening: 'Screening',
  clearance: 'Medical clearance',
  consent: 'Consent',
  'rems-enrollment': 'REMS enrollment',
  preparation: 'Preparation session',
  dosing: 'Dosing session',
  integration: 'Integration session',
  'rems-monitoring-form': 'REMS monitoring form',
  assessment: 'Assessment (client)',
  review: 'Safety review',
  'maintenance-decision': 'Maintenance decision',
  task: 'Task',
};
const ROLE_LABELS: Record<string, string> = { coordinator: 'Coordinator', prescriber: 'Prescriber', therapist: 'Therapist', client: 'Client', admin: 'Admin', system: 'System' };
const RISK_BADGE: Record<string, string> = { high: 'bad', moderate: 'warn', low: 'warn' };

export function worklistRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { db } = deps;
  app.get('/courses', async (req, reply) => {
    const p = principalOf(req);
    const current = formQuery(req.query);
    const f = parse(PageQuery, current, 'query');
    const now = new Date();
    const sort: WorklistSort = f.sort ?? 'due';
    const wq = { ...f, sort, clinics: clinicFilter(p, f.clinicId), open: true, limit: PAGE_SIZE };
    const [clinics, result, counts] = await Promise.all([clinicsInScope(db, p), worklistPage(db, wq, now), worklistCounts(db, wq, now)]);
    const protocols = new Map(listProtocols().map((pr) => [pr.id, pr.name]));
    const filtered = !!(f.clinicId || f.protocol || f.stepKind || f.ownerRole || f.overdue || f.onHold || f.q);

    const opt = (v: string, cur: string | undefined, label: string, n?: number) => html`<option value="${v}"${v === cur ? raw(' selected') : ''}>${label}${n !== undefined ? ` (${n})` : ''}</option>`;
    const values = (counted: Record<string, number>, known: string[], cur: string | undefined) => [...new Set([...known.filter((k) => counted[k]), ...Object.keys(counted), ...(cur ? [cur] : [])])];
    const form = html`<form method="get" action="/courses" class="filters" role="search" aria-label="Filter and search the courses">
<div><label for="wl-q">Client name</label><input id="wl-q" name="q" value="${f.q ?? ''}" placeholder="e.g. Lee or Ann Lee" autocomplete="off"></div>
${clinics.length > 1 ? html`<div><label for="wl-clinic">Clinic</label><select id="wl-clinic" name="clinicId">${opt('', f.clinicId, 'All your clinics')}${clinics.map((c) => opt(c.id, f.clinicId, c.name))}</select></div>` : ''}
<div><label for="wl-protocol">Protocol</label><select id="wl-protocol" name="protocol">${opt('', f.protocol, 'Any protocol')}${values(counts.protocol, [...protocols.keys()], f.protocol).map((id) => opt(id, f.protocol, protocols.get(id) ?? id, counts.protocol[id] ?? 0))}</select></div>
<div><label for="wl-step">Current step</label><select id="wl-step" name="stepKind">${opt('', f.stepKind, 'Any step')}${values(counts.stepKind, Object.keys(STEP_KIND_LABELS), f.stepKind).map((k) => opt(k, f.stepKind, STEP_KIND_LABELS[k] ?? k, counts.stepKind[k] ?? 0))}</select></div>
<div><label for="wl-owner">Waiting on</label><select id="wl-owner" name="ownerRole">${opt('', f.ownerRole, 'Anyone')}${values(counts.ownerRole, Object.keys(ROLE_LABELS), f.ownerRole).map((r) => opt(r, f.ownerRole, ROLE_LABELS[r] ?? r, counts.ownerRole[r] ?? 0))}</select></div>
<div><label class="check"><input type="checkbox" name="overdue" value="true"${f.overdue === 'true' ? raw(' checked') : ''}> Overdue only (${counts.overdue})</label>
<label class="check"><input type="checkbox" name="onHold" value="true"${f.onHold === 'true' ? raw(' checked') : ''}> On a safety hold only (${counts.onHold})</label></div>
<div><label for="wl-sort">Sort</label><select id="wl-sort" name="sort">${WORKLIST_SORTS.map((s) => opt(s, sort, SORT_LABELS[s]))}</select></div>
<div><button type="submit">Show</button> ${filtered ? html`<a href="/courses">Clear filters</a>` : ''}</div></form>`;

    // Sortable column headers: a link that sorts by the column (again: the other way round).
    const th = (label: string, asc?: WorklistSort, desc?: WorklistSort) => {
      if (!asc) return html`<th scope="col">${label}</th>`;
      const on = sort === asc ? 'ascending' : sort === desc ? 'descending' : null;
      const next = sort === asc && desc ? desc : asc;
      return html`<th scope="col"${on ? raw(` aria-sort="${on}"`) : ''}><a href="${pageLink('/courses', current, { sort: next })}">${label}${on === 'ascending' ? ' ▲' : on === 'descending' ? ' ▼' : ''}</a></th>`;
    };
    const rows = result.rows.map((r) => {
      const c = r.course;
      const due = c.current_step_deadline;
      const hold = r.openHolds ? html`<span class="badge bad">safety hold${r.openHolds > 1 ? ` ×${r.openHolds}` : ''}</span>` : '';
      const paused = c.status === 'paused' ? html` <span class="badge muted">paused</span>` : '';
      return html`<tr><td><a href="/clients/${c.client_id}">${r.familyName}, ${r.givenName}</a></td><td>${r.clinicName}</td><td>${protocols.get(c.protocol_id) ?? c.protocol_id}</td>
<td>${c.current_step ?? html`<span class="muted">starting</span>`}${r.stepKind ? html`<br><span class="muted">${STEP_KIND_LABELS[r.stepKind] ?? r.stepKind}</span>` : ''}</td>
<td>${r.owner.name ?? (r.owner.role ? ROLE_LABELS[r.owner.role] ?? r.owner.role : html`<span class="muted">nobody</span>`)}</td>
<td>${due ? html`<time datetime="${due.toISOString()}" title="${clinicLocalTime(due, r.timeZone)}">${relativeTime(due, now)}</time>${r.overdue ? html` <span class="badge bad">overdue</span>` : ''}<br><span class="muted">${clinicLocalTime(due, r.timeZone)}</span>` : html`<span class="muted">no deadline</span>`}</td>
<td>${c.risk_level !== 'none' ? html`<span class="badge ${RISK_BADGE[c.risk_level] ?? 'warn'}">${c.risk_level}</span>` : html`<span class="muted">none</span>`}</td><td>${hold}${paused}${!hold && !paused ? html`<span class="muted">none</span>` : ''}</td></tr>`;
    });

    const hidden = [
      f.q ? `named “${f.q}…”` : null,
      f.clinicId ? `in ${clinics.find((c) => c.id === f.clinicId)?.name ?? f.clinicId}` : null,
      f.protocol ? `on ${protocols.get(f.protocol) ?? f.protocol}` : null,
      f.stepKind ? `at a ${(STEP_KIND_LABELS[f.stepKind] ?? f.stepKind).toLowerCase()} step` : null,
      f.ownerRole ? `waiting on the ${f.ownerRole}` : null,
      f.overdue === 'true' ? 'overdue' : null,
      f.onHold === 'true' ? 'on a safety hold' : null,
    ].filter(Boolean);
    let empty: SafeHtml = html``;
    if (!result.rows.length) {
      if (f.page > 1 && counts.total > 0) empty = html`<p class="empty">This page is past the end of the list. <a href="${pageLink('/courses', current, {})}">Back to the first page</a>.</p>`;
      else if (filtered) {
        const all = (await worklistCounts(db, { clinics: clinicFilter(p), open: true, limit: PAGE_SIZE }, now)).total;
        empty = html`<p class="empty">No open course ${hidden.join(', ')}. ${all ? html`The filters hide all ${all.toLocaleString('en')} open courses in your clinics: <a href="/courses">clear the filters</a>.` : 'There are no open courses in your clinics at all.'}</p>`;
      } else empty = html`<p class="empty">No open courses in your clinics. Enroll a client from their page under <a href="/clients">Clients</a>.</p>`;
    }
    const summary = `${counts.total.toLocaleString('en')} open course${counts.total === 1 ? '' : 's'}${hidden.length ? ` ${hidden.join(', ')}` : ''}: ${counts.overdue.toLocaleString('en')} overdue, ${counts.onHold.toLocaleString('en')} on a safety hold${filtered ? ' (with the other filters)' : ''}.`;
    const body = html`${form}<p role="status">${summary}</p>
${result.rows.length ? html`<table class="responsive" id="worklist"><caption>Open courses, ${SORT_LABELS[sort].toLowerCase()}. Due times are relative to now; the clinic's local time is below each.</caption><thead><tr>${th('Client', 'name', '-name')}${th('Clinic')}${th('Protocol')}${th('Current step')}${th('Waiting on')}${th('Due', 'due', '-due')}${th('Risk', 'risk')}${th('Hold')}</tr></thead><tbody>${rows}</tbody></table>` : empty}
${pager({ path: '/courses', current, page: f.page, pageSize: PAGE_SIZE, shown: result.rows.length, total: counts.total, hasMore: result.hasMore, label: 'courses' })}`;
    return reply.type('text/html; charset=utf-8').send(page({ title: 'Courses', principal: p, active: '/courses' }, body));
  });
}

// ---- The client list (GET /clients in dashboard.ts): paged, natural name order, course status ----
const COURSE_STATE_LABELS: Record<CourseState, string> = { open: 'In an open course', ended: 'Course ended', never: 'Never enrolled' };

export function clientListHtml(f: z.infer<typeof ClientListQuery>, current: Record<string, string>, list: Awaited<ReturnType<typeof clientListPage>>, clinics: Array<{ id: string; name: string }>, now = new Date()): SafeHtml {
  const opt = (v: string, cur: string | undefined, label: string) => html`<option value="${v}"${v === cur ? raw(' selected') : ''}>${label}</option>`;
  const { counts } = list;
  const shownTotal = f.course ? counts[f.course] : counts.total;
  const clinicName = new Map(clinics.map((c) => [c.id, c.name]));
  const protocols = new Map(listProtocols().map((pr) => [pr.id, pr.name]));
  const form = html`<form method="get" action="/clients" class="filters" role="search" aria-label="Search and filter clients">
<div><label for="q">Search by name, email or reference</label><input id="q" name="q" value="${f.q ?? ''}"></div>
${clinics.length > 1 ? html`<div><label for="cl-clinic">Clinic</label><select id="cl-clinic" name="clinicId">${opt('', f.clinicId, 'All your clinics')}${clinics.map((c) => opt(c.id, f.clinicId, c.name))}</select></div>` : ''}
<div><label for="cl-course">Course</label><select id="cl-course" name="course">${opt('', f.course, `Any (${counts.total})`)}${COURSE_STATES.map((s) => opt(s, f.course, `${COURSE_STATE_LABELS[s]} (${counts[s]})`))}</select></div>
<div><label for="cl-sort">Sort</label><select id="cl-sort" name="sort">${CLIENT_SORTS.map((s) => opt(s, list.sort, CLIENT_SORT_LABELS[s]))}</select></div>
<div><button type="submit">Search</button>${f.q || f.course || f.clinicId ? html` <a href="/clients">Clear</a>` : ''}</div></form>`;
  const courseCell = (r: (typeof list.rows)[number]) => {
    const c = r.course;
    if (!c) return html`<span class="muted">never enrolled</span>`;
    const name = protocols.get(c.protocolId) ?? c.protocolId;
    if (c.endedAt) return html`<span class="badge muted">${c.status}</span> ${name}, ended ${relativeTime(c.endedAt, now)}`;
    const overdue = c.deadline && c.deadline.getTime() < now.getTime();
    return html`<span class="badge ${c.status === 'active' ? 'ok' : 'muted'}">${c.status}</span>${c.riskLevel !== 'none' ? html` <span class="badge ${c.riskLevel === 'high' ? 'bad' : 'warn'}">risk: ${c.riskLevel}</span>` : ''} ${name} · ${c.currentStep ?? 'starting'}${c.deadline ? html`, due <time datetime="${c.deadline.toISOString()}">${relativeTime(c.deadline, now)}</time>` : ''}${overdue ? html` <span class="badge bad">overdue</span>` : ''}`;
  };
  const hidden = [f.q ? `matching “${f.q}”` : null, f.clinicId ? `in ${clinicName.get(f.clinicId) ?? f.clinicId}` : null, f.course ? COURSE_STATE_LABELS[f.course].toLowerCase() : null].filter(Boolean);
  let empty: SafeHtml = html``;
  if (!list.rows.length) {
    if (f.page > 1 && shownTotal > 0) empty = html`<p class="empty">This page is past the end of the list. <a href="${pageLink('/clients', current, {})}">Back to the first page</a>.</p>`;
    else if (hidden.length) empty = html`<p class="empty">No clients ${hidden.join(', ')}.${f.course && counts.total ? html` ${counts.total} ${counts.total === 1 ? 'client matches' : 'clients match'} the rest of the search: <a href="${pageLink('/clients', current, { course: undefined })}">show every course status</a>.` : html` <a href="/clients">Show every client</a>.`}</p>`;
    else empty = html`<p class="empty">No clients yet.</p>`;
  }
  return html`${form}<p role="status">${shownTotal.toLocaleString('en')} client${shownTotal === 1 ? '' : 's'}${hidden.length ? ` ${hidden.join(', ')}` : ''}: ${counts.open.toLocaleString('en')} in an open course, ${counts.ended.toLocaleString('en')} whose course ended, ${counts.never.toLocaleString('en')} never enrolled${f.course ? ' (before the course filter)' : ''}.</p>
${list.rows.length ? html`<table class="responsive" id="clients"><caption>Clients, ${CLIENT_SORT_LABELS[list.sort].toLowerCase()}</caption><thead><tr><th scope="col">Name</th><th scope="col">Clinic</th><th scope="col">Course</th><th scope="col">Email</th><th scope="col">Added</th></tr></thead><tbody>${list.rows.map(
    (r) => html`<tr><td><a href="/clients/${r.client.id}">${r.client.family_name}, ${r.client.given_name}</a></td><td>${clinicName.get(r.client.clinic_id) ?? r.client.clinic_id}</td><td>${courseCell(r)}</td><td>${r.client.email}</td><td><time datetime="${r.client.created_at.toISOString()}">${r.client.created_at.toISOString().slice(0, 10)}</time></td></tr>`,
  )}</tbody></table>` : empty}
${pager({ path: '/clients', current, page: f.page, pageSize: PAGE_SIZE, shown: list.rows.length, total: shownTotal, hasMore: list.hasMore, label: 'clients' })}`;
}

// ---- The assessments page (GET /assessments in dashboard.ts): counts per status, paged sections ----
const ASSESSMENT_STATES = ['overdue', 'missed', 'due-soon', 'awaiting'] as const;
type AssessmentState = (typeof ASSESSMENT_STATES)[number];
const ASSESSMENT_SECTIONS: Record<AssessmentState, { title: string; short: string; empty: string }> = {
  overdue: { title: 'Overdue: unanswered for more than a day', short: 'Overdue', empty: 'Nothing overdue' },
  missed: { title: 'Missed in the last 30 days', short: 'Missed (30 days)', empty: 'No missed assessments' },
  'due-soon': { title: 'Due soon: no assessment for 12 days or more', short: 'Due soon', empty: 'No course is due an assessment' },
  awaiting: { title: 'Sent, awaiting answers', short: 'Awaiting answers', empty: 'Nothing awaiting answers' },
};
/** Rows per section on the overview (every section); a chosen status pages by PAGE_SIZE. */
const OVERVIEW_ROWS = 10;

export const AssessmentsQuery = z.strictObject({
  status: z.enum(ASSESSMENT_STATES).optional(),
  clinicId: z.string().min(1).max(100).optional(),
  q: z.string().trim().min(1).max(100).optional(),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
});

export function assessmentsHtml(p: Principal, f: z.infer<typeof AssessmentsQuery>, current: Record<string, string>, all: AssessmentQueueItem[], clinics: Array<{ id: string; name: string }>): SafeHtml {
  const needle = f.q?.toLowerCase();
  const items = needle ? all.filter((i) => i.clientName.toLowerCase().includes(needle)) : all;
  const counts = Object.fromEntries(ASSESSMENT_STATES.map((s) => [s, items.filter((i) => i.status === s).length])) as Record<AssessmentState, number>;
  const clinicName = new Map(clinics.map((c) => [c.id, c.name]));
  const opt = (v: string, cur: string | undefined, label: string) => html`<option value="${v}"${v === cur ? raw(' selected') : ''}>${label}</option>`;
  const form = html`<form method="get" action="/assessments" class="filters" role="search" aria-label="Filter assessments">
<div><label for="as-q">Client name</label><input id="as-q" name="q" value="${f.q ?? ''}" autocomplete="off"></div>
${clinics.length > 1 ? html`<div><label for="as-clinic">Clinic</label><select id="as-clinic" name="clinicId">${opt('', f.clinicId, 'All your clinics')}${clinics.map((c) => opt(c.id, f.clinicId, c.name))}</select></div>` : ''}
<div><label for="as-status">Show</label><select id="as-status" name="status">${opt('', f.status, `Every status (${items.length})`)}${ASSESSMENT_STATES.map((s) => opt(s, f.status, `${ASSESSMENT_SECTIONS[s].short} (${counts[s]})`))}</select></div>
<div><button type="submit">Show</button>${f.q || f.status || f.clinicId ? html` <a href="/assessments">Clear</a>` : ''}</div></form>`;
  const hidden = [f.q ? `for clients named “${f.q}”` : null, f.clinicId ? `in ${clinicName.get(f.clinicId) ?? f.clinicId}` : null].filter(Boolean).join(' ');
  const table = (list: AssessmentQueueItem[]) => html`<table class="responsive"><thead><tr><th scope="col">Client</th><th scope="col">Clinic</th><th scope="col">Instruments</th><th scope="col">Status</th><th scope="col">Expires</th><th scope="col">Send now</th></tr></thead><tbody>${list.map(
    (i) => html`<tr><td><a href="/clients/${i.clientId}">${i.clientName}</a></td><td>${clinicName.get(i.clinicId) ?? i.clinicId}</td><td>${i.instruments.join(', ') || 'PHQ-9, GAD-7'}</td><td>${i.note}</td><td>${i.expiresAt ? html`<time datetime="${i.expiresAt}">${relativeTime(new Date(i.expiresAt))}</time>` : ''}</td>
<td><form method="post" action="/courses/${i.courseId}/actions/send-assessment" class="inline">${csrfField(p)}<input type="hidden" name="_back" value="/assessments"><button type="submit">Send now</button></form></td></tr>`,
  )}</tbody></table>`;
  const emptyText = (s: AssessmentState) => html`<p class="empty">${ASSESSMENT_SECTIONS[s].empty}${hidden ? ` ${hidden}` : ''}.${hidden && all.some((i) => i.status === s) ? html` <a href="${pageLink('/assessments', current, { q: undefined, clinicId: undefined })}">Clear the filters</a> to see the ${all.filter((i) => i.status === s).length} in your clinics.` : ''}</p>`;
  if (f.status) {
    const list = items.filter((i) => i.status === f.status);
    const pageRows = list.slice((f.page - 1) * PAGE_SIZE, f.page * PAGE_SIZE);
    return html`<p>Follow-up measurement (PHQ-9, GAD-7) keeps the pathway honest. "Send now" emails the client a new assessment link at once.</p>${form}
<h2>${ASSESSMENT_SECTIONS[f.status].title} (${list.length})</h2>${pageRows.length ? table(pageRows) : list.length ? html`<p class="empty">This page is past the end of the list. <a href="${pageLink('/assessments', current, {})}">Back to the first page</a>.</p>` : emptyText(f.status)}
${pager({ path: '/assessments', current, page: f.page, pageSize: PAGE_SIZE, shown: pageRows.length, total: list.length, hasMore: f.page * PAGE_SIZE < list.length, label: ASSESSMENT_SECTIONS[f.status].short.toLowerCase() })}
<p><a href="${pageLink('/assessments', current, { status: undefined })}">Every status</a></p>`;
  }
  const section = (s: AssessmentState) => {
    const list = items.filter((i) => i.status === s);
    return html`<h2>${ASSESSMENT_SECTIONS[s].title} (${list.length})</h2>${list.length ? html`${table(list.slice(0, OVERVIEW_ROWS))}${list.length > OVERVIEW_ROWS ? html`<p><a href="${pageLink('/assessments', current, { status: s })}">Show all ${list.length} ${ASSESSMENT_SECTIONS[s].short.toLowerCase()}</a>, ${PAGE_SIZE} a page</p>` : ''}` : emptyText(s)}`;
  };
  return html`<p>Follow-up measurement (PHQ-9, GAD-7) keeps the pathway honest. "Send now" emails the client a new assessment link at once.</p>${form}
${ASSESSMENT_STATES.map(section)}`;
}

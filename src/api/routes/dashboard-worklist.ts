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
import type { AppDeps } from '../context';
import { html, page, raw, type SafeHtml } from '../html';
import { parse } from '../validation';
import { clinicLocalTime, relativeTime, SORT_LABELS, WORKLIST_SORTS, WorklistFilters, worklistCounts, worklistPage, type WorklistSort } from '../worklist';

export const PAGE_SIZE = 50;

/** A query string from a form: empty fields dropped (a select left at "Any" sends ""). */
export function formQuery(query: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((query ?? {}) as Record<string, unknown>)) {
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

export async function clinicsInScope(deps: AppDeps, p: Principal) {
  const ids = clinicFilter(p);
  let q = deps.db.selectFrom('clinics').select(['id', 'name']).orderBy('name');
  if (ids) q = ids.length ? q.where('id', 'in', ids) : q.where(({ lit }) => lit(false));
  return q.execute();
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
    const [clinics, result, counts] = await Promise.all([clinicsInScope(deps, p), worklistPage(db, wq, now), worklistCounts(db, wq, now)]);
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

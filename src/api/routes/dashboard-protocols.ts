// Dashboard pages for a clinic's own pathways (issue #21): the protocols (templates and the clinics'
// own versions, drafts and the version in use), and one protocol as a readable timeline of its phases
// and steps (who, when, what happens if late), not as JSON; for a draft also its problems with their
// paths, the guard rails it breaks with their rule and source, what it changes against the version in
// use, its rehearsal, and the publish form (a clinic's admins). A template can be copied into a draft.
// Editing stays an upload (API, `kap protocol draft --edit`). Scope: src/auth/scope.ts.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { actorDetail, actorOf, assertRecordInScope, clinicFilter, type Principal } from '../../auth/roles';
import { createDraft, getDraft, getPublished, listClinicProtocols, publishDraft } from '../../client/protocol-store';
import type { Protocol, ProtocolPhase, ProtocolStep } from '../../domain/protocol';
import { diffProtocols } from '../../domain/protocol-diff';
import { checkGuardRails } from '../../domain/protocol-guard-rails';
import { getProtocol, listProtocols } from '../../domain/protocol-registry';
import { AppError } from '../../errors';
import { principalOf } from '../auth';
import type { AppDeps } from '../context';
import { csrfField, html, page, type SafeHtml } from '../html';

const send = (reply: FastifyReply, body: string, status = 200) => reply.code(status).type('text/html; charset=utf-8').send(body);
const flashFrom = (req: FastifyRequest) => {
  const q = req.query as Record<string, unknown>;
  if (typeof q.ok === 'string' && q.ok.length <= 2000) return { kind: 'ok' as const, text: q.ok };
  if (typeof q.error === 'string' && q.error.length <= 2000) return { kind: 'error' as const, text: q.error };
  return null;
};
const actor = (p: Principal) => ({ ...actorOf(p), detail: actorDetail(p) });
const hours = (h: number | undefined) => (h === undefined ? 'no deadline' : h % 24 === 0 && h >= 48 ? `${h / 24} days (${h} h)` : `${h} h`);
const ROLE_NAMES: Record<string, string> = { coordinator: 'the coordinator', prescriber: 'the prescriber', therapist: 'the therapist', client: 'the client', admin: 'the clinic admin', owner: 'the step owner' };

/** What happens when a step is late: the protocol's escalation ladder, in words. */
function ifLate(p: Protocol): string {
  return `${p.escalation.levels.map((l) => `${l.afterBreachHours === 0 ? 'at the deadline' : `${l.afterBreachHours} h after it`} ${ROLE_NAMES[l.notify] ?? l.notify} is told`).join(', then ')}; the step shows on the stuck board`;
}

function when(p: Protocol, phase: ProtocolPhase, step: ProtocolStep, index: number): string {
  const c = p.course;
  if (phase.repeat === 'per-dosing-session') {
    if (step.kind === 'dosing') return `each dose on its target day (days ${c.doseScheduleDays.join(', ')} from the first dose; ${c.minDaysBetweenDoses}-${c.maxDaysBetweenDoses} days apart)`;
    if (step.kind === 'integration') return `after each dose, within ${hours(c.integrationWindowHours)}`;
    if (step.kind === 'rems-monitoring-form') return `after each session, the REMS form within ${hours(p.rems?.monitoringFormDeadlineHours)}`;
    return 'after each dose';
  }
  if (phase.repeat === 'per-preparation-session') return `${c.preparationSessions} session(s), one after another`;
  if (phase.repeat === 'per-follow-up') return `${p.assessments.followUps.map((f) => `day ${f.afterCourseDays}`).join(', ')} after the last dose`;
  return index === 0 ? 'when the phase begins' : 'after the step before it';
}

function instrumentsAt(p: Protocol, step: ProtocolStep): string {
  const a = p.assessments;
  switch (step.assessmentPoint) {
    case 'baseline':
      return a.baseline.join(', ');
    case 'before-dose':
      return a.beforeEachDose.join(', ');
    case 'after-course':
      return a.afterCourse.join(', ');
    case 'follow-up':
      return [...new Set(a.followUps.flatMap((f) => f.instruments))].join(', ');
    default:
      return '';
  }
}

/** A protocol as a readable timeline: phases in order, each step with who, when, its deadline and what if late. */
export function protocolTimeline(p: Protocol): SafeHtml {
  const late = ifLate(p);
  return html`<ol class="timeline" aria-label="Phases and steps">${p.phases.map(
    (phase, i) => html`<li class="card"><h3>${i + 1}. ${phase.name}${phase.repeat === 'once' ? '' : html` <span class="badge muted">${phase.repeat.replace(/^per-/, 'for each ').replace(/-/g, ' ')}</span>`}</h3>
<table class="responsive"><thead><tr><th scope="col">Step</th><th scope="col">Who</th><th scope="col">When</th><th scope="col">Due within</th><th scope="col">If late</th></tr></thead><tbody>${phase.steps.map((st, j) => {
      const inst = instrumentsAt(p, st);
      return html`<tr><td><strong>${st.name}</strong> <span class="muted">(${st.kind})</span>${inst ? html`<br><span class="muted">assessments: ${inst}</span>` : ''}</td><td>${st.waitsOn === 'system' ? 'the system' : (ROLE_NAMES[st.owner ?? ''] ?? st.owner ?? 'not set')}</td><td>${when(p, phase, st, j)}</td><td>${st.waitsOn === 'system' ? '' : hours(st.deadlineHours)}</td><td>${st.waitsOn === 'system' ? '' : late}</td></tr>`;
    })}</tbody></table></li>`,
  )}</ol>
<section class="card"><h3>Safety at each dose</h3><ul>
<li>Dose held if blood pressure is above ${p.safety.bloodPressure.maxSystolic}/${p.safety.bloodPressure.maxDiastolic} mmHg; readings at ${p.safety.bloodPressure.checkMinutes.map((m) => (m === 'discharge' ? 'discharge' : `${m} min`)).join(', ')}</li>
<li>Fasting: food ${p.safety.fasting.foodHours} h, clear liquids ${p.safety.fasting.clearLiquidsHours} h; escort ${p.safety.escortRequired ? 'required' : 'not required'}; no driving for ${p.safety.noDrivingHours} h</li>
<li>At least ${p.safety.minMonitoringMinutes} min on site after dosing starts</li>
<li>Before each dose: ${p.assessments.beforeEachDose.join(', ') || 'no assessments'}; safety alerts go to ${p.escalation.safetyAlertRoles.join(', ')}</li>
</ul></section>`;
}

const ClinicProtocolParams = z.strictObject({ clinicId: z.string().min(1).max(100), protocolId: z.string().regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/).max(100) });
const DraftForm = z.object({ template: z.string().min(1).max(100), reason: z.string().trim().min(1).max(500), protocolId: z.string().max(100).optional().transform((v) => v || undefined) });
const PublishForm = z.object({ reason: z.string().trim().min(1).max(500), hash: z.string().max(64).optional() });

export function dashboardProtocolRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { db } = deps;

  app.get('/protocols', async (req, reply) => {
    const p = principalOf(req);
    const ids = clinicFilter(p);
    let cq = db.selectFrom('clinics').select(['id', 'name']).where('id', 'not in', db.selectFrom('sandbox_clinics').select('clinic_id')).orderBy('name');
    if (ids) cq = ids.length ? cq.where('id', 'in', ids) : cq.where(({ lit }) => lit(false));
    const [clinics, own] = await Promise.all([cq.execute(), listClinicProtocols(db, ids)]);
    const canDraft = p.role === 'admin' || p.role === 'coordinator';
    const templates = listProtocols();
    const body = html`<p>The shipped protocols are templates: copy one into a draft for your clinic, change it (upload, or <code>kap protocol draft --edit</code>), check it, rehearse it, and a clinic admin publishes it. New enrolments then follow the published version; running courses keep theirs.</p>
<h2>Your clinics' protocols</h2>
${own.length ? html`<table class="responsive" id="clinic-protocols"><thead><tr><th scope="col">Clinic</th><th scope="col">Protocol</th><th scope="col">In use</th><th scope="col">Versions</th><th scope="col">Draft</th></tr></thead><tbody>${own.map(
      (c) => html`<tr><td>${c.clinicId}</td><td><a href="/protocols/${c.clinicId}/${c.protocolId}">${c.name}</a> <span class="muted">${c.protocolId}</span></td><td>${c.inUse ? `v${c.inUse}` : 'the template'}</td><td>${c.versions.map((v) => `v${v.version}`).join(', ') || 'none yet'}</td><td>${c.draft ? html`<a href="/protocols/${c.clinicId}/${c.protocolId}?version=draft">draft v${c.draft.version}</a>` : ''}</td></tr>`,
    )}</tbody></table>` : html`<p class="empty">No protocols of your own yet: every enrolment follows a template.</p>`}
<h2>Templates</h2>
<table class="responsive" id="templates"><thead><tr><th scope="col">Template</th><th scope="col">Modality</th>${canDraft ? html`<th scope="col">Copy into a draft</th>` : ''}</tr></thead><tbody>${templates.map(
      (t) => html`<tr><td><a href="/protocols/${clinics[0]?.id ?? '-'}/${t.id}?version=template">${t.name}</a> <span class="muted">${t.id} v${t.version}</span></td><td>${t.modality}</td>${
        canDraft && clinics.length
          ? html`<td><form method="post" action="/protocols/${clinics[0]!.id}/drafts" class="inline">${csrfField(p)}<input type="hidden" name="template" value="${t.id}">${
              clinics.length > 1 ? html`<label class="sr-only" for="clinic-${t.id}">Clinic</label><select id="clinic-${t.id}" name="clinicId">${clinics.map((c) => html`<option value="${c.id}">${c.name}</option>`)}</select>` : ''
            }<label class="sr-only" for="reason-${t.id}">Why</label><input id="reason-${t.id}" name="reason" required maxlength="500" placeholder="why (for the audit log)"> <button type="submit" class="secondary">Copy</button></form></td>`
          : canDraft
            ? html`<td></td>`
            : ''
      }</tr>`,
    )}</tbody></table>`;
    return send(reply, page({ title: 'Protocols', principal: p, active: '/protocols', flash: flashFrom(req) }, body));
  });

  app.get('/protocols/:clinicId/:protocolId', async (req, reply) => {
    const p = principalOf(req);
    const params = ClinicProtocolParams.safeParse(req.params);
    if (!params.success) throw new AppError('not_found', 'protocol not found');
    const { clinicId, protocolId } = params.data;
    assertRecordInScope(p, clinicId, `clinic ${clinicId}`);
    const clinic = await db.selectFrom('clinics').select(['id', 'name']).where('id', '=', clinicId).executeTakeFirst();
    if (!clinic) throw new AppError('not_found', `clinic ${clinicId} not found`);
    const want = String((req.query as Record<string, unknown>).version ?? '');
    const summary = (await listClinicProtocols(db, [clinicId])).find((s) => s.protocolId === protocolId);
    const template = getProtocol(protocolId);
    let shown: { label: string; protocol: Protocol; kind: 'draft' | 'version' | 'template' } | undefined;
    let draft: Awaited<ReturnType<typeof getDraft>> | undefined;
    if ((want === 'draft' || want === '') && summary?.draft) {
      draft = await getDraft(db, clinicId, protocolId);
      shown = { label: `draft v${draft.version}`, protocol: draft.definition, kind: 'draft' };
    } else if (/^\d+$/.test(want) || (want === '' && summary?.inUse)) {
      const v = await getPublished(db, clinicId, protocolId, want ? Number(want) : summary!.inUse!);
      if (v) shown = { label: `v${v.version}${v.version === summary?.inUse ? ' (in use)' : ''}`, protocol: v.definition, kind: 'version' };
    }
    if (!shown && template && (want === 'template' || want === '' || !summary)) shown = { label: `template v${template.version}`, protocol: template, kind: 'template' };
    if (!shown) throw new AppError('not_found', `protocol ${protocolId} not found`);
    const pr = shown.protocol;
    const versions = html`<p>Versions: ${[
      ...(summary?.versions ?? []).map((v) => html`<a href="/protocols/${clinicId}/${protocolId}?version=${v.version}">v${v.version}</a>${v.version === summary?.inUse ? ' (in use)' : ''}`),
      ...(summary?.draft ? [html`<a href="/protocols/${clinicId}/${protocolId}?version=draft">draft v${summary.draft.version}</a>`] : []),
      ...(template ? [html`<a href="/protocols/${clinicId}/${protocolId}?version=template">template</a>`] : []),
    ].flatMap((x, i) => (i ? [html` · `, x] : [x]))}</p>`;
    let draftPart: SafeHtml = html``;
    if (draft) {
      const rails = checkGuardRails(draft.definition);
      const r = draft.rehearsal as { passed?: boolean; hash?: string; clients?: number; matched?: number; reasons?: string[]; stuck?: Array<{ step: string; owner: string | null; times: number }>; emailsPerClient?: { min: number; max: number; mean: number } } | null;
      const rehearsedNow = r && r.hash === draft.hash;
      const canPublish = p.role === 'admin' && draft.problems.length === 0 && rails.length === 0;
      draftPart = html`<section class="card" id="check"><h2>Check</h2>
${draft.problems.length ? html`<p class="error">${draft.problems.length} problem(s):</p><ul>${draft.problems.map((x) => html`<li><code>${x.path}</code>: ${x.message}</li>`)}</ul>` : html`<p><span class="badge ok">no problems</span></p>`}
${rails.length ? html`<p class="error">Breaks the clinical floor: it cannot be rehearsed or published.</p><ul id="guard-rails">${rails.map((g) => html`<li><strong>${g.rule}</strong> at <code>${g.path}</code>: ${g.message}<br><span class="muted">Source: ${g.source}</span></li>`)}</ul>` : html`<p><span class="badge ok">every guard rail kept</span></p>`}
</section>
<section class="card" id="changes"><h2>What changes${draft.comparedWith ? ` against ${draft.comparedWith}` : ''}</h2>${draft.changes.length ? html`<ul>${draft.changes.map((c) => html`<li>${c.text}</li>`)}</ul>` : html`<p class="empty">No changes.</p>`}</section>
<section class="card" id="rehearsal"><h2>Rehearsal</h2>${
        rehearsedNow
          ? html`<p>${r!.passed ? html`<span class="badge ok">passed</span>` : html`<span class="badge bad">did not pass</span>`} ${r!.matched ?? '?'}/${r!.clients ?? '?'} synthetic clients ended as their profile predicts${r!.emailsPerClient ? `; ${r!.emailsPerClient.min}-${r!.emailsPerClient.max} emails per client` : ''}.</p>${(r!.reasons ?? []).length ? html`<ul>${r!.reasons!.map((x) => html`<li>${x}</li>`)}</ul>` : ''}${(r!.stuck ?? []).length ? html`<p>Past their deadline (the stuck board): ${r!.stuck!.map((s) => `${s.step} (${s.owner}) ${s.times}×`).join('; ')}</p>` : ''}`
          : html`<p class="empty">Not rehearsed in this version. Run <code>kap protocol rehearse ${protocolId} --clinic ${clinicId} --clients 50</code>.</p>`
      }</section>
${canPublish ? html`<form method="post" action="/protocols/${clinicId}/${protocolId}/publish" class="card" id="publish">${csrfField(p)}<input type="hidden" name="hash" value="${draft.hash}"><h2>Publish</h2><p>New enrolments of ${clinic.name} will follow this version; running courses keep theirs.${rehearsedNow && r!.passed ? '' : ' It needs a passing rehearsal first.'}</p><label for="publish-reason">Why</label><input id="publish-reason" name="reason" required maxlength="500"> <button type="submit">Publish draft v${draft.version}</button></form>` : ''}`;
    } else if (shown.kind === 'version' && summary?.inUse && shown.protocol.version !== summary.inUse) {
      const inUse = await getPublished(db, clinicId, protocolId, summary.inUse);
      if (inUse) {
        const changes = diffProtocols(inUse.definition, pr);
        draftPart = html`<section class="card" id="changes"><h2>Against v${summary.inUse} (in use)</h2>${changes.length ? html`<ul>${changes.map((c) => html`<li>${c.text}</li>`)}</ul>` : html`<p class="empty">No changes.</p>`}</section>`;
      }
    }
    const body = html`<p>${clinic.name} · <strong>${pr.name}</strong> <span class="muted">${protocolId}</span> · showing ${shown.label}</p>${versions}
${pr.description ? html`<p>${pr.description}</p>` : ''}
<p>${pr.course.preparationSessions} preparation session(s), ${pr.course.dosingSessions} dose(s)${pr.course.integrationWindowHours ? `, integration within ${pr.course.integrationWindowHours} h of each dose` : ''}; follow-ups ${pr.assessments.followUps.map((f) => `day ${f.afterCourseDays}`).join(', ') || 'none'} after the last dose.</p>
${draftPart}
<h2>Timeline</h2>${protocolTimeline(pr)}`;
    return send(reply, page({ title: `Protocol ${protocolId}`, principal: p, active: '/protocols', flash: flashFrom(req) }, body));
  });

  app.post('/protocols/:clinicId/drafts', async (req, reply) => {
    const p = principalOf(req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const clinicId = typeof body.clinicId === 'string' && body.clinicId ? body.clinicId : String((req.params as { clinicId?: string }).clinicId ?? '');
    assertRecordInScope(p, clinicId, `clinic ${clinicId}`);
    const back = (kind: 'ok' | 'error', text: string, to = '/protocols') => reply.redirect(`${to}?${kind}=${encodeURIComponent(text)}`, 303);
    const form = DraftForm.safeParse(body);
    if (!form.success) return back('error', form.error.issues.map((i) => `${i.path.join('.') || 'form'}: ${i.message}`).join('; '));
    try {
      const d = await createDraft(db, actor(p), { clinicId, source: { template: form.data.template }, ...(form.data.protocolId ? { protocolId: form.data.protocolId } : {}), reason: form.data.reason });
      return back('ok', `Draft v${d.version} of ${d.protocolId} started from the template.`, `/protocols/${clinicId}/${d.protocolId}`);
    } catch (err) {
      if (err instanceof AppError && err.code !== 'not_found') return back('error', err.message);
      throw err;
    }
  });

  app.post('/protocols/:clinicId/:protocolId/publish', async (req, reply) => {
    const p = principalOf(req);
    const params = ClinicProtocolParams.safeParse(req.params);
    if (!params.success) throw new AppError('not_found', 'protocol not found');
    const { clinicId, protocolId } = params.data;
    assertRecordInScope(p, clinicId, `clinic ${clinicId}`);
    const to = `/protocols/${clinicId}/${protocolId}`;
    const back = (kind: 'ok' | 'error', text: string) => reply.redirect(`${to}?${kind}=${encodeURIComponent(text)}`, 303);
    const form = PublishForm.safeParse(req.body ?? {});
    if (!form.success) return back('error', form.error.issues.map((i) => `${i.path.join('.') || 'form'}: ${i.message}`).join('; '));
    try {
      const v = await publishDraft(db, actor(p), { clinicId, protocolId, reason: form.data.reason, ...(form.data.hash ? { hash: form.data.hash } : {}) });
      return back('ok', `Published v${v.version}: new enrolments follow it; running courses keep their version.`);
    } catch (err) {
      if (err instanceof AppError && err.code !== 'not_found') return back('error', `${err.message}${err.problems.length ? ` (${err.problems.map((x) => x.field).join(', ')})` : ''}`);
      throw err;
    }
  });
}

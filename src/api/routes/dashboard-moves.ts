// The dashboard's "move a course to another version" page (issue #21 item 4): from the client page's
// "Move to version N" link, the preview in words (steps added, removed, re-timed from where the course
// stands; done steps kept), the reason it may not move now when it may not, and a confirm form with
// the reason. The move is the `move-version` staff action (src/api/actions.ts loads the target version
// from the clinic's store); the preview is src/api/course-moves.ts, the rule src/domain/protocol-move.ts.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ACTIONS } from '../../domain/actions/catalogue';
import { AppError } from '../../errors';
import { performAction } from '../actions';
import { principalOf } from '../auth';
import type { AppDeps } from '../context';
import { previewCourseMove, type CourseMovePreview } from '../course-moves';
import { fieldError, invalidAttrs, problemsFor, refusal, submissionField, submissionOf, valueOf, type FormState } from '../form-state';
import { csrfField, html, page, type SafeHtml } from '../html';
import { parse } from '../validation';

const send = (reply: FastifyReply, body: string, status = 200) => reply.code(status).type('text/html; charset=utf-8').send(body);
const Params = z.object({ id: z.string().min(1).max(100) });
const Query = z.object({ version: z.coerce.number().int().min(1).max(1_000_000).optional() });
const MoveForm = z.object({ version: z.coerce.number().int().min(1).max(1_000_000), reason: z.string().default('') });

function list(title: string, id: string, items: readonly { text: string }[], empty: string): SafeHtml {
  return html`<h2 id="${id}">${title}</h2>${items.length ? html`<ul>${items.map((i) => html`<li>${i.text}</li>`)}</ul>` : html`<p class="muted">${empty}</p>`}`;
}

function previewHtml(pv: CourseMovePreview, csrf: SafeHtml, state?: FormState): SafeHtml {
  const refused = pv.refusals.length
    ? html`<div class="flash error" role="alert" id="refusals"><strong>This course cannot move now:</strong><ul>${pv.refusals.map((r) => html`<li>${r.message}</li>`)}</ul></div>`
    : html``;
  const others = pv.versions.filter((v) => v !== pv.currentVersion && `${pv.from.split('@')[0]}@${v}` !== pv.to);
  const versions = others.length ? html`<p>Other published versions: ${others.map((v, i) => html`${i ? ', ' : ''}<a href="/courses/${pv.courseId}/move?version=${v}">version ${v}</a>`)}</p>` : html``;
  if (!pv.to) return html`${refused}<p><a href="/clients/${pv.clientId}">Back to the client</a></p>`;
  const rp = problemsFor(state, 'reason');
  const failed = state && !state.problems.length ? html`<p class="field-error" role="alert">Not moved: ${state.message}</p>` : html``;
  const form = pv.allowed
    ? html`<form method="post" action="/courses/${pv.courseId}/move" class="card" id="move-form">${csrf}${submissionField()}<input type="hidden" name="version" value="${pv.to.split('@')[1]}">${failed}
<label for="move-reason">Reason (in the audit log and on the course's timeline)</label><textarea id="move-reason" name="reason" required${invalidAttrs('move-reason', rp)}>${valueOf(state, 'reason') ?? ''}</textarea>${fieldError('move-reason', rp)}
<p><button type="submit">Move to ${pv.to}</button></p></form>`
    : html``;
  const retimedCount = pv.retimed.length;
  return html`${refused}<p>The course follows <strong>${pv.from}</strong>. Moving it to <strong>${pv.to}</strong> changes, from where it stands:</p>
${list('Steps added', 'added', pv.added, 'No step is added.')}
${list('Steps removed (cancelled)', 'removed', pv.removed, 'No pending or open step is removed.')}
${list(`Steps re-timed${retimedCount ? ` (${retimedCount})` : ''}`, 'retimed', pv.retimed, 'No deadline or schedule changes for the steps still to come.')}
<h2 id="kept">Already done</h2><p>${pv.unchangedDone.length ? `${pv.unchangedDone.length} done step${pv.unchangedDone.length === 1 ? ' stays' : 's stay'} as ${pv.unchangedDone.length === 1 ? 'it is' : 'they are'}.` : 'No step is done yet.'}${pv.keptDone.length ? html` Not in ${pv.to}, kept in the record: ${pv.keptDone.map((s) => s.name).join(', ')}.` : ''}</p>
${versions}${form}<p><a href="/clients/${pv.clientId}">Back to the client</a></p>`;
}

export function dashboardMoveRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { db } = deps;

  async function movePage(req: FastifyRequest, reply: FastifyReply, courseId: string, version: number | undefined, state?: FormState) {
    const p = principalOf(req);
    let pv: CourseMovePreview;
    try {
      if (!(ACTIONS['move-version'].roles as readonly string[]).includes(p.role)) throw new AppError('forbidden', `the ${p.role} role may not move a course to another version`);
      pv = await previewCourseMove(db, p, courseId, version);
    } catch (err) {
      if (!(err instanceof AppError) || !['not_found', 'forbidden', 'invalid_input'].includes(err.code)) throw err;
      const status = err.code === 'not_found' ? 404 : err.code === 'forbidden' ? 403 : 400;
      return send(reply, page({ title: 'Move to another version', principal: p, flash: { kind: 'error', text: err.problems?.length ? err.problems.map((x) => `${x.field}: ${x.message}`).join('; ') : err.message } }, html`<p><a href="/courses">Courses</a></p>`), status);
    }
    const title = pv.to ? `Move to ${pv.to}` : 'Move to another version';
    return send(reply, page({ title, principal: p, active: '/clients' }, previewHtml(pv, csrfField(p), state)), state?.status ?? 200);
  }

  app.get('/courses/:id/move', async (req, reply) => {
    const { id } = parse(Params, req.params, 'params');
    const { version } = parse(Query, req.query, 'query');
    return movePage(req, reply, id, version);
  });

  app.post('/courses/:id/move', async (req, reply) => {
    const p = principalOf(req);
    const { id } = parse(Params, req.params, 'params');
    const form = (req.body ?? {}) as Record<string, unknown>;
    let version: number | undefined;
    try {
      const f = parse(MoveForm, form, 'body');
      version = f.version;
      const reason = f.reason;
      const submission = submissionOf(form);
      const updateId = submission ? `dashboard-${p.staffId ?? p.tokenId ?? 'anon'}-move-version-${submission}` : undefined;
      const body = parse(ACTIONS['move-version'].schema, { version, reason });
      await performAction(deps, p, id, 'move-version', body, { updateId });
      const course = await db.selectFrom('courses').select(['client_id', 'protocol_id', 'protocol_version']).where('id', '=', id).executeTakeFirstOrThrow();
      return reply.redirect(`/clients/${encodeURIComponent(course.client_id)}?ok=${encodeURIComponent(`Moved to ${course.protocol_id}@${course.protocol_version}`)}#course`, 303);
    } catch (err) {
      const state = refusal('move', form, err);
      if (!state) throw err;
      return movePage(req, reply, id, version, state);
    }
  });
}

// The client's assessment page, opened from the emailed link /a/<token>: no login, the signed,
// expiring, single-use token is the credential. Built from the instrument definitions; one column,
// large targets, native radio groups with legends (screen readers announce each question).
// After submitting: thanks, never scores; crisis resources at once when suicidal thoughts were
// endorsed (PHQ-9 item 9 > 0, C-SSRS item 1 or 2 yes), saying honestly that the clinic may not be
// watching in real time. Every page that refuses something (expired, used, unknown link, opened too
// often) shows the same help too.
//
// A link whose signature checks out but that has closed (expired, used, its assessment cancelled
// because the course was withdrawn or ended) still takes a critical answer: the page shows the
// closed-link text, the crisis resources and the suicide-risk questions (PHQ-9 / C-SSRS) of that
// assessment; a critical answer sent from it is recorded and raises the safety item and the alerts
// (src/api/late-answers.ts). A non-critical late answer is not recorded (the page says so). A form
// refuses any answer it did not ask (an unknown field, a GAD-7 "item 8") and any missing answer, with a
// message naming them; a crisis answer is never lost to that refusal: every instrument whose answers
// are complete and valid on their own is still submitted (scored; a critical one opens the hold and
// alerts as usual), a critical answer inside an instrument that cannot be scored (PHQ-9 item 9 = 3 with
// item 4 blank) is recorded as a critical answer (safety item and alerts, src/api/late-answers.ts),
// and the form comes back with the rest, the answers typed kept, and the crisis resources. The link
// is spent only when nothing is left open on it. No unanswered item is ever given a value.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { getInstrument, InvalidAnswersError, type Instrument, type InstrumentId } from '../../domain';
import { createClientLinks, resolveSecretKey, type ClientLinkFailure } from '../../security/client-links';
import { assessmentWorkflowId } from '../../workflows/assessment-machine';
import type { SubmitAnswersResult } from '../../workflows/messages';
import type { AppDeps } from '../context';
import { html, page, type SafeHtml } from '../html';
import { CLIENT_LINK_LIMITS } from '../rate-limits';
import { recordLateCriticalAnswer, triageIncomplete, triageLate, type LateSubmission } from '../late-answers';

const FAILURE_TEXT: Record<ClientLinkFailure, { status: number; title: string; text: string }> = {
  expired: { status: 410, title: 'This link has expired', text: 'The time to answer this questionnaire has passed. If you would still like to answer, please contact your clinic and ask for a new link.' },
  used: { status: 410, title: 'Already answered', text: 'These questions have already been answered with this link. Thank you. There is nothing more to do.' },
  tampered: { status: 404, title: 'Link not recognised', text: 'This link is not valid. Please use the link exactly as it arrived in your email, or contact your clinic.' },
  malformed: { status: 404, title: 'Link not recognised', text: 'This link is not valid. Please use the link exactly as it arrived in your email, or contact your clinic.' },
};

const CLOSED_TEXT = { status: 410, title: 'This questionnaire has closed', text: 'There is nothing left to answer with this link. If you would like to tell your clinic how you are doing, please contact them.' };

const crisisSection = (urgent: boolean) => html`<section class="crisis"${urgent ? html` role="alert"` : ''} aria-labelledby="crisis-title"><h2 id="crisis-title">If you are thinking about hurting yourself, please reach out now</h2>
${urgent ? html`<p>Your clinic will see your answers, but <strong>they may not be watching in real time</strong> and may not see them for some hours. Please do not wait for them to contact you.</p>` : html`<p>Your clinic <strong>may not be watching in real time</strong>. Please do not wait for them to contact you.</p>`}
<ul><li><strong>In immediate danger:</strong> call <a href="tel:911">911</a> (or your local emergency number), or go to the nearest emergency department.</li>
<li><strong>988 Suicide &amp; Crisis Lifeline</strong> (US): call or text <a href="tel:988">988</a>, or chat at <a href="https://988lifeline.org">988lifeline.org</a>. Free, confidential, 24/7.</li>
<li><strong>Crisis Text Line</strong>: text HOME to <a href="sms:741741">741741</a>.</li>
<li>Outside the US: call your local emergency number or find a helpline at <a href="https://findahelpline.com">findahelpline.com</a>.</li></ul>
<p>You can also call your clinic and tell them ${urgent ? 'you answered these questions today' : 'how you are doing'}.</p></section>`;

/** After answers that endorse suicidal thoughts: announced at once (role=alert). */
export const CRISIS_RESOURCES = crisisSection(true);
/** On every page that refuses something (expired, used, unknown link, too many opens): the same help, quieter. */
export const CRISIS_RESOURCES_ON_REFUSAL = crisisSection(false);

function clientPage(reply: FastifyReply, title: string, body: SafeHtml, status = 200) {
  const doc = page({ title }, body).replace('<body>', '<body class="client">');
  return reply.code(status).type('text/html; charset=utf-8').header('x-robots-tag', 'noindex').send(doc);
}

function questionFields(inst: Instrument, errors: Map<string, string>, prev: Record<string, unknown>): SafeHtml {
  const items = inst.items.map((item) => {
    const name = `${inst.id}.${item.number}`;
    const err = errors.get(String(item.number));
    const opts = item.options ?? inst.options;
    const followup = inst.id === 'cssrs' && item.number >= 3 && item.number <= 5;
    const extra = inst.id === 'cssrs' && item.number === 6
      ? html`<fieldset class="q" data-cssrs-6b><legend>6b. If yes: was this within the past 3 months?</legend>${[['true', 'Yes'], ['false', 'No']].map(([v, l]) => html`<label class="opt"><input type="radio" name="${inst.id}.6b" value="${v}"${prev[`${inst.id}.6b`] === v ? html` checked` : ''}> ${l}</label>`)}</fieldset>`
      : html``;
    return html`<fieldset class="q"${followup ? html` data-cssrs-followup` : ''}${err ? html` aria-describedby="err-${inst.id}-${item.number}"` : ''}><legend>${item.number}. ${item.text}</legend>
${err ? html`<p class="flash error" id="err-${inst.id}-${item.number}">${err}</p>` : ''}
${opts.map((o) => {
  const value = inst.answerKind === 'yes-no' ? (o.value === 1 ? 'true' : 'false') : String(o.value);
  return html`<label class="opt"><input type="radio" name="${name}" value="${value}"${inst.id === 'cssrs' && item.number === 2 ? html` data-cssrs-q2` : ''}${prev[name] === value ? html` checked` : ''}${!followup && inst.id !== 'cssrs' ? html` required` : ''}> ${o.label}</label>`;
})}</fieldset>${extra}`;
  });
  return html`<section aria-labelledby="h-${inst.id}"><h2 id="h-${inst.id}">${inst.shortName}</h2><p>${inst.prompt}</p>${items}</section>`;
}

/** Answers for one instrument from the form, in item order (C-SSRS: booleans, 7th = 6b). */
function answersFrom(inst: Instrument, form: Record<string, unknown>): unknown[] {
  const get = (k: string) => {
    const v = form[`${inst.id}.${k}`];
    return Array.isArray(v) ? v[v.length - 1] : v;
  };
  if (inst.answerKind === 'yes-no') {
    const yn = (v: unknown) => (v === 'true' ? true : v === 'false' ? false : null);
    const list = inst.items.map((i) => yn(get(String(i.number))));
    if (inst.id === 'cssrs') list.push(yn(get('6b')));
    return list;
  }
  return inst.items.map((i) => {
    const v = get(String(i.number));
    return typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v === undefined || v === '' ? null : v;
  });
}

export function clientAssessmentRoutes(app: FastifyInstance, deps: AppDeps): void {
  const links = createClientLinks({ db: deps.db, secretKey: resolveSecretKey(deps.config), publicUrl: deps.config.publicUrl });

  /** Every instrument of an assessment, whatever its status (for a closed link's late answers). */
  async function allInstruments(assessmentId: string): Promise<Instrument[]> {
    const rows = await deps.db.selectFrom('assessments').select(['instrument_id']).where('id', 'like', `${assessmentId.replace(/[\\%_]/g, (c) => `\\${c}`)}/%`).orderBy('id').execute();
    const order = ['cssrs', 'phq9', 'gad7', 'pcl5', 'qids-sr16'];
    return rows.map((r) => getInstrument(r.instrument_id)).filter((i): i is Instrument => !!i).sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
  }

  async function openInstruments(assessmentId: string): Promise<Instrument[]> {
    const rows = await deps.db.selectFrom('assessments').select(['instrument_id']).where('id', 'like', `${assessmentId.replace(/[\\%_]/g, (c) => `\\${c}`)}/%`).where('status', '=', 'invited').orderBy('id').execute();
    const order = ['cssrs', 'phq9', 'gad7', 'pcl5', 'qids-sr16'];
    return rows.map((r) => getInstrument(r.instrument_id)).filter((i): i is Instrument => !!i).sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
  }

  // Opening the form is limited per link and per client (rate-limits.ts), never per address: a
  // clinic's Wi-Fi is one address for every client in its waiting room. Submitting is never limited.
  const limitKeys = new WeakMap<FastifyRequest, { link: string; client: string }>();
  const { perLink, perClient, windowMs } = CLIENT_LINK_LIMITS;
  const opensPerLink = app.createRateLimit({ max: perLink, timeWindow: windowMs, keyGenerator: (req) => `link:${limitKeys.get(req)?.link}` });
  const opensPerClient = app.createRateLimit({ max: perClient, timeWindow: windowMs, keyGenerator: (req) => `client:${limitKeys.get(req)?.client}` });

  async function clientOf(assessmentId: string): Promise<string> {
    const row = await deps.db
      .selectFrom('assessments')
      .innerJoin('courses', 'courses.id', 'assessments.course_id')
      .select('courses.client_id')
      .where('assessments.id', 'like', `${assessmentId.replace(/[\\%_]/g, (c) => `\\${c}`)}/%`)
      .limit(1)
      .executeTakeFirst();
    return row?.client_id ?? `assessment:${assessmentId}`;
  }

  type Open = { kind: 'open'; token: string; assessmentId: string; expiresAt: Date };
  /** A validly signed link that has closed: expired, used, or nothing left open on it. */
  type Late = { kind: 'late'; token: string; assessmentId: string; failure: 'expired' | 'used' | 'closed' };

  async function gate(req: FastifyRequest, reply: FastifyReply, opts: { limited: boolean }): Promise<Open | Late | null> {
    const token = (req.params as { token?: string }).token;
    const check = await links.verifyClientLink(token);
    if (!check.ok) {
      // A link the client really received (its signature checks out) still takes a crisis answer.
      const claims = check.reason === 'expired' || check.reason === 'used' ? links.signedClaims(token) : null;
      if (claims) return { kind: 'late', token: token!, assessmentId: claims.assessmentId, failure: check.reason as 'expired' | 'used' };
      const f = FAILURE_TEXT[check.reason];
      clientPage(reply, f.title, html`<p>${f.text}</p>${CRISIS_RESOURCES_ON_REFUSAL}`, f.status);
      return null;
    }
    if (opts.limited) {
      limitKeys.set(req, { link: check.nonce, client: await clientOf(check.assessmentId) });
      for (const limit of [opensPerLink, opensPerClient]) {
        const r = await limit(req);
        if (!r.isAllowed && r.isExceeded) {
          const minutes = Math.max(1, Math.ceil(r.ttlInSeconds / 60));
          void reply.header('retry-after', String(Math.max(1, r.ttlInSeconds)));
          clientPage(reply, 'Please wait a moment', html`<p>This page was opened many times in a short while. Please wait ${minutes} minute${minutes === 1 ? '' : 's'} and open your link again. It still works.</p>${CRISIS_RESOURCES_ON_REFUSAL}`, 429);
          return null;
        }
      }
    }
    return { kind: 'open', token: token!, assessmentId: check.assessmentId, expiresAt: check.expiresAt };
  }

  /**
   * The form, or the form again after a refusal (missing or extra answers: nothing recorded). A refused
   * form shows the crisis resources like every refusal page, at the top and urgent when the answers sent
   * endorse suicidal thoughts (PHQ-9 item 9 > 0, C-SSRS item 1 or 2 yes).
   */
  const render = (reply: FastifyReply, token: string, instruments: Instrument[], expiresAt: Date, errors = new Map<string, Map<string, string>>(), prev: Record<string, unknown> = {}, status = 200, notice?: string, endorsedElsewhere = false) => {
    const refused = status >= 400;
    const urgent = refused && (endorsedElsewhere || endorses(instruments, prev));
    return clientPage(
      reply,
      'A few questions from your clinic',
      html`${urgent ? CRISIS_RESOURCES : ''}<p>Your clinic asks these questions to see how you are doing. It takes a few minutes. Your answers go to your care team only.</p>
<p class="muted">This link works once and until ${expiresAt.toUTCString()}.</p>
${notice ? html`<div class="flash error" role="alert">${notice}</div>` : errors.size ? html`<div class="flash error" role="alert">Some answers are missing. Please look at the questions marked below.</div>` : ''}
<form method="post" action="/a/${token}" novalidate>${instruments.map((i) => questionFields(i, errors.get(i.id) ?? new Map(), prev))}<p><button type="submit">Send my answers</button></p></form>${refused && !urgent ? CRISIS_RESOURCES_ON_REFUSAL : ''}`,
      status,
    );
  };
  /** Whether answers sent endorse suicidal thoughts, read item by item (the form may be incomplete). */
  const endorses = (instruments: Instrument[], form: Record<string, unknown>) =>
    instruments.some((i) => {
      const a = answersFrom(i, form);
      return (i.id === 'phq9' && typeof a[8] === 'number' && a[8] > 0) || (i.id === 'cssrs' && (a[0] === true || a[1] === true));
    });

  const closedText = (failure: Late['failure']) => (failure === 'closed' ? CLOSED_TEXT : FAILURE_TEXT[failure]);
  /** The suicide-risk questions of an assessment, offered on its closed link. */
  const riskInstruments = async (assessmentId: string) => (await allInstruments(assessmentId)).filter((i) => i.id === 'phq9' || i.id === 'cssrs');

  /** A closed link's page: why it is closed, the crisis resources, and the suicide-risk questions. */
  async function renderLate(reply: FastifyReply, g: Late, errors = new Map<string, Map<string, string>>(), prev: Record<string, unknown> = {}, status?: number, notice?: string) {
    const f = closedText(g.failure);
    const instruments = await riskInstruments(g.assessmentId);
    const form = instruments.length
      ? html`<section aria-labelledby="late-title"><h2 id="late-title">Are you having thoughts of death or of hurting yourself?</h2>
<p>You can still answer the questions below. If your answers show that you may be at risk, your care team is alerted at once. Other answers can no longer be recorded with this link.</p>
${notice ? html`<div class="flash error" role="alert">${notice}</div>` : errors.size ? html`<div class="flash error" role="alert">Some answers are missing. Please look at the questions marked below.</div>` : ''}
<form method="post" action="/a/${g.token}" novalidate>${instruments.map((i) => questionFields(i, errors.get(i.id) ?? new Map(), prev))}<p><button type="submit">Send my answers</button></p></form></section>`
      : html``;
    return clientPage(reply, f.title, html`<p>${f.text}</p>${CRISIS_RESOURCES_ON_REFUSAL}${form}`, status ?? f.status);
  }

  /** Form fields that are no answer to the questions asked (an unknown field, a GAD-7 "item 8"), each with why. */
  const unexpectedKeys = (instruments: Instrument[], form: Record<string, unknown>): string[] => {
    const allowed = new Set(instruments.flatMap((i) => [...i.items.map((it) => `${i.id}.${it.number}`), ...(i.id === 'cssrs' ? ['cssrs.6b'] : [])]));
    return Object.keys(form).filter((k) => !allowed.has(k));
  };
  function unexpectedFields(instruments: Instrument[], form: Record<string, unknown>): string[] {
    return unexpectedKeys(instruments, form)
      .map((k) => {
        const inst = instruments.find((i) => k.startsWith(`${i.id}.`));
        return inst ? `"${k}" is not a question of the ${inst.shortName}, which has ${inst.items.length} questions` : `"${k}" is not a question of this form`;
      });
  }
  const unexpectedNotice = (extra: string[]) => `Your answers were not sent: this form received answers it did not ask for (${extra.join('; ')}). Please answer the questions below only.`;

  /** Answers for each instrument given in the form; errors by instrument and item. */
  function readAnswers(instruments: Instrument[], form: Record<string, unknown>) {
    const errors = new Map<string, Map<string, string>>();
    const submissions: Array<{ instrumentId: InstrumentId; answers: unknown[] }> = [];
    let endorsed = false;
    for (const inst of instruments) {
      const answers = answersFrom(inst, form);
      try {
        inst.score(answers);
        submissions.push({ instrumentId: inst.id, answers });
        if (inst.id === 'phq9' && (answers[8] as number) > 0) endorsed = true;
        if (inst.id === 'cssrs' && (answers[0] === true || answers[1] === true)) endorsed = true;
      } catch (err) {
        if (!(err instanceof InvalidAnswersError)) throw err;
        errors.set(inst.id, new Map(err.problems.map((p) => [String(p.item ?? '1'), p.reason === 'missing' || p.reason.startsWith('missing') ? 'Please choose an answer.' : p.reason])));
      }
    }
    return { errors, submissions, endorsed };
  }

  /**
   * Answers on a closed link: a critical one is recorded and raises the safety item and the alerts;
   * any other is not recorded, and the page says so (with the crisis resources, urgent when endorsed).
   */
  async function acceptLate(req: FastifyRequest, reply: FastifyReply, g: Late, form: Record<string, unknown>) {
    const all = await allInstruments(g.assessmentId);
    const extra = unexpectedFields(all, form);
    const given = all.filter((i) => Object.keys(form).some((k) => k.startsWith(`${i.id}.`)));
    const f = closedText(g.failure);
    if (extra.length) return refuseLate(req, reply, g, all, form, new Map(), unexpectedNotice(extra));
    if (!given.length) return clientPage(reply, f.title, html`<p>${f.text}</p>${CRISIS_RESOURCES_ON_REFUSAL}`, f.status);
    const { errors, submissions } = readAnswers(given, form);
    if (errors.size) return refuseLate(req, reply, g, given, form, errors);
    return lateOutcome(req, reply, g, submissions);
  }

  /**
   * A closed link's form refused (an answer missing, or one it did not ask for): a critical answer in it
   * is still recorded (triageIncomplete reads only the answered items), then the form comes back.
   */
  async function refuseLate(req: FastifyRequest, reply: FastifyReply, g: Late, instruments: Instrument[], form: Record<string, unknown>, errors: Map<string, Map<string, string>>, notice?: string) {
    let alerted = false;
    for (const inst of instruments) {
      const missing = [...(errors.get(inst.id)?.keys() ?? [])];
      const s: LateSubmission = { instrumentId: inst.id, answers: answersFrom(inst, form) };
      // Complete on its own (another questionnaire of the form is not): scored as a late answer.
      const t = !notice && !missing.length ? triageLate([s]) : triageIncomplete(s, notice ? 'it came with an answer the form did not ask for' : `item${missing.length === 1 ? '' : 's'} ${missing.join(', ')} unanswered`);
      if (!t?.critical) continue;
      try {
        await recordLateCriticalAnswer(deps, g.assessmentId, [s], t);
      } catch (err) {
        req.log.error({ assessmentId: g.assessmentId, err: err instanceof Error ? err.message : String(err) }, 'late critical answer could not be recorded');
        return clientPage(reply, 'Please contact your clinic', html`${CRISIS_RESOURCES}<p>We could not pass your answers on to your clinic just now. Please call your clinic, or use the numbers above.</p>`, 503);
      }
      alerted = true;
    }
    const sent = alerted ? 'Your answer about thoughts of death or of hurting yourself has been sent to your care team, and they have been alerted.' : '';
    const text = [sent, notice ?? (alerted && errors.size ? 'Some answers are missing. Please look at the questions marked below.' : '')].filter(Boolean).join(' ');
    return renderLate(reply, g, errors, form, 400, text || undefined);
  }

  async function lateOutcome(req: FastifyRequest, reply: FastifyReply, g: Late, submissions: LateSubmission[]) {
    const f = closedText(g.failure);
    const t = triageLate(submissions);
    if (!t.critical) {
      return clientPage(reply, f.title, html`${t.endorsed ? CRISIS_RESOURCES : ''}<p>${f.text}</p><p>Your answers were not recorded, because this link has closed. If you would like to tell your clinic how you are doing, please contact them.</p>${t.endorsed ? '' : CRISIS_RESOURCES_ON_REFUSAL}`, f.status);
    }
    try {
      await recordLateCriticalAnswer(deps, g.assessmentId, submissions, t);
    } catch (err) {
      req.log.error({ assessmentId: g.assessmentId, err: err instanceof Error ? err.message : String(err) }, 'late critical answer could not be recorded');
      return clientPage(reply, 'Please contact your clinic', html`${CRISIS_RESOURCES}<p>We could not pass your answers on to your clinic just now. Please call your clinic, or use the numbers above.</p>`, 503);
    }
    return clientPage(reply, 'Thank you', html`${CRISIS_RESOURCES}<p>Thank you. This questionnaire had closed, but your answers have been sent to your care team and they have been alerted.</p><p>You can close this page now.</p>`);
  }

  /**
   * A form refused for missing or extra answers: each instrument complete and valid on its own (and
   * with no extra answer of its own) is submitted; a critical answer inside one that cannot be scored
   * is recorded as a critical answer; the page asks for the rest, with the answers typed and the
   * crisis resources. The link stays usable for the rest (spent only when nothing is left open).
   */
  async function acceptPart(req: FastifyRequest, reply: FastifyReply, g: Open, instruments: Instrument[], form: Record<string, unknown>, read: ReturnType<typeof readAnswers>) {
    const extraKeys = unexpectedKeys(instruments, form);
    // An extra answer refuses its instrument (a GAD-7 "item 8": the PHQ-9 beside it is still recorded);
    // one that belongs to no instrument (a stray "q8") could be any of them, so none is scored, and
    // only a critical answer among them is recorded (as below, the way an unscorable form's is).
    const stray = extraKeys.some((k) => !instruments.some((i) => k.startsWith(`${i.id}.`)));
    const withExtra = new Set(instruments.filter((i) => stray || extraKeys.some((k) => k.startsWith(`${i.id}.`))).map((i) => i.id));
    const complete = read.submissions.filter((s) => !withExtra.has(s.instrumentId));
    let endorsed = endorses(instruments, form);
    const recorded: Instrument[] = [];
    const critical: Array<{ submissions: LateSubmission[]; triage: ReturnType<typeof triageLate> }> = [];
    const closed: LateSubmission[] = [];
    for (const s of complete) {
      try {
        const r = await deps.temporal.workflow.getHandle(assessmentWorkflowId(g.assessmentId)).executeUpdate<SubmitAnswersResult, [typeof s]>('submitAnswers', { args: [s] });
        if (r.showCrisisResources) endorsed = true;
        recorded.push(getInstrument(s.instrumentId)!);
      } catch (err) {
        if (!(err instanceof WorkflowUpdateFailedError) && !(err instanceof WorkflowNotFoundError)) throw err;
        req.log.warn({ assessmentId: g.assessmentId, instrumentId: s.instrumentId, err: err.message }, 'assessment submission refused');
        closed.push(s);
      }
    }
    // Closed while the client answered: a critical answer among them is recorded as a late one.
    if (closed.length && triageLate(closed).critical) critical.push({ submissions: closed, triage: triageLate(closed) });
    // An instrument that cannot be scored (an answer missing, or one it did not ask): a critical answer in it is recorded.
    for (const inst of instruments) {
      if (complete.some((s) => s.instrumentId === inst.id)) continue;
      const missing = [...(read.errors.get(inst.id)?.keys() ?? [])];
      const why = withExtra.has(inst.id) ? 'it came with an answer the form did not ask for' : `item${missing.length === 1 ? '' : 's'} ${missing.join(', ')} unanswered`;
      const s: LateSubmission = { instrumentId: inst.id, answers: answersFrom(inst, form) };
      const t = triageIncomplete(s, why);
      if (t?.critical) critical.push({ submissions: [s], triage: t });
    }
    for (const c of critical) {
      try {
        await recordLateCriticalAnswer(deps, g.assessmentId, c.submissions, c.triage);
      } catch (err) {
        req.log.error({ assessmentId: g.assessmentId, err: err instanceof Error ? err.message : String(err) }, 'critical answer on a refused form could not be recorded');
        return clientPage(reply, 'Please contact your clinic', html`${CRISIS_RESOURCES}<p>We could not pass your answers on to your clinic just now. Please call your clinic, or use the numbers above.</p>`, 503);
      }
      endorsed = true;
    }
    const sent = [
      recorded.length ? `Your answers to the ${recorded.map((i) => i.shortName).join(' and ')} have been sent to your care team.` : '',
      critical.length ? 'Your answer about thoughts of death or of hurting yourself has been sent to your care team, and they have been alerted.' : '',
    ].filter(Boolean).join(' ');
    const extra = unexpectedFields(instruments, form);
    const remaining = await openInstruments(g.assessmentId);
    if (!remaining.length) {
      await links.consumeClientLink(g.token);
      const body = html`${endorsed ? CRISIS_RESOURCES : ''}<p>Thank you. ${sent || 'Your answers have been sent to your care team.'}</p>${extra.length ? html`<p>Answers this form did not ask for were not recorded (${extra.join('; ')}).</p>` : ''}<p>You can close this page now.</p>`;
      return clientPage(reply, 'Thank you', body);
    }
    const left = remaining.map((i) => {
      const missing = [...(read.errors.get(i.id)?.keys() ?? [])];
      return missing.length === i.items.length ? `the ${i.shortName} (all ${i.items.length} questions)` : missing.length ? `the ${i.shortName} (question${missing.length === 1 ? '' : 's'} ${missing.join(', ')})` : `the ${i.shortName}`;
    });
    const notice = [
      sent,
      extra.length ? `This form received answers it did not ask for, which were not recorded (${extra.join('; ')}).` : '',
      read.errors.size ? `Some answers are missing: ${left.join(', ')}.` : '',
      `Please answer ${remaining.length === 1 ? `the ${remaining[0]!.shortName}` : 'the questions'} below and send again.`,
    ].filter(Boolean).join(' ');
    const errors = new Map([...read.errors].filter(([id]) => remaining.some((i) => i.id === id)));
    return render(reply, g.token, remaining, g.expiresAt, errors, form, 400, notice, endorsed);
  }

  app.get('/a/:token', async (req, reply) => {
    const g = await gate(req, reply, { limited: true });
    if (!g) return reply;
    if (g.kind === 'late') return renderLate(reply, g);
    const instruments = await openInstruments(g.assessmentId);
    if (!instruments.length) return renderLate(reply, { kind: 'late', token: g.token, assessmentId: g.assessmentId, failure: 'closed' });
    return render(reply, g.token, instruments, g.expiresAt);
  });

  app.post('/a/:token', async (req, reply) => {
    // Never rate-limited: answers (a crisis answer above all) must get through.
    const g = await gate(req, reply, { limited: false });
    if (!g) return reply;
    const form = (req.body ?? {}) as Record<string, unknown>;
    if (g.kind === 'late') return acceptLate(req, reply, g, form);
    const instruments = await openInstruments(g.assessmentId);
    if (!instruments.length) return acceptLate(req, reply, { kind: 'late', token: g.token, assessmentId: g.assessmentId, failure: 'closed' }, form);
    // Nothing is assumed: an answer the form did not ask for, or a missing one, refuses the form; what
    // is complete and valid on its own is still recorded (acceptPart), so no crisis answer is lost.
    // Validate every instrument locally first, so a missing answer never spends the link.
    const read = readAnswers(instruments, form);
    const { errors, submissions } = read;
    let endorsed = read.endorsed;
    if (errors.size || unexpectedKeys(instruments, form).length) return acceptPart(req, reply, g, instruments, form, read);
    const spent = await links.consumeClientLink(g.token);
    if (!spent.ok) {
      // Spent or expired between the form and the submission: a crisis answer is still taken.
      if (spent.reason === 'used' || spent.reason === 'expired') return lateOutcome(req, reply, { kind: 'late', token: g.token, assessmentId: g.assessmentId, failure: spent.reason }, submissions);
      const f = FAILURE_TEXT[spent.reason];
      return clientPage(reply, f.title, html`<p>${f.text}</p>${CRISIS_RESOURCES_ON_REFUSAL}`, f.status);
    }
    const refused: LateSubmission[] = [];
    for (const s of submissions) {
      try {
        const r = await deps.temporal.workflow.getHandle(assessmentWorkflowId(g.assessmentId)).executeUpdate<SubmitAnswersResult, [typeof s]>('submitAnswers', { args: [s] });
        if (r.showCrisisResources) endorsed = true;
      } catch (err) {
        if (!(err instanceof WorkflowUpdateFailedError) && !(err instanceof WorkflowNotFoundError)) throw err;
        req.log.warn({ assessmentId: g.assessmentId, instrumentId: s.instrumentId, err: err.message }, 'assessment submission refused');
        refused.push(s);
      }
    }
    // The questionnaire closed while the client answered: a critical answer among the refused is still recorded.
    if (refused.length && triageLate(refused).critical) return lateOutcome(req, reply, { kind: 'late', token: g.token, assessmentId: g.assessmentId, failure: 'closed' }, refused);
    const body = html`${endorsed ? CRISIS_RESOURCES : ''}<p>Thank you. Your answers have been sent to your care team.</p>${refused.length ? html`<p>Part of your answers could not be recorded because this questionnaire has closed. Please tell your clinic.</p>` : ''}<p>You can close this page now.</p>`;
    return clientPage(reply, 'Thank you', body);
  });
}

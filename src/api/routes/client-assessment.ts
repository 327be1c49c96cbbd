// The client's assessment page, opened from the emailed link /a/<token>: no login, the signed,
// expiring, single-use token is the credential. Built from the instrument definitions; one column,
// large targets, a fieldset with a legend per question and a <label for> per radio (unique ids).
// Named after the clinic (the crisis card gives the clinic's phone when its admin has set one, else says
// "contact <clinic>"), the expiry in the clinic's time zone. In parts, mood first and safety last, each "Part n
// of m" with a plain heading (the instrument's code small, for staff) and a line of crisis help.
// Conditional questions (C-SSRS 3-5 when 2 is Yes, 6b when 6 is Yes) are hidden by the page's script
// while they do not apply; without it they show a "Does not apply to me" choice, and the server drops a
// "No" there; a "Yes" there is a contradiction it asks about (marked, never guessed); 6b is asked for
// when 6 is Yes (not assumed). A refused form comes back with an error summary linking to each marked
// question (aria-describedby, aria-invalid) and every answer typed.
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
import { lostToTaskFailure, submitFormAnswers } from '../../client/course-actions';
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

/** The clinic a link belongs to, for the page's name, the crisis card and the expiry's time zone. */
export interface ClinicInfo {
  name: string;
  timeZone: string;
  /** The clinic's phone number (clinics.phone, set by its admin), or null.  */
  phone: string | null;
}
/** A link that names no clinic (tampered, malformed): generic wording, UTC. */
export const NO_CLINIC: ClinicInfo = { name: 'Your clinic', timeZone: 'UTC', phone: null };

/** A date and time in the clinic's time zone, for a client: "Tuesday, December 1, 2026 at 9:03 AM EST". */
export function clinicTime(d: Date, timeZone: string): string {
  const opts: Intl.DateTimeFormatOptions = { weekday: 'long', month: 'long', day: 'numeric', year: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short' };
  try {
    return new Intl.DateTimeFormat('en-US', { ...opts, timeZone }).format(d);
  } catch {
    return new Intl.DateTimeFormat('en-US', { ...opts, timeZone: 'UTC' }).format(d);
  }
}

const crisisSection = (urgent: boolean, clinic: ClinicInfo = NO_CLINIC) => {
  const them = clinic === NO_CLINIC ? 'your clinic' : clinic.name;
  const call = clinic.phone ? html`call ${them} on <a href="tel:${clinic.phone.replace(/[^+\d]/g, '')}">${clinic.phone}</a>` : html`contact ${them}`;
  return html`<section class="crisis"${urgent ? html` role="alert"` : ''} aria-labelledby="crisis-title"><h2 id="crisis-title">If you are thinking about hurting yourself, please reach out now</h2>
${urgent ? html`<p>Your clinic will see your answers, but <strong>they may not be watching in real time</strong> and may not see them for some hours. Please do not wait for them to contact you.</p>` : html`<p>Your clinic <strong>may not be watching in real time</strong>. Please do not wait for them to contact you.</p>`}
<ul><li><strong>In immediate danger:</strong> call <a href="tel:911">911</a> (or your local emergency number), or go to the nearest emergency department.</li>
<li><strong>988 Suicide &amp; Crisis Lifeline</strong> (US): call or text <a href="tel:988">988</a>, or chat at <a href="https://988lifeline.org">988lifeline.org</a>. Free, confidential, 24/7.</li>
<li><strong>Crisis Text Line</strong>: text HOME to <a href="sms:741741">741741</a>.</li>
<li>Outside the US: call your local emergency number or find a helpline at <a href="https://findahelpline.com">findahelpline.com</a>.</li></ul>
<p>You can also ${call} and tell them ${urgent ? 'you answered these questions today' : 'how you are doing'}.</p></section>`;
};

/** After answers that endorse suicidal thoughts: announced at once (role=alert). */
export const CRISIS_RESOURCES = crisisSection(true);
/** On every page that refuses something (expired, used, unknown link, too many opens): the same help, quieter. */
export const CRISIS_RESOURCES_ON_REFUSAL = crisisSection(false);

/**
 * A client page: its own document (no staff navigation), named after the clinic. Styles and the small
 * script come from /assets (the CSP allows no inline code); every page works without the script.
 */
function clientPage(reply: FastifyReply, title: string, body: SafeHtml, status = 200, clinic: ClinicInfo = NO_CLINIC) {
  const doc = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} · ${clinic.name}</title><link rel="stylesheet" href="/assets/dashboard.css"><script src="/assets/dashboard.js" defer></script></head>
<body class="client"><a class="skip" href="#main">Skip to content</a><header><span class="brand">${clinic.name}</span></header>
<main id="main"><h1>${title}</h1>${body}</main></body></html>`.value;
  return reply.code(status).type('text/html; charset=utf-8').header('x-robots-tag', 'noindex').send(doc);
}

/** Plain-language part headings; the instrument's short name is shown small, for staff. */
const PLAIN_TITLE: Record<string, string> = {
  phq9: 'About your mood',
  gad7: 'About worry and anxiety',
  'qids-sr16': 'More about your mood, sleep and energy',
  pcl5: 'About a very stressful experience',
  cssrs: 'About your safety',
};
/** The order of the parts: mood first, the safety questions last (the form no longer opens on them). */
const DISPLAY_ORDER = ['phq9', 'gad7', 'qids-sr16', 'pcl5', 'cssrs'];
const plainTitle = (i: Instrument) => PLAIN_TITLE[i.id] ?? i.name;
const quoted = (i: Instrument) => `“${plainTitle(i)}”`;
const listJoin = (xs: string[]) => (xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`);

/** One question of the form: C-SSRS 3-5 only when 2 is Yes, 6b only when 6 is Yes (`when`). */
interface Question {
  key: string;
  text: string;
  options: Array<{ value: string; label: string }>;
  when?: { key: string; value: string };
}

function questionsOf(inst: Instrument): Question[] {
  const out: Question[] = [];
  for (const item of inst.items) {
    const opts = (item.options ?? inst.options).map((o) => ({ value: inst.answerKind === 'yes-no' ? (o.value === 1 ? 'true' : 'false') : String(o.value), label: o.label }));
    if (inst.id === 'cssrs') {
      // The item texts carry the skip rule for staff; the form shows it as a hint (and applies it).
      const text = item.text.replace(/\s*\(asked only if 2 is yes\)$/, '').replace(/\s*\(6b:.*\)$/, '');
      out.push({ key: String(item.number), text, options: opts, ...(item.number >= 3 && item.number <= 5 ? { when: { key: '2', value: 'true' } } : {}) });
      if (item.number === 6) out.push({ key: '6b', text: 'Was this within the past 3 months?', options: opts, when: { key: '6', value: 'true' } });
    } else {
      out.push({ key: String(item.number), text: item.text, options: opts });
    }
  }
  return out;
}

const lastOf = (v: unknown) => (Array.isArray(v) ? v[v.length - 1] : v);
const fieldId = (inst: Instrument, key: string) => `f-${inst.id}-${key}`;

/**
 * One question: a fieldset with its legend, a label for every radio, its problem next to it
 * (aria-describedby, aria-invalid). A conditional question carries its condition (the script hides it,
 * and disables its inputs, while the condition does not hold) and, for pages without the script, a
 * blank choice "Does not apply to me". "Clear this answer" appears once the script runs.
 */
function questionBlock(inst: Instrument, q: Question, err: string | undefined, prev: Record<string, unknown>): SafeHtml {
  const name = `${inst.id}.${q.key}`;
  const base = fieldId(inst, q.key);
  const hintId = `${base}-hint`;
  const errId = `${base}-err`;
  const described = [q.when ? hintId : '', err ? errId : ''].filter(Boolean).join(' ');
  const chosen = lastOf(prev[name]);
  const opts = [...q.options, ...(q.when ? [{ value: '', label: 'Does not apply to me', blank: true }] : [])] as Array<{ value: string; label: string; blank?: boolean }>;
  return html`<fieldset class="q${err ? ' invalid' : ''}" id="${base}"${q.when ? html` data-when-name="${inst.id}.${q.when.key}" data-when-value="${q.when.value}"` : ''}${described ? html` aria-describedby="${described}"` : ''}><legend>${q.key}. ${q.text}</legend>
${q.when ? html`<p class="hint" id="${hintId}">Only if you answered Yes to question ${q.when.key}.</p>` : ''}${err ? html`<p class="field-error" id="${errId}">${err}</p>` : ''}
${opts.map((o, k) => html`<div class="opt"${o.blank ? html` data-blank-choice` : ''}><input type="radio" id="${base}-${k}" name="${name}" value="${o.value}"${chosen === o.value ? html` checked` : ''}${err ? html` aria-invalid="true"` : ''}${!q.when ? html` required` : ''}><label for="${base}-${k}">${o.label}</label></div>`)}
<button type="button" class="secondary clear" data-clear hidden>Clear this answer</button></fieldset>`;
}

/** Each problem of an instrument in question order. */
function orderedProblems(inst: Instrument, errors: Map<string, string>): Array<[string, string]> {
  const keys = questionsOf(inst).map((q) => q.key);
  return [...errors].sort((a, b) => keys.indexOf(a[0]) - keys.indexOf(b[0]));
}

/** One part of the form: "Part 2 of 4", a plain heading, help reachable at once, its questions. */
function instrumentSection(inst: Instrument, errors: Map<string, string>, prev: Record<string, unknown>, part?: { n: number; of: number }): SafeHtml {
  return html`<section class="part" id="part-${inst.id}" aria-labelledby="h-${inst.id}">
<p class="progress">${part ? `Part ${part.n} of ${part.of}` : ''} <span class="inst">${inst.shortName}</span></p>
<h2 id="h-${inst.id}">${plainTitle(inst)}</h2>
<p class="help-now">Need to talk to someone now? Call or text <a href="tel:988">988</a>, or call <a href="tel:911">911</a> in an emergency. <a href="#crisis-title">More help</a></p>
<p>${inst.prompt}</p>${questionsOf(inst).map((q) => questionBlock(inst, q, errors.get(q.key), prev))}</section>`;
}

/** The error summary at the top: what needs a look, each linked to its question. */
function errorSummary(instruments: Instrument[], errors: Map<string, Map<string, string>>, notice?: string): SafeHtml {
  const items = instruments.flatMap((i) => orderedProblems(i, errors.get(i.id) ?? new Map()).map(([key, msg]) => html`<li><a href="#${fieldId(i, key)}-0">${plainTitle(i)}, question ${key}: ${msg}</a></li>`));
  if (!notice && !items.length) return html``;
  return html`<div class="error-summary" id="error-summary" role="alert" tabindex="-1"><h2>Please check your answers</h2>${notice ? html`<p>${notice}</p>` : ''}${items.length ? html`<ul>${items}</ul>` : ''}</div>`;
}

/** Answers for one instrument from the form, in item order (C-SSRS: booleans, 7th = 6b). */
function answersFrom(inst: Instrument, form: Record<string, unknown>): unknown[] {
  const get = (k: string) => lastOf(form[`${inst.id}.${k}`]);
  if (inst.answerKind === 'yes-no') {
    const yn = (v: unknown) => (v === 'true' ? true : v === 'false' ? false : null);
    const list = inst.items.map((i) => yn(get(String(i.number))));
    if (inst.id === 'cssrs') {
      list.push(yn(get('6b')));
      // A "No" to a question that does not apply (3-5 when 2 is No, 6b when 6 is No) says nothing and
      // is dropped (a page without the script shows those questions); a "Yes" there is kept, and
      // refused by conditionalProblems: it may hide a risk, so the client is asked, never overruled.
      if (list[1] === false) for (const k of [2, 3, 4]) if (list[k] === false) list[k] = null;
      if (list[5] === false && list[6] === false) list[6] = null;
    }
    return list;
  }
  return inst.items.map((i) => {
    const v = get(String(i.number));
    return typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v === undefined || v === '' ? null : v;
  });
}

/**
 * The form's own rules for its conditional questions, on top of the scorer's: a "Yes" to a question
 * that does not apply is a contradiction to resolve, never guessed away; 6b applies when 6 is Yes and
 * is then asked for (the scorer would read a blank 6b as recent behaviour: the form does not assume).
 */
function conditionalProblems(inst: Instrument, answers: unknown[]): Map<string, string> {
  const out = new Map<string, string>();
  if (inst.id !== 'cssrs') return out;
  if (answers[1] === false) {
    for (const k of [2, 3, 4]) {
      if (answers[k] === true) out.set(String(k + 1), 'You answered No to question 2, so this question does not apply. If it is true for you, please change question 2 to Yes; if not, choose “Does not apply to me” or clear this answer.');
    }
  }
  if (answers[5] === false && answers[6] === true) out.set('6b', 'You answered No to question 6, so this question does not apply. If you have done something like this, please change question 6 to Yes; if not, choose “Does not apply to me” or clear this answer.');
  if (answers[5] === true && answers[6] === null) out.set('6b', 'Please choose Yes or No: you answered Yes to question 6, so this question applies.');
  return out;
}

const isMissing = (msg: string) => msg.startsWith('Please choose');
/** Why an instrument could not be scored, for the safety item's summary (never the answers themselves). */
function whyNotScored(errs: Map<string, string>): string {
  const missing = [...errs].filter(([, m]) => isMissing(m)).map(([k]) => k);
  const other = [...errs].filter(([, m]) => !isMissing(m)).map(([k]) => k);
  return [
    missing.length ? `item${missing.length === 1 ? '' : 's'} ${missing.join(', ')} unanswered` : '',
    other.length ? `item${other.length === 1 ? '' : 's'} ${other.join(', ')} answered although ${other.length === 1 ? 'it does' : 'they do'} not apply` : '',
  ].filter(Boolean).join('; ');
}

export function clientAssessmentRoutes(app: FastifyInstance, deps: AppDeps): void {
  const links = createClientLinks({ db: deps.db, secretKey: resolveSecretKey(deps.config), publicUrl: deps.config.publicUrl });

  /** Every instrument of an assessment, whatever its status (for a closed link's late answers). */
  async function allInstruments(assessmentId: string): Promise<Instrument[]> {
    const rows = await deps.db.selectFrom('assessments').select(['instrument_id']).where('id', 'like', `${assessmentId.replace(/[\\%_]/g, (c) => `\\${c}`)}/%`).orderBy('id').execute();
    return rows.map((r) => getInstrument(r.instrument_id)).filter((i): i is Instrument => !!i).sort((a, b) => DISPLAY_ORDER.indexOf(a.id) - DISPLAY_ORDER.indexOf(b.id));
  }

  async function openInstruments(assessmentId: string): Promise<Instrument[]> {
    const rows = await deps.db.selectFrom('assessments').select(['instrument_id']).where('id', 'like', `${assessmentId.replace(/[\\%_]/g, (c) => `\\${c}`)}/%`).where('status', '=', 'invited').orderBy('id').execute();
    return rows.map((r) => getInstrument(r.instrument_id)).filter((i): i is Instrument => !!i).sort((a, b) => DISPLAY_ORDER.indexOf(a.id) - DISPLAY_ORDER.indexOf(b.id));
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

  async function clinicOf(assessmentId: string): Promise<ClinicInfo> {
    const row = await deps.db
      .selectFrom('assessments')
      .innerJoin('courses', 'courses.id', 'assessments.course_id')
      .innerJoin('clinics', 'clinics.id', 'courses.clinic_id')
      .select(['clinics.name', 'clinics.timezone', 'clinics.phone'])
      .where('assessments.id', 'like', `${assessmentId.replace(/[\\%_]/g, (c) => `\\${c}`)}/%`)
      .limit(1)
      .executeTakeFirst();
    return row ? { name: row.name, timeZone: row.timezone, phone: row.phone } : NO_CLINIC;
  }

  type Open = { kind: 'open'; token: string; assessmentId: string; expiresAt: Date; clinic: ClinicInfo };
  /** A validly signed link that has closed: expired, used, or nothing left open on it. */
  type Late = { kind: 'late'; token: string; assessmentId: string; failure: 'expired' | 'used' | 'closed'; clinic: ClinicInfo };

  async function gate(req: FastifyRequest, reply: FastifyReply, opts: { limited: boolean }): Promise<Open | Late | null> {
    const token = (req.params as { token?: string }).token;
    const check = await links.verifyClientLink(token);
    if (!check.ok) {
      // A link the client really received (its signature checks out) still takes a crisis answer.
      const claims = check.reason === 'expired' || check.reason === 'used' ? links.signedClaims(token) : null;
      if (claims) return { kind: 'late', token: token!, assessmentId: claims.assessmentId, failure: check.reason as 'expired' | 'used', clinic: await clinicOf(claims.assessmentId) };
      const f = FAILURE_TEXT[check.reason];
      clientPage(reply, f.title, html`<p>${f.text}</p>${CRISIS_RESOURCES_ON_REFUSAL}`, f.status);
      return null;
    }
    const clinic = await clinicOf(check.assessmentId);
    if (opts.limited) {
      limitKeys.set(req, { link: check.nonce, client: await clientOf(check.assessmentId) });
      for (const limit of [opensPerLink, opensPerClient]) {
        const r = await limit(req);
        if (!r.isAllowed && r.isExceeded) {
          const minutes = Math.max(1, Math.ceil(r.ttlInSeconds / 60));
          void reply.header('retry-after', String(Math.max(1, r.ttlInSeconds)));
          clientPage(reply, 'Please wait a moment', html`<p>This page was opened many times in a short while. Please wait ${minutes} minute${minutes === 1 ? '' : 's'} and open your link again. It still works.</p>${crisisSection(false, clinic)}`, 429, clinic);
          return null;
        }
      }
    }
    return { kind: 'open', token: token!, assessmentId: check.assessmentId, expiresAt: check.expiresAt, clinic };
  }

  /**
   * The form, or the form again after a refusal (missing or extra answers: nothing recorded for the
   * instruments shown). Parts in order (mood first, safety last), each "Part n of m" with a plain
   * heading and a line of help; an error summary at the top linking to each marked question; the crisis
   * resources once, at the top and urgent when the answers sent endorse suicidal thoughts (PHQ-9 item 9
   * > 0, C-SSRS item 1 or 2 yes), otherwise after the form where every part's "More help" leads.
   */
  const render = (reply: FastifyReply, g: Open, instruments: Instrument[], errors = new Map<string, Map<string, string>>(), prev: Record<string, unknown> = {}, status = 200, notice?: string, endorsedElsewhere = false) => {
    const refused = status >= 400;
    const urgent = refused && (endorsedElsewhere || endorses(instruments, prev));
    const total = instruments.reduce((n, i) => n + questionsOf(i).filter((q) => !q.when).length, 0);
    return clientPage(
      reply,
      'A few questions from your clinic',
      html`${urgent ? crisisSection(true, g.clinic) : ''}${errorSummary(instruments, errors, notice)}<p>${g.clinic === NO_CLINIC ? 'Your clinic' : g.clinic.name} asks these questions to see how you are doing. There ${instruments.length === 1 ? 'is 1 part' : `are ${instruments.length} parts`} (about ${total} questions); it takes a few minutes. Your answers go to your care team only.</p>
<p class="muted">You can answer until ${clinicTime(g.expiresAt, g.clinic.timeZone)}. This link works once.</p>
${instruments.length > 1 ? html`<nav class="parts" aria-label="Parts of this form"><ol>${instruments.map((i) => html`<li><a href="#part-${i.id}">${plainTitle(i)}</a></li>`)}</ol></nav>` : ''}
<form method="post" action="/a/${g.token}" novalidate>${instruments.map((i, k) => instrumentSection(i, errors.get(i.id) ?? new Map(), prev, { n: k + 1, of: instruments.length }))}<p><button type="submit">Send my answers</button></p></form>${urgent ? '' : crisisSection(false, g.clinic)}`,
      status,
      g.clinic,
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
${errorSummary(instruments, errors, notice ?? (errors.size ? 'Some answers are missing. Please look at the questions marked below.' : undefined))}
<form method="post" action="/a/${g.token}" novalidate>${instruments.map((i) => instrumentSection(i, errors.get(i.id) ?? new Map(), prev))}<p><button type="submit">Send my answers</button></p></form></section>`
      : html``;
    return clientPage(reply, f.title, html`<p>${f.text}</p>${crisisSection(false, g.clinic)}${form}`, status ?? f.status, g.clinic);
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
      const problems = new Map<string, string>();
      try {
        inst.score(answers);
      } catch (err) {
        if (!(err instanceof InvalidAnswersError)) throw err;
        for (const p of err.problems) problems.set(String(p.item ?? '1'), p.reason === 'missing' || p.reason.startsWith('missing') ? 'Please choose an answer.' : p.reason);
      }
      // The form's wording for its conditional questions replaces the scorer's ("must be blank").
      for (const [k, v] of conditionalProblems(inst, answers)) problems.set(k, v);
      if (problems.size) {
        errors.set(inst.id, new Map(orderedProblems(inst, problems)));
        continue;
      }
      submissions.push({ instrumentId: inst.id, answers });
      if (inst.id === 'phq9' && (answers[8] as number) > 0) endorsed = true;
      if (inst.id === 'cssrs' && (answers[0] === true || answers[1] === true)) endorsed = true;
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
    if (!given.length) return clientPage(reply, f.title, html`<p>${f.text}</p>${crisisSection(false, g.clinic)}`, f.status, g.clinic);
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
      const errs = errors.get(inst.id) ?? new Map<string, string>();
      const s: LateSubmission = { instrumentId: inst.id, answers: answersFrom(inst, form) };
      // Complete on its own (another questionnaire of the form is not): scored as a late answer.
      const t = !notice && !errs.size ? triageLate([s]) : triageIncomplete(s, notice ? 'it came with an answer the form did not ask for' : whyNotScored(errs));
      if (!t?.critical) continue;
      try {
        await recordLateCriticalAnswer(deps, g.assessmentId, [s], t);
      } catch (err) {
        req.log.error({ assessmentId: g.assessmentId, err: err instanceof Error ? err.message : String(err) }, 'late critical answer could not be recorded');
        return clientPage(reply, 'Please contact your clinic', html`${crisisSection(true, g.clinic)}<p>We could not pass your answers on to your clinic just now. Please call your clinic, or use the numbers above.</p>`, 503, g.clinic);
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
      return clientPage(reply, f.title, html`${t.endorsed ? crisisSection(true, g.clinic) : ''}<p>${f.text}</p><p>Your answers were not recorded, because this link has closed. If you would like to tell your clinic how you are doing, please contact them.</p>${t.endorsed ? '' : crisisSection(false, g.clinic)}`, f.status, g.clinic);
    }
    try {
      await recordLateCriticalAnswer(deps, g.assessmentId, submissions, t);
    } catch (err) {
      req.log.error({ assessmentId: g.assessmentId, err: err instanceof Error ? err.message : String(err) }, 'late critical answer could not be recorded');
      return clientPage(reply, 'Please contact your clinic', html`${crisisSection(true, g.clinic)}<p>We could not pass your answers on to your clinic just now. Please call your clinic, or use the numbers above.</p>`, 503, g.clinic);
    }
    return clientPage(reply, 'Thank you', html`${crisisSection(true, g.clinic)}<p>Thank you. This questionnaire had closed, but your answers have been sent to your care team and they have been alerted.</p><p>You can close this page now.</p>`, 200, g.clinic);
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
        const r = await submitFormAnswers(deps.temporal, g.assessmentId, s);
        if (r.showCrisisResources) endorsed = true;
        recorded.push(getInstrument(s.instrumentId)!);
      } catch (err) {
        // Lost with its workflow task (a worker stopped while it recorded them) counts as refused here:
        // a critical answer among them still reaches the course below.
        if (!(err instanceof WorkflowUpdateFailedError) && !(err instanceof WorkflowNotFoundError) && !lostToTaskFailure(err)) throw err;
        req.log.warn({ assessmentId: g.assessmentId, instrumentId: s.instrumentId, err: (err as Error).message }, 'assessment submission refused');
        closed.push(s);
      }
    }
    // Closed while the client answered: a critical answer among them is recorded as a late one.
    if (closed.length && triageLate(closed).critical) critical.push({ submissions: closed, triage: triageLate(closed) });
    // An instrument that cannot be scored (an answer missing, or one it did not ask): a critical answer in it is recorded.
    for (const inst of instruments) {
      if (complete.some((s) => s.instrumentId === inst.id)) continue;
      const why = withExtra.has(inst.id) ? 'it came with an answer the form did not ask for' : whyNotScored(read.errors.get(inst.id) ?? new Map());
      const s: LateSubmission = { instrumentId: inst.id, answers: answersFrom(inst, form) };
      const t = triageIncomplete(s, why);
      if (t?.critical) critical.push({ submissions: [s], triage: t });
    }
    for (const c of critical) {
      try {
        await recordLateCriticalAnswer(deps, g.assessmentId, c.submissions, c.triage);
      } catch (err) {
        req.log.error({ assessmentId: g.assessmentId, err: err instanceof Error ? err.message : String(err) }, 'critical answer on a refused form could not be recorded');
        return clientPage(reply, 'Please contact your clinic', html`${crisisSection(true, g.clinic)}<p>We could not pass your answers on to your clinic just now. Please call your clinic, or use the numbers above.</p>`, 503, g.clinic);
      }
      endorsed = true;
    }
    const sent = [
      recorded.length ? `Your answers to ${listJoin(recorded.map(quoted))} have been sent to your care team.` : '',
      critical.length ? 'Your answer about thoughts of death or of hurting yourself has been sent to your care team, and they have been alerted.' : '',
    ].filter(Boolean).join(' ');
    const extra = unexpectedFields(instruments, form);
    const remaining = await openInstruments(g.assessmentId);
    if (!remaining.length) {
      await links.consumeClientLink(g.token);
      const body = html`${endorsed ? crisisSection(true, g.clinic) : ''}<p>Thank you. ${sent || 'Your answers have been sent to your care team.'}</p>${extra.length ? html`<p>Answers this form did not ask for were not recorded (${extra.join('; ')}).</p>` : ''}<p>You can close this page now.</p>`;
      return clientPage(reply, 'Thank you', body, 200, g.clinic);
    }
    const left = remaining.map((i) => {
      const keys = [...(read.errors.get(i.id)?.keys() ?? [])];
      return keys.length === i.items.length ? `${quoted(i)} (all ${i.items.length} questions)` : keys.length ? `${quoted(i)} (question${keys.length === 1 ? '' : 's'} ${keys.join(', ')})` : quoted(i);
    });
    const onlyMissing = [...read.errors.values()].every((m) => [...m.values()].every(isMissing));
    const notice = [
      sent,
      extra.length ? `This form received answers it did not ask for, which were not recorded (${extra.join('; ')}).` : '',
      read.errors.size ? `${onlyMissing ? 'Some answers are missing' : 'Some answers need a look'}: ${left.join(', ')}.` : '',
      `Please answer ${remaining.length === 1 ? quoted(remaining[0]!) : 'the questions'} below and send again.`,
    ].filter(Boolean).join(' ');
    const errors = new Map([...read.errors].filter(([id]) => remaining.some((i) => i.id === id)));
    return render(reply, g, remaining, errors, form, 400, notice, endorsed);
  }

  app.get('/a/:token', async (req, reply) => {
    const g = await gate(req, reply, { limited: true });
    if (!g) return reply;
    if (g.kind === 'late') return renderLate(reply, g);
    const instruments = await openInstruments(g.assessmentId);
    if (!instruments.length) return renderLate(reply, { kind: 'late', token: g.token, assessmentId: g.assessmentId, failure: 'closed', clinic: g.clinic });
    return render(reply, g, instruments);
  });

  app.post('/a/:token', async (req, reply) => {
    // Never rate-limited: answers (a crisis answer above all) must get through.
    const g = await gate(req, reply, { limited: false });
    if (!g) return reply;
    const form = (req.body ?? {}) as Record<string, unknown>;
    if (g.kind === 'late') return acceptLate(req, reply, g, form);
    const instruments = await openInstruments(g.assessmentId);
    if (!instruments.length) return acceptLate(req, reply, { kind: 'late', token: g.token, assessmentId: g.assessmentId, failure: 'closed', clinic: g.clinic }, form);
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
      if (spent.reason === 'used' || spent.reason === 'expired') return lateOutcome(req, reply, { kind: 'late', token: g.token, assessmentId: g.assessmentId, failure: spent.reason, clinic: g.clinic }, submissions);
      const f = FAILURE_TEXT[spent.reason];
      return clientPage(reply, f.title, html`<p>${f.text}</p>${crisisSection(false, g.clinic)}`, f.status, g.clinic);
    }
    const refused: LateSubmission[] = [];
    const lost: LateSubmission[] = [];
    for (const s of submissions) {
      try {
        const r = await submitFormAnswers(deps.temporal, g.assessmentId, s);
        if (r.showCrisisResources) endorsed = true;
      } catch (err) {
        if (lostToTaskFailure(err)) {
          req.log.warn({ assessmentId: g.assessmentId, instrumentId: s.instrumentId }, 'assessment submission lost with its workflow task');
          lost.push(s);
          continue;
        }
        if (!(err instanceof WorkflowUpdateFailedError) && !(err instanceof WorkflowNotFoundError)) throw err;
        req.log.warn({ assessmentId: g.assessmentId, instrumentId: s.instrumentId, err: err.message }, 'assessment submission refused');
        refused.push(s);
      }
    }
    // Lost with the workflow task that carried them (a worker stopped while it recorded them): the
    // assessment does not hold them, though its rows may show them. A critical answer among them goes
    // to the course now, as a critical answer (a hold and alerts), never left in a row nobody reads.
    const lostCritical = lost.length > 0 && triageLate(lost).critical;
    if (lostCritical) {
      try {
        await recordLateCriticalAnswer(deps, g.assessmentId, lost, triageLate(lost));
        endorsed = true;
      } catch (err) {
        req.log.error({ assessmentId: g.assessmentId, err: err instanceof Error ? err.message : String(err) }, 'critical answer lost with its workflow task could not be recorded');
        return clientPage(reply, 'Please contact your clinic', html`${crisisSection(true, g.clinic)}<p>We could not pass your answers on to your clinic just now. Please call your clinic, or use the numbers above.</p>`, 503, g.clinic);
      }
    }
    // The questionnaire closed while the client answered: a critical answer among the refused is still recorded.
    if (refused.length && triageLate(refused).critical) return lateOutcome(req, reply, { kind: 'late', token: g.token, assessmentId: g.assessmentId, failure: 'closed', clinic: g.clinic }, refused);
    const body = html`${endorsed ? crisisSection(true, g.clinic) : ''}<p>Thank you.${lost.length === submissions.length ? '' : ' Your answers have been sent to your care team.'}</p>${
      lostCritical ? html`<p>Your answer about thoughts of death or of hurting yourself has been sent to your care team, and they have been alerted.</p>` : ''
    }${lost.length ? html`<p>Part of your answers could not be recorded just now, because of a problem on our side. Please tell your clinic.</p>` : ''}${
      refused.length ? html`<p>Part of your answers could not be recorded because this questionnaire has closed. Please tell your clinic.</p>` : ''
    }<p>You can close this page now.</p>`;
    return clientPage(reply, 'Thank you', body, 200, g.clinic);
  });
}

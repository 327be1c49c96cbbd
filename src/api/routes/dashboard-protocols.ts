// Dashboard pages for a clinic's own pathways (issue #21): the protocols (templates and the clinics'
// own versions, drafts and the version in use), and one protocol as a readable timeline of its phases
// and steps (who, when, what happens if late), not as JSON; for a draft also its problems with their
// paths, the guard rails it breaks with their rule and source, what it changes against the version in
// use, its rehearsal, and the publish form (a clinic's admins). A template can be copied into a draft;
// a draft is edited with a form of the common edits (counts, schedule, windows, owners, deadlines,
// follow-ups, reminders) or replaced by a pasted JSON protocol, both through updateDraft (the API's
// checks; a refused edit comes back with its values and each problem beside its field), and rehearsed
// from the page (the simulator in the background against this server, as `kap protocol rehearse`).
// Scope: src/auth/scope.ts.
import { Writable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { z } from 'zod';
import { actorDetail, actorOf, assertRecordInScope, clinicFilter, type Principal } from '../../auth/roles';
import { simulate } from '../../cli/commands/simulate';
import { MIN_REHEARSAL_CLIENTS, openSandbox, recordRehearsal, type RehearsalSummary } from '../../client/protocol-rehearsal';
import { createDraft, getDraft, getPublished, listClinicProtocols, publishDraft, updateDraft } from '../../client/protocol-store';
import { ROLES, type Protocol, type ProtocolPhase, type ProtocolStep } from '../../domain/protocol';
import { diffProtocols } from '../../domain/protocol-diff';
import { checkGuardRails } from '../../domain/protocol-guard-rails';
import { getProtocol, listProtocols } from '../../domain/protocol-registry';
import { AppError, invalidInput, type FieldProblem } from '../../errors';
import { principalOf } from '../auth';
import type { AppDeps } from '../context';
import { errorSummary, fieldError, invalidAttrs, plainMessage, refusal, valueOf, valuesOf, type FormState } from '../form-state';
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

/** Protocol hours in a tenth of a real second at this time scale (one decimal). */
export function rehearsalHoursPerTenthSecond(timeScale: number): string {
  return (Math.round((timeScale * 0.1) / 360) / 10).toString();
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
const PublishForm = z.object({ reason: z.string().trim().min(1, 'say why (it goes in the audit log)').max(500), hash: z.string().max(64).optional() });
const Reason = z.string().trim().min(1, 'say why (it goes in the audit log)').max(500);
/** Synthetic clients and time scale of a rehearsal started from the dashboard (the CLI's defaults). */
export const REHEARSAL_DEFAULT_CLIENTS = 50;
export const REHEARSAL_DEFAULT_TIME_SCALE = 216_000;
const RehearseForm = z.object({
  clients: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(MIN_REHEARSAL_CLIENTS, `must be at least ${MIN_REHEARSAL_CLIENTS}`).max(200, 'must be 200 or fewer'),
  timeScale: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? REHEARSAL_DEFAULT_TIME_SCALE : Number(v)))
    .pipe(z.number({ message: 'must be a number' }).min(1, 'must be 1 or more').max(864_000, 'must be 864000 or less')),
});

// ---- The edit form: the common edits of a draft, each field named by its path in the protocol -------

type Def = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface EditField {
  /** The input's name: the protocol path it edits (problems of that path, or under it, belong to it). */
  name: string;
  label: string;
  hint?: string;
  kind: 'number' | 'optional-number' | 'days' | 'role';
  get: (p: Protocol) => string;
  /** Writes the typed value into the definition; returns a problem message when it cannot be read. */
  set: (d: Def, v: string) => string | undefined;
}

const num = (v: string): number | string => {
  const t = v.trim();
  if (t === '') return 'is required';
  const n = Number(t);
  return Number.isFinite(n) ? n : 'must be a number';
};
const days = (v: string): number[] | string => {
  const parts = v.split(/[,;\s]+/).filter(Boolean);
  const ns = parts.map(Number);
  return ns.every(Number.isFinite) ? ns : 'must be numbers separated by commas';
};
const at = (d: Def, path: string[]): Def => path.reduce((o, k) => (o[k] ??= {}), d);
const numberField = (path: string[], label: string, hint?: string): EditField => ({
  name: path.join('.'),
  label,
  ...(hint ? { hint } : {}),
  kind: 'number',
  get: (p) => String(path.reduce<any>((o, k) => o?.[k], p) ?? ''), // eslint-disable-line @typescript-eslint/no-explicit-any
  set: (d, v) => {
    const n = num(v);
    if (typeof n === 'string') return n;
    at(d, path.slice(0, -1))[path[path.length - 1]!] = n;
    return undefined;
  },
});

/** The fields of the edit form for this protocol (its phases' steps decide the owner and deadline rows). */
export function editFields(p: Protocol): { groups: Array<{ legend: string; fields: EditField[] }>; steps: Array<{ phase: string; step: string; owner: EditField; deadline: EditField }> } {
  const counts: EditField[] = [
    numberField(['course', 'preparationSessions'], 'Preparation sessions'),
    numberField(['course', 'dosingSessions'], 'Dosing sessions'),
    {
      name: 'course.doseScheduleDays',
      label: 'Dose schedule (day of each dose from the first, comma-separated)',
      hint: 'one day per dosing session, starting at 0',
      kind: 'days',
      get: (x) => x.course.doseScheduleDays.join(', '),
      set: (d, v) => {
        const ns = days(v);
        if (typeof ns === 'string') return ns;
        d.course.doseScheduleDays = ns;
        return undefined;
      },
    },
    numberField(['course', 'minDaysBetweenDoses'], 'Fewest days between doses'),
    numberField(['course', 'maxDaysBetweenDoses'], 'Most days between doses'),
  ];
  const windows: EditField[] = [
    {
      name: 'course.integrationWindowHours',
      label: 'Integration window (hours after each dose)',
      hint: 'empty: no window',
      kind: 'optional-number',
      get: (x) => (x.course.integrationWindowHours === undefined ? '' : String(x.course.integrationWindowHours)),
      set: (d, v) => {
        if (v.trim() === '') {
          delete d.course.integrationWindowHours;
          return undefined;
        }
        const n = num(v);
        if (typeof n === 'string') return n;
        d.course.integrationWindowHours = n;
        return undefined;
      },
    },
    numberField(['safety', 'minMonitoringMinutes'], 'Monitoring on site after dosing starts (minutes)'),
    ...(p.rems ? [numberField(['rems', 'monitoringFormDeadlineHours'], 'REMS monitoring form due within (hours)')] : []),
    {
      name: 'assessments.followUps',
      label: 'Follow-up assessments (days after the last dose, comma-separated)',
      hint: 'a new follow-up asks the instruments of the last one',
      kind: 'days',
      get: (x) => x.assessments.followUps.map((f) => f.afterCourseDays).join(', '),
      set: (d, v) => {
        const ns = days(v);
        if (typeof ns === 'string') return ns;
        const old = (d.assessments.followUps ?? []) as Array<{ afterCourseDays: number; instruments: string[] }>;
        d.assessments.followUps = ns.map((afterCourseDays, k) => ({ afterCourseDays, instruments: [...(old[k]?.instruments ?? old[old.length - 1]?.instruments ?? ['phq9'])] }));
        return undefined;
      },
    },
    numberField(['assessments', 'reminders', 'everyHours'], 'Reminder of an unanswered form every (hours)'),
    numberField(['assessments', 'reminders', 'count'], 'Reminders before a form expires'),
    numberField(['assessments', 'expiryHours'], 'A form expires after (hours)'),
  ];
  const steps = p.phases.flatMap((ph, i) =>
    ph.steps.flatMap((st, j) => {
      if (st.waitsOn === 'system') return [];
      const base = `phases[${i}].steps[${j}]`;
      const owner: EditField = {
        name: `${base}.owner`,
        label: `Who: ${st.name}`,
        kind: 'role',
        get: () => st.owner ?? '',
        set: (d, v) => {
          if (!(ROLES as readonly string[]).includes(v)) return `must be one of ${ROLES.join(', ')}`;
          d.phases[i].steps[j].owner = v;
          return undefined;
        },
      };
      const deadline: EditField = {
        name: `${base}.deadlineHours`,
        label: `Due within (hours): ${st.name}`,
        kind: 'optional-number',
        get: () => (st.deadlineHours === undefined ? '' : String(st.deadlineHours)),
        set: (d, v) => {
          if (v.trim() === '') {
            delete d.phases[i].steps[j].deadlineHours;
            return undefined;
          }
          const n = num(v);
          if (typeof n === 'string') return n;
          d.phases[i].steps[j].deadlineHours = n;
          return undefined;
        },
      };
      return [{ phase: ph.name, step: st.name, owner, deadline }];
    }),
  );
  return { groups: [{ legend: 'Counts and schedule', fields: counts }, { legend: 'Windows, monitoring, follow-ups and reminders', fields: windows }], steps };
}

const fieldId = (name: string) => `edit-${name.replace(/[^A-Za-z0-9]+/g, '-').replace(/-$/, '')}`;
/** The problems of a form field: those at its path or under it. */
const problemsAt = (state: FormState | undefined, name: string): FieldProblem[] => (state ? state.problems.filter((x) => x.field === name || x.field.startsWith(`${name}.`) || x.field.startsWith(`${name}[`)) : []);
/** Store problems name the protocol's paths under `protocol.`; the form's fields are the paths themselves. */
const underProtocol = (state: FormState): FormState => ({ ...state, problems: state.problems.map((x) => ({ ...x, field: x.field.replace(/^protocol\./, '') })) });

function editForm(p: Principal, clinicId: string, protocolId: string, pr: Protocol, state?: FormState): SafeHtml {
  const s = state?.form === 'edit' ? state : undefined;
  const { groups, steps } = editFields(pr);
  const input = (f: EditField, showLabel = true) => {
    const id = fieldId(f.name);
    const pb = problemsAt(s, f.name);
    const value = valueOf(s, f.name) ?? f.get(pr);
    const label = html`<label for="${id}"${showLabel ? '' : html` class="sr-only"`}>${f.label}</label>`;
    const control =
      f.kind === 'role'
        ? html`<select id="${id}" name="${f.name}"${invalidAttrs(id, pb)}>${ROLES.map((r) => html`<option value="${r}"${r === value ? html` selected` : ''}>${ROLE_NAMES[r] ?? r}</option>`)}</select>`
        : html`<input id="${id}" name="${f.name}" value="${value}"${f.kind === 'days' ? html` inputmode="numeric"` : html` inputmode="decimal" size="8"`}${invalidAttrs(id, pb)}>`;
    return html`${label}${f.hint && showLabel ? html` <span class="muted">(${f.hint})</span>` : ''}${control}${fieldError(id, pb)}`;
  };
  const rp = problemsAt(s, 'reason');
  return html`<form method="post" action="/protocols/${clinicId}/${protocolId}/draft" class="card" id="edit" novalidate>${csrfField(p)}<h2>Edit the draft</h2>
<p>The common edits; anything else by upload (below) or <code>kap protocol draft --edit</code>. Saved only when the whole protocol checks out: a refused edit changes nothing and comes back here with each problem beside its field.</p>
${groups.map((g) => html`<fieldset><legend>${g.legend}</legend>${g.fields.map((f) => html`<div>${input(f)}</div>`)}</fieldset>`)}
<fieldset><legend>Steps: who and how soon</legend><table class="responsive" id="edit-steps"><thead><tr><th scope="col">Phase</th><th scope="col">Step</th><th scope="col">Who</th><th scope="col">Due within (hours)</th></tr></thead><tbody>${steps.map(
    (r) => html`<tr><td>${r.phase}</td><td>${r.step}</td><td>${input(r.owner, false)}</td><td>${input(r.deadline, false)}</td></tr>`,
  )}</tbody></table></fieldset>
<label for="edit-reason">Why (for the audit log)</label><input id="edit-reason" name="reason" required maxlength="500" value="${valueOf(s, 'reason') ?? ''}"${invalidAttrs('edit-reason', rp)}>${fieldError('edit-reason', rp)}
<p><button type="submit">Save the draft</button></p></form>`;
}

function uploadForm(p: Principal, clinicId: string, protocolId: string, state?: FormState): SafeHtml {
  const s = state?.form === 'upload' ? state : undefined;
  const pp = problemsAt(s, 'protocol');
  const rp = problemsAt(s, 'reason');
  return html`<form method="post" action="/protocols/${clinicId}/${protocolId}/draft/upload" class="card" id="upload" novalidate>${csrfField(p)}<h2>Replace the draft with a file</h2>
<p>Choose a JSON file or paste a whole protocol (<code>kap protocol show ${protocolId} --json</code> gives one to start from; <code>kap protocol draft --file</code> uploads a file). Every problem is listed with its path; nothing is saved until there are none.</p>
<div hidden><label for="upload-file">Choose a file (JSON)</label><input type="file" id="upload-file" accept=".json,application/json" data-fill="upload-protocol"></div>
<label for="upload-protocol">Protocol (JSON)</label><textarea id="upload-protocol" name="protocol" rows="8" spellcheck="false"${invalidAttrs('upload-protocol', pp)}>${valueOf(s, 'protocol') ?? ''}</textarea>${pp.length ? html`<div class="field-error" id="upload-protocol-error"><ul>${pp.map((x) => html`<li><code>${x.field.replace(/^protocol\.?/, '') || 'protocol'}</code>: ${plainMessage(x.message)}</li>`)}</ul></div>` : ''}
<label for="upload-reason">Why (for the audit log)</label><input id="upload-reason" name="reason" required maxlength="500" value="${valueOf(s, 'reason') ?? ''}"${invalidAttrs('upload-reason', rp)}>${fieldError('upload-reason', rp)}
<p><button type="submit" class="secondary">Replace the draft</button></p></form>`;
}

const PROFILE_WORDS: Record<string, string> = {
  completes: 'completes the course',
  'no-show': 'misses sessions',
  'bp-hold': 'blood pressure too high at a dose',
  'safety-escalation': 'a safety escalation',
  withdraws: 'withdraws',
  ineligible: 'found ineligible at screening',
};

/** A rehearsal's summary in words: how many ended as expected, where courses waited and on whom, the stuck board, emails. */
function rehearsalResult(r: Partial<RehearsalSummary>): SafeHtml {
  const byProfile = Object.entries(r.byProfile ?? {});
  const waits = r.waits ?? [];
  const stuck = r.stuck ?? [];
  const e = r.emailsPerClient;
  return html`<p id="rehearsal-verdict">${r.passed ? html`<span class="badge ok">passed</span>` : html`<span class="badge bad">did not pass</span>`} ${r.matched ?? 0} of ${r.clients ?? 0} synthetic clients ended as their profile predicts${r.unfinished ? `; ${r.unfinished} had not ended` : ''}.${r.timeScale ? ` ${r.timeScale} protocol days per real day: a tenth of a real second, about what one step of the synthetic staff takes, is ${rehearsalHoursPerTenthSecond(r.timeScale)} protocol hours, so waits and lateness of that order are the rehearsal's own pace, not the protocol's.` : ''}</p>
${(r.reasons ?? []).length ? html`<ul id="rehearsal-reasons">${r.reasons!.map((x) => html`<li>${x}</li>`)}</ul>` : ''}
${byProfile.length ? html`<table class="responsive" id="rehearsal-profiles"><caption>How the synthetic clients ended</caption><thead><tr><th scope="col">Profile</th><th scope="col">Clients</th><th scope="col">Expected</th><th scope="col">As expected</th><th scope="col">How they ended</th></tr></thead><tbody>${byProfile.map(
    ([k, v]) => html`<tr><td>${PROFILE_WORDS[k] ?? k}</td><td>${v.count}</td><td>${v.expected}</td><td>${v.matched}</td><td>${Object.entries(v.finals).map(([f, n]) => `${n} ${f}`).join(', ')}</td></tr>`,
  )}</tbody></table>` : ''}
${waits.length ? html`<table class="responsive" id="rehearsal-waits"><caption>Where courses waited, and for whom (protocol time)</caption><thead><tr><th scope="col">Step</th><th scope="col">Waiting for</th><th scope="col">Courses</th><th scope="col">Mean wait</th><th scope="col">Longest wait</th></tr></thead><tbody>${waits.map(
    (w) => html`<tr><td>${w.step}</td><td>${ROLE_NAMES[w.owner ?? ''] ?? w.owner ?? 'nobody'}</td><td>${w.courses}</td><td>${w.meanHours} h</td><td>${w.maxHours} h</td></tr>`,
  )}</tbody></table>` : ''}
<p id="rehearsal-stuck">${stuck.length ? html`Would land on the stuck board (past their deadline): ${stuck.map((x) => `${x.step} (waiting for ${ROLE_NAMES[x.owner ?? ''] ?? x.owner ?? 'nobody'}) ${x.times} time${x.times === 1 ? '' : 's'}`).join('; ')}.` : 'Nothing would land on the stuck board: no step went past its deadline.'}</p>
${e ? html`<p id="rehearsal-emails">Each synthetic client received ${e.min === e.max ? `${e.min}` : `${e.min} to ${e.max}`} emails (${e.mean} on average); staff received ${r.staffEmails ?? 0} in all. None left the machine.</p>` : ''}`;
}

interface RehearsalJob {
  sandboxClinicId: string;
  clients: number;
  startedAt: Date;
  done: boolean;
  error?: string;
}

export function dashboardProtocolRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { db, config } = deps;
  /** Rehearsals started from this server, by clinic and protocol (the sandbox row is what persists). */
  const jobs = new Map<string, RehearsalJob>();
  /** Where the background simulator reaches this server: its own listening address, else PUBLIC_URL. */
  const selfUrl = () => {
    const a = app.server.listening ? app.server.address() : null;
    if (!a || typeof a === 'string') return config.publicUrl;
    const host = a.family === 'IPv6' ? `[${a.address === '::' ? '::1' : a.address}]` : a.address === '0.0.0.0' ? '127.0.0.1' : a.address;
    return `http://${host}:${a.port}`;
  };

  app.get('/protocols', async (req, reply) => {
    const p = principalOf(req);
    const ids = clinicFilter(p);
    let cq = db.selectFrom('clinics').select(['id', 'name']).where('id', 'not in', db.selectFrom('sandbox_clinics').select('clinic_id')).orderBy('name');
    if (ids) cq = ids.length ? cq.where('id', 'in', ids) : cq.where(({ lit }) => lit(false));
    const [clinics, own] = await Promise.all([cq.execute(), listClinicProtocols(db, ids)]);
    const canDraft = p.role === 'admin' || p.role === 'coordinator';
    const templates = listProtocols();
    const body = html`<p>The shipped protocols are templates: copy one into a draft for your clinic, change it (the draft's form, an upload, or <code>kap protocol draft --edit</code>), check it, rehearse it on synthetic clients, and a clinic admin publishes it. New enrolments then follow the published version; running courses keep theirs.</p>
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

  const paramsOf = (req: FastifyRequest, p: Principal) => {
    const params = ClinicProtocolParams.safeParse(req.params);
    if (!params.success) throw new AppError('not_found', 'protocol not found');
    assertRecordInScope(p, params.data.clinicId, `clinic ${params.data.clinicId}`);
    return params.data;
  };

  /** A sandbox still running a rehearsal of this exact draft (its rehearsal clinician still active), newest first. */
  async function runningRehearsal(clinicId: string, protocolId: string, hash: string) {
    const row = await db
      .selectFrom('sandbox_clinics as s')
      .select(['s.clinic_id', 's.created_at'])
      .where('s.source_clinic_id', '=', clinicId)
      .where('s.protocol_id', '=', protocolId)
      .where('s.draft_hash', '=', hash)
      .where('s.created_at', '>', new Date(Date.now() - 6 * 3_600_000))
      .where(({ exists, selectFrom }) => exists(selectFrom('staff_clinics as sc').innerJoin('staff as st', 'st.id', 'sc.staff_id').select('st.id').whereRef('sc.clinic_id', '=', 's.clinic_id').where('st.active', '=', true).where('st.id', 'like', 'rehearsal-%')))
      .orderBy('s.created_at', 'desc')
      .executeTakeFirst();
    if (!row) return undefined;
    const [c, at] = await Promise.all([
      db.selectFrom('courses').select([sql<number>`count(*)::int`.as('n'), sql<number>`count(ended_at)::int`.as('ended')]).where('clinic_id', '=', row.clinic_id).executeTakeFirstOrThrow(),
      // Where the open courses stand now: their current step, by count.
      db.selectFrom('courses').select(['current_step', sql<number>`count(*)::int`.as('n')]).where('clinic_id', '=', row.clinic_id).where('ended_at', 'is', null).groupBy('current_step').orderBy(sql`count(*)`, 'desc').limit(6).execute(),
    ]);
    const waiting = at.map((x) => `${x.current_step ?? 'starting'} ×${x.n}`).join(', ');
    return { sandboxClinicId: row.clinic_id, startedAt: row.created_at, enrolled: Number(c.n), ended: Number(c.ended), waiting };
  }

  /** The protocol page; `state` is a refused form of it (edit, upload, rehearse, publish), rendered again with its values and problems. */
  async function protocolPage(req: FastifyRequest, reply: FastifyReply, state?: FormState) {
    const p = principalOf(req);
    const { clinicId, protocolId } = paramsOf(req, p);
    const clinic = await db.selectFrom('clinics').select(['id', 'name']).where('id', '=', clinicId).executeTakeFirst();
    if (!clinic) throw new AppError('not_found', `clinic ${clinicId} not found`);
    const want = state ? 'draft' : String((req.query as Record<string, unknown>).version ?? '');
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
    const canDraft = p.role === 'admin' || p.role === 'coordinator';
    let draftPart: SafeHtml = html``;
    let errorTop: SafeHtml = html``;
    if (draft) {
      const rails = checkGuardRails(draft.definition);
      const r = draft.rehearsal as (Partial<RehearsalSummary> & { hash?: string; at?: string }) | null;
      const rehearsedNow = !!r && r.hash === draft.hash;
      const running = await runningRehearsal(clinicId, protocolId, draft.hash);
      const job = jobs.get(`${clinicId}/${protocolId}`);
      const floorOk = draft.problems.length === 0 && rails.length === 0;
      const rs = state?.form === 'rehearse' ? state : undefined;
      const cp = problemsAt(rs, 'clients');
      const tp = problemsAt(rs, 'timeScale');
      const rehearseForm =
        canDraft && floorOk && !running
          ? html`<form method="post" action="/protocols/${clinicId}/${protocolId}/rehearse" id="rehearse" novalidate>${csrfField(p)}<label for="rehearse-clients">Synthetic clients</label><input id="rehearse-clients" name="clients" inputmode="numeric" size="5" value="${valueOf(rs, 'clients') ?? String(REHEARSAL_DEFAULT_CLIENTS)}"${invalidAttrs('rehearse-clients', cp)}>${fieldError('rehearse-clients', cp)}
<details${tp.length ? html` open` : ''}><summary>Time scale</summary><label for="rehearse-ts">Protocol days per real day (${REHEARSAL_DEFAULT_TIME_SCALE} = 2.5 protocol days a second)</label><input id="rehearse-ts" name="timeScale" inputmode="decimal" value="${valueOf(rs, 'timeScale') ?? String(REHEARSAL_DEFAULT_TIME_SCALE)}"${invalidAttrs('rehearse-ts', tp)}>${fieldError('rehearse-ts', tp)}</details>
<p><button type="submit">Rehearse on ${valueOf(rs, 'clients') ?? REHEARSAL_DEFAULT_CLIENTS} clients</button></p></form>`
          : html``;
      const publishProblems = state?.form === 'publish' ? state.problems : [];
      const ps = state?.form === 'publish' ? state : undefined;
      const prp = problemsAt(ps, 'reason');
      draftPart = html`${canDraft ? editForm(p, clinicId, protocolId, pr, state) : ''}
<section class="card" id="check"><h2>Check</h2>
${draft.problems.length ? html`<p class="error">${draft.problems.length} problem(s):</p><ul>${draft.problems.map((x) => html`<li><code>${x.path}</code>: ${plainMessage(x.message)}</li>`)}</ul>` : html`<p><span class="badge ok">no problems</span></p>`}
${rails.length ? html`<p class="error">Breaks the clinical floor: it cannot be rehearsed or published.</p><ul id="guard-rails">${rails.map((g) => html`<li><strong>${g.rule}</strong> at <code>${g.path}</code>: ${g.message}<br><span class="muted">Source: ${g.source}</span></li>`)}</ul>` : html`<p><span class="badge ok">every guard rail kept</span></p>`}
</section>
<section class="card" id="changes"><h2>What changes${draft.comparedWith ? ` against ${draft.comparedWith}` : ''}</h2>${draft.changes.length ? html`<ul>${draft.changes.map((c) => html`<li>${c.text}</li>`)}</ul>` : html`<p class="empty">No changes.</p>`}</section>
<section class="card" id="rehearsal"><h2>Rehearsal</h2>
<p>Runs this exact draft through the simulator on the real engine: synthetic clients with seeded profiles (complete, no-show, blood-pressure hold, safety escalation, withdrawal, ineligible), time-scaled, in a sandbox clinic whose emails never leave the machine. Publishing needs a passing rehearsal of this exact draft; any edit clears it.</p>
${
  running
    ? html`<p id="rehearsal-running" role="status"><span class="badge muted">running</span> ${running.enrolled} of ${job && job.sandboxClinicId === running.sandboxClinicId ? job.clients : '?'} synthetic clients enrolled, ${running.ended} course(s) ended so far${running.waiting ? `; open courses at ${running.waiting}` : ''}. <a href="/protocols/${clinicId}/${protocolId}?version=draft#rehearsal">Refresh</a></p>`
    : job?.error && !rehearsedNow
      ? html`<p class="error" id="rehearsal-error">The last rehearsal started here stopped: ${job.error}</p>`
      : ''
}
${rehearsedNow ? rehearsalResult(r!) : !running ? html`<p class="empty">${r ? 'The last rehearsal was of an earlier version of this draft: rehearse it again.' : 'Not rehearsed yet.'}</p>` : ''}
${rehearseForm}${!floorOk ? html`<p>Fix the problems and guard rails above before rehearsing.</p>` : ''}
</section>
${canDraft ? uploadForm(p, clinicId, protocolId, state) : ''}
${
  p.role === 'admin'
    ? html`<section class="card" id="publish"><h2>Publish</h2>${
        floorOk
          ? html`<form method="post" action="/protocols/${clinicId}/${protocolId}/publish" novalidate>${csrfField(p)}<input type="hidden" name="hash" value="${draft.hash}"><p>New enrolments of ${clinic.name} will follow this version; running courses keep theirs.${rehearsedNow && r!.passed ? '' : ' It needs a passing rehearsal of this exact draft first.'}</p>${
              publishProblems.length ? html`<ul class="error" id="publish-problems">${publishProblems.map((x) => html`<li>${x.field === 'reason' ? 'Why' : x.field}: ${plainMessage(x.message)}</li>`)}</ul>` : ''
            }<label for="publish-reason">Why</label><input id="publish-reason" name="reason" required maxlength="500" value="${valueOf(ps, 'reason') ?? ''}"${invalidAttrs('publish-reason', prp)}>${fieldError('publish-reason', prp)} <button type="submit">Publish draft v${draft.version}</button></form>`
          : html`<p class="error" id="publish-refused">Cannot be published: ${rails.length ? `it breaks the clinical floor (${rails.map((g) => `${g.rule} at ${g.path}: ${g.message}; source: ${g.source}`).join(' · ')})` : 'fix the problems listed under Check first'}.</p>`
      }</section>`
    : html`<p class="muted">A clinic admin publishes drafts.</p>`
}`;
      if (state) {
        const fields = editFields(pr);
        const all = [...fields.groups.flatMap((g) => g.fields), ...fields.steps.flatMap((x) => [x.owner, x.deadline])];
        const anchor = (f: string): string | undefined => {
          if (state.form === 'edit') {
            if (f === 'reason') return 'edit-reason';
            const hit = all.filter((x) => f === x.name || f.startsWith(`${x.name}.`) || f.startsWith(`${x.name}[`)).sort((a, b) => b.name.length - a.name.length)[0];
            return hit ? fieldId(hit.name) : undefined;
          }
          if (state.form === 'upload') return f === 'reason' ? 'upload-reason' : 'upload-protocol';
          if (state.form === 'rehearse') return f === 'clients' ? 'rehearse-clients' : f === 'timeScale' ? 'rehearse-ts' : undefined;
          if (state.form === 'publish') return f === 'reason' ? 'publish-reason' : undefined;
          return undefined;
        };
        const labelOf = (f: string) => all.find((x) => x.name === f)?.label ?? ({ reason: 'Why', clients: 'Synthetic clients', timeScale: 'Time scale', protocol: 'Protocol (JSON)' } as Record<string, string>)[f] ?? f;
        errorTop = errorSummary(state, { edit: 'Not saved', upload: 'Not saved', rehearse: 'Not rehearsed', publish: 'Not published' }[state.form] ?? 'Refused', anchor, labelOf);
      }
    } else if (shown.kind === 'version' && summary?.inUse && shown.protocol.version !== summary.inUse) {
      const inUse = await getPublished(db, clinicId, protocolId, summary.inUse);
      if (inUse) {
        const changes = diffProtocols(inUse.definition, pr);
        draftPart = html`<section class="card" id="changes"><h2>Against v${summary.inUse} (in use)</h2>${changes.length ? html`<ul>${changes.map((c) => html`<li>${c.text}</li>`)}</ul>` : html`<p class="empty">No changes.</p>`}</section>`;
      }
    }
    const body = html`${errorTop}<p>${clinic.name} · <strong>${pr.name}</strong> <span class="muted">${protocolId}</span> · showing ${shown.label}</p>${versions}
${pr.description ? html`<p>${pr.description}</p>` : ''}
<p id="protocol-summary">${pr.course.preparationSessions} preparation session(s), ${pr.course.dosingSessions} dose(s)${pr.course.integrationWindowHours ? `, integration within ${pr.course.integrationWindowHours} h of each dose` : ''}; follow-ups ${pr.assessments.followUps.map((f) => `day ${f.afterCourseDays}`).join(', ') || 'none'} after the last dose.</p>
${draftPart}
<h2>Timeline</h2>${protocolTimeline(pr)}`;
    return send(reply, page({ title: `Protocol ${protocolId}`, principal: p, active: '/protocols', flash: state ? null : flashFrom(req) }, body), state?.status ?? 200);
  }

  app.get('/protocols/:clinicId/:protocolId', async (req, reply) => protocolPage(req, reply));

  /** Runs `handle`; a refusal (any AppError but not-found/forbidden of the page itself) renders the page again with the form's values and problems. */
  const orRefused = async (req: FastifyRequest, reply: FastifyReply, form: string, handle: () => Promise<unknown>) => {
    try {
      return await handle();
    } catch (err) {
      const state = refusal(form, req.body, err);
      if (!state || (err as AppError).code === 'forbidden' || ((err as AppError).code === 'not_found' && form !== 'publish')) throw err;
      return protocolPage(req, reply, form === 'edit' ? underProtocol(state) : state);
    }
  };

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

  // The edit form: every field read, then the whole protocol through updateDraft (the API's checks).
  app.post('/protocols/:clinicId/:protocolId/draft', async (req, reply) => {
    const p = principalOf(req);
    const { clinicId, protocolId } = paramsOf(req, p);
    return orRefused(req, reply, 'edit', async () => {
      const draft = await getDraft(db, clinicId, protocolId);
      const body = valuesOf(req.body);
      const def = structuredClone(draft.definition) as Def;
      const problems: FieldProblem[] = [];
      const { groups, steps } = editFields(draft.definition);
      for (const f of [...groups.flatMap((g) => g.fields), ...steps.flatMap((x) => [x.owner, x.deadline])]) {
        const v = body[f.name]?.at(-1);
        if (v === undefined) continue; // not sent: unchanged
        const bad = f.set(def, v);
        if (bad) problems.push({ field: f.name, message: bad });
      }
      const reason = Reason.safeParse(body.reason?.at(-1) ?? '');
      if (!reason.success) problems.push({ field: 'reason', message: reason.error.issues[0]!.message });
      if (problems.length) throw invalidInput(problems);
      await updateDraft(db, actor(p), { clinicId, protocolId, definition: def, reason: reason.data! });
      return reply.redirect(`/protocols/${clinicId}/${protocolId}?version=draft&ok=${encodeURIComponent('Draft saved: its check, changes and rehearsal below are of this version.')}`, 303);
    });
  });

  // A whole protocol pasted as JSON, as the API's PUT .../draft takes it.
  app.post('/protocols/:clinicId/:protocolId/draft/upload', async (req, reply) => {
    const p = principalOf(req);
    const { clinicId, protocolId } = paramsOf(req, p);
    return orRefused(req, reply, 'upload', async () => {
      const body = valuesOf(req.body);
      const problems: FieldProblem[] = [];
      let definition: unknown;
      const text = body.protocol?.at(-1) ?? '';
      if (!text.trim()) problems.push({ field: 'protocol', message: 'paste a protocol (JSON)' });
      else {
        try {
          definition = JSON.parse(text);
        } catch (err) {
          problems.push({ field: 'protocol', message: `is not JSON: ${(err as Error).message.slice(0, 200)}` });
        }
      }
      const reason = Reason.safeParse(body.reason?.at(-1) ?? '');
      if (!reason.success) problems.push({ field: 'reason', message: reason.error.issues[0]!.message });
      if (problems.length) throw invalidInput(problems);
      await updateDraft(db, actor(p), { clinicId, protocolId, definition, reason: reason.data! });
      return reply.redirect(`/protocols/${clinicId}/${protocolId}?version=draft&ok=${encodeURIComponent('Draft replaced by the uploaded protocol.')}`, 303);
    });
  });

  // Rehearse the draft: a sandbox now (refused like the API's when the draft breaks the floor), the
  // simulator in the background against this server, the summary kept on the draft when it ends.
  app.post('/protocols/:clinicId/:protocolId/rehearse', async (req, reply) => {
    const p = principalOf(req);
    const { clinicId, protocolId } = paramsOf(req, p);
    return orRefused(req, reply, 'rehearse', async () => {
      const form = RehearseForm.safeParse(req.body ?? {});
      if (!form.success) throw invalidInput(form.error.issues.map((i) => ({ field: String(i.path[0] ?? 'clients'), message: i.message })));
      const draft = await getDraft(db, clinicId, protocolId);
      const running = await runningRehearsal(clinicId, protocolId, draft.hash);
      if (running) throw new AppError('conflict', 'a rehearsal of this exact draft is already running: wait for its result', [{ field: 'clients', message: 'a rehearsal of this draft is already running' }]);
      const who = actor(p);
      const sandbox = await openSandbox(db, who, { clinicId, protocolId });
      const { clients, timeScale } = form.data;
      const job: RehearsalJob = { sandboxClinicId: sandbox.sandboxClinicId, clients, startedAt: new Date(), done: false };
      jobs.set(`${clinicId}/${protocolId}`, job);
      const quiet = new Writable({ write: (_c, _e, cb) => cb() });
      void (async () => {
        try {
          await simulate({ clients, protocol: protocolId, timeScale, seed: 1, concurrency: 8, url: selfUrl(), token: sandbox.token, rehearsal: { clinicId: sandbox.sandboxClinicId, definition: sandbox.definition as unknown as Protocol } }, quiet);
        } catch (err) {
          job.error = `the simulator stopped (${(err as Error).message.slice(0, 200)})`;
        }
        try {
          await recordRehearsal(db, who, { clinicId, protocolId, sandboxClinicId: sandbox.sandboxClinicId, timeScale });
        } catch (err) {
          job.error = `${job.error ? `${job.error}; ` : ''}its result could not be recorded (${(err as Error).message.slice(0, 200)})`;
          // Close the sandbox anyway: its clinician stops, and the page stops saying "running".
          await db.updateTable('staff').set({ active: false }).where('id', 'in', db.selectFrom('staff_clinics').select('staff_id').where('clinic_id', '=', sandbox.sandboxClinicId)).where('id', 'like', 'rehearsal-%').execute().catch(() => undefined);
        }
        job.done = true;
      })();
      return reply.redirect(`/protocols/${clinicId}/${protocolId}?version=draft&ok=${encodeURIComponent(`Rehearsal started on ${clients} synthetic clients: refresh this page for its result.`)}#rehearsal`, 303);
    });
  });

  app.post('/protocols/:clinicId/:protocolId/publish', async (req, reply) => {
    const p = principalOf(req);
    const { clinicId, protocolId } = paramsOf(req, p);
    return orRefused(req, reply, 'publish', async () => {
      const form = PublishForm.safeParse(req.body ?? {});
      if (!form.success) throw invalidInput(form.error.issues.map((i) => ({ field: String(i.path[0] ?? 'reason'), message: i.message })));
      const v = await publishDraft(db, actor(p), { clinicId, protocolId, reason: form.data.reason, ...(form.data.hash ? { hash: form.data.hash } : {}) });
      return reply.redirect(`/protocols/${clinicId}/${protocolId}?ok=${encodeURIComponent(`Published v${v.version}: new enrolments follow it; running courses keep their version.`)}`, 303);
    });
  });
}

/**
 * What the enroll form offers a client of this clinic: the clinic's own protocols (the version in use,
 * which enrolment resolves through the store) first, then the shipped templates it has not replaced
 * with a version of its own.
 */
export async function enrollChoices(db: AppDeps['db'], clinicId: string): Promise<Array<{ id: string; label: string }>> {
  const own = (await listClinicProtocols(db, [clinicId])).filter((c) => c.inUse !== null);
  const mine = new Set(own.map((c) => c.protocolId));
  return [
    ...own.map((c) => ({ id: c.protocolId, label: `${c.name} (this clinic's v${c.inUse}, in use)` })),
    ...listProtocols().filter((t) => !mine.has(t.id)).map((t) => ({ id: t.id, label: `${t.name} (template v${t.version})` })),
  ];
}

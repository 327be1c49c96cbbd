// Dashboard forms for the staff actions, rendered from each action's field descriptors in the action
// catalogue (src/domain/actions/catalogue.ts), and the one converter from form fields to action bodies.
// Field names carry their type: `bloodPressure.systolic:number`, `escortConfirmed:bool`, so one
// generic converter builds the JSON body that the same zod schema as the API then validates.
import type { Principal } from '../auth/roles';
import type { CourseAction } from '../auth/role-matrix';
import { ACTIONS, ACTION_NAMES, type ActionSpec, type FormField } from '../domain/actions/catalogue';
import { problemsFor, submissionField, valueOf, invalidAttrs, fieldError, wallTimeToInstant, zoneOrUtc, type FormState } from './form-state';
import { csrfField, html, type SafeHtml } from './html';

const FORBIDDEN_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

export interface FormReadOptions {
  /** The clinic's IANA time zone: a datetime-local value (no offset) is read as the clinic's wall clock. */
  timeZone?: string;
}

export function formToBody(form: Record<string, unknown>, opts: FormReadOptions = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [rawKey, rawVal] of Object.entries(form ?? {})) {
    if (rawKey.startsWith('_')) continue;
    const val = Array.isArray(rawVal) ? rawVal[rawVal.length - 1] : rawVal;
    if (typeof val !== 'string' || val.trim() === '') continue;
    const [path, type = 'string'] = rawKey.split(':');
    const parts = path!.split('.');
    if (parts.some((p) => !p || FORBIDDEN_KEYS.has(p))) continue;
    if (type === 'reason') continue; // read with its `:answer` field
    let v: unknown = val.trim();
    if (type === 'answer') {
      // A screening answer: yes, no, or not assessed with the reason typed next to it.
      if (val === 'not-assessed') {
        const r = form[`${path}:reason`];
        v = { notAssessed: typeof r === 'string' ? r.trim() : Array.isArray(r) ? String(r[r.length - 1] ?? '').trim() : '' };
      }
    } else if (type === 'number') v = Number.isFinite(Number(val)) ? Number(val) : val;
    else if (type === 'bool') v = val === 'true' || val === 'on' || val === 'yes';
    else if (type === 'list') v = val.split(',').map((s) => s.trim()).filter(Boolean);
    else if (type === 'datetime') {
      // A datetime-local value has no offset: it is the clinic's wall clock, not the server's.
      const local = wallTimeToInstant(val.trim(), zoneOrUtc(opts.timeZone));
      v = local ? local.toISOString() : Number.isNaN(Date.parse(val)) ? val : new Date(val).toISOString();
    }
    let node = out;
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]!] = v;
  }
  return out;
}

export interface FormContext {
  courseId: string;
  stepKey: string | null;
  principal: Principal;
  dischargeChecklist: Array<{ id: string; label: string }>;
  routes: string[];
  /** Makes this form's ids unique on the page (default: the action's name). */
  idPrefix?: string;
  /** A refused submission: applied to the form whose `idPrefix` (or action) it names. */
  state?: FormState;
  /** The course clinic's active staff, for `staff` fields. */
  staff?: Array<{ id: string; displayName: string; role: string }>;
  /** The clinic's time zone, named beside date-time inputs. */
  timeZone?: string;
}

/** What one rendering of one form knows: its id prefix, its refused values (if any), the page's context. */
interface Ctx extends FormContext {
  prefix: string;
  s: FormState | undefined;
}

const slug = (name: string) => name.replace(/[^a-z0-9]/gi, '-');
const idOf = (ctx: Ctx, name: string) => `${ctx.prefix}-${slug(name)}`;
const wantsValues = (ctx: Ctx) => ctx.s !== undefined;

/** The element id a problem's field points at in this form (the same ids as the renderer's). */
export function problemAnchor(spec: ActionSpec, prefix: string, field: string): string | undefined {
  const names = new Set<string>();
  const walk = (fs: readonly FormField[]) => {
    for (const f of fs) {
      if (f.kind === 'group') walk(f.fields);
      else if (f.kind === 'screening') for (const q of Object.keys(f.questions)) names.add(`${f.name}.${q}`);
      else if ('name' in f) names.add(f.name);
    }
  };
  walk(spec.form);
  for (let path = field; path; path = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '') if (names.has(path)) return `${prefix}-${slug(path)}`;
  return undefined;
}

/** The label of a problem's field in this form, for the summary at the top of the page. */
export function problemLabel(spec: ActionSpec, field: string): string {
  let found: string | undefined;
  const walk = (fs: readonly FormField[], legend?: string) => {
    for (const f of fs) {
      if (found) return;
      if (f.kind === 'group') walk(f.fields, f.legend);
      else if (f.kind === 'screening') {
        for (const [q, label] of Object.entries(f.questions)) if (field === `${f.name}.${q}`) found = label;
      } else if ('name' in f && (field === f.name || field.startsWith(`${f.name}.`))) found = 'label' in f ? (legend && f.kind === 'number' && !f.label.includes(legend) ? `${legend}: ${f.label}` : f.label) : f.legend;
    }
  };
  walk(spec.form);
  return found ?? field;
}

const yesNo = (ctx: Ctx, name: string, legend: string, def?: boolean) => {
  const id = idOf(ctx, name);
  const problems = problemsFor(ctx.s, name);
  const sent = valueOf(ctx.s, `${name}:bool`);
  const chosen = wantsValues(ctx) ? (sent === 'true' ? true : sent === 'false' ? false : undefined) : def;
  return html`<fieldset id="${id}" tabindex="-1"${invalidAttrs(id, problems)}><legend>${legend}</legend>${fieldError(id, problems)}
<label class="check" for="${id}-yes"><input type="radio" id="${id}-yes" name="${name}:bool" value="true"${chosen === true ? html` checked` : ''} required> Yes</label>
<label class="check" for="${id}-no"><input type="radio" id="${id}-no" name="${name}:bool" value="false"${chosen === false ? html` checked` : ''}> No</label></fieldset>`;
};

const ANSWERS = [
  { value: 'yes', label: 'Present' },
  { value: 'no', label: 'Absent' },
  { value: 'not-assessed', label: 'Not assessed' },
];
/** One screening question: present, absent, or not assessed with a reason; no choice is made for the clinician. */
const screeningQuestion = (ctx: Ctx, name: string, label: string) => {
  const id = idOf(ctx, name);
  const problems = problemsFor(ctx.s, name);
  const sent = valueOf(ctx.s, `${name}:answer`);
  return html`<fieldset class="q" id="${id}" tabindex="-1"${invalidAttrs(id, problems)}><legend>${label}</legend>${fieldError(id, problems)}
${ANSWERS.map((a, i) => html`<label class="check" for="${id}-${a.value}"><input type="radio" id="${id}-${a.value}" name="${name}:answer" value="${a.value}"${sent === a.value ? html` checked` : ''}${i === 0 ? html` required` : ''}> ${a.label}</label>`)}
<label for="${id}-reason">Why not assessed</label><input id="${id}-reason" name="${name}:reason" value="${valueOf(ctx.s, `${name}:reason`) ?? ''}"></fieldset>`;
};
const checkbox = (ctx: Ctx, name: string, label: string, falseWhenUnchecked?: boolean) => {
  const id = idOf(ctx, name);
  const ticked = (ctx.s?.values[`${name}:bool`] ?? []).includes('true');
  return html`${falseWhenUnchecked ? html`<input type="hidden" name="${name}:bool" value="false">` : ''}<label class="check" for="${id}"><input type="checkbox" id="${id}" name="${name}:bool" value="true"${ticked ? html` checked` : ''}> ${label}</label>`;
};

/** A label, a control and its error, in one cell (a grid lays each field out whole). */
const cell = (ctx: Ctx, name: string, label: string, control: (id: string, attrs: SafeHtml) => SafeHtml) => {
  const id = idOf(ctx, name);
  const problems = problemsFor(ctx.s, name);
  return html`<div class="field"><label for="${id}">${label}</label>${control(id, invalidAttrs(id, problems))}${fieldError(id, problems)}</div>`;
};

/** Renders one field descriptor of the action catalogue (src/domain/actions/catalogue.ts). */
function renderField(f: FormField, ctx: Ctx): SafeHtml {
  switch (f.kind) {
    case 'step':
      if (!ctx.stepKey) return html``;
      return f.quiet ? html`<input type="hidden" name="stepKey" value="${ctx.stepKey}">` : html`<input type="hidden" name="stepKey" value="${ctx.stepKey}"><p class="muted">Step: ${ctx.stepKey}</p>`;
    case 'text': {
      const value = wantsValues(ctx) ? (valueOf(ctx.s, f.name) ?? '') : (f.value ?? '');
      return cell(ctx, f.name, f.label, (id, a) =>
        f.area ? html`<textarea id="${id}" name="${f.name}" rows="2" cols="40"${f.required ? html` required` : ''}${a}>${value}</textarea>` : html`<input id="${id}" name="${f.name}" value="${value}"${f.required ? html` required` : ''}${a}>`,
      );
    }
    case 'number':
      return cell(ctx, f.name, f.label, (id, a) => html`<input id="${id}" name="${f.name}:number" type="number" inputmode="decimal" min="${f.min ?? ''}" max="${f.max ?? ''}" step="${f.step ?? 'any'}" value="${valueOf(ctx.s, `${f.name}:number`) ?? ''}"${f.required ? html` required` : ''}${a}>`);
    case 'datetime': {
      const zone = zoneOrUtc(ctx.timeZone);
      return cell(ctx, f.name, `${f.label} (clinic time, ${zone})`, (id, a) => html`<input id="${id}" type="datetime-local" name="${f.name}:datetime" value="${valueOf(ctx.s, `${f.name}:datetime`) ?? ''}"${a}>`);
    }
    case 'yes-no':
      return yesNo(ctx, f.name, f.legend, f.checked);
    case 'checkbox':
      return checkbox(ctx, f.name, f.label, f.falseWhenUnchecked);
    case 'radio': {
      const name = f.list ? `${f.name}:list` : f.name;
      const id = idOf(ctx, f.name);
      const problems = problemsFor(ctx.s, f.name);
      const chosen = wantsValues(ctx) ? valueOf(ctx.s, name) : f.checked;
      return html`<fieldset id="${id}" tabindex="-1"${invalidAttrs(id, problems)}><legend>${f.legend}</legend>${fieldError(id, problems)}${f.options.map(
        (o, i) => html`<label class="check" for="${id}-${i}"><input type="radio" id="${id}-${i}" name="${name}" value="${o.value}"${o.value === chosen ? html` checked` : ''}${i === 0 && f.checked === undefined ? html` required` : ''}> ${o.label}</label>`,
      )}</fieldset>`;
    }
    case 'select': {
      const options = f.options === 'protocol-routes' ? ctx.routes : f.options;
      const chosen = valueOf(ctx.s, f.name);
      return cell(ctx, f.name, f.label, (id, a) => html`<select id="${id}" name="${f.name}"${f.required ? html` required` : ''}${a}>${f.blank !== undefined ? html`<option value="">${f.blank}</option>` : ''}${options.map((o) => html`<option value="${o}"${o === chosen ? html` selected` : ''}>${f.labels?.[o] ?? o}</option>`)}</select>`);
    }
    case 'staff': {
      const people = (ctx.staff ?? []).filter((s) => (f.roles as readonly string[]).includes(s.role));
      const chosen = valueOf(ctx.s, f.name);
      return cell(ctx, f.name, f.label, (id, a) =>
        people.length
          ? html`<select id="${id}" name="${f.name}"${f.required ? html` required` : ''}${a}><option value="">(choose)</option>${people.map((s) => html`<option value="${s.id}"${s.id === chosen ? html` selected` : ''}>${s.displayName} (${s.role})</option>`)}</select>`
          : html`<select id="${id}" name="${f.name}" disabled${a}><option value="">nobody active in this clinic as ${f.roles.join(' or ')}</option></select>`,
      );
    }
    case 'screening':
      return html`<fieldset><legend>${f.legend}</legend>${Object.entries(f.questions).map(([id, label]) => screeningQuestion(ctx, `${f.name}.${id}`, label))}</fieldset>`;
    case 'discharge-checklist':
      return html`<fieldset><legend>${f.legend}</legend>${ctx.dischargeChecklist.map((c) => checkbox(ctx, `${f.name}.${c.id}`, c.label, true))}</fieldset>`;
    case 'note':
      return html`<p class="muted">${f.text}</p>`;
    case 'group':
      return f.layout === 'grid'
        ? html`<fieldset class="group">${f.legend ? html`<legend>${f.legend}</legend>` : ''}<div class="grid">${f.fields.map((x) => renderField(x, ctx))}</div></fieldset>`
        : html`<fieldset>${f.legend ? html`<legend>${f.legend}</legend>` : ''}${f.fields.map((x) => renderField(x, ctx))}</fieldset>`;
  }
}

/**
 * A form for one action, or nothing when the principal's role may not perform it. A refused
 * submission of it (`ctx.state` naming this form) renders it open, with the values sent and each
 * problem next to its field. Ids start with `ctx.idPrefix` (default: the action), so forms on one page
 * never share one; each rendering carries a fresh `_submission` id (a double submit is one Update).
 */
export function actionForm(action: CourseAction, ctx: FormContext, open = false): SafeHtml {
  const spec: ActionSpec = ACTIONS[action];
  if (!spec.roles.includes(ctx.principal.role)) return html``;
  const prefix = ctx.idPrefix ?? action;
  const s = ctx.state?.form === prefix ? ctx.state : undefined;
  const c: Ctx = { ...ctx, prefix, s };
  const confirm = spec.confirm ? html` data-confirm="${spec.confirm}"` : '';
  const problems = s ? html`<p class="field-error" role="alert">Not recorded: ${s.problems.length ? 'see the marked fields.' : s.message}</p>` : '';
  return html`<details id="action-${prefix}"${open || s ? html` open` : ''}><summary>${spec.summary}</summary>
<form method="post" action="/courses/${ctx.courseId}/actions/${action}"${confirm}>${csrfField(ctx.principal)}${submissionField()}<input type="hidden" name="_form" value="${prefix}">${problems}${spec.form.map((f) => renderField(f, c))}<p><button type="submit">${spec.summary.split(' (')[0]}</button></p></form></details>`;
}

/** The actions offered on every running course, beside the current step's (`onCourse` in the catalogue); resume only when paused, pause only when not. */
export function courseActions(paused: boolean): CourseAction[] {
  return ACTION_NAMES.filter((a) => {
    const spec: ActionSpec = ACTIONS[a];
    if (!spec.onCourse) return false;
    if (a === 'pause') return !paused;
    if (a === 'resume') return paused;
    return true;
  });
}

/** Which actions fit a step kind: the first is the one that moves the step on. */
export const ACTIONS_FOR_KIND: Record<string, CourseAction[]> = {
  screening: ['screening'],
  clearance: ['clearance'],
  consent: ['consent'],
  'rems-enrollment': ['rems-enrollment'],
  preparation: ['session-complete', 'schedule', 'no-show'],
  integration: ['session-complete', 'schedule', 'no-show'],
  dosing: ['schedule', 'pre-dose-check', 'dose', 'vitals', 'discharge', 'no-show'],
  'rems-monitoring-form': ['rems-form'],
  'maintenance-decision': ['maintenance-decision'],
  review: ['safety-review'],
  task: ['task-complete'],
  assessment: [],
};

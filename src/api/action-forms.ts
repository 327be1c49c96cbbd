// Dashboard forms for the staff actions, rendered from each action's field descriptors in the action
// catalogue (src/domain/actions/catalogue.ts), and the one converter from form fields to action bodies.
// Field names carry their type: `bloodPressure.systolic:number`, `escortConfirmed:bool`, so one
// generic converter builds the JSON body that the same zod schema as the API then validates.
import type { Principal } from '../auth/roles';
import type { CourseAction } from '../auth/role-matrix';
import { ACTIONS, ACTION_NAMES, type ActionSpec, type FormField } from '../domain/actions/catalogue';
import { csrfField, html, type SafeHtml } from './html';

const FORBIDDEN_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

export function formToBody(form: Record<string, unknown>): Record<string, unknown> {
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
    else if (type === 'datetime') v = Number.isNaN(Date.parse(val)) ? val : new Date(val).toISOString();
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
}

const fieldId = (name: string) => `f-${name.replace(/[^a-z0-9]/gi, '-')}`;
const yesNo = (name: string, legend: string, def?: boolean) => html`<fieldset><legend>${legend}</legend>
<label class="check"><input type="radio" name="${name}:bool" value="true"${def === true ? html` checked` : ''} required> Yes</label>
<label class="check"><input type="radio" name="${name}:bool" value="false"${def === false ? html` checked` : ''}> No</label></fieldset>`;
/** One screening question: present, absent, or not assessed with a reason; no choice is made for the clinician. */
const screeningQuestion = (name: string, label: string) => {
  const id = fieldId(name);
  return html`<fieldset class="q"><legend>${label}</legend>
<label class="check"><input type="radio" name="${name}:answer" value="yes" required> Present</label>
<label class="check"><input type="radio" name="${name}:answer" value="no"> Absent</label>
<label class="check"><input type="radio" name="${name}:answer" value="not-assessed"> Not assessed</label>
<label for="${id}-reason">Why not assessed</label><input id="${id}-reason" name="${name}:reason"></fieldset>`;
};
const checkbox = (name: string, label: string, falseWhenUnchecked?: boolean) =>
  html`${falseWhenUnchecked ? html`<input type="hidden" name="${name}:bool" value="false">` : ''}<label class="check"><input type="checkbox" name="${name}:bool" value="true"> ${label}</label>`;

/** Renders one field descriptor of the action catalogue (src/domain/actions/catalogue.ts). */
function renderField(f: FormField, ctx: FormContext): SafeHtml {
  switch (f.kind) {
    case 'step':
      if (!ctx.stepKey) return html``;
      return f.quiet ? html`<input type="hidden" name="stepKey" value="${ctx.stepKey}">` : html`<input type="hidden" name="stepKey" value="${ctx.stepKey}"><p class="muted">Step: ${ctx.stepKey}</p>`;
    case 'text': {
      const id = fieldId(f.name);
      return f.area
        ? html`<label for="${id}">${f.label}</label><textarea id="${id}" name="${f.name}" rows="2" cols="40"${f.required ? html` required` : ''}>${f.value ?? ''}</textarea>`
        : html`<label for="${id}">${f.label}</label><input id="${id}" name="${f.name}" value="${f.value ?? ''}"${f.required ? html` required` : ''}>`;
    }
    case 'number': {
      const id = fieldId(f.name);
      return html`<label for="${id}">${f.label}</label><input id="${id}" name="${f.name}:number" type="number" inputmode="decimal" min="${f.min ?? ''}" max="${f.max ?? ''}" step="${f.step ?? 'any'}" value=""${f.required ? html` required` : ''}>`;
    }
    case 'datetime':
      return html`<label for="${fieldId(f.name)}">${f.label}</label><input id="${fieldId(f.name)}" type="datetime-local" name="${f.name}:datetime">`;
    case 'yes-no':
      return yesNo(f.name, f.legend, f.checked);
    case 'checkbox':
      return checkbox(f.name, f.label, f.falseWhenUnchecked);
    case 'radio': {
      const name = f.list ? `${f.name}:list` : f.name;
      return html`<fieldset><legend>${f.legend}</legend>${f.options.map(
        (o, i) => html`<label class="check"><input type="radio" name="${name}" value="${o.value}"${o.value === f.checked ? html` checked` : ''}${i === 0 && f.checked === undefined ? html` required` : ''}> ${o.label}</label>`,
      )}</fieldset>`;
    }
    case 'select': {
      const options = f.options === 'protocol-routes' ? ctx.routes : f.options;
      return html`<label for="${fieldId(f.name)}">${f.label}</label><select id="${fieldId(f.name)}" name="${f.name}"${f.required ? html` required` : ''}>${f.blank !== undefined ? html`<option value="">${f.blank}</option>` : ''}${options.map((o) => html`<option>${o}</option>`)}</select>`;
    }
    case 'screening':
      return html`<fieldset><legend>${f.legend}</legend>${Object.entries(f.questions).map(([id, label]) => screeningQuestion(`${f.name}.${id}`, label))}</fieldset>`;
    case 'discharge-checklist':
      return html`<fieldset><legend>${f.legend}</legend>${ctx.dischargeChecklist.map((c) => checkbox(`${f.name}.${c.id}`, c.label, true))}</fieldset>`;
    case 'note':
      return html`<p class="muted">${f.text}</p>`;
    case 'group':
      return f.layout === 'grid'
        ? html`<div class="grid">${f.fields.map((x) => renderField(x, ctx))}</div>`
        : html`<fieldset>${f.legend ? html`<legend>${f.legend}</legend>` : ''}${f.fields.map((x) => renderField(x, ctx))}</fieldset>`;
  }
}

/** A form for one action, or nothing when the principal's role may not perform it. */
export function actionForm(action: CourseAction, ctx: FormContext, open = false): SafeHtml {
  const spec: ActionSpec = ACTIONS[action];
  if (!spec.roles.includes(ctx.principal.role)) return html``;
  const confirm = spec.confirm ? html` data-confirm="${spec.confirm}"` : '';
  return html`<details id="action-${action}"${open ? html` open` : ''}><summary>${spec.summary}</summary>
<form method="post" action="/courses/${ctx.courseId}/actions/${action}"${confirm}>${csrfField(ctx.principal)}${spec.form.map((f) => renderField(f, ctx))}<p><button type="submit">${spec.summary.split(' (')[0]}</button></p></form></details>`;
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

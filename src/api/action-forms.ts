// Dashboard forms for the staff actions, and the one converter from form fields to action bodies.
// Field names carry their type: `bloodPressure.systolic:number`, `escortConfirmed:bool`, so one
// generic converter builds the JSON body that the same zod schema as the API then validates.
import type { Principal } from '../auth/roles';
import { ACTION_ROLES, type CourseAction } from '../auth/role-matrix';
import { HARD_STOPS, REVIEW_ITEMS } from '../domain/rules/eligibility';
import { ACTION_SUMMARIES } from './action-schemas';
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

const yesNo = (name: string, legend: string, def?: boolean) => html`<fieldset><legend>${legend}</legend>
<label class="check"><input type="radio" name="${name}:bool" value="true"${def === true ? html` checked` : ''} required> Yes</label>
<label class="check"><input type="radio" name="${name}:bool" value="false"${def === false ? html` checked` : ''}> No</label></fieldset>`;
/** One screening question: present, absent, or not assessed with a reason; no choice is made for the clinician. */
const screeningQuestion = (name: string, label: string) => {
  const id = `f-${name.replace(/[^a-z0-9]/gi, '-')}`;
  return html`<fieldset class="q"><legend>${label}</legend>
<label class="check"><input type="radio" name="${name}:answer" value="yes" required> Present</label>
<label class="check"><input type="radio" name="${name}:answer" value="no"> Absent</label>
<label class="check"><input type="radio" name="${name}:answer" value="not-assessed"> Not assessed</label>
<label for="${id}-reason">Why not assessed</label><input id="${id}-reason" name="${name}:reason"></fieldset>`;
};
const num = (name: string, label: string, opts: { min?: number; max?: number; step?: string; required?: boolean; value?: number } = {}) => {
  const id = `f-${name.replace(/[^a-z0-9]/gi, '-')}`;
  return html`<label for="${id}">${label}</label><input id="${id}" name="${name}:number" type="number" inputmode="decimal" min="${opts.min ?? ''}" max="${opts.max ?? ''}" step="${opts.step ?? 'any'}" value="${opts.value ?? ''}"${opts.required ? html` required` : ''}>`;
};
const text = (name: string, label: string, opts: { required?: boolean; value?: string; area?: boolean } = {}) => {
  const id = `f-${name.replace(/[^a-z0-9]/gi, '-')}`;
  return opts.area
    ? html`<label for="${id}">${label}</label><textarea id="${id}" name="${name}" rows="2" cols="40"${opts.required ? html` required` : ''}>${opts.value ?? ''}</textarea>`
    : html`<label for="${id}">${label}</label><input id="${id}" name="${name}" value="${opts.value ?? ''}"${opts.required ? html` required` : ''}>`;
};
const bp = (prefix = 'bloodPressure') => html`<div class="grid">${num(`${prefix}.systolic`, 'Systolic (mmHg)', { min: 40, max: 300, required: true, step: '1' })}${num(`${prefix}.diastolic`, 'Diastolic (mmHg)', { min: 20, max: 200, required: true, step: '1' })}</div>`;

function fields(action: CourseAction, ctx: FormContext): SafeHtml {
  const step = ctx.stepKey ? html`<input type="hidden" name="stepKey" value="${ctx.stepKey}"><p class="muted">Step: ${ctx.stepKey}</p>` : html``;
  switch (action) {
    case 'screening':
      return html`<fieldset><legend>Hard stops: answer every one (nothing is assumed)</legend>${Object.entries(HARD_STOPS).map(([id, label]) => screeningQuestion(`hardStops.${id}`, label))}</fieldset>
<fieldset><legend>Review items: answer every one</legend>${Object.entries(REVIEW_ITEMS).map(([id, label]) => screeningQuestion(`reviewItems.${id}`, label))}</fieldset>${text('notes', 'Notes', { area: true })}`;
    case 'clearance':
      return html`<fieldset><legend>Decision</legend>${['approved', 'denied', 'needs-records'].map((d, i) => html`<label class="check"><input type="radio" name="decision" value="${d}"${i === 0 ? html` required` : ''}> ${d.replace('-', ' ')}</label>`)}</fieldset>${text('reason', 'Reason (required for a denial or when screening asked for review)', { area: true })}`;
    case 'rems-enrollment':
      return html`${yesNo('enrolled', 'Enrolled in the Spravato REMS?')}${text('remsPatientId', 'REMS patient id')}`;
    case 'consent':
      return html`${text('documentVersion', 'Consent document version', { required: true, value: 'v1' })}${yesNo('signedByClient', 'Signed by the client?', true)}<label class="check"><input type="checkbox" name="prescriberSigned:bool" value="true"> Prescriber signed too (REMS)</label>`;
    case 'schedule':
      return html`${step}<label for="f-startsAt">Starts at</label><input id="f-startsAt" type="datetime-local" name="startsAt:datetime"><p class="muted">or</p>${num('startsInHours', 'Starts in (hours from now)', { min: 0 })}`;
    case 'session-complete':
    case 'no-show':
      return html`${step}${text('notes', 'Notes', { area: true })}`;
    case 'pre-dose-check':
      return html`${step}${bp()}<div class="grid">${num('heartRate', 'Heart rate', { min: 20, max: 250, step: '1' })}${num('spo2', 'SpO2 %', { min: 50, max: 100 })}${num('hoursSinceFood', 'Hours since food', { min: 0 })}${num('hoursSinceClearLiquids', 'Hours since clear liquids', { min: 0 })}</div>${yesNo('escortConfirmed', 'Escort / ride home confirmed?')}
<fieldset><legend>Benzodiazepines</legend><input type="hidden" name="benzodiazepine.taking:bool" value="false"><label class="check"><input type="checkbox" name="benzodiazepine.taking:bool" value="true"> Taking a benzodiazepine</label>${num('benzodiazepine.hoursSinceLastDose', 'Hours since last dose', { min: 0 })}</fieldset>
<label for="f-preg">Pregnancy</label><select id="f-preg" name="pregnancy"><option value="">(not asked)</option><option>negative</option><option>positive</option><option>unknown</option><option>not-applicable</option></select>`;
    case 'dose':
      return html`${step}<label for="f-route">Route</label><select id="f-route" name="route" required>${ctx.routes.map((r) => html`<option>${r}</option>`)}</select>${num('doseMg', 'Dose (mg)', { min: 0 })}${text('lotNumber', 'Lot number')}`;
    case 'vitals':
      return html`${step}${num('atMinutes', 'Minutes after the start of dosing', { min: 0, required: true })}${bp()}<div class="grid">${num('heartRate', 'Heart rate', { min: 20, max: 250, step: '1' })}${num('spo2', 'SpO2 %', { min: 50, max: 100 })}</div>`;
    case 'discharge':
      return html`${step}${bp()}${num('spo2', 'SpO2 %', { min: 50, max: 100 })}<fieldset><legend>Discharge checklist</legend>${ctx.dischargeChecklist.map(
        (c) => html`<input type="hidden" name="checklist.${c.id}:bool" value="false"><label class="check"><input type="checkbox" name="checklist.${c.id}:bool" value="true"> ${c.label}</label>`,
      )}</fieldset>${yesNo('responsibleAdultPresent', 'Responsible adult present?')}`;
    case 'adverse-event':
      return html`${ctx.stepKey ? html`<input type="hidden" name="stepKey" value="${ctx.stepKey}">` : ''}<label for="f-cat">Category</label><select id="f-cat" name="category" required>${['hypertension', 'tachycardia', 'respiratory', 'sedation', 'dissociation-distress', 'nausea-vomiting', 'psychiatric', 'fall-injury', 'misuse-diversion', 'urological', 'other'].map((c) => html`<option>${c}</option>`)}</select>
<label for="f-sev">Severity</label><select id="f-sev" name="severity" required><option>mild</option><option>moderate</option><option>severe</option><option>life-threatening</option></select>${yesNo('serious', 'Serious?', false)}${text('description', 'Description', { area: true })}`;
    case 'safety-review':
      return html`<fieldset><legend>Outcome</legend><label class="check"><input type="radio" name="outcome" value="release" required> Release the hold</label><label class="check"><input type="radio" name="outcome" value="keep-hold"> Keep the hold</label><label class="check"><input type="radio" name="outcome" value="withdraw"> Withdraw from the course</label></fieldset>
<label for="f-risk">Assessed risk</label><select id="f-risk" name="riskLevel"><option value="">(default)</option><option>none</option><option>low</option><option>moderate</option><option>high</option></select>${text('notes', 'Notes', { area: true })}`;
    case 'rems-form':
      return html`${step}${num('doseMg', 'Dose (mg)', { min: 0, required: true })}${text('lotNumber', 'Lot number', { required: true })}<fieldset><legend>Concomitant medications</legend>${['benzodiazepines', 'sedativeHypnotics', 'psychostimulants', 'maois', 'opioids'].map(
        (k) => html`<input type="hidden" name="concomitant.${k}:bool" value="false"><label class="check"><input type="checkbox" name="concomitant.${k}:bool" value="true"> ${k}</label>`,
      )}</fieldset><fieldset><legend>Observed</legend>${['sedation', 'dissociation', 'respiratoryDepression', 'seriousAdverseEvent'].map((k) => html`<input type="hidden" name="${k}:bool" value="false"><label class="check"><input type="checkbox" name="${k}:bool" value="true"> ${k}</label>`)}</fieldset>`;
    case 'maintenance-decision':
      return html`<fieldset><legend>Decision</legend><label class="check"><input type="radio" name="decision" value="maintenance" required> Maintenance (boosters)</label><label class="check"><input type="radio" name="decision" value="complete"> Complete the course</label></fieldset>${text('reason', 'Reason', { area: true })}`;
    case 'task-complete':
      return html`${step}${text('outcome', 'Outcome')}`;
    case 'pause':
    case 'withdraw':
      return text('reason', 'Reason', { required: true, area: true });
    case 'resume':
      return html``;
    case 'change-clinician':
      return text('clinicianId', 'New clinician (staff id)', { required: true });
  }
}

/** A form for one action, or nothing when the principal's role may not perform it. */
export function actionForm(action: CourseAction, ctx: FormContext, open = false): SafeHtml {
  if (!(ACTION_ROLES[action] as readonly string[]).includes(ctx.principal.role)) return html``;
  const confirm = action === 'withdraw' ? html` data-confirm="Withdraw this client from the course?"` : '';
  return html`<details id="action-${action}"${open ? html` open` : ''}><summary>${ACTION_SUMMARIES[action]}</summary>
<form method="post" action="/courses/${ctx.courseId}/actions/${action}"${confirm}>${csrfField(ctx.principal)}${fields(action, ctx)}<p><button type="submit">${ACTION_SUMMARIES[action].split(' (')[0]}</button></p></form></details>`;
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

// Dashboard forms that keep what was typed: a refused form (any 4xx) is rendered again, with the
// status of the refusal, the submitted values in its fields, each problem of the AppError
// (`problems: [{ field, message }]`) next to its field (aria-invalid, aria-describedby) and a summary
// at the top linking to each field. No redirect with the error in a query string.
// Also the clinic-time helpers: a `datetime-local` value is read in the clinic's time zone, and
// times are shown in it.
import { randomUUID } from 'node:crypto';
import type { Principal } from '../auth/roles';
import { AppError, type FieldProblem } from '../errors';
import { csrfField, html, type SafeHtml } from './html';
export { clinicTimeText } from './html';

/** A refused submission of one form: which form, what was sent, and why it was refused. */
export interface FormState {
  /** The form's name (an action name, `new-client`, `enroll`, `new-staff`, `password`, ...). */
  form: string;
  /** What was submitted, by input name (`bloodPressure.systolic:number`), every value of a repeated name. */
  values: Record<string, string[]>;
  problems: FieldProblem[];
  message: string;
  status: number;
}

const STATUS: Record<AppError['code'], number> = { invalid_input: 400, unauthenticated: 401, forbidden: 403, not_found: 404, conflict: 409, unprocessable: 422, rate_limited: 429, unavailable: 503 };

/** The HTTP status of an AppError (the same mapping as src/api/errors.ts). */
export const statusOf = (err: AppError) => STATUS[err.code];

/** A form's submitted values as string arrays, without the CSRF token. */
export function valuesOf(body: unknown): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries((body ?? {}) as Record<string, unknown>)) {
    if (k === '_csrf') continue;
    const list = (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
    out[k] = list;
  }
  return out;
}

/** The state of a refused form, or null when the error is not a refusal (it is rethrown by the caller). */
export function refusal(form: string, body: unknown, err: unknown): FormState | null {
  if (!(err instanceof AppError)) return null;
  return { form, values: valuesOf(body), problems: err.problems, message: err.message, status: statusOf(err) };
}

/** The last value sent under an input name. */
export function valueOf(state: FormState | undefined, name: string): string | undefined {
  const v = state?.values[name];
  return v && v.length ? v[v.length - 1] : undefined;
}

/** The problems of one field (a body path such as `bloodPressure.systolic`), or of anything under it. */
export function problemsFor(state: FormState | undefined, field: string): FieldProblem[] {
  if (!state) return [];
  return state.problems.filter((p) => p.field === field || p.field.startsWith(`${field}.`));
}

/** A validator's message in words a clinician reads (`Too big: expected number to be <=240` -> `must be 240 or less`). */
export function plainMessage(message: string): string {
  const m = /^Too (big|small): expected \w+ to (?:be|have) (<=|>=|<|>)(\S+?)( characters| items)?$/.exec(message);
  if (m) {
    const [, , op, n, unit] = m;
    if (unit) return `must have ${op!.startsWith('<') ? 'at most' : 'at least'} ${n}${unit}`;
    return op === '<=' ? `must be ${n} or less` : op === '>=' ? `must be ${n} or more` : op === '<' ? `must be less than ${n}` : `must be more than ${n}`;
  }
  if (/^Invalid input: expected number, received/.test(message)) return 'must be a number';
  if (message === 'Invalid input: expected int, received number') return 'must be a whole number';
  return message;
}

/** A field's error message element, with the id its control's aria-describedby names. */
export function fieldError(id: string, problems: FieldProblem[]): SafeHtml {
  if (!problems.length) return html``;
  return html`<p class="field-error" id="${id}-error">${problems.map((p) => plainMessage(p.message)).join('; ')}</p>`;
}

/** aria-invalid and aria-describedby for a control with problems. */
export function invalidAttrs(id: string, problems: FieldProblem[]): SafeHtml {
  return problems.length ? html` aria-invalid="true" aria-describedby="${id}-error"` : html``;
}

/**
 * The summary at the top of a refused page: what happened, and each problem as a link to its field
 * (`anchor` gives the element id of a problem's field, or undefined when the field is not on the form).
 * dashboard.js focuses it.
 */
export function errorSummary(state: FormState | undefined, title: string, anchor: (field: string) => string | undefined, labelOf: (field: string) => string = (f) => f): SafeHtml {
  if (!state) return html``;
  const items = state.problems.map((p) => {
    const id = anchor(p.field);
    const text = `${labelOf(p.field)}: ${plainMessage(p.message)}`;
    return html`<li>${id ? html`<a href="#${id}">${text}</a>` : text}</li>`;
  });
  return html`<div class="error-summary" id="error-summary" tabindex="-1" role="alert"><h2>${title}</h2>${items.length ? html`<ul>${items}</ul>` : html`<p>${state.message}</p>`}</div>`;
}

/** The error summary of a form outside the catalogue, its fields keyed by name (`items.0.x` by `items`): each problem links to its field's id and says its label. */
export function fieldsErrorSummary(state: FormState | undefined, title: string, fields: Record<string, { id: string; label: string }>): SafeHtml {
  return errorSummary(state, title, (f) => fields[f.split('.')[0]!]?.id, (f) => fields[f.split('.')[0]!]?.label ?? f);
}

/** A one-time submission id for a form: a second submit of the same rendered form is the same Update. */
export const submissionField = () => html`<input type="hidden" name="_submission" value="${randomUUID()}">`;
/** The submission id sent with a form, when it has the expected shape. */
export function submissionOf(body: unknown): string | undefined {
  const v = (body as Record<string, unknown> | undefined)?._submission;
  return typeof v === 'string' && /^[0-9a-f-]{36}$/.test(v) ? v : undefined;
}

// ---- Forms outside the action catalogue -----------------------------------------------------------

const text = (state: FormState | undefined, id: string, name: string, label: string, extra: SafeHtml = html``, fallback = '') => {
  const problems = problemsFor(state, name);
  return html`<div><label for="${id}">${label}</label><input id="${id}" name="${name}" value="${valueOf(state, name) ?? fallback}"${extra}${invalidAttrs(id, problems)}>${fieldError(id, problems)}</div>`;
};

const NEW_CLIENT_FIELDS: Record<string, { id: string; label: string }> = {
  clinicId: { id: 'clinic', label: 'Clinic' },
  givenName: { id: 'given', label: 'Given name' },
  familyName: { id: 'family', label: 'Family name' },
  email: { id: 'cemail', label: 'Email' },
  phone: { id: 'phone', label: 'Phone (optional)' },
  dateOfBirth: { id: 'dob', label: 'Date of birth (optional)' },
};

/** The new-client form (GET /clients, and again with the values and problems when POST /clients refuses). */
export function newClientForm(p: Principal, clinics: Array<{ id: string; name: string }>, state?: FormState): SafeHtml {
  const s = state?.form === 'new-client' ? state : undefined;
  const chosen = valueOf(s, 'clinicId');
  const clinicProblems = problemsFor(s, 'clinicId');
  return html`${fieldsErrorSummary(s, 'The client was not added', NEW_CLIENT_FIELDS)}<form method="post" action="/clients" class="card" id="new-client">${csrfField(p)}
<label for="clinic">Clinic</label><select id="clinic" name="clinicId" required${invalidAttrs('clinic', clinicProblems)}>${clinics.map((c) => html`<option value="${c.id}"${c.id === chosen ? html` selected` : ''}>${c.name}</option>`)}</select>${fieldError('clinic', clinicProblems)}
<div class="grid">${text(s, 'given', 'givenName', 'Given name', html` required autocomplete="off"`)}${text(s, 'family', 'familyName', 'Family name', html` required autocomplete="off"`)}</div>
${text(s, 'cemail', 'email', 'Email', html` type="email" required autocomplete="off"`)}
<div class="grid">${text(s, 'phone', 'phone', 'Phone (optional)', html` type="tel"`)}${text(s, 'dob', 'dateOfBirth', 'Date of birth (optional)', html` type="date"`)}</div>
<p><button type="submit">Add client</button></p></form>`;
}

const NEW_STAFF_FIELDS: Record<string, { id: string; label: string }> = {
  displayName: { id: 'sname', label: 'Name' },
  email: { id: 'semail', label: 'Email' },
  role: { id: 'srole', label: 'Role' },
  clinicIds: { id: 'sclinics', label: 'Clinics' },
};

/** The new-staff form of the staff page (again with the values and problems when POST /staff refuses). */
export function newStaffForm(p: Principal, clinics: Array<{ id: string; name: string }>, state?: FormState): SafeHtml {
  const s = state?.form === 'new-staff' ? state : undefined;
  const role = valueOf(s, 'role');
  const ticked = new Set(s?.values.clinicIds ?? []);
  const roleProblems = problemsFor(s, 'role');
  const clinicProblems = problemsFor(s, 'clinicIds');
  return html`${fieldsErrorSummary(s, 'The staff member was not created', NEW_STAFF_FIELDS)}<form method="post" action="/staff" class="card" id="new-staff">${csrfField(p)}${text(s, 'sname', 'displayName', 'Name', html` required`)}${text(s, 'semail', 'email', 'Email', html` type="email" required`)}
<label for="srole">Role</label><select id="srole" name="role"${invalidAttrs('srole', roleProblems)}>${['coordinator', 'prescriber', 'therapist', 'admin'].map((r) => html`<option${r === role ? html` selected` : ''}>${r}</option>`)}</select>${fieldError('srole', roleProblems)}
<fieldset id="sclinics" tabindex="-1"${invalidAttrs('sclinics', clinicProblems)}><legend>Clinics</legend>${fieldError('sclinics', clinicProblems)}${clinics.map((c, i) => html`<label class="check" for="sclinic-${i}"><input type="checkbox" id="sclinic-${i}" name="clinicIds" value="${c.id}"${ticked.has(c.id) ? html` checked` : ''}> ${c.name}</label>`)}</fieldset><p class="muted">A password is generated and shown once.</p><p><button type="submit">Create</button></p></form>`;
}

const PASSWORD_FIELDS: Record<string, { id: string; label: string }> = {
  currentPassword: { id: 'current', label: 'Current password' },
  newPassword: { id: 'newpw', label: 'New password' },
  confirmPassword: { id: 'confirm', label: 'New password again' },
};

/** The change-password form of the account page. Passwords are never sent back into a page: the fields stay empty, the problems are shown. */
export function passwordForm(p: Principal, state?: FormState): SafeHtml {
  const s = state?.form === 'password' ? state : undefined;
  const pw = (id: string, name: string, label: string, extra: SafeHtml) => {
    const problems = problemsFor(s, name);
    return html`<label for="${id}">${label}</label><input id="${id}" name="${name}" type="password"${extra} required${invalidAttrs(id, problems)}>${fieldError(id, problems)}`;
  };
  return html`${errorSummary(s, 'Your password was not changed', (f) => PASSWORD_FIELDS[f]?.id, (f) => PASSWORD_FIELDS[f]?.label ?? f)}<form method="post" action="/account/password" class="card" id="password-form">${csrfField(p)}
${pw('current', 'currentPassword', 'Current password', html` autocomplete="current-password"`)}
${pw('newpw', 'newPassword', 'New password (at least 12 characters, not a common one)', html` autocomplete="new-password" minlength="12"`)}
${pw('confirm', 'confirmPassword', 'New password again', html` autocomplete="new-password" minlength="12"`)}
<p class="muted">Every session of yours ends, this one too: you log in again with the new password.</p><p><button type="submit">Change password</button></p></form>`;
}

// ---- Clinic time ------------------------------------------------------------------------------------

/** A usable IANA zone name, UTC when the clinic's is missing or unknown to this runtime. */
export function zoneOrUtc(tz: string | null | undefined): string {
  if (!tz) return 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return tz;
  } catch {
    return 'UTC';
  }
}

/** How far the zone's wall clock is ahead of UTC at instant `t` (ms). */
function offsetAt(t: number, tz: string): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(t));
  const get = (type: string) => Number(parts.find((x) => x.type === type)?.value);
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - Math.floor(t / 1000) * 1000;
}

/**
 * A wall-clock time without an offset (`2026-12-01T09:30`, what a datetime-local input sends) read in
 * the zone `tz`, as an instant; null when the text is not such a time. A wall time repeated by a DST
 * change takes its first reading; one skipped (spring forward) moves on by the gap (02:30 -> 03:30).
 */
export function wallTimeToInstant(wall: string, tz: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(wall);
  if (!m) return null;
  const guess = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
  if (Number.isNaN(guess)) return null;
  const first = guess - offsetAt(guess, tz);
  const second = guess - offsetAt(first, tz);
  // `second` reads the wall time with the offset in force then; when that does not give the wall time
  // back, the time is in a spring-forward gap and `first` (the offset before it) moves it on by the gap.
  const d = new Date(second + offsetAt(second, tz) === guess ? second : first);
  return Number.isNaN(d.getTime()) ? null : d;
}

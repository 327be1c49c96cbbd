// The dashboard's action forms as data: ids unique per form, a refused form rendered with what was
// typed and each problem beside its field, and a datetime-local value read in the clinic's zone.
import { actionForm, formToBody, problemAnchor, problemLabel } from '../../../src/api/action-forms';
import { plainMessage, wallTimeToInstant } from '../../../src/api/form-state';
import { fmtTime } from '../../../src/api/html';
import { ACTIONS, ACTION_NAMES } from '../../../src/domain/actions/catalogue';

const admin = { role: 'admin' as const, clinics: 'all' as const, staffId: 's1', via: 'session' as const, displayName: 'Ad', csrfToken: 't' };
const ctx = { courseId: 'c1', stepKey: 'dose-1', principal: admin, dischargeChecklist: [{ id: 'alert-oriented', label: 'Alert' }], routes: ['sublingual'] };

test('every id on a page of every action form is unique, and every label points at a control of its own form', () => {
  const all = ACTION_NAMES.map((a) => actionForm(a, ctx).toString()).join('\n');
  const ids = [...all.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!);
  expect(ids.length).toBeGreaterThan(60);
  expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  const fors = [...all.matchAll(/<label[^>]*\sfor="([^"]+)"/g)].map((m) => m[1]!);
  for (const f of fors) expect({ f, control: new RegExp(`<(input|select|textarea)[^>]*\\sid="${f}"`).test(all) }).toEqual({ f, control: true });
  expect(fors.filter((f, i) => fors.indexOf(f) !== i)).toEqual([]);
  // Every visible control has a label naming its id (radios and checkboxes too).
  const controls = [...all.matchAll(/<(input|select|textarea)\b([^>]*)>/g)].filter((m) => !/type="hidden"/.test(m[2]!));
  for (const c of controls) {
    const id = /\sid="([^"]+)"/.exec(c[2]!)?.[1];
    expect({ control: c[0].slice(0, 80), labelled: !!id && fors.includes(id) }).toEqual({ control: c[0].slice(0, 80), labelled: true });
  }
  // Two renderings of one form on a page (a review per ended course) differ by their prefix.
  const a = actionForm('safety-review', { ...ctx, idPrefix: 'safety-review' }).toString();
  const b = actionForm('safety-review', { ...ctx, idPrefix: 'safety-review-c2' }).toString();
  expect(a).toContain('id="action-safety-review"');
  expect(b).toContain('id="action-safety-review-c2"');
  expect(b).toContain('id="safety-review-c2-notes"');
});

test('a refused form comes back open with the values typed, the problem beside its field and nothing chosen that was not', () => {
  const state = {
    form: 'vitals',
    values: { 'atMinutes:number': ['40'], 'bloodPressure.systolic:number': ['400'], 'bloodPressure.diastolic:number': ['80'], 'heartRate:number': ['70'], 'spo2:number': ['98'] },
    problems: [{ field: 'bloodPressure.systolic', message: 'Too big: expected number to be <=300' }],
    message: 'bloodPressure.systolic: Too big',
    status: 400,
  };
  const html = actionForm('vitals', { ...ctx, state }).toString();
  expect(html).toContain('<details id="action-vitals" open>');
  expect(html).toMatch(/id="vitals-bloodPressure-systolic"[^>]*value="400"[^>]* aria-invalid="true" aria-describedby="vitals-bloodPressure-systolic-error">/);
  expect(html).toContain('<p class="field-error" id="vitals-bloodPressure-systolic-error">must be 300 or less</p>');
  for (const [id, v] of [['atMinutes', '40'], ['bloodPressure-diastolic', '80'], ['heartRate', '70'], ['spo2', '98']]) expect(html).toMatch(new RegExp(`id="vitals-${id}"[^>]*value="${v}"`));
  // The same state does not fill another form of the page.
  expect(actionForm('discharge', { ...ctx, state }).toString()).not.toContain('value="400"');
  expect(problemAnchor(ACTIONS.vitals, 'vitals', 'bloodPressure.systolic')).toBe('vitals-bloodPressure-systolic');
  expect(problemAnchor(ACTIONS.vitals, 'vitals', 'bloodPressure')).toBeUndefined();
  expect(problemLabel(ACTIONS.vitals, 'bloodPressure.systolic')).toBe('Blood pressure: Systolic (mmHg)');
  expect(problemAnchor(ACTIONS.screening, 'screening', 'hardStops.pregnancy')).toBe('screening-hardStops-pregnancy');
});

test('a yes/no with a default keeps the choice made, not the default, when refused', () => {
  const state = { form: 'adverse-event', values: { 'serious:bool': ['true'] }, problems: [{ field: 'category', message: 'Invalid option' }], message: 'x', status: 400 };
  const html = actionForm('adverse-event', { ...ctx, state }).toString();
  expect(html).toMatch(/id="adverse-event-serious-yes" name="serious:bool" value="true" checked/);
  expect(html).not.toMatch(/value="false" checked/);
  expect(actionForm('adverse-event', ctx).toString()).toMatch(/value="false" checked/);
});

test("a datetime-local value is the clinic's wall clock, through daylight saving", () => {
  expect(wallTimeToInstant('2026-12-01T09:30', 'America/New_York')?.toISOString()).toBe('2026-12-01T14:30:00.000Z');
  expect(wallTimeToInstant('2026-07-01T09:30', 'America/New_York')?.toISOString()).toBe('2026-07-01T13:30:00.000Z');
  expect(wallTimeToInstant('2026-07-01T09:30', 'Australia/Sydney')?.toISOString()).toBe('2026-06-30T23:30:00.000Z');
  expect(wallTimeToInstant('2026-07-01T09:30', 'UTC')?.toISOString()).toBe('2026-07-01T09:30:00.000Z');
  // New York 2027: clocks go forward at 02:00 on 14 March and back at 02:00 on 7 November.
  expect(wallTimeToInstant('2027-03-14T01:30', 'America/New_York')?.toISOString()).toBe('2027-03-14T06:30:00.000Z');
  expect(wallTimeToInstant('2027-03-14T02:30', 'America/New_York')?.toISOString()).toBe('2027-03-14T07:30:00.000Z'); // skipped: 03:30 EDT
  expect(wallTimeToInstant('2027-03-14T03:30', 'America/New_York')?.toISOString()).toBe('2027-03-14T07:30:00.000Z');
  expect(wallTimeToInstant('2027-03-14T06:30', 'America/New_York')?.toISOString()).toBe('2027-03-14T10:30:00.000Z');
  expect(wallTimeToInstant('2027-11-07T01:30', 'America/New_York')?.toISOString()).toBe('2027-11-07T05:30:00.000Z'); // repeated: the EDT one
  expect(wallTimeToInstant('2027-11-07T02:30', 'America/New_York')?.toISOString()).toBe('2027-11-07T07:30:00.000Z');
  expect(wallTimeToInstant('2026-07-01T09:30Z', 'UTC')).toBeNull();
  expect(wallTimeToInstant('tomorrow', 'UTC')).toBeNull();
  expect(formToBody({ 'startsAt:datetime': '2026-12-01T09:30' }, { timeZone: 'Europe/Berlin' })).toEqual({ startsAt: '2026-12-01T08:30:00.000Z' });
  // An unknown zone falls back to UTC rather than the server's.
  expect(formToBody({ 'startsAt:datetime': '2026-12-01T09:30' }, { timeZone: 'Mars/Olympus' })).toEqual({ startsAt: '2026-12-01T09:30:00.000Z' });
  expect(fmtTime('2026-12-01T14:30:00.000Z', 'America/New_York').toString()).toBe('<time datetime="2026-12-01T14:30:00.000Z">2026-12-01 09:30 EST</time>');
  expect(fmtTime('2026-12-01T14:30:00.000Z').toString()).toBe('<time datetime="2026-12-01T14:30:00.000Z">2026-12-01 14:30 UTC</time>');
});

test("a validator's message is shown in words beside the field", () => {
  expect(plainMessage('Too big: expected number to be <=240')).toBe('must be 240 or less');
  expect(plainMessage('Too small: expected number to be >=1')).toBe('must be 1 or more');
  expect(plainMessage('Too small: expected number to be >0')).toBe('must be more than 0');
  expect(plainMessage('Too small: expected string to have >=10 characters')).toBe('must have at least 10 characters');
  expect(plainMessage('Too big: expected string to have <=3 characters')).toBe('must have at most 3 characters');
  expect(plainMessage('Invalid input: expected number, received string')).toBe('must be a number');
  expect(plainMessage('Invalid input: expected int, received number')).toBe('must be a whole number');
  expect(plainMessage('say why it was not assessed')).toBe('say why it was not assessed');
});

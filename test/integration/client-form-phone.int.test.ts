// Issue #18 item 1, "the client's form always submits", through the real API and its HTML: a client
// opens her emailed link on a phone and answers the screening forms (PHQ-9, GAD-7, PCL-5, C-SSRS).
// The form is in parts ("Part 2 of 4") with plain headings, the clinic's name and the expiry in the
// clinic's time zone; C-SSRS 6b is asked only when 6 is Yes (the page's script hides it; without the
// script a "No" there is dropped). Decided for "6 = No and 6b = Yes": a contradiction that may hide a
// risk, so the C-SSRS is not guessed at: it comes back with 6b marked and every answer kept, the other
// questionnaires are recorded, and "Does not apply to me" (or changing 6 to Yes) resolves it. A 6 = Yes
// with 6b blank is asked for, never assumed. Every refusal keeps the typed answers and marks the field.
import { createStaff } from '../../src/api/routes/staff';
import { createClientLinks } from '../../src/security/client-links';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, tokenFor, uid } from './api-helpers';

let stack: TestStack;
let call: ReturnType<typeof client>;
let admin: string;
let links: ReturnType<typeof createClientLinks>;

const range = (n: number) => Array.from({ length: n }, (_, k) => k + 1);
const answers = (id: string, n: number, v: string) => Object.fromEntries(range(n).map((k) => [`${id}.${k}`, v]));
/** What a phone with the page's script sends for an honest "all no" C-SSRS: 3-5 and 6b hidden, so not sent. */
const cssrsAllNo = { 'cssrs.1': 'false', 'cssrs.2': 'false', 'cssrs.6': 'false' };
const screening = () => ({ ...answers('phq9', 9, '1'), 'phq9.9': '0', ...answers('gad7', 7, '1'), ...answers('pcl5', 20, '0'), ...cssrsAllNo });
const post = (url: string, form: Record<string, string>) => stack.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(form).toString() });
// Tuesday 15 January 2030, 17:30 UTC = 12:30 in New York (EST).
const EXPIRES = new Date('2030-01-15T17:30:00Z');

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  admin = await tokenFor(stack.db, 'admin');
  links = createClientLinks({ db: stack.db, secretKey: stack.config.SECRET_KEY!, publicUrl: 'http://x' });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

/** A New York clinic with its care team, a client's course, and a link to the four screening forms. */
async function screeningLink() {
  const clinicId = `phone-${uid()}`;
  const clinicName = `Harbour Light ${clinicId}`;
  expect((await call('POST', '/api/clinics', { token: admin, body: { id: clinicId, name: clinicName, timezone: 'America/New_York' } })).status).toBe(201);
  for (const role of ['prescriber', 'therapist', 'coordinator'] as const) {
    await createStaff(stack.db, { email: `${role}-${uid()}@phone.example`, displayName: `${role} ${clinicId}`, role, clinicIds: [clinicId], password: `tidal ${uid()} harbour lantern` });
  }
  const c = await call('POST', '/api/clients', { token: admin, body: { clinicId, givenName: 'Maya', familyName: `Phone ${uid()}`, email: `maya-${uid()}@example.org` } });
  expect(c.status).toBe(201);
  const course = await call('POST', `/api/clients/${c.body.id}/courses`, { token: admin, body: { protocolId: 'kap-office' } });
  expect(course.status).toBe(201);
  const courseId = course.body.id as string;
  expect((await call('POST', `/api/courses/${courseId}/send-assessment`, { token: admin, body: { instruments: ['cssrs', 'phq9', 'gad7', 'pcl5'] } })).status).toBe(200);
  const row = await eventually(
    async () => (await stack.db.selectFrom('assessments').select('id').where('course_id', '=', courseId).where('instrument_id', '=', 'pcl5').where('id', 'not like', `${courseId}/screening/%`).executeTakeFirst())?.id,
    30_000,
    100,
  );
  const assessmentId = row.slice(0, row.lastIndexOf('/'));
  const url = `/a/${links.createClientLink({ assessmentId, expiresAt: EXPIRES }).token}`;
  const row_ = (instrument: string) => stack.db.selectFrom('assessments').selectAll().where('id', '=', `${assessmentId}/${instrument}`).executeTakeFirstOrThrow();
  return { clinicId, clinicName, courseId, url, row: row_, status: async (i: string) => (await row_(i)).status };
}

/** Every radio has a unique id and a <label for> it, and sits in a fieldset with a legend. */
function structuralProblems(body: string): string[] {
  const problems: string[] = [];
  const ids = [...body.matchAll(/<input type="radio" id="([^"]+)"/g)].map((m) => m[1]!);
  const inputs = (body.match(/<input type="radio"/g) ?? []).length;
  if (ids.length !== inputs) problems.push(`${inputs - ids.length} radio(s) without an id`);
  const seen = new Set<string>();
  for (const id of [...body.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]!)) {
    if (seen.has(id)) problems.push(`id ${id} repeated`);
    seen.add(id);
  }
  for (const id of ids) if (!body.includes(`<label for="${id}">`)) problems.push(`no label for ${id}`);
  const fieldsets = (body.match(/<fieldset/g) ?? []).length;
  const legends = (body.match(/<fieldset[^>]*><legend>/g) ?? []).length;
  if (fieldsets !== legends) problems.push(`${fieldsets - legends} fieldset(s) without a legend first`);
  return problems;
}

test('a client on her phone answers the screening forms honestly with item 6 = No and submits on the first try', async () => {
  const f = await screeningLink();
  const page = await stack.app.inject({ method: 'GET', url: f.url });
  expect(page.statusCode).toBe(200);
  const body = page.body;
  // The clinic's name, not the product's; the expiry in the clinic's time zone, in words.
  expect(body).toContain(`<title>A few questions from your clinic · ${f.clinicName}</title>`);
  expect(body).toContain(`<span class="brand">${f.clinicName}</span>`);
  expect(body).not.toContain('KAP pathways');
  expect(body).toContain('You can answer until Tuesday, January 15, 2030 at 12:30 PM EST.');
  expect(body).not.toContain('GMT');
  // Four parts, mood first and safety last, with plain headings; instrument codes only as small print.
  for (const n of [1, 2, 3, 4]) expect(body).toContain(`Part ${n} of 4`);
  const headings = [...body.matchAll(/<h2 id="h-[^"]+">([^<]+)<\/h2>/g)].map((m) => m[1]);
  expect(headings).toEqual(['About your mood', 'About worry and anxiety', 'About a very stressful experience', 'About your safety']);
  expect(body).not.toMatch(/<h2[^>]*>[^<]*(PHQ-9|GAD-7|PCL-5|C-SSRS)/);
  expect(body).toContain('<span class="inst">C-SSRS</span>');
  // Help on every part, leading to the crisis resources on the page.
  expect(body.match(/<p class="help-now">/g)).toHaveLength(4);
  expect(body.match(/href="#crisis-title"/g)).toHaveLength(4);
  expect(body.match(/id="crisis-title"/g)).toHaveLength(1);
  expect(body).toContain('988 Suicide &amp; Crisis Lifeline');
  expect(body).toContain(`You can also contact ${f.clinicName} and tell them how you are doing`);
  // 6b (and 3-5) carry their condition; without the script they offer "Does not apply to me".
  expect(body).toMatch(/<fieldset class="q" id="f-cssrs-6b" data-when-name="cssrs\.6" data-when-value="true"/);
  expect(body).toMatch(/<fieldset class="q" id="f-cssrs-3" data-when-name="cssrs\.2" data-when-value="true"/);
  expect(body).toContain('<input type="radio" id="f-cssrs-6b-2" name="cssrs.6b" value=""');
  expect(structuralProblems(body)).toEqual([]);

  // Honest answers, item 6 = No; the phone's script sent nothing for 3-5 and 6b. Accepted at once.
  const sent = await post(f.url, screening());
  expect(sent.statusCode).toBe(200);
  expect(sent.body).toContain('Thank you. Your answers have been sent to your care team.');
  for (const i of ['phq9', 'gad7', 'pcl5', 'cssrs']) expect(await f.status(i)).toBe('completed');
  expect((await f.row('cssrs')).band).toBe('none');
  expect((await f.row('phq9')).total).toBe(8);
}, 120_000);

test('without the script, "No" answers to the C-SSRS questions that do not apply (3-5 after 2 = No, 6b after 6 = No) are dropped and the form submits', async () => {
  const f = await screeningLink();
  const sent = await post(f.url, { ...screening(), 'cssrs.3': 'false', 'cssrs.4': 'false', 'cssrs.5': 'false', 'cssrs.6b': 'false' });
  expect(sent.statusCode).toBe(200);
  expect(await f.status('cssrs')).toBe('completed');
  expect((await f.row('cssrs')).band).toBe('none');
}, 120_000);

test('a client answers 6 = No and also 6b = Yes: the other forms are recorded, the C-SSRS comes back with 6b marked and every answer kept; "Does not apply to me" then submits', async () => {
  const f = await screeningLink();
  const form = { ...screening(), 'cssrs.1': 'true', 'cssrs.6b': 'true' };
  const page = await post(f.url, form);
  expect(page.statusCode).toBe(400);
  const body = page.body;
  // Recorded: mood, worry, stressful experience. Open: the safety questions only, as "Part 1 of 1".
  for (const i of ['phq9', 'gad7', 'pcl5']) expect(await f.status(i)).toBe('completed');
  expect(await f.status('cssrs')).toBe('invited');
  expect(body).toContain('Your answers to “About your mood”, “About worry and anxiety” and “About a very stressful experience” have been sent to your care team.');
  expect(body).toContain('Some answers need a look: “About your safety” (question 6b).');
  // The error summary at the top links to the marked question.
  expect(body.indexOf('id="error-summary"')).toBeLessThan(body.indexOf('<form'));
  expect(body).toContain('<a href="#f-cssrs-6b-0">About your safety, question 6b: You answered No to question 6, so this question does not apply.');
  expect(body).toMatch(/<fieldset class="q invalid" id="f-cssrs-6b" [^>]*aria-describedby="f-cssrs-6b-hint f-cssrs-6b-err"/);
  expect(body).toContain('<p class="field-error" id="f-cssrs-6b-err">You answered No to question 6');
  expect(body).toContain('name="cssrs.6b" value="true" checked aria-invalid="true"');
  expect(body).not.toMatch(/name="cssrs\.6" [^>]*aria-invalid/);
  // Every answer typed is kept.
  for (const [k, v] of Object.entries({ 'cssrs.1': 'true', 'cssrs.2': 'false', 'cssrs.6': 'false', 'cssrs.6b': 'true' })) expect(body).toMatch(new RegExp(`name="${k.replace('.', '\\.')}" value="${v}" checked`));
  // Item 1 = yes endorses thoughts of death: the crisis resources come first.
  expect(body.indexOf('<section class="crisis" role="alert"')).toBeLessThan(body.indexOf('<form'));
  expect(structuralProblems(body)).toEqual([]);

  // She chooses "Does not apply to me" for 6b: accepted, low risk (item 1), nothing assumed about 6b.
  const fixed = await post(f.url, { 'cssrs.1': 'true', 'cssrs.2': 'false', 'cssrs.6': 'false', 'cssrs.6b': '' });
  expect(fixed.statusCode).toBe(200);
  expect(fixed.body).toContain('Thank you');
  expect(await f.status('cssrs')).toBe('completed');
  expect((await f.row('cssrs')).band).toBe('low');
}, 120_000);

test('a refusal keeps every typed answer and marks the field: PHQ-9 item 4 and GAD-7 item 3 left blank', async () => {
  const f = await screeningLink();
  const form: Record<string, string> = { ...screening(), 'phq9.2': '2', 'phq9.7': '3', 'gad7.5': '0' };
  delete form['phq9.4'];
  delete form['gad7.3'];
  const page = await post(f.url, form);
  expect(page.statusCode).toBe(400);
  const body = page.body;
  expect(await f.status('pcl5')).toBe('completed');
  expect(await f.status('cssrs')).toBe('completed');
  expect(await f.status('phq9')).toBe('invited');
  expect(await f.status('gad7')).toBe('invited');
  expect(body).toContain('Some answers are missing: “About your mood” (question 4), “About worry and anxiety” (question 3).');
  expect(body).toContain('Part 1 of 2');
  expect(body).toContain('Part 2 of 2');
  // Every answer typed for the parts still open is checked again.
  for (const [k, v] of Object.entries(form).filter(([k]) => k.startsWith('phq9.') || k.startsWith('gad7.'))) {
    expect(body).toMatch(new RegExp(`name="${k.replace('.', '\\.')}" value="${v}" checked`));
  }
  // Marked next to the question, and listed in order at the top with a link to it.
  const summary = body.slice(body.indexOf('id="error-summary"'), body.indexOf('</div>', body.indexOf('id="error-summary"')));
  expect([...summary.matchAll(/href="#([^"]+)"/g)].map((m) => m[1])).toEqual(['f-phq9-4-0', 'f-gad7-3-0']);
  expect(body).toMatch(/<fieldset class="q invalid" id="f-phq9-4" aria-describedby="f-phq9-4-err"><legend>4\. Feeling tired or having little energy<\/legend>\s*<p class="field-error" id="f-phq9-4-err">Please choose an answer\.<\/p>/);
  expect(body).toMatch(/<fieldset class="q invalid" id="f-gad7-3" aria-describedby="f-gad7-3-err">/);
  expect(body).toMatch(/<fieldset class="q" id="f-phq9-3">/);
  expect(body.match(/aria-invalid="true"/g)).toHaveLength(8); // 4 options each for the two marked questions
  // The two answers added: accepted.
  const rest = await post(f.url, { ...Object.fromEntries(Object.entries(form).filter(([k]) => k.startsWith('phq9.') || k.startsWith('gad7.'))), 'phq9.4': '1', 'gad7.3': '2' });
  expect(rest.statusCode).toBe(200);
  expect(await f.status('phq9')).toBe('completed');
  expect((await f.row('phq9')).total).toBe(11);
  expect(await f.status('gad7')).toBe('completed');
}, 120_000);

test('6 = Yes with 6b left blank: 6b is asked for, not assumed; the care team is alerted meanwhile', async () => {
  const f = await screeningLink();
  const page = await post(f.url, { ...screening(), 'cssrs.6': 'true' });
  expect(page.statusCode).toBe(400);
  expect(page.body).toContain('<p class="field-error" id="f-cssrs-6b-err">Please choose Yes or No: you answered Yes to question 6, so this question applies.</p>');
  expect(page.body).toMatch(/name="cssrs\.6" value="true" checked/);
  expect(await f.status('cssrs')).toBe('invited');
  // A "yes" to behaviour with its recency unknown is a high-risk answer: recorded as a critical answer.
  const items = await eventually(async () => {
    const r = await call('GET', `/api/safety?clinicId=${f.clinicId}`, { token: admin });
    const mine = (r.body.items as Array<Record<string, unknown>>).filter((i) => i.courseId === f.courseId && JSON.stringify(i).includes('C-SSRS high risk'));
    return mine.length ? mine : undefined;
  }, 30_000, 200);
  expect(JSON.stringify(items[0])).toContain('item 6b unanswered');
  // She answers 6b = No (more than 3 months ago): the C-SSRS is scored, moderate.
  const fixed = await post(f.url, { 'cssrs.1': 'false', 'cssrs.2': 'false', 'cssrs.6': 'true', 'cssrs.6b': 'false' });
  expect(fixed.statusCode).toBe(200);
  expect((await f.row('cssrs')).band).toBe('moderate');
}, 120_000);

test("the clinic's admin sets its phone number: the client's crisis card gives it to call; a malformed number is refused naming the field and changes nothing", async () => {
  const f = await screeningLink();
  const bad = await call('PATCH', `/api/clinics/${f.clinicId}`, { token: admin, body: { phone: 'call us!' } });
  expect(bad.status).toBe(400);
  expect(bad.body.problems.map((p: { field: string }) => p.field)).toEqual(['phone']);
  expect((await call('GET', `/api/clinics/${f.clinicId}`, { token: admin })).body.phone).toBeNull();
  const set = await call('PATCH', `/api/clinics/${f.clinicId}`, { token: admin, body: { phone: '+1 (212) 555-0100' } });
  expect(set.status).toBe(200);
  expect(set.body.phone).toBe('+1 (212) 555-0100');
  const page = await stack.app.inject({ method: 'GET', url: f.url });
  expect(page.statusCode).toBe(200);
  expect(page.body).toContain(`You can also call ${f.clinicName} on <a href="tel:+12125550100">+1 (212) 555-0100</a> and tell them how you are doing`);
  expect(page.body).not.toContain(`You can also contact ${f.clinicName}`);
}, 120_000);

// Issue #18 item 4, as a prescriber would tell it: a client answers PHQ-9 item 9 with "more than half
// the days" at screening. On the client page the course's state and the open suicide-risk hold come
// first, then the scores (a full-width PHQ-9 chart with bands, response and remission lines), then
// every answer per item with item 9 marked critical beside its question, then the timeline, and the
// forms last. After the prescriber releases the hold and doses, the chart has a dose marker.
// Real routes (fastify inject), real Temporal dev server, real PostgreSQL.
import { createSession, SESSION_COOKIE } from '../../src/auth/sessions';
import { createApiToken } from '../../src/auth/tokens';
import type { StaffRole } from '../../src/db/schema';
import { getProtocol, phq9 } from '../../src/domain';
import { HARD_STOPS, REVIEW_ITEMS } from '../../src/domain/rules/eligibility';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, uid } from './api-helpers';
import { LiveCourse } from './course-driver';

const U = uid();
const CLINIC = `cp-${U}`;
let stack: TestStack;
let call: ReturnType<typeof client>;
type Person = { id: string; token: string; session: string };

async function makeStaff(role: StaffRole): Promise<Person> {
  const id = `staff-${role}-${CLINIC}`;
  await stack.db.insertInto('staff').values({ id, email: `${role}-${CLINIC}@example.org`, display_name: `Dr ${role} ${U}`, role, password_hash: null }).execute();
  await stack.db.insertInto('staff_clinics').values({ staff_id: id, clinic_id: CLINIC }).execute();
  const { token } = await createApiToken(stack.db, { role, clinicId: CLINIC, staffId: id, label: `${role} personal` });
  const { sessionId } = await createSession(stack.db, id);
  return { id, token, session: sessionId };
}
const ok = async (method: string, u: string, token: string, body?: unknown) => {
  const r = await call(method, u, { token, ...(body !== undefined ? { body } : {}) });
  if (r.status >= 300) throw new Error(`${method} ${u}: ${r.status} ${r.text}`);
  return r.body;
};
const page = async (u: string, who: Person) => {
  const r = await stack.app.inject({ method: 'GET', url: u, headers: { cookie: `${SESSION_COOKIE}=${who.session}` } });
  expect(r.statusCode).toBe(200);
  return r.body;
};
/** The position of a marker in the page; fails the test when it is missing. */
const at = (body: string, marker: string) => {
  const i = body.indexOf(marker);
  if (i < 0) throw new Error(`page has no ${marker}`);
  return i;
};

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  await stack.db.insertInto('clinics').values({ id: CLINIC, name: `Clinical page ${U}`, timezone: 'America/New_York' }).execute();
}, 120_000);
afterAll(async () => {
  if (!stack) return;
  for (const c of await stack.db.selectFrom('courses').select('workflow_id').where('clinic_id', '=', CLINIC).where('ended_at', 'is', null).execute()) {
    await stack.temporal.workflow.getHandle(c.workflow_id).terminate('test cleanup').catch(() => undefined);
  }
  await stack.stop();
});

test('item 9 endorsed at screening: state and hold first, then scores, the answer marked with its question, the timeline, the forms; a dose is marked on the chart', async () => {
  const prescriber = await makeStaff('prescriber');
  const coordinator = await makeStaff('coordinator');
  const therapist = await makeStaff('therapist');
  const cl = await ok('POST', '/api/clients', coordinator.token, { clinicId: CLINIC, givenName: 'Rae', familyName: `Item-${U}`, email: `rae-${U}@example.org` });
  const course = await ok('POST', `/api/clients/${cl.id}/courses`, coordinator.token, { protocolId: 'kap-office' });
  const live = new LiveCourse(stack.temporal, stack.db, course.id, getProtocol('kap-office', 1)!);
  await live.answerAll('screening', { phq9: [2, 2, 1, 1, 1, 1, 1, 1, 2] });
  await eventually(async () => (await live.state()).safetyHolds.length > 0 || undefined);

  const before = await stack.db.selectFrom('audit_log').select('id').where('client_id', '=', cl.id).where('action', '=', 'client.read').execute();
  const body = await page(`/clients/${cl.id}`, prescriber);
  // Reading the answers is a clinical read: audited as the page's read, by the prescriber.
  const reads = await stack.db.selectFrom('audit_log').selectAll().where('client_id', '=', cl.id).where('action', '=', 'client.read').execute();
  expect(reads.length).toBe(before.length + 1);
  expect(reads.at(-1)).toMatchObject({ actor_id: prescriber.id, detail: expect.objectContaining({ what: 'dashboard client page' }) });

  // The order a clinician reads in.
  const state = at(body, '<h2 id="course">Current state</h2>');
  const hold = at(body, 'Open safety items');
  const scores = at(body, '<h2 id="scores">Scores</h2>');
  const answers = at(body, '<h2 id="answers">Answers</h2>');
  const timeline = at(body, '<h2 id="timeline">Timeline</h2>');
  const actions = at(body, '<h2 id="actions">Actions</h2>');
  const reviewForm = at(body, `action="/courses/${course.id}/actions/safety-review"`);
  expect([state, hold, scores, answers, timeline, actions, reviewForm]).toEqual([state, hold, scores, answers, timeline, actions, reviewForm].sort((a, b) => a - b));
  // The state: step by name, its owner, when it is due, the risk.
  const stateHtml = body.slice(state, scores);
  expect(stateHtml).toContain('<dt>Current step</dt><dd data-step="screening"><strong>Screening and intake</strong>');
  expect(stateHtml).toMatch(/<dt>Owner<\/dt><dd>any coordinator<\/dd>/);
  expect(stateHtml).toMatch(/<dt>Risk<\/dt><dd><span class="badge (warn|bad)">(moderate|high)<\/span>/);
  expect(stateHtml).toContain('PHQ-9 item 9 = 2');
  // The hold names what was endorsed, with the question, where the reviewing clinician reads it.
  expect(stateHtml).toContain(`<li>PHQ-9 item 9, “${phq9.items[8]!.text}”: <strong>More than half the days (2)</strong>`);
  expect(stateHtml.match(/<li>(PHQ-9|C-SSRS) item /g)).toHaveLength(1);

  // The PHQ-9 chart: full width, titled and described, bands, response and remission lines, a data table.
  const chart = body.slice(scores, answers);
  expect(chart).toContain('data-instrument="phq9"');
  expect(chart).toContain('<title id="chart-phq9-t">PHQ-9 over time</title>');
  expect(chart).toContain('Moderately severe (15-19)');
  expect(chart).toContain('data-mark="response"');
  expect(chart).toContain('response: at or below 6 (50% drop)');
  expect(chart).toContain('data-mark="remission"');
  expect(chart).toContain('<caption>PHQ-9 scores and doses</caption>');
  expect(chart).not.toContain('data-dose=');
  for (const m of chart.matchAll(/font-size="(\d+)"/g)) expect(Number(m[1])).toBeGreaterThanOrEqual(12);

  // The answers: item 9 with its question, marked critical; item 1 (2, not critical) is not marked.
  const answerHtml = body.slice(answers, timeline);
  const item9 = /<tr class="critical" data-critical="phq9-9"><td>9<\/td><td>([^<]*)<\/td><td>([^<]*)/.exec(answerHtml);
  expect(item9?.[1]).toBe(phq9.items[8]!.text);
  expect(item9?.[2]).toBe('More than half the days (2) ');
  expect(answerHtml).toContain(`<td>1</td><td>${phq9.items[0]!.text}</td><td>More than half the days (2)</td>`);
  expect(answerHtml.match(/data-critical="phq9-/g)).toHaveLength(1);
  expect(answerHtml).toContain('critical: item 9');
  expect(answerHtml).not.toContain('data-critical="cssrs-');

  // The prescriber releases the hold and the course goes to its first dose.
  await ok('POST', `/api/courses/${course.id}/safety-review`, prescriber.token, { outcome: 'release', riskLevel: 'low', notes: 'Passive thoughts; safety plan in place' });
  await ok('POST', `/api/courses/${course.id}/screening`, prescriber.token, { hardStops: Object.fromEntries(Object.keys(HARD_STOPS).map((k) => [k, false])), reviewItems: Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, false])) });
  await ok('POST', `/api/courses/${course.id}/clearance`, prescriber.token, { decision: 'approved', reason: 'cleared' });
  await ok('POST', `/api/courses/${course.id}/consent`, coordinator.token, { documentVersion: 'v1', signedByClient: true, prescriberSigned: true });
  for (const n of [1, 2, 3]) {
    await ok('POST', `/api/courses/${course.id}/schedule`, coordinator.token, { stepKey: `prep-${n}`, startsInHours: 1 });
    await ok('POST', `/api/courses/${course.id}/session-complete`, therapist.token, { stepKey: `prep-${n}` });
  }
  await ok('POST', `/api/courses/${course.id}/schedule`, coordinator.token, { stepKey: 'dose-1', startsInHours: 1 });
  // Before the session the therapist sends the PHQ-9 and C-SSRS again; the client now answers item 9 with 0.
  const sent = await ok('POST', `/api/courses/${course.id}/send-assessment`, therapist.token, { instruments: ['phq9', 'cssrs'] });
  await live.answerAll(String(sent.ids.assessmentId).split('/')[1]!);
  const check = await ok('POST', `/api/courses/${course.id}/pre-dose-check`, prescriber.token, { stepKey: 'dose-1', bloodPressure: { systolic: 124, diastolic: 78 }, hoursSinceFood: 8, hoursSinceClearLiquids: 3, escortConfirmed: true, pregnancy: 'negative' });
  expect(check.outcome).toBe('proceed');
  expect((await ok('POST', `/api/courses/${course.id}/dose`, prescriber.token, { stepKey: 'dose-1', route: 'sublingual', doseMg: 200 })).outcome).toBe('dosed');
  const dosedAt = await eventually(async () => (await stack.db.selectFrom('course_sessions').select('dosed_at').where('course_id', '=', course.id).where('step_key', '=', 'dose-1').executeTakeFirst())?.dosed_at ?? undefined);

  const after = await page(`/clients/${cl.id}`, prescriber);
  expect(after).not.toContain('Open safety items');
  expect(after).not.toContain('Endorsed in the latest answers');
  const afterChart = after.slice(at(after, '<h2 id="scores">Scores</h2>'), at(after, '<h2 id="answers">Answers</h2>'));
  const marker = /<g data-dose="dose-1"><title>Dose 1 \(dose-1\) on (\d{4}-\d{2}-\d{2})<\/title><line x1="([\d.]+)"/.exec(afterChart);
  expect(marker?.[1]).toBe(new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit', day: '2-digit' }).format(dosedAt));
  // After the baseline score: to its right on the time axis.
  const baselineX = Number(/<circle cx="([\d.]+)"/.exec(afterChart)?.[1]);
  expect(Number(marker?.[2])).toBeGreaterThan(baselineX);
  expect(afterChart).toContain('1 dose(s) marked');
  expect(afterChart).toMatch(/<td>Dose 1 \(dose-1\)<\/td>/);
  // The answer stays marked after the release: the record of what was endorsed does not go away.
  const afterAnswers = after.slice(at(after, '<h2 id="answers">Answers</h2>'), at(after, '<h2 id="timeline">Timeline</h2>'));
  expect(afterAnswers.match(/<summary>PHQ-9 /g)).toHaveLength(2);
  expect(afterAnswers.match(/data-critical="phq9-9"/g)).toHaveLength(1);
  expect(afterAnswers.match(/<summary>C-SSRS /g)).toHaveLength(2);
  expect(afterAnswers).not.toContain('data-critical="cssrs-');
  const phqChart = afterChart.slice(at(afterChart, 'data-instrument="phq9"'));
  expect(phqChart.slice(0, phqChart.indexOf('</figure>')).match(/<circle /g)).toHaveLength(2);
  expect(at(after, '<h2 id="timeline">Timeline</h2>')).toBeLessThan(at(after, '<h2 id="actions">Actions</h2>'));
}, 90_000);

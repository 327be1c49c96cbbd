// Issue #16, items 1, 2 and 7, as a clinic would tell it: the safety queue shows exactly the holds that
// are open (the course workflow's), each with its full reason and what closes it; a suicide-risk item
// outlives its course until a clinician reviews it; what was decided (override reasons, review notes,
// the PCL-5's DSM-5 cluster result) is in the course API, the client's timeline and the FHIR export.
// Real API (fastify inject), real Temporal dev server, real PostgreSQL; the client answers through the
// engine's own client, as the client link does.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { createSession, SESSION_COOKIE } from '../../src/auth/sessions';
import { createApiToken } from '../../src/auth/tokens';
import type { StaffRole } from '../../src/db/schema';
import { getCourseState } from '../../src/client/course-actions';
import { getProtocol } from '../../src/domain';
import { mulberry32 } from '../../src/prng';
import { HARD_STOPS, REVIEW_ITEMS } from '../../src/domain/rules/eligibility';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { errorsOf, validateFhir } from '../unit/fhir/fhir-validator';
import { client, uid } from './api-helpers';
import { BENIGN_ANSWERS, LiveCourse } from './course-driver';

const U = uid();
const NO_HARD_STOPS = Object.fromEntries(Object.keys(HARD_STOPS).map((k) => [k, false]));
const reviewItems = Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, false]));
const CHECK = { hoursSinceFood: 8, hoursSinceClearLiquids: 3, escortConfirmed: true, pregnancy: 'negative' };

let stack: TestStack;
let call: ReturnType<typeof client>;
let url: string;
const exec = promisify(execFile);
/** The `kap` CLI against this server, as a clinician of the clinic. */
const kap = async (token: string, ...args: string[]) => (await exec(path.resolve(__dirname, '../../bin/kap'), args, { env: { ...process.env, KAP_URL: url, KAP_TOKEN: token }, timeout: 60_000 })).stdout;
type Person = { id: string; token: string; session: string };
const staffOf: Record<string, Record<'prescriber' | 'coordinator' | 'therapist', Person>> = {};

async function makeStaff(role: StaffRole, clinic: string): Promise<Person> {
  const id = `staff-${role}-${clinic}`;
  await stack.db.insertInto('staff').values({ id, email: `${role}-${clinic}@example.org`, display_name: `${role} ${clinic}`, role, password_hash: null }).execute();
  await stack.db.insertInto('staff_clinics').values({ staff_id: id, clinic_id: clinic }).execute();
  const { token } = await createApiToken(stack.db, { role, clinicId: clinic, staffId: id, label: `${role} personal` });
  const { sessionId } = await createSession(stack.db, id);
  return { id, token, session: sessionId };
}

/** A clinic of its own per scenario, so "the queue is empty" means this scenario's queue. */
async function clinic(name: string): Promise<{ id: string; prescriber: Person; coordinator: Person; therapist: Person }> {
  const id = `ss-${name}-${U}`;
  await stack.db.insertInto('clinics').values({ id, name: `Safety ${name} ${U}` }).execute();
  staffOf[id] = { prescriber: await makeStaff('prescriber', id), coordinator: await makeStaff('coordinator', id), therapist: await makeStaff('therapist', id) };
  return { id, ...staffOf[id]! };
}

const page = async (u: string, who: Person) => {
  const r = await stack.app.inject({ method: 'GET', url: u, headers: { cookie: `${SESSION_COOKIE}=${who.session}` } });
  expect(r.statusCode).toBe(200);
  return r.body;
};
const ok = async (method: string, u: string, token: string, body?: unknown) => {
  const r = await call(method, u, { token, ...(body !== undefined ? { body } : {}) });
  if (r.status >= 300) throw new Error(`${method} ${u}: ${r.status} ${r.text}`);
  return r.body;
};
const queue = async (clinicId: string, token: string) => (await ok('GET', `/api/safety?clinicId=${clinicId}`, token)).items.filter((i: { type: string }) => i.type === 'safety-hold') as Array<Record<string, any>>;
const stuckSafety = async (clinicId: string, token: string) => (await ok('GET', `/api/stuck?clinicId=${clinicId}`, token)).items.filter((i: { type: string }) => i.type === 'safety') as Array<Record<string, any>>;
const flags = async (clientId: string, token: string) => ((await ok('GET', `/api/clients/${clientId}/fhir`, token)).entry as Array<{ resource: Record<string, any> }>).map((e) => e.resource).filter((r) => r.resourceType === 'Flag');

/** Enrolls a client; the client answers the screening assessment (overrides per instrument). */
async function enrolled(c: { id: string; coordinator: Person }, answers: Record<string, unknown[]> = {}) {
  const cl = await ok('POST', '/api/clients', c.coordinator.token, { clinicId: c.id, givenName: 'Sam', familyName: `Case-${uid()}`, email: `sam-${uid()}@example.org` });
  const course = await ok('POST', `/api/clients/${cl.id}/courses`, c.coordinator.token, { protocolId: 'kap-office' });
  const live = new LiveCourse(stack.temporal, stack.db, course.id, getProtocol('kap-office', 1)!);
  await live.answerAll('screening', answers);
  return { clientId: cl.id as string, courseId: course.id as string, live };
}

/** Screening, clearance, consent and preparation, then dose-1 scheduled: the pre-dose check is next. */
async function readyToDose(c: { prescriber: Person; coordinator: Person; therapist: Person }, courseId: string) {
  await ok('POST', `/api/courses/${courseId}/screening`, c.prescriber.token, { hardStops: NO_HARD_STOPS, reviewItems });
  await ok('POST', `/api/courses/${courseId}/clearance`, c.prescriber.token, { decision: 'approved', reason: 'cleared by the prescriber' });
  await ok('POST', `/api/courses/${courseId}/consent`, c.coordinator.token, { documentVersion: 'v1', signedByClient: true, prescriberSigned: true });
  for (const n of [1, 2, 3]) {
    await ok('POST', `/api/courses/${courseId}/schedule`, c.coordinator.token, { stepKey: `prep-${n}`, startsInHours: 1 });
    await ok('POST', `/api/courses/${courseId}/session-complete`, c.therapist.token, { stepKey: `prep-${n}` });
  }
  await ok('POST', `/api/courses/${courseId}/schedule`, c.coordinator.token, { stepKey: 'dose-1', startsInHours: 1 });
}

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  url = await stack.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  if (!stack) return;
  for (const c of await stack.db.selectFrom('courses').select('workflow_id').where('clinic_id', 'like', `ss-%-${U}`).where('ended_at', 'is', null).execute()) {
    await stack.temporal.workflow.getHandle(c.workflow_id).terminate('test cleanup').catch(() => undefined);
  }
  await stack.stop();
});

test('a pre-dose hold at 165/102, a re-check at 135/85 proceeds: the queue no longer lists it', async () => {
  const c = await clinic('bp');
  const { clientId, courseId } = await enrolled(c);
  await readyToDose(c, courseId);

  const held = await ok('POST', `/api/courses/${courseId}/pre-dose-check`, c.prescriber.token, { stepKey: 'dose-1', ...CHECK, bloodPressure: { systolic: 165, diastolic: 102 } });
  expect(held.outcome).toBe('hold');
  // The answer is given once the hold is in the record: the queue has it at once, with the values.
  const [item, ...more] = await queue(c.id, c.therapist.token);
  expect(more).toEqual([]);
  expect(item).toMatchObject({ courseId, kind: 'pre-dose-hold', stepKey: 'dose-1', suicideRisk: false, courseEnded: false, closesWhen: 'a pre-dose check of this session that proceeds, a clinician reviews it, or the course ends' });
  expect(item!.reason).toContain('blood pressure 165/102 mmHg');
  expect(item!.reason).toContain('Systolic 165 mmHg is above the limit of 140');
  expect(item!.reason).toContain('Diastolic 102 mmHg is above the limit of 90');
  // The same open set everywhere: the course, the client page, the stuck board, the FHIR Flags.
  expect((await ok('GET', `/api/courses/${courseId}`, c.prescriber.token)).safetyHolds.map((h: { id: string }) => h.id)).toEqual([item!.id]);
  expect(await page(`/clients/${clientId}`, c.prescriber)).toContain('Systolic 165 mmHg is above the limit of 140');
  expect(await page('/safety', c.prescriber)).toContain('Systolic 165 mmHg is above the limit of 140');
  expect((await stuckSafety(c.id, c.coordinator.token)).map((i) => i.problem)).toEqual([expect.stringContaining('blood pressure 165/102 mmHg')]);
  expect((await flags(clientId, c.prescriber.token)).map((f) => f.code.text)).toEqual([expect.stringContaining('165/102')]);
  expect(errorsOf(validateFhir(await ok('GET', `/api/clients/${clientId}/fhir`, c.prescriber.token)))).toEqual([]);

  const again = await ok('POST', `/api/courses/${courseId}/pre-dose-check`, c.prescriber.token, { stepKey: 'dose-1', ...CHECK, bloodPressure: { systolic: 135, diastolic: 85 } });
  expect(again.outcome).toBe('proceed');
  expect(await queue(c.id, c.therapist.token)).toEqual([]);
  expect((await ok('GET', `/api/courses/${courseId}`, c.prescriber.token)).safetyHolds).toEqual([]);
  expect(await stuckSafety(c.id, c.coordinator.token)).toEqual([]);
  expect(await flags(clientId, c.prescriber.token)).toEqual([]);
  const clientPage = await page(`/clients/${clientId}`, c.prescriber);
  expect(clientPage).not.toContain('Open safety items');
  expect(clientPage).toContain('Safety hold closed (pre-dose-hold): a later pre-dose check of this session proceeded');
  expect(await page('/safety', c.prescriber)).not.toContain('165 mmHg');
  const row = await stack.db.selectFrom('safety_events').selectAll().where('id', '=', item!.id).executeTakeFirstOrThrow();
  expect(row.resolved_at).not.toBeNull();
  // Nothing is left to review, and the workflow agrees.
  const review = await call('POST', `/api/courses/${courseId}/safety-review`, { token: c.prescriber.token, body: { outcome: 'release', riskLevel: 'low' } });
  expect(review.status).toBe(409);
  expect(review.body.message ?? review.text).toMatch(/no safety hold is open/);
  expect((await ok('POST', `/api/courses/${courseId}/dose`, c.prescriber.token, { stepKey: 'dose-1', route: 'sublingual', doseMg: 200 })).outcome).toBe('dosed');
}, 120_000);

test("a clinician's review lifts a critical-answer hold: the queue is empty", async () => {
  const c = await clinic('phq');
  const { clientId, courseId } = await enrolled(c, { phq9: [2, 2, 2, 2, 2, 2, 2, 2, 2] });
  const item = await eventually(async () => (await queue(c.id, c.therapist.token))[0]);
  expect(item).toMatchObject({ courseId, kind: 'critical-answer', level: 'moderate', suicideRisk: true, closesWhen: 'a clinician reviews it' });
  expect(item.reason).toContain('PHQ-9 item 9 = 2 (thoughts of death or self-harm)');
  expect(await page('/safety', c.therapist)).toContain('PHQ-9 item 9 = 2 (thoughts of death or self-harm)');
  expect((await flags(clientId, c.prescriber.token)).map((f) => f.code.text)).toEqual([expect.stringMatching(/^Suicide risk \(moderate\): critical answer on the screening assessment: PHQ-9 item 9 = 2/)]);
  // A coordinator may not review; a therapist keeps the hold (it stays listed); a prescriber releases it.
  expect((await call('POST', `/api/courses/${courseId}/safety-review`, { token: c.coordinator.token, body: { outcome: 'release' } })).status).toBe(403);
  await ok('POST', `/api/courses/${courseId}/safety-review`, c.therapist.token, { outcome: 'keep-hold', riskLevel: 'moderate', notes: 'Call booked for tomorrow' });
  expect((await queue(c.id, c.therapist.token)).map((i) => i.id)).toEqual([item.id]);
  await ok('POST', `/api/courses/${courseId}/safety-review`, c.prescriber.token, { outcome: 'release', riskLevel: 'low', notes: 'Passive thoughts only; safety plan in place' });
  expect(await queue(c.id, c.therapist.token)).toEqual([]);
  expect(await stuckSafety(c.id, c.coordinator.token)).toEqual([]);
  expect(await flags(clientId, c.prescriber.token)).toEqual([]);
  const course = await ok('GET', `/api/courses/${courseId}`, c.prescriber.token);
  expect(course.safetyHolds).toEqual([]);
  expect(course.decisions.map((d: { summary: string }) => d.summary)).toEqual(
    expect.arrayContaining(['Safety review (keep-hold), risk assessed moderate: Call booked for tomorrow', 'Safety review (release), risk assessed low: Passive thoughts only; safety plan in place']),
  );
  const row = await stack.db.selectFrom('safety_events').selectAll().where('id', '=', item.id).executeTakeFirstOrThrow();
  expect(row.detail).toMatchObject({ resolution: 'clinician review: release', reviewedBy: c.prescriber.id });
}, 120_000);

test("a screening C-SSRS with intent ends the course as ineligible; the high-risk item stays in the queue and a prescriber's review closes it", async () => {
  const c = await clinic('cssrs');
  const { clientId, courseId } = await enrolled(c, { cssrs: [true, true, true, true, false, false] });
  const opened = await eventually(async () => (await queue(c.id, c.therapist.token))[0]);
  expect(opened).toMatchObject({ kind: 'critical-answer', level: 'high', suicideRisk: true });
  expect(opened.reason).toContain('C-SSRS items answered yes: 1, 2, 3, 4');
  const screening = await ok('POST', `/api/courses/${courseId}/screening`, c.prescriber.token, { hardStops: { ...NO_HARD_STOPS, 'suicidal-ideation-with-intent': true }, reviewItems });
  expect(screening.outcome).toBe('ineligible');
  await eventually(async () => (await stack.db.selectFrom('courses').select('ended_at').where('id', '=', courseId).executeTakeFirst())?.ended_at);
  // The course has ended; the person who most needs a follow-up is still in the queue, on top.
  const other = await enrolled(c);
  await ok('POST', `/api/courses/${other.courseId}/adverse-event`, c.prescriber.token, { category: 'hypertension', severity: 'severe', serious: true, description: 'BP 190/110 at 30 min' });
  const items = await queue(c.id, c.therapist.token);
  expect(items.map((i) => [i.courseId, i.kind])).toEqual([[courseId, 'critical-answer'], [other.courseId, 'adverse-event']]);
  expect(items[0]).toMatchObject({ id: opened.id, courseEnded: true, closesWhen: 'a clinician reviews it' });
  expect(items[1]).toMatchObject({ closesWhen: 'a clinician reviews it, or the course ends', reason: expect.stringContaining('BP 190/110 at 30 min') });
  expect(await page(`/clients/${clientId}`, c.prescriber)).toContain('C-SSRS items answered yes: 1, 2, 3, 4');
  expect(await page(`/clients/${clientId}`, c.prescriber)).toContain(`action="/courses/${courseId}/actions/safety-review"`);
  expect((await stuckSafety(c.id, c.coordinator.token)).map((i) => i.courseId)).toEqual([courseId, other.courseId]);
  const cli = await kap(c.prescriber.token, 'safety', '--clinic', c.id);
  expect(cli).toContain('2 open safety hold(s)');
  expect(cli.indexOf('SUICIDE RISK (high)')).toBeLessThan(cli.indexOf('BP 190/110 at 30 min'));
  expect(cli).toContain('C-SSRS items answered yes: 1, 2, 3, 4');
  expect(cli).toContain('closes when a clinician reviews it\n');

  // Only a clinician's review closes it, even on an ended course; nothing else is possible there.
  expect((await call('POST', `/api/courses/${courseId}/safety-review`, { token: c.coordinator.token, body: { outcome: 'release' } })).status).toBe(403);
  expect((await call('POST', `/api/courses/${courseId}/pause`, { token: c.coordinator.token, body: { reason: 'x' } })).status).toBe(409);
  const withdraw = await call('POST', `/api/courses/${courseId}/safety-review`, { token: c.prescriber.token, body: { outcome: 'withdraw' } });
  expect(withdraw.status).toBe(409);
  const review = await call('POST', `/api/courses/${courseId}/safety-review`, { token: c.prescriber.token, body: { outcome: 'release', riskLevel: 'high', notes: 'Seen today; referred to the crisis team; family informed' } });
  expect(review.status).toBe(200);
  expect(review.body).toMatchObject({ outcome: 'release', seq: expect.any(Number), course: { id: courseId, status: 'ineligible', safetyHolds: [] } });
  expect((await queue(c.id, c.therapist.token)).map((i) => i.courseId)).toEqual([other.courseId]);
  expect((await stuckSafety(c.id, c.coordinator.token)).map((i) => i.courseId)).toEqual([other.courseId]);
  // Recorded against the client: the item, the timeline, the audit log with the reviewer.
  const row = await stack.db.selectFrom('safety_events').selectAll().where('id', '=', opened.id).executeTakeFirstOrThrow();
  expect(row.resolved_at).not.toBeNull();
  expect(row.detail).toMatchObject({ resolution: 'clinician review: release', reviewedBy: c.prescriber.id, notesSummary: 'Seen today; referred to the crisis team; family informed' });
  const timeline = await ok('GET', `/api/clients/${clientId}/timeline`, c.prescriber.token);
  expect(timeline.entries).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'safety-review.release', actor: `staff:${c.prescriber.id}`, summary: 'Safety review (release), risk assessed high, after the course ended: Seen today; referred to the crisis team; family informed' })]));
  const audit = await stack.db.selectFrom('audit_log').selectAll().where('course_id', '=', courseId).where('action', '=', 'safety-review.release').execute();
  expect(audit.map((a) => [a.actor_type, a.actor_id, a.client_id])).toEqual([['staff', c.prescriber.id, clientId]]);
  // Nothing is open any more: a second review is refused.
  const again = await call('POST', `/api/courses/${courseId}/safety-review`, { token: c.prescriber.token, body: { outcome: 'release' } });
  expect(again.status).toBe(409);
  expect(again.text).toMatch(/no safety item is open/);
  expect(await kap(c.prescriber.token, 'status', courseId)).toContain('no open safety holds');
  expect(await kap(c.prescriber.token, 'status', other.courseId)).toContain('closes when a clinician reviews it, or the course ends');
  await ok('POST', `/api/courses/${other.courseId}/withdraw`, c.coordinator.token, { reason: 'test over' });
  // Not about suicide risk: the adverse event's hold closed with its course.
  expect(await queue(c.id, c.therapist.token)).toEqual([]);
  expect(await kap(c.prescriber.token, 'safety', '--clinic', c.id)).toContain('no open safety holds');
}, 150_000);

test('a hold reason over 200 characters is shown in full', async () => {
  const c = await clinic('long');
  const { clientId, courseId } = await enrolled(c);
  await readyToDose(c, courseId);
  const meds = ['tranylcypromine started by the client s GP last week', 'lamotrigine dose raised from 100 mg to 200 mg daily', 'memantine for a memory complaint, started in March', 'clonidine patch 0.1 mg per day for hot flushes'];
  const held = await ok('POST', `/api/courses/${courseId}/pre-dose-check`, c.prescriber.token, {
    stepKey: 'dose-1',
    bloodPressure: { systolic: 171, diastolic: 104 },
    hoursSinceFood: 1,
    hoursSinceClearLiquids: 0.5,
    escortConfirmed: false,
    pregnancy: 'negative',
    newInteractingMedications: meds,
  });
  expect(held.outcome).toBe('hold');
  const [item] = await queue(c.id, c.therapist.token);
  expect(item!.reason.length).toBeGreaterThan(400);
  for (const text of ['blood pressure 171/104 mmHg', 'Systolic 171 mmHg', 'No escort / ride home confirmed', ...meds]) expect(item!.reason).toContain(text);
  // In full on every surface: not cut at 200 characters, no "pre dose hold" in place of the values.
  const fullText = item!.reason as string;
  const escaped = fullText.replace(/[&<>"'`]/g, (ch) => `&#${ch.charCodeAt(0)};`);
  expect(await page('/safety', c.prescriber)).toContain(escaped);
  expect(await page(`/clients/${clientId}`, c.prescriber)).toContain(escaped);
  expect((await ok('GET', `/api/courses/${courseId}`, c.prescriber.token)).safetyHolds[0].reason).toBe(fullText);
  expect((await flags(clientId, c.prescriber.token))[0]!.code.text).toContain(fullText);
  expect((await stuckSafety(c.id, c.coordinator.token))[0]!.problem).toContain(fullText);
  const row = await stack.db.selectFrom('safety_events').select('detail').where('id', '=', item!.id).executeTakeFirstOrThrow();
  expect((row.detail as { reason: string }).reason).toBe(fullText);

  // The nurse re-checks from the dashboard's form: still held; the message after the form names every
  // reason (a long one used to be dropped), and the one hold of this session now has the new values.
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page(`/clients/${clientId}`, c.prescriber))![1]!;
  const later = ['phenelzine restarted by the client s psychiatrist yesterday', 'methylphenidate 20 mg added for attention and not yet reviewed'];
  const form = new URLSearchParams({ _csrf: csrf, stepKey: 'dose-1', 'bloodPressure.systolic:number': '158', 'bloodPressure.diastolic:number': '99', 'hoursSinceFood:number': '2', 'hoursSinceClearLiquids:number': '1', 'escortConfirmed:bool': 'false', 'benzodiazepine.taking:bool': 'false', pregnancy: 'negative', 'newInteractingMedications:list': later.join(',') });
  const posted = await stack.app.inject({ method: 'POST', url: `/courses/${courseId}/actions/pre-dose-check`, headers: { cookie: `${SESSION_COOKIE}=${c.prescriber.session}`, 'content-type': 'application/x-www-form-urlencoded' }, payload: form.toString() });
  expect(posted.statusCode).toBe(303);
  const after = await page(String(posted.headers.location), c.prescriber);
  const flash = /<div class="flash ok"[^>]*>([\s\S]*?)<\/div>/.exec(after)?.[1] ?? '';
  expect(flash.length).toBeGreaterThan(200);
  for (const text of ['Recorded: hold', 'Systolic 158 mmHg', 'No escort / ride home confirmed', ...later]) expect(flash).toContain(text);
  const [updated, ...none] = await queue(c.id, c.therapist.token);
  expect(none).toEqual([]);
  expect(updated).toMatchObject({ id: item!.id, reason: expect.stringContaining('blood pressure 158/99 mmHg') });
  for (const text of later) expect(updated!.reason).toContain(text);
  expect(updated!.reason).not.toContain(meds[0]);
}, 120_000);

test("what was decided is visible: a prescriber's override reason, a review's notes and the PCL-5 DSM-5 cluster result in the course, the timeline and the FHIR export", async () => {
  const c = await clinic('decided');
  // PCL-5: B 5/1, C 2/1, D 2/2, E 1/2 items rated >= 2: the cluster rule is not met (E short by one).
  const pcl5 = [3, 3, 2, 2, 2, 3, 2, 2, 2, 0, 0, 0, 0, 0, 2, 1, 1, 1, 1, 1];
  const { clientId, courseId } = await enrolled(c, { pcl5, phq9: BENIGN_ANSWERS.phq9! });
  const reason = `Ophthalmology letter ${U}: intraocular pressure controlled since March`;
  const s = await ok('POST', `/api/courses/${courseId}/screening`, c.prescriber.token, { hardStops: { ...NO_HARD_STOPS, 'uncontrolled-glaucoma': true }, reviewItems, overrides: [{ hardStop: 'uncontrolled-glaucoma', reason }] });
  expect(s.outcome).not.toBe('ineligible');
  await ok('POST', `/api/courses/${courseId}/adverse-event`, c.prescriber.token, { category: 'psychiatric', severity: 'severe', serious: true, description: 'Panic after the session' });
  await ok('POST', `/api/courses/${courseId}/safety-review`, c.prescriber.token, { outcome: 'release', riskLevel: 'low', notes: 'Settled; grounding plan reviewed' });

  const course = await ok('GET', `/api/courses/${courseId}`, c.prescriber.token);
  const summaries = course.decisions.map((d: { summary: string }) => d.summary);
  expect(summaries).toContain(`Hard stop uncontrolled-glaucoma overridden by prescriber: ${reason}`);
  expect(summaries).toContain('Safety review (release), risk assessed low: Settled; grounding plan reviewed');
  expect(course.decisions.find((d: { type: string }) => d.type === 'hard-stop.overridden')).toMatchObject({ reason, actor: `staff:${c.prescriber.id}` });
  expect(course.pcl5).toEqual([expect.objectContaining({ stepKey: 'screening', total: 28, dsm5CriteriaMet: false, clusters: expect.objectContaining({ B: expect.objectContaining({ endorsed: 5, met: true }), E: expect.objectContaining({ endorsed: 1, required: 2, met: false }) }) })]);

  const timeline = await page(`/clients/${clientId}`, c.prescriber);
  expect(timeline).toContain(`Hard stop uncontrolled-glaucoma overridden by prescriber: ${reason}`);
  expect(timeline).toContain('Safety review (release), risk assessed low: Settled; grounding plan reviewed');
  expect(timeline).toContain('PCL-5 total 28; DSM-5 cluster rule not met (B 5/1, C 2/1, D 2/2, E 1/2)');

  const bundle = await ok('GET', `/api/clients/${clientId}/fhir`, c.prescriber.token);
  expect(errorsOf(validateFhir(bundle))).toEqual([]);
  const resources = (bundle.entry as Array<{ resource: Record<string, any> }>).map((e) => e.resource);
  const notes = resources.find((r) => r.resourceType === 'CarePlan')!.note.map((n: { text: string }) => n.text);
  expect(notes).toEqual(expect.arrayContaining([`Hard stop uncontrolled-glaucoma overridden by prescriber: ${reason}`, 'Safety review (release), risk assessed low: Settled; grounding plan reviewed']));
  const obs = resources.find((r) => r.resourceType === 'Observation' && r.identifier?.[0]?.value === `${courseId}/screening/pcl5`)!;
  expect(obs.component.find((x: { code: { coding: Array<{ code: string }> } }) => x.code.coding[0]!.code === 'dsm5-criteria-met').valueBoolean).toBe(false);
  expect(obs.component.find((x: { code: { coding: Array<{ code: string }> } }) => x.code.coding[0]!.code === 'cluster-E')).toMatchObject({ valueInteger: 1, interpretation: [{ text: 'not met' }] });
}, 120_000);

test('after 50 courses with holds, re-checks, reviews, withdrawals and ineligible screenings, the queue lists exactly the open holds and every suicide-risk signal has an open item or a clinician review', async () => {
  const c = await clinic('many');
  const rnd = mulberry32(50);
  const courses: string[] = [];
  const high = { systolic: 168, diastolic: 104 };
  const fine = { systolic: 132, diastolic: 84 };
  for (let n = 0; n < 50; n++) {
    const r = rnd();
    const answers: Record<string, unknown[]> = r < 0.2 ? { phq9: [2, 2, 2, 1, 1, 1, 1, 1, 2] } : r < 0.3 ? { cssrs: [true, true, true, false, false, false] } : {};
    const { courseId } = await enrolled(c, answers);
    courses.push(courseId);
    if (rnd() < 0.2) {
      await ok('POST', `/api/courses/${courseId}/screening`, c.prescriber.token, { hardStops: { ...NO_HARD_STOPS, 'suicidal-ideation-with-intent': true }, reviewItems });
      continue;
    }
    await readyToDose(c, courseId);
    for (let k = 0; k < 6; k++) {
      const x = rnd();
      // Refusals are part of the story (a review with nothing open, a dose under a hold): only 5xx fail.
      const send = async (action: string, body: unknown, token = c.prescriber.token) => {
        const res = await call('POST', `/api/courses/${courseId}/${action}`, { token, body });
        expect([200, 201, 409, 422]).toContain(res.status);
        return res;
      };
      if (x < 0.35) await send('pre-dose-check', { stepKey: 'dose-1', ...CHECK, bloodPressure: rnd() < 0.5 ? high : fine });
      else if (x < 0.45) await send('adverse-event', { category: rnd() < 0.5 ? 'psychiatric' : 'hypertension', severity: 'severe', serious: true });
      else if (x < 0.65) await send('safety-review', rnd() < 0.7 ? { outcome: 'release', riskLevel: 'low', notes: 'reviewed' } : { outcome: 'keep-hold', notes: 'to see again' });
      else if (x < 0.75) {
        await send('pause', { reason: 'travelling' }, c.coordinator.token);
        await send('resume', {}, c.coordinator.token);
      } else if (x < 0.82) {
        await send('withdraw', { reason: 'moved away' }, c.coordinator.token);
        break;
      } else await send('dose', { stepKey: 'dose-1', route: 'sublingual', doseMg: 200 });
    }
  }
  // Some ended courses have their left-over suicide-risk item reviewed after the end.
  const ended = await stack.db.selectFrom('courses').select('id').where('clinic_id', '=', c.id).where('ended_at', 'is not', null).execute();
  for (const e of ended.slice(0, Math.ceil(ended.length / 2))) {
    const res = await call('POST', `/api/courses/${e.id}/safety-review`, { token: c.prescriber.token, body: { outcome: 'release', notes: 'followed up by phone' } });
    expect([200, 409]).toContain(res.status);
  }

  const listed = await queue(c.id, c.therapist.token);
  const rows = await stack.db.selectFrom('safety_events').selectAll().where('clinic_id', '=', c.id).execute();
  let suicideSignals = 0;
  for (const courseId of courses) {
    const wf = await getCourseState(stack.temporal, courseId);
    const open = listed.filter((i) => i.courseId === courseId).map((i) => i.id).sort();
    // A running course: exactly the workflow's holds. An ended one: the workflow's suicide-risk holds
    // left at its end, less those a clinician has reviewed since.
    const reviewedAfter = rows.filter((r) => r.course_id === courseId && (r.detail as Record<string, unknown>).reviewedAt).map((r) => r.id);
    const expected = wf.safetyHolds.map((h) => h.id).filter((id) => !reviewedAfter.includes(id)).sort();
    expect({ courseId, status: wf.status, open }).toEqual({ courseId, status: wf.status, open: expected });
    if (wf.status !== 'active' && wf.status !== 'paused') for (const h of wf.safetyHolds) expect({ id: h.id, suicideRisk: h.suicideRisk }).toEqual({ id: h.id, suicideRisk: true });
  }
  for (const r of rows) {
    const d = r.detail as Record<string, unknown>;
    if (d.suicideRisk !== true) continue;
    suicideSignals++;
    if (r.resolved_at) expect({ id: r.id, resolution: d.resolution }).toEqual({ id: r.id, resolution: expect.stringMatching(/^clinician review: (release|withdraw)$/) });
    else expect(listed.map((i) => i.id)).toContain(r.id);
  }
  // The run really had risk in it, and ended courses.
  expect(suicideSignals).toBeGreaterThanOrEqual(10);
  expect(ended.length).toBeGreaterThanOrEqual(5);
  // Sorted by risk, then age.
  const rank = (i: Record<string, any>) => (i.suicideRisk ? 10 : 0) + (({ high: 3, moderate: 2, low: 1 } as Record<string, number>)[i.level ?? ''] ?? 0);
  for (let i = 1; i < listed.length; i++) {
    const a = listed[i - 1]!;
    const b = listed[i]!;
    expect(rank(a) > rank(b) || (rank(a) === rank(b) && a.at <= b.at)).toBe(true);
  }
}, 300_000);

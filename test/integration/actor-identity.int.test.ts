// Issue #15, items 1, 6 (reads) and 7: who acted is taken from the credential, never from the body;
// a token without a staff member is recorded as that token; every read of a client's record is
// audited with the principal; admins read the audit log (API, dashboard page, `kap audit`) within
// their clinics, with who, what, when, where and the reason given.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { createSession, SESSION_COOKIE } from '../../src/auth/sessions';
import { createApiToken } from '../../src/auth/tokens';
import type { StaffRole } from '../../src/db/schema';
import { HARD_STOPS, REVIEW_ITEMS } from '../../src/domain/rules/eligibility';
import { KapStatus } from '../../src/workflows/search-attributes';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, uid } from './api-helpers';

const exec = promisify(execFile);
const KAP = path.resolve(__dirname, '../../bin/kap');
const U = uid();
const A = `ida-${U}`;
const B = `idb-${U}`;
const NO_HARD_STOPS = Object.fromEntries(Object.keys(HARD_STOPS).map((k) => [k, false]));
/** Every review item answered (absent). */
const reviewItems = Object.fromEntries(Object.keys(REVIEW_ITEMS).map((k) => [k, false]));
const GLAUCOMA_REASON = `Ophthalmology letter ${U}: pressure controlled since March`;

let stack: TestStack;
let call: ReturnType<typeof client>;
let url: string;
const staff = {} as Record<'prescriber' | 'coordinator' | 'admin', { id: string; name: string; token: string; session: string }>;
/** Tokens without a staff member. */
const bare = {} as { coordinator: { id: string; token: string; label: string }; adminAll: string; adminB: string; prescriber: string };

async function makeStaff(role: StaffRole, clinic: string | null, label: string) {
  const id = `staff-${label}-${U}`;
  const name = `${label} ${U}`;
  await stack.db.insertInto('staff').values({ id, email: `${label}-${U}@example.org`, display_name: name, role, password_hash: null }).execute();
  if (clinic) await stack.db.insertInto('staff_clinics').values({ staff_id: id, clinic_id: clinic }).execute();
  const { token } = await createApiToken(stack.db, { role, clinicId: clinic, staffId: id, label: `${label} personal` });
  const { sessionId } = await createSession(stack.db, id);
  return { id, name, token, session: sessionId };
}

const page = (u: string, session: string) => stack.app.inject({ method: 'GET', url: u, headers: { cookie: `${SESSION_COOKIE}=${session}` } });
const audit = async (query: string, token = bare.adminAll) => {
  const r = await call('GET', `/api/audit?${query}`, { token });
  if (r.status !== 200) throw new Error(`GET /api/audit?${query}: ${r.status} ${r.text}`);
  return r.body as { entries: Array<{ id: number; at: string; actor: { type: string; id: string | null; name: string | null; role: string | null }; action: string; clinicId: string | null; clientId: string | null; courseId: string | null; reason: string | null; detail: Record<string, any> }>; nextCursor: number | null };
};

async function enrolledCourse(clinic: string, token: string): Promise<{ clientId: string; courseId: string }> {
  const c = await call('POST', '/api/clients', { token, body: { clinicId: clinic, givenName: 'Ida', familyName: `Ent-${uid()}`, email: `ida-${uid()}@example.org` } });
  expect(c.status).toBe(201);
  const e = await call('POST', `/api/clients/${c.body.id}/courses`, { token, body: { protocolId: 'kap-office' } });
  expect(e.status).toBe(201);
  await eventually(async () => (await stack.db.selectFrom('courses').select('current_step').where('id', '=', e.body.id).executeTakeFirst())?.current_step === 'screening');
  return { clientId: c.body.id, courseId: e.body.id };
}

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  url = await stack.app.listen({ port: 0, host: '127.0.0.1' });
  await stack.db.insertInto('clinics').values([{ id: A, name: `Clinic A ${U}` }, { id: B, name: `Clinic B ${U}` }]).execute();
  staff.prescriber = await makeStaff('prescriber', A, 'prescriber');
  staff.coordinator = await makeStaff('coordinator', A, 'coordinator');
  staff.admin = await makeStaff('admin', null, 'admin');
  const coord = await createApiToken(stack.db, { role: 'coordinator', clinicId: A, label: `intake system ${U}` });
  bare.coordinator = { id: coord.info.id, token: coord.token, label: `intake system ${U}` };
  bare.adminAll = (await createApiToken(stack.db, { role: 'admin', label: 'all-clinic admin' })).token;
  bare.adminB = (await createApiToken(stack.db, { role: 'admin', clinicId: B, label: 'clinic B admin' })).token;
  bare.prescriber = (await createApiToken(stack.db, { role: 'prescriber', clinicId: A, label: 'prescriber system' })).token;
});
afterAll(async () => {
  if (!stack) return;
  for (const c of await stack.db.selectFrom('courses').select('workflow_id').where('clinic_id', 'in', [A, B]).where('ended_at', 'is', null).execute()) {
    await stack.temporal.workflow.getHandle(c.workflow_id).terminate('test cleanup').catch(() => undefined);
  }
  await stack.stop();
});

describe('the actor comes from the credential', () => {
  test('a coordinator naming a prescriber in the body gets a 400 naming each field, and nothing changes', async () => {
    const { courseId } = await enrolledCourse(A, staff.coordinator.token);
    const forged = await call('POST', `/api/courses/${courseId}/screening`, {
      token: staff.coordinator.token,
      body: { reviewItems, hardStops: { ...NO_HARD_STOPS, 'suicidal-ideation-with-intent': true }, overrides: [{ hardStop: 'suicidal-ideation-with-intent', byRole: 'prescriber', byUserId: staff.prescriber.id, reason: 'forged' }] },
    });
    expect(forged.status).toBe(400);
    expect(forged.body.problems.map((p: { field: string }) => p.field).sort()).toEqual(['overrides.0.byRole', 'overrides.0.byUserId']);
    expect(forged.body.problems[0].message).toMatch(/credentials/);
    const withActor = await call('POST', `/api/courses/${courseId}/screening`, { token: staff.coordinator.token, body: { reviewItems, hardStops: NO_HARD_STOPS, actor: { staffId: staff.prescriber.id, role: 'prescriber' } } });
    expect(withActor.status).toBe(400);
    expect(withActor.body.problems).toEqual([expect.objectContaining({ field: 'actor' })]);
    const course = await call('GET', `/api/courses/${courseId}`, { token: staff.coordinator.token });
    expect(course.body).toMatchObject({ currentStep: 'screening', status: 'active', endedAt: null });
    expect(await stack.db.selectFrom('course_events').select('type').where('course_id', '=', courseId).where('type', '=', 'screening.recorded').execute()).toEqual([]);
  });

  test("a coordinator's override of a prescriber-only hard stop is refused by role, recorded as refused, and the course stays ineligible", async () => {
    const { courseId } = await enrolledCourse(A, staff.coordinator.token);
    const r = await call('POST', `/api/courses/${courseId}/screening`, {
      token: staff.coordinator.token,
      body: { reviewItems, hardStops: { ...NO_HARD_STOPS, 'suicidal-ideation-with-intent': true }, overrides: [{ hardStop: 'suicidal-ideation-with-intent', reason: 'Coordinator thinks it is fine' }] },
    });
    expect(r.status).toBe(200);
    expect(r.body.outcome).toBe('ineligible');
    expect(r.body.reasons).toContainEqual(expect.objectContaining({ code: 'override-rejected', message: expect.stringMatching(/only a prescriber may override a hard stop \(was coordinator\)/) }));
    expect(r.body.reasons).toContainEqual(expect.objectContaining({ code: 'hard-stop:suicidal-ideation-with-intent', blocking: true }));
    const refused = await eventually(async () => (await audit(`courseId=${courseId}&action=hard-stop.override-refused`)).entries[0]);
    expect(refused).toMatchObject({ actor: { type: 'staff', id: staff.coordinator.id, name: staff.coordinator.name, role: 'coordinator' }, clinicId: A, reason: expect.stringContaining('Coordinator thinks it is fine') });
    expect(refused.detail).toMatchObject({ hardStop: 'suicidal-ideation-with-intent', byRole: 'coordinator', accepted: false });
    expect((await call('GET', `/api/courses/${courseId}`, { token: staff.coordinator.token })).body.status).toBe('ineligible');
    expect((await audit(`courseId=${courseId}&action=hard-stop.overridden`)).entries).toEqual([]);
    // Temporal's search attributes (not encrypted, visible to anyone with Temporal access) say the course
    // has ended, not that the client was screened ineligible.
    const { workflow_id } = await stack.db.selectFrom('courses').select('workflow_id').where('id', '=', courseId).executeTakeFirstOrThrow();
    const raw = await eventually(async () => {
      const d = await stack.temporal.workflow.getHandle(workflow_id).describe();
      return d.raw.pendingWorkflowTask || d.typedSearchAttributes.get(KapStatus) !== 'ended' ? undefined : d.raw.workflowExecutionInfo?.searchAttributes?.indexedFields ?? {};
    });
    for (const p of Object.values(raw)) expect(Buffer.from(p.data ?? new Uint8Array()).toString()).not.toMatch(/ineligible|suicid/);
  });

  test("a prescriber's override is recorded with the prescriber's own id and reason, on the timeline and in GET /api/audit", async () => {
    const { clientId, courseId } = await enrolledCourse(A, staff.coordinator.token);
    const r = await call('POST', `/api/courses/${courseId}/screening`, {
      token: staff.prescriber.token,
      body: { reviewItems, hardStops: { ...NO_HARD_STOPS, 'uncontrolled-glaucoma': true }, overrides: [{ hardStop: 'uncontrolled-glaucoma', reason: GLAUCOMA_REASON }] },
    });
    expect(r.status).toBe(200);
    expect(r.body.outcome).toBe('eligible');
    expect(r.body.reasons).toContainEqual(expect.objectContaining({ code: 'hard-stop-overridden:uncontrolled-glaucoma', message: expect.stringContaining(`overridden by prescriber ${staff.prescriber.id}`) }));
    const entry = await eventually(async () => (await audit(`clientId=${clientId}&action=hard-stop.overridden`)).entries[0]);
    expect(entry).toMatchObject({ actor: { type: 'staff', id: staff.prescriber.id, name: staff.prescriber.name, role: 'prescriber' }, clinicId: A, clientId, courseId, reason: GLAUCOMA_REASON });
    expect(entry.detail.by).toMatchObject({ role: 'prescriber', label: staff.prescriber.name });
    const event = await stack.db.selectFrom('course_events').selectAll().where('course_id', '=', courseId).where('type', '=', 'hard-stop.overridden').executeTakeFirstOrThrow();
    expect(event).toMatchObject({ actor_type: 'staff', actor_id: staff.prescriber.id });
    // The screening itself is in the audit log too, by the same prescriber.
    expect((await audit(`courseId=${courseId}&action=screening.recorded`)).entries).toEqual([expect.objectContaining({ actor: expect.objectContaining({ id: staff.prescriber.id }) })]);
    // Filter by actor: only the prescriber's entries.
    const mine = await audit(`actor=${staff.prescriber.id}`);
    expect(mine.entries.length).toBeGreaterThanOrEqual(2);
    expect(mine.entries.every((e) => e.actor.id === staff.prescriber.id)).toBe(true);
  });

  test('a token without a staff member is recorded as that token (id, label, role), never as system', async () => {
    const { clientId, courseId } = await enrolledCourse(A, bare.coordinator.token);
    const enroll = await audit(`courseId=${courseId}&action=course.enroll`);
    expect(enroll.entries).toEqual([expect.objectContaining({ actor: { type: 'token', id: bare.coordinator.id, name: bare.coordinator.label, role: 'coordinator' } })]);
    const paused = await call('POST', `/api/courses/${courseId}/pause`, { token: bare.coordinator.token, body: { reason: `Client travelling ${U}` } });
    expect(paused.status).toBe(200);
    const entry = await eventually(async () => (await audit(`courseId=${courseId}&action=course.paused`)).entries[0]);
    expect(entry).toMatchObject({ actor: { type: 'token', id: bare.coordinator.id, name: bare.coordinator.label, role: 'coordinator' }, clientId, reason: `Client travelling ${U}` });
    expect(entry.detail.by).toMatchObject({ role: 'coordinator', tokenId: bare.coordinator.id, label: bare.coordinator.label });
    const events = await stack.db.selectFrom('course_events').select(['type', 'actor_type', 'actor_id']).where('course_id', '=', courseId).where('type', '=', 'course.paused').execute();
    expect(events).toEqual([{ type: 'course.paused', actor_type: 'token', actor_id: bare.coordinator.id }]);
    const timeline = await call('GET', `/api/clients/${clientId}/timeline`, { token: bare.coordinator.token });
    expect(timeline.body.entries.find((e: { type: string }) => e.type === 'course.paused').actor).toBe(`token:${bare.coordinator.id}`);
    // 'system' is the engine alone: nothing this token did is recorded as system.
    expect(await stack.db.selectFrom('audit_log').select('action').where('course_id', '=', courseId).where('actor_type', '=', 'system').where('action', 'in', ['course.paused', 'course.enroll']).execute()).toEqual([]);
    // Sending an assessment (the send-assessment action) is the token too.
    expect((await call('POST', `/api/courses/${courseId}/resume`, { token: bare.coordinator.token, body: {} })).status).toBe(200);
    expect((await call('POST', `/api/courses/${courseId}/send-assessment`, { token: bare.coordinator.token, body: { instruments: ['phq9'] } })).status).toBe(200);
    const triggered = await eventually(async () => (await audit(`courseId=${courseId}&action=assessment.triggered`)).entries[0]);
    expect(triggered.actor).toMatchObject({ type: 'token', id: bare.coordinator.id });
  });
});

describe('an override of a hard stop is a clinical judgement by a person', () => {
  const INTENT = { reviewItems, hardStops: { ...NO_HARD_STOPS, 'suicidal-ideation-with-intent': true } };
  const openItems = async (courseId: string) => ((await call('GET', `/api/safety?clinicId=${A}`, { token: staff.prescriber.token })).body.items as Array<Record<string, any>>).filter((i) => i.courseId === courseId && i.type === 'safety-hold');

  test("a prescriber token with no staff member (labelled with a real prescriber's name) may not override: refused, recorded as refused, the course stays ineligible", async () => {
    const named = await createApiToken(stack.db, { role: 'prescriber', clinicId: A, label: staff.prescriber.name });
    const { courseId } = await enrolledCourse(A, staff.coordinator.token);
    const r = await call('POST', `/api/courses/${courseId}/screening`, { token: named.token, body: { ...INTENT, overrides: [{ hardStop: 'suicidal-ideation-with-intent', reason: 'Seen; passive thoughts only' }] } });
    expect(r.status).toBe(200);
    expect(r.body.outcome).toBe('ineligible');
    expect(r.body.reasons).toContainEqual(expect.objectContaining({ code: 'override-rejected', message: expect.stringMatching(/clinical judgement by a person; this API token belongs to no staff member/) }));
    expect(r.body.reasons).toContainEqual(expect.objectContaining({ code: 'hard-stop:suicidal-ideation-with-intent', blocking: true }));
    expect((await call('GET', `/api/courses/${courseId}`, { token: staff.coordinator.token })).body.status).toBe('ineligible');
    const refused = await eventually(async () => (await audit(`courseId=${courseId}&action=hard-stop.override-refused`)).entries[0]);
    expect(refused.actor).toMatchObject({ type: 'token', id: named.info.id, role: 'prescriber' });
    expect(refused.detail).toMatchObject({ hardStop: 'suicidal-ideation-with-intent', accepted: false });
    expect((await audit(`courseId=${courseId}&action=hard-stop.overridden`)).entries).toEqual([]);
    // The suicide-risk signal still opens its item, whoever recorded it.
    expect(await eventually(async () => (await openItems(courseId)).length === 1 || undefined)).toBe(true);
  });

  test("a prescriber's staff-bound token overrides the intent hard stop; the course goes on and the suicide-risk item stays open until a clinician's review", async () => {
    const { courseId } = await enrolledCourse(A, staff.coordinator.token);
    const r = await call('POST', `/api/courses/${courseId}/screening`, { token: staff.prescriber.token, body: { ...INTENT, overrides: [{ hardStop: 'suicidal-ideation-with-intent', reason: `Reassessed ${U}: passive thoughts, safety plan agreed` }] } });
    expect(r.status).toBe(200);
    expect(r.body.outcome).toBe('eligible');
    expect(r.body.reasons).toContainEqual(expect.objectContaining({ code: 'hard-stop-overridden:suicidal-ideation-with-intent', message: expect.stringContaining(`overridden by prescriber ${staff.prescriber.id}`) }));
    expect((await call('GET', `/api/courses/${courseId}`, { token: staff.coordinator.token })).body.status).toBe('active');
    const items = await eventually(async () => {
      const xs = await openItems(courseId);
      return xs.length ? xs : undefined;
    });
    expect(items).toEqual([expect.objectContaining({ kind: 'screening-risk', level: 'high', suicideRisk: true, courseEnded: false, closesWhen: 'a clinician reviews it', reason: expect.stringContaining('Screening: active suicidal ideation with intent') })]);
  });

  test('the screening intent hard stop opens a high suicide-risk item and a safety alert; a prescriber reviews it on the ended course and it closes', async () => {
    const { courseId } = await enrolledCourse(A, staff.coordinator.token);
    const r = await call('POST', `/api/courses/${courseId}/screening`, { token: staff.coordinator.token, body: INTENT });
    expect(r.status).toBe(200);
    expect(r.body.outcome).toBe('ineligible');
    const items = await eventually(async () => {
      const xs = await openItems(courseId);
      return xs.length ? xs : undefined;
    });
    expect(items).toEqual([expect.objectContaining({ kind: 'screening-risk', level: 'high', suicideRisk: true, courseEnded: true, reason: 'Screening: active suicidal ideation with intent (the course is ineligible)' })]);
    const alerts = await eventually(async () => {
      const rows = await stack.db.selectFrom('email_outbox').select(['recipient_ref']).where('course_id', '=', courseId).where('template', '=', 'safety-alert').execute();
      return rows.some((x) => x.recipient_ref === 'prescriber') ? rows : undefined;
    }, 30_000, 200);
    expect(alerts.map((x) => x.recipient_ref)).toContain('prescriber');
    expect((await call('GET', `/api/courses/${courseId}`, { token: staff.coordinator.token })).body.status).toBe('ineligible');
    // A bare prescriber token may not record the review (a clinical judgement by a person): 403, the item stays open.
    const byToken = await call('POST', `/api/courses/${courseId}/safety-review`, { token: bare.prescriber, body: { outcome: 'release', riskLevel: 'moderate' } });
    expect(byToken.status).toBe(403);
    expect(byToken.text).toMatch(/clinical judgement by a person: this API token belongs to no staff member/);
    expect(await openItems(courseId)).toHaveLength(1);
    const review = await call('POST', `/api/courses/${courseId}/safety-review`, { token: staff.prescriber.token, body: { outcome: 'release', riskLevel: 'high', notes: `Called the client ${U}; crisis team engaged` } });
    expect(review.status).toBe(200);
    expect(await openItems(courseId)).toEqual([]);
    const row = await stack.db.selectFrom('safety_events').selectAll().where('course_id', '=', courseId).executeTakeFirstOrThrow();
    expect(row.resolved_at).not.toBeNull();
    expect(row.detail).toMatchObject({ resolution: 'clinician review: release', reviewedBy: staff.prescriber.id });
  });
});

test("a clinician's safety review is in the audit log with the reviewer and a summary of the notes", async () => {
  const { courseId } = await enrolledCourse(A, staff.coordinator.token);
  const ae = await call('POST', `/api/courses/${courseId}/adverse-event`, { token: staff.prescriber.token, body: { category: 'psychiatric', severity: 'severe', serious: true } });
  expect(ae.body.outcome).toBe('serious-escalated');
  const notes = `Seen in clinic ${U}; risk reassessed; plan agreed with the client.  ${'More detail. '.repeat(30)}`;
  const review = await call('POST', `/api/courses/${courseId}/safety-review`, { token: staff.prescriber.token, body: { outcome: 'keep-hold', riskLevel: 'moderate', notes } });
  expect(review.status).toBe(200);
  const entry = await eventually(async () => (await audit(`courseId=${courseId}&action=safety-review.keep-hold`)).entries[0]);
  expect(entry.actor).toMatchObject({ type: 'staff', id: staff.prescriber.id, role: 'prescriber' });
  expect(entry.reason).toMatch(new RegExp(`^Seen in clinic ${U}; risk reassessed; plan agreed with the client\\. More detail\\.`));
  expect(entry.reason!.length).toBeLessThanOrEqual(200);
  expect(entry.reason!.endsWith('…')).toBe(true);
});

describe('reads of a client record are audited with the principal', () => {
  test('API reads by a bare token and a personal token, dashboard reads by a session', async () => {
    const { clientId, courseId } = await enrolledCourse(A, staff.coordinator.token);
    const reads: Array<[string, string]> = [
      [`/api/clients/${clientId}`, 'api client'],
      [`/api/clients/${clientId}/timeline`, 'api timeline'],
      [`/api/clients/${clientId}/scores`, 'api scores'],
      [`/api/courses/${courseId}`, 'api course'],
      [`/api/courses/${courseId}/assessments`, 'api assessments'],
      [`/api/clients/${clientId}/fhir`, 'fhir-export-client'],
      [`/api/courses/${courseId}/fhir`, 'fhir-export-course'],
      [`/api/courses/${courseId}/rems`, 'api rems forms'],
    ];
    for (const [u] of reads) expect([u, (await call('GET', u, { token: bare.prescriber })).status]).toEqual([u, 200]);
    const byToken = await audit(`clientId=${clientId}&action=client.read`);
    const prescriberToken = await stack.db.selectFrom('api_tokens').select('id').where('label', '=', 'prescriber system').executeTakeFirstOrThrow();
    const tokenReads = byToken.entries.filter((e) => e.actor.type === 'token');
    expect(tokenReads.map((e) => e.detail.what).sort()).toEqual(reads.map(([, what]) => what).sort());
    expect(tokenReads.every((e) => e.actor.id === prescriberToken.id && e.actor.role === 'prescriber' && e.clinicId === A)).toBe(true);

    expect((await call('GET', `/api/clients/${clientId}`, { token: staff.prescriber.token })).status).toBe(200);
    const personal = (await audit(`clientId=${clientId}&action=client.read&actor=${staff.prescriber.id}`)).entries;
    expect(personal).toEqual([expect.objectContaining({ actor: expect.objectContaining({ type: 'staff', id: staff.prescriber.id }), detail: expect.objectContaining({ what: 'api client', by: expect.objectContaining({ via: 'token' }) }) })]);

    const before = (await audit(`clientId=${clientId}&actor=${staff.coordinator.id}&action=client.read`)).entries.length;
    const res = await page(`/clients/${clientId}`, staff.coordinator.session);
    expect(res.statusCode).toBe(200);
    const after = (await audit(`clientId=${clientId}&actor=${staff.coordinator.id}&action=client.read`)).entries;
    expect(after.length).toBe(before + 1);
    expect(after[0]).toMatchObject({ actor: { type: 'staff', id: staff.coordinator.id, role: 'coordinator' }, detail: { what: 'dashboard client page', by: { via: 'session' } } });
    // A refused read (another clinic's admin) writes nothing about the client.
    expect((await call('GET', `/api/clients/${clientId}`, { token: bare.adminB })).status).toBeGreaterThanOrEqual(403);
    expect((await audit(`clientId=${clientId}&action=client.read`)).entries.length).toBe(byToken.entries.length + 2);
  });
});

describe('the audit log for admins', () => {
  test('scope: a one-clinic admin sees only its clinic; others get 403; bad filters are 400 naming the field', async () => {
    // Something in clinic B, read by B's admin.
    const c = await call('POST', '/api/clients', { token: bare.adminB, body: { clinicId: B, givenName: 'Bea', familyName: 'Bee', email: `bea-${U}@example.org` } });
    expect(c.status).toBe(201);
    expect((await call('GET', `/api/clients/${c.body.id}`, { token: bare.adminB })).status).toBe(200);
    const forB = await audit('limit=500', bare.adminB);
    expect(forB.entries.length).toBeGreaterThan(0);
    expect(forB.entries.every((e) => e.clinicId === B)).toBe(true);
    expect(forB.entries.map((e) => e.clientId)).toContain(c.body.id);
    expect((await call('GET', `/api/audit?clinicId=${A}`, { token: bare.adminB })).status).toBe(403);
    const all = await audit(`clinicId=${B}`);
    expect(all.entries.map((e) => e.id)).toEqual(forB.entries.map((e) => e.id));
    expect((await audit(`clinicId=${A}`)).entries.some((e) => e.clinicId === A)).toBe(true);

    for (const token of [staff.coordinator.token, staff.prescriber.token, bare.coordinator.token]) expect((await call('GET', '/api/audit', { token })).status).toBe(403);
    expect((await call('GET', '/api/audit')).status).toBe(401);

    const bad: Array<[string, string]> = [
      ['from=yesterday', 'from'],
      ['limit=0', 'limit'],
      ['action=DROP%20TABLE', 'action'],
      ['cursor=-4', 'cursor'],
      ['from=2026-11-30&to=2026-11-01', 'to'],
      ['colour=red', 'colour'],
    ];
    for (const [q, field] of bad) {
      const r = await call('GET', `/api/audit?${q}`, { token: bare.adminAll });
      expect([q, r.status, r.body.problems?.map((p: { field: string }) => p.field)]).toEqual([q, 400, [field]]);
    }
  });

  test('paging with cursor, time and action-prefix filters', async () => {
    const first = await audit(`clinicId=${A}&limit=2`);
    expect(first.entries).toHaveLength(2);
    expect(first.nextCursor).toBe(first.entries[1]!.id);
    const second = await audit(`clinicId=${A}&limit=2&cursor=${first.nextCursor}`);
    expect(second.entries[0]!.id).toBeLessThan(first.entries[1]!.id);
    const reads = await audit(`clinicId=${A}&action=client.*&limit=500`);
    expect(reads.entries.length).toBeGreaterThan(0);
    expect(reads.entries.every((e) => e.action.startsWith('client.'))).toBe(true);
    const today = new Date().toISOString().slice(0, 10);
    expect((await audit(`clinicId=${A}&to=2000-01-01`)).entries).toEqual([]);
    expect((await audit(`clinicId=${A}&from=${today}&limit=5`)).entries.length).toBeGreaterThan(0);
    expect((await audit(`clinicId=${A}&from=2100-01-01T00:00:00Z`)).entries).toEqual([]);
  });

  test('the dashboard page: admins only, the same filters, the reason shown; a bad filter is a 400 naming it', async () => {
    const res = await page(`/audit?action=hard-stop.overridden&clinicId=${A}`, staff.admin.session);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toContain('hard-stop.overridden');
    expect(res.body).toContain(GLAUCOMA_REASON);
    expect(res.body).toContain(staff.prescriber.name);
    expect(res.body).toContain('href="/audit"');
    expect(res.body).not.toMatch(/<td>client\.read/);
    expect(res.body).toMatch(/<td>hard-stop\.overridden/);
    const paged = await page(`/audit?clinicId=${A}&limit=1`, staff.admin.session);
    const older = /href="\/audit\?([^"]*cursor=\d+[^"]*)"/.exec(paged.body);
    expect(older).not.toBeNull();
    const next = await page(`/audit?${older![1]!.replace(/&#38;|&amp;/g, '&')}`, staff.admin.session);
    expect(next.statusCode).toBe(200);
    expect(next.body.match(/<tr><td><time/g)).toHaveLength(1);
    expect(next.body).not.toBe(paged.body);
    const bad = await page('/audit?limit=9999', staff.admin.session);
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toMatch(/limit/);
    const coord = await page('/audit', staff.coordinator.session);
    expect(coord.statusCode).toBe(403);
    expect((await page('/clients', staff.coordinator.session)).body).not.toContain('href="/audit"');
  });

  test('kap audit prints who, what, where and why; --json; a bad filter exits non-zero naming the field', async () => {
    const run = async (args: string[]) => {
      try {
        const r = await exec(KAP, args, { env: { ...process.env, KAP_URL: url, KAP_TOKEN: bare.adminAll }, timeout: 60_000 });
        return { code: 0, out: r.stdout, err: r.stderr };
      } catch (e) {
        const err = e as { code: number; stdout: string; stderr: string };
        return { code: err.code, out: err.stdout, err: err.stderr };
      }
    };
    const human = await run(['audit', '--clinic', A, '--action', 'hard-stop.overridden']);
    expect(human.code).toBe(0);
    expect(human.out).toContain('hard-stop.overridden');
    expect(human.out).toContain(`${staff.prescriber.name} (prescriber) [staff ${staff.prescriber.id}]`);
    expect(human.out).toContain(`reason: ${GLAUCOMA_REASON}`);
    const json = await run(['audit', '--actor', bare.coordinator.id, '--json']);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.out);
    expect(parsed.entries.length).toBeGreaterThan(0);
    expect(parsed.entries.every((e: { actor: { type: string; id: string } }) => e.actor.type === 'token' && e.actor.id === bare.coordinator.id)).toBe(true);
    const bad = await run(['audit', '--limit', '0']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/limit/);
  }, 120_000);
});

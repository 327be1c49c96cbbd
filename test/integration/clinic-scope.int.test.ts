// Clinic scope that cannot be widened (issue #15, item 2), with two clinics and every role: a record
// outside the caller's clinics is "not found" without naming its clinic; a clinic named outside scope is
// 403 whether or not it exists; a one-clinic admin creates only one-clinic tokens and staff, no clinics,
// and lists and revokes only its clinic's tokens; the dashboard's outbox, staff page, client pages,
// action forms and print forms apply the same scope as the JSON API.
import { createTokenAs } from '../../src/auth/accounts';
import type { Principal } from '../../src/auth/roles';
import { startTestStack, type TestStack } from '../harness/stack';
import { client, uid } from './api-helpers';
import { createStaffMember, loggedInBrowser, ROLES, seedTwoClinics, type TwoClinics } from './scope-helpers';

let stack: TestStack;
let call: ReturnType<typeof client>;
let s: TwoClinics;
const clientIn: Record<'a' | 'b', { id: string; name: string }> = {} as never;
let courseB: string;
const mail: Record<'a' | 'b', { sinkId: number; subject: string; link: string }> = {} as never;

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  s = await seedTwoClinics(stack.app, stack.db);
  for (const k of ['a', 'b'] as const) {
    const family = `Scope${k.toUpperCase()}${uid()}`;
    const res = await call('POST', '/api/clients', { token: s.root, body: { clinicId: s[k], givenName: 'Robin', familyName: family, email: `robin-${k}-${uid()}@example.org` } });
    expect(res.status).toBe(201);
    clientIn[k] = { id: res.body.id, name: family };
    // An email of this clinic, as the outbox and the embedded sink hold it (with a live link).
    const messageId = `<${uid()}-${k}@kap.local>`;
    const subject = `Your check-in ${k.toUpperCase()} ${uid()}`;
    const link = `http://127.0.0.1:3000/a/secret-${k}-${uid()}`;
    await stack.db.insertInto('email_outbox').values({ key: `scope-test/${uid()}`, template: 'assessment-invite', clinic_id: s[k], recipient_kind: 'client', audience: 'client', message_id: messageId, status: 'sent', subject }).execute();
    const row = await stack.db
      .insertInto('smtp_sink_messages')
      .values({ message_id: messageId, envelope_from: 'no-reply@kap.local', envelope_to: JSON.stringify([`robin-${k}@example.org`]), subject, text_body: `Answer here: ${link}`, html_body: null, attachments: JSON.stringify([]), raw: 'x' })
      .returning('id')
      .executeTakeFirstOrThrow();
    mail[k] = { sinkId: Number(row.id), subject, link };
  }
  const enrolled = await call('POST', `/api/clients/${clientIn.b.id}/courses`, { token: s.root, body: { protocolId: 'kap-office' } });
  expect(enrolled.status).toBe(201);
  courseB = enrolled.body.id;
});
afterAll(async () => {
  await stack?.stop();
});

describe('a record outside the caller\'s clinics is "not found", for every role, without naming its clinic', () => {
  test('JSON API: clients, courses, clinics, exports, REMS forms, webhooks, staff', async () => {
    const hook = await call('POST', '/api/webhooks', { token: s.root, body: { clinicId: s.b, url: 'http://127.0.0.1:9/hook', eventTypes: ['step.entered'] } });
    expect(hook.status).toBe(201);
    const urls = [
      `/api/clients/${clientIn.b.id}`,
      `/api/clients/${clientIn.b.id}/fhir`,
      `/api/courses/${courseB}`,
      `/api/courses/${courseB}/fhir`,
      `/api/courses/${courseB}/rems`,
      `/api/clinics/${s.b}`,
    ];
    for (const role of ROLES) {
      for (const url of urls) {
        const res = await call('GET', url, { token: s.tokA[role] });
        expect({ role, url, status: res.status }).toEqual({ role, url, status: 404 });
        // (GET /api/clinics/<b> repeats the id it was asked for, as for any clinic that does not exist.)
        if (!url.includes(s.b)) expect(res.text).not.toContain(s.b);
      }
      const clinic = await call('GET', `/api/clinics/${s.b}`, { token: s.tokA[role] });
      expect(clinic.body).toEqual((await call('GET', `/api/clinics/no-such-clinic`, { token: s.tokA[role] })).body && { error: 'not_found', message: `clinic ${s.b} not found` });
      // The same answer as for a record that does not exist.
      const missing = await call('GET', `/api/clients/no-such-client`, { token: s.tokA[role] });
      const hidden = await call('GET', `/api/clients/${clientIn.b.id}`, { token: s.tokA[role] });
      expect(hidden.body.message).toBe(missing.body.message.replace('no-such-client', clientIn.b.id));
      // And the clinic's own staff see it.
      expect((await call('GET', `/api/clients/${clientIn.b.id}`, { token: s.tokB[role] })).status).toBe(200);
    }
    for (const role of ['admin', 'coordinator'] as const) {
      const res = await call('GET', `/api/webhooks/${hook.body.id}`, { token: s.tokA[role] });
      expect(res.status).toBe(404);
      expect(res.text).not.toContain(s.b);
      const staff = await call('GET', `/api/staff/${s.staffB.coordinator.id}`, { token: s.tokA[role] });
      expect(staff.status).toBe(404);
      expect(staff.text).not.toContain(s.b);
    }
    // Acting on the record: 404 too (a valid body, so only the scope can refuse it).
    const pause = await call('POST', `/api/courses/${courseB}/pause`, { token: s.tokA.coordinator, body: { reason: 'scope test' } });
    expect(pause.status).toBe(404);
    expect(pause.text).not.toContain(s.b);
  });

  test('a clinic named outside scope is 403 whether or not it exists, and the answer does not repeat it', async () => {
    for (const url of [`/api/clients?clinicId=${s.b}`, `/api/courses?clinicId=${s.b}`, `/api/stuck?clinicId=${s.b}`, `/api/outbox?clinicId=${s.b}`]) {
      const real = await call('GET', url, { token: s.tokA.coordinator });
      const unknown = await call('GET', url.replace(s.b, `no-such-${uid()}`), { token: s.tokA.coordinator });
      expect(real.status).toBe(403);
      expect(unknown.status).toBe(403);
      expect(real.body.message).toBe(unknown.body.message);
      expect(real.text).not.toContain(s.b);
    }
    const body = (clinicId: string) => ({ clinicId, givenName: 'X', familyName: 'Y', email: 'x@example.org' });
    const real = await call('POST', '/api/clients', { token: s.tokA.coordinator, body: body(s.b) });
    const unknown = await call('POST', '/api/clients', { token: s.tokA.coordinator, body: body('no-such-clinic') });
    expect([real.status, unknown.status]).toEqual([403, 403]);
    expect(real.body.message).toBe(unknown.body.message);
    const hook = await call('POST', '/api/webhooks', { token: s.tokA.admin, body: { clinicId: s.b, url: 'http://127.0.0.1:9/x', eventTypes: ['step.entered'] } });
    expect(hook.status).toBe(403);
    expect(hook.text).not.toContain(s.b);
  });
});

describe('a one-clinic admin cannot widen its scope', () => {
  test('tokens: only for its clinic (by default its own), only for its staff with their role; never every clinic', async () => {
    const own = await call('POST', '/api/tokens', { token: s.tokA.admin, body: { role: 'admin', label: 'mine' } });
    expect(own.status).toBe(201);
    expect(own.body.info.clinicId).toBe(s.a);
    const me = await call('GET', '/api/me', { token: own.body.token });
    expect(me.body.clinics).toEqual([s.a]);

    const other = await call('POST', '/api/tokens', { token: s.tokA.admin, body: { role: 'admin', clinicId: s.b } });
    const unknown = await call('POST', '/api/tokens', { token: s.tokA.admin, body: { role: 'admin', clinicId: 'no-such-clinic' } });
    expect([other.status, unknown.status]).toEqual([403, 403]);
    expect(other.body.message).toBe(unknown.body.message);
    expect(other.text).not.toContain(s.b);

    // A staff member of another clinic, or an every-clinic admin, is answered as unknown.
    const rootStaff = await createStaffMember(stack.app, s.root, 'admin', []);
    for (const staffId of [s.staffB.coordinator.id, rootStaff.id, 'staff-nobody']) {
      const res = await call('POST', '/api/tokens', { token: s.tokA.admin, body: { role: 'coordinator', staffId } });
      expect(res.status).toBe(400);
      expect(res.body.problems).toEqual([{ field: 'staffId', message: `no staff member ${staffId}` }]);
    }
    // A personal token carries its staff member's role and clinic.
    const wrongRole = await call('POST', '/api/tokens', { token: s.tokA.admin, body: { role: 'admin', staffId: s.staffA.coordinator.id } });
    expect(wrongRole.status).toBe(400);
    expect(wrongRole.body.problems[0].field).toBe('role');
    const personal = await call('POST', '/api/tokens', { token: s.tokA.admin, body: { role: 'coordinator', staffId: s.staffA.coordinator.id } });
    expect(personal.status).toBe(201);
    expect(personal.body.info).toMatchObject({ clinicId: s.a, staffId: s.staffA.coordinator.id, role: 'coordinator' });

    // Even the every-clinic admin cannot give a one-clinic staff member an every-clinic token.
    const wide = await call('POST', '/api/tokens', { token: s.root, body: { role: 'coordinator', staffId: s.staffA.coordinator.id } });
    expect(wide.status).toBe(400);
    expect(wide.body.problems[0].field).toBe('clinicId');
    // Only an every-clinic admin creates every-clinic tokens.
    const all = await call('POST', '/api/tokens', { token: s.root, body: { role: 'admin' } });
    expect(all.status).toBe(201);
    expect(all.body.info.clinicId).toBeNull();
    expect((await call('GET', '/api/me', { token: all.body.token })).body.clinics).toBe('all');

    // An admin of several clinics must say which one.
    const twoClinicAdmin: Principal = { role: 'admin', clinics: [s.a, s.b], staffId: null, via: 'session', displayName: 'two' };
    await expect(createTokenAs(stack.db, twoClinicAdmin, { role: 'coordinator' })).rejects.toMatchObject({ code: 'invalid_input', problems: [expect.objectContaining({ field: 'clinicId' })] });
    await expect(createTokenAs(stack.db, twoClinicAdmin, { role: 'coordinator', clinicId: s.b })).resolves.toMatchObject({ info: { clinicId: s.b } });
  });

  test('listing and revoking tokens: only its clinic\'s', async () => {
    const bToken = await call('POST', '/api/tokens', { token: s.tokB.admin, body: { role: 'therapist', label: `b-${uid()}` } });
    const aToken = await call('POST', '/api/tokens', { token: s.tokA.admin, body: { role: 'therapist', label: `a-${uid()}` } });
    const list = await call('GET', '/api/tokens', { token: s.tokA.admin });
    expect(list.status).toBe(200);
    expect(list.body.tokens.length).toBeGreaterThan(0);
    expect(list.body.tokens.every((t: { clinicId: string | null }) => t.clinicId === s.a)).toBe(true);
    expect(list.body.tokens.map((t: { id: string }) => t.id)).toContain(aToken.body.info.id);
    expect(list.text).not.toContain(bToken.body.info.id);
    // The every-clinic admin sees both clinics' tokens and every-clinic ones.
    const rootList = await call('GET', '/api/tokens', { token: s.root });
    const clinicsSeen = new Set(rootList.body.tokens.map((t: { clinicId: string | null }) => t.clinicId));
    expect(clinicsSeen.has(s.a) && clinicsSeen.has(s.b) && clinicsSeen.has(null)).toBe(true);

    const revokeB = await call('DELETE', `/api/tokens/${bToken.body.info.id}`, { token: s.tokA.admin });
    expect(revokeB.status).toBe(404);
    expect((await call('GET', '/api/me', { token: bToken.body.token })).status).toBe(200); // still works
    const revokeA = await call('DELETE', `/api/tokens/${aToken.body.info.id}`, { token: s.tokA.admin });
    expect(revokeA.status).toBe(200);
    expect((await call('GET', '/api/me', { token: aToken.body.token })).status).toBe(401);
    const audit = await stack.db.selectFrom('audit_log').selectAll().where('action', '=', 'token.revoke').execute();
    expect(audit.some((e) => e.detail.tokenId === aToken.body.info.id)).toBe(true);
  });

  test('staff: only in its clinics (at least one), never an every-clinic admin; clinics: never', async () => {
    const body = (clinicIds: string[], role = 'coordinator') => ({ email: `new-${uid()}@example.org`, displayName: 'New Person', role, clinicIds });
    const none = await call('POST', '/api/staff', { token: s.tokA.admin, body: body([], 'admin') });
    expect(none.status).toBe(400);
    expect(none.body.problems[0].field).toBe('clinicIds');
    const noneCoord = await call('POST', '/api/staff', { token: s.tokA.admin, body: body([]) });
    expect(noneCoord.status).toBe(400);
    const other = await call('POST', '/api/staff', { token: s.tokA.admin, body: body([s.b]) });
    const unknown = await call('POST', '/api/staff', { token: s.tokA.admin, body: body(['no-such-clinic']) });
    expect([other.status, unknown.status]).toEqual([403, 403]);
    expect(other.body.message).toBe(unknown.body.message);
    expect(other.text).not.toContain(s.b);
    const ok = await call('POST', '/api/staff', { token: s.tokA.admin, body: body([s.a], 'admin') });
    expect(ok.status).toBe(201);
    expect(ok.body.staff.clinicIds).toEqual([s.a]);
    const created = await stack.db.selectFrom('audit_log').selectAll().where('action', '=', 'staff.create').execute();
    expect(created.some((e) => e.detail.staffId === ok.body.staff.id && e.clinic_id === s.a)).toBe(true);
    // The every-clinic admin may create an every-clinic admin.
    const rootAdmin = await call('POST', '/api/staff', { token: s.root, body: body([], 'admin') });
    expect(rootAdmin.status).toBe(201);

    const clinic = await call('POST', '/api/clinics', { token: s.tokA.admin, body: { id: `widen-${uid()}`, name: 'Mine now' } });
    expect(clinic.status).toBe(403);
    expect((await call('POST', '/api/clinics', { token: s.root, body: { id: `fine-${uid()}`, name: 'Fine' } })).status).toBe(201);
  });

  test('GET /api/staff lists only staff of its clinics, naming only its clinics', async () => {
    const both = await createStaffMember(stack.app, s.root, 'therapist', [s.a, s.b]);
    const list = await call('GET', '/api/staff', { token: s.tokA.admin });
    const ids = list.body.staff.map((x: { id: string }) => x.id);
    expect(ids).toContain(s.staffA.coordinator.id);
    expect(ids).toContain(both.id);
    expect(ids).not.toContain(s.staffB.coordinator.id);
    expect(list.text).not.toContain(s.b);
    expect(list.body.staff.find((x: { id: string }) => x.id === both.id).clinicIds).toEqual([s.a]);
  });

  test('the codec needs every-clinic scope (the shared check)', async () => {
    const res = await stack.app.inject({ method: 'POST', url: '/codec/decode', headers: { authorization: `Bearer ${s.tokA.admin}`, 'content-type': 'application/json' }, payload: { payloads: [] } });
    expect(res.statusCode).toBe(403);
    expect(res.json().message).toMatch(/every clinic/);
    const ok = await stack.app.inject({ method: 'POST', url: '/codec/decode', headers: { authorization: `Bearer ${s.root}`, 'content-type': 'application/json' }, payload: { payloads: [] } });
    expect(ok.statusCode).toBe(200);
  });
});

describe('the dashboard applies the same scope', () => {
  test("a coordinator of clinic A sees none of clinic B's email, in the outbox pages or the JSON API", async () => {
    const coordA = await loggedInBrowser(stack.app, s.staffA.coordinator);
    const outbox = await coordA.get('/outbox');
    expect(outbox.statusCode).toBe(200);
    expect(outbox.body).toContain(mail.a.subject);
    expect(outbox.body).not.toContain(mail.b.subject);
    expect(outbox.body).not.toContain(`/outbox/${mail.b.sinkId}"`);
    const mine = await coordA.get(`/outbox/${mail.a.sinkId}`);
    expect(mine.statusCode).toBe(200);
    expect(mine.body).toContain(mail.a.link);
    const theirs = await coordA.get(`/outbox/${mail.b.sinkId}`);
    const missing = await coordA.get('/outbox/999999999');
    expect(theirs.statusCode).toBe(404);
    expect(missing.statusCode).toBe(404);
    expect(theirs.body).not.toContain(mail.b.link);
    expect(theirs.body).not.toContain(mail.b.subject);

    const api = await call('GET', '/api/outbox', { token: s.tokA.coordinator });
    expect(api.body.items.every((i: { clinicId: string }) => i.clinicId === s.a)).toBe(true);
    expect(api.text).not.toContain(mail.b.subject);
    expect((await call('GET', `/api/outbox/${mail.b.sinkId}`, { token: s.tokA.coordinator })).status).toBe(404);
    expect((await call('GET', `/api/outbox/${mail.a.sinkId}`, { token: s.tokA.coordinator })).status).toBe(200);

    // An every-clinic admin sees both.
    const root = await loggedInBrowser(stack.app, await createStaffMember(stack.app, s.root, 'admin', []));
    const all = await root.get('/outbox');
    expect(all.body).toContain(mail.a.subject);
    expect(all.body).toContain(mail.b.subject);
    expect((await root.get(`/outbox/${mail.b.sinkId}`)).statusCode).toBe(200);
  });

  test("an admin of clinic A sees only clinic A's staff on /staff", async () => {
    const adminA = await loggedInBrowser(stack.app, s.staffA.admin);
    const page = await adminA.get('/staff');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(s.staffA.coordinator.email);
    expect(page.body).not.toContain(s.staffB.coordinator.email);
    expect(page.body).not.toContain(s.staffB.admin.email);
    expect(page.body).not.toContain(s.b);
    // Coordinators do not get the staff page at all.
    expect((await (await loggedInBrowser(stack.app, s.staffA.coordinator)).get('/staff')).statusCode).toBe(403);
  });

  test('client pages, action forms and print forms of another clinic are "not found"', async () => {
    const prescriberA = await loggedInBrowser(stack.app, s.staffA.prescriber);
    const page = await prescriberA.get(`/clients/${clientIn.b.id}`);
    expect(page.statusCode).toBe(404);
    expect(page.body).not.toContain(clientIn.b.name);
    expect(page.body).not.toContain(s.b);
    expect((await prescriberA.get(`/clients/${clientIn.a.id}`)).statusCode).toBe(200);
    const print = await prescriberA.get(`/courses/${courseB}/rems/dose-1/print`);
    expect(print.statusCode).toBe(404);
    expect(print.body).not.toContain(clientIn.b.name);
    const action = await prescriberA.post(`/courses/${courseB}/actions/pause`, { reason: 'scope test' }, { csrfFrom: '/clients' });
    expect(action.statusCode).toBe(404);
    expect(action.body).not.toContain(s.b);
    const course = await stack.db.selectFrom('courses').select('status').where('id', '=', courseB).executeTakeFirstOrThrow();
    expect(course.status).not.toBe('paused');
    const coordA = await loggedInBrowser(stack.app, s.staffA.coordinator);
    const enroll = await coordA.post(`/clients/${clientIn.b.id}/enroll`, { protocolId: 'kap-office' }, { csrfFrom: '/clients' });
    expect(enroll.statusCode).toBe(404);
    expect(enroll.body).toContain(`client ${clientIn.b.id} not found`);
    expect(enroll.body).not.toContain(clientIn.b.name);
  });
});

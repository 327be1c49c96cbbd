// Accounts a clinic can run (issue #15, item 5): change one's own password (API and dashboard), an
// admin resets another's password (shown once), deactivates and reactivates staff and changes their
// role or clinics, within its clinics; deactivated staff's sessions and tokens stop working at once;
// every change is in the audit trail with the admin who made it.
import { startTestStack, type TestStack } from '../harness/stack';
import { client, uid } from './api-helpers';
import { Browser, createStaffMember, loggedInBrowser, seedTwoClinics, strongPassword, type TwoClinics } from './scope-helpers';

let stack: TestStack;
let call: ReturnType<typeof client>;
let s: TwoClinics;

beforeAll(async () => {
  stack = await startTestStack();
  call = client(stack.app);
  s = await seedTwoClinics(stack.app, stack.db);
});
afterAll(async () => {
  await stack?.stop();
});

const auditOf = (action: string, staffId: string) =>
  stack.db
    .selectFrom('audit_log')
    .selectAll()
    .where('action', '=', action)
    .execute()
    .then((rows) => rows.filter((r) => r.detail.staffId === staffId));

/** A personal token of a staff member (their role, their clinic), made by the every-clinic admin. */
async function personalToken(staff: { id: string; role: string }, clinicId: string): Promise<string> {
  const res = await call('POST', '/api/tokens', { token: s.root, body: { role: staff.role, staffId: staff.id, clinicId } });
  expect(res.status).toBe(201);
  return res.body.token;
}

describe('changing one\'s own password', () => {
  test('API: the current password, then the policy; old password and every session stop working', async () => {
    const me = await createStaffMember(stack.app, s.root, 'therapist', [s.a]);
    const token = await personalToken(me, s.a);
    const browser = await loggedInBrowser(stack.app, me);
    expect(await browser.loggedIn()).toBe(true);

    const wrong = await call('POST', '/api/me/password', { token, body: { currentPassword: 'not-my-password-at-all', newPassword: strongPassword() } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.problems).toEqual([{ field: 'currentPassword', message: 'is not your current password' }]);
    const common = await call('POST', '/api/me/password', { token, body: { currentPassword: me.password, newPassword: 'password1234' } });
    expect(common.status).toBe(400);
    expect(common.body.problems[0].field).toBe('newPassword');
    const missing = await call('POST', '/api/me/password', { token, body: { newPassword: strongPassword() } });
    expect(missing.status).toBe(400);
    expect(missing.body.problems[0].field).toBe('currentPassword');
    const extra = await call('POST', '/api/me/password', { token, body: { currentPassword: me.password, newPassword: strongPassword(), staffId: s.staffA.admin.id } });
    expect(extra.status).toBe(400);
    expect(extra.body.problems[0].field).toBe('staffId');
    // Nothing changed so far.
    expect(await browser.loggedIn()).toBe(true);

    const next = strongPassword();
    const ok = await call('POST', '/api/me/password', { token, body: { currentPassword: me.password, newPassword: next } });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ changed: true, sessionsEnded: 1 });
    expect(await browser.loggedIn()).toBe(false);
    expect((await new Browser(stack.app).login(me.email, me.password)).statusCode).toBe(401);
    expect((await new Browser(stack.app).login(me.email, next)).statusCode).toBe(303);
    expect(await auditOf('staff.password.change', me.id)).toHaveLength(1);
    // The token itself is another credential and keeps working.
    expect((await call('GET', '/api/me', { token })).status).toBe(200);
  });

  test('a token without a staff member has no password to change: 403', async () => {
    const res = await call('POST', '/api/me/password', { token: s.tokA.coordinator, body: { currentPassword: 'x', newPassword: strongPassword() } });
    expect(res.status).toBe(403);
  });

  test('dashboard: the account page changes the password, then asks to log in again', async () => {
    const me = await createStaffMember(stack.app, s.root, 'coordinator', [s.a]);
    const browser = await loggedInBrowser(stack.app, me);
    const page = await browser.get('/account');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Change your password');
    const next = strongPassword();
    const mismatch = await browser.post('/account/password', { currentPassword: me.password, newPassword: next, confirmPassword: `${next}x` });
    // Refused: the page again (400), the problem beside the confirmation field, no password sent back.
    expect(mismatch.statusCode).toBe(400);
    expect(mismatch.body).toMatch(/<input id="confirm" name="confirmPassword" type="password"[^>]*aria-invalid="true" aria-describedby="confirm-error">/);
    expect(mismatch.body).toContain('<p class="field-error" id="confirm-error">does not match the new password</p>');
    expect(mismatch.body).not.toContain(next);
    const noCsrf = await browser.post('/account/password', { currentPassword: me.password, newPassword: next, confirmPassword: next }, { csrf: null });
    expect(noCsrf.statusCode).toBe(403);
    expect(await browser.loggedIn()).toBe(true);
    const done = await browser.post('/account/password', { currentPassword: me.password, newPassword: next, confirmPassword: next });
    expect(done.statusCode).toBe(200);
    expect(done.body).toContain('Your password is changed');
    expect(await browser.loggedIn()).toBe(false);
    expect((await new Browser(stack.app).login(me.email, next)).statusCode).toBe(303);
  });
});

describe('an admin manages staff of its clinics', () => {
  test('reset: a generated password shown once; their sessions end; out of scope 404, partly out 403, self 400', async () => {
    const target = await createStaffMember(stack.app, s.root, 'prescriber', [s.a]);
    const browser = await loggedInBrowser(stack.app, target);
    const res = await call('POST', `/api/staff/${target.id}/reset-password`, { token: s.tokA.admin });
    expect(res.status).toBe(200);
    expect(res.body.password).toMatch(/^\S{12,}$/);
    expect(res.body.sessionsEnded).toBe(1);
    expect(await browser.loggedIn()).toBe(false);
    expect((await new Browser(stack.app).login(target.email, target.password)).statusCode).toBe(401);
    expect((await new Browser(stack.app).login(target.email, res.body.password)).statusCode).toBe(303);
    const [entry] = await auditOf('staff.password.reset', target.id);
    expect(entry).toBeDefined();
    expect(JSON.stringify(entry)).not.toContain(res.body.password);

    const other = await call('POST', `/api/staff/${s.staffB.coordinator.id}/reset-password`, { token: s.tokA.admin });
    expect(other.status).toBe(404);
    expect(other.text).not.toContain(s.b);
    const both = await createStaffMember(stack.app, s.root, 'therapist', [s.a, s.b]);
    expect((await call('POST', `/api/staff/${both.id}/reset-password`, { token: s.tokA.admin })).status).toBe(403);
    expect((await call('POST', `/api/staff/${both.id}/reset-password`, { token: s.root })).status).toBe(200);
    expect((await call('POST', `/api/staff/${target.id}/reset-password`, { token: s.tokA.coordinator })).status).toBe(403);
    const self = await call('POST', `/api/staff/${s.staffA.admin.id}/reset-password`, { token: await personalToken(s.staffA.admin, s.a) });
    expect(self.status).toBe(400);
    expect(self.body.problems[0].field).toBe('id');
  });

  test("deactivating stops the person's session and token at once; reactivating lets them log in again (old tokens stay revoked)", async () => {
    const target = await createStaffMember(stack.app, s.root, 'coordinator', [s.a]);
    const token = await personalToken(target, s.a);
    const browser = await loggedInBrowser(stack.app, target);
    expect(await browser.loggedIn()).toBe(true);
    expect((await call('GET', '/api/me', { token })).status).toBe(200);

    const off = await call('PATCH', `/api/staff/${target.id}`, { token: s.tokA.admin, body: { active: false } });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ staff: { id: target.id, active: false }, sessionsEnded: 1, tokensRevoked: 1 });
    expect(await browser.loggedIn()).toBe(false);
    expect((await call('GET', '/api/me', { token })).status).toBe(401);
    expect((await new Browser(stack.app).login(target.email, target.password)).statusCode).toBe(401);
    const [entry] = await auditOf('staff.deactivate', target.id);
    expect(entry).toMatchObject({ actor_type: 'token', clinic_id: s.a });

    const on = await call('PATCH', `/api/staff/${target.id}`, { token: s.tokA.admin, body: { active: true } });
    expect(on.status).toBe(200);
    expect(on.body.staff.active).toBe(true);
    expect((await new Browser(stack.app).login(target.email, target.password)).statusCode).toBe(303);
    expect((await call('GET', '/api/me', { token })).status).toBe(401);
    expect(await auditOf('staff.reactivate', target.id)).toHaveLength(1);
  });

  test('a role change applies to the session at once and revokes tokens of the old role', async () => {
    const target = await createStaffMember(stack.app, s.root, 'therapist', [s.a]);
    const token = await personalToken(target, s.a);
    const browser = await loggedInBrowser(stack.app, target);
    expect((await browser.get('/api/me')).json().role).toBe('therapist');
    const res = await call('PATCH', `/api/staff/${target.id}`, { token: s.tokA.admin, body: { role: 'prescriber', displayName: 'Dr Renamed' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ staff: { role: 'prescriber', displayName: 'Dr Renamed' }, tokensRevoked: 1, sessionsEnded: 0 });
    expect((await browser.get('/api/me')).json()).toMatchObject({ role: 'prescriber', displayName: 'Dr Renamed' });
    expect((await call('GET', '/api/me', { token })).status).toBe(401);
    const [entry] = await auditOf('staff.update', target.id);
    expect(entry!.detail).toMatchObject({ changed: ['role', 'displayName'], role: { from: 'therapist', to: 'prescriber' } });
  });

  test('a one-clinic admin cannot grant every-clinic access, move staff out of its clinics, reach other clinics, or deactivate itself', async () => {
    const target = await createStaffMember(stack.app, s.root, 'coordinator', [s.a]);
    const patch = (id: string, body: unknown, token = s.tokA.admin) => call('PATCH', `/api/staff/${id}`, { token, body });

    const allClinics = await patch(target.id, { role: 'admin', clinicIds: [] });
    expect(allClinics.status).toBe(400);
    expect(allClinics.body.problems[0].field).toBe('clinicIds');
    const noClinics = await patch(target.id, { clinicIds: [] });
    expect(noClinics.status).toBe(400);
    const moveOut = await patch(target.id, { clinicIds: [s.b] });
    const moveNowhere = await patch(target.id, { clinicIds: ['no-such-clinic'] });
    expect([moveOut.status, moveNowhere.status]).toEqual([403, 403]);
    expect(moveOut.body.message).toBe(moveNowhere.body.message);
    expect(moveOut.text).not.toContain(s.b);
    const other = await patch(s.staffB.coordinator.id, { active: false });
    expect(other.status).toBe(404);
    expect(other.text).not.toContain(s.b);
    expect((await stack.db.selectFrom('staff').select('active').where('id', '=', s.staffB.coordinator.id).executeTakeFirstOrThrow()).active).toBe(true);

    const adminToken = await personalToken(s.staffA.admin, s.a);
    const selfOff = await patch(s.staffA.admin.id, { active: false }, adminToken);
    expect(selfOff.status).toBe(400);
    expect(selfOff.body.problems).toEqual([{ field: 'active', message: expect.stringContaining('yourself') }]);
    const selfRole = await patch(s.staffA.admin.id, { role: 'coordinator' }, adminToken);
    expect(selfRole.status).toBe(400);
    expect(selfRole.body.problems[0].field).toBe('role');

    // Bad input names the field; nothing is half-applied.
    expect((await patch(target.id, {})).status).toBe(400);
    const badRole = await patch(target.id, { role: 'nurse', displayName: 'Changed' });
    expect(badRole.status).toBe(400);
    expect(badRole.body.problems[0].field).toBe('role');
    const badActive = await patch(target.id, { active: 'no' });
    expect(badActive.body.problems[0].field).toBe('active');
    const mixed = await patch(target.id, { displayName: 'Half Applied', clinicIds: [s.b] });
    expect(mixed.status).toBe(403);
    const row = await stack.db.selectFrom('staff').select(['display_name', 'role', 'active']).where('id', '=', target.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ display_name: expect.not.stringMatching(/Changed|Half Applied/), role: 'coordinator', active: true });
    // Roles other than admin may not manage staff at all.
    expect((await patch(target.id, { active: false }, s.tokA.coordinator)).status).toBe(403);

    // The every-clinic admin may grant every-clinic access and move staff between clinics.
    const moved = await patch(target.id, { clinicIds: [s.b] }, s.root);
    expect(moved.status).toBe(200);
    expect(moved.body.staff.clinicIds).toEqual([s.b]);
    expect((await call('GET', `/api/staff/${target.id}`, { token: s.tokA.admin })).status).toBe(404);
    const promoted = await patch(target.id, { role: 'admin', clinicIds: [] }, s.root);
    expect(promoted.status).toBe(200);
    expect(promoted.body.staff).toMatchObject({ role: 'admin', clinicIds: [] });
  });

  test('dashboard /staff: deactivate, reactivate, change role and reset password, with CSRF, within scope', async () => {
    const target = await createStaffMember(stack.app, s.root, 'therapist', [s.a], `Tess ${uid()}`);
    const targetSession = await loggedInBrowser(stack.app, target);
    const admin = await loggedInBrowser(stack.app, s.staffA.admin);
    const page = await admin.get('/staff');
    expect(page.body).toContain(`action="/staff/${target.id}"`);
    expect(page.body).toContain(`action="/staff/${target.id}/reset-password"`);

    const noCsrf = await admin.post(`/staff/${target.id}`, { active: 'false' }, { csrf: null });
    expect(noCsrf.statusCode).toBe(403);
    expect(await targetSession.loggedIn()).toBe(true);

    const off = await admin.post(`/staff/${target.id}`, { active: 'false' }, { csrfFrom: '/staff' });
    expect(off.statusCode).toBe(303);
    expect(decodeURIComponent(String(off.headers.location))).toContain('Deactivated');
    expect(await targetSession.loggedIn()).toBe(false);
    expect((await admin.get('/staff')).body).toMatch(/deactivated/);
    expect((await admin.post(`/staff/${target.id}`, { active: 'true' }, { csrfFrom: '/staff' })).statusCode).toBe(303);

    const role = await admin.post(`/staff/${target.id}`, { role: 'prescriber' }, { csrfFrom: '/staff' });
    expect(role.statusCode).toBe(303);
    expect((await stack.db.selectFrom('staff').select('role').where('id', '=', target.id).executeTakeFirstOrThrow()).role).toBe('prescriber');
    const badRole = await admin.post(`/staff/${target.id}`, { role: 'nurse' }, { csrfFrom: '/staff' });
    expect(badRole.statusCode).toBe(400);
    expect(badRole.body).toContain(`aria-describedby="role-${target.id}-error"`);
    expect(badRole.body).toMatch(new RegExp(`<p class="field-error" id="role-${target.id}-error">[^<]+</p>`));

    const reset = await admin.post(`/staff/${target.id}/reset-password`, {}, { csrfFrom: '/staff' });
    expect(reset.statusCode).toBe(200);
    const password = /<pre id="reset-password">([^<]+)<\/pre>/.exec(reset.body)![1]!;
    expect((await new Browser(stack.app).login(target.email, password)).statusCode).toBe(303);

    const outside = await admin.post(`/staff/${s.staffB.therapist.id}`, { active: 'false' }, { csrfFrom: '/staff' });
    expect(outside.statusCode).toBe(404);
    expect(outside.body).not.toContain(s.b);
    const outsideReset = await admin.post(`/staff/${s.staffB.therapist.id}/reset-password`, {}, { csrfFrom: '/staff' });
    expect(outsideReset.statusCode).toBe(404);

    // Every change names the admin who made it.
    const entries = await stack.db.selectFrom('audit_log').selectAll().where('action', 'like', 'staff.%').where('actor_id', '=', s.staffA.admin.id).execute();
    expect(new Set(entries.filter((e) => e.detail.staffId === target.id).map((e) => e.action))).toEqual(new Set(['staff.deactivate', 'staff.reactivate', 'staff.update', 'staff.password.reset']));
  });
});

describe('a personal token never reaches further than its person does today', () => {
  // Tokens written straight into the database (`kap token create` on a stopped engine) or made before
  // a change are bound at every request: the person's current role, and only their clinics.
  test('a token whose role is not its staff member\'s role is refused; a token for another clinic sees nothing there', async () => {
    const { createApiToken } = await import('../../src/auth/tokens');
    const coord = await createStaffMember(stack.app, s.root, 'coordinator', [s.a]);
    const asAdmin = await createApiToken(stack.db, { role: 'admin', staffId: coord.id, clinicId: null });
    expect((await call('GET', '/api/me', { token: asAdmin.token })).status).toBe(401);

    const own = await createApiToken(stack.db, { role: 'coordinator', staffId: coord.id, clinicId: null });
    const me = await call('GET', '/api/me', { token: own.token });
    expect(me.status).toBe(200);
    expect(me.body.clinics).toEqual([s.a]);

    const elsewhere = await createApiToken(stack.db, { role: 'coordinator', staffId: coord.id, clinicId: s.b });
    const there = await call('GET', '/api/me', { token: elsewhere.token });
    expect(there.status).toBe(200);
    expect(there.body.clinics).toEqual([]);
    const clients = await call('GET', `/api/clients?clinicId=${s.b}`, { token: elsewhere.token });
    expect(clients.status).toBe(403);
  });
});

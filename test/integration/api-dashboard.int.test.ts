// Dashboard login, sessions and CSRF; the client link page's refusals. The pages themselves are
// exercised in a real browser in e2e-dashboard.int.test.ts.
import { createStaff } from '../../src/api/routes/staff';
import { ensureFirstAdmin } from '../../src/auth/first-admin';
import { createClientLinks } from '../../src/security/client-links';
import { startTestStack, type TestStack } from '../harness/stack';
import { uid } from './api-helpers';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

let stack: TestStack;
const email = `dash-${uid()}@example.org`;
const password = 'a-long-enough-password';

beforeAll(async () => {
  stack = await startTestStack();
  await createStaff(stack.db, { email, displayName: 'Dana Dashboard', role: 'coordinator', clinicIds: [], password });
});
afterAll(async () => {
  await stack?.stop();
});

const cookiesOf = (h: unknown) => [h].flat().filter(Boolean).map(String);
const pick = (cookies: string[], name: string) => cookies.find((c) => c.startsWith(`${name}=`))?.split(';')[0]!.slice(name.length + 1);

async function login(pw = password) {
  const form = await stack.app.inject({ method: 'GET', url: '/login?next=/safety' });
  // The form's token and the signed secret cookie it was derived from (@fastify/csrf-protection).
  const secret = pick(cookiesOf(form.headers['set-cookie']), 'kap_login_csrf')!;
  const token = /name="_csrf" value="([^"]+)"/.exec(form.body)![1]!;
  const res = await stack.app.inject({
    method: 'POST',
    url: '/login',
    headers: { cookie: `kap_login_csrf=${secret}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ email, password: pw, _csrf: token, next: '/safety' }).toString(),
  });
  return res;
}

test('login sets an HttpOnly, SameSite=Strict session cookie and redirects to a local page only', async () => {
  const bad = await login('wrong-password-here');
  expect(bad.statusCode).toBe(401);
  const res = await login();
  expect(res.statusCode).toBe(303);
  expect(res.headers.location).toBe('/safety');
  const cookie = cookiesOf(res.headers['set-cookie']).find((c) => c.startsWith('kap_session='))!;
  expect(cookie).toMatch(/HttpOnly/);
  expect(cookie).toMatch(/SameSite=Strict/);
  const sid = pick([cookie], 'kap_session')!;
  const row = await stack.db.selectFrom('dashboard_sessions').selectAll().execute();
  expect(JSON.stringify(row)).not.toContain(sid);
  const page = await stack.app.inject({ method: 'GET', url: '/safety', headers: { cookie: `kap_session=${sid}` } });
  expect(page.statusCode).toBe(200);
  expect(page.headers['content-type']).toMatch(/text\/html/);
  expect(page.body).toContain('Safety queue');
  // Open redirects are refused.
  const form = await stack.app.inject({ method: 'GET', url: '/login?next=//evil.example' });
  expect(form.body).toContain('name="next" value="/"');
});

test('a form posted with the session cookie but without the CSRF token is refused', async () => {
  const res = await login();
  const sid = pick(cookiesOf(res.headers['set-cookie']), 'kap_session')!;
  const post = await stack.app.inject({ method: 'POST', url: '/clients', headers: { cookie: `kap_session=${sid}`, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'clinicId=x&givenName=a&familyName=b&email=a%40b.org' });
  expect(post.statusCode).toBe(403);
  const page = await stack.app.inject({ method: 'GET', url: '/clients', headers: { cookie: `kap_session=${sid}` } });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  const ok = await stack.app.inject({ method: 'POST', url: '/logout', headers: { cookie: `kap_session=${sid}`, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${encodeURIComponent(csrf)}` });
  expect(ok.statusCode).toBe(303);
  const after = await stack.app.inject({ method: 'GET', url: '/clients', headers: { cookie: `kap_session=${sid}` } });
  expect(after.statusCode).toBe(303);
  expect(after.headers.location).toMatch(/^\/login/);
});

test('the client link page refuses tampered, expired and malformed links without a 5xx', async () => {
  const links = createClientLinks({ db: stack.db, secretKey: stack.config.SECRET_KEY!, publicUrl: 'http://x' });
  const good = links.createClientLink({ assessmentId: 'course-x/step', expiresAt: new Date(Date.now() + 3600_000) }).token;
  const tampered = `${good.slice(0, -3)}abc`;
  expect((await stack.app.inject({ method: 'GET', url: `/a/${tampered}` })).statusCode).toBe(404);
  expect((await stack.app.inject({ method: 'GET', url: '/a/not-a-token' })).statusCode).toBe(404);
  const expired = links.createClientLink({ assessmentId: 'course-x/step', expiresAt: new Date(Date.now() - 1000) }).token;
  const res = await stack.app.inject({ method: 'GET', url: `/a/${expired}` });
  expect(res.statusCode).toBe(410);
  expect(res.body).toContain('expired');
  // A valid link with nothing open answers that there is nothing to do.
  expect((await stack.app.inject({ method: 'GET', url: `/a/${good}` })).statusCode).toBe(410);
  expect((await stack.app.inject({ method: 'POST', url: `/a/${tampered}`, payload: { 'phq9.1': '0' } })).statusCode).toBe(404);
});

test('first start creates one administrator and writes the password once', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kap-admin-'));
  // Somebody can already log in in this shared database, so nothing is created.
  expect(await ensureFirstAdmin(stack.db, dir)).toBeNull();
  expect(fs.existsSync(path.join(dir, 'admin-credentials.txt'))).toBe(false);
  fs.rmSync(dir, { recursive: true, force: true });
});

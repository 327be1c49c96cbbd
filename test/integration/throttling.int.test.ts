// Rate limits that slow attackers without locking out the right person (issue #15, items 5 and 8):
// dashboard logins back off per account and per address on failures only, and never refuse a
// colleague behind the same address; client links are limited per link and per client, never per
// address, and answers are never refused. Also the plumbing that replaced hand-written code: the
// security headers (@fastify/helmet), the cookies (@fastify/cookie) and the session CSRF check.
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { createStaff } from '../../src/api/routes/staff';
import type { Config } from '../../src/config';
import { createLogger } from '../../src/log';
import { createClientLinks } from '../../src/security/client-links';
import { eventually, startTestStack, type TestStack } from '../harness/stack';
import { client, tokenFor, uid } from './api-helpers';

let stack: TestStack;
let app: FastifyInstance;
const CLINIC_WIFI = '198.51.100.23';

beforeAll(async () => {
  stack = await startTestStack();
  // Small numbers so the test waits seconds, not the default 30 s: 3 free failures per account, 5 per
  // address, waits capped at 2 s.
  app = await buildApp({ config: { ...stack.config, LOGIN_FREE_FAILURES: 3, LOGIN_ADDRESS_FREE_FAILURES: 5, LOGIN_BACKOFF_MAX_SECONDS: 2 } as Config, db: stack.db, temporal: stack.temporal, log: createLogger('silent') });
});
afterAll(async () => {
  await app?.close();
  await stack?.stop();
});

const cookiesOf = (h: unknown): string[] => (Array.isArray(h) ? h : h ? [String(h)] : []) as string[];
const cookieValue = (set: string[], name: string) => set.map((c) => new RegExp(`^${name}=([^;]*)`).exec(c)?.[1]).find((v) => v !== undefined);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function login(email: string, password: string, remoteAddress = CLINIC_WIFI, device?: string) {
  const form = await app.inject({ method: 'GET', url: '/login', remoteAddress });
  const secret = cookieValue(cookiesOf(form.headers['set-cookie']), 'kap_login_csrf')!;
  const token = /name="_csrf" value="([^"]+)"/.exec(form.body)![1]!;
  const res = await app.inject({
    method: 'POST',
    url: '/login',
    remoteAddress,
    headers: { cookie: `kap_login_csrf=${secret}${device ? `; kap_device=${device}` : ''}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ email, password, _csrf: token, next: '/' }).toString(),
  });
  return { status: res.statusCode, retryAfter: res.headers['retry-after'] === undefined ? undefined : Number(res.headers['retry-after']), body: res.body, cookies: cookiesOf(res.headers['set-cookie']) };
}

async function staffMember(name: string) {
  const email = `${name.toLowerCase()}-${uid()}@clinic.example`;
  const password = `tidal ${uid()} harbour lantern`;
  await createStaff(stack.db, { email, displayName: name, role: 'coordinator', clinicIds: [], password });
  return { email, password };
}

describe('dashboard login throttling', () => {
  test("someone hammering an account from the clinic's Wi-Fi does not keep its owner out: her own browser logs in at once, a new browser waits at most the cap", async () => {
    // A shared address of its own (the other tests' Wi-Fi keeps a clean record).
    const WIFI = '198.51.100.77';
    const eve = await staffMember('Eve');
    // Eve logged in from her laptop last week: it carries the account's device cookie.
    const first = await login(eve.email, eve.password, '203.0.113.7');
    expect(first.status).toBe(303);
    const device = cookieValue(first.cookies, 'kap_device');
    expect(device).toBeTruthy();
    // Someone on the same Wi-Fi guesses her password without pause.
    let attacking = true;
    const attack = (async () => {
      while (attacking) {
        await login(eve.email, `guess ${uid()}`, WIFI);
        await sleep(50);
      }
    })();
    await sleep(1500);
    // From her laptop, on that same Wi-Fi, the right password works at once, every time.
    for (let i = 0; i < 3; i++) {
      expect((await login(eve.email, eve.password, WIFI, device)).status).toBe(303);
      await sleep(200);
    }
    // Her laptop's own wrong guesses still slow it (the cookie is no way around the backoff).
    const laptopTries = [];
    for (let i = 0; i < 5; i++) laptopTries.push((await login(eve.email, 'fat fingers', WIFI, device)).status);
    expect(laptopTries).toContain(429);
    // A tampered or another account's device cookie counts for nothing: the attack's backoff applies.
    const other = await staffMember('Oscar');
    const otherDevice = cookieValue((await login(other.email, other.password, '203.0.113.8')).cookies, 'kap_device')!;
    expect((await login(eve.email, eve.password, WIFI, otherDevice)).status).toBe(429);
    expect((await login(eve.email, eve.password, WIFI, `${device}x`)).status).toBe(429);
    attacking = false;
    await attack;
  });

  test('wrong passwords earn a short, growing wait (429 with Retry-After); the right one works once it has passed', async () => {
    const ana = await staffMember('Ana');
    for (let i = 0; i < 3; i++) expect((await login(ana.email, 'not the password at all')).status).toBe(401);
    // The 4th failure is past the free ones: the next attempt waits 1 s.
    expect((await login(ana.email, 'still not the password')).status).toBe(401);
    const refused = await login(ana.email, ana.password);
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBeGreaterThanOrEqual(1);
    expect(refused.retryAfter).toBeLessThanOrEqual(2);
    expect(refused.body).toContain('Too many failed attempts for this account');
    expect(cookieValue(refused.cookies, 'kap_session')).toBeUndefined();
    // A refused attempt is not a failure: waiting as told is enough, even after several refusals.
    expect((await login(ana.email, ana.password)).status).toBe(429);
    await sleep(refused.retryAfter! * 1000 + 100);
    const ok = await login(ana.email, ana.password);
    expect(ok.status).toBe(303);
    expect(cookieValue(ok.cookies, 'kap_session')).toBeTruthy();
    // Success forgets the failures: one mistake later is free again.
    expect((await login(ana.email, 'a typo in the password')).status).toBe(401);
    expect((await login(ana.email, ana.password)).status).toBe(303);
  });

  test('the wait is capped: after many failures the right password still gets in within the cap (2 s here)', async () => {
    const bo = await staffMember('Bo');
    let lastWait = 0;
    for (let i = 0; i < 12; i++) {
      const r = await login(bo.email, `guess number ${i} for bo`);
      if (r.status === 429) {
        expect(r.retryAfter).toBeLessThanOrEqual(2);
        lastWait = r.retryAfter!;
        await sleep(lastWait * 1000 + 50);
      } else expect(r.status).toBe(401);
    }
    expect(lastWait).toBe(2);
    await sleep(2100);
    expect((await login(bo.email, bo.password)).status).toBe(303);
  });

  test('another account behind the same address is not locked; the address limit only slows accounts that failed', async () => {
    const cy = await staffMember('Cy');
    const dee = await staffMember('Dee');
    const wifi = '203.0.113.77';
    // Someone on the clinic Wi-Fi hammers Cy's account, and a few made-up ones: the address is past its 5.
    for (let i = 0; i < 4; i++) expect((await login(cy.email, `wrong ${i} for cy`, wifi)).status).toBe(401);
    // Accounts with no failures are not slowed by the address: each of these is checked (and fails).
    for (let i = 0; i < 3; i++) expect((await login(`nobody-${uid()}@clinic.example`, 'whatever it is', wifi)).status).toBe(401);
    // Dee, behind the same address with no failures, logs in at once.
    const dees = await login(dee.email, dee.password, wifi);
    expect(dees.status).toBe(303);
    expect(cookieValue(dees.cookies, 'kap_session')).toBeTruthy();
    // Cy's own wait (1 s after the 4th failure) passes; the address's (2 s after its 7th) has not:
    // from the Wi-Fi Cy is slowed by the address, never for longer than the cap...
    await sleep(1100);
    const cys = await login(cy.email, cy.password, wifi);
    expect(cys.status).toBe(429);
    expect(cys.body).toContain('from this network');
    expect(cys.retryAfter).toBeLessThanOrEqual(2);
    // ...and from elsewhere gets in at once; so does the Wi-Fi once the address's wait has passed.
    expect((await login(cy.email, cy.password, '192.0.2.10')).status).toBe(303);
    await sleep(cys.retryAfter! * 1000 + 100);
    expect((await login(cy.email, cy.password, wifi)).status).toBe(303);
  });

  test('unknown emails are throttled like real ones (no hint which exist)', async () => {
    const ghost = `ghost-${uid()}@clinic.example`;
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await login(ghost, `guess ${i} here`, '192.0.2.55')).status);
    expect(statuses.slice(0, 4)).toEqual([401, 401, 401, 401]);
    expect(statuses[4]).toBe(429);
  });
});

describe('client links: per link and per client, never per address; answers always get through', () => {
  const clinicId = `throttle-${uid()}`;
  const phq9 = (item9: number) => Object.fromEntries([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => [`phq9.${n}`, String(n === 9 ? item9 : 1)]));

  /** The prefixes of the client's invited assessments that hold the PHQ-9 alone (one per send). */
  async function phq9Groups(courseId: string): Promise<string[]> {
    const rows = await stack.db.selectFrom('assessments').select(['id', 'instrument_id']).where('course_id', '=', courseId).where('status', '=', 'invited').execute();
    const groups = new Map<string, string[]>();
    for (const r of rows) {
      const prefix = r.id.slice(0, r.id.lastIndexOf('/'));
      groups.set(prefix, [...(groups.get(prefix) ?? []), r.instrument_id]);
    }
    return [...groups].filter(([, instruments]) => instruments.join() === 'phq9').map(([prefix]) => prefix);
  }

  async function invitedClients(n: number) {
    const call = client(stack.app);
    const admin = await tokenFor(stack.db, 'admin');
    if (!(await stack.db.selectFrom('clinics').select('id').where('id', '=', clinicId).executeTakeFirst())) {
      expect((await call('POST', '/api/clinics', { token: admin, body: { id: clinicId, name: 'Throttle Clinic' } })).status).toBe(201);
    }
    const links = createClientLinks({ db: stack.db, secretKey: stack.config.SECRET_KEY!, publicUrl: 'http://x' });
    const out: Array<{ courseId: string; url: string; assessmentId: string }> = [];
    for (let i = 0; i < n; i++) {
      const c = await call('POST', '/api/clients', { token: admin, body: { clinicId, givenName: `Client${i}`, familyName: 'Waiting', email: `client${i}-${uid()}@example.org` } });
      expect(c.status).toBe(201);
      const course = await call('POST', `/api/clients/${c.body.id}/courses`, { token: admin, body: { protocolId: 'kap-office' } });
      expect(course.status).toBe(201);
      const courseId = course.body.id as string;
      await eventually(async () => (await call('POST', `/api/courses/${courseId}/send-assessment`, { token: admin, body: { instruments: ['phq9'] } })).status === 200, 30_000, 250);
      // The assessment just sent holds the PHQ-9 alone (the baseline, sent at enrolment, holds more).
      const assessmentId = await eventually(async () => (await phq9Groups(courseId))[0], 30_000, 250);
      const { token } = links.createClientLink({ assessmentId, expiresAt: new Date(Date.now() + 3600_000) });
      out.push({ courseId, url: `/a/${token}`, assessmentId });
    }
    return out;
  }

  test("a client behind the clinic's Wi-Fi answers item 9 = 2 while ten others use their links: accepted, scored, crisis resources shown", async () => {
    const [robin, ...others] = await invitedClients(11);
    // Ten clients in the waiting room, one address: 50 opens each, 500 requests in all.
    for (let round = 0; round < 50; round++) {
      const statuses = await Promise.all(others.map((o) => app.inject({ method: 'GET', url: o.url, remoteAddress: CLINIC_WIFI }).then((r) => r.statusCode)));
      expect(statuses).toEqual(others.map(() => 200));
    }
    const form = await app.inject({ method: 'GET', url: robin!.url, remoteAddress: CLINIC_WIFI });
    expect(form.statusCode).toBe(200);
    const sent = await app.inject({ method: 'POST', url: robin!.url, remoteAddress: CLINIC_WIFI, payload: phq9(2) });
    const answeredAt = Date.now();
    expect(sent.statusCode).toBe(200);
    expect(sent.body).toContain('Thank you');
    expect(sent.body).toContain('988');
    expect(sent.body).toContain('role="alert"');
    // Recorded and scored: 8 items of 1 and item 9 = 2, a safety event for the course.
    const done = await eventually(
      async () => stack.db.selectFrom('assessments').select(['status', 'total']).where('id', '=', `${robin!.assessmentId}/phq9`).where('status', '=', 'completed').executeTakeFirst(),
      30_000,
      250,
    );
    expect(done!.total).toBe(10);
    await eventually(async () => !!(await stack.db.selectFrom('safety_events').select('id').where('course_id', '=', robin!.courseId).executeTakeFirst()), 30_000, 250);
    // ...and the clinicians' alert is in the outbox within seconds of the answer.
    const alert = await eventually(
      async () => stack.db.selectFrom('email_outbox').select(['template', 'created_at']).where('course_id', '=', robin!.courseId).where('template', '=', 'safety-alert').executeTakeFirst(),
      10_000,
      100,
    );
    expect(alert!.template).toBe('safety-alert');
    expect(new Date(alert!.created_at).getTime() - answeredAt).toBeLessThan(10_000);
  });

  test('one link opened too often is refused (429, Retry-After, crisis resources), other links are not, and its answers still get through', async () => {
    const [busy, calm] = await invitedClients(2);
    for (let i = 0; i < 60; i++) expect((await app.inject({ method: 'GET', url: busy!.url, remoteAddress: `192.0.2.${i + 1}` })).statusCode).toBe(200);
    const refused = await app.inject({ method: 'GET', url: busy!.url, remoteAddress: '192.0.2.200' });
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.body).toContain('It still works');
    expect(refused.body).toContain('988');
    expect(refused.body).toContain('findahelpline.com');
    // The same address opens another link freely: the limit is the link's, not the address's.
    expect((await app.inject({ method: 'GET', url: calm!.url, remoteAddress: '192.0.2.200' })).statusCode).toBe(200);
    // Submitting is never limited: the refused link's answers (a crisis answer) are accepted and scored.
    const sent = await app.inject({ method: 'POST', url: busy!.url, remoteAddress: '192.0.2.200', payload: phq9(3) });
    expect(sent.statusCode).toBe(200);
    expect(sent.body).toContain('Thank you');
    const done = await eventually(
      async () => stack.db.selectFrom('assessments').select(['total']).where('id', '=', `${busy!.assessmentId}/phq9`).where('status', '=', 'completed').executeTakeFirst(),
      30_000,
      250,
    );
    expect(done!.total).toBe(11);
  });

  test("the client's limit counts every link of the client: 120 opens in 10 minutes, whichever links", async () => {
    const [one] = await invitedClients(1);
    const call = client(stack.app);
    const admin = await tokenFor(stack.db, 'admin');
    expect((await call('POST', `/api/courses/${one!.courseId}/send-assessment`, { token: admin, body: { instruments: ['phq9'] } })).status).toBe(200);
    const groups = await eventually(async () => {
      const g = await phq9Groups(one!.courseId);
      return g.length >= 2 ? g : undefined;
    }, 30_000, 250);
    const links = createClientLinks({ db: stack.db, secretKey: stack.config.SECRET_KEY!, publicUrl: 'http://x' });
    const [a, b] = groups.map((assessmentId) => `/a/${links.createClientLink({ assessmentId, expiresAt: new Date(Date.now() + 3600_000) }).token}`);
    // A second link to the first assessment is a link of its own (its own nonce) for the same client.
    const c = `/a/${links.createClientLink({ assessmentId: groups[0]!, expiresAt: new Date(Date.now() + 3600_000) }).token}`;
    for (let i = 0; i < 60; i++) expect((await app.inject({ method: 'GET', url: a! })).statusCode).toBe(200);
    for (let i = 0; i < 60; i++) expect((await app.inject({ method: 'GET', url: b! })).statusCode).toBe(200);
    const refused = await app.inject({ method: 'GET', url: c });
    expect(refused.statusCode).toBe(429);
    expect(refused.body).toContain('988');
    // Another client is not affected.
    const [other] = await invitedClients(1);
    expect((await app.inject({ method: 'GET', url: other!.url })).statusCode).toBe(200);
  });

  test('refusal pages (expired, unknown link) show the crisis resources too', async () => {
    const links = createClientLinks({ db: stack.db, secretKey: stack.config.SECRET_KEY!, publicUrl: 'http://x' });
    const expired = links.createClientLink({ assessmentId: 'course-gone/step', expiresAt: new Date(Date.now() - 1000) }).token;
    for (const url of [`/a/${expired}`, '/a/not-a-token']) {
      const res = await app.inject({ method: 'GET', url });
      expect([404, 410]).toContain(res.statusCode);
      expect(res.body).toContain('988');
      expect(res.body).not.toContain('role="alert"');
    }
  });
});

describe('plumbing: headers, cookies, CSRF', () => {
  test('security headers from helmet on pages, API answers, errors and 404s', async () => {
    for (const url of ['/login', '/health', '/api/clinics', '/no-such-page']) {
      const res = await app.inject({ method: 'GET', url });
      expect([url, res.headers['content-security-policy']]).toEqual([url, "default-src 'self';script-src 'self';style-src 'self';img-src 'self' data:;connect-src 'self';form-action 'self';frame-ancestors 'none';base-uri 'none';object-src 'none'"]);
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
      expect(res.headers['cross-origin-resource-policy']).toBe('same-origin');
      expect(res.headers['permissions-policy']).toBe('camera=(), microphone=(), geolocation=(), payment=()');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['strict-transport-security']).toBeUndefined();
    }
    const https = await buildApp({ config: { ...stack.config, publicUrl: 'https://kap.example' } as Config, db: stack.db, temporal: stack.temporal, log: createLogger('silent') });
    try {
      const res = await https.inject({ method: 'GET', url: '/login' });
      expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
      const set = cookiesOf(res.headers['set-cookie']);
      expect(set.find((c) => c.startsWith('kap_login_csrf='))).toMatch(/; Secure/);
    } finally {
      await https.close();
    }
  });

  test('login CSRF (@fastify/csrf-protection): the form token must match the signed secret cookie; a forged or unsigned cookie is refused', async () => {
    const eve = await staffMember('Lou');
    const form = await app.inject({ method: 'GET', url: '/login' });
    const set = cookiesOf(form.headers['set-cookie']).find((c) => c.startsWith('kap_login_csrf='))!;
    expect(set).toMatch(/Path=\/login/);
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/SameSite=Strict/);
    const secret = cookieValue([set], 'kap_login_csrf')!;
    const token = /name="_csrf" value="([^"]+)"/.exec(form.body)![1]!;
    expect(token).not.toBe(secret);
    const post = (cookie: string | undefined, csrf: string) =>
      app.inject({
        method: 'POST',
        url: '/login',
        remoteAddress: '192.0.2.98',
        headers: { ...(cookie ? { cookie } : {}), 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ email: eve.email, password: eve.password, _csrf: csrf }).toString(),
      });
    // No cookie; a token without its secret; the raw secret as the token; an unsigned (tossed) cookie.
    const unsigned = decodeURIComponent(secret).split('.')[0]!;
    for (const [cookie, csrf] of [[undefined, token], [`kap_login_csrf=${secret}`, 'x'.repeat(30)], [`kap_login_csrf=${secret}`, decodeURIComponent(secret)], [`kap_login_csrf=${unsigned}`, token]] as const) {
      const res = await post(cookie, csrf);
      expect(res.statusCode).toBe(403);
      expect(res.body).toContain('The form expired');
      expect(cookiesOf(res.headers['set-cookie']).some((c) => c.startsWith('kap_session='))).toBe(false);
    }
    const ok = await post(`kap_login_csrf=${secret}`, token);
    expect(ok.statusCode).toBe(303);
  });

  test('session cookie: HttpOnly, SameSite=Strict, path /; a session form without its CSRF token is refused, with it accepted', async () => {
    const eve = await staffMember('Eve');
    const ok = await login(eve.email, eve.password, '192.0.2.99');
    const session = ok.cookies.find((c) => c.startsWith('kap_session='))!;
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Strict/);
    expect(session).toMatch(/Path=\//);
    expect(session).not.toMatch(/Secure/); // http in the test; https adds it (above)
    const sid = cookieValue(ok.cookies, 'kap_session')!;
    const without = await app.inject({ method: 'POST', url: '/logout', headers: { cookie: `kap_session=${sid}`, 'content-type': 'application/x-www-form-urlencoded' }, payload: '' });
    expect(without.statusCode).toBe(403);
    const page = await app.inject({ method: 'GET', url: '/', headers: { cookie: `kap_session=${sid}` } });
    expect(page.statusCode).toBe(200);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
    expect(csrf).toBeTruthy();
    const out = await app.inject({ method: 'POST', url: '/logout', headers: { cookie: `kap_session=${sid}`, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ _csrf: csrf! }).toString() });
    expect(out.statusCode).toBe(303);
    expect(cookiesOf(out.headers['set-cookie']).find((c) => c.startsWith('kap_session='))).toMatch(/Max-Age=0/);
    // The session is gone from the database: the cookie no longer works.
    expect((await app.inject({ method: 'GET', url: '/', headers: { cookie: `kap_session=${sid}` } })).statusCode).toBe(303);
  });

  test('a staff password the policy refuses is a 400 naming `password` and the reason; nothing is created', async () => {
    const call = client(app);
    const admin = await tokenFor(stack.db, 'admin');
    const email = `weak-${uid()}@clinic.example`;
    for (const [password, reason] of [
      ['password1234', 'most common'],
      ['aaaaaaaaaaaa', 'repeated'],
      ['123456789012', 'common'],
      [`${email.split('@')[0]}-x9`, 'email'],
      ['short', '12'],
    ] as const) {
      const res = await call('POST', '/api/staff', { token: admin, body: { email, displayName: 'Wendy Weak', role: 'coordinator', password } });
      expect([password, res.status]).toEqual([password, 400]);
      expect(res.body.problems).toEqual([{ field: 'password', message: expect.stringContaining(reason) }]);
    }
    expect(await stack.db.selectFrom('staff').select('id').where('email', '=', email).executeTakeFirst()).toBeUndefined();
    const good = await call('POST', '/api/staff', { token: admin, body: { email, displayName: 'Wendy Weak', role: 'coordinator', password: 'moss lantern quarry 47' } });
    expect(good.status).toBe(201);
  });
});

// Dashboard login and logout. Passwords are checked with scrypt; the session id lives only in an
// HttpOnly, SameSite=Strict cookie. The login form is protected by @fastify/csrf-protection (there is
// no session yet): a secret in a signed, HttpOnly cookie scoped to /login and a salted token derived
// from it in the form, so another site cannot log a browser in to an account of its choosing (not
// even one that can set cookies for a sibling subdomain: it cannot sign them).
import type { FastifyCsrfProtectionOptions } from '@fastify/csrf-protection';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomSecret, sha256 } from '../../auth/secrets';
import { z } from 'zod';
import { SESSION_COOKIE, SESSION_TTL_MS, checkLogin, createSession, destroySession } from '../../auth/sessions';
import { cookieOptions } from '../auth';
import { loginPolicies, loginThrottle } from '../rate-limits';
import type { AppDeps } from '../context';
import { html, page } from '../html';

const LOGIN_CSRF_COOKIE = 'kap_login_csrf';
const LoginForm = z.object({ email: z.string().trim().min(1).max(254), password: z.string().min(1).max(200), _csrf: z.string().min(1).max(100), next: z.string().max(500).optional() });

/** The options of @fastify/csrf-protection (registered in app.ts), for the login form only. */
export function loginCsrfOptions(secure: boolean): FastifyCsrfProtectionOptions {
  return {
    sessionPlugin: '@fastify/cookie',
    cookieKey: LOGIN_CSRF_COOKIE,
    cookieOpts: { ...cookieOptions({ secure, maxAgeSeconds: 3600, path: '/login' }), signed: true },
    getToken: (req) => (req.body as { _csrf?: unknown } | undefined)?._csrf as string,
  };
}

/** Only local paths, never `//host` or a scheme: no open redirect. */
export const safeNext = (next: unknown) => (typeof next === 'string' && /^\/(?![/\\])[^\s]*$/.test(next) ? next : '/');

/**
 * A browser that has logged in to an account before carries a signed cookie naming the account (by a
 * hash of its email) and a random device id. Its attempts back off on their own failures only
 * (src/api/rate-limits.ts), so someone guessing the account's password cannot keep its owner out
 * (OWASP's "device cookies"). The cookie holds no credential: it only changes whose failures count.
 */
const DEVICE_COOKIE = 'kap_device';
const DEVICE_TTL_S = 180 * 86_400;
const emailTag = (email: string) => sha256(`kap-device:${email}`).slice(0, 24);
function knownDevice(req: FastifyRequest, email: string): string | null {
  const raw = req.cookies[DEVICE_COOKIE];
  if (!raw) return null;
  const { valid, value } = req.unsignCookie(raw);
  if (!valid || !value) return null;
  const [id, tag] = value.split('.');
  return id && /^[A-Za-z0-9_-]{8,64}$/.test(id) && tag === emailTag(email) ? id : null;
}

export function loginRoutes(app: FastifyInstance, { db, config }: AppDeps): void {
  const secure = config.publicUrl.startsWith('https://');
  const throttle = loginThrottle(app, loginPolicies(config));

  const renderLogin = (reply: FastifyReply, opts: { next: string; error?: string; status?: number; email?: string }) => {
    const token = reply.generateCsrf();
    return reply
      .code(opts.status ?? 200)
      .type('text/html; charset=utf-8')
      .send(
        page(
          { title: 'Log in', flash: opts.error ? { kind: 'error', text: opts.error } : null },
          html`<form method="post" action="/login" class="card" aria-label="Log in">
<input type="hidden" name="_csrf" value="${token}"><input type="hidden" name="next" value="${opts.next}">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="${opts.email ?? ''}" autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<p><button type="submit">Log in</button></p></form>
<p class="muted">First start: the administrator's password is in <code>admin-credentials.txt</code> in the data folder (printed when the engine started).</p>`,
        ),
      );
  };

  app.get('/login', async (req, reply) => renderLogin(reply, { next: safeNext((req.query as Record<string, unknown>)?.next) }));

  const CSRF_REFUSALS = new Set(['FST_CSRF_MISSING_SECRET', 'FST_CSRF_INVALID_TOKEN']);
  const bodyOf = (body: unknown) => (body ?? {}) as Record<string, unknown>;
  app.post(
    '/login',
    {
      preHandler: (req, reply, done) => app.csrfProtection(req, reply, done),
      // A missing or wrong token (an old tab, another site's form): the form again, with a fresh token.
      errorHandler: (err: FastifyError, req, reply) => {
        if (!CSRF_REFUSALS.has(err.code)) throw err;
        const email = bodyOf(req.body).email;
        return renderLogin(reply, { next: safeNext(bodyOf(req.body).next), error: 'The form expired: please try again.', status: 403, email: typeof email === 'string' ? email.slice(0, 254) : undefined });
      },
    },
    async (req, reply) => {
      const form = LoginForm.safeParse(req.body ?? {});
      const next = safeNext((req.body as Record<string, unknown> | undefined)?.next);
      if (!form.success) return renderLogin(reply, { next, error: 'Enter your email and password.', status: 400 });
      // Failed attempts slow the account (and a busy address) down for at most 30 s: see rate-limits.ts.
      const email = form.data.email.trim().toLowerCase();
      const device = knownDevice(req, email);
      const wait = await throttle.check(req, email, device);
      if (wait) {
        void reply.header('retry-after', String(wait.retryAfterSeconds));
        return renderLogin(reply, { next, error: `Too many failed attempts${wait.by === 'account' ? ' for this account' : ' from this network'}: wait ${wait.retryAfterSeconds} s and try again.`, status: 429, email: form.data.email });
      }
      const ok = await checkLogin(db, email, form.data.password);
      if (!ok) {
        await throttle.failed(req, email, device);
        return renderLogin(reply, { next, error: 'Email or password is not right.', status: 401, email: form.data.email });
      }
      throttle.succeeded(email, device);
      // This browser is now a known device of the account (see knownDevice).
      void reply.setCookie(DEVICE_COOKIE, device ? `${device}.${emailTag(email)}` : `${randomSecret(12)}.${emailTag(email)}`, { ...cookieOptions({ secure, maxAgeSeconds: DEVICE_TTL_S, path: '/login' }), signed: true });
      const { sessionId } = await createSession(db, ok.staffId);
      void reply.setCookie(SESSION_COOKIE, sessionId, cookieOptions({ secure, maxAgeSeconds: Math.floor(SESSION_TTL_MS / 1000) }));
      void reply.setCookie(LOGIN_CSRF_COOKIE, '', cookieOptions({ secure, maxAgeSeconds: 0, path: '/login' }));
      return reply.redirect(next, 303);
    },
  );

  app.post('/logout', async (req, reply) => {
    const sid = req.cookies[SESSION_COOKIE];
    if (sid) await destroySession(db, sid);
    void reply.setCookie(SESSION_COOKIE, '', cookieOptions({ secure, maxAgeSeconds: 0 }));
    return reply.redirect('/login', 303);
  });
}

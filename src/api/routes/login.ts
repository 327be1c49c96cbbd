// Dashboard login and logout. Passwords are checked with scrypt; the session id lives only in an
// HttpOnly, SameSite=Strict cookie. The login form carries a double-submit token (a cookie and a
// field that must match) so another site cannot log a browser in to an account of its choosing.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { SESSION_COOKIE, SESSION_TTL_MS, checkLogin, createSession, destroySession } from '../../auth/sessions';
import { constantTimeEqual, randomSecret } from '../../auth/secrets';
import { cookieOptions } from '../auth';
import { loginPolicies, loginThrottle } from '../rate-limits';
import type { AppDeps } from '../context';
import { html, page } from '../html';

const LOGIN_CSRF_COOKIE = 'kap_login_csrf';
const LoginForm = z.object({ email: z.string().trim().min(1).max(254), password: z.string().min(1).max(200), _csrf: z.string().min(1).max(100), next: z.string().max(500).optional() });

/** Only local paths, never `//host` or a scheme: no open redirect. */
export const safeNext = (next: unknown) => (typeof next === 'string' && /^\/(?![/\\])[^\s]*$/.test(next) ? next : '/');

export function loginRoutes(app: FastifyInstance, { db, config }: AppDeps): void {
  const secure = config.publicUrl.startsWith('https://');
  const throttle = loginThrottle(app, loginPolicies(config));

  const renderLogin = (reply: FastifyReply, opts: { next: string; error?: string; status?: number; email?: string }) => {
    const token = randomSecret(18);
    void reply.setCookie(LOGIN_CSRF_COOKIE, token, cookieOptions({ secure, maxAgeSeconds: 3600, path: '/login' }));
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

  app.post('/login', async (req, reply) => {
    const form = LoginForm.safeParse(req.body ?? {});
    const next = safeNext((req.body as Record<string, unknown> | undefined)?.next);
    if (!form.success) return renderLogin(reply, { next, error: 'Enter your email and password.', status: 400 });
    const expected = req.cookies[LOGIN_CSRF_COOKIE];
    if (!expected || !constantTimeEqual(expected, form.data._csrf)) return renderLogin(reply, { next, error: 'The form expired: please try again.', status: 403, email: form.data.email });
    // Failed attempts slow the account (and a busy address) down for at most 30 s: see rate-limits.ts.
    const email = form.data.email.trim().toLowerCase();
    const wait = await throttle.check(req, email);
    if (wait) {
      void reply.header('retry-after', String(wait.retryAfterSeconds));
      return renderLogin(reply, { next, error: `Too many failed attempts${wait.by === 'account' ? ' for this account' : ' from this network'}: wait ${wait.retryAfterSeconds} s and try again.`, status: 429, email: form.data.email });
    }
    const ok = await checkLogin(db, email, form.data.password);
    if (!ok) {
      await throttle.failed(req, email);
      return renderLogin(reply, { next, error: 'Email or password is not right.', status: 401, email: form.data.email });
    }
    throttle.succeeded(email);
    const { sessionId } = await createSession(db, ok.staffId);
    void reply.setCookie(SESSION_COOKIE, sessionId, cookieOptions({ secure, maxAgeSeconds: Math.floor(SESSION_TTL_MS / 1000) }));
    void reply.setCookie(LOGIN_CSRF_COOKIE, '', cookieOptions({ secure, maxAgeSeconds: 0, path: '/login' }));
    return reply.redirect(next, 303);
  });

  app.post('/logout', async (req, reply) => {
    const sid = req.cookies[SESSION_COOKIE];
    if (sid) await destroySession(db, sid);
    void reply.setCookie(SESSION_COOKIE, '', cookieOptions({ secure, maxAgeSeconds: 0 }));
    return reply.redirect('/login', 303);
  });
}

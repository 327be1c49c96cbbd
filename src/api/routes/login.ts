// Dashboard login and logout. Passwords are checked with scrypt; the session id lives only in an
// HttpOnly, SameSite=Strict cookie. The login form carries a double-submit token (a cookie and a
// field that must match) so another site cannot log a browser in to an account of its choosing.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { SESSION_COOKIE, SESSION_TTL_MS, checkLogin, createSession, destroySession } from '../../auth/sessions';
import { constantTimeEqual, randomSecret } from '../../auth/secrets';
import { cookie, parseCookies } from '../auth';
import type { AppDeps } from '../context';
import { html, page } from '../html';

const LOGIN_CSRF_COOKIE = 'kap_login_csrf';
const LoginForm = z.object({ email: z.string().trim().min(1).max(254), password: z.string().min(1).max(200), _csrf: z.string().min(1).max(100), next: z.string().max(500).optional() });

/** Only local paths, never `//host` or a scheme: no open redirect. */
export const safeNext = (next: unknown) => (typeof next === 'string' && /^\/(?![/\\])[^\s]*$/.test(next) ? next : '/');

// Failed logins per IP, in memory: 10 failures in 15 minutes and the IP waits.
const failures = new Map<string, number[]>();
const WINDOW_MS = 15 * 60 * 1000;
function tooMany(ip: string): boolean {
  const now = Date.now();
  const list = (failures.get(ip) ?? []).filter((t) => now - t < WINDOW_MS);
  failures.set(ip, list);
  return list.length >= 10;
}

export function loginRoutes(app: FastifyInstance, { db, config }: AppDeps): void {
  const secure = config.publicUrl.startsWith('https://');

  const renderLogin = (reply: FastifyReply, opts: { next: string; error?: string; status?: number; email?: string }) => {
    const token = randomSecret(18);
    void reply.header('set-cookie', cookie(LOGIN_CSRF_COOKIE, token, { secure, maxAgeSeconds: 3600, path: '/login' }));
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
    const ip = req.ip;
    const form = LoginForm.safeParse(req.body ?? {});
    const next = safeNext((req.body as Record<string, unknown> | undefined)?.next);
    if (!form.success) return renderLogin(reply, { next, error: 'Enter your email and password.', status: 400 });
    const expected = parseCookies(req.headers.cookie)[LOGIN_CSRF_COOKIE];
    if (!expected || !constantTimeEqual(expected, form.data._csrf)) return renderLogin(reply, { next, error: 'The form expired: please try again.', status: 403, email: form.data.email });
    if (tooMany(ip)) return renderLogin(reply, { next, error: 'Too many failed attempts: wait 15 minutes and try again.', status: 429 });
    const ok = await checkLogin(db, form.data.email, form.data.password);
    if (!ok) {
      failures.get(ip)!.push(Date.now());
      return renderLogin(reply, { next, error: 'Email or password is not right.', status: 401, email: form.data.email });
    }
    failures.delete(ip);
    const { sessionId } = await createSession(db, ok.staffId);
    void reply.header('set-cookie', [cookie(SESSION_COOKIE, sessionId, { secure, maxAgeSeconds: Math.floor(SESSION_TTL_MS / 1000) }), cookie(LOGIN_CSRF_COOKIE, '', { secure, maxAgeSeconds: 0, path: '/login' })]);
    return reply.redirect(next, 303);
  });

  app.post('/logout', async (req, reply) => {
    const sid = parseCookies(req.headers.cookie)[SESSION_COOKIE];
    if (sid) await destroySession(db, sid);
    void reply.header('set-cookie', cookie(SESSION_COOKIE, '', { secure, maxAgeSeconds: 0 }));
    return reply.redirect('/login', 303);
  });
}

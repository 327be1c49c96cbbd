// Authentication and authorisation for every route, from the role matrix (src/auth/role-matrix.ts).
// Runs in onRequest, before the body is parsed, so an unauthenticated caller costs one lookup.
import crypto from 'node:crypto';
import type { CookieSerializeOptions } from '@fastify/cookie';
import helmet from '@fastify/helmet';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { accessFor, allows } from '../auth/role-matrix';
import type { Principal } from '../auth/roles';
import { SESSION_COOKIE, sessionPrincipal } from '../auth/sessions';
import { constantTimeEqual } from '../auth/secrets';
import { verifyApiToken } from '../auth/tokens';
import { resolveSecretKey } from '../security/client-links';
import { AppError } from '../errors';
import type { ApiDeps } from './context';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** The key @fastify/cookie signs cookies with (the login form's CSRF secret): derived from SECRET_KEY. */
export function cookieSigningKey(config: { SECRET_KEY?: string; DATA_DIR: string; NODE_ENV?: string }): string {
  return crypto.createHmac('sha256', resolveSecretKey(config)).update('kap dashboard cookie signatures v1').digest('base64url');
}

/** The dashboard's cookies: HttpOnly, SameSite=Strict, Secure behind https (set through @fastify/cookie). */
export function cookieOptions(opts: { maxAgeSeconds?: number; secure: boolean; path?: string }): CookieSerializeOptions {
  return { path: opts.path ?? '/', httpOnly: true, sameSite: 'strict', secure: opts.secure, ...(opts.maxAgeSeconds !== undefined ? { maxAge: opts.maxAgeSeconds } : {}) };
}

const isHtmlRoute = (url: string) => !url.startsWith('/api/') && !url.startsWith('/fhir/') && url !== '/health';

/** The principal of a request, or throws 401/403; for routes that need one (after the hook ran). */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new AppError('unauthenticated', 'log in or send an API token (Authorization: Bearer kap_...)');
  return req.principal;
}

const routeLists = new WeakMap<FastifyInstance, Array<{ method: string; url: string; listed: boolean }>>();

/** Every route registered on the app (after installAuth), and whether the role matrix lists it. */
export function registeredRoutes(app: FastifyInstance): Array<{ method: string; url: string; listed: boolean }> {
  return routeLists.get(app) ?? [];
}

export function installAuth(app: FastifyInstance, { db, log }: ApiDeps): void {
  app.decorateRequest('principal', null);
  const routes: Array<{ method: string; url: string; listed: boolean }> = [];
  routeLists.set(app, routes);
  app.addHook('onRoute', (opts) => {
    for (const method of [opts.method].flat()) {
      if (method === 'HEAD') continue;
      const { listed } = accessFor(method, opts.url);
      routes.push({ method, url: opts.url, listed });
      if (!listed) log.warn({ method, url: opts.url }, 'route missing from the role matrix: admins only');
    }
  });

  app.addHook('onRequest', async (req, reply) => {
    const url = req.routeOptions.url;
    if (!url) return; // no such route: the not-found handler answers 404
    const { access } = accessFor(req.method, url);
    if (access === 'public' || access === 'client-link' || access === 'own-auth') return;

    let principal: Principal | null = null;
    const authz = req.headers.authorization;
    if (authz) {
      const m = /^Bearer\s+(\S+)$/i.exec(authz);
      principal = m ? await verifyApiToken(db, m[1]!) : null;
      if (!principal) {
        void reply.header('www-authenticate', 'Bearer error="invalid_token"');
        throw new AppError('unauthenticated', 'the API token is invalid, expired or revoked');
      }
    } else {
      const sid = req.cookies[SESSION_COOKIE];
      if (sid) principal = await sessionPrincipal(db, sid);
    }
    if (!principal) {
      if (isHtmlRoute(url) && (req.method === 'GET' || req.method === 'HEAD')) {
        return redirectToLogin(req, reply);
      }
      void reply.header('www-authenticate', 'Bearer');
      throw new AppError('unauthenticated', 'log in or send an API token (Authorization: Bearer kap_...)');
    }
    req.principal = principal;
    if (!allows(access, principal.role)) {
      throw new AppError('forbidden', `the ${principal.role} role may not ${req.method} ${url}`);
    }
  });

  // CSRF: a request authenticated by the session cookie that changes something must carry the
  // session's token (hidden form field `_csrf` or header `x-csrf-token`). Tokens in the
  // Authorization header cannot be sent by another site, so they need none.
  app.addHook('preHandler', async (req) => {
    const p = req.principal;
    if (!p || p.via !== 'session' || req.method === 'GET' || req.method === 'HEAD') return;
    const sent = (req.headers['x-csrf-token'] as string | undefined) ?? ((req.body as Record<string, unknown> | undefined)?._csrf as string | undefined);
    if (typeof sent !== 'string' || !p.csrfToken || !constantTimeEqual(sent, p.csrfToken)) {
      throw new AppError('forbidden', 'missing or wrong CSRF token: reload the page and try again');
    }
  });
}

function redirectToLogin(req: FastifyRequest, reply: FastifyReply) {
  const next = req.url.startsWith('/') && !req.url.startsWith('//') ? req.url : '/';
  return reply.redirect(`/login?next=${encodeURIComponent(next)}`, 303);
}

// The Content-Security-Policy: no inline scripts or styles, nothing from other origins, no framing.
export const CONTENT_SECURITY_POLICY = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'base-uri': ["'none'"],
  'object-src': ["'none'"],
};

/**
 * Security headers on every response (@fastify/helmet: CSP, nosniff, frame DENY, no Referer, COOP,
 * CORP, HSTS behind https, and helmet's other defaults), plus what helmet does not set: a
 * Permissions-Policy, and no caching of anything that may hold client data.
 */
export async function installSecurityHeaders(app: FastifyInstance, secure: boolean): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    frameguard: { action: 'deny' },
    // The client's link carries its token in the URL: never leak it through Referer.
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    hsts: secure ? { maxAge: 31536000, includeSubDomains: true, preload: false } : false,
  });
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('permissions-policy', 'camera=(), microphone=(), geolocation=(), payment=()');
    if (!req.url.startsWith('/assets/')) reply.header('cache-control', 'no-store');
    return payload;
  });
}

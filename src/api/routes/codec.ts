// The codec endpoint for the Temporal Web UI (`--ui-codec-endpoint <PUBLIC_URL>/codec`): staff who are
// logged in to the dashboard see decrypted payloads in the UI; everyone else sees ciphertext.
// The UI calls it cross-origin with the dashboard's session cookie ("Include cross-origin credentials"
// in the UI's codec settings) or an API token. Cookie-authenticated calls are accepted only from the
// Temporal UI's origin, which stands in for a CSRF token that the UI cannot send. Every decode is
// audited. A decode reveals payloads of every clinic, so only staff whose scope is every clinic may use it.
// It decodes only: /codec/encode answers 403 to everyone, because a payload sealed with the engine's
// keys would drive a workflow past the API's checks (the worker refuses every payload not sealed).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { actorDetail, actorOf, assertAllClinics, type Principal } from '../../auth/roles';
import { SESSION_COOKIE, sessionPrincipal } from '../../auth/sessions';
import { verifyApiToken } from '../../auth/tokens';
import { appendAudit } from '../../db/audit';
import { AppError } from '../../errors';
import { payloadCodecFor } from '../../security/keys';
import type { ApiDeps } from '../context';
import { parse } from '../validation';

const b64 = z.string().max(4 * 1024 * 1024).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
const Body = z.object({
  payloads: z
    .array(z.object({ metadata: z.record(z.string(), b64).optional(), data: b64.optional() }))
    .max(1000),
});

export function temporalUiOrigins(deps: ApiDeps): string[] {
  const list = (deps.config.TEMPORAL_UI_URL ?? `http://127.0.0.1:${deps.config.TEMPORAL_UI_PORT}`).split(',').map((s) => s.trim()).filter(Boolean);
  const out = new Set<string>();
  for (const u of list) {
    const origin = new URL(u).origin;
    out.add(origin);
    out.add(origin.replace('://127.0.0.1', '://localhost'));
  }
  return [...out];
}

export function codecRoutes(app: FastifyInstance, deps: ApiDeps): void {
  // Display mode: the Web UI sends every payload it shows, sealed or not (an unsealed one is a forgery
  // the workers refused, shown as it is). Sealing is the engine's alone: see the encode route below.
  const codec = payloadCodecFor(deps.config).withMode('display');
  const origins = temporalUiOrigins(deps);

  const cors = (req: FastifyRequest, reply: FastifyReply) => {
    const origin = req.headers.origin;
    if (origin && origins.includes(origin)) {
      void reply
        .header('access-control-allow-origin', origin)
        .header('access-control-allow-credentials', 'true')
        .header('access-control-allow-methods', 'POST, OPTIONS')
        .header('access-control-allow-headers', 'content-type, x-namespace, authorization')
        .header('vary', 'Origin');
    }
  };

  const authenticate = async (req: FastifyRequest): Promise<Principal> => {
    const authz = req.headers.authorization;
    let principal: Principal | null = null;
    if (authz) {
      const m = /^Bearer\s+(\S+)$/i.exec(authz);
      principal = m ? await verifyApiToken(deps.db, m[1]!) : null;
      if (!principal) throw new AppError('unauthenticated', 'the API token is invalid, expired or revoked');
    } else {
      const sid = req.cookies[SESSION_COOKIE];
      if (sid) principal = await sessionPrincipal(deps.db, sid);
      if (!principal) throw new AppError('unauthenticated', 'log in to the dashboard first, or send an API token');
      const origin = req.headers.origin;
      if (!origin || !origins.includes(origin)) {
        throw new AppError('forbidden', `cookie-authenticated codec calls are accepted only from the Temporal Web UI (${origins[0]})`);
      }
    }
    // The shared scope check (src/auth/scope.ts): a decode reveals payloads of every clinic.
    assertAllClinics(principal, 'the codec (it reveals payloads of every clinic)');
    return principal;
  };

  for (const op of ['encode', 'decode'] as const) {
    app.options(`/codec/${op}`, async (req, reply) => {
      cors(req, reply);
      return reply.code(204).send();
    });
    app.post(`/codec/${op}`, async (req, reply) => {
      cors(req, reply);
      const principal = await authenticate(req);
      if (op === 'encode') {
        // A sealed payload drives a workflow past the API's checks (role, scope, the actor taken from
        // the credential): only the engine seals. Signals and Updates from the Web UI are refused.
        throw new AppError('forbidden', 'the codec endpoint decodes only: payloads are sealed by the engine, so a workflow is driven through the API');
      }
      const body = parse(Body, req.body);
      const payloads = body.payloads.map((p) => ({
        metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
        data: Buffer.from(p.data ?? '', 'base64'),
      }));
      let out;
      try {
        out = op === 'decode' ? await codec.decode(payloads) : await codec.encode(payloads);
      } catch (err) {
        throw new AppError('unprocessable', `cannot ${op}: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (op === 'decode') {
        await appendAudit(deps.db, {
          actor: actorOf(principal),
          action: 'temporal.payloads.decode',
          detail: { count: payloads.length, namespace: String(req.headers['x-namespace'] ?? deps.config.TEMPORAL_NAMESPACE), by: actorDetail(principal) },
        });
      }
      return reply.send({
        payloads: out.map((p) => ({
          metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v as Uint8Array).toString('base64')])),
          data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
        })),
      });
    });
  }
}

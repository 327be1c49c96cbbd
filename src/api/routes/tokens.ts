import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { auditTokenRevoked, changeOwnPassword, createTokenAs } from '../../auth/accounts';
import { PASSWORD_MAX_LENGTH } from '../../auth/password-policy';
import { listApiTokens, revokeApiToken } from '../../auth/tokens';
import type { Principal } from '../../auth/roles';
import type { ApiDeps } from '../context';
import { apiRoute } from '../route';
import { IdParams, StaffRoleSchema } from '../schemas';

const TokenInfo = z.object({
  id: z.string(),
  role: StaffRoleSchema,
  clinicId: z.string().nullable(),
  staffId: z.string().nullable(),
  label: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});

export const CreateTokenBody = z.strictObject({
  role: StaffRoleSchema,
  clinicId: z.string().min(1).max(100).optional().describe('limit the token to one clinic (one of yours); omitted = your only clinic, or every clinic when your access covers every clinic'),
  staffId: z.string().min(1).max(100).optional().describe('the staff member the token acts for (in your clinics; the token takes their role and reaches no further than they do)'),
  label: z.string().trim().min(1).max(200).optional(),
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});

export const ChangePasswordBody = z.strictObject({
  currentPassword: z.string().min(1).max(PASSWORD_MAX_LENGTH),
  newPassword: z.string().min(1).max(PASSWORD_MAX_LENGTH).describe('checked by the password policy (src/auth/password-policy.ts)'),
});

export function tokenRoutes(app: FastifyInstance, { db }: ApiDeps): void {
  apiRoute(
    app,
    { method: 'GET', url: '/api/me', tag: 'auth', summary: 'Who the caller is: role, clinics, staff id', response: z.object({ role: StaffRoleSchema, clinics: z.union([z.literal('all'), z.array(z.string())]), staffId: z.string().nullable(), displayName: z.string(), via: z.enum(['session', 'token']) }) },
    async ({ principal }) => ({ role: principal.role, clinics: principal.clinics, staffId: principal.staffId, displayName: principal.displayName, via: principal.via }),
  );
  apiRoute(
    app,
    { method: 'POST', url: '/api/me/password', tag: 'auth', summary: 'Change your own password (the current one, then the password policy); every dashboard session of yours ends', body: ChangePasswordBody, response: z.object({ changed: z.literal(true), sessionsEnded: z.number() }) },
    async ({ body, principal }) => ({ changed: true as const, ...(await changeOwnPassword(db, principal, body)) }),
  );
  // Tokens within the caller's scope: a caller limited to some clinics sees and revokes only tokens
  // limited to one of its clinics (every-clinic tokens are not in its scope).
  const scopeOf = (p: Principal) => (p.clinics === 'all' ? {} : { clinics: p.clinics });
  apiRoute(app, { method: 'GET', url: '/api/tokens', tag: 'auth', summary: 'List the API tokens in your clinics (never their secrets)', response: z.object({ tokens: z.array(TokenInfo) }) }, async ({ principal }) => ({ tokens: await listApiTokens(db, scopeOf(principal)) }));
  apiRoute(
    app,
    { method: 'POST', url: '/api/tokens', tag: 'auth', summary: 'Create an API token; the secret is in this response only', body: CreateTokenBody, status: 201, response: z.object({ token: z.string(), info: TokenInfo }) },
    async ({ body, principal }) =>
      createTokenAs(db, principal, {
        role: body.role,
        clinicId: body.clinicId,
        staffId: body.staffId,
        label: body.label,
        expiresAt: body.expiresInDays ? new Date(Date.now() + body.expiresInDays * 86_400_000) : null,
      }),
  );
  apiRoute(app, { method: 'DELETE', url: '/api/tokens/:id', tag: 'auth', summary: 'Revoke an API token in your clinics', params: IdParams, errors: [404], response: TokenInfo }, async ({ params, principal }) => {
    const info = await revokeApiToken(db, params.id, scopeOf(principal));
    await auditTokenRevoked(db, principal, info);
    return info;
  });
}

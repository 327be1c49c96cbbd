import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { createApiToken, listApiTokens, revokeApiToken } from '../../auth/tokens';
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
  clinicId: z.string().min(1).max(100).optional().describe('limit the token to one clinic; omitted = every clinic'),
  staffId: z.string().min(1).max(100).optional().describe('the staff member the token acts for'),
  label: z.string().trim().min(1).max(200).optional(),
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});

export function tokenRoutes(app: FastifyInstance, { db }: ApiDeps): void {
  apiRoute(
    app,
    { method: 'GET', url: '/api/me', tag: 'auth', summary: 'Who the caller is: role, clinics, staff id', response: z.object({ role: StaffRoleSchema, clinics: z.union([z.literal('all'), z.array(z.string())]), staffId: z.string().nullable(), displayName: z.string(), via: z.enum(['session', 'token']) }) },
    async ({ principal }) => ({ role: principal.role, clinics: principal.clinics, staffId: principal.staffId, displayName: principal.displayName, via: principal.via }),
  );
  apiRoute(app, { method: 'GET', url: '/api/tokens', tag: 'auth', summary: 'List API tokens (never their secrets)', response: z.object({ tokens: z.array(TokenInfo) }) }, async () => ({ tokens: await listApiTokens(db) }));
  apiRoute(
    app,
    { method: 'POST', url: '/api/tokens', tag: 'auth', summary: 'Create an API token; the secret is in this response only', body: CreateTokenBody, status: 201, response: z.object({ token: z.string(), info: TokenInfo }) },
    async ({ body }) =>
      createApiToken(db, {
        role: body.role,
        clinicId: body.clinicId ?? null,
        staffId: body.staffId ?? null,
        label: body.label,
        expiresAt: body.expiresInDays ? new Date(Date.now() + body.expiresInDays * 86_400_000) : null,
      }),
  );
  apiRoute(app, { method: 'DELETE', url: '/api/tokens/:id', tag: 'auth', summary: 'Revoke an API token', params: IdParams, errors: [404], response: TokenInfo }, async ({ params }) => revokeApiToken(db, params.id));
}

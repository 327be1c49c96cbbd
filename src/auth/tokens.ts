// Staff API tokens: `kap_<43 random chars>`, shown once at creation and stored only as a SHA-256 hash.
import crypto from 'node:crypto';
import type { Db } from '../db/connect';
import type { StaffRole } from '../db/schema';
import { invalidInput, notFound } from '../errors';
import type { Principal } from './roles';
import { randomSecret, sha256 } from './secrets';
import { staffScope } from './scope';

export const TOKEN_PREFIX = 'kap_';

export interface CreateTokenInput {
  role: StaffRole;
  /** One clinic the token is limited to; omitted = every clinic. */
  clinicId?: string | null;
  staffId?: string | null;
  label?: string;
  expiresAt?: Date | null;
}

export interface TokenInfo {
  id: string;
  role: StaffRole;
  clinicId: string | null;
  staffId: string | null;
  label: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

type TokenRow = { id: string; role: StaffRole; clinic_id: string | null; staff_id: string | null; label: string; created_at: Date; expires_at: Date | null; last_used_at: Date | null; revoked_at: Date | null };

export function tokenView(row: TokenRow): TokenInfo {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: row.id,
    role: row.role,
    clinicId: row.clinic_id,
    staffId: row.staff_id,
    label: row.label,
    createdAt: row.created_at.toISOString(),
    expiresAt: iso(row.expires_at),
    lastUsedAt: iso(row.last_used_at),
    revokedAt: iso(row.revoked_at),
  };
}

/** Creates a token; the secret is returned here and never again. */
export async function createApiToken(db: Db, input: CreateTokenInput): Promise<{ token: string; info: TokenInfo }> {
  if (input.clinicId) {
    const clinic = await db.selectFrom('clinics').select('id').where('id', '=', input.clinicId).executeTakeFirst();
    if (!clinic) throw invalidInput([{ field: 'clinicId', message: `no clinic ${input.clinicId}` }]);
  }
  if (input.staffId) {
    const staff = await db.selectFrom('staff').select('id').where('id', '=', input.staffId).executeTakeFirst();
    if (!staff) throw invalidInput([{ field: 'staffId', message: `no staff member ${input.staffId}` }]);
  }
  const token = `${TOKEN_PREFIX}${randomSecret(32)}`;
  const row = await db
    .insertInto('api_tokens')
    .values({
      id: `tok_${crypto.randomBytes(6).toString('hex')}`,
      token_hash: sha256(token),
      role: input.role,
      clinic_id: input.clinicId ?? null,
      staff_id: input.staffId ?? null,
      label: input.label ?? `${input.role} token`,
      expires_at: input.expiresAt ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { token, info: tokenView(row) };
}

/** The principal for a bearer token, or null when unknown, revoked, expired or its staff member is inactive. */
export async function verifyApiToken(db: Db, token: string): Promise<Principal | null> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return null;
  const row = await db
    .selectFrom('api_tokens')
    .leftJoin('staff', 'staff.id', 'api_tokens.staff_id')
    .select(['api_tokens.id', 'api_tokens.role', 'api_tokens.clinic_id', 'api_tokens.staff_id', 'api_tokens.label', 'api_tokens.expires_at', 'api_tokens.revoked_at', 'api_tokens.last_used_at', 'staff.active', 'staff.display_name', 'staff.role as staff_role'])
    .where('api_tokens.token_hash', '=', sha256(token))
    .executeTakeFirst();
  if (!row || row.revoked_at) return null;
  if (row.expires_at && row.expires_at.getTime() <= Date.now()) return null;
  if (row.staff_id && row.active === false) return null;
  // A staff member's token never reaches further than the person does today: its role must still be
  // theirs, and its clinics are cut to theirs (tokens made before a role or clinic change, or written
  // straight into the database by `kap token create`, are held to the same bound as new ones).
  let clinics: Principal['clinics'] = row.clinic_id ? [row.clinic_id] : 'all';
  if (row.staff_id) {
    if (row.staff_role !== row.role) return null;
    const staffClinics = (await db.selectFrom('staff_clinics').select('clinic_id').where('staff_id', '=', row.staff_id).execute()).map((r) => r.clinic_id);
    const personal = staffScope({ role: row.staff_role, clinicIds: staffClinics });
    if (personal !== 'all') clinics = clinics === 'all' ? personal : clinics.filter((c) => personal.includes(c));
  }
  // last_used_at at minute granularity: one write per token per minute at most, not one per request.
  if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > 60_000) {
    await db.updateTable('api_tokens').set({ last_used_at: new Date() }).where('id', '=', row.id).execute();
  }
  return {
    role: row.role,
    clinics,
    staffId: row.staff_id,
    via: 'token',
    tokenId: row.id,
    displayName: row.display_name ?? row.label,
  };
}

/** A caller's view of the tokens: `clinics` = only tokens limited to one of these clinics (every-clinic tokens left out); omitted = all. */
export interface TokenScope {
  clinics?: readonly string[];
}

export async function listApiTokens(db: Db, scope: TokenScope = {}): Promise<TokenInfo[]> {
  let q = db.selectFrom('api_tokens').selectAll().orderBy('created_at', 'desc');
  if (scope.clinics) q = scope.clinics.length ? q.where('clinic_id', 'in', [...scope.clinics]) : q.where(({ lit }) => lit(false));
  return (await q.execute()).map(tokenView);
}

/** Revokes a token (idempotent); a token outside `scope` is "not found", as a missing one. */
export async function revokeApiToken(db: Db, id: string, scope: TokenScope = {}): Promise<TokenInfo> {
  const existing = await db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  if (!existing || (scope.clinics && !(existing.clinic_id && scope.clinics.includes(existing.clinic_id)))) throw notFound(`token ${id}`);
  const row = await db
    .updateTable('api_tokens')
    .set({ revoked_at: new Date() })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  return tokenView(row ?? existing);
}

// Dashboard sessions: a random id in an HttpOnly, SameSite=Strict cookie; the database keeps only
// its SHA-256, so a leaked table cannot be replayed as cookies.
import type { Db } from '../db/connect';
import { staffPrincipal } from './staff-principal';
import type { Principal } from './roles';
import { randomSecret, sha256, verifyPassword } from './secrets';

export const SESSION_COOKIE = 'kap_session';
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000; // a working day, then log in again

export async function createSession(db: Db, staffId: string, now = new Date()): Promise<{ sessionId: string; csrfToken: string; expiresAt: Date }> {
  const sessionId = randomSecret(32);
  const csrfToken = randomSecret(24);
  const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
  await db.insertInto('dashboard_sessions').values({ id_hash: sha256(sessionId), staff_id: staffId, csrf_token: csrfToken, expires_at: expiresAt }).execute();
  // Opportunistic clean-up of expired sessions.
  await db.deleteFrom('dashboard_sessions').where('expires_at', '<', now).execute();
  return { sessionId, csrfToken, expiresAt };
}

export async function sessionPrincipal(db: Db, sessionId: string): Promise<Principal | null> {
  if (sessionId.length < 20 || sessionId.length > 100) return null;
  const row = await db
    .selectFrom('dashboard_sessions')
    .innerJoin('staff', 'staff.id', 'dashboard_sessions.staff_id')
    .select(['dashboard_sessions.id_hash', 'dashboard_sessions.csrf_token', 'dashboard_sessions.expires_at', 'staff.id', 'staff.role', 'staff.display_name', 'staff.active'])
    .where('dashboard_sessions.id_hash', '=', sha256(sessionId))
    .executeTakeFirst();
  if (!row || !row.active || row.expires_at.getTime() <= Date.now()) return null;
  const principal = await staffPrincipal(db, { id: row.id, role: row.role, display_name: row.display_name }, 'session');
  return { ...principal, csrfToken: row.csrf_token };
}

export async function destroySession(db: Db, sessionId: string): Promise<void> {
  await db.deleteFrom('dashboard_sessions').where('id_hash', '=', sha256(sessionId)).execute();
}

/** Email + password check; null for any failure (no hint which part was wrong). */
export async function checkLogin(db: Db, email: string, password: string): Promise<{ staffId: string } | null> {
  const row = await db.selectFrom('staff').select(['id', 'password_hash', 'active']).where('email', '=', email.trim().toLowerCase()).executeTakeFirst();
  // Verify against a dummy hash when the account is unknown, so timing does not reveal which emails exist.
  const ok = await verifyPassword(password, row?.password_hash ?? DUMMY_HASH);
  if (!row || !row.active || !row.password_hash || !ok) return null;
  return { staffId: row.id };
}

const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$' + 'A'.repeat(86);

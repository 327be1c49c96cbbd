// Accounts a clinic can run, within the caller's clinic scope (src/auth/scope.ts): create staff and
// API tokens, change a staff member's role, clinics, name or whether they may log in, reset a
// password (a generated one, shown once), change one's own password. Scope can be narrowed, never
// widened: a principal limited to some clinics creates and manages only staff and tokens of those
// clinics, and nothing that reaches every clinic. Every change is in the audit trail.
//
// What stops at once: deactivating a staff member ends their dashboard sessions and revokes their
// API tokens (a later reactivation restores neither: they log in again, and get new tokens); a
// password reset or change ends every session of that person; a change of role or clinics revokes
// their tokens that the new role and clinics no longer cover (sessions follow the staff row on every
// request already).
import { type Expression, type SqlBool, sql } from 'kysely';
import { appendAudit } from '../db/audit';
import type { Db } from '../db/connect';
import type { StaffRole } from '../db/schema';
import { AppError, invalidInput } from '../errors';
import { assertPasswordAllowed } from './password-policy';
import { actorOf, type Principal } from './roles';
import { assertAllClinics, assertCanManageStaff, assertClinicInScope, canSeeStaff, staffScope } from './scope';
import { generatePassword, hashPassword, verifyPassword } from './secrets';
import { createApiToken, type CreateTokenInput, type TokenInfo } from './tokens';

export interface StaffRecord {
  id: string;
  email: string;
  displayName: string;
  role: StaffRole;
  active: boolean;
  clinicIds: string[];
  phone: string | null;
}

export async function loadStaff(db: Db, id: string): Promise<StaffRecord | undefined> {
  const row = await db.selectFrom('staff').select(['id', 'email', 'display_name', 'role', 'active', 'phone']).where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  const clinics = await db.selectFrom('staff_clinics').select('clinic_id').where('staff_id', '=', id).orderBy('clinic_id').execute();
  return { id: row.id, email: row.email, displayName: row.display_name, role: row.role, active: row.active, clinicIds: clinics.map((c) => c.clinic_id), phone: row.phone };
}

/** Who did it, for the audit entry's detail (identifiers only). */
const by = (p: Principal) => ({ role: p.role, via: p.via, ...(p.tokenId ? { tokenId: p.tokenId } : {}) });

async function audit(db: Db, principal: Principal, action: string, clinicIds: readonly string[], detail: Record<string, unknown>): Promise<void> {
  // One clinic on the entry (the audit log is filtered by clinic): the first of the subject's clinics
  // that the actor can see; none for an every-clinic subject.
  const clinicId = clinicIds.find((c) => principal.clinics === 'all' || principal.clinics.includes(c)) ?? null;
  await appendAudit(db, { actor: actorOf(principal), action, clinicId, detail: { ...detail, by: by(principal) } });
}

/** 404 (as for a missing record) unless the staff member exists and is visible; 403 if visible but not fully in scope. */
export async function staffToManage(db: Db, principal: Principal, id: string): Promise<StaffRecord> {
  const staff = await loadStaff(db, id);
  if (!staff) throw new AppError('not_found', `staff member ${id} not found`);
  assertCanManageStaff(principal, staff);
  return staff;
}

/**
 * The clinics a principal may give a staff member: every id in its scope (403 otherwise, the clinic
 * not named), existing, and, for a principal limited to some clinics, at least one (it cannot create
 * or leave staff with no clinic, nor an admin with no clinic, who would reach every clinic).
 */
async function checkGrantableClinics(db: Db, principal: Principal, clinicIds: readonly string[], role: StaffRole): Promise<void> {
  for (const c of clinicIds) assertClinicInScope(principal, c, 'clinicIds');
  if (clinicIds.length) {
    const found = await db.selectFrom('clinics').select('id').where('id', 'in', [...clinicIds]).execute();
    const missing = clinicIds.filter((c) => !found.some((f) => f.id === c));
    if (missing.length) throw invalidInput(missing.map((c) => ({ field: 'clinicIds', message: `no clinic ${c}` })));
  }
  if (principal.clinics !== 'all' && clinicIds.length === 0) {
    throw invalidInput([{ field: 'clinicIds', message: 'name at least one of your clinics: your access is limited to some clinics, so you cannot give access to every clinic or to none' }]);
  }
  if (staffScope({ role, clinicIds }) === 'all') assertAllClinics(principal, 'an admin with no clinic (access to every clinic)');
}

/** Scope checks for a new staff member (the insert itself is createStaff in src/api/routes/staff.ts). */
export async function checkNewStaff(db: Db, principal: Principal, body: { role: StaffRole; clinicIds: readonly string[] }): Promise<void> {
  await checkGrantableClinics(db, principal, body.clinicIds, body.role);
}

export async function auditStaffCreated(db: Db, principal: Principal, staff: { id: string; role: StaffRole; clinicIds: readonly string[] }): Promise<void> {
  await audit(db, principal, 'staff.create', staff.clinicIds, { staffId: staff.id, role: staff.role, clinicIds: staff.clinicIds });
}

export interface StaffChange {
  active?: boolean;
  role?: StaffRole;
  displayName?: string;
  clinicIds?: string[];
  /** Work phone (null clears it), printed on the REMS monitoring form. */
  phone?: string | null;
}

/** Revokes the staff member's live tokens that their role and clinics no longer cover (all of them when inactive). */
async function revokeTokensBeyond(db: Db, staff: { id: string; role: StaffRole; active: boolean; clinicIds: readonly string[] }): Promise<number> {
  const scope = staffScope(staff);
  let q = db.updateTable('api_tokens').set({ revoked_at: new Date() }).where('staff_id', '=', staff.id).where('revoked_at', 'is', null);
  if (staff.active) {
    q = q.where((eb) => {
      const beyond: Expression<SqlBool>[] = [eb('role', '!=', staff.role)];
      if (scope !== 'all') beyond.push(eb('clinic_id', 'is', null), scope.length ? eb('clinic_id', 'not in', [...scope]) : sql<boolean>`true`);
      return eb.or(beyond);
    });
  }
  const res = await q.executeTakeFirst();
  return Number(res.numUpdatedRows);
}

async function endSessions(db: Db, staffId: string): Promise<number> {
  const res = await db.deleteFrom('dashboard_sessions').where('staff_id', '=', staffId).executeTakeFirst();
  return Number(res.numDeletedRows);
}

/** PATCH /api/staff/:id and the dashboard's staff controls. */
export async function updateStaff(db: Db, principal: Principal, id: string, change: StaffChange): Promise<{ staff: StaffRecord; sessionsEnded: number; tokensRevoked: number }> {
  const staff = await staffToManage(db, principal, id);
  const self = principal.staffId === staff.id;
  const problems: Array<{ field: string; message: string }> = [];
  if (self && change.active === false) problems.push({ field: 'active', message: 'you cannot deactivate yourself: another admin can' });
  if (self && change.role !== undefined && change.role !== staff.role) problems.push({ field: 'role', message: 'you cannot change your own role: another admin can' });
  if (problems.length) throw invalidInput(problems);
  const role = change.role ?? staff.role;
  const clinicIds = change.clinicIds ? [...new Set(change.clinicIds)].sort() : staff.clinicIds;
  if (change.clinicIds || change.role !== undefined) await checkGrantableClinics(db, principal, clinicIds, role);
  const active = change.active ?? staff.active;

  const clinicsChanged = change.clinicIds !== undefined && clinicIds.join('\u0000') !== staff.clinicIds.join('\u0000');
  const changed = [
    ...(change.active !== undefined && change.active !== staff.active ? ['active'] : []),
    ...(change.role !== undefined && change.role !== staff.role ? ['role'] : []),
    ...(change.displayName !== undefined && change.displayName !== staff.displayName ? ['displayName'] : []),
    ...(change.phone !== undefined && change.phone !== staff.phone ? ['phone'] : []),
    ...(clinicsChanged ? ['clinicIds'] : []),
  ];
  let sessionsEnded = 0;
  let tokensRevoked = 0;
  await db.transaction().execute(async (trx) => {
    if (changed.some((c) => c !== 'clinicIds')) {
      await trx
        .updateTable('staff')
        .set({ active, role, ...(change.displayName !== undefined ? { display_name: change.displayName } : {}), ...(change.phone !== undefined ? { phone: change.phone } : {}) })
        .where('id', '=', staff.id)
        .execute();
    }
    if (clinicsChanged) {
      await trx.deleteFrom('staff_clinics').where('staff_id', '=', staff.id).execute();
      if (clinicIds.length) await trx.insertInto('staff_clinics').values(clinicIds.map((clinic_id) => ({ staff_id: staff.id, clinic_id }))).execute();
    }
    if (!active) sessionsEnded = await endSessions(trx, staff.id);
    if (changed.length) tokensRevoked = await revokeTokensBeyond(trx, { id: staff.id, role, active, clinicIds });
  });
  const after = (await loadStaff(db, staff.id))!;
  if (changed.length) {
    await audit(db, principal, after.active !== staff.active ? (after.active ? 'staff.reactivate' : 'staff.deactivate') : 'staff.update', [...new Set([...staff.clinicIds, ...after.clinicIds])], {
      staffId: staff.id,
      changed,
      ...(changed.includes('role') ? { role: { from: staff.role, to: after.role } } : {}),
      ...(changed.includes('clinicIds') ? { clinicIds: { from: staff.clinicIds, to: after.clinicIds } } : {}),
      ...(changed.includes('active') ? { active: after.active } : {}),
      sessionsEnded,
      tokensRevoked,
    });
  }
  return { staff: after, sessionsEnded, tokensRevoked };
}

/** An admin resets another's password: a generated one, returned once; every session of theirs ends. */
export async function resetStaffPassword(db: Db, principal: Principal, id: string): Promise<{ staff: StaffRecord; password: string; sessionsEnded: number }> {
  const staff = await staffToManage(db, principal, id);
  if (principal.staffId === staff.id) throw invalidInput([{ field: 'id', message: 'to change your own password use POST /api/me/password (it asks for the current one)' }]);
  const password = generatePassword();
  const hash = await hashPassword(password);
  let sessionsEnded = 0;
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('staff').set({ password_hash: hash }).where('id', '=', staff.id).execute();
    sessionsEnded = await endSessions(trx, staff.id);
  });
  await audit(db, principal, 'staff.password.reset', staff.clinicIds, { staffId: staff.id, sessionsEnded });
  return { staff, password, sessionsEnded };
}

/** Change one's own password: the current one, then the policy; every session of the person ends (log in again). */
export async function changeOwnPassword(db: Db, principal: Principal, body: { currentPassword: string; newPassword: string }): Promise<{ sessionsEnded: number }> {
  if (!principal.staffId) throw new AppError('forbidden', 'this API token belongs to no staff member, so it has no password to change');
  const row = await db.selectFrom('staff').select(['id', 'email', 'display_name', 'password_hash', 'active']).where('id', '=', principal.staffId).executeTakeFirst();
  if (!row || !row.active) throw new AppError('unauthenticated', 'your account is not active');
  if (!row.password_hash || !(await verifyPassword(body.currentPassword, row.password_hash))) throw invalidInput([{ field: 'currentPassword', message: 'is not your current password' }]);
  if (body.newPassword === body.currentPassword) throw invalidInput([{ field: 'newPassword', message: 'must differ from the current password' }]);
  assertPasswordAllowed(body.newPassword, { email: row.email, displayName: row.display_name }, 'newPassword');
  const hash = await hashPassword(body.newPassword);
  let sessionsEnded = 0;
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('staff').set({ password_hash: hash }).where('id', '=', row.id).execute();
    sessionsEnded = await endSessions(trx, row.id);
  });
  const clinics = await db.selectFrom('staff_clinics').select('clinic_id').where('staff_id', '=', row.id).orderBy('clinic_id').execute();
  await audit(db, principal, 'staff.password.change', clinics.map((c) => c.clinic_id), { staffId: row.id, sessionsEnded });
  return { sessionsEnded };
}

export interface TokenRequest {
  role: StaffRole;
  clinicId?: string;
  staffId?: string;
  label?: string;
  expiresAt?: Date | null;
}

/**
 * POST /api/tokens within the caller's scope. The token's clinic: the one named (in scope), or, when
 * omitted, the caller's only clinic; every clinic only for a caller whose scope is every clinic. A
 * token for a staff member carries that member's role and reaches no further than they do.
 */
export async function createTokenAs(db: Db, principal: Principal, req: TokenRequest): Promise<{ token: string; info: TokenInfo }> {
  let clinicId: string | null;
  if (req.clinicId) {
    assertClinicInScope(principal, req.clinicId);
    clinicId = req.clinicId;
  } else if (principal.clinics === 'all') clinicId = null;
  else if (principal.clinics.length === 1) clinicId = principal.clinics[0]!;
  else throw invalidInput([{ field: 'clinicId', message: 'required: your access covers several clinics (or none), so name the one clinic the token is for' }]);

  if (req.staffId) {
    const staff = await loadStaff(db, req.staffId);
    // A staff member the caller cannot see is answered as one that does not exist.
    if (!staff || !canSeeStaff(principal, staff)) throw invalidInput([{ field: 'staffId', message: `no staff member ${req.staffId}` }]);
    const problems: Array<{ field: string; message: string }> = [];
    if (!staff.active) problems.push({ field: 'staffId', message: 'this staff member is deactivated' });
    if (req.role !== staff.role) problems.push({ field: 'role', message: `must be the staff member's role (${staff.role}): a token acts as its staff member` });
    const scope = staffScope(staff);
    if (clinicId === null && scope !== 'all') problems.push({ field: 'clinicId', message: "required: this staff member's access does not cover every clinic; name one of their clinics" });
    if (clinicId !== null && scope !== 'all' && !scope.includes(clinicId)) problems.push({ field: 'clinicId', message: 'must be one of the staff member’s clinics' });
    if (problems.length) throw invalidInput(problems);
  }
  const input: CreateTokenInput = { role: req.role, clinicId, staffId: req.staffId ?? null, label: req.label, expiresAt: req.expiresAt ?? null };
  const created = await createApiToken(db, input);
  await audit(db, principal, 'token.create', clinicId ? [clinicId] : [], { tokenId: created.info.id, role: created.info.role, clinicId, staffId: created.info.staffId });
  return created;
}

export async function auditTokenRevoked(db: Db, principal: Principal, info: TokenInfo): Promise<void> {
  await audit(db, principal, 'token.revoke', info.clinicId ? [info.clinicId] : [], { tokenId: info.id, role: info.role, clinicId: info.clinicId, staffId: info.staffId });
}

/** POST /api/clinics: only a principal whose scope is every clinic creates clinics. */
export async function auditClinicCreated(db: Db, principal: Principal, clinicId: string): Promise<void> {
  await appendAudit(db, { actor: actorOf(principal), action: 'clinic.create', clinicId, detail: { by: by(principal) } });
}

/** A clinic's settings changed (name, time zone, REMS healthcare setting): which fields, with before and after. */
export async function auditClinicUpdated(db: Db, principal: Principal, clinicId: string, changes: Record<string, { from: unknown; to: unknown }>): Promise<void> {
  await appendAudit(db, { actor: actorOf(principal), action: 'clinic.update', clinicId, detail: { changes, by: by(principal) } });
}

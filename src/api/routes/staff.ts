import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { auditStaffCreated, checkNewStaff, resetStaffPassword, updateStaff } from '../../auth/accounts';
import { canSeeStaff, clinicFilter, type Principal, visibleClinicIds } from '../../auth/roles';
import { generatePassword, hashPassword } from '../../auth/secrets';
import { passwordPolicyCheck } from '../../auth/password-policy';
import type { Db } from '../../db/connect';
import { AppError, invalidInput, notFound } from '../../errors';
import type { ApiDeps } from '../context';
import { apiRoute } from '../route';
import { IdParams, StaffRoleSchema } from '../schemas';

export const CreateStaffBody = z.strictObject({
  email: z.email().max(254),
  displayName: z.string().trim().min(1).max(200),
  role: StaffRoleSchema,
  clinicIds: z.array(z.string().min(1).max(100)).max(100).default([]),
  phone: z.string().trim().regex(/^\+?[0-9 ()-]{7,20}$/, 'a phone number such as +1 555 010 0199').optional().describe('work phone, printed as the monitoring clinician\'s on the REMS form'),
  password: z.string().min(12, 'at least 12 characters').max(200).optional().describe('omitted = a generated password, returned once; else checked by the password policy (src/auth/password-policy.ts)'),
}).superRefine(passwordPolicyCheck);

export const StaffView = z.object({ id: z.string(), email: z.string(), displayName: z.string(), role: StaffRoleSchema, active: z.boolean(), clinicIds: z.array(z.string()), canLogIn: z.boolean(), createdAt: z.string(), phone: z.string().nullable() });

export async function staffWithClinics(db: Db, where?: { id?: string; clinics?: string[] }) {
  let q = db.selectFrom('staff').selectAll().orderBy('display_name');
  if (where?.id) q = q.where('id', '=', where.id);
  const rows = await q.execute();
  const links = rows.length ? await db.selectFrom('staff_clinics').selectAll().where('staff_id', 'in', rows.map((r) => r.id)).execute() : [];
  return rows
    .map((r) => ({
      id: r.id,
      email: r.email,
      displayName: r.display_name,
      role: r.role,
      active: r.active,
      clinicIds: links.filter((l) => l.staff_id === r.id).map((l) => l.clinic_id),
      canLogIn: !!r.password_hash,
      createdAt: r.created_at.toISOString(),
      phone: r.phone,
    }))
    .filter((s) => !where?.clinics || s.clinicIds.some((c) => where.clinics!.includes(c)));
}

export async function createStaff(db: Db, body: z.infer<typeof CreateStaffBody>) {
  const email = body.email.trim().toLowerCase();
  if (body.clinicIds.length) {
    const found = await db.selectFrom('clinics').select('id').where('id', 'in', body.clinicIds).execute();
    const missing = body.clinicIds.filter((c) => !found.some((f) => f.id === c));
    if (missing.length) throw invalidInput(missing.map((c) => ({ field: 'clinicIds', message: `no clinic ${c}` })));
  }
  const exists = await db.selectFrom('staff').select('id').where('email', '=', email).executeTakeFirst();
  if (exists) throw new AppError('conflict', `a staff member with email ${email} already exists`);
  const password = body.password ?? generatePassword();
  const id = `staff-${crypto.randomUUID().slice(0, 8)}`;
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('staff').values({ id, email, display_name: body.displayName, role: body.role, password_hash: await hashPassword(password), phone: body.phone ?? null }).execute();
    if (body.clinicIds.length) await trx.insertInto('staff_clinics').values(body.clinicIds.map((clinic_id) => ({ staff_id: id, clinic_id }))).execute();
  });
  const [staff] = await staffWithClinics(db, { id });
  return { staff: staff!, ...(body.password ? {} : { initialPassword: password }) };
}

/**
 * Creates a staff member within the principal's scope (src/auth/accounts.ts: clinics in scope, and a
 * principal limited to some clinics names at least one and never creates an admin with no clinic),
 * audited as `staff.create`.
 */
export async function createStaffAs(db: Db, principal: Principal, body: z.infer<typeof CreateStaffBody>) {
  await checkNewStaff(db, principal, body);
  const created = await createStaff(db, body);
  await auditStaffCreated(db, principal, created.staff);
  return { ...created, staff: scopedView(principal, created.staff) };
}

/** Staff as a principal may see them: only the clinics in its own scope are named. */
export const scopedView = <T extends { clinicIds: string[] }>(principal: Principal, staff: T): T => ({ ...staff, clinicIds: visibleClinicIds(principal, staff.clinicIds) });

/** The staff the principal may see (src/auth/scope.ts canSeeStaff), with their clinics as it may see them. */
export async function staffInScope(db: Db, principal: Principal) {
  const clinics = clinicFilter(principal);
  return (await staffWithClinics(db, clinics ? { clinics } : undefined)).filter((s) => canSeeStaff(principal, s)).map((s) => scopedView(principal, s));
}

export const UpdateStaffBody = z
  .strictObject({
    active: z.boolean().optional().describe('false = deactivate: their sessions end and their API tokens are revoked at once; true = reactivate (they log in again)'),
    role: StaffRoleSchema.optional(),
    displayName: z.string().trim().min(1).max(200).optional(),
    clinicIds: z.array(z.string().min(1).max(100)).max(100).optional().describe('replaces their clinics; within yours'),
    phone: z.string().trim().regex(/^\+?[0-9 ()-]{7,20}$/, 'a phone number such as +1 555 010 0199').nullable().optional().describe('work phone (null clears it), printed as the monitoring clinician\'s on the REMS form'),
  })
  .refine((v) => Object.keys(v).length > 0, { message: 'nothing to change: send active, role, displayName, clinicIds or phone', path: [] });

export function staffRoutes(app: FastifyInstance, { db }: ApiDeps): void {
  apiRoute(
    app,
    { method: 'POST', url: '/api/staff', tag: 'organisation', summary: 'Create a staff member who can log in to the dashboard, in your clinics', body: CreateStaffBody, status: 201, errors: [409], response: z.object({ staff: StaffView, initialPassword: z.string().optional() }) },
    async ({ body, principal }) => createStaffAs(db, principal, body),
  );
  apiRoute(app, { method: 'GET', url: '/api/staff', tag: 'organisation', summary: 'Staff in your clinics', response: z.object({ staff: z.array(StaffView) }) }, async ({ principal }) => ({ staff: await staffInScope(db, principal) }));
  apiRoute(app, { method: 'GET', url: '/api/staff/:id', tag: 'organisation', summary: 'One staff member (404 outside your clinics)', params: IdParams, errors: [404], response: StaffView }, async ({ params, principal }) => {
    const [staff] = await staffWithClinics(db, { id: params.id });
    if (!staff || !canSeeStaff(principal, staff)) throw notFound(`staff member ${params.id}`);
    return scopedView(principal, staff);
  });
  apiRoute(
    app,
    {
      method: 'PATCH',
      url: '/api/staff/:id',
      tag: 'organisation',
      summary: 'Deactivate or reactivate a staff member, change their role, name or clinics (within your clinics; not your own role or active state)',
      params: IdParams,
      body: UpdateStaffBody,
      errors: [404],
      response: z.object({ staff: StaffView, sessionsEnded: z.number(), tokensRevoked: z.number() }),
    },
    async ({ params, body, principal }) => {
      const { sessionsEnded, tokensRevoked } = await updateStaff(db, principal, params.id, body);
      const [staff] = await staffWithClinics(db, { id: params.id });
      return { staff: scopedView(principal, staff!), sessionsEnded, tokensRevoked };
    },
  );
  apiRoute(
    app,
    {
      method: 'POST',
      url: '/api/staff/:id/reset-password',
      tag: 'organisation',
      summary: "Reset a staff member's password to a generated one, in this response only; their sessions end",
      params: IdParams,
      errors: [404],
      response: z.object({ staff: StaffView, password: z.string().describe('shown once: give it to them; they should change it'), sessionsEnded: z.number() }),
    },
    async ({ params, principal }) => {
      const { password, sessionsEnded } = await resetStaffPassword(db, principal, params.id);
      const [staff] = await staffWithClinics(db, { id: params.id });
      return { staff: scopedView(principal, staff!), password, sessionsEnded };
    },
  );
}

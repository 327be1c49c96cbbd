import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { auditClinicCreated, auditClinicUpdated } from '../../auth/accounts';
import { assertAllClinics, assertRecordInScope } from '../../auth/roles';
import type { Clinic } from '../../db/schema';
import { notFound } from '../../errors';
import { clinicsInScopeQuery } from '../clinics-in-scope';
import type { ApiDeps } from '../context';
import { apiRoute } from '../route';
import { ClinicId, IdParams } from '../schemas';

export const CreateClinicBody = z.strictObject({
  id: ClinicId.optional(),
  name: z.string().trim().min(1).max(200),
  timezone: z
    .string()
    .min(1)
    .max(64)
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'unknown IANA time zone')
    .default('UTC'),
});

export const ClinicView = z.object({
  id: z.string(),
  name: z.string(),
  timezone: z.string(),
  createdAt: z.string(),
  remsSettingName: z.string().nullable().describe("the healthcare setting's name as certified with the Spravato REMS (null: the clinic's name)"),
  address: z.string().nullable().describe("the healthcare setting's address, printed on the REMS monitoring form"),
  phone: z.string().nullable().describe("the clinic's phone number, on the client's form's crisis card (null: \"contact <clinic>\")"),
});
export const clinicView = (c: Clinic) => ({ id: c.id, name: c.name, timezone: c.timezone, createdAt: c.created_at.toISOString(), remsSettingName: c.rems_setting_name, address: c.address, phone: c.phone });

/** The clinic settings its admin may change (issue #20: the REMS form's healthcare setting). */
export const UpdateClinicBody = z
  .strictObject({
    name: CreateClinicBody.shape.name.optional(),
    timezone: CreateClinicBody.shape.timezone.unwrap().optional(),
    remsSettingName: z.string().trim().min(1).max(200).nullable().optional().describe("the setting's name as certified with the Spravato REMS; null: the clinic's name"),
    address: z.string().trim().min(1).max(500).nullable().optional().describe("the setting's street address, city, state and ZIP; null clears it"),
    phone: z
      .string()
      .trim()
      .regex(/^\+?[0-9][0-9 ().-]{5,28}[0-9]$/, 'must be a phone number: digits, spaces, ( ) . - and an optional leading +')
      .nullable()
      .optional()
      .describe("the clinic's phone number for clients, shown on the crisis card of their forms; null clears it"),
  })
  .refine((v) => Object.keys(v).length > 0, { message: 'nothing to change: send name, timezone, remsSettingName, address or phone', path: [] });

export function clinicRoutes(app: FastifyInstance, { db }: ApiDeps): void {
  apiRoute(app, { method: 'POST', url: '/api/clinics', tag: 'organisation', summary: 'Create a clinic (idempotent on id); admins whose access covers every clinic only', body: CreateClinicBody, response: ClinicView, status: 201 }, async ({ body, reply, principal }) => {
    assertAllClinics(principal, 'creating a clinic');
    const id = body.id ?? `clinic-${crypto.randomUUID().slice(0, 8)}`;
    const row = await db.insertInto('clinics').values({ id, name: body.name, timezone: body.timezone }).onConflict((oc) => oc.column('id').doNothing()).returningAll().executeTakeFirst();
    if (row) await auditClinicCreated(db, principal, row.id);
    if (!row) {
      reply.code(200);
      return clinicView(await db.selectFrom('clinics').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
    }
    return clinicView(row);
  });

  apiRoute(app, { method: 'GET', url: '/api/clinics', tag: 'organisation', summary: 'Clinics in your scope', response: z.object({ clinics: z.array(ClinicView) }) }, async ({ principal }) => {
    return { clinics: (await clinicsInScopeQuery(db, principal).selectAll().execute()).map(clinicView) };
  });

  apiRoute(
    app,
    { method: 'PATCH', url: '/api/clinics/:id', tag: 'organisation', summary: "Change a clinic's settings (name, time zone, phone, the REMS healthcare setting's name and address); the clinic's admins; audited with before and after", params: IdParams, body: UpdateClinicBody, errors: [404], response: ClinicView },
    async ({ params, body, principal }) => {
      const row = await db.selectFrom('clinics').selectAll().where('id', '=', params.id).executeTakeFirst();
      if (!row) throw notFound(`clinic ${params.id}`);
      assertRecordInScope(principal, row.id, `clinic ${params.id}`);
      const next = {
        name: body.name ?? row.name,
        timezone: body.timezone ?? row.timezone,
        rems_setting_name: body.remsSettingName !== undefined ? body.remsSettingName : row.rems_setting_name,
        address: body.address !== undefined ? body.address : row.address,
        phone: body.phone !== undefined ? body.phone : row.phone,
      };
      const changes = Object.fromEntries((Object.keys(next) as Array<keyof typeof next>).filter((k) => next[k] !== row[k]).map((k) => [k, { from: row[k], to: next[k] }]));
      if (!Object.keys(changes).length) return clinicView(row);
      const updated = await db.updateTable('clinics').set(next).where('id', '=', row.id).returningAll().executeTakeFirstOrThrow();
      await auditClinicUpdated(db, principal, row.id, changes);
      return clinicView(updated);
    },
  );

  apiRoute(app, { method: 'GET', url: '/api/clinics/:id', tag: 'organisation', summary: 'One clinic', params: IdParams, errors: [404], response: ClinicView }, async ({ params, principal }) => {
    const row = await db.selectFrom('clinics').selectAll().where('id', '=', params.id).executeTakeFirst();
    if (!row) throw notFound(`clinic ${params.id}`);
    assertRecordInScope(principal, row.id, `clinic ${params.id}`);
    return clinicView(row);
  });
}

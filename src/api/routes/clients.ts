import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { invalidInput, notFound } from '../../errors';
import type { ApiDeps } from '../context';
import { parse } from '../validation';

const idParam = z.object({ id: z.string().min(1).max(100) });

export const CreateClientBody = z.strictObject({
  clinicId: z.string().min(1).max(100),
  givenName: z.string().trim().min(1).max(100),
  familyName: z.string().trim().min(1).max(100),
  email: z.email().max(254),
  phone: z.string().regex(/^\+?[0-9 ()-]{7,20}$/, 'a phone number such as +1 555 010 0199').optional(),
  dateOfBirth: z.iso.date().optional(),
  externalRef: z.string().min(1).max(100).optional(),
});

export function clientView(row: { id: string; clinic_id: string; given_name: string; family_name: string; email: string; phone: string | null; date_of_birth: Date | null; external_ref: string | null; created_at: Date }) {
  return {
    id: row.id,
    clinicId: row.clinic_id,
    givenName: row.given_name,
    familyName: row.family_name,
    email: row.email,
    phone: row.phone,
    dateOfBirth: row.date_of_birth ? row.date_of_birth.toISOString().slice(0, 10) : null,
    externalRef: row.external_ref,
    createdAt: row.created_at.toISOString(),
  };
}

export function clientRoutes(app: FastifyInstance, { db }: ApiDeps): void {
  app.post('/api/clients', async (req, reply) => {
    const body = parse(CreateClientBody, req.body);
    const clinic = await db.selectFrom('clinics').select('id').where('id', '=', body.clinicId).executeTakeFirst();
    if (!clinic) throw invalidInput([{ field: 'clinicId', message: `no clinic ${body.clinicId}` }]);
    if (body.dateOfBirth && body.dateOfBirth > new Date().toISOString().slice(0, 10)) {
      throw invalidInput([{ field: 'dateOfBirth', message: 'must not be in the future' }]);
    }
    if (body.externalRef) {
      const existing = await db.selectFrom('clients').selectAll().where('clinic_id', '=', body.clinicId).where('external_ref', '=', body.externalRef).executeTakeFirst();
      if (existing) return reply.code(200).send(clientView(existing));
    }
    const row = await db
      .insertInto('clients')
      .values({
        id: crypto.randomUUID(),
        clinic_id: body.clinicId,
        given_name: body.givenName,
        family_name: body.familyName,
        email: body.email,
        phone: body.phone ?? null,
        date_of_birth: body.dateOfBirth ?? null,
        external_ref: body.externalRef ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return reply.code(201).send(clientView(row));
  });

  app.get('/api/clients/:id', async (req) => {
    const { id } = parse(idParam, req.params, 'params');
    const row = await db.selectFrom('clients').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`client ${id}`);
    return clientView(row);
  });
}

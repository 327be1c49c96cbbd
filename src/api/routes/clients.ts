import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { assertClinicInScope, assertRecordInScope, clinicFilter, type Principal } from '../../auth/roles';
import { recordClientRead } from '../../db/audit';
import type { Db } from '../../db/connect';
import type { Client } from '../../db/schema';
import { invalidInput, notFound } from '../../errors';
import type { ApiDeps } from '../context';
import { apiRoute } from '../route';
import { IdParams, Limit } from '../schemas';

export const CreateClientBody = z.strictObject({
  clinicId: z.string().min(1).max(100),
  givenName: z.string().trim().min(1).max(100),
  familyName: z.string().trim().min(1).max(100),
  email: z.email().max(254),
  phone: z.string().regex(/^\+?[0-9 ()-]{7,20}$/, 'a phone number such as +1 555 010 0199').optional(),
  dateOfBirth: z.iso.date().optional(),
  externalRef: z.string().min(1).max(100).optional(),
  sex: z.enum(['female', 'male', 'unknown']).optional().describe('as the Spravato REMS monitoring form asks it'),
});

export const ClientView = z.object({
  id: z.string(),
  clinicId: z.string(),
  givenName: z.string(),
  familyName: z.string(),
  email: z.string(),
  phone: z.string().nullable(),
  dateOfBirth: z.string().nullable(),
  externalRef: z.string().nullable(),
  sex: z.enum(['female', 'male', 'unknown']).nullable(),
  createdAt: z.string(),
});

export function clientView(row: Client) {
  return {
    id: row.id,
    clinicId: row.clinic_id,
    givenName: row.given_name,
    familyName: row.family_name,
    email: row.email,
    phone: row.phone,
    dateOfBirth: row.date_of_birth ? row.date_of_birth.toISOString().slice(0, 10) : null,
    externalRef: row.external_ref,
    sex: row.sex,
    createdAt: row.created_at.toISOString(),
  };
}

/** The client, or 404 (also when outside the caller's clinics: the same answer as a missing client). */
export async function loadClient(db: Db, principal: Principal, id: string): Promise<Client> {
  const row = await db.selectFrom('clients').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound(`client ${id}`);
  assertRecordInScope(principal, row.clinic_id, `client ${id}`);
  return row;
}

/** Creates a client (idempotent on clinic + externalRef): `created` false when it already existed. */
export async function createClient(db: Db, principal: Principal, body: z.infer<typeof CreateClientBody>): Promise<{ client: Client; created: boolean }> {
  // Scope before existence: a clinic outside the caller's is 403 whether or not it exists.
  assertClinicInScope(principal, body.clinicId);
  const clinic = await db.selectFrom('clinics').select('id').where('id', '=', body.clinicId).executeTakeFirst();
  if (!clinic) throw invalidInput([{ field: 'clinicId', message: `no clinic ${body.clinicId}` }]);
  if (body.dateOfBirth && body.dateOfBirth > new Date().toISOString().slice(0, 10)) {
    throw invalidInput([{ field: 'dateOfBirth', message: 'must not be in the future' }]);
  }
  if (body.externalRef) {
    const existing = await db.selectFrom('clients').selectAll().where('clinic_id', '=', body.clinicId).where('external_ref', '=', body.externalRef).executeTakeFirst();
    if (existing) return { client: existing, created: false };
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
      sex: body.sex ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { client: row, created: true };
}

export const ListClientsQuery = z.strictObject({
  clinicId: z.string().min(1).max(100).optional(),
  q: z.string().trim().min(1).max(100).optional().describe('part of a name, email or external reference'),
  limit: Limit,
});

export async function listClients(db: Db, principal: Principal, query: z.infer<typeof ListClientsQuery>): Promise<Client[]> {
  const clinics = clinicFilter(principal, query.clinicId);
  let q = db.selectFrom('clients').selectAll().orderBy('family_name').orderBy('given_name').limit(query.limit);
  if (clinics) q = clinics.length ? q.where('clinic_id', 'in', clinics) : q.where(({ lit }) => lit(false));
  if (query.q) {
    const like = `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where((eb) => eb.or([eb('given_name', 'ilike', like), eb('family_name', 'ilike', like), eb('email', 'ilike', like), eb('external_ref', 'ilike', like)]));
  }
  return q.execute();
}

export function clientRoutes(app: FastifyInstance, { db }: ApiDeps): void {
  apiRoute(
    app,
    { method: 'POST', url: '/api/clients', tag: 'clients', summary: 'Create a client (idempotent on clinicId + externalRef: 200 with the existing client)', body: CreateClientBody, status: 201, response: ClientView },
    async ({ body, principal, reply }) => {
      const { client, created } = await createClient(db, principal, body);
      if (!created) reply.code(200);
      return clientView(client);
    },
  );
  apiRoute(app, { method: 'GET', url: '/api/clients', tag: 'clients', summary: 'Clients in your clinics, by name', query: ListClientsQuery, response: z.object({ clients: z.array(ClientView) }) }, async ({ query, principal }) => ({
    clients: (await listClients(db, principal, query)).map(clientView),
  }));
  apiRoute(app, { method: 'GET', url: '/api/clients/:id', tag: 'clients', summary: 'One client', params: IdParams, errors: [404], response: ClientView }, async ({ params, principal }) => {
    const client = await loadClient(db, principal, params.id);
    await recordClientRead(db, principal, { clientId: client.id, clinicId: client.clinic_id, what: 'api client' });
    return clientView(client);
  });
}

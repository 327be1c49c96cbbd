import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { notFound } from '../../errors';
import type { ApiDeps } from '../context';
import { parse } from '../validation';

const idParam = z.object({ id: z.string().min(1).max(100) });

export const CreateClinicBody = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lowercase letters, digits and dashes, 2-63 characters').optional(),
  name: z.string().trim().min(1).max(200),
  timezone: z.string().min(1).max(64).refine((tz) => {
    try { new Intl.DateTimeFormat('en', { timeZone: tz }); return true; } catch { return false; }
  }, 'unknown IANA time zone').default('UTC'),
});

export function clinicRoutes(app: FastifyInstance, { db }: ApiDeps): void {
  app.post('/api/clinics', async (req, reply) => {
    const body = parse(CreateClinicBody, req.body);
    const id = body.id ?? `clinic-${crypto.randomUUID().slice(0, 8)}`;
    const row = await db.insertInto('clinics').values({ id, name: body.name, timezone: body.timezone }).onConflict((oc) => oc.column('id').doNothing()).returningAll().executeTakeFirst();
    if (!row) {
      const existing = await db.selectFrom('clinics').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      return reply.code(200).send(existing);
    }
    return reply.code(201).send(row);
  });
  app.get('/api/clinics', async () => ({ clinics: await db.selectFrom('clinics').selectAll().orderBy('name').execute() }));
  app.get('/api/clinics/:id', async (req) => {
    const { id } = parse(idParam, req.params, 'params');
    const row = await db.selectFrom('clinics').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`clinic ${id}`);
    return row;
  });
}

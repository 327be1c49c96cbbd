// FHIR R4 export over HTTP: a client's whole record, or one course, as a Bundle (application/fhir+json).
// Clinic-scoped like every client read, and every export is in the audit trail as a staff read of
// the client's record (an export is the widest read there is).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { assertRecordInScope, type Principal } from '../auth/roles';
import { recordClientRead } from '../db/audit';
import type { Db } from '../db/connect';
import { notFound } from '../errors';
import type { ApiDeps } from '../api/context';
import { apiRoute } from '../api/route';
import { IdParams } from '../api/schemas';
import { buildFhirBundle } from './bundle';
import { loadFhirExport } from './load';
import { DEFAULT_SYSTEM_BASE } from './model';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/**
 * The base of our canonical URLs, identifier systems and local code systems: FHIR_SYSTEM_BASE, a stable
 * setting (never the public URL, which changes with the clinic's address), with a fixed default.
 */
export const fhirSystemBase = (configured: string | undefined) => (configured ?? DEFAULT_SYSTEM_BASE).replace(/\/+$/, '');

async function auditExport(db: Db, principal: Principal, clinicId: string, clientId: string, courseId: string | null): Promise<void> {
  await recordClientRead(db, principal, { clinicId, clientId, courseId, what: courseId ? 'fhir-export-course' : 'fhir-export-client' });
}

const BundleBody = z.object({ resourceType: z.literal('Bundle'), type: z.literal('collection'), entry: z.array(z.unknown()) }).loose();

export function fhirRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { db } = deps;
  const base = fhirSystemBase(deps.config.FHIR_SYSTEM_BASE);
  apiRoute(
    app,
    { method: 'GET', url: '/api/clients/:id/fhir', tag: 'fhir', summary: "The client's record as a FHIR R4 Bundle (Patient, Questionnaires and responses, score Observations, a CarePlan with Tasks per course)", params: IdParams, errors: [404], response: BundleBody },
    async ({ params, principal, reply }) => {
      const client = await db.selectFrom('clients').select(['id', 'clinic_id']).where('id', '=', params.id).executeTakeFirst();
      if (!client) throw notFound(`client ${params.id}`);
      assertRecordInScope(principal, client.clinic_id, `client ${params.id}`);
      const bundle = buildFhirBundle(await loadFhirExport(db, client.id), { systemBase: base });
      await auditExport(db, principal, client.clinic_id, client.id, null);
      return reply.type(FHIR_JSON).send(JSON.stringify(bundle));
    },
  );
  apiRoute(
    app,
    { method: 'GET', url: '/api/courses/:id/fhir', tag: 'fhir', summary: 'One course as a FHIR R4 Bundle (Patient, Questionnaires and responses, score Observations, the CarePlan with a Task per step)', params: IdParams, errors: [404], response: BundleBody },
    async ({ params, principal, reply }) => {
      const course = await db.selectFrom('courses').select(['id', 'client_id', 'clinic_id']).where('id', '=', params.id).executeTakeFirst();
      if (!course) throw notFound(`course ${params.id}`);
      assertRecordInScope(principal, course.clinic_id, `course ${params.id}`);
      const bundle = buildFhirBundle(await loadFhirExport(db, course.client_id, [course.id]), { systemBase: base });
      await auditExport(db, principal, course.clinic_id, course.client_id, course.id);
      return reply.type(FHIR_JSON).send(JSON.stringify(bundle));
    },
  );
}

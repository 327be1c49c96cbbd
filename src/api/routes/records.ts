// Read-side routes over the clinic's record: timeline, scores, assessment and safety queues, outcomes.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { assertRecordInScope, clinicFilter } from '../../auth/roles';
import { recordClientRead } from '../../db/audit';
import { notFound } from '../../errors';
import type { AppDeps } from '../context';
import { clinicOutcomes, OutcomesQuery } from '../outcomes';
import { assessmentQueue, clientScores, clientTimeline, safetyQueue } from '../records';
import { apiRoute } from '../route';
import { IdParams, iso } from '../schemas';
import { loadClient } from './clients';
import { loadCourse } from './courses';

const ClinicQuery = z.strictObject({ clinicId: z.string().min(1).max(100).optional() });

const AssessmentView = z.object({ id: z.string(), courseId: z.string(), stepKey: z.string(), instrumentId: z.string(), status: z.string(), trigger: z.string(), invitedAt: z.string(), expiresAt: z.string(), completedAt: z.string().nullable(), total: z.number().nullable(), band: z.string().nullable(), critical: z.boolean() });

export function recordRoutes(app: FastifyInstance, { db }: AppDeps): void {
  apiRoute(
    app,
    {
      method: 'GET',
      url: '/api/clients/:id/timeline',
      tag: 'clients',
      summary: "A client's timeline: every step and event of every course, oldest first",
      params: IdParams,
      errors: [404],
      response: z.object({ clientId: z.string(), entries: z.array(z.object({ at: z.string(), courseId: z.string(), type: z.string(), stepKey: z.string().nullable(), actor: z.string().nullable(), summary: z.string(), detail: z.record(z.string(), z.unknown()) })) }),
    },
    async ({ params, principal }) => {
      const client = await loadClient(db, principal, params.id);
      await recordClientRead(db, principal, { clientId: client.id, clinicId: client.clinic_id, what: 'api timeline' });
      return { clientId: client.id, entries: await clientTimeline(db, client.id) };
    },
  );
  apiRoute(
    app,
    {
      method: 'GET',
      url: '/api/clients/:id/scores',
      tag: 'assessments',
      summary: "A client's scores over time per instrument, with baseline, response and remission",
      params: IdParams,
      query: z.strictObject({ courseId: z.string().min(1).max(100).optional() }),
      errors: [404],
    },
    async ({ params, query, principal }) => {
      const client = await loadClient(db, principal, params.id);
      await recordClientRead(db, principal, { clientId: client.id, clinicId: client.clinic_id, courseId: query.courseId ?? null, what: 'api scores' });
      return { clientId: client.id, instruments: await clientScores(db, client.id, query.courseId) };
    },
  );
  apiRoute(
    app,
    { method: 'GET', url: '/api/courses/:id/assessments', tag: 'assessments', summary: 'Every assessment of a course (one row per instrument), newest first', params: IdParams, errors: [404], response: z.object({ assessments: z.array(AssessmentView) }) },
    async ({ params, principal }) => {
      const { course } = await loadCourse(db, principal, params.id);
      await recordClientRead(db, principal, { clientId: course.client_id, clinicId: course.clinic_id, courseId: course.id, what: 'api assessments' });
      const rows = await db.selectFrom('assessments').selectAll().where('course_id', '=', course.id).orderBy('invited_at', 'desc').execute();
      return {
        assessments: rows.map((r) => ({ id: r.id, courseId: r.course_id, stepKey: r.step_key, instrumentId: r.instrument_id, status: r.status, trigger: r.trigger, invitedAt: r.invited_at.toISOString(), expiresAt: r.expires_at.toISOString(), completedAt: iso(r.completed_at), total: r.total, band: r.band, critical: r.critical })),
      };
    },
  );
  apiRoute(
    app,
    { method: 'GET', url: '/api/assessments', tag: 'assessments', summary: 'Assessments overdue, missed, awaiting answers, and courses due one soon', query: ClinicQuery.extend({ status: z.enum(['overdue', 'missed', 'awaiting', 'due-soon']).optional() }) },
    async ({ query, principal }) => {
      const items = await assessmentQueue(db, clinicFilter(principal, query.clinicId));
      return { items: query.status ? items.filter((i) => i.status === query.status) : items };
    },
  );
  apiRoute(app, { method: 'GET', url: '/api/safety', tag: 'queues', summary: 'The safety queue: open safety holds and recent adverse events awaiting review', query: ClinicQuery }, async ({ query, principal }) => ({
    items: await safetyQueue(db, clinicFilter(principal, query.clinicId)),
  }));
  apiRoute(
    app,
    { method: 'GET', url: '/api/clinics/:id/outcomes', tag: 'organisation', summary: 'PHQ-9, GAD-7 and PCL-5 response and remission of completed courses, per protocol, for courses enrolled from/to (YYYY-MM-DD), each beside a published figure for the route of administration where there is one', params: IdParams, query: OutcomesQuery, errors: [404] },
    async ({ params, query, principal }) => {
      const clinic = await db.selectFrom('clinics').select('id').where('id', '=', params.id).executeTakeFirst();
      if (!clinic) throw notFound(`clinic ${params.id}`);
      assertRecordInScope(principal, clinic.id, `clinic ${params.id}`);
      return clinicOutcomes(db, clinic.id, query);
    },
  );
}

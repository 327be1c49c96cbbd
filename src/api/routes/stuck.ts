import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { clinicFilter } from '../../auth/roles';
import type { AppDeps } from '../context';
import { apiRoute } from '../route';
import { stuckBoard } from '../stuck';

export const StuckQuery = z.strictObject({
  clinicId: z.string().min(1).max(100).optional(),
  step: z.string().min(1).max(100).optional().describe('a step kind (clearance) or key (dose-2)'),
  owner: z.string().min(1).max(100).optional().describe("an owner role (prescriber), a staff id, or 'system'"),
  limit: z.coerce.number().int().min(1).max(1000).default(500),
  refresh: z.enum(['true', 'false']).optional().describe('true = ask Temporal about failing work now instead of using the cached result'),
});

export const StuckItemView = z.object({
  type: z.enum(['deadline', 'system', 'safety']),
  courseId: z.string().nullable().describe("null for a clinic's configuration problem (no active prescriber, therapist or coordinator)"),
  clientId: z.string().nullable(),
  clientName: z.string().nullable(),
  clinicId: z.string(),
  stepKey: z.string().nullable(),
  stepKind: z.string().nullable(),
  stepName: z.string().optional().describe("the step's name in the course's plan (\"Booster session 1\" for booster-1)"),
  owner: z.object({ role: z.string().nullable(), staffId: z.string().nullable(), name: z.string().nullable() }),
  deadlineAt: z.string().nullable(),
  stuckSince: z.string().nullable(),
  ageSeconds: z.number().nullable(),
  escalationLevel: z.number(),
  escalationsFailed: z.number().optional().describe('escalation emails about this step that reached nobody (failed, blocked, uncertain)'),
  webhookSubscriptionId: z.string().optional().describe('a subscription whose deliveries were given up on: POST /api/webhooks/:id/redeliver'),
  problem: z.string(),
  action: z.object({ id: z.string(), label: z.string(), roles: z.array(z.string()) }).nullable(),
});

export function stuckRoutes(app: FastifyInstance, deps: AppDeps): void {
  apiRoute(
    app,
    { method: 'GET', url: '/api/stuck', tag: 'queues', summary: 'Every stuck course: steps past their deadline, system work failing in Temporal, escalations and safety alerts that reached nobody, clinics missing a role, webhook deliveries given up on', query: StuckQuery, response: z.object({ items: z.array(StuckItemView), count: z.number(), hidden: z.number().describe('items of your whole board (all your clinics, any step, any owner) that the filters hide') }) },
    async ({ query, principal }) => {
      const clinics = clinicFilter(principal, query.clinicId);
      if (query.refresh === 'true') await deps.systemHealth.refresh();
      const items = await stuckBoard(deps.db, deps.systemHealth, { clinics, step: query.step, owner: query.owner, limit: query.limit });
      // What the filters hide: an empty filtered board must not read as "nothing is stuck".
      const filtered = query.clinicId !== undefined || query.step !== undefined || query.owner !== undefined;
      const hidden = filtered ? Math.max(0, (await stuckBoard(deps.db, deps.systemHealth, { clinics: clinicFilter(principal), limit: query.limit })).length - items.length) : 0;
      return { items, count: items.length, hidden };
    },
  );
}

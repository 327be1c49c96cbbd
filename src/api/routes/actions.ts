// One route per entry of the action catalogue (src/domain/actions/catalogue.ts): POST
// /api/courses/:id/<action>, body validated by its zod schema, allowed roles from the role matrix
// (derived from the catalogue), 409 with the workflow's reason for an invalid transition.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ACTIONS, ACTION_NAMES } from '../../domain/actions/catalogue';
import { performAction } from '../actions';
import type { AppDeps } from '../context';
import { apiRoute } from '../route';
import { IdParams } from '../schemas';

export const ActionResultView = z.object({
  outcome: z.string(),
  reasons: z.array(z.object({ code: z.string(), message: z.string(), blocking: z.boolean() })).optional(),
  assessmentId: z.string().optional(),
  state: z.record(z.string(), z.unknown()).describe("the course's state after the action"),
});

export function actionRoutes(app: FastifyInstance, deps: AppDeps): void {
  for (const action of ACTION_NAMES) {
    apiRoute(
      app,
      { method: 'POST', url: `/api/courses/:id/${action}`, tag: 'staff actions', summary: ACTIONS[action].summary, params: IdParams, body: ACTIONS[action].schema as z.ZodType, errors: [404, 409, 422], response: ActionResultView },
      async ({ params, body, principal }) => performAction(deps, principal, params.id, action, body as Record<string, unknown>),
    );
  }
}

// One route per entry of the action catalogue (src/domain/actions/catalogue.ts): POST
// /api/courses/:id/<action>, body validated by its zod schema, allowed roles from the role matrix
// (derived from the catalogue), 409 with the workflow's reason for an invalid transition.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ACTIONS, ACTION_NAMES } from '../../domain/actions/catalogue';
import { getCourse } from '../../client/courses';
import { performAction } from '../actions';
import type { AppDeps } from '../context';
import { apiRoute } from '../route';
import { IdParams } from '../schemas';
import { CourseView, courseDetail } from './courses';

/**
 * A staff action's answer: the course's acknowledgement (outcome, the rule's reasons, the ids of what
 * it created, `seq`: the course's event counter after it) and the course as read back from PostgreSQL
 * once the action's projection was written (the same body as GET /api/courses/:id).
 */
export const ActionResultView = z.object({
  outcome: z.string(),
  reasons: z.array(z.object({ code: z.string(), message: z.string(), blocking: z.boolean() })).optional(),
  ids: z.record(z.string(), z.string()).optional().describe('what the action created, e.g. assessmentId for send-assessment'),
  seq: z.number().int().describe("the course's event counter after this action (its timeline's seq)"),
  course: CourseView.describe('the course after the action, read from the database (as GET /api/courses/:id)'),
});

export function actionRoutes(app: FastifyInstance, deps: AppDeps): void {
  for (const action of ACTION_NAMES) {
    apiRoute(
      app,
      { method: 'POST', url: `/api/courses/:id/${action}`, tag: 'staff actions', summary: ACTIONS[action].summary, params: IdParams, body: ACTIONS[action].schema as z.ZodType, errors: [404, 409, 422], response: ActionResultView },
      async ({ params, body, principal }) => {
        const ack = await performAction(deps, principal, params.id, action, body as Record<string, unknown>);
        const { course, steps } = await getCourse(deps.db, params.id);
        return { ...ack, course: await courseDetail(deps.db, course, steps) };
      },
    );
  }
}

// One route per staff action: POST /api/courses/:id/<action>, body validated by its zod schema,
// allowed roles from the role matrix, 409 with the workflow's reason for an invalid transition.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { CourseAction } from '../../auth/role-matrix';
import { ACTION_SCHEMAS, ACTION_SUMMARIES, TriggerAssessmentBody } from '../action-schemas';
import { performAction, sendAssessmentNow } from '../actions';
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
  for (const action of Object.keys(ACTION_SCHEMAS) as CourseAction[]) {
    apiRoute(
      app,
      { method: 'POST', url: `/api/courses/:id/${action}`, tag: 'staff actions', summary: ACTION_SUMMARIES[action], params: IdParams, body: ACTION_SCHEMAS[action] as z.ZodType, errors: [404, 409, 422], response: ActionResultView },
      async ({ params, body, principal }) => performAction(deps, principal, params.id, action, body as Record<string, unknown>),
    );
  }
  apiRoute(
    app,
    { method: 'POST', url: '/api/courses/:id/assessments', tag: 'assessments', summary: 'Send an assessment now (the client gets an email with a signed link)', params: IdParams, body: TriggerAssessmentBody, status: 201, errors: [404, 409], response: ActionResultView },
    async ({ params, body, principal }) => sendAssessmentNow(deps, principal, params.id, body),
  );
}

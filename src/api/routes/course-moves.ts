// GET /api/courses/:id/move-preview?version=N: what moving a running course to another published
// version of its protocol would do from where it stands (steps added, removed, re-timed; done steps
// kept), and whether it may move now and why not (src/api/course-moves.ts). The move itself is the
// `move-version` staff action (POST /api/courses/:id/move-version { version, reason }), which the
// course workflow's validator checks by the same rule.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { assertActionAllowed } from '../actions';
import type { AppDeps } from '../context';
import { previewCourseMove } from '../course-moves';
import { apiRoute } from '../route';
import { IdParams } from '../schemas';

const Step = z.object({ stepKey: z.string(), name: z.string(), kind: z.string() });
export const MovePreviewView = z.object({
  courseId: z.string(),
  clientId: z.string(),
  from: z.string().describe('the version the course follows, e.g. kap-office@1'),
  to: z.string().nullable().describe('the target, or null when the clinic has no published version of its own'),
  currentVersion: z.number().int(),
  versions: z.array(z.number().int()).describe("the clinic's published versions of the protocol, newest first"),
  allowed: z.boolean(),
  refusals: z.array(z.object({ code: z.string(), message: z.string(), clinical: z.boolean() })).describe('why the course may not move now (empty when allowed)'),
  added: z.array(Step.extend({ beforeCurrent: z.boolean(), text: z.string() })).describe('steps of the new version the course never had: pending'),
  removed: z.array(Step.extend({ status: z.enum(['pending', 'open']), text: z.string() })).describe('pending or open steps the new version does not have: cancelled'),
  retimed: z.array(Step.extend({ status: z.enum(['pending', 'open']), what: z.enum(['deadline', 'opens']), unit: z.enum(['h', 'days']), from: z.number().nullable(), to: z.number().nullable(), text: z.string() })),
  unchangedDone: z.array(Step),
  keptDone: z.array(Step).describe('done steps the new version does not have: they stay in the record'),
});

export function courseMoveRoutes(app: FastifyInstance, deps: AppDeps): void {
  apiRoute(
    app,
    {
      method: 'GET',
      url: '/api/courses/:id/move-preview',
      tag: 'staff actions',
      summary: "Preview moving a running course to another published version of its protocol (default: the clinic's newest): steps added, removed and re-timed from where the course stands, and whether it may move now (never inside a dosing session or with an open safety hold)",
      params: IdParams,
      query: z.strictObject({ version: z.coerce.number().int().min(1).max(1_000_000).optional() }),
      errors: [404],
      response: MovePreviewView,
    },
    async ({ params, query, principal }) => {
      assertActionAllowed(principal, 'move-version');
      return previewCourseMove(deps.db, principal, params.id, query.version);
    },
  );
}

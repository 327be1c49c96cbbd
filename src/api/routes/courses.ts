import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { actorDetail, actorOf, assertRecordInScope, clinicFilter, type Principal } from '../../auth/roles';
import { enrollClient, getCourse } from '../../client/courses';
import { recordClientRead } from '../../db/audit';
import type { Db } from '../../db/connect';
import type { Course, CourseStep } from '../../db/schema';
import { invalidInput } from '../../errors';
import type { ApiDeps } from '../context';
import { apiRoute } from '../route';
import { IdParams, iso, Limit } from '../schemas';
import { loadClient } from './clients';
import { courseDecisions, pcl5Clusters } from '../decisions';
import { safetyQueue } from '../records';
import { WORKLIST_SORTS, WorklistFilters, worklistCounts, worklistPage, type WorklistRow } from '../worklist';

export const EnrollBody = z.strictObject({
  protocolId: z.string().min(1).max(100),
  protocolVersion: z.number().int().positive().optional(),
  primaryClinicianId: z.string().min(1).max(100).optional(),
  /** Protocol days per real day (simulation and demos); production leaves it at 1. */
  timeScale: z.number().positive().max(864000).optional(),
});

const StepView = z.object({ key: z.string(), kind: z.string(), state: z.string(), ownerRole: z.string().nullable(), ownerStaffId: z.string().nullable(), enteredAt: z.string(), deadlineAt: z.string().nullable(), completedAt: z.string().nullable(), outcome: z.string().nullable() });
export const CourseView = z.object({
  id: z.string(),
  clientId: z.string(),
  clinicId: z.string(),
  workflowId: z.string(),
  protocol: z.object({ id: z.string(), version: z.number() }),
  status: z.string(),
  currentStep: z.string().nullable(),
  currentStepDeadline: z.string().nullable(),
  riskLevel: z.string(),
  primaryClinicianId: z.string().nullable(),
  enrolledAt: z.string(),
  updatedAt: z.string(),
  endedAt: z.string().nullable(),
  endReason: z.string().nullable(),
  steps: z.array(StepView).optional(),
  /** GET /api/courses/:id only: the open safety items, what was decided, and the PCL-5 DSM-5 cluster results. */
  safetyHolds: z.array(z.object({ id: z.string(), kind: z.string(), level: z.string().nullable(), stepKey: z.string().nullable(), at: z.string(), reason: z.string(), suicideRisk: z.boolean(), closesWhen: z.string() })).optional(),
  decisions: z.array(z.object({ at: z.string(), type: z.string(), stepKey: z.string().nullable(), actor: z.string(), summary: z.string(), reason: z.string().nullable(), notesSummary: z.string().nullable() })).optional(),
  pcl5: z
    .array(z.object({ assessmentId: z.string(), stepKey: z.string(), completedAt: z.string().nullable(), total: z.number(), provisionalPtsd: z.boolean(), dsm5CriteriaMet: z.boolean(), clusters: z.record(z.string(), z.object({ endorsed: z.number(), required: z.number(), met: z.boolean(), score: z.number() })) }))
    .optional(),
});

/** The course's open safety items, decisions and PCL-5 cluster results (GET /api/courses/:id). */
export async function courseRecordDetail(db: Db, course: Course) {
  const [holds, decisions, pcl5] = await Promise.all([safetyQueue(db, undefined, new Date(), course.client_id), courseDecisions(db, [course.id]), pcl5Clusters(db, [course.id])]);
  return {
    safetyHolds: holds.filter((h) => h.type === 'safety-hold' && h.courseId === course.id).map((h) => ({ id: h.id, kind: h.kind, level: h.level, stepKey: h.stepKey, at: h.at, reason: h.reason, suicideRisk: h.suicideRisk, closesWhen: h.closesWhen })),
    decisions: decisions.map(({ courseId: _c, ...d }) => d),
    pcl5: pcl5.map(({ courseId: _c, ...p }) => p),
  };
}

export function courseView(course: Course, steps?: CourseStep[]) {
  return {
    id: course.id,
    clientId: course.client_id,
    clinicId: course.clinic_id,
    workflowId: course.workflow_id,
    protocol: { id: course.protocol_id, version: course.protocol_version },
    status: course.status,
    currentStep: course.current_step,
    currentStepDeadline: iso(course.current_step_deadline),
    riskLevel: course.risk_level,
    primaryClinicianId: course.primary_clinician_id,
    enrolledAt: course.enrolled_at.toISOString(),
    updatedAt: course.updated_at.toISOString(),
    endedAt: iso(course.ended_at),
    endReason: course.end_reason,
    ...(steps
      ? {
          steps: steps.map((s) => ({
            key: s.step_key,
            kind: s.kind,
            state: s.state,
            ownerRole: s.owner_role,
            ownerStaffId: s.owner_staff_id,
            enteredAt: s.entered_at.toISOString(),
            deadlineAt: iso(s.deadline_at),
            completedAt: iso(s.completed_at),
            outcome: s.outcome,
          })),
        }
      : {}),
  };
}

/** What GET /api/courses/:id answers, read from PostgreSQL: the course, its steps, open safety items, decisions, PCL-5 clusters. */
export async function courseDetail(db: Db, course: Course, steps: CourseStep[]) {
  return { ...courseView(course, steps), ...(await courseRecordDetail(db, course)) };
}

/** The course (with steps), or 404 (also when outside the caller's clinics). */
export async function loadCourse(db: Db, principal: Principal, id: string) {
  const view = await getCourse(db, id);
  assertRecordInScope(principal, view.course.clinic_id, `course ${id}`);
  return view;
}

export async function enroll(deps: ApiDeps, principal: Principal, clientId: string, body: z.infer<typeof EnrollBody>) {
  const client = await loadClient(deps.db, principal, clientId);
  if (body.primaryClinicianId) {
    const staff = await deps.db.selectFrom('staff').select('id').where('id', '=', body.primaryClinicianId).executeTakeFirst();
    if (!staff) throw invalidInput([{ field: 'primaryClinicianId', message: `no staff member ${body.primaryClinicianId}` }]);
  }
  return enrollClient({ db: deps.db, temporal: deps.temporal, taskQueue: deps.config.TEMPORAL_TASK_QUEUE, eagerStart: deps.config.TEMPORAL_EAGER_START, ...(deps.admission ? { admission: deps.admission } : {}) }, { ...actorOf(principal), detail: actorDetail(principal) }, { ...body, clientId: client.id, clinicId: client.clinic_id });
}

export const ListCoursesQuery = z.strictObject({
  clinicId: z.string().min(1).max(100).optional(),
  clientId: z.string().min(1).max(100).optional(),
  status: z.string().min(1).max(40).optional(),
  open: z.enum(['true', 'false']).optional().describe('true = only courses that have not ended'),
  limit: Limit.describe('courses per page (1-500, default 100)'),
  // The worklist's filters, sort and paging (src/api/worklist.ts), as on the dashboard's /courses.
  ...WorklistFilters.shape,
  counts: z.enum(['true', 'false']).optional().describe('true = also count the courses per filter value (counts)'),
});

const WorklistCountsView = z.object({ total: z.number(), protocol: z.record(z.string(), z.number()), stepKind: z.record(z.string(), z.number()), ownerRole: z.record(z.string(), z.number()), overdue: z.number(), onHold: z.number() });
const WorklistItemView = CourseView.extend({
  clientName: z.string(),
  clinicName: z.string(),
  clinicTimeZone: z.string(),
  stepKind: z.string().nullable().describe('kind of the current step'),
  owner: z.object({ role: z.string().nullable(), staffId: z.string().nullable(), name: z.string().nullable() }).describe('who the current step waits on: the person if assigned, else the role'),
  overdue: z.boolean(),
  openSafetyHolds: z.number(),
});
const ListCoursesView = z.object({
  courses: z.array(WorklistItemView),
  page: z.number(),
  limit: z.number(),
  sort: z.enum(WORKLIST_SORTS),
  hasMore: z.boolean().describe('another page follows'),
  counts: WorklistCountsView.optional(),
});

export function worklistItemView(r: WorklistRow) {
  return { ...courseView(r.course), clientName: r.clientName, clinicName: r.clinicName, clinicTimeZone: r.timeZone, stepKind: r.stepKind, owner: r.owner, overdue: r.overdue, openSafetyHolds: r.openHolds };
}

export function courseRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { db } = deps;
  apiRoute(
    app,
    { method: 'POST', url: '/api/clients/:id/courses', tag: 'courses', summary: 'Enroll a client in a course (idempotent: 200 with the open course if there is one; 503 with Retry-After while too many new courses wait for their first step)', params: IdParams, body: EnrollBody, status: 201, errors: [404, 503], response: CourseView },
    async ({ params, body, principal, reply }) => {
      const { course, created } = await enroll(deps, principal, params.id, body);
      if (!created) reply.code(200);
      return courseView(course);
    },
  );
  apiRoute(app, { method: 'GET', url: '/api/courses/:id', tag: 'courses', summary: 'A course with every step so far', params: IdParams, errors: [404], response: CourseView }, async ({ params, principal }) => {
    const { course, steps } = await loadCourse(db, principal, params.id);
    await recordClientRead(db, principal, { clientId: course.client_id, clinicId: course.clinic_id, courseId: course.id, what: 'api course' });
    return courseDetail(db, course, steps);
  });
  apiRoute(
    app,
    { method: 'GET', url: '/api/courses', tag: 'courses', summary: 'Courses in your clinics (newest first unless sorted): the worklist with its filters, search by client name, sort, paging and counts per filter', query: ListCoursesQuery, response: ListCoursesView },
    async ({ query, principal }) => {
      const { clinicId, open, counts, ...rest } = query;
      const f = { ...rest, clinics: clinicFilter(principal, clinicId), open: open === undefined ? undefined : open === 'true' };
      const now = new Date();
      const [page, c] = await Promise.all([worklistPage(db, f, now), counts === 'true' ? worklistCounts(db, f, now) : undefined]);
      return { courses: page.rows.map(worklistItemView), page: query.page, limit: query.limit, sort: page.sort, hasMore: page.hasMore, ...(c ? { counts: c } : {}) };
    },
  );
  // GET /api/protocols: src/api/routes/protocols.ts (shipped templates and the clinics' own protocols).
}

import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { enrollClient, getCourse } from '../../client/courses';
import type { Course, CourseStep } from '../../db/schema';
import type { ApiDeps } from '../context';
import { parse } from '../validation';

const idParam = z.object({ id: z.string().min(1).max(100) });

export const EnrollBody = z.strictObject({
  protocolId: z.string().min(1).max(100),
  protocolVersion: z.number().int().positive().optional(),
  primaryClinicianId: z.string().min(1).max(100).optional(),
  /** Protocol days per real day (simulation and demos); production leaves it at 1. */
  timeScale: z.number().positive().max(864000).optional(),
});

const iso = (d: Date | null) => (d ? d.toISOString() : null);

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
            enteredAt: s.entered_at.toISOString(),
            deadlineAt: iso(s.deadline_at),
            completedAt: iso(s.completed_at),
            outcome: s.outcome,
          })),
        }
      : {}),
  };
}

export function courseRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const services = { db: deps.db, temporal: deps.temporal, taskQueue: deps.config.TEMPORAL_TASK_QUEUE };

  app.post('/api/clients/:id/courses', async (req, reply) => {
    const { id } = parse(idParam, req.params, 'params');
    const body = parse(EnrollBody, req.body);
    const { course, created } = await enrollClient(services, { type: 'staff', id: null }, { clientId: id, ...body });
    return reply.code(created ? 201 : 200).send(courseView(course));
  });

  app.get('/api/courses/:id', async (req) => {
    const { id } = parse(idParam, req.params, 'params');
    const { course, steps } = await getCourse(deps.db, id);
    return courseView(course, steps);
  });
}

// Enrolling a client in a course and reading a course: the service behind the API and the CLI.
import crypto from 'node:crypto';
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Db } from '../db/connect';
import type { Course, CourseStep } from '../db/schema';
import { getProtocol } from '../domain';
import { AppError, invalidInput, notFound } from '../errors';
import type { CourseInput } from '../workflows/course';

export interface Actor {
  type: 'staff' | 'client' | 'system';
  id: string | null;
}

export interface EnrollInput {
  clientId: string;
  protocolId: string;
  protocolVersion?: number;
  primaryClinicianId?: string;
  timeScale?: number;
}

export interface CourseServiceDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
}

export const courseWorkflowId = (courseId: string) => `course-${courseId}`;

/**
 * Enrolls a client. Idempotent: while the client has an open course, a repeated request returns
 * that course (created = false) and never starts a second workflow.
 */
export async function enrollClient(deps: CourseServiceDeps, actor: Actor, input: EnrollInput): Promise<{ course: Course; created: boolean }> {
  const { db } = deps;
  const protocol = getProtocol(input.protocolId, input.protocolVersion);
  if (!protocol) {
    throw invalidInput([{ field: input.protocolVersion ? 'protocolVersion' : 'protocolId', message: `unknown protocol ${input.protocolId}${input.protocolVersion ? `@${input.protocolVersion}` : ''}` }]);
  }
  const client = await db.selectFrom('clients').select(['id', 'clinic_id']).where('id', '=', input.clientId).executeTakeFirst();
  if (!client) throw notFound(`client ${input.clientId}`);

  const { course, created } = await db.transaction().execute(async (trx) => {
    const open = await trx.selectFrom('courses').selectAll().where('client_id', '=', client.id).where('ended_at', 'is', null).executeTakeFirst();
    if (open) return { course: open, created: false };
    const id = crypto.randomUUID();
    const inserted = await trx
      .insertInto('courses')
      .values({
        id,
        client_id: client.id,
        clinic_id: client.clinic_id,
        workflow_id: courseWorkflowId(id),
        protocol_id: protocol.id,
        protocol_version: protocol.version,
        protocol_snapshot: JSON.stringify(protocol),
        primary_clinician_id: input.primaryClinicianId ?? null,
        current_step: null,
        current_step_deadline: null,
        ended_at: null,
        end_reason: null,
      })
      .onConflict((oc) => oc.column('client_id').where('ended_at', 'is', null).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!inserted) {
      // A concurrent request won the race: return its course.
      const other = await trx.selectFrom('courses').selectAll().where('client_id', '=', client.id).where('ended_at', 'is', null).executeTakeFirstOrThrow();
      return { course: other, created: false };
    }
    await trx
      .insertInto('audit_log')
      .values({ actor_type: actor.type, actor_id: actor.id, action: 'course.enroll', clinic_id: client.clinic_id, client_id: client.id, course_id: id, event_key: null, detail: JSON.stringify({ protocol: `${protocol.id}@${protocol.version}` }) })
      .execute();
    return { course: inserted, created: true };
  });

  // Start (or find) the workflow. Also covers a crash between the insert above and this start.
  const workflowInput: CourseInput = {
    courseId: course.id,
    clientId: course.client_id,
    clinicId: course.clinic_id,
    protocolId: course.protocol_id,
    protocolVersion: course.protocol_version,
    ...(input.timeScale ? { timeScale: input.timeScale } : {}),
  };
  try {
    await deps.temporal.workflow.start('courseWorkflow', {
      taskQueue: deps.taskQueue,
      workflowId: course.workflow_id,
      args: [workflowInput],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  return { course, created };
}

export interface CourseView {
  course: Course;
  steps: CourseStep[];
}

export async function getCourse(db: Db, courseId: string): Promise<CourseView> {
  const course = await db.selectFrom('courses').selectAll().where('id', '=', courseId).executeTakeFirst();
  if (!course) throw notFound(`course ${courseId}`);
  const steps = await db.selectFrom('course_steps').selectAll().where('course_id', '=', courseId).orderBy('entered_at').orderBy('id').execute();
  return { course, steps };
}

export { AppError };

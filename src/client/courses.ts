// Enrolling a client in a course and reading a course: the service behind the API and the CLI.
import crypto from 'node:crypto';
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { sql } from 'kysely';
import type { Db } from '../db/connect';
import type { Course, CourseStep } from '../db/schema';
import { getProtocol, type Protocol } from '../domain';
import { AppError, invalidInput, notFound } from '../errors';
import type { CourseInput } from '../workflows/course';
import { BASELINE } from '../workflows/baseline';

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
  /** Told how long each part of an enrollment took (the benchmark splits the time with it). */
  observeEnrollment?: (t: { insertMs: number; startMs: number }) => void;
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
  const t0 = performance.now();
  const { course, created } = await insertCourse(db, actor, input, protocol);
  const t1 = performance.now();

  // Start (or find) the workflow. Also covers a crash between the insert above and this start.
  const workflowInput: CourseInput = {
    courseId: course.id,
    clientId: course.client_id,
    clinicId: course.clinic_id,
    protocolId: course.protocol_id,
    protocolVersion: course.protocol_version,
    ...(input.timeScale ? { timeScale: input.timeScale } : {}),
    baseline: BASELINE,
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
  deps.observeEnrollment?.({ insertMs: t1 - t0, startMs: performance.now() - t1 });
  return { course, created };
}

/**
 * The course row and its audit entry in one statement (one round trip, atomic): enrollment is the
 * hot path of a clinic's intake and shares the database with every projection the worker writes.
 * While the client has an open course, that course comes back (created = false).
 */
async function insertCourse(db: Db, actor: Actor, input: EnrollInput, protocol: Protocol, attempt = 1): Promise<{ course: Course; created: boolean }> {
  const id = crypto.randomUUID();
  const snapshot = JSON.stringify(protocol);
  const detail = JSON.stringify({ protocol: `${protocol.id}@${protocol.version}` });
  const { rows } = await sql<Course & { created: boolean }>`
    with client as (
      select id, clinic_id from clients where id = ${input.clientId}
    ), ins as (
      insert into courses (id, client_id, clinic_id, workflow_id, protocol_id, protocol_version, protocol_snapshot, primary_clinician_id)
      select ${id}, client.id, client.clinic_id, ${courseWorkflowId(id)}, ${protocol.id}, ${protocol.version}, ${snapshot}::jsonb, ${input.primaryClinicianId ?? null}
      from client
      on conflict (client_id) where ended_at is null do nothing
      returning *
    ), audit as (
      insert into audit_log (actor_type, actor_id, action, clinic_id, client_id, course_id, detail)
      select ${actor.type}, ${actor.id}, 'course.enroll', ins.clinic_id, ins.client_id, ins.id, ${detail}::jsonb from ins
    )
    select ins.*, true as created from ins
    union all
    select courses.*, false as created from courses
    where courses.client_id = ${input.clientId} and courses.ended_at is null and not exists (select 1 from ins)`.execute(db);
  const row = rows[0];
  if (row) {
    const { created, ...course } = row;
    return { course: course as Course, created };
  }
  // No client, or a concurrent enrollment committed after this statement's snapshot was taken.
  const client = await db.selectFrom('clients').select('id').where('id', '=', input.clientId).executeTakeFirst();
  if (!client) throw notFound(`client ${input.clientId}`);
  const open = await db.selectFrom('courses').selectAll().where('client_id', '=', input.clientId).where('ended_at', 'is', null).executeTakeFirst();
  if (open) return { course: open, created: false };
  if (attempt >= 3) throw new Error(`enrollment of client ${input.clientId} kept racing with other enrollments`);
  return insertCourse(db, actor, input, protocol, attempt + 1);
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

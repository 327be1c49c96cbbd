// Enrolling a client in a course and reading a course: the service behind the API and the CLI.
import crypto from 'node:crypto';
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { sql } from 'kysely';
import { inSnapshot, type Db } from '../db/connect';
import { GroupCommit } from '../db/group-commit';
import type { Course, CourseStep } from '../db/schema';
import { getProtocol, type Protocol } from '../domain';
import { AppError, invalidInput, notFound } from '../errors';
import { requestsEagerStart } from './temporal';
import type { CourseInput } from '../workflows/course';
import { courseWorkflowId } from '../workflows/workflow-ids';
import type { EnrollmentAdmission } from './admission';
import { resolveProtocol } from './protocol-store';

export interface Actor {
  type: 'staff' | 'client' | 'system' | 'token';
  id: string | null;
  /** Recorded in the audit entry's detail: the principal's role, token id and label (src/auth/roles.ts actorDetail). */
  detail?: Record<string, unknown>;
}

export interface EnrollInput {
  clientId: string;
  /** The client's clinic, when the caller has read the client (the API has, for its scope check): admission shares the backlog by clinic. */
  clinicId?: string;
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
  observeEnrollment?: (t: { insertMs: number; startMs: number; /** The server handed the first task to a worker on the client's connection. */ eager: boolean }) => void;
  /** Back-pressure (src/client/admission.ts): refuses, before anything is written, while too many new courses wait for their first step. */
  admission?: EnrollmentAdmission;
  /** The parsed TEMPORAL_EAGER_START (default on): whether a start on a worker's connection asks for eager start. */
  eagerStart?: 'on' | 'off';
}

export { courseWorkflowId };

/**
 * Enrolls a client. Idempotent: while the client has an open course, a repeated request returns
 * that course (created = false) and never starts a second workflow.
 */
export async function enrollClient(deps: CourseServiceDeps, actor: Actor, input: EnrollInput): Promise<{ course: Course; created: boolean }> {
  const { db } = deps;
  // Shed first: a refusal under overload must cost nothing the workers need (no database read), or
  // the refusals themselves take the capacity past the knee (docs/performance.md). An enrollment
  // admitted and then refused for its protocol counts as waiting until the next read (refreshMs).
  if (deps.admission) await deps.admission.admit(input.clinicId ?? (await clinicOfClient(db, input.clientId)));
  // The clinic's own protocol from the store (the version it chose for new enrolments), else the
  // shipped one, is picked by the statement that writes the course (src/client/protocol-store.ts).
  const t0 = performance.now();
  const { course, created } = await insertCourse(db, actor, input);
  const t1 = performance.now();

  // Start (or find) the workflow. Also covers a crash between the insert above and this start. The
  // workflow gets the protocol snapshot stored with the course (validated when the registry built it,
  // or when the clinic's version was published): it never loads a protocol by id itself.
  const workflowInput: CourseInput = {
    courseId: course.id,
    clientId: course.client_id,
    clinicId: course.clinic_id,
    protocol: course.protocol_snapshot as Protocol,
    ...(input.timeScale ? { timeScale: input.timeScale } : {}),
  };
  let eager = false;
  try {
    const handle = await deps.temporal.workflow.start('courseWorkflow', {
      taskQueue: deps.taskQueue,
      workflowId: course.workflow_id,
      args: [workflowInput],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      // In `npm start` the first task goes straight to the worker in this process (src/client/temporal.ts).
      requestEagerStart: requestsEagerStart(deps.temporal, deps.eagerStart),
    });
    eager = handle.eagerlyStarted === true;
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  deps.observeEnrollment?.({ insertMs: t1 - t0, startMs: performance.now() - t1, eager });
  return { course, created };
}

/** One enrollment's row, as written by `writeCourseRows`. */
interface CourseRowRequest {
  id: string;
  clientId: string;
  protocolId: string;
  /** The version asked for; none: the clinic's choice for new enrollments. */
  protocolVersion: number | null;
  /** The shipped protocol of that id (and version, when asked for): used when the clinic's store has none. */
  shipped: Protocol | null;
  primaryClinicianId: string | null;
  actor: Actor;
}

/** The course written (created) or the client's open course found (not created); null: neither. */
type CourseRowResult = { course: Course; created: boolean } | null;

/**
 * The course rows and their audit entries of several enrollments in one statement (one round trip,
 * atomic per statement). Enrollment is the hot path of a clinic's intake and shares the database
 * with every projection the worker writes; concurrent enrollments are grouped (`GroupCommit`) so a
 * burst costs one round trip per group, not one each, on the embedded database's one connection.
 *
 * The same statement picks each course's protocol as `resolveProtocol` (src/client/protocol-store.ts)
 * does: the clinic's published version (the one asked for, else the clinic's choice for new
 * enrollments), else the shipped one; the snapshot it stores is what the workflow gets. A published
 * version never changes (migration 0008), so reading it here is reading it before the insert.
 *
 * A request whose client has an open course (already, or from an earlier request of the same
 * group) gets that course back; one whose client is missing, or whose protocol is found neither in
 * the clinic's store nor shipped, gets null (`insertCourse` tells which).
 */
async function writeCourseRows(db: Db, reqs: CourseRowRequest[]): Promise<CourseRowResult[]> {
  const col = <T>(f: (r: CourseRowRequest) => T) => reqs.map(f);
  const { rows } = await sql<Course & { created: boolean }>`
    with input as (
      select * from unnest(
        ${col((r) => r.id)}::text[], ${col((r) => r.clientId)}::text[], ${col((r) => courseWorkflowId(r.id))}::text[],
        ${col((r) => r.protocolId)}::text[], ${col((r) => r.protocolVersion)}::int[],
        ${col((r) => r.shipped?.version ?? null)}::int[], ${col((r) => (r.shipped ? JSON.stringify(r.shipped) : null))}::text[],
        ${col((r) => r.primaryClinicianId)}::text[], ${col((r) => r.actor.type)}::text[], ${col((r) => r.actor.id)}::text[],
        ${col((r) => JSON.stringify(r.actor.detail ? { by: r.actor.detail } : {}))}::text[]
      ) with ordinality as t(id, client_id, workflow_id, protocol_id, asked_version, shipped_version, shipped, primary_clinician_id, actor_type, actor_id, by_detail, ord)
    ), resolved as (
      select input.*, clients.clinic_id,
        coalesce(v.version, input.shipped_version) as protocol_version,
        coalesce(v.definition, input.shipped::jsonb) as snapshot
      from input join clients on clients.id = input.client_id
      left join lateral (
        select pv.version, pv.definition from protocol_versions pv
        where pv.clinic_id = clients.clinic_id and pv.protocol_id = input.protocol_id and pv.status = 'published'
          and pv.version = coalesce(input.asked_version, (select c.version from clinic_protocol_choices c where c.clinic_id = clients.clinic_id and c.protocol_id = input.protocol_id))
      ) v on true
    ), ins as (
      insert into courses (id, client_id, clinic_id, workflow_id, protocol_id, protocol_version, protocol_snapshot, primary_clinician_id)
      select resolved.id, resolved.client_id, resolved.clinic_id, resolved.workflow_id, resolved.protocol_id, resolved.protocol_version, resolved.snapshot, resolved.primary_clinician_id
      from resolved
      where resolved.snapshot is not null
      order by resolved.ord
      on conflict (client_id) where ended_at is null do nothing
      returning *
    ), audit as (
      insert into audit_log (actor_type, actor_id, action, clinic_id, client_id, course_id, detail)
      select resolved.actor_type, resolved.actor_id, 'course.enroll', ins.clinic_id, ins.client_id, ins.id,
        jsonb_build_object('protocol', ins.protocol_id || '@' || ins.protocol_version) || resolved.by_detail::jsonb
      from ins join resolved on resolved.id = ins.id
      order by resolved.ord
    )
    select ins.*, true as created from ins
    union all
    select courses.*, false as created from courses
    where courses.ended_at is null
      and courses.client_id in (select client_id from resolved where snapshot is not null)
      and courses.client_id not in (select client_id from ins)`.execute(db);
  const created = new Map<string, Course>();
  const openByClient = new Map<string, Course>();
  for (const { created: isNew, ...course } of rows) {
    if (isNew) created.set(course.id, course as Course);
    openByClient.set(course.client_id, course as Course);
  }
  return reqs.map((r) => {
    const mine = created.get(r.id);
    if (mine) return { course: mine, created: true };
    const open = openByClient.get(r.clientId);
    return open ? { course: open, created: false } : null;
  });
}

const courseWriters = new WeakMap<Db, GroupCommit<CourseRowRequest, CourseRowResult>>();

/** The course row and its audit entry; concurrent enrollments on one database share a statement. */
function writeCourseRow(db: Db, req: CourseRowRequest): Promise<CourseRowResult> {
  // Inside a caller's transaction the row must be written on that transaction, by itself.
  if (db.isTransaction) return writeCourseRows(db, [req]).then((r) => r[0]!);
  let writer = courseWriters.get(db);
  if (!writer) courseWriters.set(db, (writer = new GroupCommit((reqs) => writeCourseRows(db, reqs))));
  return writer.submit(req);
}

/** The client's clinic, for admission when the caller did not give it ('' for no such client: the enrollment then fails on it). */
async function clinicOfClient(db: Db, clientId: string): Promise<string> {
  return (await db.selectFrom('clients').select('clinic_id').where('id', '=', clientId).executeTakeFirst())?.clinic_id ?? '';
}

/**
 * The course row and its audit entry, written together, with the protocol the clinic enrolls on
 * (`writeCourseRows`). While the client has an open course, that course comes back (created = false).
 */
async function insertCourse(db: Db, actor: Actor, input: EnrollInput, attempt = 1): Promise<{ course: Course; created: boolean }> {
  const written = await writeCourseRow(db, {
    id: crypto.randomUUID(),
    clientId: input.clientId,
    protocolId: input.protocolId,
    protocolVersion: input.protocolVersion ?? null,
    shipped: getProtocol(input.protocolId, input.protocolVersion) ?? null,
    primaryClinicianId: input.primaryClinicianId ?? null,
    actor,
  });
  if (written) return written;
  // An unknown protocol, no client, or a concurrent enrollment committed after this statement's
  // snapshot was taken. The protocol first, as the API has always answered (400 before 404).
  if (!(await resolveProtocol(db, input.clientId, input.protocolId, input.protocolVersion))) {
    throw invalidInput([{ field: input.protocolVersion ? 'protocolVersion' : 'protocolId', message: `unknown protocol ${input.protocolId}${input.protocolVersion ? `@${input.protocolVersion}` : ''}` }]);
  }
  const client = await db.selectFrom('clients').select('id').where('id', '=', input.clientId).executeTakeFirst();
  if (!client) throw notFound(`client ${input.clientId}`);
  const open = await db.selectFrom('courses').selectAll().where('client_id', '=', input.clientId).where('ended_at', 'is', null).executeTakeFirst();
  if (open) return { course: open, created: false };
  if (attempt >= 3) throw new Error(`enrollment of client ${input.clientId} kept racing with other enrollments`);
  return insertCourse(db, actor, input, attempt + 1);
}

export interface CourseView {
  course: Course;
  steps: CourseStep[];
}

/** The course row alone (no steps): what a check before an action needs; one statement, not a snapshot of two. */
export async function getCourseRow(db: Db, courseId: string): Promise<Course> {
  const course = await db.selectFrom('courses').selectAll().where('id', '=', courseId).executeTakeFirst();
  if (!course) throw notFound(`course ${courseId}`);
  return course;
}

export function getCourse(db: Db, courseId: string): Promise<CourseView> {
  // One snapshot: the projection writes a transition's steps and the course row in one statement.
  return inSnapshot(db, async (db) => {
    const course = await getCourseRow(db, courseId);
    const steps = await db.selectFrom('course_steps').selectAll().where('course_id', '=', courseId).orderBy('entered_at').orderBy('id').execute();
    return { course, steps };
  });
}

export { AppError };

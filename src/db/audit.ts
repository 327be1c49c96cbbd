// The audit trail: who did what to which client's record and when, including staff reads.
// audit_log is append-only in the database itself (a trigger refuses UPDATE / DELETE / TRUNCATE for
// every role; on a real server the application's role, kap_app, holds only INSERT and SELECT on it:
// migration 0003). These are the only functions that write or read it outside migrations.
import { type QueryCreator, sql } from 'kysely';
import type { Db } from './connect';
import type { AuditEntry, Database } from './schema';

export type AuditActorType = 'staff' | 'client' | 'system';

export interface AuditRecord {
  actor: { type: AuditActorType; id: string | null };
  /** Dotted verb, e.g. `course.enroll`, `client.read`, `email.sent`, `assessment.submit`. */
  action: string;
  clinicId?: string | null;
  clientId?: string | null;
  courseId?: string | null;
  /** Idempotency key: a second append with the same key is ignored (retried activities, replays). */
  eventKey?: string | null;
  /** Identifiers and codes only: never answers, scores, notes or contact details. */
  detail?: Record<string, unknown>;
  /** Event time when it differs from the insert time (workflow time); defaults to now(). */
  at?: Date | string;
}

/** The INSERT of one entry (idempotent by eventKey), for use alone or inside a larger statement. */
export function auditInsert(qc: QueryCreator<Database>, rec: AuditRecord) {
  return (
    qc
      .insertInto('audit_log')
      .values({
        actor_type: rec.actor.type,
        actor_id: rec.actor.id,
        action: rec.action,
        clinic_id: rec.clinicId ?? null,
        client_id: rec.clientId ?? null,
        course_id: rec.courseId ?? null,
        event_key: rec.eventKey ?? null,
        detail: JSON.stringify(rec.detail ?? {}),
        ...(rec.at ? { at: rec.at } : {}),
      })
      // DO NOTHING never updates, so the append-only trigger is not involved.
      .onConflict((oc) => oc.column('event_key').doNothing())
  );
}

/** Appends one entry; with an eventKey, at most once. Returns whether a row was written. */
export async function appendAudit(db: Db, rec: AuditRecord): Promise<boolean> {
  const row = await auditInsert(db, rec).returning('id').executeTakeFirst();
  return row !== undefined;
}

/** A staff member looked at a client's record (the compliance officer's "who saw what"). */
export function recordStaffRead(db: Db, read: { staffId: string; clientId: string; clinicId: string; courseId?: string | null; what: string }): Promise<boolean> {
  return appendAudit(db, {
    actor: { type: 'staff', id: read.staffId },
    action: 'client.read',
    clinicId: read.clinicId,
    clientId: read.clientId,
    courseId: read.courseId ?? null,
    detail: { what: read.what },
  });
}

export interface AuditView {
  id: number;
  at: string;
  actor: { type: AuditActorType; id: string | null };
  action: string;
  clinicId: string | null;
  clientId: string | null;
  courseId: string | null;
  eventKey: string | null;
  detail: Record<string, unknown>;
}

export function auditView(row: AuditEntry): AuditView {
  return {
    id: Number(row.id),
    at: row.at.toISOString(),
    actor: { type: row.actor_type, id: row.actor_id },
    action: row.action,
    clinicId: row.clinic_id,
    clientId: row.client_id,
    courseId: row.course_id,
    eventKey: row.event_key,
    detail: row.detail,
  };
}

export interface AuditQuery {
  /** Newest first; at most this many (default 200, at most 1000). */
  limit?: number;
  /** Keyset paging: entries older than this id. */
  beforeId?: number;
  /** Only these clinics (a principal's scope); undefined = every clinic. */
  clinicIds?: readonly string[];
}

function page(q: AuditQuery): number {
  return Math.min(Math.max(q.limit ?? 200, 1), 1000);
}

/** Everything recorded about a client: entries naming the client, and entries naming any of the client's courses. */
export async function auditForClient(db: Db, clientId: string, q: AuditQuery = {}): Promise<AuditView[]> {
  let query = db
    .selectFrom('audit_log')
    .selectAll()
    .where((eb) =>
      eb.or([eb('client_id', '=', clientId), eb('course_id', 'in', eb.selectFrom('courses').select('courses.id').where('courses.client_id', '=', clientId))]),
    );
  if (q.beforeId !== undefined) query = query.where('id', '<', q.beforeId);
  if (q.clinicIds) query = q.clinicIds.length ? query.where('clinic_id', 'in', [...q.clinicIds]) : query.where(sql<boolean>`false`);
  const rows = await query.orderBy('at', 'desc').orderBy('id', 'desc').limit(page(q)).execute();
  return rows.map(auditView);
}

/** Everything a staff member did (and read), newest first. */
export async function auditForStaff(db: Db, staffId: string, q: AuditQuery = {}): Promise<AuditView[]> {
  let query = db.selectFrom('audit_log').selectAll().where('actor_type', '=', 'staff').where('actor_id', '=', staffId);
  if (q.beforeId !== undefined) query = query.where('id', '<', q.beforeId);
  if (q.clinicIds) query = q.clinicIds.length ? query.where('clinic_id', 'in', [...q.clinicIds]) : query.where(sql<boolean>`false`);
  const rows = await query.orderBy('at', 'desc').orderBy('id', 'desc').limit(page(q)).execute();
  return rows.map(auditView);
}

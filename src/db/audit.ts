// The audit trail: who did what to which client's record and when, including staff reads.
// audit_log is append-only in the database itself (a trigger refuses UPDATE / DELETE / TRUNCATE for
// every role; on a real server the application's role, kap_app, holds only INSERT and SELECT on it:
// migration 0003). These are the only functions that write or read it outside migrations.
import { type QueryCreator, sql } from 'kysely';
import type { Db } from './connect';
import type { ActorType, AuditEntry, Database } from './schema';
import type { Principal } from '../auth/roles';

/** staff: a staff member; token: an API token without a staff member; client: from a link; system: the engine itself. */
export type AuditActorType = ActorType;

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

/**
 * A principal looked at a client's record (the compliance officer's "who saw what"): a staff member
 * by session or personal token, or a token without a staff member, recorded as that token.
 */
export function recordClientRead(db: Db, principal: Principal, read: { clientId: string; clinicId: string; courseId?: string | null; what: string }): Promise<boolean> {
  return appendAudit(db, {
    actor: principal.staffId ? { type: 'staff', id: principal.staffId } : { type: 'token', id: principal.tokenId ?? null },
    action: 'client.read',
    clinicId: read.clinicId,
    clientId: read.clientId,
    courseId: read.courseId ?? null,
    detail: { what: read.what, by: { role: principal.role, via: principal.via, ...(principal.tokenId ? { tokenId: principal.tokenId } : {}), label: principal.displayName } },
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

// ---- The admins' audit log (GET /api/audit, the dashboard's /audit, `kap audit`) ------------------

export interface AuditFilter {
  /** The principal's scope: only entries of these clinics (entries without a clinic are left out); undefined = everything. */
  clinicIds?: readonly string[];
  clinicId?: string;
  clientId?: string;
  courseId?: string;
  /** A staff id or a token id. */
  actor?: string;
  /** An exact action (`course.override`), or a prefix ending in `.*` (`client.*`). */
  action?: string;
  from?: Date;
  to?: Date;
  /** Entries older than this id (the previous page's nextCursor). */
  cursor?: number;
  limit: number;
}

export interface AuditLogEntry {
  id: number;
  at: string;
  actor: { type: AuditActorType; id: string | null; name: string | null; role: string | null };
  action: string;
  clinicId: string | null;
  clientId: string | null;
  courseId: string | null;
  /** The reason given, where there was one: an override's reason, a review's notes summary, a pause or withdrawal reason. */
  reason: string | null;
  detail: Record<string, unknown>;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? v : null);

/** The reason an entry records, if any (see AuditLogEntry.reason). */
export function auditReason(detail: Record<string, unknown>): string | null {
  const parts: string[] = [];
  for (const k of ['reason', 'notesSummary']) {
    const v = str(detail[k]);
    if (v) parts.push(v);
  }
  return parts.length ? parts.join('; ') : null;
}

/** One page of the audit log, newest first, with who each actor is (staff name or token label, and role). */
export async function listAudit(db: Db, f: AuditFilter): Promise<{ entries: AuditLogEntry[]; nextCursor: number | null }> {
  let q = db
    .selectFrom('audit_log as a')
    .leftJoin('staff as s', (j) => j.onRef('s.id', '=', 'a.actor_id').on('a.actor_type', '=', 'staff'))
    .leftJoin('api_tokens as t', (j) => j.onRef('t.id', '=', 'a.actor_id').on('a.actor_type', '=', 'token'))
    .select(['a.id', 'a.at', 'a.actor_type', 'a.actor_id', 'a.action', 'a.clinic_id', 'a.client_id', 'a.course_id', 'a.detail', 's.display_name as staff_name', 's.role as staff_role', 't.label as token_label', 't.role as token_role']);
  if (f.clinicIds) q = f.clinicIds.length ? q.where('a.clinic_id', 'in', [...f.clinicIds]) : q.where(sql<boolean>`false`);
  if (f.clinicId) q = q.where('a.clinic_id', '=', f.clinicId);
  if (f.clientId) q = q.where('a.client_id', '=', f.clientId);
  if (f.courseId) q = q.where('a.course_id', '=', f.courseId);
  if (f.actor) q = q.where('a.actor_id', '=', f.actor);
  if (f.action) q = f.action.endsWith('.*') ? q.where('a.action', 'like', `${f.action.slice(0, -1).replace(/[\\%_]/g, (c) => `\\${c}`)}%`) : q.where('a.action', '=', f.action);
  if (f.from) q = q.where('a.at', '>=', f.from);
  if (f.to) q = q.where('a.at', '<', f.to);
  if (f.cursor !== undefined) q = q.where('a.id', '<', f.cursor);
  const rows = await q.orderBy('a.id', 'desc').limit(f.limit + 1).execute();
  const more = rows.length > f.limit;
  const shown = rows.slice(0, f.limit);
  const entries = shown.map((r): AuditLogEntry => {
    const detail = (r.detail ?? {}) as Record<string, unknown>;
    const by = (detail.by ?? {}) as Record<string, unknown>;
    return {
      id: Number(r.id),
      at: r.at.toISOString(),
      actor: {
        type: r.actor_type,
        id: r.actor_id,
        name: r.staff_name ?? r.token_label ?? str(by.label),
        role: str(by.role) ?? r.staff_role ?? r.token_role ?? null,
      },
      action: r.action,
      clinicId: r.clinic_id,
      clientId: r.client_id,
      courseId: r.course_id,
      reason: auditReason(detail),
      detail,
    };
  });
  return { entries, nextCursor: more && shown.length ? Number(shown[shown.length - 1]!.id) : null };
}

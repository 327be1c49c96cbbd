// What the stuck board's sources (stuck.ts, alert-problems.ts) share: the clinic filter, the recent
// outbox rows of one template with their course and client, and the shape of a `system` item.
import { sql, type SqlBool } from 'kysely';
import type { Db } from '../db/connect';
import type { StuckItem } from './stuck';

/** Whole seconds from `since` to `now`, never negative. */
export const ageSeconds = (since: Date, now: Date): number => Math.max(0, Math.round((now.getTime() - since.getTime()) / 1000));

/** A where-condition keeping the rows of the given clinics (none when the list is empty). */
export const inClinics = (column: string, clinics: readonly string[]) =>
  clinics.length ? sql<SqlBool>`${sql.ref(column)} in (${sql.join(clinics)})` : sql<SqlBool>`false`;

/** The email outbox rows of one template created in the last `days` days, joined to their course (`c`) and client (`cl`). */
export function recentOutbox(db: Db, template: string, days: number, now: Date) {
  return db
    .selectFrom('email_outbox as o')
    .innerJoin('courses as c', 'c.id', 'o.course_id')
    .innerJoin('clients as cl', 'cl.id', 'c.client_id')
    .where('o.template', '=', template)
    .where('o.created_at', '>', new Date(now.getTime() - days * 86_400_000));
}

/** Owner of the clinic-level system items: the clinic's admin. */
export const CLINIC_ADMIN = { role: 'system', staffId: null, name: 'clinic admin' };

/** Who a system item is about: a client's course (at a step), or a clinic alone (the rest null). */
export type StuckSubject = Pick<StuckItem, 'courseId' | 'clientId' | 'clientName' | 'clinicId' | 'stepKey'>;

export const clinicSubject = (clinicId: string): StuckSubject => ({ courseId: null, clientId: null, clientName: null, clinicId, stepKey: null });

export const courseSubject = (r: { course_id: string | null; client_id: string; given_name: string; family_name: string; clinic_id: string }, stepKey: string | null): StuckSubject => ({
  courseId: r.course_id,
  clientId: r.client_id,
  clientName: `${r.given_name} ${r.family_name}`,
  clinicId: r.clinic_id,
  stepKey,
});

/** A `system` item: no step kind, no deadline, no escalation; stuck since `since`. */
export function systemItem(
  subject: StuckSubject,
  since: Date,
  now: Date,
  item: Pick<StuckItem, 'owner' | 'problem' | 'action'> & Pick<StuckItem, 'escalationsFailed' | 'webhookSubscriptionId'>,
): StuckItem {
  const { owner, problem, action, ...extra } = item;
  return {
    type: 'system',
    courseId: subject.courseId,
    clientId: subject.clientId,
    clientName: subject.clientName,
    clinicId: subject.clinicId,
    stepKey: subject.stepKey,
    stepKind: null,
    owner,
    deadlineAt: null,
    stuckSince: since.toISOString(),
    ageSeconds: ageSeconds(since, now),
    escalationLevel: 0,
    ...extra,
    problem,
    action,
  };
}
